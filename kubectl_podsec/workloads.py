"""Which objects carry a pod, where, and the part of it the checks read.

The API server defaults and validates an object before admission sees it. Here each pod is
reduced to the fields the checks read (SCHEMA), typed the way the API server decodes them
(a quoted "true" where a boolean belongs is an error, not a truthy string), and defaulted
where defaulting changes a verdict: a volume with no source becomes emptyDir, and in a Pod
with hostNetwork: true an unset hostPort takes the containerPort.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kubectl_podsec.paths import format_path
from kubectl_podsec.yamlnodes import (
    FALSE_WORDS,
    NULL_WORDS,
    TRUE_WORDS,
    NodeError,
    describe,
    is_null,
    mapping,
    scalar,
)

# Where each kind keeps its pod: (API group, kind) -> path to the pod template, () for a Pod.
# PSA itself covers the first nine (matched by group, any version); `extensions` is accepted
# for old manifests of the apps kinds.
BUILTIN_TEMPLATES = {
    ("", "Pod"): (),
    ("", "PodTemplate"): ("template",),
    ("", "ReplicationController"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("extensions", "ReplicaSet"): ("spec", "template"),
    ("extensions", "Deployment"): ("spec", "template"),
    ("extensions", "DaemonSet"): ("spec", "template"),
}
# Popular custom resources whose controllers create pods from a template. PSA does not see
# these objects, only their pods, so a verdict here is what those pods would get.
CUSTOM_TEMPLATES = {
    ("argoproj.io", "Rollout"): ("spec", "template"),
    ("apps.kruise.io", "CloneSet"): ("spec", "template"),
    ("apps.kruise.io", "StatefulSet"): ("spec", "template"),
    ("apps.kruise.io", "DaemonSet"): ("spec", "template"),
    ("apps.kruise.io", "BroadcastJob"): ("spec", "template"),
    ("serving.knative.dev", "Service"): ("spec", "template"),
    ("serving.knative.dev", "Configuration"): ("spec", "template"),
    ("keda.sh", "ScaledJob"): ("spec", "jobTargetRef", "template"),
}


@dataclass(frozen=True)
class WorkloadKinds:
    """Which kinds carry a pod and where: the built-in kinds, the custom resources above and a
    configuration's podTemplates (which win, as they are the user's word). A value, built once
    per run and passed to whoever reads objects, so that two configurations never mix."""

    builtin: Mapping = field(default_factory=lambda: BUILTIN_TEMPLATES)
    custom: Mapping = field(default_factory=lambda: CUSTOM_TEMPLATES)
    config: Mapping = field(default_factory=dict)
    _all: Mapping = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("builtin", "custom", "config"):  # read-only copies: nobody changes a value in use
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "_all", {**self.builtin, **self.custom, **self.config})

    def __reduce__(self):  # a mappingproxy does not pickle; its dict does
        return WorkloadKinds, (dict(self.builtin), dict(self.custom), dict(self.config))

    def template_path(self, kind: str, api_version) -> tuple | None:
        """Where the pod of this kind is, or None when the kind carries no pod."""
        return self._all.get((api_group(api_version), kind))

    def with_config(self, pod_templates: Mapping) -> WorkloadKinds:
        """These kinds and a configuration's (group, kind) -> path entries."""
        return WorkloadKinds(self.builtin, self.custom, {**self.config, **pod_templates})


DEFAULT_KINDS = WorkloadKinds()


def kinds_for(config) -> WorkloadKinds:
    """The kinds of a run with this config.Config (or None: the default kinds)."""
    pod_templates = getattr(config, "pod_templates", None)
    return DEFAULT_KINDS.with_config(pod_templates) if pod_templates else DEFAULT_KINDS


VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
    "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
    "image",
)

# Leaf types: "bool", "int64", "int32" (the Go type of the field in k8s.io/api core/v1:
# RunAsUser *int64, HostPort and ContainerPort int32; the API server's decoder refuses a
# number beyond it), "str", "present" (any mapping: only whether it is set matters),
# "strmap" (map of strings). A dict is a mapping schema, a one-item list a list of that.
_SELINUX = {"type": "str", "user": "str", "role": "str", "level": "str"}
_PROFILE = {"type": "str", "localhostProfile": "str"}
_CONTAINER_SC = {
    "privileged": "bool", "allowPrivilegeEscalation": "bool", "procMount": "str",
    "runAsNonRoot": "bool", "runAsUser": "int64", "seccompProfile": _PROFILE,
    "appArmorProfile": _PROFILE, "seLinuxOptions": _SELINUX,
    "windowsOptions": {"hostProcess": "bool"}, "capabilities": {"add": ["str"], "drop": ["str"]},
}
_HANDLER = {"httpGet": {"host": "str"}, "tcpSocket": {"host": "str"}}
_CONTAINER = {
    "name": "str", "securityContext": _CONTAINER_SC,
    "ports": [{"hostPort": "int32", "containerPort": "int32"}],
    # Only for fix: the API server allows Bidirectional propagation to privileged containers only.
    "volumeMounts": [{"name": "str", "mountPropagation": "str"}],
    "livenessProbe": _HANDLER, "readinessProbe": _HANDLER, "startupProbe": _HANDLER,
    "lifecycle": {"postStart": _HANDLER, "preStop": _HANDLER},
}
POD_SPEC_SCHEMA = {
    "hostNetwork": "bool", "hostPID": "bool", "hostIPC": "bool", "hostUsers": "bool",
    "os": {"name": "str"}, "runtimeClassName": "str",
    "securityContext": {
        "runAsNonRoot": "bool", "runAsUser": "int64", "seccompProfile": _PROFILE,
        "appArmorProfile": _PROFILE, "seLinuxOptions": _SELINUX,
        "windowsOptions": {"hostProcess": "bool"}, "sysctls": [{"name": "str"}],
    },
    "volumes": [dict({"name": "str"}, **{source: "present" for source in VOLUME_SOURCES})],
    "initContainers": [_CONTAINER], "containers": [_CONTAINER], "ephemeralContainers": [_CONTAINER],
}
META_SCHEMA = {"name": "str", "generateName": "str", "namespace": "str", "labels": "strmap",
               "annotations": "strmap"}

_LEAF_NAMES = {"bool": "a boolean", "int64": "an integer", "int32": "an integer", "str": "a string"}
_INT_BITS = {"int64": 64, "int32": 32}


@dataclass
class Located:
    """Where things are in a document: path tuple -> node of the key (or list item)."""

    nodes: dict = field(default_factory=dict)

    def position(self, path: tuple) -> tuple:
        """(deepest part of `path` present in the document, its 1-based line and column)."""
        for end in range(len(path), -1, -1):
            node = self.nodes.get(path[:end])
            if node is not None:
                return path[:end], node.start_mark.line + 1, node.start_mark.column + 1
        return (), None, None


class PruneError(Exception):
    def __init__(self, path: tuple, node: Node | None, message: str):
        super().__init__(message)
        self.path, self.node, self.message = path, node, message


def _leaf(node: Node, kind: str, path: tuple):
    value = scalar(node) if isinstance(node, ScalarNode) else node
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind in _INT_BITS and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            _check_bits(value, kind, path, node, node.value if isinstance(node, ScalarNode) else value)
            return value
    if kind == "str" and isinstance(value, str):
        return value
    raise PruneError(path, node, f"{format_path(path)} must be {_LEAF_NAMES[kind]}, not {describe(node)}")


def _check_bits(value: int, kind: str, path: tuple, node: Node | None, written) -> None:
    bits = _INT_BITS[kind]
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise PruneError(path, node, f"{format_path(path)} must be a {bits}-bit integer, not the number {written}")


def prune_node(node: Node, schema, path: tuple, located: Located):  # noqa: C901 - the hot path, inlined on purpose (bench)
    """The part of `node` that `schema` names, as plain Python values; None when null."""
    # The common cases first, with few calls: most of the nodes of a pod are untagged
    # scalars and mappings of distinct plain keys. Anything else, and every error, is
    # read the general way below.
    if type(node) is ScalarNode:  # type(), not isinstance: a subclass takes the general way
        if schema.__class__ is str:
            value = _plain_leaf(node, schema)
            if value is not _SLOW:
                return value
    elif type(node) is MappingNode and _plain_keys(node):
        if schema.__class__ is dict:
            return _prune_plain_mapping(node, schema, path, located)
        if schema == "present":
            return True
    if is_null(node):
        return None
    try:
        if schema.__class__ is dict:
            out = {}
            for key, (key_node, value_node) in _pairs(node):
                sub = schema.get(key)
                if sub is None:
                    continue
                located.nodes[path + (key,)] = key_node
                value = prune_node(value_node, sub, path + (key,), located)
                if value is not None:
                    out[key] = value
            return out
        if schema.__class__ is list:
            if not isinstance(node, SequenceNode):
                raise PruneError(path, node, f"{format_path(path)} must be a list, not {describe(node)}")
            items = []
            for index, item in enumerate(node.value):
                located.nodes[path + (index,)] = item
                value = prune_node(item, schema[0], path + (index,), located)
                items.append(_null_item(schema[0]) if value is None else value)
            return items
        if schema == "present":
            mapping(node)  # a volume source must be an object
            return True
        if schema == "strmap":
            out = {}
            for key, (key_node, value_node) in mapping(node).items():
                located.nodes[path + (key,)] = key_node
                value = _plain_leaf(value_node, "str") if value_node.__class__ is ScalarNode else _SLOW
                if value is _SLOW:
                    value = "" if is_null(value_node) else _leaf(value_node, "str", path + (key,))
                out[key] = "" if value is None else value
            return out
        return _leaf(node, schema, path)
    except NodeError as error:
        raise PruneError(path, error.node, f"{format_path(path)}: {error.message}") from None


_SLOW = object()  # _plain_leaf: not a plain case, let _leaf decide (or refuse)
_INT_LIMITS = {"int64": 2 ** 63, "int32": 2 ** 31}


def _plain_keys(node: MappingNode) -> bool:
    """Whether a mapping's keys are distinct scalars without a merge key `<<`: then its
    pairs are its entries as they stand (else yamlnodes.mapping merges or refuses)."""
    try:
        keys = {key.value for key, _ in node.value}
    except TypeError:  # a key that is a mapping or a list
        return False
    return len(keys) == len(node.value) and "<<" not in keys


def _plain_leaf(node: ScalarNode, kind: str):
    """_leaf for an untagged scalar that plainly is what `kind` wants (a string, a boolean, a
    decimal within range), None for null; _SLOW for anything that needs a closer look."""
    if node.tag is not None:
        return _SLOW
    value = node.value
    if node.style:  # quoted or block: a string
        return value if kind == "str" else _SLOW
    if value in NULL_WORDS:
        return None
    if kind == "str":
        if value[0] in "+-." or value[0].isdigit() or value in TRUE_WORDS or value in FALSE_WORDS:
            return _SLOW  # may read as a number or a boolean
        return value
    if kind == "bool":
        return True if value in TRUE_WORDS else False if value in FALSE_WORDS else _SLOW
    if kind in _INT_LIMITS and value.isascii() and value.isdigit() and (value[0] != "0" or value == "0"):
        number = int(value)
        if number < _INT_LIMITS[kind]:
            return number
    return _SLOW


def _prune_plain_mapping(node: MappingNode, schema: dict, path: tuple, located: Located) -> dict:
    """prune_node's loop over a mapping with _plain_keys, its scalar leaves read inline."""
    out, nodes = {}, located.nodes
    for key_node, value_node in node.value:
        key = key_node.value
        sub = schema.get(key)
        if sub is None:
            continue
        here = path + (key,)
        nodes[here] = key_node
        if value_node.__class__ is ScalarNode and sub.__class__ is str:
            value = _plain_leaf(value_node, sub)
            if value is _SLOW:
                value = prune_node(value_node, sub, here, located)
        else:
            value = prune_node(value_node, sub, here, located)
        if value is not None:
            out[key] = value
    return out


def _null_item(schema):
    """What Go's JSON decoding makes of a null list item: the element type's zero value
    (`add: [null]` is the capability "", an empty object in a list of objects)."""
    if isinstance(schema, dict):
        return {}
    if isinstance(schema, list):
        return []
    return {"str": "", "bool": False}.get(schema, 0)


def _pairs(node: Node):
    """(key, (key node, value node)) of a mapping: the plain case walks the nodes directly,
    anything unusual (duplicates, merge keys, odd keys, not a mapping) goes through
    yamlnodes.mapping, which handles or refuses it."""
    if node.__class__ is MappingNode:
        seen = set()
        try:
            for key_node, _ in node.value:
                key = key_node.value
                if key in seen or key == "<<":
                    break
                seen.add(key)
            else:
                return [(key_node.value, pair) for pair in node.value for key_node in (pair[0],)]
        except TypeError:  # a non-scalar key
            pass
    return mapping(node).items()


def prune_value(value, schema, path: tuple = ()):
    """The same as prune_node, for objects that came as JSON (from the cluster)."""
    if value is None:
        return None
    if isinstance(schema, dict) or schema == "strmap":
        if not isinstance(value, dict):
            raise PruneError(path, None, f"{format_path(path)} must be a mapping")
        if schema == "strmap":
            return {k: ("" if v is None else _json_leaf(v, "str", path + (k,))) for k, v in value.items()}
        out = {}
        for key, sub in schema.items():
            item = prune_value(value.get(key), sub, path + (key,))
            if item is not None:
                out[key] = item
        return out
    if isinstance(schema, list):
        if not isinstance(value, list):
            raise PruneError(path, None, f"{format_path(path)} must be a list")
        items = []
        for index, item in enumerate(value):
            pruned = prune_value(item, schema[0], path + (index,))
            items.append(_null_item(schema[0]) if pruned is None else pruned)
        return items
    if schema == "present":
        return True
    return _json_leaf(value, schema, path)


def _json_leaf(value, kind: str, path: tuple):
    ok = {"bool": lambda v: isinstance(v, bool),
          "int64": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "int32": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "str": lambda v: isinstance(v, str)}[kind](value)
    if not ok:
        raise PruneError(path, None, f"{format_path(path)} must be {_LEAF_NAMES[kind]}, not {value!r}")
    if kind in _INT_BITS:
        _check_bits(value, kind, path, None, value)
    return value


APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _apparmor_annotation(profile: dict) -> str:
    kind = profile.get("type", "")
    if kind == "RuntimeDefault":
        return "runtime/default"
    if kind == "Localhost":
        return "localhost/" + profile.get("localhostProfile", "")
    return "unconfined" if kind == "Unconfined" else ""


def _apparmor_field(annotation: str):
    if annotation == "unconfined":
        return {"type": "Unconfined"}
    if annotation == "runtime/default":
        return {"type": "RuntimeDefault"}
    if annotation.startswith("localhost/") and annotation[len("localhost/"):].strip():
        return {"type": "Localhost", "localhostProfile": annotation[len("localhost/"):]}
    return None  # invalid values are not copied


def sync_apparmor(meta: dict, spec: dict) -> None:
    """On Pod create a v1.30+ API server copies each container's AppArmor annotation into
    an unset field, and a field (or the pod's) into a missing annotation, before admission
    sees the pod (pkg/api/pod applyAppArmorVersionSkew). The verdict does not change, but
    the denial names both."""
    if (spec.get("os") or {}).get("name") == "windows":
        return
    pod_profile = (spec.get("securityContext") or {}).get("appArmorProfile")
    annotations = meta.get("annotations") or {}
    for field_name in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field_name) or ():
            key = APPARMOR_PREFIX + container.get("name", "")
            profile = (container.get("securityContext") or {}).get("appArmorProfile")
            if key not in annotations:
                value = _apparmor_annotation(profile or pod_profile or {})
                if value:
                    annotations[key] = value
            elif profile is None:
                new = _apparmor_field(annotations[key])
                if new is not None and new != pod_profile:
                    container.setdefault("securityContext", {})["appArmorProfile"] = new
    if annotations:
        meta["annotations"] = annotations


def apply_defaults(kind: str, spec: dict, meta: dict | None = None) -> None:
    """The API server defaulting that changes what admission sees (docs/psa-semantics.md 9.1)."""
    if kind == "Pod" and meta is not None:
        sync_apparmor(meta, spec)
    for volume in spec.get("volumes") or ():
        if all(volume.get(source) is None for source in VOLUME_SOURCES):
            volume["emptyDir"] = True
    # Only Pods: the API server stopped doing this for pod templates in Kubernetes 1.28.
    if kind == "Pod" and spec.get("hostNetwork") is True:
        for field_name in ("initContainers", "containers"):
            for container in spec.get(field_name) or ():
                for port in container.get("ports") or ():
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort", 0)


def needs_defaults(kind: str, spec: dict) -> bool:
    """Whether apply_defaults(kind, spec) without metadata could change the spec: False
    means that it surely leaves it as it is (so a caller need not copy it first)."""
    if any(all(volume.get(source) is None for source in VOLUME_SOURCES) for volume in spec.get("volumes") or ()):
        return True
    return kind == "Pod" and spec.get("hostNetwork") is True


def api_group(api_version) -> str:
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


@dataclass
class Workload:
    """One object that carries a pod, reduced to what the checks read."""

    api_version: str
    kind: str
    name: str
    namespace: str
    prefix: tuple  # path of the pod within the object: () for a Pod, ("spec", "template"), ...
    pod_meta: dict
    pod_spec: dict
    located: Located = field(default_factory=Located)
    node: Node | None = None  # the object's node, for `fix`
    metadata: dict = field(default_factory=dict)  # the object's own metadata


@dataclass
class Skipped:
    api_version: str
    kind: str
    name: str
    namespace: str


def _required_string(entries: dict, key: str, node: Node) -> str:
    value_node = entries[key][1] if key in entries else None
    if type(value_node) is ScalarNode:
        value = _plain_leaf(value_node, "str")
        if value is not _SLOW and value is not None:
            return value
    if value_node is None or is_null(value_node):
        raise PruneError((key,), node, f"{key} is not set")
    return _leaf(value_node, "str", (key,))


def workload_from_node(node: Node, defaults: bool = True, kinds: WorkloadKinds = DEFAULT_KINDS):
    """A Workload, a Skipped for kinds without pods, or PruneError for what the API server
    would reject. `fix` asks for the pod as written (defaults=False)."""
    try:
        return _workload_from_node(node, defaults, kinds)
    except NodeError as error:
        raise PruneError((), error.node, error.message) from None


def _workload_from_node(node: Node, defaults: bool, kinds: WorkloadKinds):
    if not isinstance(node, MappingNode):
        raise PruneError((), node, f"a document must be a mapping (an object), not {describe(node)}")
    entries = mapping(node)
    kind = _required_string(entries, "kind", node)
    api_version = _required_string(entries, "apiVersion", node)
    located = Located({(): node})
    metadata: dict = {}
    if "metadata" in entries:
        located.nodes[("metadata",)] = entries["metadata"][0]
        metadata = prune_node(entries["metadata"][1], META_SCHEMA, ("metadata",), located) or {}
    name = metadata.get("name") or metadata.get("generateName") or ""
    namespace = metadata.get("namespace", "")
    path = kinds.template_path(kind, api_version)
    if path is None:
        return Skipped(api_version, kind, name, namespace)
    template: Node | None = node
    current: dict | None = entries
    for depth, key in enumerate(path):
        if current is None or key not in current or is_null(current[key][1]):
            template = None
            break
        located.nodes[path[: depth + 1]] = current[key][0]
        template = current[key][1]
        current = mapping(template) if depth + 1 < len(path) else None
    pod_meta: dict = metadata
    pod_spec: dict = {}
    if template is not None:
        template_entries = mapping(template)
        if path:
            pod_meta = {}
            if "metadata" in template_entries:
                located.nodes[path + ("metadata",)] = template_entries["metadata"][0]
                pod_meta = prune_node(template_entries["metadata"][1], META_SCHEMA, path + ("metadata",),
                                      located) or {}
        if "spec" in template_entries:
            located.nodes[path + ("spec",)] = template_entries["spec"][0]
            pod_spec = prune_node(template_entries["spec"][1], POD_SPEC_SCHEMA, path + ("spec",), located) or {}
    if defaults:
        apply_defaults(kind, pod_spec, pod_meta)
    return Workload(api_version, kind, name, namespace, path, pod_meta, pod_spec, located, node, metadata)


def workload_from_value(obj: dict, kinds: WorkloadKinds = DEFAULT_KINDS):
    """The same for an object that came as JSON from the cluster (typed by the server)."""
    kind, api_version = obj.get("kind") or "", obj.get("apiVersion") or ""
    metadata = prune_value(obj.get("metadata"), META_SCHEMA, ("metadata",)) or {}
    name, namespace = metadata.get("name") or "", metadata.get("namespace") or ""
    path = kinds.template_path(kind, api_version)
    if path is None:
        return Skipped(api_version, kind, name, namespace)
    found: object = obj
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    if found is not None and not isinstance(found, dict):  # a custom resource's schema may allow anything
        raise PruneError(path, None, f"{format_path(path)} must be a mapping")
    template = found or {}
    pod_meta = metadata if not path else prune_value(template.get("metadata"), META_SCHEMA, path + ("metadata",)) or {}
    pod_spec = prune_value(template.get("spec"), POD_SPEC_SCHEMA, path + ("spec",)) or {}
    apply_defaults(kind, pod_spec)
    return Workload(api_version, kind, name, namespace, path, pod_meta, pod_spec, metadata=metadata)
