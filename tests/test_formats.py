"""CI report formats (issue 5): SARIF 2.1.0 valid by the OASIS schema and as GitHub code
scanning reads it, JUnit XML as GitLab reads it, GitHub Actions workflow commands escaped as
the runner unescapes them. The renderers are pure functions of the model's RunResult."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from kubectl_podsec import __version__
from kubectl_podsec.checks import ALL_CHECKS
from kubectl_podsec.levels import Level, PolicyVersion
from kubectl_podsec.model import Finding, InputError, LiveFacts, Location, ObjectVerdict, RunResult, Suppression
from kubectl_podsec.reports import github as formats_github
from kubectl_podsec.reports.data import check_data
from kubectl_podsec.reports.junit import render_junit
from kubectl_podsec.reports.sarif import render_sarif
from kubectl_podsec.scan import scan
from kubectl_podsec.usecases import check_result

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)

# A Pod that fails baseline (privileged) and restricted; the line:column of each offending key.
PRIVILEGED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
"""
PRIVILEGED_AT = (11, 9)
CONTAINER_CONTEXT_AT = (10, 7)  # where restricted's missing fields belong
RESTRICTED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: ok
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: app
      image: nginx
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
"""


def data_for(specs, gate: str = "restricted", **kwargs) -> RunResult:
    return check_result(scan([str(s) for s in specs], PolicyVersion(None), **kwargs), Level.parse(gate))


def hand_made(source: str, reason: str, detail: str, errors=(), namespace: str = "ns", at=(7, 9)) -> RunResult:
    """One Pod at baseline with one restricted finding at `at` (line, column)."""
    finding = Finding(Level.RESTRICTED, "runAsNonRoot", reason, detail, (Location("spec", *at, "spec"),))
    obj = ObjectVerdict(source, 0, None, 3, 5, "v1", "Pod", namespace, "x", Level.BASELINE,
                        ((Level.BASELINE, True), (Level.RESTRICTED, False)), Level.BASELINE, (finding,))
    return RunResult("latest", Level.RESTRICTED, (obj,), (), tuple(errors))


def sarif(data: RunResult, root=".") -> dict:
    text = render_sarif(data, ALL_CHECKS, root=str(root))
    document = json.loads(text)
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    _check_uris(document)
    return document


def _check_uris(document: dict) -> None:
    """Every artifact URI is a valid URI reference (the schema's format check needs a package
    that may be missing): no spaces, no backslashes, relative ones carry %SRCROOT%."""
    text = json.dumps(document)
    for match in re.finditer(r'"artifactLocation": (\{[^}]*\})', text):
        location = json.loads(match.group(1))
        uri = location["uri"]
        assert not re.search(r"[\s\\]", uri), uri
        if urlsplit(uri).scheme:
            assert uri.startswith("file:///") and "uriBaseId" not in location
        else:
            assert location["uriBaseId"] == "%SRCROOT%" and not uri.startswith("/")


def results(document: dict) -> list:
    return document["runs"][0]["results"]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


# --- SARIF --------------------------------------------------------------------------------------


def test_sarif_fixtures_valid_and_complete(monkeypatch):
    monkeypatch.chdir(REPO)
    data = data_for(["fixtures/"])
    document = sarif(data)
    assert document["version"] == "2.1.0" and document["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(document["runs"]) == 1
    run = document["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("kubectl-podsec", __version__)
    assert driver["informationUri"] == "https://github.com/kubectl-podsec/kubectl-podsec"
    assert run["invocations"] == [{"executionSuccessful": True}]
    # One result per violation that keeps a workload from the gate (restricted: all of them).
    assert len(results(document)) == sum(len(o.findings) for o in data.objects) > 0
    for result in results(document):
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("fixtures/")
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"


def test_sarif_rules_cover_every_check():
    document = sarif(data_for([]))
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [check.id for check in ALL_CHECKS]
    assert len(rules) == 19
    for rule, check in zip(rules, ALL_CHECKS):
        title = check.doc.strip().splitlines()[0]
        assert rule["shortDescription"]["text"] == title
        standard = rule["fullDescription"]["text"]
        assert "Restricted fields" in standard and "Fix (" not in standard and title not in standard
        assert "Fix (" in rule["help"]["text"] and standard in rule["help"]["text"]
        assert f"**Fix ({check.fix_safety}):**" in rule["help"]["markdown"]
        assert rule["defaultConfiguration"] == {"level": "error"}
        properties = rule["properties"]
        assert properties["level"] == str(check.level)
        assert properties["tags"] == ["security", "pod-security"]
        assert properties["security-severity"] == {"baseline": "8.0", "restricted": "5.0"}[str(check.level)]
        float(properties["security-severity"])
        # GitHub reads markdown: the field lists stay in code blocks, not italics from `[*]`.
        assert rule["help"]["markdown"].count("```") % 2 == 0


def test_sarif_locations_for_a_hand_written_manifest(tmp_path):
    path = write(tmp_path, "deploy/app pod.yaml", PRIVILEGED_POD)
    document = sarif(data_for([path]), root=tmp_path)
    by_rule = {r["ruleId"]: r for r in results(document)}
    assert set(by_rule) == {"privileged", "allowPrivilegeEscalation", "capabilities_restricted",
                            "runAsNonRoot", "seccompProfile_restricted"}
    privileged = by_rule["privileged"]
    location = privileged["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "deploy/app%20pod.yaml", "uriBaseId": "%SRCROOT%"}
    assert unquote(location["artifactLocation"]["uri"]) == "deploy/app pod.yaml"
    assert location["region"] == {"startLine": PRIVILEGED_AT[0], "startColumn": PRIVILEGED_AT[1]}
    assert privileged["message"]["text"] == \
        'Pod/web (shop): privileged: container "app" must not set securityContext.privileged=true'
    region = by_rule["allowPrivilegeEscalation"]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == CONTAINER_CONTEXT_AT
    assert by_rule["privileged"]["properties"]["level"] == "baseline"


def test_sarif_gate_limits_results(tmp_path):
    path = write(tmp_path, "pod.yaml", PRIVILEGED_POD)
    assert [r["ruleId"] for r in results(sarif(data_for([path], "baseline"), tmp_path))] == ["privileged"]
    assert results(sarif(data_for([path], "privileged"), tmp_path)) == []


def test_sarif_fingerprints_survive_line_moves(tmp_path):
    path = write(tmp_path, "pod.yaml", PRIVILEGED_POD)
    before = results(sarif(data_for([path]), tmp_path))
    path.write_text("# a comment\n\n" + PRIVILEGED_POD.replace("kind: Pod\n", "kind: Pod\n# moved\n"), "utf-8")
    after = results(sarif(data_for([path]), tmp_path))
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after] != \
        [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in before]
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]
    fingerprints = [r["partialFingerprints"]["podsecObject/v1"] for r in after]
    assert len(set(fingerprints)) == len(fingerprints)
    assert all(re.fullmatch(r"[0-9a-f]{64}", f) for f in fingerprints)
    # Another file with the same object gets other fingerprints.
    other = results(sarif(data_for([write(tmp_path, "copy.yaml", PRIVILEGED_POD)]), tmp_path))
    assert not {r["partialFingerprints"]["podsecObject/v1"] for r in other} & set(fingerprints)


def test_sarif_related_locations_for_each_offending_field(tmp_path):
    sidecar = "    - name: sidecar\n      image: busybox\n      securityContext:\n        privileged: true\n"
    two = PRIVILEGED_POD + sidecar
    path = write(tmp_path, "pod.yaml", two)
    privileged = next(r for r in results(sarif(data_for([path]), tmp_path)) if r["ruleId"] == "privileged")
    assert privileged["locations"][0]["physicalLocation"]["region"]["startLine"] == 11
    related = privileged["relatedLocations"]
    assert [(r["physicalLocation"]["region"]["startLine"], r["message"]["text"]) for r in related] == \
        [(15, "spec.containers[1].securityContext.privileged")]


def test_sarif_parse_errors_are_notifications(tmp_path):
    write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    write(tmp_path, "good.yaml", RESTRICTED_POD)
    document = sarif(data_for([tmp_path]), tmp_path)
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error" and notification["message"]["text"]
    location = notification["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "bad.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] >= 3
    assert results(document) == []


def test_sarif_stdin_named_and_unnamed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    named = data_for(["-"], stdin=io.BytesIO(PRIVILEGED_POD.encode()), stdin_name="k8s/pod.yaml")
    location = results(sarif(named))[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "k8s/pod.yaml"
    assert location["region"]["startLine"] == PRIVILEGED_AT[0]
    unnamed = data_for(["-"], stdin=io.BytesIO(PRIVILEGED_POD.encode()))
    for result in results(sarif(unnamed)):
        assert "physicalLocation" not in result["locations"][0]
        assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "shop/Pod/web"


def test_sarif_outside_root_is_an_absolute_uri(tmp_path):
    path = write(tmp_path, "elsewhere/pod.yaml", PRIVILEGED_POD)
    location = results(sarif(data_for([path]), tmp_path / "repo"))[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": path.as_uri()}


def live_data(tmp_path) -> RunResult:
    """What `check TYPE/NAME` reports: source "cluster", no document, no positions."""
    data = data_for([write(tmp_path, "pod.yaml", PRIVILEGED_POD)])
    objects = tuple(replace(
        obj, source="cluster", document=None, line=None, column=None, live=LiveFacts(None, 1),
        findings=tuple(replace(f, locations=tuple(replace(loc, line=None, column=None) for loc in f.locations))
                       for f in obj.findings)) for obj in data.objects)
    errors = (InputError("cluster", None, None, None, 'deployments.apps is forbidden: User "dev" cannot list resource'),)
    return replace(data, objects=objects, errors=errors)


def test_sarif_live_objects_get_logical_locations(tmp_path):
    document = sarif(live_data(tmp_path))
    assert len(results(document)) == 5
    for result in results(document):
        [location] = result["locations"]
        assert location == {"logicalLocations": [
            {"name": "Pod/web", "fullyQualifiedName": "shop/Pod/web", "kind": "resource"}]}
    [notification] = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "locations" not in notification
    assert notification["message"]["text"].startswith("cluster: deployments.apps is forbidden")


# --- JUnit --------------------------------------------------------------------------------------


def junit(data: RunResult) -> ET.Element:
    text = render_junit(data)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_junit_fixtures(monkeypatch):
    monkeypatch.chdir(REPO)
    data = data_for(["fixtures/"])
    root = junit(data)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    sources = sorted({o.source for o in data.objects} | {s.source for s in data.skipped})
    assert sorted(s.get("name") for s in suites) == sources
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(data.objects) == int(root.get("tests"))
    failing = [o for o in data.objects if o.highest != Level.RESTRICTED]
    assert int(root.get("failures")) == len(failing) == sum(int(s.get("failures")) for s in suites)
    assert len(root.findall(".//failure")) == sum(len(o.findings) for o in data.objects)
    for suite in suites:
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == sum(1 for c in suite.findall("testcase") if c.find("failure") is not None)
        assert suite.get("errors") == "0"
    # GitLab keys test cases by classname + name: they must be unique.
    keys = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(keys) == len(set(keys))


def test_junit_testcase_and_failure(tmp_path):
    path = write(tmp_path, "pod.yaml", PRIVILEGED_POD)
    ok = write(tmp_path, "ok.yaml", RESTRICTED_POD)
    root = junit(data_for([path, ok], "baseline"))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    suite = root.find(f"testsuite[@name='{path}']")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    [case] = suite.findall("testcase")
    assert (case.get("classname"), case.get("name"), case.get("file")) == (str(path), "Pod/web (shop)", str(path))
    [failure] = case.findall("failure")  # the gate is baseline: the restricted ones do not fail it
    assert failure.get("message") == "privileged: privileged"
    assert 'container "app" must not set securityContext.privileged=true' in failure.text
    assert "spec.containers[0].securityContext.privileged" in failure.text
    assert f"{path}:{PRIVILEGED_AT[0]}:{PRIVILEGED_AT[1]}" in failure.text
    passing = root.find(f"testsuite[@name='{ok}']/testcase")
    assert passing.get("name") == "Pod/ok" and len(passing) == 0


def test_junit_errors_and_duplicate_names(tmp_path):
    write(tmp_path, "bad.yaml", "kind: Pod\nmetadata: {name: [\n")
    twice = write(tmp_path, "twice.yaml", PRIVILEGED_POD + "---\n" + PRIVILEGED_POD)
    root = junit(data_for([tmp_path]))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "1")
    bad = root.find(f"testsuite[@name='{tmp_path / 'bad.yaml'}']")
    assert (bad.get("tests"), bad.get("failures"), bad.get("errors")) == ("1", "0", "1")
    error = bad.find("testcase/error")
    assert error.get("message") and str(tmp_path / "bad.yaml") in error.text
    names = [c.get("name") for c in root.findall(f"testsuite[@name='{twice}']/testcase")]
    assert names == ["Pod/web (shop)", "Pod/web (shop) [document 1]"]


def test_junit_live_objects(tmp_path):
    root = junit(live_data(tmp_path))
    [suite] = root.findall("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == \
        ("cluster", "2", "1", "1")
    assert all(case.get("file") is None for case in suite.findall("testcase"))


def test_junit_escapes_markup():
    data = hand_made("a&b<c>.yaml", 'r "<&>"', "d ]]> \u00e9", namespace="", at=(2, 3))
    root = junit(data)
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("message") == 'runAsNonRoot: r "<&>"'
    assert "d ]]> \u00e9" in failure.text and "a&b<c>.yaml:2:3" in failure.text


def test_junit_control_characters_from_json(tmp_path):
    """JSON can spell characters that XML 1.0 cannot carry: they become U+FFFD."""
    container = {"name": "a\u0001b", "image": "nginx", "securityContext": {"privileged": True}}
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [container]}}
    path = write(tmp_path, "pod.json", json.dumps(manifest))
    data = data_for([path], "baseline")
    assert "\x01" in data.objects[0].findings[0].detail
    failure = junit(data).find("testsuite/testcase/failure")
    assert failure.text.startswith('container "a\ufffdb" must not set')


# --- GitHub workflow commands ---------------------------------------------------------------------

COMMAND_RE = re.compile(r"^::(?P<command>\w+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def _unescape(text: str) -> str:
    """The runner's unescaping (actions/runner ActionCommand.Unescape)."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_command(line: str) -> tuple:
    match = COMMAND_RE.match(line)
    assert match, line
    props = {}
    for part in (match.group("props") or "").split(","):
        if part:
            key, _, value = part.partition("=")
            props[key] = _unescape(value)
    return match.group("command"), props, _unescape(match.group("message"))


def test_github_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "k8s/pod.yaml", PRIVILEGED_POD)
    text = formats_github.render_github(data_for(["k8s/pod.yaml"], "baseline"))
    assert text == ("::error file=k8s/pod.yaml,line=11,col=9,title=podsec privileged::Pod/web (shop): "
                    'privileged (container "app" must not set securityContext.privileged=true)\n')
    assert len(formats_github.render_github(data_for(["k8s/pod.yaml"])).splitlines()) == 5
    assert formats_github.render_github(data_for(["k8s/pod.yaml"], "privileged")) == ""
    # An absolute path inside the root is given relative to it.
    absolute = formats_github.render_github(data_for([tmp_path / "k8s" / "pod.yaml"], "baseline"))
    assert absolute.startswith("::error file=k8s/pod.yaml,")


def test_github_escaping():
    detail = 'container "a,b" must: 100% \r\nnot'
    data = hand_made("dir/we,ird:name%.yaml", "r:1,2", detail, errors=(
        InputError("bad:1,x.yaml", 0, 2, 4, "bad\nvalue: 50%"), InputError("cluster", None, None, None, "forbidden")))
    lines = formats_github.render_github(data).splitlines()
    assert lines[0] == ("::error file=dir/we%2Cird%3Aname%25.yaml,line=7,col=9,title=podsec runAsNonRoot::"
                        'Pod/x (ns): r:1,2 (container "a,b" must: 100%25 %0D%0Anot)')
    command, props, message = parse_command(lines[0])
    assert command == "error"
    assert props == {"file": "dir/we,ird:name%.yaml", "line": "7", "col": "9", "title": "podsec runAsNonRoot"}
    assert message == f"Pod/x (ns): r:1,2 ({detail})"
    assert parse_command(lines[1]) == ("error", {"file": "bad:1,x.yaml", "line": "2", "col": "4",
                                                 "title": "podsec input error"}, "bad\nvalue: 50%")
    assert lines[2] == "::error title=podsec input error::cluster: forbidden"
    assert len(lines) == 3


def test_github_live_objects_have_no_file(tmp_path):
    lines = formats_github.render_github(live_data(tmp_path)).splitlines()
    assert len(lines) == 6
    for line in lines:
        _, props, _ = parse_command(line)
        assert set(props) == {"title"}
    assert lines[0].startswith("::error title=podsec privileged::Pod/web (shop): privileged (")


def test_escape_functions():
    assert formats_github.escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert formats_github.escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"


def suppressed_data(tmp_path) -> RunResult:
    """The privileged Pod at baseline, its one violation suppressed by an exemption."""
    data = data_for([write(tmp_path, "pod.yaml", PRIVILEGED_POD)], "baseline")
    [obj] = data.objects
    [violation] = [f for f in obj.findings if f.level == Level.BASELINE]
    suppressed = replace(violation, suppressed=Suppression("exemption", "debug pod, INC-42"))
    findings = tuple(suppressed if f is violation else f for f in obj.findings)
    return replace(data, objects=(replace(obj, findings=findings),))


def test_suppressed_violations_stay_visible_without_failing(tmp_path):
    data = suppressed_data(tmp_path)
    [result] = results(sarif(data, tmp_path))
    assert result["ruleId"] == "privileged"
    assert result["suppressions"] == [{"kind": "external", "status": "accepted",
                                       "justification": "suppressed by exemption: debug pod, INC-42"}]
    root = junit(data)
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    case = root.find("testsuite/testcase")
    assert case.find("failure") is None
    assert case.find("system-out").text.startswith("privileged: privileged (container")
    [line] = formats_github.render_github(data, root=str(tmp_path)).splitlines()
    assert line.startswith("::notice file=pod.yaml,line=11,col=9,title=podsec privileged (suppressed)::Pod/web")
    assert line.endswith("; suppressed by exemption: debug pod, INC-42")


@pytest.mark.parametrize("render", [lambda d: render_sarif(d, ALL_CHECKS), render_junit,
                                    formats_github.render_github])
def test_renderers_do_not_change_the_data(render, tmp_path):
    data = data_for([write(tmp_path, "pod.yaml", PRIVILEGED_POD)])
    before = json.dumps(check_data(data), sort_keys=True)
    render(data)
    assert json.dumps(check_data(data), sort_keys=True) == before
