"""hostNamespaces (baseline, v1.0): docs/psa-semantics.md section 3."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, pod, run

from kubectl_podsec.checks.host_namespaces import CHECK

REASON = "host namespaces"


def test_identity():
    assert CHECK.id == "hostNamespaces"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="unset"),
    pytest.param(pod(hostNetwork=False, hostPID=False, hostIPC=False), id="all-false"),
    pytest.param(pod(hostUsers=True), id="hostUsers-is-not-a-host-namespace-check"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("fields, detail", [
    pytest.param({"hostNetwork": True}, "hostNetwork=true", id="network"),
    pytest.param({"hostPID": True}, "hostPID=true", id="pid"),
    pytest.param({"hostIPC": True}, "hostIPC=true", id="ipc"),
    pytest.param({"hostIPC": True, "hostPID": True}, "hostPID=true, hostIPC=true", id="pid-ipc"),
    pytest.param({"hostIPC": True, "hostNetwork": True}, "hostNetwork=true, hostIPC=true", id="network-ipc"),
    pytest.param({"hostIPC": True, "hostPID": True, "hostNetwork": True},
                 "hostNetwork=true, hostPID=true, hostIPC=true", id="all-fixed-order"),
    pytest.param({"hostIPC": True, "hostPID": False, "hostNetwork": False}, "hostIPC=true", id="mixed"),
])
def test_denied(fields, detail):
    for minor in (0, 25, 37):
        assert_denied(run(CHECK, minor, pod(**fields)), REASON, detail)


def test_paths():
    result = run(CHECK, 0, pod(hostIPC=True, hostNetwork=True))
    assert set(result.paths) == {("spec", "hostNetwork"), ("spec", "hostIPC")}
