"""Exact, batched maximum likelihood of scipy distributions from sufficient statistics.

The generic estimator ``T`` of the scipy route
(:func:`ple_stats._scipy_model.fit_mle_batched`) is a finite-difference Newton
iteration on the distribution's ``logpdf``: every step costs a stencil of
density evaluations over all ``n`` observations. For a few distributions, once
``loc`` (and for ``beta`` also ``scale``) is fixed, the likelihood equations
reduce to a few per-set statistics, and the MLE is a closed form or a one- or
two-dimensional Newton iteration with analytic derivatives whose steps cost
O(1) per data set (O(n) for the Weibull shape). These serve as ``T`` for the
observed *and* the synthetic data alike, so the PLE still solves
``E_theta[T] = T(x)`` with one estimator: the MLE, to solver precision
(checked against scipy's ``dist.fit`` in ``tests/test_scipy_fast.py``).

The registry maps ``(scipy name, fixed parameters)`` to a function
``fn(data, fixed, start) -> (values, converged, loglik)``:

* ``data`` (B, n) the observations, ``fixed`` name -> float the fixed values,
  ``start`` (B, k) a start for iterative solutions (rows with non-finite
  entries are started from the function's own moment estimate);
* ``values`` (B, k) the MLE of the free parameters in scipy's order
  (``*shapes, loc, scale`` without the fixed ones), ``converged`` (B,), and
  ``loglik`` (B,) the maximised log-likelihood.

======================  =========================  ==========================================
distribution            fixed                      MLE
======================  =========================  ==========================================
``gamma``               ``loc``                    ``log a - psi(a) = log mean y - mean log y``
                                                   (Newton from Minka's start),
                                                   ``scale = mean y / a``
``lognorm``             ``loc``                    ``s = sd(log y)``, ``scale = exp(mean log y)``
``weibull_min``         ``loc``                    Newton on the shape's profile equation,
                                                   ``scale = (mean y^c)^(1/c)``
``beta``                ``loc``, ``scale``         Newton on ``psi(a) - psi(a + b) = mean log y``,
                                                   ``psi(b) - psi(a + b) = mean log(1 - y)``
``norm``                none, ``loc`` or ``scale``   sample mean and root mean square deviation
======================  =========================  ==========================================

with ``y = x - loc`` (``(x - loc) / scale`` for ``beta``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fast_mle", "register_fast_mle"]

#: (name, frozenset of fixed names) -> function
_FAST = {}

#: A Newton iteration is converged once its relative step is below ``_TOL`` (rounding
#: limits the last step to ~1e-11 for extreme shapes); it then takes one more step (the
#: error squares: ~1e-16) and stops. ``_MAX_ITER`` caps it.
_TOL = 1e-8
_MAX_ITER = 100


def _done(steps):
    """Every problem's relative step below ``_TOL`` (non-finite ones are failures)."""
    return all(bool(np.all(~(np.abs(st) > _TOL))) for st in steps)


def register_fast_mle(name, fixed):
    """Register the exact batched MLE of ``name`` with the parameters ``fixed`` held."""
    def decorate(fn):
        _FAST[(name, frozenset(fixed))] = fn
        return fn
    return decorate


def fast_mle(spec, free):
    """The registered exact MLE of ``free`` for ``spec`` (a ScipySpec), or None."""
    if spec.kind != "continuous":
        return None
    fixed = frozenset(n for n in spec.names if n not in free)
    return _FAST.get((spec.name, fixed))


def _usable(start):
    return np.all(np.isfinite(start), axis=-1) & np.all(start > 0, axis=-1)


# --------------------------------------------------------------------------- gamma


@register_fast_mle("gamma", {"loc"})
def _gamma(data, fixed, start):
    from scipy import special  # lazily: importing ple_stats does not import scipy

    y = data - fixed["loc"]
    n = y.shape[-1]
    with np.errstate(all="ignore"):
        log_y = np.log(y)
        mean_y = y.mean(axis=-1)
        mean_log = log_y.mean(axis=-1)
        s = np.log(mean_y) - mean_log  # >= 0, 0 only when all y are equal
        # Minka (2002): relative error below 1.5% everywhere
        a = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
        polish = False
        for _ in range(_MAX_ITER):
            # Newton on log a for g(a) = log a - psi(a) - s (decreasing, convex in log a)
            g = np.log(a) - special.digamma(a) - s
            dg = 1.0 - a * special.polygamma(1, a)  # a * g'(a) < 0
            step = np.clip(g / dg, -1.0, 1.0)
            a = a * np.exp(-step)
            if polish:
                break
            polish = _done([step])
        converged = np.abs(step) <= _TOL
        ok = np.isfinite(a) & (s > 0)
        a = np.where(s > 0, a, np.inf)  # equal observations: the shape runs to infinity
        scale = mean_y / a
        loglik = n * ((a - 1.0) * mean_log - a - special.gammaln(a) - a * np.log(scale))
    values = np.stack([a, scale], axis=-1)
    return values, converged & ok, np.where(ok, loglik, -np.inf)


# --------------------------------------------------------------------------- lognorm


@register_fast_mle("lognorm", {"loc"})
def _lognorm(data, fixed, start):
    with np.errstate(all="ignore"):
        log_y = np.log(data - fixed["loc"])
        mu = log_y.mean(axis=-1)
        s = np.sqrt(np.mean((log_y - mu[:, None]) ** 2, axis=-1))
        n = data.shape[-1]
        loglik = -n * (np.log(s) + mu + 0.5 * np.log(2.0 * np.pi) + 0.5)
    ok = np.isfinite(s) & (s > 0)
    values = np.stack([s, np.exp(mu)], axis=-1)
    return values, ok, np.where(ok, loglik, -np.inf)


# --------------------------------------------------------------------------- norm


@register_fast_mle("norm", set())
def _norm(data, fixed, start):
    mu = data.mean(axis=-1)
    sigma = np.sqrt(np.mean((data - mu[:, None]) ** 2, axis=-1))
    return _norm_result(data, mu, sigma, np.stack([mu, sigma], axis=-1))


@register_fast_mle("norm", {"loc"})
def _norm_scale(data, fixed, start):
    mu = np.full(data.shape[0], fixed["loc"])
    sigma = np.sqrt(np.mean((data - fixed["loc"]) ** 2, axis=-1))
    return _norm_result(data, mu, sigma, sigma[:, None])


@register_fast_mle("norm", {"scale"})
def _norm_loc(data, fixed, start):
    mu = data.mean(axis=-1)
    sigma = np.full(data.shape[0], fixed["scale"])
    return _norm_result(data, mu, sigma, mu[:, None])


def _norm_result(data, mu, sigma, values):
    n = data.shape[-1]
    with np.errstate(all="ignore"):
        rss = np.sum((data - mu[:, None]) ** 2, axis=-1)
        loglik = -n * (np.log(sigma) + 0.5 * np.log(2.0 * np.pi)) - 0.5 * rss / sigma ** 2
    ok = np.isfinite(sigma) & (sigma > 0)
    return values, ok, np.where(ok, loglik, -np.inf)


# --------------------------------------------------------------------------- weibull_min


@register_fast_mle("weibull_min", {"loc"})
def _weibull_min(data, fixed, start):
    y = data - fixed["loc"]
    n = y.shape[-1]
    with np.errstate(all="ignore"):
        log_y = np.log(y)
        top = log_y.max(axis=-1, keepdims=True)
        d = log_y - top  # <= 0: y^c / max(y)^c = exp(c d) never overflows
        mean_log = log_y.mean(axis=-1)
        sd = np.sqrt(np.mean((log_y - mean_log[:, None]) ** 2, axis=-1))
        c = np.pi / (np.sqrt(6.0) * sd)  # sd of log y is pi / (c sqrt 6)
        if start is not None:
            c = np.where(_usable(start[:, :1]), start[:, 0], c)
        mean_d = mean_log - top[:, 0]
        polish = False
        for _ in range(_MAX_ITER):
            # f(c) = sum(y^c log y) / sum(y^c) - 1/c - mean log y = 0, increasing in c;
            # Newton on log c
            w = np.exp(c[:, None] * d)
            s0 = w.sum(axis=-1)
            s1 = (w * d).sum(axis=-1) / s0
            s2 = (w * d * d).sum(axis=-1) / s0
            f = s1 - 1.0 / c - mean_d
            df = c * (s2 - s1 * s1) + 1.0 / c  # c f'(c) > 0
            step = np.clip(f / df, -1.0, 1.0)
            c = c * np.exp(-step)
            if polish:
                break
            polish = _done([step])
        converged = np.abs(step) <= _TOL
        c = np.where(sd > 0, c, np.inf)  # equal observations: the shape runs to infinity
        mean_w = np.mean(np.exp(c[:, None] * d), axis=-1)
        log_scale = top[:, 0] + np.log(mean_w) / c
        scale = np.exp(log_scale)
        # sum log pdf = n log c - n c log scale + (c - 1) sum log y - sum (y/scale)^c
        loglik = n * (np.log(c) - c * log_scale + (c - 1.0) * mean_log - 1.0)
    ok = np.isfinite(c) & (c > 0) & np.isfinite(scale) & (sd > 0)
    values = np.stack([c, scale], axis=-1)
    return values, converged & ok, np.where(ok, loglik, -np.inf)


# --------------------------------------------------------------------------- beta


@register_fast_mle("beta", {"loc", "scale"})
def _beta(data, fixed, start):
    from scipy import special

    y = (data - fixed["loc"]) / fixed["scale"]
    n = y.shape[-1]
    with np.errstate(all="ignore"):
        g1 = np.log(y).mean(axis=-1)
        g2 = np.log1p(-y).mean(axis=-1)
        mean = y.mean(axis=-1)
        var = y.var(axis=-1)
        common = mean * (1.0 - mean) / var - 1.0
        a = np.where(common > 0, mean * common, 1.0)
        b = np.where(common > 0, (1.0 - mean) * common, 1.0)
        if start is not None:
            use = _usable(start)
            a = np.where(use, start[:, 0], a)
            b = np.where(use, start[:, 1], b)
        polish = False
        for _ in range(_MAX_ITER):
            # score / n = (g1 - psi(a) + psi(a+b), g2 - psi(b) + psi(a+b)); the
            # log-likelihood is strictly concave in (a, b): Newton in (log a, log b)
            pab = special.digamma(a + b)
            r1 = g1 - special.digamma(a) + pab
            r2 = g2 - special.digamma(b) + pab
            tab = special.polygamma(1, a + b)
            ta, tb = special.polygamma(1, a), special.polygamma(1, b)
            # minus the Hessian in (a, b) per observation
            h11, h22, h12 = ta - tab, tb - tab, -tab
            det = h11 * h22 - h12 * h12
            da = (h22 * r1 - h12 * r2) / det
            db = (h11 * r2 - h12 * r1) / det
            sa = np.clip(da / a, -1.0, 1.0)
            sb = np.clip(db / b, -1.0, 1.0)
            a = a * np.exp(sa)
            b = b * np.exp(sb)
            if polish:
                break
            polish = _done([sa, sb])
        converged = np.maximum(np.abs(sa), np.abs(sb)) <= _TOL
        # equal observations: both shapes run to infinity
        a, b = np.where(var > 0, a, np.inf), np.where(var > 0, b, np.inf)
        loglik = n * ((a - 1.0) * g1 + (b - 1.0) * g2 - special.betaln(a, b)
                      - np.log(fixed["scale"]))
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    values = np.stack([a, b], axis=-1)
    return values, converged & ok, np.where(ok, loglik, -np.inf)
