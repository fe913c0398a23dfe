"""The check registry: every Pod Security Standards control, resolved per (level, version).

Mirrors k8s.io/pod-security-admission's `policy/registry.go`: a check has an ID, a level and
versioned variants; at version V the variant with the greatest minimum version <= V runs;
restricted runs every restricted check plus every baseline check not overridden by an active
restricted variant. Results are ordered baseline IDs (bytewise) then restricted IDs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional

from kubectl_podsec.levels import Level, Version


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    reason: str = ""
    detail: str = ""
    # Pod-relative paths of the offending fields (or of the field that must be set).
    paths: tuple = ()


ALLOWED = CheckResult(True)

CheckFn = Callable[[dict, dict], CheckResult]


@dataclass(frozen=True)
class VersionedCheck:
    minimum_version: Version
    check_pod: CheckFn
    override_check_ids: tuple = ()


@dataclass(frozen=True)
class Check:
    id: str
    level: Level
    versions: tuple
    doc: str = ""
    # What `fix` does about it: "safe", "unsafe" or "never" (a human must decide).
    fix_safety: str = "never"
    # What applying the fix can break at run time: what a reviewer should test.
    fix_risk: str = ""
    fix: Optional[Callable] = field(default=None, compare=False)

    def variant_at(self, version: Version) -> Optional[VersionedCheck]:
        active = None
        for variant in self.versions:
            if variant.minimum_version <= version:
                active = variant
        return active


def _load_all() -> tuple:
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

    modules = (
        app_armor_profile, capabilities_baseline, host_namespaces, host_path_volumes, host_ports,
        host_probes_and_host_lifecycle, privileged, proc_mount, se_linux_options,
        seccomp_profile_baseline, sysctls, windows_host_process, allow_privilege_escalation,
        capabilities_restricted, proc_mount_restricted, restricted_volumes, run_as_non_root,
        run_as_user, seccomp_profile_restricted,
    )
    return tuple(module.CHECK for module in modules)


ALL_CHECKS: tuple = _load_all()
BY_ID = {check.id: check for check in ALL_CHECKS}


def _validate(checks) -> Version:
    """Upstream's registry invariants; returns the newest version any check knows."""
    seen = set()
    newest = Version(0)
    for check in checks:
        if check.id in seen:
            raise AssertionError(f"duplicate check id {check.id}")
        seen.add(check.id)
        previous = None
        for variant in check.versions:
            if previous is not None and variant.minimum_version <= previous:
                raise AssertionError(f"{check.id}: versions must increase")
            previous = variant.minimum_version
            newest = max(newest, variant.minimum_version)
            for overridden in variant.override_check_ids:
                target = next((c for c in checks if c.id == overridden), None)
                if check.level != Level.RESTRICTED or target is None or target.level != Level.BASELINE:
                    raise AssertionError(f"{check.id}: overrides only go restricted -> baseline")
    return newest


NEWEST_VERSION: Version = _validate(ALL_CHECKS)


@lru_cache(maxsize=None)
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
