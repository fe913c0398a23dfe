"""Unit tests of the sources package itself (issue 12, item 5): finding sources
(sources.files), loading and decoding them, splitting them into documents with positions
(sources.documents), the safety checks (sources.safety), the parser choice
(sources.parsers) and helm provenance (sources.helm). Reading must not depend on the
parser, so the document and safety tests run under libyaml and the pure-Python twin."""

from __future__ import annotations

import io
import os

import pytest

from kubectl_podsec.sources import (
    Document,
    Notice,
    Problem,
    Source,
    documents,
    find_sources,
    helm_templates,
    load,
    may_have_aliases,
    parsers,
    safety,
)

PARSERS = ["libyaml", "pure"] if parsers.CComposer is not None else ["pure"]


@pytest.fixture(params=PARSERS)
def parser(request):
    parsers.use_parser(request.param == "pure")
    yield request.param
    parsers.use_parser(False)


def read(text: str) -> list:
    """What documents() gives: (index, first line from 1, node kind) or the Problem's text."""
    found = []
    for item in documents(Source("t.yaml", None, text)):
        if isinstance(item, Document):
            found.append((item.index, item.root.start_mark.line + 1, item.root.__class__.__name__))
        else:
            found.append(str(item))
    return found


# -- finding sources ----------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    for name in ("b.yaml", "a.yml", "c.json", "notes.txt", "sub/e.yaml", "sub/deeper/f.yml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("kind: Pod\n")
    return tmp_path


def names(found, root) -> list:
    return [(type(item).__name__, os.path.relpath(item.name if isinstance(item, Source) else item.source, root))
            for item in found]


def test_a_directory_gives_its_manifests_in_name_order(tree):
    assert names(find_sources([str(tree)], recursive=False), tree) == [
        ("Source", "a.yml"), ("Source", "b.yaml"), ("Source", "c.json")]


def test_recursive_descends_into_subdirectories_in_name_order(tree):
    assert names(find_sources([str(tree)], recursive=True), tree) == [
        ("Source", "a.yml"), ("Source", "b.yaml"), ("Source", "c.json"),
        ("Source", "sub/deeper/f.yml"), ("Source", "sub/e.yaml")]


def test_a_symlink_loop_is_a_problem_and_the_walk_goes_on(tree):
    os.symlink("..", tree / "sub" / "loop")
    found = list(find_sources([str(tree)], recursive=True))
    loops = [item for item in found if isinstance(item, Problem)]
    assert len(loops) == 1 and "symlink loop" in loops[0].message
    assert loops[0].source == str(tree / "sub" / "loop")
    assert sum(isinstance(item, Source) for item in found) == 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_in_a_directory_is_skipped_but_one_named_is_read(tree):
    fifo = tree / "pipe.yaml"
    os.mkfifo(fifo)
    found = list(find_sources([str(tree)], recursive=False))
    assert Notice(str(fifo), "not a regular file; skipped") in found
    assert not any(isinstance(item, Source) and item.path == str(fifo) for item in found)
    assert list(find_sources([str(fifo)], recursive=False)) == [Source(str(fifo), str(fifo))]


def test_broken_symlinks_and_missing_paths_are_problems(tree):
    os.symlink(tree / "gone.yaml", tree / "z.yaml")
    found = list(find_sources([str(tree), str(tree / "missing.yaml")], recursive=False))
    assert Problem(str(tree / "z.yaml"), None, None, "broken symlink") in found
    assert found[-1] == Problem(str(tree / "missing.yaml"), None, None, "no such file or directory")


def test_a_dash_is_stdin():
    assert list(find_sources(["-"], recursive=False)) == [Source("-", None)]


# -- loading and decoding -----------------------------------------------------------------

TEXT = "kind: Pod\nmetadata: {name: é}\n"


@pytest.mark.parametrize("bom, encoding", [
    (b"", "utf-8"), (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
])
def test_load_decodes_by_the_byte_order_mark_and_encodes_back_the_same_bytes(tmp_path, bom, encoding):
    data = bom + TEXT.encode(encoding)
    (tmp_path / "m.yaml").write_bytes(data)
    source = Source("m.yaml", str(tmp_path / "m.yaml"))
    assert load(source) is None
    assert (source.text, source.encoding, source.bom) == (TEXT, encoding, bool(bom))
    assert source.encode(source.text) == data


@pytest.mark.parametrize("data, message", [
    (b"kind: Pod\nspec: \x00\n", "2:7: binary file: NUL byte (not a UTF-8 manifest)"),
    ("kind: Pod\n".encode("utf-16-le"), "1:2: binary file: NUL byte (not a UTF-8 manifest)"),  # no BOM
    (b"kind: Pod\nna\xffme: x\n", "2:3: not UTF-8: invalid byte 0xff"),
    (b"\xff\xfe" + "a: é\n".encode("utf-16-le") + b"\x00", "2:1: not UTF-16: truncated data"),
    (b"\xff\xfe" + "a: \x00\n".encode("utf-16-le"), "1:4: binary file: NUL character (not a manifest)"),
])
def test_load_refuses_binary_and_undecodable_bytes_with_a_position(data, message):
    source = Source("m.yaml", None)
    assert str(load(source, stdin=io.BytesIO(data))) == "m.yaml:" + message


def test_load_reads_stdin_and_reports_unreadable_files(tmp_path):
    source = Source("-", None)
    assert load(source, stdin=io.BytesIO(b"kind: Pod\n")) is None and source.text == "kind: Pod\n"
    missing = Source("gone.yaml", str(tmp_path / "gone.yaml"))
    assert load(missing) == Problem("gone.yaml", None, None, "no such file or directory")


def test_load_identifies_a_regular_file_only_when_asked(tmp_path):
    (tmp_path / "m.yaml").write_text(TEXT)
    plain, identified = Source("m.yaml", str(tmp_path / "m.yaml")), Source("m.yaml", str(tmp_path / "m.yaml"))
    assert load(plain) is None and load(identified, identify=True) is None
    assert plain.identity is None and identified.identity is not None


# -- splitting into documents -------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("a: 1\n", [(0, 1, "MappingNode")]),
    ("a: 1\n---\nb: 2\n", [(0, 1, "MappingNode"), (1, 3, "MappingNode")]),
    ("---\na: 1\n---\n- b\n", [(0, 2, "MappingNode"), (1, 4, "SequenceNode")]),
    # `...` ends a document; the next needs a `---`
    ("a: 1\n...\n---\nb: 2\n", [(0, 1, "MappingNode"), (1, 4, "MappingNode")]),
    ("a: 1\n...\n", [(0, 1, "MappingNode")]),
    # empty documents are counted, so later indices match kubectl's
    ("---\n---\na: 1\n", [(0, 2, "ScalarNode"), (1, 3, "MappingNode")]),
    ("a: 1\n---\n", [(0, 1, "MappingNode"), (1, 3, "ScalarNode")]),
    ("", []),
    ("# only a comment\n", []),
])
def test_documents_are_split_at_markers_with_their_index_and_line(parser, text, expected):
    assert read(text) == expected


def test_a_document_that_does_not_parse_is_a_problem_and_reading_resumes_at_the_next_marker(parser):
    text = "a: 1\n---\nb: [\n---\nc: 3\n"
    found = list(documents(Source("t.yaml", None, text)))
    assert [type(item).__name__ for item in found] == ["Document", "Problem", "Document"]
    problem = found[1]
    assert (problem.line, problem.column, problem.document) == (4, 1, 1)
    assert problem.message.startswith("invalid YAML: ")
    assert (found[2].index, found[2].root.start_mark.line) == (2, 4)
    assert text[found[2].root.start_mark.index:].startswith("c: 3")


def test_positions_of_nodes_count_from_the_source_after_a_resumed_parse(parser):
    text = "a: [\n---\nkind: Pod\nspec:\n  x: 1\n"
    document = [item for item in documents(Source("t.yaml", None, text)) if isinstance(item, Document)][0]
    spec = document.root.value[1][1]
    x = spec.value[0][1]
    assert (x.start_mark.line, x.start_mark.column) == (4, 5)
    assert text[x.start_mark.index:x.end_mark.index] == "1"


def test_json_surrogate_escapes_are_read_as_kubectl_reads_them(parser):
    text = '{"a": "\\ud83d\\ude00", "b": "\\ud800"}'
    document = next(documents(Source("t.json", None, text)))
    values = [value.value for _, value in document.root.value]
    assert values == ["\U0001f600", "\ufffd"]


# -- safety -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, aliased", [
    ("a: 1\n", False),
    ("a: &x 1\nb: *x\n", True),
    ("a: &x 1\nb: [*x]\n", True),
    ("a: &x 1\nb: x*y\n", False),  # a star inside a word is no alias
    ("a: 1\nb: *x\n", False),  # no anchor: nothing an alias could resolve to
])
def test_may_have_aliases_is_false_only_when_there_surely_is_none(text, aliased):
    assert may_have_aliases(text) is aliased


def test_may_have_aliases_looks_only_between_start_and_end():
    text = "a: &x 1\n---\nb: *x\n"
    assert may_have_aliases(text, 0, text.index("---")) is False
    assert may_have_aliases(text, 0, len(text)) is True


def laughs(levels: int, width: int = 10) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_its_document(parser):
    text = "kind: Pod\n---\n" + laughs(4)  # 12,349 nodes decoded from 49 written
    assert read(text)[0] == (0, 1, "MappingNode")
    assert read(text)[1] == ("t.yaml:3:1: document contains excessive aliasing "
                             "(12330 of 12349 nodes would come from aliases)")


def test_ordinary_aliasing_is_allowed(parser):
    assert read(laughs(2)) == [(0, 1, "MappingNode")]  # 100 aliased of 124: too small to matter


def test_the_allowed_alias_ratio_is_go_yamls():
    ratio = safety._allowed_alias_ratio
    assert ratio(1000) == ratio(400_000) == 0.99
    assert ratio(4_000_000) == ratio(10_000_000) == 0.10
    assert ratio(2_200_000) == pytest.approx(0.545)


def test_a_recursive_alias_is_refused(parser):
    assert read("a: &x [1, *x]\n") == ["t.yaml:1:4: an alias refers to a node that contains it"]


@pytest.mark.parametrize("depth, expected", [
    (1000, [(0, 1, "SequenceNode")]),
    (1001, ["t.yaml:1:1001: exceeded max depth of 1000"]),
])
def test_nesting_deeper_than_1000_is_refused(parser, depth, expected):
    assert read("[" * depth + "]" * depth + "\n") == expected


def test_only_the_deep_document_is_refused(parser):
    text = "a: 1\n---\n" + "[" * 1001 + "]" * 1001 + "\n---\nb: 2\n"
    assert read(text) == [(0, 1, "MappingNode"), "t.yaml:3:1001: exceeded max depth of 1000", (2, 5, "MappingNode")]


def test_depth_problem_counts_events_without_composing():
    # The pure parser's events: libyaml stops at its own limit, which the parse reports.
    pure = parsers.PureComposer
    shallow = "a:\n  b: [[1]]\n"
    assert safety.depth_problem(Source("t.yaml", None, shallow), shallow, 0, len(shallow), 0, 0, pure) is None
    deep = "x: 1\n---\n" + "[" * 1001 + "]" * 1001
    start = deep.index("[")
    assert safety.depth_problem(Source("t.yaml", None, deep), deep, start, len(deep), 2, 1, pure) == \
        Problem("t.yaml", 3, 1001, "exceeded max depth of 1000", 1)


@pytest.mark.parametrize("text, expected", [
    ("a: 1\nb: 2\na: 3\n", 't.yaml:3:1: duplicate key "a"'),
    ("a: {b: 1, b: 2}\n", 't.yaml:1:11: duplicate key "b"'),
    ("a: 1\x01\n", "t.yaml:1:5: invalid YAML: found unacceptable character #x0001: control characters are not allowed"),
    ("a: \ufeff1\n", "t.yaml:1:4: invalid YAML: found unacceptable character #xfeff: control characters are not allowed"),
])
def test_duplicate_keys_and_unprintable_characters_are_problems_with_their_place(parser, text, expected):
    assert read(text) == [expected]


def test_a_byte_order_mark_is_allowed_first(parser):
    assert read("\ufeffa: 1\n") == [(0, 1, "MappingNode")]


# -- the parser choice and helm -----------------------------------------------------------

def test_use_parser_switches_the_composer():
    try:
        parsers.use_parser(True)
        assert parsers.pure_parser() and parsers.composer() is parsers.PureComposer
        assert parsers.bounds_depth() is False  # the pure parser relies on our own depth check
    finally:
        parsers.use_parser(False)
    assert parsers.pure_parser() is (parsers.CComposer is None)


def test_helm_templates_gives_the_line_of_each_source_comment():
    text = ("---\n# Source: web/templates/deploy.yaml\nkind: Deployment\n"
            "---\n# Source: web/charts/db/templates/sts.yaml\nkind: StatefulSet\n"
            "---\n# Source: web/values.yaml\n")
    assert helm_templates(text) == [(1, "web/templates/deploy.yaml"), (4, "web/charts/db/templates/sts.yaml")]
    assert helm_templates("kind: Pod\n") == []


def test_a_syntax_error_quoting_the_depth_message_is_no_depth_error(parser):
    """The depth limit is recognised by the error's problem, not by text the error quotes
    from the input (the pure parser's message shows the offending line)."""
    text = 'a: 1\nb: "x" exceeded maximum nesting depth\n'
    [problem] = read(text)
    assert "invalid YAML" in problem and "max depth" not in problem, problem
