"""`check`'s report for people: one line per object, its findings at the next level up, a
summary line and what to run next."""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from kubectl_podsec.levels import Level
from kubectl_podsec.model import ObjectVerdict, RunResult
from kubectl_podsec.paths import file_location
from kubectl_podsec.reports.terminal import Paint

LEVEL_COLOURS = {Level.RESTRICTED: "green", Level.BASELINE: "yellow", Level.PRIVILEGED: "red"}
NEXT_LEVEL = {Level.PRIVILEGED: Level.BASELINE, Level.BASELINE: Level.RESTRICTED}


def render_text(run: RunResult, paint: Paint) -> str:
    """`paint(text, colour)` adds colour or not; the CLI decides."""
    return "".join(check_text_stream(run.gate, run.objects, lambda: run, paint))


def check_text_stream(gate: Level, objects: Iterable[ObjectVerdict], tail: Callable[[], RunResult],
                      paint: Paint) -> Iterator[str]:
    """render_text(run) in pieces, each object's lines as it comes from `objects`: the same
    text without holding the objects. `tail()`, called once they are all out, is the run with
    what comes after them (its skipped objects and errors; its objects are not read)."""
    return check_text_pieces(gate, ((object_text(obj, paint), obj) for obj in objects), tail)


def object_text(obj: ObjectVerdict, paint: Paint) -> str:
    return "\n".join(object_lines(obj, paint)) + "\n"


def check_text_pieces(gate: Level, entries: Iterable[tuple[str, ObjectVerdict | Brief]],
                      tail: Callable[[], RunResult]) -> Iterator[str]:
    """check_text_stream of (lines, object or its Brief) pairs, the lines already written."""
    tally = Tally(gate)
    for text, obj in entries:
        tally.add(obj)
        yield text
    run = tail()
    yield "\n".join([summary_line(run, tally)] + next_steps(run, tally)) + "\n"


_PODS = "\0"  # where a live object's pod count goes: nothing before it in its line holds a NUL


def object_text_parts(obj: ObjectVerdict, paint: Paint, gate: Level) -> tuple:
    """A live object's lines in two parts, before and after its pod count (pods_text), which is
    known last; and its Brief."""
    head, _, tail = "\n".join(object_lines(obj, paint, _PODS)).partition(_PODS)
    return head, tail + "\n", brief(obj, gate)


def pods_text(pods: int) -> str:
    return f" [{pods} pods]" if pods > 1 else ""


class Brief(NamedTuple):
    """What Tally reads of an object: its first finding that fails the gate unsuppressed."""

    source: str
    kind: str
    namespace: str
    name: str
    highest: Level
    effective_highest: Level
    findings: tuple


def brief(obj: ObjectVerdict, gate: Level) -> Brief:
    first = next((f for f in obj.findings if not f.suppressed and f.level <= gate), None)
    return Brief(obj.source, obj.kind, obj.namespace, obj.name, obj.highest, obj.effective_highest,
                 (first,) if first else ())


def object_lines(obj: ObjectVerdict, paint: Paint, pods: str | None = None) -> list:
    """An object's line and its findings at the next level up; `pods` in place of its pod count."""
    lines = []
    where = file_location(obj.source, obj.line, obj.column)
    namespace = f" ({obj.namespace})" if obj.namespace else ""
    highest = obj.highest
    if pods is None:
        pods = pods_text(obj.live.pods) if obj.live is not None else ""
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
        location = file_location(obj.source, first.line, first.column) + ": " if first.line is not None else ""
        suppressed = finding.suppressed
        note = f" [{suppressed.by}: {suppressed.reason}]" if suppressed else ""
        lines.append(f"  {location}{paint(finding.check, 'bold')}: {finding.reason} "
                     f"({finding.detail}){note}")
        lines.append(f"      at {first.field}")
    hidden = len(obj.findings) - len(shown)
    if hidden and shown:
        lines.append(f"  (+{hidden} more at stricter levels; -o json lists them)")
    return lines


class Tally:
    """What the summary and the next steps need of the objects, counted as they go by."""

    def __init__(self, gate: Level):
        self.gate = gate
        self._gate = RunResult("", gate)  # its fails() is the gate
        self.objects = 0
        self.highest: Counter[Level] = Counter()
        self.failing = 0
        self.first_failing: ObjectVerdict | Brief | None = None
        self.files: list[str] = []  # the first four distinct files of failing objects (three are named)
        self.check: str | None = None  # the first failing finding's check that is not suppressed

    def add(self, obj: ObjectVerdict | Brief) -> None:
        self.objects += 1
        self.highest[obj.highest] += 1
        if not self._gate.fails(obj):
            return
        self.failing += 1
        if self.first_failing is None:
            self.first_failing = obj
        if len(self.files) < 4 and not obj.source.startswith("kustomize:") and obj.source not in self.files:
            self.files.append(obj.source)
        if self.check is None:
            self.check = next((f.check for f in obj.findings if not f.suppressed and f.level <= self.gate), None)


def _tally(run: RunResult) -> Tally:
    tally = Tally(run.gate)
    for obj in run.objects:
        tally.add(obj)
    return tally


def next_steps(run: RunResult, tally: Tally | None = None) -> list:
    """What to run next for the findings shown: fix them (a dry run first), explain a check."""
    tally = tally or _tally(run)
    if not tally.failing:
        return []
    gate = run.gate
    level = "" if gate == Level.RESTRICTED else f" --level {gate}"
    first = tally.first_failing
    assert first is not None  # tally.failing counts it
    if first.source == "cluster":
        namespace = f" -n {shlex.quote(first.namespace)}" if first.namespace else ""
        fix = f"kubectl podsec fix {first.kind.lower()}/{shlex.quote(first.name)}{namespace}{level}"
    else:
        files = tally.files
        if not files:
            fix = None  # what kustomize renders is fixed in its resources, not here
        else:
            shown = " ".join("-f " + shlex.quote(f) for f in files[:3]) + (" ..." if len(files) > 3 else "")
            fix = f"kubectl podsec fix --dry-run{level} {shown}"
    check = tally.check
    steps = []
    if fix:
        steps.append(f"Next: `{fix}` shows the fixes")
    if check:
        steps.append(f"{'Then' if fix else 'Next'}: `kubectl podsec explain {check}` explains a check")
    return steps


def summary_line(run: RunResult, tally: Tally | None = None) -> str:
    tally = tally or _tally(run)
    counts = tally.highest
    parts = [f"{count(tally.objects, 'workload')}: {counts[Level.RESTRICTED]} restricted, "
             f"{counts[Level.BASELINE]} baseline, {counts[Level.PRIVILEGED]} privileged"]
    parts.append(f"{tally.failing} below {run.gate}")
    if run.skipped:
        parts.append(f"{count(len(run.skipped), 'other object')} skipped")
    if run.errors:
        parts.append(count(len(run.errors), "error"))
    return "; ".join(parts) + f" (policy {run.policy_version})"


def count(number: int, noun: str) -> str:
    """`1 workload`, `2 workloads`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
