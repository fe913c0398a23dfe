"""The one exception the use cases raise for the user to act on."""

from __future__ import annotations


class UsageError(Exception):
    """Bad options or settings: the CLI prints `error: <message>` and exits 2. `said` are the
    stderr lines the run had already produced (kubectl's warnings), printed first."""

    def __init__(self, message: str, said=()):
        super().__init__(message)
        self.said = tuple(said)


class WorkerDied(Exception):
    """A worker process ended without answering (a signal to the whole process group, the
    out-of-memory killer): its part would be missing, so the run stops; fix writes nothing."""

    def __init__(self) -> None:
        super().__init__("a worker process ended abruptly (killed, or out of memory) before it finished "
                         "its part; the run stopped")
