"""`fix` in place on a big file (issue 11): the parts are fixed one after the other and the
new text goes to the temporary file as they come, so that memory stays flat; the file is
still replaced only once every part is fixed, and never when one is refused or the file
changed meanwhile. The threshold comes down through KUBECTL_PODSEC_PARALLEL_BYTES."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_helpers import REPO, cli_runner, pod, service, workload, write

from kubectl_podsec import fix, parallel, writes

SMALL = "200"  # bytes: parts of about 100 characters, about one document each
WHOLE = str(1 << 40)
BROKEN = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n"


def stream(count: int) -> str:
    documents = []
    for n in range(count):
        documents.append(workload(("Deployment", "Pod", "CronJob")[n % 3], f"web-{n}",
                                  ("restricted", "baseline", "privileged")[n % 3]))
        if n % 4 == 0:
            documents.append(service(f"svc-{n}"))
    return "---\n".join(documents)


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


def in_parts(monkeypatch, threshold: str = SMALL, jobs: int = 1) -> None:
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", threshold)
    monkeypatch.setattr(parallel, "default_jobs", lambda: jobs)


def watch_writes(monkeypatch) -> list:
    """The events of an in-place fix, in order: ("part", start) as each part is fixed (in this
    process), ("write", characters) as each piece reaches the temporary file."""
    events = []
    real_part, real_write = fix._fix_part, writes.AtomicWriter.write
    monkeypatch.setattr(fix, "_fix_part", lambda shared, bounds: events.append(("part", bounds[0]))
                        or real_part(shared, bounds))
    monkeypatch.setattr(writes.AtomicWriter, "write", lambda self, piece: events.append(("write", len(piece)))
                        or real_write(self, piece))
    return events


# --- the atomic writer, piece by piece -------------------------------------------------------


def test_pieces_make_the_file_only_on_commit(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("old\n")
    with writes.AtomicWriter(str(path)) as writer:
        for piece in ("a: 1\n", "b: 2\n", b"c: 3\n"):
            writer.write(piece)
            assert path.read_text() == "old\n"  # nothing is visible before the commit
        assert len(os.listdir(tmp_path)) == 2
        assert writer.commit() is None
    assert path.read_text() == "a: 1\nb: 2\nc: 3\n" and os.listdir(tmp_path) == ["web.yaml"]


def test_an_interrupted_write_leaves_the_original_and_no_temporary_file(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with writes.AtomicWriter(str(path)) as writer:
            writer.write("new: 1\n")
            raise KeyboardInterrupt
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["web.yaml"]


def test_pieces_without_a_commit_change_nothing(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("old\n")
    with writes.AtomicWriter(str(path)) as writer:
        writer.write("new: 1\n")
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["web.yaml"]


def test_the_byte_order_mark_goes_before_the_first_piece_only(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_bytes(b"")
    with writes.AtomicWriter(str(path), encoding="utf-16-le", bom=True) as writer:
        writer.write("a: 1\n")
        writer.write("b: 2\n")
        assert writer.commit() is None
    assert path.read_bytes() == "\ufeffa: 1\nb: 2\n".encode("utf-16-le")


def test_a_read_only_file_takes_no_piece(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text("old\n")
    os.chmod(path, 0o444)
    with writes.AtomicWriter(str(path)) as writer:
        writer.write("new: 1\n")
        assert writer.commit() == writes.READ_ONLY
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["web.yaml"]


def test_a_failed_piece_is_the_reason_and_nothing_is_written(tmp_path, monkeypatch):
    path = tmp_path / "web.yaml"
    path.write_text("old\n")
    with writes.AtomicWriter(str(path)) as writer:
        writer.write("a: 1\n")

        class Full:
            def write(self, data):
                raise OSError(28, "No space left on device")

            def close(self):
                pass

        real, writer.handle = writer.handle, Full()
        writer.write("b: 2\n")
        writer.handle = real
        assert writer.commit() == "cannot write: No space left on device; not written"
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["web.yaml"]


# --- fix in place, part by part -----------------------------------------------------------------


def test_the_new_text_is_written_as_the_parts_come(podsec, monkeypatch, tmp_path):
    """Pieces reach the temporary file before the last part is fixed: the parent never holds
    the whole new text. The result is the file fixed whole, its report too."""
    text = stream(30)
    whole = write(tmp_path, "whole.yaml", text)
    in_parts(monkeypatch, WHOLE)
    expected = podsec("fix", "-f", whole, "-o", "json")
    path = write(tmp_path, "parts.yaml", text)
    in_parts(monkeypatch, SMALL, 1)
    events = watch_writes(monkeypatch)
    run = podsec("fix", "-f", path, "-o", "json")
    parts = [at for what, at in events if what == "part"]
    first_write = next(i for i, (what, _) in enumerate(events) if what == "write")
    assert len(parts) > 20 and first_write < events.index(("part", parts[-1]))
    assert open(path).read() == open(whole).read() != text
    assert (run.code, run.out.replace("parts.yaml", "whole.yaml"), run.err.replace("parts.yaml", "whole.yaml")) \
        == (expected.code, expected.out, expected.err)
    assert all(o["written"] for o in run.json["objects"]) and len(run.json["objects"]) == 30
    assert sorted(os.listdir(tmp_path)) == ["parts.yaml", "whole.yaml"]  # no temporary file left


def test_each_part_is_read_at_its_own_size(podsec, monkeypatch, tmp_path):
    """A late part is not padded with the lines before it (that made time grow with the
    square of the size); its lines are still those of the file."""
    text = stream(30)
    path = write(tmp_path, "big.yaml", text)
    in_parts(monkeypatch)
    sizes, real = [], fix._fixed_chunks
    monkeypatch.setattr(fix, "_fixed_chunks", lambda source, *a, **k: sizes.append(len(source.text))
                        or real(source, *a, **k))
    run = podsec("fix", "-f", path, "-o", "json")
    assert len(sizes) > 20 and max(sizes) < 1000
    last = run.json["objects"][-1]
    assert last["name"] == "web-29" and text.splitlines()[last["line"] + 2] == "  name: web-29"


def test_parts_fixed_in_workers_write_what_one_process_writes(podsec, monkeypatch, tmp_path):
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork")
    text = stream(30) + "---\n" + pod("late", "baseline")
    written = {}
    for jobs in (1, 2):
        path = write(tmp_path, "big.yaml", text)
        in_parts(monkeypatch, SMALL, jobs)
        run = podsec("fix", "-f", path, "-o", "json")
        written[jobs] = (run.code, run.out, run.err, open(path).read())
    assert written[1] == written[2] and written[2][3] != text and os.listdir(tmp_path) == ["big.yaml"]


def test_an_unreadable_last_part_leaves_the_file_unchanged(podsec, monkeypatch, tmp_path):
    """The first parts are already in the temporary file when the last one fails to read."""
    text = stream(20) + "---\n" + BROKEN
    path = write(tmp_path, "big.yaml", text)
    in_parts(monkeypatch, WHOLE)
    whole = podsec("fix", "-f", path, "-o", "json")
    in_parts(monkeypatch)
    events = watch_writes(monkeypatch)
    run = podsec("fix", "-f", path, "-o", "json")
    assert run.code == 2 and any(what == "write" for what, _ in events)
    assert open(path).read() == text and os.listdir(tmp_path) == ["big.yaml"]
    assert (run.out, run.err) == (whole.out, whole.err)
    assert [e["line"] for e in run.json["errors"]] == [text.count("\n")]
    objects = run.json["objects"]
    assert objects and all(not o["written"] and not o["edits"] and o["after"] == o["before"] for o in objects)
    assert {r["why"] for o in objects for r in o["remaining"]} == {f"not changed: {fix.UNREADABLE}"}


def test_a_refused_part_leaves_the_file_unchanged(podsec, monkeypatch, tmp_path):
    """A fixed document that would not parse, in a late part: nothing is written, and the
    report is the one of the file fixed whole."""
    text = stream(20)
    reports = {}
    real = fix.apply_splices

    def breaks_the_last(chunk, splices):
        fixed = real(chunk, splices)
        return fixed + "bad: [\n" if splices and "web-19" in chunk else fixed

    monkeypatch.setattr(fix, "apply_splices", breaks_the_last)
    for threshold in (WHOLE, SMALL):
        path = write(tmp_path, "big.yaml", text)
        in_parts(monkeypatch, threshold)
        run = podsec("fix", "-f", path, "-o", "json")
        assert run.code == 2 and open(path).read() == text and os.listdir(tmp_path) == ["big.yaml"]
        reports[threshold] = (run.out, run.err)
    assert reports[SMALL] == reports[WHOLE]
    assert "internal error: the fixed text would not parse" in reports[SMALL][1]


def test_a_file_changed_while_its_parts_are_written_is_not_replaced(podsec, monkeypatch, tmp_path):
    text = stream(20)
    path = write(tmp_path, "big.yaml", text)
    in_parts(monkeypatch)
    real_write = writes.AtomicWriter.write

    def edits_meanwhile(self, piece):
        if os.path.getsize(path) == len(text):
            with open(path, "a") as handle:
                handle.write("# the user's\n")
        real_write(self, piece)

    monkeypatch.setattr(writes.AtomicWriter, "write", edits_meanwhile)
    run = podsec("fix", "-f", path, "-o", "json")
    assert run.code == 2
    assert f"error: {path}: {writes.CHANGED}" in run.err.splitlines()
    assert open(path).read() == text + "# the user's\n" and os.listdir(tmp_path) == ["big.yaml"]
    assert all(not o["written"] and o["writeError"] == writes.CHANGED for o in run.json["objects"])


def test_an_unchanged_big_file_is_not_rewritten(podsec, monkeypatch, tmp_path):
    text = "---\n".join(pod(f"ok-{n}") for n in range(30))
    path = write(tmp_path, "big.yaml", text)
    before = os.stat(path)
    in_parts(monkeypatch)
    events = watch_writes(monkeypatch)
    run = podsec("fix", "-f", path)
    assert run.code == 0 and not [e for e in events if e[0] == "write"]
    assert os.stat(path).st_ino == before.st_ino and os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_in_place_fix_in_parts_as_a_subprocess(tmp_path):
    """As users run it: forked workers, pieces to the temporary file, the same bytes."""
    text = stream(40)
    results = {}
    for threshold in (SMALL, WHOLE):
        path = write(tmp_path, f"in-{threshold}.yaml", text)
        env = {"KUBECTL_PODSEC_PARALLEL_BYTES": threshold, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, "-m", "kubectl_podsec", "fix", "-o", "json", "-f", path],
                              capture_output=True, env=env, timeout=120, cwd=tmp_path)
        results[threshold] = (done.returncode, done.stdout.replace(path.encode(), b"IN"),
                              done.stderr.replace(path.encode(), b"IN"), open(path).read())
    assert results[SMALL] == results[WHOLE]
    assert results[SMALL][0] == 1 and results[SMALL][3] != text
    assert all(o["written"] for o in json.loads(results[SMALL][1])["objects"])
    assert sorted(os.listdir(tmp_path)) == sorted([f"in-{SMALL}.yaml", f"in-{WHOLE}.yaml"])


# --- fix judges each pod as few times as it can ------------------------------------------------


def test_a_planned_pod_that_reads_back_as_planned_is_not_judged_again(monkeypatch):
    """Per object to fix: one verdict of the pod as it is, one of the planned pod; the verify
    of the fixed text reuses it once the text reads back as that pod."""
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.sources import Source

    calls = {"evaluate": 0, "failures": 0}
    for name in calls:
        real = getattr(fix, name)
        monkeypatch.setattr(fix, name, lambda *a, real=real, name=name, **k: calls.__setitem__(name, calls[name] + 1)
                            or real(*a, **k))
    text = "---\n".join(workload("Deployment", f"web-{n}", "baseline") for n in range(5))
    result = fix.fix_source(Source("x", None, text), Level.RESTRICTED, PolicyVersion(None), False)
    assert result.changed and not result.errors
    assert calls == {"evaluate": 10, "failures": 0}
    assert [str(o.after.highest) for o in result.objects] == ["restricted"] * 5


def test_a_fixed_pod_that_reads_back_otherwise_is_judged_from_its_text(monkeypatch):
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.sources import Source

    real = fix.apply_splices
    monkeypatch.setattr(fix, "apply_splices", lambda chunk, splices: real(chunk, splices).replace(
        "runAsNonRoot: true", "runAsNonRoot: false"))
    result = fix.fix_source(Source("x", None, workload("Deployment", "web", "baseline")), Level.RESTRICTED,
                            PolicyVersion(None), False)
    assert result.changed and not result.errors and "runAsNonRoot: false" in result.new_text
    [fixed] = result.objects
    assert str(fixed.after.highest) == "baseline"
    assert [v.check for v in fixed.after.violations] == ["runAsNonRoot"]


def test_fixing_leaves_no_nodes_for_the_cyclic_collector():
    """The CLI turns the collector off, and a worker fixes part after part: a reference cycle
    that holds a document's nodes (a Patcher's self-calling closure once did) is memory that
    grows with the size of the input."""
    import gc

    from yaml.nodes import Node

    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.patch import Patcher
    from kubectl_podsec.sources import Source

    flow = ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}, '
            '"spec": {"containers": [{"name": "a", "image": "x"}]}}\n')
    text = "---\n".join([flow, workload("Deployment", "web", "privileged"), "apiVersion: v1\nkind: Pod\nmetadata: {name: f}\n"
                         "spec: {containers: [{name: a, image: x, securityContext: {privileged: true}}]}\n"])
    enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)
        result = fix.fix_source(Source("x", None, text), Level.RESTRICTED, PolicyVersion(None), True)
        assert result.changed and not result.errors
        del result
        gc.collect()
        kept = [o for o in gc.garbage if isinstance(o, (Patcher, Node))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert kept == []
