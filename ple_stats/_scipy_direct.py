"""Direct calls of scipy's private density and quantile methods (fast paths).

scipy's public ``logpdf``/``logpmf`` and ``ppf`` spend more on their per-call
bookkeeping (argument checks, broadcasting, masked copies) than on the numbers
themselves for cheap distributions. :class:`ple_stats._scipy_model.ScipyModel`
evaluates them on large batches of synthetic data, so it calls these instead:
:func:`_fast_logdensity` (the private ``_logpdf``/``_logpmf`` on the points
inside the support), :func:`_standard_ppf` (the private ``_ppf`` of a
continuous distribution) and :func:`_discrete_ppf` (a discrete quantile by
look-up in a tabulated cdf). Each gives scipy's own numbers, or hands back to
scipy where its shortcut does not apply.
"""

from __future__ import annotations

import numpy as np


def _fast_logdensity(spec, data, shapes, args):
    """scipy's ``logpdf``/``logpmf`` without its per-call bookkeeping.

    The same private methods scipy itself calls (``_argcheck``, ``_support_mask``,
    ``_logpdf``/``_logpmf``), evaluated only on the points inside the support with
    valid parameters, as flat arrays of one length (scipy's own calling
    convention); everything else is ``-inf``.
    """
    dist = spec.dist
    loc = args["loc"]
    if spec.discrete:
        z = data - loc
        log_scale = 0.0
    else:
        scale = args["scale"]
        z = (data - loc) / scale
        log_scale = np.log(scale)
    shape = np.broadcast_shapes(z.shape, *(np.shape(a) for a in shapes))
    z = np.broadcast_to(z, shape)
    full = [np.broadcast_to(a, shape) for a in shapes]
    ok = np.isfinite(z)
    if full:
        ok &= np.asarray(dist._argcheck(*full), dtype=bool)
    if spec.discrete:
        ok &= z == np.floor(z)
    ok &= np.asarray(dist._support_mask(z, *full), dtype=bool) if not spec.discrete else (
        (z >= dist._get_support(*full)[0]) & (z <= dist._get_support(*full)[1]))
    method = dist._logpmf if spec.discrete else dist._logpdf
    if ok.all():  # the same flat arguments as ``a[ok]``, without the masked copies
        out = np.asarray(method(z.ravel(), *[a.ravel() for a in full]),
                         dtype=float).reshape(shape)
    else:
        out = np.full(shape, -np.inf)
        if ok.any():
            flat = [a[ok] for a in full]
            out[ok] = method(z[ok], *flat)
    if not spec.discrete:
        out = out - log_scale
    return out


#: widest support range tabulated by the fast discrete quantile function
_MAX_TABLE = 4096


def _discrete_ppf(dist, u, shapes):
    """``dist.ppf(u, *shapes)`` for u of shape (m, size, n), shapes (size,), by table look-up.

    The quantile of a discrete distribution is the smallest k with cdf(k) >= u,
    i.e. the support's start plus the number of tabulated cdf values below u;
    the cdf is tabulated once per data set up to the quantile of the largest
    u. scipy's own ``_ppf`` searches per point and is far slower. Returns None
    (use scipy's) when the range is infinite or wider than ``_MAX_TABLE``.
    """
    with np.errstate(all="ignore"):
        top = np.asarray(dist.ppf(u.max(axis=(0, 2)), *shapes), dtype=float)
        lo = np.broadcast_to(np.asarray(dist._get_support(*shapes)[0], dtype=float), top.shape)
        width = top - lo + 1
        if not (np.all(np.isfinite(width)) and width.max() <= _MAX_TABLE):
            return None
        ks = lo[:, None] + np.arange(int(width.max()))
        cdf = np.asarray(dist.cdf(ks, *[np.asarray(s)[:, None] for s in shapes]), dtype=float)
    if not np.all(np.isfinite(cdf)):
        return None
    out = np.empty(u.shape)
    for i in range(u.shape[1]):
        out[:, i, :] = lo[i] + np.searchsorted(cdf[i], u[:, i, :], side="left")
    return out


def _standard_ppf(dist, q, shapes):
    """``dist.ppf(q, *shapes)`` (loc 0, scale 1) of a classic continuous distribution.

    Where every shape is valid and every ``q`` is inside (0, 1), scipy's ``ppf``
    calls the private ``_ppf`` on the broadcast, raveled arguments and returns
    ``_ppf(...) * 1 + 0``; this makes that call directly (the same numbers,
    without the bookkeeping, which costs more than the quantile itself for
    cheap ones). Anything else goes through scipy's ``ppf``.
    """
    with np.errstate(all="ignore"):
        shape = np.broadcast_shapes(q.shape, *(np.shape(a) for a in shapes))
        if (q.shape == shape and q.size and q.min() > 0.0 and q.max() < 1.0
                and np.all(dist._argcheck(*shapes))):
            args = [np.broadcast_to(a, shape).ravel() for a in shapes]
            try:
                out = np.asarray(dist._ppf(q.ravel(), *args), dtype=float)
            except Exception:  # pragma: no cover - a _ppf that needs scipy's wrapper
                out = None
            if out is not None and out.shape == (q.size,):
                return (out * 1.0 + 0.0).reshape(shape)
        return dist.ppf(q, *shapes)
