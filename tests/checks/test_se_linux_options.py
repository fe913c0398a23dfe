"""seLinuxOptions (baseline, v1.0; v1.31 adds container_engine_t): docs/psa-semantics.md 3, 5."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.se_linux_options import CHECK

REASON = "seLinuxOptions"


def se(**options) -> dict:
    return {"seLinuxOptions": options}


def detail(setters: str, parts: str) -> str:
    return f"{setters} set forbidden securityContext.seLinuxOptions: {parts}"


def test_identity():
    assert CHECK.id == "seLinuxOptions"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0, 31]


@pytest.mark.parametrize("options", [
    {}, {"type": ""}, {"type": "container_t"}, {"type": "container_init_t"}, {"type": "container_kvm_t"},
    {"type": "container_t", "level": "s0:c123,c456"}, {"level": "s0"}, {"user": "", "role": ""},
], ids=repr)
def test_allowed_everywhere(options):
    spec = pod([ctr("a", se(**options))], [ctr("i", se(**options))], [ctr("e", se(**options))],
               securityContext=se(**options))
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


def test_no_options_allowed():
    assert_allowed(run(CHECK, 0, pod([ctr("a", {})], securityContext={})))


@pytest.mark.parametrize("minor", range(31, 38))
def test_container_engine_t_allowed_from_v1_31(minor):
    spec = pod([ctr("a", se(type="container_engine_t"))], securityContext=se(type="container_engine_t"))
    assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("minor", range(31))
def test_container_engine_t_forbidden_before_v1_31(minor):
    spec = pod([ctr("a", se(type="container_engine_t"))], securityContext=se(type="container_engine_t"))
    assert_denied(run(CHECK, minor, spec), REASON, detail('pod and container "a"', 'type "container_engine_t"'))


@pytest.mark.parametrize("spec, setters, parts", [
    pytest.param(pod(securityContext=se(type="spc_t")), "pod", 'type "spc_t"', id="pod-type"),
    pytest.param(pod(securityContext=se(user="system_u")), "pod", "user may not be set", id="pod-user"),
    pytest.param(pod(securityContext=se(role="sysadm_r")), "pod", "role may not be set", id="pod-role"),
    pytest.param(pod([ctr("a", se(role="r", user="u", type="spc_t", level="s0"))]), 'container "a"',
                 'type "spc_t"; user may not be set; role may not be set', id="parts-in-fixed-order"),
    pytest.param(pod([ctr("a", se(type="Container_t"))]), 'container "a"', 'type "Container_t"', id="case-sensitive"),
    pytest.param(pod([ctr("a", se(type="unconfined_t")), ctr("b", se(type="spc_t")), ctr("c", se(type="spc_t"))]),
                 'containers "a", "b", "c"', 'types "spc_t", "unconfined_t"', id="sorted-distinct-types"),
    pytest.param(pod([ctr("a", se(type="unconfined_t")), ctr("ok", se(type="container_t"))],
                     [ctr("i", se(user="u"))], [ctr("e", se(type="spc_t", user="u"))],
                     securityContext=se(type="spc_t", role="r")),
                 'pod and containers "i", "a", "e"', 'types "spc_t", "unconfined_t"; user may not be set; '
                 'role may not be set', id="everything"),
    pytest.param(pod([ctr("a", se(user="u"))], securityContext=se(type="container_t")), 'container "a"',
                 "user may not be set", id="good-pod-does-not-cover-container"),
    pytest.param(pod([ctr("a", se(type="container_t"))], securityContext=se(type="spc_t")), "pod", 'type "spc_t"',
                 id="pod-only"),
    pytest.param(pod(ephemeral=[ctr("dbg", se(role="r"))]), 'container "dbg"', "role may not be set",
                 id="ephemeral"),
])
def test_denied(spec, setters, parts):
    for minor in (0, 30, 31, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail(setters, parts))


def test_paths():
    result = run(CHECK, 0, pod([ctr("ok", se(type="container_t")), ctr("a", se(type="spc_t"))],
                               securityContext=se(user="u")))
    assert set(result.paths) == {
        ("spec", "securityContext", "seLinuxOptions", "user"),
        ("spec", "containers", 1, "securityContext", "seLinuxOptions", "type"),
    }
