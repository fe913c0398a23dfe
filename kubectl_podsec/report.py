"""Render results: text for people, JSON and YAML for machines (a stable schema that later
formats extend but never break)."""

from __future__ import annotations

import json
from collections import Counter

from kubectl_podsec.evaluate import GATED_LEVELS
from kubectl_podsec.levels import Level
from kubectl_podsec.workloads import format_path


def report_data(report, gate: Level) -> dict:
    return {
        "policyVersion": str(report.policy_version),
        "level": str(gate),
        "objects": [object_data(result) for result in report.objects],
        "skipped": [
            {"source": s.source, "document": s.document, "item": s.item, "apiVersion": s.skipped.api_version,
             "kind": s.skipped.kind, "namespace": s.skipped.namespace or None, "name": s.skipped.name}
            for s in report.skipped
        ],
        "errors": [error_data(problem) for problem in report.errors],
    }


def object_data(result) -> dict:
    workload, verdict = result.workload, result.verdict
    from kubectl_podsec.suppress import effective_highest

    data = {
        "source": result.source, "document": result.document, "item": result.item,
        "line": result.line, "column": result.column,
        "apiVersion": workload.api_version, "kind": workload.kind,
        "namespace": workload.namespace or None, "name": workload.name,
        "highest": str(verdict.highest),
        "levels": {str(level): verdict.passes[level] for level in GATED_LEVELS},
        "effectiveHighest": str(effective_highest(result)),
        "violations": [],
    }
    data.update(result.extra)
    for violation, positions in zip(verdict.violations, result.positions):
        # `path` is the deepest part of the field that the document has, so that it and
        # line:column agree; `field` is the field itself (which may be missing).
        locations = [{"path": format_path(found), "line": line, "column": column, "field": format_path(path)}
                     for path, (found, line, column) in zip(violation.paths, positions)]
        first = locations[0] if locations else {"path": None, "line": None, "column": None, "field": None}
        suppressed = result.suppressed.get(violation.check)
        data["violations"].append({"level": str(violation.level), "check": violation.check,
                                   "reason": violation.reason, "detail": violation.detail, **first,
                                   "locations": locations,
                                   "suppressed": {"by": suppressed.by, "reason": suppressed.reason}
                                   if suppressed else None})
    return data


def error_data(problem) -> dict:
    return {"source": problem.source, "document": problem.document, "line": problem.line,
            "column": problem.column, "message": problem.message}


def render_json(data: dict) -> str:
    """Indented at the top, one compact line per list entry: readable, diffable, and written
    by the C encoder (json's indenting encoder is pure Python and slow on big reports)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
            parts.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def render_yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


LEVEL_COLOURS = {"restricted": "green", "baseline": "yellow", "privileged": "red"}


def render_text(data: dict, paint) -> str:
    """`paint(text, colour)` adds colour or not; the CLI decides."""
    lines = []
    for obj in data["objects"]:
        where = _where(obj["source"], obj["line"], obj["column"])
        namespace = f" ({obj['namespace']})" if obj.get("namespace") else ""
        highest = obj["highest"]
        pods = f" [{obj['pods']} pods]" if obj.get("pods", 0) > 1 else ""
        enforce = obj.get("enforce")
        verdict = ""
        if enforce:
            verdict = f"; namespace enforces {enforce['level']}:{enforce['version']}: " + \
                ("allowed" if enforce["passes"] else paint("denied", "red"))
        template = f" [from {obj['template']}]" if obj.get("template") else ""
        effective = obj.get("effectiveHighest", highest)
        if effective != highest:
            verdict += f" ({effective} with exemptions or baseline)"
        lines.append(f"{where}: {obj['kind']}/{obj['name']}{namespace}{pods}{template}: "
                     f"highest={paint(highest, LEVEL_COLOURS[highest])}{verdict}")
        next_level = _next_level(highest)
        shown = [v for v in obj["violations"] if next_level and v["level"] == next_level]
        for violation in shown:
            location = _where(obj["source"], violation["line"], violation["column"]) + ": " \
                if violation["line"] is not None else ""
            suppressed = violation.get("suppressed")
            note = f" [{suppressed['by']}: {suppressed['reason']}]" if suppressed else ""
            lines.append(f"  {location}{paint(violation['check'], 'bold')}: {violation['reason']} "
                         f"({violation['detail']}){note}")
            lines.append(f"      at {violation['field']}")
        hidden = len(obj["violations"]) - len(shown)
        if hidden and shown:
            lines.append(f"  (+{hidden} more at stricter levels; -o json lists them)")
    lines.append(summary_line(data))
    return "\n".join(lines) + "\n"


def summary_line(data: dict) -> str:
    counts = Counter(obj["highest"] for obj in data["objects"])
    gate = data["level"]
    failing = sum(1 for obj in data["objects"]
                  if Level.parse(obj.get("effectiveHighest", obj["highest"])) < Level.parse(gate))
    parts = [f"{len(data['objects'])} workloads: {counts['restricted']} restricted, "
             f"{counts['baseline']} baseline, {counts['privileged']} privileged"]
    parts.append(f"{failing} below {gate}")
    if data["skipped"]:
        parts.append(f"{len(data['skipped'])} other objects skipped")
    if data["errors"]:
        parts.append(f"{len(data['errors'])} errors")
    return "; ".join(parts) + f" (policy {data['policyVersion']})"


def _next_level(highest: str):
    return {"privileged": "baseline", "baseline": "restricted"}.get(highest)


def _where(source: str, line, column) -> str:
    if line is None:
        return source
    return f"{source}:{line}" + (f":{column}" if column is not None else "")


def fix_data(results: list, gate: Level, version) -> dict:
    """`fix -o json`: per object, each edit and each violation that remains."""
    from kubectl_podsec.fix import human_notes

    objects = []
    for result in results:
        for fixed in result.objects:
            verdict = fixed.after or fixed.before
            objects.append({
                "source": result.source.name, "document": fixed.document, "item": fixed.item,
                "line": fixed.line, "column": fixed.column, "kind": fixed.kind,
                "namespace": fixed.namespace or None, "name": fixed.name,
                "before": str(fixed.before.highest), "after": str(verdict.highest),
                "written": result.written,
                **({"writeError": result.write_error} if result.write_error else {}),
                **({"template": fixed.template} if fixed.template else {}),
                "edits": [{"check": e.check, "op": e.op, "path": format_path(fixed.prefix + e.path),
                           "old": _jsonable(e.old), "new": _jsonable(e.value), "safe": e.safe}
                          for e in fixed.edits] if result.new_text is not None else [],
                "remaining": [{"level": str(v.level), "check": v.check, "reason": v.reason, "detail": v.detail,
                               "why": why} for v, why in human_notes(fixed, gate)],
            })
    errors = [error_data(problem) for result in results for problem in result.errors]
    notes = [{"source": result.source.name, "message": rendered_note(result.changed_templates),
              "templates": result.changed_templates} for result in results if result.changed_templates]
    return {"policyVersion": str(version), "level": str(gate), "objects": objects, "errors": errors,
            "notes": notes}


def rendered_note(templates: list) -> str:
    shown = ", ".join(templates[:10]) + (f" and {len(templates) - 10} more" if len(templates) > 10 else "")
    return (f"rendered from chart templates {shown}; also change them there, "
            "or the next render brings the old settings back")


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    return value


def fix_summary(data: dict) -> str:
    """Per object, what changed and what still needs a human; for stderr."""
    lines = []
    for obj in data["objects"]:
        where = _where(obj["source"], obj["line"], obj["column"])
        title = f"{where}: {obj['kind']}/{obj['name']}"
        checks = sorted({edit["check"] for edit in obj["edits"]})
        if checks and obj.get("writeError"):
            lines.append(f"{title}: not written ({obj['writeError']}): would fix {', '.join(checks)}")
        elif checks:
            lines.append(f"{title}: fixed {', '.join(checks)} ({obj['before']} -> {obj['after']})")
        for remaining in obj["remaining"]:
            if obj.get("writeError") and remaining["check"] in checks:
                continue  # said once above: the fix would have done it
            lines.append(f"{title}: needs a human: {remaining['check']}: {remaining['reason']} "
                         f"({remaining['detail']}): {remaining['why']}")
    return "".join(line + "\n" for line in lines)


def render_namespaces(summaries: list, paint) -> str:
    header = ("NAMESPACE", "ENFORCE", "AUDIT", "WARN", "HIGHEST", "FAIL-BASELINE", "FAIL-RESTRICTED", "DRIFT")
    rows = [header]
    for s in summaries:
        rows.append((s["name"], s["labels"]["enforce"] or "-", s["labels"]["audit"] or "-", s["labels"]["warn"] or "-",
                     s["highest"], str(s["failing"]["baseline"]), str(s["failing"]["restricted"]),
                     "yes" if s["drift"] else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines += ["", "Safe to apply today:"] + [f"  {s['suggest']}" for s in summaries]
    return "\n".join(lines) + "\n"
