#!/usr/bin/env python3
"""The krew build against the pip build: `check -o json` and `fix --dry-run` on one corpus.

    python3 bench/krew.py [--workloads 2000] [--rounds 5] [--archive PATH]

Builds this machine's krew archive with scripts/release.py (or takes --archive), unpacks it
as krew does, and times, in interleaved rounds (median), on a bench/corpus.py stream:

- pip: the package as installed in the running interpreter (`python -m kubectl_podsec`);
- krew: the zipapp, run by the same interpreter, warm (unpacked into its cache, so PyYAML's
  compiled extension loads);
- krew, pure Python: the zipapp run from the zip (KUBECTL_PODSEC_NO_UNPACK=1), where no
  extension can load: what every krew user had before the archives carried it.

Ratios are against pip, measured in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def this_platform() -> str:
    os_ = {"Linux": "linux", "Darwin": "darwin"}[platform.system()]
    arch = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
    return f"{os_}/{arch}"


def timed(argv: list, env: dict) -> float:
    start = time.perf_counter()
    run = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed: {run.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--archive", type=Path, help="a built archive (default: build one now)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podsec-krew-bench-") as scratch:
        work = Path(scratch)
        archive = args.archive
        if archive is None:
            subprocess.run([sys.executable, str(REPO / "scripts" / "release.py"), "--out", str(work / "dist"),
                            "--platform", this_platform(), "--no-write-sha"], check=True, stdout=subprocess.DEVNULL)
            [archive] = (work / "dist").glob("*.tar.gz")
        plugin = work / "plugin"
        with tarfile.open(archive) as tar:
            tar.extractall(plugin)
        corpus = work / "corpus.yaml"
        subprocess.run([sys.executable, str(REPO / "bench" / "corpus.py"), "--workloads", str(args.workloads),
                        "--out", str(corpus)], check=True)
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
        zipapp = [sys.executable, str(plugin / "kubectl-podsec")]
        builds = {"pip": ([sys.executable, "-m", "kubectl_podsec"], env),
                  "krew": (zipapp, env),
                  "krew, pure Python": (zipapp, {**env, "KUBECTL_PODSEC_NO_UNPACK": "1"})}
        commands = {"check -o json": ["check", "-f", str(corpus), "-o", "json"],
                    "fix --dry-run": ["fix", "-f", str(corpus), "--dry-run"]}
        timed(zipapp + ["--version"], env)  # the first run unpacks into the cache
        times = {(b, c): [] for b in builds for c in commands}
        for _ in range(args.rounds):
            for command, extra in commands.items():
                for build, (argv, build_env) in builds.items():
                    times[(build, command)].append(timed(argv + extra, build_env))
        print(f"{args.workloads} workloads ({corpus.stat().st_size / 1e6:.1f} MB), median of {args.rounds} "
              f"interleaved rounds, Python {platform.python_version()}")
        print(f"{'':24}" + "".join(f"{c:>22}" for c in commands))
        for build in builds:
            cells = []
            for command in commands:
                median = statistics.median(times[(build, command)])
                ratio = median / statistics.median(times[("pip", command)])
                cells.append(f"{median:8.2f} s = {ratio:5.2f}x")
            print(f"{build:24}" + "".join(f"{cell:>22}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
