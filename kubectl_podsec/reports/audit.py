"""`audit`: the JSON data (its schema, defined once) and the text."""

from __future__ import annotations

from kubectl_podsec.model import AuditGroup, AuditResult


def audit_data(result: AuditResult) -> dict:
    return {
        "files": list(result.files), "events": result.events, "eventsWithFindings": result.events_with_findings,
        "groupBy": result.group_by, "groups": [_group_data(group, result.group_by) for group in result.groups],
        "errors": [{"source": e.source, "line": e.line, "column": e.column, "message": e.message}
                   for e in result.errors],
    }


def _group_data(group: AuditGroup, group_by: str) -> dict:
    return {
        "namespace": group.namespace, "resource" if group_by == "object" else "kind": group.what, "name": group.name,
        "ownerFrom": group.owner_from,
        "levels": list(group.levels),
        "checks": [{"check": c.check, "reason": c.reason, "events": c.events, "denied": c.denied}
                   for c in group.checks],
        "deniedBy": [{"check": c.check, "reason": c.reason, "events": c.events} for c in group.denied_by],
        "enforce": list(group.enforce),
        "events": group.events, "denied": group.denied, "users": list(group.users),
        "firstSeen": group.first_seen, "lastSeen": group.last_seen,
    }


def render_text(result: AuditResult) -> str:
    out = []
    for group in result.groups:
        name = group.name or "(generateName, not in the log)"
        what = group.what or "(resource not in the log)"
        owner = f"  [owner from {group.owner_from}]" if group.owner_from else ""
        denied = f", {group.denied} denied" if group.denied else ""
        events = f"{group.events} {'event' if group.events == 1 else 'events'}"
        out.append(f"{group.namespace or '(cluster)'}  {what}/{name}  {events}{denied}  "
                   f"{', '.join(group.levels)}{owner}")
        seen = f"seen {group.first_seen} .. {group.last_seen}" if group.first_seen else "seen (no timestamps)"
        out.append(f"  {seen} by {', '.join(group.users) or '(no user recorded)'}")
        for check in group.checks:
            counts = f"{check.events}" + (f" ({check.denied} denied)" if check.denied else "")
            out.append(f"    {check.check or '?':28} {counts:>12}  {check.reason}")
    groups = result.groups
    out.append(f"{len(groups)} {'group' if len(groups) == 1 else 'groups'} by {result.group_by}; "
               f"{result.events_with_findings} of {result.events} events carry Pod Security findings; "
               f"{sum(g.denied for g in groups)} denied")
    return "\n".join(out) + "\n"
