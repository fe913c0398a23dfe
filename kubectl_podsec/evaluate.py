"""Run the checks over a workload's pod: per-level verdicts and the highest level passed.

The upstream library only answers "does this pod pass level L at version V?". The highest
level passed is the highest L such that the pod passes every level up to L: restricted is
not a strict superset of baseline (overrides and Windows exemptions, docs/psa-semantics.md 7).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable, NamedTuple

from kubectl_podsec.checks import Check, CheckResult, checks_for
from kubectl_podsec.levels import Level, Version

GATED_LEVELS = (Level.BASELINE, Level.RESTRICTED)


# NamedTuples, not frozen dataclasses: a big stream makes a verdict or two per object and a
# violation per failed check, and these build several times faster.
class Violation(NamedTuple):
    level: Level  # the lowest level whose check set reports it
    check: str
    reason: str
    detail: str
    paths: tuple  # paths within the object of the offending fields


class Verdict(NamedTuple):
    highest: Level
    passes: dict  # Level -> bool, for baseline and restricted
    violations: tuple
    failing: dict | None = None  # Level -> ids of the checks that level's check set fails


def failures(meta: dict, spec: dict, level: Level, version: Version, cache: dict | None = None) -> list:
    """(check, CheckResult) for every check of `level` at `version` that the pod fails, in
    upstream's result order. `cache` holds the results of this pod at this version by check
    id (one variant per check at a version), for the next level to reuse."""
    cache = {} if cache is None else cache
    failed = []
    for check, variant in checks_for(level, version):
        result = cache.get(check.id)
        if result is None:
            result = cache[check.id] = variant.check_pod(meta, spec)
        if not result.allowed:
            failed.append((check, result))
    return failed


def forbidden_detail(failed: Iterable[tuple[Check, CheckResult]]) -> str:
    """Upstream's aggregated message: `reason (detail), reason (detail)`."""
    return ", ".join(f"{r.reason} ({r.detail})" if r.detail else r.reason for _, r in failed)


def evaluate(meta: dict, spec: dict, version: Version, prefix: tuple = ()) -> Verdict:
    cache: dict = {}
    per_level = {level: failures(meta, spec, level, version, cache) for level in GATED_LEVELS}
    passes = {level: not failed for level, failed in per_level.items()}
    highest = Level.PRIVILEGED
    for level in GATED_LEVELS:
        if not passes[level]:
            break
        highest = level
    violations, seen = [], set()
    for level in GATED_LEVELS:
        for check, result in per_level[level]:
            if check.id in seen:
                continue  # a baseline check that restricted runs too: report it once
            seen.add(check.id)
            violations.append(_violation(level, check.id, result, prefix))
    failing = {level: tuple(check.id for check, _ in per_level[level]) for level in GATED_LEVELS}
    return Verdict(highest, passes, tuple(violations), failing)


def _violation(level: Level, check_id: str, result: CheckResult, prefix: tuple) -> Violation:
    return Violation(level, check_id, result.reason, result.detail, tuple(prefix + p for p in result.paths))


def cached_evaluate(limit: int = 10_000) -> Callable[[dict, dict, Version, tuple], Verdict]:
    """evaluate() remembered by pod: the replicas of a workload share one pod spec, so a
    cluster of thousands of pods has few distinct ones, and manifests repeat the same few
    pods too. Checks read only the annotations of `meta`. The repr of these plain values
    (str, int, bool, None, lists, dicts) tells apart what the checks tell apart, including
    True from 1, and costs a tenth of an evaluation. At most `limit` verdicts are held, so
    that memory stays flat on any stream."""
    cache: dict = {}

    def cached(meta: dict, spec: dict, version: Version, prefix: tuple) -> Verdict:
        key = (repr(meta.get("annotations")), repr(spec), version, prefix)
        verdict = cache.get(key)
        if verdict is None:
            if len(cache) >= limit:
                cache.clear()
            verdict = cache[key] = evaluate(meta, spec, version, prefix)
        return verdict

    return cached
