"""`fix`: plan the edits each object needs for a level, splice them into the text, and
check the result by parsing and evaluating it again.

A source is fixed as a whole or not at all: a file with a document that does not parse, or
whose fixed text would not parse, is left as it is.
"""

from __future__ import annotations

import bisect
import functools
import pickle
import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from kubectl_podsec import diffs, parallel
from kubectl_podsec.apivalidation import new_errors
from kubectl_podsec.checks import BY_ID, NEWEST_VERSION, Safety, replaced_by
from kubectl_podsec.checks.plan import Plan
from kubectl_podsec.config import exemptions_for
from kubectl_podsec.evaluate import Verdict, evaluate, failures
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.patch import Patcher, Refused, Splice, apply_splices, detect_style, shared_nodes
from kubectl_podsec.scan import _template_of, objects_in
from kubectl_podsec.sources import Document, Problem, Source, documents, helm_templates, load
from kubectl_podsec.sources.documents import _separators
from kubectl_podsec.sources.safety import _JSON_START_RE
from kubectl_podsec.suppress import exemption_for
from kubectl_podsec.workloads import (
    DEFAULT_KINDS,
    PruneError,
    Skipped,
    WorkloadKinds,
    apply_defaults,
    needs_defaults,
    workload_from_node,
)

UNREADABLE = "the file has a document that cannot be read (see the error)"
LEFT_UNCHANGED = "the file was left unchanged (see the error)"
_LONE_CR = re.compile(r"\r(?!\n)")
MAX_ROUNDS = 4  # a fix can enable another (privileged removed -> allowPrivilegeEscalation)


def _lone_cr(text: str):
    """The first lone CR, or None; most texts have no CR at all, which a search for one
    tells several times faster than the expression."""
    return _LONE_CR.search(text) if "\r" in text else None


@dataclass
class ObjectFix:
    document: int
    item: int | None
    line: int
    column: int
    kind: str
    name: str
    namespace: str
    prefix: tuple
    before: Verdict
    edits: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # Note(check, message): what needs a human
    refused: str | None = None
    after: Verdict | None = None  # of the fixed text
    exemptions: tuple = ()
    workload: object = None  # while it is fixed; afterwards only if it has exemptions
    # While it is fixed: (pod metadata, pod spec, Verdict) of the pod as planned, not
    # defaulted: its fixed text must read back as that, and then has that verdict.
    planned: tuple | None = None
    template: str | None = None  # the helm chart template it was rendered from


@dataclass
class SourceFix:
    source: Source
    new_text: str | None = None  # None when nothing may be written
    objects: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    written: bool = False
    write_error: str | None = None  # why the new text could not be written
    documents: int = 0  # how many documents the source has
    # The splices of each phase, each on the text the phase before left: for editors that
    # apply edits rather than replace the whole text (kubectl_podsec/editor.py).
    phases: list = field(default_factory=list)
    # What the report needs of each object, compact (object_record): `objects` once a big
    # source's parts are done, or once compact() ran.
    records: list = field(default_factory=list)
    # The new text went to a writer piece by piece instead of into new_text: whether it
    # differs from the old (None: not streamed, or nothing may be written).
    streamed: bool | None = None
    # Why nothing of the source is written, for the records that were made before it was known.
    unwritten: str | None = None
    # With `diff`: the line opcodes from the text to new_text, found where the fix made its
    # splices (in the worker processes) for the --dry-run diff; None: not found. And when it
    # was fixed in parts, the diff's hunks each part rendered (diffs.hunk_bodies).
    opcodes: list | None = None
    bodies: dict | None = None

    @property
    def fixed(self) -> bool:
        """The whole source was fixed without error: there is a new text (maybe the old)."""
        return self.new_text is not None or self.streamed is not None

    @property
    def changed(self) -> bool:
        if self.streamed is not None:
            return self.streamed
        return self.new_text is not None and self.new_text != self.source.text

    def not_written(self, reason: str) -> None:
        """The write failed: what is on disk is what was read, so report that."""
        self.write_error, self.written = reason, False
        self.unwritten = reason
        for fixed in self.objects:
            fixed.after = None
            fixed.refused = fixed.refused or reason

    @property
    def changed_templates(self) -> list:
        """The chart templates that rendered the objects this fix changes: the next render
        from them brings the old settings back unless they change too."""
        if not self.changed:
            return []
        templates = {fixed.template for fixed in self.objects if fixed.edits and fixed.template}
        return sorted(templates | {record[9] for record in self.records if record[10] and record[9]})


class _Errors:
    def __init__(self):
        self.errors = []
        self.documents = 0


def plan_object(workload, level: Level, version, unsafe: bool, exemptions: tuple = (), only=None) -> Plan:
    """Ask every failing check's fix for edits until nothing more can be done; with `only`
    (check id -> bool), only the fixes of the checks it accepts."""
    return _plan(workload, level, version, unsafe, exemptions, only)[0]


def _plan(workload, level: Level, version, unsafe: bool, exemptions: tuple = (), only=None, before=None) -> tuple:
    """plan_object, and with `before` (the Verdict of the pod as it is) also the Verdict of
    the planned pod: the first round takes the failing checks from `before`, each later round
    judges the whole pod, and the round that changes nothing judged the final one. (plan,
    that Verdict or None)."""
    plan = Plan(_copy(workload.pod_meta), _copy(workload.pod_spec), unsafe, version,
                prefix=workload.prefix)
    if exemptions:
        plan.exempt = lambda check, path: exemption_for(exemptions, workload, check,
                                                        (workload.prefix + path,)) is not None
    verdict = before
    for _ in range(MAX_ROUNDS):
        done = len(plan.edits)
        plan.notes = []  # what still needs a human is judged on the latest state
        if verdict is not None:
            checks = [BY_ID[check_id] for check_id in verdict.failing[level]]
        else:
            checks = [check for check, _ in failures(plan.meta, _defaulted(workload.kind, plan.spec), level, version)]
        for check in checks:
            fix = check.fix_at(version)
            if fix is not None and (only is None or only(check.id)):
                # All asked for before any applies: a fix reads the pod, never its own edits.
                plan.apply(tuple(fix(plan.meta, plan.spec, version)))
        if len(plan.edits) == done:
            return plan, verdict
        if before is not None:
            verdict = evaluate(plan.meta, _defaulted(workload.kind, plan.spec), version, workload.prefix)
    return plan, None


def _copy(value):
    """A deep copy of the pruned model (JSON values only, never one object in two places):
    pickle does it in C, twice as fast as a round trip through json and several times
    faster than copy.deepcopy."""
    return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))


def _defaulted(kind: str, spec: dict) -> dict:
    """The spec as the API server defaults it, for the checks (which only read it): the spec
    itself when no default applies, else a defaulted copy."""
    if not needs_defaults(kind, spec):
        return spec
    spec = _copy(spec)
    apply_defaults(kind, spec)
    return spec


def _fixed_chunks(source: Source, level: Level, version: PolicyVersion, unsafe: bool, config=None,
                  *, only=None, newline: str | None = None, kinds: WorkloadKinds = DEFAULT_KINDS,
                  diff: bool = False) -> tuple:
    """fix_source's work before it decides whether the text may be written: (the SourceFix,
    its errors those of the documents; the _Chunks, or None when the text cannot be fixed)."""
    effective = version.resolve(NEWEST_VERSION)
    result = SourceFix(source)
    lone_cr = _lone_cr(source.text)
    if lone_cr:  # YAML reads a lone CR as a line break; the splices work on LF and CRLF lines only
        head = source.text[:lone_cr.start()]
        breaks = list(re.finditer(r"\r\n|\r|\n", head))
        column = lone_cr.start() - (breaks[-1].end() if breaks else 0) + 1
        result.errors.append(Problem(source.name, len(breaks) + 1, column, "lone CR line breaks (classic Mac OS) "
                                     "cannot be kept by fix; convert the file to LF or CRLF line breaks first"))
        return result, None
    found = _Errors()
    chunks = _Chunks(source, result, effective, found, newline or line_break(source.text), kinds, diff)
    # Rendered (`helm template`) or vendored output is fixed like any file; each object
    # remembers its chart template, so that the report can say where the change must also go.
    templates, template, last_document, previous_end = helm_templates(source.text), None, None, -1
    for document, item, node in _objects(source, found):
        chunks.reach(document)
        if templates and document.index != last_document:
            template = _template_of(templates, previous_end, document.root.start_mark.line)
            last_document, previous_end = document.index, document.root.end_mark.line
        try:
            workload = workload_from_node(node, defaults=False, kinds=kinds)
        except PruneError as error:
            mark = (error.node or node).start_mark
            found.errors.append(Problem(source.name, mark.line + 1, mark.column + 1, error.message, document.index))
            continue
        if isinstance(workload, Skipped):
            continue
        before = evaluate(workload.pod_meta, _defaulted(workload.kind, workload.pod_spec), effective,
                          workload.prefix)
        fixed = ObjectFix(document.index, item, node.start_mark.line + 1, node.start_mark.column + 1,
                          workload.kind, workload.name, workload.namespace, workload.prefix, before)
        fixed.workload, fixed.template = workload, template
        result.objects.append(fixed)
        chunks.add(fixed)
        exemptions = tuple(exemptions_for(config, workload.kind, workload.namespace, workload.name))
        fixed.exemptions = exemptions
        if workload.kind != "Pod":  # what its chunk's verify expects (a Pod's defaults read its metadata too)
            fixed.planned = (workload.pod_meta, workload.pod_spec, before)
        assert before.failing is not None  # evaluate() sets it
        if not before.failing.get(level):
            continue  # no check fails at the level: no fix to ask for, nothing to edit
        plan, verdict = _plan(workload, level, effective, unsafe, exemptions,
                              None if only is None else (lambda check_id, fixed=fixed: only(fixed, check_id)),
                              before)
        fixed.notes = list(plan.notes)
        rejected = new_errors((workload.pod_meta, workload.pod_spec), (plan.meta, plan.spec))
        if rejected:  # a backstop: the checks' fixes avoid these, and a test holds them to it
            fixed.refused = f"kube-apiserver would reject the fixed object ({rejected[0]})"
            continue
        try:  # refuse the whole object before touching any of it
            patcher = Patcher(source.text, node, *chunks.layout(source.text, document.root))
            for edit in plan.edits:
                patcher.check(workload.prefix + edit.path)
        except Refused as refusal:
            fixed.refused = str(refusal)
            continue
        fixed.edits = list(plan.edits)
        if fixed.planned is not None:
            fixed.planned = None if verdict is None else (plan.meta, plan.spec, verdict)
        if plan.edits:
            chunks.plan(fixed, document, node, patcher.walks)
    chunks.reach(None)
    result.errors, result.documents = found.errors, found.documents
    return result, chunks


def fix_source(source: Source, level: Level, version: PolicyVersion, unsafe: bool, config=None,
               *, only=None, newline: str | None = None, kinds: WorkloadKinds = DEFAULT_KINDS,
               diff: bool = False) -> SourceFix:
    """With `only` (ObjectFix, check id -> bool), only those checks' fixes run on each object:
    an editor's quick fix for one finding. `newline`: the line break of the file when `source`
    is a part of it (default: the source's, from its first line). With `diff`, also the line
    opcodes of the change (SourceFix.opcodes)."""
    result, chunks = _fixed_chunks(source, level, version, unsafe, config, only=only, newline=newline, kinds=kinds,
                                   diff=diff)
    if chunks is None:
        return result
    if _settle(result, result.errors, chunks.refusals, chunks.problems) is None:
        result.new_text = chunks.text()
        result.phases = [splices for splices, ran in zip(chunks.phases, chunks.ran) if ran]
        if chunks.opcodes is not None and result.changed:
            result.opcodes = chunks.joined_opcodes(result.new_text)
    return result


def _settle(result: SourceFix, errors: list, refusals, problems: dict) -> str | None:
    """Whether the source may be written, from what its chunks found: None, or why not, with
    the one error that says so (every unreadable document, else the first refusal, else the
    first problem the verify found) and each object's verdict put back to the text's."""
    name = result.source.name
    if errors:  # never write a file with a document we could not read
        result.errors, reason = list(errors), UNREADABLE
    elif refusals[0] or refusals[1]:
        refusal = refusals[0] or refusals[1]
        result.errors, reason = [Problem(name, None, None, f"cannot fix: {refusal}; left unchanged")], LEFT_UNCHANGED
    else:
        problem = _verify(result.source, problems, result)
        if problem is None:
            return None
        result.errors, reason = [problem], LEFT_UNCHANGED
    for fixed in result.objects:
        fixed.after = None  # the verdicts of text that is not written
        fixed.refused = fixed.refused or reason
    result.unwritten = reason
    return reason


def _objects(source: Source, found: _Errors):
    for document in documents(source):
        number = document.index if isinstance(document, Document) else document.document
        assert number is not None  # documents() numbers every document it yields, one that does not read too
        found.documents = number + 1
        if isinstance(document, Problem):
            found.errors.append(document)
            continue
        for item, node in objects_in(document, found):
            yield document, item, node


REMOVALS, INSERTIONS = ("remove", "remove_items"), ("set", "append")


def line_break(text: str) -> str:
    """The line break new lines get: that of the first line, as patch.detect_style reads it."""
    return "\r\n" if "\r\n" in text[: text.find("\n") + 1 or len(text)] else "\n"


class _Chunks:
    """The text cut at `---` lines into chunks that are fixed and verified on their own, each
    as soon as the objects of the next one come: only the changed chunks are parsed again,
    and the nodes of a chunk are dropped once it is done.

    Removals come first, then insertions into the chunk parsed again: an insertion then never
    has to know which neighbouring lines a removal took away. A chunk without removals takes
    its insertions on the first parse."""

    # The types of what __init__ sets up empty.
    current: list | None
    pieces: list[str]
    phases: tuple[list[Splice], list[Splice]]
    refusals: list[str | None]
    problems: dict[str, Problem]
    layouts: dict[int, tuple]

    def __init__(self, source: Source, result: SourceFix, version, found: _Errors, newline: str,
                 kinds: WorkloadKinds, diff: bool = False):
        self.source, self.result, self.version, self.found = source, result, version, found
        self.kinds = kinds
        text = source.text
        self.newline = newline
        # A directive (`%TAG`) is read with the document after it, and a JSON stream is read
        # as JSON: such a text is one chunk.
        if _JSON_START_RE.match(text) or parallel.has_directive(text):
            self.bounds = [(0, 0), (None, len(text))]
        else:
            self.bounds = [(0, 0)] + [(line, at) for line, at in _separators(text) if at > 0] + [(None, len(text))]
        self.starts = [at for _, at in self.bounds]
        self.current = None  # [index of the chunk, its ObjectFix, its (ObjectFix, Document, node) to edit]
        self.pieces, self.copied = [], 0  # the new text so far; how much of the old it covers
        self.phases, self.ran = ([], []), [False, False]  # each phase's splices, on the text before it
        self.shift = 0  # how much the removals so far moved the text (phase 2 positions)
        self.line_shift = 0  # how many lines the fixed chunks so far added
        self.refusals = [None, None]  # the first refusal of each phase
        self.problems = {}  # the first problem the verify found, by kind
        self.layouts = {}  # id(root) -> (root, style, aliased nodes), for the chunk being fixed
        # With `diff`: (the line a changed chunk starts at in the old text, in the new, the
        # line opcodes of its change); None when they cannot be told by lines (diffs.opcodes)
        self.opcodes: list | None = [] if diff and diffs.splits_at_newlines(source.text) else None

    def reach(self, document) -> None:
        """The objects of `document` (None: the end) come next: finish the chunks before it."""
        if document is None:
            index = len(self.bounds)
        else:
            index = bisect.bisect_right(self.starts, document.root.start_mark.index) - 1
        if self.current is not None and self.current[0] != index:
            self._finish(*self.current)
            self.current = None
        if self.current is None and document is not None:
            self.current = [index, [], []]

    def layout(self, text: str, root) -> tuple:
        """(style, aliased nodes) of a document of the first parse: the same for each of its
        objects and for each phase that edits that parse."""
        found = self.layouts.get(id(root))
        if found is None or found[0] is not root:
            found = self.layouts[id(root)] = (root, detect_style(text, root), shared_nodes(root, text))
        return found[1:]

    def add(self, fixed: ObjectFix) -> None:
        assert self.current is not None  # reach(document) opened its chunk
        self.current[1].append(fixed)

    def plan(self, fixed: ObjectFix, document: Document, node, walks: dict) -> None:
        """`walks`: the Patcher.walks of its check, on the first parse."""
        assert self.current is not None  # reach(document) opened its chunk
        self.current[2].append((fixed, document, node, walks))

    def text(self) -> str:
        if not self.pieces:
            return self.source.text
        return "".join(self.pieces) + self.source.text[self.copied:]

    def joined_opcodes(self, new_text: str) -> list:
        """The line opcodes from the source's text to `new_text` (its fixed text), from the
        changed chunks' own."""
        assert self.opcodes is not None
        return diffs.join_opcodes(self.opcodes, diffs.line_count(self.source.text), diffs.line_count(new_text))

    def _finish(self, index: int, objects: list, planned: list) -> None:
        try:
            if self.found.errors or self.refusals[0]:
                return  # nothing will be written
            if not planned:
                self._verify_unchanged(objects)
                return
            (line, start), (_, end) = self.bounds[index], self.bounds[index + 1]
            assert line is not None  # only the end of the text has none, and no chunk starts there
            old = self.source.text[start:end]
            try:
                removed, roots, removals = self._phase(0, old, start, planned, None)
            except Refused as refusal:
                self.refusals[0] = str(refusal)  # not the exception: its traceback holds this chunk's nodes
                return
            if self.refusals[1]:
                return  # only a removal's refusal would be reported before it
            try:
                new, _, insertions = self._phase(1, removed, start, planned, roots)
            except Refused as refusal:
                self.refusals[1] = str(refusal)  # not the exception: its traceback holds this chunk's nodes
                return
            self.shift += len(removed) - len(old)
            self._verify_changed(new, objects, line + self.line_shift)
            if self.opcodes is not None:
                # From the splices when they were made on this text; after removals, the
                # insertions were made on another: compare the texts.
                ops = diffs.opcodes(old, new) if removals else diffs.spliced_opcodes(old, insertions)
                if ops is None:
                    self.opcodes = None
                else:
                    self.opcodes.append((line, line + self.line_shift, ops))
            self.line_shift += new.count("\n") - old.count("\n")
            self.pieces += [self.source.text[self.copied:start], new]
            self.copied = end
        finally:
            self.layouts.clear()
            for fixed in objects:  # what a finished object keeps: the report's needs, not the nodes
                fixed.planned = None
                if fixed.exemptions:
                    fixed.workload.node = fixed.workload.located = None
                else:
                    fixed.workload = None  # only an exemption's container pattern reads it later

    def _phase(self, phase: int, text: str, start: int, planned: list, roots) -> tuple:
        """The chunk `text` with the edits of one phase made; the nodes it was edited on:
        {(document, item): (root, node)}, or None when it was the first parse; and the splices
        made, on `text`."""
        ops = (REMOVALS, INSERTIONS)[phase]
        todo = [(fixed, document, node, walks) for fixed, document, node, walks in planned
                if any(edit.op in ops for edit in fixed.edits)]
        if not todo:
            return text, roots, []
        self.ran[phase] = True
        splices, local = [], []
        on_chunk = phase == 1 and roots is not None
        if on_chunk:
            # Positions in the chunk; the recorded splices are on the text after the removals.
            base, whole = start + self.shift, text
        else:
            base, whole = 0, self.source.text
        for fixed, document, node, walks in todo:
            root = document.root
            if on_chunk:
                root, node = roots[(document.root.start_mark.index - start, fixed.item)]
            style, shared = self.layout(whole, root) if not on_chunk else (detect_style(whole, root),
                                                                              shared_nodes(root, whole))
            if style.newline != self.newline:  # the file's, from its first line
                style = replace(style, newline=self.newline)
            # On the first parse, the steps the check found; on the chunk parsed again, its own.
            patcher = Patcher(whole, node, style, shared, None if on_chunk else walks)
            for edit in fixed.edits:
                if edit.op not in ops:
                    continue
                path = fixed.prefix + edit.path
                if edit.op == "set":
                    patcher.set(path, edit.value)
                elif edit.op == "append":
                    patcher.append(path, edit.value)
                elif edit.op == "remove":
                    patcher.remove(path)
                else:
                    patcher.remove_items(path, edit.value)
            splices.extend(patcher.finish())
        if on_chunk:
            local = splices
            splices = [Splice(s.start + base, s.end + base, s.text, s.depth) for s in splices]
        else:
            local = [Splice(s.start - start, s.end - start, s.text, s.depth) for s in splices]
            if phase == 1:  # on the text the removals left
                splices = [Splice(s.start + self.shift, s.end + self.shift, s.text, s.depth) for s in splices]
        self.phases[phase].extend(splices)
        text = apply_splices(text, local)
        if phase == 0:
            roots = self._parse(text, start)
        return text, roots, local

    def _parse(self, text: str, start: int) -> dict:
        """{(where the document starts in the chunk, item): (root, node)} of the chunk's objects; a
        removal never moves a document's start, which comes before all its objects' text."""
        found, roots = _Errors(), {}
        for document, item, node in _objects(Source(self.source.name, self.source.path, text, self.source.bom), found):
            roots[(document.root.start_mark.index, item)] = (document.root, node)
        if found.errors:
            raise Refused(f"the partly fixed text does not parse ({found.errors[0].message})")
        return roots

    def _verify_changed(self, text: str, objects: list, line: int) -> None:
        """Parse and evaluate a fixed chunk: it must read, hold the same objects and judge no
        worse; the verdicts reported are those of what is written."""
        verdicts: list[Verdict]
        verdicts, found = [], _Errors()
        for document in documents(Source(self.source.name, self.source.path, text, self.source.bom)):
            if isinstance(document, Problem):
                at = None if document.line is None else document.line + line
                self._problem("parse", Problem(self.source.name, at, document.column, "internal error: the fixed "
                                               f"text would not parse ({document.message}); left unchanged"))
                return
            for _, node in objects_in(document, found):
                try:
                    workload = workload_from_node(node, defaults=False, kinds=self.kinds)
                except PruneError as error:
                    self._problem("parse", Problem(self.source.name, None, None, "internal error: the fixed object is "
                                                   f"invalid ({error.message}); left unchanged"))
                    return
                if isinstance(workload, Skipped):
                    continue
                fixed = objects[len(verdicts)] if len(verdicts) < len(objects) else None
                planned = fixed and fixed.kind == workload.kind and fixed.planned
                if planned and (workload.pod_meta, workload.pod_spec) == planned[:2]:
                    verdicts.append(planned[2])  # it reads back as planned: the plan judged it
                    continue
                apply_defaults(workload.kind, workload.pod_spec, workload.pod_meta)
                verdicts.append(evaluate(workload.pod_meta, workload.pod_spec, self.version, workload.prefix))
        if len(verdicts) != len(objects) or found.errors:
            self._problem("count", Problem(self.source.name, None, None,
                                           "internal error: fixing changed the objects; left unchanged"))
            return
        self._judge(objects, verdicts)

    def _verify_unchanged(self, objects: list) -> None:
        """A chunk without edits reads as before: its verdicts need no parse, only the
        defaults that read the metadata too (a Pod's AppArmor annotations), as the verify of
        a changed chunk applies them."""
        verdicts = []
        for fixed in objects:
            workload = fixed.workload
            if workload.kind != "Pod":
                verdicts.append(fixed.before)
                continue
            meta, spec = _copy(workload.pod_meta), _copy(workload.pod_spec)
            apply_defaults(workload.kind, spec, meta)
            verdicts.append(evaluate(meta, spec, self.version, workload.prefix))
        self._judge(objects, verdicts)

    def _judge(self, objects: list, verdicts: list) -> None:
        for fixed, verdict in zip(objects, verdicts):
            if verdict.highest < fixed.before.highest or \
                    {v.check for v in verdict.violations} - {v.check for v in fixed.before.violations}:
                self._problem("worse", Problem(self.source.name, fixed.line, fixed.column, "internal error: fixing "
                                               f"would make {fixed.kind}/{fixed.name} worse; left unchanged"))
                return
            fixed.after = verdict

    def _problem(self, kind: str, problem: Problem) -> None:
        self.problems.setdefault(kind, problem)


def _verify(source: Source, problems: dict, result: SourceFix) -> Problem | None:
    """The problem the verify of the fixed chunks found, as a verify of the whole text would
    report it: one that does not read before changed objects, before a worse verdict."""
    for kind in ("parse", "count", "worse"):
        if kind in problems:
            return problems[kind]
    return None


def remaining(fixed: ObjectFix, level: Level) -> list:
    """Violations at `level` or below that the fixed text still has, exemptions aside."""
    return _remaining(fixed.after or fixed.before, fixed, level)


def _remaining(verdict, fixed: ObjectFix, level: Level) -> list:
    return [v for v in verdict.violations if v.level <= level
            and not exemption_for(fixed.exemptions, fixed.workload, v.check, v.paths)]


def human_notes(fixed: ObjectFix, level: Level) -> list:
    """(check, why) for every remaining violation."""
    notes: dict = {}
    for note in fixed.notes:
        notes[note.check] = f"{notes[note.check]}; {note.message}" if note.check in notes else note.message
    out = []
    for violation in remaining(fixed, level):
        if fixed.refused:
            why = f"not changed: {fixed.refused}"
        else:
            why = notes.get(violation.check) or notes.get(replaced_by(violation.check)) \
                or never_fix_message(violation.check)
        out.append((violation, why))
    return out


@functools.cache  # one string for every object it is said of
def never_fix_message(check_id: str) -> str:
    """The advice of a check that `fix` leaves to a human."""
    check = BY_ID[check_id]
    if check.fix_safety != Safety.NEVER:
        return "no automatic fix applies here"
    return " ".join(check.fix_text.split())


class ObjectRecord(NamedTuple):
    """What the report needs of a fixed object, and no more (no nodes, pods or verdicts): a
    big source has hundreds of thousands of objects."""

    document: int
    item: int | None
    line: int
    column: int
    kind: str
    namespace: str
    name: str
    before: Level
    after: Level | None  # None: the text was not fixed
    template: str | None
    changes: tuple  # model.Change
    remaining: tuple  # model.Unfixed: what needs a human when the fixed text is written
    unfixed_before: tuple  # (level, check, reason, detail): what remains if nothing is written
    refused: str | None


def object_record(fixed: ObjectFix, gate: Level) -> ObjectRecord:
    from kubectl_podsec.model import Change, Unfixed
    from kubectl_podsec.paths import format_path

    changes = tuple(Change(e.check, e.op, format_path(fixed.prefix + e.path), e.old, e.value, e.safe,
                           BY_ID[e.check].fix_risk) for e in fixed.edits)
    remaining_now = tuple(Unfixed(v.level, v.check, v.reason, v.detail, why) for v, why in human_notes(fixed, gate))
    if fixed.after is None:
        unfixed_before = tuple((u.level, u.check, u.reason, u.detail) for u in remaining_now)
    else:
        unfixed_before = tuple((v.level, v.check, v.reason, v.detail)
                               for v in _remaining(fixed.before, fixed, gate))
    return ObjectRecord(fixed.document, fixed.item, fixed.line, fixed.column, fixed.kind, fixed.namespace,
                        fixed.name, fixed.before.highest, None if fixed.after is None else fixed.after.highest,
                        fixed.template, changes, remaining_now, unfixed_before, fixed.refused)


def compact(result: SourceFix, gate: Level) -> SourceFix:
    """The objects as records: what a report of the source needs once it is fixed."""
    if result.objects:
        result.records += [object_record(fixed, gate) for fixed in result.objects]
        result.objects = []
    return result


def fix_file(shared: tuple, found):
    """A file read and fixed (compact), or the Notice or Problem found instead:
    parallel.imap_batched's worker for many small files."""
    if not isinstance(found, Source):
        return found
    level, version, unsafe, config, kinds, dry_run, diff = shared
    problem = load(found, identify=not dry_run)  # a dry run writes nothing: no identity to check
    if problem:
        return problem
    # In one process: the file is small.
    return compact(fix_source_parallel(found, level, version, unsafe, config, kinds=kinds, diff=diff), level)


def _fix_part(shared: tuple, bounds: tuple) -> tuple:
    """A part fixed on its own, as fix_source would before deciding whether it may be written:
    (its new text, None when unchanged; its records; what keeps it from being written), with
    lines counted in the whole source. The part is read as it is and its lines moved
    afterwards: padding it with the lines before it would parse as many blank lines."""
    source, level, version, unsafe, config, kinds, diff = shared
    start, end, line = bounds
    result, chunks = _fixed_chunks(Source(source.name, source.path, source.text[start:end]), level, version, unsafe,
                                   config, newline=line_break(source.text), kinds=kinds, diff=diff)
    records = [object_record(fixed, level)._replace(line=fixed.line + line) for fixed in result.objects]
    errors = [_moved(problem, line) for problem in result.errors]
    if chunks is None:  # the caller looked for lone CRs in the whole text first
        return None, records, errors, (None, None), {}, result.documents, 0, (None, None)
    text = chunks.text() if chunks.pieces else None
    refusals = tuple(chunks.refusals)
    problems = {kind: _moved(problem, line) for kind, problem in chunks.problems.items()}
    opcodes = bodies = None
    if chunks.opcodes is not None:  # a diff is wanted, and every line of the part ends at \n
        opcodes, bodies = [], {}
        if text is not None and not (errors or refusals[0] or refusals[1] or problems):
            opcodes = chunks.joined_opcodes(text)
            bodies = diffs.hunk_bodies(source.text[start:end], text, opcodes, line)
    return text, records, errors, refusals, problems, result.documents, chunks.line_shift, (opcodes, bodies)


def _moved(problem: Problem, lines: int) -> Problem:
    return problem if problem.line is None or not lines else replace(problem, line=problem.line + lines)


_WRITE_SLICE = 1 << 20  # characters: what is encoded and written at once


def fix_source_parallel(source: Source, level: Level, version: PolicyVersion, unsafe: bool, config=None,
                        jobs: int = 1, kinds: WorkloadKinds = DEFAULT_KINDS, sink=None,
                        diff: bool = False) -> SourceFix:
    """fix_source over a big source cut at `---` lines into parts fixed one after the other, in
    up to `jobs` processes, with the same result. Held meanwhile: the text and each object's
    record, not the parts' objects. With a `sink` (writes.AtomicWriter), the new text goes to
    it piece by piece as the parts come, and `streamed` says whether it changed (the caller
    commits it); else it is joined into new_text. Whichever part fails, nothing may be
    written: the sink is then not given the rest. With `diff`, also the opcodes of the
    change (SourceFix.opcodes), from the parts' own."""
    text = source.text
    parts = [(0, len(text), 0)] if _lone_cr(text) else parallel.split_for_stream(text, jobs)
    if len(parts) < 2:
        return compact(fix_source(source, level, version, unsafe, config, kinds=kinds, diff=diff), level)
    problems: dict[str, Problem]
    memo: dict  # value -> the one copy of it the records share
    result, errors, refusals, problems = SourceFix(source), [], (None, None), {}
    texts, copied, changed, offset, line_shift, memo = [], 0, False, 0, 0, {}
    # (the line the part starts at in the old text, in the new, its opcodes) of each changed
    # part; None once a part has none (the diff then compares the texts itself)
    opcodes: list | None = [] if diff else None
    bodies: dict = {}
    done = parallel.imap_parts(_fix_part, parts, (source, level, version, unsafe, config, kinds, diff), jobs)
    for (start, end, line), (new, records, part_errors, part_refusals, part_problems, count, shift,
                             (part_opcodes, part_bodies)) in zip(parts, done):
        result.records += [_shared(record, offset, memo) for record in records]
        errors += [replace(e, document=None if e.document is None else e.document + offset) for e in part_errors]
        refusals = tuple(a or b for a, b in zip(refusals, part_refusals))
        for kind, problem in part_problems.items():
            if kind == "parse" and problem.line is not None:  # a line of the fixed text, as the whole's verify says
                problem = replace(problem, line=problem.line + line_shift)
            problems.setdefault(kind, problem)
        offset += count
        if part_opcodes is None:  # a line break but \n in the part: its lines are not the diff's
            opcodes = None
        if new is None or errors or refusals[0] or refusals[1] or problems:
            line_shift += shift
            continue  # unchanged, or nothing will be written
        if opcodes is not None:
            opcodes.append((line, line + line_shift, part_opcodes))
            bodies.update(part_bodies)
        line_shift += shift
        changed = True
        if sink is None:
            texts += [text[copied:start], new]
        else:
            _write_span(sink, text, copied, start)
            sink.write(new)
        copied = end
    result.documents = offset
    if _settle(result, errors, refusals, problems) is None:
        if sink is None:
            result.new_text = "".join(texts + [text[copied:]]) if changed else text  # one copy of a big text
            if changed and opcodes is not None:
                old_lines = diffs.line_count(text)
                result.opcodes = diffs.join_opcodes(opcodes, old_lines, old_lines + line_shift)
                result.bodies = bodies
        else:
            if changed:
                _write_span(sink, text, copied, len(text))
            result.streamed = changed
    return result


def _write_span(sink, text: str, start: int, end: int) -> None:
    for at in range(start, end, _WRITE_SLICE):
        sink.write(text[at:min(at + _WRITE_SLICE, end)])


def _shared(record: ObjectRecord, offset: int, memo: dict) -> ObjectRecord:
    """The record with its document counted in the whole source, and what many objects have
    alike (the same changes, the same violations, and lists of them) held once."""
    return ObjectRecord(record.document + offset, record.item, record.line, record.column, _once(memo, record.kind),
                        _once(memo, record.namespace), record.name, record.before, record.after,
                        _once(memo, record.template), _all_once(memo, record.changes),
                        _all_once(memo, record.remaining), _all_once(memo, record.unfixed_before),
                        _once(memo, record.refused))


def _all_once(memo: dict, values: tuple) -> tuple:
    return _once(memo, tuple(_once(memo, value) for value in values)) if values else ()


def _once(memo: dict, value):
    try:
        return memo.setdefault(value, value)
    except TypeError:  # an edit's value that is a dict or a list
        return value
