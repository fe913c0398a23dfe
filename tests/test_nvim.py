"""A real editor client: headless Neovim (Debian's `neovim` package, 0.7) attaches
`kubectl podsec lsp` to a manifest, applies "Fix all safe issues in this file" and writes the
buffer; the file must then be exactly what `kubectl podsec fix` makes of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import required_tool

DATA = Path(__file__).resolve().parent / "data"
SCRIPT = DATA / "nvim" / "fix_all.lua"


@pytest.fixture(scope="session")
def nvim() -> str:
    """Path of nvim (like kubectl: a skip only off CI)."""
    return required_tool("nvim", "CI must run the editor test (.ci/run installs Debian's neovim)")


@pytest.mark.parametrize("name", ["web.yaml", "alias.yaml"])
def test_neovim_fix_all_safe_equals_the_fix_command(nvim, tmp_path, name):
    pytest.importorskip("pygls.lsp.server", reason="the language server needs the lsp extra")
    edited = tmp_path / "editor" / name
    by_cli = tmp_path / "cli" / name
    for copy in (edited, by_cli):
        copy.parent.mkdir()
        shutil.copyfile(DATA / "lsp" / name, copy)
    fix = subprocess.run([sys.executable, "-m", "kubectl_podsec", "fix", "-f", str(by_cli)],
                         cwd=by_cli.parent, capture_output=True, text=True)
    assert fix.returncode in (0, 1), fix.stderr
    report_path = tmp_path / "report.json"
    env = dict(os.environ, PODSEC_FILE=str(edited), PODSEC_REPORT=str(report_path),
               PODSEC_CMD=json.dumps([sys.executable, "-m", "kubectl_podsec", "lsp"]),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_STATE_HOME=str(tmp_path / "state"))
    run = subprocess.run([nvim, "--headless", "-n", "-i", "NONE", "-u", str(SCRIPT)], cwd=edited.parent,
                         env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    if name == "alias.yaml":  # fix refuses the object: no action, and the file stays as it was
        assert report.get("message") == "no fix-all action", (run.stdout, run.stderr, report)
        assert report["diagnostics"] == 5
        assert edited.read_bytes() == by_cli.read_bytes() == (DATA / "lsp" / name).read_bytes()
        return
    assert run.returncode == 0 and report.get("ok"), (run.stdout, run.stderr, report)
    assert report["diagnostics"] == 5
    assert report["edits"] == 2  # minimal edits, not the whole buffer
    assert edited.read_bytes() != (DATA / "lsp" / name).read_bytes()
    assert edited.read_bytes() == by_cli.read_bytes()
