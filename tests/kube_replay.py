"""Fake kube-apiservers for running the real kubectl offline.

ReplayServer answers from the recorded exchanges in tests/data/recordings (their README.md
gives the format and the matching rules this follows). SyntheticCluster generates a large
cluster for scale tests. Both listen on plain HTTP on 127.0.0.1; point kubectl at them with
kubectl_env().
"""
import base64
import bisect
import gzip
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional
from urllib.parse import parse_qsl, unquote, urlsplit

RECORDINGS = Path(__file__).resolve().parent / "data" / "recordings"

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: replay
  cluster: {{server: "{server}"}}
users:
- name: anonymous
  user: {{}}
contexts:
- name: replay
  context: {{cluster: replay, user: anonymous}}
current-context: replay
"""

# Recorded kubectl >= 1.30 lists this in Accept when it wants aggregated discovery.
AGGREGATED_ACCEPT = "v=v2;as=APIGroupDiscoveryList"
JSON_HEADERS = [("Cache-Control", "no-cache, private"), ("Content-Type", "application/json")]

Response = tuple[int, list[tuple[str, str]], bytes]


def kubectl_env(tmp_path: Path, server_url: str) -> dict[str, str]:
    """Environment for one kubectl run against server_url: fresh HOME, cache and kubeconfig.

    Each call makes a new directory under tmp_path, because a warm discovery cache makes
    kubectl skip /api and /apis, so its requests no longer match a recording.
    """
    run_dir = Path(tempfile.mkdtemp(prefix="kubectl-", dir=tmp_path))
    (run_dir / "home").mkdir()
    kubeconfig = run_dir / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG.format(server=server_url), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(
        HOME=str(run_dir / "home"),
        KUBECACHEDIR=str(run_dir / "cache"),
        KUBECONFIG=str(kubeconfig),
        KUBERC="off",
    )
    return env


def status_body(code: int, reason: str, message: str) -> bytes:
    """A metav1.Status failure body, as the apiserver writes it."""
    return json.dumps(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "details": {}, "code": code},
        separators=(",", ":")).encode() + b"\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as kubectl expects
    # Headers and body go out in two writes; without this, Nagle + delayed ACK stall each
    # response by ~40 ms.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        split = urlsplit(self.path)
        status, headers, body = self.server.fake.handle(
            self.command, unquote(split.path), split.query, self.headers)
        self.send_response_only(status)  # not send_response: it would add Server and Date
        for name, value in headers:
            if name.lower() not in ("content-length", "content-encoding", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, *args) -> None:  # no access log in the test output
        pass


class _FakeServer:
    """Runs a ThreadingHTTPServer on 127.0.0.1 in a background thread while in a `with`."""

    def __init__(self) -> None:
        self.requests: list[str] = []  # every request received, as "GET /path?query"
        self._lock = threading.Lock()
        self._httpd: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self
        # A short poll interval: shutdown() waits for the loop to notice (0.5 s by default).
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def handle(self, method: str, path: str, query: str, headers) -> Response:
        with self._lock:
            self.requests.append(f"{method} {path}?{query}" if query else f"{method} {path}")
            return self.respond(method, path, query, headers)

    def respond(self, method: str, path: str, query: str, headers) -> Response:
        raise NotImplementedError


def request_key(method: str, path: str, query: str) -> tuple:
    """The README's matching key: method, path, sorted decoded query pairs without timeout."""
    pairs = sorted(p for p in parse_qsl(query, keep_blank_values=True) if p[0] != "timeout")
    return (method, path, tuple(pairs))


def load_exchanges(scenario: str) -> list[dict]:
    path = RECORDINGS / "scenarios" / scenario / "exchanges.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [dict(json.loads(line), scenario=scenario) for line in lines]


def _is_aggregated(exchange: dict) -> bool:
    return any(name.lower() == "content-type" and "apidiscovery.k8s.io" in value
               for name, value in exchange["headers"])


class ReplayServer(_FakeServer):
    """Serves the recorded exchanges of the given scenarios.

    A request matches on request_key(). Copies of one key are served in recorded order (one
    scenario after another); once all are used the last is served again, so pooled scenarios
    can answer repeated discovery. Requests that match nothing get a 404 Status and are listed
    in .unmatched.
    """

    def __init__(self, scenario_names: Iterable[str]) -> None:
        super().__init__()
        self.exchanges = [ex for name in scenario_names for ex in load_exchanges(name)]
        self.unmatched: list[str] = []
        self._by_key: dict[tuple, list[dict]] = {}
        for ex in self.exchanges:
            key = request_key(ex["method"], ex["path"], ex["query"])
            self._by_key.setdefault(key, []).append(ex)
        self._served = set()  # ids of the exchanges served

    def respond(self, method, path, query, headers) -> Response:
        candidates = self._by_key.get(request_key(method, path, query), [])
        if path in ("/api", "/apis"):
            # Pooled scenarios may hold both forms: pick the one kubectl asked for, if present.
            wanted = AGGREGATED_ACCEPT in (headers.get("Accept") or "")
            candidates = [ex for ex in candidates if _is_aggregated(ex) == wanted] or candidates
        if not candidates:
            self.unmatched.append(self.requests[-1])
            return 404, JSON_HEADERS, status_body(
                404, "NotFound", "the server could not find the requested resource")
        exchange = next((ex for ex in candidates if id(ex) not in self._served), candidates[-1])
        self._served.add(id(exchange))
        if exchange["body_encoding"] == "base64":
            body = base64.b64decode(exchange["body"])
        else:
            body = exchange["body"].encode("utf-8")
        return exchange["status"], [tuple(h) for h in exchange["headers"]], body

    def unused(self) -> list[str]:
        """The recorded exchanges never served, as "scenario#seq GET /path?query"."""
        with self._lock:
            return [f"{ex['scenario']}#{ex['seq']} {ex['method']} {ex['path']}?{ex['query']}"
                    for ex in self.exchanges if id(ex) not in self._served]


# The nine workload resources: (group version, plural, list kind).
WORKLOADS = [
    ("v1", "pods", "PodList"),
    ("apps/v1", "deployments", "DeploymentList"),
    ("apps/v1", "statefulsets", "StatefulSetList"),
    ("apps/v1", "daemonsets", "DaemonSetList"),
    ("apps/v1", "replicasets", "ReplicaSetList"),
    ("v1", "replicationcontrollers", "ReplicationControllerList"),
    ("batch/v1", "jobs", "JobList"),
    ("batch/v1", "cronjobs", "CronJobList"),
    ("v1", "podtemplates", "PodTemplateList"),
]
_RV = "4242"  # the resourceVersion every generated list reports
_CREATED = "2026-11-28T16:10:41Z"
# Ten pods in a row get these levels: about 60% restricted, 30% baseline-only, 10% privileged.
_LEVELS = ["restricted"] * 6 + ["baseline"] * 3 + ["privileged"]


def _uid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def _hex(key: str, length: int) -> str:
    """A stable hex string for key, for the hash parts of generated names."""
    return uuid.uuid5(uuid.NAMESPACE_URL, key).hex[:length]


def _pod_spec(level: str, n: int) -> dict:
    """A pod template spec as the apiserver returns it; the lowest level it passes is `level`."""
    container = {
        "name": "app", "image": f"registry.example/app:1.{n % 7}", "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
    }
    spec = {"volumes": [], "containers": [container], "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "securityContext": {}, "schedulerName": "default-scheduler"}
    if level == "restricted":
        container["securityContext"] = {"capabilities": {"drop": ["ALL"]},
                                        "allowPrivilegeEscalation": False}
        spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001,
                                   "seccompProfile": {"type": "RuntimeDefault"}}
        spec["volumes"].append({"name": "tmp", "emptyDir": {}})
    elif level == "privileged":
        # Rotate through the three usual reasons a pod needs the privileged level.
        kind = n % 3
        if kind == 0:
            spec["hostNetwork"] = True
            container["ports"] = [{"containerPort": 9100, "hostPort": 9100, "protocol": "TCP"}]
        elif kind == 1:
            container["securityContext"] = {"privileged": True}
        else:
            spec["volumes"].append(
                {"name": "host-root", "hostPath": {"path": "/", "type": ""}})
    if not spec["volumes"]:
        del spec["volumes"]
    return spec


def _pod_defaults(spec: dict) -> dict:
    """Add what a created Pod (not a template) gets: service account, token volume, etc."""
    spec = dict(spec, serviceAccountName="default", serviceAccount="default", priority=0,
                enableServiceLinks=True, preemptionPolicy="PreemptLowerPriority")
    spec["volumes"] = list(spec.get("volumes", [])) + [{"name": "kube-api-access", "projected": {
        "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}}],
        "defaultMode": 420}}]
    spec["tolerations"] = [
        {"key": f"node.kubernetes.io/{taint}", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300} for taint in ("not-ready", "unreachable")]
    return spec


class SyntheticCluster(_FakeServer):
    """A generated cluster: namespaces ns-000, ns-001, ... holding the nine workload kinds.

    Pods are spread evenly over the namespaces; in each, every other pod is owned by the
    ReplicaSet of its level, and the rest are bare. Per namespace there is one Deployment
    per level (app-restricted, app-baseline, app-privileged) with its ReplicaSet, and one
    StatefulSet, DaemonSet, ReplicationController, Job, CronJob and PodTemplate. Namespaces
    carry assorted pod-security.kubernetes.io/enforce labels.

    Serves GET of lists (cluster-wide and per namespace) and of single objects, for the nine
    kinds and namespaces. Lists honour limit and continue (unless page_limit_honoured is
    False: then the whole list comes back at once, as from a server without chunking) and
    equality-based labelSelector. /version, /api and /apis are the recorded answers.
    Everything is deterministic, generated on the first request.
    """

    def __init__(self, pods: int = 10000, namespaces: int = 100,
                 page_limit_honoured: bool = True) -> None:
        super().__init__()
        self.pods, self.namespaces = pods, namespaces
        self.page_limit_honoured = page_limit_honoured
        recorded = load_exchanges("get-workloads-A-o-json")
        self._discovery = {ex["path"]: ex for ex in recorded
                           if ex["path"] in ("/version", "/api", "/apis")}
        self._lists: dict[str, tuple] = {}  # plural -> (keys, items), built on first use
        self._objects: Optional[dict[str, list]] = None

    def respond(self, method, path, query, headers) -> Response:
        if method == "GET" and path in self._discovery:
            ex = self._discovery[path]
            return ex["status"], [tuple(h) for h in ex["headers"]], ex["body"].encode("utf-8")
        parts = path.strip("/").split("/")
        # /api/v1/... or /apis/GROUP/VERSION/..., then [namespaces/NS/]PLURAL[/NAME]
        prefix = 2 if parts[0] == "api" else 3
        group_version, rest = "/".join(parts[1:prefix]), parts[prefix:]
        namespace = name = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if len(rest) == 2:
            rest, name = rest[:1], rest[1]
        kinds = {(gv, plural): kind for gv, plural, kind in self._resources()}
        list_kind = kinds.get((group_version, rest[0] if len(rest) == 1 else None))
        if method != "GET" or list_kind is None:
            return 404, JSON_HEADERS, status_body(
                404, "NotFound", "the server could not find the requested resource")
        if name is not None:
            return self._get(group_version, rest[0], list_kind[:-len("List")], namespace, name)
        params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            body = self._list(group_version, rest[0], list_kind, namespace, params)
        except ValueError as err:
            return 400, JSON_HEADERS, status_body(400, "BadRequest", str(err))
        return 200, JSON_HEADERS, body

    @staticmethod
    def _resources() -> list:
        return WORKLOADS + [("v1", "namespaces", "NamespaceList")]

    def _list(self, group_version, plural, list_kind, namespace, params) -> bytes:
        keys, items = self._rendered(plural)
        lo, hi = 0, len(keys)
        if namespace is not None:  # keys are "namespace/name", sorted as etcd sorts them
            lo = bisect.bisect_left(keys, namespace + "/")
            hi = bisect.bisect_left(keys, namespace + "0")  # "0" sorts right after "/"
        if params.get("continue"):
            lo = max(lo, bisect.bisect_left(keys, _decode_continue(params["continue"])))
        selector = _parse_selector(params.get("labelSelector", ""))
        chosen = [i for i in range(lo, hi) if _selects(selector, items[i][0])]
        limit = int(params.get("limit") or 0) if self.page_limit_honoured else 0
        metadata = {"resourceVersion": _RV}
        if 0 < limit < len(chosen):
            metadata["continue"] = _encode_continue(keys[chosen[limit - 1]] + "\x00")
            if not selector:  # the apiserver only counts what is left without a selector
                metadata["remainingItemCount"] = len(chosen) - limit
            chosen = chosen[:limit]
        head = json.dumps({"kind": list_kind, "apiVersion": group_version, "metadata": metadata},
                          separators=(",", ":"))
        return (head[:-1] + ',"items":[' + ",".join(items[i][1] for i in chosen)
                + "]}\n").encode("utf-8")

    def _get(self, group_version, plural, kind, namespace, name) -> Response:
        keys, items = self._rendered(plural)
        key = f"{namespace}/{name}" if namespace else name
        i = bisect.bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            group = group_version.rpartition("/")[0]
            resource = f"{plural}.{group}" if group else plural
            return 404, JSON_HEADERS, status_body(404, "NotFound",
                                                  f'{resource} "{name}" not found')
        head = json.dumps({"kind": kind, "apiVersion": group_version}, separators=(",", ":"))
        return 200, JSON_HEADERS, (head[:-1] + "," + items[i][1][1:] + "\n").encode("utf-8")

    def _rendered(self, plural: str) -> tuple:
        """Sorted keys and (labels, item JSON) of one resource, rendered once."""
        rendered = self._lists.get(plural)
        if rendered is None:
            if self._objects is None:
                self._objects = self._generate()
            objects = sorted(self._objects[plural], key=_object_key)
            rendered = ([_object_key(o) for o in objects],
                        [(o["metadata"].get("labels", {}), json.dumps(o, separators=(",", ":")))
                         for o in objects])
            self._lists[plural] = rendered
        return rendered

    def _generate(self) -> dict[str, list]:
        objects: dict[str, list] = {plural: [] for _, plural, _ in self._resources()}
        per_ns, extra = divmod(self.pods, self.namespaces)
        pod_number = 0
        for n in range(self.namespaces):
            ns = f"ns-{n:03d}"
            ns_labels = {"kubernetes.io/metadata.name": ns}
            if n % 4:  # leave every fourth namespace without a Pod Security label
                ns_labels["pod-security.kubernetes.io/enforce"] = ("baseline", "restricted",
                                                                   "privileged")[n % 4 - 1]
            objects["namespaces"].append({
                "metadata": _meta(ns, None, "namespaces", ns_labels),
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
            owners = {}
            for level in ("restricted", "baseline", "privileged"):
                app = f"app-{level}"
                pod_hash = _hex(f"{ns}/{app}", 9)
                deployment = _workload(ns, app, "deployments", {"app": app},
                                       _pod_spec(level, n), replicas=3)
                rs_meta = _meta(f"{app}-{pod_hash}", ns, "replicasets",
                                {"app": app, "pod-template-hash": pod_hash})
                rs_meta["ownerReferences"] = [_owner_ref("apps/v1", "Deployment", deployment)]
                replicaset = {"metadata": rs_meta, "spec": {
                    "replicas": 3, "selector": {"matchLabels": rs_meta["labels"]},
                    "template": {"metadata": {"labels": rs_meta["labels"]},
                                 "spec": _pod_spec(level, n)}}, "status": {"replicas": 0}}
                objects["deployments"].append(deployment)
                objects["replicasets"].append(replicaset)
                owners[level] = replicaset
            level = _LEVELS[n % 10]
            for plural in ("statefulsets", "daemonsets", "replicationcontrollers", "jobs",
                           "cronjobs", "podtemplates"):
                name = f"{plural[:-1]}-{level}"
                objects[plural].append(_workload(ns, name, plural, {"app": name},
                                                 _pod_spec(level, n)))
            for i in range(per_ns + (n < extra)):
                level = _LEVELS[pod_number % 10]
                if i % 2 == 0:  # owned by the ReplicaSet of its level, as a controller makes it
                    owner = owners[level]
                    name = f"{owner['metadata']['name']}-{_hex(f'{ns}/{i}', 5)}"
                    meta = _meta(name, ns, "pods", dict(owner["metadata"]["labels"]))
                    meta["ownerReferences"] = [_owner_ref("apps/v1", "ReplicaSet", owner)]
                    spec = owner["spec"]["template"]["spec"]
                else:
                    meta = _meta(f"bare-{i:05d}", ns, "pods", {"app": f"bare-{level}"})
                    spec = _pod_spec(level, pod_number)
                objects["pods"].append({
                    "metadata": meta, "spec": _pod_defaults(spec),
                    "status": {"phase": "Pending", "qosClass": "BestEffort"}})
                pod_number += 1
        return objects


def _meta(name: str, namespace: Optional[str], plural: str, labels: dict) -> dict:
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta.update(uid=_uid(f"{plural}/{namespace}/{name}"), resourceVersion="301", generation=1,
                creationTimestamp=_CREATED, labels=labels)
    return meta


def _owner_ref(api_version: str, kind: str, owner: dict) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _workload(ns: str, name: str, plural: str, labels: dict, spec: dict,
              replicas: int = 1) -> dict:
    """A workload object of the given kind whose pod template has `spec`."""
    template = {"metadata": {"labels": labels}, "spec": spec}
    selector = {"matchLabels": labels}
    if plural == "podtemplates":
        return {"metadata": _meta(name, ns, plural, labels), "template": template}
    if plural == "cronjobs":
        body = {"schedule": "0 3 * * *", "concurrencyPolicy": "Allow", "suspend": False,
                "jobTemplate": {"metadata": {}, "spec": {"template": dict(
                    template, spec=dict(spec, restartPolicy="OnFailure"))}},
                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}
    elif plural == "jobs":
        body = {"parallelism": 1, "completions": 1, "backoffLimit": 6,
                "template": dict(template, spec=dict(spec, restartPolicy="Never"))}
    elif plural == "replicationcontrollers":
        body = {"replicas": replicas, "selector": labels, "template": template}
    else:
        body = {"replicas": replicas, "selector": selector, "template": template}
        if plural == "daemonsets":
            del body["replicas"]
    return {"metadata": _meta(name, ns, plural, labels), "spec": body, "status": {}}


def _object_key(obj: dict) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]


def _encode_continue(start: str) -> str:
    # The shape the apiserver uses: unpadded URL-safe base64 of {"v","rv","start"}.
    token = json.dumps({"v": "meta.k8s.io/v1", "rv": int(_RV), "start": start},
                       separators=(",", ":"))
    return base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> str:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return decoded["start"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("continue key is not valid") from None


def _parse_selector(text: str) -> list:
    """Equality-based selector terms as (key, op, value); op is =, != or exists/!exists."""
    terms = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            terms.append((key.strip(), "!=", value.strip()))
        elif "=" in term:
            key, value = term.replace("==", "=", 1).split("=", 1)
            terms.append((key.strip(), "=", value.strip()))
        elif " " in term or "(" in term:
            raise ValueError(f"unsupported label selector {text!r}")
        elif term.startswith("!"):
            terms.append((term[1:], "!exists", ""))
        else:
            terms.append((term, "exists", ""))
    return terms


def _selects(terms: list, labels: dict) -> bool:
    for key, op, value in terms:
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
        if op == "exists" and key not in labels:
            return False
        if op == "!exists" and key in labels:
            return False
    return True
