"""Deterministic synthetic manifest corpus for the benchmark.

`generate(n_workloads=10000, seed=1)` returns one multi-document YAML stream of about 1 KB per
workload (about 10 MB at the default size). The same arguments always give the same bytes.

What is in it:

* workloads of all nine kinds that carry a pod template (Pod, Deployment, StatefulSet,
  DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate), some of them grouped
  in `kind: List` documents;
* non-workload documents (Services and ConfigMaps) and a few empty documents (a `---` followed
  by comments only, as `helm template` prints for a disabled template);
* a level mix at policy version `latest` of 50% restricted, 35% baseline-only and 15%
  privileged-only. Each workload is built for its level, and `build()` returns that intended
  level next to the bytes;
* ordinary pod specs: several containers and init containers in some, env, resources, probes,
  volumes and their mounts, annotations, tolerations, affinity;
* style varied per document: 2- or 4-space indents, flush or indented sequences, flow mappings
  and flow sequences, comments on their own lines and after values, single- and double-quoted
  strings, block literals, `---` and `...` markers, and a few documents written as JSON.

Run `python3 bench/corpus.py --stats` for the mix, or `--out FILE` to write the stream.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

# Intended level shares, in percent. Exact counts are dealt out, then shuffled. "mixed" is a
# cluster half way through hardening; "unhardened" one that never started, where two thirds
# of the workloads need edits (as in real repositories that were never hardened).
MIXES = {"mixed": (("restricted", 50), ("baseline", 35), ("privileged", 15)),
         "unhardened": (("restricted", 33), ("baseline", 52), ("privileged", 15))}
LEVEL_SHARES = MIXES["mixed"]

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
         "Job", "CronJob", "Pod", "PodTemplate")
API_VERSIONS = {
    "Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1", "ReplicationController": "v1", "Job": "batch/v1",
    "CronJob": "batch/v1", "Pod": "v1", "PodTemplate": "v1",
}
# Kind weights per level, in KINDS order: node agents (DaemonSets) and one-off Pods are
# over-represented among the privileged ones, as they are in real clusters.
KIND_WEIGHTS = {
    "restricted": (34, 8, 3, 5, 2, 12, 14, 12, 10),
    "baseline": (32, 14, 5, 5, 4, 10, 10, 12, 8),
    "privileged": (18, 6, 30, 4, 4, 8, 6, 18, 6),
}

APPS = ("checkout", "payments", "search-api", "inventory", "notifier", "ledger", "geo",
        "pricing", "auth", "recommender", "thumbnailer", "mailer", "audit-log", "catalog",
        "feature-flags", "sessions", "billing", "reports", "gateway", "shipping")
NAMESPACES = ("default", "shop", "payments", "platform", "data", "monitoring", "batch",
              "team-a", "team-b", "edge")
REGISTRIES = ("registry.example.com", "ghcr.io/example",
              "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
              "europe-docker.pkg.dev/example-prod/apps")
SIDECARS = (
    ("envoy", "envoyproxy/envoy:v1.31.2", 9901),
    ("log-shipper", "fluent/fluent-bit:3.1.9", 2020),
    ("cloud-sql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.13.0", 9801),
    ("oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy:v7.7.1", 4180),
    ("metrics-exporter", "prom/statsd-exporter:v0.27.1", 9102),
)
INIT_CONTAINERS = (
    ("wait-for-db", "busybox:1.36", ["sh", "-c", "until nc -z db 5432; do sleep 2; done"]),
    ("migrate", None, ["/app/bin/migrate", "--to=latest"]),
    ("render-config", "alpine:3.20",
     ["sh", "-c", "envsubst < /templates/app.conf > /config/app.conf"]),
)
BASELINE_CAPS = ("CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER", "KILL", "SYS_CHROOT")
PRIVILEGED_CAPS = (["SYS_ADMIN"], ["NET_ADMIN"], ["NET_ADMIN", "NET_RAW"], ["SYS_PTRACE"],
                   ["IPC_LOCK"], ["SYS_RESOURCE"], ["NET_RAW"])
HOST_PATHS = (("/var/log", "Directory"), ("/var/run/docker.sock", "Socket"),
              ("/var/lib/kubelet", "Directory"), ("/etc/ssl/certs", None), ("/dev", None),
              ("/var/lib/containerd", "Directory"))

# Comment texts the emitter may put before a key (own line) or after a scalar value.
KEY_COMMENTS = {
    "securityContext": ("hardened per platform baseline", "see SEC-1042",
                        "TODO: review with the security team"),
    "resources": ("sized from last month's p95", "requests == limits for memory"),
    "livenessProbe": ("restart if the event loop stalls",),
    "readinessProbe": ("only take traffic once caches are warm",),
    "volumes": ("scratch space and config",),
    "tolerations": ("also runs on the spot pool",),
    "affinity": ("spread replicas across zones",),
    "env": ("non-secret settings; secrets come from the secret store",),
    "initContainers": ("runs before the app starts",),
    "hostNetwork": ("needs the node's network for the CNI",),
    "volumeClaimTemplates": ("one PVC per replica",),
}
INLINE_COMMENTS = {
    "replicas": ("scaled by the HPA", "keep >= 2 for the PDB"),
    "image": ("pinned by renovate", "bump with the release train"),
    "schedule": ("UTC",),
    "runAsUser": ("the image's app user",),
    "terminationGracePeriodSeconds": ("drain long requests",),
    "privileged": ("required by the agent",),
    "hostPort": ("exposed on the node",),
}


@dataclass(frozen=True)
class Workload:
    """What the generator intended for one workload: the level it passes at `latest`."""

    kind: str
    namespace: str
    name: str
    level: str
    in_list: bool


@dataclass(frozen=True)
class Corpus:
    data: bytes
    documents: list  # the Python objects the stream must load back to (None for empty docs)
    workloads: list  # Workload, in stream order


def generate(n_workloads: int = 10000, seed: int = 1, mix: str = "mixed") -> bytes:
    """The corpus stream as bytes (UTF-8, ASCII in practice)."""
    return build(n_workloads, seed, mix).data


def build(n_workloads: int = 10000, seed: int = 1, mix: str = "mixed") -> Corpus:
    """The stream plus what it was built from: the documents and each workload's level."""
    rng = random.Random(seed)
    levels = _deal_levels(n_workloads, rng, MIXES[mix])
    documents: list = []
    workloads: list = []
    chunks: list = []
    list_items: list = []  # items of the List document being filled, if any
    list_left = 0

    def add_document(doc: Any) -> None:
        documents.append(doc)
        chunks.append(_render_document(doc, rng, first=len(chunks) == 0))

    for index, level in enumerate(levels):
        # The first nine workloads cycle through the kinds so even tiny corpora have them all.
        if index < len(KINDS):
            kind = KINDS[index]
        else:
            kind = rng.choices(KINDS, weights=KIND_WEIGHTS[level])[0]
        app = rng.choice(APPS)
        name = f"{app}-{index:05d}"
        namespace = rng.choice(NAMESPACES)
        doc = _workload(rng, kind, app, name, namespace, level)
        if list_left == 0 and rng.random() < 1 / 400:
            list_left = rng.randint(3, 6)
        workloads.append(Workload(kind, namespace, name, level, in_list=list_left > 0))
        if list_left:
            list_items.append(doc)
            if rng.random() < 0.3:
                list_items.append(_service(rng, app, name, namespace))
            list_left -= 1
            if list_left == 0:
                add_document({"apiVersion": "v1", "kind": "List", "metadata":
                              {"resourceVersion": ""}, "items": list_items})
                list_items = []
            continue
        if kind in ("Deployment", "StatefulSet") and rng.random() < 0.08:
            add_document(_configmap(rng, app, name, namespace))
        add_document(doc)
        if kind in ("Deployment", "StatefulSet", "DaemonSet") and rng.random() < 0.12:
            add_document(_service(rng, app, name, namespace))
        if rng.random() < 0.003:
            add_document(None)
    if list_items:
        add_document({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                      "items": list_items})
    return Corpus("".join(chunks).encode("utf-8"), documents, workloads)


def _deal_levels(n: int, rng: random.Random, shares: tuple = LEVEL_SHARES) -> list:
    levels: list = []
    for level, share in shares[:-1]:
        levels += [level] * round(n * share / 100)
    levels += [shares[-1][0]] * (n - len(levels))
    rng.shuffle(levels)
    return levels


# --- workloads ----------------------------------------------------------------------------------


def _workload(rng: random.Random, kind: str, app: str, name: str, namespace: str,
              level: str) -> dict:
    if rng.random() < 0.8:
        selector = {"app": name}
    else:
        selector = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name}
    labels = dict(selector)
    if rng.random() < 0.2:
        labels["app.kubernetes.io/part-of"] = rng.choice(("shop", "platform", "data"))
    if rng.random() < 0.1:
        labels["app.kubernetes.io/managed-by"] = rng.choice(("Helm", "kustomize", "argocd"))
    metadata: dict = {"name": name, "namespace": namespace, "labels": labels}
    if rng.random() < 0.08:
        metadata["annotations"] = {"meta.helm.sh/release-name": app,
                                   "meta.helm.sh/release-namespace": namespace}
    template_meta: dict = {"labels": dict(selector)}
    if rng.random() < 0.15:
        template_meta["annotations"] = {"prometheus.io/scrape": "true",
                                        "prometheus.io/port": str(rng.choice((9090, 8080)))}
    if rng.random() < 0.04:
        template_meta.setdefault("annotations", {})["checksum/config"] = _hex(rng, 64)
    batch = kind in ("Job", "CronJob")
    spec = _pod_spec(rng, app, kind, batch)
    _apply_level(rng, level, kind, spec, metadata if kind == "Pod" else template_meta)
    _drop_empty_security_contexts(rng, spec)
    if not template_meta.get("annotations"):
        template_meta.pop("annotations", None)
    template = {"metadata": template_meta, "spec": spec}

    doc: dict = {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": metadata}
    if kind == "Pod":
        metadata["labels"].update(selector)
        if "annotations" in template_meta:
            metadata.setdefault("annotations", {}).update(template_meta["annotations"])
        doc["spec"] = spec
    elif kind == "PodTemplate":
        doc["template"] = template
    elif kind == "Deployment":
        doc["spec"] = {"replicas": rng.choice((1, 2, 3, 3, 5)), "selector":
                       {"matchLabels": selector}, "template": template}
        if rng.random() < 0.4:
            doc["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate":
                                       {"maxSurge": "25%", "maxUnavailable": 0}}
            _move_to_end(doc["spec"], "template")
    elif kind == "StatefulSet":
        doc["spec"] = {"serviceName": name, "replicas": rng.choice((1, 3)),
                       "selector": {"matchLabels": selector}, "template": template}
        if rng.random() < 0.35:
            doc["spec"]["volumeClaimTemplates"] = [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": rng.choice(("1Gi", "10Gi",
                                                                           "50Gi"))}}},
            }]
    elif kind == "DaemonSet":
        doc["spec"] = {"selector": {"matchLabels": selector},
                       "updateStrategy": {"type": "RollingUpdate"}, "template": template}
    elif kind == "ReplicaSet":
        doc["spec"] = {"replicas": rng.choice((1, 2)), "selector": {"matchLabels": selector},
                       "template": template}
    elif kind == "ReplicationController":
        doc["spec"] = {"replicas": rng.choice((1, 2)), "selector": selector,
                       "template": template}
    elif kind == "Job":
        doc["spec"] = {"backoffLimit": rng.choice((0, 2, 6)), "ttlSecondsAfterFinished": 86400,
                       "template": template}
    elif kind == "CronJob":
        doc["spec"] = {
            "schedule": rng.choice(("*/15 * * * *", "0 3 * * *", "30 2 * * 0", "@hourly")),
            "concurrencyPolicy": rng.choice(("Forbid", "Replace", "Allow")),
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": template}},
        }
    return doc


# How much optional material a workload carries: most real manifests are short, a few are long.
# The factor multiplies the chance of each optional field.
RICHNESS = ((0.12, 68), (0.8, 26), (1.6, 6))


def _pod_spec(rng: random.Random, app: str, kind: str, batch: bool) -> dict:
    rich = rng.choices([r for r, _ in RICHNESS], weights=[w for _, w in RICHNESS])[0]

    def chance(p: float) -> bool:
        return rng.random() < min(1.0, p * rich)

    spec: dict = {}
    if chance(0.4):
        spec["serviceAccountName"] = app
    if batch:
        spec["restartPolicy"] = rng.choice(("Never", "OnFailure"))
    if chance(0.15):
        spec["terminationGracePeriodSeconds"] = rng.choice((30, 60, 120))
    spec["securityContext"] = {}  # keeps its place; dropped or filled in later
    if chance(0.1):
        spec["nodeSelector"] = {"kubernetes.io/arch": "amd64",
                                "node.kubernetes.io/pool": rng.choice(("general", "spot"))}
    if (kind == "DaemonSet" and rng.random() < 0.6) or chance(0.04):
        spec["tolerations"] = [{"key": "node-role.kubernetes.io/control-plane",
                                "operator": "Exists", "effect": "NoSchedule"}]
    if chance(0.05):
        term = {"topologyKey": "topology.kubernetes.io/zone",
                "labelSelector": {"matchLabels": {"app": app}}}
        spec["affinity"] = {"podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                                                                 "podAffinityTerm": term}]}}
    volumes = _volumes(chance, app)
    n_init = 2 if chance(0.015) else (1 if chance(0.08) else 0)
    if n_init:
        spec["initContainers"] = [_init_container(rng, app, i) for i in range(n_init)]
    n_sidecars = 2 if chance(0.02) else (1 if chance(0.1) else 0)
    containers = [_main_container(rng, chance, app, volumes, batch)]
    for sidecar in rng.sample(SIDECARS, n_sidecars):
        containers.append(_sidecar(rng, sidecar))
    spec["containers"] = containers
    if kind == "Pod" and rng.random() < 0.03:
        spec["ephemeralContainers"] = [{"name": "debugger", "image": "busybox:1.36",
                                        "command": ["sh"], "stdin": True, "tty": True,
                                        "targetContainerName": containers[0]["name"],
                                        "securityContext": {}}]
    if chance(0.08):
        spec["imagePullSecrets"] = [{"name": "regcred"}]
    if volumes:
        spec["volumes"] = volumes
    return spec


def _volumes(chance: Callable[[float], bool], app: str) -> list:
    volumes = []
    if chance(0.3):
        volumes.append({"name": "config", "configMap": {"name": f"{app}-config"}})
    if chance(0.15):
        volumes.append({"name": "tmp", "emptyDir": {}})
    elif chance(0.1):
        volumes.append({"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}})
    if chance(0.12):
        volumes.append({"name": "tls", "secret": {"secretName": f"{app}-tls",
                                                  "defaultMode": 0o440}})
    if chance(0.03):
        volumes.append({"name": "podinfo", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}})
    if chance(0.04):
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": f"{app}-data"}})
    if chance(0.02):
        volumes.append({"name": "token", "projected": {"sources": [{"serviceAccountToken": {
            "path": "token", "audience": "vault", "expirationSeconds": 3600}}]}})
    if chance(0.004):
        # A volume with no source: the API server defaults it to emptyDir (docs/psa-semantics.md §9.1).
        volumes.append({"name": "scratch"})
    return volumes


def _image(rng: random.Random, app: str) -> str:
    version = f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    image = f"{rng.choice(REGISTRIES)}/{app}:{version}"
    if rng.random() < 0.08:
        image += "@sha256:" + _hex(rng, 64)
    return image


ENV_VARS = (
    {"name": "LOG_FORMAT", "value": "json"},
    {"name": "GOMAXPROCS", "value": "2"},
    {"name": "FEATURE_NEW_CHECKOUT", "value": "true"},
    {"name": "DB_HOST", "value": "{app}-db.data.svc.cluster.local"},
    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "{app}-db",
                                                           "key": "password"}}},
    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    {"name": "CACHE_URL", "valueFrom": {"configMapKeyRef": {"name": "{app}-config",
                                                            "key": "cache_url"}}},
)
MOUNT_PATHS = {"config": "/etc/{app}", "tmp": "/tmp", "tls": "/etc/tls", "podinfo": "/etc/podinfo",
               "data": "/var/lib/{app}", "token": "/var/run/secrets/vault", "scratch": "/scratch"}


def _main_container(rng: random.Random, chance: Callable[[float], bool], app: str,
                    volumes: list, batch: bool) -> dict:
    c: dict = {"name": app, "image": _image(rng, app)}
    if chance(0.2):
        c["imagePullPolicy"] = rng.choice(("IfNotPresent", "Always"))
    if batch:
        c["command"] = ["/app/bin/" + app]
        c["args"] = ["run", "--once", f"--batch-size={rng.choice((100, 500, 1000))}"]
        if chance(0.1):
            c["command"] = ["/bin/sh", "-c"]
            script = (f"set -eu\n/app/bin/{app} export --since=24h\n"
                      f"/app/bin/{app} upload --bucket=s3://{app}-exports\n")
            c["args"] = [script]
    elif chance(0.2):
        c["args"] = ["--port=8080", f"--log-level={rng.choice(('info', 'debug', 'warn'))}"]
    port = rng.choice((8080, 8000, 3000, 9000))
    if not batch and chance(0.9):
        c["ports"] = [{"name": "http", "containerPort": port}]
        if rng.random() < 0.3:
            c["ports"][0]["protocol"] = "TCP"
        if chance(0.2):
            c["ports"].append({"name": "metrics", "containerPort": 9090})
    n_env = sum(chance(p) for p in (0.4, 0.25, 0.15, 0.1))
    if n_env:
        env = rng.sample(ENV_VARS, n_env)
        c["env"] = json.loads(json.dumps(env).replace("{app}", app))  # a deep copy, filled in
    if chance(0.1):
        c["envFrom"] = [{"configMapRef": {"name": f"{app}-config"}}]
    if rng.random() < 0.75:
        c["resources"] = {"requests": {"cpu": rng.choice(("50m", "100m", "250m", "500m", "1")),
                                       "memory": rng.choice(("64Mi", "128Mi", "256Mi", "1Gi"))}}
        if chance(0.5):
            c["resources"]["limits"] = {"memory": rng.choice(("256Mi", "512Mi", "2Gi"))}
    if not batch and chance(0.45):
        c["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "http"},
                               "periodSeconds": 10}
        if chance(0.5):
            c["livenessProbe"] = rng.choice((
                {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 10,
                 "failureThreshold": 3},
                {"tcpSocket": {"port": port}, "periodSeconds": 20},
                {"exec": {"command": ["/app/bin/healthcheck"]}, "timeoutSeconds": 5},
            ))
    c["securityContext"] = {}
    mounts = []
    for volume in volumes:
        mount = {"name": volume["name"], "mountPath": MOUNT_PATHS[volume["name"]].format(app=app)}
        if volume["name"] in ("config", "tls"):
            mount["readOnly"] = True
        mounts.append(mount)
    if mounts:
        c["volumeMounts"] = mounts
    return c


def _sidecar(rng: random.Random, sidecar: tuple) -> dict:
    name, image, port = sidecar
    return {"name": name, "image": image,
            "ports": [{"name": name[:15], "containerPort": port}],
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                          "limits": {"memory": rng.choice(("64Mi", "128Mi"))}},
            "securityContext": {}}


def _init_container(rng: random.Random, app: str, index: int) -> dict:
    name, image, command = INIT_CONTAINERS[(index + rng.randint(0, 2)) % len(INIT_CONTAINERS)]
    return {"name": f"{name}-{index}" if index else name, "image": image or _image(rng, app),
            "command": list(command), "securityContext": {}}


# --- levels -------------------------------------------------------------------------------------
#
# A workload is built for its level in three steps: restricted settings ("harden"), then settings
# that fail restricted but not baseline, then settings that fail baseline. Each step is known to
# fail its level on its own; docs/psa-semantics.md has the rules.


def _apply_level(rng: random.Random, level: str, kind: str, spec: dict, pod_meta: dict) -> None:
    if level == "restricted":
        _harden(rng, spec, pod_meta, allow_windows=True)
    elif level == "baseline":
        _make_baseline(rng, spec, pod_meta, for_privileged=False)
    else:
        _make_privileged(rng, kind, spec, pod_meta)


def _containers(spec: dict) -> Iterator[dict]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key, ())


def _sc(container: dict) -> dict:
    return container.setdefault("securityContext", {})


def _harden(rng: random.Random, spec: dict, pod_meta: dict, allow_windows: bool) -> None:
    psc = spec["securityContext"]
    variant = rng.choices(("pod", "container_seccomp", "container_nonroot", "localhost",
                           "windows"), weights=(78, 9, 6, 3, 4 if allow_windows else 0))[0]
    if variant == "windows":
        # Windows pods are exempt from the Linux-only restricted checks (v1.25+) and must not
        # set those fields; runAsNonRoot still applies.
        spec["os"] = {"name": "windows"}
        spec["nodeSelector"] = {"kubernetes.io/os": "windows"}
        psc["runAsNonRoot"] = True
        psc["windowsOptions"] = {"runAsUserName": "ContainerUser"}
        return
    if variant != "container_nonroot":
        psc["runAsNonRoot"] = True
    if rng.random() < 0.5:
        psc["runAsUser"] = rng.choice((101, 1000, 10001, 65532, 65534))
        if rng.random() < 0.4:
            psc["runAsGroup"] = psc["runAsUser"]
    if rng.random() < 0.25:
        psc["fsGroup"] = rng.choice((1000, 2000, 65534))
    if variant in ("pod", "container_nonroot"):
        psc["seccompProfile"] = {"type": "RuntimeDefault"}
    elif variant == "localhost":
        psc["seccompProfile"] = {"type": "Localhost", "localhostProfile": "profiles/audit.json"}
    if rng.random() < 0.02:
        psc["sysctls"] = [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]
    if rng.random() < 0.02:
        psc["appArmorProfile"] = {"type": "RuntimeDefault"}
    if rng.random() < 0.02:
        psc["seLinuxOptions"] = {"level": "s0:c123,c456"}
    for c in _containers(spec):
        sc = _sc(c)
        sc["allowPrivilegeEscalation"] = False
        if rng.random() < 0.3:
            sc["readOnlyRootFilesystem"] = True
        if variant == "container_nonroot":
            sc["runAsNonRoot"] = True
        sc["capabilities"] = {"drop": ["ALL"]}
        if rng.random() < 0.04:
            sc["capabilities"] = {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
        if variant == "container_seccomp":
            sc["seccompProfile"] = {"type": "RuntimeDefault"}


def _make_baseline(rng: random.Random, spec: dict, pod_meta: dict, for_privileged: bool) -> None:
    if rng.random() < 0.4:
        # The commonest real case: no security settings at all, or harmless ones only.
        # runAsUser alone does not satisfy runAsNonRoot.
        if rng.random() < 0.3:
            spec["securityContext"]["runAsUser"] = 1000
        if rng.random() < 0.2:
            spec["securityContext"]["fsGroup"] = 2000
        return
    _harden(rng, spec, pod_meta, allow_windows=False)
    psc = spec["securityContext"]
    everyone = list(_containers(spec))
    breakers = ("no_seccomp", "escalation", "no_drop", "baseline_cap", "root", "no_nonroot",
                "volume", "userns_procmount")
    weights = (30, 20, 15, 8, 10, 10, 5, 0 if for_privileged else 2)
    # dict.fromkeys, not set(): set order of strings changes with the hash seed.
    for breaker in dict.fromkeys(rng.choices(breakers, weights=weights, k=rng.randint(1, 2))):
        victim = rng.choice(everyone)
        if breaker == "no_seccomp":
            psc.pop("seccompProfile", None)
            for c in everyone:
                _sc(c).pop("seccompProfile", None)
            if rng.random() < 0.4:
                # The old annotation: ignored by PSA since policy v1.19.
                pod_meta.setdefault("annotations", {})[
                    "seccomp.security.alpha.kubernetes.io/pod"] = "runtime/default"
        elif breaker == "escalation":
            if rng.random() < 0.6:
                _sc(victim).pop("allowPrivilegeEscalation", None)
            else:
                _sc(victim)["allowPrivilegeEscalation"] = True
        elif breaker == "no_drop":
            if rng.random() < 0.6:
                _sc(victim).pop("capabilities", None)
            else:
                # Dropping capabilities one by one is not `ALL`.
                _sc(victim)["capabilities"] = {"drop": ["NET_RAW", "MKNOD", "SYS_CHROOT"]}
        elif breaker == "baseline_cap":
            _sc(victim).setdefault("capabilities", {})["add"] = rng.sample(BASELINE_CAPS,
                                                                           rng.randint(1, 2))
        elif breaker == "root":
            _sc(victim)["runAsNonRoot"] = False
            _sc(victim)["runAsUser"] = 0
        elif breaker == "no_nonroot":
            psc.pop("runAsNonRoot", None)
            for c in everyone:
                _sc(c).pop("runAsNonRoot", None)
        elif breaker == "volume":
            spec.setdefault("volumes", []).append(rng.choice((
                {"name": "shared", "nfs": {"server": "nfs.storage.internal",
                                           "path": "/exports/shared"}},
                {"name": "shared", "cephfs": {"monitors": ["10.0.0.5:6789"], "user": "admin",
                                              "secretRef": {"name": "ceph-secret"}}},
                {"name": "shared", "iscsi": {"targetPortal": "10.0.0.9:3260", "lun": 0,
                                             "iqn": "iqn.2001-04.com.example:storage.disk1"}},
            )))
            spec["containers"][0].setdefault("volumeMounts", []).append(
                {"name": "shared", "mountPath": "/shared"})
        elif breaker == "userns_procmount":
            # With a user namespace (hostUsers: false) baseline allows any procMount from
            # v1.35; restricted never does.
            spec["hostUsers"] = False
            _sc(spec["containers"][0])["procMount"] = "Unmasked"


def _make_privileged(rng: random.Random, kind: str, spec: dict, pod_meta: dict) -> None:
    start = rng.random()
    if start < 0.35:
        _harden(rng, spec, pod_meta, allow_windows=False)
    elif start < 0.7:
        _make_baseline(rng, spec, pod_meta, for_privileged=True)
    if start >= 0.7 and rng.random() < 0.04:
        _windows_host_process(spec)
        return
    psc = spec["securityContext"]
    main = spec["containers"][0]
    breakers = ("host_path", "host_network", "privileged", "caps", "host_port", "host_pid",
                "unconfined", "probe_host", "sysctl", "selinux", "apparmor", "host_ipc")
    weights = (25, 18, 18, 14, 7, 5, 4, 3, 2, 2, 2, 1)
    if kind == "DaemonSet":
        weights = (35, 25, 20, 10, 7, 5, 1, 1, 1, 1, 1, 1)
    # dict.fromkeys, not set(): set order of strings changes with the hash seed.
    for breaker in dict.fromkeys(rng.choices(breakers, weights=weights, k=rng.randint(1, 2))):
        victim = rng.choice(list(_containers(spec)))
        if breaker == "host_path":
            path, kind_of_path = rng.choice(HOST_PATHS)
            host_path = {"path": path}
            if kind_of_path:
                host_path["type"] = kind_of_path
            spec.setdefault("volumes", []).append({"name": "host", "hostPath": host_path})
            main.setdefault("volumeMounts", []).append({"name": "host", "mountPath": "/host" +
                                                        path, "readOnly": rng.random() < 0.5})
        elif breaker in ("host_network", "host_pid", "host_ipc"):
            field = {"host_network": "hostNetwork", "host_pid": "hostPID",
                     "host_ipc": "hostIPC"}[breaker]
            _put_before(spec, field, True, "securityContext")
            if field == "hostNetwork" and rng.random() < 0.6:
                _put_before(spec, "dnsPolicy", "ClusterFirstWithHostNet", "securityContext")
        elif breaker == "privileged":
            # API validation rejects privileged together with allowPrivilegeEscalation: false.
            _sc(victim).pop("allowPrivilegeEscalation", None)
            _sc(victim)["privileged"] = True
        elif breaker == "caps":
            add = list(rng.choice(PRIVILEGED_CAPS))
            if "SYS_ADMIN" in add:
                _sc(victim).pop("allowPrivilegeEscalation", None)
            _sc(victim).setdefault("capabilities", {})["add"] = add
        elif breaker == "host_port":
            ports = main.setdefault("ports", [{"containerPort": 8080}])
            ports[0]["hostPort"] = rng.choice((80, 443, ports[0]["containerPort"]))
        elif breaker == "unconfined":
            target = psc if rng.random() < 0.5 else _sc(victim)
            target["seccompProfile"] = {"type": "Unconfined"}
        elif breaker == "probe_host":
            # Any probe or lifecycle host fails baseline from policy v1.34.
            probe = main.get("readinessProbe")
            if probe and "httpGet" in probe:
                probe["httpGet"]["host"] = rng.choice(("127.0.0.1", "localhost"))
            else:
                main["livenessProbe"] = {"tcpSocket": {"host": "localhost", "port": 8080}}
        elif breaker == "sysctl":
            psc["sysctls"] = [{"name": rng.choice(("net.core.somaxconn", "kernel.msgmax",
                                                   "net.ipv4.tcp_max_syn_backlog")),
                               "value": "65535"}]
        elif breaker == "selinux":
            target = psc if rng.random() < 0.5 else _sc(victim)
            target["seLinuxOptions"] = {"type": "spc_t"}
        elif breaker == "apparmor":
            if rng.random() < 0.5:
                pod_meta.setdefault("annotations", {})[
                    "container.apparmor.security.beta.kubernetes.io/" + victim["name"]] = \
                    "unconfined"
            else:
                _sc(victim)["appArmorProfile"] = {"type": "Unconfined"}
    if spec.get("hostNetwork"):
        # API validation: with the host network, a hostPort must equal its containerPort.
        for c in _containers(spec):
            for port in c.get("ports", ()):
                if "hostPort" in port:
                    port["hostPort"] = port["containerPort"]


def _windows_host_process(spec: dict) -> None:
    # Windows HostProcess pods must also use the host network.
    spec["os"] = {"name": "windows"}
    spec["nodeSelector"] = {"kubernetes.io/os": "windows"}
    _put_before(spec, "hostNetwork", True, "securityContext")
    spec["securityContext"] = {"windowsOptions": {"hostProcess": True,
                                                  "runAsUserName": "NT AUTHORITY\\SYSTEM"}}


def _drop_empty_security_contexts(rng: random.Random, spec: dict) -> None:
    # Helm charts often render `securityContext: {}`; keep some of those.
    keep_empty = rng.random() < 0.3
    if not spec["securityContext"] and not keep_empty:
        del spec["securityContext"]
    for c in _containers(spec):
        if not c.get("securityContext") and not keep_empty:
            c.pop("securityContext", None)


def _put_before(mapping: dict, key: str, value: Any, before: str) -> None:
    if key in mapping or before not in mapping:
        mapping[key] = value
        return
    items = list(mapping.items())
    mapping.clear()
    for k, v in items:
        if k == before:
            mapping[key] = value
        mapping[k] = v


def _move_to_end(mapping: dict, key: str) -> None:
    mapping[key] = mapping.pop(key)


# --- non-workloads ------------------------------------------------------------------------------


def _service(rng: random.Random, app: str, name: str, namespace: str) -> dict:
    ports = [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    if rng.random() < 0.3:
        ports.append({"name": "metrics", "port": 9090, "targetPort": 9090})
    spec: dict = {"type": rng.choice(("ClusterIP", "ClusterIP", "ClusterIP", "LoadBalancer")),
                  "selector": {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name},
                  "ports": ports}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/name": app}},
            "spec": spec}


def _configmap(rng: random.Random, app: str, name: str, namespace: str) -> dict:
    data = {"LOG_LEVEL": rng.choice(("info", "debug")), "cache_url": f"redis://{app}-cache:6379",
            "MAX_CONNECTIONS": str(rng.choice((50, 100, 200)))}
    if rng.random() < 0.6:
        data["app.conf"] = (f"[server]\nlisten = 0.0.0.0:8080\nread_timeout = 30s\n\n"
                            f"[upstream]\nname = {app}\nretries = 3\n")
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{name}-config", "namespace": namespace}, "data": data}


def _hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


# --- rendering ----------------------------------------------------------------------------------


@dataclass
class _Style:
    indent: int
    flush_sequences: bool  # "key:\n- item" rather than "key:\n  - item"
    flow_maps: float  # probability that a small all-scalar mapping is written {a: 1}
    flow_seqs: float  # probability that a short scalar list is written [a, b]
    comments: float
    quotes: float  # probability that a plain-safe string is quoted anyway
    quote_char: str


def _render_document(doc: Any, rng: random.Random, first: bool) -> str:
    lines: list = []
    if not first or rng.random() < 0.5:
        lines.append("---" if rng.random() < 0.97 else "--- # generated")
    if doc is None:
        # Not helm's `# Source: CHART/templates/...`: fix refuses helm output, by design.
        lines.append("# hpa.yaml (disabled in this environment)")
        return "\n".join(lines) + "\n"
    roll = rng.random()
    if roll < 0.3:
        lines.append(f"# Source: {doc['kind'].lower()}s/{doc['metadata'].get('name', 'list')}"
                     ".yaml")
    elif roll < 0.4:
        lines.append("# Managed by the platform team. Edit the chart, not this file.")
    if rng.random() < 0.015:
        text = json.dumps(doc, indent=rng.choice((2, 4)))
        lines.append(text)
    else:
        style = _Style(indent=rng.choice((2,) * 9 + (4,)), flush_sequences=rng.random() < 0.45,
                       flow_maps=rng.choice((0.0, 0.0, 0.15, 0.4)),
                       flow_seqs=rng.choice((0.0, 0.3, 0.6)),
                       comments=rng.choice((0.0, 0.0, 0.1, 0.3)),
                       quotes=rng.choice((0.0, 0.1, 0.5)), quote_char=rng.choice('"""\''))
        _Emitter(rng, style, lines).mapping(doc, 0, in_item=False)
    if rng.random() < 0.02:
        lines.append("...")
    return "\n".join(lines) + "\n"


class _Emitter:
    """A small block-style YAML writer with per-document style choices."""

    def __init__(self, rng: random.Random, style: _Style, lines: list) -> None:
        self.rng = rng
        self.style = style
        self.lines = lines

    def mapping(self, mapping: dict, indent: int, in_item: bool) -> None:
        pad = " " * indent
        for position, (key, value) in enumerate(mapping.items()):
            first_of_item = in_item and position == 0
            if (key in KEY_COMMENTS and not first_of_item and self.style.comments
                    and self.rng.random() < self.style.comments):
                self.lines.append(f"{pad}# {self.rng.choice(KEY_COMMENTS[key])}")
            head = f"{pad}{_plain_or_quoted(key, flow=False)}:"
            self.value(head, key, value, indent)

    def value(self, head: str, key: Any, value: Any, indent: int) -> None:
        step = self.style.indent
        if isinstance(value, dict):
            if not value:
                self.lines.append(head + " {}")
            elif self._flow_map_ok(value) and self.rng.random() < self.style.flow_maps:
                self.lines.append(f"{head} {self._flow(value)}")
            else:
                self.lines.append(head)
                self.mapping(value, indent + step, in_item=False)
        elif isinstance(value, list):
            if not value:
                self.lines.append(head + " []")
            elif self._flow_seq_ok(value) and self.rng.random() < self.style.flow_seqs:
                self.lines.append(f"{head} {self._flow(value)}")
            else:
                self.lines.append(head)
                self.sequence(value, indent if self.style.flush_sequences else indent + step)
        elif isinstance(value, str) and "\n" in value:
            self.block_literal(head, value, indent + step)
        else:
            line = f"{head} {self.scalar(value)}"
            if (key in INLINE_COMMENTS and self.style.comments
                    and self.rng.random() < self.style.comments):
                line += f"  # {self.rng.choice(INLINE_COMMENTS[key])}"
            self.lines.append(line)

    def sequence(self, items: list, dash: int) -> None:
        pad = " " * dash
        for item in items:
            if isinstance(item, dict) and item:
                if self._flow_map_ok(item) and self.rng.random() < self.style.flow_maps / 2:
                    self.lines.append(f"{pad}- {self._flow(item)}")
                    continue
                start = len(self.lines)
                self.mapping(item, dash + 2, in_item=True)
                self.lines[start] = pad + "- " + self.lines[start][dash + 2:]
            elif isinstance(item, (dict, list)):
                self.lines.append(f"{pad}- {'{}' if isinstance(item, dict) else '[]'}")
            elif isinstance(item, str) and "\n" in item:
                self.block_literal(pad + "-", item, dash + 2)
            else:
                self.lines.append(f"{pad}- {self.scalar(item)}")

    def block_literal(self, head: str, text: str, indent: int) -> None:
        # "|" keeps exactly one final newline; "|-" keeps none. The texts here never start
        # with a space and never end with more than one newline.
        self.lines.append(head + (" |" if text.endswith("\n") else " |-"))
        for line in text[:-1].split("\n") if text.endswith("\n") else text.split("\n"):
            self.lines.append(" " * indent + line if line else "")

    def scalar(self, value: Any) -> str:
        if isinstance(value, str) and self.style.quotes and self.rng.random() < self.style.quotes:
            return _quote(value, self.style.quote_char)
        return _plain_or_quoted(value, flow=False)

    def _flow(self, node: Any) -> str:
        if isinstance(node, dict):
            return "{" + ", ".join(f"{_plain_or_quoted(k, True)}: {_plain_or_quoted(v, True)}"
                                   for k, v in node.items()) + "}"
        return "[" + ", ".join(_plain_or_quoted(v, True) for v in node) + "]"

    @staticmethod
    def _flow_map_ok(mapping: dict) -> bool:
        return len(mapping) <= 3 and all(_is_short_scalar(v) for v in mapping.values())

    @staticmethod
    def _flow_seq_ok(items: list) -> bool:
        return len(items) <= 6 and all(_is_short_scalar(v) for v in items)


def _is_short_scalar(value: Any) -> bool:
    if isinstance(value, (dict, list)):
        return False
    return not isinstance(value, str) or ("\n" not in value and len(value) < 60)


def _plain_or_quoted(value: Any, flow: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if _plain_ok(value, flow):
        return value
    return _quote(value, '"')


def _quote(text: str, char: str) -> str:
    if char == "'" and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


_RESOLVER = yaml.resolver.Resolver()
_NUMBER_LIKE = re.compile(r"[-+.]?[0-9][0-9_.eE:+-]*")


@functools.cache
def _plain_ok(text: str, flow: bool) -> bool:
    """Whether `text` reads back as the same string when written plain (YAML 1.1, as PyYAML
    and the Kubernetes decoders read it)."""
    if not text or text != text.strip() or not text.isascii() or not text.isprintable():
        return False
    if text[0] in "!&*?|>'\"%@`#,[]{}:" or text.startswith(("- ", "---", "...")):
        return False
    if ": " in text or " #" in text or text.endswith(":") or text in ("-", "y", "n", "Y", "N"):
        return False
    if flow and any(ch in text for ch in ",[]{}:"):
        return False
    if _NUMBER_LIKE.fullmatch(text):
        return False
    return _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


# --- command line -------------------------------------------------------------------------------


def _stats(corpus: Corpus) -> str:
    by_kind: Counter = Counter()
    by_level: Counter = Counter()
    for w in corpus.workloads:
        by_kind[w.kind, w.level] += 1
        by_level[w.level] += 1
    kinds = Counter()
    for doc in corpus.documents:
        kinds[doc["kind"] if doc else "(empty)"] += 1
    levels = [level for level, _ in LEVEL_SHARES]
    in_lists = sum(w.in_list for w in corpus.workloads)
    out = [(f"{len(corpus.data):,} bytes, {len(corpus.documents):,} documents, "
            f"{len(corpus.workloads):,} workloads ({in_lists} of them inside List documents)"),
           "",
           f"{'kind':<22}" + "".join(f"{lv:>12}" for lv in levels) + f"{'total':>9}"]
    for kind in KINDS:
        row = [by_kind[kind, lv] for lv in levels]
        out.append(f"{kind:<22}" + "".join(f"{n:>12}" for n in row) + f"{sum(row):>9}")
    total = len(corpus.workloads)
    out.append(f"{'total':<22}" + "".join(f"{by_level[lv]:>12}" for lv in levels) +
               f"{total:>9}")
    out.append(f"{'share':<22}" + "".join(f"{by_level[lv] / max(total, 1):>12.1%}"
                                          for lv in levels))
    out += ["", "documents by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))]
    return "\n".join(out)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", choices=sorted(MIXES), default="mixed",
                        help="level mix: mixed (half restricted) or unhardened (two thirds need edits)")
    parser.add_argument("--out", help="write the stream to this file")
    parser.add_argument("--stats", action="store_true", help="print the kind and level mix")
    parser.add_argument("--verify", action="store_true",
                        help="check that the stream loads back to exactly the documents built")
    args = parser.parse_args(argv)
    corpus = build(args.workloads, args.seed, args.mix)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(corpus.data)
    if args.stats or not args.out:
        print(_stats(corpus))
    if args.verify:
        loaded = list(yaml.load_all(corpus.data, Loader=getattr(yaml, "CSafeLoader",
                                                                 yaml.SafeLoader)))
        if loaded != corpus.documents:
            bad = next(i for i, (a, b) in enumerate(zip(loaded, corpus.documents)) if a != b) \
                if len(loaded) == len(corpus.documents) else "count"
            print(f"verify: FAILED (first difference at document {bad})", file=sys.stderr)
            return 1
        print(f"verify: ok, {len(loaded)} documents load back unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
