"""Golden pairs for `kubectl podsec fix` (issue 3, "What it changes", "What it keeps").

Each folder of tests/fix/ holds `input.yaml` (or `.json`) and, unless the input must come back
unchanged, `expected.yaml`; optionally `args` (extra CLI arguments, one per line), `stderr`
(lines that must each appear in stderr) and `xfail` (why the tool does not yet give the
expected bytes). The input goes through `fix -f -` as an editor filter would send it, and
stdout must equal the expected bytes exactly.

The expected files were written by hand from the issue, not recorded from the tool.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from kubectl_podsec.cli import main
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.scan import Report, scan_source
from kubectl_podsec.sources import Source, load

CASES_DIR = Path(__file__).resolve().parent / "fix"


class FakeStdin:
    """What `main` reads: `sys.stdin.buffer`, and `isatty()` (false: a pipe)."""

    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


def _only(folder: Path, stem: str):
    found = sorted(folder.glob(f"{stem}.*"))
    assert len(found) <= 1, found
    return found[0] if found else None


def load_case(folder: Path) -> dict:
    source = _only(folder, "input")
    expected = _only(folder, "expected")
    args = (folder / "args").read_text().split() if (folder / "args").exists() else []
    stderr = (folder / "stderr").read_text().splitlines() if (folder / "stderr").exists() else []
    data = source.read_bytes()
    return {
        "name": folder.name,
        "input": data,
        "expected": expected.read_bytes() if expected else data,
        "args": args,
        "stderr": [line for line in stderr if line.strip()],
    }


def case_params(with_xfail: bool) -> list:
    params = []
    for folder in sorted(p for p in CASES_DIR.iterdir() if p.is_dir()):
        marks = []
        reason_file = folder / "xfail"
        if with_xfail and reason_file.exists():
            marks.append(pytest.mark.xfail(strict=True, reason=reason_file.read_text().strip()))
        params.append(pytest.param(folder, id=folder.name, marks=marks))
    return params


def run_fix(monkeypatch, capsysbinary, data: bytes, args: list):
    monkeypatch.setattr(sys, "stdin", FakeStdin(data))
    monkeypatch.setenv("NO_COLOR", "1")
    code = main(["fix", "-f", "-", *args])
    out, err = capsysbinary.readouterr()
    err = err.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return code, out, err


def level_of(args: list) -> Level:
    return Level.parse(args[args.index("--level") + 1]) if "--level" in args else Level.RESTRICTED


def version_of(args: list) -> PolicyVersion:
    return PolicyVersion.parse(args[args.index("--version") + 1]) if "--version" in args else PolicyVersion(None)


def passes(data: bytes, args: list) -> bool:
    """Every workload in `data` passes the level of `args`, judged by the `check` engine."""
    level, version = level_of(args), version_of(args)
    source = Source("expected", None)
    assert load(source, io.BytesIO(data)) is None
    report = Report(version)
    scan_source(source, version, report)
    assert not report.errors, report.errors
    return all(obj.verdict.passes.get(level, True) for obj in report.objects)


def test_cases_exist():
    names = [p.name for p in CASES_DIR.iterdir() if p.is_dir()]
    assert len(names) >= 60
    assert sum(name.startswith("noop-") for name in names) >= 8
    for name in names:
        if name.startswith("noop-"):
            assert not list((CASES_DIR / name).glob("expected.*")), f"{name}: a noop case has no expected file"


@pytest.mark.parametrize("folder", case_params(with_xfail=True))
def test_golden(folder, monkeypatch, capsysbinary):
    case = load_case(folder)
    code, out, err = run_fix(monkeypatch, capsysbinary, case["input"], case["args"])
    assert out.decode("utf-8", "replace") == case["expected"].decode("utf-8")  # a readable diff first
    assert out == case["expected"]  # then the bytes (BOM, CRLF)
    for line in case["stderr"]:
        assert line in err, f"{line!r} not in stderr:\n{err}"
    changed = case["input"] != case["expected"]
    clean = passes(case["expected"], case["args"])
    assert code == (0 if clean and not changed else 1), err


@pytest.mark.parametrize("folder", case_params(with_xfail=False))
def test_expected_is_a_fixed_point(folder, monkeypatch, capsysbinary):
    """Fixing the expected output again changes nothing; exit 0 exactly when it passes."""
    case = load_case(folder)
    code, out, err = run_fix(monkeypatch, capsysbinary, case["expected"], case["args"])
    assert out == case["expected"], out.decode("utf-8", "replace")
    clean = passes(case["expected"], case["args"])
    assert code == (0 if clean else 1), err


@pytest.mark.parametrize("folder", [p for p in case_params(with_xfail=False) if p.id.startswith("noop-")])
def test_noop_exits_zero(folder, monkeypatch, capsysbinary):
    """A compliant file: byte-identical, exit 0, nothing about it to report."""
    case = load_case(folder)
    code, out, err = run_fix(monkeypatch, capsysbinary, case["input"], case["args"])
    assert out == case["input"]
    assert code == 0, err
    assert "needs a human" not in err and "fixed" not in err, err


@pytest.mark.parametrize("folder", [p for p in case_params(with_xfail=False) if list(p.values[0].glob("expected.*"))])
def test_the_dry_run_diff_applies_to_the_expected_bytes(folder, tmp_path, monkeypatch, capsysbinary):
    """`fix --dry-run FILE` prints a diff that `git apply` turns into exactly the bytes `fix`
    writes: its line changes come from the fix's own splices (JSON, flow collections,
    comments, CRLF, a BOM, no final newline)."""
    import subprocess

    case = load_case(folder)
    source = _only(folder, "input")
    path = tmp_path / f"manifest{source.suffix}"
    path.write_bytes(case["input"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    code = main(["fix", "--dry-run", *case["args"], path.name])
    out, err = capsysbinary.readouterr()
    assert code == 1 and out, err.decode("utf-8", "replace")
    subprocess.run(["git", "apply", "-"], input=out, check=True, cwd=tmp_path)
    assert path.read_bytes() == case["expected"]
