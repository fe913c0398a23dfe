"""The editor core (kubectl_podsec/editor.py), without pygls: ranges, the quick fixes' text
edits against fix's own output, settings; and the CLI's `lsp` command without the extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_podsec import editor
from kubectl_podsec.cli import main
from kubectl_podsec.fix import fix_source
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.sources import Source, load

TESTS = Path(__file__).resolve().parent
FIX_INPUTS = sorted(TESTS.glob("fix/*/input.*")) + sorted((TESTS / "data" / "lsp").glob("*.yaml"))


def apply_edits(text: str, edits: list, encoding: str = "utf-16") -> str:
    """Apply (range, new text) edits as an editor does, positions in `encoding` units."""
    lines = text.splitlines(keepends=True) + [""]
    width = {"utf-16": 2, "utf-32": 4}

    def offset(line: int, character: int) -> int:
        before = sum(len(x) for x in lines[:line])
        if encoding == "utf-8":
            return before + len(lines[line].encode("utf-8")[:character].decode("utf-8"))
        codec = "utf-16-le" if encoding == "utf-16" else "utf-32-le"
        return before + len(lines[line].encode(codec)[:character * width[encoding]].decode(codec))

    spans = sorted((offset(r[0], r[1]), offset(r[2], r[3]), new) for r, new in edits)
    out, at = [], 0
    for start, end, new in spans:
        assert start >= at, "overlapping edits"
        out += [text[at:start], new]
        at = end
    return "".join(out) + text[at:]


@pytest.mark.parametrize("path", FIX_INPUTS, ids=lambda p: p.parent.name if p.parent.name != "lsp" else p.name)
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_text_edits_are_fixs_splices_and_give_fixs_text(path, unsafe):
    source = Source(str(path), str(path))
    assert load(source) is None
    for level in (Level.BASELINE, Level.RESTRICTED):
        result = fix_source(source, level, PolicyVersion(None), unsafe)
        for encoding in ("utf-16", "utf-8", "utf-32"):
            edits = editor.text_edits(result, editor.Lines(source.text, encoding))
            if not result.changed:
                assert edits is None
                continue
            assert apply_edits(source.text, edits, encoding) == result.new_text
            assert all(new != result.new_text for _, new in edits)  # never the whole-text fallback
        if result.changed and len(result.phases) == 1:
            # One phase: the edits are fix's splices themselves (touching ones come as one).
            splices = sorted((s.start, s.end, s.text) for s in result.phases[0])
            if all(a[1] < b[0] for a, b in zip(splices, splices[1:])):
                lines = editor.Lines(source.text)
                assert editor.text_edits(result, lines) == [
                    ((*lines.position(start), *lines.position(end)), text) for start, end, text in splices]


def test_compose_moves_later_edits_back_through_earlier_ones():
    text0 = "a: 1\nb: 2\nc: 3\n"
    first = [(5, 10, "")]  # remove "b: 2\n"
    text1 = "a: 1\nc: 3\n"
    second = [(10, 10, "d: 4\n"), (0, 0, "# top\n")]
    edits, text2 = editor._compose(first, text1, second)
    assert text2 == "# top\na: 1\nc: 3\nd: 4\n"
    assert edits == [(0, 0, "# top\n"), (5, 10, ""), (15, 15, "d: 4\n")]
    assert text0[:0] + "# top\n" + text0[0:5] + text0[10:15] + "d: 4\n" == text2
    # An insertion where a removal was becomes one edit with it.
    edits, text2 = editor._compose(first, text1, [(5, 5, "x: 0\n")])
    assert edits == [(5, 10, "x: 0\n")] and text2 == "a: 1\nx: 0\nc: 3\n"


def test_diagnostic_ranges_cover_the_field_in_the_clients_units():
    text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: "é🚀"}\nspec:\n  containers:\n' \
           '  - {name: "🚀", image: b, securityContext: {privileged: true}}  # note\n'
    at = text.splitlines()[5].index("privileged")  # in code points; 🚀 is 2 UTF-16 units, 4 bytes
    for encoding, start in (("utf-16", at + 1), ("utf-32", at), ("utf-8", at + 3)):
        [finding] = [f for f in editor.diagnose(text, "p.yaml", editor.Settings(level=Level.BASELINE),
                                                encoding=encoding)]
        assert finding.check == "privileged"
        assert finding.range[:2] == (5, start)
        line = text.splitlines()[5]
        assert apply_edits(text, [(finding.range, "X")], encoding).splitlines()[5] == \
            line.replace("privileged: true}}", "X")


def test_crlf_and_json_manifests():
    crlf = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  hostPID: true\r\n" \
           "  containers: [{name: a, image: b}]\r\n"
    [finding] = editor.diagnose(crlf, None, editor.Settings(level=Level.BASELINE))
    assert finding.range == (5, 2, 5, 15)  # without the \r
    as_json = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},\n' \
              ' "spec": {"hostPID": true, "containers": [{"name": "a", "image": "b"}]}}\n'
    [finding] = editor.diagnose(as_json, None, editor.Settings(level=Level.BASELINE))
    assert finding.check == "hostNamespaces" and finding.range[:2] == (1, 10)


def test_not_manifests_and_templates_are_ignored_but_broken_manifests_are_not():
    assert editor.diagnose("services:\n  web: {image: nginx}\n", None, editor.Settings()) == []
    assert editor.diagnose("apiVersion: v1\nkind: Pod\nspec: {{ .Values.spec }}\n", None, editor.Settings()) == []
    [problem] = editor.diagnose("apiVersion: v1\nkind: Pod\nspec: [\n", None, editor.Settings())
    assert problem.severity == "error" and problem.check is None and problem.message.startswith("invalid YAML")


def test_settings_parse_and_keep_the_base_on_bad_values():
    base = editor.Settings(level=Level.BASELINE)
    settings, errors = editor.parse_settings({"podsec": {"version": "v1.25", "debounceMs": 50}}, base)
    assert settings == editor.Settings(Level.BASELINE, PolicyVersion.parse("v1.25"), None, 0.05)
    settings, errors = editor.parse_settings({"level": "strict", "debounceMs": "soon"}, base)
    assert settings == base
    assert errors == ['podsec setting level: invalid level \'strict\': must be one of "privileged", '
                      '"baseline", "restricted"',
                      "podsec setting debounceMs: 'soon' is not a number of milliseconds"]


def test_lsp_without_the_extra_prints_a_one_line_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)  # import fails as if not installed
    assert main(["lsp"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: the language server needs pygls: pip install 'kubectl-podsec[lsp]'\n"


def test_the_plugin_runs_without_pygls_and_lsprotocol(tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n"
                        "  containers: [{name: a, image: b}]\n", encoding="utf-8")
    blocked = "import sys; sys.modules.update(pygls=None, lsprotocol=None); from kubectl_podsec.cli import main; "
    for args in (["check", "-f", str(manifest)], ["fix", "--dry-run", "-f", str(manifest)], ["explain", "privileged"]):
        run = subprocess.run([sys.executable, "-c", blocked + f"sys.exit(main({args!r}))"],
                             capture_output=True, text=True)
        assert run.returncode in (0, 1), run.stderr
        assert "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-c", blocked + "sys.exit(main(['lsp']))"], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr == "error: the language server needs pygls: pip install 'kubectl-podsec[lsp]'\n"


def test_config_cache_finds_reloads_and_reports_the_podsec_yaml(tmp_path):
    import os

    manifest = tmp_path / "deploy" / "pod.yaml"
    manifest.parent.mkdir()
    cache = editor.ConfigCache()
    assert cache.get(str(manifest), editor.Settings()) == (None, None)
    config_file = tmp_path / ".podsec.yaml"
    config_file.write_text("exemptions:\n- kind: Pod\n  name: p\n  checks: [hostNamespaces]\n  reason: r\n",
                           encoding="utf-8")
    config, problem = cache.get(str(manifest), editor.Settings())
    assert problem is None and [e.reason for e in config.exemptions] == ["r"]
    assert cache.get(str(manifest), editor.Settings())[0] is config  # not read again
    config_file.write_text("exemptions: 3\n", encoding="utf-8")
    os.utime(config_file, ns=(1, 1))  # a different mtime, whatever the clock's resolution
    config, problem = cache.get(str(manifest), editor.Settings())
    assert config is None and problem.source == str(config_file) and problem.line == 1
    other = tmp_path / "other.yaml"
    other.write_text("exemptions: []\n", encoding="utf-8")
    config, problem = cache.get(str(manifest), editor.Settings(config=str(other)))
    assert problem is None and config.exemptions == []
