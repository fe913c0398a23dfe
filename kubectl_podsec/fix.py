"""`fix`: plan the edits each object needs for a level, splice them into the text, and
check the result by parsing and evaluating it again.

A source is fixed as a whole or not at all: a file with a document that does not parse, or
whose fixed text would not parse, is left as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Optional

from kubectl_podsec.apivalidation import new_errors
from kubectl_podsec.checks import BY_ID, NEWEST_VERSION, Safety, replaced_by
from kubectl_podsec.checks.plan import Plan
from kubectl_podsec.evaluate import evaluate, failures
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.config import exemptions_for
from kubectl_podsec.sources import Document, Problem, Source, documents, helm_templates
from kubectl_podsec.patch import Patcher, Refused, apply_splices, detect_style, shared_nodes
from kubectl_podsec import parallel
from kubectl_podsec.scan import _template_of, objects_in, part_source
from kubectl_podsec.suppress import exemption_for
from kubectl_podsec.workloads import (
    DEFAULT_KINDS, PruneError, Skipped, WorkloadKinds, apply_defaults, workload_from_node,
)

UNREADABLE = "the file has a document that cannot be read (see the error)"
LEFT_UNCHANGED = "the file was left unchanged (see the error)"
_LONE_CR = re.compile(r"\r(?!\n)")
MAX_ROUNDS = 4  # a fix can enable another (privileged removed -> allowPrivilegeEscalation)


@dataclass
class ObjectFix:
    document: int
    item: Optional[int]
    line: int
    column: int
    kind: str
    name: str
    namespace: str
    prefix: tuple
    before: object  # Verdict
    edits: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # Note(check, message): what needs a human
    refused: Optional[str] = None
    after: object = None  # Verdict of the fixed text
    exemptions: tuple = ()
    workload: object = None
    template: Optional[str] = None  # the helm chart template it was rendered from


@dataclass
class SourceFix:
    source: Source
    new_text: Optional[str] = None  # None when nothing may be written
    objects: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    written: bool = False
    write_error: Optional[str] = None  # why the new text could not be written
    documents: int = 0  # how many documents the source has
    # The splices of each phase, each on the text the phase before left: for editors that
    # apply edits rather than replace the whole text (kubectl_podsec/editor.py).
    phases: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.new_text != self.source.text

    def not_written(self, reason: str) -> None:
        """The write failed: what is on disk is what was read, so report that."""
        self.write_error, self.written = reason, False
        for fixed in self.objects:
            fixed.after = None
            fixed.refused = fixed.refused or reason

    @property
    def changed_templates(self) -> list:
        """The chart templates that rendered the objects this fix changes: the next render
        from them brings the old settings back unless they change too."""
        if not self.changed:
            return []
        return sorted({fixed.template for fixed in self.objects if fixed.edits and fixed.template})


class _Errors:
    def __init__(self):
        self.errors = []
        self.documents = 0


def plan_object(workload, level: Level, version, unsafe: bool, exemptions: tuple = (), only=None) -> Plan:
    """Ask every failing check's fix for edits until nothing more can be done; with `only`
    (check id -> bool), only the fixes of the checks it accepts."""
    plan = Plan(_copy(workload.pod_meta), _copy(workload.pod_spec), unsafe, version,
                prefix=workload.prefix)
    if exemptions:
        plan.exempt = lambda check, path: exemption_for(exemptions, workload, check,
                                                        (workload.prefix + path,)) is not None
    for _ in range(MAX_ROUNDS):
        done = len(plan.edits)
        plan.notes = []  # what still needs a human is judged on the latest state
        for check, _ in failures(plan.meta, _defaulted(workload.kind, plan.spec), level, version):
            fix = check.fix_at(version)
            if fix is not None and (only is None or only(check.id)):
                # All asked for before any applies: a fix reads the pod, never its own edits.
                plan.apply(tuple(fix(plan.meta, plan.spec, version)))
        if len(plan.edits) == done:
            break
    return plan


def _copy(value):
    """A deep copy of the pruned model (JSON values only): json does it in C, several times
    faster than copy.deepcopy."""
    return json.loads(json.dumps(value))


def _defaulted(kind: str, spec: dict) -> dict:
    spec = _copy(spec)
    apply_defaults(kind, spec)
    return spec


def fix_source(source: Source, level: Level, version: PolicyVersion, unsafe: bool, config=None,
               only=None, kinds: WorkloadKinds = DEFAULT_KINDS) -> SourceFix:
    """With `only` (ObjectFix, check id -> bool), only those checks' fixes run on each object:
    an editor's quick fix for one finding."""
    effective = version.resolve(NEWEST_VERSION)
    result = SourceFix(source)
    lone_cr = _LONE_CR.search(source.text)
    if lone_cr:  # YAML reads a lone CR as a line break; the splices work on LF and CRLF lines only
        before = source.text[:lone_cr.start()]
        breaks = list(re.finditer(r"\r\n|\r|\n", before))
        column = lone_cr.start() - (breaks[-1].end() if breaks else 0) + 1
        result.errors.append(Problem(source.name, len(breaks) + 1, column, "lone CR line breaks (classic Mac OS) "
                                     "cannot be kept by fix; convert the file to LF or CRLF line breaks first"))
        return result
    found = _Errors()
    # Rendered (`helm template`) or vendored output is fixed like any file; each object
    # remembers its chart template, so that the report can say where the change must also go.
    templates, template, last_document, previous_end = helm_templates(source.text), None, None, -1
    planned = []  # ObjectFix with edits to make
    parsed = {}  # (document, item) -> (Document, node) of the objects to edit, from this parse
    for document, item, node in _objects(source, found):
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
        exemptions = tuple(exemptions_for(config, workload.kind, workload.namespace, workload.name))
        plan = plan_object(workload, level, effective, unsafe, exemptions,
                           None if only is None else (lambda check_id, fixed=fixed: only(fixed, check_id)))
        fixed.notes = list(plan.notes)
        fixed.exemptions = exemptions
        rejected = new_errors((workload.pod_meta, workload.pod_spec), (plan.meta, plan.spec))
        if rejected:  # a backstop: the checks' fixes avoid these, and a test holds them to it
            fixed.refused = f"kube-apiserver would reject the fixed object ({rejected[0]})"
            continue
        try:  # refuse the whole object before touching any of it
            patcher = Patcher(source.text, node, detect_style(source.text, document.root),
                              shared_nodes(document.root, source.text))
            for edit in plan.edits:
                patcher.check(workload.prefix + edit.path)
        except Refused as refusal:
            fixed.refused = str(refusal)
            continue
        fixed.edits = list(plan.edits)
        planned.append(fixed)
        if plan.edits:
            parsed[(document.index, item)] = (document, node)
    result.errors, result.documents = found.errors, found.documents
    if result.errors:  # never write a file with a document we could not read
        for fixed in result.objects:
            fixed.refused = fixed.refused or UNREADABLE
        return result
    text = source.text
    # Removals first, then insertions into the re-parsed text: an insertion then never has to
    # know which neighbouring lines a removal took away.
    for phase in (("remove", "remove_items"), ("set", "append")):
        if not any(edit.op in phase for fixed in planned for edit in fixed.edits):
            continue
        try:
            # The first parse serves as long as no earlier phase has changed the text.
            text, parsed = _apply_phase(source, text, planned, phase, parsed if text is source.text else None,
                                        result.phases), None
        except Refused as refusal:
            result.errors.append(Problem(source.name, None, None, f"cannot fix: {refusal}; left unchanged"))
            return result
    problem = _verify(source, text, result, effective, kinds)
    if problem:
        result.errors.append(problem)
        for fixed in result.objects:
            fixed.after = None  # the verdicts of text that is not written
            fixed.refused = fixed.refused or LEFT_UNCHANGED
        return result
    result.new_text = text
    return result


def _objects(source: Source, found: _Errors):
    for document in documents(source):
        found.documents = (document.index if isinstance(document, Document) else document.document) + 1
        if isinstance(document, Problem):
            found.errors.append(document)
            continue
        for item, node in objects_in(document, found):
            yield document, item, node


def _apply_phase(source: Source, text: str, planned: list, ops: tuple, nodes=None, record=None) -> str:
    if nodes is None:
        current = Source(source.name, source.path, text, source.bom)
        found = _Errors()
        nodes = {(document.index, item): (document, node) for document, item, node in _objects(current, found)}
        if found.errors:
            raise Refused(f"the partly fixed text does not parse ({found.errors[0].message})")
    splices = []
    for fixed in planned:
        if not fixed.edits:
            continue
        document, node = nodes[(fixed.document, fixed.item)]
        patcher = Patcher(text, node, detect_style(text, document.root), shared_nodes(document.root, text))
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
    if record is not None:
        record.append(splices)
    return apply_splices(text, splices)


def _verify(source: Source, new_text: str, result: SourceFix, version, kinds: WorkloadKinds) -> Optional[Problem]:
    """Parse and evaluate the fixed text: the fix must give a readable file, and the verdicts
    reported are those of what is written."""
    fixed_source = Source(source.name, source.path, new_text, source.bom)
    verdicts = []
    found = _Errors()
    for document in documents(fixed_source):
        if isinstance(document, Problem):
            return Problem(source.name, document.line, document.column,
                           f"internal error: the fixed text would not parse ({document.message}); left unchanged")
        for _, node in objects_in(document, found):
            try:
                workload = workload_from_node(node, kinds=kinds)
            except PruneError as error:
                return Problem(source.name, None, None, f"internal error: the fixed object is invalid "
                                                        f"({error.message}); left unchanged")
            if not isinstance(workload, Skipped):
                verdicts.append(evaluate(workload.pod_meta, workload.pod_spec, version, workload.prefix))
    if len(verdicts) != len(result.objects) or found.errors:
        return Problem(source.name, None, None, "internal error: fixing changed the objects; left unchanged")
    for fixed, verdict in zip(result.objects, verdicts):
        if verdict.highest < fixed.before.highest or \
                {v.check for v in verdict.violations} - {v.check for v in fixed.before.violations}:
            return Problem(source.name, fixed.line, fixed.column, "internal error: fixing would make "
                           f"{fixed.kind}/{fixed.name} worse; left unchanged")
        fixed.after = verdict
    return None


def remaining(fixed: ObjectFix, level: Level) -> list:
    """Violations at `level` or below that the fixed text still has, exemptions aside."""
    verdict = fixed.after or fixed.before
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


def never_fix_message(check_id: str) -> str:
    """The advice of a check that `fix` leaves to a human."""
    check = BY_ID[check_id]
    if check.fix_safety != Safety.NEVER:
        return "no automatic fix applies here"
    return " ".join(check.fix_text.split())


def _fix_part(bounds: tuple):
    source, level, version, unsafe, config, kinds = parallel.shared()
    result = fix_source(part_source(source, *bounds), level, version, unsafe, config, kinds=kinds)
    for fixed in result.objects:
        fixed.workload.node = fixed.workload.located = None  # nodes do not cross processes
    line = bounds[2]  # the part's leading newlines come off again
    new_text = None if result.new_text is None else result.new_text[line:]
    return new_text, result.objects, result.errors, result.documents


def fix_source_parallel(source: Source, level: Level, version: PolicyVersion, unsafe: bool, config=None,
                        jobs: int = 1, kinds: WorkloadKinds = DEFAULT_KINDS) -> SourceFix:
    """fix_source over a big source cut at `---` lines into one part per process; the parts'
    texts, objects and errors are joined in order, and nothing is written unless every part
    could be fixed."""
    parts = parallel.split_for_workers(source.text, jobs)
    if len(parts) < 2:
        return fix_source(source, level, version, unsafe, config, kinds=kinds)
    pieces = parallel.map_parts(_fix_part, parts, (source, level, version, unsafe, config, kinds))
    result, texts, offset = SourceFix(source), [], 0
    for new_text, objects, errors, count in pieces:
        for fixed in objects:
            fixed.document += offset
        result.objects.extend(objects)
        result.errors.extend(replace(e, document=None if e.document is None else e.document + offset)
                             for e in errors)
        texts.append(new_text)
        offset += count
    result.documents = offset
    if not result.errors and all(text is not None for text in texts):
        result.new_text = "".join(texts)
    else:  # as fix_source reports a file it leaves unchanged, whichever part failed
        reason = UNREADABLE if any(fixed.refused == UNREADABLE for fixed in result.objects) else LEFT_UNCHANGED
        for fixed in result.objects:
            fixed.after = None
            fixed.refused = fixed.refused or reason
    return result
