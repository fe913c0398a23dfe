"""`fix --dry-run`: a unified diff per source that `git apply` accepts."""

from __future__ import annotations

from kubectl_podsec.diffs import git_diff
from kubectl_podsec.model import FixResult


def render_diff(run: FixResult) -> str:
    return "".join(git_diff(text.name, text.before, text.after, text.opcodes, text.bodies) for text in run.texts)
