"""From manifests to verdicts: read every source, find the workloads, evaluate them.

This is the core that `check` (and the integrations built on it) call; it returns data and
never prints.
"""

from __future__ import annotations

import bisect
import gc
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec import parallel
from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import Verdict, cached_evaluate
from kubectl_podsec.levels import PolicyVersion
from kubectl_podsec.model import LiveFacts
from kubectl_podsec.sources import (
    Document,
    Notice,
    Problem,
    Source,
    documents,
    find_sources,
    helm_templates,
    load,
)
from kubectl_podsec.workloads import DEFAULT_KINDS, PruneError, Skipped, Workload, WorkloadKinds, workload_from_node
from kubectl_podsec.yamlnodes import NodeError, is_null, mapping


@dataclass
class ObjectResult:
    source: str
    document: int | None
    item: int | None
    line: int | None
    column: int | None
    workload: Workload
    verdict: Verdict
    # For each violation, the (line, column) of each of its paths.
    positions: tuple = ()
    template: str | None = None  # the helm chart template it was rendered from
    live: LiveFacts | None = None  # owner, pod count, namespace verdicts (live clusters)
    suppressed: dict = field(default_factory=dict)  # check id -> Suppression


@dataclass
class SkippedObject:
    source: str
    document: int | None
    item: int | None
    skipped: Skipped


@dataclass
class Report:
    policy_version: PolicyVersion
    objects: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # Notice: worth saying, not an error
    warnings: list = field(default_factory=list)  # kubectl's `Warning:` lines, live only
    # scan_parts with `keep`: the objects are what keep made of them, their documents counted
    # from the start of their part; this is how many documents of the source come before it.
    document_offset: int = 0


def scan(specs: Iterable[str], version: PolicyVersion, recursive: bool = False, stdin=None,
         stdin_name: str = "-", jobs: int = 1, kinds: WorkloadKinds = DEFAULT_KINDS) -> Report:
    """Check every workload in the named files, directories or stdin. With jobs > 1 a big
    source is split at `---` lines and its parts are read by that many processes."""
    report = Report(version)
    for part in scan_parts(specs, version, recursive, stdin, stdin_name, jobs, kinds):
        report.objects += part.objects
        report.skipped += part.skipped
        report.errors += part.errors
        report.notes += part.notes
    return report


def scan_parts(specs: Iterable[str], version: PolicyVersion, recursive: bool = False, stdin=None,
               stdin_name: str = "-", jobs: int = 1, kinds: WorkloadKinds = DEFAULT_KINDS,
               keep: Callable[[ObjectResult], object] | None = None) -> Iterator[Report]:
    """scan() as a stream of small Reports, in order: one for each source, or for each part of
    a big one (cut at `---` lines), so that a caller can write each as it comes and hold only
    a few at a time. Up to `jobs` processes read the parts of a big source, or many small
    files in batches.

    `keep(result)`, when given, runs where the object was judged (in the worker) and the
    report holds what it returns instead of the ObjectResult: the parent then neither
    unpickles nor reduces the objects itself. Such a report's documents are counted from
    its document_offset."""
    small, weights = [], []  # regular files below the parallel threshold, and what else comes between them
    # One verdict cache for the run: each forked worker gets its own copy and keeps it from
    # part to part, as this process does with jobs < 2.
    evaluate = cached_evaluate()
    for found in find_sources(list(specs), recursive):
        size = small_file(found)
        if size is not None or not isinstance(found, Source):
            small.append(found)
            weights.append(size or 0)
            continue
        yield from parallel.imap_batched(_scan_item, small, weights, (version, kinds, evaluate, keep), jobs)
        small, weights = [], []
        if found.path is None:
            found.name = stdin_name
        problem = load(found, stdin)
        if problem:
            yield Report(version, errors=[problem])
            continue
        parts = parallel.split_for_stream(found.text, jobs)
        if len(parts) < 2:
            report = Report(version)
            scan_source(found, version, report, kinds, evaluate)
            yield _kept(report, keep)
            continue
        offset = 0
        for report, count in parallel.imap_parts(_scan_part, parts, (found, version, kinds, evaluate, keep), jobs):
            if keep is not None:  # kept objects are past changing: the reader adds the offset
                report.document_offset = offset
            else:
                for result in report.objects:
                    result.document += offset
            report.skipped = [replace(s, document=s.document + offset) for s in report.skipped]
            report.errors = [replace(e, document=None if e.document is None else e.document + offset)
                             for e in report.errors]
            yield report
            offset += count
    yield from parallel.imap_batched(_scan_item, small, weights, (version, kinds, evaluate, keep), jobs)


def _kept(report: Report, keep: Callable[[ObjectResult], object] | None) -> Report:
    if keep is not None:
        report.objects = [keep(result) for result in report.objects]
    return report


def small_file(found) -> int | None:
    """The size of a regular file below the parallel threshold, which a worker may read itself
    (not stdin, a FIFO or /dev/fd/N, which only this process may read); else None."""
    if not isinstance(found, Source) or found.path is None:
        return None
    try:
        info = os.stat(found.path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) and info.st_size < parallel.parallel_min_chars() else None


def _scan_item(shared: tuple, found) -> Report:
    version, kinds, evaluate, keep = shared
    if isinstance(found, Notice):
        return Report(version, notes=[found])
    if isinstance(found, Problem):
        return Report(version, errors=[found])
    report = Report(version)
    problem = load(found)
    if problem:
        report.errors.append(problem)
    else:
        scan_source(found, version, report, kinds, evaluate)
    return _kept(report, keep)


def scan_source(source: Source, version: PolicyVersion, report: Report, kinds: WorkloadKinds = DEFAULT_KINDS,
                evaluate=None) -> int:
    """Add the source's verdicts to the report; returns how many documents it has.
    `evaluate`: a cached_evaluate() to share between sources (default: one for this one)."""
    with _fewer_collections():
        return _scan_source(source, version, report, kinds, evaluate or cached_evaluate())


@contextmanager
def _fewer_collections():
    """Composing allocates dozens of nodes per document, nearly all freed with it. At the
    default threshold (700) the cyclic collector runs every few documents and moves their
    live nodes, and the results held so far, up the generations to be scanned again: a
    third of the time of a big stream. Nothing here makes cycles but recursive aliases,
    which are still collected, later."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _scan_source(source: Source, version: PolicyVersion, report: Report, kinds: WorkloadKinds, evaluate) -> int:
    effective = version.resolve(NEWEST_VERSION)
    count, templates, previous_end = 0, helm_templates(source.text), -1
    for document in documents(source):
        index = document.index if isinstance(document, Document) else document.document
        if index is None:  # documents() numbers its problems; a guard for the type
            index = count
        count = index + 1
        if isinstance(document, Problem):
            report.errors.append(document)
            continue
        template = _template_of(templates, previous_end, document.root.start_mark.line) if templates else None
        previous_end = document.root.end_mark.line
        for item, node in objects_in(document, report):
            try:
                found = workload_from_node(node, kinds=kinds)
            except PruneError as error:
                report.errors.append(_problem(source, index, error.node or node, error.message))
                continue
            if isinstance(found, Skipped):
                report.skipped.append(SkippedObject(source.name, index, item, found))
                continue
            verdict = evaluate(found.pod_meta, found.pod_spec, effective, found.prefix)
            positions = tuple(tuple(found.located.position(path) for path in v.paths)
                              for v in verdict.violations)
            found.located = found.node = None  # only needed for positions; free the nodes
            mark = node.start_mark
            report.objects.append(ObjectResult(source.name, index, item, mark.line + 1, mark.column + 1,
                                               found, verdict, positions, template))
    return count


def _template_of(templates: list, after_line: int, line: int) -> str | None:
    """The helm template a document was rendered from: the last `# Source:` comment
    between the previous document and this one."""
    position = bisect.bisect_left(templates, (line, ""))
    if position and templates[position - 1][0] > after_line:
        return templates[position - 1][1]
    return None


def part_source(source: Source, start: int, end: int, line: int) -> Source:
    """A part of a source whose leading newlines put its lines where they are in the whole."""
    return Source(source.name, source.path, "\n" * line + source.text[start:end])


def _scan_part(shared: tuple, bounds: tuple) -> tuple:
    """A part read on its own, its lines moved to where they are in the whole: cheaper than
    parsing as many blank lines as come before it."""
    source, version, kinds, evaluate, keep = shared
    start, end, line = bounds
    report = Report(version)
    count = scan_source(Source(source.name, source.path, source.text[start:end]), version, report, kinds, evaluate)
    if line:
        for result in report.objects:
            result.line += line
            result.positions = tuple(tuple((found, at if at is None else at + line, column)
                                           for found, at, column in positions) for positions in result.positions)
        report.errors = [e if e.line is None else replace(e, line=e.line + line) for e in report.errors]
    return _kept(report, keep), count


def objects_in(document: Document, report) -> Iterator[tuple]:
    """(item index or None, node) for the object of a document, or each item of a List."""
    root = document.root
    if is_null(root):
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
            if is_null(items):
                return
            if not isinstance(items, SequenceNode):
                report.errors.append(_problem(document.source, document.index, items, "items must be a list"))
                return
            for index, item in enumerate(items.value):
                if not is_null(item):
                    yield index, item
            return
    yield None, root


def _problem(source: Source, document: int, node: Node, message: str) -> Problem:
    mark = node.start_mark
    return Problem(source.name, mark.line + 1, mark.column + 1, message, document)
