#!/usr/bin/env python3
"""Build the krew release archive and record its checksum in plugin.yaml.

    python3 scripts/release.py [--out DIR] [--no-write-sha]

writes DIR/kubectl-podsec-v<version>.tar.gz (DIR defaults to dist/) holding:

- `kubectl-podsec`: a zipapp (`#!/usr/bin/env python3`, mode 0755) with the package and its
  dependencies inside: PyYAML's and colorama's Python files only. A compiled extension cannot
  load from a zip, and the engine falls back to PyYAML's pure-Python parser without `yaml._yaml`.
  Their licences are inside too, under `licenses/`. On its first run it unpacks itself into
  `~/.cache/kubectl-podsec/` (see MAIN below); KUBECTL_PODSEC_NO_UNPACK=1 runs it from the zip.
- `LICENSE`.

The archive is reproducible: entries sorted, times 0 (1980 inside the zip), owner 0, fixed
modes, gzip without a name or time, and the dependency versions pinned below. They are copied
from the running environment when it has exactly those versions (no network needed), otherwise
fetched with pip. Then every `sha256:` line of plugin.yaml is set to the archive's checksum
(unless --no-write-sha); nothing else in the file changes.

Standard library and pip only.
"""

from __future__ import annotations

import argparse
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
VENDORED = {"PyYAML": ("6.0.3", ("yaml",)), "colorama": ("0.4.6", ("colorama",))}
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


def zipapp_entries() -> dict:
    """{path in the zip: bytes}."""
    entries = {"__main__.py": MAIN.encode()}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if "__pycache__" not in relative:
            entries[relative] = path.read_bytes()
    for name, (pinned, top_levels) in VENDORED.items():
        files = _from_environment(name, pinned, top_levels) or _from_pip(name, pinned, top_levels)
        if not any(path.startswith(top_levels[0] + "/") for path in files):
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
            info.external_attr = 0o100644 << 16
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


def check_manifest(text: str, ver: str) -> None:
    """plugin.yaml must already name this version: the script only writes checksums."""
    if not re.search(rf'^\s*version:\s*"?v{re.escape(ver)}"?\s*$', text, re.MULTILINE):
        raise SystemExit(f"release: plugin.yaml's spec.version is not v{ver}")
    for uri in re.findall(r"^\s*uri:\s*(\S+)", text, re.MULTILINE):
        if not uri.endswith(f"/v{ver}/kubectl-podsec-v{ver}.tar.gz"):
            raise SystemExit(f"release: plugin.yaml uri {uri} does not name v{ver}")


def write_sha(manifest: Path, sha: str) -> int:
    lines = manifest.read_text("utf-8").splitlines(True)
    count = 0
    for n, line in enumerate(lines):
        body = line.rstrip("\r\n")
        match = SHA_LINE.match(body)
        if match:
            lines[n] = f"{match['head']}{match['quote']}{sha}{match['quote']}{match['tail']}" + line[len(body):]
            count += 1
    if not count:
        raise SystemExit(f"release: no sha256 line in {manifest}")
    manifest.write_text("".join(lines), "utf-8")
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="where to write the archive (default dist/)")
    parser.add_argument("--no-write-sha", action="store_true", help="leave plugin.yaml alone")
    parser.add_argument("--manifest", type=Path, default=REPO / "plugin.yaml")
    args = parser.parse_args(argv)

    ver = version()
    check_manifest(args.manifest.read_text("utf-8"), ver)
    app = build_zipapp(zipapp_entries())
    archive = build_tar({"kubectl-podsec": (app, 0o755), "LICENSE": ((REPO / "LICENSE").read_bytes(), 0o644)})
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"kubectl-podsec-v{ver}.tar.gz"
    path.write_bytes(archive)
    sha = hashlib.sha256(archive).hexdigest()
    print(f"{path}\nsha256 {sha}")
    if not args.no_write_sha:
        count = write_sha(args.manifest, sha)
        print(f"wrote the sha256 into {count} platform(s) of {args.manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
