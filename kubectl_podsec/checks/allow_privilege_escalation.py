"""The allowPrivilegeEscalation control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Note, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    is_windows,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "v1.8+; Windows pods exempt from v1.25"
STANDARD = """\
Privilege escalation (such as via set-user-ID or set-group-ID file mode) should not be allowed.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation
Allowed values: false (unset is not allowed)"""
FIX_TEXT = """\
set `allowPrivilegeEscalation: false` on every container that leaves it unset;
(unsafe) change an explicit `true`. Not applied where the container is privileged or adds
CAP_SYS_ADMIN (the API server rejects that combination), nor on Windows pods."""


def _check_1_8(meta: dict, spec: dict) -> CheckResult:
    bad, paths = [], []
    for container, path in containers(spec):
        if security_context(container).get("allowPrivilegeEscalation") is not False:
            bad.append(container.get("name", ""))
            paths.append(path + ("securityContext", "allowPrivilegeEscalation"))
    if not bad:
        return ALLOWED
    return CheckResult(False, "allowPrivilegeEscalation != false",
                       f"{containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false",
                       tuple(paths))


def _check_1_25(meta: dict, spec: dict) -> CheckResult:
    return ALLOWED if is_windows(spec) else _check_1_8(meta, spec)



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    if is_windows(spec):
        return []  # Linux-only field: the API server rejects it on Windows pods
    edits: list = []
    for container, path, context in container_contexts(spec):
        value = context.get("allowPrivilegeEscalation")
        if value is False:
            continue
        # The API server rejects allowPrivilegeEscalation: false with these (docs/psa-semantics.md 9.2).
        added = (context.get("capabilities") or {}).get("add") or ()
        if context.get("privileged") is True or {"SYS_ADMIN", "CAP_SYS_ADMIN"} & set(added):
            edits.append(Note(CHECK_ID, f'container "{container.get("name", "")}" is privileged or adds '
                                        "SYS_ADMIN, which allowPrivilegeEscalation: false cannot be combined with"))
            continue
        edits.append(Edit(CHECK_ID, "set", path + ("securityContext", "allowPrivilegeEscalation"), False,
                          safe=value is None))
    return edits


CHECK_ID = "allowPrivilegeEscalation"
CHECK = Check(CHECK_ID, Level.RESTRICTED, (
    VersionedCheck(Version(8), _check_1_8),
    VersionedCheck(Version(25), _check_1_25),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.SAFE,
    fix_risk="setuid and setgid programs (sudo, su, ping in some images) no longer gain privileges; a process that relies on them fails")
