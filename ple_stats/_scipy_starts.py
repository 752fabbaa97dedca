"""Batched starting values of the observed fit for a few scipy distributions.

The estimator ``T`` of the scipy route is the batched Newton iteration of
:func:`ple_stats._scipy_model.fit_mle_batched`; on the observed data it needs a
start near the maximum. By default that start is scipy's own ``dist.fit`` of
each data set, a Python loop of general optimisers that costs as much as the
user's own loop of fits. For the distributions registered here a closed-form,
batched estimate serves instead (L-moments, quantiles); the Newton iteration
then climbs to the maximum from it. Data sets where it does not converge to a
*regular* interior maximum (:func:`trusted`: genextreme ``c < 0.9``, away from
the unbounded likelihood of ``c >= 1``; t ``df < 100``, away from the flat
normal limit) are started from scipy's fit after all and the higher maximum is
kept (:func:`ple_stats._scipy_route._observed_fit`), so the start changes where
the iteration begins, not which maximum a well-behaved data set reaches
(``tests/test_scipy_starts.py`` compares the maxima with scipy's fit).

``batched_start(spec, fixed, x)`` gives ``{name: (B,) array}`` for every
parameter of ``spec`` (fixed ones at their values), or None where no start is
registered for the exact scipy class.

=============  ===========================================================
distribution   start
=============  ===========================================================
``genextreme`` Hosking, Wallis & Wood (1985): probability-weighted moments,
               ``c = 7.8590 z + 2.9554 z^2`` with ``z = 2 / (3 + t3) -
               log 2 / log 3``, then scale and location from ``c``
``t``          location the median, ``df`` the best of a few values by the
               likelihood, scale from the interquartile range at that ``df``
=============  ===========================================================
"""

from __future__ import annotations

import numpy as np

from ._scipy_loglik import scipy_class_name

__all__ = ["batched_start", "trusted"]

#: scipy class name -> function(x (B, n), fixed dict) -> dict name -> (B,)
_STARTS = {}
#: scipy class name -> function(values dict) -> (B,) bool: a maximum to keep
_REGULAR = {}


def _register(class_name, regular=None):
    def decorate(fn):
        _STARTS[class_name] = fn
        if regular is not None:
            _REGULAR[class_name] = regular
        return fn
    return decorate


def batched_start(spec, fixed, x):
    """The registered batched start of ``spec`` on the data sets ``x`` (B, n), or None."""
    fn = _STARTS.get(scipy_class_name(spec))
    if fn is None:
        return None
    with np.errstate(all="ignore"):
        start = fn(x, fixed)
    start.update({k: np.full(x.shape[0], float(v)) for k, v in fixed.items()})
    return start


def trusted(spec, values):
    """Which polished maxima ``values`` (the *free* parameters, name -> (B,)) reached
    from :func:`batched_start` are kept (the others are started again from scipy's
    fit); a fixed shape is not checked."""
    check = _REGULAR.get(scipy_class_name(spec))
    size = len(next(iter(values.values())))
    if check is None:
        return np.ones(size, dtype=bool)
    return np.broadcast_to(np.asarray(check(values), dtype=bool), (size,))


def _genextreme_regular(values):
    """A maximum with ``c < 0.9``: for ``c >= 1`` the likelihood is unbounded at the
    upper end of the support (Smith 1985), and where an optimiser stops near there
    depends on its path, not on the data alone."""
    return values["c"] < 0.9 if "c" in values else True


@_register("genextreme_gen", regular=_genextreme_regular)
def _genextreme(x, fixed):
    xs = np.sort(x, axis=-1)
    n = xs.shape[-1]
    i = np.arange(n)
    b0 = xs.mean(axis=-1)
    b1 = (xs * (i / (n - 1))).mean(axis=-1)
    b2 = (xs * (i * (i - 1) / ((n - 1) * (n - 2)))).mean(axis=-1)
    l1, l2, l3 = b0, 2.0 * b1 - b0, 6.0 * b2 - 6.0 * b1 + b0
    if "c" in fixed:
        c = np.full(x.shape[0], float(fixed["c"]))
    else:
        z = 2.0 / (3.0 + l3 / l2) - np.log(2.0) / np.log(3.0)
        c = np.clip(7.8590 * z + 2.9554 * z * z, -0.9, 0.9)
    start = _genextreme_from_c(c, l1, l2, fixed)
    # The end of the support, loc + scale / c, must lie beyond the data: a start that
    # misses some is replaced by the Gumbel's (c = 0: the whole line) where c is free,
    # and otherwise has its location (or scale) moved so that the end lies a tenth of
    # scale / c beyond the extreme observation.
    edge = np.where(c > 0, xs[:, -1], xs[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        end = start["loc"] + start["scale"] / c
    missed = ((c > 0) & (edge >= end)) | ((c < 0) & (edge <= end))
    if missed.any():
        if "c" not in fixed:
            gumbel = _genextreme_from_c(np.zeros_like(c), l1, l2, fixed)
            start = {k: np.where(missed, gumbel[k], v) for k, v in start.items()}
        elif "loc" not in fixed:
            start["loc"] = np.where(missed, edge - 0.9 * start["scale"] / c, start["loc"])
        elif "scale" not in fixed:
            start["scale"] = np.where(missed, 1.1 * c * (edge - start["loc"]), start["scale"])
    return start


def _genextreme_from_c(c, l1, l2, fixed):
    """Scale and location of the genextreme with shape ``c`` from the L-moments."""
    from scipy import special

    g = special.gamma(1.0 + c)
    small = np.abs(c) < 1e-8
    safe = np.where(small, 1.0, c)
    scale = np.where(small, l2 / np.log(2.0), l2 * safe / ((1.0 - 2.0 ** -safe) * g))
    if "scale" in fixed:
        scale = np.full(c.shape, float(fixed["scale"]))
    loc = np.where(small, l1 - np.euler_gamma * scale, l1 - scale * (1.0 - g) / safe)
    if "loc" in fixed:
        loc = np.full(c.shape, float(fixed["loc"]))
    return {"c": c, "loc": loc, "scale": scale}


#: degrees of freedom tried for the t's start
_T_DF = np.array([1.0, 2.0, 4.0, 8.0, 30.0])


def _t_regular(values):
    """A maximum with ``df < 100``: beyond, the likelihood is nearly flat in ``df``
    (the normal limit), so where the iteration stops depends on its start."""
    return values["df"] < 100.0 if "df" in values else True


@_register("t_gen", regular=_t_regular)
def _t(x, fixed):
    from scipy import stats

    size = x.shape[0]
    loc = (np.full(size, float(fixed["loc"])) if "loc" in fixed
           else np.median(x, axis=-1))
    q25, q75 = np.percentile(x, [25.0, 75.0], axis=-1)
    iqr = np.where(q75 > q25, q75 - q25, np.std(x, axis=-1))
    dfs = (np.full((1, size), float(fixed["df"])) if "df" in fixed
           else np.broadcast_to(_T_DF[:, None], (_T_DF.size, size)))
    scale = (np.full(dfs.shape, float(fixed["scale"])) if "scale" in fixed
             else iqr / (2.0 * stats.t.ppf(0.75, dfs)))
    ll = np.sum(stats.t.logpdf(x, dfs[..., None], loc=loc[:, None],
                               scale=scale[..., None]), axis=-1)
    best = np.argmax(np.where(np.isfinite(ll), ll, -np.inf), axis=0)
    cols = np.arange(size)
    return {"df": dfs[best, cols], "loc": loc, "scale": scale[best, cols]}
