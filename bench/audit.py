#!/usr/bin/env python3
"""Throughput of `kubectl podsec audit` on a generated ~1 GB audit log, in events per second.

    python3 bench/audit.py [--size-mb 1000] [--rounds 2] [--gzip] [--keep]

The log is made in a temporary directory (removed afterwards unless --keep) from the real
v1.36 events in tests/data/audit/: the 591 recorded events are repeated with their namespaces
renamed per copy (`audit-restricted-17`), so the log has as many distinct objects and groups as
a large cluster would, and the same mix of Metadata-level events (540 of 591 with findings,
long annotation values, 403s). Each round runs the installed command as a child process
(`python -m kubectl_podsec audit FILE -o json > /dev/null`); the best wall time counts.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "audit"
SOURCES = ("audit-2026-12-03T19-29-23.974.log.gz", "audit.log.gz")


def generate(path: Path, size_mb: int, compress: bool) -> int:
    """Write the log; returns its event count."""
    block = b"".join(gzip.decompress((DATA / name).read_bytes()) for name in SOURCES)
    per_block = block.count(b"\n")
    namespaces = sorted(set(re.findall(rb'"namespace":"([^"]+)"', block)))
    target, written, copies = size_mb * 10**6, 0, 0
    opener = gzip.open if compress else open
    with opener(path, "wb") as out:
        while written < target:
            chunk = block
            for namespace in namespaces:  # whole JSON strings only: "audit-v122" stays distinct from "audit-v1220"
                chunk = chunk.replace(b'"' + namespace + b'"', b'"' + namespace + b"-%d\"" % copies)
            out.write(chunk)
            written += len(chunk)
            copies += 1
    return per_block * copies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="size of the uncompressed log (10^6 bytes)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gzip", action="store_true", help="write and read the log gzip-compressed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="podsec-audit-bench-"))
    try:
        path = directory / ("audit.log.gz" if args.gzip else "audit.log")
        started = time.perf_counter()
        events = generate(path, args.size_mb, args.gzip)
        size = path.stat().st_size
        print(f"generated {path.name}: {size / 1e6:.0f} MB, {events} events in {time.perf_counter() - started:.1f}s")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        best = None
        for _ in range(args.rounds):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "kubectl_podsec", "audit", str(path), "-o", "json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
            elapsed = time.perf_counter() - started
            if done.returncode not in (0, 1):
                print(done.stderr.decode(errors="replace")[-2000:], file=sys.stderr)
                return 2
            best = elapsed if best is None else min(best, elapsed)
        uncompressed = args.size_mb * 10**6 if args.gzip else size
        print(f"audit -o json: best of {args.rounds}: {best:.1f}s, {events / best:,.0f} events/s, "
              f"{uncompressed / 1e6 / best:.0f} MB/s of log text")
    finally:
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
