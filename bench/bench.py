"""Time kubectl-podsec on a large manifest stream against a bare libyaml load of the same bytes.

Usage: python3 bench/bench.py [--workloads N] [--mix mixed|unhardened] [--tree FILES]
                              [--memory-mb MB] [--repeat R] [--out FILE] [--seed S] [--keep]

Measurements, the median of R wall-clock times with the runs interleaved round by round (the
machine is shared and noisy, so a slow spell hits every measurement alike):

* baseline: `list(yaml.load_all(data, Loader=yaml.CSafeLoader))` on the corpus, run in a child
  interpreter like the commands below so that both sides pay for start-up, imports and reading
  the file. The same load timed inside this process is shown too, for reference.
* check: `kubectl-podsec check -o json -f CORPUS`; target: at most 0.6x the baseline.
* fix: `kubectl-podsec fix --dry-run -f CORPUS`; target: at most 1.0x the baseline.
* --mix unhardened: a corpus where two thirds of the workloads need edits (default: mixed, half).
* --tree FILES: the corpus's documents dealt into FILES files of 1-5 documents (a GitOps
  repository); `check -R -o json` (target 1.0x) and `fix --dry-run -R` (target 1.5x) against
  loading the same files with libyaml in one process.
* --memory-mb MB: the peak RSS of `check -o json` and of an in-place `fix` on a stream of about
  MB megabytes (the corpus repeated); target: at most 500 MiB each.
* with --live-cluster (or --live-only): `kubectl podsec check -A -o json` against
  `kubectl get pods -A -o json > /dev/null`, both through the real kubectl, from a local
  synthetic apiserver (tests/kube_replay.py) serving 10,000 pods in 100 namespaces in pages;
  target: our extra time at most 0.2 of kubectl's own. Also the peak RSS of our own process
  (target: 300 MiB, at --live-pods 100000) and, separately, of the kubectl processes it runs.

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
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import corpus  # bench/corpus.py: run as a script, this file's directory is on sys.path
import yaml

TARGETS = {"check": 0.6, "fix": 1.0, "tree_check": 1.0, "tree_fix": 1.5}
# Live cluster: our extra time over `kubectl get pods -A -o json`, as a fraction of kubectl's.
LIVE_EXTRA_TARGET = 0.2
LIVE_RSS_TARGET_MIB = 300  # the plugin's own peak RSS, set for 100,000 pods (--live-pods 100000)
MEMORY_TARGET_MIB = 500  # peak RSS on a big stream (--memory-mb), check -o json and in-place fix
TREE_BASELINE_CODE = (
    "import sys, yaml\n"
    "for path in open(sys.argv[1]).read().split('\\n'):\n"
    "    list(yaml.load_all(open(path, 'rb').read(), Loader=yaml.CSafeLoader))\n"
)
TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"  # kube_replay.py lives there
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
    env: dict | None = None  # the command's environment; None: this process's
    stdout: Path | None = None  # where its stdout goes; None: <name>.out in the workdir
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


def run_child(argv: list, stdout_path: Path, stderr_path: Path, timeout: float,
              env: dict | None = None) -> Run:
    """Run argv to completion: its wall time, exit code and its own peak RSS."""
    report = stderr_path.with_suffix(".rusage")  # stdout may be /dev/null
    report.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", "-c", LAUNCHER_CODE, str(report)]
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(launcher + argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True, env=env)
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
    size = stdout_path.stat().st_size if stdout_path.is_file() else None
    return Run(float(seconds), int(exit_code), rss, size)


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
                stdout_path = m.stdout or workdir / f"{m.name}.out"
                stderr_path = workdir / f"{m.name}.err"
                run = run_child(m.argv, stdout_path, stderr_path, timeout, m.env)
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


# --- the live-cluster section ------------------------------------------------------------------

# `kubectl podsec` finds the plugin as `kubectl-podsec` on PATH; this one runs the command
# under test. With PODSEC_BENCH_PIDFILE set (only in the untimed memory run) it first writes
# its pid, which `exec` hands on to the command, so that the command's own memory can be read.
PLUGIN_WRAPPER = """#!/bin/sh
if [ -n "$PODSEC_BENCH_PIDFILE" ]; then echo $$ > "$PODSEC_BENCH_PIDFILE"; fi
exec {command} "$@"
"""
# In the untimed memory run the plugin's KUBECTL: runs the real kubectl and appends its peak
# RSS in KiB (ru_maxrss, which includes what the gcloud dispatcher execs) to a file, one line
# per kubectl run.
KUBECTL_RSS_WRAPPER = """#!{python} -S
import os, sys
pid = os.fork()
if pid == 0:
    os.execv({kubectl!r}, [{kubectl!r}] + sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
with open({log!r}, "a") as log:
    log.write(f"{{usage.ru_maxrss}}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def live_cluster_section(args: argparse.Namespace, podsec: list) -> dict | None:
    """`kubectl podsec check -A -o json` against `kubectl get pods -A -o json > /dev/null`.

    Both go through the real kubectl (the one on PATH) to SyntheticCluster from
    tests/kube_replay.py on loopback: args.live_pods pods in args.live_namespaces namespaces,
    plus the other eight workload kinds, listed in pages of 500 (kubectl's default chunk
    size) through continue tokens. Every list is generated and rendered once before anything
    is timed, and kubectl's discovery cache is filled, so that both sides start alike. Best
    of args.repeat, interleaved as in the file benchmark.

    Reported: our extra time as a fraction of kubectl's own (target LIVE_EXTRA_TARGET; in the
    table the same target shows as a ratio of 1 + LIVE_EXTRA_TARGET), the peak RSS of each
    command with the processes it runs (for the plugin, that includes its kubectl), the
    peak RSS of the plugin's own process (its VmHWM, from one more, untimed, run; Linux;
    target LIVE_RSS_TARGET_MIB) and, from the same run, the largest peak RSS of the kubectl
    processes it ran, and how many it ran.
    Returns None, leaving the section out, when kubectl is not on PATH.
    """
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("live cluster: kubectl is not on PATH; section left out", file=sys.stderr)
        return None
    if str(TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(TESTS_DIR))
    import kube_replay  # noqa: E402  (tests/kube_replay.py: the fake apiservers)

    workdir = Path(tempfile.mkdtemp(prefix="podsec-bench-live-"))
    try:
        with kube_replay.SyntheticCluster(pods=args.live_pods,
                                          namespaces=args.live_namespaces) as cluster:
            start = time.perf_counter()
            _warm_up(cluster.url, kube_replay.WORKLOADS)
            generate_seconds = time.perf_counter() - start
            env = kube_replay.kubectl_env(workdir, cluster.url)
            env.pop("PODSEC_BENCH_PIDFILE", None)
            bindir = workdir / "bin"
            bindir.mkdir()
            wrapper = bindir / "kubectl-podsec"
            wrapper.write_text(PLUGIN_WRAPPER.format(command=shlex.join(podsec)))
            wrapper.chmod(0o755)
            env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
            subprocess.run([kubectl, "get", "namespaces", "-o", "name"], env=env, check=True,
                           capture_output=True, timeout=args.timeout)

            baseline = Measurement("kubectl", "kubectl get pods -A -o json",
                                   argv=[kubectl, "get", "pods", "-A", "-o", "json"],
                                   env=env, stdout=Path(os.devnull))
            check = Measurement("podsec", "kubectl podsec check -A -o json",
                                argv=[kubectl, "podsec", "check", "-A", "-o", "json"],
                                target=1 + LIVE_EXTRA_TARGET, podsec=True, needs_output=True,
                                env=env)
            print(f"live cluster: {args.live_pods:,} pods in {args.live_namespaces} namespaces "
                  f"(generated in {generate_seconds:.2f} s); kubectl: {kubectl}", file=sys.stderr)
            cluster.requests.clear()
            run_rounds([baseline, check], args.repeat, workdir, args.timeout)
            pages = [r for r in cluster.requests if r.startswith("GET /api/v1/pods?")]
            if not any("continue=" in r for r in pages):
                raise HarnessError("the pods were not listed in pages (no continue token sent)")
            objects = _count_objects(workdir / "podsec.out")
            own_rss, kubectl_rss = _own_peak_rss(check.argv, env, workdir, args.timeout, kubectl)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    measurements = summarize([baseline, check], baseline, None)
    kubectl_best = measurements["kubectl"]["median_seconds"]
    extra = measurements["podsec"]["median_seconds"] - kubectl_best
    extra_ratio = extra / kubectl_best
    measurements["podsec"].update(extra_seconds=round(extra, 4), extra_ratio=round(extra_ratio, 3))
    rss_passed = True
    if own_rss is not None:
        measurements["podsec"]["own_peak_rss_mib"] = round(own_rss / 1024, 1)
        rss_passed = own_rss / 1024 <= LIVE_RSS_TARGET_MIB
    if kubectl_rss:
        measurements["podsec"]["kubectl_peak_rss_mib"] = round(max(kubectl_rss) / 1024, 1)
        measurements["podsec"]["kubectl_runs"] = len(kubectl_rss)
    return {
        "pods": args.live_pods, "namespaces": args.live_namespaces,
        "server": "SyntheticCluster (tests/kube_replay.py), plain HTTP on 127.0.0.1",
        "kubectl": kubectl, "generate_seconds": round(generate_seconds, 3),
        "pod_pages_per_run": len(pages) // (2 * args.repeat), "objects_reported": objects,
        "extra_target": LIVE_EXTRA_TARGET, "extra_ratio": round(extra_ratio, 3),
        "rss_target_mib": LIVE_RSS_TARGET_MIB, "rss_passed": rss_passed,
        "passed": extra_ratio <= LIVE_EXTRA_TARGET and rss_passed,
        "measurements": measurements,
    }


def _warm_up(url: str, workloads: list) -> None:
    """Make the synthetic server generate and render every list before anything is timed."""
    for group_version, plural, _ in workloads + [("v1", "namespaces", "NamespaceList")]:
        root = "api" if group_version == "v1" else "apis"
        with urllib.request.urlopen(f"{url}/{root}/{group_version}/{plural}?limit=1") as answer:
            answer.read()


def _own_peak_rss(argv: list, env: dict, workdir: Path, timeout: float, kubectl: str) -> tuple:
    """(peak RSS in KiB of the plugin's own process, without the kubectl it runs: its VmHWM,
    polled until it exits; the peak RSS in KiB of each kubectl run it made). Linux only;
    (None, []) elsewhere."""
    if not Path("/proc/self/status").exists():
        return None, []
    pidfile, log = workdir / "podsec.pid", workdir / "kubectl-rss.log"
    wrapper = workdir / "kubectl-rss"
    wrapper.write_text(KUBECTL_RSS_WRAPPER.format(python=sys.executable, kubectl=kubectl, log=str(log)))
    wrapper.chmod(0o755)
    peak = None
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(argv, env=dict(env, PODSEC_BENCH_PIDFILE=str(pidfile), KUBECTL=str(wrapper)),
                                stdin=subprocess.DEVNULL, stdout=devnull, stderr=devnull)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                status = Path(f"/proc/{int(pidfile.read_text())}/status").read_text()
                match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
                if match:
                    peak = max(peak or 0, int(match.group(1)))
            except (OSError, ValueError):
                pass  # not started yet, or already gone
            time.sleep(0.005)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise HarnessError(f"{shlex.join(argv)} did not finish within {timeout:.0f} s")
    kubectl_rss = [int(line) for line in log.read_text().split()] if log.exists() else []
    return peak, kubectl_rss


def _count_objects(path: Path) -> int | None:
    try:
        return len(json.loads(path.read_bytes())["objects"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def print_live(live: dict) -> None:
    print_table(f"live cluster: {live['pods']:,} pods in {live['namespaces']} namespaces, "
                "through the real kubectl; ratio = median / median kubectl get pods",
                live["measurements"])
    ours, theirs = live["measurements"]["podsec"], live["measurements"]["kubectl"]
    verdict = "PASS" if live["passed"] else "FAIL"
    print(f"  our extra time: {ours['extra_seconds']:.3f} s = {live['extra_ratio']:.2f} of "
          f"kubectl's own {theirs['median_seconds']:.3f} s (target <= {live['extra_target']:g}): "
          f"{verdict}")
    own = ours.get("own_peak_rss_mib")
    rss_verdict = "PASS" if live["rss_passed"] else "FAIL"
    print(f"  peak RSS: kubectl-podsec's own process "
          f"{'not measured' if own is None else f'{own:.0f} MiB'} (target <= {live['rss_target_mib']} MiB "
          f"at 100,000 pods): {rss_verdict}; the kubectl processes it runs: "
          f"{ours.get('kubectl_peak_rss_mib', 0):.0f} MiB at most, {ours.get('kubectl_runs', 0)} runs; "
          f"together {ours['peak_rss_mib']:.0f} MiB; kubectl get pods {theirs['peak_rss_mib']:.0f} MiB")
    print(f"  {live['objects_reported']} objects reported; pods listed in "
          f"{live['pod_pages_per_run']} pages per run")


# --- reporting ----------------------------------------------------------------------------------


def _median(values: list) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summarize(measurements: list, baseline: Measurement, nbytes: int | None) -> dict:
    """Medians of the interleaved rounds (a best-of hides the noise it should average)."""
    base_best = _median([r.seconds for r in baseline.runs])
    out = {}
    for m in measurements:
        entry: dict = {"label": m.label}
        if m.argv:
            entry["argv"] = m.argv
        if m.unavailable or not m.runs:
            entry.update(available=False, reason=m.unavailable or "not run")
            out[m.name] = entry
            continue
        best = _median([r.seconds for r in m.runs])
        entry.update(available=True, seconds=[round(r.seconds, 4) for r in m.runs],
                     median_seconds=round(best, 4),
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
    print(f"  {'measurement':<34}{'median':>8}{'MB/s':>8}{'ratio':>8}{'target':>8}"
          f"{'verdict':>9}{'peak RSS':>11}")
    for entry in summary.values():
        if not entry["available"]:
            print(f"  {entry['label']:<34}  not available ({entry['reason']})")
            continue
        target = f"<={entry['target']:g}" if "target" in entry else "-"
        verdict = ("PASS" if entry["passed"] else "FAIL") if "passed" in entry else "-"
        rss = f"{entry['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in entry else "-"
        mbps = f"{entry['mb_per_s']:.1f}" if entry.get("mb_per_s") else "-"
        print(f"  {entry['label']:<34}{entry['median_seconds']:>8.3f}{mbps:>8}"
              f"{entry['ratio']:>8.2f}{target:>8}{verdict:>9}{rss:>11}")


# --- main ---------------------------------------------------------------------------------------


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark kubectl-podsec against a bare libyaml load.",
        epilog="Set PODSEC_BENCH_CMD to benchmark another command (see bench/README.md).")
    parser.add_argument("--workloads", type=int, default=10000,
                        help="workloads in the corpus (default 10000, about 11 MB)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; median of R (default 3)")
    parser.add_argument("--mix", choices=sorted(corpus.MIXES), default="mixed",
                        help="corpus level mix: mixed, or unhardened (two thirds need edits)")
    parser.add_argument("--tree", type=int, default=0, metavar="FILES",
                        help="also a tree of FILES small files (1-5 documents each, like a GitOps "
                             "repository): check and fix --dry-run against loading them in one process")
    parser.add_argument("--memory-mb", type=int, default=0, metavar="MB",
                        help="also the peak RSS of check -o json and of an in-place fix on a stream of "
                             "about MB megabytes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="JSON results file (default bench/out/results.json)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds before one run is killed (default 600)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir with the corpus and the last outputs")
    parser.add_argument("--live-cluster", action="store_true",
                        help="also time `kubectl podsec check -A` against `kubectl get pods -A` "
                             "on a local synthetic apiserver (needs kubectl on PATH)")
    parser.add_argument("--live-only", action="store_true",
                        help="only the live-cluster section: no corpus, no file benchmark")
    parser.add_argument("--live-pods", type=int, default=10000,
                        help="pods in the synthetic cluster (default 10000)")
    parser.add_argument("--live-namespaces", type=int, default=100,
                        help="namespaces in the synthetic cluster (default 100)")
    args = parser.parse_args(argv)
    args.live_cluster = args.live_cluster or args.live_only
    if min(args.repeat, args.workloads, args.live_pods, args.live_namespaces) < 1:
        parser.error("--repeat, --workloads, --live-pods and --live-namespaces must be at least 1")

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
    if args.live_only:
        return _bench_live_only(args)
    libyaml_version = require_libyaml()
    podsec, podsec_source = find_podsec_command()

    start = time.perf_counter()
    built = corpus.build(args.workloads, args.seed, args.mix)
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
    if args.tree:
        tree_list = _write_tree(data, workdir / "tree", args.tree, args.seed)
        measurements += [
            Measurement("tree_baseline", f"tree baseline: load {args.tree} files",
                        argv=[sys.executable, "-c", TREE_BASELINE_CODE, str(tree_list)]),
            Measurement("tree_check", "tree: check -R -o json",
                        argv=[*podsec, "check", "-o", "json", "-R", "-f", str(workdir / "tree")],
                        target=TARGETS["tree_check"], podsec=True, needs_output=True),
            Measurement("tree_fix", "tree: fix --dry-run -R",
                        argv=[*podsec, "fix", "--dry-run", "-R", "-f", str(workdir / "tree")],
                        target=TARGETS["tree_fix"], podsec=True),
        ]
    print(f"corpus: {args.workloads:,} workloads ({args.mix}), {len(data) / 1e6:.1f} MB, {n_documents:,} "
          f"documents (generated in {generate_seconds:.2f} s); command: {shlex.join(podsec)}",
          file=sys.stderr)
    run_rounds(measurements, args.repeat, workdir, args.timeout)
    tree_names = {"tree_baseline", "tree_check", "tree_fix"}
    summary = summarize([m for m in measurements if m.name not in tree_names], baseline, len(data))
    tree = None
    if args.tree:
        tree_ms = [m for m in measurements if m.name in tree_names]
        tree = summarize(tree_ms, tree_ms[0], None)
    memory = _memory_section(args, podsec, data, workdir) if args.memory_mb else None

    live = None
    if args.live_cluster:
        live = live_cluster_section(args, podsec)

    print_table(f"kubectl-podsec benchmark: {args.workloads:,} workloads ({args.mix}), "
                f"{len(data) / 1e6:.1f} MB, median of {args.repeat} interleaved rounds; "
                "ratio = median / median baseline", summary)
    if tree is not None:
        print_table(f"a tree of {args.tree} small files; ratio against loading them in one process", tree)
    if memory is not None:
        print(f"peak RSS on a {memory['megabytes']:.0f} MB stream (target <= {MEMORY_TARGET_MIB} MiB): "
              + ", ".join(f"{name} {entry['peak_rss_mib']:.0f} MiB in {entry['seconds']:.1f} s"
                          for name, entry in memory["measurements"].items()))
    if live is not None:
        print_live(live)

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
        "tree": tree,
        "memory": memory,
        "live_cluster": live,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}", file=sys.stderr)
    failed = [e for e in summary.values() if e.get("passed") is False]
    failed += [e for e in (tree or {}).values() if e.get("passed") is False]
    failed += [e for e in (memory or {"measurements": {}})["measurements"].values() if not e["passed"]]
    if live:
        failed += [e for e in live["measurements"].values() if e.get("passed") is False]
    return 1 if failed else 0


def _write_tree(data: bytes, root: Path, files: int, seed: int) -> Path:
    """The corpus's documents dealt into `files` files of 1-5 documents, in folders of 50, as a
    GitOps repository holds them; returns a file listing their paths, for the baseline."""
    import random

    rng = random.Random(seed)
    documents = [d for d in re.split(rb"(?m)^(?=---)", data) if d.strip()]
    paths, at = [], 0
    for number in range(files):
        count = rng.randint(1, 5)
        chunk = documents[at:at + count] or documents[:count]  # a short corpus starts over
        at += count
        path = root / f"app-{number // 50:03d}" / f"manifest-{number:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(chunk))
        paths.append(str(path))
    listing = root.parent / "tree-files.txt"
    listing.write_text("\n".join(paths))
    return listing


def _memory_section(args: argparse.Namespace, podsec: list, data: bytes, workdir: Path) -> dict:
    """Peak RSS of check -o json and of an in-place fix on a stream of about --memory-mb MB
    (the corpus repeated), one run each."""
    big = workdir / "big.yaml"
    copies = max(1, round(args.memory_mb * 1e6 / len(data)))
    with open(big, "wb") as out:
        for _ in range(copies):
            out.write(data)
            if not data.endswith(b"\n"):
                out.write(b"\n")
    fixed = workdir / "big-fix.yaml"
    shutil.copyfile(big, fixed)
    entries = {}
    for name, argv in (("check -o json", [*podsec, "check", "-o", "json", "-f", str(big)]),
                       ("fix (in place)", [*podsec, "fix", "-f", str(fixed)])):
        run = run_child(argv, workdir / "memory.out", workdir / "memory.err", args.timeout)
        entries[name] = {"seconds": round(run.seconds, 2), "peak_rss_mib": round(run.peak_rss_kib / 1024, 1),
                         "exit_code": run.exit_code,
                         "passed": run.peak_rss_kib / 1024 <= MEMORY_TARGET_MIB and run.exit_code in (0, 1)}
    for path in (big, fixed, workdir / "memory.out"):
        path.unlink(missing_ok=True)
    return {"megabytes": copies * len(data) / 1e6, "target_mib": MEMORY_TARGET_MIB, "measurements": entries}


def _bench_live_only(args: argparse.Namespace) -> int:
    podsec, podsec_source = find_podsec_command()
    live = live_cluster_section(args, podsec)
    if live is None:
        raise HarnessError("the live-cluster section could not run (see above)")
    print_live(live)
    results = {
        "schema": "kubectl-podsec-bench/1",
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "host": {"platform": platform.platform(), "python": platform.python_version(),
                 "cpus": os.cpu_count()},
        "corpus": None, "repeat": args.repeat,
        "command": {"argv": podsec, "source": podsec_source},
        "targets": TARGETS, "measurements": {}, "live_cluster": live,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.out}", file=sys.stderr)
    return 0 if live["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
