"""Helpers for the per-check table tests: build pod specs as plain dicts and run one check.

Expected strings in the tests are written from docs/psa-semantics.md, never
copied from the engine. Specs are built so that the dict order of the container lists is
ephemeral, regular, init: a check that walks the dict instead of init -> regular -> ephemeral
gets the names in the wrong order.
"""

from __future__ import annotations

import copy

from kubectl_podsec.checks import Check, CheckResult
from kubectl_podsec.levels import Version

ALL_MINORS = tuple(range(38))  # v1.0 .. v1.37


def ctr(name: str, sc: dict | None = None, **fields) -> dict:
    """A container named `name`, with `securityContext: sc` when given."""
    container = {"name": name}
    if sc is not None:
        container["securityContext"] = sc
    container.update(fields)
    return container


def pod(containers=(), init=(), ephemeral=(), **fields) -> dict:
    """A pod spec. Ephemeral containers go into the dict first on purpose (see module doc)."""
    spec: dict = {}
    if ephemeral:
        spec["ephemeralContainers"] = list(ephemeral)
    if containers:
        spec["containers"] = list(containers)
    if init:
        spec["initContainers"] = list(init)
    spec.update(fields)
    return spec


def run(check: Check, minor: int, spec: dict, meta: dict | None = None) -> CheckResult:
    """Run the variant of `check` active at v1.<minor>; checks must be pure (no mutation)."""
    variant = check.variant_at(Version(minor))
    assert variant is not None, f"{check.id} is not active at v1.{minor}"
    meta = {} if meta is None else meta
    before = copy.deepcopy((meta, spec))
    result = variant.check_pod(meta, spec)
    assert (meta, spec) == before, f"{check.id} mutated its input"
    return result


def assert_allowed(result: CheckResult) -> None:
    assert result.allowed, f"expected allowed, got {result.reason!r}: {result.detail!r}"


def assert_denied(result: CheckResult, reason: str, detail: str) -> None:
    assert not result.allowed, "expected a denial, got allowed"
    assert (result.reason, result.detail) == (reason, detail)
