"""From manifests to verdicts: read every source, find the workloads, evaluate them.

This is the core that `check` (and the integrations built on it) call; it returns data and
never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import Verdict, evaluate
from kubectl_podsec.levels import PolicyVersion
from kubectl_podsec.manifests import Document, Problem, Source, documents, find_sources, is_empty, load
from kubectl_podsec.workloads import PruneError, Skipped, Workload, workload_from_node
from kubectl_podsec.yamlnodes import NodeError, mapping


@dataclass
class ObjectResult:
    source: str
    document: Optional[int]
    item: Optional[int]
    line: Optional[int]
    column: Optional[int]
    workload: Workload
    verdict: Verdict
    # For each violation, the (line, column) of each of its paths.
    positions: tuple = ()
    extra: dict = field(default_factory=dict)  # owner, pod count, ... (live clusters)


@dataclass
class SkippedObject:
    source: str
    document: Optional[int]
    item: Optional[int]
    skipped: Skipped


@dataclass
class Report:
    policy_version: PolicyVersion
    objects: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    errors: list = field(default_factory=list)


def scan(specs: Iterable[str], version: PolicyVersion, recursive: bool = False, stdin=None,
         stdin_name: str = "-") -> Report:
    report = Report(version)
    for found in find_sources(list(specs), recursive):
        if isinstance(found, Problem):
            report.errors.append(found)
            continue
        if found.path is None:
            found.name = stdin_name
        problem = load(found, stdin)
        if problem:
            report.errors.append(problem)
            continue
        scan_source(found, version, report)
    return report


def scan_source(source: Source, version: PolicyVersion, report: Report) -> None:
    effective = version.resolve(NEWEST_VERSION)
    for document in documents(source):
        if isinstance(document, Problem):
            report.errors.append(document)
            continue
        for item, node in objects_in(document, report):
            try:
                found = workload_from_node(node)
            except PruneError as error:
                report.errors.append(_problem(source, document.index, error.node or node, error.message))
                continue
            if isinstance(found, Skipped):
                report.skipped.append(SkippedObject(source.name, document.index, item, found))
                continue
            verdict = evaluate(found.pod_meta, found.pod_spec, effective, found.prefix)
            positions = tuple(tuple(found.located.position(path) for path in v.paths)
                              for v in verdict.violations)
            found.located = None  # the node index is only needed for positions; free it
            mark = node.start_mark
            report.objects.append(ObjectResult(source.name, document.index, item, mark.line + 1, mark.column + 1,
                                               found, verdict, positions))


def objects_in(document: Document, report) -> Iterator[tuple]:
    """(item index or None, node) for the object of a document, or each item of a List."""
    root = document.root
    if is_empty(root):
        return
    if isinstance(root, MappingNode):
        try:
            entries = mapping(root)
        except NodeError as error:
            report.errors.append(_problem(document.source, document.index, error.node, error.message))
            return
        kind = entries.get("kind")
        if kind and isinstance(kind[1], ScalarNode) and kind[1].value.endswith("List") and "items" in entries:
            items = entries["items"][1]
            if is_empty(items):
                return
            if not isinstance(items, SequenceNode):
                report.errors.append(_problem(document.source, document.index, items, "items must be a list"))
                return
            for index, item in enumerate(items.value):
                if not is_empty(item):
                    yield index, item
            return
    yield None, root


def _problem(source: Source, document: int, node: Node, message: str) -> Problem:
    mark = node.start_mark
    return Problem(source.name, mark.line + 1, mark.column + 1, message, document)
