"""Unified diffs in git's format, which `git apply` and `patch -p1` accept."""

from __future__ import annotations

import difflib
import os


def git_diff(path: str, old: str, new: str) -> str:
    if old == new:
        return ""
    name = os.path.normpath(os.path.relpath(path) if os.path.isabs(path) else path).replace(os.sep, "/")
    lines = [f"diff --git a/{name} b/{name}\n"]
    for line in difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{name}", f"b/{name}"):
        if line.startswith(("---", "+++")):
            line = line.rstrip("\n") + "\n"
        if not line.endswith("\n"):
            # git's marker for a last line with no newline
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)
