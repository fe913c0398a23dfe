"""`fix` never loses what the user wrote (issue 9, items 4-7).

- Item 4: the filter (`fix -f -`) gives its input back byte for byte on every error.
- Item 5: rendered and vendored files (`# Source:` comments) are fixed, with a note naming
  the chart templates to change too.
- Item 6: a file changed while fix runs is not written; owner, group, mode and hard links
  are kept; a read-only file is not replaced; a failed write is never reported as fixed.
- Item 7: signals end every worker process without a traceback; FIFOs and other special
  files in folders are skipped with a note, and read when named.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import FakeStdin, cli_runner, pod, run_process, workload

from kubectl_podsec import writes
from kubectl_podsec.parallel import default_jobs

DATA = Path(__file__).resolve().parent / "data"
VENDORED = DATA / "vendored" / "calico.yaml"
VENDORED_FIXED = DATA / "vendored" / "calico.fixed.yaml"
NEEDS_FIX = workload("Deployment", "web", "baseline")
BROKEN = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n"


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .podsec.yaml from above
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def filter_(capsysbinary, monkeypatch, tmp_path):
    """fix -f - with bytes in and bytes out: (code, stdout bytes, stderr text)."""
    from kubectl_podsec.cli import main

    monkeypatch.chdir(tmp_path)

    def run(data: bytes, *argv):
        monkeypatch.setattr(sys, "stdin", FakeStdin(data))
        code = main(["fix", "-f", "-", *argv])
        out, err = capsysbinary.readouterr()
        err = err.decode()
        assert "Traceback" not in err, err
        return code, out, err

    return run


def errors_of(err: str) -> list:
    return [line for line in err.splitlines() if line.startswith("error: ")]


# --- item 4: the filter echoes its input on every error ------------------------------------

@pytest.mark.parametrize("data", [
    BROKEN,
    b"\xef\xbb\xbf" + BROKEN.replace(b"\n", b"\r\n"),  # a BOM and CRLF come back too
    NEEDS_FIX.encode() + b"---\n" + BROKEN,  # a good document before the bad one is not fixed
    b"\xef\xbb\xbfapiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xe9\n",  # not UTF-8
    b"apiVersion: v1\x00binary",
    b"",
], ids=["malformed", "bom-crlf", "second-document", "not-utf8", "binary", "empty"])
def test_filter_echoes_unreadable_input(filter_, data):
    code, out, err = filter_(data)
    assert out == data
    assert code == (0 if data == b"" else 2)
    assert data == b"" or errors_of(err)


def test_filter_echoes_on_an_internal_verify_failure(filter_, monkeypatch):
    from kubectl_podsec import fix
    from kubectl_podsec.sources import Problem

    monkeypatch.setattr(fix, "_verify", lambda source, *rest: Problem(source.name, None, None,
                                                                     "internal error: simulated; left unchanged"))
    code, out, err = filter_(NEEDS_FIX.encode())
    assert (code, out) == (2, NEEDS_FIX.encode())
    assert errors_of(err) == ["error: -: internal error: simulated; left unchanged"]


def test_filter_echoes_when_the_output_cannot_be_encoded(filter_, monkeypatch):
    from kubectl_podsec.sources import Source

    def cannot(self, text):
        raise UnicodeEncodeError("utf-16", text, 0, 1, "simulated")

    monkeypatch.setattr(Source, "encode", cannot)
    code, out, err = filter_(NEEDS_FIX.encode())
    assert (code, out) == (2, NEEDS_FIX.encode())
    assert errors_of(err)[0].startswith("error: -: cannot write: ")


def test_filter_echoes_on_a_bad_config(filter_, tmp_path):
    (tmp_path / ".podsec.yaml").write_text("exemptions: 42\n")
    code, out, err = filter_(NEEDS_FIX.encode())
    assert (code, out) == (2, NEEDS_FIX.encode())
    assert errors_of(err)[0].startswith("error: config ")


def test_filter_echoes_on_an_unexpected_exception(filter_, monkeypatch):
    """A bug must not cost the user their buffer either."""
    from kubectl_podsec import fix

    def crash(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(fix, "fix_source_parallel", crash)
    code, out, err = filter_(NEEDS_FIX.encode())
    assert (code, out) == (2, NEEDS_FIX.encode())
    assert errors_of(err) == ["error: -: internal error: RuntimeError('simulated bug'); input left unchanged"]


def test_filter_with_a_refused_object_fixes_the_others(filter_):
    """A refused object is left as written (like in a file); the rest is fixed, exit 1."""
    aliased = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: aliased\nspec:\n"
               "  containers: &shared\n    - name: app\n      image: nginx\n"
               "  initContainers: *shared\n")
    code, out, err = filter_((aliased + "---\n" + NEEDS_FIX).encode())
    assert code == 1, err
    assert out.decode().startswith(aliased + "---\n")
    assert out.decode() != aliased + "---\n" + NEEDS_FIX
    assert "Pod/aliased: needs a human" in err and "not changed:" in err


def test_filter_as_a_process_gives_back_the_same_bytes(tmp_path):
    """`python -m kubectl_podsec fix -f - < broken.yaml`: what an editor's `:%!` runs."""
    data = b"\xef\xbb\xbf# keep me\r\n" + NEEDS_FIX.encode() + b"---\n" + BROKEN
    completed = run_process("fix", "-f", "-", stdin=data)
    assert completed.returncode == 2
    assert completed.stdout == data
    assert completed.stderr.decode().startswith("error: -:")
    assert "Traceback" not in completed.stderr.decode()


def test_readme_and_integrations_promise_the_echo():
    root = DATA.parent.parent
    for text in ((root / "README.md").read_text(), (root / "docs" / "integrations.md").read_text()):
        assert "nothing at all (exit 2)" not in text and "nothing on stdout when" not in text
        assert "the input unchanged" in text


# --- item 5: rendered and vendored files are fixed -----------------------------------------

VENDORED_NOTE = ("rendered from chart templates calico/templates/calico-kube-controllers.yaml, "
                 "calico/templates/calico-node.yaml; also change them there, or the next render "
                 "brings the old settings back")
# Lines a safe fix may add: security settings only.
SECURITY_LINE = re.compile(r"^\s*(-\s+ALL|securityContext:|allowPrivilegeEscalation: false|capabilities:|drop:|"
                           r"runAsNonRoot: true|seccompProfile:|type: RuntimeDefault)\s*$")


def test_vendored_release_file_is_fixed_golden(podsec, tmp_path):
    path = tmp_path / "deploy" / "calico.yaml"
    path.parent.mkdir()
    path.write_bytes(VENDORED.read_bytes())
    run = podsec("fix", "-f", path)
    assert run.code == 1, run.err  # calico-node still needs a human
    assert path.read_bytes() == VENDORED_FIXED.read_bytes()
    assert [line for line in run.err_lines if line.startswith(("note:", "error:"))] == [
        f"note: {path}: {VENDORED_NOTE}"]


def test_vendored_fix_keeps_every_byte_outside_security_lines():
    before = VENDORED.read_text().splitlines(True)
    after = VENDORED_FIXED.read_text().splitlines(True)
    added = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), (tag, before[i1:i2], after[j1:j2])  # nothing removed or changed
        if tag == "insert":
            added += after[j1:j2]
    assert added and all(SECURITY_LINE.match(line) for line in added), added
    assert after.count("---\n") == before.count("---\n")
    assert [line for line in after if line.lstrip().startswith("#")] == \
        [line for line in before if line.lstrip().startswith("#")]


def test_vendored_fix_json_names_the_templates(podsec):
    run = podsec("fix", "-f", "-", "--stdin-filename", "deploy/calico.yaml", "-o", "json",
                 stdin=VENDORED.read_bytes())
    data = run.json
    assert data["notes"] == [{"source": "deploy/calico.yaml", "message": VENDORED_NOTE,
                              "templates": ["calico/templates/calico-kube-controllers.yaml",
                                            "calico/templates/calico-node.yaml"]}]
    assert {o["name"]: o["template"] for o in data["objects"]} == {
        "calico-node": "calico/templates/calico-node.yaml",
        "calico-kube-controllers": "calico/templates/calico-kube-controllers.yaml"}


def test_vendored_fix_in_parallel_parts_gives_the_same_bytes_and_note(podsec, monkeypatch):
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", "1000")
    if default_jobs() < 2:
        pytest.skip("one core: no parallel path")
    run = podsec("fix", "-f", "-", stdin=VENDORED.read_bytes())
    assert run.out == VENDORED_FIXED.read_text()
    assert f"note: -: {VENDORED_NOTE}" in run.err_lines


# --- item 6: what the user wrote is never lost ---------------------------------------------

def fix_that_edits_meanwhile(monkeypatch, edit):
    """Run `edit(path)` while fix is busy: between reading the file and writing it."""
    from kubectl_podsec import fix

    original = fix.fix_source_parallel

    def busy(source, *args, **kwargs):
        result = original(source, *args, **kwargs)
        edit(source.path)
        return result

    monkeypatch.setattr(fix, "fix_source_parallel", busy)


@pytest.mark.parametrize("how", ["append", "same-size", "replace-file", "delete"])
def test_a_file_changed_while_fix_runs_is_not_written(podsec, tmp_path, monkeypatch, how):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)

    def edit(name):
        if how == "append":
            with open(name, "a") as handle:
                handle.write("# added by the user\n")
        elif how == "same-size":  # same size, and an mtime a coarse clock would not tell apart
            info = os.stat(name)
            Path(name).write_text(NEEDS_FIX.replace("web", "WEB"))
            os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns))
        elif how == "replace-file":  # an editor saving by rename
            Path(name + ".new").write_text(NEEDS_FIX + "# saved\n")
            os.replace(name + ".new", name)
        else:
            os.unlink(name)

    fix_that_edits_meanwhile(monkeypatch, edit)
    run = podsec("fix", "-f", path, "-o", "json")
    assert run.code == 2
    assert errors_of(run.err) == [f"error: {path}: changed while fix was running; not written"]
    assert sorted(os.listdir(tmp_path)) == ([] if how == "delete" else ["web.yaml"])  # no temporary file
    if how == "append":
        assert path.read_text() == NEEDS_FIX + "# added by the user\n"
    [obj] = run.json["objects"]
    assert obj["written"] is False and obj["writeError"] == "changed while fix was running; not written"
    assert obj["after"] == obj["before"] == "baseline"


def test_a_hard_linked_file_changed_while_fix_runs_is_not_written(podsec, tmp_path, monkeypatch):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    os.link(path, tmp_path / "other.yaml")
    fix_that_edits_meanwhile(monkeypatch, lambda name: open(name, "a").write("# mine\n"))
    run = podsec("fix", "-f", path)
    assert run.code == 2
    assert errors_of(run.err) == [f"error: {path}: changed while fix was running; not written"]
    assert (tmp_path / "other.yaml").read_text() == NEEDS_FIX + "# mine\n"


def fixed_text() -> str:
    from kubectl_podsec.fix import fix_source
    from kubectl_podsec.levels import Level, PolicyVersion
    from kubectl_podsec.sources import Source

    return fix_source(Source("x", None, NEEDS_FIX), Level.RESTRICTED, PolicyVersion(None), False).new_text


def test_hard_links_all_see_the_fixed_text(podsec, tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    os.chmod(path, 0o640)
    os.link(path, tmp_path / "also-web.yaml")
    inode = path.stat().st_ino
    run = podsec("fix", "-f", path)
    assert run.code == 1, run.err
    assert path.read_text() == (tmp_path / "also-web.yaml").read_text() == fixed_text()
    assert path.stat().st_ino == inode and path.stat().st_nlink == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["also-web.yaml", "web.yaml"]


def test_a_symlink_still_fixes_its_target(podsec, tmp_path):
    target = tmp_path / "shared.yaml"
    target.write_text(NEEDS_FIX)
    (tmp_path / "link.yaml").symlink_to(target)
    assert podsec("fix", "-f", tmp_path / "link.yaml").code == 1
    assert (tmp_path / "link.yaml").is_symlink() and target.read_text() == fixed_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_owner_and_group_are_kept(podsec, tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    os.chown(path, 1234, 5678)
    os.chmod(path, 0o664)
    assert podsec("fix", "-f", path).code == 1
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o664)
    assert path.read_text() == fixed_text()


def test_when_the_owner_cannot_be_kept_the_file_is_written_in_place(podsec, tmp_path, monkeypatch):
    """Not root, a file of someone else's we may write (group-writable): a rename would make
    it ours, so the new text goes into the existing file."""
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    inode = path.stat().st_ino
    real_stat = os.stat

    def someone_elses(name, *args, **kwargs):  # the original seems owned by another user
        info = real_stat(name, *args, **kwargs)
        if os.fspath(name) == str(path):
            return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, 4321, 4321) + tuple(info)[6:])
        return info

    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(writes.os, "stat", someone_elses)
    monkeypatch.setattr(writes.os, "chown", refuse)
    assert podsec("fix", "-f", path).code == 1
    assert path.read_text() == fixed_text() and path.stat().st_ino == inode
    assert os.listdir(tmp_path) == ["web.yaml"]


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
def test_a_read_only_file_is_not_replaced_even_by_root(podsec, tmp_path, mode):
    """The owner took every write bit away: not written, for root too (unlike `sed -i`)."""
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    os.chmod(path, mode)
    run = podsec("fix", "-f", path, "-o", "json")
    assert run.code == 2
    assert errors_of(run.err) == [f"error: {path}: the file is read-only; not written"]
    assert path.read_text() == NEEDS_FIX and stat.S_IMODE(path.stat().st_mode) == mode
    assert os.listdir(tmp_path) == ["web.yaml"]
    [obj] = run.json["objects"]
    assert obj["written"] is False and "fixed" not in run.err


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_a_file_the_user_may_not_write_is_not_replaced():
    """In a folder anyone may write to, a file of root's (0644) is not replaced for nobody,
    though the rename would succeed. The writer runs in a child that became nobody."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="podsec-shared-"))  # pytest's tmp_path is root's alone
    request_cleanup = shutil.rmtree
    os.chmod(folder, 0o777)
    path = folder / "web.yaml"
    path.write_text(NEEDS_FIX)
    os.chmod(path, 0o644)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.write(writer, repr(writes.write_atomically(str(path), "replaced\n")).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as handle:
        reason = handle.read().decode()
    os.waitpid(child, 0)
    try:
        assert reason == repr("the file is read-only; not written")
        assert path.read_text() == NEEDS_FIX and path.stat().st_uid == 0
        assert os.listdir(folder) == ["web.yaml"]
    finally:
        request_cleanup(folder)


def test_no_write_permission_is_refused_through_the_cli(podsec, tmp_path, monkeypatch):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    monkeypatch.setattr(writes.os, "access", lambda name, mode: False)
    run = podsec("fix", "-f", path)
    assert run.code == 2
    assert errors_of(run.err) == [f"error: {path}: the file is read-only; not written"]
    assert path.read_text() == NEEDS_FIX


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_is_not_reported_as_fixed(podsec, tmp_path, monkeypatch, failing):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writes.os, failing, disk_full)
    run = podsec("fix", "-f", path, "-o", "json")
    assert run.code == 2
    assert errors_of(run.err) == [f"error: {path}: cannot write: No space left on device; not written"]
    assert f"{path}:1:1: Deployment/web: not written (cannot write: No space left on device; not written): " \
           "would fix allowPrivilegeEscalation, capabilities_restricted, runAsNonRoot, seccompProfile_restricted" \
           in run.err_lines
    assert ": fixed " not in run.err and "needs a human" not in run.err  # one line says it all
    [obj] = run.json["objects"]
    assert obj["written"] is False and obj["after"] == "baseline"
    assert obj["writeError"] == "cannot write: No space left on device; not written"
    assert {r["check"] for r in obj["remaining"]} >= {"runAsNonRoot"}
    assert path.read_text() == NEEDS_FIX and os.listdir(tmp_path) == ["web.yaml"]


def test_a_failed_write_into_a_hard_linked_file_puts_the_old_text_back(tmp_path, monkeypatch):
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    os.link(path, tmp_path / "other.yaml")
    real_fsync, calls = os.fsync, []

    def fail_second(descriptor):  # the temporary copy is synced; the in-place write fails
        calls.append(descriptor)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real_fsync(descriptor)

    monkeypatch.setattr(writes.os, "fsync", fail_second)
    assert writes.write_atomically(str(path), "new text\n") == "cannot write: Input/output error; not written"
    assert path.read_text() == (tmp_path / "other.yaml").read_text() == NEEDS_FIX
    assert sorted(os.listdir(tmp_path)) == ["other.yaml", "web.yaml"]


def test_write_atomically_keeps_its_simple_form(tmp_path):
    """write_atomically(path, text, bom=False) stays callable as before (baseline files), and
    creates a missing file."""
    path = tmp_path / "new.json"
    assert writes.write_atomically(str(path), "{}\n") is None
    assert path.read_text() == "{}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~current_umask()
    assert writes.write_atomically(str(path), "x: 1\n", True) is None
    assert path.read_bytes() == b"\xef\xbb\xbfx: 1\n"
    assert writes.write_atomically(str(path), b"raw\n") is None and path.read_bytes() == b"raw\n"
    assert writes.write_atomically(str(tmp_path), "x") == "not a regular file; not written"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_writer_and_the_filter_use_source_encode(podsec, tmp_path, monkeypatch):
    """One method turns a source's text into bytes, for the file writer and the filter alike."""
    from kubectl_podsec.sources import Source

    monkeypatch.setattr(Source, "encode", lambda self, text: text.upper().encode())
    path = tmp_path / "web.yaml"
    path.write_text(NEEDS_FIX)
    podsec("fix", "-f", path)
    assert path.read_text() == fixed_text().upper()
    assert podsec("fix", "-f", "-", stdin=NEEDS_FIX.encode()).out == fixed_text().upper()


# --- item 7: processes and special files ---------------------------------------------------

# Enough work that the workers are busy for several seconds: a worker that outlives its
# parent is then still there to be seen.
BIG = 30000


def big_stream(count: int) -> bytes:
    return "---\n".join(workload("Deployment", f"web-{n}", ("baseline", "privileged")[n % 2])
                        for n in range(count)).encode()


def test_parallel_output_equals_sequential(podsec, monkeypatch):
    if default_jobs() < 2:
        pytest.skip("one core: no parallel path")
    data = big_stream(60) + b"---\n" + BROKEN + b"---\n" + big_stream(40)
    outputs = {}
    for threshold in ("1000", str(1 << 40)):
        monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", threshold)
        check = podsec("check", "-f", "-", "-o", "json", stdin=data)
        fix = podsec("fix", "-f", "-", "-o", "json", stdin=data)
        good = podsec("fix", "-f", "-", stdin=big_stream(100))
        outputs[threshold] = (check.code, check.out, fix.code, fix.out, fix.err, good.out, good.err)
    assert outputs["1000"] == outputs[str(1 << 40)]
    assert json.loads(outputs["1000"][1])["errors"][0]["document"] == 60


def the_parallel_path_is_used(monkeypatch) -> None:
    from kubectl_podsec import parallel, scan

    calls = []
    original = parallel.imap_parts
    monkeypatch.setattr(parallel, "imap_parts", lambda *args: calls.append(1) or original(*args))
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", "1000")
    scan.scan(["-"], scan.PolicyVersion(None), stdin=io.BytesIO(big_stream(20)), jobs=2)
    assert calls


def test_the_threshold_variable_reaches_the_parallel_path(monkeypatch):
    the_parallel_path_is_used(monkeypatch)


def _processes():
    """(pid, the fields of /proc/PID/stat after the name) of every process that is not a zombie."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                yield int(entry), fields


def children_of(pid: int) -> set:
    return {child for child, fields in _processes() if int(fields[1]) == pid}


def alive(pids: set) -> set:
    return {pid for pid, _ in _processes() if pid in pids}


def in_group(group: int) -> set:
    return {pid for pid, fields in _processes() if int(fields[3]) == group}


def _started_with_workers(tmp_path: Path, command: str) -> tuple:
    """(the process, its workers, the file): the CLI on a big stream in a session of its own,
    once two workers of it are busy."""
    if default_jobs() < 2:
        pytest.skip("one core: no parallel path")
    path = tmp_path / "big.yaml"
    path.write_bytes(big_stream(BIG))
    environment = dict(os.environ, KUBECTL_PODSEC_PARALLEL_BYTES="1000",
                       PYTHONPATH=str(DATA.parent.parent))
    process = subprocess.Popen([sys.executable, "-m", "kubectl_podsec", command, "-f", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    workers: set = set()
    while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
        workers |= children_of(process.pid)
        time.sleep(0.02)
    if len(workers) < 2:
        process.kill()
        process.wait()
        pytest.fail("the workers never started")
    time.sleep(0.3)  # let them get busy
    return process, workers, path


# `timeout` and a terminal's Ctrl-C signal the whole process group, the workers too: the
# group case once hung the parent for ever, waiting for a part that a dead worker held.
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("to_group", [False, True], ids=["parent", "group"])
@pytest.mark.parametrize("number, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_signal_ends_every_worker_without_a_traceback(tmp_path, number, code, command, to_group):
    process, workers, path = _started_with_workers(tmp_path, command)
    try:
        assert alive(workers), "the workers finished before the signal"
        process.send_signal(number)
        if to_group:  # as `timeout` does: the command, then its whole group
            os.killpg(process.pid, number)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code
    assert b"Traceback" not in err, err.decode()
    deadline = time.monotonic() + 2
    while (alive(workers) or in_group(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(workers) and not in_group(process.pid)
    if command == "fix":
        assert path.read_bytes() == big_stream(BIG)
        assert os.listdir(tmp_path) == ["big.yaml"]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_worker_killed_alone_is_an_error_not_a_hang(tmp_path, command):
    """The out-of-memory killer ends one worker, not the parent: the pool would replace it
    and never answer for its part. The run stops with one line, and fix writes nothing."""
    process, workers, path = _started_with_workers(tmp_path, command)
    try:
        victim = min(alive(workers), default=None)
        assert victim is not None, "the workers finished before the kill"
        os.kill(victim, signal.SIGKILL)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, err.decode()
    assert "error: a worker process ended abruptly (killed, or out of memory)" in err.decode()
    assert b"Traceback" not in err, err.decode()
    if command == "fix":
        assert path.read_bytes() == big_stream(BIG)
        assert os.listdir(tmp_path) == ["big.yaml"]


def feed_fifo(path: Path, data: bytes) -> threading.Thread:
    def write():
        with open(path, "wb") as handle:  # blocks until the reader opens it
            handle.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def run_bounded(argv: list, timeout: float = 30) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(DATA.parent.parent))
    return subprocess.run([sys.executable, "-m", "kubectl_podsec", *map(str, argv)], capture_output=True,
                          env=environment, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("command", ["check", "fix"])
def test_a_fifo_in_a_folder_is_skipped_with_a_note(tmp_path, command):
    folder = tmp_path / "deploy"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "web.yaml").write_text(pod("web", "restricted"))
    os.mkfifo(folder / "events.yaml")  # nobody ever writes: reading it would hang
    os.mkfifo(folder / "sub" / "pipe.yml")
    completed = run_bounded([command, "-R", "-f", folder])
    err = completed.stderr.decode()
    assert completed.returncode == 0, err
    assert f"note: {folder / 'events.yaml'}: not a regular file; skipped" in err.splitlines()
    assert f"note: {folder / 'sub' / 'pipe.yml'}: not a regular file; skipped" in err.splitlines()
    assert "error" not in err


def test_a_fifo_given_by_name_is_read(tmp_path):
    fifo = tmp_path / "rendered.yaml"
    os.mkfifo(fifo)
    feed_fifo(fifo, pod("web", "baseline").encode())
    completed = run_bounded(["check", "-f", fifo])
    assert completed.returncode == 1, completed.stderr
    assert "Pod/web" in completed.stdout.decode()


def test_process_substitution_is_read(tmp_path):
    """`kubectl podsec check -f <(helm template ...)`: a /dev/fd path, read like a file."""
    (tmp_path / "web.yaml").write_text(pod("web", "baseline"))
    environment = dict(os.environ, PYTHONPATH=str(DATA.parent.parent))
    completed = subprocess.run(["bash", "-c", f'"{sys.executable}" -m kubectl_podsec check -f <(cat web.yaml)'],
                               capture_output=True, cwd=tmp_path, env=environment, timeout=30)
    assert completed.returncode == 1, completed.stderr
    assert re.search(r"^/dev/fd/\d+:1:1: Pod/web", completed.stdout.decode(), re.MULTILINE)


def test_fix_of_a_fifo_given_by_name_writes_nothing_back(tmp_path):
    fifo = tmp_path / "rendered.yaml"
    os.mkfifo(fifo)
    feed_fifo(fifo, NEEDS_FIX.encode())
    completed = run_bounded(["fix", "-f", fifo])
    assert completed.returncode == 2
    assert f"error: {fifo}: not a regular file; not written" in completed.stderr.decode().splitlines()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["rendered.yaml"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_even_when_the_parent_is_killed_outright(tmp_path):
    """SIGKILL leaves the parent no chance to clean up: the workers end by themselves."""
    if default_jobs() < 2:
        pytest.skip("one core: no parallel path")
    path = tmp_path / "big.yaml"
    path.write_bytes(big_stream(BIG))
    environment = dict(os.environ, KUBECTL_PODSEC_PARALLEL_BYTES="1000", PYTHONPATH=str(DATA.parent.parent))
    process = subprocess.Popen([sys.executable, "-m", "kubectl_podsec", "check", "-f", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
                               start_new_session=True)
    try:
        deadline, workers = time.monotonic() + 60, set()
        while len(workers) < 2 and time.monotonic() < deadline and process.poll() is None:
            workers |= children_of(process.pid)
            time.sleep(0.02)
        assert len(workers) >= 2, "the workers never started"
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 2
        while alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(workers)
    finally:
        for pid in alive(workers):
            os.kill(pid, signal.SIGKILL)
