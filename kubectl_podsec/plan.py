"""`kubectl podsec plan`: a migration plan to `enforce=<level>`, namespace by namespace.

For each namespace: its Pod Security labels today and the target; the workloads that block the
target, judged from their templates (so CronJobs, Deployments scaled to zero and workloads not
rolled out yet count, unlike `kubectl label --dry-run=server`, which only sees running pods);
and four ordered steps:

1. `warn` and `audit` at the target: no risk, the API server only reports;
2. the safe fixes (they only add settings the workload leaves unset), with their commands;
3. the unsafe fixes (they change what the workload asks for) and what needs a human;
4. `enforce` at the target, with `enforce-version` pinned to the server's minor version, so
   that a later upgrade of the cluster does not change the rules under it.

Namespaces are ordered by effort: ready now first. The plan only reads; it never writes to the
cluster. This module returns data and strings; cli.py prints.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Optional

from kubectl_podsec.checks.types import Edit
from kubectl_podsec.cluster import LABEL_PREFIX
from kubectl_podsec.evaluate import failures
from kubectl_podsec.fix import never_fix_message, plan_object
from kubectl_podsec.levels import Level, Version
from kubectl_podsec.suppress import effective_highest
from kubectl_podsec.workloads import apply_defaults, format_path

EFFORTS = ("ready", "safe", "unsafe", "human")  # in order of effort
# Kinds whose pod template the API server refuses to change: a fix means recreating them.
RECREATE = {"Pod": "a pod's spec cannot be changed once it is created",
            "Job": "a Job's pod template cannot be changed once it is created"}


def build_plan(objects: list, labels: Optional[dict], level: Level, pin: Version, live: bool,
               namespaces: Optional[list] = None) -> dict:
    """The plan for every namespace of `objects` (scan results), and for every namespace in
    `namespaces` (those with nothing to move are ready). `labels` is {namespace: labels} read
    from the cluster, or None for manifests."""
    per_namespace = defaultdict(list)
    for result in objects:
        # kubectl applies a manifest without metadata.namespace to the context's namespace,
        # `default` unless set: the plan names it so in its text and in its commands alike.
        per_namespace[result.workload.namespace or "default"].append(result)
    names = set(per_namespace) | set(namespaces or ())
    plans = [_namespace_plan(name, per_namespace.get(name, []), None if labels is None else labels.get(name, {}),
                             level, pin, live) for name in names]
    plans.sort(key=lambda p: (EFFORTS.index(p["effort"]), len(p["blockers"]), p["namespace"]))
    return {"level": str(level), "version": str(pin), "source": "cluster" if live else "manifests",
            "namespaces": plans}


def _namespace_plan(name: str, results: list, labels: Optional[dict], level: Level, pin: Version,
                    live: bool) -> dict:
    blockers = [_blocker(r, level, pin, live) for r in results if effective_highest(r) < level]
    effort = max((b["effort"] for b in blockers), key=EFFORTS.index, default="ready")
    target = {"level": str(level), "version": str(pin)}
    current = {mode: _label(labels, mode) for mode in ("enforce", "audit", "warn")} if labels is not None else None
    return {"namespace": name, "labels": current, "target": target, "effort": effort,
            "workloads": len(results), "blockers": blockers,
            "steps": _steps(name, current, blockers, level, pin, live)}


def _label(labels: dict, mode: str) -> Optional[str]:
    value = labels.get(LABEL_PREFIX + mode)
    return None if value is None else f"{value}:{labels.get(LABEL_PREFIX + mode + '-version', 'latest')}"


def _blocker(result, level: Level, pin: Version, live: bool) -> dict:
    """One workload that fails the target: what fails, and what fix can and cannot do."""
    workload = result.workload
    failing = [v.check for v in result.verdict.violations if v.level <= level and v.check not in result.suppressed]
    safe = plan_object(workload, level, pin, unsafe=False)
    unsafe = plan_object(workload, level, pin, unsafe=True)
    left_after_unsafe = _still_failing(workload, unsafe, level, pin)
    if not _still_failing(workload, safe, level, pin):
        effort = "safe"
    elif not left_after_unsafe:
        effort = "unsafe"
    else:
        effort = "human"
    notes = {}
    for note in unsafe.notes:
        notes[note.check] = note.message
    human = [{"check": check, "why": notes.get(check) or never_fix_message(check)} for check in left_after_unsafe]
    owner = result.live.owner if result.live else None
    entry = {
        "kind": workload.kind, "name": workload.name, "source": result.source, "line": result.line,
        "highest": str(effective_highest(result)), "checks": failing, "effort": effort,
        "safe": [_describe(e, workload.prefix) for e in safe.edits],
        "unsafe": [_describe(e, workload.prefix) for e in unsafe.edits if not e.safe],
        "human": human,
    }
    if live:
        entry["owner"] = {"kind": owner.kind, "name": owner.name} if owner else None
        entry["pods"] = result.live.pods if result.live else 0
    entry["commands"] = _fix_commands(entry, workload, level, live)
    return entry


def _still_failing(workload, fixed_plan, level: Level, pin: Version) -> list:
    spec = json.loads(json.dumps(fixed_plan.spec))
    apply_defaults(workload.kind, spec)  # judged as the API server will see it
    return [check.id for check, _ in failures(fixed_plan.meta, spec, level, pin)]


def _describe(edit: Edit, prefix: tuple) -> str:
    where = format_path(prefix + edit.path)
    if edit.op == "set":
        return f"{edit.check}: set {where} to {_json(edit.value)}" + (
            f" (was {_json(edit.old)})" if edit.old is not None else "")
    if edit.op == "remove":
        return f"{edit.check}: remove {where} (was {_json(edit.old)})"
    if edit.op == "append":
        return f"{edit.check}: add {_json(edit.value)} to {where}"
    return f"{edit.check}: remove {', '.join(map(_json, edit.old))} from {where}"


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _fix_commands(entry: dict, workload, level: Level, live: bool) -> dict:
    """{"safe": command or None, "unsafe": command or None, "note": why there is none}."""
    commands = {"safe": None, "unsafe": None, "note": None}
    flags = f" --level {level}" if level != Level.RESTRICTED else ""
    if not live:
        source = entry["source"]
        commands["safe"] = f"kubectl podsec fix -f {source}{flags}" if entry["safe"] else None
        commands["unsafe"] = f"kubectl podsec fix -f {source}{flags} --unsafe-fixes" if entry["unsafe"] else None
        return commands
    kind, name, namespace = workload.kind, workload.name, workload.namespace
    owner = entry.get("owner")
    if owner:
        commands["note"] = (f"managed by {owner['kind']}/{owner['name']}, which would undo a change to it: "
                            "fix that instead")
        return commands
    target = f"{kind.lower()}/{name} -n {namespace}"
    if kind in RECREATE:
        commands["note"] = (f"{RECREATE[kind]}: delete it and create it again from the fixed manifest "
                            f"that `kubectl podsec fix {target}{flags} -o yaml` prints (or fix its manifest)")
        return commands
    for mode, extra in (("safe", ""), ("unsafe", " --unsafe-fixes")):
        if entry[mode]:
            commands[mode] = (f"kubectl patch {kind.lower()} {name} -n {namespace} --type=json -p "
                              f"\"$(kubectl podsec fix {target}{flags}{extra} -o patch)\"")
    return commands


def _steps(namespace: str, current: Optional[dict], blockers: list, level: Level, pin: Version,
           live: bool) -> list:
    target = f"{level}:{pin}"
    report_modes = [mode for mode in ("warn", "audit") if current is None or current[mode] != target]
    label = f"kubectl label --overwrite ns {namespace}"
    step1 = {"step": 1, "title": f"warn and audit at {target} (no risk: the API server only reports)",
             "commands": [label + "".join(f" {LABEL_PREFIX}{m}={level} {LABEL_PREFIX}{m}-version={pin}"
                                          for m in report_modes)] if report_modes else [],
             "items": [] if report_modes else [f"already set: warn and audit are {target}"]}
    safe = [b for b in blockers if b["safe"]]
    step2 = {"step": 2, "title": "safe fixes (they only add settings the workloads leave unset)",
             "commands": _unique(b["commands"]["safe"] for b in safe),
             "items": [_summary(b, b["safe"]) for b in safe]}
    unsafe = [b for b in blockers if b["unsafe"]]
    step3 = {"step": 3, "title": "unsafe fixes (they change what a workload asks for; test first) and what needs "
                                 "a human",
             "commands": _unique(b["commands"]["unsafe"] for b in unsafe),
             "items": [_summary(b, b["unsafe"]) for b in unsafe]
             + [f"{b['kind']}/{b['name']}: {h['check']} needs a human: {h['why']}" for b in blockers
                for h in b["human"]]}
    enforce = f"{label} {LABEL_PREFIX}enforce={level} {LABEL_PREFIX}enforce-version={pin}"
    waiting = [f"{b['kind']}/{b['name']}" for b in blockers]
    step4 = {"step": 4, "title": f"enforce {target}, pinned to {'the server' if live else 'this'} version",
             "commands": [enforce],
             "items": [f"only once steps 2 and 3 are done: until then new pods of {', '.join(waiting)} "
                       "would be refused"] if waiting else ["ready now: every workload passes"]}
    if current is not None and current["enforce"] == target:
        step4 = dict(step4, commands=[], items=[f"already set: enforce is {target}"])
    return [step1, step2, step3, step4]


def _summary(blocker: dict, edits: list) -> str:
    """`Deployment/web: 4 changes (allowPrivilegeEscalation, runAsNonRoot)`, and why there is no
    command when there is none."""
    checks = ", ".join(dict.fromkeys(edit.split(":", 1)[0] for edit in edits))
    text = f"{blocker['kind']}/{blocker['name']}: {len(edits)} {'change' if len(edits) == 1 else 'changes'} ({checks})"
    note = blocker["commands"]["note"]
    return f"{text}; {note}" if note else text


def _unique(commands) -> list:
    return list(dict.fromkeys(c for c in commands if c))


# ---- rendering ----------------------------------------------------------------------------

def _labels_text(plan: dict) -> str:
    if plan["labels"] is None:
        return "labels: not known (manifests)"
    return "labels: " + ", ".join(f"{mode}={value or '-'}" for mode, value in plan["labels"].items())


def render_text(data: dict) -> str:
    out = []
    for plan in data["namespaces"]:
        blockers = plan["blockers"]
        out.append(f"namespace {plan['namespace']}: {plan['effort']}, "
                   f"{len(blockers)} of {plan['workloads']} {'workload' if plan['workloads'] == 1 else 'workloads'} "
                   f"block {plan['target']['level']}:{plan['target']['version']}")
        out.append(f"  {_labels_text(plan)}")
        for b in blockers:
            out.append(f"  blocker {b['kind']}/{b['name']} ({b['highest']}; {b['effort']}): {', '.join(b['checks'])}")
        for step in plan["steps"]:
            out.append(f"  {step['step']}. {step['title']}")
            out += [f"       $ {command}" for command in step["commands"]]
            out += [f"       - {item}" for item in step["items"]]
        out.append("")
    ready = sum(1 for p in data["namespaces"] if p["effort"] == "ready")
    out.append(f"{len(data['namespaces'])} namespaces, {ready} ready for enforce={data['level']} now; "
               "nothing was changed")
    return "\n".join(out) + "\n"


def render_markdown(data: dict) -> str:
    out = [f"# Pod Security migration plan: enforce={data['level']} (pinned to {data['version']})", ""]
    out += ["| namespace | effort | blockers | labels today |", "|---|---|---|---|"]
    for plan in data["namespaces"]:
        labels = _labels_text(plan).split(": ", 1)[1]
        out.append(f"| `{plan['namespace']}` | {plan['effort']} | {len(plan['blockers'])} of {plan['workloads']} | "
                   f"{labels} |")
    for plan in data["namespaces"]:
        out += ["", f"## `{plan['namespace']}` ({plan['effort']})", ""]
        if plan["blockers"]:
            out += ["| workload | passes today | fails | fix |", "|---|---|---|---|"]
            out += [f"| `{b['kind']}/{b['name']}` | {b['highest']} | {', '.join(b['checks'])} | {b['effort']} |"
                    for b in plan["blockers"]]
            out.append("")
        for step in plan["steps"]:
            out.append(f"{step['step']}. {step['title'][:1].upper()}{step['title'][1:]}")
            if step["commands"]:
                out += ["   ```sh"] + [f"   {command}" for command in step["commands"]] + ["   ```"]
            out += [f"   - {_escape(item)}" for item in step["items"]]
    out += ["", "_Nothing was changed: `kubectl podsec plan` only reads._"]
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
