"""Unified diffs in git's format, which `git apply` and `patch -p1` accept.

difflib compares whole files in time that grows much faster than their size (minutes for
a 10 MB stream). A fix never adds, removes or moves a `---` line, so the files are
compared document by document and the pieces joined into one list of changes.

A fix changes a few documents of many: where every line ends at `\n` (or `\r\n`), the
documents are found and compared as text, and only the changed ones are split into lines
for difflib (_text_opcodes); the opcodes, and so the diff, are the same as from the lines.

`fix` itself knows what it changed: its opcodes come from its splices (spliced_opcodes), the
lines each one touched less those that read as before, with no comparison at all. Where a
line could go either side of an identical one, that diff may place it otherwise than
difflib would; both apply the same.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re

_SEPARATOR = re.compile(r"(---|\.\.\.)(\s|$)")
# The line breaks str.splitlines() takes besides \n and \r\n (and a lone \r).
_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _splits_at_newlines(text: str) -> bool:
    """Whether text.splitlines(True) cuts text after each \\n and nowhere else (a search
    per character: several times faster than one regular expression)."""
    if any(other in text for other in _OTHER_BREAKS):
        return False
    return "\r" not in text or text.count("\r") == text.count("\r\n")
CONTEXT = 3


class _Opcodes(difflib.SequenceMatcher):
    """A SequenceMatcher that groups precomputed opcodes the way unified_diff does."""

    def __init__(self, opcodes: list):
        super().__init__(None, [], [])
        self.opcodes = list(opcodes)  # get_grouped_opcodes trims the first and last in place

    def get_opcodes(self):
        return self.opcodes


def _pieces(lines: list) -> list:
    starts = [0] + [i for i, line in enumerate(lines) if i and _SEPARATOR.match(line)] + [len(lines)]
    return list(zip(starts, starts[1:]))


def _opcodes(old: list, new: list) -> list:
    old_pieces, new_pieces = _pieces(old), _pieces(new)
    if len(old_pieces) != len(new_pieces):
        return difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    out = []
    for (a1, a2), (b1, b2) in zip(old_pieces, new_pieces):
        if old[a1:a2] == new[b1:b2]:
            out.append(("equal", a1, a2, b1, b2))
            continue
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old[a1:a2], new[b1:b2], autojunk=False).get_opcodes():
            out.append((tag, i1 + a1, i2 + a1, j1 + b1, j2 + b1))
    merged: list[tuple[str, int, int, int, int]] = []  # neighbouring equal runs from different pieces become one
    for op in out:
        if merged and op[0] == "equal" and merged[-1][0] == "equal":
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        else:
            merged.append(op)
    return merged


def _separator_offsets(text: str) -> list:
    """Where the lines that _pieces starts a piece at begin (never the first line), for text
    whose lines all end at \\n."""
    found = []
    for marker in ("\n---", "\n..."):
        at = text.find(marker)
        while at >= 0:
            if _SEPARATOR.match(text, at + 1):
                found.append(at + 1)
            at = text.find(marker, at + 1)
    found.sort()
    return found


class _TextLines:
    """The lines of a text, split piece by piece when asked for: text.splitlines(True) for a
    text whose lines all end at \\n."""

    def __init__(self, text: str, offsets: list):
        self.text = text
        self.offsets = [0, *offsets, len(text)]  # where each piece starts; the end
        self.lines = [0]  # the line each piece starts at; then how many lines there are
        for start, end in zip(self.offsets, self.offsets[1:]):
            self.lines.append(self.lines[-1] + text.count("\n", start, end))
        if text and not text.endswith("\n"):
            self.lines[-1] += 1
        self.split: dict = {}

    def piece(self, index: int) -> list:
        found = self.split.get(index)
        if found is None:
            found = self.split[index] = self.text[self.offsets[index]:self.offsets[index + 1]].splitlines(True)
        return found

    def __len__(self) -> int:
        return self.lines[-1]

    def __getitem__(self, where: slice) -> list:
        start, stop = where.start, where.stop
        out: list = []
        index = bisect.bisect_right(self.lines, start) - 1
        while start < stop:
            first = self.lines[index]
            lines = self.piece(index)[start - first:stop - first]
            out += lines
            start += len(lines)
            index += 1
        return out


def _text_opcodes(old: str, new: str):
    """(opcodes as _opcodes gives them for the lines, the old lines, the new lines), or None
    when a text has a line break other than \\n and \\r\\n, or the texts have different
    numbers of pieces (then _opcodes compares the whole)."""
    if not (_splits_at_newlines(old) and _splits_at_newlines(new)):
        return None
    a_offsets, b_offsets = _separator_offsets(old), _separator_offsets(new)
    if len(a_offsets) != len(b_offsets):
        return None
    a, b = _TextLines(old, a_offsets), _TextLines(new, b_offsets)
    merged: list[tuple[str, int, int, int, int]] = []
    for index in range(len(a.offsets) - 1):
        a1, a2, b1, b2 = a.lines[index], a.lines[index + 1], b.lines[index], b.lines[index + 1]
        if old[a.offsets[index]:a.offsets[index + 1]] == new[b.offsets[index]:b.offsets[index + 1]]:
            if merged and merged[-1][0] == "equal":
                merged[-1] = ("equal", merged[-1][1], a2, merged[-1][3], b2)
            else:
                merged.append(("equal", a1, a2, b1, b2))
            continue
        matcher = difflib.SequenceMatcher(None, a.piece(index), b.piece(index), autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal" and merged and merged[-1][0] == "equal":
                merged[-1] = ("equal", merged[-1][1], i2 + a1, merged[-1][3], j2 + b1)
            else:
                merged.append((tag, i1 + a1, i2 + a1, j1 + b1, j2 + b1))
    return merged, a, b


def _range(start: int, length: int) -> str:
    beginning = start + 1
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def opcodes(old: str, new: str) -> list:
    """The line opcodes git_diff finds for the texts: where the fix ran, so that the
    process that renders the diff need not compare them (git_diff's `opcodes`)."""
    fast = _text_opcodes(old, new)
    return _opcodes(old.splitlines(True), new.splitlines(True)) if fast is None else fast[0]


def splits_at_newlines(text: str) -> bool:
    """Whether text.splitlines(True) cuts text after each \\n and nowhere else, so that
    lines counted with str.count("\\n") are git_diff's lines."""
    return _splits_at_newlines(text)


def spliced_opcodes(old: str, splices: list) -> list | None:
    """The line opcodes from `old` to apply_splices(old, splices), found from where the
    splices are instead of by comparing lines (a fix knows what it changed; difflib cost a
    fourteenth of all a fix's work): the lines each splice touches are changed, less those
    at either end that read as before. None when a text has a line break other than \\n and
    \\r\\n (then compare the texts: opcodes())."""
    if not _splits_at_newlines(old):
        return None
    ordered = sorted(splices, key=lambda s: (s.start, s.end, -s.depth))  # as apply_splices
    out: list[tuple[str, int, int, int, int]] = []
    a_at = b_at = 0  # lines of old and new before the next region
    a_pos = 0  # where in old those lines end
    at = 0
    while at < len(ordered):
        start = old.rfind("\n", 0, ordered[at].start) + 1  # the region starts at a line start
        first, at = at, at + 1
        while True:
            end = ordered[at - 1].end
            pieces, position = [], start
            for splice in ordered[first:at]:
                pieces += [old[position:splice.start], splice.text]
                position = splice.end
            new = "".join(pieces)
            # ... and ends at a line end, in old and in new
            if not (end == len(old) or (end > start and old[end - 1] == "\n" or end == start)
                    and (not new or new.endswith("\n"))):
                end = old.find("\n", end) + 1 or len(old)
                new += old[position:end]
            if at < len(ordered) and ordered[at].start <= end:
                at += 1  # the next splice touches the region's lines: one region
                continue
            break
        if not _splits_at_newlines(new):
            return None
        a_lines, b_lines = old[start:end].splitlines(True), new.splitlines(True)
        a_first = a_at + old.count("\n", a_pos, start)
        b_first = b_at + (a_first - a_at)
        same = 0
        while same < len(a_lines) and same < len(b_lines) and a_lines[same] == b_lines[same]:
            same += 1
        tail = 0
        while tail < len(a_lines) - same and tail < len(b_lines) - same and a_lines[-1 - tail] == b_lines[-1 - tail]:
            tail += 1
        i1, i2 = a_first + same, a_first + len(a_lines) - tail
        j1, j2 = b_first + same, b_first + len(b_lines) - tail
        if i1 < i2 or j1 < j2:
            if out and out[-1][0] != "equal" and out[-1][2] == i1:
                i1, j1 = out.pop()[1::2]  # right after the previous change: one change
            else:
                _add_equal(out, a_at, i1, b_at, j1)
            out.append(("replace" if i1 < i2 and j1 < j2 else "delete" if i1 < i2 else "insert", i1, i2, j1, j2))
            a_pos, a_at, b_at = start + sum(map(len, a_lines[:len(a_lines) - tail])), i2, j2
    old_lines = line_count(old)
    _add_equal(out, a_at, old_lines, b_at, b_at + old_lines - a_at)
    return out


def _add_equal(out: list, i1: int, i2: int, j1: int, j2: int) -> None:
    if i1 >= i2:
        return
    if out and out[-1][0] == "equal":
        out[-1] = ("equal", out[-1][1], i2, out[-1][3], j2)
    else:
        out.append(("equal", i1, i2, j1, j2))


def join_opcodes(parts: list, old_lines: int, new_lines: int) -> list:
    """The opcodes of a whole text from (the line the part starts at in the old text and in
    the new, its opcodes) of each changed part, in order, the lines between them equal;
    `old_lines`, `new_lines`: how many lines the texts have."""
    merged: list[tuple[str, int, int, int, int]] = []

    def add(op: tuple) -> None:
        if op[0] == "equal" and merged and merged[-1][0] == "equal":
            merged[-1] = ("equal", merged[-1][1], op[2], merged[-1][3], op[4])
        elif op[1] < op[2] or op[3] < op[4] or op[0] != "equal":
            merged.append(op)

    a_at = b_at = 0
    for a_start, b_start, ops in parts:
        add(("equal", a_at, a_start, b_at, b_start))
        for tag, i1, i2, j1, j2 in ops:
            add((tag, i1 + a_start, i2 + a_start, j1 + b_start, j2 + b_start))
        a_at, b_at = merged[-1][2], merged[-1][4]
    add(("equal", a_at, old_lines, b_at, new_lines))
    return merged


def line_count(text: str) -> int:
    """len(text.splitlines()) for a text that splits_at_newlines."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _blocks(text: str, size: int = 1 << 16) -> list:
    """Line starts about `size` characters apart: pieces for _TextLines to split lazily."""
    offsets, at = [], size
    while at < len(text):
        found = text.find("\n", at)
        if found < 0 or found + 1 >= len(text):
            break
        offsets.append(found + 1)
        at = found + 1 + size
    return offsets


def git_diff(path: str, old: str, new: str, opcodes: list | None = None, bodies: dict | None = None) -> str:
    """With `opcodes` (opcodes(old, new), found elsewhere), the lines are split only where
    the diff shows them; with `bodies` (hunk_bodies of parts of the texts), only for the hunks
    they lack."""
    if old == new:
        return ""
    name = os.path.normpath(os.path.relpath(path) if os.path.isabs(path) else path).replace(os.sep, "/")
    lines = None  # (old's, new's), split where a hunk is made here
    if opcodes is None:
        fast = _text_opcodes(old, new)
        if fast is not None:
            opcodes, lines = fast[0], fast[1:]
        else:
            lines = old.splitlines(True), new.splitlines(True)
            opcodes = _opcodes(*lines)
    out = [f"diff --git a/{name} b/{name}\n", f"--- a/{name}\n", f"+++ b/{name}\n"]
    for group in _Opcodes(opcodes).get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2] - first[1])} +{_range(first[3], last[4] - first[3])} @@\n")
        body = bodies.get((first[1], last[2])) if bodies else None
        if body is None:
            lines = lines or _lines(old, new)
            body = _body(group, *lines)
        out.append(body)
    return "".join(out)


def _lines(old: str, new: str) -> tuple:
    if _splits_at_newlines(old) and _splits_at_newlines(new):
        return _TextLines(old, _blocks(old)), _TextLines(new, _blocks(new))
    return old.splitlines(True), new.splitlines(True)


def hunk_bodies(old: str, new: str, opcodes: list, line: int = 0) -> dict:
    """{(its first old line, the old line after it): its lines} of each hunk git_diff makes of
    the opcodes of a part of two texts (every line ends at \\n or \\r\\n), with old lines
    counted from `line`: rendered in the process that fixed the part. A hunk of the whole
    that spans the same old lines has the same lines; one cut short at the part's start or
    end (context, or a change close by in the next part) spans others, and git_diff makes it."""
    a, b = _TextLines(old, _blocks(old)), _TextLines(new, _blocks(new))
    return {(group[0][1] + line, group[-1][2] + line): _body(group, a, b)
            for group in _Opcodes(opcodes).get_grouped_opcodes(CONTEXT)}


def _body(group: list, a, b) -> str:
    lines = _joined if isinstance(a, _TextLines) else _each
    out = []
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            out.append(lines(" ", a[i1:i2]))
            continue
        out.append(lines("-", a[i1:i2]))
        out.append(lines("+", b[j1:j2]))
    return "".join(out)


def _each(prefix: str, lines: list) -> str:
    return "".join(_line(prefix, line) for line in lines)


def _joined(prefix: str, lines: list) -> str:
    """_each for lines of a text that splits_at_newlines: each ends with \\n but the text's
    last, so the prefix goes between them."""
    if not lines:
        return ""
    if lines[-1].endswith("\n"):
        return prefix + prefix.join(lines)
    return prefix + prefix.join(lines) + "\n\\ No newline at end of file\n"


def _line(prefix: str, line: str) -> str:
    if line.endswith("\n"):
        return prefix + line
    return prefix + line + "\n\\ No newline at end of file\n"  # git's marker
