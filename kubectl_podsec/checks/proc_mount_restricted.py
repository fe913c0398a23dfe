"""procMount_restricted (restricted, v1.35+; replaces procMount)

The default /proc masks are set up to reduce attack surface, and should be required, even for
pods that run in their own user namespace.

Restricted fields: spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
Allowed values: undefined/nil, Default

Fix (unsafe): remove `procMount: Unmasked`.
"""

from kubectl_podsec.checks import Check, VersionedCheck
from kubectl_podsec.checks.proc_mount import check_proc_mount, fix
from kubectl_podsec.levels import Level, Version

CHECK = Check("procMount_restricted", Level.RESTRICTED, (
    VersionedCheck(Version(35), check_proc_mount, override_check_ids=("procMount",)),
), doc=__doc__, fix=fix, fix_safety="unsafe",
    fix_risk="the container's /proc is masked again: nested container runtimes and tools that read masked paths fail")
