"""The YAML parser: libyaml where PyYAML has it, else PyYAML's pure-Python parser made to
read every input as libyaml (and kubectl's go-yaml) does. Both compose nodes without
resolving tags, keeping every node's line and column."""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING

import yaml
import yaml.scanner
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

MAX_DEPTH = 1000  # libyaml 0.2.6 refuses deeper nesting itself; we refuse it everywhere

# libyaml composes nodes in C; without it (the krew zipapp) PyYAML's pure-Python parser
# does. Both must read every input alike: _PureParser makes the pure one follow libyaml
# where they differ, and tests run the reading tests under both (KUBECTL_PODSEC_PURE_YAML=1
# forces the pure-Python one).
if TYPE_CHECKING:
    from yaml._yaml import CParser

_CParser: type[CParser] | None
try:
    from yaml._yaml import CParser as _LibyamlParser
    from yaml._yaml import get_version as _libyaml_version

    _CParser = _LibyamlParser
except ImportError:  # pragma: no cover - exercised by the zipapp test
    _CParser = None


_BLANK_OR_END = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\r\n\x85\u2028\u2029"
# In a double-quoted scalar: an escape (its hex digits, or its one character), or the end.
_QUOTED_RE = re.compile(r'\\(?:[xuU]([0-9A-Fa-f]*)|([\s\S]))|"')
_ESCAPE_DIGITS = {"x": 2, "u": 4, "U": 8}
_TAG_RE = re.compile("[^\0 \t\r\n\x85\u2028\u2029]*")
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


# A `---` or `...` line: where a stream of documents splits.
SEPARATOR_RE = re.compile(r"^(---|\.\.\.)(?=[ \t\r]|$)", re.M)


class _Unresolved:
    """Composes nodes without resolving tags: values are read the Kubernetes way later,
    only where a check looks (yamlnodes.scalar)."""

    def resolve(self, kind, value, implicit):
        return None

    def descend_resolver(self, current_node, current_index):
        pass

    def ascend_resolver(self):
        pass


class PureComposer(_Unresolved, _PureParser):
    def __init__(self, stream):
        # The pure-Python composer recurses a few frames per level: raise the limit when one
        # is used, not as a side effect of importing this module.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 5 * MAX_DEPTH))
        super().__init__(stream)


CComposer = type("CComposer", (_Unresolved, _CParser), {}) if _CParser is not None else None
# The composer class in use and whether it bounds nesting itself: set by use_parser, below.
_Composer: type
_PARSER_BOUNDS_DEPTH: bool


def use_parser(pure: bool) -> None:
    """Compose with PyYAML's pure-Python parser (as the krew zipapp does) or with libyaml."""
    global _Composer, _PARSER_BOUNDS_DEPTH
    if pure or CComposer is None:
        _Composer, _PARSER_BOUNDS_DEPTH = PureComposer, False
    else:
        # From 0.2.6 libyaml bounds nesting itself, so its recursive composer cannot overflow.
        _Composer, _PARSER_BOUNDS_DEPTH = CComposer, _libyaml_version() >= (0, 2, 6)


def pure_parser() -> bool:
    return _Composer is PureComposer


def composer() -> type:
    """The composer class in use (see use_parser)."""
    return _Composer


def bounds_depth() -> bool:
    """Whether the parser in use refuses deep nesting itself, so that composing cannot overflow."""
    return _PARSER_BOUNDS_DEPTH


use_parser(bool(os.environ.get("KUBECTL_PODSEC_PURE_YAML")))


def yaml_message(error: yaml.YAMLError) -> str:
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    context = " ".join((getattr(error, "context", None) or "").split())
    if _Composer is PureComposer:
        for pattern, wording in _LIBYAML_WORDING:
            problem, context = pattern.sub(wording, problem), pattern.sub(wording, context)
        if context == "while parsing a tag":
            context = "while scanning a tag"
        if problem.startswith("expected <block end>"):
            in_sequence = context == "while parsing a block collection"
            problem = "did not find expected '-' indicator" if in_sequence else "did not find expected key"
    return f"{context}: {problem}" if context else problem
