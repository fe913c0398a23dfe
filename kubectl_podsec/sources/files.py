"""Find manifest files in the paths given, and load them (files or stdin) as text: UTF-8,
or UTF-16/UTF-32 with a byte-order mark; binary files are refused."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator

from kubectl_podsec.sources.types import Notice, Problem, Source

# Byte-order marks, UTF-32 first: its little-endian BOM begins with UTF-16's.
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"), (b"\xef\xbb\xbf", "utf-8"))
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def find_sources(specs: list, recursive: bool) -> Iterator[Source | Problem | Notice]:
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


def _walk(directory: str, recursive: bool, active: set) -> Iterator[Source | Problem | Notice]:
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


def load(source: Source, stdin=None, identify: bool = False) -> Problem | None:
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


def _decode_wide(source: Source, data: bytes) -> Problem | None:
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
