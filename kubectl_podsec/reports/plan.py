"""`plan`: the JSON data (its schema, defined once), the text and the markdown."""

from __future__ import annotations

from kubectl_podsec.model import Blocker, NamespacePlan, PlanResult
from kubectl_podsec.reports.data import error_data


def plan_data(result: PlanResult) -> dict:
    return {"level": str(result.level), "version": result.version, "source": "cluster" if result.live else "manifests",
            "namespaces": [_namespace_data(plan, result) for plan in result.namespaces],
            "errors": [error_data(error) for error in result.errors]}


def _namespace_data(plan: NamespacePlan, result: PlanResult) -> dict:
    return {"namespace": plan.namespace, "labels": dict(plan.labels) if plan.labels is not None else None,
            "target": {"level": str(result.level), "version": result.version}, "effort": plan.effort,
            "workloads": plan.workloads, "blockers": [_blocker_data(b, result.live) for b in plan.blockers],
            "steps": [{"step": s.step, "title": s.title, "commands": list(s.commands), "items": list(s.items)}
                      for s in plan.steps]}


def _blocker_data(blocker: Blocker, live: bool) -> dict:
    entry: dict[str, object] = {
        "kind": blocker.kind, "name": blocker.name, "source": blocker.source, "line": blocker.line,
        "highest": str(blocker.highest), "checks": list(blocker.checks), "effort": blocker.effort,
        "safe": list(blocker.safe), "unsafe": list(blocker.unsafe),
        "human": [{"check": h.check, "why": h.why} for h in blocker.human],
    }
    if live:
        owner = blocker.owner
        entry["owner"] = {"kind": owner.kind, "name": owner.name} if owner else None
        entry["pods"] = blocker.pods
    commands = blocker.commands
    entry["commands"] = {"safe": commands.safe, "unsafe": commands.unsafe, "note": commands.note}
    return entry


def _labels_text(plan: NamespacePlan) -> str:
    if plan.labels is None:
        return "labels: not known (manifests)"
    return "labels: " + ", ".join(f"{mode}={value or '-'}" for mode, value in plan.labels)


def render_text(result: PlanResult) -> str:
    out = []
    target = f"{result.level}:{result.version}"
    for plan in result.namespaces:
        blockers = plan.blockers
        out.append(f"namespace {plan.namespace}: {plan.effort}, "
                   f"{len(blockers)} of {plan.workloads} {'workload' if plan.workloads == 1 else 'workloads'} "
                   f"block {target}")
        out.append(f"  {_labels_text(plan)}")
        for b in blockers:
            out.append(f"  blocker {b.kind}/{b.name} ({b.highest}; {b.effort}): {', '.join(b.checks)}")
        for step in plan.steps:
            out.append(f"  {step.step}. {step.title}")
            out += [f"       $ {command}" for command in step.commands]
            out += [f"       - {item}" for item in step.items]
        out.append("")
    ready = sum(1 for p in result.namespaces if p.effort == "ready")
    out.append(f"{len(result.namespaces)} namespaces, {ready} ready for enforce={result.level} now; "
               "nothing was changed")
    return "\n".join(out) + "\n"


def render_markdown(result: PlanResult) -> str:
    out = [f"# Pod Security migration plan: enforce={result.level} (pinned to {result.version})", ""]
    out += ["| namespace | effort | blockers | labels today |", "|---|---|---|---|"]
    for plan in result.namespaces:
        labels = _labels_text(plan).split(": ", 1)[1]
        out.append(f"| `{plan.namespace}` | {plan.effort} | {len(plan.blockers)} of {plan.workloads} | "
                   f"{labels} |")
    for plan in result.namespaces:
        out += ["", f"## `{plan.namespace}` ({plan.effort})", ""]
        if plan.blockers:
            out += ["| workload | passes today | fails | fix |", "|---|---|---|---|"]
            out += [f"| `{b.kind}/{b.name}` | {b.highest} | {', '.join(b.checks)} | {b.effort} |"
                    for b in plan.blockers]
            out.append("")
        for step in plan.steps:
            out.append(f"{step.step}. {step.title[:1].upper()}{step.title[1:]}")
            if step.commands:
                out += ["   ```sh"] + [f"   {command}" for command in step.commands] + ["   ```"]
            out += [f"   - {_escape(item)}" for item in step.items]
    out += ["", "_Nothing was changed: `kubectl podsec plan` only reads._"]
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
