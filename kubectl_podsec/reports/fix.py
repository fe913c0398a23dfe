"""What `fix` did: `fix -o json` (the schema, defined once) and the summary on stderr."""

from __future__ import annotations

from kubectl_podsec.levels import Level
from kubectl_podsec.model import FixResult, SourceNote
from kubectl_podsec.paths import file_location
from kubectl_podsec.reports.data import error_data


def fix_data(run: FixResult) -> dict:
    """`fix -o json`: per object, each edit and each violation that remains."""
    objects = []
    for obj in run.objects:
        objects.append({
            "source": obj.source, "document": obj.document, "item": obj.item,
            "line": obj.line, "column": obj.column, "kind": obj.kind,
            "namespace": obj.namespace or None, "name": obj.name,
            "before": str(obj.before), "after": str(obj.after),
            "written": obj.written,
            **({"writeError": obj.write_error} if obj.write_error else {}),
            **({"template": obj.template} if obj.template else {}),
            "edits": [{"check": c.check, "op": c.op, "path": c.path, "old": _jsonable(c.old),
                       "new": _jsonable(c.new), "safe": c.safe, "risk": c.risk} for c in obj.changes],
            "remaining": [{"level": str(u.level), "check": u.check, "reason": u.reason, "detail": u.detail,
                           "why": u.why} for u in obj.remaining],
        })
    return {"policyVersion": run.policy_version, "level": str(run.gate), "objects": objects,
            "errors": [error_data(error) for error in run.errors],
            "notes": [note_data(note) for note in run.notes]}


def note_data(note: SourceNote) -> dict:
    if note.templates:
        return {"source": note.source, "message": note_text(note), "templates": list(note.templates)}
    return {"source": note.source, "message": note.message}


def note_text(note: SourceNote) -> str:
    if not note.templates:
        return note.message
    templates = note.templates
    shown = ", ".join(templates[:10]) + (f" and {len(templates) - 10} more" if len(templates) > 10 else "")
    return (f"rendered from chart templates {shown}; also change them there, "
            "or the next render brings the old settings back")


def _jsonable(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    return value


def fix_summary(run: FixResult) -> str:
    """Per object, what changed and what still needs a human; then, once per check applied,
    what its fix can break at run time, for the reviewer to test. For stderr."""
    lines = []
    risks: dict = {}  # check -> [risk, objects]
    names = {level: str(level) for level in Level}  # (a big stream has 10,000s of objects)
    for obj in run.objects:
        title = f"{file_location(obj.source, obj.line, obj.column)}: {obj.kind}/{obj.name}"
        checks = sorted({change.check for change in obj.changes})
        if checks and obj.write_error:
            lines.append(f"{title}: not written ({obj.write_error}): would fix {', '.join(checks)}")
        elif checks:
            lines.append(f"{title}: fixed {', '.join(checks)} ({names[obj.before]} -> {names[obj.after]})")
            for check in checks:
                if check in risks:
                    risks[check][1] += 1
                else:
                    risks[check] = [next(c.risk for c in obj.changes if c.check == check), 1]
        for unfixed in obj.remaining:
            if obj.write_error and unfixed.check in checks:
                continue  # said once above: the fix would have done it
            lines.append(f"{title}: needs a human: {unfixed.check}: {unfixed.reason} "
                         f"({unfixed.detail}): {unfixed.why}")
    if risks:
        lines.append("what to test: fixes that can stop a workload at run time:")
        lines += [f"  risk: {check} ({objects} {'object' if objects == 1 else 'objects'}): {risk}"
                  for check, (risk, objects) in sorted(risks.items())]
    return "\n".join(lines) + "\n" if lines else ""
