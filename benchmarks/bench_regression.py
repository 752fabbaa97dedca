"""PLE of statsmodels regression models (m = 100) against statsmodels' own ``fit`` in the same run.

Three models, n = 250 observations and 7 coefficients each (an intercept and six standard
normal covariates, design drawn once with a fixed seed):

* ``Logit``: ``sm.Logit(y, X)``;
* ``GLM Poisson``: ``sm.GLM(y, X, family=sm.families.Poisson())``;
* ``NB2``: ``sm.NegativeBinomial(y, X)`` (alpha = 0.5 estimated, 8 parameters).

Per model, three times:

* ``fit_ple(model, m=100, rng=0)``;
* 100 plain statsmodels fits of the same model on the same data (``fit(disp=0)``), the
  unit of the ratios (the goal for Logit: the PLE within 3 of these units);
* the same PLE written as a loop of statsmodels fits: the iterative bootstrap (Kuk 1995;
  R's ``ib``), ``theta <- theta + T(y) - mean_j T(y_j(theta))`` over m = 100 synthetic
  responses drawn at ``theta`` with common random numbers (the uniforms ``fit_ple(...,
  rng=0)`` draws, through the same inverse CDF, so both solve the same equation), each
  fitted by statsmodels warm-started at ``theta``, with ``fit_ple``'s stopping rule for
  discrete responses: stop once every residual ``T(y) - mean_j T(y_j(theta))`` is at most
  a quarter of its Monte Carlo error (the standard deviation of ``T(y_j)`` at the start
  over sqrt(m)), or after 30 iterations. Its number of fits and iterations are printed
  beside its time, with ``*`` where it stopped at the cap. (The simulated equation is a
  step function: a rule much tighter than the Monte Carlo error, such as a step below
  1e-3 standard errors, is never met; the iteration then wanders within about 0.2 Monte
  Carlo errors of the root until the cap.)

Run ``python -m benchmarks bench_regression``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special, stats

import ple_stats

M = 100
N = 250
P = 7
LOOP_MAX_ITER = 30
LOOP_FRACTION = 0.25  # of the Monte Carlo error, as fit_ple for discrete responses

#: name -> (true coefficients, NB2 alpha or None)
CASES = {
    "Logit": (np.array([-1.0, 0.5, -0.5, 0.3, -0.3, 0.2, 0.0]), None),
    "GLM Poisson": (np.array([0.5, 0.3, -0.3, 0.2, -0.2, 0.1, 0.0]), None),
    "NB2": (np.array([0.5, 0.3, -0.3, 0.2, -0.2, 0.1, 0.0]), 0.5),
}


def _sm():
    import statsmodels.api as sm

    return sm


def _data(name, seed=0):
    """Design ``(N, P)`` with an intercept and the response of one data set."""
    beta, alpha = CASES[name]
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(N), rng.standard_normal((N, P - 1))])
    u = rng.random(N)
    return X, _respond(name, X @ beta, alpha, u)


def _respond(name, eta, alpha, u):
    """Responses at linear predictor ``eta`` from uniforms ``u`` (inverse CDF, as
    ``fit_ple`` draws them: a binary response is 1 where ``u > 1 - p``)."""
    if name == "Logit":
        return (u > 1.0 - special.expit(eta)).astype(float)
    mu = np.exp(eta)
    if alpha is None:
        return stats.poisson.ppf(u, mu)
    size = 1.0 / alpha
    return stats.nbinom.ppf(u, size, size / (size + mu))


def _model(name, y, X):
    sm = _sm()
    if name == "Logit":
        return sm.Logit(y, X)
    if name == "GLM Poisson":
        return sm.GLM(y, X, family=sm.families.Poisson())
    return sm.NegativeBinomial(y, X)


def _fit(name, y, X, start=None):
    model = _model(name, y, X)
    if name == "GLM Poisson":
        return model.fit(start_params=start)
    return model.fit(disp=0, start_params=start)


def _quiet(func):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func()


def plain_fits(name, X, y, count=M):
    """``count`` plain statsmodels fits of the model on the same data."""
    for _ in range(count):
        _fit(name, y, X)


def loop_ple(name, X, y, m=M, rng=0):
    """The iterative-bootstrap PLE as a loop of statsmodels fits.

    Returns ``(theta, fits, iterations, converged)``.
    """
    _, alpha = CASES[name]
    first = _fit(name, y, X)
    t_obs = np.asarray(first.params, dtype=float)
    u = np.random.default_rng(rng).random((m, N))  # the base draws of fit_ple(rng=rng)
    theta = t_obs.copy()
    fits = 1
    bound = None
    for it in range(1, LOOP_MAX_ITER + 1):
        beta, a = (theta[:P], theta[P]) if alpha is not None else (theta, None)
        a = None if a is None else max(a, 1e-6)
        eta = X @ beta
        estimates = np.empty((m, theta.size))
        for j in range(m):
            estimates[j] = _fit(name, _respond(name, eta, a, u[j]), X, start=theta).params
        fits += m
        if bound is None:
            bound = LOOP_FRACTION * estimates.std(axis=0, ddof=1) / np.sqrt(m)
        residual = t_obs - estimates.mean(axis=0)
        if np.all(np.abs(residual) <= bound):
            return theta, fits, it, True
        theta = theta + residual
    return theta, fits, it, False


# asv --------------------------------------------------------------------------------


class TimeRegressionPLE:
    params = list(CASES)
    param_names = ["model"]
    timeout = 600

    def setup(self, name):
        self.X, self.y = _data(name)

    def time_fit_ple(self, name):
        _quiet(lambda: ple_stats.fit_ple(_model(name, self.y, self.X), m=M, rng=0))

    def time_100_statsmodels_fits(self, name):
        _quiet(lambda: plain_fits(name, self.X, self.y))

    def peakmem_fit_ple(self, name):
        _quiet(lambda: ple_stats.fit_ple(_model(name, self.y, self.X), m=M, rng=0))


class TimeRegressionLoop:
    params = list(CASES)
    param_names = ["model"]
    timeout = 1200
    number = 1
    repeat = 1

    def setup(self, name):
        self.X, self.y = _data(name)

    def time_loop_of_statsmodels_fits(self, name):
        _quiet(lambda: loop_ple(name, self.X, self.y))


# plain script ----------------------------------------------------------------------


def main():
    from ._timing import best_time_and_result, print_table

    rows = []
    for name in CASES:
        X, y = _data(name)
        t_fits, _ = best_time_and_result(lambda: _quiet(lambda: plain_fits(name, X, y)))
        t_ple, res = best_time_and_result(lambda: _quiet(lambda: ple_stats.fit_ple(_model(name, y, X), m=M,
                                                                     rng=0)))
        t_loop, (theta, fits, iters, loop_converged) = best_time_and_result(
            lambda: _quiet(lambda: loop_ple(name, X, y)), repeat=1)
        gap = np.max(np.abs(res.params.to_numpy() - theta[:len(res.params)])
                     / res.mc_se.to_numpy()[:len(res.params)])
        rows.append([name, f"{t_fits * 1e3:.0f}", f"{t_ple * 1e3:.0f}",
                     f"{t_ple / t_fits:.2f}", res.info["n_iter"],
                     "yes" if res.info["converged"] else "no", f"{t_loop:.2f}",
                     f"{fits} ({iters} it.{'' if loop_converged else ' *'})",
                     f"{t_loop / t_fits:.1f}",
                     f"{t_loop / t_ple:.1f}x", f"{gap:.1f}"])
    print_table(f"PLE (m = {M}) of one data set (n = {N}, {P} coefficients) vs 100 statsmodels "
                "fits of it (the unit) and vs the PLE as a loop of statsmodels fits (* the "
                "loop stopped at its iteration cap)",
                ["model", "100 fits ms", "fit_ple ms", "fit_ple units", "PLE it.", "conv.",
                 "loop s", "loop fits", "loop units", "loop/fit_ple",
                 "max |PLE-loop|/MC s.e."], rows)


if __name__ == "__main__":
    main()
