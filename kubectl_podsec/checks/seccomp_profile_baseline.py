"""The seccompProfile_baseline control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, Unless, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    go_quote,
    join_quote,
    pluralize,
    pod_security_context,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; annotations to v1.18, fields from v1.19; replaced by seccompProfile_restricted in restricted from v1.19"
STANDARD = """\
Seccomp profile must not be explicitly set to Unconfined.

v1.0-v1.18 (annotations only):
  Restricted fields: metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"],
    metadata.annotations["container.seccomp.security.alpha.kubernetes.io/<container name>"]
  Allowed values: runtime/default, docker/default, localhost/* (an empty value is forbidden)
v1.19+ (fields only; the annotations are ignored):
  Restricted fields: spec.securityContext.seccompProfile.type,
    spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type
  Allowed values: undefined/nil, RuntimeDefault, Localhost"""
FIX_TEXT = """\
set the forbidden profile to RuntimeDefault. A legacy annotation of the same
scope changes with the field (the API server rejects an annotation and a field that disagree)."""

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


def explicit_bad_setters(spec: dict) -> tuple[list[str], set[str], list[tuple], bool, list[tuple[dict, tuple]]]:
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


def explicit_result(setters: list[str], values: set[str], paths: list[tuple]) -> CheckResult:
    return CheckResult(False, "seccompProfile",
                       f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                       f"{join_quote(sorted(values))}", tuple(paths))


def _check_1_19(meta: dict, spec: dict) -> CheckResult:
    setters, values, paths, _, _ = explicit_bad_setters(spec)
    return explicit_result(setters, values, paths) if setters else ALLOWED



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits = []
    annotations = meta.get("annotations") or {}
    scopes = [(POD_ANNOTATION, pod_security_context(spec))] + [
        (CONTAINER_ANNOTATION_PREFIX + c.get("name", ""), context) for c, _, context in container_contexts(spec)]
    for key, context in scopes:
        if key in annotations and not _valid_annotation(annotations[key]):
            # The annotation follows a valid field of its scope; an Unconfined field follows
            # the annotation in fix_explicit_types.
            field = context.get("seccompProfile") or {}
            valid = field.get("type") == "RuntimeDefault" or \
                (field.get("type") == "Localhost" and field.get("localhostProfile"))
            edits.append(Edit(CHECK_ID, "set", ("metadata", "annotations", key),
                              _annotation_for(field) if valid else "runtime/default", safe=False))
    return edits + fix_explicit_types(meta, spec, CHECK_ID)


RUNTIME_DEFAULT = {"type": "RuntimeDefault"}


def seccomp_annotation_matches(annotation: str, profile: dict) -> bool:
    """validateSeccompAnnotationsAndFieldsMatch: whether an annotation value names the profile."""
    kind = profile.get("type")
    if kind == "Unconfined":
        return annotation == "unconfined"
    if kind == "RuntimeDefault":
        return annotation in ("runtime/default", "docker/default")
    if kind == "Localhost":
        return annotation.startswith("localhost/") and \
            profile.get("localhostProfile") == annotation[len("localhost/"):]
    return True


def profile_for_annotation(value: str) -> dict | None:
    """The seccompProfile field the API server pairs with a legacy annotation value."""
    if value in ("runtime/default", "docker/default"):
        return RUNTIME_DEFAULT
    if value.startswith("localhost/"):
        return {"type": "Localhost", "localhostProfile": value[len("localhost/"):]}
    return {"type": "Unconfined"} if value == "unconfined" else None


def _annotation_for(profile: dict) -> str:
    if profile["type"] == "Localhost":
        return "localhost/" + str(profile["localhostProfile"])
    return "runtime/default"


def set_profile(meta: dict, check_id: str, scope: tuple, annotation_key: str, profile: dict) -> list:
    """Set `seccompProfile` in the securityContext at `scope` (pod or container), and the
    legacy annotation of that scope where one is present and names another profile: kube-apiserver
    rejects a field and an annotation that disagree (validateSeccompAnnotationsAndFields).
    The annotation goes first, so a refusal to change it leaves the field alone too."""
    fields = tuple(Edit(check_id, "set", scope + ("seccompProfile", key), value) for key, value in profile.items())
    current = (meta.get("annotations") or {}).get(annotation_key)
    if current is None or seccomp_annotation_matches(current, profile):
        return list(fields)
    what = (f"replace the annotation {annotation_key}: {current} with {_annotation_for(profile)}, "
            f"so that it matches seccompProfile.type: {profile['type']}")
    path = ("metadata", "annotations", annotation_key)
    return [Edit(check_id, "set", path, _annotation_for(profile), safe=False, what=what),
            Unless(path, (current,), fields)]


def fix_explicit_types(meta: dict, spec: dict, check_id: str) -> list:
    """Replace a forbidden seccomp type (Unconfined) with RuntimeDefault, pod and containers."""
    edits = []
    profile = pod_security_context(spec).get("seccompProfile")
    if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
        edits += set_profile(meta, check_id, ("spec", "securityContext"), POD_ANNOTATION, RUNTIME_DEFAULT)
    for container, path, context in container_contexts(spec):
        profile = context.get("seccompProfile")
        if profile is not None and profile.get("type", "") not in ALLOWED_TYPES:
            edits += set_profile(meta, check_id, path + ("securityContext",),
                                 CONTAINER_ANNOTATION_PREFIX + container.get("name", ""), RUNTIME_DEFAULT)
    return edits


CHECK_ID = "seccompProfile_baseline"
CHECK = Check(CHECK_ID, Level.BASELINE, (
    VersionedCheck(Version(0), _check_1_0),
    VersionedCheck(Version(19), _check_1_19),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the runtime's default seccomp filter blocks rarely used syscalls (unshare, mount, ptrace, keyctl, ...): debuggers, sandboxes and some profilers fail; a Localhost profile can allow them")
