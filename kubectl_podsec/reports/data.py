"""The stable machine-readable schema of `check -o json|yaml` (README "Output"), defined once:
later formats extend it but never break it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

from kubectl_podsec.model import InputError, ObjectVerdict, RunResult


def check_data(run: RunResult) -> dict:
    data: dict = {
        "policyVersion": run.policy_version,
        "level": str(run.gate),
        "objects": [object_data(obj) for obj in run.objects],
        "skipped": [
            {"source": s.source, "document": s.document, "item": s.item, "apiVersion": s.api_version,
             "kind": s.kind, "namespace": s.namespace or None, "name": s.name}
            for s in run.skipped
        ],
        "errors": [error_data(error) for error in run.errors],
    }
    if run.baseline is not None:
        data["baseline"] = {"file": run.baseline.file, "stale": [dict(entry) for entry in run.baseline.stale]}
    return data


def object_data(obj: ObjectVerdict) -> dict:
    data: dict = {
        "source": obj.source, "document": obj.document, "item": obj.item,
        "line": obj.line, "column": obj.column,
        "apiVersion": obj.api_version, "kind": obj.kind,
        "namespace": obj.namespace or None, "name": obj.name,
        "highest": str(obj.highest),
        "levels": {str(level): passes for level, passes in obj.passes},
        "effectiveHighest": str(obj.effective_highest),
        "violations": [],
    }
    for finding in obj.findings:
        locations = [{"path": loc.path, "line": loc.line, "column": loc.column, "field": loc.field}
                     for loc in finding.locations]
        first = locations[0] if locations else {"path": None, "line": None, "column": None, "field": None}
        suppressed = finding.suppressed
        data["violations"].append({"level": str(finding.level), "check": finding.check,
                                   "reason": finding.reason, "detail": finding.detail, **first,
                                   "locations": locations,
                                   "suppressed": {"by": suppressed.by, "reason": suppressed.reason}
                                   if suppressed else None})
    # After "violations", where these keys have always been.
    if obj.template:
        data["template"] = obj.template
    if obj.live is not None:
        owner = obj.live.owner
        data["owner"] = {"kind": owner.kind, "name": owner.name} if owner else None
        data["pods"] = obj.live.pods
        for mode, verdict in obj.live.modes:
            data[mode] = None if verdict is None else {
                "level": str(verdict.level), "version": verdict.version, "passes": verdict.passes,
                "violations": list(verdict.violations)}
    return data


def error_data(error: InputError) -> dict:
    return {"source": error.source, "document": error.document, "line": error.line,
            "column": error.column, "message": error.message}


def render_json(data: dict) -> str:
    """Indented at the top, one compact line per list entry: readable, diffable, and written
    by the C encoder (json's indenting encoder is pure Python and slow on big reports)."""
    return "{\n" + ",\n".join(_json_entry(key, value) for key, value in data.items()) + "\n}\n"


def _json_entry(key: str, value: object) -> str:
    if isinstance(value, list) and value:
        items = ",\n    ".join(json.dumps(item, ensure_ascii=False) for item in value)
        return f"  {json.dumps(key)}: [\n    {items}\n  ]"
    return f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"


def check_json_stream(head: RunResult, objects: Iterable[ObjectVerdict],
                      tail: Callable[[], RunResult]) -> Iterator[str]:
    """render_json(check_data(run)) in pieces, each object's entry as it comes from
    `objects`: the same text without holding it. `head` gives what comes before the objects,
    `tail()`, called once they are all out, the run with what comes after them."""
    return check_json_pieces(head, (json.dumps(object_data(obj), ensure_ascii=False) for obj in objects), tail)


def object_json_parts(obj: ObjectVerdict, key: str = "pods") -> tuple:
    """An object's entry, as check_json_stream writes it, in two parts, before and after the
    value of `key`, which is known last: a live object's pod count (the pods of its group are
    still being read), or the document of an object judged in a part of a stream (the
    documents before the part are counted elsewhere)."""
    data = object_data(obj)
    keys = list(data)
    at = keys.index(key)
    head = json.dumps({k: data[k] for k in keys[:at]}, ensure_ascii=False)[:-1] + f', "{key}": '
    rest = {k: data[k] for k in keys[at + 1:]}
    return head, (", " + json.dumps(rest, ensure_ascii=False)[1:] if rest else "}")


def check_json_pieces(head: RunResult, entries: Iterable[str], tail: Callable[[], RunResult]) -> Iterator[str]:
    """check_json_stream of entries already written as JSON."""
    first = True
    before = check_data(head)
    yield "{\n" + "".join(_json_entry(key, before[key]) + ",\n" for key in list(before)[:list(before).index("objects")])
    yield f"  {json.dumps('objects')}: "
    for entry in entries:
        yield ("[\n    " if first else ",\n    ") + entry
        first = False
    yield "[]" if first else "\n  ]"
    after = check_data(tail())
    keys = list(after)
    yield "".join(",\n" + _json_entry(key, after[key]) for key in keys[keys.index("objects") + 1:]) + "\n}\n"


def render_yaml(data: dict | list) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# The YAML report in pieces, as the JSON one above. A block mapping's keys, and a block
# sequence's items, are written alike wherever they start (at the same column, the same
# width) and the report's data shares no container (no anchors), so the pieces dumped one by
# one are the whole dump's text.


def object_yaml_parts(obj: ObjectVerdict, key: str = "pods") -> tuple:
    """An object's entry in render_yaml's list of objects, in two parts, before and after the
    value of `key` (object_json_parts)."""
    data = object_data(obj)
    keys = list(data)
    at = keys.index(key)
    head = render_yaml([{k: data[k] for k in keys[:at]}]) + f"  {key}: "
    rest = {k: data[k] for k in keys[at + 1:]}
    return head, ("\n  " + render_yaml([rest])[2:] if rest else "\n")


def check_yaml_stream(head: RunResult, objects: Iterable[ObjectVerdict],
                      tail: Callable[[], RunResult]) -> Iterator[str]:
    """render_yaml(check_data(run)) in pieces, as check_json_stream."""
    return check_yaml_pieces(head, (render_yaml([object_data(obj)]) for obj in objects), tail)


def check_yaml_pieces(head: RunResult, entries: Iterable[str], tail: Callable[[], RunResult]) -> Iterator[str]:
    """render_yaml(check_data(run)) in pieces, of entries already written as YAML list items."""
    before = check_data(head)
    keys = list(before)
    yield render_yaml({key: before[key] for key in keys[:keys.index("objects")]}) + "objects:"
    first = True
    for entry in entries:
        yield ("\n" if first else "") + entry
        first = False
    if first:
        yield " []\n"
    after = check_data(tail())
    keys = list(after)
    yield render_yaml({key: after[key] for key in keys[keys.index("objects") + 1:]})
