"""Item 8 of issue 9: verdicts must not depend on how the tool was installed. The pip build
composes with libyaml, the krew zipapp with PyYAML's pure-Python parser; every tricky input
must give the same `check -o json`, the same errors (line:col and text) and the same `fix`
output under both, and never a traceback. Where the parsers (or kubectl) could disagree,
the expected answer is kubectl's own (`kubectl label --local -f FILE -o json`, offline)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from cli_helpers import FakeStdin, cli_runner, pod, run_process, write
from test_bad_input import BAD_DOCUMENTS, BAD_FILES, DEEP, billion_laughs, merge_bomb

from kubectl_podsec.cli import main
from kubectl_podsec.sources import parsers

PARSERS = ["libyaml", "pure"]
if parsers.CComposer is None:  # pragma: no cover - PyYAML without libyaml
    pytest.skip("this PyYAML has no libyaml binding", allow_module_level=True)


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def filter_run():
    """`fix -f -` as an editor runs it, under one parser: (exit code, stdout bytes, stderr).
    Bytes, not capsys's text: on an error the filter gives back its input, binary or not."""
    def run(parser: str, content: bytes):
        stdout, stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline=""), io.StringIO()
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = FakeStdin(content), stdout, stderr
        parsers.use_parser(parser == "pure")
        try:
            code = main(["fix", "-f", "-"])
        finally:
            parsers.use_parser(False)
            stdout.flush()
            sys.stdin, sys.stdout, sys.stderr = saved
        assert "Traceback" not in stderr.getvalue(), stderr.getvalue()
        return code, stdout.buffer.getvalue(), stderr.getvalue()

    return run


def under(parser: str, podsec, *argv, stdin=None):
    parsers.use_parser(parser == "pure")
    try:
        return podsec(*argv, stdin=stdin)
    finally:
        parsers.use_parser(False)


TAB_JSON = '{\n\t"apiVersion": "v1",\n\t"kind": "Pod",\n\t"metadata": {"name": "tabs"},\n\t"spec": {\n\t\t"hostNetwork": true,\n\t\t"containers": [{"name": "c", "image": "c"}]\n\t}\n}\n'
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: NAME\nspec:\n  containers:\n  - name: c\n    image: c\n"
# Inputs on which the two parsers disagreed, and neighbours of them.
TRICKY = {
    "tab-indented-json": TAB_JSON,
    "tab-json-after-yaml": pod("first") + "---\n" + TAB_JSON,
    "tab-after-colon": POD.replace("name: NAME", "name:\ttabbed").replace("image: c", "image:\tc"),
    "tab-before-comment-and-trailing": POD.replace("name: NAME", "name: x\t# tab\t").replace("image: c", "image: c\t"),
    "tab-in-plain-scalar": POD.replace("image: c", "image: c\tx"),
    "tab-indent": POD.replace("  containers:", "\tcontainers:"),
    "tab-after-dash": POD.replace("  - name: c", "  -\tname: c"),
    "tab-line-in-plain-scalar": POD.replace("image: c", "image: c\n\tx"),
    "tab-in-flow": POD.replace("name: NAME", "name: x\n  labels: {a:\tb\t,\tc:\td\t}"),
    "tab-after-tag": POD.replace("name: NAME", "name: !!str\tx"),
    "tab-in-block-scalar": POD.replace("name: NAME", "name: x\n  annotations:\n    a: |\n      x\n\ty"),
    "tab-indents-block-scalar": POD.replace("name: NAME", "name: x\n  annotations:\n    a: |\n\tx"),
    "unknown-directive": "%FOO bar\n---\n" + pod("d"),
    "json-surrogate-pair": '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p\\ud83d\\ude00"}, '
                           '"spec": {"containers": [{"name": "c", "image": "c"}]}}\n',
    "json-lone-surrogate": '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p\\ud800", '
                           '"labels": {"a": "\\udc00\\\\ud800"}}, "spec": {"containers": [{"name": "c"}]}}\n',
    "yaml-surrogate-pair": POD.replace("name: NAME", 'name: "p\\ud83d\\ude00"'),
    "yaml-lone-surrogate": POD.replace("name: NAME", 'name: "p\\ud800"'),
    "yaml-beyond-unicode": POD.replace("name: NAME", 'name: "p\\U00110000"'),
    "yaml-astral-escape": POD.replace("name: NAME", 'name: "p\\U0001F600"'),
    "unknown-escape": POD.replace("name: NAME", 'name: "p\\q"'),
    "short-hex-escape": POD.replace("name: NAME", 'name: "p\\u12g4"'),
    "control-character": POD.replace("name: NAME", "name: p\x01q"),
    "control-character-in-comment": POD + "# \x7f\n",
    "bom-inside": pod("a") + "---\n\ufeff" + pod("b"),
    "mapping-values": POD.replace("name: NAME", "name: a: b"),
    "block-mapping-key": POD + " x: y\n",
    "block-sequence-indicator": "- a\n- b\nc\n",
    "flow-unclosed": POD.replace("name: NAME", "name: {a: b"),
    "flow-bad-entry": POD.replace("name: NAME", "name: [a b: c}"),
    "document-start": pod("a") + "... x\n",
    "undefined-alias": POD.replace("name: NAME", "name: *x"),
    "duplicate-anchor": POD.replace("name: NAME", "name: &x a\n  labels: &x {}"),
    "bad-anchor": POD.replace("name: NAME", "name: &\n"),
    "node-content": POD.replace("name: NAME", "name: ]"),
    "block-scalar-header": POD.replace("name: NAME", "name: |x\n    a"),
    "block-scalar-zero": POD.replace("name: NAME", "name: |0\n    a"),
    "document-separator-in-quotes": POD.replace("name: NAME", 'name: "a\n---\nb"'),
    "merge-keys": "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  base: &b {hostNetwork: true}\n"
                  "  <<: *b\n  containers: [{name: c, image: c}]\n",
    "crlf": pod("crlf", "baseline").replace("\n", "\r\n"),
    "alias-bomb": billion_laughs(),
    "merge-bomb": merge_bomb(),
    **{f"deep-{name}": text for name, text in DEEP.items()},
    **{f"bad-{name}": pod("before") + "---\n" + text + "---\n" + pod("after")
       for name, (text, _, _) in BAD_DOCUMENTS.items()},
}
TRICKY_BYTES = {
    **{f"file-{name}": content for name, (content, _, _) in BAD_FILES.items()},
    "bom": b"\xef\xbb\xbf" + pod("bom", "baseline").encode(),
    "binary": bytes(range(256)),
}
CORPUS = {**{name: text.encode("utf-8", "surrogatepass") for name, text in TRICKY.items()}, **TRICKY_BYTES}


@pytest.mark.parametrize("content", CORPUS.values(), ids=CORPUS.keys())
def test_check_and_fix_agree(podsec, filter_run, tmp_path, content):
    path = write(tmp_path, "in.yaml", content)
    good = write(tmp_path, "good.yaml", pod("good", "privileged"))
    check = {p: under(p, podsec, "check", path, good, "-o", "json") for p in PARSERS}
    assert check["libyaml"] == check["pure"]
    assert check["pure"].code in (0, 1, 2)
    assert any(o["name"] == "good" for o in check["pure"].json["objects"])  # the rest is still read
    dry = {p: under(p, podsec, "fix", "--dry-run", path) for p in PARSERS}
    assert dry["libyaml"] == dry["pure"]
    filtered = {p: filter_run(p, content) for p in PARSERS}
    assert filtered["libyaml"] == filtered["pure"]
    code, out, _ = filtered["pure"]
    if code == 2:  # an editor's buffer survives: the input comes back as it was
        assert out == content


def _one_error(run):
    assert run.code == 2 and len(run.json["errors"]) == 1, run.err
    error = run.json["errors"][0]
    return error["line"], error["column"], error["message"]


@pytest.mark.parametrize("parser", PARSERS)
def test_what_kubectl_accepts_is_read(podsec, tmp_path, parser):
    """kubectl reads a stream starting with `{` as JSON (tabs are whitespace, a surrogate
    pair is one character, a lone surrogate becomes U+FFFD) and YAML with go-yaml (a tab
    may follow `:`)."""
    tabs = under(parser, podsec, "check", write(tmp_path, "t.json", TRICKY["tab-indented-json"]), "-o", "json")
    assert tabs.code == 1 and tabs.json["objects"][0]["highest"] == "privileged"
    colon = under(parser, podsec, "check", write(tmp_path, "c.yaml", TRICKY["tab-after-colon"]), "-o", "json")
    assert colon.code == 1 and colon.json["objects"][0]["name"] == "tabbed"
    pair = under(parser, podsec, "check", write(tmp_path, "p.json", TRICKY["json-surrogate-pair"]), "-o", "json")
    assert pair.json["objects"][0]["name"] == "p\U0001F600"
    lone = under(parser, podsec, "check", write(tmp_path, "l.json", TRICKY["json-lone-surrogate"]), "-o", "json")
    assert lone.json["objects"][0]["name"] == "p\ufffd"
    # The fixed file keeps the escapes as written.
    path = write(tmp_path, "fix.json", TRICKY["json-surrogate-pair"])
    assert under(parser, podsec, "fix", path).code == 1
    fixed = open(path, encoding="utf-8").read()
    assert '"p\\ud83d\\ude00"' in fixed and '"allowPrivilegeEscalation": false' in fixed


@pytest.mark.parametrize("parser", PARSERS)
def test_what_kubectl_refuses_is_an_error(podsec, tmp_path, parser):
    for case, line, column in (("yaml-lone-surrogate", 4, 13), ("yaml-surrogate-pair", 4, 13),
                               ("yaml-beyond-unicode", 4, 13)):
        run = under(parser, podsec, "check", write(tmp_path, f"{case}.yaml", TRICKY[case]), "-o", "json")
        assert _one_error(run) == (line, column, "invalid YAML: while parsing a quoted scalar: "
                                                 "found invalid Unicode character escape code")
    run = under(parser, podsec, "check", write(tmp_path, "ctl.yaml", TRICKY["control-character"]), "-o", "json")
    assert _one_error(run) == (4, 10, "invalid YAML: found unacceptable character #x0001: "
                                      "control characters are not allowed")


def _kubectl_reads(kubectl, path) -> bool:
    done = subprocess.run([kubectl, "label", "--local", "-f", path, "podsec=probe", "-o", "json"],
                          capture_output=True, timeout=60, check=False)
    return done.returncode == 0


KUBECTL_CASES = ["tab-indented-json", "tab-json-after-yaml", "tab-after-colon", "tab-before-comment-and-trailing",
                 "tab-indent", "json-surrogate-pair", "json-lone-surrogate", "yaml-surrogate-pair",
                 "yaml-lone-surrogate", "yaml-beyond-unicode", "yaml-astral-escape", "unknown-escape"]


@pytest.mark.parametrize("case", KUBECTL_CASES)
def test_accepts_what_kubectl_accepts(podsec, tmp_path, kubectl, case):
    path = write(tmp_path, "in.yaml", TRICKY[case])
    for parser in PARSERS:
        ours = under(parser, podsec, "check", path, "-o", "json")
        assert (not ours.json["errors"]) == _kubectl_reads(kubectl, path), (parser, ours.err)


def test_environment_variable_selects_the_pure_parser(tmp_path):
    """KUBECTL_PODSEC_PURE_YAML=1 runs the krew build's parser; a lone surrogate, which
    crashed it, is a one-line error there too."""
    path = write(tmp_path, "lone.yaml", TRICKY["yaml-lone-surrogate"])
    probe = "from kubectl_podsec.sources import parsers; print(parsers.pure_parser())"
    for value, expected in (("1", "True"), ("", "False")):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env={**os.environ, "KUBECTL_PODSEC_PURE_YAML": value}, check=False)
        assert done.stdout.strip() == expected, done.stderr
    environment = {**os.environ, "KUBECTL_PODSEC_PURE_YAML": "1"}
    done = run_process("check", path, "-o", "json", env=environment)
    assert done.returncode == 2 and b"Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1 and f"{path}:4:13: ".encode() in done.stderr
    assert json.loads(done.stdout)["errors"][0]["line"] == 4


@pytest.mark.parametrize("parser", PARSERS)
def test_an_error_at_the_end_of_input_without_a_newline_is_on_the_last_line(podsec, parser):
    """Found by using the tool: libyaml said 2:1, a line the file does not have; the pure
    parser said 1:105."""
    data = b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"x"}]}'
    run = under(parser, podsec, "check", "-f", "-", "-o", "json", stdin=FakeStdin(data))
    assert run.code == 2
    [error] = run.json["errors"]
    assert (error["line"], error["column"]) == (1, len(data) + 1)
