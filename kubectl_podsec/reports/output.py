"""Which renderer `-o` chooses, for each command: the results in, the text to print out.
Each renderer is imported only when chosen (the CI formats import xml and hashlib)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from kubectl_podsec.levels import Level
from kubectl_podsec.model import (
    AuditResult,
    CompareResult,
    FixResult,
    NamespacesResult,
    ObjectVerdict,
    PlanResult,
    RunResult,
)
from kubectl_podsec.reports.terminal import Paint

# Formats whose report can be written object by object, as the objects are judged.
STREAMED = ("json", "yaml", "text")


def data_text(output: str, data: dict) -> str:
    from kubectl_podsec.reports.data import render_json, render_yaml

    return render_json(data) if output == "json" else render_yaml(data)


def check_report(run: RunResult, output: str, paint: Paint) -> str:
    if output in ("json", "yaml"):
        from kubectl_podsec.reports.data import check_data

        return data_text(output, check_data(run))
    if output == "sarif":
        from kubectl_podsec.checks import ALL_CHECKS
        from kubectl_podsec.reports.sarif import render_sarif

        return render_sarif(run, ALL_CHECKS)
    if output == "junit":
        from kubectl_podsec.reports.junit import render_junit

        return render_junit(run)
    if output == "github":
        from kubectl_podsec.reports.github import render_github

        return render_github(run)
    from kubectl_podsec.reports.text import render_text

    return render_text(run, paint)


def file_parts(output: str, paint: Paint, gate: Level) -> Callable[[ObjectVerdict], tuple]:
    """How an object of a file is held once judged, by the worker that judged it (a STREAMED
    format): its text and the Brief the summary counts; for json and yaml its text in two
    parts around its document, which is counted from the start of its part of the stream."""
    from kubectl_podsec.reports import data, text

    if output == "text":
        return lambda obj: (text.object_text(obj, paint), text.brief(obj, gate))
    parts = data.object_json_parts if output == "json" else data.object_yaml_parts
    return lambda obj: (obj.document, *parts(obj, "document"))


def file_pieces(output: str, head: RunResult, entries: Iterable[tuple], tail: Callable[[], RunResult]) -> Iterator[str]:
    """check_report in pieces from (file_parts(object), document offset) entries, each
    written as it comes: the same text without holding the objects. `head` is the run before
    its objects, `tail()` after them."""
    from kubectl_podsec.reports import data, text

    if output == "text":
        return text.check_text_pieces(head.gate, (kept for kept, _ in entries), tail)
    texts = (before + _document(document, offset) + after for (document, before, after), offset in entries)
    return (data.check_json_pieces if output == "json" else data.check_yaml_pieces)(head, texts, tail)


def _document(document: int | None, offset: int) -> str:
    return "null" if document is None else str(document + offset)  # as json and yaml write them


def live_parts(output: str, paint: Paint, gate: Level) -> Callable[[ObjectVerdict], tuple]:
    """How a live object is held until its pod count is known: its text in two parts, before
    and after the count (and, for text, the Brief the summary counts)."""
    from kubectl_podsec.reports import data, text

    if output == "text":
        return lambda obj: text.object_text_parts(obj, paint, gate)
    return data.object_json_parts if output == "json" else data.object_yaml_parts


def live_pieces(output: str, run: RunResult, entries: Iterable[tuple]) -> Iterator[str]:
    """check_report of the cluster from (live_parts(object), pods) entries, in the objects'
    order: the same text as the whole run's report."""
    from kubectl_podsec.reports import data, text

    if output == "text":
        lines = ((head + text.pods_text(pods) + tail, brief) for (head, tail, brief), pods in entries)
        return text.check_text_pieces(run.gate, lines, lambda: run)
    texts = (head + str(pods) + tail for (head, tail), pods in entries)
    return (data.check_json_pieces if output == "json" else data.check_yaml_pieces)(run, texts, lambda: run)


def fix_report(run: FixResult, output: str, paint: Paint) -> str:
    """`fix -o json`, or the unified diff of what it changed (coloured for a terminal)."""
    if output == "json":
        from kubectl_podsec.reports.fix import fix_data

        return data_text("json", fix_data(run))
    from kubectl_podsec.reports.diff import render_diff
    from kubectl_podsec.reports.terminal import colour_diff

    return colour_diff(render_diff(run), paint)


def live_fix_report(run: FixResult, manifest: dict | None, output: str, paint: Paint) -> str:
    """`fix TYPE/NAME`: the fixed object (-o yaml), a patch for `kubectl patch` (-o patch), or
    as for files."""
    [text] = run.texts
    if output == "yaml":
        return text.after
    if output == "patch":
        from kubectl_podsec.reports.patch import render_patch

        assert manifest is not None  # a fix result comes with the object it fixed
        return render_patch(manifest, text.after)
    return fix_report(run, output, paint)


def namespaces_report(run: NamespacesResult, output: str, paint: Paint) -> str:
    from kubectl_podsec.reports.namespaces import namespaces_data, render_namespaces

    if output in ("json", "yaml"):
        return data_text(output, namespaces_data(run.summaries))
    if not run.summaries and run.errors:
        return ""  # nothing read: the error alone, no empty table
    return render_namespaces(run.summaries, paint)


def compare_report(result: CompareResult, output: str) -> str:
    from kubectl_podsec.reports import compare

    return compare.render_text(result) if output == "text" else data_text(output, compare.compare_data(result))


def plan_report(result: PlanResult, output: str) -> str:
    from kubectl_podsec.reports import plan

    if output == "json":
        return data_text("json", plan.plan_data(result))
    return (plan.render_markdown if output == "markdown" else plan.render_text)(result)


def audit_report(result: AuditResult, output: str) -> str:
    from kubectl_podsec.reports import audit

    return data_text("json", audit.audit_data(result)) if output == "json" else audit.render_text(result)
