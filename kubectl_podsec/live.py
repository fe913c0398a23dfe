"""Reading what runs in a cluster: workloads and their pods, evaluated and grouped by owner,
and the namespaces' labels; namespaces.py judges the namespaces."""

from __future__ import annotations

import threading
from dataclasses import replace

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.cluster import WORKLOAD_RESOURCES, ClusterError, Kubectl, controller_of
from kubectl_podsec.evaluate import cached_evaluate
from kubectl_podsec.levels import PolicyVersion
from kubectl_podsec.model import LiveFacts, Owner, Suppression
from kubectl_podsec.namespaces import MODES, enforce_verdict, summarize
from kubectl_podsec.scan import ObjectResult, Report, SkippedObject
from kubectl_podsec.sources import Problem
from kubectl_podsec.workloads import DEFAULT_KINDS, PruneError, Skipped, WorkloadKinds, workload_from_value

SOURCE = "cluster"


def scan_cluster(kubectl: Kubectl, resources: list, version: PolicyVersion, labels: dict | None = None,
                 admission=None, kinds: WorkloadKinds = DEFAULT_KINDS, keep=None) -> Report:
    """Fetch, evaluate and group. Errors (kubectl, RBAC, ...) are collected, not raised, so
    that one forbidden kind does not hide the others.

    The objects come a page at a time (Kubectl.pages, read ahead while this judges) and only
    their results stay: pods that judge alike under one owner are counted as they come. What
    the namespaces' labels decide is added once the labels are read (with -A or -n that read
    starts with the first object, so it runs while this judges).

    `keep(result)`, when given, makes of each result, complete but for its pod count, what is
    kept of it instead (a report entry, compact), as soon as the labels are known: the
    objects read are then not held to the end. report.objects is then (kept, pods) pairs,
    grouped and in the same order as the results would be."""
    report = Report(version)
    reading = kubectl.pages(resources or [",".join(WORKLOAD_RESOURCES)])  # starts reading at once
    try:
        if version.cap is None:  # `latest`, here or in a namespace label, means the server's rules
            version = version.clamp(kubectl.server_minor())
            report.policy_version = version
        effective = version.resolve(NEWEST_VERSION)
        evaluate = cached_evaluate()
        judged = _Judged()
        # Which namespaces' labels _namespace_labels will want, known from the first object:
        # all of them under -A, else the one of -n (every namespaced object is in it).
        wanted = None if kubectl.all_namespaces else [kubectl.namespace]
        prefetch = labels is None and (kubectl.all_namespaces or kubectl.namespace)
        for page in reading:
            report.warnings.extend(page.warnings)
            judged.listing_errors += page.errors
            for item in page.items:
                if prefetch and not judged.namespaces and (item.get("metadata") or {}).get("namespace"):
                    judged.labels = _in_background(lambda: kubectl.namespaces(wanted))
                _judge(item, effective, evaluate, admission, judged, report, kinds)
            del page
            if keep is not None and judged.pending and (labels is not None or judged.labels_ready()):
                early = labels if labels is not None else _namespace_labels(kubectl, judged, [])
                judged.keep_pending(keep, lambda result, labels=early: _modes(result, labels, version, evaluate,
                                                                              admission))
    except ClusterError as error:
        reading.close()
        report.warnings.extend(error.warnings)
        report.errors = [Problem(SOURCE, None, None, str(error))]
        report.objects, report.skipped = [], []
        return report
    report.errors[:0] = [Problem(SOURCE, None, None, message) for message in judged.listing_errors]
    if not judged.namespaces and kubectl.namespace and not kubectl.all_namespaces:
        missing = _missing_namespace(kubectl)
        if missing:
            report.errors.insert(len(judged.listing_errors), Problem(SOURCE, None, None, missing))
    if labels is None:
        labels = _namespace_labels(kubectl, judged, report.warnings)
    modes = lambda result: _modes(result, labels, version, evaluate, admission)  # noqa: E731
    if keep is not None:
        judged.keep_pending(keep, modes)
        report.objects = [(entry.value, entry.pods) for entry in group_pods(judged.results)]
        return report
    for entry in judged.results:
        entry.value.live = replace(entry.value.live, modes=modes(entry.value))
    report.objects = []
    for entry in group_pods(judged.results):
        result = entry.value
        result.live = replace(result.live, pods=entry.pods)
        report.objects.append(result)
    return report


class _Entry:
    """A judged object: what grouping needs of it, and its ObjectResult (or what scan_cluster's
    `keep` made of it)."""

    __slots__ = ("identity", "owner", "signature", "pods", "value")

    def __init__(self, identity: tuple, owner: Owner | None, signature: tuple, pods: int, value):
        self.identity, self.owner, self.signature, self.pods, self.value = identity, owner, signature, pods, value


class _Judged:
    """What scan_cluster keeps of the objects it has judged."""

    def __init__(self):
        self.results = []  # _Entry, in the order read; pods alike under one owner once
        self.pending = []  # _Entry whose value is still the ObjectResult, for `keep`
        self.pods = {}  # (namespace, owner kind, owner name, signature) -> the first such pod
        self.signatures = {}  # one tuple per distinct signature, shared by the entries
        self.namespaces = set()  # of every object read
        self.listing_errors = []
        self.labels = None  # with -A or -n: the wait for the namespaces' labels, being read

    def labels_ready(self) -> bool:
        return self.labels is not None and self.labels.ready()

    def keep_pending(self, keep, modes) -> None:
        """The pending results with their modes, handed to `keep`; only what it gives stays."""
        for entry in self.pending:
            result = entry.value
            result.live = replace(result.live, modes=modes(result))
            entry.value = keep(result)
        self.pending = []


def _judge(item: dict, effective, evaluate, admission, judged: _Judged, report: Report,
           kinds: WorkloadKinds) -> None:
    """Judge one object read from the cluster: a result, a skipped object or an error."""
    namespace = (item.get("metadata") or {}).get("namespace")
    if namespace:
        judged.namespaces.add(namespace)
    try:
        workload = workload_from_value(item, kinds)
    except PruneError as error:
        report.errors.append(Problem(SOURCE, None, None, f"{item.get('kind')}/{_name(item)}: {error.message}"))
        return
    if isinstance(workload, Skipped):
        report.skipped.append(SkippedObject(SOURCE, None, None, workload))
        return
    verdict = evaluate(workload.pod_meta, workload.pod_spec, effective, workload.prefix)
    result = ObjectResult(SOURCE, None, None, None, None, workload, verdict,
                          tuple(tuple((path, None, None) for path in v.paths) for v in verdict.violations))
    owner = controller_of(item)
    result.live = LiveFacts(Owner(owner.get("kind"), owner.get("name")) if owner else None,
                            1 if workload.kind == "Pod" else 0, ())
    if admission is not None:
        exempt = admission.exemption(workload.namespace, workload.pod_spec.get("runtimeClassName"),
                                     pod_creators(workload.kind, owner))
        if exempt:
            result.suppressed = {v.check: Suppression("admission", exempt) for v in verdict.violations}
    signature = _signature(result)
    signature = judged.signatures.setdefault(signature, signature)
    if workload.kind == "Pod" and owner is not None:
        key = (workload.namespace, owner.get("kind"), owner.get("name"), signature)
        first = judged.pods.get(key)
        if first is not None:  # judged alike: only counted (group_pods folds the groups)
            first.pods += 1
            return
    entry = _Entry((workload.namespace, workload.kind, workload.name), result.live.owner, signature,
                   result.live.pods, result)
    if workload.kind == "Pod" and owner is not None:
        judged.pods[key] = entry
    judged.results.append(entry)
    judged.pending.append(entry)


def _modes(result, labels: dict, version: PolicyVersion, evaluate, admission) -> tuple:
    """((mode, ModeVerdict or None), ...): enforce always, audit and warn where they apply, as
    the namespace's labels (and the admission configuration's defaults) say; () without labels."""
    workload = result.workload
    namespace_labels = labels.get(workload.namespace)
    if admission is not None:
        namespace_labels = {**admission.default_labels(), **(namespace_labels or {})}
    if namespace_labels is None:
        return ()
    modes = []
    exempt_all = bool(result.suppressed) and len(result.suppressed) == len(result.verdict.violations)
    for mode in MODES:
        mode_verdict = enforce_verdict(workload, namespace_labels, version, evaluate, mode)
        if mode_verdict and exempt_all:
            mode_verdict = replace(mode_verdict, passes=True)  # exempt: admitted unchecked
        if mode == "enforce" or mode_verdict:
            modes.append((mode, mode_verdict))
    return tuple(modes)


def _in_background(read):
    """Run `read` in a thread; the result is the function that waits for its answer (or
    raises what it raised)."""
    done, answer = threading.Event(), []

    def run():
        try:
            answer.append((read(), None))
        except ClusterError as error:
            answer.append((None, error))
        done.set()

    threading.Thread(target=run, daemon=True).start()

    def wait():
        done.wait()
        value, error = answer[0]
        if error is not None:
            raise error
        return value

    wait.ready = done.is_set
    return wait


def _missing_namespace(kubectl: Kubectl) -> str | None:
    """An empty answer for -n NAME may mean a typo: kubectl does not say, so ask."""
    try:
        found, errors, _ = kubectl.namespaces([kubectl.namespace])
    except ClusterError:
        return None
    if not found and any("NotFound" in message or "not found" in message for message in errors):
        return f'namespace "{kubectl.namespace}" not found'
    return None


def _namespace_labels(kubectl: Kubectl, judged: _Judged, warnings: list) -> dict:
    """{namespace: labels} of the namespaces of the objects read; what could not be read is a
    warning."""
    names = sorted(judged.namespaces)
    if not names:
        return {}
    try:
        read = judged.labels or (lambda: kubectl.namespaces(None if kubectl.all_namespaces else names))
        labels, errors, said = read()
    except ClusterError as error:
        errors, labels, said = [str(error)], {}, error.warnings
    warnings.extend(said)
    warnings.extend(f"Warning: namespace labels not read: {message}" for message in errors)
    return labels


# Who creates the pods of each kind: the controllers' service accounts (kube-controller-manager
# with --use-service-account-credentials), or the controller manager's own user without it.
# A username exemption for them exempts those pods, as the API server would.
CONTROLLER_USERS = {
    "Deployment": "replicaset-controller", "ReplicaSet": "replicaset-controller",
    "StatefulSet": "statefulset-controller", "DaemonSet": "daemon-set-controller",
    "ReplicationController": "replication-controller", "Job": "job-controller", "CronJob": "job-controller",
}


def pod_creators(kind: str, owner: dict | None) -> tuple:
    """The usernames that create the pods of this object: for a workload, its controller; for a
    Pod, its owner's controller. A bare Pod's creator is not recorded anywhere, so none."""
    creator = (owner or {}).get("kind", "") if kind == "Pod" else kind
    controller = CONTROLLER_USERS.get(creator)
    if controller is None:
        return ()
    return (f"system:serviceaccount:kube-system:{controller}", "system:kube-controller-manager")


def group_pods(entries: list) -> list:
    """Pods are reported under the workload that controls them, with a count, when they
    judge the same as it; a pod that differs (or whose owner was not fetched, as a group)
    keeps its own entry. A pod's count may be more than one: the pods it stands for."""
    by_identity = {entry.identity: entry for entry in entries}
    out: list[_Entry] = []
    groups: dict[tuple, _Entry] = {}
    for entry in entries:
        owner = entry.owner
        if entry.identity[1] != "Pod" or owner is None:
            out.append(entry)
            continue
        key = (entry.identity[0], owner.kind, owner.name, entry.signature)
        parent = by_identity.get(key[:3])
        if parent is not None and parent.signature == key[3]:
            parent.pods += entry.pods
            continue
        if key in groups:
            groups[key].pods += entry.pods
            continue
        groups[key] = entry
        out.append(entry)
    return out


def _signature(result) -> tuple:
    return result.verdict.highest, tuple((v.check, v.detail) for v in result.verdict.violations)


def _name(item: dict) -> str:
    return (item.get("metadata") or {}).get("name", "")


def _labels_at_server_version(kubectl: Kubectl, names: list, version: PolicyVersion) -> tuple:
    """(names, version clamped to the server's, NamespaceLabels, a Kubectl
    scoped to those namespaces) for `plan` and `namespaces`; raises ClusterError."""
    if not names and kubectl.namespace and not kubectl.all_namespaces:
        names = [kubectl.namespace]  # -n NS: that namespace only
    if version.cap is None:
        version = version.clamp(kubectl.server_minor())
    listing = kubectl.namespaces(names or None)
    scoped = replace(kubectl, all_namespaces=len(names) != 1, namespace=names[0] if len(names) == 1 else None)
    return names, version, listing, scoped


def plan_inputs(kubectl: Kubectl, names: list, version: PolicyVersion, admission=None,
                kinds: WorkloadKinds = DEFAULT_KINDS) -> tuple:
    """(Report, {namespace: labels}) for `plan`: every workload of the named namespaces (all
    when none are named), judged at the server's version."""
    try:
        names, version, (labels, errors, warnings), scoped = _labels_at_server_version(kubectl, names, version)
    except ClusterError as error:
        report = Report(version)
        report.warnings.extend(error.warnings)
        report.errors.append(Problem(SOURCE, None, None, str(error)))
        return report, {}
    report = scan_cluster(scoped, [], version, labels, admission, kinds) if labels else Report(version)
    report.warnings[:0] = warnings
    report.errors[:0] = [Problem(SOURCE, None, None, message) for message in errors]
    report.objects = [r for r in report.objects if r.workload.namespace in labels]
    return report, labels


def namespace_summaries(kubectl: Kubectl, names: list, version: PolicyVersion, admission=None,
                        kinds: WorkloadKinds = DEFAULT_KINDS) -> tuple:
    """(NamespaceSummary list, problems, kubectl's warnings) for `kubectl podsec namespaces`:
    read the namespaces' labels and their workloads; namespaces.summarize judges them."""
    try:
        names, version, (labels, errors, warnings), scoped = _labels_at_server_version(kubectl, names, version)
    except ClusterError as error:
        return [], [Problem(SOURCE, None, None, str(error))], list(error.warnings)
    problems = [Problem(SOURCE, None, None, message) for message in errors]
    report = scan_cluster(scoped, [], version, labels, admission, kinds) if labels else Report(version)
    problems.extend(report.errors)
    unread = "; ".join(p.message for p in report.errors) or None  # a listing error: no namespace is complete
    summaries = summarize(labels, report.objects, version, admission, unread, scoped.selector)
    return summaries, problems, warnings + report.warnings
