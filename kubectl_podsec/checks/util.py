"""Small helpers shared by the checks: the container visitor and upstream's message helpers.

Checks read a pod as two plain dicts, `meta` (the pod or template metadata: only
`annotations` matters) and `spec` (the pod spec), already typed and defaulted by
`workloads.py`. Paths they report are tuples relative to the pod object,
e.g. ``("spec", "containers", 0, "securityContext", "privileged")``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def containers(spec: dict) -> Iterator[tuple[dict, tuple]]:
    """Every container with its path, in upstream's visiting order: init, regular, ephemeral.
    Made of zip over paths made once, not a generator: every check of every pod visits them."""
    init, regular, ephemeral = spec.get("initContainers"), spec.get("containers"), spec.get("ephemeralContainers")
    if not (init or ephemeral):
        return zip(regular, _paths("containers", len(regular))) if regular else iter(())
    return chain.from_iterable(zip(items, _paths(field, len(items)))
                               for field, items in zip(CONTAINER_FIELDS, (init, regular, ephemeral)) if items)


_PATHS: dict[str, list[tuple]] = {field: [] for field in CONTAINER_FIELDS}  # [("spec", field, index), ...]


def _paths(field: str, count: int) -> list[tuple]:
    made = _PATHS[field]
    if len(made) < count:
        made.extend(("spec", field, index) for index in range(len(made), count))
    return made


def security_context(obj: dict) -> dict:
    return obj.get("securityContext") or {}


def container_contexts(spec: dict) -> Iterator[tuple[dict, tuple, dict]]:
    """(container, its path, its securityContext or {}) for every container."""
    for container, path in containers(spec):
        yield container, path, security_context(container)


def pod_security_context(spec: dict) -> dict:
    return spec.get("securityContext") or {}


def is_windows(spec: dict) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


def host_users_disabled(spec: dict) -> bool:
    # Only an explicit `hostUsers: false` means a user namespace; unset means true.
    return spec.get("hostUsers") is False


def go_quote(text: str) -> str:
    """Go's strconv.Quote, which upstream uses for names and values in messages."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable() and code > 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def join_quote(items: Sequence[str]) -> str:
    # Upstream's joinQuote wraps each item in plain double quotes, escaping nothing.
    return '"' + '", "'.join(items) + '"' if items else ""


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers_phrase(names: list) -> str:
    """`container "a"` or `containers "a", "b"`."""
    return f'{pluralize("container", "containers", len(names))} {join_quote(names)}'
