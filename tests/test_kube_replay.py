"""The real kubectl against the recorded apiserver traffic and a synthetic large cluster."""
import json
import subprocess
import urllib.request

import pytest
from kube_replay import RECORDINGS, ReplayServer, SyntheticCluster, kubectl_env

SCENARIOS = sorted(p.name for p in (RECORDINGS / "scenarios").iterdir())
LEGACY = "legacy-discovery-kubectl-1.29-get-workloads-A-o-json"


@pytest.fixture(scope="module")
def dispatcher(kubectl, tmp_path_factory) -> bool:
    """Whether kubectl is the Google Cloud SDK dispatcher the recordings were made with."""
    with ReplayServer([]) as server:  # even `version --client` makes it probe /version
        env = kubectl_env(tmp_path_factory.mktemp("version"), server.url)
        out = subprocess.run([kubectl, "version", "--client", "-o", "json"], env=env,
                             capture_output=True, check=True, timeout=60).stdout
    return json.loads(out)["clientVersion"]["gitVersion"].endswith("-dispatcher")


def run(kubectl, argv, server, tmp_path):
    return subprocess.run([kubectl, *argv], env=kubectl_env(tmp_path, server.url),
                          capture_output=True, timeout=60)


def test_all_scenarios_present():
    assert len(SCENARIOS) == 15


@pytest.mark.parametrize("name", SCENARIOS)
def test_replay_is_byte_identical(name, kubectl, dispatcher, tmp_path):
    folder = RECORDINGS / "scenarios" / name
    scenario = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    pool = [name]
    if name == LEGACY and dispatcher:
        # This one was recorded by calling kubectl.1.29 directly, so it has no dispatcher
        # probe. Borrow the recorded /version (same server) so the dispatcher picks its
        # built-in kubectl v1.32.4 as it would on the real cluster. That kubectl reads the
        # legacy discovery answers (it checks Content-Type), so the output is the same.
        pool.append("version-o-json")
    with ReplayServer(pool) as server:
        result = run(kubectl, scenario["argv"], server, tmp_path)

    assert server.unmatched == []
    if dispatcher:
        borrowed = ["version-o-json#2 GET /version?timeout=32s"] if len(pool) > 1 else []
        assert server.unused() == borrowed
    else:
        # Another kubectl sends no dispatcher probe, so each recorded probe goes unused.
        probes = [ex for ex in server.exchanges
                  if ex["request_headers"]["user-agent"].startswith("kubectl-dispatcher/")]
        unused = server.unused()
        assert len(unused) == len(probes) and all(" GET /version?" in u for u in unused)

    assert result.returncode == scenario["exit_code"]
    if name == "version-o-json" and not dispatcher:
        # Its output holds the client's own version and skew warning (README: only this
        # scenario differs with other clients). kubectl re-encodes the server's /version
        # through its own struct, so 1.33+ also shows emulation*/minCompatibility* fields
        # that v1.32.4 drops: check only the fields the recording shows.
        expected = json.loads((folder / scenario["stdout"]).read_bytes())["serverVersion"]
        assert expected.items() <= json.loads(result.stdout)["serverVersion"].items()
        return
    assert result.stderr == (folder / scenario["stderr"]).read_bytes()
    assert result.stdout == (folder / scenario["stdout"]).read_bytes()


def test_pooled_scenarios_pick_discovery_by_accept(kubectl, tmp_path):
    # Legacy /api and /apis come first in the pool, but kubectl >= 1.30 asks for aggregated.
    with ReplayServer([LEGACY, "get-namespaces-o-json"]) as server:
        result = run(kubectl, ["get", "namespaces", "-o", "json"], server, tmp_path)
    folder = RECORDINGS / "scenarios" / "get-namespaces-o-json"
    assert result.stdout == (folder / "expected.json").read_bytes()
    assert server.unmatched == []
    unused = server.unused()
    assert sum(u.startswith(LEGACY + "#") for u in unused) == 33  # all of them
    assert all(" GET /version?" in u for u in unused if not u.startswith(LEGACY + "#"))


def test_chunked_list_of_a_large_cluster(kubectl, tmp_path):
    argv = ["get", "pods", "-A", "-o", "json", "--chunk-size=500"]
    with SyntheticCluster(pods=2000, namespaces=20) as cluster:
        result = run(kubectl, argv, cluster, tmp_path)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)["items"]
    assert len({(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items}) == 2000
    pages = [r for r in cluster.requests if r.startswith("GET /api/v1/pods?")]
    assert len(pages) == 4
    assert sum("continue=" in r for r in pages) == 3


def _get(url: str) -> dict:
    with urllib.request.urlopen(url) as response:
        return json.load(response)


def _level(pod: dict) -> str:
    spec = pod["spec"]
    if spec.get("hostNetwork") or any(v.get("hostPath") for v in spec["volumes"]) or any(
            c.get("securityContext", {}).get("privileged") for c in spec["containers"]):
        return "privileged"
    return "restricted" if spec["securityContext"].get("runAsNonRoot") else "baseline"


def test_synthetic_cluster_contents():
    with SyntheticCluster(pods=1000, namespaces=10) as cluster:
        pods = _get(cluster.url + "/api/v1/pods")["items"]
        replicasets = _get(cluster.url + "/apis/apps/v1/replicasets")["items"]
        deployments = _get(cluster.url + "/apis/apps/v1/deployments")["items"]
        selected = _get(cluster.url
                        + "/api/v1/namespaces/ns-003/pods?labelSelector=app%3Dbare-baseline")
        unpaged = SyntheticCluster(pods=1000, namespaces=10, page_limit_honoured=False)
        with unpaged:
            whole = _get(unpaged.url + "/api/v1/pods?limit=10")
    levels = [_level(p) for p in pods]
    assert [levels.count(x) for x in ("restricted", "baseline", "privileged")] == [600, 300, 100]
    uids = {o["metadata"]["uid"]: o for o in replicasets + deployments}
    owned = [p for p in pods if "ownerReferences" in p["metadata"]]
    assert 0 < len(owned) < len(pods)
    for obj in owned + replicasets:
        (ref,) = obj["metadata"]["ownerReferences"]
        assert ref["controller"] and uids[ref["uid"]]["metadata"]["name"] == ref["name"]
    assert selected["items"] and all(
        (p["metadata"]["namespace"], p["metadata"]["labels"]["app"]) == ("ns-003", "bare-baseline")
        for p in selected["items"])
    assert len(whole["items"]) == 1000 and "continue" not in whole["metadata"]
