"""`kubectl podsec fix` through `cli.main` (issue 3, "Command"): in place, --dry-run, the
stdin/stdout filter, -o json, exit codes, and the bad inputs of issue 2, which must leave
every file byte-identical, exit 2 and never show a traceback; stdout stays empty, except in
the filter, which gives its input back unchanged (issue 9, item 4).

Byte-exact output for every style is in test_fix_golden.py; here the golden inputs are
reused to check that every --dry-run diff applies with `git apply` and gives the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubectl_podsec.checks import BY_ID
from kubectl_podsec.cli import main

GOLDEN = Path(__file__).resolve().parent / "fix"

NEEDS_FIX = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web  # the shop front
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx
"""
FIXED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web  # the shop front
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop:
                - ALL
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
"""
COMPLIANT = FIXED
# Compliant except for a hostPath volume, which no fix touches: nothing to change, exit 1.
HOST_PATH = FIXED + """\
      volumes:
        - name: logs
          hostPath:
            path: /var/log
"""
PRIVILEGED = """\
apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
        capabilities:
          drop: [ALL]
"""


class FakeStdin:
    def __init__(self, data: bytes = b"", tty: bool = False):
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@dataclass
class Run:
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8")

    @property
    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def fix(capsysbinary, monkeypatch):
    """fix(*argv, stdin=b"...") -> Run: `kubectl podsec fix ARGV` through cli.main."""
    monkeypatch.delenv("NO_COLOR", raising=False)

    def run(*argv, stdin=None) -> Run:
        monkeypatch.setattr(sys, "stdin", stdin if isinstance(stdin, FakeStdin) else FakeStdin(stdin or b""))
        code = main(["fix", *map(str, argv)])
        out, err = capsysbinary.readouterr()
        err = err.decode("utf-8", "replace")
        assert "Traceback" not in err, err
        return Run(code, out, err)

    return run


def write(path: Path, content, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    os.chmod(path, mode)
    return path


def snapshot(directory: Path) -> dict:
    """Every file under `directory`: relative name -> (bytes, mode, mtime_ns)."""
    out = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            info = path.stat()
            out[str(path.relative_to(directory))] = (path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_mtime_ns)
    return out


def git_repo(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    return directory


def git_apply(repo: Path, diff: bytes, check_only: bool = False) -> subprocess.CompletedProcess:
    argv = ["git", "apply", "--check"] if check_only else ["git", "apply"]
    return subprocess.run(argv, cwd=repo, input=diff, capture_output=True, check=False)


# --- in place ---------------------------------------------------------------------------------


def test_in_place_rewrites_the_file_and_keeps_its_mode(fix, tmp_path):
    path = write(tmp_path / "web.yaml", NEEDS_FIX, mode=0o640)
    run = fix("-f", path)
    assert run.code == 1, run.err
    assert run.out == b""
    assert path.read_text() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["web.yaml"]  # no temporary file left beside it
    assert "Deployment/web: fixed" in run.err


def test_in_place_odd_mode_and_positional_path(fix, tmp_path):
    path = write(tmp_path / "web.yaml", NEEDS_FIX, mode=0o751)
    run = fix(path)
    assert run.code == 1, run.err
    assert path.read_text() == FIXED
    assert stat.S_IMODE(path.stat().st_mode) == 0o751


def test_in_place_compliant_file_is_not_rewritten(fix, tmp_path):
    path = write(tmp_path / "ok.yaml", COMPLIANT)
    before = snapshot(tmp_path)
    run = fix("-f", path)
    assert run.code == 0, run.err
    assert run.out == b""
    assert snapshot(tmp_path) == before  # same bytes, and not even rewritten (mtime)


def test_in_place_directory_recursive(fix, tmp_path):
    write(tmp_path / "deploy" / "a.yaml", NEEDS_FIX)
    write(tmp_path / "deploy" / "ok.yml", COMPLIANT)
    write(tmp_path / "deploy" / "sub" / "b.json", json.dumps(yaml.safe_load(NEEDS_FIX), indent=2) + "\n")
    write(tmp_path / "deploy" / "notes.txt", NEEDS_FIX)  # not a manifest suffix: never read
    before = snapshot(tmp_path)
    run = fix("-R", "-f", tmp_path / "deploy")
    assert run.code == 1, run.err
    after = snapshot(tmp_path)
    assert after["deploy/a.yaml"][0].decode() == FIXED
    assert after["deploy/ok.yml"] == before["deploy/ok.yml"]
    assert after["deploy/notes.txt"] == before["deploy/notes.txt"]
    fixed_json = after["deploy/sub/b.json"][0].decode()
    json.loads(fixed_json)  # still JSON
    assert yaml.safe_load(fixed_json) == yaml.safe_load(FIXED)
    assert sorted(after) == sorted(before)  # no temporary files anywhere


def test_in_place_keeps_bom_and_crlf(fix, tmp_path):
    path = write(tmp_path / "w.yaml", "\ufeff" + NEEDS_FIX.replace("\n", "\r\n"))
    assert fix("-f", path).code == 1
    assert path.read_bytes() == ("\ufeff" + FIXED.replace("\n", "\r\n")).encode()


def test_failed_write_leaves_the_file_and_no_temporary(fix, tmp_path, monkeypatch):
    path = write(tmp_path / "web.yaml", NEEDS_FIX)

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kubectl_podsec.writes.os.replace", refuse)
    run = fix("-f", path)
    assert run.code == 2
    assert "No space left on device" in run.err
    assert path.read_text() == NEEDS_FIX
    assert sorted(os.listdir(tmp_path)) == ["web.yaml"]


def test_in_place_through_a_symlink_fixes_the_target(fix, tmp_path):
    target = write(tmp_path / "shared" / "web.yaml", NEEDS_FIX)
    link = tmp_path / "app" / "web.yaml"
    link.parent.mkdir()
    link.symlink_to(target)
    assert fix("-f", link).code == 1
    assert link.is_symlink()
    assert target.read_text() == FIXED


# --- --dry-run --------------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_prints_a_git_diff(fix, tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "repo")
    write(repo / "deploy" / "web.yaml", NEEDS_FIX)
    monkeypatch.chdir(repo)
    before = snapshot(repo)
    run = fix("--dry-run", "-f", "deploy/web.yaml")
    assert run.code == 1, run.err
    assert snapshot(repo) == before
    assert run.text.startswith("diff --git a/deploy/web.yaml b/deploy/web.yaml\n"
                               "--- a/deploy/web.yaml\n+++ b/deploy/web.yaml\n@@ ")
    assert "\x1b[" not in run.text  # piped: no colour
    assert git_apply(repo, run.out, check_only=True).returncode == 0
    assert git_apply(repo, run.out).returncode == 0
    assert (repo / "deploy" / "web.yaml").read_text() == FIXED


def test_dry_run_absolute_path_and_several_files(fix, tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "repo")
    a = write(repo / "a.yaml", NEEDS_FIX)
    write(repo / "ok.yaml", COMPLIANT)
    b = write(repo / "b.yaml", NEEDS_FIX.replace("name: web", "name: other"))
    monkeypatch.chdir(repo)
    run = fix("--dry-run", "-f", f"{a},{repo / 'ok.yaml'}", "-f", b)
    assert run.code == 1, run.err
    assert run.text.count("diff --git ") == 2
    assert "diff --git a/a.yaml b/a.yaml" in run.text and "diff --git a/b.yaml b/b.yaml" in run.text
    assert git_apply(repo, run.out).returncode == 0
    assert a.read_text() == FIXED


def test_dry_run_compliant_prints_nothing_exit_0(fix, tmp_path):
    path = write(tmp_path / "ok.yaml", COMPLIANT)
    run = fix("--dry-run", "-f", path)
    assert (run.code, run.out) == (0, b"")


def golden_cases_with_changes():
    params = []
    for folder in sorted(p for p in GOLDEN.iterdir() if p.is_dir()):
        expected = list(folder.glob("expected.*"))
        if not expected or (folder / "xfail").exists():
            continue
        params.append(pytest.param(folder, id=folder.name))
    return params


@pytest.mark.parametrize("folder", golden_cases_with_changes())
def test_dry_run_diff_applies_for_every_golden_style(fix, tmp_path, monkeypatch, folder):
    source = next(folder.glob("input.*"))
    expected = next(folder.glob("expected.*")).read_bytes()
    args = (folder / "args").read_text().split() if (folder / "args").exists() else []
    repo = git_repo(tmp_path / "repo")
    name = "manifest" + source.suffix
    shutil.copyfile(source, repo / name)
    monkeypatch.chdir(repo)
    run = fix("--dry-run", *args, "-f", name)
    assert run.code == 1, run.err
    assert (repo / name).read_bytes() == source.read_bytes()
    applied = git_apply(repo, run.out)
    assert applied.returncode == 0, applied.stderr.decode() + run.text
    assert (repo / name).read_bytes() == expected


@pytest.mark.parametrize("content", [
    ('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, '
     '"spec": {"containers": [{"name": "a", "image": "x"}]}}\n'),
    "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: x}]}\n",
], ids=["json-one-line", "yaml-short"])
def test_dry_run_diff_applies_with_a_bom_on_the_first_line(fix, tmp_path, monkeypatch, content):
    repo = git_repo(tmp_path / "repo")
    write(repo / "m.yaml", "\ufeff" + content)
    monkeypatch.chdir(repo)
    run = fix("--dry-run", "-f", "m.yaml")
    assert run.code == 1, run.err
    applied = git_apply(repo, run.out)
    assert applied.returncode == 0, applied.stderr.decode()
    assert (repo / "m.yaml").read_bytes().startswith(b"\xef\xbb\xbf")


class TtyStdout(io.TextIOWrapper):
    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8")

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("no_color", [False, True])
def test_dry_run_colour_on_a_terminal_unless_no_color(tmp_path, monkeypatch, no_color):
    path = write(tmp_path / "web.yaml", NEEDS_FIX)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = TtyStdout()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert main(["fix", "--dry-run", "-f", str(path)]) == 1
    terminal.flush()
    shown = terminal.buffer.getvalue().decode()
    assert "diff --git" in shown
    assert ("\x1b[" in shown) is not no_color
    assert path.read_text() == NEEDS_FIX


# --- stdin / stdout filter -----------------------------------------------------------------------


def test_filter_prints_only_the_fixed_yaml(fix):
    run = fix("-f", "-", stdin=NEEDS_FIX.encode())
    assert run.code == 1
    assert run.text == FIXED
    assert "Deployment/web: fixed" in run.err  # the summary goes to stderr, never stdout


def test_filter_returns_unchanged_input_byte_for_byte(fix):
    data = ("\ufeff" + COMPLIANT.replace("\n", "\r\n")).encode()
    run = fix("-f", "-", stdin=data)
    assert (run.code, run.out) == (0, data)


def test_filter_unchanged_but_failing_input_is_echoed_exit_1(fix):
    run = fix("-f", "-", stdin=HOST_PATH.encode())
    assert (run.code, run.out) == (1, HOST_PATH.encode())
    assert "needs a human: hostPathVolumes" in run.err


def test_filter_with_dry_run_prints_the_diff(fix):
    run = fix("--dry-run", "-f", "-", stdin=NEEDS_FIX.encode())
    assert run.code == 1
    assert run.text.startswith("diff --git a/- b/-\n")
    assert "+          securityContext:\n" in run.text


@pytest.mark.parametrize("data", [
    b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n",
    NEEDS_FIX.encode() + b"---\napiVersion: v1\nkind: Pod\nmetadata: {name: x\n",
    NEEDS_FIX.encode() + b"---\n\x00\x01binary",
    NEEDS_FIX.encode() + b"---\nmetadata:\n  name: \xff\xfe\n",
], ids=["malformed", "second-document-malformed", "binary", "not-utf8"])
def test_filter_parse_error_echoes_the_input_exit_2(fix, data):
    """An editor replaces its buffer with what the filter prints: on an error, the input."""
    run = fix("-f", "-", stdin=data)
    assert run.code == 2
    assert run.out == data
    assert "error: " in run.err


def test_filter_refuses_a_terminal(fix):
    class Terminal(FakeStdin):
        def __init__(self):
            super().__init__(tty=True)
            self.buffer = self

        def read(self, *args):
            raise AssertionError("read from an interactive terminal")

    run = fix("-f", "-", stdin=Terminal())
    assert run.code == 2
    assert run.out == b""


# --- -o json ---------------------------------------------------------------------------------------


def test_json_lists_every_edit_and_what_remains(fix):
    run = fix("-o", "json", "-f", "-", stdin=HOST_PATH.replace("runAsNonRoot: true\n        ", "").encode())
    assert run.code == 1, run.err
    data = run.json
    assert data["level"] == "restricted" and data["errors"] == []
    [obj] = data["objects"]
    assert (obj["kind"], obj["name"], obj["source"]) == ("Deployment", "web", "-")
    assert obj["edits"] == [{"check": "runAsNonRoot", "op": "set",
                             "path": "spec.template.spec.securityContext.runAsNonRoot",
                             "old": None, "new": True, "safe": True,
                             "risk": BY_ID["runAsNonRoot"].fix_risk}]
    remaining = {r["check"]: r for r in obj["remaining"]}
    assert {"hostPathVolumes", "restrictedVolumes"} <= set(remaining)
    assert all(r["why"] and r["reason"] for r in obj["remaining"])


def test_json_edits_of_safe_fixes(fix):
    run = fix("-o", "json", "-f", "-", stdin=NEEDS_FIX.encode())
    assert run.code == 1
    [obj] = run.json["objects"]
    edits = {e["path"]: e for e in obj["edits"]}
    assert edits["spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"]["new"] is False
    assert edits["spec.template.spec.containers[0].securityContext.capabilities.drop"]["new"] == ["ALL"]
    assert edits["spec.template.spec.securityContext.runAsNonRoot"]["new"] is True
    assert edits["spec.template.spec.securityContext.seccompProfile.type"]["new"] == "RuntimeDefault"
    assert all(e["safe"] for e in obj["edits"])
    assert obj["remaining"] == []
    assert (obj["before"], obj["after"]) == ("baseline", "restricted")


def test_json_marks_unsafe_edits(fix):
    run = fix("--unsafe-fixes", "-o", "json", "-f", "-", stdin=PRIVILEGED.encode())
    [obj] = run.json["objects"]
    edits = {e["path"]: e for e in obj["edits"]}
    privileged = edits["spec.containers[0].securityContext.privileged"]
    assert (privileged["old"], privileged["new"], privileged["safe"]) == (True, False, False)
    assert edits["spec.containers[0].securityContext.allowPrivilegeEscalation"]["new"] is False
    assert obj["remaining"] == []


def test_json_without_unsafe_fixes_says_why(fix):
    run = fix("-o", "json", "-f", "-", stdin=PRIVILEGED.encode())
    [obj] = run.json["objects"]
    assert obj["edits"] == []
    whys = {r["check"]: r["why"] for r in obj["remaining"]}
    assert "--unsafe-fixes" in whys["privileged"]
    assert "allowPrivilegeEscalation" in whys  # cannot go with privileged: true (docs/psa-semantics.md 9.2)


def test_json_dry_run_writes_nothing(fix, tmp_path):
    path = write(tmp_path / "web.yaml", NEEDS_FIX)
    run = fix("--dry-run", "-o", "json", "-f", path)
    assert run.code == 1
    assert path.read_text() == NEEDS_FIX
    assert run.json["objects"][0]["edits"]


def test_json_in_place_agrees_with_what_was_written(fix, tmp_path):
    path = write(tmp_path / "web.yaml", NEEDS_FIX)
    run = fix("-o", "json", "-f", path)
    [obj] = run.json["objects"]
    assert obj["written"] == (path.read_text() != NEEDS_FIX)
    assert path.read_text() == FIXED  # in place is the default; -o only chooses what is printed


def test_json_errors_for_bad_input(fix, tmp_path):
    path = write(tmp_path / "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n")
    run = fix("-o", "json", "-f", path)
    assert run.code == 2
    [error] = run.json["errors"]
    assert (error["source"], error["line"]) == (str(path), 4)


# --- exit codes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("content, args, code, code_after", [
    (COMPLIANT, [], 0, 0),
    (NEEDS_FIX, [], 1, 0),
    (HOST_PATH, [], 1, 1),  # nothing to change, a violation remains
    (NEEDS_FIX, ["--level", "baseline"], 0, 0),  # passes baseline already
    (PRIVILEGED, ["--level", "baseline"], 1, 1),  # fails baseline; only --unsafe-fixes would change it
    (PRIVILEGED, ["--level", "baseline", "--unsafe-fixes"], 1, 0),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n", [], 0, 0),  # nothing to check
    ("", [], 0, 0),  # an empty file is not an error
], ids=["compliant", "changed", "violation-remains", "baseline-passes", "baseline-needs-unsafe",
        "baseline-unsafe-changes", "no-workloads", "empty"])
def test_exit_codes(fix, tmp_path, content, args, code, code_after):
    path = write(tmp_path / "m.yaml", content)
    run = fix(*args, "-f", path)
    assert run.code == code, run.err
    assert (path.read_text() != content) == (code == 1 and code_after == 0)
    again = fix(*args, "-f", path)  # fixing what is left
    assert again.code == code_after, again.err


@pytest.mark.parametrize("argv", [
    [],  # nothing to fix
    ["--level", "privileged", "-f", "x.yaml"],  # fix cannot target privileged
    ["--level", "strict", "-f", "x.yaml"],
    ["--version", "1.30", "-f", "x.yaml"],
    ["--no-such-flag", "-f", "x.yaml"],
    ["-o", "sarif", "-f", "x.yaml"],
], ids=["no-input", "level-privileged", "level-unknown", "bad-version", "unknown-flag", "bad-output"])
def test_usage_errors_exit_2(fix, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "x.yaml", NEEDS_FIX)
    run = fix(*argv)
    assert run.code == 2
    assert run.out == b""
    assert path.read_text() == NEEDS_FIX


# --- bad input (issue 2, "Bad input") ---------------------------------------------------------------


def billion_laughs() -> str:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n"
    text += '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for previous, name in zip("abcdefgh", "bcdefghi"):
        text += f"  {name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
    return text


POD_HEAD = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n"
BAD_DOCUMENTS = {
    "malformed-mapping-value": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken: yes\n",
    "malformed-unclosed-flow": b"apiVersion: v1\nkind: Pod\nmetadata: {name: broken\n",
    "malformed-tab-indent": b"apiVersion: v1\nkind: Pod\nmetadata:\n\tname: broken\n",
    "not-a-mapping": b"- apiVersion: v1\n- kind: Pod\n",
    "no-kind": b"apiVersion: v1\nmetadata:\n  name: x\n",
    "containers-a-string": (POD_HEAD + "  containers: nginx\n").encode(),
    "privileged-quoted": (POD_HEAD + '  containers:\n  - name: c\n    image: c\n    securityContext:\n'
                                     '      privileged: "yes"\n').encode(),
    "drop-a-string": (POD_HEAD + "  containers:\n  - name: c\n    image: c\n    securityContext:\n"
                                 "      capabilities: {drop: ALL}\n").encode(),
    "duplicate-key": (POD_HEAD + "  hostNetwork: false\n  hostNetwork: true\n"
                                 "  containers:\n  - name: c\n    image: c\n").encode(),
    "alias-bomb": billion_laughs().encode(),
    "too-deep": (POD_HEAD + "  containers: " + "[" * 1200 + "]" * 1200 + "\n").encode(),
    "binary": b"apiVersion: v1\x00\x01\x02\x03kind: Pod\n",
    "not-utf8": b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xe9\n",
}


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
@pytest.mark.parametrize("mode", ["in-place", "dry-run", "stdin"])
def test_bad_input_alone(fix, tmp_path, name, mode):
    data = BAD_DOCUMENTS[name]
    path = write(tmp_path / "bad.yaml", data)
    if mode == "stdin":
        run = fix("-f", "-", stdin=data)
    else:
        run = fix(*(["--dry-run"] if mode == "dry-run" else []), "-f", path)
    assert run.code == 2, run.err
    assert run.out == (data if mode == "stdin" else b"")  # the filter gives its input back
    assert path.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert errors, run.err


@pytest.mark.parametrize("name", sorted(BAD_DOCUMENTS))
def test_file_with_one_bad_document_is_not_written(fix, tmp_path, name):
    """The good documents around a bad one need fixing, yet nothing is written."""
    data = NEEDS_FIX.encode() + b"---\n" + BAD_DOCUMENTS[name] + b"---\n" + PRIVILEGED.encode()
    path = write(tmp_path / "mixed.yaml", data)
    run = fix("--unsafe-fixes", "-f", path)
    assert run.code == 2, run.err
    assert run.out == b""
    assert path.read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["mixed.yaml"]


def test_bad_file_does_not_stop_the_others(fix, tmp_path):
    bad = write(tmp_path / "a-bad.yaml", BAD_DOCUMENTS["malformed-mapping-value"])
    good = write(tmp_path / "b-good.yaml", NEEDS_FIX)
    run = fix("-f", tmp_path)
    assert run.code == 2
    assert bad.read_bytes() == BAD_DOCUMENTS["malformed-mapping-value"]
    assert good.read_text() == FIXED


def test_missing_file(fix, tmp_path):
    run = fix("-f", tmp_path / "nope.yaml")
    assert run.code == 2
    assert run.out == b""
    assert "nope.yaml" in run.err and "no such file" in run.err.lower()
    assert os.listdir(tmp_path) == []


def test_summary_with_a_bad_document_does_not_claim_no_fix_applies(fix, tmp_path):
    data = NEEDS_FIX.encode() + b"---\n" + BAD_DOCUMENTS["malformed-mapping-value"]
    path = write(tmp_path / "mixed.yaml", data)
    run = fix("-f", path)
    assert run.code == 2
    assert "no automatic fix applies here" not in run.err, run.err
