"""privileged (baseline, v1.0): docs/psa-semantics.md section 3."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.privileged import CHECK

REASON = "privileged"
P = {"privileged": True}


def detail(names: str) -> str:
    return f"{names} must not set securityContext.privileged=true"


def test_identity():
    assert CHECK.id == "privileged"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")]), id="unset"),
    pytest.param(pod([ctr("a", {"privileged": False})], [ctr("i", {})], [ctr("e", {"privileged": False})]),
                 id="false"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, names", [
    pytest.param(pod([ctr("a", P)]), 'container "a"', id="one"),
    pytest.param(pod(ephemeral=[ctr("dbg", P)]), 'container "dbg"', id="ephemeral"),
    pytest.param(pod([ctr("b", P), ctr("ok", {"privileged": False}), ctr("a", P)], [ctr("z", P)], [ctr("e", P)]),
                 'containers "z", "b", "a", "e"', id="spec-order-not-sorted"),
    pytest.param(pod([ctr("a", P)], [ctr("a", P)]), 'containers "a", "a"', id="not-deduplicated"),
])
def test_denied(spec, names):
    for minor in (0, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail(names))


def test_paths():
    result = run(CHECK, 0, pod([ctr("ok"), ctr("a", P)], [ctr("i", P)]))
    assert result.paths == (
        ("spec", "initContainers", 0, "securityContext", "privileged"),
        ("spec", "containers", 1, "securityContext", "privileged"),
    )
