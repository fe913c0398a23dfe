"""action.yml against GitHub's metadata rules for actions, and its steps' scripts run the way
the runner runs them (bash -eo pipefail, inputs through the environment), without GitHub."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
MANIFEST = Path(__file__).resolve().parent / "data" / "lsp" / "web.yaml"

# From GitHub's "Metadata syntax for GitHub Actions" reference.
TOP_KEYS = {"name", "author", "description", "inputs", "outputs", "runs", "branding"}
INPUT_KEYS = {"description", "required", "default", "deprecationMessage"}
STEP_KEYS = {"name", "id", "if", "run", "shell", "uses", "with", "env", "working-directory", "continue-on-error"}
COLORS = {"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_required_keys_and_no_others():
    assert set(ACTION) <= TOP_KEYS
    for key in ("name", "description", "runs"):
        assert isinstance(ACTION.get(key), str if key != "runs" else dict), key
    assert ACTION["branding"]["color"] in COLORS and isinstance(ACTION["branding"]["icon"], str)


def test_inputs_shape():
    inputs = ACTION["inputs"]
    assert {"paths", "level", "version", "baseline", "format", "fix-summary"} <= set(inputs)
    for name, spec in inputs.items():
        assert ID.match(name), name
        assert isinstance(spec, dict) and set(spec) <= INPUT_KEYS, name
        assert isinstance(spec.get("description"), str) and spec["description"], name
        assert isinstance(spec.get("required", False), bool), name
        assert isinstance(spec.get("default", ""), str), name  # the runner passes strings


def test_composite_runs_and_steps():
    runs = ACTION["runs"]
    assert runs["using"] == "composite"
    assert set(runs) == {"using", "steps"}
    ids = [step["id"] for step in runs["steps"] if "id" in step]
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    for step in runs["steps"]:
        assert set(step) <= STEP_KEYS, step.get("name")
        assert ("run" in step) != ("uses" in step), step.get("name")
        if "run" in step:
            assert step.get("shell"), f"{step.get('name')}: a composite step with run needs shell"
            # Inputs reach scripts through env: an expression in the script is an injection.
            assert "${{" not in step["run"], step.get("name")
            subprocess.run(["bash", "-n"], input=step["run"], text=True, check=True)


def test_referenced_inputs_and_step_outputs_exist():
    referenced = {m for text in strings(ACTION) for m in re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text)}
    assert referenced and referenced <= set(ACTION["inputs"]), referenced - set(ACTION["inputs"])
    steps = {step["id"]: step for step in ACTION["runs"]["steps"] if "id" in step}
    for name, spec in ACTION["outputs"].items():
        assert isinstance(spec.get("description"), str) and "value" in spec, name
        for step_id, output in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", spec["value"]):
            assert step_id in steps, step_id
            assert f"{output}=" in steps[step_id]["run"], f"step {step_id} never sets {output}"


# -- the scripts, run as the runner would ------------------------------------------------
def _step(name: str) -> dict:
    return next(step for step in ACTION["runs"]["steps"] if step["name"] == name)


def _run_step(step: dict, tmp_path: Path, **inputs) -> tuple:
    """Run a step's script with its env expressions filled from the inputs (defaults
    otherwise); returns (process, GITHUB_OUTPUT text, GITHUB_STEP_SUMMARY text)."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update({key.replace("_", "-"): value for key, value in inputs.items()})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "kubectl-podsec"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kubectl_podsec "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text(""), summary.write_text("")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RUNNER_TEMP=str(tmp_path),
               GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary), GITHUB_ACTION_PATH=str(ROOT),
               PYTHONPATH=str(ROOT))
    for key, expression in step.get("env", {}).items():
        env[key] = values[re.fullmatch(r"\$\{\{ inputs\.([A-Za-z0-9_-]+) \}\}", expression).group(1)]
    assert step["shell"] == "bash"
    process = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                             cwd=tmp_path / "repo", env=env, capture_output=True, text=True)
    return process, output.read_text(), summary.read_text()


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "repo" / "deploy").mkdir(parents=True)
    shutil.copyfile(MANIFEST, tmp_path / "repo" / "deploy" / "web.yaml")
    return tmp_path


def test_check_step_annotates_and_fails_on_findings(repo):
    process, output, _ = _run_step(_step("Check"), repo, paths="deploy")
    assert process.returncode == 1, process.stderr
    assert "::error file=deploy/web.yaml,line=18" in process.stdout
    assert "exit-code=1" in output.splitlines()
    process, output, _ = _run_step(_step("Check"), repo, paths="deploy", level="baseline",
                                   fail_on_findings="false")
    assert process.returncode == 0 and "exit-code=1" in output.splitlines()


def test_check_step_writes_sarif(repo):
    process, output, _ = _run_step(_step("Check"), repo, paths="deploy", format="sarif")
    assert process.returncode == 1, process.stderr
    assert "sarif-file=podsec.sarif" in output.splitlines()
    sarif = json.loads((repo / "repo" / "podsec.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"deploy/web.yaml"}


def test_check_step_with_a_baseline_passes_what_it_records(repo):
    from kubectl_podsec.cli import main

    baseline = repo / "repo" / "podsec-baseline.json"
    cwd = os.getcwd()
    os.chdir(repo / "repo")
    try:
        assert main(["check", "-f", "deploy", "--write-baseline", str(baseline), "-o", "json"]) in (0, 1)
    finally:
        os.chdir(cwd)
    process, output, _ = _run_step(_step("Check"), repo, paths="deploy", baseline="podsec-baseline.json")
    assert process.returncode == 0, process.stdout + process.stderr
    assert "exit-code=0" in output.splitlines()


def test_fix_summary_posts_the_dry_run_diff(repo):
    before = (repo / "repo" / "deploy" / "web.yaml").read_bytes()
    process, _, summary = _run_step(_step("Preview fixes in the job summary"), repo, paths="deploy")
    assert process.returncode == 0, process.stderr
    assert summary.startswith("### kubectl podsec fix --level restricted --dry-run\n")
    assert "```diff\n" in summary and "+          allowPrivilegeEscalation: false\n" in summary
    assert (repo / "repo" / "deploy" / "web.yaml").read_bytes() == before  # a preview writes nothing
