"""The use cases of compare, plan and audit, called as a library (no argparse, no printing):
what they return, and the exit decision that their results carry."""

from __future__ import annotations

import io
import json

import pytest
from cli_helpers import pod, workload, write

from kubectl_podsec.errors import UsageError
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.model import CheckDifference
from kubectl_podsec.usecases import AuditOptions, CheckOptions, run_audit, run_check, run_compare, run_plan

ROOT_POD = pod("root", "restricted").replace("    runAsNonRoot: true\n", "    runAsNonRoot: true\n    runAsUser: 0\n")


def options(*specs, level=Level.RESTRICTED, version=None) -> CheckOptions:
    return CheckOptions(level, PolicyVersion.parse(version) if version else PolicyVersion(None), tuple(specs))


def in_namespace(manifest: str, namespace: str) -> str:
    return manifest.replace("metadata:\n", f"metadata:\n  namespace: {namespace}\n", 1)


# --- plan ------------------------------------------------------------------------------------------


def test_plan_blockers_are_what_check_finds(tmp_path):
    path = write(tmp_path, "all.yaml", "---\n".join([
        in_namespace(workload("Deployment", "web", "baseline"), "shop"),
        in_namespace(pod("debug", "privileged"), "shop"),
        in_namespace(pod("ok", "restricted"), "shop"),
        in_namespace(pod("api", "restricted"), "secure")]))
    checked = run_check(options(path))
    plan = run_plan(options(path))
    failing = {(obj.namespace, obj.kind, obj.name) for obj in checked.failing}
    assert failing == {("shop", "Deployment", "web"), ("shop", "Pod", "debug")}
    assert {(p.namespace, b.kind, b.name) for p in plan.namespaces for b in p.blockers} == failing
    assert (plan.level, plan.live, plan.errors) == (Level.RESTRICTED, False, ())
    assert [(p.namespace, p.effort, p.workloads) for p in plan.namespaces] == [("secure", "ready", 1),
                                                                             ("shop", "unsafe", 3)]
    web = next(b for b in plan.namespaces[1].blockers if b.name == "web")
    assert (web.highest, web.effort, web.commands.safe) == (Level.BASELINE, "safe", f"kubectl podsec fix -f {path}")
    assert [step.step for step in plan.namespaces[1].steps] == [1, 2, 3, 4]
    assert plan.failing


def test_plan_is_not_failing_when_every_namespace_is_ready(tmp_path):
    path = write(tmp_path, "ok.yaml", in_namespace(pod("api", "restricted"), "secure"))
    plan = run_plan(options(path))
    assert [p.effort for p in plan.namespaces] == ["ready"] and not plan.failing
    # At baseline, a baseline workload does not block either.
    path = write(tmp_path, "web.yaml", in_namespace(workload("Deployment", "web", "baseline"), "shop"))
    assert not run_plan(options(path, level=Level.BASELINE)).failing


def test_plan_names_filter_manifests_and_add_empty_namespaces(tmp_path):
    path = write(tmp_path, "all.yaml", in_namespace(pod("debug", "privileged"), "shop") + "---\n"
                 + in_namespace(pod("db", "privileged"), "data"))
    plan = run_plan(options(path), ("data", "empty"))
    assert [(p.namespace, len(p.blockers)) for p in plan.namespaces] == [("empty", 0), ("data", 1)]


def test_plan_pins_the_version_asked_for_and_keeps_input_errors(tmp_path):
    good = write(tmp_path, "good.yaml", pod("web", "baseline"))
    plan = run_plan(options(good, str(tmp_path / "missing.yaml"), version="v1.25"))
    assert plan.version == "v1.25"
    assert [p.namespace for p in plan.namespaces] == ["default"]  # no metadata.namespace: kubectl's default
    assert len(plan.errors) == 1 and plan.errors[0].source.endswith("missing.yaml")


# --- compare ---------------------------------------------------------------------------------------


def test_compare_reports_the_change_at_a_version_boundary(tmp_path):
    """runAsUser=0 is restricted from v1.23 on."""
    path = write(tmp_path, "root.yaml", ROOT_POD)
    result = run_compare(options(path), "v1.22,v1.23")
    [change] = result.changed
    assert (change.kind, change.name, change.before, change.after) == ("Pod", "root", Level.RESTRICTED,
                                                                       Level.BASELINE)
    assert change.checks == (CheckDifference("runAsUser", Level.RESTRICTED, True, "pod must not set runAsUser=0"),)
    assert (result.old, result.new, result.workloads, result.errors) == ("v1.22", "v1.23", 1, ())
    assert result.failing


def test_compare_resolves_latest_and_is_not_failing_without_a_change(tmp_path):
    path = write(tmp_path, "root.yaml", ROOT_POD)
    result = run_compare(options(path), "v1.23,latest")
    assert result.new == "latest" and result.new_resolved.startswith("v1.")
    assert result.changed == () and not result.failing


def test_compare_refuses_a_bad_pair(tmp_path):
    path = write(tmp_path, "root.yaml", ROOT_POD)
    with pytest.raises(UsageError, match="FROM,TO"):
        run_compare(options(path), "v1.22")


# --- audit -----------------------------------------------------------------------------------------


def event(name: str, reason: str = "runAsNonRoot != true", code: int = 201) -> str:
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "stage": "ResponseComplete",
        "requestReceivedTimestamp": "2026-01-01T00:00:00Z", "user": {"username": "alice"},
        "objectRef": {"resource": "pods", "namespace": "shop", "name": name},
        "responseStatus": {"code": code},
        "annotations": {"pod-security.kubernetes.io/audit-violations":
                        f'would violate PodSecurity "restricted:latest": {reason} (pod must set it)'}})


def test_audit_groups_findings_by_object(tmp_path):
    path = write(tmp_path, "audit.log", "\n".join([event("web"), event("web"), event("db", "hostPort")]) + "\n")
    result = run_audit(AuditOptions((path,)))
    assert (result.events, result.events_with_findings, result.errors, result.unresolved) == (3, 3, (), ())
    assert [(g.what, g.name, g.events, [c.check for c in g.checks]) for g in result.groups] == [
        ("Pod", "db", 1, ["hostPorts"]), ("Pod", "web", 2, ["runAsNonRoot"])]
    assert result.groups[1].users == ("alice",) and result.failing


def test_audit_reads_stdin_keeps_going_past_bad_lines_and_fails_on_nothing(tmp_path):
    stdin = io.BytesIO(b"not json\n" + event("web").encode() + b"\n")
    result = run_audit(AuditOptions(("-",), stdin=stdin))
    assert [(e.source, e.line) for e in result.errors] == [("-", 1)]
    assert [g.name for g in result.groups] == ["web"]
    empty = run_audit(AuditOptions((write(tmp_path, "empty.log", ""),)))
    assert (empty.groups, empty.errors, empty.failing) == ((), (), False)


def test_audit_refuses_a_terminal():
    with pytest.raises(UsageError, match="from a terminal"):
        run_audit(AuditOptions(("-",), stdin_is_terminal=True))
