"""Item 9 of issue 9, integers: the API server decodes each integer field into its Go type
(k8s.io/api core/v1: RunAsUser *int64, HostPort and ContainerPort int32) and refuses a
number beyond it, so a manifest with one is an error here too, like any other wrong type,
in YAML and in JSON, under both YAML parsers (see test_parsers.py)."""

from __future__ import annotations

import json

import pytest
from cli_helpers import cli_runner, write

from kubectl_podsec.sources import parsers
from kubectl_podsec.workloads import PruneError, workload_from_value

PARSERS = ["libyaml", "pure"] if parsers.CComposer is not None else ["pure"]
INT64, INT32 = 2 ** 63, 2 ** 31


@pytest.fixture(params=PARSERS)
def podsec(request, capsys, monkeypatch):
    parsers.use_parser(request.param == "pure")
    yield cli_runner(capsys, monkeypatch)
    parsers.use_parser(False)


def _pod(pod_user="1000", container_user="1000", host_port="0", container_port="80") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "securityContext": {"runAsUser": pod_user},
        "containers": [{"name": "c", "image": "c", "securityContext": {"runAsUser": container_user},
                        "ports": [{"containerPort": container_port, "hostPort": host_port}]}]}}


def _yaml(fields: dict) -> str:
    pod = _pod(**fields)
    spec, container = pod["spec"], pod["spec"]["containers"][0]
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n"
            f"  securityContext:\n    runAsUser: {spec['securityContext']['runAsUser']}\n"
            f"  containers:\n  - name: c\n    image: c\n"
            f"    securityContext:\n      runAsUser: {container['securityContext']['runAsUser']}\n"
            f"    ports:\n    - containerPort: {container['ports'][0]['containerPort']}\n"
            f"      hostPort: {container['ports'][0]['hostPort']}\n")


def _json(fields: dict) -> str:
    # Numbers unquoted: the values are the texts of JSON numbers.
    text = json.dumps(_pod(**{k: f"@{v}@" for k, v in fields.items()}), indent=2)
    for value in fields.values():
        text = text.replace(f'"@{value}@"', str(value))
    return text.replace('"1000"', "1000").replace('"80"', "80").replace('"0"', "0") + "\n"


# (field, value, where the error points in the YAML text, the path it names)
OUT_OF_RANGE = [
    ("pod_user", INT64, (7, 16), "spec.securityContext.runAsUser", 64),
    ("pod_user", -INT64 - 1, (7, 16), "spec.securityContext.runAsUser", 64),
    ("container_user", INT64, (12, 18), "spec.containers[0].securityContext.runAsUser", 64),
    ("container_user", "99999999999999999999", (12, 18), "spec.containers[0].securityContext.runAsUser", 64),
    ("host_port", INT32, (15, 17), "spec.containers[0].ports[0].hostPort", 32),
    ("host_port", -INT32 - 1, (15, 17), "spec.containers[0].ports[0].hostPort", 32),
    ("container_port", INT32, (14, 22), "spec.containers[0].ports[0].containerPort", 32),
    ("container_port", -INT32 - 1, (14, 22), "spec.containers[0].ports[0].containerPort", 32),
]
IN_RANGE = [("pod_user", INT64 - 1), ("pod_user", -INT64), ("container_user", INT64 - 1),
            ("host_port", INT32 - 1), ("host_port", -INT32), ("container_port", INT32 - 1),
            ("container_port", -INT32)]


@pytest.mark.parametrize("field, value", IN_RANGE)
@pytest.mark.parametrize("form", ["yaml", "json"])
def test_bounds_are_read(podsec, tmp_path, field, value, form):
    text = _yaml({field: value}) if form == "yaml" else _json({field: value})
    run = podsec("check", write(tmp_path, f"p.{form}", text), "-o", "json")
    assert run.code in (0, 1) and not run.json["errors"], run.err
    assert run.json["objects"][0]["name"] == "p"


@pytest.mark.parametrize("field, value, position, path, bits", OUT_OF_RANGE)
@pytest.mark.parametrize("form", ["yaml", "json"])
def test_beyond_the_go_type_is_an_error(podsec, tmp_path, field, value, position, path, bits, form):
    text = _yaml({field: value}) if form == "yaml" else _json({field: value})
    good = write(tmp_path, "good.yaml", _yaml({}))
    bad = write(tmp_path, f"p.{form}", text)
    run = podsec("check", bad, good, "-o", "json")
    assert run.code == 2 and len(run.err_lines) == 1
    (error,) = run.json["errors"]
    assert error["message"] == f"{path} must be a {bits}-bit integer, not the number {value}"
    if form == "yaml":
        assert (error["line"], error["column"]) == position
        assert f"{bad}:{position[0]}:{position[1]}: {error['message']}" in run.err
    assert [o["source"] for o in run.json["objects"]] == [good]
    fixed = podsec("fix", "--dry-run", bad)
    assert fixed.code == 2 and fixed.out == "" and error["message"] in fixed.err


def test_other_integer_forms_are_bounded_too(podsec, tmp_path):
    # YAML 1.1 hex and floats are numbers too: 0x8000000000000000 is 2**63.
    for value in ("0x8000000000000000", "1e19", "0x7FFFFFFFFFFFFFFF"):
        run = podsec("check", write(tmp_path, "p.yaml", _yaml({"pod_user": value})), "-o", "json")
        errors = run.json["errors"]
        assert bool(errors) == (value != "0x7FFFFFFFFFFFFFFF"), (value, errors)


def test_objects_from_the_cluster_are_bounded_too():
    with pytest.raises(PruneError, match="runAsUser must be a 64-bit integer"):
        workload_from_value(_pod(pod_user=INT64, container_user=1, host_port=0, container_port=80))
    with pytest.raises(PruneError, match="hostPort must be a 32-bit integer"):
        workload_from_value(_pod(pod_user=1, container_user=1, host_port=INT32, container_port=80))
    assert workload_from_value(_pod(pod_user=INT64 - 1, container_user=1, host_port=INT32 - 1,
                                    container_port=80)).pod_spec["securityContext"]["runAsUser"] == INT64 - 1
