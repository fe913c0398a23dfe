"""No process-global state (issue 12, item 4): the parallel path shares its value with the
workers through the pool's initializer, and importing the package changes nothing global."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kubectl_podsec import parallel

TEXT = "".join(f"---\nkind: Pod\nmetadata: {{name: p{n}}}\n" for n in range(40))


def _worker(part: tuple) -> tuple:
    # Runs in a forked worker: the shared value arrives through the initializer.
    return os.getpid(), parallel.shared()[part[0]:part[1]].count("kind: Pod")


@pytest.mark.skipif(parallel.default_jobs() < 2, reason="needs fork and two cores")
def test_map_parts_shares_the_value_with_the_workers_only():
    parts = parallel.split_for_workers(TEXT, 2, min_chars=0)
    assert len(parts) == 2
    results = parallel.map_parts(_worker, parts, TEXT)
    assert sum(count for _, count in results) == 40
    assert all(pid != os.getpid() for pid, _ in results)
    assert parallel.shared() is None  # the parent holds no shared state


def test_the_threshold_is_a_parameter():
    assert parallel.split_for_workers(TEXT, 2, min_chars=len(TEXT) + 1) == [(0, len(TEXT), 0)]
    parts = parallel.split_for_workers(TEXT, 2, min_chars=len(TEXT))
    assert [TEXT[start:end].startswith("---") for start, end, _ in parts] == [True, True]
    assert "".join(TEXT[start:end] for start, end, _ in parts) == TEXT


def test_importing_the_package_leaves_the_recursion_limit_alone():
    code = ("import sys; before = sys.getrecursionlimit(); import kubectl_podsec.cli, kubectl_podsec.sources; "
            "print(before == sys.getrecursionlimit())")
    env = dict(os.environ, KUBECTL_PODSEC_PURE_YAML="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "True"


def test_namespaces_does_not_change_the_callers_kubectl(monkeypatch):
    from test_custom_resources import fake_kubectl

    from kubectl_podsec.levels import PolicyVersion
    from kubectl_podsec.live import namespace_summaries

    kubectl = fake_kubectl([], {"shop": {}, "web": {}})(namespace="shop")
    namespace_summaries(kubectl, ["shop", "web"], PolicyVersion(None))
    assert (kubectl.namespace, kubectl.all_namespaces) == ("shop", False)
