"""procMount_restricted (restricted, v1.35; replaces procMount, never relaxed): docs/psa-semantics.md 2, 3, 6."""

import pytest
from checkhelp import assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.proc_mount_restricted import CHECK
from kubectl_podsec.evaluate import failures
from kubectl_podsec.levels import Level, Version

REASON = "procMount"
UNMASKED = {"procMount": "Unmasked"}


def test_identity():
    assert CHECK.id == "procMount_restricted"
    assert [v.minimum_version.minor for v in CHECK.versions] == [35]
    assert tuple(CHECK.versions[0].override_check_ids) == ("procMount",)


@pytest.mark.parametrize("minor", [0, 25, 34])
def test_absent_before_v1_35(minor):
    assert CHECK.variant_at(Version(minor)) is None


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")], hostUsers=False), id="unset"),
    pytest.param(pod([ctr("a", {"procMount": "Default"})], [ctr("i", {})], [ctr("e", {"procMount": "Default"})]),
                 id="default"),
])
def test_allowed(spec):
    for minor in (35, 37):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("fields", [{"hostUsers": False}, {"hostUsers": True}, {}],
                         ids=["hostUsers-false", "hostUsers-true", "hostUsers-unset"])
@pytest.mark.parametrize("minor", [35, 36, 37])
def test_no_user_namespace_relaxation(minor, fields):
    spec = pod([ctr("a", UNMASKED)], [ctr("i", {"procMount": "Default"})], [ctr("e", {"procMount": "x"})], **fields)
    assert_denied(run(CHECK, minor, spec), REASON,
                  'containers "a", "e" must not set securityContext.procMount to "Unmasked", "x"')


def ids(failed) -> list:
    return [check.id for check, _ in failed]


@pytest.mark.parametrize("minor", [35, 37])
def test_user_namespace_pod_passes_baseline_but_fails_restricted(minor):
    spec = pod([ctr("a", UNMASKED)], hostUsers=False)
    assert "procMount" not in ids(failures({}, spec, Level.BASELINE, Version(minor)))
    restricted = {check.id: result for check, result in failures({}, spec, Level.RESTRICTED, Version(minor))}
    assert "procMount" not in restricted
    assert restricted["procMount_restricted"].detail == \
        'container "a" must not set securityContext.procMount to "Unmasked"'


def test_restricted_runs_baseline_proc_mount_before_v1_35():
    failed = ids(failures({}, pod([ctr("a", UNMASKED)], hostUsers=False), Level.RESTRICTED, Version(34)))
    assert "procMount" in failed and "procMount_restricted" not in failed


def test_paths():
    result = run(CHECK, 35, pod([ctr("a", UNMASKED)]))
    assert result.paths == (("spec", "containers", 0, "securityContext", "procMount"),)
