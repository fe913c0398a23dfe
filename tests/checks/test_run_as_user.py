"""runAsUser (restricted, v1.23; v1.35 skips hostUsers: false pods): docs/psa-semantics.md 3, 5, 6."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.run_as_user import CHECK
from kubectl_podsec.levels import Version

REASON = "runAsUser=0"
ROOT, USER = {"runAsUser": 0}, {"runAsUser": 1000}


def detail(setters: str) -> str:
    return f"{setters} must not set runAsUser=0"


def test_identity():
    assert CHECK.id == "runAsUser"
    assert [v.minimum_version.minor for v in CHECK.versions] == [23, 35]


def test_absent_before_v1_23():
    assert CHECK.variant_at(Version(22)) is None
    assert CHECK.variant_at(Version(23)) is not None


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")], [ctr("i", {})]), id="unset"),
    pytest.param(pod([ctr("a", USER)], [ctr("i", {"runAsUser": 1})], [ctr("e", USER)], securityContext=USER),
                 id="non-zero"),
    pytest.param(pod([ctr("a")], securityContext={"runAsNonRoot": False}), id="runAsNonRoot-not-judged-here"),
])
def test_allowed(spec):
    for minor in range(23, 38):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, setters", [
    pytest.param(pod([ctr("a")], securityContext=ROOT), "pod", id="pod-zero"),
    pytest.param(pod([ctr("a", USER)], securityContext=ROOT), "pod", id="pod-zero-container-1000"),
    pytest.param(pod([ctr("a", ROOT)]), 'container "a"', id="container-zero"),
    pytest.param(pod([ctr("a", ROOT)], securityContext=USER), 'container "a"', id="container-zero-pod-1000"),
    pytest.param(pod(ephemeral=[ctr("dbg", ROOT)]), 'container "dbg"', id="ephemeral"),
    pytest.param(pod([ctr("a", USER), ctr("b", ROOT), ctr("c")], [ctr("i", ROOT)], [ctr("e", ROOT)],
                     securityContext=ROOT),
                 'pod and containers "i", "b", "e"', id="pod-and-containers-in-order"),
])
def test_denied(spec, setters):
    for minor in (23, 34, 35, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail(setters))


BAD = pod([ctr("a", ROOT)], securityContext=ROOT)


@pytest.mark.parametrize("minor", [23, 30, 34])
def test_host_users_false_not_relaxed_before_v1_35(minor):
    assert_denied(run(CHECK, minor, dict(BAD, hostUsers=False)), REASON, detail('pod and container "a"'))


@pytest.mark.parametrize("minor", [35, 36, 37])
def test_host_users_false_skips_from_v1_35(minor):
    assert_allowed(run(CHECK, minor, dict(BAD, hostUsers=False)))


@pytest.mark.parametrize("fields", [{}, {"hostUsers": True}], ids=["hostUsers-unset", "hostUsers-true"])
def test_only_explicit_host_users_false_relaxes(fields):
    assert_denied(run(CHECK, 35, dict(BAD, **fields)), REASON, detail('pod and container "a"'))


@pytest.mark.parametrize("minor", [25, 37])
def test_windows_not_exempt(minor):
    assert_denied(run(CHECK, minor, dict(BAD, os={"name": "windows"})), REASON, detail('pod and container "a"'))


def test_paths():
    result = run(CHECK, 23, pod([ctr("ok", USER)], [ctr("i", ROOT)], securityContext=ROOT))
    assert set(result.paths) == {
        ("spec", "securityContext", "runAsUser"),
        ("spec", "initContainers", 0, "securityContext", "runAsUser"),
    }
