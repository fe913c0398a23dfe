"""The pre-commit hooks (issue 5), run as a user's repository runs them: `pre-commit try-repo`
installs this project into its own virtualenv (from PyPI: this test needs the network) and
runs the hook on a temporary git repository's files."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent

VIOLATING = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
"""


def test_hook_definitions():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert set(hooks) == {"podsec-check", "podsec-fix"}
    assert hooks["podsec-check"]["entry"] == "kubectl-podsec check"
    assert hooks["podsec-fix"]["entry"] == "kubectl-podsec fix"
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is True
        assert hook["files"] == r"\.(ya?ml|json)$"


def _require(available: bool, what: str) -> None:
    if not available:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} is missing: CI must run the pre-commit test, not skip it")
        pytest.skip(f"{what} is missing")


def git(cwd: Path, *args) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """This project's working tree, committed into a scratch repository. try-repo takes a
    repository's HEAD plus changes to tracked files only: new files would be left out."""
    _require(shutil.which("git") is not None, "git")
    copy = tmp_path_factory.mktemp("podsec-hooks")
    files = git(REPO, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "commit", "-q", "-m", "snapshot")
    return copy


def try_repo(hook_repo: Path, project: Path, home: Path, *hook: str) -> subprocess.CompletedProcess:
    """Each try-repo builds the hooks' virtualenv afresh (about 10 s): so few calls."""
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "GIT_CONFIG_GLOBAL": os.devnull}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), *hook, "--all-files",
                           "--verbose"], cwd=project, env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def hook_sections(output: str) -> dict:
    """{hook id: its part of pre-commit's verbose output}."""
    parts = output.split("- hook id: ")[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def test_hooks_through_pre_commit_try_repo(hook_repo, tmp_path):
    _require(importlib.util.find_spec("pre_commit") is not None, "pre-commit (pip install pre-commit)")
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    manifest = project / "deploy" / "web.yaml"
    manifest.write_text(VIOLATING, "utf-8")
    (project / "notes.txt").write_text("not a manifest\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    home = tmp_path / "pre-commit-home"

    # Both hooks, in their order: check fails on the finding, then fix rewrites the file.
    both = try_repo(hook_repo, project, home)
    output = both.stdout + both.stderr
    assert both.returncode == 1, output
    sections = hook_sections(both.stdout)
    assert set(sections) == {"podsec-check", "podsec-fix"}, output
    check, fix = sections["podsec-check"], sections["podsec-fix"]
    assert "- exit code: 1" in check
    assert "deploy/web.yaml:1:1: Deployment/web: highest=baseline" in check
    assert "allowPrivilegeEscalation" in check and "runAsNonRoot" in check
    assert "- exit code: 1" in fix and "- files were modified by this hook" in fix
    assert "fixed allowPrivilegeEscalation" in fix
    fixed = manifest.read_text("utf-8")
    assert "allowPrivilegeEscalation: false" in fixed and "runAsNonRoot: true" in fixed
    # Only added lines: everything that was there is still there, in order.
    assert [line for line in fixed.splitlines() if line in VIOLATING.splitlines()] == VIOLATING.splitlines()

    again = try_repo(hook_repo, project, home, "podsec-check")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Passed" in again.stdout and "highest=restricted" in again.stdout


def test_the_repositorys_own_hooks():
    """.pre-commit-config.yaml (for contributors) is valid, lints with the ruff that the rules
    are written for, and checks the bundled fixtures with the working tree's package."""
    run = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    hooks = {hook["id"]: hook for repo in yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())["repos"]
             for hook in repo["hooks"]}
    assert set(hooks) == {"ruff", "mypy", "podsec-fixtures"}
    assert hooks["ruff"]["entry"].startswith("ruff check")
    assert hooks["mypy"]["entry"] == "mypy" and hooks["mypy"]["pass_filenames"] is False
    fixtures = subprocess.run([sys.executable, *hooks["podsec-fixtures"]["entry"].split()[1:],
                               *sorted(str(p) for p in (REPO / "fixtures").glob("*.yaml"))],
                              cwd=REPO, capture_output=True, text=True, check=False)
    assert fixtures.returncode == 0, fixtures.stderr


def test_the_linters_are_pinned_alike_for_ci_and_pre_commit():
    """.ci/run runs ruff and mypy from the test extra; the hooks must lint with the same
    versions, or a commit passes locally and fails in CI."""
    import configparser

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    extra = [line.strip() for line in setup["options.extras_require"]["test"].splitlines()]
    pins = {line.split("==")[0]: line for line in extra if "==" in line}
    assert set(pins) == {"ruff", "mypy", "types-PyYAML"}
    hooks = {hook["id"]: hook for repo in yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())["repos"]
             for hook in repo["hooks"]}
    assert hooks["ruff"]["additional_dependencies"] == [pins["ruff"]]
    assert {pins["mypy"], pins["types-PyYAML"]} <= set(hooks["mypy"]["additional_dependencies"])
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.index(".venv/bin/python -m pytest -q") < ci.index(".venv/bin/ruff check .") < ci.index(".venv/bin/mypy")
