"""`kubectl podsec audit`: the groupings of the real recorded audit logs equal the reference
ones, PSA reasons map to check IDs, and bad input gives one-line errors without stopping."""

from __future__ import annotations

import gzip
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_runner, run_process

from kubectl_podsec import audit
from kubectl_podsec.checks import ALL_CHECKS
from kubectl_podsec.usecases import AuditOptions, run_audit

DATA = Path(__file__).parent / "data" / "audit"
ROTATED = DATA / "audit-2026-12-03T19-29-23.974.log.gz"
CURRENT = DATA / "audit.log.gz"
EXPECTED = json.loads(gzip.decompress((DATA / "expected.json.gz").read_bytes()))
KEYS = {"object": ("by_object", ("namespace", "resource", "name")),
        "owner": ("by_owner", ("namespace", "kind", "name")),
        "workload": ("by_top_owner", ("namespace", "kind", "name"))}


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


def comparable(groups: list, names: tuple) -> dict:
    """Our groups in expected.json's terms: PSA's reason texts, levels, events, denials."""
    return {tuple(g[n] for n in names): {"levels": g["levels"], "checks": sorted({c["reason"] for c in g["checks"]}),
                                         "events": g["events"], "denied": g["denied"]} for g in groups}


def reference(key: str, names: tuple) -> dict:
    return {tuple(g[n] for n in names): {k: g[k] for k in ("levels", "checks", "events", "denied")}
            for g in EXPECTED[key]}


@pytest.mark.parametrize("group_by", sorted(KEYS))
def test_groupings_equal_the_recorded_reference(podsec, group_by):
    key, names = KEYS[group_by]
    run = podsec("audit", ROTATED, CURRENT, "--group-by", group_by, "-o", "json")
    assert run.code == 1 and run.err == ""
    data = run.json
    assert (data["events"], data["eventsWithFindings"]) == (EXPECTED["events"], EXPECTED["events_with_audit_violations"])
    assert comparable(data["groups"], names) == reference(key, names)


def test_default_groups_by_workload_and_says_where_owners_came_from(podsec):
    groups = {(g["namespace"], g["kind"], g["name"]): g for g in podsec("audit", ROTATED, CURRENT, "-o", "json").json["groups"]}
    web = groups[("audit-restricted", "Deployment", "web")]
    assert web["ownerFrom"] == "name"  # Metadata level: ReplicaSet and pod names only
    assert "system:serviceaccount:kube-system:replicaset-controller" in web["users"]  # impersonated, not admin
    assert web["firstSeen"] < web["lastSeen"]
    # generateName pods have no name in a Metadata log: they stay together, unattributed.
    assert groups[("audit-restricted", "Pod", "")]["ownerFrom"] is None
    etl = groups[("audit-enforced", "Job", "etl")]
    assert (etl["events"], etl["denied"], etl["enforce"]) == (81, 80, ["baseline:latest"])
    # The denials name the enforce level's check; the audit level names the restricted one.
    assert [(d["check"], d["events"]) for d in etl["deniedBy"]] == [("capabilities_baseline", 80)]
    assert "capabilities_restricted" in [c["check"] for c in etl["checks"]]


def test_rotated_files_plain_and_stdin_read_alike(podsec, tmp_path):
    plain = [tmp_path / "audit-old.log", tmp_path / "audit.log"]
    for gz, path in zip((ROTATED, CURRENT), plain):
        path.write_bytes(gzip.decompress(gz.read_bytes()))
    from_gzip = podsec("audit", ROTATED, CURRENT, "-o", "json").json["groups"]
    assert podsec("audit", *plain, "-o", "json").json["groups"] == from_gzip
    both = plain[0].read_bytes() + plain[1].read_bytes()
    assert podsec("audit", "-", "-o", "json", stdin=both).json["groups"] == from_gzip
    # stdin may be gzip too (zcat is not needed), and a real process reads it alike.
    assert podsec("audit", "-", "-o", "json", stdin=gzip.compress(both)).json["groups"] == from_gzip
    process = run_process("audit", "-", "-o", "json", stdin=both)
    assert process.returncode == 1 and json.loads(process.stdout)["groups"] == from_gzip


def test_every_reason_in_the_logs_maps_to_the_check_of_its_level():
    reasons = {(level, reason) for g in EXPECTED["by_object"] for level in g["levels"] for reason in g["checks"]}
    mapped = {(level, reason): audit.check_id(reason, level) for level, reason in reasons}
    assert None not in mapped.values()
    # The same text from a baseline check and the restricted check that overrides it.
    assert mapped[("baseline:latest", "seccompProfile")] == "seccompProfile_baseline"
    assert mapped[("restricted:latest", "seccompProfile")] == "seccompProfile_restricted"
    assert mapped[("baseline:v1.30", "procMount")] == "procMount"
    assert audit.check_id("procMount", "restricted:v1.34") == "procMount"  # procMount_restricted is v1.35+
    assert audit.check_id("procMount", "restricted:latest") == "procMount_restricted"
    assert audit.check_id("forbidden AppArmor profiles", "baseline:latest") == "appArmorProfile"
    assert audit.check_id("no such reason", "restricted:latest") is None


def test_every_check_gives_a_reason_the_mapping_knows():
    """The probe pods must make every check fail: a new check without one fails here."""
    reasons = audit.reasons_by_check()
    assert set(reasons) == {check.id for check in ALL_CHECKS}
    assert all(reasons.values()), [check for check, found in reasons.items() if not found]


def test_split_reasons_ignores_commas_in_details():
    text = ('host namespaces (hostNetwork=true, hostPID=true), hostPort (container "a, b" uses hostPort 80), '
            'seccompProfile')
    assert audit.split_reasons(text) == ["host namespaces", "hostPort", "seccompProfile"]


# ---- bad input ------------------------------------------------------------------------------

def event_lines(count: int = 3) -> list:
    return gzip.decompress(CURRENT.read_bytes()).splitlines(True)[:count]


def test_malformed_and_non_audit_lines_are_errors_with_line_numbers(podsec, tmp_path):
    good = event_lines(3)
    path = tmp_path / "mixed.log"
    path.write_bytes(good[0] + b'{"kind": "Event", "apiVersion"\n' + good[1] + b'{"kind":"Pod","apiVersion":"v1"}\n'
                     + b"\n[1, 2]\n" + b"\xff\xfe\n" + good[2])
    run = podsec("audit", path, CURRENT, "-o", "json")
    assert run.code == 2
    assert run.err_lines[:3] == [
        f"error: {path}:2:31: not JSON: Expecting ':' delimiter",
        f"error: {path}:4: not a kube-apiserver audit event (kind 'Pod', apiVersion 'v1')",
        f"error: {path}:6: not a kube-apiserver audit event (a list)",
    ]
    assert run.err_lines[3].startswith(f"error: {path}:7: not JSON: ")
    data = run.json
    assert data["events"] == 3 + 80  # every good line of both files still counted
    assert len(data["errors"]) == 4 and data["errors"][0]["line"] == 2


@pytest.mark.parametrize("bad, message", [
    ('"annotations": {"pod-security.kubernetes.io/audit-violations": 5}',
     "annotations.pod-security.kubernetes.io/audit-violations is a number, not a string"),
    ('"objectRef": "x"', "objectRef is a string, not an object"),
    ('"annotations": "x"', "annotations is a string, not an object"),
    ('"impersonatedUser": "x"', "impersonatedUser is a string, not an object"),
    ('"objectRef": {"namespace": 5, "name": ["p"]}', "objectRef.namespace is a number, not a string"),
    ('"responseStatus": {"code": "403"}', "responseStatus.code is a string, not a number"),
])
def test_an_event_with_a_field_of_the_wrong_type_is_one_error(podsec, tmp_path, bad, message):
    """Found by using the tool: such a line crashed the whole run with a traceback."""
    good = event_lines(2)
    path = tmp_path / "typed.log"
    path.write_bytes(good[0] + b'{"kind": "Event", "apiVersion": "audit.k8s.io/v1", ' + bad.encode() + b"}\n" + good[1])
    run = podsec("audit", path, "-o", "json")
    assert run.code == 2
    assert run.err_lines == [f"error: {path}:2: not a valid audit event: {message}"]
    assert run.json["events"] == 2


def test_a_malformed_event_list_is_an_error(podsec, tmp_path):
    path = tmp_path / "list.log"
    path.write_text('{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": 5}\n'
                    '{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [null]}\n')
    run = podsec("audit", path)
    assert run.code == 2
    assert run.err_lines[:2] == [f"error: {path}:1: an EventList whose items are a number, not a list",
                                 f"error: {path}:2: not a kube-apiserver audit event (null)"]


def test_truncated_gzip_keeps_what_was_read(podsec, tmp_path):
    whole = ROTATED.read_bytes()
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    run = podsec("audit", cut, CURRENT, "-o", "json")
    assert run.code == 2
    [line] = run.err_lines
    read = run.json["events"] - 80
    assert 0 < read < 511
    assert line == f"error: {cut}:{read + 1}: cannot read further: the gzip data ends early (truncated file)"


def test_corrupt_gzip_and_missing_file_do_not_stop_the_rest(podsec, tmp_path):
    corrupt = tmp_path / "corrupt.log.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00garbage-garbage-garbage")
    run = podsec("audit", corrupt, tmp_path / "missing.log", CURRENT, "-o", "json")
    assert run.code == 2 and run.json["events"] == 80
    assert run.err_lines[0].startswith(f"error: {corrupt}:1: cannot read further: ")
    assert run.err_lines[1] == f"error: {tmp_path / 'missing.log'}: cannot read: No such file or directory"
    assert len(run.err_lines) == 2


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(podsec, tmp_path):
    path = tmp_path / "secret.log"
    path.write_bytes(b"")
    path.chmod(0)
    try:
        run = podsec("audit", path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert run.code == 2 and run.err_lines == [f"error: {path}: cannot read: Permission denied"]


def test_terminal_stdin_is_refused(podsec):
    from cli_helpers import TerminalStdin

    run = podsec("audit", "-", stdin=TerminalStdin())
    assert run.code == 2 and run.err_lines[0].startswith("error: refusing to read an audit log from a terminal")


def test_no_findings_exits_0(podsec, tmp_path):
    quiet = [line for line in gzip.decompress(ROTATED.read_bytes()).splitlines(True) if b"audit-violations" not in line]
    path = tmp_path / "quiet.log"
    path.write_bytes(b"".join(quiet))
    run = podsec("audit", path)
    assert run.code == 0
    assert run.out.endswith(f"0 groups by workload; 0 of {len(quiet)} events carry Pod Security findings; 0 denied\n")


# ---- what other audit levels and formats carry --------------------------------------------

def make_event(**changes) -> dict:
    event = json.loads(event_lines(1)[0])
    event.update(changes)
    return event


def test_request_response_bodies_give_names_and_owners(podsec, tmp_path):
    """At RequestResponse level a generateName pod has its name in the response, and its
    ownerReferences in the body: these beat any naming convention."""
    owned = {"metadata": {"name": "odd-name", "namespace": "ns",
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "api-5d4c", "controller": True}]}}
    rs = {"metadata": {"name": "api-5d4c", "ownerReferences": [
        {"kind": "Deployment", "name": "api", "controller": True}]}}
    events = [
        make_event(level="RequestResponse", objectRef={"resource": "pods", "namespace": "ns"},
                   requestObject={"metadata": {"generateName": "api-5d4c-", **owned["metadata"], "name": None}},
                   responseObject=owned),
        make_event(level="Request", objectRef={"resource": "replicasets", "namespace": "ns", "name": "api-5d4c"},
                   requestObject=rs, annotations={}),
    ]
    path = tmp_path / "rr.log"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    groups = podsec("audit", path, "-o", "json").json["groups"]
    assert [(g["kind"], g["name"], g["ownerFrom"], g["events"]) for g in groups] == [
        ("Deployment", "api", "ownerReferences", 1)]


def test_early_stages_are_not_counted_twice(podsec, tmp_path):
    complete = make_event()
    received = dict(complete, stage="RequestReceived")
    path = tmp_path / "stages.log"
    path.write_text(json.dumps(received) + "\n" + json.dumps(complete) + "\n")
    data = podsec("audit", path, "-o", "json").json
    assert data["events"] == 1 and data["groups"][0]["events"] == 1


def test_a_denial_without_audit_annotation_still_counts(podsec, tmp_path):
    """audit=privileged, enforce=baseline: only the 403's message tells of PSA."""
    event = make_event(objectRef={"resource": "pods", "namespace": "ns", "name": "priv"},
                       annotations={"pod-security.kubernetes.io/enforce-policy": "baseline:latest"},
                       responseStatus={"code": 403, "reason": "Forbidden", "message":
                                       'pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged '
                                       '(container "app" must not set securityContext.privileged=true)'})
    rbac = make_event(annotations={}, responseStatus={"code": 403, "message": "forbidden: User cannot create"})
    path = tmp_path / "denied.log"
    path.write_text(json.dumps(event) + "\n" + json.dumps(rbac) + "\n")
    [group] = podsec("audit", path, "-o", "json").json["groups"]
    assert (group["name"], group["denied"], group["enforce"], group["levels"]) == ("priv", 1, ["baseline:latest"], [])
    assert [(c["check"], c["events"], c["denied"]) for c in group["checks"]] == [("privileged", 1, 1)]


def test_webhook_event_lists_are_read(podsec, tmp_path):
    lines = event_lines(2)
    batch = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [json.loads(x) for x in lines]}
    path = tmp_path / "batch.log"
    path.write_text(json.dumps(batch) + "\n")
    assert podsec("audit", path, "-o", "json").json["events"] == 2


def test_resolve_asks_the_cluster_for_owners(podsec, tmp_path, monkeypatch):
    """A pod whose name follows no convention: --resolve reads its ownerReferences, and the
    ReplicaSet's, through kubectl (here a stand-in that prints what kubectl would)."""
    pod_event = make_event(objectRef={"resource": "pods", "namespace": "shop", "name": "handmade"})
    path = tmp_path / "one.log"
    path.write_text(json.dumps(pod_event) + "\n")
    listing = {"kind": "List", "apiVersion": "v1", "items": [
        {"kind": "Pod", "metadata": {"name": "handmade", "namespace": "shop", "ownerReferences": [
            {"kind": "ReplicaSet", "name": "cart-7f9c", "controller": True}]}},
        {"kind": "ReplicaSet", "metadata": {"name": "cart-7f9c", "namespace": "shop", "ownerReferences": [
            {"kind": "Deployment", "name": "cart", "controller": True}]}}]}
    fake = tmp_path / "kubectl"
    version = {"serverVersion": {"major": "1", "minor": "36"}}
    fake.write_text(f"#!{sys.executable}\nimport sys\n"
                    f"if sys.argv[1] == 'version':\n    print({json.dumps(json.dumps(version))}); sys.exit()\n"
                    f"open({str(tmp_path / 'argv')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
                    f"print({json.dumps(json.dumps(listing))})\n")
    fake.chmod(0o755)
    without = podsec("audit", path, "-o", "json").json["groups"]
    assert [(g["kind"], g["name"]) for g in without] == [("Pod", "handmade")]
    run = podsec("audit", path, "--resolve", "--kubectl", fake, "--context", "prod", "-o", "json")
    assert [(g["kind"], g["name"], g["ownerFrom"]) for g in run.json["groups"]] == [("Deployment", "cart", "cluster")]
    argv = (tmp_path / "argv").read_text()
    assert argv.startswith("get jobs,pods,replicasets -o json -n shop") and "--context=prod" in argv


def test_resolve_without_a_cluster_is_one_error_and_keeps_the_log_groups(podsec, tmp_path):
    run = podsec("audit", CURRENT, "--resolve", "--kubectl", tmp_path / "no-kubectl", "-o", "json")
    assert run.code == 2  # something could not be read
    assert run.err_lines == [f"error: --resolve: kubectl not found ({tmp_path / 'no-kubectl'}); "
                             "install it or point --kubectl or KUBECTL at it"]
    assert run.json["groups"]


def test_resolve_with_an_unreachable_cluster_says_so_once(podsec, tmp_path, kubectl):
    """Found by using the tool: kubectl's log lines came out about eight times per namespace."""
    config = tmp_path / "kubeconfig"
    config.write_text("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:9'}\n"
                      "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
                      "users:\n- name: u\n  user: {token: t}\n")
    run = podsec("audit", CURRENT, ROTATED, "--resolve", "--kubeconfig", config, "--kubectl", kubectl,
                 "--request-timeout", "2s", "-o", "json")
    assert run.code == 2
    assert len(run.err_lines) == 1 and run.err_lines[0].startswith("error: --resolve: "), run.err_lines
    assert run.json["groups"]


def test_text_output(podsec):
    run = podsec("audit", ROTATED, CURRENT)
    lines = run.out.splitlines()
    head = lines.index("audit-enforced  Job/etl  81 events, 80 denied  restricted:latest  [owner from name]")
    assert lines[head + 1].startswith("  seen 2026-12-03T19:29:21.521099Z .. 2026-12-03T19:29:22.674372Z by admin, ")
    assert lines[head + 2].split() == ["allowPrivilegeEscalation", "81", "(80", "denied)",
                                       "allowPrivilegeEscalation", "!=", "false"]
    assert "audit-restricted  Pod/(generateName, not in the log)" in run.out
    assert lines[-1] == "62 groups by workload; 540 of 591 events carry Pod Security findings; 105 denied"


@pytest.mark.parametrize("jobs", [2, 3])
def test_big_files_read_in_parallel_give_the_same_result(tmp_path, monkeypatch, jobs):
    """Ranges cut at line starts, joined in order: the same groups, counts and line numbers."""
    lines = gzip.decompress(ROTATED.read_bytes()).splitlines(True) + gzip.decompress(CURRENT.read_bytes()).splitlines(True)
    lines[100:100] = [b"not json\n"]
    lines[400:400] = [b'{"kind": "Pod"}\n']
    path = tmp_path / "big.log"
    path.write_bytes(b"".join(lines))
    serial = run_audit(AuditOptions((str(path),)))
    monkeypatch.setattr(audit, "PARALLEL_BYTES", 1000)
    parallel = run_audit(AuditOptions((str(path),), jobs=jobs))
    assert parallel == serial
    assert [(e.line, e.message[:8]) for e in parallel.errors] == [(101, "not JSON"), (401, "not a ku")]
