"""The runAsUser control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    host_users_disabled,
    pod_security_context,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "v1.23+; pods with hostUsers: false exempt from v1.35"
STANDARD = """\
Containers must not set runAsUser to 0.

Restricted fields:
  spec.securityContext.runAsUser
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser
Allowed values: any non-zero value, undefined/nil"""
FIX_TEXT = """\
remove `runAsUser: 0` (the image's user then applies, which runAsNonRoot
requires to be non-root). The right user is a human's choice."""


def _check_1_23(meta: dict, spec: dict) -> CheckResult:
    setters, paths = [], []
    if pod_security_context(spec).get("runAsUser") == 0:
        setters.append("pod")
        paths.append(("spec", "securityContext", "runAsUser"))
    bad = []
    for container, path in containers(spec):
        if security_context(container).get("runAsUser") == 0:
            bad.append(container.get("name", ""))
            paths.append(path + ("securityContext", "runAsUser"))
    if bad:
        setters.append(containers_phrase(bad))
    if not setters:
        return ALLOWED
    return CheckResult(False, "runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0", tuple(paths))


def _check_1_35(meta: dict, spec: dict) -> CheckResult:
    return ALLOWED if host_users_disabled(spec) else _check_1_23(meta, spec)



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits = []
    if pod_security_context(spec).get("runAsUser") == 0:
        edits.append(Edit(CHECK_ID, "remove", ("spec", "securityContext", "runAsUser")))
    for _, path, context in container_contexts(spec):
        if context.get("runAsUser") == 0:
            edits.append(Edit(CHECK_ID, "remove", path + ("securityContext", "runAsUser")))
    return edits


CHECK_ID = "runAsUser"
CHECK = Check(CHECK_ID, Level.RESTRICTED, (
    VersionedCheck(Version(23), _check_1_23),
    VersionedCheck(Version(35), _check_1_35),
), summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the image's own USER applies instead; if that is root, runAsNonRoot stops the container")
