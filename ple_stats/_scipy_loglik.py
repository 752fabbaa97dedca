"""Summed log-densities of a few scipy distributions, with scipy's own numbers.

The generic estimator ``T`` of the scipy route
(:func:`ple_stats._scipy_model.fit_mle_batched`) evaluates the summed
log-density of every synthetic data set on a finite-difference stencil of
parameter values, so the log-density is the whole cost of a fit. For some
distributions scipy's private ``_logpdf`` spends most of its time on
bookkeeping (``apply_where`` masks of special cases) or recomputes, at every
point, special functions of the shapes alone (the t's normalising constant).
The functions registered here compute the *same floating-point numbers* as
``dist.logpdf(x, *shapes, loc=loc, scale=scale)`` summed over the last axis —
the same operations in the same order on every point, with the terms that
depend only on the parameters evaluated once per data set. A sum with a point
outside the support is ``-inf`` as scipy's is; the rarer special cases (a point
exactly where ``c x = 1``, ``df = inf``, a scale that is not positive) are
marked for scipy's own ``logpdf``, data set by data set.

``summed_logpdf(spec)`` gives the function for a :class:`ScipySpec` or None.
The function ``fn(data, shapes, loc, scale)`` takes ``data`` (B, n) and
parameters broadcastable to (P, B, 1) and returns the sums (P, B); entries
that are ``nan`` are to be computed by scipy's general path. It is used only
for the exact scipy class it was written for (a subclass may change the
density).

=============  ===========================================================
distribution   cost per observation (scipy's ``_logpdf`` in brackets)
=============  ===========================================================
``t``          one ``log1p`` (``poch`` and ``log`` of the shape per point)
``genextreme`` one ``log1p`` and one ``exp`` (three ``apply_where`` passes;
               ``c = 0``, the Gumbel, with scipy's arithmetic too)
=============  ===========================================================
"""

from __future__ import annotations

import numpy as np

__all__ = ["summed_logpdf", "scipy_class_name"]

_TINY = np.finfo(float).tiny  # scipy's _XMIN

#: scipy class name -> function
_SUMMED = {}


def _register(class_name):
    def decorate(fn):
        _SUMMED[class_name] = fn
        return fn
    return decorate


def scipy_class_name(spec):
    """The class name of ``spec``'s distribution if it is an instance of scipy's own
    continuous class (not a subclass, which may change the density), else None."""
    if spec.kind != "continuous":
        return None
    from scipy import stats  # lazily: importing ple_stats does not import scipy

    name = type(spec.dist).__name__
    return name if type(spec.dist) is getattr(stats._continuous_distns, name, None) else None


def summed_logpdf(spec):
    """The registered summed log-density of ``spec``'s distribution, or None."""
    return _SUMMED.get(scipy_class_name(spec))


def _standardise(data, loc, scale, *shapes):
    """``(data - loc) / scale`` broadcast against the shapes too (a new array that the
    callers then work on in place) and ``log(scale)``."""
    full = np.broadcast_shapes(np.shape(data), np.shape(loc), np.shape(scale),
                               *(np.shape(a) for a in shapes))
    z = np.empty(full)
    np.subtract(data, loc, out=z)
    z /= scale
    return z, np.log(scale)


@_register("t_gen")
def _t(data, shapes, loc, scale):
    """``t.logpdf`` summed: scipy's ``t_logpdf`` with its constant once per data set."""
    from scipy import special

    (df,) = shapes
    df = np.asarray(df, dtype=float)
    z, log_scale = _standardise(data, loc, scale, df)
    # scipy: log(poch(df/2, 1/2)) - 0.5 (log df + log pi) - (df + 1)/2 log1p(x x / df)
    const = np.log(special.poch(0.5 * df, 0.5)) - 0.5 * (np.log(df) + np.log(np.pi))
    # point = const - (df + 1) / 2 * log1p(z * z / df) - log(scale), in place
    point = np.multiply(z, z, out=z)
    point /= df
    np.log1p(point, out=point)
    point *= (df + 1) / 2
    np.subtract(const, point, out=point)
    point -= log_scale
    total = np.sum(point, axis=-1)
    # df = inf (scipy's normal branch), df <= 0 or a scale <= 0: scipy's general rule
    special_case = ~(np.isfinite(df) & (df > 0)) | ~(np.asarray(scale) > 0)
    if np.any(special_case):
        total = np.where(np.broadcast_to(special_case, total.shape + (1,))[..., 0], np.nan,
                         total)
    return total


@_register("genextreme_gen")
def _genextreme(data, shapes, loc, scale):
    """``genextreme.logpdf`` summed: scipy's ``_logpdf`` arithmetic without its masks."""
    from scipy import special

    (c,) = shapes
    c = np.atleast_1d(np.asarray(c, dtype=float))
    z, log_scale = _standardise(data, loc, scale, c)
    # scipy: cx = c x, logex2 = log1p(-cx), logpex2 = log1p(-cx) / c,
    # logpdf = -exp(logpex2) + logpex2 - logex2 (c != 0; the Gumbel's -exp(-x) - x at 0).
    # z is overwritten below: its extremes (for the support) and the Gumbel's sums first.
    c1 = c[..., 0]
    z_top, z_bottom = np.max(z, axis=-1), np.min(z, axis=-1)
    gumbel = c1 == 0
    if np.any(gumbel):
        # scipy at c = 0: cx = 0, logex2 = log1p(-0.0) = -0.0, logpex2 = -x
        neg_z = np.negative(z)
        point = np.exp(neg_z)
        np.negative(point, out=point)
        point += neg_z
        point -= -0.0
        point -= log_scale
        gumbel_total = np.sum(point, axis=-1)
    # point = -exp(logpex2) + logpex2 - logex2 - log(scale), in place
    logex2 = np.multiply(c, z, out=z)
    np.negative(logex2, out=logex2)
    special.log1p(logex2, out=logex2)  # scipy's log1p (not numpy's: other roundings)
    logpex2 = np.divide(logex2, c)
    point = np.exp(logpex2)
    np.negative(point, out=point)
    point += logpex2
    point -= logex2
    point -= log_scale
    total = np.sum(point, axis=-1)
    if np.any(gumbel):
        total = np.where(gumbel, gumbel_total, total)
    # Per data set, the largest c x (at the largest x for c > 0, the smallest for c < 0)
    # and the end of scipy's support mask (a <= x <= b, with b = 1 / max(c, tiny) for
    # c > 0 and a = 1 / min(c, -tiny) for c < 0).
    upper_side = c1 > 0
    z_end = np.where(upper_side, z_top, z_bottom)
    support_end = 1.0 / np.where(upper_side, np.maximum(c1, _TINY), np.minimum(c1, -_TINY))
    outside = np.where(upper_side, z_end > support_end, z_end < support_end) & (c1 != 0)
    cz_top = c1 * z_end
    # -inf: a point outside the support mask, or c x > 1 (scipy's nan there);
    # scipy's rule: c x = 1 at some point, a scale <= 0.
    scale_ok = np.broadcast_to(np.asarray(scale) > 0, z.shape[:-1] + (1,))[..., 0]
    rule = ~outside & ((cz_top == 1.0) | ~scale_ok)
    total = np.where(outside | (cz_top > 1.0), -np.inf, total)
    if np.any(rule):
        total = np.where(rule, np.nan, total)
    return total
