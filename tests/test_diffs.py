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


# --- the opcodes found where the fix ran (from its splices, in the worker processes) ---------


def assert_opcodes_of(old: str, new: str, opcodes: list) -> None:
    """`opcodes` turn the lines of old into those of new, every line once, in order; a change
    neither starts nor ends with a line that reads as before (no needless -/+ pair), and two
    changes are never next to each other (they would be one)."""
    a, b = old.splitlines(True), new.splitlines(True)
    at = (0, 0)
    for previous, op in zip([None, *opcodes], opcodes):
        tag, i1, i2, j1, j2 = op
        assert (i1, j1) == at, op
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2] and i1 < i2, op
        else:
            assert tag == ("replace" if i1 < i2 and j1 < j2 else "delete" if i1 < i2 else "insert"), op
            assert i1 == i2 or j1 == j2 or (a[i1] != b[j1] and a[i2 - 1] != b[j2 - 1]), op
            assert previous is None or previous[0] == "equal", (previous, op)
        at = (i2, j2)
    assert at == (len(a), len(b))


def test_spliced_opcodes_of_random_splices():
    """Splices anywhere (inside lines, at their ends, several on one line, replacing line
    breaks), LF and CRLF, with and without a final line break."""
    import random

    from kubectl_podsec.patch.splicer import Splice, apply_splices

    rng = random.Random(7)
    lines = ["a: 1\n", "b: 2\n", "  c: 3\n", "- x\n", "a: 1\n"]
    texts = ["", "z: 9\n", "\n  q: 1", "r", "  y: 2\n  w: 3\n", "\n"]
    tried = 0
    for _ in range(4000):
        newline = rng.choice(["\n", "\r\n"])
        old = "".join(rng.choice(lines) for _ in range(rng.randint(0, 8))).replace("\n", newline)
        if old and rng.random() < 0.2:
            old = old[:-len(newline)]
        cuts = sorted(rng.randint(0, len(old)) for _ in range(2 * rng.randint(0, 4)))
        splices = [Splice(start, start if rng.random() < 0.5 else end, rng.choice(texts).replace("\n", newline),
                          rng.randint(0, 2)) for start, end in zip(cuts[::2], cuts[1::2])]
        try:
            new = apply_splices(old, splices)
        except Exception:  # two splices overlap
            continue
        if not diffs.splits_at_newlines(new):  # a splice between \r and \n
            assert diffs.spliced_opcodes(old, splices) is None
            continue
        tried += 1
        assert_opcodes_of(old, new, diffs.spliced_opcodes(old, splices))
    assert tried > 2000


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("variant", ["lf", "crlf", "no final newline"])
@pytest.mark.parametrize("unsafe", [False, True])
def test_opcodes_of_a_fix_in_parts_are_those_of_one_process(jobs, variant, unsafe, monkeypatch):
    """fix_source_parallel cuts a big text into parts fixed in worker processes; the opcodes
    joined from the parts' are those of the whole text fixed at once (removals, with
    --unsafe-fixes, compare the chunk's texts), and a diff `git apply` takes."""
    from kubectl_podsec.fix import fix_source_parallel

    text = corpus(200, 11, "unhardened")
    text = {"lf": text, "crlf": text.replace("\n", "\r\n"), "no final newline": text.rstrip("\n")}[variant]
    whole = fix_source(Source("corpus.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"), unsafe,
                       diff=True)
    assert_opcodes_of(text, whole.new_text, whole.opcodes)
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", str(len(text) // 3))
    result = fix_source_parallel(Source("corpus.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"),
                                 unsafe, jobs=jobs, diff=True)
    assert result.new_text == whole.new_text != text
    assert result.opcodes == whole.opcodes
    # The hunks the parts rendered are those of the whole, and most are taken from them.
    assert diffs.git_diff("a.yaml", text, result.new_text, result.opcodes, result.bodies) == \
        diffs.git_diff("a.yaml", text, result.new_text, result.opcodes)
    hunks = diffs.git_diff("a.yaml", text, result.new_text, result.opcodes).count("\n@@ ")
    assert len(result.bodies) > hunks * 0.9


def test_a_fix_diff_applies_with_git(tmp_path, monkeypatch):
    text = corpus(120, 13, "unhardened").replace("\n", "\r\n")
    fixed = fix_source(Source("a.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"), True, diff=True)
    (tmp_path / "a.yaml").write_text(text, newline="")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    patch = diffs.git_diff("a.yaml", text, fixed.new_text, fixed.opcodes)
    assert patch.count("\n@@ ") > 50
    subprocess.run(["git", "apply", "-"], input=patch.encode(), check=True, cwd=tmp_path)
    assert (tmp_path / "a.yaml").read_bytes().decode() == fixed.new_text


def test_opcodes_of_a_small_source_and_none_without_asking(monkeypatch):
    from kubectl_podsec.fix import fix_source_parallel

    text = corpus(20, 4, "unhardened")
    fixed = fix_source_parallel(Source("a.yaml", None, text), Level.RESTRICTED, PolicyVersion.parse("latest"), False,
                                diff=True)
    assert_opcodes_of(text, fixed.new_text, fixed.opcodes)
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
            joined.append((line, line + shift, diffs.opcodes(old_part, new_part)))
        shift += new_part.count("\n") - old_part.count("\n")
    lines = diffs.line_count(text)
    assert diffs.join_opcodes(joined, lines, lines + shift) == diffs.opcodes(text, new)
