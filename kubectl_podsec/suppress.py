"""Findings that do not fail the gate: exemptions from `.podsec.yaml` (each with its reason)
and a baseline of findings accepted earlier. They stay visible in every output."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from kubectl_podsec.checks import replaces
from kubectl_podsec.checks.util import CONTAINER_FIELDS
from kubectl_podsec.config import Config, Exemption, exemptions_for
from kubectl_podsec.evaluate import GATED_LEVELS
from kubectl_podsec.levels import Level
from kubectl_podsec.model import Suppression

BASELINE_KIND = "PodsecBaseline"
BASELINE_API = "kubectl-podsec/v2"  # v1 keyed findings without where they are
BASELINE_FIELDS = ("kind", "namespace", "name", "check", "where")


def containers_of(workload, paths: tuple) -> set | None:
    """Names of the containers the paths point into; None if one points elsewhere."""
    names = set()
    depth = len(workload.prefix)
    for path in paths:
        rest = path[depth:]
        if len(rest) < 3 or rest[0] != "spec" or rest[1] not in CONTAINER_FIELDS:
            return None
        containers = workload.pod_spec.get(rest[1]) or []
        names.add(containers[rest[2]].get("name", "") if rest[2] < len(containers) else "")
    return names


def exemption_for(exemptions: Iterable[Exemption], workload, check_id: str, paths: tuple) -> Suppression | None:
    import fnmatch

    for exemption in exemptions:
        if not exemption.covers_check(check_id):
            continue
        if exemption.container is not None:
            names = containers_of(workload, paths)
            if not names or not all(fnmatch.fnmatchcase(name, exemption.container) for name in names):
                continue
        return Suppression("exemption", exemption.reason)
    return None


def apply_exemptions(results: list, config: Config | None) -> None:
    for result in results:
        w = result.workload
        exemptions = exemptions_for(config, w.kind, w.namespace, w.name)
        if not exemptions:
            continue
        by_check = {v.check: v for v in result.verdict.violations}
        for violation in result.verdict.violations:
            found = exemption_for(exemptions, w, violation.check, violation.paths)
            # Exempting a baseline check also exempts its restricted replacement where that
            # reports the very same fields (a hostPath volume is also a restricted volume).
            replaced = by_check.get(replaces(violation.check))
            if not found and replaced is not None and set(violation.paths) <= set(replaced.paths):
                found = exemption_for(exemptions, w, replaced.check, replaced.paths)
            if found:
                result.suppressed[violation.check] = found


def effective_highest(result) -> Level:
    """The highest level passed once suppressed findings no longer count."""
    verdict = result.verdict
    if not result.suppressed or verdict.failing is None:
        return verdict.highest
    highest = Level.PRIVILEGED
    for level in GATED_LEVELS:
        if any(check not in result.suppressed for check in verdict.failing[level]):
            break
        highest = level
    return highest


def finding_where(workload, path: tuple) -> str:
    """Where a finding is, stable under edits that move lines: the field within the pod, with
    containers and volumes named rather than numbered (containers[app].securityContext.privileged,
    volumes[host].hostPath, spec.hostNetwork). Never a line number."""
    from kubectl_podsec.workloads import format_path

    rest = tuple(path[len(workload.prefix):])
    if len(rest) >= 3 and rest[0] == "spec" and isinstance(rest[2], int) \
            and (rest[1] in CONTAINER_FIELDS or rest[1] == "volumes"):
        items = workload.pod_spec.get(rest[1]) or []
        name = items[rest[2]].get("name", "") if rest[2] < len(items) and isinstance(items[rest[2]], dict) else ""
        tail = format_path(rest[3:])
        return f"{rest[1]}[{name}]" + (("" if tail.startswith("[") else ".") + tail if tail else "")
    return format_path(rest)


def finding_keys(result, violation) -> list:
    """One key per place the violation is found: a new place is a new finding."""
    w = result.workload
    places = [finding_where(w, path) for path in violation.paths] or [""]
    return [(w.kind, w.namespace or "", w.name, violation.check, where) for where in dict.fromkeys(places)]


def write_baseline(path: str, results: list) -> str | None:
    """Write the baseline of today's findings, atomically; the error text on failure."""
    from kubectl_podsec.writes import write_atomically

    findings = sorted({key for r in results for v in r.verdict.violations for key in finding_keys(r, v)})
    body = {"apiVersion": BASELINE_API, "kind": BASELINE_KIND,
            "findings": [dict(zip(BASELINE_FIELDS, key)) for key in findings]}
    created = False
    if not os.path.lexists(path):
        try:  # write_atomically replaces a file: give it one, with the mode a new file gets
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            created = True
        except OSError as error:
            return error.strerror or str(error)
    failure = write_atomically(path, json.dumps(body, indent=1) + "\n")
    if failure and created:
        try:
            os.unlink(path)
        except OSError:
            pass
    return failure


def load_baseline(path: str) -> set:
    """The finding keys of a baseline file; ValueError with a readable message otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            body = json.load(handle)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ValueError(f"{path}: not a baseline file: {error}") from None
    if not isinstance(body, dict) or body.get("kind") != BASELINE_KIND or not isinstance(body.get("findings"), list):
        raise ValueError(f"{path}: not a baseline file (kind {BASELINE_KIND} with a findings list)")
    if body.get("apiVersion") == "kubectl-podsec/v1":
        raise ValueError(f"{path}: an older baseline (kubectl-podsec/v1), whose entries do not say where each "
                         "finding is, so new violations of a known check would pass; rewrite it with "
                         f"kubectl podsec check ... --write-baseline {path} and review what it accepts")
    keys = set()
    for index, entry in enumerate(body["findings"]):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str)
                                                  for k in ("kind", "name", "check", "where")):
            raise ValueError(f"{path}: findings[{index}] needs kind, name, check and where")
        keys.add((entry["kind"], entry.get("namespace") or "", entry["name"], entry["check"], entry["where"]))
    return keys


def apply_baseline(results: list, keys: set) -> list:
    """Suppress baselined findings; returns the baseline entries that no longer occur."""
    seen: set[tuple] = set()
    for result in results:
        for violation in result.verdict.violations:
            found = finding_keys(result, violation)
            seen.update(key for key in found if key in keys)
            if all(key in keys for key in found):  # a place not in the baseline is new
                result.suppressed.setdefault(violation.check, Suppression("baseline", "in the baseline"))
    return sorted(keys - seen)
