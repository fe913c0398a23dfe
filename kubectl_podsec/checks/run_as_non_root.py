"""The runAsNonRoot control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Note, Safety, Unless, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    host_users_disabled,
    pod_security_context,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions; pods with hostUsers: false exempt from v1.35"
STANDARD = """\
Containers must be required to run as non-root users.

Restricted fields:
  spec.securityContext.runAsNonRoot
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot
Allowed values: true. A container may leave it unset when the pod sets it to true; an
explicit false anywhere fails, and runAsUser: 1000 does not satisfy it."""
FIX_TEXT = """\
set `runAsNonRoot: true` at pod level, unless a container or the pod runs as
user 0 (then the workload would not start; a human must choose a user); (unsafe) also change
explicit `false` values."""

POD_PATH = ("spec", "securityContext", "runAsNonRoot")


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    setters, paths = [], []
    pod_value = pod_security_context(spec).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
        paths.append(POD_PATH)
    explicit_bad, implicit_bad, implicit_paths = [], [], []
    for container, path in containers(spec):
        value = security_context(container).get("runAsNonRoot")
        if value is False:
            explicit_bad.append(container.get("name", ""))
            paths.append(path + ("securityContext", "runAsNonRoot"))
        elif value is None and pod_value is not True:
            implicit_bad.append(container.get("name", ""))
            implicit_paths.append(path + ("securityContext", "runAsNonRoot"))
    if explicit_bad:
        setters.append(containers_phrase(explicit_bad))
    if setters:
        return CheckResult(False, "runAsNonRoot != true",
                           f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false", tuple(paths))
    if implicit_bad:
        return CheckResult(False, "runAsNonRoot != true",
                           f"pod or {containers_phrase(implicit_bad)} must set securityContext.runAsNonRoot=true",
                           (POD_PATH,) + tuple(implicit_paths))
    return ALLOWED


def _check_1_35(meta: dict, spec: dict) -> CheckResult:
    return ALLOWED if host_users_disabled(spec) else _check_1_0(meta, spec)



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits: list = []
    pod_context = pod_security_context(spec)
    if pod_context.get("runAsNonRoot") is False:
        edits.append(Edit(CHECK_ID, "set", POD_PATH, True, safe=False))
    for _, path, context in container_contexts(spec):
        if context.get("runAsNonRoot") is False:
            edits.append(Edit(CHECK_ID, "set", path + ("securityContext", "runAsNonRoot"), True, safe=False))
    if pod_context.get("runAsNonRoot") is True:
        return edits
    # runAsNonRoot: true with user 0 stops the container from starting: a human picks the user.
    roots = ["pod"] * (pod_context.get("runAsUser") == 0) + [
        f'container "{c.get("name", "")}"' for c, _, context in container_contexts(spec)
        if context.get("runAsUser") == 0]
    if roots:
        rest: tuple = (Note(CHECK_ID, f"{', '.join(roots)} set runAsUser: 0, which contradicts runAsNonRoot: true; "
                                      "choose a non-root user"),)
    elif any(context.get("runAsNonRoot") is None for _, _, context in container_contexts(spec)):
        rest = (Edit(CHECK_ID, "set", POD_PATH, True, safe=True),)
    else:
        return edits
    # Only if the pod-level edit above was not made (unsafe, or exempt): it settles the rest.
    edits.append(Unless(POD_PATH, (True,), rest))
    return edits


CHECK_ID = "runAsNonRoot"
CHECK = Check(CHECK_ID, Level.RESTRICTED, (
    VersionedCheck(Version(0), _check_1_0),
    VersionedCheck(Version(35), _check_1_35),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.SAFE,
    fix_risk="an image that runs as root (no USER, or USER 0 or root) is refused by the kubelet with CreateContainerConfigError: set runAsUser to a non-root UID the image supports")
