"""Pod Security findings in kube-apiserver audit logs, grouped by namespace, owner and check.

Reads JSON-lines audit logs (`--audit-log-format=json`), rotated files, gzip (also truncated
ones: what was read is kept) and stdin. Every event that carries the
`pod-security.kubernetes.io/audit-violations` annotation, or that PSA's enforce mode denied,
counts. PSA writes its reasons (`runAsNonRoot != true`), not check IDs: they are mapped back
to check IDs with the reasons the checks in `kubectl_podsec.checks` produce themselves.

Metadata-level events name the object but not its owner, and pods created with
`generateName` have no name at all. Owners come, in this order, from the request or response
body when the log has it (Request/RequestResponse level), from the cluster (`--resolve`),
and from the controllers' naming conventions (`web-7c5d8f9b6-4xk2p` belongs to ReplicaSet
`web-7c5d8f9b6` when the log shows that ReplicaSet): each group says which. This module reads
and groups; `reports/audit.py` renders.
"""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache

from kubectl_podsec.checks import ALL_CHECKS, NEWEST_VERSION, checks_for
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.model import AuditGroup, CheckCount
from kubectl_podsec.sources import Problem

VIOLATIONS = "pod-security.kubernetes.io/audit-violations"
ENFORCE = "pod-security.kubernetes.io/enforce-policy"
KINDS = {"pods": "Pod", "deployments": "Deployment", "replicasets": "ReplicaSet", "statefulsets": "StatefulSet",
         "daemonsets": "DaemonSet", "jobs": "Job", "cronjobs": "CronJob",
         "replicationcontrollers": "ReplicationController", "podtemplates": "PodTemplate"}
GROUP_BY = ("workload", "owner", "object")
# Stages before admission has run carry no PSA annotations; counting them would count a
# request twice when the policy does not omit them.
_EARLY_STAGES = ("RequestReceived", "ResponseStarted")
# Controllers append random suffixes from k8s.io/apimachinery's rand alphabet (no vowels,
# no 0, 1, 3); objects made by other clients need not, so any lower-case letter or digit.
_SAFE = "[a-z0-9]"
_POD_SUFFIX = {"ReplicaSet": f"{_SAFE}{{5}}", "DaemonSet": f"{_SAFE}{{5}}", "ReplicationController": f"{_SAFE}{{5}}",
               "Job": rf"(?:\d+-)?{_SAFE}{{5}}", "StatefulSet": r"\d+"}
_OWNED_SUFFIX = {("ReplicaSet", "Deployment"): f"{_SAFE}{{1,10}}", ("Job", "CronJob"): r"\d+"}


# ---- reasons -> check IDs ----------------------------------------------------------------

def _probe_pods() -> list:
    """Pods that fail every check, with one and with two offenders (some reasons are plural)."""
    def container(name: str, apparmor: str, proc: str) -> dict:
        return {"name": name, "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}],
                "livenessProbe": {"httpGet": {"host": "example.com", "port": 80}},
                "securityContext": {"privileged": True, "allowPrivilegeEscalation": True, "runAsUser": 0,
                                    "runAsNonRoot": False, "capabilities": {"add": ["SYS_ADMIN"]},
                                    "procMount": proc, "seLinuxOptions": {"type": "spc_t"},
                                    "seccompProfile": {"type": "Unconfined"},
                                    "appArmorProfile": {"type": apparmor},
                                    "windowsOptions": {"hostProcess": True}}}

    pods = []
    for names in (["a"], ["a", "b"]):
        annotations = {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                       "container.apparmor.security.beta.kubernetes.io/a": "unconfined"}
        spec = {"hostNetwork": True, "hostPID": True, "hostIPC": True,
                "securityContext": {"sysctls": [{"name": "kernel.probe", "value": "1"}]},
                "volumes": [{"name": "v", "hostPath": {"path": "/"}}],
                "containers": [container(n, ("Unconfined", "Other")[i], ("Unmasked", "Other")[i])
                               for i, n in enumerate(names)]}
        pods.append(({"annotations": annotations if len(names) > 1 else {}}, spec))
        spec_unset = dict(spec, containers=[{"name": n, "image": "x"} for n in names])
        pods.append(({}, spec_unset))  # the "must set" reasons
    return pods


@cache
def reasons_by_check() -> dict:
    """{check id: reasons its variants give}, found by running every variant of every check on
    probe pods: the checks' own texts, so the mapping cannot drift from them."""
    out = {}
    for check in ALL_CHECKS:
        reasons = set()
        for variant in check.versions:
            for meta, spec in _probe_pods():
                result = variant.check_pod(meta, spec)
                if not result.allowed:
                    reasons.add(result.reason)
        out[check.id] = frozenset(reasons)
    return out


@cache
def check_id(reason: str, level_version: str) -> str | None:
    """The check that gives `reason` in the check set of `level:version` (the same reason can
    come from a baseline check and the restricted one that overrides it); None if unknown."""
    level_text, _, version_text = level_version.partition(":")
    try:
        level = Level.parse(level_text)
        version = PolicyVersion.parse(version_text or "latest").resolve(NEWEST_VERSION)
    except ValueError:
        level, version = Level.RESTRICTED, NEWEST_VERSION
    reasons = reasons_by_check()
    active = [check.id for check, _ in checks_for(level, version) if reason in reasons[check.id]]
    candidates = active or [check.id for check in ALL_CHECKS if reason in reasons[check.id]]
    return candidates[-1] if candidates else None  # restricted checks come last


_TOKENS = re.compile(r'\\.|[()"]|, ')


def split_reasons(text: str) -> list:
    """`a (x, y), b, c (z)` -> [a, b, c]: split on ", " outside parentheses and quotes."""
    out, depth, quoted, start = [], 0, False, 0
    for match in _TOKENS.finditer(text):  # only the characters that matter, not every one
        token = match.group()
        if token == '"':
            quoted = not quoted
        elif quoted or token.startswith("\\"):
            continue
        elif token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0:
            out.append(text[start:match.start()])
            start = match.end()
    out.append(text[start:])
    return [part.split(" (", 1)[0].strip() for part in out if part.strip()]


_POLICY = re.compile(r'(?:would violate|violates) PodSecurity "([^"]*)": (.*)', re.S)


def parse_policy_message(text: str) -> tuple | None:
    """(`level:version`, [reasons]) from an audit-violations value or a denial message."""
    match = _POLICY.search(text)
    return (match.group(1), split_reasons(match.group(2))) if match else None


@lru_cache(maxsize=4096)  # the replicas of a workload repeat one text
def findings(text: str) -> tuple | None:
    """(`level:version`, ((check id, reason), ...)) for a PSA message, each reason once."""
    parsed = parse_policy_message(text)
    if parsed is None:
        return None
    level_version, reasons = parsed
    return level_version, tuple((check_id(reason, level_version), reason) for reason in dict.fromkeys(reasons))


# ---- reading ------------------------------------------------------------------------------

def _gzip_chunks(stream) -> Iterator[bytes]:
    """Decompressed bytes as they come, across concatenated members; EOFError at the end of a
    truncated file, after everything before the cut was given out."""
    decompressor, fed = zlib.decompressobj(31), False
    while True:
        raw = stream.read(1 << 20)
        if not raw:
            break
        while raw:
            fed = True
            yield decompressor.decompress(raw)
            raw = b""
            if decompressor.eof:
                raw, decompressor, fed = decompressor.unused_data, zlib.decompressobj(31), False
    if fed:
        yield decompressor.flush()
        raise EOFError("the gzip data ends early (truncated file)")


def _chunk_lines(chunks) -> Iterator[bytes]:
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def read_events(name: str, stream) -> Iterator:
    """Audit events from one binary stream, each as (line, event); a Problem for each line that
    is not one, and for a truncated or corrupt gzip stream (then reading stops)."""
    if not hasattr(stream, "peek"):
        stream = io.BufferedReader(stream)  # to look at the gzip magic without consuming it
    head = stream.peek(2)[:2]
    yield from _events(name, _chunk_lines(_gzip_chunks(stream)) if head == b"\x1f\x8b" else stream)


def _events(name: str, lines) -> Iterator:
    number = 0
    try:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                # Past the end of the line (it stops early) the column is where the line ends.
                yield Problem(name, number, min(error.pos, len(line.rstrip(b"\r\n"))) + 1, f"not JSON: {error.msg}")
                continue
            except ValueError as error:  # bytes that are not UTF-8
                yield Problem(name, number, None, f"not JSON: {error}")
                continue
            if isinstance(value, dict) and value.get("kind") == "EventList":  # webhook batches
                items = value.get("items")
                if not isinstance(items, list):
                    yield Problem(name, number, None, f"an EventList whose items are {_json_type(items)}, not a list")
                    continue
                for event in items:
                    yield _checked(name, number, event)
            else:
                yield _checked(name, number, value)
    except (EOFError, zlib.error, OSError) as error:
        yield Problem(name, number + 1, None, f"cannot read further: {error}")


def _checked(name: str, number: int, value):
    """(line, event), or a Problem for a value that is no audit event or has a field of the
    wrong type (checked before anything is counted, so a bad event leaves no trace)."""
    if not _is_event(value):
        return Problem(name, number, None, _not_event(value))
    wrong = _wrong_field(value)
    return Problem(name, number, None, f"not a valid audit event: {wrong}") if wrong else (number, value)


# The fields grouping reads, and the JSON type each must have when present (null is absent).
_EVENT_FIELDS = {
    "stage": str, "requestReceivedTimestamp": str, "stageTimestamp": str,
    "objectRef": {"resource": str, "namespace": str, "name": str, "subresource": str},
    "annotations": {VIOLATIONS: str, ENFORCE: str},
    "responseStatus": {"code": int, "message": str},
    "user": {"username": str}, "impersonatedUser": {"username": str},
    "requestObject": dict, "responseObject": dict,
}


def _wrong_field(event: dict, shape: dict = _EVENT_FIELDS, path: str = "") -> str | None:
    for key, kind in shape.items():
        value = event.get(key)
        if value is None:
            continue
        expected = dict if isinstance(kind, dict) else kind
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"{path}{key} is {_json_type(value)}, not {_json_type(expected())}"
        if isinstance(kind, dict):
            wrong = _wrong_field(value, kind, f"{path}{key}.")
            if wrong:
                return wrong
    return None


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _is_event(value) -> bool:
    return (isinstance(value, dict) and value.get("kind") == "Event"
            and str(value.get("apiVersion", "")).startswith("audit.k8s.io/"))


def _not_event(value) -> str:
    if isinstance(value, dict):
        return (f"not a kube-apiserver audit event (kind {value.get('kind')!r}, "
                f"apiVersion {value.get('apiVersion')!r})")
    return f"not a kube-apiserver audit event ({_json_type(value)})"


# ---- grouping -----------------------------------------------------------------------------

@dataclass
class Tally:
    levels: set = field(default_factory=set)  # audit level:version as annotated
    enforce: set = field(default_factory=set)  # enforce level:version of the denials
    denied_by: dict = field(default_factory=dict)  # (check id, reason) -> denials naming it
    checks: dict = field(default_factory=dict)  # (check id, reason) -> [events, denied]
    events: int = 0
    denied: int = 0
    users: set = field(default_factory=set)
    first: str = ""
    last: str = ""

    def merge(self, other: Tally) -> None:
        self.levels |= other.levels
        self.enforce |= other.enforce
        for key, count in other.denied_by.items():
            self.denied_by[key] = self.denied_by.get(key, 0) + count
        for key, (events, denied) in other.checks.items():
            counts = self.checks.setdefault(key, [0, 0])
            counts[0] += events
            counts[1] += denied
        self.events += other.events
        self.denied += other.denied
        self.users |= other.users
        self.first = min(filter(None, (self.first, other.first)), default="")
        self.last = max(self.last, other.last)


@dataclass
class AuditLog:
    """What the logs say: a tally per object, the workload objects seen, owners known."""

    events: int = 0
    findings: int = 0
    objects: dict = field(default_factory=dict)  # (namespace, resource, name) -> Tally
    seen: dict = field(default_factory=dict)  # namespace -> {name: {kinds}}
    owners: dict = field(default_factory=dict)  # (namespace, kind, name) -> (kind, name, how)
    problems: list = field(default_factory=list)
    files: list = field(default_factory=list)

    def add(self, event: dict) -> None:
        if event.get("stage") in _EARLY_STAGES:
            return
        self.events += 1
        ref = event.get("objectRef") or {}
        # A forged or truncated log may lack the resource: grouped under "" rather than a crash.
        resource, namespace = ref.get("resource") or "", ref.get("namespace") or ""
        kind = KINDS.get(resource)
        name = ref.get("name") or _body_name(event)
        if kind and name:
            self.seen.setdefault(namespace, {}).setdefault(name, set()).add(kind)
            owner = _body_owner(event)
            if owner:
                self.owners[(namespace, kind, name)] = owner + ("ownerReferences",)
        annotations = event.get("annotations") or {}
        status = event.get("responseStatus") or {}
        audit = findings(annotations.get(VIOLATIONS) or "")
        denial = None
        if status.get("code") == 403:
            denial = findings(status.get("message") or "")
            if denial is None and not status.get("message") and (annotations.get(ENFORCE) or "privileged").split(
                    ":")[0] != "privileged":
                denial = (annotations[ENFORCE], ())  # a log without messages: PSA enforced and it was refused
        if audit is None and denial is None:
            return
        self.findings += 1
        key = (namespace, resource + ("/" + ref["subresource"] if ref.get("subresource") else ""), name or "")
        tally = self.objects.get(key)
        if tally is None:
            tally = self.objects[key] = Tally()
        tally.events += 1
        tally.denied += denial is not None
        user = (event.get("impersonatedUser") or {}).get("username") or (event.get("user") or {}).get("username")
        if user:
            tally.users.add(user)
        when = event.get("requestReceivedTimestamp") or event.get("stageTimestamp") or ""
        if when and (not tally.first or when < tally.first):
            tally.first = when
        tally.last = max(tally.last, when)
        if audit is not None:
            tally.levels.add(audit[0])
        if denial is not None:
            tally.enforce.add(denial[0])
            for key in denial[1]:
                tally.denied_by[key] = tally.denied_by.get(key, 0) + 1
        # The audit level's reasons; an event that only a denial tells of gives the enforce ones.
        for key in (audit or denial or ("", ()))[1]:  # one of them is set (see above)
            counts = tally.checks.get(key)
            if counts is None:
                counts = tally.checks[key] = [0, 0]
            counts[0] += 1
            counts[1] += denial is not None


def _body_name(event: dict) -> str | None:
    """A generateName pod's name, when the log keeps the response (RequestResponse level)."""
    for key in ("responseObject", "requestObject"):
        name = ((event.get(key) or {}).get("metadata") or {}).get("name")
        if name:
            return name
    return None


def _body_owner(event: dict) -> tuple | None:
    for key in ("requestObject", "responseObject"):
        for reference in ((event.get(key) or {}).get("metadata") or {}).get("ownerReferences") or ():
            if isinstance(reference, dict) and reference.get("controller"):
                return reference.get("kind"), reference.get("name")
    return None


# A plain file this big is read by several processes, each a range of whole lines.
PARALLEL_BYTES = 64 << 20


def read_logs(names: list, stdin=None, jobs: int = 1) -> AuditLog:
    """Read every file (`-` is stdin) into one AuditLog; problems are collected, not raised."""
    log = AuditLog(files=list(names))
    for name in names:
        try:
            stream = stdin if name == "-" else open(name, "rb")
        except OSError as error:
            log.problems.append(Problem(name, None, None, f"cannot read: {error.strerror or error}"))
            continue
        try:
            if jobs > 1 and name != "-" and _plain_and_big(stream):
                _read_parallel(log, name, stream, jobs)
                continue
            for found in read_events(name, stream):
                if isinstance(found, Problem):
                    log.problems.append(found)
                else:
                    log.add(found[1])
        finally:
            if name != "-":
                stream.close()
    return log


def _plain_and_big(stream) -> bool:
    try:
        return stream.peek(2)[:2] != b"\x1f\x8b" and os.fstat(stream.fileno()).st_size >= PARALLEL_BYTES
    except (OSError, ValueError, AttributeError):
        return False


def _read_parallel(log: AuditLog, name: str, stream, jobs: int) -> None:
    """Cut the file at line starts into `jobs` ranges, read each in a forked process, and join
    the parts in order: tallies merge, later owners win as when read in one pass, and each
    part's line numbers move by the lines before it."""
    from kubectl_podsec.parallel import map_parts

    size = os.fstat(stream.fileno()).st_size
    starts = [0]
    for index in range(1, jobs):
        stream.seek(size * index // jobs)
        stream.readline()
        starts.append(max(stream.tell(), starts[-1]))
    ranges = list(zip(starts, starts[1:] + [size]))
    before = 0
    for part, lines in map_parts(_read_range, ranges, name):
        log.events += part.events
        log.findings += part.findings
        for key, tally in part.objects.items():
            if key in log.objects:
                log.objects[key].merge(tally)
            else:
                log.objects[key] = tally
        for namespace, names in part.seen.items():
            mine = log.seen.setdefault(namespace, {})
            for object_name, kinds in names.items():
                mine.setdefault(object_name, set()).update(kinds)
        log.owners.update(part.owners)
        log.problems += [replace(p, line=p.line + before) if p.line is not None else p for p in part.problems]
        before += lines


def _read_range(bounds: tuple) -> tuple:
    from kubectl_podsec.parallel import shared

    start, end = bounds
    part, counted = AuditLog(), [0]

    def lines():
        with open(shared(), "rb") as stream:
            stream.seek(start)
            position = start
            for line in stream:
                if position >= end:
                    break
                position += len(line)
                counted[0] += 1
                yield line

    for found in _events(shared(), lines()):
        if isinstance(found, Problem):
            part.problems.append(found)
        else:
            part.add(found[1])
    return part, counted[0]


def owner_by_name(log: AuditLog, namespace: str, kind: str, name: str) -> tuple | None:
    """The controller whose naming convention gives `name`, among the objects the log shows:
    the longest such owner name, tried at each "-" from the right."""
    seen = log.seen.get(namespace, {})
    cut = len(name)
    while True:
        cut = name.rfind("-", 0, cut)
        if cut <= 0:
            return None
        suffix = name[cut + 1:]
        for owner_kind in sorted(seen.get(name[:cut], ())):
            pattern = _POD_SUFFIX.get(owner_kind) if kind == "Pod" else _OWNED_SUFFIX.get((kind, owner_kind))
            if pattern and re.fullmatch(pattern, suffix):
                return owner_kind, name[:cut]


def resolve_owners(log: AuditLog, kubectl) -> list:
    """Ask the cluster for the owners the log does not give; returns kubectl's errors."""
    from kubectl_podsec.cluster import ClusterError, controller_of

    wanted: dict[str, set[str]] = {}
    for namespace, resource, name in log.objects:
        kind = KINDS.get(resource)
        if name and kind and (namespace, kind, name) not in log.owners:
            wanted.setdefault(namespace, set()).add(kind)
    errors: list = []
    if not wanted:
        return errors
    try:  # one question first: an unreachable cluster is one line, not one per namespace
        kubectl.server_minor()
    except ClusterError as error:
        return [str(error)]
    kinds = {"Pod": "pods", "ReplicaSet": "replicasets", "Job": "jobs"}
    for namespace in sorted(wanted):
        resources = sorted({kinds[k] for k in wanted[namespace] if k in kinds} | {"replicasets", "jobs"})
        try:
            items, found_errors, _ = replace(kubectl, namespace=namespace, all_namespaces=False).get(
                [",".join(resources)])
        except ClusterError as error:
            return errors + [str(error)]
        errors.extend(error for error in found_errors if error not in errors)
        for item in items:
            owner = controller_of(item)
            meta = item.get("metadata") or {}
            key = (namespace, item.get("kind"), meta.get("name"))
            if owner and key not in log.owners:
                log.owners[key] = (owner.get("kind"), owner.get("name"), "cluster")
                log.seen.setdefault(namespace, {}).setdefault(owner.get("name"), set()).add(owner.get("kind"))
    return errors


def _owner(log: AuditLog, namespace: str, kind: str, name: str) -> tuple | None:
    if not name:
        return None
    known = log.owners.get((namespace, kind, name))
    if known:
        return known
    guessed = owner_by_name(log, namespace, kind, name)
    return guessed + ("name",) if guessed else None


def groups(log: AuditLog, group_by: str = "workload") -> list:
    """An AuditGroup per object, per controlling owner or per top-level workload (ReplicaSet ->
    Deployment, Job -> CronJob followed), sorted by namespace, kind and name."""
    merged: dict[tuple, tuple[Tally, set]] = {}
    for (namespace, resource, name), tally in log.objects.items():
        kind = KINDS.get(resource.split("/")[0], resource)
        key, how = (namespace, resource, name), None
        if group_by != "object":
            key = (namespace, kind, name)
            hops = 0
            while hops < 5:  # ownerReference chains are short; a cycle in a forged log must not hang
                owner = _owner(log, namespace, key[1], key[2])
                if owner is None:
                    break
                how = owner[2] if how in (None, owner[2]) else "mixed"
                key, hops = (namespace, owner[0], owner[1]), hops + 1
                if group_by == "owner":
                    break
        entry = merged.get(key)
        if entry is None:
            entry = merged[key] = (Tally(), set())
        entry[0].merge(tally)
        entry[1].add(how)
    out = []
    for (namespace, what, name), (tally, hows) in sorted(merged.items()):
        hows.discard(None)
        out.append(AuditGroup(
            namespace, what, name, ("/".join(sorted(hows)) or None) if group_by != "object" else None,
            tuple(sorted(tally.levels)),
            tuple(CheckCount(check, reason, events, denied) for (check, reason), (events, denied)
                  in sorted(tally.checks.items(), key=_by_check)),
            tuple(CheckCount(check, reason, count, count) for (check, reason), count
                  in sorted(tally.denied_by.items(), key=_by_check)),
            tuple(sorted(tally.enforce)), tally.events, tally.denied, tuple(sorted(tally.users)),
            tally.first or None, tally.last or None))
    return out


def _by_check(item) -> tuple:
    (check, reason), _ = item
    return check or "~", reason  # reasons no check gives come last
