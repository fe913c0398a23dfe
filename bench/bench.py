"""Time kubectl-podsec on a large manifest stream against a bare libyaml load of the same bytes.

Usage: python3 bench/bench.py [--workloads N] [--repeat R] [--out FILE] [--seed S] [--keep]

Measurements, best of R wall-clock times with the runs interleaved round by round (the machine
is shared and noisy, so a slow spell hits every measurement alike):

* baseline: `list(yaml.load_all(data, Loader=yaml.CSafeLoader))` on the corpus, run in a child
  interpreter like the commands below so that both sides pay for start-up, imports and reading
  the file. The same load timed inside this process is shown too, for reference.
* check: `kubectl-podsec check -o json -f CORPUS`; target: at most 1.0x the baseline.
* fix: `kubectl-podsec fix --dry-run -f CORPUS`; target: at most 2.5x the baseline. Reported as
  "not available" while the command has no `fix` subcommand.

Exit status: 0 when every measured target passes, 1 when one fails, 2 when the harness could not
measure (libyaml missing, command not found, a run crashed or exited with a status other than
0 or 1).

Environment:
  PODSEC_BENCH_CMD  the command to run instead of the installed `kubectl-podsec`, split like a
                    shell command line; the subcommand and its arguments are appended, and the
                    corpus path is always the last argument. Useful to test the harness before
                    the CLI exists (bench/README.md has stand-ins), or to compare two builds.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import corpus  # bench/corpus.py: run as a script, this file's directory is on sys.path
import yaml

TARGETS = {"check": 1.0, "fix": 2.5}
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "results.json"
BASELINE_CODE = (
    "import sys, yaml\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "list(yaml.load_all(data, Loader=yaml.CSafeLoader))\n"
)
# What argparse (and click, typer) print when a subcommand or flag does not exist yet.
NOT_AVAILABLE = re.compile(r"invalid choice|unrecognized arguments|no such (command|option)|"
                           r"unknown (command|subcommand)", re.IGNORECASE)


class HarnessError(Exception):
    """The benchmark could not measure what it was asked to."""


@dataclass
class Run:
    seconds: float
    exit_code: int = 0
    peak_rss_kib: int | None = None
    output_bytes: int | None = None


@dataclass
class Measurement:
    """One line of the table: a command (or an in-process function) run once per round."""

    name: str
    label: str
    argv: list | None = None
    in_process: Callable[[], float] | None = None
    target: float | None = None  # highest allowed ratio to the baseline; None: no target
    podsec: bool = False  # exit 1 is success (violations found); exit 2 may mean "not there"
    needs_output: bool = False  # an empty stdout means it did not do the work
    runs: list = field(default_factory=list)
    unavailable: str | None = None


# --- running ------------------------------------------------------------------------------------


def find_podsec_command() -> tuple:
    """The argv prefix for kubectl-podsec and where it came from."""
    override = os.environ.get("PODSEC_BENCH_CMD", "").strip()
    if override:
        return shlex.split(override), "PODSEC_BENCH_CMD"
    # A console script lives next to the interpreter that installed it (venv/bin).
    beside = Path(sys.executable).parent / "kubectl-podsec"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)], "console script next to " + sys.executable
    on_path = shutil.which("kubectl-podsec")
    if on_path:
        return [on_path], "console script on PATH"
    raise HarnessError(
        f"kubectl-podsec not found next to {sys.executable} or on PATH. Install it with "
        "`pip install -e .`, or set PODSEC_BENCH_CMD to the command to benchmark.")


def require_libyaml() -> str:
    if not (getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeLoader")):
        raise HarnessError(
            "PyYAML was built without libyaml (yaml.CSafeLoader is missing), so there is no "
            "baseline to compare with. Install libyaml and reinstall PyYAML, e.g. "
            "`apt-get install libyaml-dev && pip install --force-reinstall --no-binary pyyaml "
            "pyyaml`, or use a PyYAML wheel, which bundles libyaml.")
    return yaml._yaml.get_version_string()


# Each command is started by this small launcher rather than by the harness itself. On Linux a
# process's peak RSS starts at the high-water mark of the process that exec'd it (the kernel
# keeps the old memory map's peak across exec), so a child of the harness, which has held the
# whole corpus, would report at least the harness's own peak. The launcher runs with -S and stays
# at a few MiB. It times the command itself and writes "seconds exit_code maxrss" to argv[1].
LAUNCHER_CODE = r"""
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    with open(report, "w") as f:
        f.write("error " + str(exc) + "\n")
    sys.exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as f:
    f.write("%r %d %d\n" % (seconds, os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"""


def run_child(argv: list, stdout_path: Path, stderr_path: Path, timeout: float) -> Run:
    """Run argv to completion: its wall time, exit code and its own peak RSS."""
    report = stdout_path.with_suffix(".rusage")
    report.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", "-c", LAUNCHER_CODE, str(report)]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(launcher + argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the command with it
            proc.wait()
            raise HarnessError(
                f"{shlex.join(argv)} did not finish within {timeout:.0f} s") from None
    text = report.read_text() if report.exists() else ""
    if text.startswith("error") or not text.strip():
        reason = text[len("error"):].strip() or "\n" + _tail(
            stderr_path.read_text(errors="replace"), 40)
        raise HarnessError(f"cannot run {shlex.join(argv)}: {reason}")
    seconds, exit_code, max_rss = text.split()
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    rss = int(max_rss) // 1024 if sys.platform == "darwin" else int(max_rss)
    return Run(float(seconds), int(exit_code), rss, stdout_path.stat().st_size)


def baseline_in_process(data: bytes) -> Callable[[], float]:
    def measure() -> float:
        start = time.perf_counter()
        documents = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
        seconds = time.perf_counter() - start
        del documents
        gc.collect()
        return seconds
    return measure


def run_rounds(measurements: list, repeat: int, workdir: Path, timeout: float) -> None:
    """Run every measurement once per round, in order, `repeat` rounds."""
    for round_no in range(1, repeat + 1):
        progress = []
        for m in measurements:
            if m.unavailable:
                progress.append(f"{m.name} n/a")
                continue
            if m.in_process:
                m.runs.append(Run(m.in_process()))
            else:
                stdout_path = workdir / f"{m.name}.out"
                stderr_path = workdir / f"{m.name}.err"
                run = run_child(m.argv, stdout_path, stderr_path, timeout)
                if not _accept(m, run, stderr_path.read_text(errors="replace"), round_no):
                    progress.append(f"{m.name} n/a")
                    continue
                m.runs.append(run)
            progress.append(f"{m.name} {m.runs[-1].seconds:.2f}s")
        print(f"round {round_no}/{repeat}: " + ", ".join(progress), file=sys.stderr, flush=True)


def _accept(m: Measurement, run: Run, stderr: str, round_no: int) -> bool:
    """Whether the run counts; False marks the measurement unavailable; raises on failure."""
    if m.podsec and run.exit_code == 2 and round_no == 1 and NOT_AVAILABLE.search(stderr):
        m.unavailable = _first_matching_line(stderr, NOT_AVAILABLE)
        return False
    ok = {0, 1} if m.podsec else {0}
    # An uncaught Python exception also exits 1, which must not pass for "violations found".
    crashed = "Traceback (most recent call last)" in stderr
    if run.exit_code not in ok or crashed:
        raise HarnessError(
            f"{m.label} failed (exit {run.exit_code}) in round {round_no}:\n"
            f"  $ {shlex.join(m.argv)}\n" + _tail(stderr, 40))
    if m.needs_output and not run.output_bytes:
        raise HarnessError(
            f"{m.label} exited {run.exit_code} but wrote nothing to stdout in round "
            f"{round_no}:\n  $ {shlex.join(m.argv)}\n" + _tail(stderr, 40))
    return True


def _first_matching_line(text: str, pattern: re.Pattern) -> str:
    for line in text.splitlines():
        if pattern.search(line):
            return line.strip()
    return text.strip()[:200]


def _tail(text: str, lines: int) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join("  | " + line for line in kept) if kept else "  (no stderr)"


# --- the live-cluster section (hook) ------------------------------------------------------------


def live_cluster_section(args: argparse.Namespace, podsec: list) -> dict | None:
    """HOOK for the live-cluster benchmark: not written yet, returns None.

    To be filled in once there is a local synthetic API server. The intended shape:

    1. Start the synthetic kube-apiserver on loopback (serving N pods across namespaces, e.g.
       built from ../shared/recordings) and write a kubeconfig for it into a temp dir.
    2. Build two Measurement objects and time them with run_rounds(), best of args.repeat,
       interleaved, exactly like the file benchmark:
         - baseline: `kubectl get pods -A -o json` (KUBECONFIG set, stdout to a file)
         - check:    `kubectl podsec check -A` (through kubectl's plugin discovery), with a
                     target ratio to be decided
    3. Return {"pods": N, "server": "...", "measurements": summarize(...)}. main() stores it
       under "live_cluster" in the JSON and prints it with print_table().
    4. Stop the server in a `finally`.

    Report no figure that was not measured: return None to leave the section out.
    """
    return None


# --- reporting ----------------------------------------------------------------------------------


def summarize(measurements: list, baseline: Measurement, nbytes: int | None) -> dict:
    base_best = min(r.seconds for r in baseline.runs)
    out = {}
    for m in measurements:
        entry: dict = {"label": m.label}
        if m.argv:
            entry["argv"] = m.argv
        if m.unavailable or not m.runs:
            entry.update(available=False, reason=m.unavailable or "not run")
            out[m.name] = entry
            continue
        best = min(r.seconds for r in m.runs)
        entry.update(available=True, seconds=[round(r.seconds, 4) for r in m.runs],
                     best_seconds=round(best, 4),
                     mb_per_s=round(nbytes / 1e6 / best, 2) if nbytes else None,
                     ratio=round(best / base_best, 3))
        if m.target is not None:
            entry.update(target=m.target, passed=best / base_best <= m.target)
        if m.runs[0].peak_rss_kib is not None:
            entry["peak_rss_mib"] = round(max(r.peak_rss_kib for r in m.runs) / 1024, 1)
            entry["exit_codes"] = [r.exit_code for r in m.runs]
            entry["output_bytes"] = m.runs[-1].output_bytes
        out[m.name] = entry
    return out


def print_table(title: str, summary: dict) -> None:
    print(title)
    print(f"  {'measurement':<34}{'best s':>8}{'MB/s':>8}{'ratio':>8}{'target':>8}"
          f"{'verdict':>9}{'peak RSS':>11}")
    for entry in summary.values():
        if not entry["available"]:
            print(f"  {entry['label']:<34}  not available ({entry['reason']})")
            continue
        target = f"<={entry['target']:g}" if "target" in entry else "-"
        verdict = ("PASS" if entry["passed"] else "FAIL") if "passed" in entry else "-"
        rss = f"{entry['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in entry else "-"
        mbps = f"{entry['mb_per_s']:.1f}" if entry.get("mb_per_s") else "-"
        print(f"  {entry['label']:<34}{entry['best_seconds']:>8.3f}{mbps:>8}"
              f"{entry['ratio']:>8.2f}{target:>8}{verdict:>9}{rss:>11}")


# --- main ---------------------------------------------------------------------------------------


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark kubectl-podsec against a bare libyaml load.",
        epilog="Set PODSEC_BENCH_CMD to benchmark another command (see bench/README.md).")
    parser.add_argument("--workloads", type=int, default=10000,
                        help="workloads in the corpus (default 10000, about 11 MB)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; best of R (default 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="JSON results file (default bench/out/results.json)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds before one run is killed (default 600)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir with the corpus and the last outputs")
    parser.add_argument("--live-cluster", action="store_true",
                        help="also run the live-cluster section (not written yet)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.workloads < 1:
        parser.error("--repeat and --workloads must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="podsec-bench-"))
    try:
        return _bench(args, workdir)
    except HarnessError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(args: argparse.Namespace, workdir: Path) -> int:
    libyaml_version = require_libyaml()
    podsec, podsec_source = find_podsec_command()

    start = time.perf_counter()
    built = corpus.build(args.workloads, args.seed)
    generate_seconds = time.perf_counter() - start
    data = built.data
    n_documents = len(built.documents)
    del built
    corpus_path = workdir / "corpus.yaml"
    corpus_path.write_bytes(data)
    corpus_path_s = str(corpus_path)

    baseline = Measurement("baseline", "baseline: libyaml load_all",
                           argv=[sys.executable, "-c", BASELINE_CODE, corpus_path_s])
    measurements = [
        baseline,
        Measurement("baseline_in_process", "  same load, in-process",
                    in_process=baseline_in_process(data)),
        Measurement("check", "check -o json",
                    argv=[*podsec, "check", "-o", "json", "-f", corpus_path_s],
                    target=TARGETS["check"], podsec=True, needs_output=True),
        Measurement("fix", "fix --dry-run",
                    argv=[*podsec, "fix", "--dry-run", "-f", corpus_path_s],
                    target=TARGETS["fix"], podsec=True),
    ]
    print(f"corpus: {args.workloads:,} workloads, {len(data) / 1e6:.1f} MB, {n_documents:,} "
          f"documents (generated in {generate_seconds:.2f} s); command: {shlex.join(podsec)}",
          file=sys.stderr)
    run_rounds(measurements, args.repeat, workdir, args.timeout)
    summary = summarize(measurements, baseline, len(data))

    live = None
    if args.live_cluster:
        live = live_cluster_section(args, podsec)
        if live is None:
            print("live cluster: not implemented yet (see live_cluster_section in bench.py)",
                  file=sys.stderr)

    print_table(f"kubectl-podsec benchmark: {args.workloads:,} workloads, "
                f"{len(data) / 1e6:.1f} MB, best of {args.repeat} interleaved rounds; "
                "ratio = best / best baseline", summary)
    if live is not None:
        print_table(f"live cluster: {live.get('pods', '?')} pods", live["measurements"])

    results = {
        "schema": "kubectl-podsec-bench/1",
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "host": {"platform": platform.platform(), "python": platform.python_version(),
                 "cpus": os.cpu_count(), "pyyaml": yaml.__version__, "libyaml": libyaml_version},
        "corpus": {"workloads": args.workloads, "seed": args.seed, "bytes": len(data),
                   "documents": n_documents, "sha256": hashlib.sha256(data).hexdigest(),
                   "generate_seconds": round(generate_seconds, 3)},
        "repeat": args.repeat,
        "order": [m.name for m in measurements],
        "command": {"argv": podsec, "source": podsec_source},
        "targets": TARGETS,
        "measurements": summary,
        "live_cluster": live,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}", file=sys.stderr)
    failed = [e for e in summary.values() if e.get("passed") is False]
    if live:
        failed += [e for e in live["measurements"].values() if e.get("passed") is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
