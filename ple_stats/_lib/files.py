"""Atomic file writes and digests of JSON-able keys."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

__all__ = ["atomic_write", "digest", "FILE_MODE"]

#: Mode of the files ple_stats writes (what ``open`` gives under the usual umask 022).
FILE_MODE = 0o644


_MODE = None


def _umask_mode():
    """0666 less the umask, read once: reading it sets it for a moment, process-wide."""
    global _MODE
    if _MODE is None:
        mask = os.umask(0o022)
        os.umask(mask)
        _MODE = 0o666 & ~mask
    return _MODE


def atomic_write(path, data: bytes, *, exclusive=False):
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to
    disk, and the file is then moved over ``path`` (``os.replace``, atomic
    on POSIX). The file gets the mode a plain ``open`` would give (0644
    under umask 022), not the 0600 of a temporary file.

    Parameters
    ----------
    path : str or path-like
    data : bytes
    exclusive : bool
        Create ``path`` only if it does not exist yet, atomically (a hard
        link, so two processes racing for it cannot both succeed).

    Returns
    -------
    bool
        True if ``path`` was written; False only when ``exclusive`` and the
        file already existed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _umask_mode())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            except OSError:  # a file system without hard links: exclusive creation instead
                return _write_exclusive(path, data)
            finally:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
        return True
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_exclusive(path, data):
    """Create ``path`` only if it does not exist (O_EXCL) and write ``data`` into it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def digest(key, length=16):
    """Hex digest (sha256) of a JSON-able ``key``, independent of dict order.

    >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    True
    """
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
