"""Big inputs in several processes: cut a text at `---` lines, map a worker over the parts in
forked processes, and end them however the parent stops.

Each worker gets the shared value (a Source, the options) through the pool's initializer: with
fork it is inherited, never pickled, and the parent keeps no global state.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from kubectl_podsec.errors import WorkerDied

_WORKER_SHARED = None  # set in each worker process only, by its initializer


# Below this size a second process costs more than it saves.
PARALLEL_MIN_CHARS = 4 << 20


def parallel_min_chars() -> int:
    """PARALLEL_MIN_CHARS, or $KUBECTL_PODSEC_PARALLEL_BYTES: tests reach the parallel path
    with small inputs through it."""
    value = os.environ.get("KUBECTL_PODSEC_PARALLEL_BYTES", "")
    return int(value) if value.isdigit() else PARALLEL_MIN_CHARS


def split_for_workers(text: str, jobs: int, min_chars: int | None = None) -> list:
    """(start, end, line) of up to `jobs` parts of about equal size, cut at `---` lines
    (a document never spans one); one part below `min_chars` (default parallel_min_chars())."""
    if jobs < 2 or len(text) < (parallel_min_chars() if min_chars is None else min_chars):
        return [(0, len(text), 0)]
    return _cut(text, jobs)


def split_for_stream(text: str, jobs: int, min_chars: int | None = None) -> list:
    """(start, end, line) of the parts to read one after the other (in up to `jobs`
    processes): of about half `min_chars` each and at least `jobs` of them, so that a caller
    holds the results of a few parts at a time whatever the size; one part below `min_chars`,
    or when a directive line (`%TAG`) would be cut off from its document."""
    minimum = parallel_min_chars() if min_chars is None else min_chars
    if len(text) < minimum or has_directive(text):
        return [(0, len(text), 0)]
    return _cut(text, max(jobs, -(-len(text) // max(minimum // 2, 1))))


def has_directive(text: str) -> bool:
    """Whether a line starts with `%` (a YAML directive, or text that libyaml would take
    for one). `%` is rare and `\\n` is not: finding each `%` is several times faster than
    looking for `\\n%`."""
    at = text.find("%")
    while at >= 0:
        if at == 0 or text[at - 1] == "\n":
            return True
        at = text.find("%", at + 1)
    return False


def _cut(text: str, count: int) -> list:
    cuts, line, previous = [0], 0, 0
    for part in range(1, count):
        at = text.find("\n---", max(len(text) * part // count, cuts[-1]))
        while at >= 0 and text[at + 4:at + 5] not in ("", " ", "\t", "\r", "\n"):
            at = text.find("\n---", at + 1)
        if at < 0:
            break
        cuts.append(at + 1)
    cuts.append(len(text))
    parts = []
    for start, end in zip(cuts, cuts[1:]):
        line += text.count("\n", previous, start)
        previous = start
        parts.append((start, end, line))
    return parts


def map_parts(worker, parts: list, shared) -> list:
    """worker(part) for every part, in forked processes that inherit `shared` (a worker reads
    it with shared()). However the parent stops (an exception, or a signal the CLI turns into
    one), the workers are ended; a worker whose parent died without that ends too (Linux)."""
    with _workers(len(parts), shared) as pool:
        pending = [pool.submit(worker, part) for part in parts]
        return [_answer(future) for future in pending]


def imap_parts(function, parts: list, shared, jobs: int):
    """function(shared, part) for every part, in order, each as soon as it is ready: in up to
    `jobs` forked processes that inherit `shared` (as map_parts), or in this one for jobs < 2.
    Stopping the iteration ends the workers."""
    if jobs < 2:
        for part in parts:
            yield function(shared, part)
        return
    from collections import deque

    processes = min(jobs, len(parts))
    with _workers(processes, shared) as pool:
        # A few parts ahead of the caller, not all: mapping them all would queue every
        # finished part whenever the caller is slower than the workers (writing a report).
        waiting: deque = deque()
        ahead = iter(parts)
        for part in ahead:
            waiting.append(pool.submit(_call, (function, part)))
            if len(waiting) >= 2 * processes:
                break
        while waiting:
            result = _answer(waiting.popleft())
            for part in ahead:
                waiting.append(pool.submit(_call, (function, part)))
                break
            yield result


@contextmanager
def _workers(processes: int, shared):
    """A pool of forked workers that inherit `shared`, ended when the block is left, however.
    concurrent.futures, not multiprocessing.Pool: a Pool whose worker dies (the out-of-memory
    killer, or `timeout` signalling the whole process group) replaces it without a word, never
    answers for its part, and can hang for ever on the queue lock the dead worker held."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_start, initargs=(os.getpid(), shared))
    try:
        yield pool
    except BaseException as error:
        # Stopped early (an error, a signal, the caller closing the iteration): end the
        # workers now rather than let them finish parts nobody will read. No public way to
        # do so before Python 3.14 (terminate_workers); the pool has kept them in
        # `_processes` (pid -> Process) since it was written. The shutdown that follows waits
        # for the pool's own thread, which must not outlive this process's exit.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        if isinstance(error, BrokenProcessPool):  # a worker died: its part is lost
            raise WorkerDied() from None
        raise
    pool.shutdown(wait=True)


def _answer(future):
    """future.result(), woken every tenth of a second: a signal that the kernel hands to one
    of the pool's threads has its Python handler run only once this thread runs Python code
    again (and `timeout` signals the whole group, so it happens)."""
    from concurrent.futures import TimeoutError as Waiting

    while True:
        try:
            return future.result(timeout=0.1)
        except Waiting:
            continue


def imap_batched(function, items: list, weights: list, shared, jobs: int):
    """function(shared, item) for every item, in order: the items in batches of about equal
    weight (their sizes) spread over up to `jobs` forked processes, when they weigh at least
    parallel_min_chars() in all; else in this process. Many small files take both cores."""
    minimum, total = parallel_min_chars(), sum(weights)
    if jobs < 2 or total < minimum or len(items) < 2:
        for item in items:
            yield function(shared, item)
        return
    size = max(1, min(total // (jobs * 4), minimum // 2))
    batches, batch, weight = [], [], 0
    for item, item_weight in zip(items, weights):
        batch.append(item)
        weight += item_weight
        if weight >= size:
            batches.append(batch)
            batch, weight = [], 0
    if batch:
        batches.append(batch)
    for results in imap_parts(_run_batch, batches, (function, shared), jobs):
        yield from results


def _run_batch(shared: tuple, batch: list) -> list:
    function, value = shared
    return [function(value, item) for item in batch]


def _call(task: tuple):
    function, part = task
    return function(_WORKER_SHARED, part)


def _worker_start(parent: int, value) -> None:
    """Signals are the parent's business: it turns them into an orderly stop and then ends
    the workers with SIGTERM, which must kill them silently (no KeyboardInterrupt traceback
    from each worker on Ctrl-C, no Python handler inherited through fork)."""
    global _WORKER_SHARED
    import signal

    _WORKER_SHARED = value
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    try:  # Linux: die with the parent even if it is killed outright (SIGKILL, a crash)
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def shared():
    """In a worker: the value map_parts shared."""
    return _WORKER_SHARED


def default_jobs() -> int:
    """Processes for big inputs: the cores this process may use, where fork exists (asked of
    os, not multiprocessing: importing that costs every run, most of which never fork)."""
    if not hasattr(os, "fork"):
        return 1
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:
        return max(1, min(4, os.cpu_count() or 1))
