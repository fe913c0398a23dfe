"""Bad input (issue 2, "Bad input"): every case gets one line on stderr naming file:line:col and
what is wrong, an entry in `errors`, exit 2, no traceback, bounded time, and the other
documents and files are still checked and reported."""

import json
import os
import time

import pytest
from cli_helpers import (
    FakeStdin,
    cli_runner,
    pod,
    run_process,
    write,
)


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


TIME_LIMIT = 5.0  # seconds, for any one bad input

BEFORE, AFTER = pod("before"), pod("after")
# The bad document is document 1 and starts on this line, after BEFORE and a `---`.
START = len(BEFORE.splitlines()) + 2


def billion_laughs() -> str:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n"
    text += '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi"):
        text += f"  {name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    return text


def merge_bomb() -> str:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  x0: &a0 {privileged: true}\n"
    for level in range(1, 9):
        text += f"  x{level}: &a{level} {{<<: [" + ", ".join([f"*a{level - 1}"] * 6) + "]}\n"
    return text + "  containers:\n  - name: c\n    securityContext:\n      <<: *a8\n"


POD_HEAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n"
CONTAINER_SC = POD_HEAD + "  containers:\n  - name: c\n    image: c\n    securityContext:\n"

# (bad document, line within it (1-based), column): the position the error must name.
BAD_DOCUMENTS = {
    "malformed-mapping-value": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n", 4, 15),
    "malformed-tab-indent": ("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: broken\n", 4, 1),
    "malformed-bad-indent": ("apiVersion: v1\nkind: Pod\n metadata: x\n", 3, 10),
    # Unclosed collections and quotes are noticed at the next `---`.
    "malformed-unclosed-flow": ("apiVersion: v1\nkind: Pod\nmetadata: {name: broken\n", 4, 1),
    "malformed-unclosed-quote": ('apiVersion: v1\nkind: Pod\nmetadata:\n  name: "broken\n', 5, 1),
    "undefined-alias": ("apiVersion: v1\nkind: Pod\nmetadata: *nope\n", 3, 11),
    "document-is-a-list": ("- apiVersion: v1\n- kind: Pod\n", 1, 1),
    "document-is-a-scalar": ("just a string\n", 1, 1),
    "document-is-a-number": ("42\n", 1, 1),
    "no-kind": ("apiVersion: v1\nmetadata:\n  name: x\n", 1, 1),
    "no-apiVersion": ("kind: Pod\nmetadata:\n  name: x\n", 1, 1),
    "null-kind": ("apiVersion: v1\nkind:\nmetadata:\n  name: x\n", 1, 1),
    "kind-not-a-string": ("apiVersion: v1\nkind: 3\nmetadata: {name: x}\n", 2, 7),
    "alias-bomb": (billion_laughs(), 1, 1),
    "merge-key-bomb": (merge_bomb(), 1, 1),
    "recursive-alias-flow": ("apiVersion: v1\nkind: Pod\nmetadata: &m {name: x, self: *m}\n", 3, 11),
    "recursive-alias-block": ("apiVersion: v1\nkind: Pod\nmetadata: &m\n  labels: *m\n", 3, 11),
    "recursive-merge": ("apiVersion: v1\nkind: Pod\nmetadata: &m\n  <<: *m\n", 3, 11),
    "quoted-true-hostNetwork": (POD_HEAD + '  hostNetwork: "true"\n  containers: []\n', 5, 16),
    "quoted-yes-privileged": (CONTAINER_SC + '      privileged: "yes"\n', 9, 19),
    "quoted-number-runAsUser": (CONTAINER_SC + '      runAsUser: "0"\n', 9, 18),
    "drop-ALL-string": (CONTAINER_SC + "      capabilities:\n        drop: ALL\n", 10, 15),
    "containers-string": (POD_HEAD + "  containers: web\n", 5, 15),
    "securityContext-list": (POD_HEAD + "  securityContext: [runAsNonRoot]\n  containers: []\n", 5, 20),
    "duplicate-hostNetwork": (POD_HEAD + "  hostNetwork: false\n  containers: []\n  hostNetwork: true\n", 7, 3),
    "duplicate-kind": ("apiVersion: v1\nkind: Service\nkind: Pod\nmetadata: {name: x}\n", 3, 1),
    "items-not-a-list": ("apiVersion: v1\nkind: List\nitems: nope\n", 3, 8),
}


def _assert_one_error(run, source, line, column=None, document=None):
    """Exit 2, one line on stderr naming source:line:col, and one entry in `errors` that says
    the same. `column=None` accepts any column."""
    assert run.code == 2, run.err
    assert "Traceback" not in run.err
    assert len(run.err_lines) == 1, run.err
    (error,) = run.json["errors"]
    assert set(error) == {"source", "document", "line", "column", "message"}
    assert (error["source"], error["line"]) == (source, line), error
    assert isinstance(error["column"], int)
    if column is not None:
        assert error["column"] == column, error
    if document is not None:
        assert error["document"] == document, error
    assert f"{source}:{line}:{error['column']}: " in run.err_lines[0], run.err
    assert error["message"] and error["message"] in run.err_lines[0]
    return error


@pytest.mark.parametrize("bad, line, column", BAD_DOCUMENTS.values(), ids=BAD_DOCUMENTS.keys())
def test_bad_document_among_good_ones(podsec, tmp_path, bad, line, column):
    path = write(tmp_path, "stream.yaml", BEFORE + "---\n" + bad + "---\n" + AFTER)
    other = write(tmp_path, "other.yaml", pod("other", "baseline"))
    started = time.monotonic()
    run = podsec("check", path, other, "-o", "json")
    assert time.monotonic() - started < TIME_LIMIT
    _assert_one_error(run, path, START + line - 1, column, document=1)
    assert [(o["source"], o["document"], o["name"]) for o in run.json["objects"]] == [
        (path, 0, "before"), (path, 2, "after"), (other, 0, "other")]
    # The text report prints the same results and the same stderr line.
    text = podsec("check", path, other)
    assert text.code == 2 and text.err == run.err
    assert f"{path}:{START + len(bad.splitlines()) + 1}:1: Pod/after: highest=restricted" in text.out
    assert f"{other}:1:1: Pod/other: highest=baseline" in text.out


def test_several_bad_documents_each_reported(podsec, tmp_path):
    docs = [pod("a"), "x: [\n", "- 1\n", "", pod("e"), "kind: Pod\n", pod("g")]
    path = write(tmp_path, "many.yaml", "---\n".join(docs))
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert [(o["document"], o["name"]) for o in run.json["objects"]] == [(0, "a"), (4, "e"), (6, "g")]
    assert [e["document"] for e in run.json["errors"]] == [1, 2, 5]
    assert len(run.err_lines) == 3


@pytest.mark.parametrize("bad, line, column", [
    pytest.param("apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n", 4, 15, id="mapping-value"),
    pytest.param("apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n", 4, 1, id="unclosed-flow"),
    pytest.param('apiVersion: v1\nkind: Pod\nmetadata:\n  name: "broken\n', 5, 1, id="unclosed-quote"),
])
def test_bad_first_document(podsec, tmp_path, bad, line, column):
    path = write(tmp_path, "first.yaml", bad + "---\n" + pod("second") + "---\n" + pod("third"))
    run = podsec("check", path, "-o", "json")
    _assert_one_error(run, path, line, column, document=0)
    assert [(o["document"], o["name"]) for o in run.json["objects"]] == [(1, "second"), (2, "third")]


def test_bad_first_document_after_a_separator(podsec, tmp_path):
    bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n"
    path = write(tmp_path, "first.yaml", "---\n" + bad + "---\n" + pod("second") + "---\n" + pod("third"))
    run = podsec("check", path, "-o", "json")
    _assert_one_error(run, path, 5, 1, document=0)
    assert [(o["document"], o["name"]) for o in run.json["objects"]] == [(1, "second"), (2, "third")]


def test_bad_last_document(podsec, tmp_path):
    bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n"
    path = write(tmp_path, "last.yaml", pod("first") + "---\n" + pod("second") + "---\n" + bad)
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert [(o["document"], o["name"]) for o in run.json["objects"]] == [(0, "first"), (1, "second")]
    assert [e["document"] for e in run.json["errors"]] == [2]


def test_bad_item_in_a_list(podsec, tmp_path):
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {containers: []}\n"
            "- just a string\n"
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: c}\n  spec:\n    hostPID: 'true'\n"
            "- apiVersion: v1\n  kind: Pod\n  metadata: {name: d}\n  spec: {containers: []}\n")
    path = write(tmp_path, "list.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert [(o["item"], o["name"]) for o in run.json["objects"]] == [(0, "a"), (3, "d")]
    assert [(e["document"], e["line"], e["column"]) for e in run.json["errors"]] == [(0, 8, 3), (0, 13, 14)]
    assert len(run.err_lines) == 2


# --- whole files ------------------------------------------------------------------------------

BAD_FILES = {
    "nul-byte": (b"apiVersion: v1\nkind: Po\x00d\n", 2, 9),
    "binary": (bytes(range(256)) * 4, 1, 1),
    # UTF-16 is read only after a byte-order mark (test_encodings.py); without one it is binary.
    "utf16-without-bom": ("apiVersion: v1\nkind: Pod\n".encode("utf-16-le"), 1, 2),
    "latin1": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: café\n".encode("latin-1"), 4, 12),
    "invalid-utf8-after-bom": (b"\xef\xbb\xbfapiVersion: v1\nkind: \xff\n", 2, 7),
}


@pytest.mark.parametrize("content, line, column", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_unreadable_bytes(podsec, tmp_path, content, line, column):
    bad = write(tmp_path, "bad.yaml", content)
    good = write(tmp_path, "good.yaml", pod("good"))
    started = time.monotonic()
    run = podsec("check", bad, good, "-o", "json")
    assert time.monotonic() - started < TIME_LIMIT
    _assert_one_error(run, bad, line, column)
    assert [o["name"] for o in run.json["objects"]] == ["good"]


def test_bad_bytes_on_stdin(podsec, tmp_path):
    good = write(tmp_path, "good.yaml", pod("good"))
    run = podsec("check", "-f", "-", good, "-o", "json", stdin=FakeStdin(b"kind: Pod\nname: \x00\n"))
    _assert_one_error(run, "-", 2, 7)
    assert [o["name"] for o in run.json["objects"]] == ["good"]
    named = podsec("check", "-f", "-", "--stdin-filename", "in.yaml", "-o", "json",
                   stdin=FakeStdin(b"kind: Pod\nname: \x00\n"))
    _assert_one_error(named, "in.yaml", 2, 7)


def test_bad_file_in_a_directory(podsec, tmp_path):
    directory = tmp_path / "deploy"
    write(directory, "a.yaml", pod("a"))
    bad = write(directory, "b.yaml", "kind: Pod\nmetadata: [\n")
    write(directory, "c.yaml", pod("c"))
    run = podsec("check", directory, "-o", "json")
    assert run.code == 2
    assert run.json["errors"][0]["source"] == bad
    assert len(run.err_lines) == 1 and bad in run.err
    assert [o["name"] for o in run.json["objects"]] == ["a", "c"]


# --- paths ------------------------------------------------------------------------------------


def test_nonexistent_path(podsec, tmp_path):
    good = write(tmp_path, "good.yaml", pod("good"))
    missing = str(tmp_path / "missing.yaml")
    missing_dir = str(tmp_path / "no-such-dir")
    run = podsec("check", "-f", good, "-f", missing, "-f", missing_dir, "-o", "json")
    assert run.code == 2
    assert sorted(e["source"] for e in run.json["errors"]) == sorted([missing, missing_dir])
    assert len(run.err_lines) == 2
    assert any(missing in line for line in run.err_lines)
    assert any(missing_dir in line for line in run.err_lines)
    assert [o["name"] for o in run.json["objects"]] == ["good"]


ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.skipif(ROOT, reason="root reads files whatever their mode")
def test_unreadable_file(podsec, tmp_path):
    good = write(tmp_path, "good.yaml", pod("good"))
    locked = write(tmp_path, "locked.yaml", pod("locked"))
    os.chmod(locked, 0)
    try:
        run = podsec("check", "-f", locked, "-f", good, "-o", "json")
    finally:
        os.chmod(locked, 0o644)
    assert run.code == 2
    assert [e["source"] for e in run.json["errors"]] == [locked]
    assert len(run.err_lines) == 1 and locked in run.err
    assert [o["name"] for o in run.json["objects"]] == ["good"]


@pytest.mark.skipif(ROOT, reason="root lists directories whatever their mode")
def test_unreadable_directory(podsec, tmp_path):
    write(tmp_path, "tree/good.yaml", pod("good"))
    locked = tmp_path / "tree" / "locked"
    write(locked, "hidden.yaml", pod("hidden"))
    os.chmod(locked, 0)
    try:
        top = podsec("check", "-f", locked, "-o", "json")
        recursive = podsec("check", "-R", tmp_path / "tree", "-o", "json")
    finally:
        os.chmod(locked, 0o755)
    assert top.code == 2 and len(top.err_lines) == 1 and str(locked) in top.err
    assert recursive.code == 2
    assert [e["source"] for e in recursive.json["errors"]] == [str(locked)]
    assert [o["name"] for o in recursive.json["objects"]] == ["good"]


def test_path_under_a_file(podsec, tmp_path):
    # Unlike chmod 000, this is unreadable for root too (ENOTDIR).
    good = write(tmp_path, "good.yaml", pod("good"))
    impossible = os.path.join(good, "child.yaml")
    run = podsec("check", "-f", impossible, "-f", good, "-o", "json")
    assert run.code == 2
    assert [e["source"] for e in run.json["errors"]] == [impossible]
    assert len(run.err_lines) == 1 and impossible in run.err


def test_symlink_loops_under_recursive(podsec, tmp_path):
    tree = tmp_path / "tree"
    write(tree, "a.yaml", pod("a"))
    write(tree, "sub/b.yaml", pod("b"))
    os.symlink("..", tree / "sub" / "up")  # sub/up -> tree
    os.symlink(".", tree / "self")  # self -> tree
    started = time.monotonic()
    run = podsec("check", "-R", tree, "-o", "json")
    assert time.monotonic() - started < TIME_LIMIT
    assert run.code == 2
    assert sorted(o["name"] for o in run.json["objects"]) == ["a", "b"]  # each file once
    sources = sorted(e["source"] for e in run.json["errors"])
    assert sources == sorted([str(tree / "self"), str(tree / "sub" / "up")])
    assert len(run.err_lines) == 2
    for source in sources:
        assert any(source in line for line in run.err_lines)
    # Without -R subdirectories (and so the loops) are not entered.
    flat = podsec("check", tree, "-o", "json")
    assert flat.code == 0, flat.err
    assert [o["name"] for o in flat.json["objects"]] == ["a"]


def test_symlinked_files_that_loop_or_dangle(podsec, tmp_path):
    tree = tmp_path / "tree"
    write(tree, "a.yaml", pod("a"))
    os.symlink("loop.yaml", tree / "loop.yaml")
    os.symlink("nowhere.yaml", tree / "dangling.yaml")
    run = podsec("check", tree, "-o", "json")
    assert run.code == 2
    assert [o["name"] for o in run.json["objects"]] == ["a"]
    assert sorted(e["source"] for e in run.json["errors"]) == [str(tree / "dangling.yaml"), str(tree / "loop.yaml")]
    assert len(run.err_lines) == 2
    direct = podsec("check", "-f", tree / "loop.yaml", "-o", "json")
    assert direct.code == 2 and len(direct.err_lines) == 1 and str(tree / "loop.yaml") in direct.err


# --- nesting, in a separate process (a crash would take pytest down with it) ------------------

# Past 1,000 levels a document is refused: libyaml 0.2.6 refuses it itself (PyYAML wheels
# bundle it from 6.0.2), and the engine's own guard does the same with older libyaml or the
# pure-Python parser. Either way the error names the line and the nesting depth.
DEEP = {
    "flow-sequences": "[" * 100_000,
    "flow-mappings": "{a: " * 100_000,
    "block-sequences": "- " * 100_000 + "x\n",
}


@pytest.mark.parametrize("content", DEEP.values(), ids=DEEP.keys())
def test_deep_nesting_other_files(tmp_path, content):
    bad = write(tmp_path, "deep.yaml", content)
    good = write(tmp_path, "good.yaml", pod("good"))
    started = time.monotonic()
    done = run_process("check", bad, good, "-o", "json", timeout=60)
    assert time.monotonic() - started < TIME_LIMIT
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and f"{bad}:1:" in lines[0] and "depth" in lines[0], stderr
    data = json.loads(done.stdout)
    assert [o["name"] for o in data["objects"]] == ["good"]
    assert [(e["source"], e["line"]) for e in data["errors"]] == [(bad, 1)]


def test_deep_nesting_other_documents(tmp_path):
    bad = write(tmp_path, "deep.yaml", pod("before") + "---\n" + "[" * 100_000 + "\n---\n" + pod("after"))
    started = time.monotonic()
    done = run_process("check", bad, "-o", "json", timeout=60)
    assert time.monotonic() - started < TIME_LIMIT
    assert done.returncode == 2
    data = json.loads(done.stdout)
    assert [(e["document"], e["line"]) for e in data["errors"]] == [(1, START)]
    assert [(o["document"], o["name"]) for o in data["objects"]] == [(0, "before"), (2, "after")]


def test_nesting_below_the_limit_is_read(tmp_path):
    # 990 levels: deeper than anything real, but within the limit, so it is read without
    # crashing; the document is then a list, not an object.
    bad = write(tmp_path, "deep.yaml", "[" * 990 + "]" * 990 + "\n")
    labels = write(tmp_path, "labels.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: "
                   + "[" * 980 + "]" * 980 + "\n")
    done = run_process("check", bad, labels, "-o", "json", timeout=60)
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert len(stderr.splitlines()) == 2
    assert f"{bad}:1:1: " in stderr and f"{labels}:5:" in stderr
