"""The use cases behind the commands: they run the core and return the model (`model.py`).

They hold what the commands decide beyond the policy itself: exemptions, baselines and the
gate. They never print; `cli.py` picks a renderer from `reports/` and the exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from kubectl_podsec.cluster import Kubectl
from kubectl_podsec.errors import UsageError
from kubectl_podsec.evaluate import GATED_LEVELS
from kubectl_podsec.levels import Level
from kubectl_podsec.model import (
    AuditResult,
    BaselineStatus,
    CompareResult,
    Finding,
    FixedObject,
    FixResult,
    InputError,
    Location,
    NamespacesResult,
    ObjectVerdict,
    PlanResult,
    RunResult,
    SkippedItem,
    SourceNote,
    SourceText,
    Unfixed,
)
from kubectl_podsec.paths import format_path
from kubectl_podsec.suppress import effective_highest

T = TypeVar("T")

if TYPE_CHECKING:
    from kubectl_podsec.config import Config
    from kubectl_podsec.levels import PolicyVersion


def check_result(report, gate: Level, baseline: BaselineStatus | None = None, said: tuple = ()) -> RunResult:
    """A scan's Report (with its suppressions applied) as the RunResult the renderers read."""
    return RunResult(
        policy_version=str(report.policy_version), gate=gate,
        objects=tuple(object_verdict(result) for result in report.objects),
        skipped=tuple(SkippedItem(s.source, s.document, s.item, s.skipped.api_version, s.skipped.kind,
                                  s.skipped.namespace or "", s.skipped.name) for s in report.skipped),
        errors=tuple(input_error(problem) for problem in report.errors),
        baseline=baseline, said=said)


def object_verdict(result) -> ObjectVerdict:
    workload, verdict = result.workload, result.verdict
    findings = []
    for violation, positions in zip(verdict.violations, result.positions):
        locations = tuple(Location(format_path(found), line, column, format_path(path))
                          for path, (found, line, column) in zip(violation.paths, positions))
        findings.append(Finding(violation.level, violation.check, violation.reason, violation.detail, locations,
                                result.suppressed.get(violation.check)))
    return ObjectVerdict(
        result.source, result.document, result.item, result.line, result.column,
        workload.api_version, workload.kind, workload.namespace or "", workload.name,
        verdict.highest, tuple((level, verdict.passes[level]) for level in GATED_LEVELS),
        effective_highest(result), tuple(findings), result.template, result.live)


def input_error(problem) -> InputError:
    return InputError(problem.source, problem.document, problem.line, problem.column, problem.message)


def fix_result(results: list, gate: Level, version, problems=(), notices=(), texts=(), filtered=b"") -> FixResult:
    """What `fix` did to each source (fix.SourceFix), as the FixResult the renderers read;
    `problems` and `notices` are about inputs that were never fixed (read first)."""
    from kubectl_podsec.fix import compact

    objects, templates = [], []
    for result in results:
        compact(result, gate)
        if result.changed_templates:
            templates.append(SourceNote(result.source.name, templates=tuple(result.changed_templates)))
        name, fixed, unwritten = result.source.name, result.fixed, result.unwritten
        for record in result.records:
            if unwritten is None:
                after = record.before if record.after is None else record.after
                remaining = record.remaining
            else:  # what is on disk is what was read: report that
                why = f"not changed: {record.refused or unwritten}"
                after = record.before
                remaining = tuple(Unfixed(level, check, reason, detail, why)
                                  for level, check, reason, detail in record.unfixed_before)
            objects.append(FixedObject(
                name, record.document, record.item, record.line, record.column, record.kind,
                record.namespace or "", record.name, record.before, after, result.written,
                result.write_error, record.template, record.changes if fixed else (), remaining))
        result.records = []  # held once: now as the objects of the report
    errors = [input_error(p) for p in problems] + [input_error(e) for r in results for e in r.errors]
    notes = [SourceNote(n.source, n.message) for n in notices]
    notes += templates
    return FixResult(str(version), gate, tuple(objects), tuple(errors), tuple(notes),
                     any(r.changed for r in results), tuple(texts), filtered)


# --- check ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOptions:
    """What `check` (and `plan` and `check --compare-versions`) read and how they judge it."""

    level: Level
    policy_version: PolicyVersion
    specs: tuple = ()  # files, directories, - for stdin
    resources: tuple = ()  # TYPE[/NAME] in the cluster
    kustomize: tuple = ()  # directories to render
    recursive: bool = False
    stdin_name: str = "-"
    stdin_is_terminal: bool = False
    config: Config | None = None
    baseline: str | None = None
    write_baseline: str | None = None
    kubectl: Kubectl = Kubectl()  # reads the cluster and renders kustomizations
    admission_config: str | None = None
    jobs: int = 1


def refuse_terminal_stdin(specs, stdin_is_terminal: bool, command: str = "check") -> None:
    if "-" in specs and stdin_is_terminal:
        raise UsageError("refusing to read manifests from a terminal: pipe them in "
                         f"(cat app.yaml | kubectl podsec {command} -f -) or name a file with -f")


def read_workloads(options: CheckOptions):
    """Read and judge every input: files, a kustomization's rendering, or the cluster. The
    scan.Report; kubectl's warnings are in its `warnings`."""
    from kubectl_podsec.scan import Report, scan, scan_source
    from kubectl_podsec.sources import Problem, Source
    from kubectl_podsec.workloads import kinds_for

    kinds = kinds_for(options.config)
    if options.kustomize:
        from kubectl_podsec.cluster import ClusterError, render_kustomize

        if options.specs or options.resources:
            raise UsageError("-k renders kustomizations; do not also give files or resources")
        report = Report(options.policy_version)
        for directory in options.kustomize:
            try:
                text = render_kustomize(options.kubectl.binary, directory)
            except ClusterError as error:
                report.errors.append(Problem(directory, None, None, str(error)))
                continue
            scan_source(Source(f"kustomize:{directory}", None, text), options.policy_version, report, kinds)
        return report
    if options.specs:
        refuse_terminal_stdin(options.specs, options.stdin_is_terminal)
        return scan(list(options.specs), options.policy_version, recursive=options.recursive,
                    stdin_name=options.stdin_name, jobs=options.jobs, kinds=kinds)
    from kubectl_podsec.live import scan_cluster

    return scan_cluster(options.kubectl, list(options.resources), options.policy_version,
                        admission=load_admission(options.admission_config), kinds=kinds)


def load_admission(path: str | None):
    if not path:
        return None
    from kubectl_podsec.admission import AdmissionConfigError, load_admission_config

    try:
        return load_admission_config(path)
    except AdmissionConfigError as error:
        raise UsageError(str(error)) from None


def checked_report(options: CheckOptions) -> tuple:
    """(scan.Report with the exemptions applied, the baseline's entries or None, the stderr
    lines so far)."""
    from kubectl_podsec.suppress import apply_exemptions, load_baseline

    baseline = None
    if options.baseline:
        try:
            baseline = load_baseline(options.baseline)
        except ValueError as error:
            raise UsageError(str(error)) from None
    report = read_workloads(options)
    said = list(report.warnings)
    apply_exemptions(report.objects, options.config)
    return report, baseline, said


def run_check(options: CheckOptions) -> RunResult:
    """`check`: every object's verdict against the gate, with exemptions and the baseline
    (which it writes first with --write-baseline) applied."""
    from kubectl_podsec.suppress import BASELINE_FIELDS, apply_baseline, load_baseline, write_baseline

    report, baseline, said = checked_report(options)
    stale = apply_baseline(report.objects, baseline) if baseline is not None else None
    if options.write_baseline and not report.errors:
        error = write_baseline(options.write_baseline, report.objects)
        if error:
            raise UsageError(f"{options.write_baseline}: cannot write the baseline: {error}", said)
        apply_baseline(report.objects, load_baseline(options.write_baseline))
        said.append(f"wrote {options.write_baseline}")
    status = None
    if stale is not None and options.baseline:  # stale is the baseline's, so it was given
        status = BaselineStatus(options.baseline, tuple(tuple(zip(BASELINE_FIELDS, key)) for key in stale))
        if stale:
            said.append(f"{options.baseline}: {len(stale)} baseline entries no longer occur; "
                        "rewrite it with --write-baseline to shrink it")
    said += [f"note: {note}" for note in report.notes]
    return check_result(report, options.level, status, tuple(said))


class CheckStream:
    """`check` on files, object by object, for a report written as it goes: `entries(reduce)`
    yields what `reduce` makes of each object's verdict (exemptions applied) as its part of
    the input is read; once it is exhausted, `result()` is the run without its objects
    (skipped, errors, notes) and `failing` counts the objects below the gate. Holds a few
    parts at a time, not the whole report. For files without a baseline (streamable(options))."""

    def __init__(self, options: CheckOptions):
        refuse_terminal_stdin(options.specs, options.stdin_is_terminal)
        self.options = options
        self.head = RunResult(str(options.policy_version), options.level)
        self.failing = 0
        self._skipped: list = []  # scan.Skipped
        self._errors: list = []  # sources.Problem
        self._notes: list = []  # sources.Notice

    def entries(self, reduce: Callable[[ObjectVerdict], T]) -> Iterator[tuple[T, int]]:
        """(reduce(verdict), document offset) for every object, in order. `reduce` runs where
        the object was judged (a worker, for a big input), so only what it returns comes back
        to this process: the report's text, say. The verdict's document is counted from the
        start of its part; the offset is how many documents of its source come before that."""
        from kubectl_podsec.scan import scan_parts
        from kubectl_podsec.workloads import kinds_for

        options = self.options
        for part in scan_parts(list(options.specs), options.policy_version, recursive=options.recursive,
                               stdin_name=options.stdin_name, jobs=options.jobs, kinds=kinds_for(options.config),
                               keep=_keeper(options, reduce)):
            self._skipped += part.skipped
            self._errors += part.errors
            self._notes += part.notes
            for kept, fails in part.objects:
                self.failing += fails
                yield kept, part.document_offset

    def objects(self) -> Iterator[ObjectVerdict]:
        """Every object's verdict, in order (entries, reduced to nothing)."""
        for verdict, offset in self.entries(_same):
            if offset and verdict.document is not None:
                verdict = verdict._replace(document=verdict.document + offset)
            yield verdict

    def result(self) -> RunResult:
        from kubectl_podsec.scan import Report

        report = Report(self.options.policy_version, [], self._skipped, self._errors, self._notes)
        return check_result(report, self.options.level, said=tuple(f"note: {note}" for note in self._notes))


def _keeper(options: CheckOptions, reduce: Callable[[ObjectVerdict], T]) -> Callable[[object], tuple]:
    """What a streamed check keeps of each judged object (scan's ObjectResult), wherever it
    was judged: (reduce(its verdict, exemptions applied), whether it fails the gate)."""
    from kubectl_podsec.suppress import apply_exemptions

    gate = RunResult(str(options.policy_version), options.level)

    def keep(result) -> tuple:
        apply_exemptions([result], options.config)
        verdict = object_verdict(result)
        return reduce(verdict), gate.fails(verdict)

    return keep


def _same(verdict: ObjectVerdict) -> ObjectVerdict:
    return verdict


def streamable(options: CheckOptions) -> bool:
    """Whether `check` may report object by object: files, without a baseline to read or write."""
    return bool(options.specs) and not options.kustomize and not options.resources and \
        not options.baseline and not options.write_baseline


@dataclass(frozen=True)
class LiveCheck:
    """`check` on the cluster with its objects reduced as they are judged (run_check_live)."""

    run: RunResult  # without its objects
    entries: tuple  # (reduce(verdict), pods) in the report's order
    failing: int  # how many of them are below the gate


def run_check_live(options: CheckOptions, reduce) -> LiveCheck:
    """run_check on the cluster, holding each object only as `reduce(verdict)` makes it: its
    verdict, exemptions applied, is complete but for its pod count (live.pods), which is
    known once every pod is read and comes beside it. For live_streamable(options)."""
    from kubectl_podsec.live import scan_cluster
    from kubectl_podsec.workloads import kinds_for

    report = scan_cluster(options.kubectl, list(options.resources), options.policy_version,
                          admission=load_admission(options.admission_config), kinds=kinds_for(options.config),
                          keep=_keeper(options, reduce))
    entries = tuple((kept, pods) for (kept, _), pods in report.objects)
    failing = sum(1 for (_, fails), _ in report.objects if fails)
    report.objects = []
    said = list(report.warnings) + [f"note: {note}" for note in report.notes]
    return LiveCheck(check_result(report, options.level, said=tuple(said)), entries, failing)


def live_streamable(options: CheckOptions) -> bool:
    """Whether `check` on the cluster may hold its objects reduced: without a baseline."""
    return not options.specs and not options.kustomize and not options.baseline and not options.write_baseline


def run_compare(options: CheckOptions, pair: str) -> CompareResult:
    """`check --compare-versions FROM,TO`: the workloads whose verdict differs between the two
    versions of `pair`, with exemptions applied; on a live cluster `latest` is its own minor."""
    from kubectl_podsec import compare
    from kubectl_podsec.checks import NEWEST_VERSION
    from kubectl_podsec.levels import PolicyVersion

    report, _, said = checked_report(options)
    try:
        old, new = compare.parse_pair(pair)
    except ValueError as error:
        raise UsageError(str(error), said) from None
    cap = report.policy_version.cap
    old, new = PolicyVersion(old.requested, cap), PolicyVersion(new.requested, cap)
    old_at, new_at = old.resolve(NEWEST_VERSION), new.resolve(NEWEST_VERSION)
    return CompareResult(str(old), str(old_at), str(new), str(new_at), len(report.objects),
                         compare.changes(report.objects, old_at, new_at),
                         tuple(input_error(problem) for problem in report.errors), tuple(said))


# --- plan ----------------------------------------------------------------------------------------


def run_plan(options: CheckOptions, names: tuple = ()) -> PlanResult:
    """`plan`: the way to enforce options.level in each namespace, from manifests (-f, -k;
    `names` filter their metadata.namespace) or from the cluster (the namespaces `names`, or
    all), with exemptions applied; pinned to the server's minor, or the newest known."""
    from kubectl_podsec import plan
    from kubectl_podsec.checks import NEWEST_VERSION
    from kubectl_podsec.suppress import apply_exemptions

    labels: dict | None = None
    wanted = list(names)
    if options.specs or options.kustomize:
        report = read_workloads(options)
        if wanted:
            report.objects = [r for r in report.objects if (r.workload.namespace or "") in wanted]
    else:
        from kubectl_podsec.live import plan_inputs
        from kubectl_podsec.workloads import kinds_for

        report, labels = plan_inputs(options.kubectl, wanted, options.policy_version,
                                     load_admission(options.admission_config), kinds_for(options.config))
    apply_exemptions(report.objects, options.config)
    pin = report.policy_version.resolve(NEWEST_VERSION)
    live = labels is not None
    namespaces = plan.namespace_plans(report.objects, labels, options.level, pin, live,
                                      sorted(labels) if labels is not None else wanted)
    return PlanResult(options.level, str(pin), live, namespaces,
                      tuple(input_error(problem) for problem in report.errors), tuple(report.warnings))


# --- audit ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditOptions:
    files: tuple  # audit logs, - for stdin
    group_by: str = "workload"
    kubectl: object = None  # cluster.Kubectl for --resolve, or None
    stdin: object = None  # the binary stream - reads
    stdin_is_terminal: bool = False
    jobs: int = 1


def run_audit(options: AuditOptions) -> AuditResult:
    """`audit`: the logs' Pod Security findings grouped; owners the log does not give are
    asked of the cluster when options.kubectl is given."""
    from kubectl_podsec import audit

    if "-" in options.files and options.stdin_is_terminal:
        raise UsageError("refusing to read an audit log from a terminal: pipe it in (zcat audit.log.gz | "
                         "kubectl podsec audit -) or name the files")
    log = audit.read_logs(list(options.files), options.stdin, options.jobs)
    unresolved = audit.resolve_owners(log, options.kubectl) if options.kubectl is not None else []
    return AuditResult(tuple(options.files), log.events, log.findings, options.group_by,
                       tuple(audit.groups(log, options.group_by)),
                       tuple(input_error(problem) for problem in log.problems), tuple(unresolved))


# --- fix -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixOptions:
    level: Level
    policy_version: PolicyVersion
    specs: tuple
    recursive: bool = False
    stdin_name: str = "-"
    stdin: bytes | None = None  # what was read from stdin, when a spec is -
    unsafe: bool = False
    dry_run: bool = False
    config: object = None
    jobs: int = 1
    # The dry run's diff is wanted (not -o json): its lines are found where the fix runs.
    diff: bool = False


def run_fix(options: FixOptions) -> FixResult:  # noqa: C901 - one loop over sources: small files batched, big ones in parts
    """`fix` on files: compute each source's fixed text once; then write it (atomically), or
    keep it for the diff (--dry-run) or the filter's output (stdin)."""
    import io

    from kubectl_podsec import fix, parallel, writes
    from kubectl_podsec.scan import small_file
    from kubectl_podsec.sources import Notice, Problem, Source, find_sources, load
    from kubectl_podsec.workloads import kinds_for

    kinds = kinds_for(options.config)
    results: list[fix.SourceFix] = []
    problems: list[Problem] = []
    notices: list[Notice] = []
    small, weights = [], []  # as scan_parts: small regular files are read in batches by the workers
    diff = options.dry_run and options.diff
    shared = (options.level, options.policy_version, options.unsafe, options.config, kinds, options.dry_run, diff)

    def take(found) -> None:
        (notices if isinstance(found, Notice) else problems if isinstance(found, Problem) else results).append(found)

    for source in find_sources(list(options.specs), options.recursive):
        size = small_file(source)
        if size is not None or not isinstance(source, Source):
            small.append(source)
            weights.append(size or 0)
            continue
        for found in parallel.imap_batched(fix.fix_file, small, weights, shared, options.jobs):
            take(found)
        small, weights = [], []
        if source.path is None:
            source.name = options.stdin_name
        stdin = None if source.path is not None else io.BytesIO(options.stdin or b"")
        # A dry run writes nothing: no identity to check before writing (a hash of the file).
        problem = load(source, stdin, identify=not options.dry_run)
        if problem:
            problems.append(problem)
            continue
        if options.dry_run or source.path is None:  # the texts are wanted whole
            results.append(fix.fix_source_parallel(source, options.level, options.policy_version, options.unsafe,
                                                   options.config, options.jobs, kinds, diff=diff))
            continue
        # A big file in place: its new text goes to the temporary file as its parts are fixed.
        with writes.AtomicWriter(source.path, source.identity, source.encoding, source.bom) as writer:
            result = fix.fix_source_parallel(source, options.level, options.policy_version, options.unsafe,
                                             options.config, options.jobs, kinds, sink=writer)
            results.append(result)
            if result.changed:
                if result.streamed is None and result.new_text is not None:
                    writer.write(result.new_text)
                failure = writer.commit()
                result.written = failure is None
                if failure:
                    result.not_written(failure)
        if result.streamed is not None:
            source.text = ""  # the report needs the records only, not a big text
    for found in parallel.imap_batched(fix.fix_file, small, weights, shared, options.jobs):
        take(found)
    texts, filtered = [], []
    for result in results:
        source = result.source
        if result.written or result.write_error:  # written already, part by part
            if result.write_error:
                problems.append(Problem(source.name, None, None, result.write_error))
            continue
        new_text = result.new_text if result.new_text is not None else source.text
        if options.dry_run:
            # The diff must match a UTF-8 file's bytes; a UTF-16 or UTF-32 file's diff is
            # printed as UTF-8 text all the same (it is for people to read).
            bom = "\ufeff" if source.bom and source.encoding == "utf-8" else ""
            # The opcodes were found without the BOM, which can change what lines match.
            texts.append(SourceText(source.name, bom + source.text, bom + new_text, None if bom else result.opcodes,
                                    None if bom else result.bodies))
        elif source.path is None:
            try:
                filtered.append(source.encode(new_text))
            except UnicodeError as error:
                result.errors.append(Problem(source.name, None, None, f"cannot write: {error}; input left unchanged"))
        elif result.changed:
            failure = writes.write_atomically(source.path, source.encode(new_text), expected=source.identity)
            if failure:
                result.not_written(failure)
                problems.append(Problem(source.name, None, None, failure))
            else:
                result.written = True
    return fix_result(results, options.level, options.policy_version, problems, notices, texts, b"".join(filtered))


@dataclass(frozen=True)
class LiveFix:
    """`fix TYPE/NAME`: the fix of one live object, or why there is none."""

    errors: tuple = ()  # messages: kubectl's, the object's, or the refusal to print a change
    result: FixResult | None = None  # its texts hold the object as read and as fixed
    manifest: dict | None = None  # the object as read, server-set fields stripped
    note: str | None = None  # a Pod or Job must be recreated to take the fix


# The API server rejects changes to a Pod's security settings (pod specs are immutable but for
# a few fields) and to a Job's pod template: a fix of them can only be applied by recreating.
IMMUTABLE_TEMPLATES = {"Pod": "a pod's spec cannot be changed once it is created",
                       "Job": "a Job's pod template cannot be changed once it is created"}


def run_fix_live(kubectl, resource: str, level: Level, version, unsafe: bool, load_config,
                 printing_manifest: bool) -> LiveFix:
    """Read the object, fix its text as a file would be fixed; `load_config()` gives the
    .podsec.yaml in force. With `printing_manifest` (-o yaml) a Pod or Job's fix may be shown,
    since it is to be recreated, not applied."""
    import yaml

    from kubectl_podsec import fix
    from kubectl_podsec.cluster import ClusterError, strip_server_fields
    from kubectl_podsec.sources import Source
    from kubectl_podsec.workloads import kinds_for

    try:
        if version.requested is None:
            version = version.clamp(kubectl.server_minor())
        items, errors, _ = kubectl.get([resource])
    except ClusterError as error:
        return LiveFix((str(error),))
    if errors or len(items) != 1:
        return LiveFix(tuple(errors))
    manifest = strip_server_fields(items[0])
    text = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)
    config = load_config()
    result = fix.fix_source(Source(resource, None, text), level, version, unsafe, config, kinds=kinds_for(config))
    if result.errors or result.new_text is None:
        return LiveFix(tuple(str(problem) for problem in result.errors))
    refusal = _live_fix_refusal(kubectl, items[0], printing_manifest) if result.changed else None
    if refusal:
        return LiveFix((refusal,))
    note = _recreate_note(manifest) if result.changed and manifest.get("kind") in IMMUTABLE_TEMPLATES else None
    return LiveFix((), fix_result([result], level, version, texts=(SourceText(resource, text, result.new_text),)),
                   manifest, note)


def _recreate_note(obj: dict) -> str:
    kind: str = obj["kind"]  # one of IMMUTABLE_TEMPLATES
    meta = obj.get("metadata") or {}
    return (f"{kind}/{meta.get('name')}: {IMMUTABLE_TEMPLATES[kind]}, so the API server would reject the "
            f"change; delete it and create it again from the fixed manifest that "
            f"`kubectl podsec fix {kind.lower()}/{meta.get('name')} -n {meta.get('namespace')} -o yaml` prints")


def _live_fix_refusal(kubectl, obj: dict, printing_manifest: bool) -> str | None:
    """Why a fix of this live object must not be printed as a change to apply, or None: its
    controller would undo the change (fix the controller), or the server rejects it."""
    from kubectl_podsec.cluster import managing_owner

    kind, meta = obj.get("kind"), obj.get("metadata") or {}
    owner = managing_owner(kubectl, obj)
    if owner is not None:
        target = f"{owner[0].lower()}/{owner[1]}"
        return (f"{kind}/{meta.get('name')} is managed by {owner[0]}/{owner[1]}, which would undo a change to it; "
                f"fix that instead: kubectl podsec fix {target} -n {meta.get('namespace')}")
    if kind in IMMUTABLE_TEMPLATES and not printing_manifest:
        return _recreate_note(obj)
    return None


# --- namespaces ----------------------------------------------------------------------------------


def run_namespaces(kubectl, names: list, version, admission_config: str | None = None,
                   config=None) -> NamespacesResult:
    """`namespaces`: each namespace's labels against what runs in it (the workloads include
    the .podsec.yaml's custom pod templates)."""
    from kubectl_podsec.live import namespace_summaries
    from kubectl_podsec.workloads import kinds_for

    summaries, problems, warnings = namespace_summaries(kubectl, names, version, load_admission(admission_config),
                                                        kinds_for(config))
    return NamespacesResult(tuple(summaries), tuple(input_error(p) for p in problems), tuple(warnings))
