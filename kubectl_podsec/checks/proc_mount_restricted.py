"""The procMount_restricted control: the standard's text, its versioned checks and its fix."""

from kubectl_podsec.checks.proc_mount import check_proc_mount, fix
from kubectl_podsec.checks.types import Check, Safety, VersionedCheck
from kubectl_podsec.levels import Level, Version

SUMMARY = "v1.35+; replaces procMount"
STANDARD = """\
The default /proc masks are set up to reduce attack surface, and should be required, even for
pods that run in their own user namespace.

Restricted fields: spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
Allowed values: undefined/nil, Default"""
FIX_TEXT = """\
remove `procMount: Unmasked`."""

CHECK = Check("procMount_restricted", Level.RESTRICTED, (
    VersionedCheck(Version(35), check_proc_mount, override_check_ids=("procMount",)),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the container's /proc is masked again: nested container runtimes and tools that read masked paths fail")
