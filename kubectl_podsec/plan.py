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
cluster. This module computes the plan (`model.PlanResult`'s parts); `reports/plan.py` renders it.
"""

from __future__ import annotations

import json
from collections import defaultdict

from kubectl_podsec.checks.types import Edit
from kubectl_podsec.cluster import LABEL_PREFIX
from kubectl_podsec.evaluate import failures
from kubectl_podsec.fix import never_fix_message, plan_object
from kubectl_podsec.levels import Level, Version
from kubectl_podsec.model import Blocker, FixCommands, HumanDecision, NamespacePlan, PlanStep
from kubectl_podsec.suppress import effective_highest
from kubectl_podsec.workloads import apply_defaults, format_path

EFFORTS = ("ready", "safe", "unsafe", "human")  # in order of effort
# Kinds whose pod template the API server refuses to change: a fix means recreating them.
RECREATE = {"Pod": "a pod's spec cannot be changed once it is created",
            "Job": "a Job's pod template cannot be changed once it is created"}


def namespace_plans(objects: list, labels: dict | None, level: Level, pin: Version, live: bool,
                    namespaces: list | None = None) -> tuple:
    """The NamespacePlan of every namespace of `objects` (scan results), and of every namespace
    in `namespaces` (those with nothing to move are ready), ready ones first. `labels` is
    {namespace: labels} read from the cluster, or None for manifests."""
    per_namespace = defaultdict(list)
    for result in objects:
        # kubectl applies a manifest without metadata.namespace to the context's namespace,
        # `default` unless set: the plan names it so in its text and in its commands alike.
        per_namespace[result.workload.namespace or "default"].append(result)
    names = set(per_namespace) | set(namespaces or ())
    plans = [_namespace_plan(name, per_namespace.get(name, []), None if labels is None else labels.get(name, {}),
                             level, pin, live) for name in names]
    plans.sort(key=lambda p: (EFFORTS.index(p.effort), len(p.blockers), p.namespace))
    return tuple(plans)


def _namespace_plan(name: str, results: list, labels: dict | None, level: Level, pin: Version,
                    live: bool) -> NamespacePlan:
    blockers = [_blocker(r, level, pin, live) for r in results if effective_highest(r) < level]
    effort = max((b.effort for b in blockers), key=EFFORTS.index, default="ready")
    current = {mode: _label(labels, mode) for mode in ("enforce", "audit", "warn")} if labels is not None else None
    return NamespacePlan(name, tuple(current.items()) if current is not None else None, effort, len(results),
                         tuple(blockers), _steps(name, current, blockers, level, pin, live))


def _label(labels: dict, mode: str) -> str | None:
    value = labels.get(LABEL_PREFIX + mode)
    return None if value is None else f"{value}:{labels.get(LABEL_PREFIX + mode + '-version', 'latest')}"


def _blocker(result, level: Level, pin: Version, live: bool) -> Blocker:
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
    human = tuple(HumanDecision(check, notes.get(check) or never_fix_message(check)) for check in left_after_unsafe)
    owner = result.live.owner if live and result.live else None
    safe_edits = tuple(_describe(e, workload.prefix) for e in safe.edits)
    unsafe_edits = tuple(_describe(e, workload.prefix) for e in unsafe.edits if not e.safe)
    commands = _fix_commands(result.source, safe_edits, unsafe_edits, owner, workload, level, live)
    return Blocker(workload.kind, workload.name, result.source, result.line, effective_highest(result),
                   tuple(failing), effort, safe_edits, unsafe_edits, human, commands, owner,
                   result.live.pods if live and result.live else 0)


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
    removed = edit.old if isinstance(edit.old, (tuple, list)) else ()  # remove_items: the removed items
    return f"{edit.check}: remove {', '.join(map(_json, removed))} from {where}"


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _fix_commands(source: str, safe: tuple, unsafe: tuple, owner, workload, level: Level, live: bool) -> FixCommands:
    flags = f" --level {level}" if level != Level.RESTRICTED else ""
    if not live:
        return FixCommands(f"kubectl podsec fix -f {source}{flags}" if safe else None,
                           f"kubectl podsec fix -f {source}{flags} --unsafe-fixes" if unsafe else None)
    kind, name, namespace = workload.kind, workload.name, workload.namespace
    if owner:
        return FixCommands(note=f"managed by {owner.kind}/{owner.name}, which would undo a change to it: "
                                "fix that instead")
    target = f"{kind.lower()}/{name} -n {namespace}"
    if kind in RECREATE:
        return FixCommands(note=f"{RECREATE[kind]}: delete it and create it again from the fixed manifest "
                                f"that `kubectl podsec fix {target}{flags} -o yaml` prints (or fix its manifest)")
    patch = f"kubectl patch {kind.lower()} {name} -n {namespace} --type=json -p \"$(kubectl podsec fix {target}{flags}"
    return FixCommands(f"{patch} -o patch)\"" if safe else None,
                       f"{patch} --unsafe-fixes -o patch)\"" if unsafe else None)


def _steps(namespace: str, current: dict | None, blockers: list, level: Level, pin: Version,
           live: bool) -> tuple:
    target = f"{level}:{pin}"
    report_modes = [mode for mode in ("warn", "audit") if current is None or current[mode] != target]
    label = f"kubectl label --overwrite ns {namespace}"
    step1 = PlanStep(1, f"warn and audit at {target} (no risk: the API server only reports)",
                     (label + "".join(f" {LABEL_PREFIX}{m}={level} {LABEL_PREFIX}{m}-version={pin}"
                                      for m in report_modes),) if report_modes else (),
                     () if report_modes else (f"already set: warn and audit are {target}",))
    safe = [b for b in blockers if b.safe]
    step2 = PlanStep(2, "safe fixes (they only add settings the workloads leave unset)",
                     _unique(b.commands.safe for b in safe), tuple(_summary(b, b.safe) for b in safe))
    unsafe = [b for b in blockers if b.unsafe]
    step3 = PlanStep(3, "unsafe fixes (they change what a workload asks for; test first) and what needs a human",
                     _unique(b.commands.unsafe for b in unsafe),
                     tuple(_summary(b, b.unsafe) for b in unsafe)
                     + tuple(f"{b.kind}/{b.name}: {h.check} needs a human: {h.why}" for b in blockers for h in b.human))
    waiting = [f"{b.kind}/{b.name}" for b in blockers]
    step4 = PlanStep(4, f"enforce {target}, pinned to {'the server' if live else 'this'} version",
                     (f"{label} {LABEL_PREFIX}enforce={level} {LABEL_PREFIX}enforce-version={pin}",),
                     (f"only once steps 2 and 3 are done: until then new pods of {', '.join(waiting)} "
                      "would be refused",) if waiting else ("ready now: every workload passes",))
    if current is not None and current["enforce"] == target:
        step4 = PlanStep(4, step4.title, (), (f"already set: enforce is {target}",))
    return step1, step2, step3, step4


def _summary(blocker: Blocker, edits: tuple) -> str:
    """`Deployment/web: 4 changes (allowPrivilegeEscalation, runAsNonRoot)`, and why there is no
    command when there is none."""
    checks = ", ".join(dict.fromkeys(edit.split(":", 1)[0] for edit in edits))
    text = f"{blocker.kind}/{blocker.name}: {len(edits)} {'change' if len(edits) == 1 else 'changes'} ({checks})"
    note = blocker.commands.note
    return f"{text}; {note}" if note else text


def _unique(commands) -> tuple:
    return tuple(dict.fromkeys(c for c in commands if c))
