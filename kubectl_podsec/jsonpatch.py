"""RFC 6902 JSON patches between two JSON values (for `kubectl patch --type=json`)."""

from __future__ import annotations


def _pointer(path: list) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def json_patch(old, new, path=None) -> list:
    path = path or []
    if isinstance(old, dict) and isinstance(new, dict):
        ops = []
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": _pointer(path + [key])})
        for key, value in new.items():
            if key not in old:
                ops.append({"op": "add", "path": _pointer(path + [key]), "value": value})
            else:
                ops.extend(json_patch(old[key], value, path + [key]))
        return ops
    if isinstance(old, list) and isinstance(new, list):
        if len(old) == len(new):
            return [op for i, (a, b) in enumerate(zip(old, new)) for op in json_patch(a, b, path + [i])]
        if new[: len(old)] == old:
            return [{"op": "add", "path": _pointer(path + ["-"]), "value": item} for item in new[len(old):]]
    if old == new and type(old) is type(new):
        return []
    return [{"op": "replace", "path": _pointer(path), "value": new}]
