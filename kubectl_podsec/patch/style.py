"""The layout a document already has, which new text follows: line endings, the
indentation step, flush or indented sequences, JSON and minified JSON."""

from __future__ import annotations

from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, SequenceNode


@dataclass(frozen=True)
class Style:
    newline: str = "\n"
    step: int = 2  # indentation of a nested block mapping
    seq_indent: int = 0  # dash column minus the parent key's column (0: flush sequences)
    json: bool = False
    compact: bool = False  # JSON without blanks after `:` and `,` (minified)


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
                    dash = dash_column(text, value.value[0])
                    if dash is not None and value.value[0].start_mark.line > key.start_mark.line:
                        seq_indent = dash - key.start_mark.column
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    compact = isinstance(root, MappingNode) and bool(is_json) and is_compact(text, root)
    return Style(newline, step if step and step > 0 else 2, max(seq_indent or 0, 0), bool(is_json), compact)


def is_compact(text: str, mapping: MappingNode) -> bool:
    """Is this flow mapping written without a blank after its first `:`?"""
    key, value = mapping.value[0]
    return text[key.end_mark.index:value.start_mark.index] == ":"


def dash_column(text: str, item: Node) -> int | None:
    line_start = text.rfind("\n", 0, item.start_mark.index) + 1
    dash = text.rfind("-", line_start, item.start_mark.index)
    return None if dash < 0 else dash - line_start
