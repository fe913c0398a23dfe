"""Version-upgrade impact: which workloads judge differently under two policy versions, and
the checks that make the difference (`check --compare-versions v1.30,latest`).

Each version is resolved as PSA resolves it (`latest` and versions past the newest check are
the newest rules; on a live cluster `latest` is at most the server's minor). A workload is
listed when its highest passing level differs between the two; the checks that make the
difference are those that fail at one version and not at the other, per level.
"""

from __future__ import annotations

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import GATED_LEVELS, evaluate
from kubectl_podsec.levels import PolicyVersion


def parse_pair(text: str) -> tuple:
    """`vA,vB` -> two PolicyVersions; ValueError with a message otherwise."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"--compare-versions takes two versions, FROM,TO (for example v1.30,latest), not {text!r}")
    return PolicyVersion.parse(parts[0]), PolicyVersion.parse(parts[1])


def compare(results: list, old: PolicyVersion, new: PolicyVersion) -> dict:
    """Data for every workload in `results` (scan.ObjectResult) whose verdict differs."""
    old_at, new_at = old.resolve(NEWEST_VERSION), new.resolve(NEWEST_VERSION)
    changed = []
    for result in results:
        workload = result.workload
        before = evaluate(workload.pod_meta, workload.pod_spec, old_at, workload.prefix)
        after = evaluate(workload.pod_meta, workload.pod_spec, new_at, workload.prefix)
        if before.highest == after.highest:
            continue
        changed.append({
            "source": result.source, "line": result.line, "kind": workload.kind,
            "namespace": workload.namespace or None, "name": workload.name,
            "from": str(before.highest), "to": str(after.highest),
            "checks": _difference(before, after),
        })
    return {"from": {"version": str(old), "resolved": str(old_at)},
            "to": {"version": str(new), "resolved": str(new_at)},
            "workloads": len(results), "changed": changed}


def _difference(before, after) -> list:
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
            out.append({"check": check, "level": str(level), "change": "fails" if fails_now else "passes",
                        "detail": (details_after if fails_now else details).get(check, "")})
    return out


def render_text(data: dict) -> str:
    old, new = data["from"], data["to"]

    def name(side: dict) -> str:
        return side["version"] + (f" ({side['resolved']})" if side["version"] != side["resolved"] else "")

    out = []
    for item in data["changed"]:
        where = f"{item['source']}:{item['line']}" if item.get("line") else item["source"]
        namespace = f" -n {item['namespace']}" if item["namespace"] else ""
        out.append(f"{where}: {item['kind']}/{item['name']}{namespace}: {item['from']} -> {item['to']}")
        for check in item["checks"]:
            sign = "+" if check["change"] == "fails" else "-"
            out.append(f"  {sign} {check['check']} ({check['level']}, {check['change']} at "
                       f"{name(new)}): {check['detail']}")
    count = len(data["changed"])
    out.append(f"{count} of {data['workloads']} {'workload' if data['workloads'] == 1 else 'workloads'} "
               f"{'judges' if count == 1 else 'judge'} differently at {name(new)} than at {name(old)}")
    return "\n".join(out) + "\n"


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
