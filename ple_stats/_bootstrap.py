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

The solvers are those of the PLE engine (:mod:`ple_stats._engine`), shared
with scipy distributions; this module is the families' adapter to it
(:class:`BindingProblem`).
"""

from __future__ import annotations

import functools

import numpy as np

from ._engine import (BindingModel, chunk_slices, engine_info, solve_chunks,
                      warn_not_converged)
from ._result import Refit

__all__ = ["fit_bootstrap", "BindingProblem", "chunk_slices", "flatten_batch"]


class BindingProblem(BindingModel):
    """The simulated PLE equation of one family on one chunk of data sets.

    The families' adapter to the PLE engine: base draws and the map to data are
    the family's ``_draw_base``/``_from_base``, the estimator ``T`` its
    closed-form ``_mle`` (through the family's statistic transform ``g``), the
    coordinates its parameter constraints.

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
        self.names = self.free
        self.constraints = [cls._constraints[name] for name in self.free]
        self.stat_transform = cls._ple_statistic_transform(options)
        self.solver = "monotone" if cls._discrete else "smooth"
        if cls._discrete:
            self.upper = self.constraints[0].upper
            self.lower_clip = 1e-300

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

    # -- the engine's protocol ---------------------------------------------------------
    def draw_base(self, rng, shape):
        return self.cls._draw_base(rng, shape)

    def generate(self, theta, base):
        params = [np.asarray(p)[None, ..., None] for p in self.params(theta)]
        return self.cls._from_base(base, *params)

    def estimate(self, data):
        fixed = {k: np.broadcast_to(v, data.shape[:-1]) for k, v in self.fixed.items()}
        return self.statistic(data, fixed)

    def simulate(self, theta, base):
        """g(T(Y_j(theta))) for synthetic sets ``Y_j`` built from ``base`` (m, *batch, n)."""
        return self.estimate(self.generate(theta, base))

    def target(self, x):
        return self.statistic(x, self.fixed)

    def start(self, x):
        return target_to_theta_start(self, x)

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

    def param_jacobian(self, theta):
        return np.stack([c.jacobian(theta[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def stat_coords(self, values):
        """Coordinates in which the residual is measured (log for positive statistics)."""
        return np.stack([c.to_unconstrained(values[..., j]) if c.transform == "log"
                         else values[..., j] for j, c in enumerate(self.constraints)], axis=-1)

    def stat_coords_derivative(self, values):
        return np.stack([1.0 / values[..., j] if c.transform == "log"
                         else np.ones_like(values[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def residual_scale(self, x):
        # Residuals of real-valued statistics are scaled by the data's range.
        spread = (x.max(axis=-1) - x.min(axis=-1))[:, None]
        return np.where([c.transform == "log" for c in self.constraints], 1.0,
                        np.where(spread > 0, spread, 1.0))

    def bracket(self, target, f):
        """Bracket of the monotone solver: (0, upper] for a parameter such as ``p``."""
        upper = self.upper
        size = target.shape[0]
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
        return lo, hi, f_lo, f_hi, exact, np.full(size, upper)


def _identity(value):
    return value


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
    out = solve_chunks(problem, flat_x, m, rng, tol=tol, max_iter=max_iter, progress=False)
    warn_not_converged(out.converged, f"bootstrap PLE of {cls.__name__}", max_iter,
                       stacklevel=3)
    info = engine_info(out, cls.Params, cls._param_names, problem.free, batch, m=m,
                       estimator=("bootstrap PLE with common random numbers"
                                  + (" (bracketed root finder)" if cls._discrete else "")))
    info.update(options)
    params = {name: out.theta[:, j].reshape(batch) for j, name in enumerate(problem.free)}
    refit = functools.partial(cls.fit_ple, method="bootstrap", m=m, **options,
                              **{k_: np.asarray(v) for k_, v in fixed.items()})
    return cls._make_result(params, x, fixed, "ple", info, refit=Refit(refit, random=True))


def _unbox(arr):
    arr = np.asarray(arr)
    return arr.item() if arr.ndim == 0 else arr


def target_to_theta_start(problem, x):
    """Starting point: the MLE of the free parameters."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mle = problem.cls._mle(x, problem.fixed)
    return np.stack([np.asarray(mle[name], dtype=float) for name in problem.free], axis=-1)
