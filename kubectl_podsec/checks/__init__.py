"""The check registry: every Pod Security Standards control, resolved per (level, version).

Mirrors k8s.io/pod-security-admission's `policy/registry.go`: a check has an ID, a level and
versioned variants; at version V the variant with the greatest minimum version <= V runs;
restricted runs every restricted check plus every baseline check not overridden by an active
restricted variant. Results are ordered baseline IDs (bytewise) then restricted IDs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from kubectl_podsec.checks import (
    allow_privilege_escalation,
    app_armor_profile,
    capabilities_baseline,
    capabilities_restricted,
    host_namespaces,
    host_path_volumes,
    host_ports,
    host_probes_and_host_lifecycle,
    privileged,
    proc_mount,
    proc_mount_restricted,
    restricted_volumes,
    run_as_non_root,
    run_as_user,
    se_linux_options,
    seccomp_profile_baseline,
    seccomp_profile_restricted,
    sysctls,
    windows_host_process,
)

# The value types, for the registry's users; the checks themselves import checks.types.
from kubectl_podsec.checks.types import (
    ALLOWED,
    Check,
    CheckFn,
    CheckResult,
    Edit,
    Note,
    Safety,
    Unless,
    VersionedCheck,
)
from kubectl_podsec.levels import Level, Version

__all__ = [
    "ALL_CHECKS", "BY_ID", "NEWEST_VERSION", "RegistryError", "checks_for", "replaced_by", "replaces", "validate",
    "ALLOWED", "Check", "CheckFn", "CheckResult", "Edit", "Note", "Safety", "Unless", "VersionedCheck",
]

ALL_CHECKS: tuple = tuple(module.CHECK for module in (
    app_armor_profile, capabilities_baseline, host_namespaces, host_path_volumes, host_ports,
    host_probes_and_host_lifecycle, privileged, proc_mount, se_linux_options,
    seccomp_profile_baseline, sysctls, windows_host_process, allow_privilege_escalation,
    capabilities_restricted, proc_mount_restricted, restricted_volumes, run_as_non_root,
    run_as_user, seccomp_profile_restricted,
))
BY_ID = {check.id: check for check in ALL_CHECKS}


class RegistryError(Exception):
    """A check breaks an invariant of the registry: a programming error, found at import."""


def validate(checks: Sequence[Check]) -> Version:
    """Upstream's registry invariants (policy/registry.go: unique IDs, a level, increasing
    minimum versions, overrides only from restricted to a known baseline check), and ours for
    fixes (a fix at every version unless its safety is never, with its text and risk);
    returns the newest version any check knows."""
    seen = set()
    newest = Version(0)
    by_id = {check.id: check for check in checks}
    for check in checks:
        if not isinstance(check.id, str) or not check.id:
            raise RegistryError(f"{check.id!r}: a check needs an id")
        if check.id in seen:
            raise RegistryError(f"duplicate check id {check.id}")
        seen.add(check.id)
        if not isinstance(check.level, Level) or check.level == Level.PRIVILEGED:
            raise RegistryError(f"{check.id}: level must be Level.BASELINE or Level.RESTRICTED, not {check.level!r}")
        if not check.versions:
            raise RegistryError(f"{check.id}: no versions")
        if not isinstance(check.fix_safety, Safety):
            raise RegistryError(f"{check.id}: fix_safety must be a Safety, not {check.fix_safety!r}")
        previous = None
        for variant in check.versions:
            if not isinstance(variant.minimum_version, Version):
                raise RegistryError(f"{check.id}: minimum version {variant.minimum_version!r} is not a Version")
            if previous is not None and variant.minimum_version <= previous:
                raise RegistryError(f"{check.id}: versions must increase")
            previous = variant.minimum_version
            newest = max(newest, variant.minimum_version)
            for overridden in variant.override_check_ids:
                target = by_id.get(overridden)
                if check.level != Level.RESTRICTED or target is None or target.level != Level.BASELINE:
                    raise RegistryError(f"{check.id}: overrides only go restricted -> baseline "
                                        f"(it names {overridden!r})")
            if (check.fix_at(variant.minimum_version) is None) != (check.fix_safety == Safety.NEVER):
                raise RegistryError(f"{check.id}: a fix at v1.{variant.minimum_version.minor} exactly when its "
                                    f"safety is not never ({check.fix_safety})")
        if not check.fix_text.strip() or (check.fix_safety != Safety.NEVER and not check.fix_risk.strip()):
            raise RegistryError(f"{check.id}: needs fix_text, and fix_risk when it has a fix")
    return newest


NEWEST_VERSION: Version = validate(ALL_CHECKS)


@cache
def checks_for(level: Level, version: Version) -> tuple:
    """The (check, variant) pairs that run for `level` at `version`, in result order."""
    active = [(c, c.variant_at(version)) for c in ALL_CHECKS]
    active = [(c, v) for c, v in active if v is not None and c.level <= level]
    overridden = {oid for c, v in active if c.level == level for oid in v.override_check_ids}
    if level == Level.RESTRICTED:
        active = [(c, v) for c, v in active if c.id not in overridden]
    baseline = sorted((p for p in active if p[0].level == Level.BASELINE), key=lambda p: p[0].id.encode())
    restricted = sorted((p for p in active if p[0].level == Level.RESTRICTED), key=lambda p: p[0].id.encode())
    return tuple(baseline + restricted)


def _overrides(checks: Sequence[Check]) -> dict[str, str]:
    """baseline check id -> the restricted check that replaces it (at some version)."""
    return {overridden: check.id for check in checks for variant in check.versions
            for overridden in variant.override_check_ids}


_REPLACED_BY = _overrides(ALL_CHECKS)


def replaced_by(check_id: str) -> str | None:
    """The restricted check that replaces `check_id` at restricted level, if any: its fix
    covers the baseline check's findings too."""
    return _REPLACED_BY.get(check_id)


def replaces(check_id: str) -> str | None:
    """The baseline check that `check_id` replaces at restricted level, if any."""
    return next((baseline for baseline, restricted in _REPLACED_BY.items() if restricted == check_id), None)
