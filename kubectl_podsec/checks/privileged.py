"""privileged (baseline, all versions)

Privileged Pods disable most security mechanisms and must be disallowed.

Restricted fields: spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged
Allowed values: undefined/nil, false

Fix (unsafe): remove `privileged: true`.
"""

from kubectl_podsec.checks import ALLOWED, Check, CheckResult, VersionedCheck
from kubectl_podsec.checks.util import containers, containers_phrase, security_context
from kubectl_podsec.fixplan import container_contexts
from kubectl_podsec.levels import Level, Version


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    bad, paths = [], []
    for container, path in containers(spec):
        if security_context(container).get("privileged") is True:
            bad.append(container.get("name", ""))
            paths.append(path + ("securityContext", "privileged"))
    if not bad:
        return ALLOWED
    return CheckResult(False, "privileged", f"{containers_phrase(bad)} must not set securityContext.privileged=true",
                       tuple(paths))



def fix(plan) -> None:
    for _, path, context in container_contexts(plan):
        if context.get("privileged") is True:
            plan.set(CHECK_ID, path + ("securityContext", "privileged"), False, safe=False)


CHECK_ID = "privileged"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),), doc=__doc__, fix=fix,
              fix_safety="unsafe")
