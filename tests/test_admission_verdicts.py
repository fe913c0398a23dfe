"""The engine reproduces every verdict the real kube-apiserver v1.36.2 gave on the recorded
cluster (tests/data/recordings/admission-verdicts.jsonl): admitted or denied, the exact denial
message, and the exact Pod Security warnings.

Each object is read from the manifest it was created from (cluster-state/), the way the CLI
reads files, and the namespace's labels are applied the way Pod Security Admission applies
them (docs/psa-semantics.md sections 8 and 9):

* enforce applies only to Pods, including ephemeral-container updates; workload objects get
  the warn level only;
* a missing label means privileged:latest; when `warn` is absent and `enforce` is stricter,
  warn takes the enforce level and (unless warn-version is set) its version;
* a denied Pod gets no warn-level warning;
* `latest` means the server's own minor version (v1.36 here), as the API server evaluates it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import evaluate, failures, forbidden_detail
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.sources import Document, Source, documents
from kubectl_podsec.workloads import Workload, workload_from_node

RECORDINGS = Path(__file__).resolve().parent / "data" / "recordings"
CLUSTER_STATE = RECORDINGS / "cluster-state"
PREFIX = "pod-security.kubernetes.io/"
RESOURCES = {"Pod": "pods", "Deployment": "deployments", "StatefulSet": "statefulsets",
             "DaemonSet": "daemonsets", "ReplicaSet": "replicasets",
             "ReplicationController": "replicationcontrollers", "Job": "jobs",
             "CronJob": "cronjobs", "PodTemplate": "podtemplates"}
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
EPHEMERAL_OPERATION = "update ephemeralcontainers (add "
# Records the engine does not reproduce exactly: (namespace, name, operation) -> why. Each is
# a strict xfail, so that fixing the engine makes the test say so.
ENGINE_GAPS: dict = {}

RECORDS = [json.loads(line) for line in
           (RECORDINGS / "admission-verdicts.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]


def _server_minor() -> int:
    """The recorded server's minor version, from the recorded `kubectl version -o json`."""
    scenario = RECORDINGS / "scenarios" / "version-o-json" / "expected.json"
    return int(json.loads(scenario.read_text(encoding="utf-8"))["serverVersion"]["minor"])


SERVER_MINOR = _server_minor()


def _nodes(path: Path) -> list:
    """The root node of every non-empty document of a manifest file, as the CLI reads it."""
    source = Source(path.name, str(path), path.read_text(encoding="utf-8"))
    roots = []
    for document in documents(source):
        assert isinstance(document, Document), document
        if document.root is not None and getattr(document.root, "value", None):
            roots.append(document.root)
    return roots


def _objects() -> dict:
    """(manifest, namespace, kind, name) -> Workload or namespace labels, from cluster-state/."""
    found = {}
    for path in sorted(CLUSTER_STATE.glob("[0-6]*.yaml")):
        for node in _nodes(path):
            workload = workload_from_node(node)
            if workload.kind == "Namespace":  # a Skipped: read its labels as plain data
                continue
            assert isinstance(workload, Workload), workload
            key = (f"cluster-state/{path.name}", workload.namespace, workload.kind, workload.name)
            assert key not in found
            found[key] = workload
    return found


def _namespace_labels() -> dict:
    text = (CLUSTER_STATE / "00-namespaces.yaml").read_text(encoding="utf-8")
    return {doc["metadata"]["name"]: doc["metadata"].get("labels") or {}
            for doc in yaml.safe_load_all(text) if doc}


OBJECTS = _objects()
NAMESPACES = _namespace_labels()


def _label_value(labels: dict, mode: str):
    """What the verdict file records: `level:version` as the labels say, or None."""
    level = labels.get(PREFIX + mode)
    return None if level is None else f"{level}:{labels.get(PREFIX + mode + '-version', 'latest')}"


def effective_policy(labels: dict) -> dict:
    """{mode: (Level, "level:version" as PSA prints it)} for enforce and warn (docs/psa-semantics.md 9)."""
    policy = {}
    for mode in ("enforce", "warn"):
        level_text = labels.get(PREFIX + mode, "privileged")
        version_text = labels.get(PREFIX + mode + "-version", "latest")
        policy[mode] = [Level.parse(level_text), version_text]
    if PREFIX + "warn" not in labels and PREFIX + "enforce" in labels \
            and policy["enforce"][0] > policy["warn"][0]:
        policy["warn"][0] = policy["enforce"][0]
        if PREFIX + "warn-version" not in labels:
            policy["warn"][1] = policy["enforce"][1]
    return {mode: (level, f"{level}:{version}") for mode, (level, version) in policy.items()}


def rules_version(label: str):
    """The version whose rules apply for a `level:version` label on this server."""
    version_text = label.partition(":")[2]
    return PolicyVersion.parse(version_text).clamp(SERVER_MINOR).resolve(NEWEST_VERSION)


def _ephemeral_patches() -> list:
    text = (CLUSTER_STATE / "70-ephemeral-containers.yaml").read_text(encoding="utf-8")
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _pod_document(manifest: str, namespace: str, name: str) -> dict:
    text = (RECORDINGS / manifest).read_text(encoding="utf-8")
    return next(doc for doc in yaml.safe_load_all(text)
                if doc and doc.get("kind") == "Pod" and doc["metadata"]["name"] == name
                and doc["metadata"].get("namespace") == namespace)


def _workload_from_text(text: str) -> Workload:
    (node,) = _nodes_from_text(text)
    workload = workload_from_node(node)
    assert isinstance(workload, Workload)
    return workload


def _nodes_from_text(text: str) -> list:
    source = Source("<patched pod>", None, text)
    return [d.root for d in documents(source) if isinstance(d, Document)]


def _cases() -> list:
    """(record, workload) for every record, ephemeral updates with the pod as PSA saw it:
    the created pod plus every ephemeral container admitted so far plus the new one."""
    patches = iter(_ephemeral_patches())
    admitted_ephemeral: dict = {}  # (namespace, pod) -> ephemeral containers the server took
    cases = []
    for number, record in enumerate(RECORDS):
        key = (record["namespace"], record["kind"], record["name"])
        if record["operation"] == "create":
            workload = OBJECTS[(record["manifest"],) + key]
        else:
            assert record["operation"].startswith(EPHEMERAL_OPERATION), record["operation"]
            patch = next(patches)
            target = patch["target"]
            assert (target["namespace"], target["pod"]) == (record["namespace"], record["name"])
            added = patch["patch"]["spec"]["ephemeralContainers"]
            names = record["operation"][len(EPHEMERAL_OPERATION):-1].split(", ")
            assert [c["name"] for c in added] == names
            # The pod as created (its manifest is the create record's).
            create = next(r for r in RECORDS if r["operation"] == "create"
                          and (r["namespace"], r["kind"], r["name"]) == key)
            pod = copy.deepcopy(_pod_document(create["manifest"], *key[::2]))
            before = admitted_ephemeral.setdefault(key, [])
            pod["spec"]["ephemeralContainers"] = copy.deepcopy(before + added)
            workload = _workload_from_text(yaml.safe_dump(pod, sort_keys=False))
            if record["admitted"]:  # what the server holds from now on
                before.extend(added)
        gap = ENGINE_GAPS.get((record["namespace"], record["name"], record["operation"]))
        marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
        cases.append(pytest.param(record, workload, marks=marks,
                                  id=f"{number:02d}-{record['namespace']}-{record['kind']}-"
                                     f"{record['name']}" + ("" if record["operation"] == "create"
                                                            else "-" + names[0])))
    return cases


def expected_verdict(workload: Workload, labels: dict) -> dict:
    """What PSA answers for this object in a namespace with these labels."""
    policy = effective_policy(labels)
    admitted, error, warnings = True, None, []
    if workload.kind == "Pod":
        level, label = policy["enforce"]
        failed = failures(workload.pod_meta, workload.pod_spec, level, rules_version(label))
        if failed:
            admitted = False
            error = (f'{RESOURCES[workload.kind]} "{workload.name}" is forbidden: violates '
                     f'PodSecurity "{label}": {forbidden_detail(failed)}')
    if admitted:
        level, label = policy["warn"]
        failed = failures(workload.pod_meta, workload.pod_spec, level, rules_version(label))
        if failed:
            warnings.append(f'would violate PodSecurity "{label}": {forbidden_detail(failed)}')
    return {"admitted": admitted, "error": error, "warnings": warnings}


def other_warnings(workload: Workload) -> list:
    """Warnings the API server adds besides Pod Security: deprecated AppArmor annotations."""
    where = ".".join(workload.prefix + ("metadata", "annotations"))
    return [f'{where}[{key}]: deprecated since v1.30; use the "appArmorProfile" field instead'
            for key in (workload.pod_meta.get("annotations") or {})
            if key.startswith(APPARMOR_ANNOTATION)]


def test_every_record_is_covered():
    assert len(RECORDS) == 53
    assert sum(r["operation"] == "create" for r in RECORDS) == 49
    assert sum(r["admitted"] for r in RECORDS) == 42
    # Every object of the manifests was attempted exactly once.
    created = {(r["manifest"], r["namespace"], r["kind"], r["name"])
               for r in RECORDS if r["operation"] == "create"}
    assert created == set(OBJECTS)
    assert SERVER_MINOR == 36


@pytest.mark.parametrize("record, workload", _cases())
def test_engine_reproduces_server_verdict(record, workload):
    labels = NAMESPACES[record["namespace"]]
    # The record's labels are the namespace's labels (not PSA's effective policy).
    assert (record["enforce"], record["warn"]) == (_label_value(labels, "enforce"),
                                                   _label_value(labels, "warn"))
    expected = expected_verdict(workload, labels)

    assert record["admitted"] == expected["admitted"]
    assert record["error"] == expected["error"]
    psa = [w for w in record["warnings"] if w.startswith("would violate PodSecurity ")]
    assert psa == expected["warnings"]
    others = [w for w in record["warnings"] if w not in psa]
    assert others == other_warnings(workload)
    assert (record["status"] // 100 == 2) == record["admitted"]
    if not record["admitted"]:
        assert record["reason"] == "Forbidden"


@pytest.mark.parametrize("record, workload", [pytest.param(*c.values, id=c.id) for c in _cases()])
def test_highest_level_agrees_with_the_server(record, workload):
    """evaluate()'s summary (what `check` reports) says the same as the raw failures: an
    object the server warned or denied at level L does not pass L, and one it admitted
    silently at level L passes it."""
    policy = effective_policy(NAMESPACES[record["namespace"]])
    assert expected_verdict(workload, NAMESPACES[record["namespace"]])["admitted"] \
        == record["admitted"]
    for mode in ("enforce", "warn"):
        if mode == "enforce" and workload.kind != "Pod":
            continue
        level, label = policy[mode]
        if level == Level.PRIVILEGED:
            continue
        verdict = evaluate(workload.pod_meta, workload.pod_spec, rules_version(label))
        said = (f'PodSecurity "{label}"' in (record["error"] or "")
                or any(f'PodSecurity "{label}"' in w for w in record["warnings"]))
        if mode == "warn" and not record["admitted"]:
            continue  # a denied pod gets no warning, whatever the warn level says
        assert verdict.passes[level] is not said
        assert (verdict.highest >= level) is not said
