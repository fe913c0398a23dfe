"""The process around a command: the collector off for a short run, signals turned into a
clean stop (workers ended, temporary files removed) and a closed pipe that is not an error."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A signal asking the process to stop: raised so that `with` and `finally` blocks run
    (forked workers are ended, temporary files removed) before the process exits."""

    def __init__(self, number: int):
        super().__init__(number)
        self.number = number


def _stop(number: int, frame: object) -> None:
    for other in STOPPING:
        signal.signal(other, signal.SIG_IGN)  # one stop is enough: let the cleanup finish
    raise Stopped(number)


def run_process(main: Callable[[], int], closed_pipe_code: int) -> int:
    """main()'s exit code; 128 + N when signal N stopped it, as a shell reports (130, 143)."""
    # A short-lived process whose data has no reference cycles: the cyclic collector would
    # only rescan the growing report again and again (about a third of the run time).
    gc.disable()
    for number in STOPPING:
        signal.signal(number, _stop)
    try:
        code = main()
        sys.stdout.flush()
    except Stopped as stopped:
        code = 128 + stopped.number
    except BrokenPipeError:
        # A closed pipe (| head) is not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = closed_pipe_code
    return code
