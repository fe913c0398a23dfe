"""Byte-for-byte outputs of `plan`, `check --compare-versions` and `audit`, in every format,
on manifests, on the recorded cluster and on the recorded audit logs: the guard of the move
of these commands to use cases and renderers (issue 12). The expected files were written by
the code before the move (PODSEC_REGENERATE=1 rewrites them; review the diff)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from cli_helpers import cli_runner
from test_live import ALL, replay

DATA = Path(__file__).parent / "data"
REPORTS = DATA / "reports"
MANIFESTS = "tests/data/reports/manifests"
CONFIG = "tests/data/reports/podsec.yaml"
LOGS = ["tests/data/audit/audit-2026-12-03T19-29-23.974.log.gz", "tests/data/audit/audit.log.gz"]

FILE_CASES = {
    "plan-text": ("plan", "-f", MANIFESTS, "--config", CONFIG),
    "plan-markdown": ("plan", "-f", MANIFESTS, "--config", CONFIG, "-o", "markdown"),
    "plan-json": ("plan", "-f", MANIFESTS, "--config", CONFIG, "-o", "json"),
    "plan-baseline-json": ("plan", "shop", "nothing-here", "-f", MANIFESTS, "--level", "baseline",
                           "--version", "v1.25", "-o", "json", "--config", CONFIG),
    "compare-text": ("check", "-f", MANIFESTS, "--compare-versions", "v1.18,latest", "--config", CONFIG),
    "compare-json": ("check", "-f", MANIFESTS, "--compare-versions", "v1.18,v1.27", "-o", "json",
                     "--config", CONFIG),
    "compare-yaml": ("check", "-f", MANIFESTS, "--compare-versions", "v1.26,v1.27", "-o", "yaml",
                     "--config", CONFIG),
    "compare-same": ("check", "-f", f"{MANIFESTS}/shop.yaml", "--compare-versions", "v1.30,v1.31",
                     "--config", CONFIG),
    "audit-text": ("audit", *LOGS),
    "audit-json": ("audit", *LOGS, "-o", "json"),
    "audit-owner-json": ("audit", *LOGS, "--group-by", "owner", "-o", "json"),
    "audit-object-text": ("audit", LOGS[1], "--group-by", "object"),
    "audit-object-json": ("audit", LOGS[1], "--group-by", "object", "-o", "json"),
}
LIVE_CASES = {
    "live-plan-json": ("plan", "-o", "json"),
    "live-plan-markdown": ("plan", "-o", "markdown"),
    "live-plan-text": ("plan", "--level", "baseline"),
    "live-compare-json": ("check", "-A", "--compare-versions", "v1.22,latest", "-o", "json"),
}
REGENERATE = os.environ.get("PODSEC_REGENERATE") == "1"


@pytest.fixture
def podsec(capsys, monkeypatch):
    monkeypatch.chdir(DATA.parent.parent)  # the sources in the outputs are relative to the repository
    return cli_runner(capsys, monkeypatch)


def _check(name: str, code: int, out: str, err: str) -> None:
    # The audit reports are big: kept gzip-compressed (zcat to read them).
    expected = REPORTS / "expected" / (f"{name}.json.gz" if name.startswith("audit") else f"{name}.json")
    got = {"code": code, "stdout": out, "stderr": err}
    if REGENERATE:
        expected.parent.mkdir(exist_ok=True)
        text = (json.dumps(got, indent=1, ensure_ascii=False) + "\n").encode()
        expected.write_bytes(gzip.compress(text, 9, mtime=0) if expected.suffix == ".gz" else text)
    raw = expected.read_bytes()
    assert got == json.loads(gzip.decompress(raw) if expected.suffix == ".gz" else raw)


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_outputs_on_files_are_unchanged(podsec, name):
    run = podsec(*FILE_CASES[name])
    _check(name, run.code, run.out, run.err)


@pytest.mark.parametrize("name", sorted(LIVE_CASES))
def test_outputs_on_the_recorded_cluster_are_unchanged(kubectl, tmp_path, name):
    run, _ = replay(ALL, tmp_path, kubectl, *LIVE_CASES[name])
    _check(name, run.code, run.out, run.err)
