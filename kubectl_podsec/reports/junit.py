"""JUnit XML for `check -o junit` (GitLab and most CI test report viewers)."""

from __future__ import annotations

import re

from kubectl_podsec.model import RunResult
from kubectl_podsec.paths import file_location
from kubectl_podsec.reports.common import has_file, object_title, position, suppression_note


def render_junit(run: RunResult) -> str:
    """JUnit XML for `check -o junit`: a testsuite per source, a testcase per object (failing
    with a <failure> per violation that keeps it from the gate; suppressed ones are listed in
    its <system-out>), an <error> testcase per input that could not be read. GitLab keys test
    cases by classname and name, so names are made unique within a source."""
    import xml.etree.ElementTree as ET

    suites: dict[str, dict] = {}

    def suite_for(source: str) -> dict:
        return suites.setdefault(source, {"cases": [], "names": set(), "failures": 0, "errors": 0})

    def unique(suite: dict, name: str, extra: str) -> str:
        candidate, n = name, 1
        if candidate in suite["names"] and extra:
            candidate = f"{name} [{extra}]"
        while candidate in suite["names"]:
            n += 1
            candidate = f"{name} [{extra + ', ' if extra else ''}{n}]"
        suite["names"].add(candidate)
        return candidate

    for obj in run.objects:
        source = obj.source
        suite = suite_for(source)
        where = f"document {obj.document}" if obj.document is not None else ""
        if obj.item is not None:
            where += f", item {obj.item}"
        case = ET.Element("testcase", {"classname": _xml(source),
                                       "name": _xml(unique(suite, object_title(obj), where)), "time": "0"})
        if has_file(source, obj.document):
            case.set("file", _xml(source))
        gated = run.gated(obj)
        failures = [f for f in gated if not f.suppressed]
        for finding in failures:
            line, column = position(obj, finding)
            failure = ET.SubElement(case, "failure", {"message": _xml(f"{finding.check}: {finding.reason}")})
            failure.text = _xml("\n".join(filter(None, (
                finding.detail, f"field: {finding.first.field}" if finding.first.field else None,
                f"at: {file_location(source, line, column)}",
                f"level: {finding.level}"))))
        suppressed = [f for f in gated if f.suppressed]
        if suppressed:
            out = ET.SubElement(case, "system-out")
            out.text = _xml("\n".join(f"{f.check}: {f.reason} ({f.detail}): {suppression_note(f)}"
                                      for f in suppressed))
        suite["failures"] += bool(failures)
        suite["cases"].append(case)
    for error in run.errors:
        source = error.source
        suite = suite_for(source)
        at = f"line {error.line}" if error.line is not None else ""
        case = ET.Element("testcase", {"classname": _xml(source), "name": _xml(unique(suite, "input error", at)),
                                       "time": "0"})
        if has_file(source):
            case.set("file", _xml(source))
        problem = ET.SubElement(case, "error", {"message": _xml(error.message)})
        problem.text = _xml(f"{file_location(source, error.line, error.column)}: {error.message}")
        suite["errors"] += 1
        suite["cases"].append(case)
    for skipped in run.skipped:
        suite_for(skipped.source)  # read and checked, nothing to evaluate: an empty suite
    return _testsuites(suites)


def _testsuites(suites: dict[str, dict]) -> str:
    """The document: a testsuite per source, with its cases and counts, and the totals."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", {"name": "kubectl-podsec"})
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for source, suite in suites.items():
        counts = {"tests": len(suite["cases"]), "failures": suite["failures"], "errors": suite["errors"]}
        element = ET.SubElement(root, "testsuite", {"name": _xml(source), **{k: str(v) for k, v in counts.items()},
                                                    "skipped": "0", "time": "0"})
        element.extend(suite["cases"])
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# XML 1.0 cannot carry most control characters, which a JSON manifest can spell (\u0001).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)
