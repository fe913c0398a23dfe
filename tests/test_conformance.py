"""Every upstream conformance fixture, as a Pod and wrapped in each workload kind.

Upstream's rule (tests/data/psa/PROVENANCE.md): at the fixture's (level, version) a `pass`
fixture has no violation; a `fail` fixture has at least one, and the aggregated
`reason (detail), ...` message contains `expect_error_substring`.
"""

import pytest
from cli_helpers import TEMPLATES
from psa_fixtures import load_records

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import evaluate, failures, forbidden_detail
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.sources import Document, Source, documents
from kubectl_podsec.workloads import Workload, workload_from_node

# kind -> (apiVersion, the YAML that leads to the pod template, its indentation); None for a Pod
WRAPPERS = {"Pod": None, **TEMPLATES}


def wrap(pod_yaml: str, kind: str) -> str:
    """The fixture's pod metadata and spec as the pod template of `kind`, as text."""
    if WRAPPERS[kind] is None:
        return pod_yaml
    api_version, lead, indent = WRAPPERS[kind]
    body = [line for line in pod_yaml.splitlines() if not line.startswith(("apiVersion:", "kind:"))]
    template = "".join(" " * indent + line + "\n" for line in body)
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: wrapped\n{lead}{template}"


def load_workload(text: str) -> Workload:
    (document,) = list(documents(Source("fixture.yaml", None, text)))
    assert isinstance(document, Document), document
    return workload_from_node(document.root)


def test_wrap_moves_the_pod_into_the_template():
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: b\nspec:\n  hostPID: true\n"
    workload = load_workload(wrap(pod, "CronJob"))
    assert workload.kind == "CronJob"
    assert workload.prefix == ("spec", "jobTemplate", "spec", "template")
    assert workload.pod_meta["annotations"] == {"a": "b"}
    assert workload.pod_spec == {"hostPID": True}


@pytest.mark.parametrize("kind", list(WRAPPERS))
def test_every_fixture_agrees(kind):
    records = load_records()
    assert len(records) == 4537
    mismatches = []
    for record in records:
        workload = load_workload(wrap(record.yaml_text, kind))
        assert workload.kind == kind
        level = Level.parse(record.level)
        version = PolicyVersion.parse(record.version).resolve(NEWEST_VERSION)
        failed = failures(workload.pod_meta, workload.pod_spec, level, version)
        message = forbidden_detail(failed)
        if record.expect == "pass":
            ok = not failed
        else:
            ok = bool(failed) and record.expect_error_substring in message
        # The full verdict must agree with the single-level answer.
        verdict = evaluate(workload.pod_meta, workload.pod_spec, version)
        ok = ok and verdict.passes[level] == (not failed)
        if not ok:
            mismatches.append(f"{record.file}: expected {record.expect}, got {message or 'no violation'}")
    assert mismatches == []


def test_fixtures_cover_every_check_and_version():
    records = load_records()
    assert {r.version for r in records} == {f"v1.{minor}" for minor in range(38)}
    from kubectl_podsec.checks import ALL_CHECKS

    named = {r.check for r in records if r.check}
    # Every check has generated fixtures upstream except the ones that only replace another.
    assert named >= {c.id for c in ALL_CHECKS} - {"procMount_restricted", "capabilities_restricted",
                                                   "seccompProfile_restricted", "restrictedVolumes"}
