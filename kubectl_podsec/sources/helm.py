"""Where `helm template` output says each document came from."""

from __future__ import annotations

import re

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
