"""`fix TYPE/NAME -o patch`: the fix as an RFC 6902 JSON Patch, for kubectl patch --type=json."""

from __future__ import annotations

import json

import yaml

from kubectl_podsec.jsonpatch import json_patch


def render_patch(manifest: dict, fixed_text: str) -> str:
    return json.dumps(json_patch(manifest, yaml.safe_load(fixed_text))) + "\n"
