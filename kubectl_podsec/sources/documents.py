"""Split a source into documents whose nodes keep the source's line and column, reading
past a document that does not parse to the next `---`, as kubectl does."""

from __future__ import annotations

from collections.abc import Iterator

import yaml
from yaml.nodes import Node

from kubectl_podsec.sources import parsers
from kubectl_podsec.sources.parsers import MAX_DEPTH, SEPARATOR_RE, PureComposer, yaml_message
from kubectl_podsec.sources.safety import (
    alias_problem,
    child_nodes,
    depth_problem,
    join_pairs,
    json_surrogates,
    key_problem,
    may_be_too_deep,
    unprintable_at,
    unprintable_error,
)
from kubectl_podsec.sources.types import Document, Problem, Source


def documents(source: Source) -> Iterator[Document | Problem]:
    """Every document of the source with its node tree. A document that does not parse is a
    Problem; reading resumes at the next `---` line, where kubectl's own reader splits too."""
    text, pairs = json_surrogates(source.text)
    if not may_be_too_deep(text, 0, len(text)):
        yield from _parse(source, 0, 0, len(text), 0, text, pairs)
        return
    # Rare: some document may nest deeper than is safe to compose. Take the documents one
    # `---` chunk at a time, so that only the deep ones are refused.
    index, bounds = 0, [(0, 0)] + _separators(text) + [(None, len(text))]
    for (line, start), (_, end) in zip(bounds, bounds[1:]):
        problem = depth_problem(source, text, start, end, line, index) if may_be_too_deep(text, start, end) else None
        if problem:
            yield problem
            index += 1
        else:
            index = yield from _parse(source, line, start, end, index, text, pairs)


def _parse(source: Source, start_line: int, start_pos: int, end_pos: int, index: int, text: str,
           pairs: list):
    """Documents of text[start_pos:end_pos] (source.text, or what json_surrogates made of it);
    returns the next document index."""
    while True:
        whole = start_pos == 0 and end_pos == len(text)
        chunk = text if whole else text[start_pos:end_pos]
        last_end, parsed = start_line, 0
        bad = unprintable_at(chunk)
        try:
            # Parse up to a character no parser takes; the document that holds it is an error.
            parser = parsers.composer()(chunk if bad is None else chunk[:bad])
            while parser.check_node():
                root = parser.get_node()
                if bad is not None and root.end_mark.index >= bad:
                    break
                if start_pos:
                    _shift(root, start_line, start_pos)
                if pairs:
                    join_pairs(root, source.text, pairs)
                last_end, parsed = root.end_mark.line, parsed + 1
                yield alias_problem(root, source, index) or key_problem(root, source, index) \
                    or Document(source, index, root)
                index += 1
            if bad is None:
                return index
            raise unprintable_error(chunk, bad)
        except yaml.YAMLError as error:
            mark: yaml.Mark | None = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
            if bad is not None and (mark is None or mark.index >= bad):
                error = unprintable_error(chunk, bad)  # truncated there: report why
                mark = error.problem_mark
            error_line = start_line + mark.line if mark else last_end
            column = mark.column + 1 if mark else None
            if mark is not None and mark.line > chunk.count("\n"):
                # libyaml puts an error at the end of input without a final newline on a line
                # that does not exist; the pure parser (and a reader) at the end of the last one.
                error_line = start_line + chunk.count("\n")
                column = len(chunk) - (chunk.rfind("\n") + 1) + 1
            deep = None
            # The problem and context fields, not str(error), which quotes the input too.
            problem, context = getattr(error, "problem", None) or "", getattr(error, "context", None) or ""
            if problem == "exceeded maximum nesting depth":
                # libyaml's own limit (also 1000): report it as the pure path does, and for
                # block nesting where it does (libyaml counts block levels differently; a
                # flow level it reports at the same place, and probing that would be slow).
                deep = Problem(source.name, error_line + 1, None if mark is None else mark.column + 1,
                               f"exceeded max depth of {MAX_DEPTH}", index)
                if "block level" in context:
                    deep = depth_problem(source, text, start_pos, end_pos, start_line, index, PureComposer) or deep
            yield deep or Problem(source.name, error_line + 1, column, f"invalid YAML: {yaml_message(error)}", index)
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


def _separators(text: str) -> list:
    """(line, offset) of every `---` line. A `---` line starts the text or follows a \\n:
    str.find finds those, and SEPARATOR_RE is matched there only (several times faster than
    letting it try every position)."""
    found, line, previous = [], 0, 0
    at = 0 if text.startswith("---") else text.find("\n---") + 1
    while at >= 0:
        if (at or text.startswith("---")) and SEPARATOR_RE.match(text, at):
            line += text.count("\n", previous, at)
            previous = at
            found.append((line, at))
        at = text.find("\n---", at)
        at = at + 1 if at >= 0 else -1
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
        stack.extend(child_nodes(node))


def _moved(mark: yaml.Mark, lines: int, offset: int) -> yaml.Mark:
    # No buffer, as libyaml's marks: no snippet, so the pointer into the buffer is never read.
    return yaml.Mark(mark.name, mark.index + offset, mark.line + lines, mark.column, None, 0)
