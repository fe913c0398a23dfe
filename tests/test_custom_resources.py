"""Custom resources that carry pod templates (issue 6, "Custom resources with pod templates"):
every entry of workloads.CUSTOM_TEMPLATES is checked (the same violations as the pod in a
Deployment, with the field paths and file:line:col of the custom resource), fixed (`fix -f -`
gives output that passes restricted), and read from a live cluster. `podTemplates:` in
`.podsec.yaml` makes any other kind checkable; a kind of the same name in another API group
is skipped.

Live mode is unit-tested on `kubectl_podsec.live.scan_cluster` with a fake Kubectl (there is
no recording of a cluster with these CRDs); FakeKubectl is also used by
test_admission_config.py.
"""

import copy
import json
import re
import textwrap
from pathlib import Path
from typing import ClassVar, Optional

import pytest
import yaml
from cli_helpers import cli_runner, indent, write

from kubectl_podsec import cluster, workloads
from kubectl_podsec.cluster import Kubectl, Listing
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.live import scan_cluster
from kubectl_podsec.reports.data import object_data
from kubectl_podsec.usecases import object_verdict
from kubectl_podsec.workloads import CUSTOM_TEMPLATES, format_path

# The pod template of each custom resource, as its users write it: apiVersion, the YAML down
# to the template key, the template's indent, and what follows the template.
CUSTOM = {
    ("argoproj.io", "Rollout"): ("argoproj.io/v1alpha1", textwrap.dedent("""\
        spec:
          replicas: 2
          revisionHistoryLimit: 3
          selector:
            matchLabels:
              app: web
          template:
        """), 4, textwrap.dedent("""\
          strategy:
            canary:
              steps:
                - setWeight: 20
                - pause: {duration: 1h}
        """)),
    ("apps.kruise.io", "CloneSet"): ("apps.kruise.io/v1alpha1", textwrap.dedent("""\
        spec:
          replicas: 3
          selector:
            matchLabels:
              app: web
          template:
        """), 4, textwrap.dedent("""\
          updateStrategy:
            type: InPlaceIfPossible
            maxUnavailable: 1
        """)),
    ("apps.kruise.io", "StatefulSet"): ("apps.kruise.io/v1beta1", textwrap.dedent("""\
        spec:
          serviceName: web
          podManagementPolicy: Parallel
          template:
        """), 4, textwrap.dedent("""\
          updateStrategy:
            type: RollingUpdate
            rollingUpdate:
              podUpdatePolicy: InPlaceIfPossible
        """)),
    ("apps.kruise.io", "DaemonSet"): ("apps.kruise.io/v1alpha1", textwrap.dedent("""\
        spec:
          selector:
            matchLabels:
              app: web
          template:
        """), 4, textwrap.dedent("""\
          updateStrategy:
            rollingUpdate:
              rollingUpdateType: Surging
        """)),
    ("apps.kruise.io", "BroadcastJob"): ("apps.kruise.io/v1alpha1", textwrap.dedent("""\
        spec:
          parallelism: 10
          template:
        """), 4, textwrap.dedent("""\
          completionPolicy:
            type: Always
            ttlSecondsAfterFinished: 30
        """)),
    ("serving.knative.dev", "Service"): ("serving.knative.dev/v1", textwrap.dedent("""\
        spec:
          template:
        """), 4, textwrap.dedent("""\
          traffic:
            - latestRevision: true
              percent: 100
        """)),
    ("serving.knative.dev", "Configuration"): ("serving.knative.dev/v1", textwrap.dedent("""\
        spec:
          template:
        """), 4, ""),
    ("keda.sh", "ScaledJob"): ("keda.sh/v1alpha1", textwrap.dedent("""\
        spec:
          pollingInterval: 30
          jobTargetRef:
            parallelism: 1
            backoffLimit: 4
            template:
        """), 6, textwrap.dedent("""\
          triggers:
            - type: rabbitmq
              metadata:
                queueName: jobs
        """)),
}
KEYS = list(CUSTOM)
IDS = [f"{group}/{kind}" for group, kind in KEYS]

# Pod templates (metadata and spec) at each level.
PRIVILEGED_TEMPLATE = textwrap.dedent("""\
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: app
          image: nginx
          ports:
            - containerPort: 8080
          securityContext:
            privileged: true
    """)
BASELINE_TEMPLATE = textwrap.dedent("""\
    metadata:
      labels:
        app: web
      annotations:
        example.com/team: checkout
    spec:
      containers:
        - name: app
          image: nginx
          ports:
            - containerPort: 8080
    """)
RESTRICTED_TEMPLATE = textwrap.dedent("""\
    metadata:
      labels:
        app: web
    spec:
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
              drop: ["ALL"]
    """)


def as_json(result) -> dict:
    """An ObjectResult as `check -o json` reports it."""
    return object_data(object_verdict(result))


def custom_resource(key: tuple, template: str, name: str = "web", namespace: str = "shop") -> str:
    api_version, lead, depth, trailer = CUSTOM[key]
    return (f"apiVersion: {api_version}\nkind: {key[1]}\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
            + lead + indent(template, depth) + trailer)


def as_deployment(template: str) -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n"
            "spec:\n  template:\n" + indent(template, 4))


def position(text: str, needle: str, occurrence: int = 0) -> tuple:
    """1-based (line, column) of the start of `needle` (its key) in `text`."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .podsec.yaml from above
    return cli_runner(capsys, monkeypatch)


def test_the_table_covers_every_custom_resource_of_the_code():
    """A resource added to CUSTOM_TEMPLATES must get a manifest here (and so every test)."""
    assert set(CUSTOM) == set(CUSTOM_TEMPLATES)
    assert {key[1] for key in CUSTOM} >= {"Rollout", "CloneSet", "Service", "ScaledJob"}
    for key, (api_version, _, _, _) in CUSTOM.items():
        assert api_version.rpartition("/")[0] == key[0]
    # PSA's nine built-in kinds stay built in; custom entries never replace them.
    for key in CUSTOM_TEMPLATES:
        assert key not in workloads.BUILTIN_TEMPLATES


def test_the_manifests_put_the_pod_where_the_table_says():
    for key in CUSTOM:
        obj = yaml.safe_load(custom_resource(key, PRIVILEGED_TEMPLATE))
        for part in CUSTOM_TEMPLATES[key]:
            obj = obj[part]
        assert obj["spec"]["containers"][0]["securityContext"] == {"privileged": True}, key


# --- check ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_check_finds_the_violations_with_the_custom_resources_paths(podsec, tmp_path, key):
    text = custom_resource(key, PRIVILEGED_TEMPLATE)
    write(tmp_path, "cr.yaml", text)
    run = podsec("check", "cr.yaml", "-o", "json")
    assert run.code == 1, run.err
    data = run.json
    assert data["errors"] == [] and data["skipped"] == []
    [obj] = data["objects"]
    assert (obj["apiVersion"], obj["kind"], obj["name"], obj["namespace"]) == (CUSTOM[key][0], key[1], "web", "shop")
    assert (obj["line"], obj["column"]) == (1, 1)
    assert obj["highest"] == "privileged"
    assert obj["levels"] == {"baseline": False, "restricted": False}

    # The same checks and details as the same pod in a Deployment, at the resource's own paths.
    write(tmp_path, "deployment.yaml", as_deployment(PRIVILEGED_TEMPLATE))
    [reference] = podsec("check", "deployment.yaml", "-o", "json").json["objects"]
    assert [(v["level"], v["check"], v["reason"], v["detail"]) for v in obj["violations"]] == \
        [(v["level"], v["check"], v["reason"], v["detail"]) for v in reference["violations"]]
    prefix = format_path(CUSTOM_TEMPLATES[key])
    for violation, expected in zip(obj["violations"], reference["violations"]):
        assert violation["field"] == expected["field"].replace("spec.template", prefix, 1)
        assert violation["path"].startswith(prefix + ".spec")

    privileged = next(v for v in obj["violations"] if v["check"] == "privileged")
    assert privileged["level"] == "baseline"
    assert privileged["field"] == prefix + ".spec.containers[0].securityContext.privileged"
    assert privileged["path"] == privileged["field"]
    assert (privileged["line"], privileged["column"]) == position(text, "privileged: true")
    # A field that is missing points at the deepest part that is there.
    seccomp = next(v for v in obj["violations"] if v["check"] == "seccompProfile_restricted")
    assert seccomp["field"] == prefix + ".spec.securityContext.seccompProfile.type"
    assert seccomp["path"] == prefix + ".spec"
    depth = CUSTOM[key][2]
    spec_line = text.splitlines().index(" " * depth + "spec:") + 1  # the pod template's spec key
    assert (seccomp["line"], seccomp["column"]) == (spec_line, depth + 1)


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_check_text_output_names_the_resource_and_its_field(podsec, tmp_path, key):
    text = custom_resource(key, PRIVILEGED_TEMPLATE)
    write(tmp_path, "cr.yaml", text)
    run = podsec("check", "cr.yaml")
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == f"cr.yaml:1:1: {key[1]}/web (shop): highest=privileged"
    line, column = position(text, "privileged: true")
    assert lines[1].startswith(f"  cr.yaml:{line}:{column}: privileged: privileged (")
    assert lines[2] == f"      at {format_path(CUSTOM_TEMPLATES[key])}.spec.containers[0].securityContext.privileged"
    assert lines[-3].startswith("1 workload: 0 restricted, 0 baseline, 1 privileged")


@pytest.mark.parametrize("key", KEYS, ids=IDS)
@pytest.mark.parametrize("level, template", [("baseline", BASELINE_TEMPLATE), ("restricted", RESTRICTED_TEMPLATE)])
def test_check_gives_each_level(podsec, tmp_path, key, level, template):
    write(tmp_path, "cr.yaml", custom_resource(key, template))
    run = podsec("check", "cr.yaml", "-o", "json")
    assert run.json["objects"][0]["highest"] == level
    assert run.code == (0 if level == "restricted" else 1)
    assert podsec("check", "cr.yaml", "--level", "baseline").code == 0


def test_all_custom_resources_in_one_stream(podsec):
    stream = "---\n".join(custom_resource(key, PRIVILEGED_TEMPLATE, name=f"w{i}") for i, key in enumerate(KEYS))
    run = podsec("check", "-f", "-", "-o", "json", stdin=stream.encode())
    assert run.code == 1
    assert [(o["kind"], o["name"], o["document"]) for o in run.json["objects"]] == \
        [(key[1], f"w{i}", i) for i, key in enumerate(KEYS)]
    for obj in run.json["objects"]:
        line, _ = position(stream, "privileged: true", obj["document"])
        assert next(v for v in obj["violations"] if v["check"] == "privileged")["line"] == line


def test_a_custom_resource_without_a_template_is_checked_as_an_empty_pod(podsec, tmp_path):
    write(tmp_path, "cr.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n"
                               "spec:\n  workloadRef:\n    apiVersion: apps/v1\n    kind: Deployment\n"
                               "    name: web\n")
    run = podsec("check", "cr.yaml", "-o", "json")
    assert run.json["errors"] == []
    [obj] = run.json["objects"]
    assert obj["kind"] == "Rollout"


# --- same kind, other group ------------------------------------------------------------------

SAME_NAME_OTHER_GROUP = [
    ("v1", "Service"),  # the core Service has no pod; the Knative one does
    ("example.com/v1", "Service"),
    ("example.com/v1", "Rollout"),
    ("apps/v1", "CloneSet"),
    ("kruise.io/v1", "CloneSet"),
    ("serving.knative.dev.example.com/v1", "Configuration"),
    ("keda.sh.example/v1", "ScaledJob"),
    ("apps.kruise.io/v1alpha1", "Deployment"),
]


@pytest.mark.parametrize("api_version, kind", SAME_NAME_OTHER_GROUP)
def test_the_same_kind_in_another_api_group_is_skipped(podsec, tmp_path, api_version, kind):
    text = (f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: web\n  namespace: shop\n"
            "spec:\n  template:\n" + indent(PRIVILEGED_TEMPLATE, 4))
    path = write(tmp_path, "other.yaml", text)
    run = podsec("check", "other.yaml", "-o", "json")
    assert run.code == 0, run.out
    data = run.json
    assert data["objects"] == []
    assert data["skipped"] == [{"source": "other.yaml", "document": 0, "item": None, "apiVersion": api_version,
                                "kind": kind, "namespace": "shop", "name": "web"}]
    # fix leaves it alone too.
    run = podsec("fix", "other.yaml", "--unsafe-fixes")
    assert run.code == 0
    assert Path(path).read_text() == text


def test_core_service_and_knative_service_side_by_side(podsec):
    core = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: 80\n"
    knative = custom_resource(("serving.knative.dev", "Service"), BASELINE_TEMPLATE)
    run = podsec("check", "-f", "-", "-o", "json", stdin=(core + "---\n" + knative).encode())
    assert [(o["apiVersion"], o["kind"], o["document"]) for o in run.json["objects"]] == \
        [("serving.knative.dev/v1", "Service", 1)]
    assert [(s["apiVersion"], s["kind"], s["document"]) for s in run.json["skipped"]] == [("v1", "Service", 0)]


def test_any_version_of_the_group_is_recognised(podsec):
    for api_version in ("argoproj.io/v1alpha1", "argoproj.io/v1", "argoproj.io/v2beta3"):
        text = custom_resource(("argoproj.io", "Rollout"), PRIVILEGED_TEMPLATE).replace(
            "argoproj.io/v1alpha1", api_version)
        run = podsec("check", "-f", "-", "-o", "json", stdin=text.encode())
        assert [o["apiVersion"] for o in run.json["objects"]] == [api_version]


# --- fix ------------------------------------------------------------------------------------

def outside_template(obj: dict, path: tuple) -> dict:
    obj = copy.deepcopy(obj)
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    parent.pop(path[-1])
    return obj


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_fix_from_stdin_gives_a_resource_that_passes_restricted(podsec, key):
    text = custom_resource(key, BASELINE_TEMPLATE)
    run = podsec("fix", "-f", "-", stdin=text.encode())
    assert run.code == 1, run.err  # changed
    fixed = run.out
    assert fixed != text
    assert f"-:1:1: {key[1]}/web: fixed " in run.err
    assert "(baseline -> restricted)" in run.err
    assert "needs a human" not in run.err
    # The fixed text passes restricted when checked again.
    check = podsec("check", "-f", "-", "-o", "json", stdin=fixed.encode())
    assert check.code == 0, check.out
    [obj] = check.json["objects"]
    assert (obj["kind"], obj["highest"]) == (key[1], "restricted")
    # Nothing but the pod's security settings changed.
    path = CUSTOM_TEMPLATES[key]
    before, after = yaml.safe_load(text), yaml.safe_load(fixed)
    assert outside_template(after, path) == outside_template(before, path)
    template_before, template_after = before, after
    for part in path:
        template_before, template_after = template_before[part], template_after[part]
    assert template_after["metadata"] == template_before["metadata"]
    container = template_after["spec"]["containers"][0]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert {k: v for k, v in container.items() if k != "securityContext"} == \
        template_before["spec"]["containers"][0]
    assert template_after["spec"]["securityContext"] == {"runAsNonRoot": True,
                                                         "seccompProfile": {"type": "RuntimeDefault"}}
    # Every line of the input is still there, in order: fix only adds lines.
    lines = iter(fixed.splitlines())
    assert all(any(line == other for other in lines) for line in text.splitlines())
    # And fixing again changes nothing.
    again = podsec("fix", "-f", "-", stdin=fixed.encode())
    assert again.code == 0 and again.out == fixed


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_fix_in_place_then_check(podsec, tmp_path, key):
    path = write(tmp_path, "cr.yaml", custom_resource(key, BASELINE_TEMPLATE))
    assert podsec("fix", "cr.yaml").code == 1
    assert podsec("check", "cr.yaml").code == 0
    assert podsec("fix", "cr.yaml").code == 0
    assert yaml.safe_load(Path(path).read_text())["kind"] == key[1]


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_fix_of_a_privileged_resource_needs_unsafe_fixes(podsec, key):
    text = custom_resource(key, PRIVILEGED_TEMPLATE)
    run = podsec("fix", "-f", "-", stdin=text.encode())
    assert run.code == 1
    assert "needs a human: privileged" in run.err
    run = podsec("fix", "-f", "-", "--unsafe-fixes", stdin=text.encode())
    assert run.code == 1
    assert podsec("check", "-f", "-", stdin=run.out.encode()).code == 0


# --- podTemplates in .podsec.yaml ------------------------------------------------------------

WIDGET_CONFIG = textwrap.dedent("""\
    podTemplates:
      - apiVersion: example.com/v1
        kind: Widget
        path: spec.runner.podTemplate
    """)


def widget(template: str, api_version: str = "example.com/v1", name: str = "gadget") -> str:
    return (f"apiVersion: {api_version}\nkind: Widget\nmetadata:\n  name: {name}\n  namespace: shop\n"
            "spec:\n  size: 3\n  runner:\n    podTemplate:\n" + indent(template, 6))


def test_without_a_pod_template_entry_an_unknown_kind_is_skipped(podsec, tmp_path):
    write(tmp_path, "widget.yaml", widget(PRIVILEGED_TEMPLATE))
    run = podsec("check", "widget.yaml", "-o", "json")
    assert run.code == 0
    assert run.json["objects"] == [] and run.json["skipped"][0]["kind"] == "Widget"


def test_a_pod_template_entry_makes_an_unknown_kind_checkable(podsec, tmp_path):
    text = widget(PRIVILEGED_TEMPLATE)
    write(tmp_path, "widget.yaml", text)
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    run = podsec("check", "widget.yaml", "-o", "json")
    assert run.code == 1
    [obj] = run.json["objects"]
    assert (obj["kind"], obj["name"], obj["highest"]) == ("Widget", "gadget", "privileged")
    privileged = next(v for v in obj["violations"] if v["check"] == "privileged")
    assert privileged["field"] == "spec.runner.podTemplate.spec.containers[0].securityContext.privileged"
    assert (privileged["line"], privileged["column"]) == position(text, "privileged: true")
    text_run = podsec("check", "widget.yaml")
    line, column = position(text, "privileged: true")
    assert f"widget.yaml:{line}:{column}: privileged:" in text_run.out


def test_a_pod_template_entry_given_with_config_flag(podsec, tmp_path):
    write(tmp_path, "widget.yaml", widget(RESTRICTED_TEMPLATE))
    config = write(tmp_path / "conf", "podsec.yaml", WIDGET_CONFIG)
    run = podsec("check", "widget.yaml", "--config", config, "-o", "json")
    assert run.code == 0
    assert [(o["kind"], o["highest"]) for o in run.json["objects"]] == [("Widget", "restricted")]


def test_a_pod_template_entry_matches_the_group_at_any_version_and_no_other_group(podsec, tmp_path):
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    stream = "---\n".join([widget(BASELINE_TEMPLATE, "example.com/v2", "v2"),
                           widget(BASELINE_TEMPLATE, "other.example.com/v1", "other")])
    run = podsec("check", "-f", "-", "-o", "json", stdin=stream.encode())
    assert [(o["apiVersion"], o["name"]) for o in run.json["objects"]] == [("example.com/v2", "v2")]
    assert [(s["apiVersion"], s["name"]) for s in run.json["skipped"]] == [("other.example.com/v1", "other")]


def test_fix_uses_the_pod_template_entry(podsec, tmp_path):
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    text = widget(BASELINE_TEMPLATE)
    run = podsec("fix", "-f", "-", stdin=text.encode())
    assert run.code == 1
    fixed = yaml.safe_load(run.out)
    pod = fixed["spec"]["runner"]["podTemplate"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert fixed["spec"]["size"] == 3
    assert podsec("check", "-f", "-", stdin=run.out.encode()).code == 0


def test_a_pod_template_entry_can_add_a_kind_of_a_known_group(podsec, tmp_path):
    write(tmp_path, ".podsec.yaml", "podTemplates:\n  - apiVersion: argoproj.io/v1alpha1\n"
                                    "    kind: AnalysisRun\n    path: spec.metrics.pod\n")
    text = ("apiVersion: argoproj.io/v1alpha1\nkind: AnalysisRun\nmetadata:\n  name: run\nspec:\n  metrics:\n"
            "    pod:\n" + indent(PRIVILEGED_TEMPLATE, 6))
    run = podsec("check", "-f", "-", "-o", "json", stdin=text.encode())
    assert [(o["kind"], o["highest"]) for o in run.json["objects"]] == [("AnalysisRun", "privileged")]


@pytest.mark.parametrize("path", ["spec..template", ".spec", "spec.template."])
def test_a_bad_pod_template_path_is_a_config_error(podsec, tmp_path, path):
    write(tmp_path, ".podsec.yaml", f"podTemplates:\n  - apiVersion: example.com/v1\n    kind: Widget\n"
                                    f"    path: {path}\n")
    write(tmp_path, "widget.yaml", widget(BASELINE_TEMPLATE))
    run = podsec("check", "widget.yaml")
    assert run.code == 2
    assert len(run.err_lines) == 1
    assert re.match(r"error: config \S+\.podsec\.yaml:4:11: path must be dotted field names", run.err_lines[0])


# Two projects in one process (a test run, the language server): each config's kinds stay its own.
GIZMO_CONFIG = "podTemplates:\n  - apiVersion: example.com/v1\n    kind: Gizmo\n    path: spec.template\n"


def gizmo(template: str) -> str:
    return ("apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: gizmo\n  namespace: shop\n"
            "spec:\n  template:\n" + indent(template, 4))


def two_projects(tmp_path) -> tuple:
    """Directories a (Widget) and b (Gizmo), each with its config and both kinds' manifests."""
    dirs = []
    for name, config in (("a", WIDGET_CONFIG), ("b", GIZMO_CONFIG)):
        write(tmp_path / name, ".podsec.yaml", config)
        write(tmp_path / name, "objects.yaml", widget(HOST_PID_TEMPLATE) + "---\n" + gizmo(HOST_PID_TEMPLATE))
        dirs.append(tmp_path / name)
    return tuple(dirs)


def test_two_configs_in_one_process_do_not_leak_into_each_other_in_check(podsec, monkeypatch, tmp_path):
    for directory, checked, skipped in zip(two_projects(tmp_path), ("Widget", "Gizmo"), ("Gizmo", "Widget")):
        monkeypatch.chdir(directory)
        data = podsec("check", "objects.yaml", "-o", "json").json
        assert [o["kind"] for o in data["objects"]] == [checked]
        assert [s["kind"] for s in data["skipped"]] == [skipped]
    monkeypatch.chdir(tmp_path)  # no config: neither kind is known any more
    data = podsec("check", "a/objects.yaml", "-o", "json").json
    assert data["objects"] == [] and [s["kind"] for s in data["skipped"]] == ["Widget", "Gizmo"]


def test_two_configs_in_one_process_do_not_leak_into_each_other_in_fix(podsec, monkeypatch, tmp_path):
    for directory, fixed, untouched in zip(two_projects(tmp_path), ("Widget", "Gizmo"), ("Gizmo", "Widget")):
        monkeypatch.chdir(directory)
        run = podsec("fix", "-f", "-", "--unsafe-fixes", stdin=(directory / "objects.yaml").read_bytes())
        assert run.code == 1, run.err
        objects = {obj["kind"]: obj for obj in yaml.safe_load_all(run.out)}
        pods = {"Widget": ("spec", "runner", "podTemplate", "spec"), "Gizmo": ("spec", "template", "spec")}
        for kind, want in ((fixed, False), (untouched, True)):
            pod = objects[kind]
            for part in pods[kind]:
                pod = pod[part]
            assert pod["hostPID"] is want, kind


def test_two_configs_in_one_language_server_do_not_leak_into_each_other(tmp_path):
    from kubectl_podsec import editor

    cache, settings = editor.ConfigCache(), editor.Settings(level=Level.BASELINE)
    for _ in range(2):  # and back again: nothing stays behind from the other project
        for directory, kind in zip(two_projects(tmp_path), ("Widget", "Gizmo")):
            path = str(directory / "objects.yaml")
            config, problem = cache.get(path, settings)
            assert problem is None
            text = (directory / "objects.yaml").read_text()
            found = editor.diagnose(text, path, settings, config)
            assert {finding.object.split("/")[0] for finding in found} == {kind}
            # The quick fixes edit only that kind's object: the other starts after the `---`.
            separator = text.index("---\n")
            [fix_all] = [a for a in editor.code_actions(text, path, settings, config, found) if "Fix all" in a.title]
            lines = {edit_range[0] for edit_range, _ in fix_all.edits}
            assert lines and all((line < text.count("\n", 0, separator)) == (kind == "Widget") for line in lines)


def test_parallel_workers_get_the_configs_kinds(podsec, monkeypatch, tmp_path):
    from kubectl_podsec.parallel import default_jobs

    if default_jobs() < 2:
        pytest.skip("one core: no parallel path")
    monkeypatch.setenv("KUBECTL_PODSEC_PARALLEL_BYTES", "1000")
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    stream = "---\n".join(widget(HOST_PID_TEMPLATE, name=f"w{n}") for n in range(12)).encode()
    assert len(stream) > 2000  # cut into parts, one per worker
    data = podsec("check", "-f", "-", "-o", "json", stdin=stream).json
    assert [(o["name"], o["highest"]) for o in data["objects"]] == [(f"w{n}", "privileged") for n in range(12)]
    run = podsec("fix", "-f", "-", "--unsafe-fixes", stdin=stream)
    assert [obj["spec"]["runner"]["podTemplate"]["spec"]["hostPID"] for obj in yaml.safe_load_all(run.out)] == \
        [False] * 12


# --- live mode ------------------------------------------------------------------------------

class FakeKubectl(Kubectl):
    """A Kubectl that never runs kubectl: `get` (and `pages`, as one page), `server_minor` and `namespaces` answer from
    the class attributes OBJECTS (list of objects as `kubectl get -o json` gives them),
    LABELS ({namespace: labels}) and MINOR. Records what was asked in CALLS."""

    OBJECTS: ClassVar[list] = []
    LABELS: ClassVar[dict] = {}
    MINOR = 36
    CALLS: ClassVar[list] = []

    def run(self, args):  # pragma: no cover - a test that reaches it is wrong
        raise AssertionError(f"FakeKubectl ran kubectl {args}")

    def get(self, resources, extra=None):
        self.CALLS.append(("get", list(resources), self.namespace, self.all_namespaces))
        items = [copy.deepcopy(obj) for obj in self.OBJECTS
                 if self.all_namespaces or not self.namespace or obj["metadata"].get("namespace") == self.namespace]
        for resource in resources:
            if "/" in resource:  # TYPE/NAME: that object only
                name = resource.split("/", 1)[1]
                items = [obj for obj in items if obj["metadata"]["name"] == name]
        return Listing(items, [], [])

    def pages(self, resources):
        yield self.get(resources)

    def server_minor(self):
        self.CALLS.append(("version",))
        return self.MINOR

    def namespaces(self, names=None):
        self.CALLS.append(("namespaces", names))
        labels = {name: dict(labels) for name, labels in self.LABELS.items() if names is None or name in names}
        return Listing(labels, [], [])


def fake_kubectl(objects: list, labels: dict, minor: int = 36) -> type:
    return type("Fake", (FakeKubectl,), {"OBJECTS": objects, "LABELS": labels, "MINOR": minor, "CALLS": []})


def live(key_or_text, template: Optional[str] = None, name: str = "web", namespace: str = "shop") -> dict:
    """The object as the API server returns it: JSON, with server fields added."""
    obj = yaml.safe_load(custom_resource(key_or_text, template, name, namespace)
                         if template is not None else key_or_text)
    obj["metadata"].update({"uid": f"uid-{name}", "resourceVersion": "42", "generation": 1,
                            "creationTimestamp": "2025-01-01T00:00:00Z"})
    obj["status"] = {"observedGeneration": 1}
    return json.loads(json.dumps(obj))


ROLLOUT = ("argoproj.io", "Rollout")
CLONESET = ("apps.kruise.io", "CloneSet")
HOST_PID_TEMPLATE = BASELINE_TEMPLATE.replace("spec:\n", "spec:\n  hostPID: true\n", 1)


def test_scan_cluster_judges_a_rollout_and_a_cloneset():
    objects = [live(ROLLOUT, HOST_PID_TEMPLATE, "web"), live(CLONESET, RESTRICTED_TEMPLATE, "api")]
    kubectl_class = fake_kubectl(objects, {"shop": {"pod-security.kubernetes.io/enforce": "baseline"}})
    kubectl = kubectl_class(namespace="shop")
    report = scan_cluster(kubectl, ["rollouts.argoproj.io,clonesets.apps.kruise.io"], PolicyVersion(None))
    assert report.errors == [] and report.skipped == []
    assert ("version",) in kubectl_class.CALLS  # latest is capped at the server's version
    assert ("get", ["rollouts.argoproj.io,clonesets.apps.kruise.io"], "shop", False) in kubectl_class.CALLS
    results = {r.workload.kind: r for r in report.objects}
    assert set(results) == {"Rollout", "CloneSet"}

    rollout = results["Rollout"]
    assert (rollout.workload.name, rollout.workload.namespace) == ("web", "shop")
    assert rollout.workload.prefix == ("spec", "template")
    assert rollout.verdict.highest == Level.PRIVILEGED
    baseline = [v for v in rollout.verdict.violations if v.level == Level.BASELINE]
    assert [(v.check, v.paths) for v in baseline] == [("hostNamespaces", (("spec", "template", "spec", "hostPID"),))]
    assert {v.check for v in rollout.verdict.violations if v.level == Level.RESTRICTED} == {
        "allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"}
    assert rollout.source == "cluster" and rollout.line is None
    assert as_json(rollout)["enforce"] == {"level": "baseline", "version": "latest", "passes": False,
                                       "violations": ["hostNamespaces"]}
    assert as_json(rollout)["owner"] is None and as_json(rollout)["pods"] == 0

    cloneset = results["CloneSet"]
    assert cloneset.verdict.highest == Level.RESTRICTED
    assert list(cloneset.verdict.violations) == []
    assert as_json(cloneset)["enforce"]["passes"] is True


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_scan_cluster_judges_every_custom_resource_like_its_file(key, podsec, tmp_path):
    """The live verdict of each custom resource is the verdict of its manifest."""
    kubectl_class = fake_kubectl([live(key, PRIVILEGED_TEMPLATE)], {"shop": {}})
    report = scan_cluster(kubectl_class(namespace="shop"), ["things"], PolicyVersion.parse("v1.36"))
    [result] = report.objects
    write(tmp_path, "cr.yaml", custom_resource(key, PRIVILEGED_TEMPLATE))
    [from_file] = podsec("check", "cr.yaml", "--version", "v1.36", "-o", "json").json["objects"]
    assert (result.workload.kind, str(result.verdict.highest)) == (key[1], from_file["highest"])
    assert [format_path(p) for v in result.verdict.violations for p in v.paths] == \
        [loc["field"] for v in from_file["violations"] for loc in v["locations"]]
    assert as_json(result)["enforce"] is None  # the namespace has no enforce label


@pytest.mark.parametrize("template", ["oops", ["a"], 5, "", []])
def test_scan_cluster_says_a_template_that_is_no_object_and_judges_the_rest(template):
    """A custom resource's schema may let its template be anything: one that is not an object is
    an error of that resource, as in a file (it raised AttributeError from `.get` on it)."""
    bad = live(ROLLOUT, BASELINE_TEMPLATE, "bad")
    bad["spec"]["template"] = template
    objects = [bad, live(CLONESET, RESTRICTED_TEMPLATE, "api")]
    report = scan_cluster(fake_kubectl(objects, {})(namespace="shop"), ["things"], PolicyVersion.parse("v1.36"))
    assert [p.message for p in report.errors] == ["Rollout/bad: spec.template must be a mapping"]
    assert [r.workload.name for r in report.objects] == ["api"]


def test_scan_cluster_skips_the_same_kind_of_another_group():
    core = live("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports:\n"
                "    - port: 80\n")
    knative = live(("serving.knative.dev", "Service"), BASELINE_TEMPLATE)
    report = scan_cluster(fake_kubectl([core, knative], {})(namespace="shop"), ["services"], PolicyVersion(None))
    assert [(r.workload.api_version, r.workload.kind) for r in report.objects] == [("serving.knative.dev/v1", "Service")]
    assert [(s.skipped.api_version, s.skipped.kind) for s in report.skipped] == [("v1", "Service")]


def test_live_check_of_custom_resources_through_the_cli(podsec, monkeypatch):
    objects = [live(ROLLOUT, HOST_PID_TEMPLATE, "web"), live(CLONESET, RESTRICTED_TEMPLATE, "api")]
    kubectl_class = fake_kubectl(objects, {"shop": {"pod-security.kubernetes.io/enforce": "baseline"}})
    monkeypatch.setattr(cluster, "Kubectl", kubectl_class)
    run = podsec("check", "rollouts.argoproj.io,clonesets.apps.kruise.io", "-n", "shop", "-o", "json")
    assert run.code == 1, run.err
    objects = {o["kind"]: o for o in run.json["objects"]}
    assert objects["Rollout"]["highest"] == "privileged"
    assert objects["Rollout"]["enforce"]["passes"] is False
    assert objects["Rollout"]["source"] == "cluster"
    assert objects["Rollout"]["violations"][0]["field"] == "spec.template.spec.hostPID"
    assert objects["CloneSet"]["highest"] == "restricted"
    text = podsec("check", "rollouts.argoproj.io,clonesets.apps.kruise.io", "-n", "shop")
    assert "Rollout/web (shop): highest=privileged; namespace enforces baseline:latest: its pods would be denied" in text.out
    assert "CloneSet/api (shop): highest=restricted; namespace enforces baseline:latest: its pods would be allowed" in text.out


def test_live_check_of_a_pod_template_entry_kind(podsec, monkeypatch, tmp_path):
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    obj = live(widget(HOST_PID_TEMPLATE))
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl([obj], {"shop": {}}))
    run = podsec("check", "widgets.example.com", "-n", "shop", "-o", "json")
    assert run.code == 1
    [result] = run.json["objects"]
    assert (result["kind"], result["highest"]) == ("Widget", "privileged")
    assert result["violations"][0]["field"] == "spec.runner.podTemplate.spec.hostPID"


@pytest.mark.parametrize("key", KEYS, ids=IDS)
def test_live_fix_of_a_custom_resource(podsec, monkeypatch, key):
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl([live(key, BASELINE_TEMPLATE)], {"shop": {}}))
    run = podsec("fix", f"{key[1].lower()}s.{key[0]}/web", "-n", "shop", "-o", "yaml")
    assert run.code == 1, run.err
    fixed = yaml.safe_load(run.out)
    assert fixed["kind"] == key[1]
    assert "status" not in fixed and "uid" not in fixed["metadata"]
    check = podsec("check", "-f", "-", stdin=run.out.encode())
    assert check.code == 0, check.out


def test_live_plan_judges_a_pod_template_entry_kind(podsec, monkeypatch, tmp_path):
    """plan reads the cluster through the same judging as check: the config's kinds reach it
    (the fake lists the Widget among the workloads plan asks for)."""
    obj = live(widget(HOST_PID_TEMPLATE))
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl([obj], {"shop": {}}))
    without = podsec("plan", "shop", "-o", "json")
    assert without.json["namespaces"][0]["blockers"] == [], without.err
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    run = podsec("plan", "shop", "-o", "json", "--config", str(tmp_path / ".podsec.yaml"))
    [blocker] = run.json["namespaces"][0]["blockers"]
    assert (blocker["kind"], blocker["name"], blocker["highest"]) == ("Widget", "gadget", "privileged")


@pytest.mark.parametrize("found", [False, True], ids=["--config", "found-here"])
def test_namespaces_judges_a_pod_template_entry_kind(podsec, monkeypatch, tmp_path, found):
    """namespaces reads .podsec.yaml as check and plan do: its custom kinds count among the
    namespace's workloads, whether named with --config or found from the current directory."""
    obj = live(widget(HOST_PID_TEMPLATE))
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl([obj], {"shop": {}}))
    monkeypatch.chdir(tmp_path)
    without = podsec("namespaces", "shop", "-o", "json")
    assert without.json["namespaces"][0]["workloads"] == 0, without.err
    write(tmp_path, ".podsec.yaml", WIDGET_CONFIG)
    run = podsec("namespaces", "shop", "-o", "json", *([] if found else ["--config", str(tmp_path / ".podsec.yaml")]))
    [summary] = run.json["namespaces"]
    assert (summary["workloads"], summary["highest"]) == (1, "privileged"), run.err


def test_namespaces_says_a_bad_config_in_one_line(podsec, monkeypatch, tmp_path):
    monkeypatch.setattr(cluster, "Kubectl", fake_kubectl([], {"shop": {}}))
    write(tmp_path, "bad.yaml", "podTemplates: 3\n")
    run = podsec("namespaces", "shop", "--config", str(tmp_path / "bad.yaml"))
    assert run.code == 2
    assert len(run.err_lines) == 1 and run.err_lines[0].startswith(f"error: config {tmp_path / 'bad.yaml'}:1:"), \
        run.err_lines
