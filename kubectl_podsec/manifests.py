"""Read manifests from files, directories and stdin, and split them into documents whose
nodes keep their line and column.

Bad input is normal input: every problem becomes a `Problem` naming the source, line and
column, and the documents and files around it are still read.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from typing import Iterator, Optional, Union

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from kubectl_podsec.yamlnodes import NodeError, mapping

MAX_DEPTH = 1000  # libyaml 0.2.6 refuses deeper nesting itself; we refuse it everywhere

try:  # libyaml composes nodes in C; the pure-Python parser (a zipapp) gives the same nodes.
    from yaml._yaml import CParser as _Parser
    from yaml._yaml import get_version as _libyaml_version

    # From 0.2.6 libyaml bounds nesting itself, so its recursive composer cannot overflow.
    _PARSER_BOUNDS_DEPTH = _libyaml_version() >= (0, 2, 6)
except ImportError:  # pragma: no cover - exercised by the zipapp test
    _PARSER_BOUNDS_DEPTH = False
    # The pure-Python composer recurses a few frames per level.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5 * MAX_DEPTH))
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SEPARATOR_RE = re.compile(r"^(---|\.\.\.)(?=[ \t\r]|$)", re.M)
_DEEP_INDENT = "\n" + " " * (MAX_DEPTH // 2)
# Characters after which a node (and so an alias) may start, and which cannot start a name.
_NODE_START = frozenset(" \t\r\n[]{},:?-")


class _Composer(_Parser):
    """Composes nodes without resolving tags: values are read the Kubernetes way later,
    only where a check looks (yamlnodes.scalar)."""

    def resolve(self, kind, value, implicit):
        return None

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


@dataclass(frozen=True)
class Problem:
    source: str
    line: Optional[int]
    column: Optional[int]
    message: str
    document: Optional[int] = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Notice:
    """Something worth saying that is no error, such as a file skipped in a folder."""
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class Source:
    name: str  # as given or found; "-" for stdin
    path: Optional[str]  # None for stdin
    text: str = ""
    bom: bool = False
    identity: Optional[tuple] = None  # of the file as read: fix writes only if it is unchanged

    def encode(self, text: str) -> bytes:
        """`text` as this source's bytes: the one place that knows the file's encoding."""
        return ("\ufeff" + text if self.bom else text).encode("utf-8")


@dataclass
class Document:
    source: Source
    index: int  # counts every document of the source from 0, empty ones included
    root: Node


def find_sources(specs: list, recursive: bool) -> Iterator[Union[Source, Problem, Notice]]:
    """Files named by -f and positional arguments: a directory gives its .yaml, .yml and
    .json files (recursively with -R), in name order, and a Notice for each of those names
    that is no regular file. A path named explicitly is read whatever it is (a FIFO,
    /dev/fd/63 from `<(helm template ...)`)."""
    for spec in specs:
        if spec == "-":
            yield Source("-", None)
            continue
        try:
            mode = os.stat(spec).st_mode
        except OSError as error:
            yield Problem(spec, None, None, _os_message(error))
            continue
        if stat.S_ISDIR(mode):
            yield from _walk(spec, recursive, {os.path.realpath(spec)})
        else:
            yield Source(spec, spec)


def _walk(directory: str, recursive: bool, active: set) -> Iterator[Union[Source, Problem, Notice]]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as error:
        yield Problem(directory, None, None, _os_message(error))
        return
    for entry in entries:
        path = os.path.join(directory, entry.name)
        try:
            is_dir = entry.is_dir()
        except OSError as error:
            yield Problem(path, None, None, _os_message(error))
            continue
        if is_dir:
            if not recursive:
                continue
            real = os.path.realpath(path)
            if real in active:
                yield Problem(path, None, None, f"symlink loop: {path} leads back to {real}")
                continue
            yield from _walk(path, recursive, active | {real})
        elif entry.name.endswith(MANIFEST_SUFFIXES):
            if entry.is_symlink() and not os.path.exists(path):
                yield Problem(path, None, None, "broken symlink")
                continue
            try:
                regular = entry.is_file()
            except OSError as error:
                yield Problem(path, None, None, _os_message(error))
                continue
            if not regular:  # a FIFO, socket or device: reading it could block forever
                yield Notice(path, "not a regular file; skipped")
                continue
            yield Source(path, path)


def _os_message(error: OSError) -> str:
    return (error.strerror or str(error)).lower() if error.strerror else str(error)


def load(source: Source, stdin=None, identify: bool = False) -> Optional[Problem]:
    """Fill `source.text`; a Problem when it cannot be read or is not UTF-8 text. With
    `identify`, also `source.identity` of a regular file, for writing it back safely."""
    try:
        if source.path is None:
            data = (stdin or sys.stdin.buffer).read()
        else:
            with open(source.path, "rb") as handle:
                data = handle.read()
                info = os.fstat(handle.fileno())
            if identify and stat.S_ISREG(info.st_mode):
                from kubectl_podsec.writes import file_identity

                source.identity = file_identity(info, data)
    except OSError as error:
        return Problem(source.name, None, None, _os_message(error))
    if data.startswith(b"\xef\xbb\xbf"):
        source.bom, data = True, data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _line_col(data, nul)
        return Problem(source.name, line, column, "binary file: NUL byte (not a UTF-8 manifest)")
    try:
        source.text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_col(data, error.start)
        return Problem(source.name, line, column, f"not UTF-8: invalid byte 0x{data[error.start]:02x}")
    return None


def _line_col(data: bytes, offset: int) -> tuple:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8", "replace")) + 1


def documents(source: Source) -> Iterator[Union[Document, Problem]]:
    """Every document of the source with its node tree. A document that does not parse is a
    Problem; reading resumes at the next `---` line, where kubectl's own reader splits too."""
    text = source.text
    if not _may_be_too_deep(text, 0, len(text)):
        yield from _parse(source, 0, 0, len(text), 0)
        return
    # Rare: some document may nest deeper than is safe to compose. Take the documents one
    # `---` chunk at a time, so that only the deep ones are refused.
    index, bounds = 0, [(0, 0)] + _separators(text) + [(None, len(text))]
    for (line, start), (_, end) in zip(bounds, bounds[1:]):
        problem = _depth_problem(source, start, end, line, index) if _may_be_too_deep(text, start, end) else None
        if problem:
            yield problem
            index += 1
        else:
            index = yield from _parse(source, line, start, end, index)


def _parse(source: Source, start_line: int, start_pos: int, end_pos: int, index: int):
    """Documents of text[start_pos:end_pos]; returns the next document index."""
    text = source.text
    while True:
        whole = start_pos == 0 and end_pos == len(text)
        parser = _Composer(text if whole else text[start_pos:end_pos])
        last_end, parsed = start_line, 0
        try:
            while parser.check_node():
                root = parser.get_node()
                if start_pos:
                    _shift(root, start_line, start_pos)
                last_end, parsed = root.end_mark.line, parsed + 1
                yield _alias_problem(root, source, index) or _key_problem(root, source, index) \
                    or Document(source, index, root)
                index += 1
            return index
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            error_line = start_line + mark.line if mark else last_end
            yield Problem(source.name, error_line + 1, mark.column + 1 if mark else None,
                          f"invalid YAML: {_yaml_message(error)}", index)
            index += 1
            separators = [(line, pos) for line, pos in _separators(text)
                          if line >= last_end and pos < end_pos]
            # The failing document began at the first `---` after the last good one, unless
            # it is the first of this chunk and the chunk does not open with `---`.
            opens_with_separator = bool(separators) and separators[0][1] == start_pos
            if parsed or opens_with_separator:
                failing_start = separators[0][0] if separators and separators[0][0] <= error_line else -1
            else:
                failing_start = -1
            resume = next(((line, pos) for line, pos in separators
                           if line >= error_line and line > failing_start and pos > start_pos), None)
            if resume is None:
                return index
            start_line, start_pos = resume


def _yaml_message(error: yaml.YAMLError) -> str:
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    context = " ".join((getattr(error, "context", None) or "").split())
    return f"{context}: {problem}" if context else problem


def _separators(text: str) -> list:
    """(line, offset) of every `---` line."""
    found, line, previous = [], 0, 0
    for match in _SEPARATOR_RE.finditer(text):
        if match.group(1) == "---":
            line += text.count("\n", previous, match.start())
            previous = match.start()
            found.append((line, previous))
    return found


def _shift(root: Node, lines: int, offset: int) -> None:
    """Marks of a resumed parse count from the chunk: move them to the source's."""
    seen = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        node.start_mark = _moved(node.start_mark, lines, offset)
        node.end_mark = _moved(node.end_mark, lines, offset)
        stack.extend(_children(node))


def _moved(mark, lines: int, offset: int):
    return yaml.Mark(mark.name, mark.index + offset, mark.line + lines, mark.column, None, None)


def _may_be_too_deep(text: str, start: int, end: int) -> bool:
    """libyaml's composer recurses in C, so a deep enough document would crash the process.
    Block nesting needs more indentation or another `-`/`?` indicator, flow nesting another
    bracket, so for real manifests a cheap count proves the depth safe."""
    if _PARSER_BOUNDS_DEPTH:
        return False
    if text.find(_DEEP_INDENT, start, end) >= 0:
        return True
    limit = MAX_DEPTH // 2
    if sum(text.count(c, start, end) for c in "[{-?") < limit:
        return False
    bounds = [start] + [m.start() for m in _SEPARATOR_RE.finditer(text, start, end) if m.start() > start] + [end]
    return any(sum(text.count(c, a, b) for c in "[{-?") >= limit for a, b in zip(bounds, bounds[1:]))


def _depth_problem(source: Source, start: int, end: int, line: int, index: int) -> Optional[Problem]:
    """Count the real depth from the event stream (which does not recurse)."""
    depth = 0
    try:
        probe = _Composer(source.text[start:end])
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


def _key_problem(root: Node, source: Source, index: int) -> Optional[Problem]:
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


def may_have_aliases(text: str, start: int = 0, end: Optional[int] = None) -> bool:
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


def _alias_problem(root: Node, source: Source, index: int) -> Optional[Problem]:
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
            children = _children(node)
            if any(id(child) not in sizes for child in children):
                return _problem_at(source, node, index, "an alias refers to a node that contains it")
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if id(node) in sizes or id(node) in active:
            continue
        active.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    decoded, aliased, seen, stack = sizes[id(root)], 0, {id(root)}, [root]
    while stack:  # every reference after the first is an alias expansion
        for child in _children(stack.pop()):
            if id(child) in seen:
                aliased += sizes[id(child)]
            else:
                seen.add(id(child))
                stack.append(child)
    if aliased > 100 and decoded > 1000 and aliased / decoded > _allowed_alias_ratio(decoded):
        return _problem_at(source, root, index, f"document contains excessive aliasing "
                           f"({aliased} of {decoded} nodes would come from aliases)")
    return None


def _problem_at(source: Source, node: Node, index: int, message: str) -> Problem:
    return Problem(source.name, node.start_mark.line + 1, node.start_mark.column + 1, message, index)


def _children(node: Node) -> list:
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
_HELM_SOURCE_RE = re.compile(r"^# Source: (\S+/templates/\S.*?)\s*$", re.M)


def helm_templates(text: str) -> list:
    """(line, template) of every `# Source: chart/templates/x.yaml` comment that `helm
    template` writes before each document it renders."""
    if "# Source: " not in text:
        return []
    found, line, previous = [], 0, 0
    for match in _HELM_SOURCE_RE.finditer(text):
        line += text.count("\n", previous, match.start())
        previous = match.start()
        found.append((line, match.group(1)))
    return found
