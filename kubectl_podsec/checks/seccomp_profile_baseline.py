"""seccompProfile_baseline (baseline, all versions; annotations to v1.18, fields from v1.19; replaced by seccompProfile_restricted in restricted from v1.19)

Seccomp profile must not be explicitly set to Unconfined.

v1.0-v1.18 (annotations only):
  Restricted fields: metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"],
    metadata.annotations["container.seccomp.security.alpha.kubernetes.io/<container name>"]
  Allowed values: runtime/default, docker/default, localhost/* (an empty value is forbidden)
v1.19+ (fields only; the annotations are ignored):
  Restricted fields: spec.securityContext.seccompProfile.type,
    spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type
  Allowed values: undefined/nil, RuntimeDefault, Localhost

Fix (unsafe): set the forbidden profile to RuntimeDefault.
"""

from kubectl_podsec.checks import ALLOWED, Check, CheckResult, VersionedCheck
from kubectl_podsec.checks.util import (
    containers, containers_phrase, go_quote, join_quote, pluralize, pod_security_context,
    security_context,
)
from kubectl_podsec.fixplan import container_contexts
from kubectl_podsec.levels import Level, Version

POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
ALLOWED_TYPES = ("RuntimeDefault", "Localhost")


def _valid_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    annotations = meta.get("annotations") or {}
    keys = [POD_ANNOTATION] + [CONTAINER_ANNOTATION_PREFIX + c.get("name", "") for c, _ in containers(spec)]
    forbidden, paths = set(), []
    for key in keys:
        if key in annotations and not _valid_annotation(annotations[key]):
            forbidden.add(f"{key}={go_quote(annotations[key])}")
            paths.append(("metadata", "annotations", key))
    if not forbidden:
        return ALLOWED
    return CheckResult(False, "seccompProfile",
                       f'forbidden {pluralize("annotation", "annotations", len(forbidden))} '
                       f'{", ".join(sorted(forbidden))}',
                       tuple(dict.fromkeys(paths)))


def explicit_bad_setters(spec: dict):
    """Setters of a seccomp type other than RuntimeDefault/Localhost, shared with the restricted check.
    Returns (setters, bad values, paths, pod-level type is valid, containers without a profile)."""
    setters, values, paths = [], set(), []
    pod_valid = False
    profile = pod_security_context(spec).get("seccompProfile")
    if profile is not None:
        if profile.get("type", "") in ALLOWED_TYPES:
            pod_valid = True
        else:
            setters.append("pod")
            values.add(profile.get("type", ""))
            paths.append(("spec", "securityContext", "seccompProfile", "type"))
    bad_containers, unset = [], []
    for container, path in containers(spec):
        profile = security_context(container).get("seccompProfile")
        if profile is None:
            unset.append((container, path))
        elif profile.get("type", "") not in ALLOWED_TYPES:
            bad_containers.append(container.get("name", ""))
            values.add(profile.get("type", ""))
            paths.append(path + ("securityContext", "seccompProfile", "type"))
    if bad_containers:
        setters.append(containers_phrase(bad_containers))
    return setters, values, paths, pod_valid, unset


def explicit_result(setters, values, paths) -> CheckResult:
    return CheckResult(False, "seccompProfile",
                       f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                       f"{join_quote(sorted(values))}", tuple(paths))


def _check_1_19(meta: dict, spec: dict) -> CheckResult:
    setters, values, paths, _, _ = explicit_bad_setters(spec)
    return explicit_result(setters, values, paths) if setters else ALLOWED



def fix(plan) -> None:
    annotations = plan.meta.get("annotations") or {}
    keys = [POD_ANNOTATION] + [CONTAINER_ANNOTATION_PREFIX + c.get("name", "") for c, _ in containers(plan.spec)]
    for key in keys:
        if key in annotations and not _valid_annotation(annotations[key]):
            plan.set(CHECK_ID, ("metadata", "annotations", key), "runtime/default", safe=False)
    fix_explicit_types(plan, CHECK_ID)


def fix_explicit_types(plan, check_id: str) -> None:
    """Replace a forbidden seccomp type (Unconfined) with RuntimeDefault, pod and containers."""
    profile = pod_security_context(plan.spec).get("seccompProfile")
    if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
        plan.set(check_id, ("spec", "securityContext", "seccompProfile", "type"), "RuntimeDefault", safe=False)
    for _, path, context in container_contexts(plan):
        profile = context.get("seccompProfile")
        if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
            plan.set(check_id, path + ("securityContext", "seccompProfile", "type"), "RuntimeDefault", safe=False)


CHECK_ID = "seccompProfile_baseline"
CHECK = Check(CHECK_ID, Level.BASELINE, (
    VersionedCheck(Version(0), _check_1_0),
    VersionedCheck(Version(19), _check_1_19),
), doc=__doc__, fix=fix, fix_safety="unsafe")
