"""Data-driven PLE for any continuous ``scipy.stats`` distribution."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ._engine import monte_carlo_se
from ._result import FitResult, Refit
from ._solver import solve_batched
from ._validation import as_data, as_int, as_rng
from ._warnings import ConvergenceWarning

__all__ = ["fit_ple"]


def _parameter_names(dist):
    shapes = [s.strip() for s in (dist.shapes or "").split(",") if s.strip()]
    return shapes + ["loc", "scale"]


def _fixed_from_kwds(dist, names, fit_kwds):
    """Which parameters ``fit_kwds`` hold fixed, following ``rv_continuous.fit``'s rules."""
    fixed = {}
    shapes = names[:-2]
    for key, value in fit_kwds.items():
        if key == "floc":
            fixed["loc"] = value
        elif key == "fscale":
            fixed["scale"] = value
        elif key.startswith("f") and key[1:].isdigit() and int(key[1:]) < len(shapes):
            fixed[shapes[int(key[1:])]] = value
        elif key.startswith("fix_") and key[4:] in shapes:
            fixed[key[4:]] = value
        elif key.startswith("f") and key[1:] in shapes:
            fixed[key[1:]] = value
    return fixed


def _domain_transform(dist, name):
    """'log' for positive parameters, 'identity' otherwise (from scipy's shape info)."""
    if name == "scale":
        return "log"
    if name == "loc":
        return "identity"
    try:
        info = {s.name: s for s in dist._shape_info()}[name]
        lower, upper = info.domain
        if lower >= 0 and np.isinf(upper):
            return "log"
    except Exception:  # older scipy or a distribution without shape info
        pass
    return "identity"


def fit_ple(dist, data, *, m=100, rng=None, tol=1e-7, max_iter=30, **fit_kwds):
    r"""Bootstrap PLE for any continuous ``scipy.stats`` distribution.

    The distribution's own maximum-likelihood fit ``dist.fit`` is the
    estimator ``T``; its binding function ``b(theta) = E_theta[T(Y)]`` is
    estimated from ``m`` synthetic data sets ``Y_j = dist.ppf(U_j, *theta)``
    made from one fixed array of uniforms ``U`` (common random numbers), and
    ``b_m(theta) = T(data)`` is solved for the free parameters with a damped
    quasi-Newton iteration (positive parameters in log coordinates).

    Parameters
    ----------
    dist : scipy.stats.rv_continuous
        An unfrozen continuous distribution, e.g. ``scipy.stats.gamma``.
    data : array_like of shape (..., n)
        Observations along the last axis; leading axes are independent data
        sets, each solved separately.
    m : int
        Number of synthetic data sets (at least 2).
    rng : None, int or numpy.random.Generator
        Randomness of the synthetic data.
    tol : float
        Tolerance on the residual, relative (log coordinates) for positive
        parameters and in units of the data's range otherwise. ``dist.fit``
        is itself a numerical optimiser, so tolerances much below its own
        accuracy cannot be met.
    max_iter : int
        Maximum quasi-Newton iterations.
    **fit_kwds
        Passed to ``dist.fit``; ``floc``, ``fscale``, ``f0``/``fa``/``fix_a``
        hold parameters fixed, exactly as in scipy.

    Returns
    -------
    FitResult
        ``params`` is a named tuple ``(*shapes, loc, scale)``; ``dist`` the
        frozen scipy distribution; ``info`` holds ``mle`` (``dist.fit``'s
        estimate), ``residual``, ``n_iter``, ``converged``, ``mc_se``.

    Notes
    -----
    Cost: every evaluation of ``b_m`` is ``m`` calls of ``dist.fit``, and a
    solve takes about ``k + 3`` evaluations for ``k`` free parameters, so
    roughly ``m (k + 3)`` fits per data set. scipy's ``fit`` is not vectorised;
    the quantile transform is.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> import ple_stats
    >>> x = stats.gamma(2.0, scale=3.0).rvs(size=15, random_state=0)
    >>> res = ple_stats.fit_ple(stats.gamma, x, m=30, rng=0, floc=0)
    >>> res.params._fields
    ('a', 'loc', 'scale')
    >>> bool(res.params.a < stats.gamma.fit(x, floc=0)[0])  # the MLE of the shape is biased up
    True
    """
    from scipy import stats

    if not isinstance(dist, stats.rv_continuous):
        if isinstance(dist, stats.rv_discrete):
            raise TypeError("`dist` is a discrete scipy distribution, which has no `fit` "
                            "method; use a continuous one or a ple_stats family.")
        raise TypeError("`dist` must be an unfrozen continuous scipy.stats distribution such "
                        f"as scipy.stats.gamma; got {type(dist).__name__}.")
    m = as_int(m, "m", minimum=2)
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    rng = as_rng(rng)
    x = as_data(data, "data")
    names = _parameter_names(dist)
    fixed = _fixed_from_kwds(dist, names, fit_kwds)
    for name, value in fixed.items():
        if not np.isfinite(value) or (name == "scale" and value <= 0):
            raise ValueError(f"the fixed `{name}` must be finite"
                             f"{' and positive' if name == 'scale' else ''}; got {value!r}.")
    free = [i for i, name in enumerate(names) if name not in fixed]
    if not free:
        raise ValueError("all parameters are fixed: there is nothing to fit.")
    transforms = [_domain_transform(dist, names[i]) for i in free]
    is_log = np.array([t == "log" for t in transforms])

    n = x.shape[-1]
    batch = x.shape[:-1]
    flat = x.reshape(-1, n)
    size = flat.shape[0]

    def mle(sample):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.asarray(dist.fit(sample, **fit_kwds), dtype=float)
        except Exception:
            return np.full(len(names), np.nan)

    # The data's own fits: keyword errors (TypeError from scipy) propagate as they are.
    t_full = np.array([_fit_data(dist, row, fit_kwds) for row in flat])
    bad = ~np.all(np.isfinite(t_full), axis=-1)
    if bad.any():
        raise ValueError(f"`dist.fit` failed on the data set at index "
                         f"{np.unravel_index(int(np.flatnonzero(bad)[0]), batch)} of `data`.")
    target = t_full[:, free]
    if np.any(target[:, is_log] <= 0):
        raise ValueError("`dist.fit` returned a non-positive value for a positive parameter.")
    uniforms = rng.random((size, m, n))
    spread = np.ptp(flat, axis=-1)[:, None]
    scale = np.where(is_log, 1.0, np.where(spread > 0, spread, 1.0))

    def to_u(theta):
        return np.where(is_log, np.log(np.where(is_log, theta, 1.0)), theta)

    def from_u(u):
        return np.where(is_log, np.exp(np.where(is_log, u, 0.0)), u)

    def coords(stat):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(is_log, np.log(np.where(is_log, stat, 1.0)), stat)

    def simulate(theta_row, t_row, u_row):
        params = t_row.copy()
        params[free] = theta_row
        synthetic = dist.ppf(u_row, *params)
        return np.array([mle(y)[free] for y in synthetic])

    def residual(u):
        theta = from_u(u)
        out = np.empty_like(u)
        for i in range(size):
            stats_ = simulate(theta[i], t_full[i], uniforms[i]).mean(axis=0)
            out[i] = (coords(stats_) - coords(target[i])) / scale[i]
        return np.where(np.isfinite(out), out, 1e300)

    sol = solve_batched(residual, to_u(target), tol=tol, max_iter=max_iter, fd_step=1e-5)
    theta = from_u(sol.u)
    sims = np.stack([simulate(theta[i], t_full[i], uniforms[i]) for i in range(size)], axis=1)
    derivative = np.where(is_log, 1.0 / sims.mean(axis=0), 1.0) / scale
    se = monte_carlo_se(sol.jacobian, sims, derivative, np.where(is_log, theta, 1.0))
    if not sol.converged.all():
        warnings.warn(
            f"the PLE of scipy.stats.{dist.name} did not converge for "
            f"{int(np.count_nonzero(~sol.converged))} of {size} data set(s); see "
            "res.info['converged'] and res.info['residual'] (dist.fit's own accuracy may be "
            "the limit: try a larger `tol`).", ConvergenceWarning, stacklevel=2)

    full = t_full.copy()
    full[:, free] = theta
    params_type = namedtuple(f"{dist.name}_params", names)

    def shaped(column):
        column = column.reshape(batch)
        return float(column) if column.ndim == 0 else column

    params = params_type(*(shaped(full[:, j]) for j in range(len(names))))
    se_full = np.zeros_like(full)
    se_full[:, free] = se
    info = {
        "estimator": f"bootstrap PLE over scipy.stats.{dist.name}.fit, common random numbers",
        "m": m,
        "mle": params_type(*(shaped(t_full[:, j]) for j in range(len(names)))),
        "residual": shaped(sol.residual),
        "n_iter": sol.n_iter,
        "converged": sol.converged.reshape(batch) if batch else bool(sol.converged[0]),
        "mc_se": params_type(*(shaped(se_full[:, j]) for j in range(len(names)))),
        "fixed": tuple(fixed),
    }
    frozen = dist(*params)
    refit = Refit(_ScipyRefit(dist, m, tol, max_iter, fit_kwds), random=True)
    return FitResult(params=params, dist=frozen, method="ple", n=n, info=info, refit=refit)


def _fit_data(dist, row, fit_kwds):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(dist.fit(row, **fit_kwds), dtype=float)
    except TypeError:
        raise
    except Exception:  # scipy's FitError and friends: reported below as a failed fit
        return np.full(len(_parameter_names(dist)), np.nan)


class _ScipyRefit:
    def __init__(self, dist, m, tol, max_iter, fit_kwds):
        self.args = (dist, m, tol, max_iter, fit_kwds)

    def __call__(self, x, rng=None):
        dist, m, tol, max_iter, fit_kwds = self.args
        return fit_ple(dist, x, m=m, rng=rng, tol=tol, max_iter=max_iter, **fit_kwds)
