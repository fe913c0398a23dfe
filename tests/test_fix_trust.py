"""`fix` you can trust (issue 9, items 1, 2 and 10).

1. Safe mode never changes or removes a value the manifest sets: it only adds absent keys
   (a null value counts as absent, as the API server reads it) and list entries such as
   `ALL`. A property over the hypothesis generator of test_fix_properties, a generator of
   seccomp/AppArmor annotation and field combinations, the golden corpus and the recorded
   cluster state.
2. What fix writes passes kube-apiserver's validation of the fields it touches, whenever the
   input did: `apiserver_rules.py` is the oracle, written from upstream's validation.go.
   The tool's own backstop (`kubectl_podsec.apivalidation`) must agree with it.
3. Every applied edit carries a runtime risk note, in `-o json` and in the summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from apiserver_rules import pod_of, rejections
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_fix_properties import SETTINGS, parse, run_fix, streams

from kubectl_podsec.apivalidation import validation_errors
from kubectl_podsec.checks import ALL_CHECKS
from kubectl_podsec.workloads import META_SCHEMA, POD_SPEC_SCHEMA, prune_value

TESTS = Path(__file__).resolve().parent
GOLDEN_INPUTS = sorted(p for p in (TESTS / "fix").glob("*/input.*"))
CLUSTER_STATE = sorted((TESTS / "data" / "recordings" / "cluster-state").glob("[0-6]*.yaml"))


def altered(before, after, path="") -> list:
    """Where `after` changes or drops a value `before` sets (additions are fine)."""
    if isinstance(before, dict):
        if not isinstance(after, dict):
            return [path or "."]
        out = []
        for key, value in before.items():
            if value is None:
                continue  # null is unset
            if key not in after:
                out.append(f"{path}.{key} removed")
            else:
                out += altered(value, after[key], f"{path}.{key}")
        return out
    if isinstance(before, list):
        if not isinstance(after, list) or len(after) < len(before):
            return [f"{path} shortened"]
        return [p for i, item in enumerate(before) for p in altered(item, after[i], f"{path}[{i}]")]
    if before != after or type(before) is not type(after):
        return [f"{path}: {before!r} -> {after!r}"]
    return []


def safe_fix_alterations(data: bytes) -> list:
    code, out, err = run_fix(data)
    assert code in (0, 1), err
    return [change for old, new in zip(parse(data), parse(out)) for change in altered(old, new)]


# --- seccomp and AppArmor: annotations and fields ----------------------------------------------

SECCOMP_ANNOTATIONS = st.sampled_from([None, "unconfined", "runtime/default", "docker/default", "localhost/p.json"])
SECCOMP_FIELDS = st.sampled_from([None, {"type": "RuntimeDefault"}, {"type": "Unconfined"},
                                  {"type": "Localhost", "localhostProfile": "p.json"}])
APPARMOR_ANNOTATIONS = st.sampled_from([None, "unconfined", "runtime/default", "localhost/k8s-nginx"])
APPARMOR_FIELDS = st.sampled_from([None, {"type": "RuntimeDefault"}, {"type": "Unconfined"},
                                   {"type": "Localhost", "localhostProfile": "k8s-nginx"}])


def _put(mapping: dict, key: str, value) -> None:
    if value is not None:
        mapping[key] = value


@st.composite
def profiled_objects(draw):
    """A Pod or a Deployment with random legacy annotations, profile fields, privileges and
    Bidirectional mounts: the combinations the API server cross-validates."""
    annotations = {}
    _put(annotations, "seccomp.security.alpha.kubernetes.io/pod", draw(SECCOMP_ANNOTATIONS))
    pod_sc = {}
    _put(pod_sc, "seccompProfile", draw(SECCOMP_FIELDS))
    _put(pod_sc, "appArmorProfile", draw(APPARMOR_FIELDS))
    _put(pod_sc, "runAsNonRoot", draw(st.sampled_from([None, True, False])))
    containers = []
    for name in draw(st.sampled_from([["app"], ["app", "sidecar"]])):
        _put(annotations, "container.seccomp.security.alpha.kubernetes.io/" + name, draw(SECCOMP_ANNOTATIONS))
        _put(annotations, "container.apparmor.security.beta.kubernetes.io/" + name, draw(APPARMOR_ANNOTATIONS))
        sc = {}
        _put(sc, "seccompProfile", draw(SECCOMP_FIELDS))
        _put(sc, "appArmorProfile", draw(APPARMOR_FIELDS))
        _put(sc, "privileged", draw(st.sampled_from([None, True, False])))
        _put(sc, "allowPrivilegeEscalation", draw(st.sampled_from([None, True, False])))
        add = draw(st.sampled_from([None, ["SYS_ADMIN"], ["CAP_SYS_ADMIN"], ["NET_BIND_SERVICE"]]))
        if add:
            sc["capabilities"] = {"add": add}
        container = {"name": name, "image": "example/app:1"}
        _put(container, "securityContext", sc or None)
        if draw(st.booleans()):
            container["volumeMounts"] = [{"name": "data", "mountPath": "/data",
                                          "mountPropagation": draw(st.sampled_from(["Bidirectional",
                                                                                    "HostToContainer"]))}]
        containers.append(container)
    spec = {"containers": containers, "volumes": [{"name": "data", "emptyDir": {}}]}
    _put(spec, "securityContext", pod_sc or None)
    metadata = {"labels": {"app": "x"}}
    _put(metadata, "annotations", annotations or None)
    if draw(st.booleans()):
        return {"apiVersion": "v1", "kind": "Pod", "metadata": dict(metadata, name="p"), "spec": spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": metadata, "spec": spec}}}


def _yaml(obj: dict) -> bytes:
    # Through JSON: the drawn values are shared objects, which safe_dump would write as aliases.
    return yaml.safe_dump(json.loads(json.dumps(obj)), sort_keys=False).encode()


@settings(max_examples=150, **SETTINGS)
@given(streams(clean=False))
def test_safe_mode_adds_only_over_generated_streams(stream):
    data, _ = stream
    assert safe_fix_alterations(data) == []


@settings(max_examples=200, **SETTINGS)
@given(profiled_objects())
def test_safe_mode_adds_only_over_profiles(obj):
    assert safe_fix_alterations(_yaml(obj)) == []


@pytest.mark.parametrize("path", GOLDEN_INPUTS + CLUSTER_STATE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_safe_mode_adds_only_over_golden_and_recorded_files(path):
    data = path.read_bytes()
    try:
        parse(data)
    except yaml.YAMLError:
        pytest.skip("not YAML that PyYAML reads (the case is about a refusal)")
    assert safe_fix_alterations(data) == []


@settings(max_examples=200, **SETTINGS)
@given(profiled_objects(), st.booleans())
def test_fixed_output_passes_api_validation(obj, unsafe):
    assume(rejections(obj) == [])  # the server accepts the input as written
    code, out, err = run_fix(_yaml(obj), *(["--unsafe-fixes"] if unsafe else []))
    assert code in (0, 1), err
    (fixed,) = parse(out)
    assert rejections(fixed) == [], (out.decode(), err)


@pytest.mark.parametrize("unsafe", [False, True])
@pytest.mark.parametrize("path", GOLDEN_INPUTS + CLUSTER_STATE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixed_files_pass_api_validation(path, unsafe):
    data = path.read_bytes()
    try:
        before = parse(data)
    except yaml.YAMLError:
        pytest.skip("not YAML that PyYAML reads (the case is about a refusal)")
    if any(rejections(obj) for obj in before if isinstance(obj, dict)):
        pytest.skip("the server rejects the input already")
    code, out, err = run_fix(data, *(["--unsafe-fixes"] if unsafe else []))
    for obj in parse(out):
        if isinstance(obj, dict):
            assert rejections(obj) == [], err


@settings(max_examples=300, **SETTINGS)
@given(profiled_objects())
def test_backstop_agrees_with_the_oracle(obj):
    meta, spec = pod_of(obj)
    model = prune_value(meta, META_SCHEMA), prune_value(spec, POD_SPEC_SCHEMA)
    assert bool(validation_errors(*model)) == bool(rejections(obj)), (validation_errors(*model), rejections(obj))


# --- the real cases of the issue --------------------------------------------------------------

WEBSITE_POD = b"""apiVersion: v1
kind: Pod
metadata:
  name: pod
  annotations:
    seccomp.security.alpha.kubernetes.io/pod: unconfined
spec:
  containers:
  - name: test-container
    image: hashicorp/http-echo:1.0
"""


def test_unconfined_annotation_is_an_explicit_request():
    code, out, err = run_fix(WEBSITE_POD)
    assert b"seccompProfile" not in out
    assert b"seccomp.security.alpha.kubernetes.io/pod: unconfined" in out
    assert "annotation seccomp.security.alpha.kubernetes.io/pod: unconfined" in err
    code, out, err = run_fix(WEBSITE_POD, "--unsafe-fixes")
    (fixed,) = parse(out)
    assert fixed["metadata"]["annotations"]["seccomp.security.alpha.kubernetes.io/pod"] == "runtime/default"
    assert fixed["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert rejections(fixed) == []


@pytest.mark.parametrize("unsafe", [False, True])
def test_localhost_profile_is_never_replaced(unsafe):
    data = WEBSITE_POD.replace(b": unconfined", b": localhost/profiles/fine.json")
    code, out, err = run_fix(data, *(["--unsafe-fixes"] if unsafe else []))
    (fixed,) = parse(out)
    assert fixed["spec"]["securityContext"]["seccompProfile"] == \
        {"type": "Localhost", "localhostProfile": "profiles/fine.json"}
    assert fixed["metadata"]["annotations"]["seccomp.security.alpha.kubernetes.io/pod"] == \
        "localhost/profiles/fine.json"


def test_backstop_refuses_an_object_the_server_would_reject(monkeypatch):
    """Should a check's fix ever break a rule, the object is left as it was, with the reason."""
    from kubectl_podsec.checks import Edit, allow_privilege_escalation
    from kubectl_podsec.checks.util import container_contexts

    def reckless(meta, spec, version):
        return [Edit("allowPrivilegeEscalation", "set", path + ("securityContext", "allowPrivilegeEscalation"), False)
                for _, path, _ in container_contexts(spec)]

    object.__setattr__(allow_privilege_escalation.CHECK, "fix", reckless)
    try:
        data = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n" \
               b"    image: i\n    securityContext: {privileged: true}\n"
        code, out, err = run_fix(data, "-o", "json")
    finally:
        object.__setattr__(allow_privilege_escalation.CHECK, "fix", allow_privilege_escalation.fix)
    report = json.loads(out)
    assert code == 1
    whys = [r["why"] for r in report["objects"][0]["remaining"]]
    assert any("kube-apiserver would reject the fixed object" in why for why in whys), whys
    assert report["objects"][0]["edits"] == []


# --- risk notes -------------------------------------------------------------------------------

RESTRICTED_GAPS = b"""apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
"""


def test_every_fixable_check_states_its_risk():
    for check in ALL_CHECKS:
        if check.fix is not None:
            assert len(check.fix_risk) > 20, check.id


def test_applied_edits_carry_risk_notes():
    code, out, err = run_fix(RESTRICTED_GAPS, "-o", "json")
    edits = json.loads(out)["objects"][0]["edits"]
    assert edits and all(edit["risk"] for edit in edits)
    by_check = {edit["check"]: edit["risk"] for edit in edits}
    assert "root" in by_check["runAsNonRoot"]
    assert "CHOWN" in by_check["capabilities_restricted"]
    code, out, err = run_fix(RESTRICTED_GAPS)
    assert "risk: runAsNonRoot (1 object): " in err and "risk: capabilities_restricted (1 object): " in err


def test_insertion_after_an_alias_is_refused_not_misplaced(tmp_path):
    """PyYAML gives an alias the node of its anchor, whose marks point at the anchor: text
    inserted "after" a mapping that ends in an alias landed inside the anchored mapping."""
    from kubectl_podsec.cli import main

    path = tmp_path / "pod.yaml"
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n"
            "    securityContext:\n      appArmorProfile: &shared\n        type: Localhost\n"
            "        localhostProfile: k8s\n      privileged: true\n  securityContext:\n"
            "    appArmorProfile: *shared\n")
    path.write_text(text)
    assert main(["fix", "-f", str(path)]) == 2
    assert path.read_text() == text


# --- found by using the tool as users do ---------------------------------------------------------

def test_a_null_capability_reads_as_go_reads_it():
    """`add: [null]` is the capability "" to the API server (Go's zero value); it crashed
    check and fix with a traceback."""
    data = (b"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n    image: x\n"
            b"    securityContext:\n      capabilities:\n        add: [~, NET_RAW]\n")
    code, out, err = run_fix(data, "-o", "json")
    assert code == 1, err
    remaining = {r["check"]: r for r in json.loads(out)["objects"][0]["remaining"]}
    assert remaining["capabilities_baseline"]["detail"] == \
        'container "c" must not include "", "NET_RAW" in securityContext.capabilities.add'


def test_lone_cr_line_breaks_are_refused_with_a_reason():
    data = b"apiVersion: v1\rkind: Pod\rmetadata: {name: a}\rspec:\r  containers:\r  - name: c\r    image: x\r"
    code, out, err = run_fix(data)
    assert (code, out) == (2, data)
    assert "error: -:1:15: lone CR line breaks (classic Mac OS) cannot be kept by fix" in err
    assert "internal error" not in err


def test_an_explicit_key_is_refused_not_an_internal_error():
    data = (b"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  ? containers\n  : - name: c\n"
            b"      image: x\n")
    code, out, err = run_fix(data)
    assert (code, out) == (1, data)
    assert "it is in a mapping with an explicit `?` key; edit it by hand" in err
    assert "internal error" not in err
