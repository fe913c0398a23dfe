"""Edges that mypy found: inputs where a value the code took for granted is absent. Each used
to end in a traceback (or an odd `/name`); now it is a one-line error or a stated placeholder."""

from __future__ import annotations

import json

import pytest
from cli_helpers import cli_runner


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


# A list whose item sits on the line after its `-`: a new item has no indent to copy.
DASH_ALONE = """\
apiVersion: v1
kind: Pod
metadata:
  name: x
spec:
  containers:
  -
    name: a
    image: a
    securityContext:
      capabilities:
        drop:
        -
          NET_RAW
"""


def test_fix_refuses_an_append_to_a_list_whose_dash_stands_alone(podsec, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(DASH_ALONE)
    run = podsec("fix", "-f", manifest)
    assert run.code == 2
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {manifest}: cannot fix: drop has an item on the line after its `-`; "
                      "edit it by hand; left unchanged"]
    assert manifest.read_text() == DASH_ALONE


def _event(ref: dict) -> str:
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "stage": "ResponseComplete", "verb": "create",
        "user": {"username": "u"}, "objectRef": ref, "responseStatus": {"code": 201},
        "requestReceivedTimestamp": "2024-01-01T00:00:00Z",
        "annotations": {"pod-security.kubernetes.io/audit-violations":
                        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
                        '(container "a" must set securityContext.allowPrivilegeEscalation=false)'}})


@pytest.mark.parametrize("group_by", ["object", "owner", "workload"])
@pytest.mark.parametrize("ref", [{"resource": "", "namespace": "ns", "name": "web"},
                                 {"namespace": "ns", "name": "web"}], ids=["empty", "missing"])
def test_audit_names_an_object_without_a_resource_in_every_grouping(podsec, tmp_path, group_by, ref):
    log = tmp_path / "audit.log"
    log.write_text(_event(ref) + "\n")
    run = podsec("audit", log, "--group-by", group_by)
    assert run.code == 1
    assert run.out.splitlines()[0] == "ns  (resource not in the log)/web  1 event  restricted:latest"
    data = podsec("audit", log, "--group-by", group_by, "-o", "json")
    group = json.loads(data.out)["groups"][0]
    assert group["resource" if group_by == "object" else "kind"] == ""
