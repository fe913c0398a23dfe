"""hostProbesAndHostLifecycle (baseline, v1.34+): docs/psa-semantics.md section 3."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks import checks_for
from kubectl_podsec.checks.host_probes_and_host_lifecycle import CHECK
from kubectl_podsec.levels import Level, Version

REASON = "probe or lifecycle host"
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HANDLERS = ("postStart", "preStop")
ACTIONS = ("httpGet", "tcpSocket")


def probe(action: str, host=None) -> dict:
    inner = {"port": 8080}
    if action == "httpGet":
        inner["path"] = "/healthz"
    if host is not None:
        inner["host"] = host
    return {action: inner}


def with_host(name: str, where: str, action: str, host: str) -> dict:
    """A container with one handler at `where` (a probe name or a lifecycle handler)."""
    if where in PROBES:
        return ctr(name, **{where: probe(action, host)})
    return ctr(name, lifecycle={where: probe(action, host)})


def test_identity():
    assert CHECK.id == "hostProbesAndHostLifecycle"
    assert [v.minimum_version.minor for v in CHECK.versions] == [34]


@pytest.mark.parametrize("minor", [0, 25, 33])
def test_absent_before_v1_34(minor):
    assert CHECK.variant_at(Version(minor)) is None
    for level in (Level.BASELINE, Level.RESTRICTED):
        assert CHECK.id not in [c.id for c, _ in checks_for(level, Version(minor))]


@pytest.mark.parametrize("minor", [34, 35, 37])
def test_present_from_v1_34(minor):
    for level in (Level.BASELINE, Level.RESTRICTED):
        assert CHECK.id in [c.id for c, _ in checks_for(level, Version(minor))]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")]), id="no-probes"),
    pytest.param(pod([ctr("a", livenessProbe=probe("httpGet"), readinessProbe=probe("tcpSocket"),
                          startupProbe=probe("httpGet", ""),
                          lifecycle={"postStart": probe("tcpSocket", ""), "preStop": probe("httpGet")})]),
                 id="empty-or-unset-hosts"),
    pytest.param(pod([ctr("a", livenessProbe={"exec": {"command": ["true"]}},
                          readinessProbe={"grpc": {"port": 9000, "service": "health"}},
                          lifecycle={"preStop": {"sleep": {"seconds": 5}}, "postStart": {"exec": {"command": ["x"]}}})]),
                 id="exec-grpc-sleep-not-inspected"),
])
def test_allowed(spec):
    for minor in (34, 37):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("where", PROBES + HANDLERS)
def test_every_handler_kind(where, action):
    spec = pod([with_host("a", where, action, "example.com")])
    assert_denied(run(CHECK, 34, spec), REASON, 'container "a" uses probe or lifecycle host "example.com"')


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "10.0.0.1", "0.0.0.0"])
def test_any_non_empty_host_is_bad(host):
    spec = pod([with_host("a", "readinessProbe", "httpGet", host)])
    assert_denied(run(CHECK, 37, spec), REASON, f'container "a" uses probe or lifecycle host "{host}"')


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a", livenessProbe=probe("httpGet", "y"), readinessProbe=probe("tcpSocket", "x"))]),
                 'container "a" uses probe or lifecycle hosts "x", "y"', id="one-container-two-hosts"),
    pytest.param(pod([ctr("a", livenessProbe=probe("httpGet", "h"), lifecycle={"preStop": probe("tcpSocket", "h")})]),
                 'container "a" uses probe or lifecycle host "h"', id="distinct-hosts"),
    pytest.param(pod([with_host("b", "startupProbe", "httpGet", "h"), with_host("a", "postStart", "httpGet", "h")]),
                 'containers "a", "b" use probe or lifecycle host "h"', id="names-sorted"),
    pytest.param(pod([with_host("a", "livenessProbe", "httpGet", "h")], [with_host("a", "preStop", "tcpSocket", "h")]),
                 'container "a" uses probe or lifecycle host "h"', id="names-deduplicated"),
    pytest.param(pod([ctr("alpha", livenessProbe=probe("httpGet", "a.example"),
                          lifecycle={"preStop": probe("tcpSocket", "a.example")}), ctr("ok")],
                     [with_host("zeta", "startupProbe", "tcpSocket", "b.example")],
                     [with_host("mid", "readinessProbe", "httpGet", "10.0.0.1")]),
                 'containers "alpha", "mid", "zeta" use probe or lifecycle hosts "10.0.0.1", "a.example", "b.example"',
                 id="init-regular-ephemeral-sorted"),
    pytest.param(pod(ephemeral=[with_host("dbg", "livenessProbe", "tcpSocket", "localhost")]),
                 'container "dbg" uses probe or lifecycle host "localhost"', id="ephemeral-only"),
])
def test_denied(spec, detail):
    for minor in (34, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


def test_paths():
    spec = pod([ctr("a", livenessProbe=probe("httpGet", "h"))], [with_host("i", "preStop", "tcpSocket", "h")])
    assert set(run(CHECK, 34, spec).paths) == {
        ("spec", "initContainers", 0, "lifecycle", "preStop", "tcpSocket", "host"),
        ("spec", "containers", 0, "livenessProbe", "httpGet", "host"),
    }
