"""`check` text (and -o yaml) on files written as it goes (issue 11, "Write -o json and text as you go"): each
object's lines as its part of the input is judged, the summary and next steps at the end, the
same bytes as rendering the whole report. The thresholds come down through
KUBECTL_PODSEC_PARALLEL_BYTES so that small inputs are read in parts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, cli_runner, pod, write
from test_streaming import SMALL, WHOLE, run_with, stream

from kubectl_podsec.checks import BY_ID
from kubectl_podsec.config import load_config
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.reports.terminal import painter
from kubectl_podsec.reports.text import check_text_stream, render_text
from kubectl_podsec.usecases import CheckOptions, CheckStream, run_check


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


class Terminal:
    def isatty(self) -> bool:
        return True


def many_files(tmp_path) -> list:
    """Five files, four of them failing restricted (the next step names three, then ...)."""
    paths = [write(tmp_path, f"f{n}.yaml", stream(5 + n)) for n in range(4)]
    return paths + [write(tmp_path, "ok.yaml", pod("lone", "restricted"))]


@pytest.mark.parametrize("level", [Level.RESTRICTED, Level.BASELINE, Level.PRIVILEGED])
def test_streamed_text_is_the_renderers_text(podsec, monkeypatch, tmp_path, level):
    """The pieces check_text_stream writes make render_text(run) exactly: an empty report, one
    that passes, skipped objects and errors, several failing files, colour or not."""
    config = load_config(write(tmp_path, ".podsec.yaml", "exemptions:\n  - kind: Pod\n    name: web-1\n"
                                                         "    reason: tested\n"), BY_ID)
    cases = [[write(tmp_path, "in.yaml", text)] for text in ("", "kind: Service\n", stream(7),
                                                             pod("lone", "restricted"))]
    cases.append(many_files(tmp_path) + [str(tmp_path / "missing.yaml")])
    for paths in cases:
        options = CheckOptions(level, PolicyVersion(None), tuple(paths), config=config, jobs=1)
        for colour in ("never", "always"):
            paint = painter(Terminal(), colour)
            expected = render_text(run_check(options), paint)
            streaming = CheckStream(options)
            assert "".join(check_text_stream(level, streaming.objects(), streaming.result, paint)) == expected
        out = run_with(podsec, monkeypatch, SMALL, 1, "check", "--level", level, *[a for p in paths for a in ("-f", p)])
        assert out.out == render_text(run_check(options), painter(Terminal(), "never"))


def test_text_in_parts_is_the_whole_report(podsec, monkeypatch, tmp_path):
    """Through the CLI: the same stdout, stderr and exit code whether the files are read whole
    or in parts, by one process or two."""
    paths = [Path(path).name for path in many_files(tmp_path)] + ["missing.yaml"]  # the cwd's
    write(tmp_path, ".podsec.yaml", "exemptions:\n  - kind: CronJob\n    reason: tested\n")
    argv = ["check", *[a for p in paths for a in ("-f", p)]]
    whole = run_with(podsec, monkeypatch, WHOLE, 1, *argv)
    assert whole.code == 2 and "missing.yaml" in whole.err
    assert "Next: `kubectl podsec fix --dry-run -f f0.yaml -f f1.yaml -f f2.yaml ...` shows the fixes" in whole.out
    assert "[exemption: tested]" in whole.out
    if "fork" in __import__("multiprocessing").get_all_start_methods():
        parts = run_with(podsec, monkeypatch, SMALL, 2, *argv)
        assert (parts.code, parts.out, parts.err) == (whole.code, whole.out, whole.err)
    parts = run_with(podsec, monkeypatch, SMALL, 1, *argv)
    assert (parts.code, parts.out, parts.err) == (whole.code, whole.out, whole.err)


def test_yaml_in_parts_is_the_whole_report(podsec, monkeypatch, tmp_path):
    """-o yaml is written object by object too: the bytes of render_yaml(check_data(run))."""
    from kubectl_podsec.reports.data import check_data, render_yaml

    for paths in ([write(tmp_path, "empty.yaml", "")], many_files(tmp_path) + [str(tmp_path / "missing.yaml")]):
        options = CheckOptions(Level.RESTRICTED, PolicyVersion(None), tuple(paths), jobs=1)
        run = run_with(podsec, monkeypatch, SMALL, 1, "check", "-o", "yaml", *[a for p in paths for a in ("-f", p)])
        assert run.out == render_yaml(check_data(run_check(options)))
    assert run.code == 2 and run.out.count("\n  highest: ") == 5 + 6 + 7 + 8 + 1


def test_each_objects_lines_come_before_the_input_is_all_read(monkeypatch, tmp_path):
    from kubectl_podsec import scan

    path = write(tmp_path, "big.yaml", stream(30))
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", SMALL)
    read = []
    original = scan.scan_source
    monkeypatch.setattr(scan, "scan_source", lambda source, *rest: read.append(source) or original(source, *rest))
    checking = CheckStream(CheckOptions(Level.RESTRICTED, PolicyVersion(None), (path,), jobs=1))
    pieces = check_text_stream(Level.RESTRICTED, checking.objects(), checking.result, lambda text, colour: text)
    first = next(pieces)
    assert first.startswith(f"{path}:1:1: Deployment/web-0: highest=restricted") and 1 <= len(read) <= 2
    rest = list(pieces)
    assert len(read) > 20 and rest[-1].startswith("30 workloads: 10 restricted, 10 baseline, 10 privileged; "
                                                  "20 below restricted")


# The CLI with the streamed path turned off: the whole report built, then rendered.
WHOLE_REPORT = ("import sys; from kubectl_podsec import cli, usecases; "
                "usecases.streamable = lambda options: False; cli.run()")


def test_check_text_streams_as_a_subprocess(tmp_path):
    """As users run it: a pipe, the forked workers, the exit code; and the same bytes as the
    path that builds the whole report."""
    paths = many_files(tmp_path)
    argv = ["check", *[a for p in paths for a in ("-f", p)]]
    runs = {}
    for name, command, threshold in (("parts", ["-m", "kubectl_podsec"], SMALL),
                                     ("whole", ["-m", "kubectl_podsec"], WHOLE),
                                     ("report", ["-c", WHOLE_REPORT], WHOLE)):
        env = {"KUBECTL_PODSEC_PARALLEL_BYTES": threshold, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
        runs[name] = subprocess.run([sys.executable, *command, *argv], capture_output=True, env=env, timeout=120,
                                    cwd=tmp_path)
    outputs = {(run.returncode, run.stdout, run.stderr) for run in runs.values()}
    assert len(outputs) == 1, runs
    assert runs["parts"].returncode == 2 and b"Traceback" not in runs["parts"].stderr
    assert runs["parts"].stdout.count(b"highest=") == 5 + 6 + 7 + 8 + 1
