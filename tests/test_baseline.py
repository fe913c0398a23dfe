"""Baselines of existing violations (issue 6, "Baselines for existing violations").

`check --write-baseline FILE` records today's findings keyed by object identity, check and
where the finding is (kind, namespace, name, check, where: the field, with containers and
volumes named; no line numbers, issue 10); `check --baseline FILE` fails only on
findings not in it, so moving a workload or adding comments changes nothing, and reports the
entries that no longer occur (JSON `baseline.stale`, and a line on stderr) so that the file
can shrink. A malformed baseline file is exit 2.
"""

import json
import textwrap

import pytest
from cli_helpers import cli_runner, indent, write

LEVEL_SPECS = {
    "baseline": "containers:\n  - name: app\n    image: nginx\n",
    "privileged": "hostNetwork: true\ncontainers:\n  - name: app\n    image: nginx\n",
    "restricted": textwrap.dedent("""\
        securityContext:
          runAsNonRoot: true
          seccompProfile:
            type: RuntimeDefault
        containers:
          - name: app
            image: nginx
            securityContext:
              allowPrivilegeEscalation: false
              capabilities:
                drop: [ALL]
        """),
}
RESTRICTED_CHECKS = ["allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot",
                     "seccompProfile_restricted"]


def deployment(name: str, namespace: str = "shop", level: str = "baseline", kind: str = "Deployment") -> str:
    api = "batch/v1" if kind == "Job" else "apps/v1"
    return (f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
            "spec:\n  template:\n    spec:\n" + indent(LEVEL_SPECS[level], 6))


TODAY = "---\n".join([deployment("web"), deployment("agent", "monitoring", "privileged"),
                      deployment("api", level="restricted")])


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def baselined(podsec, tmp_path):
    """app.yaml with TODAY's manifests and baseline.json recorded from them."""
    write(tmp_path, "app.yaml", TODAY)
    run = podsec("check", "app.yaml", "--write-baseline", "baseline.json")
    assert run.err_lines[-1] == "wrote baseline.json"
    return tmp_path / "baseline.json"


def identity(entries: list) -> list:
    """Baseline entries without `where`, in order, duplicates kept."""
    return [{k: e[k] for k in ("kind", "namespace", "name", "check")} for e in entries]


def unsuppressed(data: dict) -> set:
    return {(o["kind"], o["name"], v["check"]) for o in data["objects"] for v in o["violations"]
            if v["suppressed"] is None}


def test_write_baseline_records_findings_by_identity_and_check(podsec, tmp_path, baselined):
    body = json.loads(baselined.read_text())
    assert body["apiVersion"] == "kubectl-podsec/v2"
    assert body["kind"] == "PodsecBaseline"
    expected = [{"kind": "Deployment", "namespace": "monitoring", "name": "agent", "check": check}
                for check in ["hostNamespaces"] + RESTRICTED_CHECKS]
    expected += [{"kind": "Deployment", "namespace": "shop", "name": "web", "check": check}
                 for check in RESTRICTED_CHECKS]
    key = lambda e: (e["kind"], e["namespace"], e["name"], e["check"], e["where"])
    assert body["findings"] == sorted(body["findings"], key=key)  # sorted, nothing for the restricted `api`
    assert {tuple(e.values()) for e in identity(body["findings"])} == {tuple(e.values()) for e in expected}
    for entry in body["findings"]:
        assert set(entry) == {"kind", "namespace", "name", "check", "where"}  # no lines, no files
    where = {(e["name"], e["check"]): e["where"] for e in body["findings"]}
    assert where["agent", "hostNamespaces"] == "spec.hostNetwork"
    assert where["web", "allowPrivilegeEscalation"] == "containers[app].securityContext.allowPrivilegeEscalation"
    assert '"line"' not in baselined.read_text() and '"column"' not in baselined.read_text()


def test_write_baseline_lists_every_violation_not_only_the_next_levels(podsec, tmp_path, baselined):
    data = podsec("check", "app.yaml", "-o", "json").json
    findings = {(e["kind"], e["namespace"], e["name"], e["check"])
                for e in json.loads(baselined.read_text())["findings"]}
    assert findings == {(o["kind"], o["namespace"], o["name"], v["check"])
                        for o in data["objects"] for v in o["violations"]}


def test_write_baseline_of_a_clean_input_is_an_empty_list(podsec, tmp_path):
    write(tmp_path, "app.yaml", deployment("api", level="restricted"))
    run = podsec("check", "app.yaml", "--write-baseline", "b.json")
    assert run.code == 0
    assert json.loads((tmp_path / "b.json").read_text())["findings"] == []


def test_write_baseline_is_not_written_when_the_input_has_errors(podsec, tmp_path):
    write(tmp_path, "app.yaml", TODAY + "---\nkind: [\n")
    run = podsec("check", "app.yaml", "--write-baseline", "b.json")
    assert run.code == 2
    assert not (tmp_path / "b.json").exists()


def test_the_same_input_passes_with_the_baseline(podsec, tmp_path, baselined):
    assert podsec("check", "app.yaml").code == 1
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 0, run.out
    data = run.json
    assert unsuppressed(data) == set()
    for obj in data["objects"]:
        for violation in obj["violations"]:
            assert violation["suppressed"] == {"by": "baseline", "reason": "in the baseline"}
        assert obj["effectiveHighest"] == "restricted"
    # The official verdicts are unchanged.
    assert {o["name"]: o["highest"] for o in data["objects"]} == {"web": "baseline", "agent": "privileged",
                                                                  "api": "restricted"}
    assert data["baseline"] == {"file": str(baselined), "stale": []}
    assert "no longer occur" not in run.err


def test_baselined_findings_are_marked_in_text(podsec, tmp_path, baselined):
    run = podsec("check", "app.yaml", "--baseline", baselined)
    assert run.code == 0
    assert "[baseline: in the baseline]" in run.out
    assert "Deployment/web (shop): highest=baseline (restricted with the baseline file)" in run.out
    assert "0 below restricted" in run.out.splitlines()[-1]


def test_moving_workloads_and_adding_comments_keeps_the_baseline_valid(podsec, tmp_path, baselined):
    web, agent, api = TODAY.split("---\n")
    moved = ("# Rendered for production\n# (reordered)\n\n" + api + "---\n# the agent\n\n\n" + agent
             + "---\n" + "# web, now with a comment\n" + web.replace("spec:\n", "spec:\n  # replicas come later\n", 1)
             + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n")
    write(tmp_path, "app.yaml", moved)
    data = podsec("check", "app.yaml", "-o", "json").json
    assert [o["name"] for o in data["objects"]] == ["api", "agent", "web"]  # really moved
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 0
    assert run.json["baseline"]["stale"] == []


def test_splitting_into_other_files_keeps_the_baseline_valid(podsec, tmp_path, baselined):
    web, agent, api = TODAY.split("---\n")
    write(tmp_path / "deploy", "web.yaml", web)
    write(tmp_path / "deploy", "agent.json", json.dumps(__import__("yaml").safe_load(agent)))
    write(tmp_path / "deploy", "api.yaml", api)
    run = podsec("check", "-f", "deploy", "--baseline", baselined)
    assert run.code == 0, run.out


def test_a_new_object_with_violations_fails_and_only_its_findings_are_new(podsec, tmp_path, baselined):
    write(tmp_path, "app.yaml", TODAY + "---\n" + deployment("checkout"))
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 1
    assert unsuppressed(run.json) == {("Deployment", "checkout", check) for check in RESTRICTED_CHECKS}
    objects = {o["name"]: o for o in run.json["objects"]}
    assert objects["checkout"]["effectiveHighest"] == "baseline"
    assert objects["web"]["effectiveHighest"] == "restricted"


@pytest.mark.parametrize("changed", [
    deployment("web", namespace="shop-v2"),  # another namespace: another object
    deployment("web", kind="Job"),  # another kind
    deployment("web2"),  # another name
])
def test_identity_is_kind_namespace_and_name(podsec, tmp_path, baselined, changed):
    _web, agent, api = TODAY.split("---\n")
    write(tmp_path, "app.yaml", f"{changed}---\n{agent}---\n{api}")
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 1
    assert len(unsuppressed(run.json)) == len(RESTRICTED_CHECKS)
    assert sorted({tuple(e.values()) for e in identity(run.json["baseline"]["stale"])}) == [
        ("Deployment", "shop", "web", check) for check in RESTRICTED_CHECKS]


def test_a_new_check_on_a_known_object_fails_and_only_it_is_new(podsec, tmp_path, baselined):
    _web, agent, api = TODAY.split("---\n")
    worse = deployment("web", level="privileged")  # adds hostNetwork
    write(tmp_path, "app.yaml", f"{worse}---\n{agent}---\n{api}")
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 1
    assert unsuppressed(run.json) == {("Deployment", "web", "hostNamespaces")}
    web_obj = next(o for o in run.json["objects"] if o["name"] == "web")
    assert web_obj["effectiveHighest"] == "privileged"
    # At the baseline gate it still fails: the new finding is a baseline one.
    assert podsec("check", "app.yaml", "--baseline", baselined, "--level", "baseline").code == 1
    text = podsec("check", "app.yaml", "--baseline", baselined).out
    new_line = next(line for line in text.splitlines() if "hostNamespaces:" in line)
    assert "[baseline" not in new_line


def test_a_new_violation_of_a_known_check_in_a_known_object_is_new(podsec, tmp_path, baselined):
    """Entries say where: a second container failing the same check is a new finding (issue 10)."""
    web, agent, api = TODAY.split("---\n")
    more = web + "        - name: sidecar\n          image: envoy\n"
    write(tmp_path, "app.yaml", f"{more}---\n{agent}---\n{api}")
    data = podsec("check", "app.yaml", "-o", "json").json
    assert "sidecar" in next(o for o in data["objects"] if o["name"] == "web")["violations"][0]["detail"]
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 1
    assert ("Deployment", "web", "allowPrivilegeEscalation") in unsuppressed(run.json)
    assert not {name for _, name, _ in unsuppressed(run.json)} - {"web"}
    assert run.json["baseline"]["stale"] == []


HOST_AGENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: node-agent
      namespace: monitoring
    spec:
      template:
        spec:
          containers:
            - name: agent
              image: agent
          volumes:
            - name: logs
              hostPath:
                path: /var/log
    """)


def test_a_second_host_path_volume_is_not_hidden_by_the_baseline(podsec, tmp_path):
    """The issue's case: a DaemonSet baselined for one hostPath volume gains a second one."""
    write(tmp_path, "agent.yaml", HOST_AGENT)
    assert podsec("check", "agent.yaml", "--write-baseline", "b.json").code == 0
    where = {e["where"] for e in json.loads((tmp_path / "b.json").read_text())["findings"]
             if e["check"] == "hostPathVolumes"}
    assert where == {"volumes[logs].hostPath"}
    moved = "# a comment moves every line\n" + HOST_AGENT
    write(tmp_path, "agent.yaml", moved)
    assert podsec("check", "agent.yaml", "--baseline", "b.json").code == 0
    write(tmp_path, "agent.yaml", moved + "        - name: root\n          hostPath:\n            path: /\n")
    run = podsec("check", "agent.yaml", "--baseline", "b.json", "-o", "json")
    assert run.code == 1
    assert ("DaemonSet", "node-agent", "hostPathVolumes") in unsuppressed(run.json)


def test_an_older_baseline_file_is_refused_with_an_upgrade_message(podsec, tmp_path):
    write(tmp_path, "app.yaml", TODAY)
    path = write(tmp_path, "old.json", json.dumps({"apiVersion": "kubectl-podsec/v1", "kind": "PodsecBaseline",
                                                   "findings": [{"kind": "Deployment", "namespace": "shop",
                                                                 "name": "web", "check": "runAsNonRoot"}]}))
    run = podsec("check", "app.yaml", "--baseline", path)
    assert run.code == 2 and run.out == ""
    assert run.err_lines == [f"error: {path}: an older baseline (kubectl-podsec/v1), whose entries do not say where "
                             "each finding is, so new violations of a known check would pass; rewrite it with "
                             f"kubectl podsec check ... --write-baseline {path} and review what it accepts"]


def test_the_baseline_is_written_atomically(podsec, tmp_path, monkeypatch):
    """Through writes.write_atomically (issue 9 item 6); a failed write is exit 2, leaves no
    file behind, and does not say "wrote"."""
    from kubectl_podsec import writes

    write(tmp_path, "app.yaml", TODAY)
    calls = []
    real = writes.write_atomically
    monkeypatch.setattr(writes, "write_atomically", lambda path, text: calls.append(path) or real(path, text))
    assert podsec("check", "app.yaml", "--write-baseline", "b.json").code == 0  # written, then applied
    assert calls == ["b.json"] and json.loads((tmp_path / "b.json").read_text())["findings"]
    monkeypatch.setattr(writes, "write_atomically", lambda path, text: "No space left on device")
    run = podsec("check", "app.yaml", "--write-baseline", "new.json")
    assert run.code == 2 and "wrote" not in run.err
    assert run.err_lines == ["error: new.json: cannot write the baseline: No space left on device"]
    assert not (tmp_path / "new.json").exists()


def test_fixing_something_reports_stale_entries(podsec, tmp_path, baselined):
    _web, agent, api = TODAY.split("---\n")
    write(tmp_path, "app.yaml", "---\n".join([deployment("web", level="restricted"), agent, api]))
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 0
    stale = run.json["baseline"]["stale"]
    assert sorted({tuple(e.values()) for e in identity(stale)}) == [
        ("Deployment", "shop", "web", check) for check in RESTRICTED_CHECKS]
    assert len(stale) == 6  # runAsNonRoot and seccompProfile_restricted at pod and container level
    assert f"{baselined}: 6 baseline entries no longer occur; rewrite it with --write-baseline to shrink it" \
        in run.err_lines
    # Text output reports them on stderr too.
    text = podsec("check", "app.yaml", "--baseline", baselined)
    assert text.code == 0
    assert any("6 baseline entries no longer occur" in line for line in text.err_lines)


def test_fixing_one_check_of_an_object_leaves_only_that_entry_stale(podsec, tmp_path, baselined):
    web, agent, api = TODAY.split("---\n")
    partly = web.replace("      containers:\n", "      securityContext:\n        runAsNonRoot: true\n"
                                                 "      containers:\n", 1)
    write(tmp_path, "app.yaml", f"{partly}---\n{agent}---\n{api}")
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 0
    assert run.json["baseline"]["stale"] == [{"kind": "Deployment", "namespace": "shop", "name": "web",
                                              "check": "runAsNonRoot",
                                              "where": "containers[app].securityContext.runAsNonRoot"},
                                             {"kind": "Deployment", "namespace": "shop", "name": "web",
                                              "check": "runAsNonRoot", "where": "spec.securityContext.runAsNonRoot"}]


def test_deleting_an_object_reports_its_entries_stale(podsec, tmp_path, baselined):
    web, _agent, api = TODAY.split("---\n")
    write(tmp_path, "app.yaml", f"{web}---\n{api}")
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 0
    assert {e["name"] for e in run.json["baseline"]["stale"]} == {"agent"}
    assert len(identity(run.json["baseline"]["stale"])) == 7  # five checks, two at two places


def test_rewriting_the_baseline_shrinks_it(podsec, tmp_path, baselined):
    _web, agent, api = TODAY.split("---\n")
    write(tmp_path, "app.yaml", "---\n".join([deployment("web", level="restricted"), agent, api]))
    run = podsec("check", "app.yaml", "--baseline", baselined, "--write-baseline", baselined)
    assert "wrote" in run.err
    assert {e["name"] for e in json.loads(baselined.read_text())["findings"]} == {"agent"}
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 0 and run.json["baseline"]["stale"] == []


def test_the_baseline_works_on_stdin(podsec, tmp_path, baselined):
    run = podsec("check", "-f", "-", "--baseline", baselined, stdin=TODAY.encode())
    assert run.code == 0


def test_baseline_and_exemptions_together(podsec, tmp_path, baselined):
    write(tmp_path, ".podsec.yaml", "exemptions:\n  - reason: agents\n    namespace: monitoring\n")
    write(tmp_path, "app.yaml", TODAY + "---\n" + deployment("checkout"))
    run = podsec("check", "app.yaml", "--baseline", baselined, "-o", "json")
    assert run.code == 1
    objects = {o["name"]: o for o in run.json["objects"]}
    assert {v["suppressed"]["by"] for v in objects["agent"]["violations"]} == {"exemption"}
    assert {v["suppressed"]["by"] for v in objects["web"]["violations"]} == {"baseline"}
    assert {v["suppressed"] is None for v in objects["checkout"]["violations"]} == {True}
    # Findings covered by an exemption are not stale baseline entries.
    assert run.json["baseline"]["stale"] == []


MALFORMED = {
    "not JSON": "findings: [\n",
    "wrong kind": json.dumps({"kind": "Something", "findings": []}),
    "no findings list": json.dumps({"kind": "PodsecBaseline", "findings": {}}),
    "a list": json.dumps([]),
    "entry without check": json.dumps({"kind": "PodsecBaseline", "findings": [{"kind": "Pod", "name": "a"}]}),
    "entry not a mapping": json.dumps({"kind": "PodsecBaseline", "findings": ["Pod/a"]}),
    "name not a string": json.dumps({"kind": "PodsecBaseline", "findings": [
        {"kind": "Pod", "name": 1, "check": "privileged"}]}),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_baseline_exits_2_with_one_error_line(podsec, tmp_path, name):
    write(tmp_path, "app.yaml", TODAY)
    path = write(tmp_path, "baseline.json", MALFORMED[name])
    run = podsec("check", "app.yaml", "--baseline", path)
    assert run.code == 2
    assert run.out == ""
    assert len(run.err_lines) == 1
    assert run.err_lines[0].startswith(f"error: {path}: ")


def test_a_missing_baseline_exits_2(podsec, tmp_path):
    write(tmp_path, "app.yaml", TODAY)
    run = podsec("check", "app.yaml", "--baseline", "nope.json")
    assert run.code == 2
    assert run.err_lines == ["error: nope.json: No such file or directory"]


def test_a_baseline_without_namespaces_matches_objects_without_one(podsec, tmp_path):
    write(tmp_path, "app.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"
                                "  containers:\n    - name: app\n      image: nginx\n")
    where = {"allowPrivilegeEscalation": ["containers[app].securityContext.allowPrivilegeEscalation"],
             "capabilities_restricted": ["containers[app].securityContext.capabilities.drop"],
             "runAsNonRoot": ["containers[app].securityContext.runAsNonRoot", "spec.securityContext.runAsNonRoot"],
             "seccompProfile_restricted": ["containers[app].securityContext.seccompProfile.type",
                                           "spec.securityContext.seccompProfile.type"]}
    path = write(tmp_path, "baseline.json", json.dumps({"apiVersion": "kubectl-podsec/v2", "kind": "PodsecBaseline",
                                                        "findings": [{"kind": "Pod", "name": "web", "check": check,
                                                                      "where": place}
                                                                     for check in RESTRICTED_CHECKS
                                                                     for place in where[check]]}))
    assert podsec("check", "app.yaml", "--baseline", path).code == 0
