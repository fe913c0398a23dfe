"""allowPrivilegeEscalation (restricted, v1.8; v1.25 exempts Windows pods): docs/psa-semantics.md 3, 6."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.allow_privilege_escalation import CHECK
from kubectl_podsec.levels import Version

REASON = "allowPrivilegeEscalation != false"
NO, YES = {"allowPrivilegeEscalation": False}, {"allowPrivilegeEscalation": True}


def detail(names: str) -> str:
    return f"{names} must set securityContext.allowPrivilegeEscalation=false"


def test_identity():
    assert CHECK.id == "allowPrivilegeEscalation"
    assert [v.minimum_version.minor for v in CHECK.versions] == [8, 25]


@pytest.mark.parametrize("minor", [0, 7])
def test_absent_before_v1_8(minor):
    assert CHECK.variant_at(Version(minor)) is None


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a", NO)], [ctr("i", NO)], [ctr("e", NO)]), id="explicit-false-everywhere"),
])
def test_allowed(spec):
    for minor in range(8, 38):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, names", [
    pytest.param(pod([ctr("a")]), 'container "a"', id="no-securityContext"),
    pytest.param(pod([ctr("a", {})]), 'container "a"', id="unset"),
    pytest.param(pod([ctr("a", YES)]), 'container "a"', id="true"),
    pytest.param(pod([ctr("a", {"privileged": False, "runAsNonRoot": True})]), 'container "a"',
                 id="other-fields-do-not-count"),
    pytest.param(pod(ephemeral=[ctr("dbg", {})], containers=[ctr("a", NO)]), 'container "dbg"', id="ephemeral-only"),
    pytest.param(pod([ctr("a", NO), ctr("b", YES), ctr("c")], [ctr("i")], [ctr("e", {})]),
                 'containers "i", "b", "c", "e"', id="order"),
])
def test_denied(spec, names):
    for minor in (8, 24, 25, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail(names))


WINDOWS = pod([ctr("a", YES), ctr("b")], os={"name": "windows"})


@pytest.mark.parametrize("minor", [8, 20, 24])
def test_windows_not_exempt_before_v1_25(minor):
    assert_denied(run(CHECK, minor, WINDOWS), REASON, detail('containers "a", "b"'))


@pytest.mark.parametrize("minor", [25, 26, 27, 28, 35, 37])
def test_windows_exempt_from_v1_25(minor):
    assert_allowed(run(CHECK, minor, WINDOWS))


@pytest.mark.parametrize("os", [{"name": "linux"}, {"name": "Windows"}, {}, {"name": " windows"}])
def test_other_os_not_exempt(os):
    assert_denied(run(CHECK, 25, pod([ctr("a")], os=os)), REASON, detail('container "a"'))


def test_paths():
    result = run(CHECK, 8, pod([ctr("ok", NO), ctr("a")], ephemeral=[ctr("e", YES)]))
    assert result.paths == (
        ("spec", "containers", 1, "securityContext", "allowPrivilegeEscalation"),
        ("spec", "ephemeralContainers", 0, "securityContext", "allowPrivilegeEscalation"),
    )
