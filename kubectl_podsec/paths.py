"""Object paths and places in files as users write them, for messages: a leaf module that
everything may import."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


def format_path(path: Iterable[str | int]) -> str:
    # Reports format the same few paths thousands of times (spec.containers[0]...): remember them.
    return _format(tuple(path))


@lru_cache(maxsize=4096)
def _format(path: tuple) -> str:
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


def file_location(source: str, line: int | None, column: int | None) -> str:
    """`file`, `file:line` or `file:line:col`, as compilers and kubectl print places."""
    if line is None:
        return source
    return f"{source}:{line}" + (f":{column}" if column is not None else "")
