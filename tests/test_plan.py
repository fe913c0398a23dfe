"""`kubectl podsec plan` against the recorded v1.36 cluster (the real kubectl talks to a replay
of real apiserver traffic, as in test_live.py) and on manifests; and what `namespaces` says
about moving an old enforce-version pin."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from cli_helpers import cli_runner, write
from kube_replay import SyntheticCluster, _meta, _pod_spec, _workload
from test_live import ALL, PSA_PREFIX, RecordedNamespaces, replay, run_against

LABEL = "kubectl label --overwrite ns"
SERVER = "v1.36"
STOCK = ("default", "kube-node-lease", "kube-public", "kube-system")


@pytest.fixture(scope="module")
def recorded(kubectl, tmp_path_factory) -> dict:
    """plan -o json, plan -o markdown, plan (text) and check -A -o json, once each."""
    out = {}
    for name, argv in (("json", ("plan", "-o", "json")), ("markdown", ("plan", "-o", "markdown")),
                       ("text", ("plan",)), ("check", ("check", "-A", "-o", "json"))):
        result, _ = replay(ALL, tmp_path_factory.mktemp(name), kubectl, *argv)
        assert result.err == "" and result.code == 1, result.err
        out[name] = result
    return out


def by_namespace(plan: dict) -> dict:
    return {p["namespace"]: p for p in plan["namespaces"]}


def test_blockers_equal_what_check_finds(recorded):
    failing = defaultdict(set)
    for obj in recorded["check"].json["objects"]:
        if obj["effectiveHighest"] != "restricted":
            failing[obj["namespace"]].add((obj["kind"], obj["name"]))
    plans = by_namespace(recorded["json"].json)
    assert set(plans) == {"legacy", "web-baseline", "secure-api", "staging", "monitoring", "team-checkout", *STOCK}
    for name, plan in plans.items():
        assert {(b["kind"], b["name"]) for b in plan["blockers"]} == failing[name], name


def test_templates_count_cronjobs_and_workloads_without_pods(recorded):
    """The recorded cluster runs no controllers: no Deployment has a pod. A dry-run of the
    enforce label (pods only) would miss every one of these."""
    plans = by_namespace(recorded["json"].json)
    legacy = {(b["kind"], b["name"]): b for b in plans["legacy"]["blockers"]}
    assert ("CronJob", "legacy-log-cleanup") in legacy and ("Deployment", "legacy-web") in legacy
    assert legacy[("Deployment", "legacy-web")]["pods"] == 0
    assert legacy[("CronJob", "legacy-log-cleanup")]["effort"] == "human"  # hostPath: a person chooses
    assert ("CronJob", "staging-nightly-reset") in {(b["kind"], b["name"]) for b in plans["staging"]["blockers"]}


def test_namespaces_ordered_by_effort(recorded):
    plans = recorded["json"].json["namespaces"]
    order = ["ready", "safe", "unsafe", "human"]
    assert [order.index(p["effort"]) for p in plans] == sorted(order.index(p["effort"]) for p in plans)
    assert {p["namespace"] for p in plans[:4]} == set(STOCK)  # empty namespaces are ready now
    assert plans[4]["namespace"] == "secure-api" and plans[4]["effort"] == "safe"


def test_steps_and_commands(recorded):
    data = recorded["json"].json
    assert (data["level"], data["version"], data["source"]) == ("restricted", SERVER, "cluster")
    monitoring = by_namespace(data)["monitoring"]
    assert monitoring["labels"] == {"enforce": "privileged:latest", "audit": None, "warn": None}
    assert monitoring["target"] == {"level": "restricted", "version": SERVER}
    steps = monitoring["steps"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert steps[0]["commands"] == [
        f"{LABEL} monitoring {PSA_PREFIX}warn=restricted {PSA_PREFIX}warn-version={SERVER} "
        f"{PSA_PREFIX}audit=restricted {PSA_PREFIX}audit-version={SERVER}"]
    assert ('kubectl patch deployment prometheus -n monitoring --type=json -p '
            '"$(kubectl podsec fix deployment/prometheus -n monitoring -o patch)"') in steps[1]["commands"]
    assert ('kubectl patch daemonset node-exporter -n monitoring --type=json -p '
            '"$(kubectl podsec fix daemonset/node-exporter -n monitoring --unsafe-fixes -o patch)"') in steps[2]["commands"]
    assert any(item.startswith("DaemonSet/node-exporter: restrictedVolumes needs a human: ") for item in steps[2]["items"])
    assert steps[3]["commands"] == [f"{LABEL} monitoring {PSA_PREFIX}enforce=restricted "
                                    f"{PSA_PREFIX}enforce-version={SERVER}"]
    # A bare Pod cannot be patched: no command, the reason instead.
    debugger = next(b for b in monitoring["blockers"] if b["name"] == "node-debugger")
    assert debugger["commands"]["safe"] is None and "cannot be changed once it is created" in debugger["commands"]["note"]
    # Already there: warn and audit are not relabelled, enforce is.
    ready = by_namespace(data)["kube-system"]["steps"]
    assert ready[3]["items"] == ["ready now: every workload passes"]


def test_blocker_efforts_follow_what_fix_can_do(recorded):
    blockers = {(b["kind"], b["name"]): b for p in recorded["json"].json["namespaces"] for b in p["blockers"]}
    web = blockers[("Deployment", "legacy-web")]
    assert web["effort"] == "safe" and not web["unsafe"] and not web["human"]
    assert "runAsNonRoot: set spec.template.spec.securityContext.runAsNonRoot to true" in web["safe"]
    rc = blockers[("ReplicationController", "checkout-legacy-rc")]  # runAsUser: 0 is the author's choice
    assert rc["effort"] == "unsafe" and any(edit.startswith("runAsUser: ") for edit in rc["unsafe"])


def test_text(recorded):
    text = recorded["text"].out
    assert "namespace secure-api: safe, 1 of 8 workloads block restricted:v1.36\n" \
           "  labels: enforce=restricted:v1.30, audit=-, warn=-\n" \
           "  blocker Job/api-batch-export (baseline; safe): allowPrivilegeEscalation, capabilities_restricted, " \
           "runAsNonRoot, seccompProfile_restricted\n" \
           "  1. warn and audit at restricted:v1.36 (no risk: the API server only reports)\n" in text
    assert text.endswith("10 namespaces, 4 ready for enforce=restricted now; nothing was changed\n")


def test_markdown(recorded):
    md = recorded["markdown"].out
    lines = md.splitlines()
    assert lines[0] == "# Pod Security migration plan: enforce=restricted (pinned to v1.36)"
    assert "| `secure-api` | safe | 1 of 8 | enforce=restricted:v1.30, audit=-, warn=- |" in lines
    assert "| `CronJob/legacy-log-cleanup` | privileged | hostPathVolumes, allowPrivilegeEscalation, " \
           "capabilities_restricted, restrictedVolumes, runAsNonRoot, seccompProfile_restricted | human |" in lines
    start = lines.index("## `legacy` (human)")
    step4 = lines.index("4. Enforce restricted:v1.36, pinned to the server version", start)
    assert lines[step4 + 1:step4 + 4] == [
        "   ```sh", f"   {LABEL} legacy {PSA_PREFIX}enforce=restricted {PSA_PREFIX}enforce-version={SERVER}", "   ```"]
    assert md.count("```sh") == md.count("```") // 2  # every fence is closed
    assert lines[-1] == "_Nothing was changed: `kubectl podsec plan` only reads._"


def test_named_namespaces_and_baseline_target(kubectl, tmp_path):
    result, server = replay(ALL, tmp_path, kubectl, "plan", "legacy", "staging", "--level", "baseline", "-o", "json",
                            server_class=RecordedNamespaces)
    assert result.code == 1, result.err
    plans = by_namespace(result.json)
    assert set(plans) == {"legacy", "staging"}
    assert {(b["kind"], b["name"]) for b in plans["legacy"]["blockers"]} == {
        ("Pod", "legacy-debug"), ("CronJob", "legacy-log-cleanup")}
    assert all(b["checks"] for b in plans["legacy"]["blockers"])
    assert plans["legacy"]["steps"][0]["commands"][0].endswith(f"{PSA_PREFIX}audit=baseline "
                                                               f"{PSA_PREFIX}audit-version={SERVER}")


# ---- manifests ---------------------------------------------------------------------------------

SHOP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  replicas: 0
  template:
    spec:
      containers: [{name: app, image: x}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: app, image: x, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: tidy}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: x
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"""


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


def test_manifests_grouped_by_namespace(podsec, tmp_path):
    path = write(tmp_path, "shop.yaml", SHOP)
    run = podsec("plan", "-f", path, "-o", "json")
    assert run.code == 1 and run.err == ""
    data = run.json
    assert (data["source"], data["version"]) == ("manifests", "v1.37")
    assert [p["namespace"] for p in data["namespaces"]] == ["tidy", "shop"]  # ready first
    shop = by_namespace(data)["shop"]
    assert shop["labels"] is None
    assert {(b["kind"], b["name"], b["effort"]) for b in shop["blockers"]} == {
        ("Deployment", "cart", "safe"), ("CronJob", "report", "unsafe")}  # replicas: 0 still counts
    assert shop["steps"][1]["commands"] == [f"kubectl podsec fix -f {path}"]
    assert shop["steps"][2]["commands"] == [f"kubectl podsec fix -f {path} --unsafe-fixes"]
    check = podsec("check", "-f", path, "-o", "json").json
    assert {(o["kind"], o["name"]) for o in check["objects"] if o["highest"] != "restricted"} == {
        (b["kind"], b["name"]) for p in data["namespaces"] for b in p["blockers"]}


def test_manifests_pin_the_version_asked_for(podsec, tmp_path):
    path = write(tmp_path, "shop.yaml", SHOP)
    run = podsec("plan", "-f", path, "--version", "v1.30", "shop", "-o", "json")
    [shop] = run.json["namespaces"]
    assert shop["steps"][3]["commands"] == [f"{LABEL} shop {PSA_PREFIX}enforce=restricted "
                                            f"{PSA_PREFIX}enforce-version=v1.30"]


def test_all_ready_exits_0_and_bad_input_exits_2(podsec, tmp_path):
    tidy = write(tmp_path, "tidy.yaml", SHOP.split("---\n")[2])
    assert podsec("plan", "-f", tidy).code == 0
    bad = write(tmp_path, "bad.yaml", "kind: Pod\nmetadata: [\n")
    run = podsec("plan", "-f", tidy, "-f", bad, "-o", "json")
    assert run.code == 2 and run.err_lines[0].startswith(f"error: {bad}:")
    assert [p["namespace"] for p in run.json["namespaces"]] == ["tidy"]


# ---- namespaces: moving an old pin ---------------------------------------------------------------

class OldPins(SyntheticCluster):
    """On this v1.36 server: `probe` enforces baseline pinned at v1.33 and runs a Deployment
    with a probe host (baseline refuses it from v1.34); `keepalive` enforces restricted pinned
    at v1.28 with a sysctl that baseline allows from v1.29 (the move fixes it)."""

    NAMESPACES = {"probe": ({"enforce": "baseline", "enforce-version": "v1.33"}, "deployments"),
                  "keepalive": ({"enforce": "restricted", "enforce-version": "v1.28"}, "statefulsets")}

    def _generate(self):
        objects = super()._generate()
        for namespace, (psa, plural) in self.NAMESPACES.items():
            labels = {PSA_PREFIX + k: v for k, v in psa.items()}
            labels["kubernetes.io/metadata.name"] = namespace
            objects["namespaces"].append({"metadata": _meta(namespace, None, "namespaces", labels),
                                          "spec": {}, "status": {"phase": "Active"}})
            spec = _pod_spec("restricted", 0)
            if namespace == "probe":
                spec["containers"][0]["livenessProbe"] = {"httpGet": {"host": "10.0.0.1", "port": 8080}}
            else:
                spec["securityContext"]["sysctls"] = [{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}]
            objects[plural].append(_workload(namespace, "app", plural, {"app": namespace}, spec, replicas=0))
        return objects


def test_namespaces_says_what_moving_the_pin_breaks(kubectl, tmp_path):
    with OldPins(pods=10, namespaces=1) as cluster:
        as_json = run_against(cluster, tmp_path, kubectl, "namespaces", "-o", "json")
        as_text = run_against(cluster, tmp_path, kubectl, "namespaces")
    summaries = {s["name"]: s for s in as_json.json["namespaces"]}
    assert summaries["probe"]["pinUpgrade"] == {
        "from": "v1.33", "to": SERVER, "breaks": [{"kind": "Deployment", "name": "app",
                                                   "checks": ["hostProbesAndHostLifecycle"]}],
        "command": f"{LABEL} probe {PSA_PREFIX}enforce-version={SERVER}"}
    assert summaries["keepalive"]["pinUpgrade"]["breaks"] == []  # the move fixes its sysctl
    assert summaries["ns-000"]["pinUpgrade"] is None  # not pinned
    assert "  probe: v1.33 -> v1.36: 1 workload would be refused: Deployment/app (hostProbesAndHostLifecycle)" \
        in as_text.out.splitlines()
    assert f"  keepalive: v1.28 -> v1.36: nothing breaks: {LABEL} keepalive {PSA_PREFIX}enforce-version={SERVER}" \
        in as_text.out.splitlines()


def test_plan_on_a_pinned_namespace_moves_the_pin(kubectl, tmp_path):
    with OldPins(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "plan", "-o", "json")
    plans = by_namespace(result.json)
    # The zero-replica Deployment blocks restricted too: its template breaks baseline at v1.36.
    assert [(b["kind"], b["name"], b["pods"]) for b in plans["probe"]["blockers"]] == [("Deployment", "app", 0)]
    assert plans["probe"]["steps"][3]["commands"] == [
        f"{LABEL} probe {PSA_PREFIX}enforce=restricted {PSA_PREFIX}enforce-version={SERVER}"]
    assert json.dumps(plans["keepalive"]["blockers"]) == "[]"


@pytest.mark.parametrize("how", [("team-checkout",), ("-n", "team-checkout")])
def test_one_namespace(kubectl, tmp_path, recorded, how):
    from test_live import TEAM_CHECKOUT

    result, _ = replay(TEAM_CHECKOUT + ["version-o-json"], tmp_path, kubectl, "plan", *how, "-o", "json")
    assert (result.code, result.err) == (1, "")
    [plan] = result.json["namespaces"]
    assert plan == by_namespace(recorded["json"].json)["team-checkout"]
    assert plan["labels"] == {"enforce": "baseline:latest", "audit": "restricted:latest", "warn": "restricted:latest"}


def test_manifests_without_a_namespace_are_planned_as_default(tmp_path):
    """Found by using the tool: the text said `namespace (none)` while the commands said
    `ns default`, and the markdown had an empty code span."""
    import subprocess
    import sys

    path = tmp_path / "job.yaml"
    path.write_text("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec:\n  schedule: '@daily'\n"
                    "  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n"
                    "          containers: [{name: c, image: x}]\n")
    for output in ("text", "markdown"):
        run = subprocess.run([sys.executable, "-m", "kubectl_podsec", "plan", "-f", str(path), "-o", output],
                             capture_output=True, text=True, check=False)
        assert run.returncode in (0, 1), run.stderr
        assert "(none)" not in run.stdout and "| `` |" not in run.stdout and "## ``" not in run.stdout
        assert "namespace default" in run.stdout or "`default`" in run.stdout
