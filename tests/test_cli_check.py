"""`kubectl podsec check` through `cli.main`: every input form, output format and exit code,
and values read the way Kubernetes reads them (issue 2, README "Usage" and "Output").

Bad input (malformed files, aliases, nesting, unreadable paths) is in test_bad_input.py.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml
from cli_helpers import (
    WORKLOAD_KINDS,
    TerminalStdin,
    cli_runner,
    indent,
    pod,
    run_process,
    service,
    workload,
    write,
)


@pytest.fixture
def podsec(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


TEXT_HEADER_RE = re.compile(
    r"^(?P<where>\S+:\d+:\d+): (?P<kind>\w+)/(?P<name>\S+)(?: \((?P<ns>[^)]+)\))?: "
    r"highest=(?P<highest>privileged|baseline|restricted)$")


def summary(data: dict) -> list:
    """(source, document, item, kind, name, highest) per object, in output order."""
    return [(o["source"], o["document"], o["item"], o["kind"], o["name"], o["highest"]) for o in data["objects"]]


# --- inputs -----------------------------------------------------------------------------------


def test_one_file(podsec, tmp_path):
    path = write(tmp_path, "web.yaml", pod("web", "restricted", namespace="shop"))
    run = podsec("check", "-f", path, "-o", "json")
    assert run.code == 0, run.err
    assert run.err == ""
    assert summary(run.json) == [(path, 0, None, "Pod", "web", "restricted")]
    obj = run.json["objects"][0]
    assert (obj["line"], obj["column"], obj["namespace"], obj["apiVersion"]) == (1, 1, "shop", "v1")


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
@pytest.mark.parametrize("level", ["restricted", "baseline", "privileged"])
def test_every_workload_kind(podsec, tmp_path, kind, level):
    path = write(tmp_path, "w.yaml", workload(kind, "w", level))
    run = podsec("check", path, "-o", "json", "--level", "privileged")
    assert run.code == 0, run.err
    assert summary(run.json) == [(path, 0, None, kind, "w", level)]
    assert run.json["skipped"] == []


def _manifest_tree(tmp_path):
    """A directory with manifests of each suffix, a .txt file and a subdirectory."""
    root = tmp_path / "deploy"
    write(root, "a.yaml", pod("a"))
    write(root, "b.yml", pod("b"))
    write(root, "c.json", json.dumps(yaml.safe_load(pod("c"))))
    write(root, "notes.txt", pod("from-txt"))  # a valid manifest, but not a manifest suffix
    write(root, "README", pod("from-readme"))
    write(root, "sub/d.yaml", pod("d"))
    write(root, "sub/deeper/e.yaml", pod("e"))
    return root


def _names(data):
    return sorted(o["name"] for o in data["objects"])


def test_directory_reads_top_level_manifests_only(podsec, tmp_path):
    root = _manifest_tree(tmp_path)
    run = podsec("check", "-f", root, "-o", "json")
    assert run.code == 0, run.err
    assert _names(run.json) == ["a", "b", "c"]
    assert sorted(os.path.relpath(o["source"], root) for o in run.json["objects"]) == ["a.yaml", "b.yml", "c.json"]
    assert run.json["errors"] == [] and run.err == ""


@pytest.mark.parametrize("flag", ["-R", "--recursive"])
def test_directory_recursive(podsec, tmp_path, flag):
    root = _manifest_tree(tmp_path)
    run = podsec("check", flag, "-f", root, "-o", "json")
    assert run.code == 0, run.err
    assert _names(run.json) == ["a", "b", "c", "d", "e"]
    sources = sorted(os.path.relpath(o["source"], root) for o in run.json["objects"])
    assert sources == ["a.yaml", "b.yml", "c.json", os.path.join("sub", "d.yaml"),
                       os.path.join("sub", "deeper", "e.yaml")]


def test_positional_directory_recursive(podsec, tmp_path):
    root = _manifest_tree(tmp_path)
    run = podsec("check", "-R", root, "-o", "json")
    assert _names(run.json) == ["a", "b", "c", "d", "e"]


def test_filename_repeated_comma_separated_and_positional(podsec, tmp_path):
    a, b, c, d = (write(tmp_path, f"{n}.yaml", pod(n)) for n in "abcd")
    directory = tmp_path / "more"
    write(directory, "e.yaml", pod("e"))
    run = podsec("check", "-f", f"{a},{b}", "-f", c, d, directory, "-o", "json")
    assert run.code == 0, run.err
    assert _names(run.json) == ["a", "b", "c", "d", "e"]
    by_name = {o["name"]: o["source"] for o in run.json["objects"]}
    assert [by_name[n] for n in "abcd"] == [a, b, c, d]  # the path as given


def test_long_option_filename(podsec, tmp_path):
    path = write(tmp_path, "a.yaml", pod("a"))
    assert _names(podsec("check", "--filename", path, "-o", "json").json) == ["a"]


def test_stdin(podsec):
    run = podsec("check", "-f", "-", "-o", "json", stdin=pod("piped", "baseline").encode())
    assert run.code == 1, run.err
    assert summary(run.json) == [("-", 0, None, "Pod", "piped", "baseline")]


def test_stdin_filename_names_stdin_in_output(podsec):
    data = (pod("piped", "privileged")).encode()
    run = podsec("check", "-f", "-", "--stdin-filename", "app/web.yaml", stdin=data)
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0] == "app/web.yaml:1:1: Pod/piped: highest=privileged"
    assert lines[1].startswith("  app/web.yaml:6:3: hostNamespaces: ")  # the hostNetwork key
    json_run = podsec("check", "-f", "-", "--stdin-filename", "app/web.yaml", "-o", "json", stdin=data)
    assert json_run.json["objects"][0]["source"] == "app/web.yaml"


def test_stdin_with_files(podsec, tmp_path):
    path = write(tmp_path, "a.yaml", pod("a"))
    run = podsec("check", "-f", path, "-f", "-", "-o", "json", stdin=pod("b").encode())
    assert sorted((o["source"], o["name"]) for o in run.json["objects"]) == sorted([(path, "a"), ("-", "b")])


def test_stdin_from_terminal_is_refused(podsec):
    run = podsec("check", "-f", "-", stdin=TerminalStdin())
    assert run.code == 2
    assert run.out == ""
    assert len(run.err_lines) == 1
    assert "-f" in run.err and "terminal" in run.err


MULTI_DOC = (
    "# a comment before the first document\n"
    + pod("first")                       # document 0, line 2
    + "---\n"
    + "---\n"                            # document 1: empty
    + service("svc")                     # document 2
    + "---\n"
    + pod("second", "baseline")          # document 3
    + "...\n"
    + "---\n"
    + "# only a comment\n"               # document 4: empty
    + "---\n"
    + pod("third", "privileged")         # document 5
)


def test_multi_document_indices_count_empty_documents(podsec, tmp_path):
    path = write(tmp_path, "multi.yaml", MULTI_DOC)
    run = podsec("check", path, "-o", "json", "--level", "privileged")
    assert run.code == 0, run.err
    data = run.json
    assert summary(data) == [(path, 0, None, "Pod", "first", "restricted"),
                             (path, 3, None, "Pod", "second", "baseline"),
                             (path, 5, None, "Pod", "third", "privileged")]
    lines = MULTI_DOC.splitlines()
    for obj in data["objects"]:
        assert lines[obj["line"] - 1] == "apiVersion: v1", obj
        assert obj["column"] == 1
    assert [(s["document"], s["kind"], s["name"]) for s in data["skipped"]] == [(2, "Service", "svc")]
    assert data["errors"] == []


def test_json_file(podsec, tmp_path):
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
                "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "api"}]}}}}
    path = write(tmp_path, "api.json", json.dumps(manifest, indent=2))
    run = podsec("check", path, "-o", "json")
    assert run.code == 1
    assert summary(run.json) == [(path, 0, None, "Deployment", "api", "baseline")]
    assert run.json["objects"][0]["namespace"] == "shop"


def test_json_list_file(podsec, tmp_path):
    manifest = {"apiVersion": "v1", "kind": "List",
                "items": [yaml.safe_load(service("svc")), yaml.safe_load(pod("p", "privileged"))]}
    path = write(tmp_path, "list.json", json.dumps(manifest))
    data = podsec("check", path, "-o", "json").json
    assert summary(data) == [(path, 0, 1, "Pod", "p", "privileged")]
    assert [(s["item"], s["kind"]) for s in data["skipped"]] == [(0, "Service")]


def _list(kind: str, items: list) -> str:
    body = "".join("- " + indent(item, 2)[2:] if item else "- null\n" for item in items)
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  resourceVersion: \"\"\nitems:\n{body}"


@pytest.mark.parametrize("list_kind", ["List", "PodList", "DeploymentList", "ConfigMapList"])
def test_list_items(podsec, tmp_path, list_kind):
    items = [pod("a"), service("svc"), None, workload("Deployment", "d", "baseline"), pod("b", "privileged")]
    text = pod("before") + "---\n" + _list(list_kind, items)
    path = write(tmp_path, "list.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 1, run.err
    data = run.json
    assert summary(data) == [(path, 0, None, "Pod", "before", "restricted"),
                             (path, 1, 0, "Pod", "a", "restricted"),
                             (path, 1, 3, "Deployment", "d", "baseline"),
                             (path, 1, 4, "Pod", "b", "privileged")]
    assert [(s["document"], s["item"], s["kind"], s["name"]) for s in data["skipped"]] == [(1, 1, "Service", "svc")]
    # Each item's position is that of its own mapping, under `- `.
    lines = text.splitlines()
    for obj in data["objects"][1:]:
        assert lines[obj["line"] - 1] == "- apiVersion: " + obj["apiVersion"]
        assert obj["column"] == 3


def test_other_kinds_are_skipped_and_listed(podsec, tmp_path):
    text = (service("svc") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop\n"
            "data:\n  a: b\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n")
    path = write(tmp_path, "others.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 0, run.err
    assert run.json["objects"] == []
    skipped = run.json["skipped"]
    assert [(s["source"], s["document"], s["kind"], s["name"]) for s in skipped] == [
        (path, 0, "Service", "svc"), (path, 1, "ConfigMap", "cfg"), (path, 2, "Namespace", "shop")]
    text_run = podsec("check", path)
    assert text_run.code == 0
    assert not any(TEXT_HEADER_RE.match(line) for line in text_run.out.splitlines())


@pytest.mark.parametrize("encode", [
    lambda text: text.replace("\n", "\r\n").encode(),
    lambda text: b"\xef\xbb\xbf" + text.encode(),
], ids=["crlf", "utf8-bom"])
def test_crlf_and_byte_order_mark(podsec, tmp_path, encode):
    path = write(tmp_path, "p.yaml", encode(pod("p", "privileged") + "---\n" + pod("q")))
    run = podsec("check", path, "-o", "json")
    assert run.err == ""
    assert summary(run.json) == [(path, 0, None, "Pod", "p", "privileged"), (path, 1, None, "Pod", "q", "restricted")]
    assert [(o["line"], o["column"]) for o in run.json["objects"]] == [(1, 1), (11, 1)]
    host = _violations(run.json["objects"][0])["hostNamespaces"]
    assert (host["line"], host["column"]) == (6, 3)


@pytest.mark.parametrize("content", [b"", b"\n", b"# nothing here\n", b"---\n", b"---\n...\n", b"--- \n---\n"],
                         ids=["empty", "newline", "comment", "separator", "separator-end", "two-empty"])
def test_empty_file_is_not_an_error(podsec, tmp_path, content):
    path = write(tmp_path, "empty.yaml", content)
    run = podsec("check", path, "-o", "json")
    assert run.code == 0, run.err
    assert run.err == ""
    assert (run.json["objects"], run.json["skipped"], run.json["errors"]) == ([], [], [])
    text_run = podsec("check", path)
    assert text_run.code == 0 and text_run.err == ""


def test_empty_directory(podsec, tmp_path):
    (tmp_path / "nothing").mkdir()
    run = podsec("check", tmp_path / "nothing", "-o", "json")
    assert run.code == 0, run.err
    assert run.json["objects"] == [] and run.json["errors"] == []


# --- output formats ---------------------------------------------------------------------------


THREE_LEVELS = (pod("good", "restricted", namespace="shop") + "---\n"
                + workload("Deployment", "mid", "baseline") + "---\n"
                + pod("bad", "privileged", namespace="kube-system") + "---\n" + service("svc"))


def _three_levels(tmp_path) -> str:
    return write(tmp_path, "three.yaml", THREE_LEVELS)


def _line_of(text: str, needle: str, start: int = 1) -> int:
    """1-based number of the first line at or after `start` that equals `needle`."""
    lines = text.splitlines()
    return next(n for n in range(start, len(lines) + 1) if lines[n - 1] == needle)


def test_text_output(podsec, tmp_path):
    path = _three_levels(tmp_path)
    run = podsec("check", path)
    assert run.code == 1
    assert run.err == ""
    lines = run.out.splitlines()
    headers = [line for line in lines if TEXT_HEADER_RE.match(line)]
    mid_line = _line_of(THREE_LEVELS, "apiVersion: apps/v1")
    bad_line = _line_of(THREE_LEVELS, "apiVersion: v1", mid_line)
    host_line = _line_of(THREE_LEVELS, "  hostNetwork: true")
    assert (mid_line, bad_line, host_line) == (19, 30, 36)
    assert headers == [f"{path}:1:1: Pod/good (shop): highest=restricted",
                       f"{path}:{mid_line}:1: Deployment/mid: highest=baseline",
                       f"{path}:{bad_line}:1: Pod/bad (kube-system): highest=privileged"]
    # The privileged pod is kept from baseline by its hostNetwork key.
    bad = lines.index(headers[2])
    violation = lines[bad + 1]
    assert violation.startswith(f"  {path}:{host_line}:3: hostNamespaces: host namespaces (hostNetwork=true)"), \
        violation
    # The baseline Deployment lists the restricted checks it fails, each with a position.
    mid = lines[lines.index(headers[1]) + 1:bad]
    for check in ("allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot",
                  "seccompProfile_restricted"):
        assert any(re.match(rf"^\s+{re.escape(path)}:\d+:\d+: {check}: ", line) for line in mid), (check, mid)
    assert "\x1b[" not in run.out
    # The summary, then the next step for these findings (issue 10).
    last, *steps = lines[-3:]
    assert not TEXT_HEADER_RE.match(last)
    for count in ("3 workloads", "1 restricted", "1 baseline", "1 privileged"):
        assert count in last, last
    assert steps == [f"Next: `kubectl podsec fix --dry-run -f {path}` shows the fixes",
                     "Then: `kubectl podsec explain allowPrivilegeEscalation` explains a check"]


def test_text_is_the_default_and_explicit(podsec, tmp_path):
    path = _three_levels(tmp_path)
    assert podsec("check", path).out == podsec("check", path, "-o", "text").out


class _Terminal:
    """A stdout that says it is a terminal."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_colour_on_a_terminal_unless_no_color(podsec, tmp_path, monkeypatch):
    path = _three_levels(tmp_path)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert podsec("check", path).code == 1
    coloured = "".join(terminal.parts)
    assert "\x1b[" in coloured

    monkeypatch.setenv("NO_COLOR", "1")
    terminal.parts.clear()
    assert podsec("check", path).code == 1
    plain = "".join(terminal.parts)
    assert "\x1b[" not in plain
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_no_colour_when_piped(tmp_path):
    path = _three_levels(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    done = run_process("check", path, env=env)
    assert done.returncode == 1, done.stderr
    assert b"\x1b[" not in done.stdout
    assert f"{path}:1:1: Pod/good (shop): highest=restricted".encode() in done.stdout


OBJECT_KEYS = {"source", "document", "item", "line", "column", "apiVersion", "kind", "namespace", "name",
               "highest", "levels", "effectiveHighest", "violations"}
VIOLATION_KEYS = {"level", "check", "reason", "detail", "path", "line", "column", "field", "locations", "suppressed"}
LOCATION_KEYS = {"path", "line", "column", "field"}
ERROR_KEYS = {"source", "document", "line", "column", "message"}


def test_json_schema(podsec, tmp_path):
    path = _three_levels(tmp_path)
    bad = write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
    run = podsec("check", path, bad, "-o", "json")
    assert run.code == 2
    data = run.json
    assert list(data) == ["policyVersion", "level", "objects", "skipped", "errors"]
    assert (data["policyVersion"], data["level"]) == ("latest", "restricted")
    assert len(data["objects"]) == 3
    for obj in data["objects"]:
        assert set(obj) == OBJECT_KEYS, obj.keys()
        assert obj["item"] is None and obj["document"] in (0, 1, 2)
        assert isinstance(obj["line"], int) and isinstance(obj["column"], int)
        assert set(obj["levels"]) == {"baseline", "restricted"}
        assert all(isinstance(v, bool) for v in obj["levels"].values())
        for violation in obj["violations"]:
            assert set(violation) == VIOLATION_KEYS, violation.keys()
            assert violation["level"] in ("baseline", "restricted")
            assert all(isinstance(violation[k], str) and violation[k] for k in ("check", "reason", "detail"))
            assert violation["locations"], violation
            for location in violation["locations"]:
                assert set(location) == LOCATION_KEYS
                assert isinstance(location["line"], int) and isinstance(location["column"], int)
                assert location["field"].startswith(location["path"])
            first = violation["locations"][0]
            assert {k: violation[k] for k in LOCATION_KEYS} == first
    good, mid, worst = data["objects"]
    assert good["namespace"] == "shop" and mid["namespace"] is None
    assert (good["levels"], good["violations"]) == ({"baseline": True, "restricted": True}, [])
    assert mid["levels"] == {"baseline": True, "restricted": False}
    assert {v["level"] for v in mid["violations"]} == {"restricted"}
    assert worst["levels"] == {"baseline": False, "restricted": False}
    # An object failing baseline lists its baseline and its restricted failures.
    assert {v["level"] for v in worst["violations"]} == {"baseline", "restricted"}
    checks = [v["check"] for v in worst["violations"]]
    assert len(checks) == len(set(checks))  # each check once, at the lowest level it fails
    assert ("baseline", "hostNamespaces") in [(v["level"], v["check"]) for v in worst["violations"]]
    assert ("restricted", "runAsNonRoot") in [(v["level"], v["check"]) for v in worst["violations"]]

    (skipped,) = data["skipped"]
    assert {"source", "document", "kind", "name"} <= set(skipped)
    assert (skipped["source"], skipped["document"], skipped["kind"], skipped["name"]) == (path, 3, "Service", "svc")
    (error,) = data["errors"]
    assert set(error) == ERROR_KEYS
    assert (error["source"], error["document"]) == (bad, 0)
    assert isinstance(error["line"], int) and isinstance(error["column"], int) and error["message"]


def test_json_violation_matches_readme_example(podsec, tmp_path):
    text = textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop
        spec:
          template:
            spec:
              securityContext:
                runAsNonRoot: true
                seccompProfile:
                  type: RuntimeDefault
              containers:
                - name: web
                  image: web
                  securityContext:
                    capabilities:
                      drop: [ALL]
        """)
    path = write(tmp_path, "web.yaml", text)
    (obj,) = podsec("check", path, "-o", "json").json["objects"]
    assert obj["highest"] == "baseline"
    assert obj["violations"] == [{
        "level": "restricted", "check": "allowPrivilegeEscalation",
        "reason": "allowPrivilegeEscalation != false",
        "detail": 'container "web" must set securityContext.allowPrivilegeEscalation=false',
        "path": "spec.template.spec.containers[0].securityContext", "line": 16, "column": 11,
        "field": "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
        "locations": [{"path": "spec.template.spec.containers[0].securityContext", "line": 16, "column": 11,
                       "field": "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"}],
        "suppressed": None,
    }]


def test_yaml_output_is_the_json_data(podsec, tmp_path):
    path = _three_levels(tmp_path)
    # Names that YAML would misread if unquoted, and an error entry.
    odd = write(tmp_path, "odd.yaml", pod('"yes"') + "---\n" + service('"1.10"') + "---\n" + pod('"null"', "baseline"))
    bad = write(tmp_path, "bad.yaml", b"kind: Pod\x00")
    json_run = podsec("check", path, odd, bad, "-o", "json")
    yaml_run = podsec("check", path, odd, bad, "-o", "yaml")
    assert json_run.code == yaml_run.code == 2
    assert json_run.err == yaml_run.err
    assert yaml.safe_load(yaml_run.out) == json.loads(json_run.out)
    assert {o["name"] for o in json_run.json["objects"]} >= {"yes", "null"}


# --- positions --------------------------------------------------------------------------------

POSITIONS = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: app
      image: nginx
      securityContext:
        allowPrivilegeEscalation: true
        capabilities:
          drop: ["ALL"]
    - name: sidecar
      image: busybox
      securityContext:
        allowPrivilegeEscalation: false
"""


def _violations(obj) -> dict:
    return {v["check"]: v for v in obj["violations"]}


def test_positions_point_at_the_offending_key(podsec, tmp_path):
    path = write(tmp_path, "pos.yaml", POSITIONS)
    (obj,) = podsec("check", path, "-o", "json").json["objects"]
    found = _violations(obj)
    assert set(found) == {"allowPrivilegeEscalation", "capabilities_restricted"}
    escalation = found["allowPrivilegeEscalation"]
    assert (escalation["path"], escalation["line"], escalation["column"]) == (
        "spec.containers[0].securityContext.allowPrivilegeEscalation", 14, 9)
    assert escalation["field"] == escalation["path"]
    # The sidecar has no capabilities: the nearest existing parent is its securityContext.
    capabilities = found["capabilities_restricted"]
    assert (capabilities["path"], capabilities["line"], capabilities["column"]) == (
        "spec.containers[1].securityContext", 19, 7)
    assert capabilities["field"] == "spec.containers[1].securityContext.capabilities.drop"


BARE = """\
apiVersion: v1
kind: Pod
metadata:
  name: bare
spec:
  containers:
  - name: app
    image: nginx
"""


def test_positions_of_missing_fields_use_the_nearest_parent(podsec, tmp_path):
    path = write(tmp_path, "bare.yaml", BARE)
    (obj,) = podsec("check", path, "-o", "json").json["objects"]
    found = _violations(obj)
    run_as = found["runAsNonRoot"]["locations"]
    assert [(loc["path"], loc["line"], loc["column"], loc["field"]) for loc in run_as] == [
        ("spec", 5, 1, "spec.securityContext.runAsNonRoot"),
        ("spec.containers[0]", 7, 5, "spec.containers[0].securityContext.runAsNonRoot"),
    ]
    escalation = found["allowPrivilegeEscalation"]
    assert (escalation["path"], escalation["line"], escalation["column"]) == ("spec.containers[0]", 7, 5)


def test_positions_in_a_list_item(podsec, tmp_path):
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: svc}
        - apiVersion: v1
          kind: Pod
          metadata:
            name: web
          spec:
            containers:
            - name: app
              image: nginx
              securityContext:
                privileged: true
        """)
    path = write(tmp_path, "list.yaml", text)
    run = podsec("check", path, "-o", "json")
    (obj,) = run.json["objects"]
    assert (obj["document"], obj["item"], obj["line"], obj["column"]) == (0, 1, 7, 3)
    privileged = _violations(obj)["privileged"]
    assert (privileged["level"], privileged["path"], privileged["line"], privileged["column"]) == (
        "baseline", "spec.containers[0].securityContext.privileged", 16, 9)
    text_run = podsec("check", path)
    assert f"  {path}:16:9: privileged: privileged (" in text_run.out


def test_positions_in_json(podsec, tmp_path):
    text = ('{\n'
            '  "apiVersion": "v1",\n'
            '  "kind": "Pod",\n'
            '  "metadata": {"name": "j"},\n'
            '  "spec": {\n'
            '    "hostPID": true,\n'
            '    "containers": [{"name": "app", "image": "nginx"}]\n'
            '  }\n'
            '}\n')
    path = write(tmp_path, "pod.json", text)
    (obj,) = podsec("check", path, "-o", "json").json["objects"]
    assert (obj["line"], obj["column"], obj["highest"]) == (1, 1, "privileged")
    host = _violations(obj)["hostNamespaces"]
    assert (host["path"], host["line"], host["column"]) == ("spec.hostPID", 6, 5)
    escalation = _violations(obj)["allowPrivilegeEscalation"]
    assert (escalation["path"], escalation["line"], escalation["column"]) == ("spec.containers[0]", 7, 20)


# --- exit codes and the gate ------------------------------------------------------------------


@pytest.mark.parametrize("level, gate, code", [
    ("restricted", None, 0),
    ("baseline", None, 1),
    ("privileged", None, 1),
    ("restricted", "restricted", 0),
    ("baseline", "restricted", 1),
    ("baseline", "baseline", 0),
    ("privileged", "baseline", 1),
    ("privileged", "privileged", 0),
    ("restricted", "privileged", 0),
])
def test_gate(podsec, tmp_path, level, gate, code):
    path = write(tmp_path, "p.yaml", pod("p", level))
    args = ["check", path, "-o", "json"] + (["--level", gate] if gate else [])
    run = podsec(*args)
    assert run.code == code, run.err
    assert run.json["level"] == (gate or "restricted")
    assert run.json["objects"][0]["highest"] == level


def test_gate_counts_every_object(podsec, tmp_path):
    good = write(tmp_path, "good.yaml", pod("good"))
    mid = write(tmp_path, "mid.yaml", pod("mid", "baseline"))
    assert podsec("check", good, mid).code == 1
    assert podsec("check", good, mid, "--level", "baseline").code == 0


def test_error_exit_still_prints_results_for_readable_inputs(podsec, tmp_path):
    good = write(tmp_path, "good.yaml", pod("good"))
    missing = str(tmp_path / "missing.yaml")
    text_run = podsec("check", "-f", good, "-f", missing)
    assert text_run.code == 2
    assert f"{good}:1:1: Pod/good: highest=restricted" in text_run.out.splitlines()
    assert len(text_run.err_lines) == 1 and missing in text_run.err
    json_run = podsec("check", "-f", f"{good},{missing}", "-o", "json")
    assert json_run.code == 2
    assert _names(json_run.json) == ["good"]
    assert [e["source"] for e in json_run.json["errors"]] == [missing]
    # An error outranks a failing gate.
    mid = write(tmp_path, "mid.yaml", pod("mid", "baseline"))
    assert podsec("check", "-f", mid, "-f", missing).code == 2


def test_positional_name_that_is_no_file_among_files(podsec, tmp_path):
    # Without -f a positional argument that names no file is a cluster resource (issue 4);
    # mixed with files it is a usage error that names it.
    good = write(tmp_path, "good.yaml", pod("good"))
    missing = str(tmp_path / "missing.yaml")
    run = podsec("check", good, missing)
    assert run.code == 2
    assert missing in run.err


@pytest.mark.parametrize("argv", [
    ["check", "--level", "Restricted", "{good}"],
    ["check", "--level", "strict", "{good}"],
    ["check", "--version", "v1.01", "{good}"],
    ["check", "--version", "1.30", "{good}"],
    ["check", "--version", "v2.0", "{good}"],
    ["check", "--version", "Latest", "{good}"],
    ["check", "--bogus", "{good}"],
    ["check", "-o", "xml", "{good}"],
    ["frobnicate", "{good}"],
], ids=lambda argv: " ".join(argv) or "no-args")
def test_bad_usage_exits_2(podsec, tmp_path, argv):
    good = write(tmp_path, "good.yaml", pod("good"))
    run = podsec(*[arg.format(good=good) for arg in argv])
    assert run.code == 2
    assert run.err_lines, "a usage error says what is wrong"
    assert "highest=" not in run.out


@pytest.mark.parametrize("version", ["v1.0", "v1.25", "v1.37", "latest", "v1.99", "v1.1000"])
def test_policy_version_is_echoed(podsec, tmp_path, version):
    path = write(tmp_path, "p.yaml", pod("p", "baseline"))
    run = podsec("check", path, "--version", version, "-o", "json")
    assert run.code == 1, run.err
    assert run.json["policyVersion"] == version
    assert podsec("check", path, "--version", version).out.splitlines()[-3].endswith(f"(policy {version})")


def test_version_newer_than_known_is_evaluated_as_newest(podsec, tmp_path):
    text = "---\n".join([pod("r"), pod("b", "baseline"), pod("p", "privileged"),
                         workload("CronJob", "c", "baseline")])
    path = write(tmp_path, "p.yaml", text)
    newest = podsec("check", path, "--version", "v1.37", "-o", "json").json
    future = podsec("check", path, "--version", "v1.99", "-o", "json").json
    latest = podsec("check", path, "-o", "json").json
    assert newest["objects"] == future["objects"] == latest["objects"]


def test_program_version_and_help(podsec):
    from kubectl_podsec import __version__

    run = podsec("--version")
    assert run.code == 0
    assert __version__ in run.out + run.err
    help_run = podsec("check", "--help")
    assert help_run.code == 0
    for flag in ("-f", "-R", "--level", "--version", "-o", "--stdin-filename"):
        assert flag in help_run.out
    assert podsec("--help").code == 0


# --- values read the way Kubernetes reads them ------------------------------------------------


def _pod_with_container_sc(security_context: str) -> str:
    return (pod("p", "restricted").replace("        allowPrivilegeEscalation: false\n",
                                           "        allowPrivilegeEscalation: false\n" + security_context))


@pytest.mark.parametrize("value, highest", [
    ("yes", "privileged"), ("on", "privileged"), ("Y", "privileged"), ("TRUE", "privileged"),
    ("true", "privileged"), ("no", "restricted"), ("off", "restricted"), ("false", "restricted"),
    ("~", "restricted"), ("n", "restricted"),
])
def test_yaml_1_1_booleans(podsec, tmp_path, value, highest):
    path = write(tmp_path, "p.yaml", _pod_with_container_sc(f"        privileged: {value}\n"))
    run = podsec("check", path, "-o", "json", "--level", "privileged")
    assert run.code == 0, run.err
    assert run.json["objects"][0]["highest"] == highest
    if highest == "privileged":
        assert "privileged" in _violations(run.json["objects"][0])


@pytest.mark.parametrize("value, highest", [
    ("0x0", "baseline"), ("0", "baseline"), ("00", "baseline"), ("0o0", "baseline"), ("-0", "baseline"),
    ("0.0", "baseline"), ("1000", "restricted"), ("0x3e8", "restricted"), ("1_000", "restricted"),
])
def test_yaml_1_1_integers_for_run_as_user(podsec, tmp_path, value, highest):
    path = write(tmp_path, "p.yaml", _pod_with_container_sc(f"        runAsUser: {value}\n"))
    run = podsec("check", path, "-o", "json")
    assert run.json["objects"][0]["highest"] == highest, run.err
    if highest == "baseline":
        (violation,) = run.json["objects"][0]["violations"]
        assert (violation["check"], violation["reason"]) == ("runAsUser", "runAsUser=0")
        assert violation["line"] == 15  # the runAsUser key


def test_quoted_boolean_is_an_error(podsec, tmp_path):
    text = pod("p", "privileged").replace("hostNetwork: true", 'hostNetwork: "true"')
    path = write(tmp_path, "p.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert run.json["objects"] == []
    (error,) = run.json["errors"]
    assert (error["source"], error["line"]) == (path, 6)
    assert error["column"] in (3, 16)  # the key or the quoted value
    assert len(run.err_lines) == 1
    assert f"{path}:6:{error['column']}: " in run.err


MERGE = """\
apiVersion: v1
kind: Pod
metadata:
  name: merged
spec:
  containers:
    - name: a
      image: a
      securityContext: &shared
        privileged: true
    - name: b
      image: b
      securityContext:
        <<: *shared
{override}"""


@pytest.mark.parametrize("override, detail", [
    ("", 'containers "a", "b" must not set securityContext.privileged=true'),
    ("        privileged: false\n", 'container "a" must not set securityContext.privileged=true'),
])
def test_merge_keys_are_applied(podsec, tmp_path, override, detail):
    path = write(tmp_path, "merge.yaml", MERGE.format(override=override))
    run = podsec("check", path, "-o", "json")
    assert run.code == 1, run.err
    (obj,) = run.json["objects"]
    assert obj["highest"] == "privileged"
    assert _violations(obj)["privileged"]["detail"] == detail


def test_merge_key_list_earlier_wins(podsec, tmp_path):
    text = MERGE.format(override="").replace("<<: *shared", "<<: [{privileged: false}, *shared]")
    path = write(tmp_path, "merge.yaml", text)
    (obj,) = podsec("check", path, "-o", "json").json["objects"]
    assert _violations(obj)["privileged"]["detail"] == 'container "a" must not set securityContext.privileged=true'


def test_duplicate_keys_cannot_hide_host_network(podsec, tmp_path):
    text = pod("p", "privileged").replace("  hostNetwork: true\n", "  hostNetwork: true\n  hostNetwork: false\n")
    path = write(tmp_path, "dup.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert run.json["objects"] == []
    (error,) = run.json["errors"]
    assert (error["line"], error["column"]) == (7, 3)  # the second key
    assert "hostNetwork" in error["message"]


def test_duplicate_keys_in_a_container_are_errors(podsec, tmp_path):
    # kubectl rejects the document: `mapping key "image" already defined`.
    text = pod("p").replace("      image: nginx\n", "      image: nginx\n      image: evil\n")
    path = write(tmp_path, "dup.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert [(e["line"], e["column"]) for e in run.json["errors"]] == [(13, 7)]


@pytest.mark.parametrize("text, line, column", [
    pytest.param(pod("p") + "  nodeSelector:\n    disk: ssd\n    disk: hdd\n", 19, 5,
                 id="pod-nodeSelector"),
    pytest.param(pod("p").replace("      image: nginx\n", "      image: nginx\n      resources:\n"
                                  "        limits: {cpu: 1, cpu: 2}\n"), 14, 26,
                 id="container-resources"),
    pytest.param(service("s") + "  type: ClusterIP\n  type: NodePort\n", 9, 3,
                 id="skipped-Service"),
])
def test_duplicate_keys_anywhere_are_errors(podsec, tmp_path, text, line, column):
    # README: "duplicate keys are errors"; kubectl rejects every one of these documents.
    path = write(tmp_path, "dup.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 2
    assert [(e["line"], e["column"]) for e in run.json["errors"]] == [(line, column)]


def test_volume_without_source_is_empty_dir(podsec, tmp_path):
    text = pod("p") + "  volumes:\n    - name: scratch\n"
    path = write(tmp_path, "p.yaml", text)
    run = podsec("check", path, "-o", "json")
    assert run.code == 0, run.err
    assert run.json["objects"][0]["highest"] == "restricted"


# --- real processes ---------------------------------------------------------------------------


def test_process_reads_real_stdin(tmp_path):
    done = run_process("check", "-f", "-", "-o", "json", stdin=pod("piped", "baseline").encode())
    assert done.returncode == 1, done.stderr
    assert summary(json.loads(done.stdout)) == [("-", 0, None, "Pod", "piped", "baseline")]
    assert done.stderr == b""


def test_process_version():
    done = run_process("--version")
    assert done.returncode == 0
    assert b"kubectl-podsec" in done.stdout


def test_kubectl_plugin_discovery(kubectl, tmp_path):
    scripts = os.path.dirname(sys.executable)
    if shutil.which("kubectl-podsec", path=scripts) is None:
        pytest.skip(f"no kubectl-podsec console script in {scripts}: the package is not pip-installed "
                    "next to this interpreter (a source checkout)")
    path = write(tmp_path, "web.yaml", pod("web", "baseline", namespace="shop"))
    env = dict(os.environ, PATH=scripts + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run([kubectl, "podsec", "check", "-f", path, "-o", "json"], capture_output=True,
                          env=env, timeout=60, check=False)
    assert done.returncode == 1, done.stderr.decode()
    data = json.loads(done.stdout)
    assert summary(data) == [(path, 0, None, "Pod", "web", "baseline")]
    assert data["objects"][0]["namespace"] == "shop"
    version = subprocess.run([kubectl, "podsec", "--version"], capture_output=True, env=env, timeout=60,
                             check=False)
    assert version.returncode == 0, version.stderr.decode()
