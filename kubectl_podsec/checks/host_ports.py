"""The hostPorts control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import containers, containers_phrase, pluralize
from kubectl_podsec.levels import Level, Version

SUMMARY = "all versions"
STANDARD = """\
HostPorts should be disallowed entirely (recommended) or restricted to a known list.

Restricted fields: spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort
Allowed values: undefined/nil, 0

For a Pod with hostNetwork: true the API server copies each unset hostPort from containerPort
before admission, so such a Pod also reports hostPort."""
FIX_TEXT = """\
remove hostPort (expose the port through a Service instead)."""


def _check_1_0(meta: dict, spec: dict) -> CheckResult:
    bad_containers, ports, paths = [], set(), []
    for container, path in containers(spec):
        bad = False
        for index, port in enumerate(container.get("ports") or ()):
            host_port = port.get("hostPort") or 0
            if host_port != 0:
                bad = True
                ports.add(str(host_port))
                paths.append(path + ("ports", index, "hostPort"))
        if bad:
            bad_containers.append(container.get("name", ""))
    if not bad_containers:
        return ALLOWED
    # Upstream sorts the ports as strings, so 100 comes before 20.
    return CheckResult(
        False,
        "hostPort",
        f'{containers_phrase(bad_containers)} {pluralize("uses", "use", len(bad_containers))} '
        f'{pluralize("hostPort", "hostPorts", len(ports))} {", ".join(sorted(ports))}',
        tuple(paths),
    )



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    return [Edit(CHECK_ID, "remove", path + ("ports", index, "hostPort"))
            for container, path in containers(spec)
            for index, port in enumerate(container.get("ports") or ()) if port.get("hostPort")]


CHECK_ID = "hostPorts"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(0), _check_1_0),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix,
              fix_safety=Safety.UNSAFE,
              fix_risk="the port is no longer reachable on the node's address; expose it with a Service instead")
