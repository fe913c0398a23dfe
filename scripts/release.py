#!/usr/bin/env python3
"""Build the krew release archives and record their checksums in plugin.yaml.

    python3 scripts/release.py [--out DIR] [--platform OS/ARCH]... [--no-write-sha]

writes DIR/kubectl-podsec-v<version>-<os>-<arch>.tar.gz (DIR defaults to dist/), one per
platform of plugin.yaml (linux and darwin, amd64 and arm64), each holding:

- `kubectl-podsec`: a zipapp (`#!/usr/bin/env python3`, mode 0755) with the package and its
  dependencies inside: colorama's Python files, PyYAML's Python files and PyYAML's compiled
  extension (`yaml/_yaml.cpython-3NN-*.so`, libyaml linked in) for CPython 3.9 to 3.14 on that
  platform, glibc and musl for Linux, taken from PyPI's own wheels, whose licence is inside
  too, under `licenses/`. Python picks the extension whose name fits the running interpreter;
  where none fits (another Python, or a run from inside the zip, from which an extension
  cannot load) the engine reads with PyYAML's pure-Python parser and says so in one line.
  On its first run the zipapp unpacks itself into `~/.cache/kubectl-podsec/` (see MAIN);
  KUBECTL_PODSEC_NO_UNPACK=1 runs it from the zip.
- `LICENSE`.

The archives are reproducible: entries sorted, times 0 (1980 inside the zip), owner 0, fixed
modes, gzip without a name or time, and the dependencies pinned below, the wheels by their
sha256. Wheels are fetched with pip into a cache (--wheels, default dist/wheels/) and checked
against those checksums; colorama is copied from the running environment when it has exactly
the pinned version. Then each platform's `sha256:` line of plugin.yaml is set to its archive's
checksum (unless --no-write-sha); nothing else in the file changes.

Standard library and pip only.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import importlib.metadata
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "kubectl_podsec"
# Pinned so that anyone rebuilding a tag gets the same bytes, hence the same sha256.
VENDORED = {"colorama": ("0.4.6", ("colorama",))}
PYYAML = "6.0.3"
CPYTHONS = ("39", "310", "311", "312", "313", "314")
# krew's os/arch -> the wheel platform tags (as pip's --platform takes them) whose extension goes in.
PLATFORMS = {
    ("linux", "amd64"): ("manylinux_2_17_x86_64", "musllinux_1_2_x86_64"),
    ("linux", "arm64"): ("manylinux_2_17_aarch64", "musllinux_1_2_aarch64"),
    ("darwin", "amd64"): ("macosx_10_13_x86_64",),
    ("darwin", "arm64"): ("macosx_11_0_arm64",),
}
WHEEL_SHA256 = {  # PyPI's PyYAML 6.0.3 wheels, as downloaded on 2026-12-03
    "pyyaml-6.0.3-cp310-cp310-macosx_10_13_x86_64.whl":
        "214ed4befebe12df36bcc8bc2b64b396ca31be9304b8f59e25c11cf94a4c033b",
    "pyyaml-6.0.3-cp310-cp310-macosx_11_0_arm64.whl":
        "02ea2dfa234451bbb8772601d7b8e426c2bfa197136796224e50e35a78777956",
    "pyyaml-6.0.3-cp310-cp310-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl":
        "b30236e45cf30d2b8e7b3e85881719e98507abed1011bf463a8fa23e9c3e98a8",
    "pyyaml-6.0.3-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl":
        "9c7708761fccb9397fe64bbc0395abcae8c4bf7b0eac081e12b809bf47700d0b",
    "pyyaml-6.0.3-cp311-cp311-macosx_10_13_x86_64.whl":
        "44edc647873928551a01e7a563d7452ccdebee747728c1080d881d68af7b997e",
    "pyyaml-6.0.3-cp311-cp311-macosx_11_0_arm64.whl":
        "652cb6edd41e718550aad172851962662ff2681490a8a711af6a4d288dd96824",
    "pyyaml-6.0.3-cp311-cp311-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl":
        "10892704fc220243f5305762e276552a0395f7beb4dbf9b14ec8fd43b57f126c",
    "pyyaml-6.0.3-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl":
        "b8bb0864c5a28024fac8a632c443c87c5aa6f215c0b126c449ae1a150412f31d",
    "pyyaml-6.0.3-cp311-cp311-musllinux_1_2_aarch64.whl":
        "1d37d57ad971609cf3c53ba6a7e365e40660e3be0e5175fa9f2365a379d6095a",
    "pyyaml-6.0.3-cp311-cp311-musllinux_1_2_x86_64.whl":
        "37503bfbfc9d2c40b344d06b2199cf0e96e97957ab1c1b546fd4f87e53e5d3e4",
    "pyyaml-6.0.3-cp312-cp312-macosx_10_13_x86_64.whl":
        "7f047e29dcae44602496db43be01ad42fc6f1cc0d8cd6c83d342306c32270196",
    "pyyaml-6.0.3-cp312-cp312-macosx_11_0_arm64.whl":
        "fc09d0aa354569bc501d4e787133afc08552722d3ab34836a80547331bb5d4a0",
    "pyyaml-6.0.3-cp312-cp312-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl":
        "9149cad251584d5fb4981be1ecde53a1ca46c891a79788c0df828d2f166bda28",
    "pyyaml-6.0.3-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl":
        "ba1cc08a7ccde2d2ec775841541641e4548226580ab850948cbfda66a1befcdc",
    "pyyaml-6.0.3-cp312-cp312-musllinux_1_2_aarch64.whl":
        "8dc52c23056b9ddd46818a57b78404882310fb473d63f17b07d5c40421e47f8e",
    "pyyaml-6.0.3-cp312-cp312-musllinux_1_2_x86_64.whl":
        "41715c910c881bc081f1e8872880d3c650acf13dfa8214bad49ed4cede7c34ea",
    "pyyaml-6.0.3-cp313-cp313-macosx_10_13_x86_64.whl":
        "8da9669d359f02c0b91ccc01cac4a67f16afec0dac22c2ad09f46bee0697eba8",
    "pyyaml-6.0.3-cp313-cp313-macosx_11_0_arm64.whl":
        "2283a07e2c21a2aa78d9c4442724ec1eb15f5e42a723b99cb3d822d48f5f7ad1",
    "pyyaml-6.0.3-cp313-cp313-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl":
        "ee2922902c45ae8ccada2c5b501ab86c36525b883eff4255313a253a3160861c",
    "pyyaml-6.0.3-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl":
        "0f29edc409a6392443abf94b9cf89ce99889a1dd5376d94316ae5145dfedd5d6",
    "pyyaml-6.0.3-cp313-cp313-musllinux_1_2_aarch64.whl":
        "f7057c9a337546edc7973c0d3ba84ddcdf0daa14533c2065749c9075001090e6",
    "pyyaml-6.0.3-cp313-cp313-musllinux_1_2_x86_64.whl":
        "eda16858a3cab07b80edaf74336ece1f986ba330fdb8ee0d6c0d68fe82bc96be",
    "pyyaml-6.0.3-cp314-cp314-macosx_10_13_x86_64.whl":
        "8d1fab6bb153a416f9aeb4b8763bc0f22a5586065f86f7664fc23339fc1c1fac",
    "pyyaml-6.0.3-cp314-cp314-macosx_11_0_arm64.whl":
        "34d5fcd24b8445fadc33f9cf348c1047101756fd760b4dacb5c3e99755703310",
    "pyyaml-6.0.3-cp314-cp314-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl":
        "501a031947e3a9025ed4405a168e6ef5ae3126c59f90ce0cd6f2bfc477be31b7",
    "pyyaml-6.0.3-cp314-cp314-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl":
        "c458b6d084f9b935061bc36216e8a69a7e293a2f1e68bf956dcd9e6cbcd143f5",
    "pyyaml-6.0.3-cp314-cp314-musllinux_1_2_aarch64.whl":
        "7c6610def4f163542a622a73fb39f534f8c101d690126992300bf3207eab9764",
    "pyyaml-6.0.3-cp314-cp314-musllinux_1_2_x86_64.whl":
        "5190d403f121660ce8d1d2c1bb2ef1bd05b5f68533fc5c2ea899bd15f4399b35",
    "pyyaml-6.0.3-cp39-cp39-macosx_10_13_x86_64.whl":
        "b865addae83924361678b652338317d1bd7e79b1f4596f96b96c77a5a34b34da",
    "pyyaml-6.0.3-cp39-cp39-macosx_11_0_arm64.whl":
        "c3355370a2c156cffb25e876646f149d5d68f5e0a3ce86a5084dd0b64a994917",
    "pyyaml-6.0.3-cp39-cp39-manylinux2014_aarch64.manylinux_2_17_aarch64.manylinux_2_28_aarch64.whl":
        "3c5677e12444c15717b902a5798264fa7909e41153cdf9ef7ad571b704a63dd9",
    "pyyaml-6.0.3-cp39-cp39-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl":
        "0150219816b6a1fa26fb4699fb7daa9caf09eb1999f3b70fb6e786805e80375a",
}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
# The zipapp's entry point. zipimport never writes bytecode, so run from the zip every module
# is compiled on every start: 100-200 ms, more than a one-file check takes otherwise. So the
# first run unpacks the zip into the user's cache (keyed by the zip's size and CRC) and compiles
# it there, as pip does on install; anything missing there, or a cache that cannot be written,
# falls back to the zip itself.
MAIN = """\
import os
import sys

if sys.version_info < (3, 9):
    sys.exit("kubectl-podsec needs Python 3.9 or newer; this is " + sys.version.split()[0])


def _unpacked(archive):
    import zlib

    try:
        with open(archive, "rb") as stream:
            data = stream.read()
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        target = os.path.join(cache, "kubectl-podsec", "%x-%08x" % (len(data), zlib.crc32(data)))
        if not os.path.isdir(target):
            import shutil
            import tempfile
            import zipfile

            os.makedirs(os.path.dirname(target), exist_ok=True)
            scratch = tempfile.mkdtemp(prefix=".unpack-", dir=os.path.dirname(target))
            with zipfile.ZipFile(archive) as unzip:
                unzip.extractall(scratch)
            # Compiled now, so that PYTHONDONTWRITEBYTECODE (common in containers) does not
            # leave every later run compiling again.
            import compileall

            compileall.compile_dir(scratch, quiet=2)
            try:
                os.rename(scratch, target)  # whole or not at all
            except OSError:  # another run got there first
                shutil.rmtree(scratch, ignore_errors=True)
        return target if os.path.isdir(target) else None
    except Exception:  # no home, read-only, full disk, ...: run from the zip
        return None


_archive = os.path.dirname(os.path.abspath(__file__))
if os.path.isfile(_archive) and not os.environ.get("KUBECTL_PODSEC_NO_UNPACK"):
    _target = _unpacked(_archive)
    if _target:
        sys.path.insert(0, _target)

if not os.environ.get("KUBECTL_PODSEC_PURE_YAML"):
    try:
        import yaml

        _native = yaml.__with_libyaml__
    except Exception:
        _native = False
    if not _native:
        sys.stderr.write("kubectl-podsec: no compiled YAML parser fits Python %d.%d here; reading with the "
                         "pure-Python one, several times slower (pip install kubectl-podsec has it)\\n"
                         % sys.version_info[:2])

from kubectl_podsec.cli import run  # noqa: E402

run()
"""


def version() -> str:
    text = (REPO / PACKAGE / "__init__.py").read_text("utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE).group(1)


def _wanted(path: str, top_levels: tuple) -> bool:
    """A dependency's pure-Python source: no compiled code, no tests, no caches."""
    parts = path.split("/")
    return parts[0] in top_levels and path.endswith(".py") and "tests" not in parts \
        and "__pycache__" not in parts


def _is_licence(path: str) -> bool:
    parts = path.split("/")
    return parts[0].endswith(".dist-info") and \
        re.match(r"(LICEN[CS]E|COPYING|NOTICE)", parts[-1], re.IGNORECASE) is not None


def _from_environment(name: str, pinned: str, top_levels: tuple):
    """{path: bytes} from the installed distribution, or None if it is not `pinned`."""
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != pinned:
        print(f"release: {name} {dist.version} is installed, {pinned} is pinned: fetching it with pip",
              file=sys.stderr)
        return None
    files = {}
    for file in dist.files or ():
        path = file.as_posix()
        if _wanted(path, top_levels) or _is_licence(path):
            files[path] = Path(dist.locate_file(file)).read_bytes()
    return files


def _from_pip(name: str, pinned: str, top_levels: tuple) -> dict:
    """{path: bytes} from the wheel pip downloads (any platform's wheel has the same .py files)."""
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--dest", download, f"{name}=={pinned}"], check=True)
        [wheel] = Path(download).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            return {path: archive.read(path) for path in archive.namelist()
                    if _wanted(path, top_levels) or _is_licence(path)}


def pyyaml_wheel(cache: Path, cpython: str, tag: str) -> Path:
    """PyPI's PyYAML wheel for CPython 3.`cpython[1:]` on the platform `tag`, from the cache or
    fetched with pip, and checked against its pinned sha256."""
    names = [n for n in WHEEL_SHA256 if fnmatch.fnmatch(n, f"pyyaml-{PYYAML}-cp{cpython}-cp{cpython}-*.whl")
             and _tag_matches(n, tag)]
    if len(names) != 1:
        raise SystemExit(f"release: no pinned PyYAML wheel for cp{cpython} {tag}")
    wheel = cache / names[0]
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--python-version", cpython, "--implementation", "cp", "--platform", tag,
                        "--dest", str(cache), f"PyYAML=={PYYAML}"], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256[names[0]]:
        wheel.unlink()
        raise SystemExit(f"release: {names[0]} has sha256 {digest}, not the pinned one")
    return wheel


def _tag_matches(wheel_name: str, tag: str) -> bool:
    """Whether a wheel's platform tags include `tag` (manylinux_2_17 also as manylinux2014)."""
    tags = wheel_name[:-len(".whl")].split("-")[-1].split(".")
    return tag in tags


def pyyaml_files(cache: Path, platform: tuple) -> dict:
    """{path: bytes}: PyYAML's Python files and licence, and its extension for every CPython
    this release supports on `platform`."""
    files = {}
    for tag in PLATFORMS[platform]:
        for cpython in CPYTHONS:
            if tag.startswith("musllinux") and cpython in ("39", "310"):
                continue  # CPython < 3.11 names its musl extensions linux-gnu: they would collide
            with zipfile.ZipFile(pyyaml_wheel(cache, cpython, tag)) as archive:
                for path in archive.namelist():
                    if _wanted(path, ("yaml",)) or _is_licence(path) or \
                            re.fullmatch(r"yaml/_yaml\.cpython-3\d+-[\w-]+\.so", path):
                        files.setdefault(path, archive.read(path))
    return files


def zipapp_entries(cache: Path, platform: tuple) -> dict:
    """{path in the zip: bytes}."""
    entries = {"__main__.py": MAIN.encode()}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if "__pycache__" not in relative:
            entries[relative] = path.read_bytes()
    vendored = [("PyYAML", PYYAML, pyyaml_files(cache, platform))]
    for name, (pinned, top_levels) in VENDORED.items():
        vendored.append((name, pinned, _from_environment(name, pinned, top_levels)
                         or _from_pip(name, pinned, top_levels)))
    for name, pinned, files in vendored:
        if not any(path.endswith(".py") for path in files):
            raise SystemExit(f"release: no Python files found for {name}")
        for path, data in files.items():
            if _is_licence(path):
                entries[f"licenses/{name}-{pinned}/{path.split('/')[-1]}"] = data
            else:
                entries[path] = data
    return entries


def build_zipapp(entries: dict) -> bytes:
    out = io.BytesIO()
    out.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(entries):
            info = zipfile.ZipInfo(path, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if path.endswith(".so") else 0o100644) << 16
            info.create_system = 3  # Unix, so that the mode above is read
            archive.writestr(info, entries[path], compresslevel=9)
    return out.getvalue()


def build_tar(members: dict) -> bytes:
    """{name: (bytes, mode)} as a reproducible .tar.gz."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            data, mode = members[name]
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as out:
        out.write(raw.getvalue())
    return compressed.getvalue()


SHA_LINE = re.compile(r"^(?P<head>\s*(?:-\s+)?sha256:\s*)(?P<quote>[\"']?)[0-9A-Fa-f]*(?P=quote)(?P<tail>\s*(?:#.*)?)$")


def archive_name(ver: str, platform: tuple) -> str:
    return f"kubectl-podsec-v{ver}-{platform[0]}-{platform[1]}.tar.gz"


def check_manifest(text: str, ver: str) -> None:
    """plugin.yaml must already name this version, each platform its own archive: the script
    only writes checksums."""
    if not re.search(rf'^\s*version:\s*"?v{re.escape(ver)}"?\s*$', text, re.MULTILINE):
        raise SystemExit(f"release: plugin.yaml's spec.version is not v{ver}")
    blocks = re.findall(r"os:\s*(\w+)\s+arch:\s*(\w+)\s+uri:\s*(\S+)", text)
    if sorted((os_, arch) for os_, arch, _ in blocks) != sorted(PLATFORMS):
        raise SystemExit("release: plugin.yaml must have one platform (os, arch, uri) for each of "
                         + ", ".join("/".join(p) for p in sorted(PLATFORMS)))
    for os_, arch, uri in blocks:
        if not uri.endswith(f"/v{ver}/{archive_name(ver, (os_, arch))}"):
            raise SystemExit(f"release: plugin.yaml uri {uri} does not name v{ver} for {os_}/{arch}")


def write_sha(manifest: Path, shas: dict) -> int:
    """Set the `sha256:` line after each `uri:` line to the checksum of the archive the uri
    names, for the archives in `shas` ({file name: sha256})."""
    lines = manifest.read_text("utf-8").splitlines(True)
    count, archive = 0, None
    for n, line in enumerate(lines):
        body = line.rstrip("\r\n")
        uri = re.match(r"^\s*(?:-\s+)?uri:\s*(\S+)", body)
        if uri:
            archive = uri.group(1).rsplit("/", 1)[-1]
        match = SHA_LINE.match(body)
        if match and archive in shas:
            lines[n] = f"{match['head']}{match['quote']}{shas[archive]}{match['quote']}{match['tail']}" + \
                line[len(body):]
            count += 1
    if not count:
        raise SystemExit(f"release: no sha256 line of these archives in {manifest}")
    manifest.write_text("".join(lines), "utf-8")
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="where to write the archives (default dist/)")
    parser.add_argument("--platform", action="append", choices=["/".join(p) for p in PLATFORMS],
                        help="build only this platform's archive (repeatable; default all)")
    parser.add_argument("--wheels", type=Path, default=REPO / "dist" / "wheels",
                        help="cache of PyPI's PyYAML wheels (default dist/wheels/)")
    parser.add_argument("--no-write-sha", action="store_true", help="leave plugin.yaml alone")
    parser.add_argument("--manifest", type=Path, default=REPO / "plugin.yaml")
    args = parser.parse_args(argv)

    ver = version()
    check_manifest(args.manifest.read_text("utf-8"), ver)
    platforms = [tuple(p.split("/")) for p in args.platform] if args.platform else list(PLATFORMS)
    license_text = (REPO / "LICENSE").read_bytes()
    shas = {}
    for platform in platforms:
        app = build_zipapp(zipapp_entries(args.wheels, platform))
        archive = build_tar({"kubectl-podsec": (app, 0o755), "LICENSE": (license_text, 0o644)})
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / archive_name(ver, platform)
        path.write_bytes(archive)
        shas[path.name] = hashlib.sha256(archive).hexdigest()
        print(f"{path}\nsha256 {shas[path.name]}")
    if not args.no_write_sha:
        count = write_sha(args.manifest, shas)
        print(f"wrote the sha256 of {count} platform(s) into {args.manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
