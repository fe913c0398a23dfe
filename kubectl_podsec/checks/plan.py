"""What `fix` changes, as data: a Plan records Edits against a pod's typed model.

Each check's `fix(plan)` asks for the changes its control needs. The plan applies
them to the model at once, so that a later fix sees an earlier one (removing
`privileged: true` makes `allowPrivilegeEscalation: false` possible), and records them as
Edits with pod-relative paths; `patch.py` turns Edits into text splices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kubectl_podsec.checks.types import Edit, Note
from kubectl_podsec.checks.util import containers, is_windows, security_context
from kubectl_podsec.paths import format_path

MISSING = object()


@dataclass
class Plan:
    meta: dict
    spec: dict
    unsafe: bool = False
    version: object = None  # the policy Version being fixed for
    prefix: tuple = ()  # where the pod is in its object, for messages
    exempt: object = None  # callable(check id, pod-relative path) -> bool: leave it alone
    edits: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def windows(self) -> bool:
        return is_windows(self.spec)

    def get(self, path: tuple, default=None):
        node = {"metadata": self.meta, "spec": self.spec}
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

    def set(self, check: str, path: tuple, value, safe: bool, what: str = "") -> bool:
        old = self.get(path, MISSING)
        if old is not MISSING and old == value and type(old) is type(value):
            return True
        # Safe fixes only add what is absent: a value the manifest sets (null counts as unset,
        # as the API server reads it) is the author's intent, whatever the caller claims.
        safe = safe and old is MISSING
        if not self.allowed(check, safe, what or f"set {self.dotted(path)} to {json.dumps(value)}", path):
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

    def append(self, check: str, path: tuple, item, safe: bool = True) -> bool:
        current = self.get(path, MISSING)
        if current is MISSING:
            return self.set(check, path, [item], safe)
        if not self.allowed(check, safe, f"add {item} to {self.dotted(path)}", path):
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

    def _parent(self, path: tuple, create: bool = False):
        node = {"metadata": self.meta, "spec": self.spec}
        for part in path[:-1]:
            if create and isinstance(part, str) and node.get(part) is None:
                node[part] = {}
            node = node[part]
        return node


def container_contexts(plan: Plan):
    """(container, its path, its securityContext or {}) for every container."""
    for container, path in containers(plan.spec):
        yield container, path, security_context(container)
