"""What the CI formats share: which findings they report, where an object is, and titles.

All of them report the findings at the gate level or below (`RunResult.gated`): those that
set the exit code to 1, and those suppressed (by an exemption or a baseline), which stay
visible without failing: SARIF marks them with `suppressions`, JUnit lists them in the test
case's output, GitHub gets a notice instead of an error.
"""

from __future__ import annotations

import os

from kubectl_podsec.model import Finding, ObjectVerdict

# Objects read from a live cluster (live.SOURCE) and stdin without --stdin-filename have no
# file to point at.
NO_FILE_SOURCES = ("cluster", "-")
KUSTOMIZE_PREFIX = "kustomize:"


def suppression_note(finding: Finding) -> str:
    suppressed = finding.suppressed
    if suppressed is None:
        return ""
    return f"suppressed by {suppressed.by}" + (f": {suppressed.reason}" if suppressed.reason else "")


def has_file(source: str, document: int | None = 0) -> bool:
    # A live object has no document index; its source is a label, not a path.
    return source not in NO_FILE_SOURCES and document is not None


def relative_path(source: str, root: str) -> str | None:
    """`source` relative to `root` with forward slashes, or None when it lies outside."""
    try:
        relative = os.path.relpath(os.path.abspath(source), os.path.abspath(root))
    except ValueError:  # another drive, on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def display_path(source: str, root: str) -> str:
    return relative_path(source, root) or source.replace(os.sep, "/")


def object_title(obj: ObjectVerdict) -> str:
    namespace = f" ({obj.namespace})" if obj.namespace else ""
    template = f" [from {obj.template}]" if obj.template else ""  # helm template output
    return f"{obj.kind}/{obj.name}{namespace}{template}"


def position(obj: ObjectVerdict, finding: Finding | None) -> tuple:
    """(line, column) of the finding, else of its object; (None, None) when unknown."""
    if finding is not None and finding.first.line is not None:
        return finding.first.line, finding.first.column
    return obj.line, obj.column
