"""Parametric-bootstrap uncertainty of any fit."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._validation import as_int, as_rng

__all__ = ["ConfidenceInterval", "parametric_bootstrap_ci"]

ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high", "standard_error"])
ConfidenceInterval.__doc__ = """Percentile confidence interval and standard error of each parameter.

Each field is a named tuple of the fitted distribution's parameters (floats
for a single data set, arrays of the batch shape otherwise). Fixed
parameters have ``low == high`` and a zero standard error."""


def parametric_bootstrap_ci(result, *, confidence_level=0.95, n_resamples=1000, rng=None):
    """See :meth:`ple_stats.FitResult.confidence_interval`."""
    level = float(confidence_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}.")
    n_resamples = as_int(n_resamples, "n_resamples", minimum=2)
    rng = as_rng(rng)
    if result.refit is None:
        raise ValueError("this result carries no estimator to refit with.")
    # All resamples of all data sets in one batched refit: shape (B, *batch, n).
    dist = result.dist
    if hasattr(dist, "sample"):
        resamples = dist.sample(result.n, rng, sample_shape=(n_resamples,))
    else:  # a frozen scipy distribution (ple_stats.fit_ple on a scipy family)
        args = [np.asarray(a, dtype=float)[..., None] for a in dist.args]
        shape = (n_resamples,) + result.batch_shape + (result.n,)
        resamples = dist.dist.rvs(*args, size=shape, random_state=rng)
    refits = result.refit(resamples, rng=rng)
    alpha = 1.0 - level
    low, high, se = [], [], []
    for value in refits.params:
        value = np.asarray(value, dtype=float)
        lo, hi = np.quantile(value, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
        low.append(_unbox(lo))
        high.append(_unbox(hi))
        se.append(_unbox(value.std(axis=0, ddof=1)))
    params = type(result.params)
    return ConfidenceInterval(params(*low), params(*high), params(*se))


def _unbox(arr):
    arr = np.asarray(arr)
    return float(arr) if arr.ndim == 0 else arr
