"""The `namespaces` table and what is safe to apply today; the `kubectl label` commands that
apply it are written here, not in the core."""

from __future__ import annotations

from collections.abc import Sequence

from kubectl_podsec.cluster import LABEL_PREFIX
from kubectl_podsec.levels import Level
from kubectl_podsec.model import NamespaceSummary
from kubectl_podsec.reports.terminal import Paint
from kubectl_podsec.reports.text import count as _count


def label_command(name: str, level: Level) -> str:
    return f"kubectl label --overwrite ns {name} {LABEL_PREFIX}enforce={level}"


def namespaces_data(summaries: Sequence[NamespaceSummary]) -> dict:
    """`namespaces -o json|yaml`."""
    return {"namespaces": [summary_data(s) for s in summaries]}


def summary_data(s: NamespaceSummary) -> dict:
    data = {"name": s.name, "labels": dict(s.labels), "highest": str(s.highest),
            "failing": {str(level): count for level, count in s.failing}, "workloads": s.workloads,
            "drift": s.drift, "suggest": label_command(s.name, s.suggest) if s.suggest is not None else None,
            "downgrade": None}
    if s.downgrade is not None:
        down = s.downgrade
        data["downgrade"] = {"from": f"{down.from_level}:{down.from_version}", "to": str(down.to),
                             "blocking": list(down.blocking), "command": label_command(s.name, down.to)}
    if s.unread:
        data["unread"] = s.unread
    pin = s.pin_upgrade
    data["pinUpgrade"] = None if pin is None else {
        "from": pin.from_version, "to": str(pin.to), "breaks": list(pin.breaks),
        "command": f"kubectl label --overwrite ns {s.name} {LABEL_PREFIX}enforce-version={pin.to}"}
    if s.selector:
        data["selector"] = s.selector  # judged on the selected workloads only
    return data


def render_namespaces(summaries: Sequence[NamespaceSummary], paint: Paint) -> str:
    """The table, from the same data as -o json."""
    return _render([summary_data(s) for s in summaries], paint)


def _render(summaries: list, paint: Paint) -> str:
    header = ("NAMESPACE", "ENFORCE", "AUDIT", "WARN", "HIGHEST", "FAIL-BASELINE", "FAIL-RESTRICTED", "DRIFT")
    rows = [header]
    for s in summaries:
        rows.append((s["name"], s["labels"]["enforce"] or "-", s["labels"]["audit"] or "-", s["labels"]["warn"] or "-",
                     s["highest"], str(s["failing"]["baseline"]), str(s["failing"]["restricted"]),
                     "yes" if s["drift"] else "no"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    scope = ""
    selector = next((s["selector"] for s in summaries if s.get("selector")), None)
    if selector:
        scope = f" (judged only on the workloads that match -l {selector}; others were not read)"
    suggestions = [f"  {s['suggest']}" for s in summaries if s.get("suggest")]
    lines += ["", f"Safe to apply today{scope}:"] + (suggestions or ["  nothing: no namespace can take a "
                                                                    "stricter enforce level yet"])
    downgrades = [s for s in summaries if s.get("downgrade")]
    if downgrades:
        lines += ["", "Not suggested: these would LOWER the enforce level (a downgrade); fix the workloads "
                      "named instead:"]
        for s in downgrades:
            down = s["downgrade"]
            count = len(down["blocking"])
            lines.append(f"  {s['name']}: enforces {down['from']}, and {_count(count, 'workload')} "
                         f"{'fails' if count == 1 else 'fail'} it: {', '.join(down['blocking'])}; "
                         f"all pass {down['to']}. To lower it anyway: {down['command']}")
    pinned = [s for s in summaries if s.get("pinUpgrade")]
    if pinned:
        lines += ["", "Pinned to an older enforce-version: what moving the pin to the server's version would break:"]
        for s in pinned:
            pin = s["pinUpgrade"]
            broken = "; ".join(f"{b['kind']}/{b['name']} ({', '.join(b['checks'])})" for b in pin["breaks"])
            lines.append(f"  {s['name']}: {pin['from']} -> {pin['to']}: "
                         + (f"{_count(len(pin['breaks']), 'workload')} would be refused: {broken}" if pin["breaks"]
                            else f"nothing breaks: {pin['command']}"))
    unread = [s for s in summaries if s.get("unread")]
    if unread:
        lines += ["", "No suggestion (the workloads could not be read):"]
        lines += [f"  {s['name']}: {s['unread']}" for s in unread]
    return "\n".join(lines) + "\n"
