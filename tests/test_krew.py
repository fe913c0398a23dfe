"""krew packaging (issue 5): plugin.yaml valid by krew's rules, a reproducible release archive
holding a self-contained zipapp, and that zipapp run through kubectl's plugin discovery with
nothing but the unpacked archive, kubectl and a bare python3 on PATH."""

from __future__ import annotations

import io
import json
import os
import platform as host
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
# The archive for this machine: the tests run what krew would install here.
HERE = ({"Linux": "linux", "Darwin": "darwin"}.get(host.system()),
        {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(host.machine()))
ARCHIVE = f"kubectl-podsec-v{__version__}-{HERE[0]}-{HERE[1]}.tar.gz"
NOTICE = "kubectl-podsec: no compiled YAML parser fits"
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
                                   f"v{__version__}/kubectl-podsec-v{__version__}-{labels['os']}-{labels['arch']}"
                                   ".tar.gz")
        # A string (quoted: 64 digits would read as a number), lowercase hex, and set.
        assert isinstance(platform["sha256"], str) and re.fullmatch(r"[0-9a-f]{64}", platform["sha256"])
        assert set(platform["sha256"]) != {"0"}, "run scripts/release.py to set the checksum"
        assert platform["bin"] == "kubectl-podsec"
        files = platform["files"]
        assert all(f["from"] and f["to"] for f in files)
        assert {f["from"] for f in files} >= {"kubectl-podsec", "LICENSE"}
    assert len(selected) == len(set(selected)), "overlapping selectors"
    assert sorted(selected) == [("darwin", "amd64"), ("darwin", "arm64"), ("linux", "amd64"), ("linux", "arm64")]
    # One archive per platform: each carries its own compiled YAML parser.
    assert len({p["sha256"] for p in platforms}) == 4 and len({p["uri"] for p in platforms}) == 4


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """PyPI's PyYAML wheels for this platform, fetched once (pip, from the registry)."""
    if None in HERE:
        pytest.skip(f"no krew archive for {host.system()}/{host.machine()}")
    return tmp_path_factory.mktemp("wheels")


def build(out: Path, wheels: Path, *extra) -> Path:
    run = subprocess.run([sys.executable, str(RELEASE), "--out", str(out), "--wheels", str(wheels),
                          "--platform", "/".join(HERE), *extra],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    return out / ARCHIVE


@pytest.fixture(scope="module")
def archive(tmp_path_factory, wheels) -> Path:
    return build(tmp_path_factory.mktemp("dist"), wheels, "--no-write-sha")


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
    # No bytecode (version-specific) and nothing compiled but PyYAML's extension, one for each
    # CPython 3.9-3.14 (and on Linux for musl too), picked by its file name at run time.
    assert not [n for n in names if re.search(r"\.(pyd|pyc|dll|dylib)$|__pycache__|/tests?/", n)]
    extensions = sorted(n for n in names if n.endswith(".so"))
    assert all(re.fullmatch(r"yaml/_yaml\.cpython-3\d+-[\w-]+\.so", n) for n in extensions), extensions
    for minor in range(9, 15):
        found = [n for n in extensions if f"cpython-3{minor}-" in n]
        # musl's own names start with 3.11; before, its extensions were named linux-gnu too.
        assert len(found) == (2 if HERE[0] == "linux" and minor >= 11 else 1), (minor, found)
    assert "from kubectl_podsec.cli import run" in main


def test_archive_is_reproducible(archive, wheels, tmp_path):
    assert build(tmp_path, wheels, "--no-write-sha").read_bytes() == archive.read_bytes()


def test_write_sha_edits_only_the_sha_line_of_the_archive_built(archive, wheels, tmp_path):
    manifest = tmp_path / "plugin.yaml"
    original = re.sub(r'sha256: "[0-9a-f]{64}"', 'sha256: "' + "0" * 64 + '"',
                      (REPO / "plugin.yaml").read_text("utf-8"))
    manifest.write_text(original, "utf-8")
    build(tmp_path / "dist", wheels, "--manifest", str(manifest))
    import hashlib

    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    before, after = original.splitlines(), manifest.read_text("utf-8").splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(changed) == 1 and re.fullmatch(r'\s*sha256: "[0-9a-f]{64}"', changed[0][1])
    shas = {p["uri"].rsplit("/", 1)[-1]: p["sha256"]
            for p in yaml.safe_load(manifest.read_text("utf-8"))["spec"]["platforms"]}
    assert shas.pop(ARCHIVE) == sha and set(shas.values()) == {"0" * 64}


def test_release_refuses_a_tampered_wheel(archive, wheels, tmp_path):
    # `archive` filled the cache.
    [wheel] = [w for w in wheels.glob("*cp311*") if w.name.endswith(".whl")][:1]
    good = wheel.read_bytes()
    try:
        wheel.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
        run = subprocess.run([sys.executable, str(RELEASE), "--out", str(tmp_path / "second"), "--wheels",
                              str(wheels), "--platform", "/".join(HERE), "--no-write-sha"],
                             capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode != 0 and "not the pinned one" in run.stderr
        assert not (tmp_path / "second" / ARCHIVE).exists()
    finally:
        wheel.write_bytes(good)


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

    # Unpacked, PyYAML's compiled extension for this Python loads: no notice.
    assert NOTICE not in check.stderr
    assert list((unpacked / "yaml").glob(f"_yaml.cpython-3{sys.version_info[1]}-*.so"))

    # The same verdicts straight from the zip, and with a cache that cannot be written, where no
    # extension can load: the pure-Python parser, and one line that says so.
    for extra in ({"KUBECTL_PODSEC_NO_UNPACK": "1"}, {"XDG_CACHE_HOME": str(plugin_dir / "LICENSE")}):
        again = run_kubectl({**env, **extra}, tmp_path, "podsec", "check", "-f", str(REPO / "fixtures"),
                            "--level", "privileged", "-o", "json")
        assert (again.returncode, again.stdout) == (0, check.stdout)
        notice, *rest = again.stderr.splitlines(True)
        assert notice.startswith(NOTICE) and "".join(rest) == check.stderr


def test_krew_build_and_pip_install_give_the_same_bytes(installed, tmp_path):
    """A mixed corpus (every kind, level and style of bench/corpus.py, and the bundled
    fixtures): `check -o json` and `fix --dry-run` of the krew build, with its compiled parser
    and with the pure-Python one, are byte for byte those of the pip install."""
    plugin_dir, env = installed
    corpus = tmp_path / "corpus.yaml"
    subprocess.run([sys.executable, str(REPO / "bench" / "corpus.py"), "--workloads", "400", "--seed", "7",
                    "--out", str(corpus)], check=True, timeout=300)
    commands = [["check", "-f", str(corpus), "-o", "json"], ["fix", "-f", str(corpus), "--dry-run"],
                ["check", "-f", str(REPO / "fixtures"), "-o", "json"]]
    for command in commands:
        pip = subprocess.run([sys.executable, "-m", "kubectl_podsec", *command], capture_output=True, timeout=300,
                             check=False, cwd=tmp_path)
        for extra in ({}, {"KUBECTL_PODSEC_NO_UNPACK": "1"}):
            krew = subprocess.run(["kubectl", "podsec", *command], env={**env, **extra}, capture_output=True,
                                  timeout=300, check=False, cwd=tmp_path)
            assert krew.returncode == pip.returncode, krew.stderr
            assert krew.stdout == pip.stdout, command


def test_plugin_exit_codes_and_stdin(installed, tmp_path):
    _, env = installed
    failing = run_kubectl(env, tmp_path, "podsec", "check", "-f", str(REPO / "fixtures" / "debug-pod.yaml"))
    assert failing.returncode == 1 and "highest=privileged" in failing.stdout
    piped = subprocess.run(["kubectl", "podsec", "check", "-f", "-", "-o", "json"], env=env, cwd=tmp_path,
                           input=(REPO / "fixtures" / "web-deployment.yaml").read_text("utf-8"),
                           capture_output=True, text=True, timeout=120, check=False)
    assert piped.returncode == 0, piped.stderr
    assert [o["highest"] for o in json.loads(piped.stdout)["objects"]] == ["restricted"]


def test_krew_release_bot_template_renders_plugin_yaml():
    """.krew.yaml, rendered as krew-release-bot would for this version with plugin.yaml's
    checksums, is plugin.yaml's manifest."""
    template = (REPO / ".krew.yaml").read_text("utf-8")
    manifest = yaml.safe_load((REPO / "plugin.yaml").read_text("utf-8"))
    shas = {p["uri"]: p["sha256"] for p in manifest["spec"]["platforms"]}
    tag = f"v{__version__}"

    def add_uri_and_sha(match):
        uri = match.group(1).replace("{{ .TagName }}", tag)
        return f"uri: {uri}\n      sha256: {shas[uri]}"

    rendered = re.sub(r'\{\{ addURIAndSha "([^"]+)" \.TagName \}\}', add_uri_and_sha, template)
    rendered = rendered.replace("{{ .TagName }}", f'"{tag}"')
    assert "{{" not in rendered
    assert yaml.safe_load(rendered) == manifest


def test_release_workflow_builds_every_platform_and_runs_the_bot():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text("utf-8"))
    steps = workflow["jobs"]["release"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "scripts/release.py" in runs and "--platform" not in runs
    assert any(step.get("uses", "").startswith("rajatjindal/krew-release-bot@") for step in steps)
    assert all("shell" in step for step in steps if "run" in step)
    assert workflow[True]["push"]["tags"] == ["v*.*.*"]  # YAML 1.1 reads the key `on` as true
