"""What an editor needs, as plain data: findings with ranges, quick fixes as minimal text
edits, and the text behind a hover. The language server (lsp.py) only wires these to the
protocol, so this module needs neither pygls nor lsprotocol.

Positions are 0-based (line, character), characters counted in the client's encoding
("utf-16" unless it offers another, as the Language Server Protocol says).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.sources import Problem, Source

# The upstream standard, one section per level: what a finding's code links to.
STANDARD_URI = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
# A file is a manifest when it parses into Kubernetes objects, or, while it does not parse,
# when it has a top-level apiVersion or kind (YAML) or such a key anywhere (JSON).
_MANIFEST_KEY = re.compile(r'^(?:apiVersion|kind)[ \t]*:|"(?:apiVersion|kind)"[ \t]*:', re.MULTILINE)
_TRAILING = re.compile(r"[ \t]+#.*$|[ \t\r]+$")
UNSAFE_NOTE = "unsafe: may break the workload"


@dataclass(frozen=True)
class Settings:
    level: Level = Level.RESTRICTED
    version: PolicyVersion = PolicyVersion(None)
    config: str | None = None  # a .podsec.yaml to use instead of the one above the file
    debounce: float = 0.2  # seconds between the last change and the diagnostics


def parse_settings(options, base: Settings = Settings()) -> tuple:
    """(Settings, errors) from a client's `initializationOptions` or `podsec` configuration
    section: {"level": "baseline", "version": "v1.30", "config": PATH, "debounceMs": 200}.
    Bad values keep the base value and give a message."""
    if not isinstance(options, dict):
        return base, []
    if isinstance(options.get("podsec"), dict):  # the whole configuration, not its section
        options = options["podsec"]
    values: dict[str, object] = {}
    errors: list[str] = []
    for key, parse in (("level", Level.parse), ("version", PolicyVersion.parse)):
        if options.get(key) is not None:
            try:
                values[key] = parse(str(options[key]))
            except ValueError as error:
                errors.append(f"podsec setting {key}: {error}")
    if options.get("config") is not None:
        values["config"] = str(options["config"]) or None
    debounce = options.get("debounceMs")
    if debounce is not None:
        if isinstance(debounce, (int, float)) and not isinstance(debounce, bool) and debounce >= 0:
            values["debounce"] = debounce / 1000
        else:
            errors.append(f"podsec setting debounceMs: {debounce!r} is not a number of milliseconds")
    return Settings(**{**base.__dict__, **values}), errors


class ConfigCache:
    """The .podsec.yaml for a file, read again only when it changes on disk."""

    def __init__(self):
        self._loaded: dict = {}  # path -> (mtime, Config or Problem)

    def get(self, file_path: str | None, settings: Settings) -> tuple:
        """(Config or None, Problem or None)."""
        from kubectl_podsec.checks import BY_ID
        from kubectl_podsec.config import Config, ConfigError, find_config, load_config

        path = settings.config or (find_config(os.path.dirname(file_path)) if file_path else None)
        if path is None:
            return None, None
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError as error:
            return None, Problem(path, None, None, f"config: {error.strerror or error}")
        cached = self._loaded.get(path)
        if cached is None or cached[0] != mtime:
            config: Config | Problem
            try:
                config = load_config(path, BY_ID)
            except ConfigError as error:
                config = error.problem
            cached = self._loaded[path] = (mtime, config)
        if isinstance(cached[1], Problem):
            return None, cached[1]
        return cached[1], None


@dataclass
class Finding:
    range: tuple  # (start line, start character, end line, end character)
    message: str
    severity: str  # "error" or "warning"
    check: str | None = None  # None for a problem reading the file
    level: Level | None = None
    document: int | None = None
    item: int | None = None
    object: str = ""  # Kind/name
    related: list = field(default_factory=list)  # (range, message) of the violation's other fields


class Lines:
    """Line starts of a text, to turn (line, column) and offsets into positions."""

    def __init__(self, text: str, encoding: str = "utf-16"):
        self.text, self.encoding = text, encoding
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, number: int) -> str:
        start = self.starts[number]
        end = self.starts[number + 1] - 1 if number + 1 < len(self.starts) else len(self.text)
        return self.text[start:end]

    def units(self, text: str) -> int:
        if text.isascii() or self.encoding == "utf-32":
            return len(text)
        if self.encoding == "utf-8":
            return len(text.encode("utf-8"))
        return len(text.encode("utf-16-le")) // 2

    def field_range(self, line: int | None, column: int | None) -> tuple:
        """The range from a 1-based (line, column) to the end of that line's content, so that
        `privileged: true` is marked whole; the whole first line without a line."""
        number = min(max((line or 1) - 1, 0), len(self.starts) - 1)
        text = self.line(number)
        content = _TRAILING.sub("", text)
        start = min(max((column or 1) - 1, 0), len(content)) if column else len(text) - len(text.lstrip())
        end = max(len(content), start)
        if end == start:  # nothing left on the line: mark one character where there is one
            end = min(start + 1, len(text.rstrip("\r")))
        return number, self.units(text[:start]), number, self.units(text[:end])

    def position(self, offset: int) -> tuple:
        import bisect

        number = bisect.bisect_right(self.starts, offset) - 1
        return number, self.units(self.text[self.starts[number]:offset])


def is_manifest(text: str, report) -> bool:
    return bool(report.objects or report.skipped) or bool(_MANIFEST_KEY.search(text))


def _severity(level: Level) -> str:
    # A baseline finding blocks both enforced levels; a restricted one only the strictest.
    return "error" if level == Level.BASELINE else "warning"


def level_uri(level: Level | None) -> str:
    # Every check has a level; the page itself for a finding without one.
    return f"{STANDARD_URI}#{level}" if level is not None else STANDARD_URI


def diagnose(text: str, path: str | None, settings: Settings, config=None,
             encoding: str = "utf-16") -> list:
    """The findings of a buffer: one per violation at or below the level (exemptions of the
    config left out), and one per problem reading it. Not a manifest: nothing."""
    from kubectl_podsec.scan import Report, scan_source
    from kubectl_podsec.suppress import apply_exemptions
    from kubectl_podsec.workloads import kinds_for

    report = Report(settings.version)
    scan_source(Source(path or "-", None, text), settings.version, report, kinds_for(config))
    if not is_manifest(text, report):
        return []
    if report.errors and "{{" in text:  # a Helm or Go template, not a manifest until rendered
        return []
    lines = Lines(text, encoding)
    findings = []
    for problem in report.errors:
        findings.append(Finding(lines.field_range(problem.line, problem.column), problem.message, "error",
                                document=problem.document))
    apply_exemptions(report.objects, config)
    for result in report.objects:
        workload = result.workload
        name = f"{workload.kind}/{workload.name}" if workload.name else workload.kind
        for violation, positions in zip(result.verdict.violations, result.positions):
            if violation.level > settings.level or violation.check in result.suppressed:
                continue
            ranges = [lines.field_range(line, column) for _, line, column in positions if line is not None] \
                or [lines.field_range(result.line, result.column)]
            message = f"{name}: {violation.reason} ({violation.detail})" if violation.detail \
                else f"{name}: {violation.reason}"
            related = [(r, f"also {violation.check} here") for r in ranges[1:]]
            findings.append(Finding(ranges[0], message, _severity(violation.level), violation.check,
                                    violation.level, result.document, result.item, name, related))
    return findings


@dataclass
class Action:
    title: str
    kind: str  # "quickfix" or "source.fixAll.podsec"
    edits: list  # (range, new text), on the buffer as it is
    preferred: bool = False
    findings: list = field(default_factory=list)  # the findings it fixes


def text_edits(result, lines: Lines) -> list | None:
    """The fix's splices as (range, new text) on the original text: the splices of the
    first phase as they are, a later phase's moved back through the earlier ones."""
    if not result.changed:
        return None
    edits: list = []  # (start, end, text) on the original text
    current = result.source.text
    for splices in result.phases:
        ordered = sorted(splices, key=lambda s: (s.start, s.end, -s.depth))  # as apply_splices
        edits, current = _compose(edits, current, [(s.start, s.end, s.text) for s in ordered])
    if current != result.new_text:  # cannot happen if the phases are recorded faithfully
        edits = [(0, len(result.source.text), result.new_text)]
    return [((*lines.position(start), *lines.position(end)), text) for start, end, text in edits]


def _compose(first: list, text1: str, second: list) -> tuple:
    """Edits on the original text that make what `first` and then `second` (edits on text1,
    which `first` made) make; and that text. Edits of `second` that touch one of `first`
    become one edit with it."""
    spans, shift = [], 0  # each first edit: [start0, end0, start1, end1]
    for start, end, text in sorted(first):
        spans.append([start, end, start + shift, start + shift + len(text)])
        shift += len(text) - (end - start)
    second = sorted(second, key=lambda s: (s[0], s[1]))
    # Group, in text1 coordinates, the first edits' results and the second edits that touch.
    items = sorted([(s[2], s[3], "first", s) for s in spans] + [(s[0], s[1], "second", s) for s in second],
                   key=lambda i: (i[0], i[1]))
    groups: list[dict] = []
    for item in items:
        if groups and item[0] <= groups[-1]["end"]:
            group = groups[-1]
            group["end"] = max(group["end"], item[1])
        else:
            group = {"start": item[0], "end": item[1], "first": [], "second": []}
            groups.append(group)
        group[item[2]].append(item[3])

    def to_original(offset1: int) -> int:  # an offset of text1 outside every first edit
        moved = 0
        for span in spans:
            if span[3] <= offset1:
                moved = span[3] - span[1]
        return offset1 - moved

    out = []
    for group in groups:
        start1, end1 = group["start"], group["end"]
        firsts = group["first"]
        start0 = firsts[0][0] if firsts and firsts[0][2] == start1 else to_original(start1)
        end0 = firsts[-1][1] if firsts and firsts[-1][3] == end1 else to_original(end1)
        pieces, at = [], start1
        for start, end, text in group["second"]:
            pieces.append(text1[at:start])
            pieces.append(text)
            at = end
        pieces.append(text1[at:end1])
        out.append((start0, end0, "".join(pieces)))
    at, pieces = 0, []
    for start, end, text in second:
        pieces.append(text1[at:start])
        pieces.append(text)
        at = end
    pieces.append(text1[at:])
    return out, "".join(pieces)


def _fix(text: str, path: str | None, settings: Settings, config, unsafe: bool, only=None):
    from kubectl_podsec.fix import fix_source
    from kubectl_podsec.workloads import kinds_for

    return fix_source(Source(path or "-", None, text), settings.level, settings.version, unsafe, config, only=only,
                      kinds=kinds_for(config))


def _for_finding(finding: Finding):
    """fix_source's `only` for one finding: its object, its check (or the restricted check
    that replaces it at restricted level, whose fix covers it)."""
    from kubectl_podsec.checks import replaced_by

    checks = {finding.check, replaced_by(finding.check) if finding.check else None}
    return lambda fixed, check_id: (fixed.document, fixed.item) == (finding.document, finding.item) \
        and check_id in checks


def _improves(result, finding: Finding) -> bool:
    """Does the fix remove the finding, or at least part of it (one of two containers)?"""
    for fixed in result.objects:
        if (fixed.document, fixed.item) == (finding.document, finding.item) and fixed.after is not None:
            def detail(verdict):
                return next((v.detail for v in verdict.violations if v.check == finding.check), None)
            return detail(fixed.after) != detail(fixed.before)
    return False


def code_actions(text: str, path: str | None, settings: Settings, config, findings: list,
                 encoding: str = "utf-16", fix_all: bool = True) -> list:
    """Quick fixes for the given findings (safe first; an unsafe one only where it does more,
    labelled), then "fix all safe issues in this file" and its unsafe counterpart. Each is
    the edits `fix` itself makes; where `fix` refuses, nothing is offered."""
    if settings.level == Level.PRIVILEGED:
        return []
    lines = Lines(text, encoding)
    actions = []
    for finding in findings:
        if finding.check is None:
            continue
        safe = _fix(text, path, settings, config, False, _for_finding(finding))
        safe_edits = text_edits(safe, lines) if _improves(safe, finding) else None
        if safe_edits:
            actions.append(Action(f"Fix {finding.check} in {finding.object}", "quickfix", safe_edits, True,
                                  [finding]))
        unsafe = _fix(text, path, settings, config, True, _for_finding(finding))
        unsafe_edits = text_edits(unsafe, lines) if _improves(unsafe, finding) else None
        if unsafe_edits and (unsafe.new_text != safe.new_text or not safe_edits):
            actions.append(Action(f"Fix {finding.check} in {finding.object} ({UNSAFE_NOTE})", "quickfix",
                                  unsafe_edits, False, [finding]))
    if fix_all:
        safe = _fix(text, path, settings, config, False)
        edits = text_edits(safe, lines)
        if edits:
            actions.append(Action("Fix all safe issues in this file", "source.fixAll.podsec", edits))
        unsafe = _fix(text, path, settings, config, True)
        edits = text_edits(unsafe, lines)
        if edits and unsafe.new_text != safe.new_text:
            actions.append(Action(f"Fix all issues in this file ({UNSAFE_NOTE})", "quickfix", edits))
    return actions


def hover_text(finding: Finding) -> str:
    """Markdown: the finding, then its check's standard text as `explain` prints it."""
    from kubectl_podsec.explain import explain

    body = explain(finding.check) if finding.check else None
    head = f"**{finding.check}** ({finding.level}): {finding.message}" if finding.check else finding.message
    if body is None:
        return head
    return f"{head}\n\n```text\n{body.rstrip()}\n```\n\n[{STANDARD_URI}]({level_uri(finding.level)})"


def contains(range_: tuple, line: int, character: int) -> bool:
    return (range_[0], range_[1]) <= (line, character) <= (range_[2], range_[3])
