"""Big inputs in parts and reports written as they go (issue 11): `check -o json` streams object
by object and gives the bytes of the whole report; a big source is read in parts, by one
process or several; `fix` re-parses and verifies only the documents it changed. The thresholds
come down through KUBECTL_PODSEC_PARALLEL_BYTES so that small inputs take these paths."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_helpers import REPO, cli_runner, pod, service, workload, write

from kubectl_podsec import parallel

BROKEN = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n"
SMALL = "200"  # bytes: parts of about 100 characters, about one document each
WHOLE = str(1 << 40)


def stream(count: int) -> str:
    """Workloads of every level with Services between them and an unreadable document."""
    documents = []
    for n in range(count):
        documents.append(workload(("Deployment", "Pod", "CronJob")[n % 3], f"web-{n}",
                                  ("restricted", "baseline", "privileged")[n % 3]))
        if n % 4 == 0:
            documents.append(service(f"svc-{n}"))
        if n == count // 2:
            documents.append(BROKEN)
    return "---\n".join(documents)


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


def run_with(podsec, monkeypatch, threshold: str, jobs: int, *argv, stdin=None):
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", threshold)
    monkeypatch.setattr(parallel, "default_jobs", lambda: jobs)
    return podsec(*argv, stdin=stdin)


@pytest.mark.parametrize("output", ["json", "yaml", "text"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_check_json_in_parts_is_the_whole_report(podsec, monkeypatch, tmp_path, jobs, output):
    """Each object's report text is written by the worker that judged it, its document
    counted from the start of its part: the whole report all the same, in every format."""
    if jobs > 1 and "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork")
    big = write(tmp_path, "big.yaml", stream(40))
    small = write(tmp_path, "small.yaml", pod("lone", "baseline"))
    write(tmp_path, ".podsec.yaml", "exemptions:\n  - kind: Pod\n    name: web-1\n    reason: tested\n")
    argv = ("check", "-o", output, "-f", big, "-f", small, "-f", str(tmp_path / "missing.yaml"))
    whole = run_with(podsec, monkeypatch, WHOLE, 1, *argv)
    parts = run_with(podsec, monkeypatch, SMALL, jobs, *argv)
    assert (parts.code, parts.out, parts.err) == (whole.code, whole.out, whole.err)
    assert parts.code == 2
    if output != "json":
        assert "web-39" in parts.out and "lone" in parts.out
        return
    report = parts.json
    assert len(report["objects"]) == 41 and report["skipped"] and len(report["errors"]) == 2
    # Positions in later parts are where they are in the file, not in the part.
    last = report["objects"][-2]
    name_line = stream(40).splitlines().index("  name: web-39") + 1  # its object starts 3 lines up
    assert last["name"] == "web-39" and last["line"] == name_line - 3 and last["document"] > 40
    assert any(v["suppressed"] for o in report["objects"] for v in o["violations"])


def test_streamed_json_is_the_renderers_json(podsec, monkeypatch, tmp_path):
    """The pieces check_json_stream writes make render_json(check_data(run)) exactly, for an
    empty report too."""
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.reports.data import check_data, render_json
    from kubectl_podsec.usecases import CheckOptions, run_check

    for text in (stream(7), "", service()):
        path = write(tmp_path, "in.yaml", text)
        options = CheckOptions(Level.RESTRICTED, PolicyVersion(None), (path,))
        expected = render_json(check_data(run_check(options)))
        out = run_with(podsec, monkeypatch, SMALL, 1, "check", "-o", "json", "-f", path).out
        assert out == expected


def test_the_report_is_written_before_the_input_is_all_read(monkeypatch, tmp_path):
    """The first object's verdict comes after reading its part, not the whole source: what
    is held is a part's worth."""
    from kubectl_podsec import scan
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.usecases import CheckOptions, CheckStream

    path = write(tmp_path, "big.yaml", stream(30))
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", SMALL)
    read = []
    original = scan.scan_source
    monkeypatch.setattr(scan, "scan_source", lambda source, *rest: read.append(source) or original(source, *rest))
    checking = CheckStream(CheckOptions(Level.RESTRICTED, PolicyVersion(None), (path,), jobs=1))
    objects = checking.objects()
    next(objects)
    assert 1 <= len(read) <= 2 and len(read[0].text) < 600
    rest = list(objects)
    assert len(rest) == 29 and len(read) > 20 and checking.failing == 20


def test_stream_cuts_keep_directives_with_their_documents():
    text = "%YAML 1.1\n---\n" + stream(5)
    assert parallel.split_for_stream(text, 2, min_chars=10) == [(0, len(text), 0)]
    parts = parallel.split_for_stream(stream(5), 2, min_chars=10)
    assert len(parts) > 2 and all(stream(5)[start:start + 4] == "---\n" for start, _, _ in parts[1:])
    assert [(start, end) for start, end, _ in parts] == list(zip([0] + [p[1] for p in parts[:-1]],
                                                                 [p[1] for p in parts]))


def test_check_json_streams_as_a_subprocess(tmp_path):
    """As users run it: a pipe, the forked workers, the exit code."""
    path = write(tmp_path, "big.yaml", stream(60))
    runs = {}
    for threshold in (SMALL, WHOLE):
        env = {"KUBECTL_PODSEC_PARALLEL_BYTES": threshold, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
        runs[threshold] = subprocess.run([sys.executable, "-m", "kubectl_podsec", "check", "-o", "json", "-f", path],
                                         capture_output=True, env=env, timeout=120, cwd=tmp_path)
    assert runs[SMALL].stdout == runs[WHOLE].stdout and runs[SMALL].stderr == runs[WHOLE].stderr
    assert runs[SMALL].returncode == 2 and len(json.loads(runs[SMALL].stdout)["objects"]) == 60


# --- fix: only the changed documents are parsed again -------------------------------------------


def test_fix_parses_again_only_the_documents_it_changed(monkeypatch):
    from kubectl_podsec import fix
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.sources import Source

    untouched = [pod(f"ok-{n}", "restricted") for n in range(3)]
    text = "---\n".join([untouched[0], workload("Deployment", "web", "baseline"), untouched[1], service(),
                         untouched[2]])
    parsed = []
    original = fix.documents
    monkeypatch.setattr(fix, "documents", lambda source: parsed.append(source.text) or original(source))
    result = fix.fix_source(Source("x", None, text), Level.RESTRICTED, PolicyVersion(None), False)
    assert result.changed and not result.errors
    assert parsed[0] == text and len(parsed) == 2  # the first parse, then the fixed Deployment only
    assert parsed[1].startswith("---\napiVersion: apps/v1\nkind: Deployment") and "ok-" not in parsed[1]
    assert [str(fixed.after.highest) for fixed in result.objects] == ["restricted"] * 4


def test_a_changed_document_that_would_not_parse_is_refused_at_its_line(monkeypatch):
    """The verify of a chunk is as strict as that of the whole text, and says where."""
    from kubectl_podsec import fix
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.sources import Source

    text = "---\n".join([pod("a"), pod("b"), workload("Deployment", "web", "baseline")])
    original = fix.apply_splices
    monkeypatch.setattr(fix, "apply_splices", lambda chunk, splices: original(chunk, splices) + "bad: [\n"
                        if splices else original(chunk, splices))
    result = fix.fix_source(Source("x", None, text), Level.RESTRICTED, PolicyVersion(None), False)
    assert result.new_text is None and len(result.errors) == 1
    problem = result.errors[0]
    assert "internal error: the fixed text would not parse" in problem.message
    fixed = original(text, [])  # nothing before the Deployment moved: its lines are the file's
    assert problem.line > fixed.count("\n") - workload("Deployment", "web", "baseline").count("\n")
    assert all(o.after is None and o.refused for o in result.objects)


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("jobs", [1, 2])
def test_fix_in_parts_equals_fix_whole(podsec, monkeypatch, tmp_path, jobs, newline):
    """A CRLF file's later parts once got LF lines: a part's first line is a padding one."""
    text = stream(30).replace(BROKEN, pod("instead", "baseline")).replace("\n", newline)
    outputs = {}
    for threshold in (SMALL, WHOLE):
        path = write(tmp_path, f"in-{threshold}.yaml", text)
        run = run_with(podsec, monkeypatch, threshold, jobs, "fix", "-f", path)
        diff = run_with(podsec, monkeypatch, threshold, jobs, "fix", "--dry-run", "-f", write(tmp_path, "d.yaml", text))
        outputs[threshold] = (run.code, run.err.replace(path, "IN"), open(path, newline="").read(), diff.out, diff.err)
    assert outputs[SMALL] == outputs[WHOLE]
    assert outputs[SMALL][2] != text
    assert outputs[SMALL][2].count("\n") == outputs[SMALL][2].count(newline)


# --- many small files: batches over the workers --------------------------------------------------


BATCHED = "2000"  # bytes: each file is below it, all of them far above


def tree(root) -> list:
    """A GitOps-like folder: small files of one to three documents, one unreadable, a FIFO."""
    import os

    for n in range(24):
        write(root, f"app-{n // 8}/m-{n:02d}.yaml", stream(n % 3 + 1).replace("web-", f"app{n}-"))
    write(root, "app-1/broken.yaml", BROKEN)
    os.mkfifo(root / "app-2" / "pipe.yaml")
    return ["-R", "-f", str(root), "-f", str(root / "missing.yaml")]


@pytest.mark.parametrize("command", [("check", "-o", "json"), ("check",), ("fix", "--dry-run"),
                                     ("fix", "-o", "json", "--dry-run")], ids=" ".join)
def test_small_files_in_batches_give_what_one_process_gives(podsec, monkeypatch, tmp_path, command):
    argv = (*command, *tree(tmp_path / "repo"))
    one = run_with(podsec, monkeypatch, WHOLE, 1, *argv)
    batches = run_with(podsec, monkeypatch, BATCHED, 2, *argv)
    assert (batches.code, batches.out, batches.err) == (one.code, one.out, one.err)
    assert batches.code == 2 and "not a regular file; skipped" in batches.err and "missing.yaml" in batches.err


def test_small_files_fixed_in_batches_are_written_as_in_one_process(podsec, monkeypatch, tmp_path):
    import shutil

    written = {}
    for jobs, threshold in ((1, WHOLE), (2, BATCHED)):
        root = tmp_path / f"repo-{jobs}"
        argv = tree(root)
        run = run_with(podsec, monkeypatch, threshold, jobs, "fix", *argv)
        written[jobs] = (run.code, run.err.replace(str(root), "ROOT"),
                         {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.yaml")) if p.is_file()})
        shutil.rmtree(root)
    assert written[1] == written[2]
    assert written[2][0] == 2 and any(b"seccompProfile" in data for data in written[2][2].values())


def test_the_batches_run_in_the_workers(monkeypatch, tmp_path):
    from kubectl_podsec import scan
    from kubectl_podsec.levels import PolicyVersion

    calls = []
    original = parallel.imap_parts
    monkeypatch.setattr(parallel, "imap_parts", lambda *args: calls.append(len(args[1])) or original(*args))
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", BATCHED)
    tree(tmp_path / "repo")
    report = scan.scan([str(tmp_path / "repo")], PolicyVersion(None), recursive=True, jobs=2)
    assert calls and calls[0] > 2 and len(report.objects) == 48 and report.notes
