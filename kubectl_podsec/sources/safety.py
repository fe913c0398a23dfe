"""What a parser must not be given, or its result not trusted with: nesting too deep to
compose, alias bombs, duplicate keys, characters YAML refuses, and JSON surrogate escapes.
Each is a Problem at its place, as go-yaml and the API server refuse them."""

from __future__ import annotations

import bisect
import json
import re

import yaml
import yaml.scanner
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec.sources import parsers
from kubectl_podsec.sources.parsers import MAX_DEPTH, SEPARATOR_RE
from kubectl_podsec.sources.types import Problem, Source
from kubectl_podsec.yamlnodes import NodeError, mapping

# libyaml refuses these characters when it reads; PyYAML when it is constructed, with a
# traceback. We look for them first, for both, with a position. A BOM is allowed only first.
# (One str.find per character is many times faster than a regular expression.)
_ASCII_UNPRINTABLE = [chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
_OTHER_UNPRINTABLE = [chr(c) for c in (*range(0x80, 0x85), *range(0x86, 0xA0), 0xFEFF, 0xFFFE, 0xFFFF)]
_DEEP_INDENT = "\n" + " " * (MAX_DEPTH // 2)
# Characters after which a node (and so an alias) may start, and which cannot start a name.
_NODE_START = frozenset(" \t\r\n[]{},:?-")
_JSON_START_RE = re.compile(r"\s*\{")
_JSON_SURROGATE_RE = re.compile(r"\\(?:u([dD][89a-fA-F][0-9a-fA-F]{2})|[\s\S])")


def json_surrogates(text: str) -> tuple:
    """kubectl reads a stream that starts with `{` as JSON, where `\\ud83d\\ude00` is one
    character and a lone surrogate escape becomes U+FFFD; YAML parsers refuse both. So for
    JSON, give the parser each surrogate escape as `\\ufffd` (same length: positions hold),
    and return where a pair was, to join it again (join_pairs)."""
    if not _JSON_START_RE.match(text) or "\\" not in text:
        return text, []
    pieces, pairs, previous = [], [], None
    for match in _JSON_SURROGATE_RE.finditer(text):
        if match.group(1) is None:
            continue  # another escape, taken whole so that `\\\\ud800` is no surrogate
        pieces.append((match.start(), match.end()))
        code = int(match.group(1), 16)
        if previous is not None and previous[1] == match.start() and code >= 0xDC00:
            pairs.append(previous[0])
        previous = (match.start(), match.end()) if code < 0xDC00 else None
    if not pieces:
        return text, []
    out, last = [], 0
    for start, end in pieces:
        out += [text[last:start], "\\ufffd"]
        last = end
    return "".join(out) + text[last:], pairs


def join_pairs(root: Node, text: str, pairs: list) -> None:
    """Double-quoted scalars that held a surrogate pair: decode them as JSON, as kubectl does."""
    def holds_pair(first: int, last: int) -> bool:
        at = bisect.bisect_left(pairs, first)  # pairs are in text order
        return at < len(pairs) and pairs[at] < last

    if not holds_pair(root.start_mark.index, root.end_mark.index):
        return
    for node in _walk_nodes(root):
        if node.__class__ is ScalarNode and node.style == '"' and \
                holds_pair(node.start_mark.index, node.end_mark.index):
            try:
                value = json.loads(text[node.start_mark.index:node.end_mark.index])
            except ValueError:
                continue  # not a JSON string: kubectl's JSON reader refuses the file anyway
            node.value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _walk_nodes(root: Node):
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            yield node
            stack.extend(child_nodes(node))


def unprintable_at(text: str) -> int | None:
    """Where the first character is that YAML does not allow (a BOM only at the start)."""
    start = 1 if text.startswith("\ufeff") else 0
    found = [at for at in (text.find(c, start) for c in _ASCII_UNPRINTABLE) if at >= 0]
    if not text.isascii():
        found += [at for at in (text.find(c, start) for c in _OTHER_UNPRINTABLE) if at >= 0]
    return min(found) if found else None


def unprintable_error(text: str, at: int) -> yaml.MarkedYAMLError:
    line_start = text.rfind("\n", 0, at) + 1
    # No buffer, as libyaml's marks: no snippet, so the pointer into the buffer is never read.
    mark = yaml.Mark("<unicode string>", at, text.count("\n", 0, at), at - line_start, None, 0)
    return yaml.scanner.ScannerError(
        None, None, f"found unacceptable character #x{ord(text[at]):04x}: control characters are not allowed", mark)


def may_be_too_deep(text: str, start: int, end: int) -> bool:
    """libyaml's composer recurses in C, so a deep enough document would crash the process.
    Block nesting needs more indentation or another `-`/`?` indicator, flow nesting another
    bracket, so for real manifests a cheap count proves the depth safe."""
    if parsers.bounds_depth():
        return False
    if text.find(_DEEP_INDENT, start, end) >= 0:
        return True
    limit = MAX_DEPTH // 2
    if sum(text.count(c, start, end) for c in "[{-?") < limit:
        return False
    bounds = [start] + [m.start() for m in SEPARATOR_RE.finditer(text, start, end) if m.start() > start] + [end]
    return any(sum(text.count(c, a, b) for c in "[{-?") >= limit for a, b in zip(bounds, bounds[1:]))


def depth_problem(source: Source, text: str, start: int, end: int, line: int, index: int,
                   composer=None) -> Problem | None:
    """Count the real depth from the event stream (which does not recurse)."""
    depth = 0
    try:
        probe = (composer or parsers.composer())(text[start:end])
        while probe.check_event():
            event = probe.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return Problem(source.name, mark.line + line + 1, mark.column + 1,
                                   f"exceeded max depth of {MAX_DEPTH}", index)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None  # the parse reports the error itself
    return None


def key_problem(root: Node, source: Source, index: int) -> Problem | None:
    """Duplicate keys anywhere in the document: the API server rejects them, and a reader
    that keeps one of two `hostNetwork:` keys could be fooled."""
    stack, seen = [root], set()
    aliased = may_have_aliases(source.text, root.start_mark.index, root.end_mark.index)
    while stack:
        node = stack.pop()
        if aliased:
            if id(node) in seen:
                continue
            seen.add(id(node))
        if node.__class__ is MappingNode:
            pairs = node.value
            if len(pairs) > 1:
                try:
                    distinct = len({key.value for key, _ in pairs})
                except TypeError:
                    distinct = -1
                if distinct != len(pairs):
                    try:
                        mapping(node)
                    except NodeError as error:
                        return _problem_at(source, error.node, index, error.message)
            stack.extend([value for _, value in pairs])
        elif node.__class__ is SequenceNode:
            stack.extend(node.value)
    return None


def may_have_aliases(text: str, start: int = 0, end: int | None = None) -> bool:
    """A cheap, conservative test: false means the text between start and end surely has
    no alias (a `*name` token where a node may start)."""
    end = len(text) if end is None else end
    if text.find("&", start, end) < 0:
        return False  # no anchor, so no alias can resolve
    star = text.find("*", start, end)
    while star >= 0:
        before = text[star - 1] if star > 0 else " "
        after = text[star + 1] if star + 1 < len(text) else " "
        if before in _NODE_START and after not in _NODE_START:
            return True
        star = text.find("*", star + 1, end)
    return False


def alias_problem(root: Node, source: Source, index: int) -> Problem | None:
    """go-yaml v2 refuses documents whose aliases expand far beyond their size (billion
    laughs), and recursive aliases; so do we. Aliased nodes are shared in the composed
    graph, so counting is linear in the document's size."""
    if not may_have_aliases(source.text, root.start_mark.index, root.end_mark.index):
        return None
    sizes: dict = {}
    active = set()
    stack = [(root, False)]
    while stack:  # post-order: the expanded size of every node
        node, finished = stack.pop()
        if finished:
            children = child_nodes(node)
            if any(id(child) not in sizes for child in children):
                return _problem_at(source, node, index, "an alias refers to a node that contains it")
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if id(node) in sizes or id(node) in active:
            continue
        active.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in child_nodes(node))
    decoded, aliased, seen, walk = sizes[id(root)], 0, {id(root)}, [root]
    while walk:  # every reference after the first is an alias expansion
        for child in child_nodes(walk.pop()):
            if id(child) in seen:
                aliased += sizes[id(child)]
            else:
                seen.add(id(child))
                walk.append(child)
    if aliased > 100 and decoded > 1000 and aliased / decoded > _allowed_alias_ratio(decoded):
        return _problem_at(source, root, index, f"document contains excessive aliasing "
                           f"({aliased} of {decoded} nodes would come from aliases)")
    return None


def _problem_at(source: Source, node: Node, index: int, message: str) -> Problem:
    return Problem(source.name, node.start_mark.line + 1, node.start_mark.column + 1, message, index)


def child_nodes(node: Node) -> list:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return node.value
    return []


def _allowed_alias_ratio(decoded: int) -> float:
    # go-yaml v2 decode.go allowedAliasRatio
    if decoded <= 400_000:
        return 0.99
    if decoded >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * ((decoded - 400_000) / 3_600_000)


# helm writes `# Source: CHART/templates/FILE` (or CHART/charts/SUB/templates/FILE).
