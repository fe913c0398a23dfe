"""Unit tests of the patch package itself (issue 12, item 5): the layout new text follows
(patch.style), the text helpers (patch.text), where the Patcher puts its splices
(patch.splicer) and what it refuses."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from kubectl_podsec.patch import Insert, Patcher, Refused, Splice, Style, apply_splices, detect_style, shared_nodes
from kubectl_podsec.patch.text import line_end, line_start, render_scalar, runs
from kubectl_podsec.sources import Document, Source, documents


def root_of(text: str, index: int = 0):
    found = list(documents(Source("t.yaml", None, text)))
    assert all(isinstance(document, Document) for document in found), found
    return found[index].root


def patched(text: str, *edits, index: int = 0) -> str:
    """`text` after the edits (method name, path, value...) on its document `index`."""
    root = root_of(text, index)
    patcher = Patcher(text, root, detect_style(text, root), shared_nodes(root, text))
    for method, *args in edits:
        getattr(patcher, method)(*args)
    return apply_splices(text, patcher.finish())


# -- style ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, step", [
    ("a:\n  b: 1\n", 2),
    ("a:\n    b: 1\n", 4),
    ("a:\n   b:\n      c: 1\n", 3),  # the first nested mapping decides
    ("a: 1\nb: [x]\n", 2),  # nothing nested: the default
    ("a: {b: 1}\n", 2),  # a flow mapping on the key's line says nothing about block indentation
])
def test_detect_style_finds_the_indentation_step(text, step):
    assert detect_style(text, root_of(text)).step == step


@pytest.mark.parametrize("text, seq_indent", [
    ("l:\n- a\n", 0),  # flush (kubectl's own output)
    ("l:\n  - a\n", 2),
    ("l:\n    - a\n", 4),
    ("l: [a]\n", 0),  # flow: no dash column
    ("a:\n  l:\n    - x\n", 2),  # measured from the parent key, wherever it is
])
def test_detect_style_finds_compact_or_indented_sequences(text, seq_indent):
    assert detect_style(text, root_of(text)).seq_indent == seq_indent


@pytest.mark.parametrize("text, json, compact", [
    ('{"a": {"b": 1}}', True, False),
    ('{"a":{"b":1}}', True, True),
    ("{a: 1}", False, False),  # YAML flow style, not JSON: keys are unquoted
    ("a: 1\n", False, False),
])
def test_detect_style_tells_json_and_minified_json(text, json, compact):
    style = detect_style(text, root_of(text))
    assert (style.json, style.compact) == (json, compact)


@pytest.mark.parametrize("text, newline", [
    ("a: 1\r\nb: 2\r\n", "\r\n"),
    ("a: 1\nb: 2\r\n", "\n"),  # the first line decides
    ("a: 1", "\n"),
])
def test_detect_style_takes_the_line_ending_of_the_first_line(text, newline):
    assert detect_style(text, root_of(text)).newline == newline


# -- text helpers -----------------------------------------------------------------------

def test_line_bounds_stop_before_crlf_and_at_the_end_of_text():
    text = "ab\r\ncd\nef"
    assert (line_start(text, 1), line_end(text, 1)) == (0, 2)
    assert (line_start(text, 5), line_end(text, 5)) == (4, 6)
    assert (line_start(text, 8), line_end(text, 8)) == (7, 9)


@pytest.mark.parametrize("value, style, json_style, rendered", [
    (True, "", False, "true"),
    (1000, "", False, "1000"),
    ("runtime/default", "", False, "runtime/default"),
    ("yes", "", False, '"yes"'),  # plain `yes` would read back as a boolean in YAML 1.1
    ("null", "", False, '"null"'),
    ("a b", "", False, '"a b"'),
    ("it's", "'", False, "'it''s'"),  # the quoting of the value it replaces
    ("x", '"', False, '"x"'),
    (False, "", True, "false"),
    ("x", "", True, '"x"'),
])
def test_render_scalar_writes_text_that_reads_back_as_the_value(value, style, json_style, rendered):
    assert render_scalar(value, style, json_style) == rendered


def test_runs_groups_consecutive_indices():
    assert runs([0, 1, 3, 5, 6, 7]) == [(0, 1), (3, 3), (5, 7)]
    assert runs([]) == []


# -- splicing into mappings -------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # the mapping first, in the middle, and last in its parent
    ("b:\n  c: 2\na: 1\nz: 3\n", "b:\n  c: 2\n  d: true\na: 1\nz: 3\n"),
    ("a: 1\nb:\n  c: 2\nz: 3\n", "a: 1\nb:\n  c: 2\n  d: true\nz: 3\n"),
    ("a: 1\nb:\n  c: 2\n", "a: 1\nb:\n  c: 2\n  d: true\n"),
    ("a: 1\nb:\n  c: 2", "a: 1\nb:\n  c: 2\n  d: true"),  # no final newline
    ("a: 1\r\nb:\r\n  c: 2\r\n", "a: 1\r\nb:\r\n  c: 2\r\n  d: true\r\n"),
    ("b: {c: 2}\n", "b: {c: 2, d: true}\n"),
    ("b: {}\n", "b: {d: true}\n"),
    ('{"b": {"c": 2}}', '{"b": {"c": 2, "d": true}}'),
    ('{"b":{"c":2}}', '{"b":{"c":2,"d":true}}'),
    ("b:\n", "b:\n  d: true\n"),  # a key with no value
])
def test_new_keys_go_after_the_last_key_of_their_mapping(text, expected):
    assert patched(text, ("set", ("b", "d"), True)) == expected


def test_new_mappings_follow_the_indentation_around_the_edit():
    text = "a:\n  x: 1\nb:\n    c: 2\n"
    assert patched(text, ("set", ("b", "d", "e"), 1)) == "a:\n  x: 1\nb:\n    c: 2\n    d:\n        e: 1\n"


def test_several_new_keys_for_one_mapping_are_one_splice_in_order():
    text = "a: 1\n"
    root = root_of(text)
    patcher = Patcher(text, root, detect_style(text, root), set())
    patcher.set(("s", "t"), 1)
    patcher.set(("s", "u", "v"), "x")
    splices = patcher.finish()
    assert len(splices) == 1
    assert apply_splices(text, splices) == "a: 1\ns:\n  t: 1\n  u:\n    v: x\n"


@pytest.mark.parametrize("text, expected", [
    ("a: 1\nz: 2\n", "a: 9\nz: 2\n"),  # the first key
    ("z: 2\na: 1\ny: 3\n", "z: 2\na: 9\ny: 3\n"),
    ("z: 2\na: '1'\n", "z: 2\na: '9'\n"),  # the last key, in its quotes
    ("{z: 2, a: 1}", "{z: 2, a: 9}"),
])
def test_set_replaces_a_value_where_it_is(text, expected):
    assert patched(text, ("set", ("a",), "9" if "'" in text else 9)) == expected


# -- inserts around comments and document markers ---------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("b:\n  c: 2  # note\nz: 1\n", "b:\n  c: 2  # note\n  d: 1\nz: 1\n"),
    # comment lines indented deeper than the keys close the block: new keys go after them
    ("b:\n  c: 2\n    # closing\nz: 1\n", "b:\n  c: 2\n    # closing\n  d: 1\nz: 1\n"),
    # a comment at the parent's column belongs to what follows: new keys go before it
    ("b:\n  c: 2\n# about z\nz: 1\n", "b:\n  c: 2\n  d: 1\n# about z\nz: 1\n"),
])
def test_inserts_after_comments(text, expected):
    assert patched(text, ("set", ("b", "d"), 1)) == expected


@pytest.mark.parametrize("text, index, expected", [
    ("a: 1\n---\nb: 2\n", 0, "a: 1\nc: x\n---\nb: 2\n"),
    ("a: 1\n...\n", 0, "a: 1\nc: x\n...\n"),
    ("a: 1\n...\n---\nb: 2\n", 1, "a: 1\n...\n---\nb: 2\nc: x\n"),
    ("---\na: 1\n---\n", 0, "---\na: 1\nc: x\n---\n"),
])
def test_inserts_go_before_document_markers(text, index, expected):
    assert patched(text, ("set", ("c",), "x"), index=index) == expected


# -- splicing into sequences ------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("l:\n- a\n- b\n", "l:\n- a\n- b\n- c\n"),
    ("l:\n  - a\n  - b\nz: 1\n", "l:\n  - a\n  - b\n  - c\nz: 1\n"),
    ("l: [a, b]\n", "l: [a, b, c]\n"),
    ("l: []\n", "l: [c]\n"),
    ("z: 1\n", "z: 1\nl:\n- c\n"),  # no list yet
    ('{"l": ["a"]}', '{"l": ["a", "c"]}'),
])
def test_append_adds_an_item_at_the_end_of_a_sequence(text, expected):
    assert patched(text, ("append", ("l",), "c")) == expected


@pytest.mark.parametrize("indices, expected", [
    ((0,), "l:\n- b\n- c\n- d\n"),
    ((1, 2), "l:\n- a\n- d\n"),
    ((3,), "l:\n- a\n- b\n- c\n"),
    ((0, 2, 3), "l:\n- b\n"),
])
def test_remove_items_at_the_start_middle_and_end_of_a_sequence(indices, expected):
    assert patched("l:\n- a\n- b\n- c\n- d\n", ("remove_items", ("l",), indices)) == expected


@pytest.mark.parametrize("indices, expected", [
    ((0,), "l: [b, c]\n"), ((1,), "l: [a, c]\n"), ((2,), "l: [a, b]\n"),
])
def test_remove_items_from_a_flow_sequence(indices, expected):
    assert patched("l: [a, b, c]\n", ("remove_items", ("l",), indices)) == expected


@pytest.mark.parametrize("key, expected", [
    ("a", "b: 2  # why b\nc: 3\n"),
    ("b", "a: 1\n# why b\nc: 3\n"),  # the setting goes, what someone wrote about it stays
    ("c", "a: 1\nb: 2  # why b\n"),
])
def test_remove_a_key_at_the_start_middle_and_end_keeps_comments(key, expected):
    assert patched("a: 1\nb: 2  # why b\nc: 3\n", ("remove", (key,))) == expected


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# A removal takes the lines of the removed nodes and nothing else: a comment line among them
# stays byte for byte (its indentation and line break, LF or CRLF), a comment after a removed
# value gets a line of its own at the removed key's (or dash's) column, and a `#` inside a
# scalar is no comment. The first case is the one test_fix_properties.py found: a `# c40 note`
# line inside `capabilities.add` was re-indented when --unsafe-fixes removed the list.
@pytest.mark.parametrize("text, edit, expected", [
    ("c:\n  add:\n  - A\n# c40 note\n  - B\n  drop: [ALL]\n", ("remove", ("c", "add")),
     "c:\n# c40 note\n  drop: [ALL]\n"),
    ("c:\n  add:\n  - A\n      # deeper\n  - B\n  drop: [ALL]\n", ("remove", ("c", "add")),
     "c:\n      # deeper\n  drop: [ALL]\n"),
    ("c:\n  add:\n  - A\n  # at the key\n  - B\n  drop: [ALL]\n", ("remove", ("c", "add")),
     "c:\n  # at the key\n  drop: [ALL]\n"),
    # a trailing comment after a quoted value was taken for part of the string and lost
    ('c:\n  add:\n  - "A"  # why A\n  drop: [ALL]\n', ("remove", ("c", "add")),
     "c:\n  # why A\n  drop: [ALL]\n"),
    ("c:\n  add:\n  - \"A # text\"\n  - 'B #text'\n  - |\n    # script\n  drop: [ALL]\n", ("remove", ("c", "add")),
     "c:\n  drop: [ALL]\n"),
    # comments between removed items, after the last removed item, before a kept item
    ("l:\n- a\n# between\n- b\n- c\n", ("remove_items", ("l",), (0, 1)), "l:\n# between\n- c\n"),
    ("l:\n- a\n  # after a\n- b\n- c\n", ("remove_items", ("l",), (0,)), "l:\n  # after a\n- b\n- c\n"),
    ("l:\n- a\n- b\n# after b\nz: 1\n", ("remove_items", ("l",), (1,)), "l:\n- a\n# after b\nz: 1\n"),
    ("l:\n- a  # why a\n- b  # why b\n- c\n", ("remove_items", ("l",), (0, 2)), "l:\n# why a\n- b  # why b\n"),
    # flow collections over several lines: a comment keeps the blanks before it and its line
    ("l: [a,  # why a\n  # about b\n  b, c]\n", ("remove_items", ("l",), (0,)),
     "l: [  # why a\n  # about b\n  b, c]\n"),
    ("l: [a,  # why a\n  b]\n", ("remove_items", ("l",), (1,)), "l: [a  # why a\n  ]\n"),
    ("p: {hostPort: 80,  # why\n  containerPort: 80}\n", ("remove", ("p", "hostPort")),
     "p: {  # why\n  containerPort: 80}\n"),
    # the first key of a list item, on the dash's line: the next key moves up to the dash, and
    # the comments go above the item (a bare `- ` or `-   # why` was left before)
    ("p:\n- hostPort: 80  # why\n  containerPort: 80\n", ("remove", ("p", 0, "hostPort")),
     "p:\n# why\n- containerPort: 80\n"),
    ("p:\n- hostPort: 80\n# note\n  containerPort: 80\n", ("remove", ("p", 0, "hostPort")),
     "p:\n# note\n- containerPort: 80\n"),
    ("p:\n  - hostPort: 80  # why\n      # more\n    containerPort: 80\n", ("remove", ("p", 0, "hostPort")),
     "p:\n  # why\n      # more\n  - containerPort: 80\n"),
    ("p:\n- hostPort: 80\n  containerPort: 80\n", ("remove", ("p", 0, "hostPort")), "p:\n- containerPort: 80\n"),
    ("l: [a,  # c1\n  b,  # c2\n  c]\n", ("remove_items", ("l",), (0, 1)), "l: [  # c1\n  # c2\n  c]\n"),
    # the last line has no line break: the removal takes the one before it, and so do the comments
    ("a: 1\nb:\n- x\n  # n\n- y  # t", ("remove", ("b",)), "a: 1\n  # n\n# t"),
])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_removal_keeps_every_comment_where_it_was(text, edit, expected, newline):
    if newline == "\r\n":
        text, expected = crlf(text), crlf(expected)
    out = patched(text, edit)
    assert out == expected
    # what stays is the document without the removed setting
    before = yaml.safe_load(text)
    node = before
    *parents, last = edit[1]
    for part in parents:
        node = node[part]
    if edit[0] == "remove":
        del node[last]
    else:
        node[last] = [item for i, item in enumerate(node[last]) if i not in edit[2]]
    assert yaml.safe_load(out) == before


# -- refusals ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, path, message", [
    ("a: &x {k: 1}\nb: *x\n", ("b", "j"), "YAML alias"),
    ("a: {k: 1}\nb:\n  <<: {k: 2}\n", ("b", "j"), "merge key"),
    ("b:\n  ? c\n  : 1\n", ("b", "d"), r"explicit `\?` key"),
    ("b: [1]\n", ("b", "d"), "not a mapping"),
])
def test_edits_the_splices_cannot_model_are_refused(text, path, message):
    with pytest.raises(Refused, match=message):
        patched(text, ("set", path, 1))


def test_apply_splices_refuses_overlapping_splices():
    with pytest.raises(Refused, match="two edits overlap"):
        apply_splices("abcdef", [Splice(1, 4, "X"), Splice(3, 5, "Y")])


def test_apply_splices_orders_by_offset_and_deeper_first_at_one_offset():
    text = "abcdef"
    splices = [Splice(4, 4, "shallow", 1), Splice(0, 1, "A"), Splice(4, 4, "deep", 3), Splice(2, 4, "")]
    assert apply_splices(text, splices) == "Abdeepshallowef"
    assert apply_splices(text, []) == text
    assert apply_splices(text, [Splice(1, 3, "X"), Splice(3, 5, "Y")]) == "aXYf"  # touching is no overlap


# -- the named values -------------------------------------------------------------------

def test_insert_is_frozen_and_named():
    insert = Insert("mapping", depth=2, step=4)
    assert (insert.kind, insert.depth, insert.step, insert.new_keys, insert.value) == ("mapping", 2, 4, {}, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        insert.depth = 3  # type: ignore[misc]
    assert Insert("mapping", 0, 2).new_keys is not Insert("mapping", 0, 2).new_keys


def test_style_defaults_are_kubectls_layout():
    assert Style() == Style(newline="\n", step=2, seq_indent=0, json=False, compact=False)


def test_shared_nodes_are_the_nodes_an_alias_reaches_again():
    text = "a: &x {k: 1}\nb: *x\nc: {k: 1}\n"
    root = root_of(text)
    shared = shared_nodes(root, text)
    a, b, c = (value for _, value in root.value)
    assert a is b and shared == {id(a)}
    assert id(c) not in shared
    assert shared_nodes(root_of("a: {k: 1}\n"), "a: {k: 1}\n") == set()
