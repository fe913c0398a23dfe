"""capabilities_baseline (baseline, v1.0): docs/psa-semantics.md section 3."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.capabilities_baseline import CHECK

REASON = "non-default capabilities"
DEFAULT_CAPS = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]


def add(*caps, drop=None) -> dict:
    capabilities = {"add": list(caps)}
    if drop is not None:
        capabilities["drop"] = drop
    return {"capabilities": capabilities}


def test_identity():
    assert CHECK.id == "capabilities_baseline"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")]), id="no-securityContext"),
    pytest.param(pod([ctr("a", {"capabilities": {}})]), id="empty-capabilities"),
    pytest.param(pod([ctr("a", add())]), id="empty-add"),
    pytest.param(pod([ctr("a", add(*DEFAULT_CAPS))]), id="every-default-cap"),
    pytest.param(pod([ctr("a", {"capabilities": {"drop": ["ALL", "NET_RAW", "anything"]}})]), id="drop-not-checked"),
    pytest.param(pod([ctr("a", add("CHOWN"))], [ctr("i", add("KILL"))], [ctr("e", add("SETUID"))]),
                 id="all-container-kinds-allowed"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("cap", DEFAULT_CAPS)
def test_each_default_cap_allowed(cap):
    assert_allowed(run(CHECK, 0, pod([ctr("a", add(cap))])))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a", add("NET_RAW"))]),
                 'container "a" must not include "NET_RAW" in securityContext.capabilities.add', id="one"),
    pytest.param(pod([ctr("a", add("chown", "CAP_CHOWN", "CHOWN"))]),
                 'container "a" must not include "CAP_CHOWN", "chown" in securityContext.capabilities.add',
                 id="case-and-prefix-exact"),
    pytest.param(pod([ctr("a", add("ALL"))]),
                 'container "a" must not include "ALL" in securityContext.capabilities.add', id="add-ALL"),
    pytest.param(pod([ctr("a", add("SYS_ADMIN", drop=["ALL"]))]),
                 'container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add',
                 id="drop-all-does-not-help"),
    pytest.param(pod([ctr("a", add("NET_RAW", "CHOWN")), ctr("b", add("CHOWN")), ctr("c", add("SYS_ADMIN"))],
                     [ctr("i", add("SYS_ADMIN", "NET_RAW", "SYS_ADMIN"))], [ctr("e", add("BPF"))]),
                 'containers "i", "a", "c", "e" must not include "BPF", "NET_RAW", "SYS_ADMIN" '
                 'in securityContext.capabilities.add', id="order-and-sorted-distinct"),
    pytest.param(pod(ephemeral=[ctr("dbg", add("SYS_PTRACE"))]),
                 'container "dbg" must not include "SYS_PTRACE" in securityContext.capabilities.add',
                 id="ephemeral-only"),
])
def test_denied(spec, detail):
    for minor in (0, 22, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


@pytest.mark.parametrize("minor", [24, 25, 28, 37])
def test_windows_pod_not_exempt_at_baseline(minor):
    spec = pod([ctr("a", add("NET_RAW"))], os={"name": "windows"})
    assert_denied(run(CHECK, minor, spec), REASON,
                  'container "a" must not include "NET_RAW" in securityContext.capabilities.add')


def test_paths():
    result = run(CHECK, 0, pod([ctr("ok"), ctr("a", add("NET_RAW"))], ephemeral=[ctr("e", add("BPF"))]))
    assert result.paths == (
        ("spec", "containers", 1, "securityContext", "capabilities", "add"),
        ("spec", "ephemeralContainers", 0, "securityContext", "capabilities", "add"),
    )
