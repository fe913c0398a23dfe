"""krew packaging (issue 5): plugin.yaml valid by krew's rules, a reproducible release archive
holding a self-contained zipapp, and that zipapp run through kubectl's plugin discovery with
nothing but the unpacked archive, kubectl and a bare python3 on PATH."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from kubectl_podsec import __version__

REPO = Path(__file__).resolve().parent.parent
RELEASE = REPO / "scripts" / "release.py"
ARCHIVE = f"kubectl-podsec-v{__version__}.tar.gz"
# krew's validation (internal/index/validation and cmd/validate-krew-manifest).
SEMVER = re.compile(r"v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
KREW_PLATFORMS = [(os_, arch) for os_ in ("linux", "darwin", "windows") for arch in ("386", "amd64", "arm", "arm64")]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((REPO / "plugin.yaml").read_text("utf-8"))


def _short_lines(text: str, limit: int) -> bool:
    # krew warns about longer lines, unless a line is one word.
    return all(len(line) <= limit or " " not in line.strip() for line in text.split("\n"))


def test_plugin_manifest(manifest):
    assert manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2"
    assert manifest["kind"] == "Plugin"
    assert manifest["metadata"]["name"] == "podsec" and re.fullmatch(r"[\w-]+", manifest["metadata"]["name"])
    spec = manifest["spec"]
    assert spec["version"] == f"v{__version__}" and SEMVER.fullmatch(spec["version"])
    assert spec["homepage"].startswith("https://")
    short = spec["shortDescription"]
    assert short and "\n" not in short and "\r" not in short and len(short) <= 70
    assert spec["description"].strip() and _short_lines(spec["description"], 80)
    caveats = spec["caveats"]
    assert "python3" in caveats and "3.9" in caveats and _short_lines(caveats, 80)
    platforms = spec["platforms"]
    assert platforms
    selected = []
    for platform in platforms:
        selector = platform["selector"]
        assert list(selector) == ["matchLabels"], "os/arch matchLabels only"
        labels = selector["matchLabels"]
        assert labels and set(labels) <= {"os", "arch"}
        matches = [p for p in KREW_PLATFORMS if all(dict(zip(("os", "arch"), p))[k] == v for k, v in labels.items())]
        assert matches, f"{labels} matches no platform krew knows"
        selected += matches
        assert platform["uri"] == ("https://github.com/kubectl-podsec/kubectl-podsec/releases/download/"
                                   f"v{__version__}/{ARCHIVE}")
        # A string (quoted: 64 digits would read as a number), lowercase hex, and set.
        assert isinstance(platform["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", platform["sha256"])
        assert set(platform["sha256"]) != {"0"}, "run scripts/release.py to set the checksum"
        assert platform["bin"] == "kubectl-podsec"
        files = platform["files"]
        assert all(f["from"] and f["to"] for f in files)
        assert {f["from"] for f in files} >= {"kubectl-podsec", "LICENSE"}
    assert len(selected) == len(set(selected)), "overlapping selectors"
    assert sorted(selected) == [("darwin", "amd64"), ("darwin", "arm64"), ("linux", "amd64"), ("linux", "arm64")]
    assert len({p["sha256"] for p in platforms}) == 1 and len({p["uri"] for p in platforms}) == 1


def build(out: Path, *extra) -> Path:
    run = subprocess.run([sys.executable, str(RELEASE), "--out", str(out), *extra],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    return out / ARCHIVE


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("dist"), "--no-write-sha")


def test_archive_layout(archive):
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["LICENSE", "kubectl-podsec"]
        for member in members:
            assert member.isfile() and (member.mtime, member.uid, member.gid, member.uname, member.gname) == \
                (0, 0, 0, "", "")
        assert [m.mode for m in members] == [0o644, 0o755]
        assert tar.extractfile("LICENSE").read() == (REPO / "LICENSE").read_bytes()
        app = tar.extractfile("kubectl-podsec").read()
    assert app.startswith(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(io.BytesIO(app)) as unzip:
        names = unzip.namelist()
        main = unzip.read("__main__.py").decode()
    assert names == sorted(names)
    package = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "kubectl_podsec").rglob("*.py")
                     if "__pycache__" not in p.parts)
    assert [n for n in names if n.startswith("kubectl_podsec/")] == package
    assert {"yaml/__init__.py", "yaml/composer.py", "yaml/cyaml.py", "colorama/__init__.py"} <= set(names)
    assert any(n.startswith("licenses/PyYAML-") for n in names)
    assert any(n.startswith("licenses/colorama-") for n in names)
    # Nothing compiled: an extension cannot load from a zip, bytecode is version-specific.
    assert not [n for n in names if re.search(r"\.(so|pyd|pyc|dll|dylib)$|__pycache__|/tests?/", n)]
    assert "from kubectl_podsec.cli import run" in main


def test_archive_is_reproducible(archive, tmp_path):
    assert build(tmp_path, "--no-write-sha").read_bytes() == archive.read_bytes()


def test_write_sha_edits_only_the_sha_lines(archive, tmp_path):
    manifest = tmp_path / "plugin.yaml"
    original = re.sub(r'sha256: "[0-9a-f]{64}"', 'sha256: "' + "0" * 64 + '"',
                      (REPO / "plugin.yaml").read_text("utf-8"))
    manifest.write_text(original, "utf-8")
    build(tmp_path / "dist", "--manifest", str(manifest))
    import hashlib

    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    before, after = original.splitlines(), manifest.read_text("utf-8").splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(changed) == 4 and all(re.fullmatch(r'\s*sha256: "[0-9a-f]{64}"', b) for _, b in changed)
    assert {p["sha256"] for p in yaml.safe_load(manifest.read_text("utf-8"))["spec"]["platforms"]} == {sha}


def test_release_refuses_a_manifest_of_another_version(tmp_path):
    manifest = tmp_path / "plugin.yaml"
    manifest.write_text((REPO / "plugin.yaml").read_text("utf-8").replace(f'"v{__version__}"', '"v9.9.9"'), "utf-8")
    run = subprocess.run([sys.executable, str(RELEASE), "--out", str(tmp_path), "--manifest", str(manifest)],
                         capture_output=True, text=True, check=False)
    assert run.returncode != 0 and "spec.version" in run.stderr
    assert not (tmp_path / ARCHIVE).exists()


@pytest.fixture
def installed(archive, tmp_path, kubectl):
    """The archive unpacked as krew would, and a minimal environment: PATH holds that directory
    and one of kubectl and python3 only; no virtualenv, no site-packages, no user settings."""
    plugin_dir, tools, home = tmp_path / "plugin", tmp_path / "tools", tmp_path / "home"
    for directory in (plugin_dir, tools, home):
        directory.mkdir()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():  # krew keeps the modes it finds
            (plugin_dir / member.name).write_bytes(tar.extractfile(member).read())
            os.chmod(plugin_dir / member.name, member.mode)
    (tools / "kubectl").symlink_to(kubectl)
    # The interpreter itself, not a virtualenv's python (whose pyvenv.cfg would bring the
    # venv's packages), run with -I -S: no site-packages at all, so every import must come
    # from the zipapp or the standard library.
    python = os.path.realpath(sys.executable)
    (tools / "python3").write_text(f'#!/bin/sh\nexec "{python}" -I -S "$@"\n')
    (tools / "python3").chmod(0o755)
    env = {"PATH": f"{plugin_dir}{os.pathsep}{tools}", "HOME": str(home), "PYTHONNOUSERSITE": "1",
           "PYTHONPATH": "", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return plugin_dir, env


def run_kubectl(env: dict, cwd: Path, *args) -> subprocess.CompletedProcess:
    # subprocess looks `kubectl` up in env's PATH: the one in tools/.
    return subprocess.run(["kubectl", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_plugin_runs_through_kubectl_discovery(installed, tmp_path):
    plugin_dir, env = installed
    listing = run_kubectl(env, tmp_path, "plugin", "list")
    assert str(plugin_dir / "kubectl-podsec") in listing.stdout, listing.stdout + listing.stderr

    version = run_kubectl(env, tmp_path, "podsec", "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"kubectl-podsec {__version__}"), version.stderr

    check = run_kubectl(env, tmp_path, "podsec", "check", "-f", str(REPO / "fixtures"), "--level", "privileged",
                        "-o", "json")
    assert check.returncode == 0, check.stderr
    data = json.loads(check.stdout)
    assert len(data["objects"]) >= 9 and data["errors"] == []
    assert {obj["highest"] for obj in data["objects"]} == {"privileged", "baseline", "restricted"}
    # The first run unpacked the zipapp into the cache, so that later runs start from bytecode.
    [unpacked] = (tmp_path / "cache" / "kubectl-podsec").iterdir()
    assert (unpacked / "kubectl_podsec" / "cli.py").is_file()
    assert list((unpacked / "kubectl_podsec").glob("__pycache__/cli.*.pyc"))

    # The same verdicts straight from the zip, and with a cache that cannot be written.
    for extra in ({"KUBECTL_PODSEC_NO_UNPACK": "1"}, {"XDG_CACHE_HOME": str(plugin_dir / "LICENSE")}):
        again = run_kubectl({**env, **extra}, tmp_path, "podsec", "check", "-f", str(REPO / "fixtures"),
                            "--level", "privileged", "-o", "json")
        assert (again.returncode, again.stdout, again.stderr) == (0, check.stdout, check.stderr)


def test_plugin_exit_codes_and_stdin(installed, tmp_path):
    _, env = installed
    failing = run_kubectl(env, tmp_path, "podsec", "check", "-f", str(REPO / "fixtures" / "debug-pod.yaml"))
    assert failing.returncode == 1 and "highest=privileged" in failing.stdout
    piped = subprocess.run(["kubectl", "podsec", "check", "-f", "-", "-o", "json"], env=env, cwd=tmp_path,
                           input=(REPO / "fixtures" / "web-deployment.yaml").read_text("utf-8"),
                           capture_output=True, text=True, timeout=120, check=False)
    assert piped.returncode == 0, piped.stderr
    assert [o["highest"] for o in json.loads(piped.stdout)["objects"]] == ["restricted"]
