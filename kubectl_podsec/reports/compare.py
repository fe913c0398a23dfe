"""`check --compare-versions`: the JSON/YAML data (its schema, defined once) and the text."""

from __future__ import annotations

from kubectl_podsec.model import CompareResult
from kubectl_podsec.reports.data import error_data


def compare_data(result: CompareResult) -> dict:
    changed = [{"source": item.source, "line": item.line, "kind": item.kind,
                "namespace": item.namespace or None, "name": item.name,
                "from": str(item.before), "to": str(item.after),
                "checks": [{"check": c.check, "level": str(c.level), "change": "fails" if c.fails else "passes",
                            "detail": c.detail} for c in item.checks]}
               for item in result.changed]
    return {"from": {"version": result.old, "resolved": result.old_resolved},
            "to": {"version": result.new, "resolved": result.new_resolved},
            "workloads": result.workloads, "changed": changed,
            "errors": [error_data(error) for error in result.errors]}


def _version_name(version: str, resolved: str) -> str:
    return version + (f" ({resolved})" if version != resolved else "")


def render_text(result: CompareResult) -> str:
    old = _version_name(result.old, result.old_resolved)
    new = _version_name(result.new, result.new_resolved)
    out = []
    for item in result.changed:
        where = f"{item.source}:{item.line}" if item.line else item.source
        namespace = f" -n {item.namespace}" if item.namespace else ""
        out.append(f"{where}: {item.kind}/{item.name}{namespace}: {item.before} -> {item.after}")
        for check in item.checks:
            change = "fails" if check.fails else "passes"
            out.append(f"  {'+' if check.fails else '-'} {check.check} ({check.level}, {change} at {new}): "
                       f"{check.detail}")
    count, workloads = len(result.changed), result.workloads
    out.append(f"{count} of {workloads} {'workload' if workloads == 1 else 'workloads'} "
               f"{'judges' if count == 1 else 'judge'} differently at {new} than at {old}")
    return "\n".join(out) + "\n"
