"""windowsHostProcess (baseline, v1.0): docs/psa-semantics.md 3 and 5."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.windows_host_process import CHECK

REASON = "hostProcess"
HP = {"windowsOptions": {"hostProcess": True}}


def detail(setters: str) -> str:
    return f"{setters} must not set securityContext.windowsOptions.hostProcess=true"


def test_identity():
    assert CHECK.id == "windowsHostProcess"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")], securityContext={}), id="unset"),
    pytest.param(pod([ctr("a", {"windowsOptions": {}})], securityContext={"windowsOptions": {"runAsUserName": "x"}}),
                 id="windowsOptions-without-hostProcess"),
    pytest.param(pod([ctr("a", {"windowsOptions": {"hostProcess": False}})],
                     [ctr("i", {"windowsOptions": {"hostProcess": False}})],
                     [ctr("e", {"windowsOptions": {"hostProcess": False}})],
                     securityContext={"windowsOptions": {"hostProcess": False}}, os={"name": "windows"}),
                 id="false-everywhere"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, setters", [
    pytest.param(pod([ctr("a")], securityContext=HP), "pod", id="pod"),
    pytest.param(pod([ctr("a", HP)]), 'container "a"', id="container"),
    pytest.param(pod(ephemeral=[ctr("dbg", HP)]), 'container "dbg"', id="ephemeral"),
    pytest.param(pod([ctr("a", {"windowsOptions": {"hostProcess": False}})], [ctr("i", HP)], [ctr("e", HP)]),
                 'containers "i", "e"', id="init-and-ephemeral"),
    pytest.param(pod([ctr("b", HP), ctr("a", HP)], securityContext=HP, os={"name": "windows"}),
                 'pod and containers "b", "a"', id="pod-and-containers"),
])
def test_denied(spec, setters):
    for minor in (0, 25, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail(setters))


def test_paths():
    result = run(CHECK, 0, pod([ctr("ok"), ctr("a", HP)], securityContext=HP))
    assert set(result.paths) == {
        ("spec", "securityContext", "windowsOptions", "hostProcess"),
        ("spec", "containers", 1, "securityContext", "windowsOptions", "hostProcess"),
    }
