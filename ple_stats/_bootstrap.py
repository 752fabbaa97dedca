"""Data-driven PLE (the paper's eq. 5) for the parametric families.

The binding function ``b(theta) = E_theta[T(Y)]`` is replaced by its Monte
Carlo estimate over ``m`` synthetic data sets of size ``n``,
``b_m(theta) = mean_j g(T(Y_j(theta)))``, and the PLE equation
``b_m(theta) = g(T(x))`` is solved for the free parameters of every data set
of the batch at once.

Continuous families use common random numbers: one fixed array of base
draws per data set, mapped to samples by the family's ``_from_base``
(quantile function or location-scale transform), so ``b_m`` is a smooth
deterministic function of ``theta`` and :func:`solve_batched` (quasi-Newton)
converges to machine precision. The unknowns are kept inside their domains by
solving in unconstrained coordinates (log for positive parameters).

Discrete families (Geometric) have a step-function ``b_m`` under common random
numbers, so derivatives are useless; but ``b_m`` is monotone in the single
parameter and its steps are tiny (about ``1/(m n)`` of the range) next to its
Monte Carlo error. For them the equation is solved by a bracketed
root finder (Illinois) on the same common random numbers, which converges to
the crossing point; the Monte Carlo error uses the slope of ``b_m`` over a
window much wider than its steps.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ._result import Refit
from ._solver import solve_batched
from ._warnings import ConvergenceWarning

__all__ = ["fit_bootstrap", "BindingProblem", "chunk_slices", "flatten_batch"]

#: Synthetic draws processed at once (per chunk of data sets): m * chunk * n.
_MAX_DRAWS_PER_CHUNK = 2**22


class BindingProblem:
    """The simulated PLE equation of one family on one chunk of data sets.

    Parameters
    ----------
    cls : Distribution subclass
    fixed : dict of name -> ndarray of the chunk's batch shape
    options : dict
        The family's ``fit_ple`` options (e.g. ``parametrization``).
    n : int
        Sample size of the synthetic data sets.
    """

    def __init__(self, cls, fixed, options, n):
        self.cls = cls
        self.fixed = fixed
        self.n = n
        self.free = cls._free_names(fixed)
        self.constraints = [cls._constraints[name] for name in self.free]
        self.stat_transform = cls._ple_statistic_transform(options)

    def statistic(self, data, fixed):
        """g(T(data)) for the free parameters, shape ``(*data.shape[:-1], k)``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            mle = self.cls._mle(data, fixed)
        return np.stack([self.stat_transform.get(name, _identity)(np.asarray(mle[name]))
                         for name in self.free], axis=-1)

    def params(self, theta):
        """All parameters (fixed and free) from the free values ``theta[..., k]``."""
        values = dict(self.fixed)
        for j, name in enumerate(self.free):
            values[name] = theta[..., j]
        return [values[name] for name in self.cls._param_names]

    def simulate(self, theta, base):
        """g(T(Y_j(theta))) for synthetic sets ``Y_j`` built from ``base`` (m, *batch, n)."""
        params = [np.asarray(p)[None, ..., None] for p in self.params(theta)]
        synthetic = self.cls._from_base(base, *params)
        fixed = {k: np.broadcast_to(v, base.shape[:-1]) for k, v in self.fixed.items()}
        return self.statistic(synthetic, fixed)

    def subset(self, index):
        """The same problem restricted to the data sets ``index`` of the batch."""
        sub = object.__new__(BindingProblem)
        sub.__dict__.update(self.__dict__)
        sub.fixed = {name: value[index] for name, value in self.fixed.items()}
        return sub

    def to_u(self, theta):
        return np.stack([c.to_unconstrained(theta[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def from_u(self, u):
        return np.stack([c.from_unconstrained(u[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def stat_coords(self, values):
        """Coordinates in which the residual is measured (log for positive statistics)."""
        return np.stack([c.to_unconstrained(values[..., j]) if c.transform == "log"
                         else values[..., j] for j, c in enumerate(self.constraints)], axis=-1)

    def stat_coords_derivative(self, values):
        return np.stack([1.0 / values[..., j] if c.transform == "log"
                         else np.ones_like(values[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)


def _identity(value):
    return value


def chunk_slices(size, m, n):
    """Slices of the batch processed together so that ``m * chunk * n`` draws fit in memory."""
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // (m * n))
    return [slice(start, min(size, start + chunk)) for start in range(0, size, chunk)]


def flatten_batch(x, fixed):
    """Data ``(*batch, n)`` as ``(size, n)`` and fixed parameters as ``(size,)`` arrays."""
    n, batch = x.shape[-1], x.shape[:-1]
    size = int(np.prod(batch))
    return x.reshape(size, n), {k: np.reshape(v, size) for k, v in fixed.items()}, batch, size, n


def fit_bootstrap(cls, x, fixed, options, *, m, rng, tol=1e-10, max_iter=50):
    """Bootstrap PLE of ``cls`` on validated data ``x`` (see the module docstring).

    ``m`` (an int >= 2) and ``rng`` (a Generator) are validated by the caller.
    """
    cls._check_n(x, fixed, "ple", options)
    flat_x, flat_fixed, batch, size, n = flatten_batch(x, fixed)
    problem = BindingProblem(cls, flat_fixed, options, n)
    k = len(problem.free)
    theta = np.empty((size, k))
    mc_se = np.empty((size, k))
    residual = np.empty(size)
    converged = np.empty(size, dtype=bool)
    n_iter = 0
    solve = _solve_monotone if cls._discrete else _solve_common_random_numbers
    for part in chunk_slices(size, m, n):
        sub = BindingProblem(cls, {k_: v[part] for k_, v in flat_fixed.items()}, options, n)
        out = solve(sub, flat_x[part], m, rng, tol=tol, max_iter=max_iter)
        theta[part], mc_se[part], residual[part], converged[part] = out[:4]
        n_iter = max(n_iter, out[4])
    if not converged.all():
        warnings.warn(
            f"the bootstrap PLE of {cls.__name__} did not converge for "
            f"{int(np.count_nonzero(~converged))} of {size} data set(s) within {max_iter} "
            "iterations; see res.info['converged'] and res.info['residual'].",
            ConvergenceWarning, stacklevel=3,
        )
    params = {name: theta[:, j].reshape(batch) for j, name in enumerate(problem.free)}
    se = {name: (mc_se[:, problem.free.index(name)].reshape(batch) if name in problem.free
                 else np.zeros(batch)) for name in cls._param_names}
    info = {
        "estimator": ("bootstrap PLE with common random numbers"
                      + (" (bracketed root finder)" if cls._discrete else "")),
        "m": m,
        "residual": _unbox(residual.reshape(batch)),
        "n_iter": n_iter,
        "converged": _unbox(converged.reshape(batch)),
        "mc_se": cls.Params(*(_unbox(se[name]) for name in cls._param_names)),
        **options,
    }
    refit = functools.partial(cls.fit_ple, method="bootstrap", m=m, **options,
                              **{k_: np.asarray(v) for k_, v in fixed.items()})
    return cls._make_result(params, x, fixed, "ple", info, refit=Refit(refit, random=True))


def _unbox(arr):
    arr = np.asarray(arr)
    return arr.item() if arr.ndim == 0 else arr


def _solve_common_random_numbers(problem, x, m, rng, *, tol, max_iter):
    """Quasi-Newton solve of b_m(theta) = g(T(x)) with fixed base draws."""
    size, n = x.shape
    base = problem.cls._draw_base(rng, (m, size, n))
    target = problem.statistic(x, problem.fixed)
    target_c = problem.stat_coords(target)
    # Residuals of real-valued statistics are scaled by the data's range so the
    # tolerance is relative whatever the units of the data.
    spread = (x.max(axis=-1) - x.min(axis=-1))[:, None]
    scale = np.where([c.transform == "log" for c in problem.constraints], 1.0,
                     np.where(spread > 0, spread, 1.0))

    def residual(u):
        sim = problem.simulate(problem.from_u(u), base).mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            res = (problem.stat_coords(sim) - target_c) / scale
        return np.where(np.isfinite(res), res, 1e300)

    u0 = problem.to_u(target_to_theta_start(problem, x))
    sol = solve_batched(residual, u0, tol=tol, max_iter=max_iter)
    theta = problem.from_u(sol.u)
    # Delta method: Var(theta) ~ J^{-1} D (C / m) D J^{-T}, J = d residual / d u,
    # D = d coords / d statistic / scale, C = covariance of g(T(Y_j)) over j.
    sims = problem.simulate(theta, base)
    coord_derivative = problem.stat_coords_derivative(sims.mean(axis=0)) / scale
    param_jacobian = np.stack([c.jacobian(theta[..., j])
                               for j, c in enumerate(problem.constraints)], axis=-1)
    se = monte_carlo_se(sol.jacobian, sims, coord_derivative, param_jacobian)
    return theta, se, sol.residual, sol.converged, sol.n_iter


def monte_carlo_se(jacobian, sims, coord_derivative, param_jacobian):
    """Monte Carlo standard error of the root of a simulated equation (delta method).

    With ``r(u) = c(mean_j s_j(u)) - c(t)``, the root moves by
    ``du = -J^{-1} D d(mean_j s_j)``; the mean of ``m`` draws has covariance
    ``C / m``. So ``Var(u) ~ J^{-1} D (C/m) D J^{-T}`` and
    ``se(theta) = |d theta / d u| sqrt(diag Var(u))``.

    Parameters
    ----------
    jacobian : (*batch, k, k)   d residual / d u at the root
    sims : (m, *batch, k)       the simulated statistics at the root
    coord_derivative : (*batch, k)   D, derivative of the residual coordinates
    param_jacobian : (*batch, k)     d theta / d u
    """
    m = sims.shape[0]
    centred = sims - sims.mean(axis=0)
    cov = np.einsum("j...a,j...b->...ab", centred, centred) / (m - 1) / m
    with np.errstate(all="ignore"):
        jinv = np.linalg.pinv(jacobian)
    a = jinv * coord_derivative[..., None, :]
    cov_u = a @ cov @ np.swapaxes(a, -1, -2)
    return param_jacobian * np.sqrt(np.maximum(np.diagonal(cov_u, axis1=-2, axis2=-1), 0.0))


def target_to_theta_start(problem, x):
    """Starting point: the MLE of the free parameters."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mle = problem.cls._mle(x, problem.fixed)
    return np.stack([np.asarray(mle[name], dtype=float) for name in problem.free], axis=-1)


def _solve_monotone(problem, x, m, rng, *, tol, max_iter):
    """Bracketed solve of b_m(theta) = g(T(x)) for one parameter in (lower, upper].

    Used for discrete families, whose simulated binding function is a monotone
    increasing step function of the parameter under common random numbers.
    """
    if len(problem.free) != 1 or not np.isfinite(problem.constraints[0].upper):
        raise NotImplementedError("the bracketed bootstrap solver handles one parameter "
                                  "in a bounded interval")
    # Closing the bracket further than 1e-7 (relative) buys nothing: the Monte Carlo
    # error of the root is several orders of magnitude larger, and below the width
    # of one step of b_m the iteration can only bisect.
    tol = max(tol, 1e-7)
    size, n = x.shape
    base = problem.cls._draw_base(rng, (m, size, n))
    target = problem.statistic(x, problem.fixed)[:, 0]
    upper = problem.constraints[0].upper

    def f(theta, idx=slice(None)):
        sub = problem if isinstance(idx, slice) else problem.subset(idx)
        return sub.simulate(theta[:, None], base[:, idx]).mean(axis=0)[:, 0] - target[idx]

    hi = np.full(size, upper)
    f_hi = f(hi)  # >= 0: the statistic cannot exceed its value at the upper end
    lo = 0.5 * np.minimum(target, upper)
    f_lo = f(lo)
    for _ in range(200):
        bad = f_lo > 0
        if not bad.any():
            break
        lo = np.where(bad, 0.5 * lo, lo)
        f_lo = np.where(bad, f(lo), f_lo)
    exact = f_hi <= 0  # the statistic is at its maximum: the root is the upper end
    side = np.zeros(size)
    done = exact.copy()
    n_iter = 0
    for n_iter in range(1, 4 * max_iter + 1):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        a, b, fa, fb = lo[idx], hi[idx], f_lo[idx], f_hi[idx]
        denom = fb - fa
        mid = np.where(denom > 0, (a * fb - b * fa) / np.where(denom > 0, denom, 1.0),
                       0.5 * (a + b))
        mid = np.clip(mid, a, b)
        f_mid = f(mid, idx)
        left = f_mid < 0
        s = side[idx]
        fb = np.where(left & (s == 1), 0.5 * fb, fb)
        fa = np.where(~left & (s == -1), 0.5 * fa, fa)
        lo[idx], f_lo[idx] = np.where(left, mid, a), np.where(left, f_mid, fa)
        hi[idx], f_hi[idx] = np.where(left, b, mid), np.where(left, fb, f_mid)
        side[idx] = np.where(left, 1, -1)
        done[idx] = (hi[idx] - lo[idx] <= tol * hi[idx]) | (f_mid == 0)
    theta = np.where(exact, upper, 0.5 * (lo + hi))
    # A step function's residual is not zero at its crossing: report the jump there.
    residual = np.abs(f(theta))
    converged = done
    # Monte Carlo error: sd of the statistic over the m sets / sqrt(m) / slope, the
    # slope taken over +-5% of theta (far wider than the steps of b_m).
    h = 0.05 * theta
    lo_t, hi_t = np.maximum(theta - h, 1e-300), np.minimum(theta + h, upper)
    slope = (f(hi_t) - f(lo_t)) / np.maximum(hi_t - lo_t, 1e-300)
    sims = problem.simulate(theta[:, None], base)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(exact, 0.0, sims.std(axis=0, ddof=1) / np.sqrt(m) / slope)
    return theta[:, None], se[:, None], residual, converged, n_iter
