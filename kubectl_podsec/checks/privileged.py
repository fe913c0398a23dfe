"""The privileged control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Note, Safety, VersionedCheck
from kubectl_podsec.checks.util import (
    container_contexts,
    containers,
    containers_phrase,
    join_quote,
    security_context,
)
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions"
STANDARD = """\
Privileged Pods disable most security mechanisms and must be disallowed.

Restricted fields: spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged
Allowed values: undefined/nil, false"""
FIX_TEXT = """\
set `privileged: false`; not for a container that mounts a volume with
`mountPropagation: Bidirectional`, which the API server allows only in privileged containers."""


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    bad, paths = [], []
    for container, path in containers(spec):
        if security_context(container).get("privileged") is True:
            bad.append(container.get("name", ""))
            paths.append(path + ("securityContext", "privileged"))
    if not bad:
        return ALLOWED
    return CheckResult(False, "privileged", f"{containers_phrase(bad)} must not set securityContext.privileged=true",
                       tuple(paths))



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    edits: list = []
    for container, path, context in container_contexts(spec):
        if context.get("privileged") is not True:
            continue
        # validateMountPropagation: the API server would reject the container unprivileged.
        bidirectional = [mount.get("name", "") for mount in container.get("volumeMounts") or ()
                         if mount.get("mountPropagation") == "Bidirectional"]
        if bidirectional:
            edits.append(Note(CHECK_ID, f'container "{container.get("name", "")}" mounts {join_quote(bidirectional)} '
                                        "with mountPropagation: Bidirectional, which only privileged containers may "
                                        "use; change it to HostToContainer (or drop the mount) first"))
            continue
        edits.append(Edit(CHECK_ID, "set", path + ("securityContext", "privileged"), False, safe=False))
    return edits


CHECK_ID = "privileged"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix,
              fix_safety=Safety.UNSAFE,
              fix_risk="host devices and most kernel interfaces become unavailable: CNI and CSI plugins, drivers and node agents usually need them")
