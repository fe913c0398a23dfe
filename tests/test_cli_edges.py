"""Issue 10, "CLI" and item 7: the sharp edges a kubectl user meets, each as users meet it
(cli.main, or a real process where the terminal, the environment or kubectl matter)."""

from __future__ import annotations

import subprocess

import pytest
from cli_helpers import cli_runner

from kubectl_podsec import cluster
from kubectl_podsec.cluster import Kubectl


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


# --- item 7: timeouts and pages ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", "x", "1.5"])
def test_chunk_size_must_be_a_positive_integer(podsec, value):
    run = podsec("check", "-A", f"--chunk-size={value}")
    assert run.code == 2 and run.out == ""
    assert "--chunk-size: must be a positive integer" in run.err


def test_a_listing_is_bounded_per_request_not_as_a_whole(monkeypatch):
    """kubectl's --request-timeout bounds each request; a paged listing (428 pages at about 5
    requests/s took 85 s) gets no overall deadline that would kill it while it progresses.
    A single-request run (version) keeps a last-resort bound."""
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs.get("timeout")))
        return subprocess.CompletedProcess(argv, 0, b'{"kind": "List", "items": []}', b"")

    monkeypatch.setattr(cluster.subprocess, "run", fake_run)
    kubectl = Kubectl("kubectl", all_namespaces=True, request_timeout="1s", chunk_size=5)
    kubectl.get(["pods"])
    (argv, timeout), = calls
    assert timeout is None
    assert "--request-timeout=1s" in argv and "--chunk-size=5" in argv
    calls.clear()
    monkeypatch.setattr(cluster.subprocess, "run", lambda argv, **kw: calls.append(kw["timeout"]) or
                        subprocess.CompletedProcess(argv, 0, b'{"serverVersion": {"minor": "36"}}', b""))
    assert kubectl.server_minor() == 36 and calls == [30.0]
