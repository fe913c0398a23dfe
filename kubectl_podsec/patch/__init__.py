"""Turn Edits into minimal splices of the original text.

style: the layout new text follows; text: line and scalar helpers; aliases: nodes an edit
must not go through; splicer: the Patcher that collects splices, and apply_splices.
"""

from kubectl_podsec.patch.aliases import shared_nodes
from kubectl_podsec.patch.splicer import Insert, Patcher, PathStep, Refused, Splice, apply_splices
from kubectl_podsec.patch.style import Style, detect_style

__all__ = ["Insert", "Patcher", "PathStep", "Refused", "Splice", "Style", "apply_splices", "detect_style",
           "shared_nodes"]
