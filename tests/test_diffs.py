"""The diff of `fix --dry-run` found from the texts (diffs._text_opcodes) is byte for byte the
diff found from the lines (diffs._opcodes over str.splitlines), which `git apply` accepts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from kubectl_podsec import diffs
from kubectl_podsec.fix import fix_source
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.sources import Source, load

REPO = Path(__file__).resolve().parent.parent
GOLDEN = sorted((REPO / "tests" / "fix").glob("*/input.yaml"))


def by_lines(path: str, old: str, new: str, monkeypatch) -> str:
    with monkeypatch.context() as patched:
        patched.setattr(diffs, "_text_opcodes", lambda old, new: None)
        return diffs.git_diff(path, old, new)


def same_diff(old: str, new: str, monkeypatch) -> str:
    fast = diffs.git_diff("a.yaml", old, new)
    assert fast == by_lines("a.yaml", old, new, monkeypatch)
    return fast


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda path: path.parent.name)
def test_golden_pairs(golden, monkeypatch):
    old = golden.read_bytes().decode("utf-8-sig")
    expected = golden.parent / "expected.yaml"
    new = expected.read_bytes().decode("utf-8-sig") if expected.exists() else old
    same_diff(old, new, monkeypatch)
    same_diff(new, old, monkeypatch)


def fixed_text(text: str, level: Level = Level.RESTRICTED, unsafe: bool = False) -> str:
    source = Source("corpus.yaml", None, text)
    result = fix_source(source, level, PolicyVersion.parse("latest"), unsafe)
    assert result.new_text is not None, result.errors
    return result.new_text


def corpus(workloads: int, seed: int, mix: str) -> str:
    spec = importlib.util.spec_from_file_location("bench_corpus", REPO / "bench" / "corpus.py")
    module = sys.modules.setdefault("bench_corpus", importlib.util.module_from_spec(spec))
    if not hasattr(module, "generate"):
        spec.loader.exec_module(module)
    return module.generate(workloads, seed, mix=mix).decode()


@pytest.mark.parametrize("mix", ["mixed", "unhardened"])
@pytest.mark.parametrize("unsafe", [False, True])
def test_generated_corpora(mix, unsafe, monkeypatch):
    """Every kind and style of the benchmark corpus, removals (--unsafe-fixes) as well as
    insertions, with LF and CRLF line breaks and with no line break at the end."""
    text = corpus(300, 5, mix)
    for variant in (text, text.replace("\n", "\r\n"), text.rstrip("\n")):
        new = fixed_text(variant, unsafe=unsafe)
        assert new != variant
        assert diffs._text_opcodes(variant, new) is not None  # the texts are compared, not the lines
        assert same_diff(variant, new, monkeypatch).count("\n@@ ") > 50


@pytest.mark.parametrize("old, new", [
    ("", "a: 1\n"),
    ("a: 1\n", ""),
    ("a: 1", "a: 2"),
    ("a: 1\n---\nb: 1\n", "a: 1\n---\nb: 2\n"),
    ("---\na: 1\n---\nb: 1\n...\n---\nc: 1\n", "---\na: 1\n---\nb: 2\n...\n---\nc: 1\n"),
    ("a: 1\n--- # c\nb: 1\n---\n", "a: 2\n--- # c\nb: 1\n---\n"),
    ("a: |\n  ---x\n  --- \nb: 1\n", "a: |\n  ---x\n  --- \nb: 2\n"),
    ("a: 1\n---\xa0\nb: 1\n", "a: 1\n---\xa0\nb: 2\n"),  # \s is more than ASCII blanks
    ("a: 1\n---\nb: 1\n", "a: 2\nb: 1\n"),  # not the same pieces: the whole is compared
    ("a: 1\r\n---\r\nb: 1\r\n", "a: 1\r\n---\r\nb: 1\r\nc: 1\r\n"),
    ("a: 1\rb: 1\n", "a: 1\rb: 2\n"),  # lone CR, \x85, U+2028, form feed: other line breaks
    ("a: '\x85'\n---\nb: 1\n", "a: '\x85'\n---\nb: 2\n"),
    ("a: '\u2028'\n---\nb: 1\n", "a: '\u2028'\n---\nb: 2\n"),
    ("a: 1\x0c\n---\nb: 1\n", "a: 1\x0c\n---\nb: 2\n"),
    ("".join(f"---\nk{i}: {i}\n" for i in range(40)), "".join(f"---\nk{i}: {i + (i % 7 == 0)}\n" for i in range(40))),
    ("".join(f"x{i}: 1\n" for i in range(30)) + "---\n" + "".join(f"y{i}: 1\n" for i in range(30)),
     "".join(f"x{i}: 1\n" for i in range(29)) + "x29: 2\n---\ny0: 2\n" + "".join(f"y{i}: 1\n" for i in range(1, 30))),
])
def test_edge_cases(old, new, monkeypatch):
    same_diff(old, new, monkeypatch)


def test_applies_with_git(tmp_path, monkeypatch):
    text = corpus(60, 3, "unhardened")
    new = fixed_text(text)
    (tmp_path / "a.yaml").write_text(text, newline="")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    patch = same_diff(text, new, monkeypatch)
    subprocess.run(["git", "apply", "-"], input=patch.encode(), check=True, cwd=tmp_path)
    assert (tmp_path / "a.yaml").read_bytes().decode() == new


def test_load_and_fix_of_a_file_agree(tmp_path, monkeypatch):
    """The file path the CLI takes (read, decode) gives the texts compared above."""
    path = tmp_path / "w.yaml"
    path.write_text(corpus(40, 9, "unhardened"))
    source = Source(str(path), str(path))
    assert load(source) is None
    same_diff(source.text, fixed_text(source.text), monkeypatch)


# --- the opcodes found where the fix ran (in the worker processes) ---------------------------


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("variant", ["lf", "crlf", "no final newline"])
def test_opcodes_of_a_fix_in_parts_are_those_of_the_texts(jobs, variant, monkeypatch):
    """fix_source_parallel cuts a big text into parts fixed in worker processes; the opcodes
    joined from the parts' are those of the whole texts, and the diff from them is the diff."""
    from kubectl_podsec.fix import fix_source_parallel

    text = corpus(200, 11, "unhardened")
    text = {"lf": text, "crlf": text.replace("\n", "\r\n"), "no final newline": text.rstrip("\n")}[variant]
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", str(len(text) // 3))
    result = fix_source_parallel(Source("corpus.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"),
                                 False, jobs=jobs, diff=True)
    assert result.new_text is not None and result.new_text != text
    assert result.opcodes == diffs.opcodes(text, result.new_text)
    assert diffs.git_diff("a.yaml", text, result.new_text, result.opcodes) == \
        by_lines("a.yaml", text, result.new_text, monkeypatch)


def test_opcodes_of_a_small_source_and_none_without_asking(monkeypatch):
    from kubectl_podsec.fix import fix_source_parallel

    text = corpus(20, 4, "unhardened")
    fixed = fix_source_parallel(Source("a.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"), False,
                                diff=True)
    assert fixed.opcodes == diffs.opcodes(text, fixed.new_text)
    assert fix_source_parallel(Source("a.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"),
                               False).opcodes is None


def test_a_part_with_another_line_break_leaves_the_diff_to_the_texts(monkeypatch):
    """U+2028 is a line break for str.splitlines but not for the parts' line counts: no
    opcodes are joined, and the diff compares the texts as before."""
    from kubectl_podsec.fix import fix_source_parallel

    text = corpus(200, 12, "unhardened").replace("\n---\n", "\n---\n# \u2028\n", 1)
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", str(len(text) // 3))
    result = fix_source_parallel(Source("a.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"), False,
                                 diff=True)
    assert result.new_text != text and result.opcodes is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_join_opcodes_of_parts_cut_at_separators(seed, monkeypatch):
    from kubectl_podsec import parallel

    text = corpus(120, seed, "mixed")
    new = fixed_text(text)
    # the fix keeps every `---` line: the new text's parts hold the same documents
    old_cuts, new_cuts = diffs._separator_offsets(text), diffs._separator_offsets(new)
    assert len(old_cuts) == len(new_cuts)
    moved = dict(zip([0, *old_cuts, len(text)], [0, *new_cuts, len(new)]))
    joined, shift = [], 0
    for start, end, line in parallel._cut(text, 5):
        old_part, new_part = text[start:end], new[moved[start]:moved[end]]
        if old_part != new_part:
            joined.append((line, line + shift, diffs.part_opcodes(old_part, new_part)))
        shift += new_part.count("\n") - old_part.count("\n")
    lines = diffs.line_count(text)
    assert diffs.join_opcodes(joined, lines, lines + shift) == diffs.opcodes(text, new)
