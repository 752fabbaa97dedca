"""Writing experiment outputs: tables, metadata and figures."""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np

from .._lib.files import atomic_write

__all__ = ["write_csv", "write_json", "save_figure"]


def write_csv(path, rows):
    """Write a list of dicts (same keys) as CSV, atomically.

    A NaN value (a quantity that is undefined, such as the standard error of a
    single seed) is written as an empty cell, never as the text ``nan``.
    """
    if not rows:
        raise ValueError("no rows to write.")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: ("" if isinstance(v, (float, np.floating)) and math.isnan(v) else v)
                      for k, v in row.items()} for row in rows)
    atomic_write(os.fspath(path), buffer.getvalue().encode())
    return os.fspath(path)


def write_json(path, obj):
    atomic_write(os.fspath(path), json.dumps(obj, indent=2, default=str).encode())
    return os.fspath(path)


def save_figure(fig, out_dir, stem):
    """Save ``fig`` as ``stem.png`` and ``stem.pdf`` in ``out_dir``; returns both paths.

    Each file is rendered in memory and written atomically, so an interruption
    never leaves a truncated figure under its final name.
    """
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=150 if ext == "png" else None, bbox_inches="tight")
        atomic_write(path, buffer.getvalue())
        paths.append(path)
    return paths
