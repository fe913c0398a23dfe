"""Read manifests from files, directories and stdin, and split them into documents whose
nodes keep their line and column.

Bad input is normal input: every problem becomes a `Problem` naming the source, line and
column, and the documents and files around it are still read.

files: finding and loading sources; documents: splitting and composing with positions;
safety: what the parser must not be given; parsers: libyaml or the pure-Python twin;
helm: `helm template` provenance; types: what reading gives out.
"""

from kubectl_podsec.sources.documents import documents
from kubectl_podsec.sources.files import MANIFEST_SUFFIXES, find_sources, load
from kubectl_podsec.sources.helm import helm_templates
from kubectl_podsec.sources.parsers import pure_parser, use_parser
from kubectl_podsec.sources.safety import may_have_aliases
from kubectl_podsec.sources.types import Document, Notice, Problem, Source

__all__ = ["Document", "MANIFEST_SUFFIXES", "Notice", "Problem", "Source", "documents", "find_sources",
           "helm_templates", "load", "may_have_aliases", "pure_parser", "use_parser"]
