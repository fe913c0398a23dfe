"""allowPrivilegeEscalation (restricted, v1.8+; Windows pods exempt from v1.25)

Privilege escalation (such as via set-user-ID or set-group-ID file mode) should not be allowed.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.allowPrivilegeEscalation
Allowed values: false (unset is not allowed)

Fix (safe): set `allowPrivilegeEscalation: false` on every container that leaves it unset;
(unsafe) change an explicit `true`. Not applied where the container is privileged or adds
CAP_SYS_ADMIN (the API server rejects that combination), nor on Windows pods.
"""

from kubectl_podsec.checks import ALLOWED, Check, CheckResult, VersionedCheck
from kubectl_podsec.checks.util import containers, containers_phrase, is_windows, security_context
from kubectl_podsec.levels import Level, Version


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


CHECK = Check("allowPrivilegeEscalation", Level.RESTRICTED, (
    VersionedCheck(Version(8), _check_1_8),
    VersionedCheck(Version(25), _check_1_25),
), doc=__doc__, fix_safety="safe")
