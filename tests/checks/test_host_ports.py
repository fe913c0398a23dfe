"""hostPorts (baseline, v1.0): docs/psa-semantics.md sections 3 and 9.1."""

import pytest
import yaml
from checkhelp import ALL_MINORS, assert_allowed, assert_denied, ctr, pod, run

from kubectl_podsec.checks.host_ports import CHECK
from kubectl_podsec.workloads import workload_from_node

REASON = "hostPort"


def ports(*host_ports) -> list:
    """One port entry per value; None leaves hostPort unset."""
    out = []
    for index, host_port in enumerate(host_ports):
        entry = {"containerPort": 1000 + index}
        if host_port is not None:
            entry["hostPort"] = host_port
        out.append(entry)
    return out


def test_identity():
    assert CHECK.id == "hostPorts"
    assert [v.minimum_version.minor for v in CHECK.versions] == [0]


@pytest.mark.parametrize("spec", [
    pytest.param(pod(), id="no-containers"),
    pytest.param(pod([ctr("a")]), id="no-ports"),
    pytest.param(pod([ctr("a", ports=ports(None, None))]), id="containerPort-only"),
    pytest.param(pod([ctr("a", ports=ports(0))], [ctr("i", ports=ports(0))], [ctr("e", ports=ports(0))]),
                 id="hostPort-zero"),
])
def test_allowed(spec):
    for minor in ALL_MINORS:
        assert_allowed(run(CHECK, minor, spec))


@pytest.mark.parametrize("spec, detail", [
    pytest.param(pod([ctr("a", ports=ports(80))]), 'container "a" uses hostPort 80', id="one"),
    pytest.param(pod([ctr("a", ports=ports(80, 80))]), 'container "a" uses hostPort 80', id="distinct-ports"),
    pytest.param(pod([ctr("a", ports=ports(8080, 20, 100, 0))]), 'container "a" uses hostPorts 100, 20, 8080',
                 id="sorted-as-strings"),
    pytest.param(pod([ctr("a", ports=ports(80)), ctr("b", ports=ports(80))]), 'containers "a", "b" use hostPort 80',
                 id="two-containers-one-port"),
    pytest.param(pod([ctr("a", ports=ports(10)), ctr("ok", ports=ports(0))], [ctr("i", ports=ports(9))],
                     [ctr("e", ports=ports(9))]),
                 'containers "i", "a", "e" use hostPorts 10, 9', id="init-regular-ephemeral"),
    pytest.param(pod(ephemeral=[ctr("dbg", ports=ports(22))]), 'container "dbg" uses hostPort 22', id="ephemeral"),
    pytest.param(pod([ctr("a", ports=ports(9, 65535, 1000))]), 'container "a" uses hostPorts 1000, 65535, 9',
                 id="string-sort-wide"),
])
def test_denied(spec, detail):
    for minor in (0, 37):
        assert_denied(run(CHECK, minor, spec), REASON, detail)


def test_paths():
    result = run(CHECK, 0, pod([ctr("a", ports=ports(0, 80))], ephemeral=[ctr("e", ports=ports(81))]))
    assert result.paths == (
        ("spec", "containers", 0, "ports", 1, "hostPort"),
        ("spec", "ephemeralContainers", 0, "ports", 0, "hostPort"),
    )


POD_HOST_NETWORK = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  hostNetwork: true
  containers:
  - name: a
    ports:
    - containerPort: 8080
"""

DEPLOYMENT_HOST_NETWORK = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      hostNetwork: true
      containers:
      - name: a
        ports:
        - containerPort: 8080
"""


def test_host_network_pod_defaults_host_port():
    # Section 9.1: for Pods the API server copies containerPort into an unset hostPort.
    workload = workload_from_node(yaml.compose(POD_HOST_NETWORK))
    assert_denied(run(CHECK, 37, workload.pod_spec, workload.pod_meta), REASON, 'container "a" uses hostPort 8080')


def test_host_network_template_not_defaulted():
    # ... but not for pod templates (stopped in Kubernetes 1.28).
    workload = workload_from_node(yaml.compose(DEPLOYMENT_HOST_NETWORK))
    assert_allowed(run(CHECK, 37, workload.pod_spec, workload.pod_meta))
