"""Verdicts for what runs in a cluster: workloads and their pods, grouped by owner, and the
namespaces' Pod Security labels against what runs in them."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from typing import Optional

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.cluster import (
    LABEL_PREFIX, WORKLOAD_RESOURCES, ClusterError, Kubectl, controller_of, enforce_labels,
)
from kubectl_podsec.evaluate import evaluate
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.manifests import Problem
from kubectl_podsec.model import LiveFacts, ModeVerdict, Owner, Suppression
from kubectl_podsec.scan import ObjectResult, Report, SkippedObject
from kubectl_podsec.suppress import effective_highest
from kubectl_podsec.workloads import PruneError, Skipped, workload_from_value

SOURCE = "cluster"


def scan_cluster(kubectl: Kubectl, resources: list, version: PolicyVersion, labels: Optional[dict] = None,
                 admission=None) -> Report:
    """Fetch, evaluate and group. Errors (kubectl, RBAC, ...) are collected, not raised, so
    that one forbidden kind does not hide the others."""
    report = Report(version)
    try:
        if version.cap is None:  # `latest`, here or in a namespace label, means the server's rules
            version = version.clamp(kubectl.server_minor())
            report.policy_version = version
        items, errors = kubectl.get(resources or [",".join(WORKLOAD_RESOURCES)])
    except ClusterError as error:
        report.errors.append(Problem(SOURCE, None, None, str(error)))
        return report
    report.errors.extend(Problem(SOURCE, None, None, message) for message in errors)
    if not items and kubectl.namespace and not kubectl.all_namespaces:
        missing = _missing_namespace(kubectl)
        if missing:
            report.errors.append(Problem(SOURCE, None, None, missing))
    if labels is None:
        labels = _namespace_labels(kubectl, items)
    effective = version.resolve(NEWEST_VERSION)
    evaluate = _cached_evaluate()
    results = []
    for item in items:
        try:
            workload = workload_from_value(item)
        except PruneError as error:
            report.errors.append(Problem(SOURCE, None, None, f"{item.get('kind')}/{_name(item)}: {error.message}"))
            continue
        if isinstance(workload, Skipped):
            report.skipped.append(SkippedObject(SOURCE, None, None, workload))
            continue
        verdict = evaluate(workload.pod_meta, workload.pod_spec, effective, workload.prefix)
        result = ObjectResult(SOURCE, None, None, None, None, workload, verdict,
                              tuple(tuple((path, None, None) for path in v.paths) for v in verdict.violations))
        owner = controller_of(item)
        modes = []
        namespace_labels = labels.get(workload.namespace)
        if admission is not None:
            namespace_labels = {**admission.default_labels(), **(namespace_labels or {})}
            exempt = admission.exemption(workload.namespace, workload.pod_spec.get("runtimeClassName"),
                                         pod_creators(workload.kind, owner))
            if exempt:
                result.suppressed = {v.check: Suppression("admission", exempt) for v in verdict.violations}
        if namespace_labels is not None:
            exempt_all = bool(result.suppressed) and len(result.suppressed) == len(verdict.violations)
            for mode in MODES:
                mode_verdict = enforce_verdict(workload, namespace_labels, version, evaluate, mode)
                if mode_verdict and exempt_all:
                    mode_verdict = replace(mode_verdict, passes=True)  # exempt: admitted unchecked
                if mode == "enforce" or mode_verdict:
                    modes.append((mode, mode_verdict))
        result.live = LiveFacts(Owner(owner.get("kind"), owner.get("name")) if owner else None,
                                1 if workload.kind == "Pod" else 0, tuple(modes))
        results.append(result)
    report.objects = group_pods(results)
    return report


def _cached_evaluate():
    """evaluate() remembered by pod: the replicas of a workload share one pod spec, so a
    cluster of thousands of pods has few distinct ones."""
    cache: dict = {}

    def cached(meta: dict, spec: dict, version, prefix: tuple):
        key = (json.dumps(meta.get("annotations")), json.dumps(spec), version, prefix)
        verdict = cache.get(key)
        if verdict is None:
            verdict = cache[key] = evaluate(meta, spec, version, prefix)
        return verdict

    return cached


def _missing_namespace(kubectl: Kubectl) -> Optional[str]:
    """An empty answer for -n NAME may mean a typo: kubectl does not say, so ask."""
    try:
        found, errors = kubectl.namespaces([kubectl.namespace])
    except ClusterError:
        return None
    if not found and any("NotFound" in message or "not found" in message for message in errors):
        return f'namespace "{kubectl.namespace}" not found'
    return None


def _namespace_labels(kubectl: Kubectl, items: list) -> dict:
    names = sorted({(item.get("metadata") or {}).get("namespace") for item in items} - {None, ""})
    if not names:
        return {}
    try:
        labels, errors = kubectl.namespaces(None if kubectl.all_namespaces else names)
    except ClusterError as error:
        errors, labels = [str(error)], {}
    for message in errors:
        kubectl.warnings.append(f"Warning: namespace labels not read: {message}")
    return labels


MODES = ("enforce", "audit", "warn")
# Who creates the pods of each kind: the controllers' service accounts (kube-controller-manager
# with --use-service-account-credentials), or the controller manager's own user without it.
# A username exemption for them exempts those pods, as the API server would.
CONTROLLER_USERS = {
    "Deployment": "replicaset-controller", "ReplicaSet": "replicaset-controller",
    "StatefulSet": "statefulset-controller", "DaemonSet": "daemon-set-controller",
    "ReplicationController": "replication-controller", "Job": "job-controller", "CronJob": "job-controller",
}


def pod_creators(kind: str, owner: Optional[dict]) -> tuple:
    """The usernames that create the pods of this object: for a workload, its controller; for a
    Pod, its owner's controller. A bare Pod's creator is not recorded anywhere, so none."""
    if kind == "Pod":
        kind = (owner or {}).get("kind")
    controller = CONTROLLER_USERS.get(kind)
    if controller is None:
        return ()
    return (f"system:serviceaccount:kube-system:{controller}", "system:kube-controller-manager")


def mode_policy(labels: dict, mode: str, cap) -> Optional[tuple]:
    """(Level, PolicyVersion as labelled, Version whose rules apply) for one mode, or None when
    the mode is not set. As the API server: an invalid enforce level fails closed (restricted),
    an invalid audit or warn level fails open; an invalid version means latest; an absent warn
    takes a stricter enforce (and its version unless warn-version is set); every version,
    `latest` or pinned, is at most the server's own (PSA-SEMANTICS.md 1 and 9)."""
    def parse(name: str):
        level_text = labels.get(LABEL_PREFIX + name)
        if level_text is None:
            return None
        try:
            level = Level.parse(level_text)
        except ValueError:
            level = Level.RESTRICTED if name == "enforce" else Level.PRIVILEGED
        return level, _version_label(labels, name)

    policy = parse(mode)
    if mode == "warn":
        enforce = parse("enforce")
        if policy is None and enforce is not None and enforce[0] > Level.PRIVILEGED:
            pinned = LABEL_PREFIX + "warn-version" in labels
            policy = (enforce[0], _version_label(labels, "warn") if pinned else enforce[1])
    if policy is None:
        return None
    level, version = policy
    effective = version.resolve(NEWEST_VERSION)
    if cap is not None:
        effective = min(effective, cap)
    return level, version, effective


def _version_label(labels: dict, mode: str) -> PolicyVersion:
    try:
        return PolicyVersion.parse(labels.get(LABEL_PREFIX + mode + "-version", "latest"))
    except ValueError:
        return PolicyVersion(None)


def enforce_verdict(workload, labels: dict, version: PolicyVersion, evaluate=evaluate,
                    mode: str = "enforce") -> Optional[ModeVerdict]:
    """Does the object pass its namespace's label for `mode`, at the version the server applies?"""
    policy = mode_policy(labels, mode, version.cap)
    if policy is None or (mode != "enforce" and policy[0] == Level.PRIVILEGED):
        return None
    level, pinned, effective = policy
    verdict = evaluate(workload.pod_meta, workload.pod_spec, effective, workload.prefix)
    failed = [v.check for v in verdict.violations if v.level <= level]
    return ModeVerdict(level, str(pinned), not failed, tuple(failed))


def group_pods(results: list) -> list:
    """Pods are reported under the workload that controls them, with a count, when they
    judge the same as it; a pod that differs (or whose owner was not fetched, as a group)
    keeps its own entry."""
    by_identity = {(r.workload.namespace, r.workload.kind, r.workload.name): r for r in results}
    out, groups = [], {}
    for result in results:
        owner = result.live.owner
        if result.workload.kind != "Pod" or owner is None:
            out.append(result)
            continue
        key = (result.workload.namespace, owner.kind, owner.name, _signature(result))
        parent = by_identity.get(key[:3])
        if parent is not None and _signature(parent) == key[3]:
            parent.live = replace(parent.live, pods=parent.live.pods + 1)
            continue
        if key in groups:
            groups[key].live = replace(groups[key].live, pods=groups[key].live.pods + 1)
            continue
        groups[key] = result
        out.append(result)
    return out


def _signature(result) -> tuple:
    return result.verdict.highest, tuple((v.check, v.detail) for v in result.verdict.violations)


def _name(item: dict) -> str:
    return (item.get("metadata") or {}).get("name", "")


def namespace_summaries(kubectl: Kubectl, names: list, version: PolicyVersion, admission=None) -> tuple:
    """(summaries, problems) for `kubectl podsec namespaces`.

    `suggest` is the enforce label that every workload passes today and that raises the
    current level; a label that would lower it is a `downgrade`, with the workloads that keep
    the namespace from its current level, and never a suggestion. A namespace whose workloads
    could not all be read gets no suggestion."""
    problems = []
    if not names and kubectl.namespace and not kubectl.all_namespaces:
        names = [kubectl.namespace]  # -n NS: that namespace only
    try:
        if version.cap is None:
            version = version.clamp(kubectl.server_minor())
        labels, errors = kubectl.namespaces(names or None)
    except ClusterError as error:
        return [], [Problem(SOURCE, None, None, str(error))]
    problems.extend(Problem(SOURCE, None, None, message) for message in errors)
    if len(names) == 1:
        kubectl.all_namespaces, kubectl.namespace = False, names[0]
    else:
        kubectl.all_namespaces, kubectl.namespace = True, None
    report = scan_cluster(kubectl, [], version, labels, admission) if labels else Report(version)
    problems.extend(report.errors)
    unread = "; ".join(p.message for p in report.errors) or None  # a listing error: no namespace is complete
    per_namespace = defaultdict(list)
    for result in report.objects:
        if result.workload.namespace in labels:
            per_namespace[result.workload.namespace].append(result)
    summaries = []
    evaluate = _cached_evaluate()
    for name in sorted(labels):
        results = per_namespace.get(name, [])
        highest = min((effective_highest(r) for r in results), default=Level.RESTRICTED)
        failing = {str(level): sum(1 for r in results if effective_highest(r) < level)
                   for level in (Level.BASELINE, Level.RESTRICTED)}
        drift = any(_denied(r) for r in results)
        namespace_labels = labels[name]
        if admission is not None:
            namespace_labels = {**admission.default_labels(), **namespace_labels}
        current = mode_policy(namespace_labels, "enforce", version.cap)
        # Relabelling keeps a pinned enforce-version, so the safe level is judged at the
        # version the server will then apply (the pin, at most the server's own).
        at = current[2] if current else version.resolve(NEWEST_VERSION)
        safe = min((_highest_at(r, at, evaluate) for r in results), default=Level.RESTRICTED)
        command = f"kubectl label --overwrite ns {name} pod-security.kubernetes.io/enforce={safe}"
        summary = {"name": name, "labels": enforce_labels(labels[name]), "highest": str(highest),
                   "failing": failing, "workloads": len(results), "drift": drift,
                   "suggest": None, "downgrade": None}
        level_now = current[0] if current else Level.PRIVILEGED
        if unread:
            summary["unread"] = unread
        elif safe > level_now:
            summary["suggest"] = command
        elif safe < level_now:
            blocking = [f"{r.workload.kind}/{r.workload.name}" for r in results
                        if _denied(r)]
            summary["downgrade"] = {"from": f"{level_now}:{current[1]}", "to": str(safe),
                                    "blocking": blocking, "command": command}
        summary["pinUpgrade"] = _pin_upgrade(name, current, version.cap, results, evaluate)
        if kubectl.selector:
            summary["selector"] = kubectl.selector  # judged on the selected workloads only
        summaries.append(summary)
    return summaries, problems


def _denied(result) -> bool:
    """Would the namespace's enforce label deny the object's pods?"""
    enforce = result.live.mode("enforce") if result.live else None
    return enforce is not None and not enforce.passes


def _pin_upgrade(name: str, current, server, results: list, evaluate) -> Optional[dict]:
    """What moving an older enforce-version pin to the server's own version would break."""
    if current is None or current[1].requested is None or server is None or current[2] >= server:
        return None
    from kubectl_podsec.compare import pin_upgrade

    return {"from": str(current[1]), "to": str(server),
            "breaks": pin_upgrade(results, current[0], current[2], server, evaluate),
            "command": f"kubectl label --overwrite ns {name} {LABEL_PREFIX}enforce-version={server}"}


def plan_inputs(kubectl: Kubectl, names: list, version: PolicyVersion, admission=None) -> tuple:
    """(Report, {namespace: labels}) for `plan`: every workload of the named namespaces (all
    when none are named), judged at the server's version."""
    if not names and kubectl.namespace and not kubectl.all_namespaces:
        names = [kubectl.namespace]  # -n NS: that namespace only
    try:
        if version.cap is None:
            version = version.clamp(kubectl.server_minor())
        labels, errors = kubectl.namespaces(names or None)
    except ClusterError as error:
        report = Report(version)
        report.errors.append(Problem(SOURCE, None, None, str(error)))
        return report, {}
    if len(names) == 1:
        kubectl.all_namespaces, kubectl.namespace = False, names[0]
    else:
        kubectl.all_namespaces, kubectl.namespace = True, None
    report = scan_cluster(kubectl, [], version, labels, admission) if labels else Report(version)
    report.errors[:0] = [Problem(SOURCE, None, None, message) for message in errors]
    report.objects = [r for r in report.objects if r.workload.namespace in labels]
    return report, labels


def _highest_at(result, version, evaluate) -> Level:
    if result.suppressed and len(result.suppressed) == len(result.verdict.violations) \
            and all(s.by == "admission" for s in result.suppressed.values()):
        return Level.RESTRICTED  # exempt: the API server does not judge its pods at all
    return evaluate(result.workload.pod_meta, result.workload.pod_spec, version, result.workload.prefix).highest
