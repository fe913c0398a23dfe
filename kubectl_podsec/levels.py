"""Pod Security Standards levels and policy versions, as value types.

Levels are ordered privileged < baseline < restricted. A policy version is `latest` or
`v1.N`, parsed exactly as k8s.io/pod-security-admission parses it (`^v1\\.(0|[1-9][0-9]*)$`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Level(enum.IntEnum):
    PRIVILEGED = 0
    BASELINE = 1
    RESTRICTED = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Level:
        # Upstream level names are exact and case-sensitive.
        for level in cls:
            if str(level) == text:
                return level
        raise ValueError(f'invalid level {text!r}: must be one of "privileged", "baseline", "restricted"')


_VERSION_RE = re.compile(r"v1\.(0|[1-9][0-9]*)")  # Go's $ does not match before a newline


@dataclass(frozen=True, order=True)
class Version:
    """A concrete policy version `v1.<minor>`."""

    minor: int

    def __str__(self) -> str:
        return f"v1.{self.minor}"


@dataclass(frozen=True)
class PolicyVersion:
    """What the user asked for (`latest` or `v1.N`), kept for messages, and what it resolves to."""

    requested: Version | None  # None means latest
    cap: Version | None = None  # a live cluster's own minor version bounds `latest`

    def __str__(self) -> str:
        return "latest" if self.requested is None else str(self.requested)

    @classmethod
    def parse(cls, text: str) -> PolicyVersion:
        if text == "latest":
            return cls(None)
        match = _VERSION_RE.fullmatch(text)
        if not match:
            raise ValueError(f"invalid version {text!r}: must be 'latest' or 'v1.N' (for example v1.30)")
        return cls(Version(int(match.group(1))))

    def resolve(self, newest: Version) -> Version:
        """The version whose rules apply: `latest` and anything newer than the newest known
        version are evaluated as the newest, exactly as the upstream registry does."""
        effective = newest if self.requested is None else min(self.requested, newest)
        if self.requested is None and self.cap is not None:
            effective = min(effective, self.cap)
        return effective

    def clamp(self, server_minor: int | None) -> PolicyVersion:
        """`latest` on a live cluster means at most the server's minor version, because the API
        server evaluates with its emulated version (docs/psa-semantics.md section 1)."""
        if server_minor is None:
            return self
        return PolicyVersion(self.requested, Version(server_minor))
