"""procMount (baseline, v1.0; v1.35 relaxes it for hostUsers: false): docs/psa-semantics.md 3, 6."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.proc_mount import CHECK

REASON = "procMount"
UNMASKED = {"procMount": "Unmasked"}


def test_identity():
    assert CHECK.id == "procMount"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0, 35]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")]), id="no-securityContext"),
    pytest.param(pod([ctr("a", {"procMount": "Default"})], [ctr("i", {})], [ctr("e", {"procMount": "Default"})]),
                 id="default"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a", UNMASKED)]), 'container "a" must not set securityContext.procMount to "Unmasked"',
                 id="unmasked"),
    pytest.param(pod([ctr("a", {"procMount": ""})]), 'container "a" must not set securityContext.procMount to ""',
                 id="empty-string-is-set"),
    pytest.param(pod([ctr("a", {"procMount": "default"})]),
                 'container "a" must not set securityContext.procMount to "default"', id="case-sensitive"),
    pytest.param(pod([ctr("a", UNMASKED), ctr("ok", {"procMount": "Default"}), ctr("b", {"procMount": "Other"})],
                     [ctr("i", UNMASKED)], [ctr("e", {"procMount": ""})]),
                 'containers "i", "a", "b", "e" must not set securityContext.procMount to "", "Other", "Unmasked"',
                 id="order-and-sorted-values"),
    pytest.param(pod(ephemeral=[ctr("dbg", UNMASKED)]),
                 'container "dbg" must not set securityContext.procMount to "Unmasked"', id="ephemeral"),
])
def test_denied(spec, detail):
    for minor in (0, 34, 35, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


DETAIL = 'container "a" must not set securityContext.procMount to "Unmasked"'


@pytest.mark.parametrize("minor", [0, 20, 34])
def test_host_users_false_does_not_relax_before_v1_35(minor):
    assert_denied(run(CHECK, minor, pod([ctr("a", UNMASKED)], hostUsers=False)), REASON, DETAIL)


@pytest.mark.parametrize("minor", [35, 36, 37])
def test_host_users_false_relaxes_from_v1_35(minor):
    assert_allowed(run(CHECK, minor, pod([ctr("a", UNMASKED)], [ctr("i", {"procMount": "x"})], hostUsers=False)))


@pytest.mark.parametrize("minor", [35, 37])
@pytest.mark.parametrize("fields", [{}, {"hostUsers": True}], ids=["hostUsers-unset", "hostUsers-true"])
def test_only_explicit_false_relaxes(minor, fields):
    assert_denied(run(CHECK, minor, pod([ctr("a", UNMASKED)], **fields)), REASON, DETAIL)


def test_paths():
    result = run(CHECK, 0, pod([ctr("ok"), ctr("a", UNMASKED)], ephemeral=[ctr("e", UNMASKED)]))
    assert result.paths == (
        ("spec", "containers", 1, "securityContext", "procMount"),
        ("spec", "ephemeralContainers", 0, "securityContext", "procMount"),
    )
