"""The procMount control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    host_users_disabled,
    join_quote,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; replaced by procMount_restricted in restricted from v1.35"
STANDARD = """\
The default /proc masks are set up to reduce attack surface, and should be required.

Restricted fields: spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount
Allowed values: undefined/nil, Default

Versions: from v1.35 a pod with `spec.hostUsers: false` (its own user namespace) may use any
procMount at baseline."""
FIX_TEXT = """\
remove `procMount: Unmasked`."""


def check_proc_mount(meta: dict, spec: dict) -> CheckResult:
    bad, types, paths = [], set(), []
    for container, path in containers(spec):
        proc_mount = security_context(container).get("procMount")
        if proc_mount is not None and proc_mount != "Default":
            bad.append(container.get("name", ""))
            types.add(proc_mount)
            paths.append(path + ("securityContext", "procMount"))
    if not bad:
        return ALLOWED
    return CheckResult(False, "procMount",
                       f"{containers_phrase(bad)} must not set securityContext.procMount to "
                       f"{join_quote(sorted(types))}",
                       tuple(paths))


def _check_1_35(meta: dict, spec: dict) -> CheckResult:
    return ALLOWED if host_users_disabled(spec) else check_proc_mount(meta, spec)



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    return [Edit(CHECK_ID, "set", path + ("securityContext", "procMount"), "Default", safe=False)
            for _, path, context in container_contexts(spec) if context.get("procMount") not in (None, "Default")]


CHECK_ID = "procMount"
CHECK = Check(CHECK_ID, Level.BASELINE, (
    VersionedCheck(Version(0), check_proc_mount),
    VersionedCheck(Version(35), _check_1_35),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the container's /proc is masked again: nested container runtimes and tools that read masked paths fail")
