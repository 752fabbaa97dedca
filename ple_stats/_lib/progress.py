"""Progress bars for long calls."""

from __future__ import annotations

import sys

from .optional import import_optional

__all__ = ["progress_bar"]


def progress_bar(total, *, initial=0, progress=None, desc=None, unit="it"):
    """A tqdm bar, or None when no bar is wanted.

    Parameters
    ----------
    total : int
    initial : int
        Units already done (e.g. loaded from a checkpoint).
    progress : bool or None
        True: always a bar; False: never; None: a bar when stderr is a
        terminal (the default of every long call in ple_stats).
    desc, unit : str
        tqdm's label and unit.
    """
    if progress is None:
        progress = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if not progress:
        return None
    tqdm = import_optional("tqdm.auto", "a progress bar").tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit=unit)
