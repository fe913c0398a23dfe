"""From manifests to verdicts: read every source, find the workloads, evaluate them.

This is the core that `check` (and the integrations built on it) call; it returns data and
never prints.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Optional

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec.checks import NEWEST_VERSION
from kubectl_podsec.evaluate import Verdict, evaluate
from kubectl_podsec.levels import PolicyVersion
from kubectl_podsec.manifests import (
    Document, Notice, Problem, Source, documents, find_sources, helm_templates, load,
)
from kubectl_podsec.model import LiveFacts
from kubectl_podsec.workloads import PruneError, Skipped, Workload, workload_from_node
from kubectl_podsec.yamlnodes import NodeError, is_null, mapping


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
    template: Optional[str] = None  # the helm chart template it was rendered from
    live: Optional[LiveFacts] = None  # owner, pod count, namespace verdicts (live clusters)
    suppressed: dict = field(default_factory=dict)  # check id -> Suppression


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
    notes: list = field(default_factory=list)  # Notice: worth saying, not an error


def scan(specs: Iterable[str], version: PolicyVersion, recursive: bool = False, stdin=None,
         stdin_name: str = "-", jobs: int = 1) -> Report:
    """Check every workload in the named files, directories or stdin. With jobs > 1 a big
    source is split at `---` lines and its parts are read by that many processes."""
    report = Report(version)
    for found in find_sources(list(specs), recursive):
        if isinstance(found, Notice):
            report.notes.append(found)
            continue
        if isinstance(found, Problem):
            report.errors.append(found)
            continue
        if found.path is None:
            found.name = stdin_name
        problem = load(found, stdin)
        if problem:
            report.errors.append(problem)
            continue
        parts = split_for_workers(found.text, jobs)
        if len(parts) > 1:
            _scan_in_parallel(found, parts, version, report)
        else:
            scan_source(found, version, report)
    return report


def scan_source(source: Source, version: PolicyVersion, report: Report) -> int:
    """Add the source's verdicts to the report; returns how many documents it has."""
    effective = version.resolve(NEWEST_VERSION)
    count, templates, previous_end = 0, helm_templates(source.text), -1
    for document in documents(source):
        index = document.index if isinstance(document, Document) else document.document
        count = index + 1
        if isinstance(document, Problem):
            report.errors.append(document)
            continue
        template = _template_of(templates, previous_end, document.root.start_mark.line) if templates else None
        previous_end = document.root.end_mark.line
        for item, node in objects_in(document, report):
            try:
                found = workload_from_node(node)
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


def _template_of(templates: list, after_line: int, line: int) -> Optional[str]:
    """The helm template a document was rendered from: the last `# Source:` comment
    between the previous document and this one."""
    position = bisect.bisect_left(templates, (line, ""))
    if position and templates[position - 1][0] > after_line:
        return templates[position - 1][1]
    return None


# Below this size a second process costs more than it saves.
PARALLEL_MIN_CHARS = 4 << 20


def parallel_min_chars() -> int:
    """PARALLEL_MIN_CHARS, or $KUBECTL_PODSEC_PARALLEL_BYTES: tests reach the parallel path
    with small inputs through it."""
    value = os.environ.get("KUBECTL_PODSEC_PARALLEL_BYTES", "")
    return int(value) if value.isdigit() else PARALLEL_MIN_CHARS


def split_for_workers(text: str, jobs: int) -> list:
    """(start, end, line) of up to `jobs` parts of about equal size, cut at `---` lines
    (a document never spans one)."""
    if jobs < 2 or len(text) < parallel_min_chars():
        return [(0, len(text), 0)]
    cuts, line, previous = [0], 0, 0
    for part in range(1, jobs):
        at = text.find("\n---", max(len(text) * part // jobs, cuts[-1]))
        while at >= 0 and text[at + 4:at + 5] not in ("", " ", "\t", "\r", "\n"):
            at = text.find("\n---", at + 1)
        if at < 0:
            break
        cuts.append(at + 1)
    cuts.append(len(text))
    parts = []
    for start, end in zip(cuts, cuts[1:]):
        line += text.count("\n", previous, start)
        previous = start
        parts.append((start, end, line))
    return parts


_SHARED = None  # what the forked workers read instead of receiving it pickled


def map_parts(worker, parts: list, shared) -> list:
    """worker(part) for every part, in forked processes that inherit `shared`. However the
    parent stops (an exception, or a signal the CLI turns into one), leaving the `with`
    terminates the workers; a worker whose parent died without that ends too (Linux)."""
    global _SHARED
    import multiprocessing

    _SHARED = shared
    try:
        with multiprocessing.get_context("fork").Pool(len(parts), initializer=_worker_start,
                                                      initargs=(os.getpid(),)) as pool:
            return pool.map(worker, parts)
    finally:
        _SHARED = None


def _worker_start(parent: int) -> None:
    """Signals are the parent's business: it turns them into an orderly stop and then ends
    the workers with SIGTERM, which must kill them silently (no KeyboardInterrupt traceback
    from each worker on Ctrl-C, no Python handler inherited through fork)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    try:  # Linux: die with the parent even if it is killed outright (SIGKILL, a crash)
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def shared():
    return _SHARED


def part_source(source: Source, start: int, end: int, line: int) -> Source:
    """A part of a source whose leading newlines put its lines where they are in the whole."""
    return Source(source.name, source.path, "\n" * line + source.text[start:end])


def _scan_part(bounds: tuple) -> tuple:
    source, version = _SHARED
    report = Report(version)
    count = scan_source(part_source(source, *bounds), version, report)
    return report, count


def _scan_in_parallel(source: Source, parts: list, version: PolicyVersion, report: Report) -> None:
    results = map_parts(_scan_part, parts, (source, version))
    offset = 0
    for part, count in results:
        for result in part.objects:
            result.document += offset
        report.objects.extend(part.objects)
        report.skipped.extend(replace(s, document=s.document + offset) for s in part.skipped)
        report.errors.extend(replace(e, document=None if e.document is None else e.document + offset)
                             for e in part.errors)
        offset += count


def default_jobs() -> int:
    """Processes for big inputs: the cores this process may use, where fork exists."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(4, os.cpu_count() or 1))


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
