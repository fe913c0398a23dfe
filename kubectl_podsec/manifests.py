"""Read manifests from files, directories and stdin, and split them into documents whose
nodes keep their line and column.

Bad input is normal input: every problem becomes a `Problem` naming the source, line and
column, and the documents and files around it are still read.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from typing import Iterator, Optional, Union

import yaml
import yaml.scanner
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from kubectl_podsec.yamlnodes import NodeError, mapping
from kubectl_podsec.paths import file_location

MAX_DEPTH = 1000  # libyaml 0.2.6 refuses deeper nesting itself; we refuse it everywhere

# libyaml composes nodes in C; without it (the krew zipapp) PyYAML's pure-Python parser
# does. Both must read every input alike: _PureParser makes the pure one follow libyaml
# where they differ, and tests run the reading tests under both (KUBECTL_PODSEC_PURE_YAML=1
# forces the pure-Python one).
try:
    from yaml._yaml import CParser as _CParser
    from yaml._yaml import get_version as _libyaml_version
except ImportError:  # pragma: no cover - exercised by the zipapp test
    _CParser = None


_BLANK_OR_END = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\r\n\x85\u2028\u2029"
# In a double-quoted scalar: an escape (its hex digits, or its one character), or the end.
_QUOTED_RE = re.compile(r'\\(?:[xuU]([0-9A-Fa-f]*)|([\s\S]))|"')
_ESCAPE_DIGITS = {"x": 2, "u": 4, "U": 8}
_TAG_RE = re.compile("[^\0 \t\r\n\x85\u2028\u2029]*")
# libyaml refuses these characters when it reads; PyYAML when it is constructed, with a
# traceback. We look for them first, for both, with a position. A BOM is allowed only first.
# (One str.find per character is many times faster than a regular expression.)
_ASCII_UNPRINTABLE = [chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]
_OTHER_UNPRINTABLE = [chr(c) for c in (*range(0x80, 0x85), *range(0x86, 0xA0), 0xFEFF, 0xFFFE, 0xFFFF)]
# PyYAML's wording of an error -> libyaml's (which go-yaml, kubectl's reader, shares), so
# that both parsers report the same text.
_LIBYAML_WORDING = [(re.compile(pattern), wording) for pattern, wording in (
    (r"found character .* that cannot start any token", "found character that cannot start any token"),
    (r"(mapping values|mapping keys) are not allowed here", r"\1 are not allowed in this context"),
    (r"sequence entries are not allowed here", "block sequence entries are not allowed in this context"),
    (r"expected ',' or '([\]}])', but got .*", r"did not find expected ',' or '\1'"),
    (r"expected '<document start>', but found .*", "did not find expected <document start>"),
    (r"expected the node content, but found .*", "did not find expected node content"),
    (r"found (undefined alias|undefined tag handle) .*", r"found \1"),
    (r"found duplicate anchor .*; first occurrence", "found duplicate anchor; first occurrence"),
    (r"found duplicate YAML directive", "found duplicate %YAML directive"),
    (r"found incompatible YAML document .*", "found incompatible YAML document"),
    (r"expected alphabetic or numeric character, but found .*",
     "did not find expected alphabetic or numeric character"),
    (r"expected (a comment or a line break|chomping or indentation indicators), but found .*",
     "did not find expected comment or line break"),
    (r"expected indentation indicator in the range 1-9, but found 0", "found an indentation indicator equal to 0"),
    (r"found unexpected document separator", "found unexpected document indicator"),
    (r"expected '>', but found .*", "did not find the expected '>'"),
    (r"expected ' ', but found .*", "did not find expected whitespace or line break"),
)]


class _PureParser(Reader, Scanner, Parser, Composer):
    """PyYAML's pure-Python parser, following libyaml (and go-yaml, its port, which
    kubectl uses) where they differ: tabs as separators, and escapes of surrogates or of
    code points beyond U+10FFFF, which libyaml refuses and PyYAML accepts or crashes on."""

    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)

    def scan_to_next_token(self):
        # libyaml skips tabs too, except where one could be taken for indentation: at the
        # start of a line in block context, and after `-`, `?` and a complex key's `:`.
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        while True:
            while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                self.forward()
            if self.peek() == "#":
                while self.peek() not in "\0" + _BREAKS:
                    self.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain_spaces(self, indent, start_mark):
        # As PyYAML's, but tabs separate words and may trail a line, as in libyaml.
        length = 0
        while self.peek(length) in " \t":
            length += 1
        whitespaces = self.prefix(length)
        self.forward(length)
        if self.peek() not in _BREAKS:
            return [whitespaces] if whitespaces else []
        line_break = self.scan_line_break()
        self.allow_simple_key = True
        if self.prefix(3) in ("---", "...") and self.peek(3) in _BLANK_OR_END:
            return None
        breaks = []
        while self.peek() in " \t" + _BREAKS:
            if self.peek() == "\t" and self.column < indent:
                raise yaml.scanner.ScannerError("while scanning a plain scalar", start_mark,
                                                "found a tab character that violates indentation", self.get_mark())
            if self.peek() in " \t":
                self.forward()
                continue
            breaks.append(self.scan_line_break())
            if self.prefix(3) in ("---", "...") and self.peek(3) in _BLANK_OR_END:
                return None
        chunks = [line_break] if line_break != "\n" else ([] if breaks else [" "])
        return chunks + breaks

    def scan_block_scalar_ignored_line(self, start_mark):
        while self.peek() == "\t":  # `|<tab># comment`: PyYAML skips only spaces here
            self.forward()
        Scanner.scan_block_scalar_ignored_line(self, start_mark)

    def scan_block_scalar_indentation(self):
        found = Scanner.scan_block_scalar_indentation(self)
        self._block_scalar_tab(None)
        return found

    def scan_block_scalar_breaks(self, indent):
        found = Scanner.scan_block_scalar_breaks(self, indent)
        self._block_scalar_tab(indent)
        return found

    def _block_scalar_tab(self, indent):
        if self.peek() == "\t" and (indent is None or self.column < indent):
            raise yaml.scanner.ScannerError("while scanning a block scalar", None, "found a tab character "
                                            "where an indentation space is expected", self.get_mark())

    def scan_tag(self):
        # PyYAML wants a space after a tag, libyaml a space or a tab: show it a space.
        end = _TAG_RE.match(self.buffer, self.pointer).end()
        if self.buffer[end:end + 1] != "\t":
            return Scanner.scan_tag(self)
        buffer, self.buffer = self.buffer, self.buffer[:end] + " " + self.buffer[end + 1:]
        try:
            return Scanner.scan_tag(self)
        finally:
            self.buffer = buffer

    def scan_directive_name(self, start_mark):
        name = Scanner.scan_directive_name(self, start_mark)
        if name not in ("YAML", "TAG"):  # PyYAML ignores other directives, libyaml refuses them
            raise yaml.scanner.ScannerError("while scanning a directive", start_mark,
                                            "found unknown directive name", self.get_mark())
        return name

    def scan_flow_scalar(self, style):
        # Check the escapes first, as libyaml does: PyYAML takes surrogates (which cannot be
        # written as UTF-8 later) and crashes on code points beyond U+10FFFF.
        if style == '"':
            for match in _QUOTED_RE.finditer(self.buffer, self.pointer + 1):
                digits, other = match.group(1), match.group(2)
                if match.group(0) == '"':
                    break
                if other is not None:
                    if other not in self.ESCAPE_REPLACEMENTS and other not in _BREAKS:
                        self._quoted_error("found unknown escape character", match.start())
                    continue
                wanted = _ESCAPE_DIGITS[match.group(0)[1]]
                if len(digits) < wanted:
                    self._quoted_error("did not find expected hexdecimal number", match.start() + 2)
                code = int(digits[:wanted], 16)
                if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                    self._quoted_error("found invalid Unicode character escape code", match.start() + 2)
        return Scanner.scan_flow_scalar(self, style)

    def _quoted_error(self, problem: str, pointer: int):
        raise yaml.scanner.ScannerError("while parsing a quoted scalar", self.get_mark(), problem,
                                        self._mark_at(pointer))

    def _mark_at(self, pointer):
        state = self.pointer, self.index, self.line, self.column
        self.forward(pointer - self.pointer)
        mark = self.get_mark()
        self.pointer, self.index, self.line, self.column = state
        return mark


# Byte-order marks, UTF-32 first: its little-endian BOM begins with UTF-16's.
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8"))
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SEPARATOR_RE = re.compile(r"^(---|\.\.\.)(?=[ \t\r]|$)", re.M)
_DEEP_INDENT = "\n" + " " * (MAX_DEPTH // 2)
# Characters after which a node (and so an alias) may start, and which cannot start a name.
_NODE_START = frozenset(" \t\r\n[]{},:?-")
_JSON_START_RE = re.compile(r"\s*\{")
_JSON_SURROGATE_RE = re.compile(r"\\(?:u([dD][89a-fA-F][0-9a-fA-F]{2})|[\s\S])")


class _Unresolved:
    """Composes nodes without resolving tags: values are read the Kubernetes way later,
    only where a check looks (yamlnodes.scalar)."""

    def resolve(self, kind, value, implicit):
        return None

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


class _PureComposer(_Unresolved, _PureParser):
    def __init__(self, stream):
        # The pure-Python composer recurses a few frames per level: raise the limit when one
        # is used, not as a side effect of importing this module.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 5 * MAX_DEPTH))
        super().__init__(stream)


_CComposer = type("_CComposer", (_Unresolved, _CParser), {}) if _CParser is not None else None


def use_parser(pure: bool) -> None:
    """Compose with PyYAML's pure-Python parser (as the krew zipapp does) or with libyaml."""
    global _Composer, _PARSER_BOUNDS_DEPTH
    if pure or _CComposer is None:
        _Composer, _PARSER_BOUNDS_DEPTH = _PureComposer, False
    else:
        # From 0.2.6 libyaml bounds nesting itself, so its recursive composer cannot overflow.
        _Composer, _PARSER_BOUNDS_DEPTH = _CComposer, _libyaml_version() >= (0, 2, 6)


def pure_parser() -> bool:
    return _Composer is _PureComposer


use_parser(bool(os.environ.get("KUBECTL_PODSEC_PURE_YAML")))


@dataclass(frozen=True)
class Problem:
    source: str
    line: Optional[int]
    column: Optional[int]
    message: str
    document: Optional[int] = None

    def __str__(self) -> str:
        return f"{file_location(self.source, self.line, self.column)}: {self.message}"


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
    encoding: str = "utf-8"  # of the bytes read; UTF-16 and UTF-32 only with a BOM
    identity: Optional[tuple] = None  # of the file as read: fix writes only if it is unchanged

    def encode(self, text: str) -> bytes:
        """`text` as the source's bytes were: the same encoding and BOM, so that `fix`
        writes back what it read. The one place that knows the file's encoding."""
        return (("\ufeff" if self.bom else "") + text).encode(self.encoding)


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
    """Fill `source.text`; a Problem when it cannot be read or is not UTF-8 text (or
    UTF-16/UTF-32 with a byte-order mark). With `identify`, also `source.identity` of a
    regular file, for writing it back safely."""
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
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            source.bom, data = True, data[len(bom):]
            if encoding != "utf-8":
                source.encoding = encoding
                return _decode_wide(source, data)
            break
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


def _decode_wide(source: Source, data: bytes) -> Optional[Problem]:
    """UTF-16 or UTF-32 after a BOM (what Windows PowerShell's `>` writes): kubectl reads
    these too. Positions count characters, as for UTF-8."""
    try:
        text = data.decode(source.encoding)
    except UnicodeDecodeError as error:
        line, column = _text_line_col(data[:error.start].decode(source.encoding, "replace"))
        name = source.encoding.upper().replace("-LE", "").replace("-BE", "")
        return Problem(source.name, line, column, f"not {name}: {error.reason}")
    nul = text.find("\x00")
    if nul >= 0:
        line, column = _text_line_col(text[:nul])
        return Problem(source.name, line, column, "binary file: NUL character (not a manifest)")
    source.text = text
    return None


def _text_line_col(before: str) -> tuple:
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _line_col(data: bytes, offset: int) -> tuple:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8", "replace")) + 1


def documents(source: Source) -> Iterator[Union[Document, Problem]]:
    """Every document of the source with its node tree. A document that does not parse is a
    Problem; reading resumes at the next `---` line, where kubectl's own reader splits too."""
    text, pairs = _json_surrogates(source.text)
    if not _may_be_too_deep(text, 0, len(text)):
        yield from _parse(source, 0, 0, len(text), 0, text, pairs)
        return
    # Rare: some document may nest deeper than is safe to compose. Take the documents one
    # `---` chunk at a time, so that only the deep ones are refused.
    index, bounds = 0, [(0, 0)] + _separators(text) + [(None, len(text))]
    for (line, start), (_, end) in zip(bounds, bounds[1:]):
        problem = _depth_problem(source, text, start, end, line, index) if _may_be_too_deep(text, start, end) else None
        if problem:
            yield problem
            index += 1
        else:
            index = yield from _parse(source, line, start, end, index, text, pairs)


def _json_surrogates(text: str) -> tuple:
    """kubectl reads a stream that starts with `{` as JSON, where `\\ud83d\\ude00` is one
    character and a lone surrogate escape becomes U+FFFD; YAML parsers refuse both. So for
    JSON, give the parser each surrogate escape as `\\ufffd` (same length: positions hold),
    and return where a pair was, to join it again (_join_pairs)."""
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


def _join_pairs(root: Node, text: str, pairs: list) -> None:
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
            stack.extend(_children(node))


def _parse(source: Source, start_line: int, start_pos: int, end_pos: int, index: int, text: str,
           pairs: list):
    """Documents of text[start_pos:end_pos] (source.text, or what _json_surrogates made of it);
    returns the next document index."""
    while True:
        whole = start_pos == 0 and end_pos == len(text)
        chunk = text if whole else text[start_pos:end_pos]
        last_end, parsed = start_line, 0
        bad = _unprintable_at(chunk)
        try:
            # Parse up to a character no parser takes; the document that holds it is an error.
            parser = _Composer(chunk if bad is None else chunk[:bad])
            while parser.check_node():
                root = parser.get_node()
                if bad is not None and root.end_mark.index >= bad:
                    break
                if start_pos:
                    _shift(root, start_line, start_pos)
                if pairs:
                    _join_pairs(root, source.text, pairs)
                last_end, parsed = root.end_mark.line, parsed + 1
                yield _alias_problem(root, source, index) or _key_problem(root, source, index) \
                    or Document(source, index, root)
                index += 1
            if bad is None:
                return index
            raise _unprintable(chunk, bad)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            if bad is not None and (mark is None or mark.index >= bad):
                error = _unprintable(chunk, bad)  # truncated there: report why
                mark = error.problem_mark
            error_line = start_line + mark.line if mark else last_end
            column = mark.column + 1 if mark else None
            if mark is not None and mark.line > chunk.count("\n"):
                # libyaml puts an error at the end of input without a final newline on a line
                # that does not exist; the pure parser (and a reader) at the end of the last one.
                error_line = start_line + chunk.count("\n")
                column = len(chunk) - (chunk.rfind("\n") + 1) + 1
            deep = None
            if "exceeded maximum nesting depth" in str(error):
                # libyaml's own limit (also 1000): report it as the pure path does, and for
                # block nesting where it does (libyaml counts block levels differently; a
                # flow level it reports at the same place, and probing that would be slow).
                deep = Problem(source.name, error_line + 1, mark.column + 1,
                               f"exceeded max depth of {MAX_DEPTH}", index)
                if "block level" in str(error):
                    deep = _depth_problem(source, text, start_pos, end_pos, start_line, index, _PureComposer) or deep
            yield deep or Problem(source.name, error_line + 1, column, f"invalid YAML: {_yaml_message(error)}", index)
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


def _unprintable_at(text: str) -> Optional[int]:
    """Where the first character is that YAML does not allow (a BOM only at the start)."""
    start = 1 if text.startswith("\ufeff") else 0
    found = [at for at in (text.find(c, start) for c in _ASCII_UNPRINTABLE) if at >= 0]
    if not text.isascii():
        found += [at for at in (text.find(c, start) for c in _OTHER_UNPRINTABLE) if at >= 0]
    return min(found) if found else None


def _unprintable(text: str, at: int) -> yaml.YAMLError:
    line_start = text.rfind("\n", 0, at) + 1
    mark = yaml.Mark("<unicode string>", at, text.count("\n", 0, at), at - line_start, None, None)
    return yaml.scanner.ScannerError(
        None, None, f"found unacceptable character #x{ord(text[at]):04x}: control characters are not allowed", mark)


def _yaml_message(error: yaml.YAMLError) -> str:
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    context = " ".join((getattr(error, "context", None) or "").split())
    if _Composer is _PureComposer:
        for pattern, wording in _LIBYAML_WORDING:
            problem, context = pattern.sub(wording, problem), pattern.sub(wording, context)
        if context == "while parsing a tag":
            context = "while scanning a tag"
        if problem.startswith("expected <block end>"):
            in_sequence = context == "while parsing a block collection"
            problem = "did not find expected '-' indicator" if in_sequence else "did not find expected key"
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


def _depth_problem(source: Source, text: str, start: int, end: int, line: int, index: int,
                   composer=None) -> Optional[Problem]:
    """Count the real depth from the event stream (which does not recurse)."""
    depth = 0
    try:
        probe = (composer or _Composer)(text[start:end])
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
