"""Shared helpers for the CLI tests: small manifests at each level and a way to run
`kubectl_podsec.cli.main` with captured output and a fake stdin."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kubectl_podsec.cli import main

REPO = Path(__file__).resolve().parent.parent

# Pod specs at each level, indented for a Pod (2 spaces under `spec:`).
RESTRICTED_SPEC = """\
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
"""
# No securityContext at all: baseline passes, restricted does not.
BASELINE_SPEC = """\
  containers:
    - name: app
      image: nginx
"""
# Host network: fails baseline, so the highest level is privileged.
PRIVILEGED_SPEC = "  hostNetwork: true\n" + BASELINE_SPEC

SPECS = {"restricted": RESTRICTED_SPEC, "baseline": BASELINE_SPEC, "privileged": PRIVILEGED_SPEC}


def pod(name: str = "web", level: str = "restricted", namespace: str = "") -> str:
    """A Pod manifest whose highest level is `level`."""
    ns = f"  namespace: {namespace}\n" if namespace else ""
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n{ns}spec:\n{SPECS[level]}"


def indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(True))


# Where each workload kind keeps its pod template: (apiVersion, YAML down to the template).
TEMPLATES = {
    "PodTemplate": ("v1", "template:\n", 2),
    "ReplicationController": ("v1", "spec:\n  template:\n", 4),
    "ReplicaSet": ("apps/v1", "spec:\n  template:\n", 4),
    "Deployment": ("apps/v1", "spec:\n  template:\n", 4),
    "StatefulSet": ("apps/v1", "spec:\n  template:\n", 4),
    "DaemonSet": ("apps/v1", "spec:\n  template:\n", 4),
    "Job": ("batch/v1", "spec:\n  template:\n", 4),
    "CronJob": ("batch/v1", "spec:\n  jobTemplate:\n    spec:\n      template:\n", 8),
}
WORKLOAD_KINDS = ["Pod", *TEMPLATES]


def workload(kind: str, name: str = "web", level: str = "restricted") -> str:
    """A manifest of `kind` whose pod template is at `level`."""
    if kind == "Pod":
        return pod(name, level)
    api_version, lead, depth = TEMPLATES[kind]
    template = "spec:\n" + SPECS[level]
    return (f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n"
            + lead + indent(template, depth))


def service(name: str = "web") -> str:
    return (f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n"
            "spec:\n  ports:\n    - port: 80\n")


def write(directory: Path, name: str, content) -> str:
    """Write text or bytes to directory/name (creating parents); return the path as a str."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return str(path)


class FakeStdin:
    """What `main` reads from: `sys.stdin.buffer`, and `isatty()` to refuse terminals."""

    def __init__(self, data: bytes = b"", tty: bool = False):
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty

    def close(self) -> None:  # a forked worker of the parallel path closes its stdin
        pass


class TerminalStdin(FakeStdin):
    """A terminal: reading from it would block, so reading fails the test."""

    def __init__(self):
        super().__init__(tty=True)
        self.buffer = self

    def read(self, *args):
        raise AssertionError("read from an interactive terminal")


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)

    @property
    def err_lines(self) -> list:
        return [line for line in self.err.splitlines() if line.strip()]


def cli_runner(capsys, monkeypatch):
    """A `podsec(*argv, stdin=b"...") -> Run` that calls cli.main with captured output; test
    modules wrap it in a `podsec` fixture."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Arguments that name no file are cluster resources: never reach a real cluster from here.
    monkeypatch.setenv("KUBECTL", os.path.join(os.sep, "nonexistent", "kubectl-for-tests"))

    def run(*argv, stdin=None) -> Run:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", stdin if isinstance(stdin, FakeStdin) else FakeStdin(stdin))
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        return Run(code, out, err)

    return run


def run_process(*argv, stdin: bytes = b"", env=None, timeout: float = 30) -> subprocess.CompletedProcess:
    """`python -m kubectl_podsec ...` as a real process (stdout and stderr are pipes)."""
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "kubectl_podsec", *map(str, argv)], input=stdin,
                          capture_output=True, env=environment, timeout=timeout, check=False)
