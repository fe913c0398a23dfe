"""The capabilities_baseline control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    join_quote,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; replaced by capabilities_restricted in restricted from v1.22"
STANDARD = """\
Adding additional capabilities beyond those listed below must be disallowed.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add
Allowed values: undefined/nil, AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD,
  NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT
  (exact and case-sensitive: "chown" and "CAP_CHOWN" are not allowed)"""
FIX_TEXT = """\
remove the capabilities outside the allowed list from `add`."""

ALLOWED_CAPABILITIES = frozenset((
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
))


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    bad_containers, bad_caps, paths = [], set(), []
    for container, path in containers(spec):
        added = (security_context(container).get("capabilities") or {}).get("add") or ()
        bad = [cap for cap in added if cap not in ALLOWED_CAPABILITIES]
        if bad:
            bad_containers.append(container.get("name", ""))
            bad_caps.update(bad)
            paths.append(path + ("securityContext", "capabilities", "add"))
    if not bad_containers:
        return ALLOWED
    return CheckResult(
        False,
        "non-default capabilities",
        f"{containers_phrase(bad_containers)} must not include {join_quote(sorted(bad_caps))} "
        "in securityContext.capabilities.add",
        tuple(paths),
    )



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits = []
    for _, path, context in container_contexts(spec):
        added = (context.get("capabilities") or {}).get("add") or ()
        bad = [cap for cap in added if cap not in ALLOWED_CAPABILITIES]
        if bad:
            edits.append(Edit(CHECK_ID, "remove_items", path + ("securityContext", "capabilities", "add"), bad))
    return edits


CHECK_ID = "capabilities_baseline"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the container loses the capabilities it asked for (NET_ADMIN, SYS_TIME, ...); what needs them fails with EPERM")
