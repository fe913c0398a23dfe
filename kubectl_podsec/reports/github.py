"""GitHub Actions workflow commands for `check -o github`."""

from __future__ import annotations

from collections.abc import Iterator

from kubectl_podsec.model import RunResult
from kubectl_podsec.reports.common import display_path, has_file, object_title, position, suppression_note


def escape_data(text: str) -> str:
    """As @actions/core escapes a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """As @actions/core escapes a command's property values."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, properties: dict) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items()
                     if value is not None)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def github_lines(run: RunResult, root: str = ".") -> Iterator[str]:
    for obj in run.objects:
        in_file = has_file(obj.source, obj.document)
        for finding in run.gated(obj):
            line, column = position(obj, finding)
            place = {"file": display_path(obj.source, root), "line": line, "col": column} if in_file else {}
            message = f"{object_title(obj)}: {finding.reason} ({finding.detail})"
            if finding.suppressed:
                yield workflow_command("notice", f"{message}; {suppression_note(finding)}",
                                       {**place, "title": f"podsec {finding.check} (suppressed)"})
            else:
                yield workflow_command("error", message, {**place, "title": f"podsec {finding.check}"})
    for error in run.errors:
        if has_file(error.source):
            place = {"file": display_path(error.source, root), "line": error.line, "col": error.column}
            message = error.message
        else:
            place, message = {}, f"{error.source}: {error.message}"
        yield workflow_command("error", message, {**place, "title": "podsec input error"})


def render_github(run: RunResult, root: str = ".") -> str:
    """GitHub Actions workflow commands for `check -o github`: an `::error` annotation per
    violation that keeps a workload from the gate (a `::notice` if it is suppressed), and per
    unreadable input. File paths are relative to `root` (GitHub resolves them from the
    repository root)."""
    return "".join(line + "\n" for line in github_lines(run, root))
