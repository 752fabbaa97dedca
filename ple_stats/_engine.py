"""The PLE engine: one solver of the simulated PLE equation for any model.

The PLE solves ``b(theta) = T(x)`` with ``b(theta) = E_theta[T(Y)]`` replaced
by its Monte Carlo estimate over ``m`` synthetic data sets built from one
fixed array of base draws (common random numbers). What a model has to say
for that is small, and is the protocol :class:`BindingModel`:

* how to draw the base randomness (``draw_base``) and map it to synthetic
  data at ``theta`` (``generate``);
* the estimator ``T`` (``estimate``): data ``(..., n)`` to estimates
  ``(..., k)`` of the ``k`` free parameters, batched over data sets and
  synthetic sets;
* the parameter coordinates: an unconstrained ``u`` for the root finder
  (``to_u``/``from_u``, ``param_jacobian``) and the coordinates in which the
  residual is measured (``stat_coords``, ``residual_scale``).

``simulate(theta, base)`` (``T`` of the synthetic sets) defaults to
``estimate(generate(theta, base))``; adapters override it where they can do
better (warm starts, equivariance). The adapters: the ple_stats families
(``_bootstrap.BindingProblem``), the multivariate Gaussian
(``_multivariate_gaussian_ple._MVNModel``, vector data and a full ``d theta /
d u``), scipy distributions (``_scipy_model.ScipyModel``), statsmodels
regression models (``_regression._model.RegressionModel``) and, through the
same protocol, any other model with a sampler and a batched estimator.

Three solvers, chosen by ``model.solver``:

``"smooth"``
    Continuous data: with common random numbers ``b_m`` is a smooth function
    of ``theta``, solved by the batched quasi-Newton iteration of
    :func:`ple_stats._solver.solve_batched`.
``"monotone"``
    Discrete data, one free parameter: ``b_m`` is a monotone step function;
    a bracketed Illinois iteration converges to its crossing point.
``"stepwise"``
    Discrete data, several free parameters: a damped chord iteration with a
    secant Jacobian over a window far wider than the steps of ``b_m``,
    stopped once the residual is a small fraction of the Monte Carlo error.

Data sets are processed in chunks (bounded memory), each chunk with its own
base draws taken from ``rng`` in chunk order, so the result does not depend
on ``n_jobs`` or the backend that runs the chunks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ._solver import finite_difference_jacobian, solve_batched
from ._warnings import ConvergenceWarning

__all__ = ["BindingModel", "EngineResult", "solve_chunks", "solve_smooth", "solve_monotone",
           "solve_stepwise", "monte_carlo_se", "chunk_slices", "engine_info", "unbox",
           "warn_not_converged"]

#: Synthetic draws processed at once (per chunk of data sets): m * chunk * n * cost.
MAX_DRAWS_PER_CHUNK = 2**22


class BindingModel:
    """The protocol of a model the PLE engine can solve (see the module docstring).

    Attributes
    ----------
    names : tuple of str
        Names of the ``k`` free parameters.
    solver : {"smooth", "monotone", "stepwise"}
    fd_step : float
        Relative step of the root finder's finite-difference Jacobian.
    chunk_cost : int
        Work arrays per synthetic draw (for the chunk size).
    jacobian_at_root : bool
        Whether the smooth solver's Monte Carlo error uses a Jacobian recomputed
        at the root.
    max_step : float or None
        Largest change of any unconstrained coordinate in one step of the
        stepwise solver (None: no bound).

    Data sets are the rows of ``x``: ``(size, n)`` for scalar data, ``(size, n,
    *event)`` for vector data (the base draws then have shape ``(m, size, n,
    *event)``).
    """

    names: tuple = ()
    solver = "smooth"
    fd_step = 1e-6
    chunk_cost = 1
    #: Recompute the Jacobian at the root for the Monte Carlo error (smooth solver), for
    #: models whose ``b_m`` is not affine in ``u`` (the solver's last Jacobian may be
    #: from an earlier iterate).
    jacobian_at_root = False
    #: Bound on one step of the stepwise solver in each unconstrained coordinate (the
    #: step is shortened along its direction), for models whose synthetic data cost far
    #: more to draw at absurd parameters than near the start (None: no bound).
    max_step = None

    def draw_base(self, rng, shape):
        """Base randomness of shape ``(m, *x.shape)``."""
        raise NotImplementedError

    def generate(self, theta, base):
        """Synthetic data at ``theta`` (shape ``(size, k)``) from ``base``: ``(m, size, n,
        *event)``."""
        raise NotImplementedError

    def estimate(self, data):
        """The estimator T: data ``(..., size, n, *event)`` to statistics ``(..., size, k)``."""
        raise NotImplementedError

    def simulate(self, theta, base):
        """T of the synthetic sets, shape ``(m, size, k)``."""
        return self.estimate(self.generate(theta, base))

    def target(self, x):
        """T(x) of the observed data sets, shape ``(size, k)``."""
        return self.estimate(x)

    def start(self, x):
        """Starting values of theta (default: T(x))."""
        return self.target(x)

    def subset(self, index):
        """The model restricted to the data sets ``index``."""
        raise NotImplementedError

    def to_u(self, theta):
        raise NotImplementedError

    def from_u(self, u):
        raise NotImplementedError

    def param_jacobian(self, theta):
        """d theta / d u: shape ``(size, k)`` where each parameter depends on its own
        coordinate only, or the full ``(size, k, k)`` (e.g. a covariance's Cholesky
        coordinates)."""
        raise NotImplementedError

    def stat_coords(self, values):
        """Coordinates in which the residual is measured."""
        return values

    def stat_coords_derivative(self, values):
        return np.ones_like(values)

    def residual_scale(self, x):
        """Divisor of the residual of each statistic, shape ``(size, k)``."""
        return np.ones((x.shape[0], len(self.names)))

    def skip(self, x, base):
        """Data sets whose PLE equation has no solution (left unsolved, flagged)."""
        return np.zeros(x.shape[0], dtype=bool)

    def finish(self, x, base, theta):
        """Extra per-data-set diagnostics after the solve (dict of arrays)."""
        return {}


@dataclass
class EngineResult:
    """Solutions of the PLE equation for a flat batch of data sets."""

    theta: np.ndarray  #: (size, k)
    mc_se: np.ndarray  #: (size, k)
    residual: np.ndarray  #: (size,) max-norm of the final residual
    residuals: np.ndarray  #: (size, k) final residual of each equation
    converged: np.ndarray  #: (size,)
    n_iter: int
    extra: dict = field(default_factory=dict)  #: per-data-set diagnostics (size, ...)


def chunk_slices(size, m, n, cost=1):
    """Slices of the batch processed together so that ``m * chunk * n * cost`` fits."""
    chunk = max(1, MAX_DRAWS_PER_CHUNK // (m * n * cost))
    return [slice(start, min(size, start + chunk)) for start in range(0, size, chunk)]


class _ChunkTasks:
    """The engine's tasks, one per chunk; each chunk's base draws are taken from
    ``rng`` when the task is first read, and tasks are read in order, so memory
    stays bounded in-process and the draws are the same whatever runs them."""

    def __init__(self, model, x, m, rng, slices, options):
        self.model, self.x, self.m, self.rng = model, x, m, rng
        self.slices, self.options = slices, options
        self._next = 0
        self._cache = {}

    def __len__(self):
        return len(self.slices)

    def __getitem__(self, i):
        if i in self._cache:
            return self._cache.pop(i)
        if i != self._next:  # pragma: no cover - execute reads tasks in order
            raise IndexError("chunk tasks must be read in order")
        part = self.slices[i]
        sub = self.model.subset(part)
        x = self.x[part]
        base = sub.draw_base(self.rng, (self.m,) + x.shape)
        self._next += 1
        return (sub, x, base, self.options)


def _solve_task(model, x, base, options):
    solve = {"smooth": solve_smooth, "monotone": solve_monotone,
             "stepwise": solve_stepwise}[model.solver]
    skip = model.skip(x, base)
    if not skip.any():
        out = solve(model, x, base, **options)
        out.extra.update(model.finish(x, base, out.theta))
        out.extra["skipped"] = skip
        return out
    # Data sets without a solution are left at their start, flagged, and the rest solved.
    keep = np.flatnonzero(~skip)
    size, k = x.shape[0], len(model.names)
    theta = np.array(model.start(x), dtype=float)
    mc_se = np.full((size, k), np.nan)
    residual = np.full(size, np.inf)
    residuals = np.full((size, k), np.nan)
    converged = np.zeros(size, dtype=bool)
    n_iter, extra = 0, {}
    if keep.size:
        sub = model.subset(keep)
        part = solve(sub, x[keep], base[:, keep], **options)
        theta[keep], mc_se[keep], residual[keep] = part.theta, part.mc_se, part.residual
        residuals[keep], converged[keep], n_iter = part.residuals, part.converged, part.n_iter
        extra = {key: value for key, value in part.extra.items()}
    full_extra = model.finish(x, base, theta)
    for key, value in extra.items():
        if key not in full_extra:
            filled = np.full((size,) + np.shape(value)[1:], np.nan)
            filled[keep] = value
            full_extra[key] = filled
    full_extra["skipped"] = skip
    return EngineResult(theta=theta, mc_se=mc_se, residual=residual, residuals=residuals,
                        converged=converged, n_iter=n_iter, extra=full_extra)


def solve_chunks(model, x, m, rng, *, tol, max_iter, n_jobs=1, backend="loky",
                 progress=None, desc="PLE"):
    """Solve the PLE equation of ``model`` for every row of ``x`` (shape ``(size, n)``,
    or ``(size, n, *event)`` for vector data).

    Returns
    -------
    EngineResult
    """
    from ._lib.executor import execute

    size, n = x.shape[0], int(np.prod(x.shape[1:]))
    slices = chunk_slices(size, m, n, model.chunk_cost)
    tasks = _ChunkTasks(model, x, m, rng, slices, {"tol": tol, "max_iter": max_iter})
    if n_jobs == 1 and backend != "dask":
        # In-process: chunks one after the other, each drawn just before it runs.
        results = execute(_solve_task, tasks, n_jobs=1, progress=progress, desc=desc)
    else:
        results = execute(_solve_task, [tasks[i] for i in range(len(tasks))],
                          n_jobs=n_jobs, backend=backend, progress=progress, desc=desc)
    if len(results) == 1:
        return results[0]
    extra = {}
    for key in results[0].extra:
        extra[key] = np.concatenate([r.extra[key] for r in results])
    return EngineResult(
        theta=np.concatenate([r.theta for r in results]),
        mc_se=np.concatenate([r.mc_se for r in results]),
        residual=np.concatenate([r.residual for r in results]),
        residuals=np.concatenate([r.residuals for r in results]),
        converged=np.concatenate([r.converged for r in results]),
        n_iter=max(r.n_iter for r in results), extra=extra)


def engine_info(out, params_type, param_names, free, batch, *, m, estimator):
    """The info schema of every engine result.

    ``residual`` (max-norm of the final residual), ``residuals`` (the residual of
    each parameter's equation, a named tuple, 0 for fixed parameters),
    ``n_iter``, ``converged``, ``mc_se`` (named tuple, 0 for fixed parameters),
    ``m`` and ``estimator``; arrays of the batch shape, floats for one data set.
    """
    def by_param(values):
        full = {name: values[:, free.index(name)] if name in free else np.zeros(len(values))
                for name in param_names}
        return params_type(*(unbox(np.asarray(full[name], dtype=float).reshape(batch))
                             for name in param_names))

    return {
        "estimator": estimator,
        "m": m,
        "residual": unbox(out.residual.reshape(batch)),
        "residuals": by_param(out.residuals),
        "n_iter": int(out.n_iter),
        "converged": unbox(out.converged.reshape(batch)),
        "mc_se": by_param(out.mc_se),
    }


def unbox(arr):
    """A 0-d array as a Python scalar, other arrays as they are."""
    arr = np.asarray(arr)
    return arr.item() if arr.ndim == 0 else arr


def warn_not_converged(converged, what, max_iter, stacklevel):
    """The one ConvergenceWarning of the engine."""
    converged = np.asarray(converged)
    if converged.all():
        return
    size = converged.size
    warnings.warn(
        f"the {what} did not converge for {int(np.count_nonzero(~converged))} of {size} "
        f"data set(s) within {max_iter} iterations (or its residual stopped decreasing "
        "before reaching the tolerance); see res.info['converged'], "
        "res.info['residual'] and res.info['residuals'] (the residual of each parameter's "
        "equation).", ConvergenceWarning, stacklevel=stacklevel + 1)


# --------------------------------------------------------------------------- smooth


def solve_smooth(model, x, base, *, tol, max_iter):
    """Quasi-Newton solve of b_m(theta) = T(x) with fixed base draws.

    A model may offer ``model.simulator(base)``: an object whose
    ``simulate(theta, idx=None)`` returns what ``model.simulate(theta, base)``
    (``idx=None``) or ``model.subset(idx).simulate(theta, base[:, idx])`` would,
    bit for bit, with less work (e.g. from a summary of ``base`` computed once,
    or remembering its last results). The solvers use it where it exists, and
    the model's ``simulate`` otherwise. Where the simulator also has
    ``binding(theta)``, the mean of ``simulate(theta)`` over the ``m`` sets
    computed more cheaply (e.g. by linearity from the mean of a summary of the
    draws; equal to that mean up to rounding), it is used wherever the mean is
    needed: the residual of the iteration, the coordinate derivative and the
    reported residuals at the root.
    """
    target = model.target(x)
    target_c = model.stat_coords(target)
    # Residuals of real-valued statistics are scaled (e.g. by the data's range) so
    # the tolerance is relative whatever the units of the data.
    scale = model.residual_scale(x)
    make = getattr(model, "simulator", None)
    simulator = make(base) if make is not None else None
    if simulator is not None:
        simulate = simulator.simulate
    else:
        def simulate(theta):
            return model.simulate(theta, base)
    binding = getattr(simulator, "binding", None)
    cheap_binding = binding is not None
    if not cheap_binding:
        def binding(theta):
            return simulate(theta).mean(axis=0)

    def residual(u):
        sim = binding(model.from_u(u))
        with np.errstate(divide="ignore", invalid="ignore"):
            res = (model.stat_coords(sim) - target_c) / scale
        return np.where(np.isfinite(res), res, 1e300)

    u0 = model.to_u(model.start(x))
    sol = solve_batched(residual, u0, tol=tol, max_iter=max_iter, fd_step=model.fd_step)
    theta = model.from_u(sol.u)
    jacobian = sol.jacobian
    if model.jacobian_at_root:
        jacobian = finite_difference_jacobian(residual, sol.u, residual(sol.u),
                                              step=model.fd_step)
    # Delta method: Var(theta) ~ J^{-1} D (C / m) D J^{-T}, J = d residual / d u,
    # D = d coords / d statistic / scale, C = covariance of T(Y_j) over j.
    sims = simulate(theta)
    mean_sim = binding(theta) if cheap_binding else sims.mean(axis=0)
    coord_derivative = model.stat_coords_derivative(mean_sim) / scale
    se = monte_carlo_se(jacobian, sims, coord_derivative, model.param_jacobian(theta))
    with np.errstate(divide="ignore", invalid="ignore"):
        residuals = (model.stat_coords(mean_sim) - target_c) / scale
    return EngineResult(theta=theta, mc_se=se, residual=sol.residual, residuals=residuals,
                        converged=sol.converged, n_iter=sol.n_iter)


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
    param_jacobian : (*batch, k) or (*batch, k, k)
        d theta / d u, elementwise or full; with the full Jacobian ``P``,
        ``se(theta) = sqrt(diag(P Var(u) P^T))``.
    """
    m = sims.shape[0]
    centred = sims - sims.mean(axis=0)
    cov = np.einsum("j...a,j...b->...ab", centred, centred) / (m - 1) / m
    with np.errstate(all="ignore"):
        jinv = np.linalg.pinv(jacobian)
    a = jinv * coord_derivative[..., None, :]
    cov_u = a @ cov @ np.swapaxes(a, -1, -2)
    if param_jacobian.shape == jacobian.shape:  # the full d theta / d u
        cov_u = param_jacobian @ cov_u @ np.swapaxes(param_jacobian, -1, -2)
        param_jacobian = np.ones(param_jacobian.shape[:-1])
    elif param_jacobian.shape != jacobian.shape[:-1]:
        raise ValueError(f"`param_jacobian` must have shape {jacobian.shape[:-1]} "
                         f"(elementwise) or {jacobian.shape} (full); got "
                         f"{param_jacobian.shape}.")
    return param_jacobian * np.sqrt(np.maximum(np.diagonal(cov_u, axis1=-2, axis2=-1), 0.0))


# --------------------------------------------------------------------------- monotone


def solve_monotone(model, x, base, *, tol, max_iter):
    """Bracketed solve of b_m(theta) = T(x) for one parameter.

    Used for discrete models, whose simulated binding function is a monotone
    increasing step function of the parameter under common random numbers.
    The model supplies the bracket (``model.bracket(target, f)``, returning
    ``lo, hi, f_lo, f_hi, exact, at``: ``exact`` marks data sets whose root is
    known, ``at``, e.g. a statistic at the end of its range) and the
    parameter's bounds ``model.lower_clip`` (smallest value used for the
    slope) and ``model.upper``. The simulated statistics come from
    ``model.simulator(base)`` where the model has one (see :func:`solve_smooth`);
    if that has ``narrow(idx, lo, hi)``, it is told the brackets of the data sets
    ``idx`` after each step (so it can skip the draws that no longer change).
    """
    if len(model.names) != 1:
        raise NotImplementedError("the bracketed solver handles one parameter")
    # Closing the bracket further than 1e-7 (relative) buys nothing: the Monte Carlo
    # error of the root is several orders of magnitude larger, and below the width
    # of one step of b_m the iteration can only bisect.
    tol = max(tol, 1e-7)
    size = x.shape[0]
    target = model.target(x)[:, 0]
    upper = model.upper

    make = getattr(model, "simulator", None)
    simulator = make(base) if make is not None else None
    narrow = getattr(simulator, "narrow", None)

    def simulate(theta, idx=None):
        if simulator is not None:
            return simulator.simulate(theta[:, None], idx)
        if idx is None:
            return model.simulate(theta[:, None], base)
        return model.subset(idx).simulate(theta[:, None], base[:, idx])

    def f(theta, idx=None):
        return simulate(theta, idx).mean(axis=0)[:, 0] - (target if idx is None else target[idx])

    lo, hi, f_lo, f_hi, exact, at = model.bracket(target, f)
    if narrow is not None:
        narrow(np.flatnonzero(~exact), lo[~exact], hi[~exact])
    # A model may stop the bracket once it is a small fraction (``stop_fraction``)
    # of the Monte Carlo error of the statistic (b has slope ~1), far below which
    # closing it buys nothing.
    width = np.zeros(size)
    stop = getattr(model, "stop_fraction", None)
    if stop is not None:
        probe = np.where(exact, at, np.clip(target, lo, hi))
        spread = simulate(probe)[..., 0].std(axis=0, ddof=1)
        width = stop * spread / np.sqrt(base.shape[0])
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
        done[idx] = ((hi[idx] - lo[idx] <= np.maximum(tol * np.abs(hi[idx]), width[idx]))
                     | (f_mid == 0))
        if narrow is not None:
            narrow(idx, lo[idx], hi[idx])
    theta = np.where(exact, at, 0.5 * (lo + hi))
    # A step function's residual is not zero at its crossing: report the jump there.
    signed = f(theta)
    residual = np.abs(signed)
    converged = done
    # Monte Carlo error: sd of the statistic over the m sets / sqrt(m) / slope, the
    # slope taken over +-5% of theta (far wider than the steps of b_m).
    h = 0.05 * np.abs(theta)
    lo_t, hi_t = np.maximum(theta - h, model.lower_clip), np.minimum(theta + h, upper)
    slope = (f(hi_t) - f(lo_t)) / np.maximum(hi_t - lo_t, 1e-300)
    sims = simulate(theta)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(exact, 0.0, sims.std(axis=0, ddof=1) / np.sqrt(base.shape[0]) / slope)
    return EngineResult(theta=theta[:, None], mc_se=se[:, None], residual=residual,
                        residuals=signed[:, None], converged=converged, n_iter=n_iter)


# --------------------------------------------------------------------------- stepwise


def solve_stepwise(model, x, base, *, tol, max_iter, window=0.05, fraction=0.1):
    """Chord iteration for a step-function ``b_m`` of several parameters.

    The Jacobian is a secant over ``window`` in each unconstrained coordinate
    (a 5% change of a positive parameter), far wider than the steps of ``b_m``
    (about ``1/(m n)`` of its range) and so a good estimate of the slope of the
    smooth binding function. Converged when every residual is at most
    ``max(tol, fraction * its Monte Carlo standard error)``: a residual of a
    tenth of the Monte Carlo error adds under 1% to the error of the root.
    """
    m = base.shape[0]
    size = x.shape[0]
    target = model.target(x)
    target_c = model.stat_coords(target)
    scale = model.residual_scale(x)

    def evaluate(u, idx=slice(None)):
        sub = model if isinstance(idx, slice) else model.subset(idx)
        sims = sub.simulate(sub.from_u(u), base[:, idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            res = (sub.stat_coords(sims.mean(axis=0)) - target_c[idx]) / scale[idx]
        return np.where(np.isfinite(res), res, 1e300), sims

    def secant(u, r, idx=slice(None)):
        k = u.shape[-1]
        jac = np.empty(u.shape + (k,))
        for j in range(k):
            shifted = u.copy()
            shifted[:, j] += window
            jac[:, :, j] = (evaluate(shifted, idx)[0] - r) / window
        return jac

    # A model may give the Jacobian (``jacobian_hint(u)``, e.g. the identity where
    # b(theta) = theta + O(1/n) in its coordinates) and its own stopping fraction.
    fraction = getattr(model, "stepwise_fraction", fraction)
    hint = getattr(model, "jacobian_hint", None)
    max_step = getattr(model, "max_step", None)
    u = model.to_u(model.start(x))
    r, sims = evaluate(u)
    sims = np.array(sims)  # updated in place below; a model may keep what it returned
    jac = secant(u, r) if hint is None else hint(u)

    def mc_error(sims):
        with np.errstate(divide="ignore", invalid="ignore"):
            coords = model.stat_coords(sims) / scale
        return coords.std(axis=0, ddof=1) / np.sqrt(m)

    bound = np.maximum(tol, fraction * mc_error(sims))
    done = np.all(np.abs(r) <= bound, axis=-1)
    stalled = np.zeros(size, dtype=bool)
    n_iter = 0
    from ._solver import _solve as linear_solve

    for n_iter in range(1, max_iter + 1):
        idx = np.flatnonzero(~done & ~stalled)
        if idx.size == 0:
            n_iter -= 1
            break
        step = -linear_solve(jac[idx], r[idx])
        step = np.where(np.isfinite(step), step, 0.0)
        if max_step is not None:
            longest = np.max(np.abs(step), axis=-1, keepdims=True)
            step = step * np.minimum(1.0, max_step / np.maximum(longest, 1e-300))
        norm = np.max(np.abs(r[idx]) / bound[idx], axis=-1)
        # Step halving, re-evaluating only the systems whose residual did not decrease.
        scale_step = np.ones(idx.size)
        better = np.zeros(idx.size, dtype=bool)
        pending = np.arange(idx.size)
        for _ in range(6):
            rows = idx[pending]
            trial = u[rows] + scale_step[pending, None] * step[pending]
            r_trial, s_trial = evaluate(trial, rows)
            ok = np.max(np.abs(r_trial) / bound[rows], axis=-1) < norm[pending]
            u[rows[ok]], r[rows[ok]] = trial[ok], r_trial[ok]
            sims[:, rows[ok]] = s_trial[:, ok]
            better[pending[ok]] = True
            pending = pending[~ok]
            if pending.size == 0:
                break
            scale_step[pending] *= 0.5
        stalled[idx] = ~better
        done[idx] = np.all(np.abs(r[idx]) <= bound[idx], axis=-1)
    theta = model.from_u(u)
    coord_derivative = model.stat_coords_derivative(sims.mean(axis=0)) / scale
    se = monte_carlo_se(jac, sims, coord_derivative, model.param_jacobian(theta))
    return EngineResult(theta=theta, mc_se=se, residual=np.max(np.abs(r), axis=-1),
                        residuals=r, converged=done, n_iter=n_iter,
                        extra={"tolerance": np.max(bound, axis=-1), "stalled": stalled & ~done})
