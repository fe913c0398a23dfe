"""The hostNamespaces control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions"
STANDARD = """\
Sharing the host namespaces must be disallowed.

Restricted fields: spec.hostNetwork, spec.hostPID, spec.hostIPC
Allowed values: undefined/nil, false"""
FIX_TEXT = """\
remove the setting (the pod gets its own namespaces)."""

FIELDS = ("hostNetwork", "hostPID", "hostIPC")


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    shared = [name for name in FIELDS if spec.get(name) is True]
    if not shared:
        return ALLOWED
    return CheckResult(False, "host namespaces", ", ".join(f"{name}=true" for name in shared),
                       tuple(("spec", name) for name in shared))



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    return [Edit(CHECK_ID, "set", ("spec", name), False, safe=False) for name in FIELDS if spec.get(name) is True]


CHECK_ID = "hostNamespaces"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the pod no longer shares the node's network, process or IPC namespace: node agents and anything bound to node addresses stop working")
