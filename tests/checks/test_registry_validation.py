"""The registry validates its checks at import, as PSA's policy/registry.go does at build time:
synthetic bad checks, one invariant each, must be refused with a message that names the check."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kubectl_podsec.checks import ALL_CHECKS, ALLOWED, BY_ID, Check, RegistryError, Safety, VersionedCheck, validate
from kubectl_podsec.levels import Level, Version


def allowed(meta, spec):
    return ALLOWED


def no_edits(meta, spec, version):
    return []


def check(check_id="fooBar", level=Level.BASELINE, minors=(0,), **fields) -> Check:
    fields.setdefault("fix_text", "set foo to bar.")
    if fields.get("fix") is not None:
        fields.setdefault("fix_safety", Safety.SAFE)
        fields.setdefault("fix_risk", "nothing")
    return Check(check_id, level, tuple(VersionedCheck(Version(m), allowed) for m in minors), **fields)


def test_the_real_registry_and_a_good_synthetic_check_pass():
    assert validate(ALL_CHECKS) == Version(37)
    assert validate(ALL_CHECKS + (check(minors=(0, 40), fix=no_edits),)) == Version(40)


BAD = [
    pytest.param((check("dup"), check("dup")), "duplicate check id dup", id="duplicate-id"),
    pytest.param((check(minors=(5, 5)),), "fooBar: versions must increase", id="same-version-twice"),
    pytest.param((check(minors=(31, 0)),), "fooBar: versions must increase", id="versions-out-of-order"),
    pytest.param((check(minors=()),), "fooBar: no versions", id="no-versions"),
    pytest.param((check(level="baseline"),), "fooBar: level must be", id="level-not-a-Level"),
    pytest.param((check(level=Level.PRIVILEGED),), "fooBar: level must be", id="privileged-level"),
    pytest.param((check(""),), "'': a check needs an id", id="empty-id"),
    pytest.param((Check("fooBar", Level.BASELINE, (VersionedCheck(19, allowed),), fix_text="x"),),
                 "fooBar: minimum version 19 is not a Version", id="version-not-a-Version"),
    pytest.param((check("base"), replace(check("r", Level.RESTRICTED), versions=(
        VersionedCheck(Version(0), allowed, override_check_ids=("nope",)),))),
        "r: overrides only go restricted -> baseline (it names 'nope')", id="override-unknown-check"),
    pytest.param((check("other", Level.RESTRICTED), replace(check("r", Level.RESTRICTED), versions=(
        VersionedCheck(Version(0), allowed, override_check_ids=("other",)),))),
        "r: overrides only go restricted -> baseline", id="override-a-restricted-check"),
    pytest.param((check("base"), replace(check("b2"), versions=(
        VersionedCheck(Version(0), allowed, override_check_ids=("base",)),))),
        "b2: overrides only go restricted -> baseline", id="override-from-baseline"),
    pytest.param((check(fix=no_edits, fix_risk=""),), "fooBar: needs fix_text, and fix_risk", id="fix-without-risk"),
    pytest.param((check(fix=no_edits, fix_text=" "),), "fooBar: needs fix_text", id="fix-without-text"),
    pytest.param((check(fix_text=""),), "fooBar: needs fix_text", id="never-without-text"),
    pytest.param((check(fix=no_edits, fix_safety=Safety.NEVER),), "fooBar: a fix at v1.0 exactly when",
                 id="fix-with-safety-never"),
    pytest.param((check(fix_safety=Safety.UNSAFE, fix_risk="x"),), "fooBar: a fix at v1.0 exactly when",
                 id="safety-without-fix"),
    pytest.param((replace(check(minors=(0, 31)), fix_safety=Safety.UNSAFE, fix_risk="x", versions=(
        VersionedCheck(Version(0), allowed, fix=no_edits), VersionedCheck(Version(31), allowed))),),
        "fooBar: a fix at v1.31 exactly when", id="a-version-without-its-fix"),
    pytest.param((check(fix=no_edits, fix_safety="safe"),), "fooBar: fix_safety must be a Safety",
                 id="safety-not-a-Safety"),
]


@pytest.mark.parametrize("checks, message", BAD)
def test_a_bad_check_is_refused(checks, message):
    with pytest.raises(RegistryError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        validate(checks)


@pytest.mark.parametrize("checks, message", BAD)
def test_a_bad_check_next_to_the_real_ones_is_refused_too(checks, message):
    with pytest.raises(RegistryError):
        validate(ALL_CHECKS + checks)


def test_the_real_overrides_are_the_ones_the_registry_resolves():
    # the validation's inputs: every override names a real baseline check
    for real in ALL_CHECKS:
        for variant in real.versions:
            for overridden in variant.override_check_ids:
                assert BY_ID[overridden].level == Level.BASELINE and real.level == Level.RESTRICTED
