"""hostPathVolumes (baseline, v1.0): docs/psa-semantics.md section 3."""

import pytest
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, pod, run

from kubectl_podsec.checks.host_path_volumes import CHECK

REASON = "hostPath volumes"


def vol(name: str, **source) -> dict:
    return dict({"name": name}, **source)


def test_identity():
    assert CHECK.id == "hostPathVolumes"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-volumes"),
    pytest.param(pod(volumes=[]), id="empty-list"),
    pytest.param(pod(volumes=[vol("a", emptyDir={}), vol("b", configMap={"name": "c"})]), id="allowed-sources"),
    # Baseline forbids only hostPath; restrictedVolumes judges the rest.
    pytest.param(pod(volumes=[vol("n", nfs={"server": "s", "path": "/"}), vol("g", gitRepo={"repository": "r"})]),
                 id="nfs-and-gitRepo"),
    pytest.param(pod(volumes=[vol("x")]), id="source-less"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod(volumes=[vol("a", hostPath={"path": "/"})]), 'volume "a"', id="one"),
    pytest.param(pod(volumes=[vol("a", hostPath={})]), 'volume "a"', id="empty-hostPath-object"),
    pytest.param(pod(volumes=[vol("z", hostPath={"path": "/a"}), vol("ok", emptyDir={}),
                              vol("b", hostPath={"path": "/b"})]), 'volumes "z", "b"', id="spec-order"),
    pytest.param(pod(volumes=[vol("a", emptyDir={}, hostPath={"path": "/"})]), 'volume "a"',
                 id="hostPath-with-another-source"),
])
def test_denied(spec, detail):
    for minor in (0, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


def test_paths():
    result = run(CHECK, 0, pod(volumes=[vol("ok", emptyDir={}), vol("h", hostPath={"path": "/"})]))
    assert result.paths == (("spec", "volumes", 1, "hostPath"),)
