"""Helm- and Kustomize-rendered input (issue 6, "Helm and Kustomize").

Helm: tests/data/helm/shop-rendered.yaml is in exactly the layout `helm template` writes
(`---`, `# Source: CHART/templates/FILE`, the manifest; one Source comment per rendered
document). Findings name the template ("template" in JSON and YAML, `[from ...]` in text)
and the line in the rendered stream; `fix` refuses the stream and names the templates.

Kustomize: tests/data/kustomize is rendered by the REAL `kubectl kustomize` through
`check -k DIR`; findings name the resources as rendered (name prefix and namespace of the
overlay); `fix -k` refuses and names the directory; a broken kustomization is one error line.
"""

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from cli_helpers import cli_runner, pod, run_process, write

DATA = Path(__file__).resolve().parent / "data"
HELM_STREAM = DATA / "helm" / "shop-rendered.yaml"
KUSTOMIZE = DATA / "kustomize"
BASE = KUSTOMIZE / "base"
OVERLAY = KUSTOMIZE / "overlays" / "prod"

# name -> (kind, template, highest) of every workload in the Helm stream.
HELM_WORKLOADS = {
    "release-name-node-agent": ("DaemonSet", "shop/charts/node-agent/templates/daemonset.yaml", "privileged"),
    "release-name-shop": ("Deployment", "shop/templates/deployment.yaml", "baseline"),
    "release-name-shop-migrate": ("Job", "shop/templates/workers.yaml", "restricted"),
    "release-name-shop-report": ("CronJob", "shop/templates/workers.yaml", "privileged"),
    "release-name-shop-test-connection": ("Pod", "shop/templates/tests/test-connection.yaml", "baseline"),
}
HELM_SKIPPED = {
    ("ServiceAccount", "release-name-node-agent"): "shop/charts/node-agent/templates/serviceaccount.yaml",
    ("ServiceAccount", "release-name-shop"): "shop/templates/serviceaccount.yaml",
    ("Service", "release-name-shop"): "shop/templates/service.yaml",
}
# Appended after the rendered chart (`{ helm template .; cat extra.yaml; }`): no Source comment.
EXTRA = pod("extra-debug", "privileged")


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .podsec.yaml from above
    return cli_runner(capsys, monkeypatch)


def helm_stream() -> str:
    return HELM_STREAM.read_text()


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1


def object_line(text: str, kind: str, name: str) -> int:
    """The line of the `apiVersion` of the object `kind`/`name` in `text`."""
    match = re.search(rf'^apiVersion: \S+\nkind: {kind}\nmetadata:\n  name: "?{re.escape(name)}"?\n', text, re.MULTILINE)
    assert match, (kind, name)
    return text.count("\n", 0, match.start()) + 1


def column_of(text: str, needle: str) -> int:
    at = text.index(needle)
    return at - (text.rfind("\n", 0, at) + 1) + 1


# --- Helm ---------------------------------------------------------------------------------

def test_the_helm_stream_is_in_helm_templates_layout():
    """`helm template` prints `---\\n# Source: NAME\\nCONTENT\\n` for each manifest."""
    text = helm_stream()
    records = text.split("---\n")
    assert records[0] == ""
    for record in records[1:]:
        assert re.match(r"# Source: shop/(charts/[\w-]+/)?templates/[\w/.-]+\.yaml\n\S", record), record[:80]
        assert record.endswith("\n") and not record.endswith("\n\n")
        assert record.count("# Source: ") == 1
    sources = re.findall(r"^# Source: (.*)$", text, re.MULTILINE)
    assert sources.count("shop/templates/workers.yaml") == 2  # one template, two documents
    assert len(list(yaml.safe_load_all(text))) == len(records) - 1


def test_every_helm_object_names_its_template_in_json(podsec):
    text = helm_stream()
    run = podsec("check", "-f", "-", "-o", "json", stdin=text.encode())
    assert run.code == 1
    data = run.json
    assert data["errors"] == []
    objects = {o["name"]: o for o in data["objects"]}
    assert set(objects) == set(HELM_WORKLOADS)
    for name, (kind, template, highest) in HELM_WORKLOADS.items():
        obj = objects[name]
        assert (obj["kind"], obj["template"], obj["highest"]) == (kind, template, highest), name
        assert obj["source"] == "-"
        # The position is the object's line in the rendered stream: right after its Source comment.
        assert obj["line"] == object_line(text, kind, name)
        source_line = obj["line"] - 1
        assert text.splitlines()[source_line - 1] == f"# Source: {template}"
        assert obj["column"] == 1
    assert {(s["kind"], s["name"]) for s in data["skipped"]} == set(HELM_SKIPPED)


def test_helm_violation_positions_are_in_the_rendered_stream(podsec):
    text = helm_stream()
    data = podsec("check", "-f", "-", "-o", "json", stdin=text.encode()).json
    objects = {o["name"]: o for o in data["objects"]}
    report = objects["release-name-shop-report"]
    privileged = next(v for v in report["violations"] if v["check"] == "privileged")
    assert privileged["line"] == line_of(text, "privileged: true")
    assert privileged["column"] == column_of(text, "privileged: true")
    assert privileged["field"] == "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
    agent = objects["release-name-node-agent"]
    host_pid = next(v for v in agent["violations"] if v["check"] == "hostNamespaces")
    assert host_pid["line"] == line_of(text, "hostPID: true")
    host_path = next(v for v in agent["violations"] if v["check"] == "hostPathVolumes")
    assert host_path["line"] == line_of(text, "hostPath:")
    # The Deployment's empty securityContext `{}` is on the line after the key.
    shop = objects["release-name-shop"]
    escalation = next(v for v in shop["violations"] if v["check"] == "allowPrivilegeEscalation")
    assert escalation["path"] == "spec.template.spec.containers[0].securityContext"
    assert escalation["line"] == line_of(text, "        - name: shop\n          securityContext:") + 1


def test_helm_text_output_names_the_template(podsec):
    text = helm_stream()
    run = podsec("check", "-f", "-", stdin=text.encode())
    assert run.code == 1
    headers = [line for line in run.out.splitlines() if not line.startswith(" ")][:-3]  # the summary and the next steps
    assert len(headers) == len(HELM_WORKLOADS)
    data = podsec("check", "-f", "-", "-o", "json", stdin=text.encode()).json
    for header, obj in zip(headers, data["objects"]):
        kind, template, highest = HELM_WORKLOADS[obj["name"]]
        assert header == f"-:{obj['line']}:1: {kind}/{obj['name']} [from {template}]: highest={highest}"
    line = line_of(text, "privileged: true")
    assert re.search(rf"^  -:{line}:\d+: privileged: ", run.out, re.MULTILINE)


def test_helm_yaml_output_names_the_template(podsec):
    data = yaml.safe_load(podsec("check", "-f", "-", "-o", "yaml", stdin=helm_stream().encode()).out)
    assert {o["name"]: o["template"] for o in data["objects"]} == {
        name: template for name, (_, template, _) in HELM_WORKLOADS.items()}


def machine_output(podsec, tmp_path, output: str) -> str:
    path = write(tmp_path, "rendered.yaml", helm_stream())
    run = podsec("check", path, "-o", output)
    assert run.code == 1, run.err
    return run.out


@pytest.mark.parametrize("output", ["sarif", "junit", "github"])
def test_machine_formats_give_the_line_in_the_rendered_stream(podsec, tmp_path, output):
    text = helm_stream()
    line, column = line_of(text, "privileged: true"), column_of(text, "privileged: true")
    out = machine_output(podsec, tmp_path, output)
    if output == "sarif":
        results = [r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "privileged"]
        [region] = [loc["physicalLocation"]["region"] for r in results for loc in r["locations"]
                    if "physicalLocation" in loc]
        assert (region["startLine"], region["startColumn"]) == (line, column)
    elif output == "junit":
        assert f"rendered.yaml:{line}:{column}" in out
    else:
        assert f"line={line},col={column},title=podsec privileged::" in out


@pytest.mark.parametrize("output", ["sarif", "junit", "github"])
def test_machine_formats_name_the_helm_template(podsec, tmp_path, output):
    out = machine_output(podsec, tmp_path, output)
    for _, template, highest in HELM_WORKLOADS.values():
        if highest != "restricted":
            assert template in out, template


def test_helm_stream_with_a_stdin_filename(podsec):
    run = podsec("check", "-f", "-", "--stdin-filename", "rendered.yaml", stdin=helm_stream().encode())
    assert re.search(r"^rendered\.yaml:\d+:1: Deployment/release-name-shop \[from shop/templates/deployment\.yaml\]",
                     run.out, re.MULTILINE)


def test_helm_stream_from_a_file(podsec, tmp_path):
    path = write(tmp_path, "rendered.yaml", helm_stream())
    data = podsec("check", path, "-o", "json").json
    assert {o["name"]: o["template"] for o in data["objects"]} == {
        name: template for name, (_, template, _) in HELM_WORKLOADS.items()}


def test_a_document_without_a_source_comment_names_no_template(podsec):
    """`{ helm template .; cat extra.yaml; }`: the appended document has no Source comment
    and must not inherit the last template's."""
    text = helm_stream() + "---\n" + EXTRA
    run = podsec("check", "-f", "-", "-o", "json", stdin=text.encode())
    objects = {o["name"]: o for o in run.json["objects"]}
    assert "template" not in objects["extra-debug"]
    assert objects["extra-debug"]["line"] == object_line(text, "Pod", "extra-debug")
    assert objects["release-name-shop-test-connection"]["template"] == "shop/templates/tests/test-connection.yaml"
    text_run = podsec("check", "-f", "-", stdin=text.encode())
    header = next(line for line in text_run.out.splitlines() if "Pod/extra-debug" in line)
    assert "[from" not in header


def test_a_document_without_a_source_comment_in_the_middle(podsec):
    text = helm_stream()
    cut = text.index("---\n# Source: shop/templates/deployment.yaml")
    mixed = text[:cut] + "---\n" + EXTRA + text[cut:]
    data = podsec("check", "-f", "-", "-o", "json", stdin=mixed.encode()).json
    objects = {o["name"]: o for o in data["objects"]}
    assert "template" not in objects["extra-debug"]
    assert objects["release-name-shop"]["template"] == "shop/templates/deployment.yaml"
    assert objects["release-name-node-agent"]["template"] == "shop/charts/node-agent/templates/daemonset.yaml"


def test_a_plain_stream_without_source_comments_has_no_templates(podsec):
    data = podsec("check", "-f", "-", "-o", "json", stdin=(pod("a") + "---\n" + pod("b")).encode()).json
    assert all("template" not in obj for obj in data["objects"])


def test_helm_list_document_items_share_the_template(podsec):
    text = ("---\n# Source: shop/templates/pods.yaml\napiVersion: v1\nkind: List\nitems:\n"
            "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: one\n    spec:\n      containers:\n"
            "        - name: app\n          image: nginx\n"
            "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: two\n    spec:\n      containers:\n"
            "        - name: app\n          image: nginx\n")
    data = podsec("check", "-f", "-", "-o", "json", stdin=text.encode()).json
    assert [(o["name"], o["item"], o["template"]) for o in data["objects"]] == [
        ("one", 0, "shop/templates/pods.yaml"), ("two", 1, "shop/templates/pods.yaml")]


def test_fix_refuses_a_helm_stream_on_stdin(podsec):
    run = podsec("fix", "-f", "-", stdin=helm_stream().encode())
    assert run.code == 2
    assert run.out == ""
    errors = [line for line in run.err_lines if line.startswith("error: ")]
    assert len(errors) == 1
    assert "helm template" in errors[0]
    assert errors[0].startswith("error: -:2:1: ")  # the first Source comment
    for template in ("shop/templates/deployment.yaml", "shop/charts/node-agent/templates/daemonset.yaml"):
        assert template in errors[0]


def test_fix_of_helm_output_names_every_template_that_needs_a_change(podsec):
    """Every template that renders a workload failing the level must be named."""
    run = podsec("fix", "-f", "-", stdin=helm_stream().encode())
    assert run.code == 2
    for (_, template, highest) in HELM_WORKLOADS.values():
        if highest != "restricted":
            assert template in run.err, template


def test_fix_refuses_a_helm_stream_in_a_file_and_leaves_it(podsec, tmp_path):
    path = write(tmp_path, "rendered.yaml", helm_stream())
    for argv in (("fix", path), ("fix", path, "--unsafe-fixes"), ("fix", path, "--dry-run"),
                 ("fix", path, "-o", "json")):
        run = podsec(*argv)
        assert run.code == 2, argv
        assert "helm template" in run.err
        assert Path(path).read_text() == helm_stream()
    data = podsec("fix", path, "-o", "json").json
    assert len(data["errors"]) == 1 and "shop/templates/deployment.yaml" in data["errors"][0]["message"]


def test_the_readme_pipeline_works_from_stdin():
    """README: `helm template . | kubectl podsec check -f -`; the plugin as a process, stdin a pipe."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "helm template . | kubectl podsec check -f -" in readme
    completed = run_process("check", "-f", "-", stdin=HELM_STREAM.read_bytes())
    assert completed.returncode == 1, completed.stderr
    out = completed.stdout.decode()
    assert "[from shop/templates/deployment.yaml]" in out
    assert "Traceback" not in completed.stderr.decode()
    assert out.splitlines()[-3].startswith("5 workloads: 1 restricted, 2 baseline, 2 privileged; 4 below restricted")
    at_baseline = run_process("check", "-f", "-", "--level", "privileged", stdin=HELM_STREAM.read_bytes())
    assert at_baseline.returncode == 0


# --- Kustomize ----------------------------------------------------------------------------

def tree_digest(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def rendered(kubectl: str, directory: Path) -> str:
    return subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, check=True,
                          timeout=120).stdout.decode()


def test_check_k_renders_the_base(podsec, kubectl):
    run = podsec("check", "-k", BASE, "--kubectl", kubectl, "-o", "json")
    assert run.code == 1, run.err
    data = run.json
    assert data["errors"] == []
    [obj] = data["objects"]
    assert (obj["kind"], obj["name"], obj["namespace"], obj["highest"]) == ("Deployment", "web", None, "baseline")
    assert obj["source"] == f"kustomize:{BASE}"
    assert [(s["kind"], s["name"]) for s in data["skipped"]] == [("Service", "web")]
    assert podsec("check", "-k", BASE, "--kubectl", kubectl, "--level", "baseline").code == 0


def test_check_k_names_the_resources_as_the_overlay_renders_them(podsec, kubectl):
    text = rendered(kubectl, OVERLAY)
    run = podsec("check", "-k", OVERLAY, "--kubectl", kubectl, "-o", "json")
    assert run.code == 1, run.err
    [obj] = run.json["objects"]
    assert (obj["kind"], obj["name"], obj["namespace"]) == ("Deployment", "prod-web", "shop-prod")
    assert obj["highest"] == "privileged"  # the overlay's patch adds hostNetwork
    host = next(v for v in obj["violations"] if v["check"] == "hostNamespaces")
    assert host["field"] == "spec.template.spec.hostNetwork"
    # Positions are in the rendered output.
    assert (host["line"], host["column"]) == (line_of(text, "hostNetwork: true"), column_of(text, "hostNetwork: true"))
    assert obj["line"] == line_of(text, "apiVersion: apps/v1")
    assert [(s["kind"], s["name"], s["namespace"]) for s in run.json["skipped"]] == [
        ("Service", "prod-web", "shop-prod")]


def test_check_k_text_output(podsec, kubectl):
    text = rendered(kubectl, OVERLAY)
    run = podsec("check", "-k", OVERLAY, "--kubectl", kubectl)
    assert run.code == 1
    lines = run.out.splitlines()
    where = f"kustomize:{OVERLAY}"
    assert lines[0] == f"{where}:{line_of(text, 'apiVersion: apps/v1')}:1: Deployment/prod-web (shop-prod): " \
                       "highest=privileged"
    assert lines[1].startswith(f"  {where}:{line_of(text, 'hostNetwork: true')}:")
    assert "hostNamespaces: host namespaces (hostNetwork=true)" in lines[1]


def test_check_k_with_a_relative_directory(podsec, kubectl, monkeypatch):
    monkeypatch.chdir(KUSTOMIZE)
    run = podsec("check", "-k", "overlays/prod", "--kubectl", kubectl)
    assert run.code == 1
    assert run.out.startswith("kustomize:overlays/prod:")


def test_check_k_honours_exemptions(podsec, kubectl, tmp_path):
    write(tmp_path, ".podsec.yaml", "exemptions:\n  - reason: prod runs on the host network\n"
                                    "    namespace: shop-prod\n    name: prod-*\n")
    run = podsec("check", "-k", OVERLAY, "--kubectl", kubectl, "-o", "json")
    assert run.code == 0
    obj = run.json["objects"][0]
    assert obj["highest"] == "privileged" and obj["effectiveHighest"] == "restricted"


def test_check_k_with_a_baseline_round_trip(podsec, kubectl, tmp_path):
    baseline = tmp_path / "baseline.json"
    podsec("check", "-k", OVERLAY, "--kubectl", kubectl, "--write-baseline", baseline)
    assert podsec("check", "-k", OVERLAY, "--kubectl", kubectl, "--baseline", baseline).code == 0
    assert podsec("check", "-k", BASE, "--kubectl", kubectl, "--baseline", baseline).code == 1


def test_fix_k_refuses_and_names_the_directory(podsec, kubectl):
    before = tree_digest(KUSTOMIZE)
    for argv in (("fix", "-k", OVERLAY), ("fix", "-k", OVERLAY, "--dry-run"),
                 ("fix", "-k", OVERLAY, "--kubectl", kubectl, "--unsafe-fixes")):
        run = podsec(*argv)
        assert run.code == 2, argv
        assert run.out == ""
        assert len(run.err_lines) == 1
        assert run.err_lines[0].startswith("error: fix cannot change what kustomize renders")
        assert str(OVERLAY) in run.err_lines[0]
    assert tree_digest(KUSTOMIZE) == before


def test_a_broken_kustomization_is_one_error_line(podsec, kubectl, tmp_path):
    broken = tmp_path / "broken"
    write(broken, "kustomization.yaml", "resources:\n  - missing.yaml\n")
    run = podsec("check", "-k", broken, "--kubectl", kubectl, "-o", "json")
    assert run.code == 2
    assert len(run.err_lines) == 1
    assert run.err_lines[0].startswith(f"error: {broken}: kubectl kustomize {broken}: ")
    assert "missing.yaml" in run.err_lines[0]
    assert run.json["objects"] == []
    assert len(run.json["errors"]) == 1
    text = podsec("check", "-k", broken, "--kubectl", kubectl)
    assert text.code == 2 and len(text.err_lines) == 1
    assert text.out.splitlines()[-1].endswith("1 error (policy latest)")


def test_a_kustomization_that_does_not_parse_is_one_error_line(podsec, kubectl, tmp_path):
    broken = tmp_path / "bad"
    write(broken, "kustomization.yaml", "resources: [\n")
    run = podsec("check", "-k", broken, "--kubectl", kubectl)
    assert run.code == 2
    assert len(run.err_lines) == 1 and run.err_lines[0].startswith("error: ")


def test_a_missing_kustomize_directory_is_one_error_line(podsec, kubectl, tmp_path):
    run = podsec("check", "-k", tmp_path / "nowhere", "--kubectl", kubectl)
    assert run.code == 2
    assert len(run.err_lines) == 1 and str(tmp_path / "nowhere") in run.err_lines[0]


def test_check_k_without_kubectl_is_one_error_line(podsec):
    run = podsec("check", "-k", OVERLAY)  # KUBECTL points at a kubectl that does not exist
    assert run.code == 2
    assert len(run.err_lines) == 1
    assert "kubectl not found" in run.err_lines[0]


def test_check_k_with_files_is_a_usage_error(podsec, kubectl, tmp_path):
    path = write(tmp_path, "pod.yaml", pod())
    run = podsec("check", "-k", OVERLAY, "--kubectl", kubectl, "-f", path)
    assert run.code == 2
    assert run.err_lines == ["error: -k renders kustomizations; do not also give files or resources"]
