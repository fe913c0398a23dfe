"""restrictedVolumes (restricted, v1.0; replaces hostPathVolumes): docs/psa-semantics.md 3 and 9.1."""

import pytest
import yaml
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, pod, run

from kubectl_podsec.checks.restricted_volumes import CHECK
from kubectl_podsec.workloads import apply_defaults, workload_from_node

REASON = "restricted volume types"
ALLOWED = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
           "projected", "secret"]
# In the order upstream looks for the type to report.
FORBIDDEN = ["hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
             "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
             "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos"]


def vol(name: str, *sources) -> dict:
    volume = {"name": name}
    for source in sources:
        volume[source] = {}
    return volume


def test_identity():
    assert CHECK.id == "restrictedVolumes"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]
    assert tuple(CHECK.versions[0].override_check_ids) == ("hostPathVolumes",)


@pytest.mark.parametrize("source", ALLOWED)
def test_each_allowed_source(source):
    # image was added to the list by library 0.33, retroactively for every policy version.
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, pod(volumes=[vol("v", source)])))


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-volumes"),
    pytest.param(pod(volumes=[]), id="empty-list"),
    pytest.param(pod(volumes=[vol("a", "emptyDir", "hostPath")]), id="allowed-source-wins"),
    pytest.param(pod(volumes=[vol("i", "image"), vol("c", "csi"), vol("e", "ephemeral")]), id="image-csi-ephemeral"),
])
def test_allowed(spec):
    for minor in (0, 37):
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("source", FORBIDDEN)
def test_each_forbidden_source(source):
    assert_denied(run(CHECK, 0, pod(volumes=[vol("v", source)])), REASON,
                  f'volume "v" uses restricted volume type "{source}"')


@pytest.mark.parametrize("index", range(len(FORBIDDEN) - 1))
def test_type_is_first_in_upstream_order(index):
    # The later source is written first in the dict: the report must not depend on dict order.
    spec = pod(volumes=[vol("v", FORBIDDEN[index + 1], FORBIDDEN[index])])
    assert_denied(run(CHECK, 0, spec), REASON, f'volume "v" uses restricted volume type "{FORBIDDEN[index]}"')


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod(volumes=[vol("v")]), 'volume "v" uses restricted volume type "unknown"',
                 id="source-less-undefaulted-is-unknown"),
    pytest.param(pod(volumes=[vol("a", "hostPath"), vol("b", "hostPath")]),
                 'volumes "a", "b" use restricted volume type "hostPath"', id="two-volumes-one-type"),
    pytest.param(pod(volumes=[vol("n", "nfs"), vol("ok", "secret"), vol("h", "hostPath"), vol("g", "gitRepo"),
                              vol("h2", "hostPath")]),
                 'volumes "n", "h", "g", "h2" use restricted volume types "gitRepo", "hostPath", "nfs"',
                 id="spec-order-names-sorted-types"),
    pytest.param(pod(volumes=[vol("z"), vol("a", "storageos")]),
                 'volumes "z", "a" use restricted volume types "storageos", "unknown"', id="unknown-sorted"),
])
def test_denied(spec, detail):
    for minor in (0, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


def test_apply_defaults_makes_source_less_volume_empty_dir():
    spec = pod(volumes=[{"name": "scratch"}, {"name": "h", "hostPath": {"path": "/"}}])
    apply_defaults("Pod", spec)
    assert "emptyDir" in spec["volumes"][0]
    assert "emptyDir" not in spec["volumes"][1]
    assert_denied(run(CHECK, 0, spec), REASON, 'volume "h" uses restricted volume type "hostPath"')


@pytest.mark.parametrize("source", ["hostPath", "nfs", "gitRepo"])
def test_apply_defaults_keeps_empty_source_object(source):
    spec = pod(volumes=[{"name": "v", source: {}}])
    apply_defaults("Pod", spec)
    assert spec["volumes"][0] == {"name": "v", source: {}}
    assert_denied(run(CHECK, 0, spec), REASON, f'volume "v" uses restricted volume type "{source}"')


@pytest.mark.parametrize("document", [
    """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a, image: x}]
  volumes:
  - name: scratch
""",
    """
apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: a, image: x}]
          volumes:
          - name: scratch
          - name: img
            image: {reference: "registry/x:1"}
""",
], ids=["pod", "cronjob"])
def test_source_less_volume_through_workloads(document):
    workload = workload_from_node(yaml.compose(document))
    for minor in (0, 37):
        assert_allowed(run(CHECK, minor, workload.pod_spec, workload.pod_meta))


def test_workload_forbidden_volume():
    document = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers: [{name: a, image: x}]
      volumes:
      - name: empty
      - name: host
        hostPath: {path: /var/run}
"""
    workload = workload_from_node(yaml.compose(document))
    assert_denied(run(CHECK, 37, workload.pod_spec, workload.pod_meta), REASON,
                  'volume "host" uses restricted volume type "hostPath"')


def test_paths():
    result = run(CHECK, 0, pod(volumes=[vol("ok", "secret"), vol("h", "hostPath")]))
    assert result.paths == (("spec", "volumes", 1, "hostPath"),)
