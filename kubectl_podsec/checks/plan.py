"""What `fix` changes, as data: a Plan applies the Edits the checks' fixes ask for to a pod's
typed model, and records the Edits it made and the Notes for a human.

A check's fix reads the pod and returns what it wants (checks/types.py); the plan applies it
in order, so that a later fix sees an earlier one (removing `privileged: true` makes
`allowPrivilegeEscalation: false` possible). The plan alone decides what is safe: only adding
what the manifest leaves unset is, a change or a removal never is. It honours exemptions and
--unsafe-fixes, and records Edits with pod-relative paths; `patch/` turns them into text splices.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

from kubectl_podsec.checks.types import Edit, Note, Unless
from kubectl_podsec.levels import Version
from kubectl_podsec.paths import format_path

MISSING = object()


@dataclass
class Plan:
    meta: dict
    spec: dict
    unsafe: bool = False
    version: Version | None = None  # the policy version being fixed for
    prefix: tuple = ()  # where the pod is in its object, for messages
    exempt: Callable[[str, tuple], bool] | None = None  # (check id, pod-relative path): leave it alone
    edits: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def apply(self, items: Iterable) -> None:
        """Apply a fix's Edits, Notes and Unlesses in order (a fix computes them all from the
        pod as it was before the first applies)."""
        for item in items:
            if isinstance(item, Note):
                self.needs_human(item.check, item.message)
            elif isinstance(item, Unless):
                if not self._holds(item.path, item.values):
                    self.apply(item.items)
            elif item.op == "set":
                self.set(item.check, item.path, item.value, item.safe, item.what)
            elif item.op == "remove":
                self.remove(item.check, item.path, item.what)
            elif item.op == "append":
                self.append(item.check, item.path, item.value, item.safe)
            elif item.op == "remove_items":
                self.remove_items(item.check, item.path, item.value, item.what)
            else:
                raise ValueError(f"{item.check}: unknown edit {item.op!r}")

    def _holds(self, path: tuple, values: tuple) -> bool:
        value = self.get(path, MISSING)
        return any(value == wanted and type(value) is type(wanted) for wanted in values)

    def get(self, path: tuple, default: Any = None) -> Any:
        node: Any = {"metadata": self.meta, "spec": self.spec}
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return default if node is None else node

    def allowed(self, check: str, safe: bool, what: str, path: tuple = ()) -> bool:
        if self.exempt is not None and self.exempt(check, path):
            return False
        if safe or self.unsafe:
            return True
        self.needs_human(check, f"{what} (--unsafe-fixes does this; it may break the workload)")
        return False

    def needs_human(self, check: str, message: str) -> None:
        note = Note(check, message)
        if note not in self.notes:
            self.notes.append(note)

    def dotted(self, path: tuple) -> str:
        return format_path(self.prefix + path)

    def set(self, check: str, path: tuple, value: object, safe: bool, what: str = "") -> bool:
        old = self.get(path, MISSING)
        if old is not MISSING and old == value and type(old) is type(value):
            return True
        # Safe fixes only add what is absent: a value the manifest sets (null counts as unset,
        # as the API server reads it) is the author's intent, whatever the caller claims.
        safe = safe and old is MISSING
        if not what and not (safe or self.unsafe):  # only then does allowed() say it
            what = f"set {self.dotted(path)} to {json.dumps(value)}"
        if not self.allowed(check, safe, what, path):
            return False
        parent = self._parent(path, create=True)
        parent[path[-1]] = value
        self.edits.append(Edit(check, "set", path, value, None if old is MISSING else old, safe))
        return True

    def remove(self, check: str, path: tuple, what: str = "") -> bool:
        """Removing a value the manifest sets is never safe."""
        old = self.get(path, MISSING)
        if old is MISSING:
            return True
        if not self.allowed(check, False, what or f"remove {self.dotted(path)}", path):
            return False
        del self._parent(path)[path[-1]]
        self.edits.append(Edit(check, "remove", path, None, old, False))
        return True

    def append(self, check: str, path: tuple, item: object, safe: bool = True) -> bool:
        current = self.get(path, MISSING)
        if current is MISSING:
            return self.set(check, path, [item], safe)
        what = "" if safe or self.unsafe else f"add {item} to {self.dotted(path)}"  # only then does allowed() say it
        if not self.allowed(check, safe, what, path):
            return False
        current.append(item)
        self.edits.append(Edit(check, "append", path, item, None, safe))
        return True

    def remove_items(self, check: str, path: tuple, items: list, what: str = "") -> bool:
        """Removing entries the manifest lists is never safe."""
        current = self.get(path, [])
        doomed = [i for i, item in enumerate(current) if item in items]
        if not doomed:
            return True
        if not self.allowed(check, False, what or f"remove {', '.join(map(str, items))} from {self.dotted(path)}",
                            path):
            return False
        if len(doomed) == len(current):
            return self.remove(check, path, what)
        for index in reversed(doomed):
            del current[index]
        self.edits.append(Edit(check, "remove_items", path, tuple(doomed), tuple(items), False))
        return True

    def _parent(self, path: tuple, create: bool = False) -> Any:
        node: Any = {"metadata": self.meta, "spec": self.spec}
        for part in path[:-1]:
            if create and isinstance(part, str) and node.get(part) is None:
                node[part] = {}
            node = node[part]
        return node

