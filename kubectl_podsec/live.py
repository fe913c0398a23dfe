"""Verdicts for what runs in a cluster: workloads and their pods, grouped by owner, and the
namespaces' Pod Security labels against what runs in them."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Optional

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.cluster import (
    LABEL_PREFIX, WORKLOAD_RESOURCES, ClusterError, Kubectl, controller_of, enforce_labels,
)
from kubectl_podsec.evaluate import evaluate
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.manifests import Problem
from kubectl_podsec.scan import ObjectResult, Report, SkippedObject
from kubectl_podsec.suppress import Suppression
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
        result.extra = {"owner": {"kind": owner.get("kind"), "name": owner.get("name")} if owner else None,
                        "pods": 1 if workload.kind == "Pod" else 0}
        namespace_labels = labels.get(workload.namespace)
        if admission is not None:
            namespace_labels = {**admission.default_labels(), **(namespace_labels or {})}
            exempt = admission.exemption(workload.namespace, workload.pod_spec.get("runtimeClassName"))
            if exempt:
                result.suppressed = {v.check: Suppression("admission", exempt) for v in verdict.violations}
        if namespace_labels is not None:
            result.extra["enforce"] = enforce_verdict(workload, namespace_labels, version, evaluate)
            if result.extra["enforce"] and result.suppressed and len(result.suppressed) == len(verdict.violations):
                result.extra["enforce"]["passes"] = True  # exempt: the API server admits it unchecked
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


def enforce_verdict(workload, labels: dict, version: PolicyVersion, evaluate=evaluate) -> Optional[dict]:
    """Does the object pass its namespace's enforce label, at the label's own version?"""
    value = enforce_labels(labels)["enforce"]
    if value is None:
        return None
    level_text, _, version_text = value.partition(":")
    try:
        level = Level.parse(level_text)
    except ValueError:
        level = Level.RESTRICTED  # an invalid enforce level fails closed, as the API server does
    try:
        pinned = PolicyVersion.parse(version_text)
    except ValueError:
        pinned = PolicyVersion(None)  # an invalid version means latest
    if pinned.requested is None:
        pinned = PolicyVersion(None, version.cap)
    verdict = evaluate(workload.pod_meta, workload.pod_spec, pinned.resolve(NEWEST_VERSION), workload.prefix)
    failed = [v.check for v in verdict.violations if v.level <= level]
    return {"level": str(level), "version": str(pinned), "passes": not failed, "violations": failed}


def group_pods(results: list) -> list:
    """Pods are reported under the workload that controls them, with a count, when they
    judge the same as it; a pod that differs (or whose owner was not fetched, as a group)
    keeps its own entry."""
    by_identity = {(r.workload.namespace, r.workload.kind, r.workload.name): r for r in results}
    out, groups = [], {}
    for result in results:
        owner = result.extra.get("owner")
        if result.workload.kind != "Pod" or owner is None:
            out.append(result)
            continue
        key = (result.workload.namespace, owner["kind"], owner["name"], _signature(result))
        parent = by_identity.get(key[:3])
        if parent is not None and _signature(parent) == key[3]:
            parent.extra["pods"] += 1
            continue
        if key in groups:
            groups[key].extra["pods"] += 1
            continue
        groups[key] = result
        out.append(result)
    return out


def _signature(result) -> tuple:
    return result.verdict.highest, tuple((v.check, v.detail) for v in result.verdict.violations)


def _name(item: dict) -> str:
    return (item.get("metadata") or {}).get("name", "")


def namespace_summaries(kubectl: Kubectl, names: list, version: PolicyVersion, admission=None) -> tuple:
    """(summaries, problems) for `kubectl podsec namespaces`."""
    problems = []
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
    per_namespace = defaultdict(list)
    for result in report.objects:
        if result.workload.namespace in labels:
            per_namespace[result.workload.namespace].append(result)
    summaries = []
    evaluate = _cached_evaluate()
    for name in sorted(labels):
        results = per_namespace.get(name, [])
        highest = min((r.verdict.highest for r in results), default=Level.RESTRICTED)
        failing = {str(level): sum(1 for r in results if r.verdict.highest < level)
                   for level in (Level.BASELINE, Level.RESTRICTED)}
        drift = any(r.extra.get("enforce") and not r.extra["enforce"]["passes"] for r in results)
        # Relabelling keeps a pinned enforce-version, so the safe level is judged at that version.
        pinned = labels[name].get(LABEL_PREFIX + "enforce-version")
        safe = highest
        try:
            pinned_version = PolicyVersion.parse(pinned).resolve(NEWEST_VERSION) if pinned else None
        except ValueError:
            pinned_version = None  # an invalid version label means latest
        if pinned_version is not None:
            safe = min((evaluate(r.workload.pod_meta, r.workload.pod_spec, pinned_version, r.workload.prefix).highest
                        for r in results), default=Level.RESTRICTED)
        summaries.append({
            "name": name, "labels": enforce_labels(labels[name]), "highest": str(highest),
            "failing": failing, "workloads": len(results), "drift": drift,
            "suggest": f"kubectl label --overwrite ns {name} pod-security.kubernetes.io/enforce={safe}",
        })
    return summaries, problems
