"""The `namespaces` table and what is safe to apply today."""

from __future__ import annotations

from kubectl_podsec.reports.text import count as _count


def render_namespaces(summaries: list, paint) -> str:
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
