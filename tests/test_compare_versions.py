"""`check --compare-versions FROM,TO`: a table across every version boundary that
docs/psa-semantics.md section 2 lists, through the CLI, plus the live-cluster case."""

from __future__ import annotations

import copy
import json

import pytest
from cli_helpers import cli_runner, write

RESTRICTED = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
              "containers": [{"name": "app", "image": "x", "securityContext": {
                  "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}


def spec(**changes) -> dict:
    """The restricted pod with `changes`: `pod__x` sets spec.x, `pod_sc__x` spec.securityContext.x,
    `sc__x` the container's securityContext.x, `c__x` a container field; None removes it."""
    out = copy.deepcopy(RESTRICTED)
    targets = {"pod": out, "pod_sc": out["securityContext"], "sc": out["containers"][0]["securityContext"],
               "c": out["containers"][0]}
    for key, value in changes.items():
        where, name = key.split("__")
        if value is None:
            targets[where].pop(name, None)
        else:
            targets[where][name] = value
    return out


def pod(pod_spec: dict, annotations=None) -> str:
    meta = {"name": "p"}
    if annotations:
        meta["annotations"] = annotations
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec})


SYSCTL = "pod_sc__sysctls"
WINDOWS = spec(pod__os={"name": "windows"}, sc__allowPrivilegeEscalation=None, sc__capabilities=None,
               pod_sc__seccompProfile=None)
# (id, from, to, pod, annotations, highest from, highest to, [(check, level, change)])
BOUNDARIES = [
    ("allowPrivilegeEscalation v1.8", "v1.7", "v1.8", spec(sc__allowPrivilegeEscalation=None), None,
     "restricted", "baseline", [("allowPrivilegeEscalation", "restricted", "fails")]),
    ("seccomp annotations until v1.18", "v1.18", "v1.19", spec(),
     {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"},
     "privileged", "restricted", [("seccompProfile_baseline", "baseline", "passes")]),
    ("seccomp fields from v1.19", "v1.18", "v1.19", spec(pod_sc__seccompProfile={"type": "Unconfined"}), None,
     "restricted", "privileged", [("seccompProfile_baseline", "baseline", "fails"),
                                  ("seccompProfile_restricted", "restricted", "fails")]),
    ("capabilities_restricted v1.22", "v1.21", "v1.22", spec(sc__capabilities=None), None,
     "restricted", "baseline", [("capabilities_restricted", "restricted", "fails")]),
    ("runAsUser v1.23", "v1.22", "v1.23", spec(pod_sc__runAsUser=0), None,
     "restricted", "baseline", [("runAsUser", "restricted", "fails")]),
    ("Windows pods exempt from v1.25", "v1.24", "v1.25", WINDOWS, None, "baseline", "restricted",
     [("allowPrivilegeEscalation", "restricted", "passes"), ("capabilities_restricted", "restricted", "passes"),
      ("seccompProfile_restricted", "restricted", "passes")]),
    ("sysctl ip_local_reserved_ports v1.27", "v1.26", "v1.27",
     spec(**{SYSCTL: [{"name": "net.ipv4.ip_local_reserved_ports", "value": "1"}]}), None,
     "privileged", "restricted", [("sysctls", "baseline", "passes")]),
    ("sysctl tcp_keepalive_time v1.29", "v1.28", "v1.29",
     spec(**{SYSCTL: [{"name": "net.ipv4.tcp_keepalive_time", "value": "1"}]}), None,
     "privileged", "restricted", [("sysctls", "baseline", "passes")]),
    ("seLinux container_engine_t v1.31", "v1.30", "v1.31", spec(sc__seLinuxOptions={"type": "container_engine_t"}),
     None, "privileged", "restricted", [("seLinuxOptions", "baseline", "passes")]),
    ("sysctl tcp_rmem v1.32", "v1.31", "v1.32", spec(**{SYSCTL: [{"name": "net.ipv4.tcp_rmem", "value": "1"}]}),
     None, "privileged", "restricted", [("sysctls", "baseline", "passes")]),
    ("probe host v1.34", "v1.33", "v1.34", spec(c__livenessProbe={"httpGet": {"host": "example.com", "port": 80}}),
     None, "restricted", "privileged", [("hostProbesAndHostLifecycle", "baseline", "fails")]),
    ("lifecycle host v1.34", "v1.30", "latest",
     spec(c__lifecycle={"preStop": {"tcpSocket": {"host": "10.0.0.1", "port": 80}}}), None,
     "restricted", "privileged", [("hostProbesAndHostLifecycle", "baseline", "fails")]),
    ("user namespace: runAsNonRoot and runAsUser v1.35", "v1.34", "v1.35",
     spec(pod__hostUsers=False, pod_sc__runAsNonRoot=None, pod_sc__runAsUser=0), None, "baseline", "restricted",
     [("runAsNonRoot", "restricted", "passes"), ("runAsUser", "restricted", "passes")]),
    ("user namespace: procMount baseline relaxed, restricted not, v1.35", "v1.34", "v1.35",
     spec(pod__hostUsers=False, sc__procMount="Unmasked"), None, "privileged", "baseline",
     [("procMount", "baseline", "passes"), ("procMount_restricted", "restricted", "fails")]),
    ("sysctl tcp_notsent_lowat v1.37", "v1.36", "latest",
     spec(**{SYSCTL: [{"name": "net.ipv4.tcp_notsent_lowat", "value": "1"}]}), None,
     "privileged", "restricted", [("sysctls", "baseline", "passes")]),
    ("downgrade lists the reverse", "v1.34", "v1.33",
     spec(c__livenessProbe={"httpGet": {"host": "example.com", "port": 80}}), None,
     "privileged", "restricted", [("hostProbesAndHostLifecycle", "baseline", "passes")]),
]


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


@pytest.mark.parametrize("case", BOUNDARIES, ids=[case[0] for case in BOUNDARIES])
def test_version_boundary(podsec, tmp_path, case):
    _, old, new, pod_spec, annotations, before, after, checks = case
    path = write(tmp_path, "pod.yaml", pod(pod_spec, annotations))
    run = podsec("check", "-f", path, "--compare-versions", f"{old},{new}", "-o", "json")
    assert run.code == 1, run.err
    [item] = run.json["changed"]
    assert (item["kind"], item["name"], item["from"], item["to"]) == ("Pod", "p", before, after)
    assert [(c["check"], c["level"], c["change"]) for c in item["checks"]] == checks
    assert all(c["detail"] for c in item["checks"])
    # The same pod wrapped in a Deployment and a CronJob judges the same.
    for kind, wrap in (("Deployment", lambda t: {"spec": {"template": t}}),
                       ("CronJob", lambda t: {"spec": {"jobTemplate": {"spec": {"template": t}}}})):
        template = {"metadata": {"annotations": annotations} if annotations else {}, "spec": pod_spec}
        document = {"apiVersion": "apps/v1" if kind == "Deployment" else "batch/v1", "kind": kind,
                    "metadata": {"name": "w"}, **wrap(template)}
        wrapped = podsec("check", "-f", write(tmp_path, f"{kind}.yaml", json.dumps(document)),
                         "--compare-versions", f"{old},{new}", "-o", "json")
        [item] = wrapped.json["changed"]
        assert (item["kind"], item["from"], item["to"]) == (kind, before, after)


def test_nothing_changes_exits_0_and_says_so(podsec, tmp_path):
    path = write(tmp_path, "pod.yaml", pod(spec()) + "\n---\n" + pod(spec(sc__privileged=True)))
    run = podsec("check", "-f", path, "--compare-versions", "v1.30,latest")
    assert run.code == 0
    assert run.out == "0 of 2 workloads judge differently at latest (v1.37) than at v1.30\n"


def test_text_names_the_workload_and_the_checks(podsec, tmp_path):
    probe = spec(c__livenessProbe={"httpGet": {"host": "example.com", "port": 80}})
    path = write(tmp_path, "pods.yaml", pod(spec()) + "\n---\n" + pod(probe))
    run = podsec("check", "-f", path, "--compare-versions", "v1.30,latest")
    assert run.code == 1
    assert run.out.splitlines() == [
        f"{path}:3: Pod/p: restricted -> privileged",
        '  + hostProbesAndHostLifecycle (baseline, fails at latest (v1.37)): container "app" uses probe or '
        'lifecycle host "example.com"',
        "1 of 2 workloads judges differently at latest (v1.37) than at v1.30",
    ]


@pytest.mark.parametrize("value", ["v1.30", "v1.30,", "v1.30,v1.31,v1.32", "1.30,latest", "v1.30,newest"])
def test_bad_version_pairs_are_usage_errors(podsec, tmp_path, value):
    run = podsec("check", "-f", write(tmp_path, "pod.yaml", pod(spec())), "--compare-versions", value)
    assert run.code == 2 and len(run.err_lines) == 1 and run.err_lines[0].startswith("error: ")


def test_formats_other_than_text_json_yaml_are_refused(podsec, tmp_path):
    run = podsec("check", "-f", write(tmp_path, "pod.yaml", pod(spec())), "--compare-versions", "v1.30,latest",
                 "-o", "sarif")
    assert run.code == 2 and run.err_lines == ["error: --compare-versions prints text, json or yaml, not sarif"]


def test_unreadable_input_still_compares_the_rest(podsec, tmp_path):
    good = write(tmp_path, "pod.yaml", pod(spec(c__livenessProbe={"httpGet": {"host": "h", "port": 1}})))
    bad = write(tmp_path, "bad.yaml", "kind: Pod\nspec: [\n")
    run = podsec("check", "-f", good, "-f", bad, "--compare-versions", "v1.33,v1.34", "-o", "json")
    assert run.code == 2
    assert len(run.json["changed"]) == 1 and run.json["errors"][0]["source"] == bad
    assert run.err_lines[0].startswith(f"error: {bad}:")


def test_live_cluster_latest_is_the_servers_minor(kubectl, tmp_path):
    """Against the recorded v1.36 cluster: `latest` resolves to v1.36, not the newest rules."""
    from test_live import ALL, replay

    result, _ = replay(ALL, tmp_path, kubectl, "check", "-A", "--compare-versions", "v1.24,latest", "-o", "json")
    assert result.err == ""
    data = result.json
    assert data["to"] == {"version": "latest", "resolved": "v1.36"} and data["from"]["resolved"] == "v1.24"
    assert data["workloads"] > 30
    changed = {(c["namespace"], c["kind"], c["name"]): c for c in data["changed"]}
    assert result.code == 1
    # The Windows exemptions (v1.25) and a sysctl baseline allows from v1.27 or later.
    assert set(changed) == {("secure-api", "Pod", "win-api"), ("team-checkout", "StatefulSet", "checkout-redis")}
    win = changed[("secure-api", "Pod", "win-api")]
    assert (win["from"], win["to"]) == ("baseline", "restricted")
    assert {c["check"] for c in win["checks"]} == {"allowPrivilegeEscalation", "capabilities_restricted",
                                                   "seccompProfile_restricted"}
    redis = changed[("team-checkout", "StatefulSet", "checkout-redis")]
    assert [(c["check"], c["change"]) for c in redis["checks"]] == [("sysctls", "passes")]
