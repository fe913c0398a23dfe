"""Read live objects through the user's own kubectl (every auth plugin and kubeconfig keeps
working). Never writes to the cluster.

kubectl runs with an argument list, never a shell, with KUBERC=off so that a user's
aliases and defaults cannot change what `get -o json` prints.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple, Optional, Protocol, Union
from urllib.parse import quote, urlencode

if TYPE_CHECKING:  # imported where kubectl runs: a command on files never needs them (5 ms)
    import queue
    import subprocess

# All nine kinds that carry pod templates, in the order kubectl prints them.
WORKLOAD_RESOURCES = ("pods", "deployments", "statefulsets", "daemonsets", "replicasets",
                      "replicationcontrollers", "jobs", "cronjobs", "podtemplates")
DEFAULT_REQUEST_TIMEOUT = "30s"
DEFAULT_PAGE_SIZE = 500  # kubectl's own --chunk-size
# The kinds read page by page through `kubectl get --raw`: resource -> (API path, kind). Every
# other resource (a custom one, TYPE/NAME, a short name) goes through `kubectl get`, which
# resolves them all.
RAW_RESOURCES = {
    "pods": ("/api/v1", "Pod"), "deployments": ("/apis/apps/v1", "Deployment"),
    "statefulsets": ("/apis/apps/v1", "StatefulSet"), "daemonsets": ("/apis/apps/v1", "DaemonSet"),
    "replicasets": ("/apis/apps/v1", "ReplicaSet"), "replicationcontrollers": ("/api/v1", "ReplicationController"),
    "jobs": ("/apis/batch/v1", "Job"), "cronjobs": ("/apis/batch/v1", "CronJob"),
    "podtemplates": ("/api/v1", "PodTemplate"), "namespaces": ("/api/v1", "Namespace"),
}
CLUSTER_SCOPED = ("namespaces",)
# How many kubectl processes read pages at once: enough to hide their start-up and network
# time behind the judging, few enough to leave the judging a core on a small machine.
READERS = 3
# Fields the server manages; a fixed manifest for `kubectl apply` must not carry them.
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation",
                   "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LABEL_PREFIX = "pod-security.kubernetes.io/"


class ClusterError(Exception):
    """kubectl could not be run or answered with an error; the message is one line. `warnings`
    are the `Warning:` lines kubectl printed before it failed."""

    def __init__(self, message: str, warnings=()):
        super().__init__(message)
        self.warnings = tuple(warnings)


class Listing(NamedTuple):
    """What one kubectl read gave: the objects, one line per error it reported (a kind we
    may not list does not stop the others), and its `Warning:` lines."""

    items: list
    errors: list[str]
    warnings: list[str]


class NamespaceLabels(NamedTuple):
    """What `Kubectl.namespaces` gave: Listing's shape, with {name: labels} for the items."""

    items: dict[str, dict]
    errors: list[str]
    warnings: list[str]


class Pages(Protocol):
    """What `Kubectl.pages` gives: its Listings, read ahead; `close()` stops the reading."""

    def __iter__(self) -> Iterator[Listing]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Kubectl:
    """The user's kubectl and the flags it runs with: a value. What a run finds (objects,
    errors, warnings) comes back from each call, never stays here."""

    binary: str = "kubectl"
    namespace: str | None = None
    all_namespaces: bool = False
    selector: str | None = None
    field_selector: str | None = None
    context: str | None = None
    cluster: str | None = None
    user: str | None = None
    kubeconfig: str | None = None
    request_timeout: str | None = None
    chunk_size: int | None = None

    def connection_flags(self) -> list:
        flags = []
        for name in ("context", "cluster", "user", "kubeconfig"):
            value = getattr(self, name)
            if value:
                flags.append(f"--{name}={value}")
        flags.append(f"--request-timeout={self.request_timeout or DEFAULT_REQUEST_TIMEOUT}")
        return flags

    def run(self, args: list, paged: bool = False) -> subprocess.CompletedProcess:
        """Run kubectl. --request-timeout bounds each request it makes; a paged listing makes
        as many requests as it has pages (kubectl also rate-limits them), so it gets no bound
        of its own: one would kill a large listing that is making steady progress."""
        import subprocess

        env = dict(os.environ, KUBERC="off")
        timeout = None if paged else _timeout(self)
        try:
            return subprocess.run([self.binary] + args + self.connection_flags(), env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except FileNotFoundError:
            raise ClusterError(f"kubectl not found ({self.binary}); install it or point --kubectl or "
                               "KUBECTL at it") from None
        except PermissionError:
            raise ClusterError(f"cannot run {self.binary}: permission denied") from None
        except subprocess.TimeoutExpired:
            raise ClusterError(f"kubectl did not answer within {_timeout(self):.0f}s") from None

    def get(self, resources: list, extra: list | None = None) -> Listing:
        """Every object kubectl printed, with its errors and warnings."""
        args = ["get"] + list(resources) + ["-o", "json"]
        if self.all_namespaces:
            args.append("-A")
        elif self.namespace:
            args += ["-n", self.namespace]
        if self.selector:
            args += ["-l", self.selector]
        if self.field_selector:
            args += [f"--field-selector={self.field_selector}"]
        if self.chunk_size is not None:
            args.append(f"--chunk-size={self.chunk_size}")
        args += extra or []
        completed = self.run(args, paged=True)
        errors, warnings = _errors(completed)
        items: list = []
        if completed.stdout.strip():
            try:
                document = json.loads(completed.stdout)
            except ValueError as error:
                raise ClusterError(f"kubectl printed something that is not JSON: {error}", warnings) from None
            del completed  # hold the response only once: as objects from here on
            items = document.get("items") if document.get("kind", "").endswith("List") else [document]
        return Listing(items or [], errors, warnings)

    def pages(self, resources: list) -> Pages:
        """The objects of `resources` a page at a time, in the order `kubectl get` prints them
        (kind by kind, each in the server's order), with each page's errors and warnings. The
        well-known kinds are read with `kubectl get --raw` and the limit and continue of the
        list API, ahead of the caller, so that only a few pages are held at once; anything
        else is one `kubectl get`. Reading starts when this is called; `close()` the result
        to stop early."""
        kinds = self._raw_kinds(resources)
        if kinds is None:
            return _OneListing(self, resources)
        return _PagedRead(self, kinds)

    def _raw_kinds(self, resources: list) -> list | None:
        """The resources as RAW_RESOURCES keys, or None when `kubectl get` must read them: a
        name we do not know, TYPE/NAME, or namespaced kinds without -n or -A (the namespace
        then comes from the kubeconfig, which kubectl reads)."""
        if len(resources) != 1:
            return None
        kinds = []
        for name in resources[0].split(","):
            plural, _, group = name.partition(".")
            known = RAW_RESOURCES.get(plural)
            if known is None or plural in kinds or (group and known[0] != f"/apis/{group}/v1"):
                return None
            kinds.append(plural)
        scoped = self.all_namespaces or self.namespace
        if not scoped and any(kind not in CLUSTER_SCOPED for kind in kinds):
            return None
        return kinds

    def page_url(self, kind: str, token: str | None = None) -> str:
        """The list API's URL for one page of `kind`, as `kubectl get` would ask for it."""
        root, _ = RAW_RESOURCES[kind]
        scope = ""
        if kind not in CLUSTER_SCOPED and self.namespace and not self.all_namespaces:
            scope = f"/namespaces/{quote(self.namespace, safe='')}"
        query: dict[str, str | int] = {}
        if self.selector:
            query["labelSelector"] = self.selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        query["limit"] = self.chunk_size or DEFAULT_PAGE_SIZE
        if token:
            query["continue"] = token
        return f"{root}{scope}/{kind}?{urlencode(query)}"

    def server_minor(self) -> int | None:
        completed = self.run(["version", "-o", "json"])
        if completed.returncode != 0:
            errors, warnings = _errors(completed)
            raise ClusterError(errors[0] if errors else "kubectl version failed", warnings)
        try:
            minor = json.loads(completed.stdout)["serverVersion"]["minor"]
            digits = re.match(r"\d+", minor)
        except (ValueError, KeyError, TypeError):
            return None
        return int(digits.group(0)) if digits else None

    def namespaces(self, names: list | None = None) -> NamespaceLabels:
        """{name: labels} of the named namespaces, or of all of them, with kubectl's errors and
        warnings: the selectors and namespace scope of the workloads do not apply to namespaces."""
        unscoped = replace(self, namespace=None, all_namespaces=False, selector=None, field_selector=None)
        labels: dict[str, dict] = {}
        errors: list[str] = []
        warnings: list[str] = []
        for page in unscoped.pages(["namespaces"] + list(names) if names else ["namespaces"]):
            labels.update((item["metadata"]["name"], item["metadata"].get("labels") or {}) for item in page.items)
            errors += page.errors
            warnings += page.warnings
        return NamespaceLabels(labels, errors, warnings)


class _OneListing:
    """`Kubectl.pages` for what only `kubectl get` can read: one page, read when asked for."""

    def __init__(self, kubectl: Kubectl, resources: list):
        self._read: Callable[[], Listing] | None = lambda: kubectl.get(resources)

    def __iter__(self) -> Iterator[Listing]:
        read, self._read = self._read, None
        if read is not None:
            yield read()

    def close(self) -> None:
        self._read = None


class _End:
    """The last item of a kind's queue of pages."""


# What a reader thread hands over for a page: (its body, or None after an error; its errors;
# its warnings; whether the error is about the whole server, not this request).
_Page = tuple[Optional[bytes], list[str], list[str], bool]
_Item = Union[_Page, ClusterError, _End]


class _PagedRead:
    """`Kubectl.pages` for the well-known kinds: a thread per kind runs `kubectl get --raw`
    for its pages one after another (each needs the last one's continue token), at most
    READERS kubectl processes at a time, and hands each page's bytes over through a queue of
    one, so reading stays a page ahead of the judging. A page is parsed when it is taken.

    An error from the server, or a request that timed out waiting for its answer, ends its
    kind's listing, as `kubectl get` ends it, and the other kinds go on. An error in reaching
    the server at all (refused, no such host, no credentials, TLS) would say the same for
    every kind, so it ends them all and is said once."""

    _END = _End()

    def __init__(self, kubectl: Kubectl, kinds: list):
        import queue
        import threading

        self._kubectl, self._kinds = kubectl, kinds
        self._stop = threading.Event()  # start no more requests
        self._closed = threading.Event()  # nobody takes pages any more
        self._slots = threading.Semaphore(READERS)
        self._queues: list[queue.Queue[_Item]] = [queue.Queue(maxsize=1) for _ in kinds]
        for kind, pages in zip(kinds, self._queues):
            threading.Thread(target=self._read, args=(kind, pages), daemon=True).start()

    def _read(self, kind: str, pages: queue.Queue[_Item]) -> None:
        token: str | None = None
        try:
            while not self._stop.is_set():
                with self._slots:
                    completed = self._kubectl.run(["get", "--raw", self._kubectl.page_url(kind, token)])
                errors, warnings = _errors(completed)
                if errors:
                    whole = not _per_request(errors[0])
                    if whole:
                        self._stop.set()
                    self._put(pages, (None, errors, warnings, whole))
                    break
                token = _continue_token(completed.stdout)
                self._put(pages, (completed.stdout, [], warnings, False))
                if not token:
                    break
        except ClusterError as error:
            self._stop.set()
            self._put(pages, error)
        self._put(pages, self._END)

    def _put(self, pages: queue.Queue[_Item], page: _Item) -> None:
        import queue

        while not self._closed.is_set():
            try:
                pages.put(page, timeout=0.1)
                return
            except queue.Full:
                pass

    def __iter__(self) -> Iterator[Listing]:
        said: set[str] = set()  # kubectl says a warning once per run: so do we, over all the runs
        try:
            for kind, pages in zip(self._kinds, self._queues):
                while True:
                    page = pages.get()
                    if isinstance(page, _End):
                        break
                    if isinstance(page, ClusterError):
                        raise page
                    body, errors, warnings, whole = page
                    if whole:  # several readers may have met it before it stopped them
                        errors = [line for line in errors if line not in said]
                        said.update(errors)
                    fresh = [line for line in warnings if line not in said]
                    said.update(fresh)
                    yield Listing(_items(body, kind) if body is not None else [], errors, fresh)
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._closed.set()


# kubectl's words for a server it cannot reach or talk to at all, which every kind would meet.
_WHOLE_SERVER = ("The connection to the server", "dial tcp", "no such host", "You must be logged in",
                 "x509:", "tls:")


def _per_request(error: str) -> bool:
    """Is kubectl's error about this request alone (the server's answer, or no answer in
    time), not about reaching the server at all?"""
    return error.startswith("Error from server (") or not any(words in error for words in _WHOLE_SERVER)


def _continue_token(body: bytes) -> str | None:
    """The page's continue token. The apiserver writes the list's metadata before its items,
    so it is read off the head without parsing the page (an item's annotation may be called
    `continue` too); a page written otherwise is parsed."""
    items = body.find(b'"items"')
    head = body[:items] if items >= 0 else body
    if b'"metadata"' not in head:
        try:
            return (json.loads(body).get("metadata") or {}).get("continue") or None
        except (ValueError, AttributeError):
            return None  # _items says what is wrong with it
    match = re.search(rb'"continue"\s*:\s*("(?:[^"\\]|\\.)*")', head)
    return json.loads(match.group(1)) or None if match else None


def _items(body: bytes, kind: str) -> list:
    """A raw list page's items, with the kind and apiVersion that `kubectl get` adds to each."""
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ClusterError(f"kubectl printed something that is not JSON: {error}") from None
    api_version = RAW_RESOURCES[kind][0].split("/", 2)[-1]
    items = document.get("items") or []
    for item in items:
        item.setdefault("kind", RAW_RESOURCES[kind][1])
        item.setdefault("apiVersion", api_version)
    return items


def _errors(completed: subprocess.CompletedProcess) -> tuple:
    """(errors, warnings) from kubectl's stderr: errors only when it failed."""
    text = completed.stderr.decode("utf-8", "replace")
    errors, warnings = [], []
    for line in text.splitlines():
        if line.startswith("Warning:"):
            warnings.append(line)
        elif line.strip():
            errors.append(line.strip()[len("error: "):] if line.startswith("error: ") else line.strip())
    if completed.returncode != 0 and not errors:
        errors.append(f"kubectl exited with {completed.returncode}")
    return (errors if completed.returncode != 0 else []), warnings


def _timeout(kubectl: Kubectl) -> float:
    """A kubectl run of a few requests (version: discovery and one GET): bounded generously but
    surely, in case kubectl itself hangs."""
    per_request = _seconds(kubectl.request_timeout or DEFAULT_REQUEST_TIMEOUT) or 30.0
    return max(30.0, per_request * 10)


def _seconds(text: str) -> float | None:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        return None
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[match.group(2)]
    return float(match.group(1)) * scale


def enforce_labels(labels: dict) -> dict:
    """{mode: "level:version" or None} for enforce, audit and warn, as the labels say."""
    out = {}
    for mode in ("enforce", "audit", "warn"):
        level = labels.get(LABEL_PREFIX + mode)
        out[mode] = None if level is None else f"{level}:{labels.get(LABEL_PREFIX + mode + '-version', 'latest')}"
    return out


def strip_server_fields(obj: dict) -> dict:
    """The object as a manifest: no status, no server-managed metadata, no
    last-applied-configuration."""
    obj = {key: value for key, value in obj.items() if key != "status"}
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items() if key not in SERVER_METADATA}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    obj["metadata"] = metadata
    return obj


def controller_of(obj: dict) -> dict | None:
    for reference in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if reference.get("controller"):
            return reference
    return None


def managing_owner(kubectl: Kubectl, obj: dict) -> tuple[str, str | None] | None:
    """(kind, name) of the top controller of a live object (a Pod's ReplicaSet's Deployment, a
    Job's CronJob), or None for an object that nobody controls. An owner we may not read is
    as far as the walk goes, and so is a reference without a kind (the API server requires
    one: only something else answering as kubectl could leave it out)."""
    namespace = (obj.get("metadata") or {}).get("namespace")
    found = None
    for _ in range(5):  # ownership chains are short; never loop on a cycle
        owner = controller_of(obj)
        if owner is None:
            break
        kind, name = owner.get("kind"), owner.get("name")
        if not isinstance(kind, str):
            break
        found = (kind, name)
        group = (owner.get("apiVersion") or "").rpartition("/")[0]
        resource = f"{kind.lower()}{'.' + group if group else ''}/{name}"
        scoped = replace(kubectl, namespace=namespace, all_namespaces=False, selector=None, field_selector=None)
        try:
            items, errors, _ = scoped.get([resource])
        except ClusterError:
            break
        if errors or len(items) != 1:
            break
        obj = items[0]
    return found


def render_kustomize(binary: str, directory: str) -> str:
    """`kubectl kustomize DIR`, as text; ClusterError with kubectl's own message otherwise."""
    import subprocess

    try:
        completed = subprocess.run([binary, "kustomize", directory], env=dict(os.environ, KUBERC="off"),
                                   stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    except FileNotFoundError:
        raise ClusterError(f"kubectl not found ({binary}); -k needs it to render {directory}") from None
    except subprocess.TimeoutExpired:
        raise ClusterError(f"kubectl kustomize {directory} did not finish within 300s") from None
    if completed.returncode != 0:
        text = "\n".join(_klog_message(line) for line in completed.stderr.decode("utf-8", "replace").splitlines())
        message = " ".join(text.split()) or f"exit {completed.returncode}"
        raise ClusterError(f"kubectl kustomize {directory}: {message}")
    return completed.stdout.decode("utf-8", "replace")


_KLOG_HEADER = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [\w.-]+:\d+\] ")
_KLOG_FAILED = re.compile(r'"command failed" err="(.*)"')


def _klog_message(line: str) -> str:
    """The message of a klog line (`E1203 20:33:20.143018  17978 run.go:72] "command failed"
    err="..."`), without the header and the Go quoting; other lines as they are."""
    header = _KLOG_HEADER.match(line)
    if not header:
        return line
    message = line[header.end():]
    failed = _KLOG_FAILED.fullmatch(message.strip())
    if failed:
        message = failed.group(1).replace('\\"', '"').replace("\\\\", "\\")
    return message
