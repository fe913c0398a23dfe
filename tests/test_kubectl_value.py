"""Kubectl is a frozen value (issue 12): the flags kubectl runs with, nothing a run finds.
kubectl's warnings come back in the results and reach stderr, through the real kubectl
against a SyntheticCluster that adds `Warning` headers, as an apiserver does for deprecated
APIs and admission warnings."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
from kube_replay import JSON_HEADERS, SyntheticCluster, status_body
from test_live import run_against

from kubectl_podsec.cluster import Kubectl

WARNING = "Warning: synthetic deprecation warning"


class WarningCluster(SyntheticCluster):
    """Adds a Warning header to every list; `forbid` answers those paths with 403."""

    def __init__(self, forbid=(), **kwargs) -> None:
        super().__init__(**kwargs)
        self.forbid = forbid

    def respond(self, method, path, query, headers):
        if path in self.forbid:
            return 403, JSON_HEADERS, status_body(403, "Forbidden", f"{path} is forbidden for this test")
        status, response_headers, body = super().respond(method, path, query, headers)
        if status == 200 and path not in ("/version", "/api", "/apis"):
            response_headers = response_headers + [("Warning", '299 - "synthetic deprecation warning"')]
        return status, response_headers, body


def test_kubectl_is_a_frozen_value():
    kubectl = Kubectl("kubectl", namespace="shop")
    with pytest.raises(FrozenInstanceError):
        kubectl.namespace = "other"
    assert not hasattr(kubectl, "warnings")
    assert hash(kubectl) == hash(Kubectl("kubectl", namespace="shop"))


def test_check_says_kubectls_warnings(kubectl, tmp_path):
    with WarningCluster(pods=6, namespaces=2) as server:
        run = run_against(server, tmp_path, kubectl, "check", "-A", "-o", "json")
    assert run.code in (0, 1), run.err
    assert WARNING in run.err.splitlines()
    assert "Traceback" not in run.err


def test_namespaces_says_kubectls_warnings(kubectl, tmp_path):
    with WarningCluster(pods=6, namespaces=2) as server:
        run = run_against(server, tmp_path, kubectl, "namespaces")
    assert run.code in (0, 1), run.err
    assert WARNING in run.err.splitlines()


def test_unreadable_namespace_labels_are_a_warning_after_kubectls_own(kubectl, tmp_path):
    with WarningCluster(forbid=("/api/v1/namespaces",), pods=6, namespaces=2) as server:
        run = run_against(server, tmp_path, kubectl, "check", "-A", "-o", "json")
    assert run.code in (0, 1), run.err
    lines = run.err.splitlines()
    assert lines[-1] == ("Warning: namespace labels not read: Error from server (Forbidden): "
                         "/api/v1/namespaces is forbidden for this test")
    assert WARNING in lines[:-1]


def test_a_repeated_warning_is_said_once_per_listing(kubectl, tmp_path):
    """kubectl says each distinct warning once per run: once for the workloads (however many
    kinds and pages), once more for the namespaces' labels."""
    with WarningCluster(pods=30, namespaces=2) as server:
        run = run_against(server, tmp_path, kubectl, "check", "-A", "-o", "json", "--chunk-size=4")
    assert run.code in (0, 1), run.err
    assert run.err.splitlines().count(WARNING) == 2, run.err


def test_plan_says_kubectls_warnings(kubectl, tmp_path):
    with WarningCluster(pods=6, namespaces=2) as server:
        run = run_against(server, tmp_path, kubectl, "plan")
    assert run.code in (0, 1), run.err
    assert WARNING in run.err.splitlines()
    assert "Traceback" not in run.err


def test_namespaces_says_kubectls_warnings_before_its_errors(kubectl, tmp_path):
    """As check and plan do: what kubectl said while reading comes first, then what failed."""
    with WarningCluster(forbid=("/api/v1/pods",), pods=6, namespaces=2) as server:
        run = run_against(server, tmp_path, kubectl, "namespaces")
    lines = run.err.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert run.code == 2 and errors, run.err
    assert WARNING in lines and lines.index(WARNING) < errors[0], run.err
    assert "Traceback" not in run.err
