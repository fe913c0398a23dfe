"""Turn Edits into minimal splices of the original text.

Parse for structure and positions, edit text: everything outside the inserted or changed
security settings stays byte for byte (comments, quotes, key order, indentation, markers,
line endings). New keys follow the style around them: the indentation step and sequence
style of the document, flow style inside flow collections, JSON inside JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Optional

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec.manifests import may_have_aliases
from kubectl_podsec.yamlnodes import FALSE_WORDS, NULL_WORDS, TRUE_WORDS, has_merge, is_null

_PLAIN_SAFE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")


class Refused(Exception):
    """An edit that must be made by hand (through an alias or merge key, odd layout)."""


@dataclass(frozen=True)
class Splice:
    start: int
    end: int
    text: str
    depth: int = 0  # at one offset, deeper insertions go first


@dataclass(frozen=True)
class Style:
    newline: str = "\n"
    step: int = 2  # indentation of a nested block mapping
    seq_indent: int = 0  # dash column minus the parent key's column (0: flush sequences)
    json: bool = False


def detect_style(text: str, root: Node) -> Style:
    newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1 or len(text)] else "\n"
    is_json = isinstance(root, MappingNode) and root.flow_style and bool(root.value) \
        and root.value[0][0].style == '"'
    step = seq_indent = None
    stack = [root]
    while stack and (step is None or seq_indent is None):
        node = stack.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(value, MappingNode) and value.value and step is None:
                    child = value.value[0][0]
                    if child.start_mark.line > key.start_mark.line:
                        step = child.start_mark.column - key.start_mark.column
                if isinstance(value, SequenceNode) and not value.flow_style and value.value and seq_indent is None:
                    dash = _dash_column(text, value.value[0])
                    if dash is not None and value.value[0].start_mark.line > key.start_mark.line:
                        seq_indent = dash - key.start_mark.column
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return Style(newline, step if step and step > 0 else 2, max(seq_indent or 0, 0), bool(is_json))


def _dash_column(text: str, item: Node) -> Optional[int]:
    line_start = text.rfind("\n", 0, item.start_mark.index) + 1
    dash = text.rfind("-", line_start, item.start_mark.index)
    return None if dash < 0 else dash - line_start


def shared_nodes(root: Node, text: str) -> set:
    """Ids of nodes reachable more than once (YAML aliases): editing them would change
    every place that uses the anchor."""
    if not may_have_aliases(text, root.start_mark.index, root.end_mark.index):
        return set()
    seen, shared, stack = set(), set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return shared


class Patcher:
    """Collects the splices for one object (a document or a List item)."""

    def __init__(self, text: str, node: Node, style: Style, shared: set):
        self.text, self.node, self.style, self.shared = text, node, style, shared
        self.splices: list = []
        self._inserts: dict = {}  # id(target) -> (target kind, nodes, nested dict of new keys)

    # -- navigation ---------------------------------------------------------------------
    def _walk(self, path: tuple):
        """[(parent, key node or None, value node)] for the part of `path` that exists."""
        chain, node = [], self.node
        for part in path:
            if id(node) in self.shared:
                raise Refused("it is reached through a YAML alias; edit the anchor by hand")
            if isinstance(part, int):
                if not isinstance(node, SequenceNode) or part >= len(node.value):
                    break
                child = node.value[part]
                chain.append((node, None, child))
            else:
                if not isinstance(node, MappingNode):
                    break
                if has_merge(node):
                    raise Refused("it is in a mapping with a `<<` merge key; edit it by hand")
                pair = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part), None)
                if pair is None:
                    break
                chain.append((node, pair[0], pair[1]))
                child = pair[1]
            node = child
            if is_null(node):
                break
        if id(node) in self.shared:
            raise Refused("it is reached through a YAML alias; edit the anchor by hand")
        return chain

    def check(self, path: tuple) -> None:
        """Raise Refused when an edit at `path` would go through an alias or merge key."""
        self._walk(path)

    # -- edits ----------------------------------------------------------------------------
    def set(self, path: tuple, value) -> None:
        chain = self._walk(path)
        if len(chain) == len(path) and not is_null(chain[-1][2]):
            target = chain[-1][2]
            if not isinstance(target, ScalarNode) or isinstance(value, (dict, list)):
                raise Refused(f"{path[-1]} is not a plain value")
            self.splices.append(Splice(target.start_mark.index, target.end_mark.index,
                                       self._scalar(value, target.style, self._json_at(chain[-1][0]))))
            return
        depth = len(chain)
        if chain and is_null(chain[-1][2]):
            parent, key, target = chain[-1]
            kind, anchor, rest = "null", (parent, key, target), path[depth:]
        else:
            mapping = chain[-1][2] if chain else self.node
            if not isinstance(mapping, MappingNode):
                raise Refused(f"{'.'.join(map(str, path[:depth])) or 'the object'} is not a mapping")
            kind, anchor, rest = "mapping", mapping, path[depth:]
        entry = self._inserts.setdefault((kind, id(anchor[2] if kind == "null" else anchor)),
                                         [kind, anchor, {}, depth])
        tree = entry[2]
        for part in rest[:-1]:
            tree = tree.setdefault(part, {})
        tree[rest[-1]] = value

    def append(self, path: tuple, item) -> None:
        chain = self._walk(path)
        if len(chain) < len(path) or is_null(chain[-1][2]):
            self.set(path, [item])
            return
        sequence = chain[-1][2]
        if not isinstance(sequence, SequenceNode):
            raise Refused(f"{path[-1]} is not a list")
        json_style = self._json_at(sequence)
        rendered = self._scalar(item, "", json_style)
        depth = len(path)  # at a shared offset, text for deeper nodes comes first
        if not sequence.value:
            at = sequence.end_mark.index - 1
            self.splices.append(Splice(at, at, rendered, depth))
        elif sequence.flow_style:
            at = self._end(sequence.value[-1])
            self.splices.append(Splice(at, at, self._flow_separator(sequence) + rendered, depth))
        else:
            last = sequence.value[-1]
            dash = _dash_column(self.text, last)
            at = self._line_end(self._end(last))
            self.splices.append(Splice(at, at, self.style.newline + " " * dash + "- " + rendered, depth))

    def remove(self, path: tuple) -> None:
        chain = self._walk(path)
        if len(chain) < len(path):
            return
        mapping, key, value = chain[-1]
        pairs = mapping.value
        index = next(i for i, (k, _) in enumerate(pairs) if k is key)
        start, end = self._entry_range(mapping, list(pairs), index, index, key.start_mark.index)
        self.splices.append(Splice(start, end, ""))

    def remove_items(self, path: tuple, indices: tuple) -> None:
        chain = self._walk(path)
        if len(chain) < len(path):
            return
        sequence = chain[-1][2]
        items = [(None, item) for item in sequence.value]
        for first, last in _runs(sorted(indices)):
            start_node = sequence.value[first]
            start = start_node.start_mark.index
            if not sequence.flow_style:
                dash = _dash_column(self.text, start_node)
                start = self._line_start(start) + (dash or 0)
            span = self._entry_range(sequence, items, first, last, start)
            self.splices.append(Splice(span[0], span[1], ""))

    # -- rendering ----------------------------------------------------------------------
    def finish(self) -> list:
        for kind, anchor, tree, depth in self._inserts.values():
            if kind == "mapping":
                self._insert_into_mapping(anchor, tree, depth)
            else:
                self._replace_null(anchor, tree, depth)
        return self.splices

    def _insert_into_mapping(self, mapping: MappingNode, tree: dict, depth: int) -> None:
        if mapping.flow_style:
            json_style = self._json_at(mapping)
            if not mapping.value:
                at = mapping.end_mark.index - 1
                self.splices.append(Splice(at, at, self._flow_entries(tree, json_style, None), depth))
                return
            last_value = mapping.value[-1][1]
            at = self._end(last_value)
            column = mapping.value[0][0].start_mark.column if self._multiline(mapping) else None
            text = self._flow_separator(mapping) + self._flow_entries(tree, json_style, column)
            self.splices.append(Splice(at, at, text, depth))
            return
        column = mapping.value[0][0].start_mark.column
        at = self._line_end(self._end(mapping.value[-1][1]))
        lines = self._block_lines(tree, column)
        self.splices.append(Splice(at, at, "".join(self.style.newline + line for line in lines), depth))

    def _replace_null(self, anchor, tree: dict, depth: int) -> None:
        parent, key, null = anchor
        if parent.flow_style:
            json_style = self._json_at(parent)
            self.splices.append(Splice(null.start_mark.index, null.end_mark.index,
                                       "{" + self._flow_entries(tree, json_style, None) + "}", depth))
            return
        if null.end_mark.index > null.start_mark.index:  # `~` or `null`, and the blanks before it
            start = null.start_mark.index
            while start > 0 and self.text[start - 1] in " \t":
                start -= 1
            self.splices.append(Splice(start, null.end_mark.index, "", depth))
        column = (key.start_mark.column if key is not None else _dash_column(self.text, null) or 0) + self.style.step
        at = self._line_end(key.end_mark.index if key is not None else null.start_mark.index)
        lines = self._block_lines(tree, column)
        self.splices.append(Splice(at, at, "".join(self.style.newline + line for line in lines), depth))

    def _block_lines(self, tree: dict, column: int) -> list:
        lines = []
        pad = " " * column
        for key, value in tree.items():
            if isinstance(value, dict):
                lines.append(f"{pad}{key}:")
                lines.extend(self._block_lines(value, column + self.style.step))
            elif isinstance(value, list):
                lines.append(f"{pad}{key}:")
                lines.extend(f"{' ' * (column + self.style.seq_indent)}- {self._scalar(item, '', False)}"
                             for item in value)
            else:
                lines.append(f"{pad}{key}: {self._scalar(value, '', False)}")
        return lines

    def _flow_entries(self, tree: dict, json_style: bool, column: Optional[int]) -> str:
        def render(value):
            if isinstance(value, dict):
                inner = ", ".join(f"{key_text(k)}: {render(v)}" for k, v in value.items())
                return "{" + inner + "}"
            if isinstance(value, list):
                return "[" + ", ".join(render(item) for item in value) + "]"
            return self._scalar(value, "", json_style)

        def key_text(key):
            return json.dumps(key) if json_style else key

        if column is not None and json_style:
            # Multi-line JSON: one key per line, nested objects laid out like json.dumps.
            pad = " " * column
            parts = []
            for key, value in tree.items():
                rendered = json.dumps(value, indent=self.style.step)
                rendered = rendered.replace("\n", self.style.newline + pad)
                parts.append(f"{json.dumps(key)}: {rendered}")
            return ("," + self.style.newline + pad).join(parts)
        separator = ("," + self.style.newline + " " * column) if column is not None else ", "
        return separator.join(f"{key_text(k)}: {render(v)}" for k, v in tree.items())

    def _scalar(self, value, style, json_style: bool) -> str:
        if json_style or style == '"':
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if style == "'":
            return "'" + value.replace("'", "''") + "'"
        if _PLAIN_SAFE.match(value) and value not in TRUE_WORDS | FALSE_WORDS | NULL_WORDS:
            return value
        return json.dumps(value)

    # -- text positions -----------------------------------------------------------------
    def _json_at(self, node: Node) -> bool:
        if isinstance(node, MappingNode) and node.value:
            return node.flow_style and node.value[0][0].style == '"'
        return bool(getattr(node, "flow_style", False)) and self.style.json

    def _end(self, node: Node) -> int:
        """Where the text of `node` ends (block collections end at their last leaf)."""
        while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
            node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
        end = node.end_mark.index
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            while end > node.start_mark.index and self.text[end - 1] in "\r\n":
                end -= 1
        return end

    def _line_end(self, index: int) -> int:
        newline = self.text.find("\n", index)
        if newline < 0:
            return len(self.text)
        return newline - 1 if newline > 0 and self.text[newline - 1] == "\r" else newline

    def _line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def _multiline(self, collection: Node) -> bool:
        first = collection.value[0][0] if isinstance(collection, MappingNode) else collection.value[0]
        return first.start_mark.line > collection.start_mark.line

    def _flow_separator(self, collection: Node) -> str:
        if self._multiline(collection):
            first = collection.value[0][0] if isinstance(collection, MappingNode) else collection.value[0]
            return "," + self.style.newline + " " * first.start_mark.column
        return ", "

    def _entry_range(self, collection: Node, entries: list, first: int, last: int, start: int):
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
            return start, end
        line_start = self._line_start(start)
        if self.text[line_start:start].strip() == "":
            stop = self._line_end(end)
            stop += len(self.style.newline) if stop < len(self.text) else 0
            if stop >= len(self.text) and line_start > 0:  # the last line: take the newline before it
                return line_start - len(self.style.newline), stop
            return line_start, stop
        # The entry shares its line with a `- ` (the first key of a list item).
        if last + 1 < len(entries):
            return start, entry_start(last + 1)
        raise Refused("removing the only key of a list item would leave an empty item; edit it by hand")


def _runs(indices: list):
    """Consecutive runs (first, last) of sorted indices."""
    runs = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return [tuple(run) for run in runs]


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
