"""Small helpers over the text being patched: line bounds, runs of indices, and scalars
written so that YAML reads them back as the same value."""

from __future__ import annotations

import json
import re

from kubectl_podsec.yamlnodes import FALSE_WORDS, NULL_WORDS, TRUE_WORDS

_PLAIN_SAFE = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")


def line_end(text: str, index: int) -> int:
    """Where the line holding `index` ends, before its line break (CRLF or LF)."""
    newline = text.find("\n", index)
    if newline < 0:
        return len(text)
    return newline - 1 if newline > 0 and text[newline - 1] == "\r" else newline


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def render_scalar(value, style, json_style: bool) -> str:
    """`value` as YAML (or JSON) text, in the quoting style of the node it replaces."""
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


def runs(indices: list) -> list[tuple[int, ...]]:
    """Consecutive runs (first, last) of sorted indices."""
    found: list[list[int]] = []
    for index in indices:
        if found and found[-1][1] == index - 1:
            found[-1][1] = index
        else:
            found.append([index, index])
    return [tuple(run) for run in found]


def comments_in(text: str, start: int, end: int, scalars: list) -> list:
    """(where it starts, where it ends) of each comment in text[start:end]: a `#` after a
    blank or a line break that no scalar's text (start, end) holds, to the end of its line."""
    found: list[tuple[int, int]] = []
    at = start
    while True:
        at = text.find("#", at, end)
        if at < 0:
            return found
        inside = next((stop for first, stop in scalars if first <= at < stop), None)
        if inside is not None:
            at = inside
        elif at > 0 and text[at - 1] not in " \t\r\n":
            at += 1
        else:
            stop = line_end(text, at)
            found.append((at, stop))
            at = stop


def line_break_after(text: str, index: int) -> str:
    """The line break that ends the line holding `index` ("" at the end of the text)."""
    end = line_end(text, index)
    return text[end:end + 2] if text.startswith("\r\n", end) else text[end:end + 1]
