"""kubectl_podsec/workloads.py on its own: which kinds carry a pod and where, the typed and
pruned model of a pod (errors with their paths, as the API server's decoder refuses them), the
defaulting that changes a verdict, and the AppArmor annotation/field sync."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from kubectl_podsec.sources import Source, documents
from kubectl_podsec.workloads import (
    DEFAULT_KINDS,
    META_SCHEMA,
    POD_SPEC_SCHEMA,
    Located,
    PruneError,
    Skipped,
    Workload,
    WorkloadKinds,
    apply_defaults,
    kinds_for,
    prune_node,
    prune_value,
    sync_apparmor,
    workload_from_node,
    workload_from_value,
)


def compose(text: str):
    """The root node as kubectl-podsec reads a file (its own scalar resolution, as Kubernetes')."""
    [document] = documents(Source("test.yaml", None, text))
    return document.root


# --- where the pod is --------------------------------------------------------------------------


@pytest.mark.parametrize("api_version, kind, path", [
    ("v1", "Pod", ()),
    ("v1", "PodTemplate", ("template",)),
    ("v1", "ReplicationController", ("spec", "template")),
    ("apps/v1", "Deployment", ("spec", "template")),
    ("apps/v1beta2", "DaemonSet", ("spec", "template")),  # any version of the group
    ("extensions/v1beta1", "Deployment", ("spec", "template")),
    ("batch/v1", "Job", ("spec", "template")),
    ("batch/v1", "CronJob", ("spec", "jobTemplate", "spec", "template")),
    ("argoproj.io/v1alpha1", "Rollout", ("spec", "template")),
    ("keda.sh/v1alpha1", "ScaledJob", ("spec", "jobTargetRef", "template")),
    ("v1", "Service", None),
    ("apps/v1", "Pod", None),  # a Pod is core, not apps
    ("batch/v1", "Deployment", None),
    ("extensions/v1beta1", "StatefulSet", None),  # extensions had no StatefulSet
    (None, "Pod", ()),  # no apiVersion string: the core group
])
def test_template_path_per_kind_and_api_version(api_version, kind, path):
    assert DEFAULT_KINDS.template_path(kind, api_version) == path


def test_config_kinds_add_and_override_without_changing_the_default():
    kinds = DEFAULT_KINDS.with_config({("example.com", "Widget"): ("spec", "pod"),
                                       ("apps", "Deployment"): ("spec", "other")})
    assert kinds.template_path("Widget", "example.com/v2") == ("spec", "pod")
    assert kinds.template_path("Deployment", "apps/v1") == ("spec", "other")  # the user's word wins
    assert DEFAULT_KINDS.template_path("Widget", "example.com/v1") is None
    assert DEFAULT_KINDS.template_path("Deployment", "apps/v1") == ("spec", "template")
    assert kinds.with_config({}).template_path("Widget", "example.com/v1") == ("spec", "pod")


def test_kinds_are_an_immutable_value():
    entries = {("example.com", "Widget"): ("spec", "pod")}
    kinds = DEFAULT_KINDS.with_config(entries)
    entries[("example.com", "Gadget")] = ("spec",)  # the caller's dict is copied
    assert kinds.template_path("Gadget", "example.com/v1") is None
    with pytest.raises(TypeError):
        kinds.config[("example.com", "Gadget")] = ("spec",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kinds.config = {}
    assert kinds == WorkloadKinds(config={("example.com", "Widget"): ("spec", "pod")}) != DEFAULT_KINDS


def test_kinds_for_a_config():
    class Config:
        pod_templates = {("example.com", "Widget"): ("spec", "pod")}

    assert kinds_for(None) is DEFAULT_KINDS
    assert kinds_for(Config()).template_path("Widget", "example.com/v1") == ("spec", "pod")


def test_objects_are_read_with_the_kinds_given():
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
           "spec": {"pod": {"spec": {"hostPID": True}}}}
    assert isinstance(workload_from_value(obj), Skipped)
    kinds = DEFAULT_KINDS.with_config({("example.com", "Widget"): ("spec", "pod")})
    found = workload_from_value(obj, kinds)
    assert isinstance(found, Workload)
    assert (found.prefix, found.pod_spec, found.name) == (("spec", "pod"), {"hostPID": True}, "w")
    node = compose(yaml.safe_dump(obj))
    assert isinstance(workload_from_node(node), Skipped)
    assert workload_from_node(node, kinds=kinds).pod_spec == {"hostPID": True}


# --- the typed model ---------------------------------------------------------------------------

def prune_yaml(text: str, schema=POD_SPEC_SCHEMA):
    located = Located()
    return prune_node(compose(text), schema, ("spec",), located), located


def error_of(text: str) -> PruneError:
    with pytest.raises(PruneError) as caught:
        prune_yaml(text)
    return caught.value


@pytest.mark.parametrize("text, path, message", [
    ('hostNetwork: "true"', ("spec", "hostNetwork"), 'spec.hostNetwork must be a boolean, not the string "true"'),
    ("hostPID: 1", ("spec", "hostPID"), "spec.hostPID must be a boolean, not the number 1"),
    ("securityContext: {runAsUser: '0'}", ("spec", "securityContext", "runAsUser"),
     'spec.securityContext.runAsUser must be an integer, not the string "0"'),
    ("securityContext: {runAsUser: true}", ("spec", "securityContext", "runAsUser"),
     "spec.securityContext.runAsUser must be an integer, not the boolean true"),
    ("containers: [{name: a, ports: [{hostPort: 1.5}]}]", ("spec", "containers", 0, "ports", 0, "hostPort"),
     "spec.containers[0].ports[0].hostPort must be an integer, not the number 1.5"),
    ("containers: [{name: a, securityContext: {capabilities: {add: [1]}}}]",
     ("spec", "containers", 0, "securityContext", "capabilities", "add", 0),
     "spec.containers[0].securityContext.capabilities.add[0] must be a string, not the number 1"),
    ("containers: {name: a}", ("spec", "containers"), "spec.containers must be a list, not a mapping"),
    ("volumes: [{name: v, hostPath: /etc}]", ("spec", "volumes", 0, "hostPath"),
     'spec.volumes[0].hostPath: expected a mapping, got the string "/etc"'),
])
def test_a_field_of_the_wrong_type_is_an_error_at_its_path(text, path, message):
    error = error_of(text)
    assert (error.path, error.message) == (path, message)
    assert error.node is not None and error.node.start_mark.line == 0


@pytest.mark.parametrize("field, kind, bits", [("runAsUser", "securityContext", 64), ("hostPort", "ports", 32),
                                               ("containerPort", "ports", 32)])
def test_int_bounds_are_the_go_types(field, kind, bits):
    limit = 2 ** (bits - 1)

    def text(value):
        if kind == "ports":
            return f"containers: [{{name: a, ports: [{{{field}: {value}}}]}}]"
        return f"securityContext: {{{field}: {value}}}"

    for value in (limit - 1, -limit):
        prune_yaml(text(value))
    for value in (limit, -limit - 1):
        assert f"must be a {bits}-bit integer, not the number {value}" in error_of(text(value)).message
    with pytest.raises(PruneError, match=f"must be a {bits}-bit integer"):
        prune_value({"securityContext": {field: limit}} if kind != "ports"
                    else {"containers": [{"name": "a", "ports": [{field: limit}]}]}, POD_SPEC_SCHEMA, ("spec",))


def test_a_whole_float_is_an_integer_and_unknown_fields_are_pruned():
    spec, _ = prune_yaml("securityContext: {runAsUser: 1000.0}\nimage: x\nnodeName: n\n")
    assert spec == {"securityContext": {"runAsUser": 1000}}
    assert type(spec["securityContext"]["runAsUser"]) is int


def test_null_list_items_are_the_zero_value_and_null_fields_are_unset():
    spec, _ = prune_yaml("containers: [null, {name: a, securityContext: {capabilities: {add: [null, NET_RAW]}}}]\n"
                         "hostNetwork: null\nsecurityContext: {sysctls: [null]}\n")
    assert spec == {"containers": [{}, {"name": "a", "securityContext": {"capabilities": {"add": ["", "NET_RAW"]}}}],
                    "securityContext": {"sysctls": [{}]}}
    assert prune_value({"containers": [None], "hostPID": None}, POD_SPEC_SCHEMA) == {"containers": [{}]}


def test_located_nodes_give_the_deepest_position_present():
    _, located = prune_yaml("hostPID: true\ncontainers:\n- name: a\n  securityContext:\n    privileged: true\n")
    assert located.position(("spec", "containers", 0, "securityContext", "privileged")) == \
        (("spec", "containers", 0, "securityContext", "privileged"), 5, 5)
    assert located.position(("spec", "containers", 0, "securityContext", "runAsUser")) == \
        (("spec", "containers", 0, "securityContext"), 4, 3)
    assert located.position(("spec", "hostPID")) == (("spec", "hostPID"), 1, 1)
    assert located.position(("other",)) == ((), None, None)


@pytest.mark.parametrize("value, path, message", [
    ({"hostNetwork": "true"}, ("spec", "hostNetwork"), "spec.hostNetwork must be a boolean, not 'true'"),
    ({"containers": {"name": "a"}}, ("spec", "containers"), "spec.containers must be a list"),
    ({"securityContext": []}, ("spec", "securityContext"), "spec.securityContext must be a mapping"),
    ({"containers": [{"securityContext": {"runAsUser": True}}]}, ("spec", "containers", 0, "securityContext",
                                                                  "runAsUser"),
     "spec.containers[0].securityContext.runAsUser must be an integer, not True"),
])
def test_prune_value_types_json_objects(value, path, message):
    with pytest.raises(PruneError) as caught:
        prune_value(value, POD_SPEC_SCHEMA, ("spec",))
    assert (caught.value.path, caught.value.message, caught.value.node) == (path, message, None)


def test_labels_and_annotations_are_string_maps():
    assert prune_value({"annotations": {"a": None, "b": "x"}, "uid": "u"}, META_SCHEMA) == {"annotations": {"a": "", "b": "x"}}
    with pytest.raises(PruneError, match=r"metadata\.labels\.n must be a string, not 1"):
        prune_value({"labels": {"n": 1}}, META_SCHEMA, ("metadata",))


@pytest.mark.parametrize("text, message", [
    ("- a\n", "a document must be a mapping (an object), not a list"),
    ("apiVersion: v1\n", "kind is not set"),
    ("kind: Pod\napiVersion: null\n", "apiVersion is not set"),
    ("kind: [Pod]\napiVersion: v1\n", "kind must be a string, not a list"),
])
def test_an_object_without_kind_or_api_version_is_an_error(text, message):
    with pytest.raises(PruneError) as caught:
        workload_from_node(compose(text))
    assert caught.value.message == message


# --- defaulting --------------------------------------------------------------------------------

def test_a_volume_without_a_source_becomes_empty_dir():
    spec = {"volumes": [{"name": "scratch"}, {"name": "h", "hostPath": True}]}
    apply_defaults("Deployment", spec)
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": True}, {"name": "h", "hostPath": True}]


@pytest.mark.parametrize("kind, expected", [("Pod", [80, 9090]), ("Deployment", [None, 9090])])
def test_host_network_host_port_defaults_only_in_pods(kind, expected):
    spec = {"hostNetwork": True, "containers": [{"name": "a", "ports": [{"containerPort": 80},
                                                                      {"containerPort": 81, "hostPort": 9090}]}],
            "ephemeralContainers": [{"name": "e", "ports": [{"containerPort": 82}]}]}
    apply_defaults(kind, spec)
    assert [p.get("hostPort") for p in spec["containers"][0]["ports"]] == expected
    assert spec["ephemeralContainers"][0]["ports"] == [{"containerPort": 82}]  # never defaulted


def test_no_host_port_default_without_host_network():
    spec = {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}
    apply_defaults("Pod", spec, {})
    assert spec["containers"][0]["ports"] == [{"containerPort": 80}]


PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def test_sync_apparmor_copies_annotations_into_unset_fields_and_fields_into_missing_annotations():
    meta = {"annotations": {PREFIX + "a": "localhost/prof", PREFIX + "b": "bogus"}}
    spec = {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c", "securityContext": {
        "appArmorProfile": {"type": "RuntimeDefault"}}}, {"name": "d"}],
        "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}
    sync_apparmor(meta, spec)
    assert spec["containers"][0]["securityContext"]["appArmorProfile"] == \
        {"type": "Localhost", "localhostProfile": "prof"}
    assert "securityContext" not in spec["containers"][1]  # an invalid value is not copied
    assert meta["annotations"][PREFIX + "c"] == "runtime/default"
    assert meta["annotations"][PREFIX + "d"] == "unconfined"  # from the pod's field


def test_sync_apparmor_leaves_windows_pods_and_matching_pod_profiles_alone():
    meta, spec = {"annotations": {PREFIX + "a": "unconfined"}}, {"os": {"name": "windows"}, "containers": [{"name": "a"}]}
    sync_apparmor(meta, spec)
    assert spec == {"os": {"name": "windows"}, "containers": [{"name": "a"}]}
    meta = {"annotations": {PREFIX + "a": "runtime/default"}}
    spec = {"containers": [{"name": "a"}], "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}
    sync_apparmor(meta, spec)
    assert spec["containers"] == [{"name": "a"}]  # the pod's profile already says it


def test_apparmor_sync_is_pod_defaulting_only():
    meta, spec = {"annotations": {PREFIX + "a": "unconfined"}}, {"containers": [{"name": "a"}]}
    apply_defaults("Deployment", spec, meta)
    assert spec == {"containers": [{"name": "a"}]}
    apply_defaults("Pod", spec, meta)
    assert spec["containers"][0]["securityContext"]["appArmorProfile"] == {"type": "Unconfined"}
