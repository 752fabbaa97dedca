"""Statistical behaviour of the regression PLE, against independent references.

Monte Carlo over simulated data sets with a fixed design: the mean bias of
the PLE and of the MLE (the estimator T) at small n, on the data sets where
the MLE exists; the PLE beside firthmodels' Firth estimate; the reported
Monte Carlo standard error beside the spread of the PLE over seeds. Each
study solves all its data sets in one batched engine call (the same code as
``fit_ple(model)``, which solves one).

Seeds are fixed, so each test is deterministic; the tolerances are chosen
from the measured standard errors so that a re-seeded run would fail with
the probability stated in each test.
"""

import warnings

import numpy as np
import pytest

sm = pytest.importorskip("statsmodels.api")

from ple_stats._regression._fit import solve_regression  # noqa: E402
from ple_stats._regression._model import fit_T  # noqa: E402
from ple_stats._regression._spec import describe_model  # noqa: E402


def _study(model_cls, X, sample, truth, *, R, m, seed):
    """MLE and PLE of R simulated response vectors; biases with standard errors."""
    rng = np.random.default_rng(seed)
    Y = sample(rng, (R, X.shape[0]))
    spec = describe_model(model_cls(Y[0], X))
    T, separated, _ = fit_T(spec, Y, "mle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few step-function solves stop short of tol
        out = solve_regression(spec, Y, T, "mle", m=m, rng=rng, tol=1e-8, max_iter=30)
    ok = ~separated
    result = {}
    for name, est in (("mle", T), ("ple", out.theta)):
        bias = est[ok].mean(axis=0) - truth
        se = est[ok].std(axis=0, ddof=1) / np.sqrt(ok.sum())
        result[name] = (bias, se)
    result["converged"] = out.converged.mean()
    return result


def _check_halved(result):
    b_mle, se_mle = result["mle"]
    b_ple, se_ple = result["ple"]
    total_mle, total_ple = np.abs(b_mle).sum(), np.abs(b_ple).sum()
    # The MLE's bias is clearly there for some coefficient (power: beyond 3.5 s.e.), and
    # the PLE's summed |bias| is at most half the MLE's.
    assert np.max(np.abs(b_mle) / se_mle) > 3.5, (b_mle, se_mle)
    assert total_ple <= 0.5 * total_mle, (b_ple, se_ple, total_ple, total_mle)
    assert result["converged"] > 0.95


@pytest.mark.slow
def test_logistic_bias_is_at_least_halved():
    # n = 60, 4 coefficients, ~30% events; R = 200 data sets, m = 50 (seed 1). Measured:
    # summed |bias| MLE 0.54 (s.e. of each coefficient's bias ~0.03), PLE 0.11; a
    # re-seeded PLE total would have to triple to reach half the MLE's (p < 1e-3).
    rng = np.random.default_rng(10)
    X = sm.add_constant(rng.normal(size=(60, 3)))
    beta = np.array([-1.0, 1.0, 0.5, -0.3])
    p = 1.0 / (1.0 + np.exp(-X @ beta))
    result = _study(sm.Logit, X, lambda r, s: (r.random(s) < p).astype(float), beta,
                    R=200, m=50, seed=1)
    _check_halved(result)


def test_poisson_bias_is_at_least_halved():
    # GLM Poisson, n = 20, 3 coefficients; R = 300, m = 50 (seed 2). Measured: MLE
    # summed |bias| 0.063 (intercept -0.055 +- 0.013), PLE 0.019.
    rng = np.random.default_rng(20)
    X = sm.add_constant(rng.normal(size=(20, 2)))
    beta = np.array([0.3, 0.5, -0.4])
    mu = np.exp(X @ beta)
    result = _study(lambda y, X: sm.GLM(y, X, family=sm.families.Poisson()), X,
                    lambda r, s: r.poisson(mu, size=s).astype(float), beta, R=300, m=50, seed=2)
    _check_halved(result)


@pytest.mark.slow
def test_gamma_bias_including_the_dispersion_is_at_least_halved():
    # GLM Gamma (log link), shape 2 (scale 0.5), n = 20; R = 300, m = 50 (seed 3).
    # Measured: the MLE of the scale is biased by -0.07 +- 0.008 (the (n - p)/n
    # effect), summed |bias| 0.12; PLE 0.017, scale bias 0.000 +- 0.009.
    rng = np.random.default_rng(30)
    X = sm.add_constant(rng.normal(size=(20, 2)))
    beta = np.array([0.3, 0.5, -0.4])
    mu, shape = np.exp(X @ beta), 2.0
    result = _study(
        lambda y, X: sm.GLM(y, X, family=sm.families.Gamma(sm.families.links.Log())), X,
        lambda r, s: r.gamma(shape, mu / shape, size=s), np.r_[beta, 1.0 / shape],
        R=300, m=50, seed=3)
    _check_halved(result)
    b_ple, se_ple = result["ple"]
    assert abs(b_ple[-1]) < 3 * se_ple[-1]  # the scale: unbiased within 3 s.e. (p 0.003)


@pytest.mark.slow
def test_negative_binomial_alpha_bias_is_at_least_halved():
    # NB2 (alpha 0.5), n = 50; R = 200, m = 50 (seed 4). Measured: MLE summed |bias|
    # 0.108, alpha -0.068 +- 0.017; PLE 0.012, alpha 0.001 +- 0.019. (At n = 30 the MLE
    # of alpha is at its lower bound, 0, for 10% of the data sets, whose PLE is then
    # undefined: see the user guide.)
    rng = np.random.default_rng(40)
    X = sm.add_constant(rng.normal(size=(50, 2)))
    beta, alpha = np.array([0.5, 0.5, -0.4]), 0.5
    mu = np.exp(X @ beta)
    result = _study(sm.NegativeBinomial, X,
                    lambda r, s: r.negative_binomial(1 / alpha, 1 / (1 + alpha * mu),
                                                     size=s).astype(float),
                    np.r_[beta, alpha], R=200, m=50, seed=4)
    _check_halved(result)
    (b_mle, se_mle), (b_ple, _) = result["mle"], result["ple"]
    assert b_mle[-1] < -3 * se_mle[-1]  # the MLE of alpha is biased down
    assert abs(b_ple[-1]) < 0.5 * abs(b_mle[-1])


def test_ple_is_close_to_firth_where_the_mle_exists():
    # Both remove the O(1/n) bias of the logistic MLE, so they differ by O(n^-3/2)
    # plus the PLE's Monte Carlo error (about sd / sqrt(m) = 0.1 sd at m = 100).
    # 40 data sets, n = 60, seed 5. Measured: mean |PLE - Firth| is 0.07-0.09 of the
    # MLE's sampling sd per coefficient, while |MLE - Firth| is 0.14-0.34; tolerance
    # 0.2 (the MLE itself would fail it).
    firthmodels = pytest.importorskip("firthmodels")
    rng = np.random.default_rng(50)
    X = sm.add_constant(rng.normal(size=(60, 3)))
    beta = np.array([-1.0, 1.0, 0.5, -0.3])
    p = 1.0 / (1.0 + np.exp(-X @ beta))
    gen = np.random.default_rng(5)
    Y = (gen.random((40, 60)) < p).astype(float)
    spec = describe_model(sm.Logit(Y[0], X))
    T, separated, _ = fit_T(spec, Y, "mle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = solve_regression(spec, Y, T, "mle", m=100, rng=gen, tol=1e-8, max_iter=30)
    firth = np.array([firthmodels.FirthLogisticRegression(fit_intercept=False).fit(X, y).coef_
                      for y in Y])
    ok = ~separated
    sd = T[ok].std(axis=0, ddof=1)
    ple_gap = np.abs(out.theta[ok] - firth[ok]).mean(axis=0) / sd
    mle_gap = np.abs(T[ok] - firth[ok]).mean(axis=0) / sd
    assert np.all(ple_gap < 0.2), ple_gap
    assert np.any(mle_gap > 0.2), mle_gap  # the MLE would fail the same check


def test_reported_monte_carlo_error_matches_the_spread_over_seeds():
    # One data set solved 60 times with independent synthetic draws (each row of the
    # batch has its own base draws): the sd of the 60 PLEs is the true Monte Carlo
    # error; the mean reported mc_se must match it. The sd of 60 draws has a relative
    # error of 1/sqrt(118) = 9%; tolerance 30% (3.3 s.e.). Logit n = 80 and Gamma n = 30.
    rng = np.random.default_rng(60)
    X = sm.add_constant(rng.normal(size=(80, 2)))
    beta = np.array([-0.5, 1.0, -0.5])
    y = (rng.random(80) < 1 / (1 + np.exp(-X @ beta))).astype(float)
    Xg = X[:30]
    yg = rng.gamma(3.0, np.exp(Xg @ beta) / 3.0)
    cases = [(sm.Logit(y, X), y),
             (sm.GLM(yg, Xg, family=sm.families.Gamma(sm.families.links.Log())), yg)]
    for model, resp in cases:
        spec = describe_model(model)
        Y = np.repeat(resp[None], 60, axis=0)
        T = fit_T(spec, Y, "mle")[0]
        out = solve_regression(spec, Y, T, "mle", m=50, rng=np.random.default_rng(7),
                               tol=1e-8, max_iter=30)
        ratio = out.mc_se.mean(axis=0) / out.theta.std(axis=0, ddof=1)
        assert np.all((ratio > 0.7) & (ratio < 1.3)), (spec.label(), ratio)
