"""The value types of the policy core: a check, its versioned variants, its result, its fix.

Kept apart from the registry (`checks/__init__.py`) so that every check module imports only
these types and `checks/util.py`: the registry imports the checks, never the reverse.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

from kubectl_podsec.levels import Level, Version


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    reason: str = ""
    detail: str = ""
    # Pod-relative paths of the offending fields (or of the field that must be set).
    paths: tuple = ()


ALLOWED = CheckResult(True)

CheckFn = Callable[[dict, dict], CheckResult]
# fix(meta, spec, version) -> the Edits, Notes and Unlesses the control needs, read from the
# pod as it is; checks/plan.py applies them in order and decides what is safe.
FixFn = Callable[[dict, dict, Optional[Version]], Sequence]


class Safety(str, enum.Enum):
    """What `fix` does about a check: safe, unsafe (only with --unsafe-fixes) or never."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    NEVER = "never"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Edit:
    """A change a fix asks for, and (as Plan.edits records it) a change made.

    Asked for: `value` is the new value, the item to append or the items to remove, and
    `safe` says whether the check considers it safe; the plan makes it unsafe anyway when it
    changes a value the manifest sets. Made: `old` is the value replaced (for remove_items
    the removed items, with the removed indexes in `value`) and `safe` the plan's verdict."""

    check: str
    op: str  # "set", "remove", "append" (to a list) or "remove_items" (from a list)
    path: tuple  # pod-relative
    value: object = None
    old: object = None
    safe: bool = True
    # How the note for a human words the change when it is not made (default: from op and path).
    what: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Note:
    """Something the fix could not do, for a human."""

    check: str
    message: str


@dataclass(frozen=True)
class Unless:
    """`items` apply only if, when the plan reaches them, the pod does not hold one of
    `values` at `path`: for a fix whose next step depends on whether its own earlier edit was
    made (refused as unsafe, or exempt), judged once for all of `items`."""

    path: tuple
    values: tuple
    items: tuple


@dataclass(frozen=True)
class VersionedCheck:
    minimum_version: Version
    check_pod: CheckFn
    override_check_ids: tuple = ()
    # The fix that goes with this variant's rules (an allowed list that grows with the
    # version); None: the check's own fix, which holds for every version.
    fix: FixFn | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Check:
    id: str
    level: Level
    versions: tuple
    # The documentation `explain`, SARIF and the README show, as fields rather than a
    # docstring to parse: the versions note of the title, the standard's own text, and what
    # the fix does (the text after `Fix (<safety>): `).
    summary: str = ""
    standard: str = ""
    fix_text: str = ""
    fix_safety: Safety = Safety.NEVER
    # What applying the fix can break at run time: what a reviewer should test.
    fix_risk: str = ""
    fix: FixFn | None = field(default=None, compare=False)

    @property
    def title(self) -> str:
        return f"{self.id} ({self.level}, {self.summary})"

    @property
    def fix_paragraph(self) -> str:
        return f"Fix ({self.fix_safety}): {self.fix_text}" if self.fix_text else ""

    @property
    def doc(self) -> str:
        """The whole text, as `explain` prints it."""
        return "\n\n".join(p for p in (self.title, self.standard, self.fix_paragraph) if p)

    def variant_at(self, version: Version) -> VersionedCheck | None:
        active = None
        for variant in self.versions:
            if variant.minimum_version <= version:
                active = variant
        return active

    def fix_at(self, version: Version | None) -> FixFn | None:
        """The fix for `version`'s rules (the newest variant's when no version is given)."""
        variant = self.versions[-1] if version is None else self.variant_at(version)
        return (variant.fix if variant is not None else None) or self.fix
