"""Turn Edits into minimal splices of the original text.

Parse for structure and positions, edit text: everything outside the inserted or changed
security settings stays byte for byte (comments, quotes, key order, indentation, markers,
line endings). New keys follow the style around them: the indentation step and sequence
style of the document, flow style inside flow collections, JSON inside JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec.patch.style import Style, dash_column, is_compact
from kubectl_podsec.patch.text import comments_in, line_break_after, line_end, line_start, render_scalar, runs
from kubectl_podsec.yamlnodes import has_merge, is_null


class Refused(Exception):
    """An edit that must be made by hand (through an alias or merge key, odd layout)."""


# Splices and steps are made by the thousand per part of a big stream: NamedTuples are
# built several times faster than frozen dataclasses.
class Splice(NamedTuple):
    start: int
    end: int
    text: str
    depth: int = 0  # at one offset, deeper insertions go first


class PathStep(NamedTuple):
    """One step of a path as found in the document."""
    parent: CollectionNode  # the mapping or sequence stepped into
    key: Node | None  # the key node; None in a sequence
    node: Node  # the value or item the step leads to


@dataclass(frozen=True)
class Insert:
    """New text for one place, gathered over set() calls and written out by finish(). Of
    kind "mapping": new_keys go into `mapping`; "null": new_keys replace the null value of
    `null_field`; "value": `value` fills the null value of `null_field`."""
    kind: str
    depth: int  # steps above the place: at one offset, deeper text goes first
    step: int  # the indentation step around the place
    mapping: MappingNode | None = None
    null_field: PathStep | None = None
    new_keys: dict = field(default_factory=dict)  # nested, e.g. {"securityContext": {"runAsUser": 1000}}
    value: object = None


class Patcher:
    """Collects the splices for one object (a document or a List item)."""

    def __init__(self, text: str, node: Node, style: Style, shared: set, walks: dict | None = None):
        """`walks`: {path: its PathSteps} that another Patcher of the same text, node and
        shared nodes found (the steps depend on nothing else), to take instead of walking."""
        self.text, self.node, self.style, self.shared = text, node, style, shared
        self.walks = {} if walks is None else walks
        self.splices: list = []
        self._inserts: dict = {}  # (kind, id(node)) -> Insert
        self._chomped: set = set()  # block scalars given strip chomping
        self._vetted: set = set()  # ids of the mappings _vet passed

    # -- navigation ---------------------------------------------------------------------
    def _walk(self, path: tuple):
        """The PathSteps of the part of `path` that exists."""
        chain = self.walks.get(path)
        if chain is None:
            chain = self.walks[path] = self._steps(path)
        return chain

    def _steps(self, path: tuple) -> list:
        chain, node = [], self.node
        for part in path:
            if id(node) in self.shared:
                raise Refused("it is reached through a YAML alias; edit the anchor by hand")
            if isinstance(part, int):
                if not isinstance(node, SequenceNode) or part >= len(node.value):
                    break
                child = node.value[part]
                chain.append(PathStep(node, None, child))
            else:
                if not isinstance(node, MappingNode):
                    break
                self._vet(node)
                pair = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part), None)
                if pair is None:
                    break
                chain.append(PathStep(node, pair[0], pair[1]))
                child = pair[1]
            node = child
            if is_null(node):
                break
        if id(node) in self.shared:
            raise Refused("it is reached through a YAML alias; edit the anchor by hand")
        if isinstance(node, MappingNode) and self._may_have_explicit_keys(node):
            self._refuse_explicit_keys(node)
        return chain

    def _vet(self, mapping: MappingNode) -> None:
        """Refuse a mapping stepped through that has a merge key or an explicit key. Each
        mapping once per object, and its text first: a plain `<<` key is the text `<<`."""
        if id(mapping) in self._vetted:
            return
        if self.text.find("<<", mapping.start_mark.index, mapping.end_mark.index) >= 0 and has_merge(mapping):
            raise Refused("it is in a mapping with a `<<` merge key; edit it by hand")
        if self._may_have_explicit_keys(mapping):
            self._refuse_explicit_keys(mapping)
        self._vetted.add(id(mapping))

    def _may_have_explicit_keys(self, mapping: MappingNode) -> bool:
        """False when no `?` is on the lines of the mapping's keys (its text from the start
        of its first line): _refuse_explicit_keys looks for one only before a key on its line."""
        start = mapping.start_mark.index
        return self.text.find("?", self.text.rfind("\n", 0, start) + 1, mapping.end_mark.index) >= 0

    def _refuse_explicit_keys(self, mapping: MappingNode) -> None:
        """`? key` / `: value` pairs lay their values out on lines of their own, which the
        splices do not model."""
        for key, _ in mapping.value:
            at = key.start_mark.index - 1
            while at >= 0 and self.text[at] in " \t":
                at -= 1
            if at >= 0 and self.text[at] == "?":
                raise Refused("it is in a mapping with an explicit `?` key; edit it by hand")

    def check(self, path: tuple) -> None:
        """Raise Refused when an edit at `path` would go through an alias or merge key."""
        self._walk(path)

    # -- edits ----------------------------------------------------------------------------
    def set(self, path: tuple, value) -> None:
        chain = self._walk(path)
        if len(chain) == len(path) and not is_null(chain[-1].node):
            target = chain[-1].node
            if not isinstance(target, ScalarNode) or isinstance(value, (dict, list)):
                raise Refused(f"{path[-1]} is not a plain value")
            self.splices.append(Splice(target.start_mark.index, target.end_mark.index,
                                       self._scalar(value, target.style, self._json_at(chain[-1].parent))))
            return
        depth = len(chain)
        step = self._local_step(chain)
        rest = path[depth:]
        if chain and is_null(chain[-1].node):
            null_field = chain[-1]
            if not rest:  # the field itself is there, with no value
                insert = Insert("value", depth, step, null_field=null_field, value=value)
                self._inserts[("value", id(null_field.node))] = insert
                return
            insert = self._inserts.setdefault(("null", id(null_field.node)),
                                              Insert("null", depth, step, null_field=null_field))
        else:
            mapping = chain[-1].node if chain else self.node
            if not isinstance(mapping, MappingNode):
                raise Refused(f"{'.'.join(map(str, path[:depth])) or 'the object'} is not a mapping")
            insert = self._inserts.setdefault(("mapping", id(mapping)), Insert("mapping", depth, step, mapping=mapping))
        tree = insert.new_keys
        for part in rest[:-1]:
            tree = tree.setdefault(part, {})
        tree[rest[-1]] = value

    def _local_step(self, chain: list) -> int:
        """The indentation step of the nearest block mapping nested in a mapping above the
        edit, so that a file indented 2 here and 4 there gets what is around the edit."""
        for found in reversed(chain):
            key, value = found.key, found.node
            if key is not None and isinstance(value, MappingNode) and not value.flow_style and value.value:
                first = value.value[0][0]
                if first.start_mark.line > key.start_mark.line and first.start_mark.column > key.start_mark.column:
                    return first.start_mark.column - key.start_mark.column
        return self.style.step

    def append(self, path: tuple, item) -> None:
        chain = self._walk(path)
        if len(chain) < len(path) or is_null(chain[-1].node):
            self.set(path, [item])
            return
        sequence = chain[-1].node
        if not isinstance(sequence, SequenceNode):
            raise Refused(f"{path[-1]} is not a list")
        json_style = self._json_at(sequence)
        rendered = self._scalar(item, "", json_style)
        depth = len(path)  # at a shared offset, text for deeper nodes comes first
        if not sequence.value:
            at = sequence.end_mark.index - 1
            self.splices.append(Splice(at, at, rendered, depth))
        elif sequence.flow_style:
            at = self._end(self._last_value(sequence))
            self.splices.append(Splice(at, at, self._flow_separator(sequence) + rendered, depth))
        else:
            last = self._last_value(sequence)
            dash = dash_column(self.text, last)
            if dash is None:
                # `-` alone on its line, the item below it: no indent to copy for a new item.
                raise Refused(f"{path[-1]} has an item on the line after its `-`; edit it by hand")
            at = self._line_end(self._end(last))
            self.splices.append(Splice(at, at, self.style.newline + " " * dash + "- " + rendered, depth))

    def remove(self, path: tuple) -> None:
        chain = self._walk(path)
        if len(chain) < len(path):
            return
        mapping, key = chain[-1].parent, chain[-1].key
        pairs = mapping.value
        index = next(i for i, (k, _) in enumerate(pairs) if k is key)
        start, end = self._entry_range(mapping, list(pairs), index, index, key.start_mark.index)
        nodes = (key, chain[-1].node)
        line = self._line_start(start)
        found = comments_in(self.text, start, end, _scalar_spans(nodes)) if start > line else []
        if found and self.text[line:start].strip() == "-":
            # The first key of a list item, with comments: the next key moves up to the dash,
            # and what was written about the removed one goes on lines of its own above the
            # item (at the dash's column), rather than after a bare `- `.
            dash = self.text[line:start]
            column = len(dash) - len(dash.lstrip(" \t"))
            above = "".join(self._comment_line(at, stop, column) + line_break_after(self.text, at)
                            for at, stop in found)
            self.splices.append(Splice(line, end, above + dash))
            return
        kept = self._kept_comments(start, end, key.start_mark.column, nodes)
        self.splices.append(Splice(start, end, kept))

    def remove_items(self, path: tuple, indices: tuple) -> None:
        chain = self._walk(path)
        if len(chain) < len(path):
            return
        sequence = chain[-1].node
        items = [(None, item) for item in sequence.value]
        for first, last in runs(sorted(indices)):
            start_node = sequence.value[first]
            start = start_node.start_mark.index
            if not sequence.flow_style:
                dash = dash_column(self.text, start_node)
                start = self._line_start(start) + (dash or 0)
            span_start, span_end = self._entry_range(sequence, items, first, last, start)
            column = start_node.start_mark.column if sequence.flow_style else (dash or 0)
            kept = self._kept_comments(span_start, span_end, column, sequence.value[first:last + 1])
            self.splices.append(Splice(span_start, span_end, kept))

    def _kept_comments(self, start: int, end: int, column: int, nodes) -> str:
        """What a removal of text[start:end] (the text of `nodes`) leaves in its place: its
        comments. Only the settings go, never what someone wrote about them, and a comment
        line stays byte for byte (indentation and line break), wherever it is indented; a
        comment after a removed value gets a line of its own at `column`."""
        text = self.text
        found = comments_in(text, start, end, _scalar_spans(nodes))
        if not found:
            return ""
        if end == len(text) and text[start] in "\r\n":
            # The last line has no line break and the range took the one before it: each
            # kept line takes the break before it.
            return "".join(_break_before(text, self._line_start(at)) + self._comment_line(at, stop, column)
                           for at, stop in found)
        if start == self._line_start(start) and (end == len(text) or text[end - 1] == "\n"):
            return "".join(self._comment_line(at, stop, column) + line_break_after(text, at) for at, stop in found)
        # Part of a line: flow collections, or the first key of a list item. A comment line
        # stays a line; a comment after a removed value stays with the blanks before it; the
        # line after the last comment keeps its indentation.
        kept = ""
        for at, stop in found:
            line = self._line_start(at)
            if line > start and text[line:at].strip(" \t") == "":
                kept += _break_before(text, line) + text[line:stop]
            else:
                blanks = at
                while blanks > start and text[blanks - 1] in " \t":
                    blanks -= 1
                kept += (_break_before(text, line) if kept else "") + text[blanks:stop]
        last_line = self._line_start(end)
        if last_line > found[-1][1]:
            indent = text[last_line:end]
            kept += line_break_after(text, found[-1][0]) + indent[:len(indent) - len(indent.lstrip(" \t"))]
        return kept

    def _comment_line(self, at: int, stop: int, column: int) -> str:
        """The comment at text[at:stop] as a line: the whole line when it holds nothing else."""
        line = self._line_start(at)
        if self.text[line:at].strip(" \t") == "":
            return self.text[line:stop]
        return " " * column + self.text[at:stop]

    # -- rendering ----------------------------------------------------------------------
    def finish(self) -> list:
        for insert in self._inserts.values():
            if insert.kind == "mapping":
                self._insert_into_mapping(insert.mapping, insert.new_keys, insert.depth, insert.step)
            elif insert.kind == "null":
                self._replace_null(insert.null_field, insert.new_keys, insert.depth, insert.step)
            else:
                self._fill_null(insert.null_field, insert.value, insert.depth)
        return self.splices

    def _insert_into_mapping(self, mapping: MappingNode, tree: dict, depth: int, step: int) -> None:
        if mapping.flow_style:
            json_style = self._json_at(mapping)
            compact = self._compact_at(mapping)
            if not mapping.value:
                at = mapping.end_mark.index - 1
                if json_style and self.style.json and not compact and self._multiline(self.node):
                    # `{}` in pretty JSON (kubectl's own output): lay the new keys out like it.
                    indent = self._indent_of(mapping.start_mark.index)
                    entries = self._flow_entries(tree, True, indent + step, step)
                    text = self.style.newline + " " * (indent + step) + entries + self.style.newline + " " * indent
                else:
                    text = self._flow_entries(tree, json_style, None, step, compact)
                self.splices.append(Splice(at, at, text, depth))
                return
            at = self._end(self._last_value(mapping))
            column = mapping.value[0][0].start_mark.column if self._multiline(mapping) else None
            text = self._flow_separator(mapping) + self._flow_entries(tree, json_style, column, step, compact)
            self.splices.append(Splice(at, at, text, depth))
            return
        column = mapping.value[0][0].start_mark.column
        at = self._skip_closing_comments(self._line_end(self._end(mapping)), column)
        if at == len(self.text):
            self._keep_final_scalar(mapping, depth)
        lines = self._block_lines(tree, column, step)
        self.splices.append(Splice(at, at, "".join(self.style.newline + line for line in lines), depth))

    def _keep_final_scalar(self, mapping: MappingNode, depth: int) -> None:
        """A `|` or `>` scalar that ends the file without a newline has no final newline in
        its value; once lines follow it, only strip chomping (`|-`) keeps it that way."""
        node = mapping
        while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
            node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
        if not (isinstance(node, ScalarNode) and node.style in ("|", ">")) or self.text.endswith("\n"):
            return
        start = node.start_mark.index
        header_end = start + 1
        while header_end < len(self.text) and self.text[header_end] in "+-0123456789":
            header_end += 1
        header = self.text[start + 1:header_end]
        if "-" not in header and id(node) not in self._chomped:
            self._chomped.add(id(node))
            self.splices.append(Splice(start + 1, header_end, header.replace("+", "") + "-", depth))

    def _skip_closing_comments(self, at: int, column: int) -> int:
        """Comment lines right after a block that are indented deeper than its keys close
        what comes before them; new keys go after them."""
        while at < len(self.text):
            start = self.text.find("\n", at) + 1
            if not start:
                break
            end = self._line_end(start)
            line = self.text[start:end]
            body = line.lstrip(" ")
            if not body.startswith("#") or len(line) - len(body) <= column:
                break
            at = end
        return at

    def _replace_null(self, null_field: PathStep, tree: dict, depth: int, step: int) -> None:
        parent, key, null = null_field.parent, null_field.key, null_field.node
        if parent.flow_style:
            json_style = self._json_at(parent)
            self.splices.append(Splice(null.start_mark.index, null.end_mark.index,
                                       "{" + self._flow_entries(tree, json_style, None, step) + "}", depth))
            return
        self._drop_null_token(null, depth)
        column = self._key_column(key, null) + step
        at = self._line_end(key.end_mark.index if key is not None else null.start_mark.index)
        lines = self._block_lines(tree, column, step)
        self.splices.append(Splice(at, at, "".join(self.style.newline + line for line in lines), depth))

    def _fill_null(self, null_field: PathStep, value, depth: int) -> None:
        """A field that is there with no value (`drop:`, `allowPrivilegeEscalation: ~`)."""
        parent, key, null = null_field.parent, null_field.key, null_field.node
        if key is None:
            raise Refused("a list item with no value; edit it by hand")
        if parent.flow_style:
            json_style = self._json_at(parent)
            entry = self._flow_entries({"": value}, json_style, None, self.style.step)
            rendered = entry[len('"": ' if json_style else ": "):]
            self.splices.append(Splice(null.start_mark.index, null.end_mark.index, rendered, depth))
            return
        if isinstance(value, list):
            self._drop_null_token(null, depth)
            pad = " " * (key.start_mark.column + self.style.seq_indent)
            at = self._line_end(key.end_mark.index)
            text = "".join(f"{self.style.newline}{pad}- {self._scalar(item, '', False)}" for item in value)
            self.splices.append(Splice(at, at, text, depth))
        elif null.end_mark.index > null.start_mark.index:
            self.splices.append(Splice(null.start_mark.index, null.end_mark.index,
                                       self._scalar(value, "", False), depth))
        else:
            colon = self.text.find(":", key.end_mark.index)
            self.splices.append(Splice(colon + 1, colon + 1, " " + self._scalar(value, "", False), depth))

    def _drop_null_token(self, null: Node, depth: int) -> None:
        if null.end_mark.index > null.start_mark.index:  # `~` or `null`, and the blanks before it
            start = null.start_mark.index
            while start > 0 and self.text[start - 1] in " \t":
                start -= 1
            self.splices.append(Splice(start, null.end_mark.index, "", depth))

    def _key_column(self, key, node: Node) -> int:
        return key.start_mark.column if key is not None else dash_column(self.text, node) or 0

    def _indent_of(self, index: int) -> int:
        start = self._line_start(index)
        line = self.text[start:index]
        return len(line) - len(line.lstrip(" "))

    def _compact_at(self, mapping: MappingNode) -> bool:
        return is_compact(self.text, mapping) if mapping.value else self.style.compact

    def _block_lines(self, tree: dict, column: int, step: int) -> list:
        lines = []
        pad = " " * column
        for key, value in tree.items():
            if isinstance(value, dict):
                lines.append(f"{pad}{key}:")
                lines.extend(self._block_lines(value, column + step, step))
            elif isinstance(value, list):
                lines.append(f"{pad}{key}:")
                lines.extend(f"{' ' * (column + self.style.seq_indent)}- {self._scalar(item, '', False)}"
                             for item in value)
            else:
                lines.append(f"{pad}{key}: {self._scalar(value, '', False)}")
        return lines

    def _flow_entries(self, tree: dict, json_style: bool, column: int | None, step: int,
                      compact: bool = False) -> str:
        comma, colon = (",", ":") if compact else (", ", ": ")

        def render(value):
            return self._flow_value(value, comma, colon, json_style)

        def key_text(key):
            return json.dumps(key) if json_style else key

        if column is not None and json_style:
            # Multi-line JSON: one key per line, nested objects laid out like json.dumps.
            pad = " " * column
            parts = []
            for key, value in tree.items():
                rendered = json.dumps(value, indent=step)
                rendered = rendered.replace("\n", self.style.newline + pad)
                parts.append(f"{json.dumps(key)}: {rendered}")
            return ("," + self.style.newline + pad).join(parts)
        separator = ("," + self.style.newline + " " * column) if column is not None else comma
        return separator.join(f"{key_text(k)}{colon}{render(v)}" for k, v in tree.items())

    def _flow_value(self, value, comma: str, colon: str, json_style: bool) -> str:
        # A method, not a closure that calls itself: that closure is a reference cycle, which
        # kept this Patcher and its document's nodes alive (the collector is off in the CLI).
        if isinstance(value, dict):
            return "{" + comma.join(f"{json.dumps(k) if json_style else k}{colon}"
                                    f"{self._flow_value(v, comma, colon, json_style)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + comma.join(self._flow_value(item, comma, colon, json_style) for item in value) + "]"
        return self._scalar(value, "", json_style)

    def _scalar(self, value, style, json_style: bool) -> str:
        return render_scalar(value, style, json_style)

    # -- text positions -----------------------------------------------------------------
    def _json_at(self, node: Node) -> bool:
        if isinstance(node, MappingNode) and node.value:
            return node.flow_style and node.value[0][0].style == '"'
        return bool(getattr(node, "flow_style", False)) and self.style.json

    def _end(self, node: Node) -> int:
        """Where the text of `node` ends (block collections end at their last leaf)."""
        while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
            node = self._last_value(node)
        end = node.end_mark.index
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            header = self.text[node.start_mark.index:self._line_end(node.start_mark.index)]
            if "+" in header.split("#")[0]:
                # Kept blank lines are content: the scalar ends at the last newline before the
                # next line, which is where new lines may go.
                return end - 1 if end > node.start_mark.index and self.text[end - 1] == "\n" else end
            while end > node.start_mark.index and self.text[end - 1] in "\r\n":
                end -= 1
        return end

    def _last_value(self, collection: Node) -> Node:
        if isinstance(collection, MappingNode):
            before, child = collection.value[-1]
        else:
            child = collection.value[-1]
            before = collection.value[-2] if len(collection.value) > 1 else None
        # An alias is the very node of its anchor, whose marks point at the anchor's text:
        # a last value that starts before its own key (or the item before it) is an alias.
        limit = before.end_mark.index if before is not None else collection.start_mark.index
        if id(child) in self.shared and child.start_mark.index < limit:
            raise Refused("the text there ends in a YAML alias; edit it by hand")
        return child

    def _line_end(self, index: int) -> int:
        return line_end(self.text, index)

    def _line_start(self, index: int) -> int:
        return line_start(self.text, index)

    def _multiline(self, collection: Node) -> bool:
        first = collection.value[0][0] if isinstance(collection, MappingNode) else collection.value[0]
        return first.start_mark.line > collection.start_mark.line

    def _flow_separator(self, collection: Node) -> str:
        if self._multiline(collection):
            first = collection.value[0][0] if isinstance(collection, MappingNode) else collection.value[0]
            return "," + self.style.newline + " " * first.start_mark.column
        compact = self._compact_at(collection) if isinstance(collection, MappingNode) else self.style.compact
        return "," if compact else ", "

    def _entry_range(self, collection: CollectionNode, entries: list, first: int, last: int, start: int):
        """The text to delete for entries first..last of a mapping or sequence."""
        def entry_start(i):
            key, value = entries[i]
            return (key or value).start_mark.index

        end = self._end(entries[last][1])
        if collection.flow_style:
            if last + 1 < len(entries):
                return start, entry_start(last + 1)
            if first > 0:
                return self._end(entries[first - 1][1]), end
            # Every entry: the brackets close up (`{}`), with no line of blanks left between
            # them in pretty JSON.
            return collection.start_mark.index + 1, collection.end_mark.index - 1
        line_start = self._line_start(start)
        if self.text[line_start:start].strip() == "":
            stop = self._line_end(end)
            if stop < len(self.text):  # take the entry's lines with their newline
                return line_start, stop + (2 if self.text[stop] == "\r" else 1)
            # The last line has no newline: take the one before it instead.
            before = line_start - (2 if self.text[line_start - 2:line_start] == "\r\n" else 1)
            return (max(before, 0) if line_start > 0 else line_start), stop
        # The entry shares its line with a `- ` (the first key of a list item).
        if last + 1 < len(entries):
            return start, entry_start(last + 1)
        raise Refused("removing the only key of a list item would leave an empty item; edit it by hand")


def _scalar_spans(nodes) -> list:
    """(start, end) of the text of every scalar in `nodes`: a `#` there is no comment."""
    spans, stack, seen = [], list(nodes), set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        else:
            spans.append((node.start_mark.index, node.end_mark.index))
    return spans


def _break_before(text: str, line: int) -> str:
    """The line break that ends the line before the one starting at `line`."""
    return "\r\n" if text[line - 2:line] == "\r\n" else "\n"


def apply_splices(text: str, splices: list) -> str:
    out, position = [], 0
    for splice in sorted(splices, key=lambda s: (s.start, s.end, -s.depth)):
        if splice.start < position:
            raise Refused("two edits overlap")
        out.append(text[position:splice.start])
        out.append(splice.text)
        position = splice.end
    out.append(text[position:])
    return "".join(out)
