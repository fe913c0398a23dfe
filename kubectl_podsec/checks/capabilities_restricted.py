"""The capabilities_restricted control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    is_windows,
    join_quote,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "v1.22+; replaces capabilities_baseline; Windows pods exempt from v1.25"
STANDARD = """\
Containers must drop ALL capabilities, and are only permitted to add back the
NET_BIND_SERVICE capability.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.drop
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add
Allowed values:
  drop: any list that includes the exact string ALL (dropping every capability by name does
        not count)
  add: undefined/nil, NET_BIND_SERVICE"""
FIX_TEXT = """\
add ALL to `drop`, keeping the drops already listed and an allowed
`add: [NET_BIND_SERVICE]`; (unsafe) remove the other added capabilities. Not applied on
Windows pods."""

ALLOWED_ADD = "NET_BIND_SERVICE"


def _check_1_22(meta: dict, spec: dict) -> CheckResult:
    missing_drop, adders, forbidden, paths = [], [], set(), []
    for container, path in containers(spec):
        capabilities = security_context(container).get("capabilities")
        if capabilities is None:
            missing_drop.append(container.get("name", ""))
            paths.append(path + ("securityContext", "capabilities", "drop"))
            continue
        if "ALL" not in (capabilities.get("drop") or ()):
            missing_drop.append(container.get("name", ""))
            paths.append(path + ("securityContext", "capabilities", "drop"))
        bad = [cap for cap in capabilities.get("add") or () if cap != ALLOWED_ADD]
        if bad:
            adders.append(container.get("name", ""))
            forbidden.update(bad)
            paths.append(path + ("securityContext", "capabilities", "add"))
    parts = []
    if missing_drop:
        parts.append(f'{containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adders:
        parts.append(f"{containers_phrase(adders)} must not include {join_quote(sorted(forbidden))} "
                     "in securityContext.capabilities.add")
    if not parts:
        return ALLOWED
    return CheckResult(False, "unrestricted capabilities", "; ".join(parts), tuple(paths))


def _check_1_25(meta: dict, spec: dict) -> CheckResult:
    return ALLOWED if is_windows(spec) else _check_1_22(meta, spec)



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    if is_windows(spec):
        return []  # Linux-only field: the API server rejects it on Windows pods
    edits = []
    for _, path, context in container_contexts(spec):
        capabilities = context.get("capabilities") or {}
        bad = [cap for cap in capabilities.get("add") or () if cap != ALLOWED_ADD]
        if bad:
            edits.append(Edit(CHECK_ID, "remove_items", path + ("securityContext", "capabilities", "add"), bad))
        if "ALL" not in (capabilities.get("drop") or ()):
            edits.append(Edit(CHECK_ID, "append", path + ("securityContext", "capabilities", "drop"), "ALL"))
    return edits


CHECK_ID = "capabilities_restricted"
CHECK = Check(CHECK_ID, Level.RESTRICTED, (
    VersionedCheck(Version(22), _check_1_22, override_check_ids=("capabilities_baseline",)),
    VersionedCheck(Version(25), _check_1_25, override_check_ids=("capabilities_baseline",)),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.SAFE,
    fix_risk="drop: [ALL] also removes CHOWN, SETUID, SETGID, DAC_OVERRIDE and NET_BIND_SERVICE: images that start as root and switch users or chown files (the official nginx and postgres images) fail, and binding a port below 1024 needs NET_BIND_SERVICE added back")
