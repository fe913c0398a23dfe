#!/usr/bin/env python3
"""Start-up time of `kubectl-podsec --version` and of a one-file `check`, for the installed
console script and for the krew zipapp: best wall time of N runs each.

    python3 bench/startup.py [--script PATH] [--zipapp PATH] [--runs 5]

--script defaults to the `kubectl-podsec` on PATH; --zipapp to one built now with
scripts/release.py into a temporary directory. The zipapp runs as krew runs it (its
`#!/usr/bin/env python3`), and with the install's own python for a like-for-like figure: warm
(unpacked into the cache by an earlier run), on a first run (empty cache) and straight from the
zip (KUBECTL_PODSEC_NO_UNPACK=1). The cache is a temporary XDG_CACHE_HOME.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ONE_FILE = REPO / "fixtures" / "web-deployment.yaml"
COMMANDS = {"--version": ["--version"], "check (one file)": ["check", "-f", str(ONE_FILE)]}


def best_of(argv: list, runs: int, env=None, fresh_cache: bool = False) -> float:
    times = []
    for _ in range(runs):
        run_env = env
        if fresh_cache:
            run_env = {**env, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="podsec-bench-")}
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=run_env)
        times.append(time.perf_counter() - start)
        if fresh_cache:
            shutil.rmtree(run_env["XDG_CACHE_HOME"], ignore_errors=True)
    return min(times)


def build_zipapp(directory: str) -> str:
    """This machine's archive (there is one per platform), unpacked: its zipapp."""
    from krew import this_platform  # bench/krew.py, beside this script

    subprocess.run([sys.executable, str(REPO / "scripts" / "release.py"), "--out", directory,
                    "--platform", this_platform(), "--no-write-sha"], check=True, stdout=subprocess.DEVNULL)
    [archive] = Path(directory).glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extract("kubectl-podsec", directory)
    return str(Path(directory) / "kubectl-podsec")


def interpreter_of(script: str) -> str:
    """The python a console script runs with (its #! line)."""
    with open(script, "rb") as stream:
        line = stream.readline().decode().strip()
    return line[2:].split()[0] if line.startswith("#!") and "python" in line else sys.executable


def measure(runs: int, script, zipapp, cache: str) -> list:
    """[(what, command, seconds)]."""
    env = {**os.environ, "XDG_CACHE_HOME": cache}
    python = interpreter_of(script) if script else sys.executable
    variants = []
    if script:
        variants.append(("installed", [script], {}))
    variants += [
        ("zipapp (python3 on PATH)", [zipapp], {}),
        ("zipapp (same python)", [python, zipapp], {}),
        ("zipapp (same python, first run)", [python, zipapp], {"fresh_cache": True}),
        ("zipapp (same python, no unpack)", [python, zipapp], {"extra": {"KUBECTL_PODSEC_NO_UNPACK": "1"}}),
    ]
    rows = []
    for what, program, options in variants:
        run_env = {**env, **options.get("extra", {})}
        for name, args in COMMANDS.items():
            best_of([*program, *args], 1, run_env)  # warm the page cache, __pycache__, the unpacked zip
            rows.append((what, name, best_of([*program, *args], runs, run_env, options.get("fresh_cache", False))))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--script", default=shutil.which("kubectl-podsec"))
    parser.add_argument("--zipapp")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.script:
        print("no kubectl-podsec on PATH: the installed package is not measured", file=sys.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        zipapp = args.zipapp or build_zipapp(scratch)
        rows = measure(args.runs, args.script, zipapp, os.path.join(scratch, "cache"))
    print(f"best of {args.runs} wall times ({sys.implementation.name} {sys.version.split()[0]}, "
          f"one file: {ONE_FILE.relative_to(REPO)})")
    for what, name, seconds in rows:
        print(f"  {what:<34} {name:<18} {seconds * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
