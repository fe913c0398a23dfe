"""Exemptions in `.podsec.yaml` (issue 6, "Exemptions"): by namespace, kind, name (globs),
container and check id, each with a reason. `check` shows exempt findings as exempt (in JSON
with `suppressed: {by: exemption, reason}`, in text with the reason) while `highest` stays
the official verdict; `effectiveHighest` and the exit code honour them; `fix` leaves exempt
fields alone. The file is found from the current directory upward, or named by --config;
a malformed one is one `error: config FILE:LINE:COL: ...` line and exit 2.
"""

import json
import os
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from cli_helpers import cli_runner, indent, pod, write

# A Deployment in `shop` whose two containers both miss allowPrivilegeEscalation: false and
# nothing else (restricted otherwise).
TWO_CONTAINERS = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: shop
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: app
              image: nginx
              securityContext:
                capabilities:
                  drop: ["ALL"]
            - name: sidecar
              image: envoy
              securityContext:
                capabilities:
                  drop: ["ALL"]
    """)


def deployment(name: str, namespace: str, spec: str = "hostNetwork: true\n") -> str:
    """A Deployment whose pod has one container "app" with no securityContext, plus `spec`."""
    pod_spec = spec + "containers:\n  - name: app\n    image: nginx\n"
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
            "spec:\n  template:\n    spec:\n" + indent(pod_spec, 6))


def daemonset(name: str, namespace: str) -> str:
    return deployment(name, namespace).replace("kind: Deployment", "kind: DaemonSet")


def config(*exemptions: dict) -> str:
    return yaml.safe_dump({"exemptions": list(exemptions)}, sort_keys=False)


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    # The config is looked up from the current directory: run in an empty one.
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


def by_name(data: dict) -> dict:
    return {(obj["kind"], obj["name"]): obj for obj in data["objects"]}


def suppressed(obj: dict) -> dict:
    return {v["check"]: v["suppressed"] for v in obj["violations"]}


# --- what each selector matches ----------------------------------------------------------

MANIFESTS = "---\n".join([
    deployment("web", "shop"),
    deployment("api", "shop"),
    deployment("agent", "monitoring"),
    daemonset("node-exporter", "monitoring"),
    daemonset("node-exporter-gpu", "monitoring"),
    daemonset("node-exporter", "other"),
])


@pytest.mark.parametrize("exemption, exempt", [
    ({"namespace": "monitoring"}, {("Deployment", "agent", "monitoring"), ("DaemonSet", "node-exporter", "monitoring"),
                                   ("DaemonSet", "node-exporter-gpu", "monitoring")}),
    ({"namespace": "mon*"}, {("Deployment", "agent", "monitoring"), ("DaemonSet", "node-exporter", "monitoring"),
                             ("DaemonSet", "node-exporter-gpu", "monitoring")}),
    ({"kind": "DaemonSet"}, {("DaemonSet", "node-exporter", "monitoring"),
                             ("DaemonSet", "node-exporter-gpu", "monitoring"), ("DaemonSet", "node-exporter", "other")}),
    ({"name": "node-exporter*"}, {("DaemonSet", "node-exporter", "monitoring"),
                                  ("DaemonSet", "node-exporter-gpu", "monitoring"),
                                  ("DaemonSet", "node-exporter", "other")}),
    ({"name": "node-exporter"}, {("DaemonSet", "node-exporter", "monitoring"), ("DaemonSet", "node-exporter", "other")}),
    ({"namespace": "monitoring", "kind": "DaemonSet", "name": "node-exporter*"},
     {("DaemonSet", "node-exporter", "monitoring"), ("DaemonSet", "node-exporter-gpu", "monitoring")}),
    ({"name": "[wa]*"}, {("Deployment", "web", "shop"), ("Deployment", "api", "shop"),
                         ("Deployment", "agent", "monitoring")}),
    ({"kind": "daemonset"}, set()),  # kinds are matched as written: case matters
])
def test_each_selector_exempts_exactly_what_it_matches(podsec, tmp_path, exemption, exempt):
    write(tmp_path, "all.yaml", MANIFESTS)
    write(tmp_path, ".podsec.yaml", config({"reason": "node agents read the host", **exemption}))
    run = podsec("check", "all.yaml", "-o", "json")
    objects = {(o["kind"], o["name"], o["namespace"]): o for o in run.json["objects"]}
    assert len(objects) == 6
    for key, obj in objects.items():
        assert obj["highest"] == "privileged"  # the official verdict never changes
        marks = set(map(str, suppressed(obj).values()))
        if key in exempt:
            assert all(v["suppressed"] == {"by": "exemption", "reason": "node agents read the host"}
                       for v in obj["violations"]), key
            assert obj["effectiveHighest"] == "restricted", key
        else:
            assert marks == {"None"}, key
            assert obj["effectiveHighest"] == "privileged", key
    assert run.code == (0 if exempt == set(objects) else 1)


@pytest.mark.parametrize("pattern, matches", [("app", True), ("a?p", True), ("[ab]pp", True), ("*", True),
                                              ("sidecar", False), ("App", False)])
def test_a_container_glob_exempts_the_findings_in_matching_containers(podsec, tmp_path, pattern, matches):
    write(tmp_path, "all.yaml", MANIFESTS)
    write(tmp_path, ".podsec.yaml", config({"reason": "app is special", "container": pattern}))
    run = podsec("check", "all.yaml", "-o", "json")
    assert run.code == 1  # hostNetwork is in no container
    for obj in run.json["objects"]:
        marks = suppressed(obj)
        assert marks["hostNamespaces"] is None
        for check in ("allowPrivilegeEscalation", "capabilities_restricted"):
            assert marks[check] == ({"by": "exemption", "reason": "app is special"} if matches else None)
        assert obj["effectiveHighest"] == "privileged"


def test_a_checks_list_exempts_only_those_checks(podsec, tmp_path):
    write(tmp_path, "all.yaml", deployment("node-exporter", "monitoring"))
    write(tmp_path, ".podsec.yaml", config({"reason": "reads the host network", "kind": "Deployment",
                                            "checks": ["hostNamespaces"]}))
    run = podsec("check", "all.yaml", "-o", "json")
    assert run.code == 1
    obj = run.json["objects"][0]
    marks = suppressed(obj)
    assert marks.pop("hostNamespaces") == {"by": "exemption", "reason": "reads the host network"}
    assert marks and all(value is None for value in marks.values())
    # Baseline now passes once the exempt check is set aside; restricted does not.
    assert obj["highest"] == "privileged"
    assert obj["effectiveHighest"] == "baseline"
    assert podsec("check", "all.yaml", "--level", "baseline").code == 0
    assert podsec("check", "all.yaml", "--level", "restricted").code == 1


def test_a_checks_list_alone_exempts_the_check_everywhere(podsec, tmp_path):
    write(tmp_path, "all.yaml", MANIFESTS)
    write(tmp_path, ".podsec.yaml", config({"reason": "the whole fleet uses host networking",
                                            "checks": ["hostNamespaces"]}))
    run = podsec("check", "all.yaml", "--level", "baseline", "-o", "json")
    assert run.code == 0
    for obj in run.json["objects"]:
        assert obj["effectiveHighest"] == "baseline"
        assert suppressed(obj)["hostNamespaces"]["by"] == "exemption"


NODE_EXPORTER = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: node-exporter
      namespace: monitoring
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: app
              image: prom/node-exporter
              securityContext:
                allowPrivilegeEscalation: false
                capabilities:
                  drop: ["ALL"]
          volumes:
            - name: proc
              hostPath:
                path: /proc
    """)


def test_exempting_a_check_and_its_restricted_replacement_passes_restricted(podsec, tmp_path):
    write(tmp_path, "agent.yaml", NODE_EXPORTER)
    write(tmp_path, ".podsec.yaml", config({"reason": "reads /proc", "name": "node-exporter",
                                            "checks": ["hostPathVolumes", "restrictedVolumes"]}))
    run = podsec("check", "agent.yaml", "-o", "json")
    assert run.code == 0
    assert set(suppressed(run.json["objects"][0])) == {"hostPathVolumes", "restrictedVolumes"}


def test_exempting_host_path_volumes_covers_the_same_volume_at_restricted(podsec, tmp_path):
    write(tmp_path, "agent.yaml", NODE_EXPORTER)
    write(tmp_path, ".podsec.yaml", config({"reason": "node agents read the host", "namespace": "monitoring",
                                            "kind": "DaemonSet", "name": "node-exporter*",
                                            "checks": ["hostNamespaces", "hostPathVolumes"]}))
    assert podsec("check", "agent.yaml").code == 0


def test_several_exemptions_combine(podsec, tmp_path):
    write(tmp_path, "all.yaml", MANIFESTS)
    write(tmp_path, ".podsec.yaml", config(
        {"reason": "agents", "namespace": "monitoring"},
        {"reason": "host network for web", "name": "web", "checks": ["hostNamespaces"]},
    ))
    data = podsec("check", "all.yaml", "--level", "baseline", "-o", "json").json
    objects = {(o["kind"], o["name"], o["namespace"]): o for o in data["objects"]}
    assert objects[("Deployment", "web", "shop")]["effectiveHighest"] == "baseline"
    assert suppressed(objects[("Deployment", "web", "shop")])["hostNamespaces"]["reason"] == "host network for web"
    assert objects[("Deployment", "agent", "monitoring")]["effectiveHighest"] == "restricted"
    assert objects[("Deployment", "api", "shop")]["effectiveHighest"] == "privileged"
    assert objects[("DaemonSet", "node-exporter", "other")]["effectiveHighest"] == "privileged"


def test_exempt_findings_are_shown_in_text_with_their_reason(podsec, tmp_path):
    write(tmp_path, "all.yaml", deployment("node-exporter", "monitoring"))
    write(tmp_path, ".podsec.yaml", config({"reason": "node agents read the host", "namespace": "monitoring"}))
    run = podsec("check", "all.yaml")
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0] == ("all.yaml:1:1: Deployment/node-exporter (monitoring): highest=privileged "
                        "(restricted with exemptions)")
    assert re.match(r"  all\.yaml:\d+:\d+: hostNamespaces: host namespaces \(hostNetwork=true\) "
                    r"\[exemption: node agents read the host\]$", lines[1]), lines[1]
    assert "0 below restricted" in lines[-1]


def test_exempt_findings_are_in_yaml_output_too(podsec, tmp_path):
    write(tmp_path, "all.yaml", deployment("node-exporter", "monitoring"))
    write(tmp_path, ".podsec.yaml", config({"reason": "node agents read the host", "namespace": "monitoring"}))
    data = yaml.safe_load(podsec("check", "all.yaml", "-o", "yaml").out)
    assert data["objects"][0]["violations"][0]["suppressed"] == {"by": "exemption",
                                                                  "reason": "node agents read the host"}


def test_exempt_findings_stay_visible_in_sarif_as_suppressed(podsec, tmp_path):
    write(tmp_path, "all.yaml", deployment("node-exporter", "monitoring") + "---\n" + deployment("web", "shop"))
    write(tmp_path, ".podsec.yaml", config({"reason": "node agents read the host", "namespace": "monitoring"}))
    run = podsec("check", "all.yaml", "-o", "sarif")
    assert run.code == 1  # web is not exempt
    results = json.loads(run.out)["runs"][0]["results"]
    exempt = [r for r in results if "node-exporter" in r["message"]["text"]]
    others = [r for r in results if "Deployment/web" in r["message"]["text"]]
    assert exempt and others
    for result in exempt:
        [suppression] = result["suppressions"]
        assert "node agents read the host" in suppression["justification"]
    assert all("suppressions" not in r for r in others)


def test_without_a_config_nothing_is_suppressed(podsec, tmp_path):
    write(tmp_path, "all.yaml", MANIFESTS)
    run = podsec("check", "all.yaml", "-o", "json")
    assert run.code == 1
    for obj in run.json["objects"]:
        assert obj["effectiveHighest"] == obj["highest"]
        assert all(v["suppressed"] is None for v in obj["violations"])


# --- containers -----------------------------------------------------------------------------

def test_a_container_exemption_suppresses_a_check_only_when_every_offender_matches(podsec, tmp_path):
    """allowPrivilegeEscalation fails for both "app" and "sidecar": exempting "sidecar"
    is not enough, exempting both is."""
    write(tmp_path, "app.yaml", TWO_CONTAINERS)
    write(tmp_path, ".podsec.yaml", config({"reason": "envoy needs setuid", "container": "sidecar",
                                            "checks": ["allowPrivilegeEscalation"]}))
    run = podsec("check", "app.yaml", "-o", "json")
    assert run.code == 1
    assert suppressed(run.json["objects"][0]) == {"allowPrivilegeEscalation": None}
    write(tmp_path, ".podsec.yaml", config({"reason": "both need setuid", "container": "*",
                                            "checks": ["allowPrivilegeEscalation"]}))
    run = podsec("check", "app.yaml", "-o", "json")
    assert run.code == 0
    assert suppressed(run.json["objects"][0]) == {
        "allowPrivilegeEscalation": {"by": "exemption", "reason": "both need setuid"}}


def test_a_container_exemption_applies_once_the_other_containers_are_fixed(podsec, tmp_path):
    fixed = TWO_CONTAINERS.replace('              drop: ["ALL"]\n        - name: sidecar',
                                   '              drop: ["ALL"]\n            allowPrivilegeEscalation: false\n'
                                   '        - name: sidecar', 1)
    assert fixed != TWO_CONTAINERS
    write(tmp_path, "app.yaml", fixed)
    write(tmp_path, ".podsec.yaml", config({"reason": "envoy needs setuid", "container": "sidecar"}))
    run = podsec("check", "app.yaml", "-o", "json")
    assert run.code == 0
    obj = run.json["objects"][0]
    assert obj["highest"] == "baseline" and obj["effectiveHighest"] == "restricted"
    assert suppressed(obj) == {"allowPrivilegeEscalation": {"by": "exemption", "reason": "envoy needs setuid"}}


def test_a_container_exemption_never_covers_a_pod_level_finding(podsec, tmp_path):
    """hostNetwork is a pod field: no container exemption reaches it; nor runAsNonRoot, whose
    offending paths include the pod's securityContext."""
    write(tmp_path, "app.yaml", deployment("web", "shop"))
    write(tmp_path, ".podsec.yaml", config({"reason": "everything in app", "container": "*"}))
    run = podsec("check", "app.yaml", "-o", "json")
    assert run.code == 1
    marks = suppressed(run.json["objects"][0])
    assert marks["hostNamespaces"] is None
    assert marks["runAsNonRoot"] is None
    assert marks["seccompProfile_restricted"] is None
    assert marks["allowPrivilegeEscalation"] == {"by": "exemption", "reason": "everything in app"}
    assert marks["capabilities_restricted"] == {"by": "exemption", "reason": "everything in app"}


def test_a_container_exemption_covers_init_containers_by_name(podsec, tmp_path):
    manifest = pod("web", "restricted").replace(
        "  containers:\n",
        "  initContainers:\n    - name: setup\n      image: busybox\n      securityContext:\n"
        "        privileged: true\n        allowPrivilegeEscalation: true\n  containers:\n")
    write(tmp_path, "app.yaml", manifest)
    write(tmp_path, ".podsec.yaml", config({"reason": "setup tunes the kernel", "container": "setup"}))
    run = podsec("check", "app.yaml", "-o", "json")
    obj = run.json["objects"][0]
    assert obj["highest"] == "privileged"
    assert {v["check"] for v in obj["violations"]} >= {"privileged", "allowPrivilegeEscalation"}
    assert all(v["suppressed"] == {"by": "exemption", "reason": "setup tunes the kernel"} for v in obj["violations"])
    assert run.code == 0


# --- where the config comes from --------------------------------------------------------------

def test_the_config_is_found_from_the_current_directory_upward(podsec, tmp_path, monkeypatch):
    write(tmp_path, ".podsec.yaml", config({"reason": "agents", "namespace": "monitoring"}))
    nested = tmp_path / "deploy" / "prod"
    manifest = write(nested, "agent.yaml", deployment("agent", "monitoring"))
    monkeypatch.chdir(nested)
    run = podsec("check", "agent.yaml", "-o", "json")
    assert run.code == 0
    assert run.json["objects"][0]["violations"][0]["suppressed"]["reason"] == "agents"
    # The nearest file wins: one nearer the cwd replaces the one above.
    write(tmp_path / "deploy", ".podsec.yaml", config({"reason": "other", "namespace": "elsewhere"}))
    run = podsec("check", manifest, "-o", "json")
    assert run.code == 1
    assert all(v["suppressed"] is None for v in run.json["objects"][0]["violations"])


def test_the_yml_spelling_is_found_too(podsec, tmp_path):
    write(tmp_path, "agent.yaml", deployment("agent", "monitoring"))
    write(tmp_path, ".podsec.yml", config({"reason": "agents", "namespace": "monitoring"}))
    assert podsec("check", "agent.yaml").code == 0


def test_the_config_is_looked_up_from_the_cwd_not_from_the_manifests(podsec, tmp_path, monkeypatch):
    """A .podsec.yaml next to the manifests but outside the cwd's ancestry is not read."""
    write(tmp_path / "repo", ".podsec.yaml", config({"reason": "agents", "namespace": "monitoring"}))
    manifest = write(tmp_path / "repo", "agent.yaml", deployment("agent", "monitoring"))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert podsec("check", manifest).code == 1


def test_config_flag_overrides_the_file_found_by_lookup(podsec, tmp_path):
    write(tmp_path, "agent.yaml", deployment("agent", "monitoring"))
    write(tmp_path, ".podsec.yaml", config({"reason": "found", "namespace": "nothing-matches"}))
    named = write(tmp_path / "conf", "exemptions.yaml", config({"reason": "named", "namespace": "monitoring"}))
    assert podsec("check", "agent.yaml").code == 1
    run = podsec("check", "agent.yaml", "--config", named, "-o", "json")
    assert run.code == 0
    assert run.json["objects"][0]["violations"][0]["suppressed"]["reason"] == "named"


def test_config_flag_works_with_stdin(podsec, tmp_path):
    named = write(tmp_path, "exemptions.yaml", config({"reason": "named", "namespace": "monitoring"}))
    run = podsec("check", "-f", "-", "--config", named, stdin=deployment("agent", "monitoring").encode())
    assert run.code == 0


# --- malformed configs ----------------------------------------------------------------------

BAD_CONFIGS = {
    "bad YAML": ("exemptions: [\n", r"2:1: invalid YAML"),
    "unknown top-level key": ("exemption:\n  - reason: x\n    kind: Pod\n", r"1:1: unknown key 'exemption'"),
    "unknown exemption key": ("exemptions:\n  - reason: x\n    kinds: Pod\n", r"3:5: unknown key 'kinds' in an exemption"),
    "missing reason": ("exemptions:\n  - kind: Pod\n", r"2:5: every exemption needs a reason"),
    "empty reason": ("exemptions:\n  - reason: ''\n    kind: Pod\n", r"2:13: reason must be a non-empty string"),
    "unknown check id": ("exemptions:\n  - reason: x\n    checks: [privileged, hostNetwork]\n",
                         r"3:26: unknown check 'hostNetwork'"),
    "checks not a list": ("exemptions:\n  - reason: x\n    checks: privileged\n",
                          r"3:13: checks must be a non-empty list"),
    "empty checks list": ("exemptions:\n  - reason: x\n    checks: []\n", r"3:13: checks must be a non-empty list"),
    "nothing selected": ("exemptions:\n  - reason: x\n", r"2:5: an exemption must say what it exempts"),
    "exemptions not a list": ("exemptions:\n  reason: x\n  kind: Pod\n", r"2:3: exemptions must be a list"),
    "selector not a string": ("exemptions:\n  - reason: x\n    kind: [Pod, Job]\n", r"3:11: kind must be a non-empty string"),
    "not a mapping": ("- reason: x\n  kind: Pod\n", r"1:1: "),
    "duplicate key": ("exemptions:\n  - reason: x\n    kind: Pod\n    kind: Job\n", r"4:5: duplicate key"),
    "pod template without path": ("podTemplates:\n  - apiVersion: example.com/v1\n    kind: Widget\n",
                                  r"2:5: a pod template entry needs path"),
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_a_malformed_config_is_one_error_line_naming_file_line_and_column(podsec, tmp_path, name):
    text, expected = BAD_CONFIGS[name]
    write(tmp_path, "app.yaml", pod("web", "restricted"))
    path = write(tmp_path, ".podsec.yaml", text)
    for argv in (("check", "app.yaml"), ("check", "app.yaml", "--config", path), ("fix", "app.yaml")):
        run = podsec(*argv)  # cli_runner asserts there is no traceback
        assert run.code == 2, (argv, run.err)
        assert len(run.err_lines) == 1, run.err
        line = run.err_lines[0]
        shown = path if "--config" in argv else os.path.join(str(tmp_path), ".podsec.yaml")
        assert line.startswith(f"error: config {shown}:"), line
        assert re.search(re.escape(shown) + ":" + expected, line), line
        assert run.out == ""


def test_a_missing_config_named_with_the_flag_is_an_error(podsec, tmp_path):
    write(tmp_path, "app.yaml", pod("web", "restricted"))
    run = podsec("check", "app.yaml", "--config", "nope.yaml")
    assert run.code == 2
    assert run.err_lines == ["error: config nope.yaml: no such file or directory"]


def test_an_empty_config_exempts_nothing(podsec, tmp_path):
    write(tmp_path, "app.yaml", deployment("web", "shop"))
    write(tmp_path, ".podsec.yaml", "")
    assert podsec("check", "app.yaml").code == 1
    write(tmp_path, ".podsec.yaml", "exemptions:\n")
    assert podsec("check", "app.yaml").code == 1


# --- fix ------------------------------------------------------------------------------------

def test_fix_leaves_an_exempt_container_alone(podsec, tmp_path):
    path = write(tmp_path, "app.yaml", TWO_CONTAINERS)
    write(tmp_path, ".podsec.yaml", config({"reason": "envoy needs setuid", "container": "sidecar",
                                            "checks": ["allowPrivilegeEscalation"]}))
    run = podsec("fix", "app.yaml", "--dry-run", "-o", "json")
    assert run.code == 1
    obj = run.json["objects"][0]
    assert [e["path"] for e in obj["edits"]] == [
        "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"]
    assert obj["remaining"] == []  # the exempt sidecar does not need a human
    run = podsec("fix", "app.yaml")
    assert run.code == 1  # changed
    assert "needs a human" not in run.err
    assert run.err_lines[0] == "app.yaml:1:1: Deployment/web: fixed allowPrivilegeEscalation (baseline -> baseline)"
    assert [line.split(":")[0] for line in run.err_lines[1:]] == ["what to test", "  risk"]
    fixed = yaml.safe_load(Path(path).read_text())
    containers = fixed["spec"]["template"]["spec"]["containers"]
    assert containers[0]["securityContext"]["allowPrivilegeEscalation"] is False
    assert "allowPrivilegeEscalation" not in containers[1]["securityContext"]
    # Only that one line was added.
    before, after = TWO_CONTAINERS.splitlines(), Path(path).read_text().splitlines()
    assert len(after) == len(before) + 1
    assert [line for line in after if line not in before] == ["            allowPrivilegeEscalation: false"]
    # Fixed: check passes with the exemption, and fix has nothing left to do.
    assert podsec("check", "app.yaml").code == 0
    again = podsec("fix", "app.yaml")
    assert again.code == 0
    assert again.err == ""


def test_fix_leaves_an_exempt_object_alone(podsec, tmp_path):
    text = deployment("agent", "monitoring", spec="") + "---\n" + deployment("web", "shop", spec="")
    path = write(tmp_path, "app.yaml", text)
    write(tmp_path, ".podsec.yaml", config({"reason": "agents", "namespace": "monitoring"}))
    run = podsec("fix", "app.yaml", "--dry-run", "-o", "json")
    assert run.code == 1
    objects = {o["name"]: o for o in run.json["objects"]}
    assert objects["agent"]["edits"] == [] and objects["agent"]["remaining"] == []
    assert objects["web"]["edits"] and objects["web"]["after"] == "restricted"
    run = podsec("fix", "app.yaml")
    assert run.code == 1
    assert "agent" not in run.err
    documents = list(yaml.safe_load_all(Path(path).read_text()))
    assert documents[0] == yaml.safe_load(deployment("agent", "monitoring", spec=""))
    assert documents[1] != yaml.safe_load(deployment("web", "shop", spec=""))
    assert Path(path).read_text().startswith(deployment("agent", "monitoring", spec=""))


def test_fix_does_not_report_an_exempt_check_as_needing_a_human(podsec, tmp_path):
    """hostNetwork is never fixed without --unsafe-fixes: without the exemption it needs a
    human and fix exits 1; exempt, it is neither changed nor reported, and fix exits 0."""
    manifest = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: agent
          namespace: monitoring
        spec:
          template:
            spec:
              hostNetwork: true
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
        """)
    path = write(tmp_path, "agent.yaml", manifest)
    violations = podsec("check", "agent.yaml", "-o", "json").json["objects"][0]["violations"]
    assert [v["check"] for v in violations] == ["hostNamespaces"]
    run = podsec("fix", "agent.yaml")
    assert run.code == 1
    assert "needs a human: hostNamespaces" in run.err
    assert Path(path).read_text() == manifest
    write(tmp_path, ".podsec.yaml", config({"reason": "reads the host network", "checks": ["hostNamespaces"]}))
    run = podsec("fix", "agent.yaml", "--dry-run", "-o", "json")
    assert run.code == 0
    assert run.json["objects"][0]["remaining"] == []
    assert run.json["objects"][0]["edits"] == []
    run = podsec("fix", "agent.yaml")
    assert run.code == 0 and run.err == ""
    assert Path(path).read_text() == manifest
    # --unsafe-fixes would remove hostNetwork; the exemption keeps it.
    run = podsec("fix", "agent.yaml", "--unsafe-fixes")
    assert run.code == 0
    assert Path(path).read_text() == manifest


def test_fix_of_stdin_honours_the_exemptions(podsec, tmp_path):
    write(tmp_path, ".podsec.yaml", config({"reason": "envoy needs setuid", "container": "sidecar",
                                            "checks": ["allowPrivilegeEscalation"]}))
    run = podsec("fix", "-f", "-", stdin=TWO_CONTAINERS.encode())
    assert run.code == 1
    containers = yaml.safe_load(run.out)["spec"]["template"]["spec"]["containers"]
    assert containers[0]["securityContext"]["allowPrivilegeEscalation"] is False
    assert "allowPrivilegeEscalation" not in containers[1]["securityContext"]
    # The output is clean when checked with the same exemptions.
    assert podsec("check", "-f", "-", stdin=run.out.encode()).code == 0


def test_fix_with_a_non_matching_container_exemption_fixes_everything(podsec, tmp_path):
    path = write(tmp_path, "app.yaml", TWO_CONTAINERS)
    write(tmp_path, ".podsec.yaml", config({"reason": "not here", "container": "other",
                                            "checks": ["allowPrivilegeEscalation"]}))
    assert podsec("fix", "app.yaml").code == 1
    containers = yaml.safe_load(Path(path).read_text())["spec"]["template"]["spec"]["containers"]
    assert all(c["securityContext"]["allowPrivilegeEscalation"] is False for c in containers)
    assert podsec("check", "app.yaml").code == 0
