"""Fixes belong to the versioned check (issue 12, item 1): the fix for version V removes
what V forbids and keeps what V allows; the override relation, the documentation and the
import arrows come from one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli_runner

from kubectl_podsec.checks import ALL_CHECKS, BY_ID, replaced_by, replaces

PACKAGE = Path(__file__).resolve().parent.parent / "kubectl_podsec"

ENGINE = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        seLinuxOptions:
          type: container_engine_t
"""
SYSCTLS = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    sysctls:
      - name: net.ipv4.ip_local_reserved_ports
        value: "8080"
  containers:
    - name: app
      image: nginx
"""


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


def fix_file(podsec, tmp_path, text: str, version: str):
    path = tmp_path / "pod.yaml"
    path.write_text(text)
    run = podsec("fix", "--version", version, "--level", "baseline", "--unsafe-fixes", "-f", str(path))
    return run, path.read_text()


def test_selinux_fix_at_v1_30_removes_container_engine_t(podsec, tmp_path):
    run, text = fix_file(podsec, tmp_path, ENGINE, "v1.30")
    assert run.code == 1, (run.out, run.err)  # 1: a file changed
    assert "container_engine_t" not in text and "seLinuxOptions" in text
    assert "fixed seLinuxOptions" in run.err and "no automatic fix applies" not in run.err
    after = podsec("check", "--version", "v1.30", "--level", "baseline", "-f", str(tmp_path / "pod.yaml"))
    assert after.code == 0, after.out


def test_selinux_fix_at_v1_31_keeps_container_engine_t(podsec, tmp_path):
    run, text = fix_file(podsec, tmp_path, ENGINE, "v1.31")
    assert run.code == 0, (run.out, run.err)
    assert text == ENGINE


@pytest.mark.parametrize("version, removed", [("v1.26", True), ("v1.27", False), ("latest", False)])
def test_sysctls_fix_follows_the_checks_version_table(podsec, tmp_path, version, removed):
    run, text = fix_file(podsec, tmp_path, SYSCTLS, version)
    assert run.code == (1 if removed else 0), (run.out, run.err)
    assert ("ip_local_reserved_ports" not in text) is removed
    assert (text == SYSCTLS) is not removed


def test_every_variant_of_a_fixable_check_has_a_fix():
    for check in ALL_CHECKS:
        for variant in check.versions:
            assert (check.fix_at(variant.minimum_version) is None) == (str(check.fix_safety) == "never"), check.id


def test_replacements_come_from_the_registry_overrides():
    pairs = {(oid, check.id) for check in ALL_CHECKS for v in check.versions for oid in v.override_check_ids}
    assert pairs == {("capabilities_baseline", "capabilities_restricted"), ("hostPathVolumes", "restrictedVolumes"),
                     ("seccompProfile_baseline", "seccompProfile_restricted"), ("procMount", "procMount_restricted")}
    for baseline, restricted in pairs:
        assert replaced_by(baseline) == restricted
        assert replaces(restricted) == baseline
    assert replaced_by("privileged") is None and replaces("privileged") is None


def test_the_documentation_is_fields_not_a_parsed_docstring():
    for check in BY_ID.values():
        assert check.doc.startswith(f"{check.id} ({check.level}, {check.summary})\n\n{check.standard}")
        assert check.doc.endswith(f"Fix ({check.fix_safety}): {check.fix_text}")


def imported_modules(path: Path) -> set:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "checks").glob("*.py")), ids=lambda p: p.name)
def test_checks_import_only_the_policy_core(path):
    allowed = {"kubectl_podsec.levels", "kubectl_podsec.paths"}
    for name in imported_modules(path):
        if name.startswith("kubectl_podsec"):
            assert name.startswith("kubectl_podsec.checks") or name in allowed, (path.name, name)


def test_reading_the_config_does_not_load_the_policy_core():
    code = "import sys, kubectl_podsec.config; print('kubectl_podsec.checks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
