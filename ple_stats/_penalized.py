"""The penalised PLE: the Lagrangian relaxation of the PLE equation (paper eq. 5).

For every data set, minimise over the free parameters

    NLL(x; theta) / n + penalty * sum_j | b_m,j(theta) - g(T_j(x)) |

where ``b_m`` is the simulated binding function with common random numbers
(as in the bootstrap PLE). ``penalty = 0`` gives the MLE; the penalty is an
exact (L1) penalty, so once ``penalty`` exceeds the size of the likelihood's
gradient at the root of the PLE equation, the minimiser *is* that root. In
between it trades likelihood for recursive stability, as in the paper
(which uses ``penalty = 0.1``).
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from ._bootstrap import BindingProblem, _unbox, chunk_slices, flatten_batch, target_to_theta_start
from ._engine import solve_smooth
from ._result import Refit
from ._optimize import nelder_mead_batched
from ._warnings import ConvergenceWarning

__all__ = ["fit_penalized"]


def _as_penalty(penalty):
    if isinstance(penalty, bool) or not isinstance(penalty, numbers.Real):
        raise TypeError(f"`penalty` must be a non-negative number; got {type(penalty).__name__}.")
    if not (np.isfinite(penalty) and penalty >= 0):
        raise ValueError(f"`penalty` must be a non-negative finite number; got {penalty!r}.")
    return float(penalty)


def fit_penalized(cls, x, fixed, options, *, penalty, m, rng, max_iter=2000):
    """Penalised PLE of ``cls`` on validated data ``x`` (see the module docstring).

    ``m`` and ``rng`` are validated by the caller.
    """
    penalty = _as_penalty(penalty)
    cls._check_n(x, fixed, "ple", options)
    flat_x, flat_fixed, batch, size, n = flatten_batch(x, fixed)
    free = cls._free_names(fixed)
    k = len(free)
    theta = np.empty((size, k))
    gap = np.empty((size, k))
    objective = np.empty(size)
    converged = np.empty(size, dtype=bool)
    n_iter = 0
    for part in chunk_slices(size, m, n):
        problem = BindingProblem(cls, {k_: v[part] for k_, v in flat_fixed.items()}, options, n)
        out = _minimise_chunk(problem, flat_x[part], penalty, m, rng, max_iter)
        theta[part], gap[part], objective[part], converged[part] = out[:4]
        n_iter = max(n_iter, out[4])
    if not converged.all():
        warnings.warn(
            f"the penalised PLE of {cls.__name__} did not converge for "
            f"{int(np.count_nonzero(~converged))} of {size} data set(s) within {max_iter} "
            "iterations; see res.info['converged'].", ConvergenceWarning, stacklevel=3)
    params = {name: theta[:, j].reshape(batch) for j, name in enumerate(free)}
    info = {
        "estimator": "penalised PLE (NLL/n + penalty * L1 gap), common random numbers",
        "penalty": penalty,
        "m": m,
        "objective": _unbox(objective.reshape(batch)),
        "gap": {name: _unbox(gap[:, j].reshape(batch)) for j, name in enumerate(free)},
        "n_iter": n_iter,
        "converged": _unbox(converged.reshape(batch)),
        **options,
    }
    refit = functools.partial(cls.fit_ple, penalty=penalty, m=m, **options,
                              **{k_: np.asarray(v) for k_, v in fixed.items()})
    return cls._make_result(params, x, fixed, "ple", info, refit=Refit(refit, random=True))


def _minimise_chunk(problem, x, penalty, m, rng, max_iter):
    size, n = x.shape
    cls = problem.cls
    theta_mle = target_to_theta_start(problem, x)
    base = problem.draw_base(rng, (m, size, n))
    if cls._discrete:
        theta_root = theta_mle
    else:
        # The root of the PLE equation (the large-penalty limit) spans the start
        # simplex; the objective uses the same base draws (common random numbers).
        theta_root = solve_smooth(problem, x, base, tol=1e-10, max_iter=50).theta
    target = problem.statistic(x, problem.fixed)
    u_mle, u_root = problem.to_u(theta_mle), problem.to_u(theta_root)
    k = u_mle.shape[-1]
    simplex = np.repeat(u_mle[:, None, :], k + 1, axis=1)
    for j in range(k):
        delta = u_root[:, j] - u_mle[:, j]
        small = np.abs(delta) < 1e-3 * (1.0 + np.abs(u_mle[:, j]))
        simplex[:, j + 1, j] += np.where(small, 0.05 * (1.0 + np.abs(u_mle[:, j])), delta)

    def params_at(u, index):
        theta = problem.from_u(u)
        values = {name: v[index] for name, v in problem.fixed.items()}
        for j, name in enumerate(problem.free):
            values[name] = theta[:, j]
        return theta, [values[name] for name in cls._param_names]

    def gap_at(theta, index):
        return problem.subset(index).simulate(theta, base[:, index]).mean(axis=0) - target[index]

    def objective(u, index):
        theta, params = params_at(u, index)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            nll = -cls._logpdf(x[index], *[p[:, None] for p in params]).sum(axis=-1) / n
            pen = np.abs(gap_at(theta, index)).sum(axis=-1) if penalty else 0.0
        return nll + penalty * pen

    res = nelder_mead_batched(objective, simplex, max_iter=max_iter)
    everyone = np.arange(size)
    theta, _ = params_at(res.x, everyone)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = gap_at(theta, everyone)
    return theta, gap, res.fun, res.converged, res.n_iter
