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
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml composes nodes in C; the pure-Python parser (a zipapp) gives the same nodes.
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - exercised by the zipapp test
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
# go-yaml refuses deeper documents; libyaml's composer recurses in C and would crash instead.
MAX_DEPTH = 10000
_SEPARATOR_RE = re.compile(r"^(---|\.\.\.)(?=[ \t\r]|$)", re.M)
_LONG_LINE_RE = re.compile(r"[^\n]{2000}")
_BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))


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


@dataclass
class Source:
    name: str  # as given or found; "-" for stdin
    path: Optional[str]  # None for stdin
    text: str = ""
    bom: bool = False


@dataclass
class Document:
    source: Source
    index: int  # counts every document of the source from 0, empty ones included
    root: Node


def find_sources(specs: list, recursive: bool) -> Iterator[Union[Source, Problem]]:
    """Files named by -f and positional arguments: a directory gives its .yaml, .yml and
    .json files (recursively with -R), in name order."""
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


def _walk(directory: str, recursive: bool, active: set) -> Iterator[Union[Source, Problem]]:
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
            yield Source(path, path)


def _os_message(error: OSError) -> str:
    return (error.strerror or str(error)).lower() if error.strerror else str(error)


def load(source: Source, stdin=None) -> Optional[Problem]:
    """Fill `source.text`; a Problem when it cannot be read or is not UTF-8 text."""
    try:
        if source.path is None:
            data = (stdin or sys.stdin.buffer).read()
        else:
            with open(source.path, "rb") as handle:
                data = handle.read()
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
    text, index = source.text, 0
    problem = _depth_problem(source)
    if problem:
        yield problem
        return
    start_line = start_pos = 0
    while True:
        parser = _Composer(text[start_pos:] if start_pos else text)
        last_end = start_line
        try:
            while parser.check_node():
                root = parser.get_node()
                if start_pos:
                    _shift(root, start_line, start_pos)
                last_end = root.end_mark.line
                yield _alias_problem(root, source, index) or Document(source, index, root)
                index += 1
            return
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            error_line = start_line + mark.line if mark else last_end
            yield Problem(source.name, error_line + 1, mark.column + 1 if mark else None,
                          f"invalid YAML: {_yaml_message(error)}", index)
            index += 1
            separators = [(line, pos) for line, pos in _separators(text) if line >= last_end]
            failing_start = separators[0][0] if separators and separators[0][0] <= error_line else -1
            resume = next(((line, pos) for line, pos in separators
                           if line >= error_line and line > failing_start and line > start_line), None)
            if resume is None:
                return
            start_line, start_pos = resume


def _yaml_message(error: yaml.YAMLError) -> str:
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    context = " ".join((getattr(error, "context", None) or "").split())
    return f"{context}: {problem}" if context else problem


def _separators(text: str) -> list:
    """(line, offset) of every `---` line."""
    found = []
    for match in _SEPARATOR_RE.finditer(text):
        if match.group(1) == "---":
            found.append((text.count("\n", 0, match.start()), match.start()))
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


def _depth_problem(source: Source) -> Optional[Problem]:
    """Nesting depth is at most twice the longest line plus the bracket depth; only when
    that bound is large do we count the real depth, from the event stream (no recursion)."""
    text = source.text
    if not _LONG_LINE_RE.search(text) and (text.count("[") + text.count("{")) < 2000:
        return None
    depth, index = 0, 0
    try:
        probe = _Composer(text)
        while probe.check_event():
            event = probe.get_event()
            if isinstance(event, yaml.DocumentEndEvent):
                index += 1
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return Problem(source.name, mark.line + 1, mark.column + 1,
                                   f"exceeded max depth of {MAX_DEPTH}; not reading this file", index)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None  # documents() reports the parse error with its recovery
    return None


def _alias_problem(root: Node, source: Source, index: int) -> Optional[Problem]:
    """go-yaml v2 refuses documents whose aliases expand far beyond their size (billion
    laughs), and recursive aliases; so do we. Aliased nodes are shared in the composed
    graph, so counting is linear in the document's size."""
    if "*" not in source.text or "&" not in source.text:
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


def is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and not node.style and node.tag is None and node.value in ("", "~", "null", "Null", "NULL")
