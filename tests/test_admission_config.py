"""`check --admission-config FILE` (issue 6, "Exemptions"): the API server's own
PodSecurityConfiguration, given directly or in an AdmissionConfiguration (inline or by path),
applied to live objects the way the API server applies it: exempt namespaces and
runtimeClasses are suppressed with `by: admission`, and the defaults apply to namespaces
without Pod Security labels (in each object's `enforce` field). A malformed file is exit 2.

The cluster is a FakeKubectl (test_custom_resources.py) monkeypatched into
kubectl_podsec.cluster, so `cli.main` runs unchanged and no kubectl is run.
"""

import textwrap
from typing import Optional

import pytest
import yaml
from cli_helpers import cli_runner, indent, write
from test_custom_resources import fake_kubectl

from kubectl_podsec import cluster
from kubectl_podsec.admission import AdmissionConfigError, load_admission_config
from kubectl_podsec.levels import PolicyVersion
from kubectl_podsec.live import scan_cluster
from kubectl_podsec.reports.data import object_data
from kubectl_podsec.usecases import object_verdict

POD_SECURITY_CONFIGURATION = textwrap.dedent("""\
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: baseline
      enforce-version: latest
      audit: restricted
      audit-version: latest
      warn: restricted
      warn-version: latest
    exemptions:
      usernames: []
      runtimeClasses: [kata]
      namespaces: [kube-system]
    """)


def as_json(result) -> dict:
    """An ObjectResult as `check -o json` reports it."""
    return object_data(object_verdict(result))


def admission_configuration_inline(pod_security: str = POD_SECURITY_CONFIGURATION) -> str:
    return ("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"
            "  - name: ImagePolicyWebhook\n    path: imagepolicy.yaml\n"
            "  - name: PodSecurity\n    configuration:\n" + indent(pod_security, 6))


def admission_configuration_by_path(path: str) -> str:
    return ("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"
            f"  - name: PodSecurity\n    path: {path}\n")


def config_file(tmp_path, form: str, pod_security: str = POD_SECURITY_CONFIGURATION) -> str:
    """The admission configuration written in one of the three forms the API server reads."""
    if form == "PodSecurityConfiguration":
        return write(tmp_path, "pod-security.yaml", pod_security)
    if form == "AdmissionConfiguration inline":
        return write(tmp_path, "admission.yaml", admission_configuration_inline(pod_security))
    write(tmp_path / "conf", "pod-security.yaml", pod_security)
    return write(tmp_path / "conf", "admission.yaml", admission_configuration_by_path("pod-security.yaml"))


FORMS = ["PodSecurityConfiguration", "AdmissionConfiguration inline", "AdmissionConfiguration by path"]

POD_SPECS = {
    "privileged": "hostNetwork: true\ncontainers:\n  - name: app\n    image: nginx\n",
    "baseline": "containers:\n  - name: app\n    image: nginx\n",
    "restricted": textwrap.dedent("""\
        securityContext:
          runAsNonRoot: true
          seccompProfile:
            type: RuntimeDefault
        containers:
          - name: app
            image: nginx
            securityContext:
              allowPrivilegeEscalation: false
              capabilities:
                drop: [ALL]
        """),
}


def live_object(kind: str, name: str, namespace: str, level: str, runtime_class: Optional[str] = None) -> dict:
    spec = POD_SPECS[level]
    if runtime_class:
        spec = f"runtimeClassName: {runtime_class}\n" + spec
    if kind == "Pod":
        text = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n" + indent(spec, 2)
    else:
        api = {"Deployment": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1"}[kind]
        text = (f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
                "spec:\n  template:\n    spec:\n" + indent(spec, 6))
    obj = yaml.safe_load(text)
    obj["metadata"]["uid"] = f"uid-{namespace}-{name}"
    return obj


OBJECTS = [
    live_object("DaemonSet", "node-agent", "kube-system", "privileged"),
    live_object("Pod", "sandboxed", "apps", "privileged", runtime_class="kata"),
    live_object("Pod", "gvisor", "apps", "privileged", runtime_class="gvisor"),
    live_object("Deployment", "web", "apps", "privileged"),
    live_object("Deployment", "api", "apps", "baseline"),
    live_object("Deployment", "ok", "secure", "baseline"),
    live_object("Deployment", "fine", "secure", "restricted"),
]
LABELS = {
    "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
    "apps": {"kubernetes.io/metadata.name": "apps"},  # no Pod Security labels
    "secure": {"kubernetes.io/metadata.name": "secure", "pod-security.kubernetes.io/enforce": "restricted",
               "pod-security.kubernetes.io/enforce-version": "v1.30"},
}


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl(OBJECTS, LABELS))
    return cli_runner(capsys, monkeypatch)


def by_name(data: dict) -> dict:
    return {o["name"]: o for o in data["objects"]}


def test_the_three_forms_read_the_same_configuration(tmp_path):
    configs = [load_admission_config(config_file(tmp_path / form.replace(" ", "-"), form)) for form in FORMS]
    for config in configs:
        assert config.namespaces == frozenset({"kube-system"})
        assert config.runtime_classes == frozenset({"kata"})
        assert config.usernames == frozenset()
        assert config.defaults["enforce"] == "baseline"
    assert configs[0] == configs[1] == configs[2]


@pytest.mark.parametrize("form", FORMS)
def test_exempt_namespaces_and_runtime_classes_are_suppressed_by_admission(podsec, tmp_path, form):
    path = config_file(tmp_path, form)
    run = podsec("check", "-A", "--admission-config", path, "-o", "json")
    assert run.code == 1, run.err  # web, api, ok, gvisor still fail restricted
    objects = by_name(run.json)
    assert set(objects) == {obj["metadata"]["name"] for obj in OBJECTS}

    agent = objects["node-agent"]
    assert agent["highest"] == "privileged"  # the official verdict stays
    assert agent["effectiveHighest"] == "restricted"
    assert agent["violations"]
    for violation in agent["violations"]:
        assert violation["suppressed"] == {"by": "admission",
                                           "reason": "namespace kube-system is exempt in the admission configuration"}
    assert agent["enforce"]["passes"] is True  # the API server admits it unchecked

    sandboxed = objects["sandboxed"]
    assert sandboxed["highest"] == "privileged" and sandboxed["effectiveHighest"] == "restricted"
    for violation in sandboxed["violations"]:
        assert violation["suppressed"] == {"by": "admission",
                                           "reason": "runtimeClass kata is exempt in the admission configuration"}
    assert sandboxed["enforce"]["passes"] is True

    for name in ("gvisor", "web", "api", "ok", "fine"):
        assert all(v["suppressed"] is None for v in objects[name]["violations"]), name
        assert objects[name]["effectiveHighest"] == objects[name]["highest"]


@pytest.mark.parametrize("form", FORMS)
def test_the_default_enforce_level_applies_to_unlabelled_namespaces(podsec, tmp_path, form):
    path = config_file(tmp_path, form)
    objects = by_name(podsec("check", "-A", "--admission-config", path, "-o", "json").json)
    assert objects["web"]["enforce"] == {"level": "baseline", "version": "latest", "passes": False,
                                         "violations": ["hostNamespaces"]}
    assert objects["gvisor"]["enforce"] == {"level": "baseline", "version": "latest", "passes": False,
                                            "violations": ["hostNamespaces"]}
    assert objects["api"]["enforce"] == {"level": "baseline", "version": "latest", "passes": True,
                                         "violations": []}
    # A namespace's own labels win over the defaults.
    assert objects["ok"]["enforce"]["level"] == "restricted"
    assert objects["ok"]["enforce"]["version"] == "v1.30"
    assert objects["ok"]["enforce"]["passes"] is False
    assert objects["fine"]["enforce"]["passes"] is True


def test_without_the_admission_config_nothing_is_exempt_and_unlabelled_namespaces_enforce_nothing(podsec):
    objects = by_name(podsec("check", "-A", "-o", "json").json)
    assert all(v["suppressed"] is None for o in objects.values() for v in o["violations"])
    assert objects["node-agent"]["effectiveHighest"] == "privileged"
    assert objects["web"]["enforce"] is None
    assert objects["node-agent"]["enforce"] is None
    assert objects["ok"]["enforce"]["level"] == "restricted"


def test_the_text_output_shows_the_admission_exemption_and_the_default(podsec, tmp_path):
    path = config_file(tmp_path, "PodSecurityConfiguration")
    run = podsec("check", "-A", "--admission-config", path)
    lines = run.out.splitlines()
    agent = next(line for line in lines if "DaemonSet/node-agent" in line)
    assert agent == ("cluster: DaemonSet/node-agent (kube-system): highest=privileged; namespace enforces "
                     "baseline:latest: its pods would be allowed (restricted with exemptions)")
    web = next(line for line in lines if "Deployment/web" in line)
    assert web == "cluster: Deployment/web (apps): highest=privileged; namespace enforces baseline:latest: its pods would be denied"
    assert any("[admission: namespace kube-system is exempt in the admission configuration]" in line
               for line in lines)


def test_only_exempt_objects_pass_the_gate(podsec, tmp_path):
    path = config_file(tmp_path, "PodSecurityConfiguration")
    assert podsec("check", "-n", "kube-system").code == 1
    assert podsec("check", "-n", "kube-system", "--admission-config", path).code == 0


def test_scan_cluster_applies_the_configuration(tmp_path):
    config = load_admission_config(config_file(tmp_path, "AdmissionConfiguration inline"))
    kubectl = fake_kubectl(OBJECTS, LABELS)(all_namespaces=True)
    report = scan_cluster(kubectl, [], PolicyVersion(None), admission=config)
    results = {r.workload.name: r for r in report.objects}
    assert {check: s.by for check, s in results["node-agent"].suppressed.items()} == {
        v.check: "admission" for v in results["node-agent"].verdict.violations}
    assert results["web"].suppressed == {}
    assert as_json(results["web"])["enforce"]["level"] == "baseline"


def test_the_default_enforce_version_applies(podsec, tmp_path):
    path = write(tmp_path, "pod-security.yaml", POD_SECURITY_CONFIGURATION.replace(
        "enforce-version: latest", "enforce-version: v1.25"))
    objects = by_name(podsec("check", "-A", "--admission-config", path, "-o", "json").json)
    assert objects["web"]["enforce"]["version"] == "v1.25"
    assert objects["ok"]["enforce"]["version"] == "v1.30"  # the namespace's own label


def test_a_default_enforce_version_without_a_default_level_applies_to_labelled_namespaces(tmp_path):
    path = write(tmp_path, "pod-security.yaml", textwrap.dedent("""\
        apiVersion: pod-security.admission.config.k8s.io/v1
        kind: PodSecurityConfiguration
        defaults:
          enforce-version: v1.25
        """))
    config = load_admission_config(path)
    objects = [live_object("Deployment", "ok", "only-level", "baseline")]
    labels = {"only-level": {"pod-security.kubernetes.io/enforce": "restricted"}}
    report = scan_cluster(fake_kubectl(objects, labels)(all_namespaces=True), [], PolicyVersion(None),
                          admission=config)
    assert as_json(report.objects[0])["enforce"]["version"] == "v1.25"


def test_a_namespace_with_only_a_level_label_keeps_the_default_version(podsec, tmp_path):
    """The API server overrides the defaults label by label (api.PolicyToEvaluate)."""
    objects = [live_object("Deployment", "ok", "only-level", "baseline")]
    labels = {"only-level": {"pod-security.kubernetes.io/enforce": "restricted"}}
    config = load_admission_config(write(tmp_path, "ps.yaml", POD_SECURITY_CONFIGURATION.replace(
        "enforce-version: latest", "enforce-version: v1.25")))
    report = scan_cluster(fake_kubectl(objects, labels)(all_namespaces=True), [], PolicyVersion(None),
                          admission=config)
    assert as_json(report.objects[0])["enforce"]["level"] == "restricted"
    assert as_json(report.objects[0])["enforce"]["version"] == "v1.25"


def test_usernames_exempt_the_pods_their_controller_creates(podsec, tmp_path):
    """The API server exempts requests by an exempt user: the replicaset-controller creates
    a Deployment's pods, so they are exempt; a bare Pod's creator is unknown, so it is not."""
    path = write(tmp_path, "ps.yaml", POD_SECURITY_CONFIGURATION.replace(
        "usernames: []", "usernames: [system:serviceaccount:kube-system:replicaset-controller]"))
    assert load_admission_config(path).usernames == frozenset({"system:serviceaccount:kube-system:replicaset-controller"})
    objects = by_name(podsec("check", "-A", "--admission-config", path, "-o", "json").json)
    assert objects["web"]["effectiveHighest"] == "restricted"
    assert objects["web"]["enforce"]["passes"] is True
    assert objects["web"]["violations"][0]["suppressed"]["reason"] == (
        "its pods are created by system:serviceaccount:kube-system:replicaset-controller, "
        "a username exempt in the admission configuration")
    assert objects["gvisor"]["effectiveHighest"] == "privileged"  # a bare Pod
    assert objects["node-agent"]["violations"][0]["suppressed"]["reason"].startswith("namespace kube-system")


EXEMPT_OBJECTS = [
    live_object("Pod", "sandboxed", "sandbox", "privileged", runtime_class="kata"),
    live_object("Deployment", "api", "sandbox", "restricted"),
    live_object("DaemonSet", "agent", "agents", "privileged"),
    live_object("Deployment", "api", "agents", "restricted"),
    live_object("Deployment", "web", "plain", "baseline"),
]
EXEMPT_LABELS = {name: {"pod-security.kubernetes.io/enforce": "restricted"} for name in ("sandbox", "agents", "plain")}


def test_namespaces_honours_runtime_class_and_username_exemptions(capsys, monkeypatch, tmp_path):
    """Issue 10 item 3: with an exempt runtimeClass or controller user, the namespace keeps
    restricted (no downgrade to privileged); without the exemption it is a downgrade."""
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl(EXEMPT_OBJECTS, EXEMPT_LABELS))
    podsec = cli_runner(capsys, monkeypatch)
    path = write(tmp_path, "ps.yaml", POD_SECURITY_CONFIGURATION.replace(
        "usernames: []", "usernames: [system:serviceaccount:kube-system:daemon-set-controller]"))
    summaries = {s["name"]: s for s in podsec("namespaces", "--admission-config", path, "-o", "json").json["namespaces"]}
    for name in ("sandbox", "agents"):
        assert (summaries[name]["highest"], summaries[name]["drift"]) == ("restricted", False), name
        assert (summaries[name]["suggest"], summaries[name]["downgrade"]) == (None, None), name
    assert summaries["plain"]["downgrade"]["blocking"] == ["Deployment/web"]
    unexempt = {s["name"]: s for s in podsec("namespaces", "-o", "json").json["namespaces"]}
    assert unexempt["sandbox"]["downgrade"]["to"] == "privileged"
    assert unexempt["agents"]["downgrade"]["blocking"] == ["DaemonSet/agent"]


MALFORMED = {
    "bad YAML": "kind: PodSecurityConfiguration\ndefaults: [\n",
    "not a PodSecurityConfiguration": "apiVersion: v1\nkind: ConfigMap\n",
    "a list": "- kind: PodSecurityConfiguration\n",
    "empty": "",
    "no PodSecurity plugin": "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"
                             "  - name: ImagePolicyWebhook\n    path: x.yaml\n",
    "plugin path missing": admission_configuration_by_path("missing.yaml"),
    "inline is not a PodSecurityConfiguration": admission_configuration_inline("kind: Other\n"),
    "defaults not a mapping": "kind: PodSecurityConfiguration\ndefaults: [enforce]\n",
    "exemptions not a mapping": "kind: PodSecurityConfiguration\nexemptions: [kube-system]\n",
    "namespaces not a list": "kind: PodSecurityConfiguration\nexemptions:\n  namespaces: kube-system\n",
    "runtimeClasses not strings": "kind: PodSecurityConfiguration\nexemptions:\n  runtimeClasses: [{name: kata}]\n",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_admission_config_exits_2_with_one_error_line(podsec, tmp_path, name):
    path = write(tmp_path, "admission.yaml", MALFORMED[name])
    run = podsec("check", "-A", "--admission-config", path)
    assert run.code == 2
    assert run.out == ""
    assert len(run.err_lines) == 1, run.err
    assert run.err_lines[0].startswith("error: ")
    assert "admission.yaml" in run.err_lines[0] or "missing.yaml" in run.err_lines[0]
    with pytest.raises(AdmissionConfigError):
        load_admission_config(path)


def test_a_missing_admission_config_exits_2(podsec, tmp_path):
    run = podsec("check", "-A", "--admission-config", tmp_path / "nope.yaml")
    assert run.code == 2
    assert len(run.err_lines) == 1 and "nope.yaml" in run.err_lines[0]


def test_bad_yaml_names_the_line(podsec, tmp_path):
    path = write(tmp_path, "admission.yaml", MALFORMED["bad YAML"])
    run = podsec("check", "-A", "--admission-config", path)
    assert run.err_lines[0].startswith(f"error: {path}:3:1: invalid YAML")


@pytest.mark.parametrize("defaults", ["enforce: strict", "enforce: baseline\n  enforce-version: 1.25"])
def test_an_invalid_default_level_or_version_is_malformed(podsec, tmp_path, defaults):
    path = write(tmp_path, "admission.yaml", f"kind: PodSecurityConfiguration\ndefaults:\n  {defaults}\n")
    run = podsec("check", "-A", "--admission-config", path)
    assert run.code == 2
