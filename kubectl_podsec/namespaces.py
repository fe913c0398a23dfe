"""Judging namespaces: what their Pod Security labels say, how they judge the objects in them,
and which enforce label each can take today. Reading the cluster is live.py's job; the
`kubectl label` commands are written by reports/namespaces.py."""

from __future__ import annotations

from collections import defaultdict

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.cluster import LABEL_PREFIX, enforce_labels
from kubectl_podsec.evaluate import cached_evaluate, evaluate
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.model import Downgrade, ModeVerdict, NamespaceSummary, PinUpgrade
from kubectl_podsec.suppress import effective_highest

MODES = ("enforce", "audit", "warn")


def mode_policy(labels: dict, mode: str, cap) -> tuple | None:
    """(Level, PolicyVersion as labelled, Version whose rules apply) for one mode, or None when
    the mode is not set. As the API server: an invalid enforce level fails closed (restricted),
    an invalid audit or warn level fails open; an invalid version means latest; an absent warn
    takes a stricter enforce (and its version unless warn-version is set); every version,
    `latest` or pinned, is at most the server's own (docs/psa-semantics.md 1 and 9)."""
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
                    mode: str = "enforce") -> ModeVerdict | None:
    """Does the object pass its namespace's label for `mode`, at the version the server applies?"""
    policy = mode_policy(labels, mode, version.cap)
    if policy is None or (mode != "enforce" and policy[0] == Level.PRIVILEGED):
        return None
    level, pinned, effective = policy
    verdict = evaluate(workload.pod_meta, workload.pod_spec, effective, workload.prefix)
    failed = [v.check for v in verdict.violations if v.level <= level]
    return ModeVerdict(level, str(pinned), not failed, tuple(failed))


def summarize(labels: dict, objects: list, version: PolicyVersion, admission=None, unread: str | None = None,
              selector: str | None = None) -> list:
    """A NamespaceSummary per namespace in `labels` ({name: its labels}), judged on the
    objects read from it (scan.ObjectResult, live).

    `suggest` is the enforce level that every workload passes today and that raises the
    current level; a level that would lower it is a `downgrade`, with the workloads that keep
    the namespace from its current level, and never a suggestion. A namespace whose workloads
    could not all be read (`unread`) gets no suggestion."""
    per_namespace = defaultdict(list)
    for result in objects:
        if result.workload.namespace in labels:
            per_namespace[result.workload.namespace].append(result)
    summaries = []
    evaluate = cached_evaluate()
    for name in sorted(labels):
        results = per_namespace.get(name, [])
        highest = min((effective_highest(r) for r in results), default=Level.RESTRICTED)
        failing = tuple((level, sum(1 for r in results if effective_highest(r) < level))
                        for level in (Level.BASELINE, Level.RESTRICTED))
        namespace_labels = labels[name]
        if admission is not None:
            namespace_labels = {**admission.default_labels(), **namespace_labels}
        current = mode_policy(namespace_labels, "enforce", version.cap)
        # Relabelling keeps a pinned enforce-version, so the safe level is judged at the
        # version the server will then apply (the pin, at most the server's own).
        at = current[2] if current else version.resolve(NEWEST_VERSION)
        safe = min((_highest_at(r, at, evaluate) for r in results), default=Level.RESTRICTED)
        level_now = current[0] if current else Level.PRIVILEGED
        suggest = downgrade = None
        if unread:
            pass
        elif safe > level_now:
            suggest = safe
        elif current is not None and safe < level_now:  # (no labels: level_now is privileged)
            blocking = tuple(f"{r.workload.kind}/{r.workload.name}" for r in results if _denied(r))
            downgrade = Downgrade(level_now, str(current[1]), safe, blocking)
        summaries.append(NamespaceSummary(
            name, tuple(enforce_labels(labels[name]).items()), highest, failing, len(results),
            any(_denied(r) for r in results), suggest, downgrade, unread,
            _pin_upgrade(current, version.cap, results, evaluate), selector))
    return summaries


def _denied(result) -> bool:
    """Would the namespace's enforce label deny the object's pods?"""
    enforce = result.live.mode("enforce") if result.live else None
    return enforce is not None and not enforce.passes


def _pin_upgrade(current, server, results: list, evaluate) -> PinUpgrade | None:
    """What moving an older enforce-version pin to the server's own version would break."""
    if current is None or current[1].requested is None or server is None or current[2] >= server:
        return None
    from kubectl_podsec.compare import pin_upgrade

    return PinUpgrade(str(current[1]), server, tuple(pin_upgrade(results, current[0], current[2], server, evaluate)))


def _highest_at(result, version, evaluate) -> Level:
    if result.suppressed and len(result.suppressed) == len(result.verdict.violations) \
            and all(s.by == "admission" for s in result.suppressed.values()):
        return Level.RESTRICTED  # exempt: the API server does not judge its pods at all
    return evaluate(result.workload.pod_meta, result.workload.pod_spec, version, result.workload.prefix).highest
