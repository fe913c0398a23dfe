"""`explain`: the checks' documentation, taken from their modules so code and docs agree."""

from __future__ import annotations

import difflib

from kubectl_podsec.checks import ALL_CHECKS, BY_ID, Check, replaced_by
from kubectl_podsec.errors import UsageError


def versions_text(check: Check) -> str:
    """How each policy version treats the check, from its registered variants."""
    parts = []
    for variant in check.versions:
        text = f"v1.{variant.minimum_version.minor}+"
        if variant.override_check_ids:
            text += f" (replaces {', '.join(variant.override_check_ids)})"
        parts.append(text)
    replacement = replaced_by(check.id)
    if replacement:
        parts.append(f"replaced in restricted by {replacement}")
    return "; ".join(parts)


def summary_table() -> str:
    rows = [("CHECK", "LEVEL", "POLICY VERSIONS", "FIX")]
    for check in ALL_CHECKS:
        rows.append((check.id, str(check.level), check.summary, str(check.fix_safety)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join(lines) + "\n\nkubectl podsec explain CHECK shows a check's standard text and fix.\n"


def explain(check_id: str) -> str | None:
    check = BY_ID.get(check_id) or next((c for c in ALL_CHECKS if c.id.lower() == check_id.lower()), None)
    if check is None:
        return None
    return (f"{check.doc}\n\nLevel: {check.level}\nVariants: {versions_text(check)}\n"
            f"Fix: {check.fix_safety}\n")


def suggestions(check_id: str) -> list:
    return difflib.get_close_matches(check_id, [c.id for c in ALL_CHECKS], n=3, cutoff=0.5)


def explain_text(check_id: str | None) -> str:
    """`explain [CHECK]`: the table of checks, or one check's text; an unknown one is a usage
    error naming the nearest ids."""
    if not check_id:
        return summary_table()
    text = explain(check_id)
    if text is None:
        hint = suggestions(check_id)
        raise UsageError(f"unknown check {check_id!r}" + (f"; did you mean {', '.join(hint)}?" if hint else ""))
    return text
