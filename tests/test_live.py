"""Live-cluster mode (issue 4) end to end: the plugin runs as a subprocess, `python -m
kubectl_podsec`, and reads the cluster through the REAL kubectl, which talks to a fake
apiserver on loopback:

* ReplayServer answers with the exchanges recorded from kube-apiserver v1.36.2
  (tests/data/recordings/README.md); every request must match a recording.
* RecordedObjects (below) also answers GET of a single recorded object, built from the
  recorded list bodies, for `fix` of objects that have no single-object scenario.
* SyntheticCluster is the generated 10,000-pod cluster for pagination.

What the plugin says about each recorded object is checked against what the apiserver itself
said when the object was created (admission-verdicts.jsonl).
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kube_replay import (
    RECORDINGS,
    WORKLOADS,
    ReplayServer,
    SyntheticCluster,
    _meta,
    _pod_spec,
    _workload,
    kubectl_env,
    load_exchanges,
    request_key,
)
from test_admission_verdicts import RECORDS, effective_policy

REPO = Path(__file__).resolve().parent.parent
LEVELS = ("privileged", "baseline", "restricted")
RANK = {level: rank for rank, level in enumerate(LEVELS)}
PSA_PREFIX = "pod-security.kubernetes.io/"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")

ALL = ["get-workloads-A-o-json", "version-o-json", "get-namespaces-o-json"]
TEAM_CHECKOUT = ["get-workloads-n-team-checkout-o-json", "get-namespace-team-checkout-o-json"]
CHECKOUT_API = ["get-deployment-checkout-api-n-team-checkout-o-json",
                "get-namespace-team-checkout-o-json"]

# The highest level each object of the recorded cluster passes at v1.36, read off the
# manifests in cluster-state/ by hand; test_expected_levels_agree_with_the_server checks
# this table against every verdict the apiserver gave.
EXPECTED_HIGHEST = {
    ("legacy", "Deployment", "legacy-web"): "baseline",
    ("legacy", "Pod", "legacy-debug"): "privileged",
    ("legacy", "ReplicationController", "legacy-rc"): "baseline",
    ("legacy", "CronJob", "legacy-log-cleanup"): "privileged",  # hostPath
    ("legacy", "PodTemplate", "legacy-batch-template"): "baseline",
    ("web-baseline", "Deployment", "web-frontend"): "baseline",
    ("web-baseline", "Pod", "web-frontend-canary"): "baseline",
    ("web-baseline", "DaemonSet", "web-log-shipper"): "privileged",  # hostPath
    ("web-baseline", "StatefulSet", "web-session-cache"): "baseline",
    ("web-baseline", "Job", "web-db-migrate"): "baseline",
    ("secure-api", "Deployment", "api-gateway"): "restricted",
    ("secure-api", "Pod", "api-worker"): "restricted",  # its ephemeral container too
    ("secure-api", "StatefulSet", "api-db"): "restricted",
    ("secure-api", "Job", "api-batch-export"): "baseline",
    ("secure-api", "CronJob", "api-report"): "restricted",
    ("secure-api", "ReplicaSet", "api-gateway-6f7d9c8b5"): "restricted",
    ("secure-api", "Pod", "api-gateway-6f7d9c8b5-x2k9q"): "restricted",
    ("secure-api", "Pod", "win-api"): "restricted",  # Windows
    ("secure-api", "PodTemplate", "api-job-template"): "restricted",  # NET_BIND_SERVICE
    ("staging", "Deployment", "staging-web"): "baseline",
    ("staging", "Pod", "staging-debug"): "privileged",
    ("staging", "CronJob", "staging-nightly-reset"): "baseline",
    ("staging", "Pod", "staging-ok"): "restricted",
    ("staging", "ReplicationController", "staging-rc"): "restricted",
    ("staging", "Pod", "win-agent"): "baseline",  # Windows without runAsNonRoot
    ("staging", "Pod", "staging-toolbox"): "baseline",  # its ephemeral debugger-shell
    ("monitoring", "DaemonSet", "node-exporter"): "privileged",
    ("monitoring", "Pod", "node-debugger"): "privileged",
    ("monitoring", "Deployment", "prometheus"): "baseline",
    ("monitoring", "PodTemplate", "node-probe-template"): "privileged",
    ("team-checkout", "Deployment", "checkout-api"): "restricted",
    ("team-checkout", "Deployment", "checkout-web"): "baseline",
    ("team-checkout", "StatefulSet", "checkout-redis"): "baseline",  # sysctl allowed since v1.29
    ("team-checkout", "Job", "checkout-migrate"): "restricted",
    ("team-checkout", "CronJob", "checkout-reconcile"): "restricted",
    ("team-checkout", "ReplicaSet", "checkout-worker-5c8d7f9b4"): "baseline",
    ("team-checkout", "Pod", "checkout-worker-5c8d7f9b4-7xkqp"): "baseline",
    ("team-checkout", "DaemonSet", "checkout-node-agent"): "privileged",  # hostPath
    ("team-checkout", "ReplicationController", "checkout-legacy-rc"): "baseline",
    ("team-checkout", "PodTemplate", "checkout-job-template"): "restricted",
}
# Pods with a controller ownerReference (cluster-state/): reported under their owner.
OWNED_PODS = {("secure-api", "Pod", "api-gateway-6f7d9c8b5-x2k9q"):
              ("secure-api", "ReplicaSet", "api-gateway-6f7d9c8b5"),
              ("team-checkout", "Pod", "checkout-worker-5c8d7f9b4-7xkqp"):
              ("team-checkout", "ReplicaSet", "checkout-worker-5c8d7f9b4")}
# In a warning at restricted, what shows that the object also breaks baseline (restricted
# reports hostPath through restrictedVolumes, which overrides the baseline hostPath check).
BASELINE_EVIDENCE = re.compile(
    r'restricted volume types? (?:"[^"]*", )*"hostPath"|hostPath volumes \(|host namespaces \(|'
    r'(?:^|, )privileged \(|hostPort \(|non-default capabilities \(|forbidden AppArmor|'
    r'forbidden sysctls \(')


# --- running the plugin -------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def err_lines(self) -> list:
        return [line for line in self.err.splitlines() if line.strip()]


def plugin_env(tmp_path: Path, server_url: str, kubectl: str) -> dict:
    env = kubectl_env(tmp_path, server_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env["KUBECTL"] = kubectl  # the real kubectl (kubectl_env drops every KUBE* variable)
    env.pop("NO_COLOR", None)
    return env


def podsec(env: dict, *argv, stdin: str | None = None, timeout: float = 120) -> Run:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kubectl_podsec", *argv], env=env,
                          input=None if stdin is None else stdin.encode(),
                          stdin=subprocess.DEVNULL if stdin is None else None,
                          capture_output=True, timeout=timeout)
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode(),
               time.monotonic() - start)


def run_against(server, tmp_path, kubectl, *argv, **kwargs) -> Run:
    return podsec(plugin_env(tmp_path, server.url, kubectl), *argv, **kwargs)


def replay(scenarios, tmp_path, kubectl, *argv, server_class=None, **kwargs) -> tuple:
    """Run the plugin against a ReplayServer of `scenarios`; asserts no unmatched request."""
    with (server_class or ReplayServer)(scenarios) as server:
        result = run_against(server, tmp_path, kubectl, *argv, **kwargs)
    assert server.unmatched == [], result.err
    return result, server


def assert_clean_failure(result: Run, lines: int = 1, seconds: float = 60) -> None:
    """Exit 2, `lines` lines on stderr, no traceback, in bounded time."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err and "Traceback" not in result.out
    assert len(result.err_lines) == lines, result.err
    assert all(line.startswith("error: ") for line in result.err_lines), result.err
    assert result.seconds < seconds


def key(obj: dict) -> tuple:
    return obj["namespace"], obj["kind"], obj["name"]


# --- what the server said about each object -----------------------------------------------------


def _final_records() -> dict:
    """(namespace, kind, name) -> the last record the server admitted for each object that
    exists: its creation, or a later ephemeral-container update of a Pod."""
    final = {}
    for record in RECORDS:
        if record["admitted"]:
            final[(record["namespace"], record["kind"], record["name"])] = record
    return final


FINAL = _final_records()
DENIED = {(r["namespace"], r["kind"], r["name"]) for r in RECORDS
          if r["operation"] == "create" and not r["admitted"]}


def _namespace_labels() -> dict:
    folder = RECORDINGS / "scenarios" / "get-namespaces-o-json"
    listed = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return {item["metadata"]["name"]: item["metadata"].get("labels") or {}
            for item in listed["items"]}


NAMESPACE_LABELS = _namespace_labels()


def label(labels: dict, mode: str) -> str | None:
    level = labels.get(PSA_PREFIX + mode)
    if level is None:
        return None
    return f"{level}:{labels.get(PSA_PREFIX + mode + '-version', 'latest')}"


def psa_warnings(record: dict) -> list:
    """[(level, "level:version", detail)] of the Pod Security warnings of a record."""
    found = []
    for warning in record["warnings"]:
        match = re.match(r'would violate PodSecurity "((\w+):(v1\.\d+|latest))": (.*)$', warning)
        if match:
            found.append((match.group(2), match.group(1), match.group(4)))
    return found


def expected_enforce(ident: tuple) -> dict | None:
    """What the server's verdicts say about the object against its namespace's enforce label:
    {"label", "passes", "detail" (the server's own message for the failure, when it gave one)}."""
    namespace, kind, _ = ident
    labels = NAMESPACE_LABELS[namespace]
    enforce = label(labels, "enforce")
    if enforce is None:
        return None
    record = FINAL[ident]
    if kind == "Pod" or enforce.startswith("privileged:"):
        return {"label": enforce, "passes": True, "detail": None}  # the server admitted it
    warn_level, warn_label = effective_policy(labels)["warn"]
    warnings = psa_warnings(record)
    if warn_label == enforce:  # the warning is the enforce level's own verdict
        failed = [w for w in warnings if w[1] == enforce]
        return {"label": enforce, "passes": not failed,
                "detail": failed[0][2] if failed else None}
    # warn is stricter than enforce (team-checkout): a restricted warning tells whether the
    # object breaks baseline too only through what it names.
    assert RANK[str(warn_level)] > RANK[enforce.partition(":")[0]]
    breaks = any(BASELINE_EVIDENCE.search(w[2]) for w in warnings)
    return {"label": enforce, "passes": not breaks, "detail": None}


def test_expected_levels_agree_with_the_server():
    """EXPECTED_HIGHEST holds exactly the objects that exist, and agrees with every verdict."""
    assert set(EXPECTED_HIGHEST) == set(FINAL)
    assert not DENIED & set(FINAL)
    for ident, record in FINAL.items():
        highest = RANK[EXPECTED_HIGHEST[ident]]
        warnings = psa_warnings(record)
        for level, _, _ in warnings:
            assert highest < RANK[level], (ident, record["warnings"])
        warn_level, _ = effective_policy(NAMESPACE_LABELS[ident[0]])["warn"]
        if not warnings:
            assert highest >= RANK[str(warn_level)], ident
        if ident[1] == "Pod":  # admitted under the enforce level
            enforce_level, _ = effective_policy(NAMESPACE_LABELS[ident[0]])["enforce"]
            assert highest >= RANK[str(enforce_level)], ident
    # The drift the recordings show: one object each breaks its namespace's enforce label.
    broken = {ident for ident in FINAL
              if (expected_enforce(ident) or {"passes": True})["passes"] is False}
    assert broken == {("web-baseline", "DaemonSet", "web-log-shipper"),
                      ("secure-api", "Job", "api-batch-export"),
                      ("team-checkout", "DaemonSet", "checkout-node-agent")}


# --- check -A against the recorded cluster ------------------------------------------------------


@pytest.fixture(scope="module")
def check_all(kubectl, tmp_path_factory) -> Run:
    result, _ = replay(ALL, tmp_path_factory.mktemp("check-all"), kubectl,
                       "check", "-A", "-o", "json")
    return result


def test_check_all_namespaces_lists_every_object(check_all):
    assert check_all.code == 1, check_all.err  # there are objects below restricted
    assert check_all.err == ""
    data = check_all.json
    assert data["errors"] == [] and data["skipped"] == []
    objects = data["objects"]
    for obj in objects:
        assert obj["source"] == "cluster"
        assert {"namespace", "owner", "pods"} <= obj.keys()
        assert obj["namespace"] == key(obj)[0] and obj["namespace"]
        assert obj["owner"] is None  # no listed object here has a controller
        assert obj["pods"] == (1 if obj["kind"] == "Pod" else 0) + sum(
            1 for pod, owner in OWNED_PODS.items() if owner == key(obj))
    listed = [key(obj) for obj in objects]
    assert len(listed) == len(set(listed))
    # Every object that exists, once; pods that a controller created only through it.
    assert set(listed) == set(EXPECTED_HIGHEST) - set(OWNED_PODS)
    assert ("secure-api", "Pod", "api-gateway-6f7d9c8b5-x2k9q") not in listed
    assert not DENIED & set(listed)  # a denied pod does not exist


def test_check_all_verdicts_match_the_server(check_all):
    by_key = {key(obj): obj for obj in check_all.json["objects"]}
    for ident, record in FINAL.items():
        obj = by_key[OWNED_PODS.get(ident, ident)]
        assert obj["highest"] == EXPECTED_HIGHEST[ident], ident
        # An object the server warned about at level L does not pass L.
        for level, _, _ in psa_warnings(record):
            assert RANK[obj["highest"]] < RANK[level], (ident, record["warnings"])
            assert obj["levels"][level] is False


def test_check_all_enforce_verdicts_match_the_server(check_all):
    by_key = {key(obj): obj for obj in check_all.json["objects"]}
    for ident in FINAL:
        if ident in OWNED_PODS:
            continue
        obj, expected = by_key[ident], expected_enforce(ident)
        if expected is None:
            assert obj.get("enforce") is None, ident
            continue
        level, _, version = expected["label"].partition(":")
        enforce = obj["enforce"]
        assert (enforce["level"], enforce["version"]) == (level, version), ident
        assert enforce["passes"] is expected["passes"], ident
        assert bool(enforce["violations"]) is not expected["passes"], ident
        if expected["detail"] is not None:
            # The failing checks, as the apiserver worded them in its warning.
            failing = [v for v in obj["violations"] if v["check"] in enforce["violations"]]
            assert ", ".join(f"{v['reason']} ({v['detail']})" for v in failing) \
                == expected["detail"], ident


class NamespacesUnpaged(ReplayServer):
    """The recordings hold the namespace list for limit=500 only; with --chunk-size the
    plugin asks for it in pages, and gets the whole list in one answer (as a server that
    ignores limit gives it)."""

    def respond(self, method, path, query, headers):
        if path == "/api/v1/namespaces":
            query = re.sub(r"(^|&)limit=\d+", r"\1limit=500", query)
        return super().respond(method, path, query, headers)


def test_chunk_size_gives_the_same_objects(check_all, kubectl, tmp_path):
    scenarios = ["get-workloads-A-chunk-size-3-o-json", "version-o-json", "get-namespaces-o-json"]
    result, server = replay(scenarios, tmp_path, kubectl, "check", "-A", "--chunk-size=3",
                            "-o", "json", server_class=NamespacesUnpaged)
    assert (result.code, result.err) == (1, "")
    assert result.json == check_all.json
    pages = [r for r in server.requests if r.startswith("GET /api/v1/pods?")]
    assert len(pages) > 1 and all("limit=3" in r for r in pages)
    assert sum("continue=" in r for r in pages) == len(pages) - 1


def test_one_namespace(kubectl, tmp_path):
    result, _ = replay(TEAM_CHECKOUT + ["version-o-json"], tmp_path, kubectl,
                       "check", "-n", "team-checkout", "-o", "json")
    assert (result.code, result.err) == (1, "")
    objects = {key(obj): obj for obj in result.json["objects"]}
    expected = {k for k in EXPECTED_HIGHEST if k[0] == "team-checkout"} - set(OWNED_PODS)
    assert set(objects) == expected
    assert {k: o["highest"] for k, o in objects.items()} \
        == {k: EXPECTED_HIGHEST[k] for k in expected}
    assert objects[("team-checkout", "ReplicaSet", "checkout-worker-5c8d7f9b4")]["pods"] == 1
    failing = [k for k, o in objects.items() if not o["enforce"]["passes"]]
    assert failing == [("team-checkout", "DaemonSet", "checkout-node-agent")]


def test_one_namespace_as_text(kubectl, tmp_path):
    result, _ = replay(TEAM_CHECKOUT + ["version-o-json"], tmp_path, kubectl,
                       "check", "-n", "team-checkout")
    assert result.code == 1
    lines = result.out.splitlines()
    assert ("cluster: DaemonSet/checkout-node-agent (team-checkout): highest=privileged; "
            "namespace enforces baseline:latest: its pods would be denied") in lines
    assert ("cluster: Deployment/checkout-api (team-checkout): highest=restricted; "
            "namespace enforces baseline:latest: its pods would be allowed") in lines
    assert lines[-3].startswith(
        "9 workloads: 4 restricted, 4 baseline, 1 privileged; 5 below restricted")
    assert lines[-2] == "Next: `kubectl podsec fix deployment/checkout-web -n team-checkout` shows the fixes"


def test_selector_across_namespaces(kubectl, tmp_path):
    scenarios = ["get-workloads-A-l-app-api-gateway-o-json", "version-o-json",
                 "get-namespaces-o-json"]
    result, _ = replay(scenarios, tmp_path, kubectl, "check", "-A", "-l", "app=api-gateway",
                       "-o", "json")
    assert (result.code, result.err) == (0, "")
    objects = {key(obj): obj for obj in result.json["objects"]}
    assert set(objects) == {("secure-api", "Deployment", "api-gateway"),
                            ("secure-api", "ReplicaSet", "api-gateway-6f7d9c8b5")}
    assert objects[("secure-api", "ReplicaSet", "api-gateway-6f7d9c8b5")]["pods"] == 1
    assert all(o["highest"] == "restricted" and o["enforce"]["passes"] for o in objects.values())
    assert all(o["enforce"]["version"] == "v1.30" for o in objects.values())


def test_one_named_object(kubectl, tmp_path):
    result, _ = replay(CHECKOUT_API + ["version-o-json"], tmp_path, kubectl,
                       "check", "deployment/checkout-api", "-n", "team-checkout", "-o", "json")
    assert (result.code, result.err) == (0, "")
    (obj,) = result.json["objects"]
    assert key(obj) == ("team-checkout", "Deployment", "checkout-api")
    assert (obj["highest"], obj["owner"], obj["pods"]) == ("restricted", None, 0)
    assert obj["enforce"] == {"level": "baseline", "version": "latest", "passes": True,
                              "violations": []}


class RecordedNamespaces(ReplayServer):
    """ReplayServer that also answers GET of a single namespace as the apiserver would: from
    the recorded namespace list, or 404 NotFound for a namespace the cluster does not have."""

    def __init__(self, scenarios):
        super().__init__(scenarios)
        (exchange,) = [e for e in load_exchanges("get-namespaces-o-json")
                       if e["path"] == "/api/v1/namespaces"]
        body = json.loads(exchange["body"])
        self.namespaces = {item["metadata"]["name"]: {"kind": "Namespace", "apiVersion": "v1", **item}
                           for item in body["items"]}
        self.headers = [tuple(h) for h in exchange["headers"]]

    def respond(self, method, path, query, headers):
        name = path[len("/api/v1/namespaces/"):]
        if method == "GET" and path.startswith("/api/v1/namespaces/") and "/" not in name \
                and not self._by_key.get(request_key(method, path, query)):
            if name in self.namespaces:
                return 200, self.headers, json.dumps(self.namespaces[name]).encode()
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": f'namespaces "{name}" not found', "reason": "NotFound",
                               "details": {"name": name, "kind": "namespaces"}, "code": 404}).encode()
            return 404, [("Content-Type", "application/json")], body
        return super().respond(method, path, query, headers)


def test_empty_namespace(kubectl, tmp_path):
    result, _ = replay(["get-workloads-n-default-o-json", "version-o-json"], tmp_path, kubectl,
                       "check", "-n", "default", "-o", "json", server_class=RecordedNamespaces)
    assert (result.code, result.err) == (0, "")
    assert result.json["objects"] == [] and result.json["errors"] == []


def test_missing_namespace_is_an_error(kubectl, tmp_path):
    # The apiserver answers 200 with an empty list, as for an empty namespace (README), so the
    # plugin asks for the namespace itself when a list comes back empty.
    result, _ = replay(["get-pods-n-missing-namespace-o-json", "version-o-json"], tmp_path,
                       kubectl, "check", "pods", "-n", "no-such-namespace", "-o", "json",
                       server_class=RecordedNamespaces)
    assert_clean_failure(result)
    assert 'namespace "no-such-namespace" not found' in result.err
    assert result.json["objects"] == []
    # All nine kinds: no recording holds them, the synthetic server answers the same way.
    with SyntheticCluster(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "check", "-n", "no-such-namespace",
                             "-o", "json")
    assert_clean_failure(result)
    assert result.json["objects"] == []


# --- failure modes ------------------------------------------------------------------------------


def test_rbac_forbidden_is_reported_per_kind(kubectl, tmp_path):
    result, _ = replay(["get-workloads-A-o-json-forbidden"], tmp_path, kubectl,
                       "check", "-A", "-o", "json")
    kinds = ["pods", "deployments.apps", "statefulsets.apps", "daemonsets.apps",
             "replicasets.apps", "replicationcontrollers", "jobs.batch", "cronjobs.batch",
             "podtemplates"]
    assert_clean_failure(result, lines=len(kinds))
    for line, kind in zip(result.err_lines, kinds):
        assert f"Error from server (Forbidden): {kind} is forbidden: User \"nobody\"" in line
    data = result.json  # the report is still written, with the errors in it
    assert data["objects"] == [] and len(data["errors"]) == len(kinds)


def test_unknown_resource_type(kubectl, tmp_path):
    result, _ = replay(["get-unknown-resource-type-o-json"], tmp_path, kubectl,
                       "check", "frobnicators", "-A")
    assert_clean_failure(result)
    assert 'the server doesn\'t have a resource type "frobnicators"' in result.err


def test_object_not_found(kubectl, tmp_path):
    result, _ = replay(["get-deployment-not-found-n-team-checkout-o-json"], tmp_path, kubectl,
                       "check", "deployment/checkout-ghost", "-n", "team-checkout")
    assert_clean_failure(result)
    assert 'deployments.apps "checkout-ghost" not found' in result.err
    fixed, _ = replay(["get-deployment-not-found-n-team-checkout-o-json"], tmp_path, kubectl,
                      "fix", "deployment/checkout-ghost", "-n", "team-checkout")
    assert_clean_failure(fixed)
    assert fixed.out == ""


@pytest.fixture
def closed_port() -> int:
    """A localhost port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("how", ["--kubectl", "KUBECTL"])
def test_kubectl_missing(how, kubectl, tmp_path, closed_port):
    env = plugin_env(tmp_path, f"http://127.0.0.1:{closed_port}", kubectl)
    missing = str(tmp_path / "nonexistent" / "kubectl")
    argv = ["check", "-A"]
    if how == "--kubectl":
        argv += ["--kubectl", missing]
    else:
        env["KUBECTL"] = missing
    result = podsec(env, *argv)
    assert_clean_failure(result)
    assert "kubectl not found" in result.err and missing in result.err
    namespaces = podsec(env, "namespaces", *argv[2:])
    assert_clean_failure(namespaces)
    assert "kubectl not found" in namespaces.err
    fixed = podsec(env, "fix", "deployment/web", *argv[2:])
    assert_clean_failure(fixed)
    assert "kubectl not found" in fixed.err


def test_kubectl_not_executable(kubectl, tmp_path, closed_port):
    env = plugin_env(tmp_path, f"http://127.0.0.1:{closed_port}", kubectl)
    not_executable = tmp_path / "kubectl"
    not_executable.write_text("#!/bin/sh\n")
    not_executable.chmod(0o644)
    result = podsec(env, "check", "-A", "--kubectl", str(not_executable))
    assert_clean_failure(result)
    assert str(not_executable) in result.err


def test_cluster_unreachable(kubectl, tmp_path, closed_port):
    env = plugin_env(tmp_path, f"http://127.0.0.1:{closed_port}", kubectl)
    result = podsec(env, "check", "-A")
    assert_clean_failure(result, seconds=30)
    assert f"127.0.0.1:{closed_port}" in result.err and "refused" in result.err


def test_unknown_context(kubectl, tmp_path, closed_port):
    env = plugin_env(tmp_path, f"http://127.0.0.1:{closed_port}", kubectl)
    result = podsec(env, "check", "-A", "--context", "nope")
    assert_clean_failure(result, seconds=30)
    assert '"nope"' in result.err and "context" in result.err


class SilentServer:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.connections = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)  # keep it open, say nothing

    def __exit__(self, *exc):
        self.sock.close()
        for conn in self.connections:
            conn.close()


def test_server_that_never_answers(kubectl, tmp_path):
    with SilentServer() as server:
        env = plugin_env(tmp_path, server.url, kubectl)
        result = podsec(env, "check", "-A", "--request-timeout", "2s", timeout=90)
        assert server.connections  # kubectl did connect
    assert_clean_failure(result, seconds=30)
    assert "Unable to connect to the server" in result.err or "timeout" in result.err.lower()


class ListsHang(ReplayServer):
    """Discovery and /version answer; the lists of pods and apps/* kinds never do."""

    def __init__(self, scenarios):
        super().__init__(scenarios)
        self.release = threading.Event()

    def handle(self, method, path, query, headers):
        if path == "/api/v1/pods" or path.startswith("/apis/apps/"):
            self.release.wait(120)
        return super().handle(method, path, query, headers)

    def __enter__(self):
        super().__enter__()
        self._httpd.handle_error = lambda *args: None  # the late answers hit closed sockets
        return self

    def __exit__(self, *exc):
        self.release.set()
        super().__exit__(*exc)


def test_lists_that_never_answer(kubectl, tmp_path):
    """Discovery works but five of the nine lists hang: each times out, the rest is read."""
    with ListsHang(ALL) as server:
        result = run_against(server, tmp_path, kubectl, "check", "-A", "--request-timeout", "2s",
                             "-o", "json", timeout=110)
    assert server.unmatched == []
    assert result.seconds < 60
    assert result.code == 2 and "Traceback" not in result.err
    assert len(result.err_lines) == 5  # one per kind that timed out
    assert all(line.startswith("error: ") for line in result.err_lines)
    kinds = {obj["kind"] for obj in result.json["objects"]}
    assert kinds == {"ReplicationController", "Job", "CronJob", "PodTemplate"}


# --- namespaces ---------------------------------------------------------------------------------


def expected_namespaces() -> list:
    summaries = []
    for name in sorted(NAMESPACE_LABELS):
        labels = NAMESPACE_LABELS[name]
        listed = [k for k in EXPECTED_HIGHEST if k[0] == name and k not in OWNED_PODS]
        levels = [RANK[EXPECTED_HIGHEST[k]] for k in listed]
        highest = LEVELS[min(levels, default=RANK["restricted"])]
        summaries.append({
            "name": name,
            "labels": {mode: label(labels, mode) for mode in ("enforce", "audit", "warn")},
            "highest": highest,
            "failing": {level: sum(1 for rank in levels if rank < RANK[level])
                        for level in ("baseline", "restricted")},
            "drift": any(not (expected_enforce(k) or {"passes": True})["passes"] for k in listed),
            "suggest": None, "downgrade": None,
        })
        # A suggestion only ever raises the level the namespace enforces today; a lower level
        # is a downgrade, explained by the workloads that the server's verdicts say fail it.
        current = labels.get(PSA_PREFIX + "enforce", "privileged")
        command = f"kubectl label --overwrite ns {name} pod-security.kubernetes.io/enforce={highest}"
        if RANK[highest] > RANK[current]:
            summaries[-1]["suggest"] = command
        elif RANK[highest] < RANK[current]:
            summaries[-1]["downgrade"] = {
                "from": label(labels, "enforce"), "to": highest, "command": command,
                "blocking": [f"{k[1]}/{k[2]}" for k in listed if not expected_enforce(k)["passes"]]}
    return summaries


def test_expected_namespaces_drift():
    drift = {s["name"] for s in expected_namespaces() if s["drift"]}
    assert drift == {"web-baseline", "secure-api", "team-checkout"}
    # The three downgrades, and one namespace that may be raised.
    downgrades = {s["name"]: s["downgrade"]["to"] for s in expected_namespaces() if s["downgrade"]}
    assert downgrades == {"secure-api": "baseline", "team-checkout": "privileged",
                          "web-baseline": "privileged"}
    assert [s["name"] for s in expected_namespaces() if s["suggest"]] == [
        "default", "kube-node-lease", "kube-public", "kube-system"]


def test_namespaces_json(kubectl, tmp_path):
    result, _ = replay(ALL, tmp_path, kubectl, "namespaces", "-o", "json")
    assert result.code == 1, result.err  # some namespaces drift
    assert result.err == ""
    got = result.json["namespaces"]
    fields = ("name", "labels", "highest", "failing", "drift", "suggest", "downgrade")
    assert [{f: s[f] for f in fields} for s in got] == expected_namespaces()
    assert {s["name"]: s["workloads"] for s in got}["team-checkout"] == 9


def test_namespaces_text(kubectl, tmp_path):
    result, _ = replay(ALL, tmp_path, kubectl, "namespaces")
    assert result.code == 1 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0].split() == ["NAMESPACE", "ENFORCE", "AUDIT", "WARN", "HIGHEST",
                                "FAIL-BASELINE", "FAIL-RESTRICTED", "DRIFT"]
    expected = expected_namespaces()
    rows = [line.split() for line in lines[1:1 + len(expected)]]
    assert rows == [[s["name"], s["labels"]["enforce"] or "-", s["labels"]["audit"] or "-",
                     s["labels"]["warn"] or "-", s["highest"], str(s["failing"]["baseline"]),
                     str(s["failing"]["restricted"]), "yes" if s["drift"] else "no"]
                    for s in expected]
    start = lines.index("Safe to apply today:")
    end = lines.index("", start)
    assert [line.strip() for line in lines[start + 1:end]] == [s["suggest"] for s in expected if s["suggest"]]
    # Downgrades are never in that list: they are marked, and explained by the workloads.
    tail = "\n".join(lines[end:])
    assert "would LOWER the enforce level (a downgrade)" in tail
    assert "secure-api: enforces restricted:v1.30, and 1 workload fails it: Job/api-batch-export; " \
           "all pass baseline." in tail
    assert "web-baseline: enforces baseline:latest, and 1 workload fails it: DaemonSet/web-log-shipper" in tail
    assert "team-checkout: enforces baseline:latest" in tail and "DaemonSet/checkout-node-agent" in tail


def test_namespaces_without_permission_to_list_workloads(kubectl, tmp_path):
    """A user who may list namespaces but not workloads (issue 10 item 6): the RBAC errors
    are given, and no namespace gets a suggestion. The namespace list and the 403 answers are
    both recorded, from two scenarios served together (as by one apiserver)."""
    scenarios = ["get-namespaces-o-json", "version-o-json", "get-workloads-A-o-json-forbidden"]
    result, _ = replay(scenarios, tmp_path, kubectl, "namespaces", "-o", "json")
    assert result.code == 2
    assert len(result.err_lines) == 9 and all("is forbidden: User" in line for line in result.err_lines)
    summaries = result.json["namespaces"]
    assert [s["name"] for s in summaries] == sorted(NAMESPACE_LABELS)
    assert all(s["suggest"] is None and s["downgrade"] is None and "forbidden" in s["unread"]
               for s in summaries)
    text, _ = replay(scenarios, tmp_path, kubectl, "namespaces")
    assert "Safe to apply today:\n  nothing" in text.out
    assert "No suggestion (the workloads could not be read):\n  default: Error from server (Forbidden)" in text.out


def test_namespaces_honours_a_username_exemption(kubectl, tmp_path):
    """--admission-config exempting the DaemonSet controller's user: the server would admit the
    hostPath DaemonSets' pods, so web-baseline and team-checkout keep baseline (issue 10 item 3)."""
    config = tmp_path / "admission.yaml"
    config.write_text("kind: PodSecurityConfiguration\nexemptions:\n"
                      "  usernames: [system:serviceaccount:kube-system:daemon-set-controller]\n")
    result, _ = replay(ALL, tmp_path, kubectl, "namespaces", "--admission-config", str(config), "-o", "json")
    summaries = {s["name"]: s for s in result.json["namespaces"]}
    for name in ("web-baseline", "team-checkout"):
        assert (summaries[name]["highest"], summaries[name]["drift"], summaries[name]["downgrade"]) == \
            ("baseline", False, None), summaries[name]
    assert summaries["secure-api"]["downgrade"]["blocking"] == ["Job/api-batch-export"]


def test_namespaces_dash_n_shows_only_that_namespace(kubectl, tmp_path):
    result, _ = replay(TEAM_CHECKOUT + ["version-o-json"], tmp_path, kubectl,
                       "namespaces", "-n", "team-checkout", "-o", "json")
    assert [s["name"] for s in result.json["namespaces"]] == ["team-checkout"]


def test_namespaces_with_a_selector_says_what_it_judged(kubectl, tmp_path):
    scenarios = ["get-namespaces-o-json", "version-o-json", "get-workloads-A-l-app-api-gateway-o-json"]
    result, _ = replay(scenarios, tmp_path, kubectl, "namespaces", "-l", "app=api-gateway")
    assert "Safe to apply today (judged only on the workloads that match -l app=api-gateway; " \
           "others were not read):" in result.out
    as_json, _ = replay(scenarios, tmp_path, kubectl, "namespaces", "-l", "app=api-gateway", "-o", "json")
    assert all(s["selector"] == "app=api-gateway" for s in as_json.json["namespaces"])


def test_namespaces_one(kubectl, tmp_path):
    result, _ = replay(TEAM_CHECKOUT + ["version-o-json"], tmp_path, kubectl,
                       "namespaces", "team-checkout", "-o", "json")
    assert (result.code, result.err) == (1, "")
    (summary,) = result.json["namespaces"]
    expected = next(s for s in expected_namespaces() if s["name"] == "team-checkout")
    assert {f: summary[f] for f in expected} == expected


def test_namespaces_missing_one(kubectl, tmp_path):
    with SyntheticCluster(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "namespaces", "no-such-namespace",
                             "-o", "json")
    assert_clean_failure(result)
    assert 'namespaces "no-such-namespace" not found' in result.err
    assert result.json == {"namespaces": []}


class PinnedVersion(SyntheticCluster):
    """Three extra namespaces on this v1.36 server, each with one StatefulSet whose only
    violation may be a sysctl:
    * pinned: enforce=restricted, enforce-version=v1.28; net.ipv4.tcp_keepalive_time, which
      baseline allows from v1.29 on;
    * fresh: no labels; net.ipv4.tcp_notsent_lowat, which baseline allows from v1.37 on;
    * current: enforce=baseline (latest, so v1.36 here); net.ipv4.tcp_notsent_lowat too;
    * future: enforce=baseline pinned to v1.37 and audit=baseline pinned to v1.99, newer than this
      server; net.ipv4.tcp_notsent_lowat. The server judges both with its own v1.36 rules and
      denies the pod (issue 10, item 1). No recording has such a namespace: these answers are
      synthetic, in the recorded list format."""

    NAMESPACES = {"pinned": ({"enforce": "restricted", "enforce-version": "v1.28"},
                             "keepalive", "net.ipv4.tcp_keepalive_time"),
                  "fresh": ({}, "lowat", "net.ipv4.tcp_notsent_lowat"),
                  "current": ({"enforce": "baseline"}, "lowat", "net.ipv4.tcp_notsent_lowat"),
                  "future": ({"enforce": "baseline", "enforce-version": "v1.37", "audit": "baseline",
                              "audit-version": "v1.99"}, "lowat", "net.ipv4.tcp_notsent_lowat")}

    def _generate(self):
        objects = super()._generate()
        for namespace, (psa, name, sysctl) in self.NAMESPACES.items():
            labels = {PSA_PREFIX + k: v for k, v in psa.items()}
            labels["kubernetes.io/metadata.name"] = namespace
            objects["namespaces"].append({"metadata": _meta(namespace, None, "namespaces", labels),
                                          "spec": {}, "status": {"phase": "Active"}})
            spec = _pod_spec("restricted", 0)
            spec["securityContext"]["sysctls"] = [{"name": sysctl, "value": "1"}]
            objects["statefulsets"].append(
                _workload(namespace, name, "statefulsets", {"app": name}, spec))
        return objects


def test_latest_is_the_servers_version(kubectl, tmp_path):
    with PinnedVersion(pods=10, namespaces=1) as cluster:
        latest = run_against(cluster, tmp_path, kubectl, "check", "-n", "fresh", "-o", "json")
        newer = run_against(cluster, tmp_path, kubectl, "check", "-n", "fresh", "-o", "json",
                            "--version", "v1.37")
    (obj,) = latest.json["objects"]
    assert obj["highest"] == "privileged"  # v1.36 does not allow net.ipv4.tcp_notsent_lowat
    assert [v["check"] for v in obj["violations"]] == ["sysctls"]
    assert newer.json["objects"][0]["highest"] == "restricted"


def test_latest_enforce_label_is_the_servers_version(kubectl, tmp_path):
    with PinnedVersion(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "check", "-n", "current", "-o", "json")
    (obj,) = result.json["objects"]
    assert obj["enforce"] == {"level": "baseline", "version": "latest", "passes": False,
                              "violations": ["sysctls"]}


def test_latest_enforce_label_is_the_servers_version_whatever_the_version_flag(kubectl,
                                                                                tmp_path):
    with PinnedVersion(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "check", "-n", "current", "-o", "json",
                             "--version", "v1.30")
    (obj,) = result.json["objects"]
    assert obj["highest"] == "privileged"  # at v1.30, as asked
    assert obj["enforce"]["passes"] is False  # the namespace's own label: v1.36 on this server


def test_a_version_newer_than_the_server_is_judged_at_the_servers_version(kubectl, tmp_path):
    """enforce-version=v1.37 on a v1.36 server: the server applies its own v1.36 rules, which
    deny the sysctl that v1.37 allows; audit and warn (warn follows enforce) likewise."""
    with PinnedVersion(pods=10, namespaces=1) as cluster:
        checked = run_against(cluster, tmp_path, kubectl, "check", "-n", "future", "-o", "json")
        text = run_against(cluster, tmp_path, kubectl, "check", "-n", "future")
        summary = run_against(cluster, tmp_path, kubectl, "namespaces", "future", "-o", "json")
    (obj,) = checked.json["objects"]
    denied = {"level": "baseline", "passes": False, "violations": ["sysctls"]}
    assert obj["enforce"] == dict(denied, version="v1.37")
    assert obj["warn"] == dict(denied, version="v1.37")
    assert obj["audit"] == dict(denied, version="v1.99")
    assert "namespace enforces baseline:v1.37: its pods would be denied" in text.out
    (ns,) = summary.json["namespaces"]
    assert ns["drift"] is True and ns["suggest"] is None
    assert (ns["downgrade"]["from"], ns["downgrade"]["to"], ns["downgrade"]["blocking"]) == \
        ("baseline:v1.37", "privileged", ["StatefulSet/lowat"])


def test_pinned_enforce_version_is_used_for_the_namespace_label(kubectl, tmp_path):
    with PinnedVersion(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "check", "-n", "pinned", "-o", "json")
    (obj,) = result.json["objects"]
    assert obj["highest"] == "restricted"  # at v1.36
    assert obj["enforce"] == {"level": "restricted", "version": "v1.28", "passes": False,
                              "violations": ["sysctls"]}


def test_suggested_label_is_safe_with_a_pinned_version(kubectl, tmp_path):
    with PinnedVersion(pods=10, namespaces=1) as cluster:
        result = run_against(cluster, tmp_path, kubectl, "namespaces", "pinned", "-o", "json")
        (summary,) = result.json["namespaces"]
        assert (summary["labels"]["enforce"], summary["drift"]) == ("restricted:v1.28", True)
        # restricted:v1.28 fails the sysctl at v1.28, so the only label all pass is lower: a downgrade.
        assert summary["suggest"] is None
        assert (summary["downgrade"]["to"], summary["downgrade"]["blocking"]) == ("privileged", ["StatefulSet/keepalive"])
        command = summary["downgrade"]["command"]
        level = re.search(r"pod-security\.kubernetes\.io/enforce=(\w+)", command).group(1)
        reset = re.search(r"pod-security\.kubernetes\.io/enforce-version=(\S+)", command)
        version = reset.group(1) if reset else "v1.28"  # `label --overwrite` keeps the pin
        # Safe means: every workload passes the level at the version that will then apply.
        after = run_against(cluster, tmp_path, kubectl, "check", "-n", "pinned", "--level", level,
                            "--version", version, "-o", "json")
    assert after.code == 0, after.json["objects"]


# --- fix against the cluster --------------------------------------------------------------------


class RecordedObjects(ReplayServer):
    """ReplayServer that also answers GET of any single recorded workload object, from the
    bytes the apiserver sent in the recorded `get <KINDS> -A` lists (managedFields and all),
    as the apiserver would: the item with its kind and apiVersion."""

    def __init__(self, scenarios):
        super().__init__(scenarios)
        self.objects: dict = {}  # path -> (headers, body)
        plurals = {kind: plural for _, plural, kind in WORKLOADS}
        for exchange in load_exchanges("get-workloads-A-o-json"):
            body = json.loads(exchange["body"]) if exchange["body"].startswith("{") else {}
            plural = plurals.get(body.get("kind"))
            if plural is None:
                continue
            group_version = body["apiVersion"]
            prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            for item in body["items"]:
                meta = item["metadata"]
                obj = {"kind": body["kind"][:-len("List")], "apiVersion": group_version, **item}
                path = f"{prefix}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
                self.objects[path] = (exchange["headers"],
                                      json.dumps(obj, separators=(",", ":")) + "\n")

    def fetched(self, namespace: str, plural: str, name: str) -> dict:
        suffix = f"/namespaces/{namespace}/{plural}/{name}"
        path = next(p for p in self.objects if p.endswith(suffix))
        return json.loads(self.objects[path][1])

    def respond(self, method, path, query, headers):
        if method == "GET" and path in self.objects \
                and not self._by_key.get(request_key(method, path, query)):
            recorded_headers, body = self.objects[path]
            return 200, [tuple(h) for h in recorded_headers], body.encode()
        return super().respond(method, path, query, headers)


FIX_SCENARIOS = ["get-deployment-checkout-api-n-team-checkout-o-json", "version-o-json"]


class PatchError(Exception):
    pass


def _tokens(pointer: str) -> list:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"bad pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list, token: str, for_add: bool = False) -> int:
    if for_add and token == "-":
        return len(container)
    if not re.fullmatch(r"0|[1-9][0-9]*", token):
        raise PatchError(f"bad array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_add):
        raise PatchError(f"array index {index} out of range")
    return index


def _resolve(document, tokens: list):
    for token in tokens:
        if isinstance(document, dict):
            if token not in document:
                raise PatchError(f"no member {token!r}")
            document = document[token]
        elif isinstance(document, list):
            document = document[_index(document, token)]
        else:
            raise PatchError(f"cannot descend into {document!r}")
    return document


def apply_json_patch(document, patch: list):
    """RFC 6902, strictly: a path that does not resolve is an error, not a silent no-op."""
    document = copy.deepcopy(document)
    for operation in patch:
        op, tokens = operation["op"], _tokens(operation["path"])
        if op in ("move", "copy"):
            value = copy.deepcopy(_resolve(document, _tokens(operation["from"])))
            if op == "move":
                document = apply_json_patch(document, [{"op": "remove", "path": operation["from"]}])
            op, operation = "add", dict(operation, value=value)
        if op == "test":
            if _resolve(document, tokens) != operation["value"]:
                raise PatchError(f"test failed at {operation['path']}")
            continue
        if not tokens:
            if op in ("add", "replace"):
                document = copy.deepcopy(operation["value"])
                continue
            raise PatchError(f"cannot {op} the whole document")
        parent, last = _resolve(document, tokens[:-1]), tokens[-1]
        if isinstance(parent, dict):
            if op in ("remove", "replace") and last not in parent:
                raise PatchError(f"{op}: no member {operation['path']}")
            if op == "remove":
                del parent[last]
            elif op in ("add", "replace"):
                parent[last] = copy.deepcopy(operation["value"])
            else:
                raise PatchError(f"unknown op {op!r}")
        elif isinstance(parent, list):
            index = _index(parent, last, for_add=(op == "add"))
            if op == "add":
                parent.insert(index, copy.deepcopy(operation["value"]))
            elif op == "remove":
                del parent[index]
            elif op == "replace":
                parent[index] = copy.deepcopy(operation["value"])
            else:
                raise PatchError(f"unknown op {op!r}")
        else:
            raise PatchError(f"parent of {operation['path']} is not a container")
    return document


def test_json_patch_applier_is_strict():
    doc = {"a": {"b": [1, 2]}, "c/d": 1}
    assert apply_json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3},
                                  {"op": "add", "path": "/a/b/0", "value": 0},
                                  {"op": "replace", "path": "/c~1d", "value": 2},
                                  {"op": "remove", "path": "/a/b/1"}]) \
        == {"a": {"b": [0, 2, 3]}, "c/d": 2}
    for bad in ({"op": "add", "path": "/x/y", "value": 1},
                {"op": "replace", "path": "/a/z", "value": 1},
                {"op": "remove", "path": "/a/b/2"},
                {"op": "add", "path": "/a/b/5", "value": 1}):
        with pytest.raises(PatchError):
            apply_json_patch(doc, [bad])


def strip_server_fields(obj: dict) -> dict:
    """What the issue says a live fix must drop before printing the manifest."""
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    meta = obj["metadata"]
    for name in SERVER_METADATA:
        meta.pop(name, None)
    annotations = meta.get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    if not annotations:
        meta.pop("annotations", None)
    return obj


def assert_no_server_fields(manifest: dict) -> None:
    assert "status" not in manifest
    meta = manifest["metadata"]
    assert not set(SERVER_METADATA) & set(meta)
    assert LAST_APPLIED not in (meta.get("annotations") or {})


def check_stdin(env: dict, text: str, level: str) -> Run:
    return podsec(env, "check", "-f", "-", "--level", level, "-o", "json", stdin=text)


@pytest.fixture(scope="module")
def fix_server():
    with RecordedObjects(FIX_SCENARIOS) as server:
        yield server
    assert server.unmatched == []


def fix_run(server, tmp_path, kubectl, *argv) -> Run:
    result = run_against(server, tmp_path, kubectl, "fix", *argv)
    assert server.unmatched == [], result.err
    assert "Traceback" not in result.err
    return result


def test_fix_compliant_object_changes_nothing(fix_server, kubectl, tmp_path):
    target = ("deployment/checkout-api", "-n", "team-checkout")
    fetched = fix_server.fetched("team-checkout", "deployments", "checkout-api")
    diff = fix_run(fix_server, tmp_path, kubectl, *target)
    assert (diff.code, diff.out, diff.err) == (0, "", "")
    as_yaml = fix_run(fix_server, tmp_path, kubectl, *target, "-o", "yaml")
    assert as_yaml.code == 0
    manifest = yaml.safe_load(as_yaml.out)
    assert_no_server_fields(manifest)
    assert manifest == strip_server_fields(fetched)
    assert fetched["metadata"]["annotations"][LAST_APPLIED]  # it was there to strip
    patch = fix_run(fix_server, tmp_path, kubectl, *target, "-o", "patch")
    assert (patch.code, json.loads(patch.out)) == (0, [])
    as_json = fix_run(fix_server, tmp_path, kubectl, *target, "-o", "json")
    (obj,) = as_json.json["objects"]
    assert (obj["before"], obj["after"], obj["edits"], obj["remaining"]) == \
        ("restricted", "restricted", [], [])


# A Deployment that only needs the safe restricted settings; created with client-side apply,
# so the fetched object has the last-applied annotation and managedFields.
WEB_FRONTEND = ("web-baseline", "deployments", "web-frontend")


@pytest.fixture(scope="module")
def web_frontend_fixes(fix_server, kubectl, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("fix")
    argv = ("deployment/web-frontend", "-n", "web-baseline")
    return {output: fix_run(fix_server, tmp, kubectl, *argv, "-o", output)
            for output in ("diff", "yaml", "patch", "json")}


def test_fix_live_yaml(web_frontend_fixes, fix_server, kubectl, tmp_path):
    result = web_frontend_fixes["yaml"]
    assert result.code == 1  # changed
    manifest = yaml.safe_load(result.out)
    assert_no_server_fields(manifest)
    fetched = fix_server.fetched(*WEB_FRONTEND)
    assert fetched["metadata"]["managedFields"] and "status" in fetched  # what was stripped
    assert fetched["metadata"]["annotations"][LAST_APPLIED]
    assert (manifest["kind"], manifest["metadata"]["name"], manifest["metadata"]["namespace"]) \
        == ("Deployment", "web-frontend", "web-baseline")
    env = plugin_env(tmp_path, fix_server.url, kubectl)
    before = check_stdin(env, json.dumps(strip_server_fields(fetched)), "restricted")
    assert before.code == 1
    after = check_stdin(env, result.out, "restricted")
    assert after.code == 0, after.out
    assert after.json["objects"][0]["highest"] == "restricted"


def test_fix_live_patch(web_frontend_fixes, fix_server, kubectl, tmp_path):
    result = web_frontend_fixes["patch"]
    assert result.code == 1
    patch = json.loads(result.out)
    assert patch and all(op["path"].startswith("/spec/template/spec/") for op in patch)
    fetched = fix_server.fetched(*WEB_FRONTEND)
    patched = apply_json_patch(fetched, patch)
    # Nothing but the pod's security settings changed.
    assert patched["metadata"] == fetched["metadata"] and patched["status"] == fetched["status"]
    env = plugin_env(tmp_path, fix_server.url, kubectl)
    checked = check_stdin(env, json.dumps(patched), "restricted")
    assert checked.code == 0, checked.out
    # The same object as -o yaml prints.
    assert strip_server_fields(patched) == yaml.safe_load(web_frontend_fixes["yaml"].out)


def test_fix_live_json(web_frontend_fixes):
    result = web_frontend_fixes["json"]
    assert result.code == 1
    (obj,) = result.json["objects"]
    assert (obj["kind"], obj["namespace"], obj["name"]) \
        == ("Deployment", "web-baseline", "web-frontend")
    assert (obj["before"], obj["after"], obj["remaining"]) == ("baseline", "restricted", [])
    assert {edit["check"] for edit in obj["edits"]} == {
        "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot",
        "seccompProfile_restricted"}
    assert all(edit["safe"] for edit in obj["edits"])
    assert all(edit["path"].startswith("spec.template.spec.") for edit in obj["edits"])


def test_fix_live_diff(web_frontend_fixes):
    result = web_frontend_fixes["diff"]
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[:3] == ["diff --git a/deployment/web-frontend b/deployment/web-frontend",
                         "--- a/deployment/web-frontend", "+++ b/deployment/web-frontend"]
    added = [line[1:] for line in lines[3:] if line.startswith("+")]
    assert any("allowPrivilegeEscalation: false" in line for line in added)
    assert any("runAsNonRoot: true" in line for line in added)
    # The new side of every hunk is a run of lines of the fixed manifest (-o yaml).
    fixed = web_frontend_fixes["yaml"].out
    hunk: list = []
    for line in lines[3:] + ["@@"]:
        if line.startswith("@@"):
            if hunk:
                assert "\n".join(hunk) + "\n" in fixed, hunk
            hunk = []
        elif line[:1] in (" ", "+"):
            hunk.append(line[1:])
    for field in ("managedFields", "resourceVersion", "uid:", "creationTimestamp",
                  "generation:", "last-applied-configuration", "status:"):
        assert field not in result.out


def _recorded_targets() -> list:
    plurals = {kind[:-len("List")]: plural for _, plural, kind in WORKLOADS}
    return [pytest.param(ns, kind, plurals[kind], name, id=f"{ns}-{kind}-{name}")
            for ns, kind, name in sorted(EXPECTED_HIGHEST)]


@pytest.mark.parametrize("namespace, kind, plural, name", _recorded_targets())
def test_fix_patch_of_every_recorded_object(namespace, kind, plural, name, fix_server, kubectl,
                                            tmp_path):
    """`fix -o patch --unsafe-fixes` applies cleanly to the fetched object, and the result
    passes restricted, or every check it still fails is one the fix said needs a human."""
    result = fix_run(fix_server, tmp_path, kubectl, f"{plural}/{name}", "-n", namespace,
                     "-o", "patch", "--unsafe-fixes")
    changes = EXPECTED_HIGHEST[(namespace, kind, name)] != "restricted"
    if changes and (kind in ("Pod", "Job") or (namespace, kind, name) in OWNED_PODS):
        # A patch the server can never accept (issue 9 item 3): refused, see the tests below.
        assert_clean_failure(result)
        assert result.out == ""
        return
    assert result.code == (1 if changes else 0), result.err
    patch = json.loads(result.out)
    patched = apply_json_patch(fix_server.fetched(namespace, plural, name), patch)
    env = plugin_env(tmp_path, fix_server.url, kubectl)
    checked = check_stdin(env, json.dumps(patched), "restricted")
    (obj,) = checked.json["objects"]
    needs_human = set(re.findall(r": needs a human: (\w+):", result.err))
    assert {v["check"] for v in obj["violations"]} == needs_human
    assert (checked.code == 0) is (not needs_human)


class OwnedObjects(RecordedObjects):
    """RecordedObjects plus what the recordings lack, built from recorded objects in their
    format (synthetic, issue 9 item 3): the ReplicaSet `secure-api/api-gateway-6f7d9c8b5` gets
    the controller ownerReference to Deployment `api-gateway` that a controller manager would
    have set (none ran when recording), and a Job `api-report-29383200` created by CronJob
    `api-report`, with that CronJob's job template. The ReplicaSet, its Pod and the Job lose
    their pod-level securityContext, so that a fix would change them."""

    def __init__(self, scenarios):
        super().__init__(scenarios)
        deployment = self.fetched("secure-api", "deployments", "api-gateway")
        replicaset = self.fetched("secure-api", "replicasets", "api-gateway-6f7d9c8b5")
        replicaset["metadata"]["ownerReferences"] = [self._reference(deployment)]
        replicaset["spec"]["template"]["spec"].pop("securityContext")
        pod = self.fetched("secure-api", "pods", "api-gateway-6f7d9c8b5-x2k9q")
        pod["spec"].pop("securityContext")
        self._put("/api/v1/namespaces/secure-api/pods/api-gateway-6f7d9c8b5-x2k9q", pod)
        self._put("/apis/apps/v1/namespaces/secure-api/replicasets/api-gateway-6f7d9c8b5", replicaset)
        cronjob = self.fetched("secure-api", "cronjobs", "api-report")
        job = {"kind": "Job", "apiVersion": "batch/v1",
               "metadata": {"name": "api-report-29383200", "namespace": "secure-api",
                            "uid": "6b0b1c0e-0000-4000-8000-000000000001", "resourceVersion": "999",
                            "ownerReferences": [self._reference(cronjob)]},
               "spec": copy.deepcopy(cronjob["spec"]["jobTemplate"]["spec"]), "status": {}}
        job["spec"]["template"]["spec"].pop("securityContext")
        self._put("/apis/batch/v1/namespaces/secure-api/jobs/api-report-29383200", job)

    @staticmethod
    def _reference(owner: dict) -> dict:
        return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def _put(self, path: str, obj: dict) -> None:
        headers = next(iter(self.objects.values()))[0]
        self.objects[path] = (headers, json.dumps(obj, separators=(",", ":")) + "\n")


@pytest.fixture(scope="module")
def owned_server():
    with OwnedObjects(FIX_SCENARIOS) as server:
        yield server
    assert server.unmatched == []


@pytest.mark.parametrize("target, namespace, owner", [
    ("pod/checkout-worker-5c8d7f9b4-7xkqp", "team-checkout", "replicaset/checkout-worker-5c8d7f9b4"),
    ("pod/api-gateway-6f7d9c8b5-x2k9q", "secure-api", "deployment/api-gateway"),  # walks the ReplicaSet
    ("replicaset/api-gateway-6f7d9c8b5", "secure-api", "deployment/api-gateway"),
    ("job/api-report-29383200", "secure-api", "cronjob/api-report"),
])
@pytest.mark.parametrize("output", ["diff", "patch", "yaml"])
def test_fix_of_an_owned_object_names_the_owner(owned_server, kubectl, tmp_path, target, namespace, owner,
                                                output):
    result = fix_run(owned_server, tmp_path, kubectl, target, "-n", namespace, "--level", "restricted",
                     "--unsafe-fixes", "-o", output)
    assert_clean_failure(result)
    assert result.out == ""
    assert f"fix that instead: kubectl podsec fix {owner} -n {namespace}" in result.err


def test_fix_of_an_owned_object_that_needs_nothing_is_not_refused(owned_server, kubectl, tmp_path):
    result = fix_run(owned_server, tmp_path, kubectl, "pod/api-gateway-6f7d9c8b5-x2k9q", "-n", "secure-api",
                     "--level", "baseline")
    assert (result.code, result.out, result.err) == (0, "", "")


@pytest.mark.parametrize("target, namespace, kind", [
    ("pod/web-frontend-canary", "web-baseline", "Pod"),
    ("job/api-batch-export", "secure-api", "Job"),
])
def test_fix_of_a_bare_pod_or_job_says_recreate_and_yaml_still_works(fix_server, kubectl, tmp_path, target,
                                                                    namespace, kind):
    """Pod specs are immutable but for a few fields, a Job's template is immutable: no diff or
    patch is printed (the server would reject it); -o yaml prints the manifest to recreate from."""
    for output in ("diff", "patch", "json"):
        result = fix_run(fix_server, tmp_path, kubectl, target, "-n", namespace, "-o", output)
        assert_clean_failure(result)
        assert result.out == ""
        assert "the API server would reject the change; delete it and create it again" in result.err
        assert f"kubectl podsec fix {target} -n {namespace} -o yaml" in result.err
    as_yaml = fix_run(fix_server, tmp_path, kubectl, target, "-n", namespace, "-o", "yaml")
    assert as_yaml.code == 1
    manifest = yaml.safe_load(as_yaml.out)
    assert manifest["kind"] == kind and "status" not in manifest
    assert "note: " in as_yaml.err and "delete it and create it again" in as_yaml.err
    checked = check_stdin(plugin_env(tmp_path, fix_server.url, kubectl), as_yaml.out, "restricted")
    assert checked.code == 0, checked.out


# --- pagination at scale ------------------------------------------------------------------------


def _get(url: str) -> dict:
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def test_ten_thousand_pods_in_pages(kubectl, tmp_path, capsys):
    with SyntheticCluster(pods=10000, namespaces=100) as cluster:
        truth = {plural: _get(f"{cluster.url}/{'api' if gv == 'v1' else 'apis'}/{gv}/{plural}")
                 ["items"] for gv, plural, _ in WORKLOADS}
        cluster.requests.clear()
        result = run_against(cluster, tmp_path, kubectl, "check", "-A", "-o", "json",
                             "--chunk-size=500", timeout=300)
        requests = list(cluster.requests)
    assert result.code == 1 and result.err == "", result.err
    data = result.json
    assert data["errors"] == []
    objects = {key(obj): obj for obj in data["objects"]}
    assert len(objects) == len(data["objects"])
    kinds = {plural: kind for _, plural, kind in WORKLOADS}
    expected = set()
    owned = {}
    for plural, items in truth.items():
        for item in items:
            meta = item["metadata"]
            ident = (meta["namespace"], kinds[plural][:-len("List")], meta["name"])
            owner = next((r for r in meta.get("ownerReferences", ()) if r.get("controller")), None)
            if plural == "pods" and owner:
                parent = (meta["namespace"], owner["kind"], owner["name"])
                owned.setdefault(parent, []).append(ident)
            else:
                expected.add(ident)
    assert set(objects) == expected  # every workload and standalone pod, once
    assert sum(obj["pods"] for obj in objects.values()) == 10000
    for owner, pods in owned.items():
        assert objects[owner]["pods"] == len(pods)
    # Levels as the generator made them (the app label of a standalone pod names its level).
    labels = {(i["metadata"]["namespace"], i["metadata"]["name"]): i["metadata"]["labels"]
              for i in truth["pods"]}
    for (namespace, kind, name), obj in objects.items():
        if kind == "Pod":
            assert obj["highest"] == labels[(namespace, name)]["app"].rpartition("-")[2]
        elif kind in ("Deployment", "ReplicaSet"):
            assert name.startswith(f"app-{obj['highest']}")
        else:
            assert name.endswith("-" + obj["highest"])
    pages = [r for r in requests if r.startswith("GET /api/v1/pods?")]
    assert len(pages) == 20 and all("limit=500" in r for r in pages)
    assert sum("continue=" in r for r in pages) == 19
    with capsys.disabled():
        print(f"\n[live] check -A -o json --chunk-size=500 over 10,000 pods in 100 namespaces: "
              f"{result.seconds:.2f} s wall, {len(objects)} objects", flush=True)
