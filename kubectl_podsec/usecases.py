"""The use cases behind the commands: they run the core and return the model (`model.py`).

They hold what the commands decide beyond the policy itself: exemptions, baselines and the
gate. They never print; `cli.py` picks a renderer from `reports/` and the exit code.
"""

from __future__ import annotations

from typing import Optional

from kubectl_podsec.evaluate import GATED_LEVELS
from kubectl_podsec.levels import Level
from kubectl_podsec.model import (
    BaselineStatus, Change, Finding, FixedObject, FixResult, InputError, Location, ObjectVerdict, RunResult,
    SkippedItem, SourceNote, Unfixed,
)
from kubectl_podsec.paths import format_path
from kubectl_podsec.suppress import effective_highest


def check_result(report, gate: Level, baseline: Optional[BaselineStatus] = None) -> RunResult:
    """A scan's Report (with its suppressions applied) as the RunResult the renderers read."""
    return RunResult(
        policy_version=str(report.policy_version), gate=gate,
        objects=tuple(object_verdict(result) for result in report.objects),
        skipped=tuple(SkippedItem(s.source, s.document, s.item, s.skipped.api_version, s.skipped.kind,
                                  s.skipped.namespace or "", s.skipped.name) for s in report.skipped),
        errors=tuple(input_error(problem) for problem in report.errors),
        baseline=baseline, notes=tuple(report.notes))


def object_verdict(result) -> ObjectVerdict:
    workload, verdict = result.workload, result.verdict
    findings = []
    for violation, positions in zip(verdict.violations, result.positions):
        locations = tuple(Location(format_path(found), line, column, format_path(path))
                          for path, (found, line, column) in zip(violation.paths, positions))
        findings.append(Finding(violation.level, violation.check, violation.reason, violation.detail, locations,
                                result.suppressed.get(violation.check)))
    return ObjectVerdict(
        result.source, result.document, result.item, result.line, result.column,
        workload.api_version, workload.kind, workload.namespace or "", workload.name,
        verdict.highest, tuple((level, verdict.passes[level]) for level in GATED_LEVELS),
        effective_highest(result), tuple(findings), result.template, result.live)


def input_error(problem) -> InputError:
    return InputError(problem.source, problem.document, problem.line, problem.column, problem.message)


def fix_result(results: list, gate: Level, version, problems=(), notices=()) -> FixResult:
    """What `fix` did to each source (fix.SourceFix), as the FixResult the renderers read;
    `problems` and `notices` are about inputs that were never fixed (read first)."""
    from kubectl_podsec.checks import BY_ID
    from kubectl_podsec.fix import human_notes

    objects = []
    for result in results:
        for fixed in result.objects:
            verdict = fixed.after or fixed.before
            changes = tuple(Change(e.check, e.op, format_path(fixed.prefix + e.path), e.old, e.value, e.safe,
                                   BY_ID[e.check].fix_risk)
                            for e in fixed.edits) if result.new_text is not None else ()
            remaining = tuple(Unfixed(v.level, v.check, v.reason, v.detail, why)
                              for v, why in human_notes(fixed, gate))
            objects.append(FixedObject(
                result.source.name, fixed.document, fixed.item, fixed.line, fixed.column, fixed.kind,
                fixed.namespace or "", fixed.name, fixed.before.highest, verdict.highest, result.written,
                result.write_error, fixed.template, changes, remaining))
    errors = [input_error(p) for p in problems] + [input_error(e) for r in results for e in r.errors]
    notes = [SourceNote(n.source, n.message) for n in notices]
    notes += [SourceNote(r.source.name, templates=tuple(r.changed_templates)) for r in results if r.changed_templates]
    return FixResult(str(version), gate, tuple(objects), tuple(errors), tuple(notes))
