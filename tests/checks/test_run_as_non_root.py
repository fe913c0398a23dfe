"""runAsNonRoot (restricted, v1.0; v1.35 skips hostUsers: false pods): docs/psa-semantics.md 3, 5, 6."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.run_as_non_root import CHECK

REASON = "runAsNonRoot != true"
T, F = {"runAsNonRoot": True}, {"runAsNonRoot": False}


def explicit(setters: str) -> str:
    return f"{setters} must not set securityContext.runAsNonRoot=false"


def implicit(names: str) -> str:
    return f"pod or {names} must set securityContext.runAsNonRoot=true"


def test_identity():
    assert CHECK.id == "runAsNonRoot"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0, 35]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers-nothing-set"),
    pytest.param(pod(securityContext=T), id="pod-true-no-containers"),
    pytest.param(pod([ctr("a")], [ctr("i", {})], [ctr("e")], securityContext=T), id="pod-true-covers-unset"),
    pytest.param(pod([ctr("a", T)], [ctr("i", T)], [ctr("e", T)]), id="every-container-true"),
    pytest.param(pod([ctr("a", T)], securityContext=T), id="both-true"),
    pytest.param(pod([ctr("a", T)], securityContext={"runAsUser": 0}), id="runAsUser-not-judged-here"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a")]), implicit('container "a"'), id="unset"),
    pytest.param(pod([ctr("a", {})]), implicit('container "a"'), id="empty-securityContext"),
    pytest.param(pod([ctr("a")], securityContext={}), implicit('container "a"'), id="empty-pod-securityContext"),
    pytest.param(pod([ctr("a", {"runAsUser": 1000})], securityContext={"runAsUser": 1000}),
                 implicit('container "a"'), id="runAsUser-1000-does-not-satisfy"),
    pytest.param(pod([ctr("a", T), ctr("b")], [ctr("i")], [ctr("e")]), implicit('containers "i", "b", "e"'),
                 id="implicit-order"),
    pytest.param(pod(ephemeral=[ctr("dbg")], containers=[ctr("a", T)]), implicit('container "dbg"'),
                 id="ephemeral-only"),
    pytest.param(pod(securityContext=F), explicit("pod"), id="pod-false-no-containers"),
    pytest.param(pod([ctr("a", T)], [ctr("i", T)], [ctr("e", T)], securityContext=F), explicit("pod"),
                 id="pod-false-containers-true-still-fails"),
    pytest.param(pod([ctr("a")], securityContext=F), explicit("pod"), id="explicit-wins-over-implicit-pod"),
    pytest.param(pod([ctr("a", F), ctr("b")]), explicit('container "a"'), id="explicit-wins-over-implicit-container"),
    pytest.param(pod([ctr("a", F)], securityContext=T), explicit('container "a"'), id="container-false-under-pod-true"),
    pytest.param(pod([ctr("a", F), ctr("b", T), ctr("c")], [ctr("i", F)], [ctr("e", F)], securityContext=F),
                 explicit('pod and containers "i", "a", "e"'), id="pod-and-containers"),
])
def test_denied(spec, detail):
    for minor in (0, 25, 35, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


USERNS_BAD = pod([ctr("a", F), ctr("b")], securityContext=F)


@pytest.mark.parametrize("minor", [0, 23, 34])
def test_host_users_false_not_relaxed_before_v1_35(minor):
    assert_denied(run(CHECK, minor, pod([ctr("a")], hostUsers=False)), REASON, implicit('container "a"'))
    assert_denied(run(CHECK, minor, dict(USERNS_BAD, hostUsers=False)), REASON, explicit('pod and container "a"'))


@pytest.mark.parametrize("minor", [35, 36, 37])
def test_host_users_false_skips_from_v1_35(minor):
    assert_allowed(run(CHECK, minor, pod([ctr("a")], hostUsers=False)))
    assert_allowed(run(CHECK, minor, dict(USERNS_BAD, hostUsers=False)))


@pytest.mark.parametrize("minor", [35, 37])
@pytest.mark.parametrize("fields", [{}, {"hostUsers": True}], ids=["hostUsers-unset", "hostUsers-true"])
def test_only_explicit_host_users_false_relaxes(minor, fields):
    assert_denied(run(CHECK, minor, pod([ctr("a")], **fields)), REASON, implicit('container "a"'))


@pytest.mark.parametrize("minor", [24, 25, 28, 37])
def test_windows_not_exempt(minor):
    assert_denied(run(CHECK, minor, pod([ctr("a")], os={"name": "windows"})), REASON, implicit('container "a"'))


def test_paths_explicit():
    result = run(CHECK, 0, pod([ctr("ok", T), ctr("a", F)], securityContext=F))
    assert set(result.paths) == {
        ("spec", "securityContext", "runAsNonRoot"),
        ("spec", "containers", 1, "securityContext", "runAsNonRoot"),
    }
