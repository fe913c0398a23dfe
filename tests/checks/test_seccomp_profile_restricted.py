"""seccompProfile_restricted (restricted, v1.19; v1.25 exempts Windows pods): docs/psa-semantics.md 3, 5, 6."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.seccomp_profile_restricted import CHECK
from kubectl_podsec.levels import Version

REASON = "seccompProfile"


def sc(type_=None) -> dict:
    return {"seccompProfile": {} if type_ is None else {"type": type_}}


def explicit(setters: str, values: str) -> str:
    return f"{setters} must not set securityContext.seccompProfile.type to {values}"


def implicit(names: str) -> str:
    return f'pod or {names} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'


def test_identity():
    assert CHECK.id == "seccompProfile_restricted"
    assert [v.minimum_version.minor for v in CHECK.versions] == [19, 25]
    for variant in CHECK.versions:
        assert tuple(variant.override_check_ids) == ("seccompProfile_baseline",)


def test_absent_before_v1_19():
    assert CHECK.variant_at(Version(18)) is None


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod(securityContext=sc("RuntimeDefault")), id="pod-only-no-containers"),
    pytest.param(pod([ctr("a")], [ctr("i", {})], [ctr("e")], securityContext=sc("RuntimeDefault")),
                 id="pod-runtime-default-covers"),
    pytest.param(pod([ctr("a")], securityContext={"seccompProfile": {"type": "Localhost",
                                                                     "localhostProfile": "p.json"}}),
                 id="pod-localhost-covers"),
    pytest.param(pod([ctr("a", sc("RuntimeDefault"))], [ctr("i", sc("Localhost"))], [ctr("e", sc("RuntimeDefault"))]),
                 id="every-container-explicit"),
    pytest.param(pod([ctr("a", sc("Localhost"))], securityContext=sc("RuntimeDefault")), id="both-levels"),
])
def test_allowed(spec):
    for minor in range(19, 38):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a")]), implicit('container "a"'), id="unset"),
    pytest.param(pod([ctr("a", sc("RuntimeDefault")), ctr("b")], [ctr("i")], [ctr("e")]),
                 implicit('containers "i", "b", "e"'), id="implicit-order"),
    pytest.param(pod([ctr("a")]), implicit('container "a"'), id="annotation-does-not-count"),
    pytest.param(pod([ctr("a")], securityContext=sc("Unconfined")), explicit("pod", '"Unconfined"'),
                 id="bad-pod-covers-nothing-explicit-wins"),
    pytest.param(pod([ctr("a", sc("RuntimeDefault"))], securityContext=sc()), explicit("pod", '""'),
                 id="pod-profile-without-type"),
    pytest.param(pod([ctr("a", sc("Unconfined"))], securityContext=sc("RuntimeDefault")),
                 explicit('container "a"', '"Unconfined"'), id="bad-container-under-good-pod"),
    pytest.param(pod([ctr("a", sc("Unconfined")), ctr("b")]), explicit('container "a"', '"Unconfined"'),
                 id="explicit-wins-over-implicit"),
    pytest.param(pod([ctr("ok", sc("Localhost")), ctr("b", sc("Unconfined")), ctr("c")], [ctr("i", sc("x"))],
                     [ctr("e", sc("Unconfined"))], securityContext=sc("Unconfined")),
                 explicit('pod and containers "i", "b", "e"', '"Unconfined", "x"'), id="everything"),
])
def test_denied(spec, detail):
    annotations = {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
                   "container.seccomp.security.alpha.kubernetes.io/a": "runtime/default"}
    for minor in (19, 24, 25, 37):
        assert_denied(run(CHECK, minor, spec, {"annotations": annotations}), REASON, detail)


WINDOWS_BAD = pod([ctr("a", sc("Unconfined")), ctr("b")], os={"name": "windows"})


@pytest.mark.parametrize("minor", [19, 23, 24])
def test_windows_not_exempt_before_v1_25(minor):
    assert_denied(run(CHECK, minor, WINDOWS_BAD), REASON, explicit('container "a"', '"Unconfined"'))
    assert_denied(run(CHECK, minor, pod([ctr("a")], os={"name": "windows"})), REASON, implicit('container "a"'))


@pytest.mark.parametrize("minor", [25, 26, 27, 28, 35, 37])
def test_windows_exempt_from_v1_25(minor):
    assert_allowed(run(CHECK, minor, WINDOWS_BAD))
    assert_allowed(run(CHECK, minor, pod([ctr("a")], securityContext=sc("Unconfined"), os={"name": "windows"})))


@pytest.mark.parametrize("os", [{"name": "linux"}, {"name": "WINDOWS"}, {}])
def test_other_os_not_exempt(os):
    assert_denied(run(CHECK, 25, pod([ctr("a")], os=os)), REASON, implicit('container "a"'))


def test_paths():
    result = run(CHECK, 19, pod([ctr("ok", sc("RuntimeDefault")), ctr("a", sc("Unconfined"))]))
    assert result.paths == (("spec", "containers", 1, "securityContext", "seccompProfile", "type"),)
