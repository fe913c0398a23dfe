"""Object paths as users write them, for messages: a leaf module that everything may import."""

from __future__ import annotations


def format_path(path) -> str:
    """A path as users write it: `spec.containers[0].securityContext`, `["a.b/c"]` for keys
    with dots or slashes."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or "/" in part:
            out += f'["{part}"]'
        else:
            out += ("." if out else "") + part
    return out
