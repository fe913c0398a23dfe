"""capabilities_restricted (restricted, v1.22; v1.25 exempts Windows pods): docs/psa-semantics.md 3, 6."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.capabilities_restricted import CHECK
from kubectl_podsec.levels import Version

REASON = "unrestricted capabilities"
EVERY_CAP = ["AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
             "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL",
             "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
             "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
             "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE",
             "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
             "WAKE_ALARM"]


def caps(drop=None, add=None) -> dict:
    capabilities = {}
    if drop is not None:
        capabilities["drop"] = drop
    if add is not None:
        capabilities["add"] = add
    return {"capabilities": capabilities}


def missing(names: str) -> str:
    return f'{names} must set securityContext.capabilities.drop=["ALL"]'


def test_identity():
    assert CHECK.id == "capabilities_restricted"
    assert [v.minimum_version.minor for v in CHECK.versions] == [22, 25]
    for variant in CHECK.versions:
        assert tuple(variant.override_check_ids) == ("capabilities_baseline",)


def test_absent_before_v1_22():
    assert CHECK.variant_at(Version(21)) is None
    assert CHECK.variant_at(Version(22)) is not None


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a", caps(["ALL"]))]), id="drop-all"),
    pytest.param(pod([ctr("a", caps(["NET_RAW", "ALL"]))]), id="drop-list-with-all"),
    pytest.param(pod([ctr("a", caps(["ALL"], ["NET_BIND_SERVICE"]))]), id="add-net-bind-service"),
    pytest.param(pod([ctr("a", caps(["ALL"], []))], [ctr("i", caps(["ALL"]))], [ctr("e", caps(["ALL"]))]),
                 id="all-kinds"),
])
def test_allowed(spec):
    for minor in (22, 24, 25, 37):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a")]), missing('container "a"'), id="no-securityContext"),
    pytest.param(pod([ctr("a", {})]), missing('container "a"'), id="empty-securityContext"),
    pytest.param(pod([ctr("a", {"capabilities": {}})]), missing('container "a"'), id="empty-capabilities"),
    pytest.param(pod([ctr("a", caps(["all"]))]), missing('container "a"'), id="lowercase-all"),
    pytest.param(pod([ctr("a", caps(EVERY_CAP))]), missing('container "a"'), id="exhaustive-drop-is-not-ALL"),
    pytest.param(pod([ctr("a", caps(add=["NET_BIND_SERVICE"]))]), missing('container "a"'), id="add-only-allowed"),
    pytest.param(pod([ctr("a", caps(["ALL"], ["CHOWN"]))]),
                 'container "a" must not include "CHOWN" in securityContext.capabilities.add',
                 id="baseline-default-cap-still-bad"),
    pytest.param(pod([ctr("a", caps(["ALL"], ["NET_BIND_SERVICE", "net_bind_service"]))]),
                 'container "a" must not include "net_bind_service" in securityContext.capabilities.add',
                 id="case-sensitive-add"),
    pytest.param(pod([ctr("a", caps(["ALL"], ["SYS_ADMIN", "NET_BIND_SERVICE"])), ctr("b", caps(add=["CHOWN"])),
                      ctr("ok", caps(["ALL"]))],
                     [ctr("i")], [ctr("e", caps(["ALL"], ["NET_RAW", "CHOWN"]))]),
                 missing('containers "i", "b"') + '; containers "a", "b", "e" must not include '
                 '"CHOWN", "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add', id="both-parts"),
    pytest.param(pod([ctr("a", caps(["ALL"]))], [ctr("i", caps(["ALL"]))], [ctr("e")]),
                 missing('container "e"'), id="ephemeral-only"),
])
def test_denied(spec, detail):
    for minor in (22, 25, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


WINDOWS_BAD = pod([ctr("a", caps(add=["SYS_ADMIN"]))], os={"name": "windows"})


@pytest.mark.parametrize("minor", [22, 23, 24])
def test_windows_not_exempt_before_v1_25(minor):
    assert_denied(run(CHECK, minor, WINDOWS_BAD), REASON,
                  missing('container "a"') + '; container "a" must not include "SYS_ADMIN" in '
                  'securityContext.capabilities.add')


@pytest.mark.parametrize("minor", [25, 26, 27, 28, 35, 37])
def test_windows_exempt_from_v1_25(minor):
    assert_allowed(run(CHECK, minor, WINDOWS_BAD))
    assert_allowed(run(CHECK, minor, pod([ctr("a")], os={"name": "windows"})))


@pytest.mark.parametrize("os", [{"name": "linux"}, {"name": "Windows"}, {}, {"name": ""}])
def test_other_os_not_exempt(os):
    assert_denied(run(CHECK, 25, pod([ctr("a")], os=os)), REASON, missing('container "a"'))


def test_paths():
    result = run(CHECK, 25, pod([ctr("a", caps(["ALL"], ["NET_RAW"]))], [ctr("i")]))
    assert set(result.paths) == {
        ("spec", "initContainers", 0, "securityContext", "capabilities", "drop"),
        ("spec", "containers", 0, "securityContext", "capabilities", "add"),
    }
