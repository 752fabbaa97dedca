"""Parametric-bootstrap uncertainty of any fit."""

from __future__ import annotations

import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from ._lib.progress import progress_bar
from ._validation import as_int, as_rng

__all__ = ["ConfidenceInterval", "parametric_bootstrap_ci", "percentile_interval"]

ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high", "standard_error"])
ConfidenceInterval.__doc__ = """Percentile confidence interval and standard error of each parameter.

Each field is a named tuple of the fitted distribution's parameters (floats
for a single data set, arrays of the batch shape otherwise). Fixed
parameters have ``low == high`` and a zero standard error."""

#: The resamples are refitted in this many batched calls (fewer for fewer resamples),
#: whether or not a progress bar is shown, so the result never depends on the bar. More
#: calls cost more: a bootstrap-PLE refit of a GMM spends about 1 s per call on the last,
#: slowly converging EM fits (measured: 200 resamples of n = 30 in one call 20 s CPU, in
#: 10 calls 29 s).
_BATCHES = 10


def parametric_bootstrap_ci(result, *, confidence_level=0.95, n_resamples=1000, rng=None,
                            progress=None):
    """See :meth:`ple_stats.FitResult.confidence_interval`."""
    level = _as_level(confidence_level)
    n_resamples = as_int(n_resamples, "n_resamples", minimum=2)
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be True, False or None; got "
                        f"{type(progress).__name__}.")
    rng = as_rng(rng)
    if result.refit is None:
        raise ValueError("this result carries no estimator to refit with.")
    # All resamples of all data sets drawn at once: shape (B, *batch, n).
    dist = result.dist
    if hasattr(dist, "sample"):
        resamples = dist.sample(result.n, rng, sample_shape=(n_resamples,))
    else:  # a frozen scipy distribution (ple_stats.fit_ple on a scipy family)
        args = [np.asarray(a, dtype=float)[..., None] for a in dist.args]
        kwds = {k: np.asarray(v, dtype=float)[..., None] for k, v in dist.kwds.items()}
        shape = (n_resamples,) + result.batch_shape + (result.n,)
        resamples = dist.dist.rvs(*args, **kwds, size=shape, random_state=rng)
    refits = _refit_in_batches(result, resamples, rng, progress)
    low, high, se = [], [], []
    for value in refits:
        lo, hi, sd = percentile_interval(value, level)
        low.append(_unbox(lo))
        high.append(_unbox(hi))
        se.append(_unbox(sd))
    params = type(result.params)
    return ConfidenceInterval(params(*low), params(*high), params(*se))


def percentile_interval(values, level):
    """Percentile interval at ``level`` and standard deviation of resampled
    estimates ``values`` (resamples along axis 0): ``(low, high, se)``."""
    alpha = 1.0 - level
    low, high = np.quantile(values, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return low, high, values.std(axis=0, ddof=1)


def _as_level(value):
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`confidence_level` must be a real number in (0, 1); got "
                        f"{type(value).__name__} {value!r}.")
    level = float(value)
    if not 0.0 < level < 1.0:  # also nan
        raise ValueError(f"`confidence_level` must be in (0, 1); got {value!r}.")
    return level


def _refit_in_batches(result, resamples, rng, progress):
    """Refit the resamples ``(B, *batch, n)`` in up to ``_BATCHES`` batched calls (in
    order, sharing ``rng``), with a progress bar over resamples; returns one float array
    ``(B, *batch)`` per parameter. Warnings of the refits are collected and given once
    per kind after the last call (with the number of calls that raised them), so that
    the batching adds no repeated messages."""
    total = resamples.shape[0]
    size = math.ceil(total / min(_BATCHES, total))
    bar = progress_bar(total, progress=progress, desc="confidence_interval", unit="resample")
    parts, caught = [], []
    try:
        for lo in range(0, total, size):
            chunk = resamples[lo:lo + size]
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                fit = result.refit(chunk, rng=rng)
            caught.append(record)
            parts.append([np.asarray(v, dtype=float) for v in fit.params])
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    _warn_once_per_kind(caught, stacklevel=4)
    return [np.concatenate(values, axis=0) for values in zip(*parts)]


def _warn_once_per_kind(caught, stacklevel):
    """Warn with the first warning of each kind (category and origin) seen in the batched
    refits, attributed to the caller ``stacklevel`` frames up."""
    calls = len(caught)
    first, count = {}, {}
    for record in caught:
        for key in {(w.category, w.filename, w.lineno) for w in record}:
            count[key] = count.get(key, 0) + 1
        for w in record:
            first.setdefault((w.category, w.filename, w.lineno), w)
    for key, w in first.items():
        note = "" if calls == 1 else (
            f" [in the parametric-bootstrap refits: {count[key]} of {calls} batched calls "
            "warned, this is the first]")
        warnings.warn(f"{w.message}{note}", w.category, stacklevel=stacklevel + 1)


def _unbox(arr):
    arr = np.asarray(arr)
    return float(arr) if arr.ndim == 0 else arr
