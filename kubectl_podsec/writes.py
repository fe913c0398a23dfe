"""Atomic writes: a temporary file beside the target, then a rename, the mode kept."""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Optional, Union


def write_atomically(path: str, text: Union[str, bytes], bom: bool = False) -> Optional[str]:
    """Write `text` (bytes as they are, as Source.encode gives them; a str as UTF-8, with a
    BOM if asked); the error text on failure.
    Either the whole new content is in place or the old file is untouched."""
    path = os.path.realpath(path)  # through a symlink: fix the file it points to, keep the link
    directory = os.path.dirname(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        descriptor, temporary = tempfile.mkstemp(prefix=".podsec-", suffix=".tmp", dir=directory)
    except OSError as error:
        return error.strerror or str(error)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else (("\ufeff" if bom else "") + text).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return error.strerror or str(error)
    return None
