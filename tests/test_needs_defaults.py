"""workloads.needs_defaults: False only where apply_defaults (without metadata) changes
nothing, so that fix may hand the checks the spec itself instead of a defaulted copy."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

from kubectl_podsec.scan import objects_in
from kubectl_podsec.sources import Document, Source, documents
from kubectl_podsec.workloads import Skipped, apply_defaults, needs_defaults, workload_from_node

REPO = Path(__file__).resolve().parent.parent


def changed_by_defaults(kind: str, spec: dict) -> bool:
    defaulted = copy.deepcopy(spec)
    apply_defaults(kind, defaulted)
    return defaulted != spec


@pytest.mark.parametrize("kind", ["Pod", "Deployment"])
@pytest.mark.parametrize("spec", [
    {},
    {"containers": [{"name": "a"}]},
    {"volumes": [{"name": "v"}]},  # no source: emptyDir
    {"volumes": [{"name": "v", "emptyDir": None}]},
    {"volumes": [{"name": "v", "configMap": {"name": "c"}}]},
    {"volumes": None},
    {"hostNetwork": True, "containers": [{"name": "a", "ports": [{"containerPort": 80}]}]},
    {"hostNetwork": True, "containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}]}]},
    {"hostNetwork": True, "initContainers": [{"name": "a", "ports": [{}]}]},
    {"hostNetwork": False, "containers": [{"name": "a", "ports": [{"containerPort": 80}]}]},
    {"hostNetwork": "true", "containers": [{"name": "a", "ports": [{"containerPort": 80}]}]},
])
def test_cases(kind, spec):
    assert needs_defaults(kind, spec) or not changed_by_defaults(kind, spec)


def test_benchmark_corpus():
    spec = importlib.util.spec_from_file_location("bench_corpus", REPO / "bench" / "corpus.py")
    module = sys.modules.setdefault("bench_corpus", importlib.util.module_from_spec(spec))
    if not hasattr(module, "generate"):
        spec.loader.exec_module(module)
    text = module.generate(400, 3, mix="unhardened").decode()
    seen = {True: 0, False: 0}
    for document in documents(Source("c.yaml", None, text)):
        if not isinstance(document, Document):
            continue
        for _, node in objects_in(document, None):
            workload = workload_from_node(node, defaults=False)
            if isinstance(workload, Skipped):
                continue
            needed = needs_defaults(workload.kind, workload.pod_spec)
            seen[needed] += 1
            assert needed or not changed_by_defaults(workload.kind, workload.pod_spec)
    assert seen[True] and seen[False] > seen[True]
