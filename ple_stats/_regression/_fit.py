"""``ple_stats.fit_ple(model)`` for an unfitted statsmodels regression model."""

from __future__ import annotations

import warnings

import numpy as np

from .._engine import solve_chunks, warn_not_converged
from .._lib.executor import check_executor
from .._validation import as_int, as_rng
from .._warnings import NoMLEWarning, SeparationWarning
from ._model import ALPHA_FLOOR, RegressionModel, fit_T, standard_errors
from ._separation import infinite_coefficients
from ._spec import describe_model

__all__ = ["fit_ple_regression", "ESTIMATORS"]

ESTIMATORS = ("mle", "firth")


def fit_ple_regression(model, *, m=100, rng=None, estimator="mle", tol=1e-8, max_iter=30,
                       n_jobs=1, backend="loky", progress=None):
    """See :func:`ple_stats.fit_ple` (statsmodels models)."""
    from .._scipy_route import _as_tol
    from ._result import RegressionResult

    spec = describe_model(model)
    m = as_int(m, "m", minimum=2)
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    tol = _as_tol(tol)
    if not isinstance(estimator, str) or estimator not in ESTIMATORS:
        raise ValueError(f"`estimator` must be one of {ESTIMATORS}; got {estimator!r}.")
    n_jobs, backend = check_executor(n_jobs, backend)
    rng = as_rng(rng)
    t_obs, fallback, converged = fit_T(spec, spec.y[None], estimator)
    if estimator == "mle" and fallback[0]:
        _warn_separation(spec)
    result = solve_regression(spec, spec.y[None], t_obs, estimator, m=m, rng=rng, tol=tol,
                              max_iter=max_iter, n_jobs=n_jobs, backend=backend,
                              progress=progress, stacklevel=4)
    separated = float(np.max(result.extra["synthetic_separated"]))
    if estimator == "mle" and separated > 0:
        warnings.warn(
            f"{100 * separated:.0f}% of the {m} synthetic data sets at the PLE are separated "
            "(their maximum-likelihood estimate is infinite); T used the Jeffreys-penalised "
            "estimate for them. See res.info['synthetic_separated']."
            + (" With this many, the mean of T is pulled toward zero by the fallback and the "
               "PLE can move away from zero, beyond the MLE; estimator='firth' (T the "
               "Jeffreys-penalised estimate for every data set) avoids the mixture."
               if separated >= 0.1 else ""), SeparationWarning,
            stacklevel=4)
    return RegressionResult(spec, result, t_obs[0], observed_separated=bool(fallback[0]),
                            estimator=estimator, m=m, tol=tol, max_iter=max_iter,
                            bootstrap_seed=int(rng.integers(2**63)))


def solve_regression(spec, y, t_obs, estimator, *, m, rng, tol, max_iter, n_jobs=1,
                     backend="loky", progress=None, stacklevel=2, desc=None, start=None):
    """The PLE of every row of ``y`` ``(size, n)`` with observed estimates ``t_obs``
    (the root finder starts at ``start``, default ``t_obs``)."""
    spread = standard_errors(spec, t_obs)
    model = RegressionModel(spec, estimator, t_obs, spread, theta0=start)
    out = solve_chunks(model, y, m, rng, tol=tol, max_iter=max_iter, n_jobs=n_jobs,
                       backend=backend, progress=progress, desc=desc or f"PLE {spec.label()}")
    warn_not_converged(out.converged | out.extra["skipped"], f"PLE of {spec.label()}",
                       max_iter, stacklevel=stacklevel + 1)
    skipped = out.extra["skipped"]
    if skipped.any():
        warnings.warn(
            f"the PLE of alpha is not defined for {int(skipped.sum())} of {skipped.size} data "
            f"set(s): the maximum-likelihood estimate of alpha is at its lower bound "
            f"({ALPHA_FLOOR:g}: the counts are not overdispersed), and the mean of T over "
            "synthetic data sets exceeds it at every alpha > 0. They are left at the MLE "
            "with converged=False.", NoMLEWarning, stacklevel=stacklevel + 1)
    return out


def _warn_separation(spec):
    idx = infinite_coefficients(spec.X, spec.y, spec.response, spec.link.name)
    names = [spec.exog_names[j] for j in idx]
    which = (f"the coefficient(s) of {', '.join(f'`{n}`' for n in names)}" if names
             else "some coefficients")
    warnings.warn(
        f"the maximum-likelihood estimate of {spec.label()} does not exist: the data are "
        f"(quasi-)completely separated, the likelihood increases without bound along "
        f"directions that involve {which}, and these run to infinity. T falls back to the "
        "Jeffreys-penalised (Firth) estimate for such data sets, observed and synthetic, so "
        "the PLE stays finite; but the data barely identify these coefficients, and their "
        "PLE says more about the penalty than about the data (see the user guide, "
        "'Debiasing regression models').", SeparationWarning, stacklevel=5)
