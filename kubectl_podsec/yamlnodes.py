"""Reading YAML the way Kubernetes does, from composed nodes that keep their positions.

Kubernetes converts YAML to JSON with go-yaml v2 (YAML 1.1 scalars: unquoted `yes`/`on`
are booleans, `0x1F` is a number) and then decodes the JSON into typed Go structs, which
rejects a string where a boolean belongs and vice versa. This module gives the same answers
for single nodes; `workloads.py` applies it along the fields the checks read.
"""

from __future__ import annotations

import json
import re

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# go-yaml v2's resolve table (resolve.go): YAML 1.1 booleans and nulls.
TRUE_WORDS = frozenset("y Y yes Yes YES true True TRUE on On ON".split())
FALSE_WORDS = frozenset("n N no No NO false False FALSE off Off OFF".split())
NULL_WORDS = frozenset(("", "~", "null", "Null", "NULL"))
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
MERGE_TAGS = (None, "tag:yaml.org,2002:merge")
# Plain scalars have style None from PyYAML's pure-Python composer and '' from libyaml's.


class NodeError(Exception):
    """A node that Kubernetes would reject; carries the node for its position."""

    def __init__(self, node: Node, message: str):
        super().__init__(message)
        self.node = node
        self.message = message


def _parse_int(text: str):
    plain = text.replace("_", "")
    sign = 1
    if plain[:1] in "+-":
        sign = -1 if plain[0] == "-" else 1
        plain = plain[1:]
    if not plain or not plain[0].isdigit():
        return None
    lowered = plain.lower()
    try:
        if lowered.startswith("0x"):
            return sign * int(plain[2:], 16)
        if lowered.startswith("0b"):
            return sign * int(plain[2:], 2)
        if lowered.startswith("0o"):
            return sign * int(plain[2:], 8)
        if len(plain) > 1 and plain[0] == "0":
            return sign * int(plain[1:], 8)  # YAML 1.1 and Go's base-0 octal
        return sign * int(plain, 10)
    except ValueError:
        return None


def scalar(node: ScalarNode):  # noqa: C901 - one branch per YAML 1.1 tag; yamlnodes is being reworked in parallel
    """The JSON value Kubernetes would see for a scalar node."""
    tag = node.tag
    if tag is not None and tag.startswith("tag:yaml.org,2002:"):
        kind = tag[len("tag:yaml.org,2002:"):]
        if kind == "str":
            return node.value
        if kind == "null":
            return None
        if kind == "bool" and (node.value in TRUE_WORDS or node.value in FALSE_WORDS):
            return node.value in TRUE_WORDS
        if kind in ("int", "float"):
            number = _parse_int(node.value)
            if number is None and _FLOAT_RE.match(node.value):
                number = float(node.value)
            if number is not None:
                return number
        raise NodeError(node, f"cannot decode {node.value!r} as !!{kind}")
    if node.style or tag is not None:
        return node.value  # quoted, block or custom-tagged scalars are strings
    value = node.value
    if value in NULL_WORDS:
        return None
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    first = value[0]
    if first.isdigit() or first in "+-.":
        number = _parse_int(value)
        if number is not None:
            return number
        if _FLOAT_RE.match(value):
            return float(value)
        if value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
    return value


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and not node.style and node.tag is None and node.value in NULL_WORDS


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = scalar(node) if isinstance(node, ScalarNode) else None  # collections returned above
    if isinstance(value, bool):
        return f"the boolean {node.value}"
    if isinstance(value, (int, float)):
        return f"the number {node.value}"
    return f"the string {json.dumps(node.value)}"


def mapping(node: Node) -> dict:
    """Key -> (key node, value node), with merge keys applied the way go-yaml v2 does and
    duplicate keys refused (the API server rejects them; silently keeping one value would
    let a second `hostNetwork:` hide from the check)."""
    if not isinstance(node, MappingNode):
        raise NodeError(node, f"expected a mapping, got {describe(node)}")
    entries: dict = {}
    merges = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise NodeError(key_node, "mapping keys must be scalars")
        key = key_node.value
        if key == "<<" and not key_node.style and key_node.tag in MERGE_TAGS:
            merges.append(value_node)
            continue
        if key in entries:
            raise NodeError(key_node, f'duplicate key "{key}"')
        entries[key] = (key_node, value_node)
    for merge in merges:
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        for source in sources:
            if not isinstance(source, MappingNode):
                raise NodeError(source, "merge key `<<` needs a mapping or a list of mappings")
            for key, pair in mapping(source).items():
                entries.setdefault(key, pair)  # explicit keys and earlier merges win
    return entries


def has_merge(node: MappingNode) -> bool:
    return any(isinstance(k, ScalarNode) and k.value == "<<" and not k.style for k, _ in node.value)
