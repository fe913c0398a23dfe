"""Unified diffs in git's format, which `git apply` and `patch -p1` accept.

difflib compares whole files in time that grows much faster than their size (minutes for
a 10 MB stream). A fix never adds, removes or moves a `---` line, so the files are
compared document by document and the pieces joined into one list of changes.
"""

from __future__ import annotations

import difflib
import os
import re

_SEPARATOR = re.compile(r"(---|\.\.\.)(\s|$)")
CONTEXT = 3


class _Opcodes(difflib.SequenceMatcher):
    """A SequenceMatcher that groups precomputed opcodes the way unified_diff does."""

    def __init__(self, opcodes: list):
        super().__init__(None, [], [])
        self.opcodes = opcodes

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


def _range(start: int, length: int) -> str:
    beginning = start + 1
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def git_diff(path: str, old: str, new: str) -> str:
    if old == new:
        return ""
    name = os.path.normpath(os.path.relpath(path) if os.path.isabs(path) else path).replace(os.sep, "/")
    a, b = old.splitlines(True), new.splitlines(True)
    out = [f"diff --git a/{name} b/{name}\n", f"--- a/{name}\n", f"+++ b/{name}\n"]
    for group in _Opcodes(_opcodes(a, b)).get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2] - first[1])} +{_range(first[3], last[4] - first[3])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(_line(" ", line) for line in a[i1:i2])
                continue
            out.extend(_line("-", line) for line in a[i1:i2])
            out.extend(_line("+", line) for line in b[j1:j2])
    return "".join(out)


def _line(prefix: str, line: str) -> str:
    if line.endswith("\n"):
        return prefix + line
    return prefix + line + "\n\\ No newline at end of file\n"  # git's marker
