"""The upstream PSA conformance fixtures, read from tests/data/psa/fixtures.json.gz.

See tests/data/psa/PROVENANCE.md for where they come from and how the bundle is built.
"""
import functools
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

BUNDLE = Path(__file__).resolve().parent / "data" / "psa" / "fixtures.json.gz"


@dataclass(frozen=True)
class Fixture:
    file: str  # e.g. "restricted/v1.30/fail/runasnonroot2.yaml"
    level: str  # "baseline" or "restricted"
    version: str  # "v1.N"
    expect: str  # "pass" or "fail"
    check: Optional[str]  # check ID the fixture was generated for; None for base*
    case: Optional[int]  # None for base*
    variant: Optional[str]  # "base", "base_linux", "base_windows"; None otherwise
    expect_error_substring: Optional[str]  # only on fail records
    yaml_text: str


@functools.cache
def _load() -> tuple:
    bundle = json.loads(gzip.decompress(BUNDLE.read_bytes()).decode("utf-8"))
    contents = bundle["contents"]
    return tuple(
        Fixture(
            file=r["file"],
            level=r["level"],
            version=r["version"],
            expect=r["expect"],
            check=r["check"],
            case=r.get("case"),
            variant=r.get("variant"),
            expect_error_substring=r.get("expect_error_substring"),
            yaml_text=contents[r["sha256"]],
        )
        for r in bundle["records"]
    )


def load_records() -> list[Fixture]:
    """All 4,537 fixtures, in INDEX.json order (a new list each call; the records are shared)."""
    return list(_load())
