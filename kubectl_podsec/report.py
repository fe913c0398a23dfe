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
            # Enforce applies to Pods only: the server admits a workload object itself, and
            # denies the pods its controller creates.
            subject = "" if obj["kind"] == "Pod" else "its pods would be "
            verdict = f"; namespace enforces {enforce['level']}:{enforce['version']}: {subject}" + \
                ("allowed" if enforce["passes"] else paint("denied", "red"))
        template = f" [from {obj['template']}]" if obj.get("template") else ""
        effective = obj.get("effectiveHighest", highest)
        if effective != highest:
            # "baseline" alone would read as the level: name the baseline file.
            by = {v["suppressed"]["by"] for v in obj["violations"] if v.get("suppressed")}
            why = " and ".join(part for part, kinds in (("exemptions", {"exemption", "admission"}),
                                                        ("the baseline file", {"baseline"})) if by & kinds)
            verdict += f" ({effective} with {why})"
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
    lines += next_steps(data)
    return "\n".join(lines) + "\n"


def next_steps(data: dict) -> list:
    """What to run next for the findings shown: fix them (a dry run first), explain a check."""
    gate = Level.parse(data["level"])
    failing = [obj for obj in data["objects"]
               if Level.parse(obj.get("effectiveHighest", obj["highest"])) < gate]
    if not failing:
        return []
    import shlex

    level = "" if gate == Level.RESTRICTED else f" --level {gate}"
    first = failing[0]
    if first["source"] == "cluster":
        namespace = f" -n {shlex.quote(first['namespace'])}" if first.get("namespace") else ""
        fix = f"kubectl podsec fix {first['kind'].lower()}/{shlex.quote(first['name'])}{namespace}{level}"
    else:
        files = list(dict.fromkeys(obj["source"] for obj in failing if not obj["source"].startswith("kustomize:")))
        if not files:
            fix = None  # what kustomize renders is fixed in its resources, not here
        else:
            shown = " ".join("-f " + shlex.quote(f) for f in files[:3]) + (" ..." if len(files) > 3 else "")
            fix = f"kubectl podsec fix --dry-run{level} {shown}"
    check = next((v["check"] for obj in failing for v in obj["violations"]
                  if not v.get("suppressed") and Level.parse(v["level"]) <= gate), None)
    steps = []
    if fix:
        steps.append(f"Next: `{fix}` shows the fixes")
    if check:
        steps.append(f"{'Then' if fix else 'Next'}: `kubectl podsec explain {check}` explains a check")
    return steps


def summary_line(data: dict) -> str:
    counts = Counter(obj["highest"] for obj in data["objects"])
    gate = data["level"]
    failing = sum(1 for obj in data["objects"]
                  if Level.parse(obj.get("effectiveHighest", obj["highest"])) < Level.parse(gate))
    parts = [f"{_count(len(data['objects']), 'workload')}: {counts['restricted']} restricted, "
             f"{counts['baseline']} baseline, {counts['privileged']} privileged"]
    parts.append(f"{failing} below {gate}")
    if data["skipped"]:
        parts.append(f"{_count(len(data['skipped']), 'other object')} skipped")
    if data["errors"]:
        parts.append(_count(len(data["errors"]), "error"))
    return "; ".join(parts) + f" (policy {data['policyVersion']})"


def _next_level(highest: str):
    return {"privileged": "baseline", "baseline": "restricted"}.get(highest)


def _where(source: str, line, column) -> str:
    if line is None:
        return source
    return f"{source}:{line}" + (f":{column}" if column is not None else "")


def fix_data(results: list, gate: Level, version) -> dict:
    """`fix -o json`: per object, each edit and each violation that remains."""
    from kubectl_podsec.checks import BY_ID
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
                           "old": _jsonable(e.old), "new": _jsonable(e.value), "safe": e.safe,
                           "risk": BY_ID[e.check].fix_risk}
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
    """Per object, what changed and what still needs a human; then, once per check applied,
    what its fix can break at run time, for the reviewer to test. For stderr."""
    lines = []
    risks: dict = {}  # check -> [risk, objects]
    for obj in data["objects"]:
        where = _where(obj["source"], obj["line"], obj["column"])
        title = f"{where}: {obj['kind']}/{obj['name']}"
        checks = sorted({edit["check"] for edit in obj["edits"]})
        if checks and obj.get("writeError"):
            lines.append(f"{title}: not written ({obj['writeError']}): would fix {', '.join(checks)}")
        elif checks:
            lines.append(f"{title}: fixed {', '.join(checks)} ({obj['before']} -> {obj['after']})")
            for check in checks:
                risks.setdefault(check, [next(e["risk"] for e in obj["edits"] if e["check"] == check), 0])[1] += 1
        for remaining in obj["remaining"]:
            if obj.get("writeError") and remaining["check"] in checks:
                continue  # said once above: the fix would have done it
            lines.append(f"{title}: needs a human: {remaining['check']}: {remaining['reason']} "
                         f"({remaining['detail']}): {remaining['why']}")
    if risks:
        lines.append("what to test: fixes that can stop a workload at run time:")
        lines += [f"  risk: {check} ({objects} {'object' if objects == 1 else 'objects'}): {risk}"
                  for check, (risk, objects) in sorted(risks.items())]
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
    scope = ""
    selector = next((s["selector"] for s in summaries if s.get("selector")), None)
    if selector:
        scope = f" (judged only on the workloads that match -l {selector}; others were not read)"
    suggestions = [f"  {s['suggest']}" for s in summaries if s.get("suggest")]
    lines += ["", f"Safe to apply today{scope}:"] + (suggestions or ["  nothing: no namespace can take a "
                                                                    "stricter enforce level yet"])
    downgrades = [s for s in summaries if s.get("downgrade")]
    if downgrades:
        lines += ["", "Not suggested: these would LOWER the enforce level (a downgrade); fix the workloads "
                      "named instead:"]
        for s in downgrades:
            down = s["downgrade"]
            count = len(down["blocking"])
            lines.append(f"  {s['name']}: enforces {down['from']}, and {_count(count, 'workload')} "
                         f"{'fails' if count == 1 else 'fail'} it: {', '.join(down['blocking'])}; "
                         f"all pass {down['to']}. To lower it anyway: {down['command']}")
    pinned = [s for s in summaries if s.get("pinUpgrade")]
    if pinned:
        lines += ["", "Pinned to an older enforce-version: what moving the pin to the server's version would break:"]
        for s in pinned:
            pin = s["pinUpgrade"]
            broken = "; ".join(f"{b['kind']}/{b['name']} ({', '.join(b['checks'])})" for b in pin["breaks"])
            lines.append(f"  {s['name']}: {pin['from']} -> {pin['to']}: "
                         + (f"{_count(len(pin['breaks']), 'workload')} would be refused: {broken}" if pin["breaks"]
                            else f"nothing breaks: {pin['command']}"))
    unread = [s for s in summaries if s.get("unread")]
    if unread:
        lines += ["", "No suggestion (the workloads could not be read):"]
        lines += [f"  {s['name']}: {s['unread']}" for s in unread]
    return "\n".join(lines) + "\n"


def _count(number: int, noun: str) -> str:
    """`1 workload`, `2 workloads`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
