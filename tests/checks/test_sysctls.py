"""sysctls (baseline; allowed set grows at v1.27, v1.29, v1.32, v1.37): docs/psa-semantics.md 3 and 4."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, pod, run

from kubectl_podsec.checks.sysctls import CHECK

REASON = "forbidden sysctls"
# Section 4, as (first version, names added).
ADDED = [
    (0, ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"]),
    (27, ["net.ipv4.ip_local_reserved_ports"]),
    (29, ["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
          "net.ipv4.tcp_keepalive_probes"]),
    (32, ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]),
    (37, ["net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"]),
]
EVERY_NAME = [name for _, names in ADDED for name in names]


def allowed_at(minor: int) -> set:
    return {name for first, names in ADDED if first <= minor for name in names}


def sysctls(*names) -> dict:
    return pod(securityContext={"sysctls": [{"name": name, "value": "1"} for name in names]})


def test_identity():
    assert CHECK.id == "sysctls"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0, 27, 29, 32, 37]


@pytest.mark.parametrize("minor", ALL_MINORS)
def test_allowed_set_per_version(minor):
    allowed = allowed_at(minor)
    assert_allowed(run(CHECK, minor, sysctls(*sorted(allowed))))
    for name in EVERY_NAME:
        result = run(CHECK, minor, sysctls(name))
        if name in allowed:
            assert_allowed(result)
        else:
            assert_denied(result, REASON, name)


@pytest.mark.parametrize("before, after, names", [(b - 1, b, names) for b, names in ADDED[1:]],
                         ids=["v1.26-v1.27", "v1.28-v1.29", "v1.31-v1.32", "v1.36-v1.37"])
def test_version_boundaries(before, after, names):
    assert_denied(run(CHECK, before, sysctls(*names)), REASON, ", ".join(names))
    assert_allowed(run(CHECK, after, sysctls(*names)))


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-securityContext"),
    pytest.param(pod(securityContext={}), id="no-sysctls"),
    pytest.param(pod(securityContext={"sysctls": []}), id="empty-list"),
    pytest.param(pod(securityContext={"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "anything at all"}]}),
                 id="value-not-checked"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(sysctls("kernel.msgmax"), "kernel.msgmax", id="one-still-plural-reason"),
    pytest.param(sysctls("net/ipv4/tcp_syncookies"), "net/ipv4/tcp_syncookies", id="slash-spelling"),
    pytest.param(sysctls("kernel/shm_rmid_forced", "kernel.shm_rmid_forced"), "kernel/shm_rmid_forced",
                 id="slash-spelling-2"),
    pytest.param(sysctls("Kernel.shm_rmid_forced"), "Kernel.shm_rmid_forced", id="case-sensitive"),
    pytest.param(sysctls("b.x", "kernel.shm_rmid_forced", "a.y", "b.x"), "b.x, a.y, b.x",
                 id="spec-order-not-sorted-not-deduplicated"),
    pytest.param(sysctls(""), "", id="empty-name"),
])
def test_denied(spec, detail):
    for minor in (0, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


def test_paths():
    result = run(CHECK, 0, sysctls("kernel.shm_rmid_forced", "kernel.msgmax"))
    assert result.paths == (("spec", "securityContext", "sysctls", 1, "name"),)
