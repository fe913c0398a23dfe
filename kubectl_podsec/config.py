"""`.podsec.yaml`: exemptions (each with a reason) and custom resources with pod templates.

    exemptions:
      - reason: node agents read the host          # required
        namespace: monitoring                       # globs; every key given must match
        kind: DaemonSet
        name: node-exporter*
        container: "*"                              # only findings in these containers
        checks: [hostNamespaces, hostPathVolumes]   # default: every check
    podTemplates:
      - apiVersion: example.com/v1
        kind: Widget
        path: spec.podTemplate

Looked up from the current directory upward, or named with --config.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import NoReturn

from yaml.nodes import Node, ScalarNode, SequenceNode

from kubectl_podsec.sources import Document, Problem, Source, documents, load
from kubectl_podsec.yamlnodes import NodeError, is_null, mapping, scalar

CONFIG_NAMES = (".podsec.yaml", ".podsec.yml")
SELECTORS = ("namespace", "kind", "name", "container")


class ConfigError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class Exemption:
    reason: str
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    container: str | None = None
    checks: frozenset | None = None

    def matches_object(self, kind: str, namespace: str, name: str) -> bool:
        return all(pattern is None or fnmatch.fnmatchcase(value or "", pattern)
                   for pattern, value in ((self.kind, kind), (self.namespace, namespace), (self.name, name)))

    def covers_check(self, check_id: str) -> bool:
        return self.checks is None or check_id in self.checks


@dataclass
class Config:
    path: str | None = None
    exemptions: list = field(default_factory=list)
    pod_templates: dict = field(default_factory=dict)  # (group, kind) -> path tuple


def find_config(start: str = ".") -> str | None:
    directory = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(path: str, check_ids) -> Config:
    """Read a .podsec.yaml; `check_ids` are the checks an exemption may name (the registry's:
    reading a file does not depend on the policy core)."""
    source = Source(path, path)
    problem = load(source)
    if problem:
        raise ConfigError(problem)
    config = Config(path)
    for document in documents(source):
        if isinstance(document, Problem):
            raise ConfigError(document)
        if not is_null(document.root):
            _read(document, config, frozenset(check_ids))
    return config


def _fail(source: Source, node: Node, message: str) -> NoReturn:
    mark = node.start_mark
    raise ConfigError(Problem(source.name, mark.line + 1, mark.column + 1, message))


def _read(document: Document, config: Config, check_ids: frozenset) -> None:
    source = document.source
    try:
        top = mapping(document.root)
        for key, (key_node, value) in top.items():
            if key == "exemptions":
                config.exemptions.extend(_exemption(source, item, check_ids) for item in _items(source, value, key))
            elif key == "podTemplates":
                for item in _items(source, value, key):
                    config.pod_templates.update([_pod_template(source, item)])
            else:
                _fail(source, key_node, f"unknown key {key!r} (expected exemptions or podTemplates)")
    except NodeError as error:
        _fail(source, error.node, error.message)


def _items(source: Source, node: Node, key: str) -> list:
    if is_null(node):
        return []
    if not isinstance(node, SequenceNode):
        _fail(source, node, f"{key} must be a list")
    return node.value


def _string(source: Source, node: Node, key: str) -> str:
    value = scalar(node) if isinstance(node, ScalarNode) else None
    if not isinstance(value, str) or not value.strip():
        _fail(source, node, f"{key} must be a non-empty string")
    return value


def _exemption(source: Source, node: Node, check_ids: frozenset) -> Exemption:
    entries = mapping(node)
    values: dict = {}
    for key, (key_node, value) in entries.items():
        if key in SELECTORS or key == "reason":
            values[key] = _string(source, value, key)
        elif key == "checks":
            if not isinstance(value, SequenceNode) or not value.value:
                _fail(source, value, "checks must be a non-empty list of check IDs")
            checks = []
            for item in value.value:
                check_id = _string(source, item, "a check")
                if check_id not in check_ids:
                    _fail(source, item, f"unknown check {check_id!r} (kubectl podsec explain lists them)")
                checks.append(check_id)
            values["checks"] = frozenset(checks)
        else:
            _fail(source, key_node, f"unknown key {key!r} in an exemption")
    if "reason" not in values:
        _fail(source, node, "every exemption needs a reason")
    if not any(key in values for key in SELECTORS + ("checks",)):
        _fail(source, node, "an exemption must say what it exempts (namespace, kind, name, container or checks)")
    return Exemption(**values)


def _pod_template(source: Source, node: Node) -> tuple:
    entries = mapping(node)
    for key, (key_node, _) in entries.items():
        if key not in ("apiVersion", "kind", "path"):
            _fail(source, key_node, f"unknown key {key!r} in a pod template entry")
    for key in ("apiVersion", "kind", "path"):
        if key not in entries:
            _fail(source, node, f"a pod template entry needs {key}")
    api_version = _string(source, entries["apiVersion"][1], "apiVersion")
    kind = _string(source, entries["kind"][1], "kind")
    path = tuple(_string(source, entries["path"][1], "path").split("."))
    if any(not part for part in path):
        _fail(source, entries["path"][1], "path must be dotted field names, e.g. spec.template")
    return (api_version.rpartition("/")[0], kind), path


def exemptions_for(config: Config | None, kind: str, namespace: str, name: str) -> list:
    if config is None:
        return []
    return [e for e in config.exemptions if e.matches_object(kind, namespace, name)]
