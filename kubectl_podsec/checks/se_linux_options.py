"""The seLinuxOptions control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckFn, CheckResult, Edit, FixFn, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    join_quote,
    pluralize,
    pod_security_context,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; v1.31 also allows container_engine_t"
STANDARD = """\
Setting the SELinux type is restricted, and setting a custom SELinux user or role option is
forbidden.

Restricted fields:
  spec.securityContext.seLinuxOptions.{type,user,role}
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seLinuxOptions.{type,user,role}
Allowed values:
  type: undefined/"", container_t, container_init_t, container_kvm_t,
        container_engine_t (v1.31+)
  user, role: undefined/""
  (level is not checked)"""
FIX_TEXT = """\
remove the forbidden type, user and role."""

TYPES_1_0 = frozenset(("", "container_t", "container_init_t", "container_kvm_t"))
TYPES_1_31 = TYPES_1_0 | {"container_engine_t"}


def _checker(allowed_types: frozenset) -> CheckFn:
    def check(meta: dict, spec: dict) -> CheckResult:
        bad_types, flags, paths = set(), {"user": False, "role": False}, []

        def valid(options: dict, path: tuple) -> bool:
            ok = True
            if options.get("type", "") not in allowed_types:
                bad_types.add(options.get("type", ""))
                paths.append(path + ("type",))
                ok = False
            for key in ("user", "role"):
                if options.get(key):
                    flags[key] = True
                    paths.append(path + (key,))
                    ok = False
            return ok

        setters = []
        options = pod_security_context(spec).get("seLinuxOptions")
        if options is not None and not valid(options, ("spec", "securityContext", "seLinuxOptions")):
            setters.append("pod")
        bad_containers = []
        for container, path in containers(spec):
            options = security_context(container).get("seLinuxOptions")
            if options is not None and not valid(options, path + ("securityContext", "seLinuxOptions")):
                bad_containers.append(container.get("name", ""))
        if bad_containers:
            setters.append(containers_phrase(bad_containers))
        if not setters:
            return ALLOWED
        parts = []
        if bad_types:
            parts.append(f'{pluralize("type", "types", len(bad_types))} {join_quote(sorted(bad_types))}')
        if flags["user"]:
            parts.append("user may not be set")
        if flags["role"]:
            parts.append("role may not be set")
        return CheckResult(False, "seLinuxOptions",
                           f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(parts)}",
                           tuple(paths))

    return check



def _fixer(allowed_types: frozenset) -> FixFn:
    # The fix removes what the variant being fixed for forbids: container_engine_t stays
    # from v1.31 and goes before it.
    def fix(meta: dict, spec: dict, version: Version | None) -> list:
        edits = []
        places = [(("spec", "securityContext", "seLinuxOptions"), pod_security_context(spec))]
        places += [(path + ("securityContext", "seLinuxOptions"), context)
                   for _, path, context in container_contexts(spec)]
        for path, context in places:
            options = context.get("seLinuxOptions")
            if options is None:
                continue
            if options.get("type", "") not in allowed_types:
                edits.append(Edit(CHECK_ID, "remove", path + ("type",)))
            for key in ("user", "role"):
                if options.get(key):
                    edits.append(Edit(CHECK_ID, "remove", path + (key,)))
        return edits

    return fix


CHECK_ID = "seLinuxOptions"
CHECK = Check(CHECK_ID, Level.BASELINE, (
    VersionedCheck(Version(0), _checker(TYPES_1_0), fix=_fixer(TYPES_1_0)),
    VersionedCheck(Version(31), _checker(TYPES_1_31), fix=_fixer(TYPES_1_31)),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix_safety=Safety.UNSAFE,
    fix_risk="the container runs with the default SELinux type, user and role: access that relied on the custom label is denied on SELinux hosts")
