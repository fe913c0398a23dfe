"""`check`'s report for people: one line per object, its findings at the next level up, a
summary line and what to run next."""

from __future__ import annotations

import shlex
from collections import Counter

from kubectl_podsec.levels import Level
from kubectl_podsec.model import RunResult
from kubectl_podsec.reports.terminal import Paint

LEVEL_COLOURS = {Level.RESTRICTED: "green", Level.BASELINE: "yellow", Level.PRIVILEGED: "red"}
NEXT_LEVEL = {Level.PRIVILEGED: Level.BASELINE, Level.BASELINE: Level.RESTRICTED}


def render_text(run: RunResult, paint: Paint) -> str:
    """`paint(text, colour)` adds colour or not; the CLI decides."""
    lines = []
    for obj in run.objects:
        where = where_text(obj.source, obj.line, obj.column)
        namespace = f" ({obj.namespace})" if obj.namespace else ""
        highest = obj.highest
        pods = f" [{obj.live.pods} pods]" if obj.live is not None and obj.live.pods > 1 else ""
        enforce = obj.live.mode("enforce") if obj.live is not None else None
        verdict = ""
        if enforce:
            # Enforce applies to Pods only: the server admits a workload object itself, and
            # denies the pods its controller creates.
            subject = "" if obj.kind == "Pod" else "its pods would be "
            verdict = f"; namespace enforces {enforce.level}:{enforce.version}: {subject}" + \
                ("allowed" if enforce.passes else paint("denied", "red"))
        template = f" [from {obj.template}]" if obj.template else ""
        effective = obj.effective_highest
        if effective != highest:
            # "baseline" alone would read as the level: name the baseline file.
            by = {f.suppressed.by for f in obj.findings if f.suppressed}
            why = " and ".join(part for part, kinds in (("exemptions", {"exemption", "admission"}),
                                                        ("the baseline file", {"baseline"})) if by & kinds)
            verdict += f" ({effective} with {why})"
        lines.append(f"{where}: {obj.kind}/{obj.name}{namespace}{pods}{template}: "
                     f"highest={paint(str(highest), LEVEL_COLOURS[highest])}{verdict}")
        next_level = NEXT_LEVEL.get(highest)
        shown = [f for f in obj.findings if next_level and f.level == next_level]
        for finding in shown:
            first = finding.first
            location = where_text(obj.source, first.line, first.column) + ": " if first.line is not None else ""
            suppressed = finding.suppressed
            note = f" [{suppressed.by}: {suppressed.reason}]" if suppressed else ""
            lines.append(f"  {location}{paint(finding.check, 'bold')}: {finding.reason} "
                         f"({finding.detail}){note}")
            lines.append(f"      at {first.field}")
        hidden = len(obj.findings) - len(shown)
        if hidden and shown:
            lines.append(f"  (+{hidden} more at stricter levels; -o json lists them)")
    lines.append(summary_line(run))
    lines += next_steps(run)
    return "\n".join(lines) + "\n"


def next_steps(run: RunResult) -> list:
    """What to run next for the findings shown: fix them (a dry run first), explain a check."""
    failing = run.failing
    if not failing:
        return []
    gate = run.gate
    level = "" if gate == Level.RESTRICTED else f" --level {gate}"
    first = failing[0]
    if first.source == "cluster":
        namespace = f" -n {shlex.quote(first.namespace)}" if first.namespace else ""
        fix = f"kubectl podsec fix {first.kind.lower()}/{shlex.quote(first.name)}{namespace}{level}"
    else:
        files = list(dict.fromkeys(obj.source for obj in failing if not obj.source.startswith("kustomize:")))
        if not files:
            fix = None  # what kustomize renders is fixed in its resources, not here
        else:
            shown = " ".join("-f " + shlex.quote(f) for f in files[:3]) + (" ..." if len(files) > 3 else "")
            fix = f"kubectl podsec fix --dry-run{level} {shown}"
    check = next((f.check for obj in failing for f in obj.findings
                  if not f.suppressed and f.level <= gate), None)
    steps = []
    if fix:
        steps.append(f"Next: `{fix}` shows the fixes")
    if check:
        steps.append(f"{'Then' if fix else 'Next'}: `kubectl podsec explain {check}` explains a check")
    return steps


def summary_line(run: RunResult) -> str:
    counts = Counter(obj.highest for obj in run.objects)
    parts = [f"{count(len(run.objects), 'workload')}: {counts[Level.RESTRICTED]} restricted, "
             f"{counts[Level.BASELINE]} baseline, {counts[Level.PRIVILEGED]} privileged"]
    parts.append(f"{len(run.failing)} below {run.gate}")
    if run.skipped:
        parts.append(f"{count(len(run.skipped), 'other object')} skipped")
    if run.errors:
        parts.append(count(len(run.errors), "error"))
    return "; ".join(parts) + f" (policy {run.policy_version})"


def where_text(source: str, line: int | None, column: int | None) -> str:
    if line is None:
        return source
    return f"{source}:{line}" + (f":{column}" if column is not None else "")


def count(number: int, noun: str) -> str:
    """`1 workload`, `2 workloads`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
