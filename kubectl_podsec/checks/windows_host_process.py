"""The windowsHostProcess control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    pod_security_context,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions"
STANDARD = """\
Windows pods offer the ability to run HostProcess containers which enables privileged access
to the Windows host machine. Privileged access to the host is disallowed in the baseline
policy.

Restricted fields:
  spec.securityContext.windowsOptions.hostProcess
  spec.{initContainers,containers,ephemeralContainers}[*].securityContext.windowsOptions.hostProcess
Allowed values: undefined/nil, false"""
FIX_TEXT = """\
remove `hostProcess: true`."""


def _host_process(context: dict) -> bool:
    return (context.get("windowsOptions") or {}).get("hostProcess") is True


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    setters, paths = [], []
    if _host_process(pod_security_context(spec)):
        setters.append("pod")
        paths.append(("spec", "securityContext", "windowsOptions", "hostProcess"))
    bad = []
    for container, path in containers(spec):
        if _host_process(security_context(container)):
            bad.append(container.get("name", ""))
            paths.append(path + ("securityContext", "windowsOptions", "hostProcess"))
    if bad:
        setters.append(containers_phrase(bad))
    if not setters:
        return ALLOWED
    return CheckResult(False, "hostProcess",
                       f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
                       tuple(paths))



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits = []
    if _host_process(pod_security_context(spec)):
        edits.append(Edit(CHECK_ID, "set", ("spec", "securityContext", "windowsOptions", "hostProcess"), False,
                          safe=False))
    for _, path, context in container_contexts(spec):
        if _host_process(context):
            edits.append(Edit(CHECK_ID, "set", path + ("securityContext", "windowsOptions", "hostProcess"), False,
                              safe=False))
    return edits


CHECK_ID = "windowsHostProcess"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix,
              fix_safety=Safety.UNSAFE,
              fix_risk="the container no longer runs as a process on the Windows host: node agents and host installers stop working")
