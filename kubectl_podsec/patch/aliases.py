"""Nodes that YAML aliases share: an edit there would change every place using the anchor."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

from kubectl_podsec.sources.safety import may_have_aliases


def shared_nodes(root: Node, text: str) -> set:
    """Ids of nodes reachable more than once (YAML aliases): editing them would change
    every place that uses the anchor."""
    if not may_have_aliases(text, root.start_mark.index, root.end_mark.index):
        return set()
    seen, shared, stack = set(), set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared.add(id(node))
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return shared
