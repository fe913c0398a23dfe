"""sources.documents._separators finds the `---` lines that SEPARATOR_RE finds when it is let
try every position of the text (as it did), only faster."""

from __future__ import annotations

import random

import pytest

from kubectl_podsec.sources.documents import _separators
from kubectl_podsec.sources.parsers import SEPARATOR_RE


def every_position(text: str) -> list:
    found, line, previous = [], 0, 0
    for match in SEPARATOR_RE.finditer(text):
        if match.group(1) == "---":
            line += text.count("\n", previous, match.start())
            previous = match.start()
            found.append((line, previous))
    return found


@pytest.mark.parametrize("text", [
    "", "---", "---\n", "a\n---", "a\n---\n", "---x\n---\n", "a\n--- b\n---\tc\n----\n...\n---\r\n", "\n---",
    "---\n---\n---", "a: 1\n\n---\n\n---", "x---\n---", "a: |\n  ---\n---\n", "\r\n---\r\n", "...\n---",
])
def test_cases(text):
    assert _separators(text) == every_position(text)


def test_random_texts():
    rnd = random.Random(7)
    pieces = ["---", "\n", "a", " ", "\t", "\r", "...", "-", "\n---", "\r\n", "# c"]
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 14)))
        assert _separators(text) == every_position(text), repr(text)
