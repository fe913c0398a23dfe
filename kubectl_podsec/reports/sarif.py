"""SARIF 2.1.0 for `check -o sarif` (GitHub code scanning): one rule per check, one result
per gated finding, suppressed ones marked with `suppressions`."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kubectl_podsec import __version__
from kubectl_podsec.checks.types import Check
from kubectl_podsec.model import NOWHERE, Finding, InputError, ObjectVerdict, RunResult
from kubectl_podsec.reports.common import (
    KUSTOMIZE_PREFIX,
    has_file,
    object_title,
    relative_path,
    suppression_note,
)

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/kubectl-podsec/kubectl-podsec"
STANDARD_URI = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
# GitHub maps security-severity to critical (>= 9.0), high (>= 7.0), medium (>= 4.0), low.
SECURITY_SEVERITY = {"baseline": "8.0", "restricted": "5.0"}


def _fix_note(check: Check) -> str:
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


def sarif_rule(check: Check) -> dict:
    title, standard, fix = check.title, check.standard, check.fix_paragraph
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


def _fingerprint(source_key: str, obj: ObjectVerdict, check: str) -> str:
    parts = (source_key, obj.kind, obj.namespace or "", obj.name, check)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _artifact_location(source: str, root: str) -> dict:
    relative = relative_path(source, root)
    if relative is not None:
        return {"uri": quote(relative, safe="/"), "uriBaseId": "%SRCROOT%"}
    # Outside the root: an absolute file URI, which needs no base.
    return {"uri": Path(os.path.abspath(source)).as_uri()}


def _physical_location(source: str, root: str, line: int | None, column: int | None) -> dict:
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


def _logical_location(obj: ObjectVerdict) -> dict:
    qualified = f"{obj.namespace}/" if obj.namespace else ""
    return {"name": f"{obj.kind}/{obj.name}",
            "fullyQualifiedName": f"{qualified}{obj.kind}/{obj.name}", "kind": "resource"}


def sarif_result(obj: ObjectVerdict, finding: Finding, rule_index: int | None, root: str) -> dict:
    message = f"{object_title(obj)}: {finding.reason}: {finding.detail}"
    if has_file(obj.source, obj.document):
        located = []
        for place in finding.locations or (NOWHERE,):
            line, column = (place.line, place.column) if place.line is not None else (obj.line, obj.column)
            located.append((place, _physical_location(obj.source, root, line, column)))
        location: dict[str, Any] = {"physicalLocation": located[0][1]}
        related = [{"id": n, "physicalLocation": physical, "message": {"text": place.field or ""}}
                   for n, (place, physical) in enumerate(located[1:], 1)]
        source_key = location["physicalLocation"]["artifactLocation"]["uri"]
    else:
        location = {"logicalLocations": [_logical_location(obj)]}
        related = []
        source_key = obj.source
    result: dict[str, Any] = {
        "ruleId": finding.check,
        "level": "error",
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {"podsecObject/v1": _fingerprint(source_key, obj, finding.check)},
        "properties": {"level": str(finding.level), "field": finding.first.field},
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    if finding.suppressed:
        # Both kinds live outside the manifest (.podsec.yaml, a baseline file).
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": suppression_note(finding)}]
    if related:
        result["relatedLocations"] = related
    return result


def _notification(error: InputError, root: str) -> dict:
    notification: dict[str, Any] = {"level": "error", "message": {"text": error.message}}
    if has_file(error.source):
        notification["locations"] = [
            {"physicalLocation": _physical_location(error.source, root, error.line, error.column)}]
    else:
        notification["message"]["text"] = f"{error.source}: {error.message}"
    return notification


def sarif_document(run: RunResult, checks: Iterable, root: str = ".") -> dict:
    """The SARIF log as a dict (render_sarif serialises it)."""
    rules = [sarif_rule(check) for check in checks]
    index = {rule["id"]: n for n, rule in enumerate(rules)}
    results = [sarif_result(obj, finding, index.get(finding.check), root)
               for obj in run.objects for finding in run.gated(obj)]
    errors = run.errors
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
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
            "properties": {"policyVersion": run.policy_version, "level": str(run.gate)},
            "results": results,
        }],
    }


def render_sarif(run: RunResult, checks: Iterable, root: str = ".") -> str:
    """SARIF 2.1.0 for `check -o sarif`. `checks` is `checks.ALL_CHECKS` (one rule each, in
    that order); file URIs are relative to `root` (the repository root: the working directory
    in CI), under the `%SRCROOT%` base."""
    return json.dumps(sarif_document(run, checks, root), indent=2, ensure_ascii=False) + "\n"
