"""The checkpoint store: finished units of work on disk, verified when they are read back.

Every long-running feature of ple_stats (the simulators, the reproductions,
the experiments) saves each finished unit of work here as it completes, so
an interrupted call resumes without losing it. What resuming guarantees:

- **Only the same run is resumed.** The store is tied to a *key*, a JSON-able
  dict of everything that determines the results (arguments, seeds, the
  estimator's identity). Its digest is written to ``checkpoint.json`` when the
  directory is first used (atomically and exclusively: of two processes racing
  for a new directory, one wins and the other is refused if its key differs),
  and *also inside every unit file*. A directory, or a single unit file, that
  belongs to other arguments is refused with a ``ValueError`` that names it;
  deleting ``checkpoint.json`` does not make old units reusable.
- **Nothing half-written is read.** Units are written atomically; each file
  carries a sha256 digest of its arrays, and a caller-given check (e.g. the
  expected shape). A unit file that is truncated, corrupted or fails the check
  is reported by a :class:`~ple_stats.PLEWarning` naming the file, and
  recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile

import numpy as np

from .files import atomic_write, digest

__all__ = ["CheckpointStore"]

_FORMAT = 1
_META = "__meta__"
_ARRAY = "__array__"


def _array_digest(array):
    a = np.ascontiguousarray(array)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _plain(value):
    """A JSON-able form of a scalar or list (numpy scalars become Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class CheckpointStore:
    """Finished units of work in a directory tied to a key.

    Parameters
    ----------
    path : str or path-like
        The directory (created).
    key : dict
        Everything that determines the units' results (JSON-able).
    names : sequence of str, optional
        Names of the units by task index (files ``unit_<name>.npz``);
        default: the index (files ``chunk_000001.npz``).
    check : callable, optional
        ``check(i, result) -> str or None``: a reason why a unit read back is
        not valid for task ``i`` (e.g. a wrong shape), or None.

    Notes
    -----
    A unit is an ndarray or a dict of arrays and JSON-able values. It is
    read back as it was saved (dict values that are not arrays come back as
    Python numbers, strings and lists).
    """

    def __init__(self, path, key, *, names=None, check=None):
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"the checkpoint path {self.path!r} exists and is not a directory.")
        os.makedirs(self.path, exist_ok=True)
        self.key = dict(key, store_format=_FORMAT)
        self.digest = digest(self.key)
        self.names = None if names is None else list(names)
        self.check = check
        self._claim()

    def _claim(self):
        meta = os.path.join(self.path, "checkpoint.json")
        text = json.dumps({"digest": self.digest, "key": self.key}, indent=1,
                          default=str).encode()
        if atomic_write(meta, text, exclusive=True):
            return
        try:
            with open(meta, "rb") as fh:
                old = json.loads(fh.read())
            old_digest = old["digest"]
        except (ValueError, KeyError, TypeError, OSError) as exc:
            # Units carry their own digest, so an unreadable checkpoint.json loses nothing.
            from .._warnings import PLEWarning

            warnings.warn(f"{meta!r} is unreadable ({type(exc).__name__}); it is rewritten. "
                          "Each saved unit is still checked against this run's arguments.",
                          PLEWarning, stacklevel=3)
            atomic_write(meta, text)
            return
        if old_digest != self.digest:
            raise ValueError(
                f"the checkpoint directory {self.path!r} holds a run with different "
                "arguments; use another directory or delete it.")

    # ------------------------------------------------------------------ files
    def file(self, i):
        """The file of task ``i``."""
        if self.names is not None:
            return os.path.join(self.path, f"unit_{self.names[i]}.npz")
        return os.path.join(self.path, f"chunk_{int(i):06d}.npz")

    def load(self, i):
        """The saved result of task ``i``, or None if it is not saved (or not valid)."""
        path = self.file(i)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return None
        try:
            result, meta = self._decode(raw)
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
            return self._bad(path, f"it cannot be read ({type(exc).__name__}: {exc})")
        if meta.get("store") != self.digest:
            raise ValueError(
                f"the checkpoint file {path!r} belongs to a run with different arguments; "
                f"delete it (or the directory {self.path!r}) or use another directory.")
        reason = self.check(i, result) if self.check is not None else None
        if reason:
            return self._bad(path, reason)
        return result

    def save(self, i, result):
        """Save the result of task ``i`` (atomically)."""
        arrays, values = {}, {}
        if isinstance(result, np.ndarray):
            arrays[_ARRAY] = result
        elif isinstance(result, dict):
            for name, value in result.items():
                if name in (_META, _ARRAY):
                    raise ValueError(f"a unit must not have a field named {name!r}.")
                if isinstance(value, np.ndarray):
                    arrays[name] = value
                else:
                    values[name] = _plain(value)
        else:
            raise TypeError(f"a unit must be an ndarray or a dict; got {type(result).__name__}.")
        meta = {"format": _FORMAT, "store": self.digest, "values": values,
                "order": list(result) if isinstance(result, dict) else None,
                "sha256": {name: _array_digest(a) for name, a in arrays.items()}}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays, **{_META: np.array(json.dumps(meta))})
        atomic_write(self.file(i), buffer.getvalue())

    # --------------------------------------------------------------- helpers
    @staticmethod
    def _decode(raw):
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            meta = json.loads(str(data[_META]))
            arrays = {name: data[name] for name in data.files if name != _META}
        if meta.get("format") != _FORMAT or set(arrays) != set(meta["sha256"]):
            raise ValueError("not a unit file of this version")
        for name, array in arrays.items():
            if _array_digest(array) != meta["sha256"][name]:
                raise ValueError(f"the digest of {name!r} does not match")
        if _ARRAY in arrays:
            return arrays[_ARRAY], meta
        merged = {**meta["values"], **arrays}
        return {name: merged[name] for name in meta["order"]}, meta

    def _bad(self, path, reason):
        from .._warnings import PLEWarning

        warnings.warn(f"the checkpoint file {path!r} is not valid: {reason}; it is recomputed.",
                      PLEWarning, stacklevel=3)
        return None
