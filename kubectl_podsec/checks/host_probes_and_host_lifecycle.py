"""The hostProbesAndHostLifecycle control: the standard's text, its versioned checks and its fix."""

from __future__ import annotations

from collections.abc import Iterator

from kubectl_podsec.checks.types import ALLOWED, Check, CheckResult, Edit, Safety, VersionedCheck
from kubectl_podsec.checks.util import containers, containers_phrase, join_quote, pluralize
from kubectl_podsec.levels import Level, Version

SUMMARY = "v1.34+"
STANDARD = """\
Probes and lifecycle handlers must not target a host other than the pod itself.

Restricted fields:
  spec.{initContainers,containers,ephemeralContainers}[*].{livenessProbe,readinessProbe,startupProbe}.{httpGet,tcpSocket}.host
  spec.{initContainers,containers,ephemeralContainers}[*].lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host
Allowed values: undefined/nil, "" (any other value, localhost included, is forbidden)"""
FIX_TEXT = """\
remove `host` (the probe then targets the pod IP)."""

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HANDLERS = ("postStart", "preStop")
ACTIONS = ("httpGet", "tcpSocket")


def handler_paths(container: dict) -> Iterator[tuple[dict, tuple[str, ...]]]:
    """(handler dict, path within the container) for every probe and lifecycle handler."""
    for probe in PROBES:
        if container.get(probe) is not None:
            yield container[probe], (probe,)
    lifecycle = container.get("lifecycle") or {}
    for handler in HANDLERS:
        if lifecycle.get(handler) is not None:
            yield lifecycle[handler], ("lifecycle", handler)


def _check_1_34(meta: dict, spec: dict) -> CheckResult:
    bad_containers, hosts, paths = set(), set(), []
    for container, path in containers(spec):
        for handler, handler_path in handler_paths(container):
            for action in ACTIONS:
                host = (handler.get(action) or {}).get("host") or ""
                if host:
                    bad_containers.add(container.get("name", ""))
                    hosts.add(host)
                    paths.append(path + handler_path + (action, "host"))
    if not bad_containers:
        return ALLOWED
    # Unlike most checks, upstream deduplicates and sorts the container names here.
    return CheckResult(
        False,
        "probe or lifecycle host",
        f'{containers_phrase(sorted(bad_containers))} {pluralize("uses", "use", len(bad_containers))} '
        f'{pluralize("probe or lifecycle host", "probe or lifecycle hosts", len(hosts))} {join_quote(sorted(hosts))}',
        tuple(paths),
    )



def fix(meta: dict, spec: dict, version: Version | None) -> list:
    return [Edit(CHECK_ID, "remove", path + handler_path + (action, "host"))
            for container, path in containers(spec)
            for handler, handler_path in handler_paths(container)
            for action in ACTIONS if (handler.get(action) or {}).get("host")]


CHECK_ID = "hostProbesAndHostLifecycle"
CHECK = Check(CHECK_ID, Level.BASELINE, (VersionedCheck(Version(34), _check_1_34),),
              summary=SUMMARY, standard=STANDARD, fix_text=FIX_TEXT, fix=fix, fix_safety=Safety.UNSAFE,
    fix_risk="the probe or hook then targets the pod's own IP rather than the host it named")
