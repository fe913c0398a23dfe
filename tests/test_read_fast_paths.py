"""The fast paths of reading a pod (workloads._plain_leaf, _prune_plain_mapping) and the
verdict cache give what the general reading and a fresh evaluation give."""

from __future__ import annotations

import pytest
import yaml

from kubectl_podsec import workloads
from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import cached_evaluate, evaluate
from kubectl_podsec.sources import Source, documents
from kubectl_podsec.workloads import POD_SPEC_SCHEMA, Located, PruneError, prune_node

LEAVES = ["yes", "Off", "~", "null", "''", '"true"', "'0'", "0", "7", "0777", "0x1F", "1_000", "+5", "-1",
          "1.0", "1.5", ".inf", "\u0663", "2147483647", "2147483648", "9223372036854775808", "a b", "!!str 5",
          "!!bool yes", "!!int 0x10", "!custom x", "|\n    block\n", "[a]", "{a: b}"]
FIELDS = {"bool": "hostPID: {}", "str": "runtimeClassName: {}", "int32": "containers: [{{ports: [{{hostPort: {}}}]}}]",
          "int64": "securityContext: {{runAsUser: {}}}", "strmap": "volumes: [{{name: v, hostPath: {}}}]"}


def _read(text: str, compose):
    try:
        return prune_node(compose(text), POD_SPEC_SCHEMA, ("spec",), Located())
    except PruneError as error:
        return error.path, error.node.start_mark.line, error.node.start_mark.column, error.message


def _compose(text: str):
    return next(documents(Source("t.yaml", None, text))).root


@pytest.mark.parametrize("kind", sorted(FIELDS))
@pytest.mark.parametrize("leaf", LEAVES)
def test_fast_reading_gives_what_the_general_reading_gives(kind, leaf, monkeypatch):
    text = FIELDS[kind].format(leaf) if "\n" not in leaf else FIELDS[kind].split(":")[0] + ": " + leaf
    fast = _read(text, _compose)
    monkeypatch.setattr(workloads, "_plain_leaf", lambda node, kind: workloads._SLOW)
    monkeypatch.setattr(workloads, "_plain_keys", lambda node: False)
    assert fast == _read(text, _compose)


def test_fast_reading_of_a_mapping_with_a_merge_key_or_duplicates_goes_the_general_way():
    merged = "base: &b {hostPID: true}\nspec:\n  <<: *b\n  hostIPC: yes\n"
    node = _compose(merged).value[1][1]
    assert prune_node(node, POD_SPEC_SCHEMA, ("spec",), Located()) == {"hostPID": True, "hostIPC": True}
    duplicate = yaml.compose("hostPID: true\nhostPID: false\n")
    with pytest.raises(PruneError, match='duplicate key "hostPID"'):
        prune_node(duplicate, POD_SPEC_SCHEMA, ("spec",), Located())


def test_cached_evaluate_reuses_verdicts_and_stays_bounded():
    cached = cached_evaluate(limit=3)
    pods = [{"hostPID": True}, {"hostPID": False}, {"containers": [{"name": "a"}]}, {"hostNetwork": True}]
    for _ in range(3):
        for spec in pods:
            assert cached({}, spec, NEWEST_VERSION, ("spec", "template")) == \
                evaluate({}, spec, NEWEST_VERSION, ("spec", "template"))
    assert cached({}, {"hostPID": True}, NEWEST_VERSION, ()) is cached({}, {"hostPID": True}, NEWEST_VERSION, ())
    # Annotations count (AppArmor, seccomp), as does the prefix of the paths.
    annotated = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}
    assert cached(annotated, {}, NEWEST_VERSION, ()) == evaluate(annotated, {}, NEWEST_VERSION, ())
    assert cached({}, {"hostPID": True}, NEWEST_VERSION, ("x",)).violations[0].paths[0][0] == "x"
