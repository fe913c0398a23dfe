"""Where `helm template` output says each document came from."""

from __future__ import annotations

import re

_HELM_SOURCE_RE = re.compile(r"^# Source: (\S+/templates/\S.*?)\s*$", re.M)


def helm_templates(text: str) -> list:
    """(line, template) of every `# Source: chart/templates/x.yaml` comment that `helm
    template` writes before each document it renders."""
    found, line, previous = [], 0, 0
    # Where the comment starts a line, the expression is matched (letting it try every
    # position of a big text is several times slower); a match ends on its line.
    at = text.find("# Source: ")
    while at >= 0:
        match = _HELM_SOURCE_RE.match(text, at) if at == 0 or text[at - 1] == "\n" else None
        if match:
            line += text.count("\n", previous, at)
            previous = at
            found.append((line, match.group(1)))
        at = text.find("# Source: ", at + 1)
    return found
