"""sources.helm.helm_templates finds what _HELM_SOURCE_RE finds when it is let try every
position of the text (as it did), only faster."""

from __future__ import annotations

import random

import pytest

from kubectl_podsec.sources.helm import _HELM_SOURCE_RE, helm_templates


def every_position(text: str) -> list:
    found, line, previous = [], 0, 0
    for match in _HELM_SOURCE_RE.finditer(text):
        line += text.count("\n", previous, match.start())
        previous = match.start()
        found.append((line, match.group(1)))
    return found


@pytest.mark.parametrize("text", [
    "", "# Source: c/templates/a.yaml", "# Source: c/templates/a.yaml\n---\n# Source: c/templates/b.yaml  \n",
    "x # Source: c/templates/a.yaml\n", "  # Source: c/templates/a.yaml\n", "# Source: c/x.yaml\n",
    "a: 1\n# Source: c/charts/s/templates/a.yaml \t\n\n\n# Source: c/templates/b b.yaml\r\n",
    "# Source: \n# Source: c/templates/a\n", "\n# Source: c/templates/\n# Source: c/templates/ x\n",
])
def test_cases(text):
    assert helm_templates(text) == every_position(text)


def test_random_texts():
    rnd = random.Random(3)
    pieces = ["# Source: ", "c/templates/", "a.yaml", "\n", " ", "\t", "\r\n", "x", "/", "---\n"]
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        assert helm_templates(text) == every_position(text), repr(text)
