"""What reading manifests gives out: sources, their documents, and problems and notices
that name a place in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from yaml.nodes import Node

from kubectl_podsec.paths import file_location

if TYPE_CHECKING:
    from kubectl_podsec.writes import FileIdentity


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    column: int | None
    message: str
    document: int | None = None

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
    path: str | None  # None for stdin
    text: str = ""
    bom: bool = False
    encoding: str = "utf-8"  # of the bytes read; UTF-16 and UTF-32 only with a BOM
    identity: FileIdentity | None = None  # of the file as read: fix writes only if it is unchanged

    def encode(self, text: str) -> bytes:
        """`text` as the source's bytes were: the same encoding and BOM, so that `fix`
        writes back what it read. The one place that knows the file's encoding."""
        return (("\ufeff" if self.bom else "") + text).encode(self.encoding)


@dataclass
class Document:
    source: Source
    index: int  # counts every document of the source from 0, empty ones included
    root: Node
