"""Live `check` (-o json, yaml and text) holding each object only as its text (issue 11, memory
at 100,000 pods): the objects read, their results and the report's data are not kept to the
end. The output, stderr and exit code are byte for byte those of the path that builds the
whole report (run_check and the renderers), run here as a subprocess with that path forced:
through the real kubectl, against generated and recorded API servers."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml
from kube_replay import ReplayServer, SyntheticCluster
from test_live import ALL, TEAM_CHECKOUT, Run, plugin_env, podsec, replay
from test_live_pages import SHORT_NAMES, Failing

from kubectl_podsec.cluster import Kubectl, Listing
from kubectl_podsec.levels import PolicyVersion
from kubectl_podsec.live import scan_cluster

# The CLI with the streamed path turned off: the whole report built, then rendered.
WHOLE_REPORT = ("import sys; from kubectl_podsec import cli, usecases; "
                "usecases.live_streamable = lambda options: False; cli.run()")


def whole_report(env: dict, *argv) -> Run:
    done = subprocess.run([sys.executable, "-c", WHOLE_REPORT, *argv], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=120)
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode(), 0.0)


def assert_same(streamed: Run, whole: Run) -> None:
    assert "Traceback" not in streamed.err + whole.err, streamed.err + whole.err
    assert (streamed.code, streamed.err) == (whole.code, whole.err)
    assert streamed.out == whole.out


def both(server, tmp_path, kubectl, *argv) -> tuple:
    """(streamed, whole report) of -o json, once -o yaml and text are checked to be the same
    both ways."""
    env = plugin_env(tmp_path, server.url, kubectl)
    for output in ("yaml", "text"):
        assert_same(podsec(env, "check", *argv, "-o", output), whole_report(env, "check", *argv, "-o", output))
    return podsec(env, "check", *argv, "-o", "json"), whole_report(env, "check", *argv, "-o", "json")


@pytest.mark.parametrize("argv", [
    ["-A", "--chunk-size=7"],  # pods before their ReplicaSets, over many pages
    ["-n", "ns-001", "--chunk-size=5"],
    ["-A", SHORT_NAMES],  # one `kubectl get`
    ["-A", "--level", "baseline", "-l", "app=app-privileged"],
    ["-A", "pods", "--version", "v1.30", "--color", "always"],
])
def test_generated_cluster_is_byte_identical(kubectl, tmp_path, argv):
    with SyntheticCluster(pods=90, namespaces=4) as server:
        streamed, whole = both(server, tmp_path, kubectl, *argv)
    assert_same(streamed, whole)
    assert streamed.code == 1 and streamed.json["objects"]
    grouped = [o for o in streamed.json["objects"] if o["kind"] == "ReplicaSet" and o["pods"] > 1]
    assert grouped or "pods" in argv  # pods listed first, counted under ReplicaSets read later


def test_no_objects_and_a_missing_namespace_are_said_alike(kubectl, tmp_path):
    with SyntheticCluster(pods=10, namespaces=2) as server:
        streamed, whole = both(server, tmp_path, kubectl, "-n", "ns-999")
    assert_same(streamed, whole)
    assert streamed.code == 2 and streamed.json["objects"] == [] and 'namespace "ns-999" not found' in streamed.err


def test_exemptions_and_the_admission_configuration_are_applied_alike(kubectl, tmp_path):
    (tmp_path / ".podsec.yaml").write_text(
        "exemptions:\n"
        "  - reason: the node agents need the host\n    namespace: ns-00[02]\n    kind: Pod\n"
        "    checks: [hostNamespaces, hostPorts, privileged, hostPathVolumes, restrictedVolumes]\n")
    admission = tmp_path / "admission.yaml"
    admission.write_text("apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
                         "defaults:\n  enforce: baseline\n  audit: restricted\n  warn: restricted\n"
                         "exemptions:\n  namespaces: [ns-002]\n"
                         "  usernames: [system:serviceaccount:kube-system:replicaset-controller]\n")
    argv = ["-A", "--config", str(tmp_path / ".podsec.yaml"), "--admission-config", str(admission)]
    with SyntheticCluster(pods=60, namespaces=4) as server:
        streamed, whole = both(server, tmp_path, kubectl, *argv)
    assert_same(streamed, whole)
    objects = streamed.json["objects"]
    assert any(v["suppressed"] and v["suppressed"]["by"] == "exemption" for o in objects for v in o["violations"])
    assert any(v["suppressed"] and v["suppressed"]["by"] == "admission" for o in objects for v in o["violations"])
    assert all("audit" in o and "warn" in o for o in objects)


def test_errors_on_a_page_are_said_alike(kubectl, tmp_path):
    forbidden = 'replicasets.apps is forbidden: User "dev" cannot list resource "replicasets"'
    with Failing("/apis/apps/v1/replicasets", 403, "Forbidden", forbidden, pods=60, namespaces=3) as server:
        streamed, whole = both(server, tmp_path, kubectl, "-A", "--chunk-size=4")
    assert_same(streamed, whole)
    assert streamed.code == 2 and "forbidden" in streamed.err
    assert '"errors": [\n    {"source": "cluster"' in streamed.out


@pytest.mark.parametrize("scenarios, argv", [
    (ALL, ["-A"]),
    (TEAM_CHECKOUT, ["-n", "team-checkout"]),
])
def test_recorded_cluster_is_byte_identical(kubectl, tmp_path, scenarios, argv):
    for output in ("json", "yaml", "text"):
        streamed, _ = replay(scenarios, tmp_path, kubectl, "check", *argv, "-o", output)
        assert_same(streamed, whole_report_replayed(scenarios, tmp_path, kubectl, *argv, "-o", output))
        assert "highest=" in streamed.out if output == "text" else yaml.safe_load(streamed.out)["objects"]


def whole_report_replayed(scenarios, tmp_path, kubectl, *argv) -> Run:
    with ReplayServer(scenarios) as server:
        whole = whole_report(plugin_env(tmp_path, server.url, kubectl), "check", *argv)
    assert server.unmatched == [], whole.err
    return whole


# --- what is held: scan_cluster's `keep`, with a Kubectl that reads pages without kubectl ---------


class PagedPods(Kubectl):
    """20 pages of 5 bare pods each in namespace `ns`, whose labels are read at once."""

    def pages(self, resources):
        self.log.append("pages")
        for number in range(20):
            time.sleep(0.02)  # as kubectl takes its time: the labels' read, in a thread, is done by now
            self.log.append(f"page {number}")
            yield Listing([{"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": f"p{number}-{i}", "namespace": "ns"},
                            "spec": {"containers": [{"name": "app", "image": "nginx"}]}} for i in range(5)], [], [])

    def server_minor(self):
        return 36

    def namespaces(self, names=None):
        return Listing({"ns": {"pod-security.kubernetes.io/enforce": "baseline"}}, [], [])


def test_each_result_is_kept_as_it_is_judged_once_the_labels_are_read():
    kubectl = PagedPods(all_namespaces=True)
    object.__setattr__(kubectl, "log", [])

    def keep(result):
        assert result.live.modes and result.live.modes[0][0] == "enforce"
        kubectl.log.append(f"keep {result.workload.name}")
        return result.workload.name

    report = scan_cluster(kubectl, [], PolicyVersion.parse("v1.36"), keep=keep)
    assert report.objects == [(f"p{n}-{i}", 1) for n in range(20) for i in range(5)]
    log = kubectl.log
    # Every page's pods are kept before the last page is read, not at the end.
    assert log.index("keep p10-0") < log.index("page 19")
    assert all(log.index(f"keep p{n}-4") < log.index("page 19") for n in range(18))
