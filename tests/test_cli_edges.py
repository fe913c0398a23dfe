"""Issue 10, "CLI" and item 7: the sharp edges a kubectl user meets, each as users meet it
(cli.main, or a real process where the terminal, the environment or kubectl matter)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess

import pytest
from cli_helpers import TerminalStdin, cli_runner, pod, run_process, write

from kubectl_podsec import cluster
from kubectl_podsec.cli import build_parser
from kubectl_podsec.cluster import Kubectl
from kubectl_podsec.reports import terminal as terminal_colour


@pytest.fixture
def podsec(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    return cli_runner(capsys, monkeypatch)


# --- item 7: timeouts and pages ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", "x", "1.5"])
def test_chunk_size_must_be_a_positive_integer(podsec, value):
    run = podsec("check", "-A", f"--chunk-size={value}")
    assert run.code == 2 and run.out == ""
    assert "--chunk-size: must be a positive integer" in run.err


def test_a_listing_is_bounded_per_request_not_as_a_whole(monkeypatch):
    """kubectl's --request-timeout bounds each request; a paged listing (428 pages at about 5
    requests/s took 85 s) gets no overall deadline that would kill it while it progresses.
    A single-request run (version) keeps a last-resort bound."""
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs.get("timeout")))
        return subprocess.CompletedProcess(argv, 0, b'{"kind": "List", "items": []}', b"")

    monkeypatch.setattr(subprocess, "run", fake_run)
    kubectl = Kubectl("kubectl", all_namespaces=True, request_timeout="1s", chunk_size=5)
    kubectl.get(["pods"])
    (argv, timeout), = calls
    assert timeout is None
    assert "--request-timeout=1s" in argv and "--chunk-size=5" in argv
    calls.clear()
    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: calls.append(kw["timeout"]) or
                        subprocess.CompletedProcess(argv, 0, b'{"serverVersion": {"minor": "36"}}', b""))
    assert kubectl.server_minor() == 36 and calls == [30.0]


@pytest.mark.parametrize("version, minor", [
    ({"minor": "36"}, 36), ({"minor": "27+"}, 27),  # GKE and EKS append a `+`
    ({"minor": ""}, None), ({"minor": "+"}, None), ({"minor": None}, None), ({"minor": 36}, None), ({}, None),
])
def test_a_server_minor_that_is_not_a_number_is_no_version(monkeypatch, version, minor):
    """`latest` then means the newest rules we know, not a traceback."""
    body = json.dumps({"serverVersion": version}).encode()
    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: subprocess.CompletedProcess(argv, 0, body, b""))
    assert Kubectl("kubectl").server_minor() == minor


def test_an_owner_reference_without_a_kind_ends_the_walk_up_the_owners(monkeypatch):
    """The API server requires a kind in every ownerReference; something else answering as one may
    leave it out: the walk stops there (it raised AttributeError on None.lower())."""
    replica_set = {"kind": "ReplicaSet", "apiVersion": "apps/v1",
                   "metadata": {"name": "web-1", "namespace": "shop",
                                "ownerReferences": [{"name": "web", "controller": True}]}}
    gets = []

    def fake_run(argv, **kwargs):
        gets.append(argv[1:3])
        return subprocess.CompletedProcess(argv, 0, json.dumps(replica_set).encode(), b"")

    monkeypatch.setattr(subprocess, "run", fake_run)
    kubectl = Kubectl("kubectl")
    pod = {"kind": "Pod", "metadata": {"name": "web-1-x", "namespace": "shop", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "controller": True}]}}
    assert cluster.managing_owner(kubectl, pod) == ("ReplicaSet", "web-1")
    assert gets == [["get", "replicaset.apps/web-1"]]
    assert cluster.managing_owner(kubectl, replica_set) is None


# --- a missing path among paths -------------------------------------------------------------------


def test_a_missing_path_without_f_is_one_error_among_the_results(podsec, tmp_path):
    write(tmp_path, "a.yaml", pod("a", "baseline"))
    run = podsec("check", "a.yaml", "nope.yaml", "-o", "sarif")
    assert run.code == 2
    assert run.err_lines == ["error: nope.yaml: no such file or directory"]
    sarif = json.loads(run.out)  # still written, so that an upload does not fail
    (results,) = [r["results"] for r in sarif["runs"]]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {"a.yaml"}
    (notification,) = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert "no such file" in notification["message"]["text"]
    text = podsec("check", "nope.yaml", "a.yaml")
    assert text.code == 2 and "Pod/a" in text.out


@pytest.mark.parametrize("argument", ["nope.yaml", "app.YML", "x.json", "./nope", "manifests/app/web"])
def test_an_argument_that_looks_like_a_file_gets_no_such_file(podsec, argument):
    """Not kubectl's "connection to the server localhost:8080 was refused": it never runs."""
    run = podsec("check", argument)
    assert run.code == 2
    assert run.err_lines == [f"error: {argument}: no such file or directory"]
    assert "kubectl" not in run.err


def test_type_slash_name_is_still_a_resource(podsec):
    run = podsec("check", "deploy/web")  # KUBECTL points at a kubectl that does not exist
    assert run.code == 2 and "kubectl not found" in run.err


# --- help -----------------------------------------------------------------------------------------


def test_bare_command_prints_help(podsec):
    run = podsec()
    assert run.code == 0 and run.err == ""
    assert run.out.startswith("usage: kubectl podsec") and "check" in run.out and "namespaces" in run.out
    process = run_process()
    assert process.returncode == 0 and process.stdout.decode().startswith("usage: kubectl podsec")


def _subparsers(parser):
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_every_flag_and_argument_has_help():
    parser = build_parser()
    missing = [f"{name}: {action.option_strings or action.dest}"
               for name, sub in [("", parser)] + list(_subparsers(parser).items())
               for action in sub._actions
               if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip()]
    assert missing == []


def test_help_texts(podsec):
    check = podsec("check", "--help").out
    assert "--level {privileged,baseline,restricted}" in check
    assert "--color {auto,always,never}" in check
    explain = podsec("explain", "--help").out
    assert "Without CHECK: a table of every check" in explain and "a check id" in explain
    namespaces = podsec("namespaces", "--help").out
    assert "the namespaces to summarise" in namespaces
    assert "policy version for the HIGHEST column" in namespaces
    assert "-f" not in namespaces.replace("--field-selector", "")  # no "-f" heading: it has no -f
    assert "-n NS, --namespace NS" in namespaces


@pytest.mark.parametrize("command", ["check", "fix"])
def test_the_terminal_stdin_refusal_names_the_command(podsec, command):
    run = podsec(command, "-f", "-", stdin=TerminalStdin())
    assert run.code == 2
    assert f"cat app.yaml | kubectl podsec {command} -f -" in run.err


# --- output text ----------------------------------------------------------------------------------


def test_singular_counts(podsec, tmp_path):
    write(tmp_path, "a.yaml", pod("a", "baseline") + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n")
    write(tmp_path, "bad.yaml", "kind: [\n")
    run = podsec("check", "a.yaml", "bad.yaml")
    summary = next(line for line in run.out.splitlines() if line.startswith("1 workload"))
    assert summary.startswith("1 workload: 0 restricted, 1 baseline, 0 privileged; 1 below restricted; "
                              "1 other object skipped; 1 error (policy latest)")


def test_text_ends_with_the_next_step_only_when_something_fails(podsec, tmp_path):
    write(tmp_path, "a.yaml", pod("a", "baseline"))
    failing = podsec("check", "a.yaml").out.splitlines()
    assert failing[-2:] == ["Next: `kubectl podsec fix --dry-run -f a.yaml` shows the fixes",
                            "Then: `kubectl podsec explain allowPrivilegeEscalation` explains a check"]
    at_baseline = podsec("check", "a.yaml", "--level", "baseline").out.splitlines()
    assert not any(line.startswith(("Next:", "Then:")) for line in at_baseline)
    write(tmp_path, "b.yaml", pod("b", "privileged"))
    gate = podsec("check", "b.yaml", "--level", "baseline").out.splitlines()
    assert gate[-2:] == ["Next: `kubectl podsec fix --dry-run --level baseline -f b.yaml` shows the fixes",
                         "Then: `kubectl podsec explain hostNamespaces` explains a check"]


# --- colour ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, env, coloured", [
    ("always", {}, True), ("never", {"FORCE_COLOR": "1"}, False), ("auto", {}, False),
    ("auto", {"FORCE_COLOR": "1"}, True), ("auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ("always", {"NO_COLOR": "1", "TERM": "dumb"}, True),
])
def test_colour_flag_and_environment(tmp_path, flag, env, coloured):
    """A pipe (as here) is not a terminal: auto is off unless FORCE_COLOR says otherwise."""
    write(tmp_path, "a.yaml", pod("a", "privileged"))
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    environment.update(env)
    process = run_process("check", tmp_path / "a.yaml", "--color", flag, env=environment)
    assert ("\x1b[" in process.stdout.decode()) is coloured


@pytest.mark.parametrize("env, coloured", [({}, True), ({"TERM": "dumb"}, False), ({"NO_COLOR": "1"}, False),
                                           ({"TERM": "dumb", "FORCE_COLOR": "1"}, True)])
def test_colour_on_a_terminal(monkeypatch, env, coloured):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    terminal = type("Terminal", (), {"isatty": lambda self: True})()
    assert terminal_colour.wants_colour(terminal) is coloured


# --- -k -------------------------------------------------------------------------------------------


def test_two_kustomizations_are_both_checked(podsec, kubectl, tmp_path):
    for name, level in (("one", "privileged"), ("two", "baseline")):
        write(tmp_path / name, "pod.yaml", pod(name, level))
        write(tmp_path / name, "kustomization.yaml", "resources:\n  - pod.yaml\n")
    run = podsec("check", "-k", "one", "-k", "two", "--kubectl", kubectl, "-o", "json")
    assert [(o["source"], o["name"]) for o in run.json["objects"]] == [("kustomize:one", "one"),
                                                                        ("kustomize:two", "two")]
    sarif = json.loads(podsec("check", "-k", "one", "-k", "two", "--kubectl", kubectl, "-o", "sarif").out)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"one/", "two/"}  # the directories, as relative URIs; no kustomize%3A
    assert all("region" not in r["locations"][0]["physicalLocation"] for r in sarif["runs"][0]["results"])


def test_klog_noise_is_trimmed_from_kustomize_errors(podsec, kubectl, tmp_path):
    write(tmp_path / "bad", "kustomization.yaml", "resources:\n  - nope.yaml\n")
    run = podsec("check", "-k", "bad", "--kubectl", kubectl)
    assert run.code == 2 and len(run.err_lines) == 1
    assert run.err_lines[0].startswith("error: bad: kubectl kustomize bad: accumulating resources")
    assert "run.go" not in run.err and '"command failed"' not in run.err
    assert not re.search(r"\bE\d{4} \d\d:\d\d", run.err)


# --- namespaces without a cluster ------------------------------------------------------------------


def test_namespaces_without_a_cluster_prints_nothing_on_stdout(podsec):
    run = podsec("namespaces")  # KUBECTL points at a kubectl that does not exist
    assert run.code == 2 and run.out == ""
    assert run.err_lines == [line for line in run.err_lines if line.startswith("error: ")] and run.err_lines


def test_an_unknown_flag_is_reported_with_the_subcommands_usage(capsys):
    """Found by using the tool: `check --bogus` printed the top-level usage."""
    from kubectl_podsec.cli import main

    assert main(["check", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: kubectl podsec check ")
    assert err.rstrip().endswith("kubectl podsec check: error: unrecognized arguments: --bogus")
