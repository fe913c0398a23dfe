"""What a run found, as small frozen values: the one thing the renderers in `reports/` read.

The core (scan, fix, live) produces these through the use cases (`usecases.py`); the
renderers turn them into text, JSON, SARIF, JUnit or workflow commands and call nothing
back. Levels stay `Level` values here; only a renderer turns them into words.

The values a report holds by the ten thousand (Location, Finding, ObjectVerdict,
FixedObject, Change, Unfixed) are NamedTuples: as immutable and typed as the frozen
dataclasses, built two to eight times as fast and unpickled (from fix's worker processes)
twice as fast, which keeps a big stream's report as fast as before the model existed.
Change one with `._replace(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from kubectl_podsec.levels import Level
from kubectl_podsec.paths import file_location


class Location(NamedTuple):
    """Where a finding is: `path` is the deepest part of the field that the document has (so
    that it and line:column agree), `field` the field itself, which may be missing."""

    path: str | None
    line: int | None
    column: int | None
    field: str | None


NOWHERE = Location(None, None, None, None)


@dataclass(frozen=True)
class Suppression:
    by: str  # "exemption", "baseline" or "admission"
    reason: str


class Finding(NamedTuple):
    level: Level  # the lowest level whose check set reports it
    check: str
    reason: str
    detail: str
    locations: tuple = ()  # Location, one per offending field
    suppressed: Suppression | None = None

    @property
    def first(self) -> Location:
        return self.locations[0] if self.locations else NOWHERE


@dataclass(frozen=True)
class ModeVerdict:
    """How a namespace's pod-security label for one mode (enforce, audit, warn) judges a
    live object."""

    level: Level
    version: str
    passes: bool
    violations: tuple = ()  # check ids


@dataclass(frozen=True)
class Owner:
    kind: str | None
    name: str | None


@dataclass(frozen=True)
class LiveFacts:
    """What only a live object has: its controller, how many pods it stands for, and the
    namespace's verdicts per mode (enforce always when the labels are known, audit and warn
    when set)."""

    owner: Owner | None = None
    pods: int = 0
    modes: tuple = ()  # (mode, ModeVerdict or None)

    def mode(self, name: str) -> ModeVerdict | None:
        return dict(self.modes).get(name)


class ObjectVerdict(NamedTuple):
    source: str
    document: int | None
    item: int | None
    line: int | None
    column: int | None
    api_version: str
    kind: str
    namespace: str
    name: str
    highest: Level
    passes: tuple  # (Level, bool) for baseline and restricted
    effective_highest: Level  # once suppressed findings no longer count
    findings: tuple = ()
    template: str | None = None  # the helm chart template it was rendered from
    live: LiveFacts | None = None


@dataclass(frozen=True)
class SkippedItem:
    """An object that carries no pod template: read, nothing to judge."""

    source: str
    document: int | None
    item: int | None
    api_version: str
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class InputError:
    source: str
    document: int | None
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        return f"{file_location(self.source, self.line, self.column)}: {self.message}"


@dataclass(frozen=True)
class BaselineStatus:
    file: str
    stale: tuple = ()  # dicts of the baseline fields, for entries that no longer occur


class Judged(Protocol):
    """What the gate reads of an object: an ObjectVerdict, or a renderer's brief of one."""

    @property
    def effective_highest(self) -> Level: ...


@dataclass(frozen=True)
class RunResult:
    """`check`: every object's verdict against the gate level."""

    policy_version: str
    gate: Level
    objects: tuple = ()
    skipped: tuple = ()
    errors: tuple = ()
    baseline: BaselineStatus | None = None
    said: tuple = ()  # lines for stderr before the errors: kubectl's warnings, notes

    def fails(self, obj: Judged) -> bool:
        """The gate, in one place: an object fails when, suppressions aside, it does not
        pass the gate level."""
        return obj.effective_highest < self.gate

    @property
    def failing(self) -> tuple:
        return tuple(obj for obj in self.objects if self.fails(obj))

    def gated(self, obj: ObjectVerdict) -> tuple:
        """The findings at the gate level or below, suppressed ones included: those the CI
        formats report."""
        return tuple(f for f in obj.findings if f.level <= self.gate)


# --- fix -----------------------------------------------------------------------------------------


class Change(NamedTuple):
    """One edit `fix` made (or would make) to an object."""

    check: str
    op: str  # "set", "remove", "append" or "remove_items"
    path: str  # within the object
    old: object
    new: object
    safe: bool
    risk: str  # what the change can break at run time (the check's fix_risk)


class Unfixed(NamedTuple):
    """A violation that remains at the gate level or below, and why."""

    level: Level
    check: str
    reason: str
    detail: str
    why: str


class FixedObject(NamedTuple):
    source: str
    document: int | None
    item: int | None
    line: int | None
    column: int | None
    kind: str
    namespace: str
    name: str
    before: Level
    after: Level
    written: bool
    write_error: str | None = None
    template: str | None = None
    changes: tuple = ()  # Change
    remaining: tuple = ()  # Unfixed


@dataclass(frozen=True)
class SourceNote:
    source: str
    message: str = ""  # a notice (a file skipped); empty for a rendered-templates note
    templates: tuple = ()  # the chart templates that rendered changed objects


@dataclass(frozen=True)
class SourceText:
    """A source's text before and after the fix, for the --dry-run diff."""

    name: str
    before: str
    after: str
    opcodes: list | None = None  # diffs.opcodes(before, after) when the fix found them
    bodies: dict | None = None  # diffs.hunk_bodies of its parts, when they were fixed in parts


@dataclass(frozen=True)
class FixResult:
    """`fix`: per object, what changed and what still needs a human."""

    policy_version: str
    gate: Level
    objects: tuple = ()
    errors: tuple = ()  # InputError
    notes: tuple = ()  # SourceNote
    changed: bool = False  # some source's text changed (written, or would be)
    texts: tuple[SourceText, ...] = ()  # with --dry-run
    filtered: bytes = b""  # the filter's output (fix -f -): the fixed stdin, encoded

    @property
    def unfixed(self) -> bool:
        """Something at the gate level or below remains."""
        return any(obj.remaining for obj in self.objects)

    @property
    def failing(self) -> bool:
        """A source changed (or would), or something remains for a human."""
        return self.changed or self.unfixed


# --- namespaces ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Downgrade:
    """A namespace whose workloads do not all pass its enforce level: the level they pass."""

    from_level: Level
    from_version: str
    to: Level
    blocking: tuple  # "Kind/name" of the workloads that fail the current level


@dataclass(frozen=True)
class PinUpgrade:
    """What moving an older enforce-version pin to the server's own version would break."""

    from_version: str
    to: object  # Version
    breaks: tuple  # {"kind", "name", "checks"} per workload that would be refused


@dataclass(frozen=True)
class NamespaceSummary:
    name: str
    labels: tuple  # (mode, "level:version" or None) for enforce, audit and warn
    highest: Level
    failing: tuple  # (Level, how many workloads fail it) for baseline and restricted
    workloads: int
    drift: bool  # the enforce label would deny some workload's pods
    suggest: Level | None = None  # an enforce level every workload passes, above today's
    downgrade: Downgrade | None = None
    unread: str | None = None  # why the workloads could not all be read: no suggestion
    pin_upgrade: PinUpgrade | None = None
    selector: str | None = None  # judged only on the workloads -l selected


@dataclass(frozen=True)
class NamespacesResult:
    """`namespaces`: each namespace's summary, what could not be read, kubectl's warnings."""

    summaries: tuple[NamespaceSummary, ...] = ()
    errors: tuple = ()  # InputError
    warnings: tuple = ()  # kubectl's `Warning:` lines

    @property
    def drift(self) -> bool:
        return any(summary.drift for summary in self.summaries)

    @property
    def failing(self) -> bool:
        """The exit decision: some namespace's enforce label would deny a workload's pods."""
        return self.drift


# --- check --compare-versions --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckDifference:
    """A check that fails at only one of the two versions, at the lowest level where it differs."""

    check: str
    level: Level
    fails: bool  # fails at the newer version (else: passes there)
    detail: str  # from the version where it fails


@dataclass(frozen=True)
class VersionChange:
    """A workload whose highest passing level differs between the two versions."""

    source: str
    line: int | None
    kind: str
    namespace: str
    name: str
    before: Level
    after: Level
    checks: tuple = ()  # CheckDifference


@dataclass(frozen=True)
class CompareResult:
    """`check --compare-versions FROM,TO`: each version as asked and as resolved."""

    old: str
    old_resolved: str
    new: str
    new_resolved: str
    workloads: int
    changed: tuple = ()  # VersionChange
    errors: tuple = ()  # InputError
    said: tuple = ()  # lines for stderr before the errors: kubectl's warnings

    @property
    def failing(self) -> bool:
        return bool(self.changed)


# --- plan ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixCommands:
    """The commands that apply a blocker's fixes, or why there are none."""

    safe: str | None = None
    unsafe: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class HumanDecision:
    check: str
    why: str


@dataclass(frozen=True)
class Blocker:
    """A workload that fails the target level: what fails, and what fix can and cannot do."""

    kind: str
    name: str
    source: str
    line: int | None
    highest: Level  # once suppressed findings no longer count
    checks: tuple  # the check ids that fail the target
    effort: str  # "safe", "unsafe" or "human"
    safe: tuple  # descriptions of the safe edits
    unsafe: tuple  # descriptions of the unsafe edits
    human: tuple  # HumanDecision
    commands: FixCommands
    owner: Owner | None = None  # live objects only
    pods: int = 0  # live objects only


@dataclass(frozen=True)
class PlanStep:
    step: int
    title: str
    commands: tuple = ()
    items: tuple = ()


@dataclass(frozen=True)
class NamespacePlan:
    namespace: str
    labels: tuple | None  # (mode, "level:version" or None) for enforce, audit, warn; None for manifests
    effort: str  # "ready", "safe", "unsafe" or "human"
    workloads: int
    blockers: tuple = ()  # Blocker
    steps: tuple = ()  # PlanStep


@dataclass(frozen=True)
class PlanResult:
    """`plan`: per namespace, the way to enforce `level` pinned to `version`."""

    level: Level
    version: str
    live: bool  # read from the cluster (else from manifests)
    namespaces: tuple = ()  # NamespacePlan, ready ones first
    errors: tuple = ()  # InputError
    warnings: tuple = ()  # kubectl's `Warning:` lines, for stderr before the errors

    @property
    def failing(self) -> bool:
        """Some namespace is not ready for the target today."""
        return any(plan.effort != "ready" for plan in self.namespaces)


# --- audit ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckCount:
    check: str | None  # None when no check gives the reason
    reason: str
    events: int
    denied: int = 0


@dataclass(frozen=True)
class AuditGroup:
    """The findings of one object, owner or workload (as grouped) in the audit logs."""

    namespace: str
    what: str  # its kind, or the resource the request named when grouped by object
    name: str
    owner_from: str | None  # how the owner was found; None when grouped by object
    levels: tuple  # audit "level:version" as annotated
    checks: tuple  # CheckCount
    denied_by: tuple  # CheckCount of the denials (events == denied)
    enforce: tuple  # enforce "level:version" of the denials
    events: int
    denied: int
    users: tuple
    first_seen: str | None
    last_seen: str | None


@dataclass(frozen=True)
class AuditResult:
    """`audit`: the Pod Security findings of the logs, grouped."""

    files: tuple
    events: int
    events_with_findings: int
    group_by: str  # "workload", "owner" or "object"
    groups: tuple = ()  # AuditGroup
    errors: tuple = ()  # InputError: lines or files that could not be read
    unresolved: tuple = ()  # kubectl's errors with --resolve (the groups come from the log alone)

    @property
    def failing(self) -> bool:
        return bool(self.groups)
