"""CI report formats: SARIF 2.1.0 (GitHub code scanning), JUnit XML (GitLab and most CI test
report viewers) and GitHub Actions workflow commands.

Each renderer is a pure function of the dict that `report.report_data(report, gate)` returns
(README "Output"). All three report the violations at the gate level (`data["level"]`) or
below: those that set the exit code to 1, and those suppressed (a violation whose
`suppressed` is set, by an exemption or a baseline), which stay visible without failing:
SARIF marks them with `suppressions`, JUnit lists them in the test case's output, GitHub gets
a notice instead of an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from kubectl_podsec import __version__
from kubectl_podsec.levels import Level

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/kubectl-podsec/kubectl-podsec"
STANDARD_URI = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
# GitHub maps security-severity to critical (>= 9.0), high (>= 7.0), medium (>= 4.0), low.
SECURITY_SEVERITY = {"baseline": "8.0", "restricted": "5.0"}
# Objects read from a live cluster (live.SOURCE) and stdin without --stdin-filename have no
# file to point at.
NO_FILE_SOURCES = ("cluster", "-")


# --- shared -----------------------------------------------------------------------------------


def gated_violations(data: dict, obj: dict) -> list:
    """The violations at the gate level or below, suppressed ones included."""
    gate = Level.parse(data["level"])
    return [v for v in obj["violations"] if Level.parse(v["level"]) <= gate]


def _suppression_note(violation: dict) -> str:
    suppressed = violation["suppressed"]
    return f"suppressed by {suppressed.get('by')}" + (f": {suppressed['reason']}" if suppressed.get("reason") else "")


def _has_file(source: str, document: int | None = 0) -> bool:
    # A live object has no document index; its source is a label, not a path.
    return source not in NO_FILE_SOURCES and document is not None


def _relative_path(source: str, root: str) -> str | None:
    """`source` relative to `root` with forward slashes, or None when it lies outside."""
    try:
        relative = os.path.relpath(os.path.abspath(source), os.path.abspath(root))
    except ValueError:  # another drive, on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative.replace(os.sep, "/")


def _display_path(source: str, root: str) -> str:
    return _relative_path(source, root) or source.replace(os.sep, "/")


def _object_title(obj: dict) -> str:
    namespace = f" ({obj['namespace']})" if obj.get("namespace") else ""
    template = f" [from {obj['template']}]" if obj.get("template") else ""  # helm template output
    return f"{obj['kind']}/{obj['name']}{namespace}{template}"


def _position(obj: dict, violation: dict | None) -> tuple:
    """(line, column) of the violation, else of its object; (None, None) when unknown."""
    if violation is not None and violation.get("line") is not None:
        return violation["line"], violation.get("column")
    return obj.get("line"), obj.get("column")


# --- SARIF ------------------------------------------------------------------------------------


def split_doc(doc: str) -> tuple:
    """A check module's docstring as (title line, the standard's text, the fix paragraph)."""
    lines = doc.strip("\n").splitlines()
    title = lines[0].strip() if lines else ""
    paragraphs = "\n".join(lines[1:]).strip().split("\n\n")
    standard = [p.strip("\n") for p in paragraphs if p.strip() and not p.startswith("Fix (")]
    fix = [p.strip("\n") for p in paragraphs if p.startswith("Fix (")]
    return title, "\n\n".join(standard), "\n\n".join(fix)


def _fix_note(check) -> str:
    """What `kubectl podsec fix` does about the check."""
    if check.fix_safety == "safe":
        return "`kubectl podsec fix` applies this fix (any part marked unsafe only with `--unsafe-fixes`)."
    if check.fix_safety == "unsafe":
        return ("`kubectl podsec fix --unsafe-fixes` applies this fix; it takes away a privilege the "
                "manifest asks for, so check that the workload still works.")
    return "`kubectl podsec fix` leaves this to a human."


def _markdown(text: str) -> str:
    """Prose paragraphs reflowed; field lists and allowed values kept as they are laid out."""
    out = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.splitlines()
        structured = any(line[:1].isspace() for line in lines) or \
            paragraph.startswith(("Restricted fields", "Allowed values", "v1."))
        if structured:
            out.append("```text\n" + paragraph + "\n```")
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def _markdown_fix(fix: str) -> str:
    """`Fix (safe): text` as `**Fix (safe):** text`, reflowed."""
    head, sep, rest = fix.partition(":")
    if not sep or not head.startswith("Fix ("):
        return _markdown(fix)
    return f"**{head}:** " + _markdown(rest.strip())


def sarif_rule(check) -> dict:
    title, standard, fix = split_doc(check.doc or check.id)
    level = str(check.level)
    note = f"{_fix_note(check)} `kubectl podsec explain {check.id}` prints this text."
    return {
        "id": check.id,
        "name": check.id,
        "shortDescription": {"text": title or check.id},
        "fullDescription": {"text": standard or title or check.id},
        "helpUri": STANDARD_URI,
        "help": {
            "text": "\n\n".join(p for p in (standard, fix, note) if p),
            "markdown": "\n\n".join(p for p in (
                f"**Pod Security Standards, {level} level** ([the standard]({STANDARD_URI}))",
                _markdown(standard), _markdown_fix(fix), note) if p),
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "level": level,
            "tags": ["security", "pod-security"],
            "security-severity": SECURITY_SEVERITY.get(level, "5.0"),
            "precision": "very-high",
            "fix": check.fix_safety,
        },
    }


def _fingerprint(source_key: str, obj: dict, check: str) -> str:
    parts = (source_key, obj["kind"], obj.get("namespace") or "", obj["name"], check)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _artifact_location(source: str, root: str) -> dict:
    relative = _relative_path(source, root)
    if relative is not None:
        return {"uri": quote(relative, safe="/"), "uriBaseId": "%SRCROOT%"}
    # Outside the root: an absolute file URI, which needs no base.
    return {"uri": Path(os.path.abspath(source)).as_uri()}


KUSTOMIZE_PREFIX = "kustomize:"


def _physical_location(source: str, root: str, line, column) -> dict:
    if source.startswith(KUSTOMIZE_PREFIX):
        # The rendered text is no file: name the kustomization's directory (a relative URI
        # ending in /), without a region, since its lines are those of the rendered output.
        location = _artifact_location(source[len(KUSTOMIZE_PREFIX):], root)
        location["uri"] = location["uri"].rstrip("/") + "/"
        return {"artifactLocation": location}
    location = {"artifactLocation": _artifact_location(source, root)}
    if line is not None:
        region = {"startLine": line}
        if column is not None:
            region["startColumn"] = column
        location["region"] = region
    return location


def _logical_location(obj: dict) -> dict:
    qualified = f"{obj['namespace']}/" if obj.get("namespace") else ""
    return {"name": f"{obj['kind']}/{obj['name']}",
            "fullyQualifiedName": f"{qualified}{obj['kind']}/{obj['name']}", "kind": "resource"}


def sarif_result(obj: dict, violation: dict, rule_index: int | None, root: str) -> dict:
    message = f"{_object_title(obj)}: {violation['reason']}: {violation['detail']}"
    if _has_file(obj["source"], obj.get("document")):
        places = violation.get("locations") or [{"line": None, "column": None, "field": violation.get("field")}]
        located = []
        for place in places:
            line, column = (place["line"], place["column"]) if place.get("line") is not None \
                else (obj.get("line"), obj.get("column"))
            located.append((place, _physical_location(obj["source"], root, line, column)))
        location = {"physicalLocation": located[0][1]}
        related = [{"id": n, "physicalLocation": physical, "message": {"text": place.get("field") or ""}}
                   for n, (place, physical) in enumerate(located[1:], 1)]
        source_key = location["physicalLocation"]["artifactLocation"]["uri"]
    else:
        location = {"logicalLocations": [_logical_location(obj)]}
        related = []
        source_key = obj["source"]
    result = {
        "ruleId": violation["check"],
        "level": "error",
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {"podsecObject/v1": _fingerprint(source_key, obj, violation["check"])},
        "properties": {"level": violation["level"], "field": violation.get("field")},
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    if violation.get("suppressed"):
        # Both kinds live outside the manifest (.podsec.yaml, a baseline file).
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": _suppression_note(violation)}]
    if related:
        result["relatedLocations"] = related
    return result


def _notification(error: dict, root: str) -> dict:
    notification = {"level": "error", "message": {"text": error["message"]}}
    if _has_file(error["source"]):
        notification["locations"] = [
            {"physicalLocation": _physical_location(error["source"], root, error.get("line"), error.get("column"))}]
    else:
        notification["message"]["text"] = f"{error['source']}: {error['message']}"
    return notification


def sarif_document(data: dict, checks: Iterable, root: str = ".") -> dict:
    """The SARIF log as a dict (render_sarif serialises it)."""
    rules = [sarif_rule(check) for check in checks]
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    results = [sarif_result(obj, violation, index.get(violation["check"]), root)
               for obj in data["objects"] for violation in gated_violations(data, obj)]
    errors = data.get("errors") or []
    invocation = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = [_notification(error, root) for error in errors]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubectl-podsec",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }},
            "invocations": [invocation],
            # Our columns count characters (code points), not UTF-16 code units.
            "columnKind": "unicodeCodePoints",
            "properties": {"policyVersion": data["policyVersion"], "level": data["level"]},
            "results": results,
        }],
    }


def render_sarif(data: dict, checks: Iterable, root: str = ".") -> str:
    """SARIF 2.1.0 for `check -o sarif`. `checks` is `checks.ALL_CHECKS` (one rule each, in
    that order); file URIs are relative to `root` (the repository root: the working directory
    in CI), under the `%SRCROOT%` base."""
    return json.dumps(sarif_document(data, checks, root), indent=2, ensure_ascii=False) + "\n"


# --- JUnit ------------------------------------------------------------------------------------


def render_junit(data: dict) -> str:
    """JUnit XML for `check -o junit`: a testsuite per source, a testcase per object (failing
    with a <failure> per violation that keeps it from the gate; suppressed ones are listed in
    its <system-out>), an <error> testcase per input that could not be read. GitLab keys test
    cases by classname and name, so names are made unique within a source."""
    import xml.etree.ElementTree as ET

    suites: dict = {}

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

    for obj in data["objects"]:
        source = obj["source"]
        suite = suite_for(source)
        where = f"document {obj['document']}" if obj.get("document") is not None else ""
        if obj.get("item") is not None:
            where += f", item {obj['item']}"
        case = ET.Element("testcase", {"classname": _xml(source),
                                       "name": _xml(unique(suite, _object_title(obj), where)), "time": "0"})
        if _has_file(source, obj.get("document")):
            case.set("file", _xml(source))
        violations = [v for v in gated_violations(data, obj) if not v.get("suppressed")]
        for violation in violations:
            line, column = _position(obj, violation)
            failure = ET.SubElement(case, "failure", {"message": _xml(f"{violation['check']}: {violation['reason']}")})
            failure.text = _xml("\n".join(filter(None, (
                violation["detail"], f"field: {violation['field']}" if violation.get("field") else None,
                f"at: {_where(source, line, column)}",
                f"level: {violation['level']}"))))
        suppressed = [v for v in gated_violations(data, obj) if v.get("suppressed")]
        if suppressed:
            out = ET.SubElement(case, "system-out")
            out.text = _xml("\n".join(f"{v['check']}: {v['reason']} ({v['detail']}): {_suppression_note(v)}"
                                      for v in suppressed))
        suite["failures"] += bool(violations)
        suite["cases"].append(case)
    for error in data.get("errors") or []:
        source = error["source"]
        suite = suite_for(source)
        at = f"line {error['line']}" if error.get("line") is not None else ""
        case = ET.Element("testcase", {"classname": _xml(source), "name": _xml(unique(suite, "input error", at)),
                                       "time": "0"})
        if _has_file(source):
            case.set("file", _xml(source))
        problem = ET.SubElement(case, "error", {"message": _xml(error["message"])})
        problem.text = _xml(f"{_where(source, error.get('line'), error.get('column'))}: {error['message']}")
        suite["errors"] += 1
        suite["cases"].append(case)
    for skipped in data.get("skipped") or []:
        suite_for(skipped["source"])  # read and checked, nothing to evaluate: an empty suite

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


def _where(source: str, line, column) -> str:
    if line is None:
        return source
    return f"{source}:{line}" + (f":{column}" if column is not None else "")


# --- GitHub Actions workflow commands -----------------------------------------------------------


def escape_data(text: str) -> str:
    """As @actions/core escapes a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """As @actions/core escapes a command's property values."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, properties: dict) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items()
                     if value is not None)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def github_lines(data: dict, root: str = ".") -> Iterator[str]:
    for obj in data["objects"]:
        has_file = _has_file(obj["source"], obj.get("document"))
        for violation in gated_violations(data, obj):
            line, column = _position(obj, violation)
            place = {"file": _display_path(obj["source"], root), "line": line, "col": column} if has_file else {}
            message = f"{_object_title(obj)}: {violation['reason']} ({violation['detail']})"
            if violation.get("suppressed"):
                yield workflow_command("notice", f"{message}; {_suppression_note(violation)}",
                                       {**place, "title": f"podsec {violation['check']} (suppressed)"})
            else:
                yield workflow_command("error", message, {**place, "title": f"podsec {violation['check']}"})
    for error in data.get("errors") or []:
        if _has_file(error["source"]):
            place = {"file": _display_path(error["source"], root), "line": error.get("line"),
                     "col": error.get("column")}
            message = error["message"]
        else:
            place, message = {}, f"{error['source']}: {error['message']}"
        yield workflow_command("error", message, {**place, "title": "podsec input error"})


def render_github(data: dict, root: str = ".") -> str:
    """GitHub Actions workflow commands for `check -o github`: an `::error` annotation per
    violation that keeps a workload from the gate (a `::notice` if it is suppressed), and per
    unreadable input. File paths are relative to `root` (GitHub resolves them from the
    repository root)."""
    return "".join(line + "\n" for line in github_lines(data, root))
