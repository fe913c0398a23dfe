"""Version-upgrade impact: which workloads judge differently under two policy versions, and
the checks that make the difference (`check --compare-versions v1.30,latest`).

Each version is resolved as PSA resolves it (`latest` and versions past the newest check are
the newest rules; on a live cluster `latest` is at most the server's minor). A workload is
listed when its highest passing level differs between the two; the checks that make the
difference are those that fail at one version and not at the other, per level. This module
computes; `reports/compare.py` renders.
"""

from __future__ import annotations

from kubectl_podsec.evaluate import GATED_LEVELS, evaluate
from kubectl_podsec.levels import PolicyVersion, Version
from kubectl_podsec.model import CheckDifference, VersionChange


def parse_pair(text: str) -> tuple:
    """`vA,vB` -> two PolicyVersions; ValueError with a message otherwise."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"--compare-versions takes two versions, FROM,TO (for example v1.30,latest), not {text!r}")
    return PolicyVersion.parse(parts[0]), PolicyVersion.parse(parts[1])


def changes(results: list, old_at: Version, new_at: Version) -> tuple:
    """A VersionChange for every workload in `results` (scan.ObjectResult) whose verdict
    differs between the two resolved versions."""
    changed = []
    for result in results:
        workload = result.workload
        before = evaluate(workload.pod_meta, workload.pod_spec, old_at, workload.prefix)
        after = evaluate(workload.pod_meta, workload.pod_spec, new_at, workload.prefix)
        if before.highest == after.highest:
            continue
        changed.append(VersionChange(result.source, result.line, workload.kind, workload.namespace or "",
                                     workload.name, before.highest, after.highest, _difference(before, after)))
    return tuple(changed)


def _difference(before, after) -> tuple:
    """The checks failing at only one of the versions, for the lowest level where each
    differs, with the detail from the version where it fails."""
    details = {v.check: v.detail for v in before.violations}
    details_after = {v.check: v.detail for v in after.violations}
    out, seen = [], set()
    for level in GATED_LEVELS:
        old_ids, new_ids = set(before.failing[level]), set(after.failing[level])
        for check in sorted(old_ids ^ new_ids):
            if check in seen:
                continue
            seen.add(check)
            fails_now = check in new_ids
            detail = (details_after if fails_now else details).get(check, "")
            out.append(CheckDifference(check, level, fails_now, detail))
    return tuple(out)


def pin_upgrade(results: list, level, old, new, evaluate=evaluate) -> list:
    """For a namespace that enforces `level` pinned at Version `old`: the workloads that pass at
    `old` and would fail at `new`, with the checks that would newly fail."""
    breaks = []
    for result in results:
        workload = result.workload
        before, after = (evaluate(workload.pod_meta, workload.pod_spec, at, workload.prefix) for at in (old, new))
        failing_before = {v.check for v in before.violations if v.level <= level}
        failing_after = [v.check for v in after.violations if v.level <= level and v.check not in result.suppressed]
        if failing_after and not failing_before:
            breaks.append({"kind": workload.kind, "name": workload.name, "checks": failing_after})
    return breaks
