"""The seccompProfile_restricted control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.seccomp_profile_baseline import (
    ALLOWED_TYPES,
    POD_ANNOTATION,
    RUNTIME_DEFAULT,
    explicit_bad_setters,
    explicit_result,
    fix_explicit_types,
    profile_for_annotation,
    set_profile,
)
from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Safety, Unless, VersionedCheck
from kubectl_podsec.checks.util import containers_phrase, is_windows
from kubectl_podsec.levels import Level, Version

SUMMARY = "v1.19+; replaces seccompProfile_baseline; Windows pods exempt from v1.25"
STANDARD = """\
Seccomp profile must be explicitly set to one of the allowed values. Both the Unconfined
profile and the absence of a profile are prohibited.

Restricted fields:
  spec.securityContext.seccompProfile.type
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type
Allowed values: RuntimeDefault, Localhost. A valid pod-level type covers the containers that
leave it unset; an invalid one covers nothing."""
FIX_TEXT = """\
set `seccompProfile.type: RuntimeDefault` at pod level, or the profile that the
pod's legacy annotation names (`localhost/NAME` gives `type: Localhost` with
`localhostProfile: NAME`); (unsafe) replace an explicit Unconfined, field or annotation, with
RuntimeDefault, keeping the annotation and the field in step. Not applied on Windows pods."""

POD_PATH = ("spec", "securityContext", "seccompProfile", "type")


def _check_1_19(meta: dict, spec: dict) -> CheckResult:
    setters, values, paths, pod_valid, unset = explicit_bad_setters(spec)
    if setters:
        return explicit_result(setters, values, paths)
    if not pod_valid and unset:
        names = [container.get("name", "") for container, _ in unset]
        return CheckResult(
            False, "seccompProfile",
            f'pod or {containers_phrase(names)} must set securityContext.seccompProfile.type to '
            '"RuntimeDefault" or "Localhost"',
            (POD_PATH,) + tuple(path + ("securityContext", "seccompProfile", "type") for _, path in unset),
        )
    return ALLOWED


def _check_1_25(meta: dict, spec: dict) -> CheckResult:
    return ALLOWED if is_windows(spec) else _check_1_19(meta, spec)



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    if is_windows(spec):
        return []  # Linux-only field: the API server rejects it on Windows pods
    edits = fix_explicit_types(meta, spec, CHECK_ID)
    _, _, _, pod_valid, unset = explicit_bad_setters(spec)
    if not pod_valid and unset:
        # A legacy annotation names the profile the author chose: a Localhost profile is kept,
        # and `unconfined` is an explicit request that only --unsafe-fixes overrides.
        annotation = (meta.get("annotations") or {}).get(POD_ANNOTATION)
        profile = profile_for_annotation(annotation) if annotation is not None else None
        if profile is None or profile["type"] == "Unconfined":
            profile = RUNTIME_DEFAULT
        # Only if the edits above left the pod's type forbidden (refused or exempt): once
        # they made it RuntimeDefault the pod's profile is settled.
        edits.append(Unless(("spec", "securityContext", "seccompProfile", "type"), ALLOWED_TYPES,
                            tuple(set_profile(meta, CHECK_ID, ("spec", "securityContext"), POD_ANNOTATION, profile))))
    return edits


CHECK_ID = "seccompProfile_restricted"
CHECK = Check(CHECK_ID, Level.RESTRICTED, (
    VersionedCheck(Version(19), _check_1_19, override_check_ids=("seccompProfile_baseline",)),
    VersionedCheck(Version(25), _check_1_25, override_check_ids=("seccompProfile_baseline",)),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.SAFE,
    fix_risk="the runtime's default seccomp filter blocks rarely used syscalls (unshare, mount, ptrace, keyctl, ...): debuggers, sandboxes and some profilers fail; a Localhost profile can allow them")
