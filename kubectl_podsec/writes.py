"""Writes that never lose what the user wrote.

The new content goes to a temporary file beside the target (written piece by piece, as a big
source is fixed part by part, and fsynced in full),
then replaces the target by a rename, with mode, owner and group kept. Nothing is written
when the file changed since it was read, or when the user may not write it. When a rename
would cut the file off from what else refers to it (another hard link, an owner we cannot
give the new file), the new content is copied into the existing file instead, and the
temporary copy is removed only once that copy is on disk.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import BinaryIO, NamedTuple

CHANGED = "changed while fix was running; not written"
READ_ONLY = "the file is read-only; not written"
NOT_REGULAR = "not a regular file; not written"


class FileIdentity(NamedTuple):
    """What was read: enough to tell whether the file is still the same before replacing it."""
    size: int
    mtime_ns: int
    inode: int
    device: int
    sha256: str


def file_identity(info: os.stat_result, data: bytes) -> FileIdentity:
    return FileIdentity(info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, hashlib.sha256(data).hexdigest())


def write_atomically(path: str, text: str | bytes, bom: bool = False,
                     expected: FileIdentity | None = None) -> str | None:
    """Write `text` (str: UTF-8, with a BOM when `bom`; bytes: as they are) to `path`; None on
    success, else a one-line reason (to follow "FILE: "), and the file is left as it was.
    `expected` is the identity of what was read: if the file no longer matches it, nothing is
    written. A missing file is created."""
    with AtomicWriter(path, expected, bom=bom) as writer:
        writer.write(text)
        return writer.commit()


class AtomicWriter:
    """The new content of `path` in pieces (write), to a temporary file beside it; commit()
    puts it in place as write_atomically says. Leaving the `with` without commit() (an error,
    a refused part, a signal) removes the temporary file: `path` stays as it was. str pieces
    are encoded in `encoding`, the first after a BOM when `bom`; bytes go as they are. A
    reason not to write (the file is read-only, a write failed) is kept, and commit() gives it."""

    def __init__(self, path: str, expected: FileIdentity | None = None, encoding: str = "utf-8",
                 bom: bool = False):
        self.path = os.path.realpath(path)  # through a symlink: fix the file it points to, keep the link
        self.expected, self.encoding, self.bom = expected, encoding, bom
        self.info: os.stat_result | None = None
        self.temporary: str | None = None
        self.handle: BinaryIO | None = None
        self.reason = self._check()

    def _check(self) -> str | None:
        try:
            self.info = os.stat(self.path)
        except FileNotFoundError:
            if self.expected is not None:  # deleted (or moved away) since it was read
                return CHANGED
            return None
        except OSError as error:
            return _reason(error)
        if not stat.S_ISREG(self.info.st_mode):
            return NOT_REGULAR
        # Root may write anything, but a file without any write bit was marked read-only on
        # purpose; like `sed -i` for other users, and unlike it for root, we leave it alone.
        if not os.access(self.path, os.W_OK) or not self.info.st_mode & 0o222:
            return READ_ONLY
        return None

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, *exc) -> None:
        self._close()
        if self.temporary is not None:  # also on KeyboardInterrupt or a signal: leave no litter
            try:
                os.unlink(self.temporary)
            except OSError:
                pass
            self.temporary = None

    def write(self, piece: str | bytes) -> None:
        if self.reason is not None:
            return
        try:
            if isinstance(piece, str):
                piece = (("\ufeff" if self.bom else "") + piece).encode(self.encoding)
                self.bom = False
            if self.handle is None:
                import tempfile  # only here: `check` never writes

                descriptor, self.temporary = tempfile.mkstemp(prefix=".podsec-", suffix=".tmp",
                                                              dir=os.path.dirname(self.path))
                self.handle = os.fdopen(descriptor, "wb")
            self.handle.write(piece)
        except OSError as error:
            self.reason = _reason(error)
        except UnicodeError as error:
            self.reason = f"cannot write: {error}; not written"

    def commit(self) -> str | None:
        """Put what was written in place of the file: None on success, else why not (and the
        file is as it was)."""
        if self.reason is None and self.handle is None:
            self.write(b"")  # an empty new content is a file too
        if self.reason is not None:
            return self.reason
        path, info, temporary = self.path, self.info, self.temporary
        assert self.handle is not None and temporary is not None  # the write above opened them
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self._close()
            if info is None:
                os.chmod(temporary, 0o666 & ~_umask())
                os.replace(temporary, path)
                self.temporary = None
                return None
            in_place = info.st_nlink > 1 or not _give_owner(temporary, info)
            if not in_place:
                os.chmod(temporary, stat.S_IMODE(info.st_mode))
                if self.expected is not None and not _unchanged(path, self.expected):
                    return CHANGED
                os.replace(temporary, path)
                self.temporary = None
                return None
            reason, keep = _overwrite(path, self.expected, temporary)
            if keep:
                self.temporary = None
            return reason
        except OSError as error:
            return _reason(error)

    def _close(self) -> None:
        if self.handle is not None:
            handle, self.handle = self.handle, None
            try:
                handle.close()
            except OSError:
                pass


def _give_owner(temporary: str, info: os.stat_result) -> bool:
    """Give the temporary file the original's owner and group; False when we may not."""
    mine = os.stat(temporary)
    if (mine.st_uid, mine.st_gid) == (info.st_uid, info.st_gid):
        return True
    try:
        os.chown(temporary, info.st_uid, info.st_gid)
    except OSError:  # not root, and not a group we are in
        return False
    return True


def _overwrite(path: str, expected: FileIdentity | None, temporary: str) -> tuple:
    """Put the content of `temporary` into the existing file (its inode, links, owner and mode
    stay); called once the full new text is safe there. If writing fails midway, the old
    bytes are put back; if even that fails, the new text is kept in `temporary` and the reason
    says so. Returns (reason or None, whether to keep the temporary file)."""
    with open(path, "r+b") as handle:
        old = handle.read()  # held for putting back: this path is for hard links and foreign owners
        if expected is not None and file_identity(os.fstat(handle.fileno()), old) != expected:
            return CHANGED, False
        try:
            with open(temporary, "rb") as new:
                handle.seek(0)
                for piece in iter(lambda: new.read(1 << 20), b""):
                    handle.write(piece)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as error:
            try:
                _replace_content(handle, old)
            except OSError:
                return f"cannot write: {error.strerror or error}; the file may be damaged, " \
                       f"the fixed text is in {temporary}", True
            return _reason(error), False
    return None, False


def _replace_content(handle, data: bytes) -> None:
    handle.seek(0)
    handle.write(data)
    handle.truncate()
    handle.flush()


def _unchanged(path: str, expected: FileIdentity) -> bool:
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if (info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev) != expected[:4]:
                return False
            return file_identity(info, handle.read()) == expected
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(error: OSError) -> str:
    return f"cannot write: {error.strerror or error}; not written"
