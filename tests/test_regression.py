"""PLE of statsmodels regression models: the estimator T, the result, bad input.

The estimator ``T`` is checked against statsmodels' own fits (the MLE) and
firthmodels (the Jeffreys-penalised logistic fit); the statistical behaviour
of the PLE is in ``test_regression_bias.py``.
"""

import warnings

import numpy as np
import pytest

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")
pd = pytest.importorskip("pandas")

import ple_stats  # noqa: E402
from ple_stats import SeparationWarning  # noqa: E402
from ple_stats._regression._model import fit_T  # noqa: E402
from ple_stats._regression._spec import describe_model  # noqa: E402

N = 40


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    x1, x2 = rng.normal(size=N), rng.normal(size=N)
    eta = 0.3 + 0.5 * x1 - 0.4 * x2
    trials = rng.integers(1, 6, N)
    frame = pd.DataFrame({
        "x1": x1, "x2": x2,
        "yb": (rng.random(N) < 1 / (1 + np.exp(-eta))).astype(float),
        "yp": rng.poisson(np.exp(eta)).astype(float),
        "yg": rng.gamma(3.0, np.exp(eta) / 3.0),
        "yi": rng.wald(np.exp(eta), 4.0),
        "yn": eta + rng.normal(size=N),
        "ynb": rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta))).astype(float),
        "succ": rng.binomial(trials, 1 / (1 + np.exp(-eta))).astype(float),
        "trials": trials.astype(float),
    })
    X = sm.add_constant(frame[["x1", "x2"]].to_numpy())
    return frame, X


def _models(frame, X):
    f = frame
    links = sm.families.links
    return {
        "Logit": sm.Logit(f.yb, X),
        "Probit": sm.Probit(f.yb, X),
        "Logit-offset": sm.Logit(f.yb, X, offset=np.linspace(-0.5, 0.5, N)),
        "GLM-Binomial-cloglog": sm.GLM(f.yb, X, family=sm.families.Binomial(links.CLogLog())),
        "GLM-Binomial-2col": sm.GLM(np.c_[f.succ, f.trials - f.succ], X,
                                    family=sm.families.Binomial()),
        "GLM-Binomial-var_weights": sm.GLM(f.succ / f.trials, X, family=sm.families.Binomial(),
                                           var_weights=f.trials),
        "GLM-Poisson": sm.GLM(f.yp, X, family=sm.families.Poisson()),
        "GLM-Poisson-offset": sm.GLM(f.yp, X, family=sm.families.Poisson(),
                                     offset=np.full(N, 0.5)),
        "Poisson-exposure": sm.Poisson(f.yp, X, exposure=np.full(N, 2.0)),
        "GLM-Gamma-log": sm.GLM(f.yg, X, family=sm.families.Gamma(links.Log())),
        "GLM-Gamma-inverse": sm.GLM(f.yg + 2.0, X, family=sm.families.Gamma()),
        "GLM-InverseGaussian-log": sm.GLM(f.yi, X,
                                          family=sm.families.InverseGaussian(links.Log())),
        "GLM-Gaussian-log": sm.GLM(f.yg, X, family=sm.families.Gaussian(links.Log())),
        "GLM-NegativeBinomial": sm.GLM(f.ynb, X,
                                       family=sm.families.NegativeBinomial(alpha=0.5)),
        "NegativeBinomial": sm.NegativeBinomial(f.ynb, X),
        "OLS": sm.OLS(f.yn, X),
        "WLS": sm.WLS(f.yn, X, weights=np.linspace(0.5, 2.0, N)),
        "formula": smf.glm("yp ~ x1 + x2", f, family=sm.families.Poisson()),
    }


def _statsmodels_mle(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if hasattr(model, "family"):
            return np.asarray(model.fit(tol=1e-13, maxiter=500).params)
        if type(model).__name__ in ("OLS", "WLS"):
            return np.asarray(model.fit().params)
        return np.asarray(model.fit(method="newton", tol=1e-13, maxiter=500, disp=0).params)


MODEL_NAMES = [
    "Logit", "Probit", "Logit-offset", "GLM-Binomial-cloglog", "GLM-Binomial-2col",
    "GLM-Binomial-var_weights",
    "GLM-Poisson", "GLM-Poisson-offset", "Poisson-exposure", "GLM-Gamma-log",
    "GLM-Gamma-inverse", "GLM-InverseGaussian-log", "GLM-Gaussian-log",
    "GLM-NegativeBinomial", "NegativeBinomial", "OLS", "WLS", "formula"]


@pytest.mark.filterwarnings("ignore:The InversePower link function does not respect")
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_T_is_the_statsmodels_mle(data, name):
    # The observed data's T is statsmodels' maximum-likelihood estimate of the same
    # model (fitted here to a 1e-13 tolerance), to 1e-8.
    model = _models(*data)[name]
    spec = describe_model(model)
    t, fallback, converged = fit_T(spec, spec.y[None], "mle")
    assert converged[0] and not fallback[0]
    np.testing.assert_allclose(t[0, :spec.p], _statsmodels_mle(model)[:spec.p], rtol=1e-8,
                               atol=1e-8)
    if name == "NegativeBinomial":
        np.testing.assert_allclose(t[0, -1], _statsmodels_mle(model)[-1], rtol=1e-7)


def test_T_scale_is_the_maximum_likelihood_scale(data):
    frame, X = data
    res = sm.OLS(frame.yn, X).fit()
    spec = describe_model(sm.OLS(frame.yn, X))
    t = fit_T(spec, spec.y[None], "mle")[0][0]
    assert t[-1] == pytest.approx(res.ssr / N, rel=1e-12)
    # Gamma: T's scale is 1/shape at the maximum-likelihood shape (not statsmodels'
    # Pearson estimate); check the shape's likelihood equation at the fitted means.
    from scipy import special

    model = sm.GLM(frame.yg, X, family=sm.families.Gamma(sm.families.links.Log()))
    spec = describe_model(model)
    t = fit_T(spec, spec.y[None], "mle")[0][0]
    mu = model.predict(t[:spec.p])
    nu = 1.0 / t[-1]
    y = frame.yg.to_numpy()
    score = N * (np.log(nu) - special.digamma(nu)) - np.sum(y / mu - np.log(y / mu) - 1.0)
    assert abs(score) < 1e-9 * N


def test_jeffreys_fit_is_firthmodels_firth_logistic_regression(data):
    firthmodels = pytest.importorskip("firthmodels")
    frame, X = data
    spec = describe_model(sm.Logit(frame.yb, X))
    t = fit_T(spec, spec.y[None], "firth")[0][0]
    ref = firthmodels.FirthLogisticRegression(fit_intercept=False, gtol=1e-10, xtol=1e-10,
                                              max_iter=200).fit(X, frame.yb.to_numpy())
    np.testing.assert_allclose(t, ref.coef_, atol=1e-7)


def test_result_types_and_names(data):
    frame, X = data
    res = ple_stats.fit_ple(smf.glm("yp ~ x1 + x2", frame, family=sm.families.Poisson()),
                            m=40, rng=0)
    assert isinstance(res, ple_stats.RegressionResult)
    assert isinstance(res.params, pd.Series)
    assert list(res.params.index) == ["Intercept", "x1", "x2"]
    assert list(res.mle.index) == ["Intercept", "x1", "x2"]
    assert list(res.mc_se.index) == ["Intercept", "x1", "x2"]
    assert res.scale == 1.0 and res.info["converged"]
    assert res.info["m"] == 40 and res.nobs == N
    assert np.all(res.mc_se > 0)
    # NB2: alpha last, as statsmodels orders it
    nb = ple_stats.fit_ple(sm.NegativeBinomial(frame.ynb, frame[["x1"]].assign(c=1.0)),
                           m=20, rng=0)
    assert list(nb.params.index) == ["x1", "c", "alpha"]
    # OLS: scale is reported beside params, and in mc_se's rows
    ols = ple_stats.fit_ple(sm.OLS(frame.yn, X), m=20, rng=0)
    assert list(ols.params.index) == ["const", "x1", "x2"]
    assert list(ols.mc_se.index) == ["const", "x1", "x2", "scale"]
    assert ols.mle_scale == pytest.approx(sm.OLS(frame.yn, X).fit().ssr / N)


def test_seeded_results_are_reproducible(data):
    frame, X = data
    a = ple_stats.fit_ple(sm.Logit(frame.yb, X), m=30, rng=5)
    b = ple_stats.fit_ple(sm.Logit(frame.yb, X), m=30, rng=5)
    c = ple_stats.fit_ple(sm.Logit(frame.yb, X), m=30, rng=6)
    assert a.params.equals(b.params)
    assert not a.params.equals(c.params)


def test_pinned_logit_and_gamma_values(data):
    # Seeded outputs pinned (computed once with this version): a refactoring must
    # leave them identical up to round-off.
    frame, X = data
    logit = ple_stats.fit_ple(sm.Logit(frame.yb, X), m=50, rng=0)
    gamma = ple_stats.fit_ple(sm.GLM(frame.yg, X,
                                     family=sm.families.Gamma(sm.families.links.Log())),
                              m=50, rng=0)
    np.testing.assert_allclose(logit.params.to_numpy(), PINNED_LOGIT, rtol=1e-7)
    np.testing.assert_allclose(np.r_[gamma.params.to_numpy(), gamma.scale], PINNED_GAMMA,
                               rtol=1e-7)


PINNED_LOGIT = np.array([0.58029678, 0.37258154, -0.3891828])
PINNED_GAMMA = np.array([0.41396778, 0.43212361, -0.39091305, 0.31510285452769476])


def test_ols_ple_scale_is_the_unbiased_variance_and_coefficients_the_mle(data):
    # The PLE of sigma^2 solves sigma^2 * mean_j z_j'(I - H) z_j / n = RSS / n, whose
    # expectation over the base draws is RSS / (n - p); the coefficients solve
    # beta + sigma (X'X)^-1 X' zbar = beta_hat, zero on average. Both within 4
    # Monte Carlo standard errors (seed 11; false-alarm rate 6e-5 each).
    frame, X = data
    res = ple_stats.fit_ple(sm.OLS(frame.yn, X), m=200, rng=11)
    fit = sm.OLS(frame.yn, X).fit()
    assert abs(res.scale - fit.ssr / (N - 3)) < 4 * res.mc_se["scale"]
    assert np.all(np.abs(res.params - fit.params) < 4 * res.mc_se[res.params.index])
    # and the reported Monte Carlo error is right: exactly, sigma^2 has relative error
    # sqrt(2 / (m (n - p))).
    assert res.mc_se["scale"] / res.scale == pytest.approx(np.sqrt(2 / (200 * (N - 3))),
                                                           rel=0.15)


def test_firth_estimator_option(data):
    frame, X = data
    res = ple_stats.fit_ple(sm.Logit(frame.yb, X), m=30, rng=0, estimator="firth")
    firth = fit_T(describe_model(sm.Logit(frame.yb, X)), frame.yb.to_numpy()[None],
                  "firth")[0][0]
    np.testing.assert_allclose(res.mle.to_numpy(), firth)
    assert "Firth" in res.info["estimator"]


# --------------------------------------------------------------------------- separation


def _separated(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = (x1 > 0).astype(float)  # complete separation along x1
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2})


@pytest.mark.filterwarnings("ignore::ple_stats.ConvergenceWarning")
def test_separation_is_detected_named_and_the_ple_is_finite():
    frame = _separated()
    model = smf.logit("y ~ x1 + x2", frame)
    with pytest.warns(SeparationWarning) as record:
        res = ple_stats.fit_ple(model, m=30, rng=0)
    assert issubclass(SeparationWarning, ple_stats.PLEWarning)
    # complete separation: the likelihood grows along a cone of directions around x1,
    # which involves every coefficient (the quasi-complete case below names one)
    names = str([w.message for w in record if w.category is SeparationWarning][0])
    assert "`Intercept`, `x1`, `x2`" in names
    assert res.info["observed_separated"]
    assert np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.mle))
    # T fell back to the Jeffreys-penalised fit, finite and moderate
    assert abs(res.mle["x1"]) < 20


def test_quasi_complete_separation_names_only_the_separating_coefficient():
    from ple_stats._regression._responses import Binomial
    from ple_stats._regression._separation import infinite_coefficients

    rng = np.random.default_rng(4)
    n = 40
    group = (np.arange(n) < 10).astype(float)  # the group's responses are all 1
    x = rng.normal(size=n)
    y = np.where(group == 1, 1.0, (rng.random(n) < 0.4).astype(float))
    X = np.c_[np.ones(n), group, x]
    idx = infinite_coefficients(X, y, Binomial(), "logit")
    assert list(idx) == [1]
    y_ok = y.copy()
    y_ok[0] = 0.0
    assert infinite_coefficients(X, y_ok, Binomial(), "logit").size == 0


@pytest.mark.filterwarnings("ignore::ple_stats.ConvergenceWarning")
def test_poisson_with_an_all_zero_group_is_flagged():
    from ple_stats._regression._responses import Poisson
    from ple_stats._regression._separation import infinite_coefficients

    rng = np.random.default_rng(5)
    n = 30
    group = (np.arange(n) < 8).astype(float)
    y = np.where(group == 1, 0.0, rng.poisson(2.0, n)).astype(float)
    X = np.c_[np.ones(n), group]
    assert list(infinite_coefficients(X, y, Poisson(), "log")) == [1]
    with pytest.warns(SeparationWarning) as record:
        res = ple_stats.fit_ple(sm.GLM(y, X, family=sm.families.Poisson()), m=20, rng=0)
    messages = [str(w.message) for w in record if w.category is SeparationWarning]
    assert any("does not exist" in text and "`x1`" in text for text in messages)
    assert any("synthetic data sets at the PLE are separated" in text for text in messages)
    assert np.all(np.isfinite(res.params))


# --------------------------------------------------------------------------- uncertainty


def test_bootstrap_interval_and_summary(data):
    frame, X = data
    res = ple_stats.fit_ple(sm.Poisson(frame.yp, X), m=30, rng=0)
    ci = res.confidence_interval(0.9, n_resamples=40, rng=1)
    assert list(ci.low.index) == ["const", "x1", "x2"]
    assert np.all(ci.low < res.params) and np.all(res.params < ci.high)
    # the bootstrap standard error is close to statsmodels' asymptotic one (40
    # resamples: relative error of an sd about 1/sqrt(80) = 11%; 45% allowed)
    fit = sm.Poisson(frame.yp, X).fit(disp=0)
    np.testing.assert_allclose(ci.standard_error, fit.bse, rtol=0.45)
    again = res.confidence_interval(0.9, n_resamples=40, rng=1)
    assert ci.low.equals(again.low)
    text = str(res.summary(n_resamples=20))
    for word in ("MLE", "PLE", "boot s.e.", "MC s.e.", "const", "x1", "Poisson"):
        assert word in text
    with pytest.raises(ValueError, match="`method` must be one of"):
        res.confidence_interval(method="bca")
    table = res.conf_int(0.1)  # statsmodels' layout, 200 resamples
    assert list(table.columns) == ["lower", "upper"] and list(table.index) == list(ci.low.index)
    assert res.bse.equals(res.confidence_interval().standard_error.rename("bse"))


# --------------------------------------------------------------------------- bad input


def _with_nan_exog(model):
    model.exog[3, 1] = np.nan  # statsmodels itself refuses NaN at construction
    return model


@pytest.mark.parametrize("make, error, match", [
    (lambda f, X: sm.Logit(np.r_[f.yb.to_numpy()[:-1], 0.5], X), ValueError,
     r"Logit needs a binary endog.*0\.5"),
    (lambda f, X: sm.GLM(np.r_[f.yp.to_numpy()[:-1], -1.0], X,
                         family=sm.families.Poisson()), ValueError, r"non-negative integers.*-1"),
    (lambda f, X: sm.Poisson(np.r_[f.yp.to_numpy()[:-1], 1.5], X), ValueError,
     r"non-negative integers.*1\.5"),
    (lambda f, X: sm.GLM(np.r_[f.yg.to_numpy()[:-1], -2.0], X,
                         family=sm.families.Gamma()), ValueError,
     r"Gamma response must be positive"),
    (lambda f, X: sm.OLS(f.yn, np.c_[X, X[:, 1]]), ValueError, r"rank deficient.*rank 3 < 4"),
    (lambda f, X: _with_nan_exog(sm.OLS(f.yn, X.copy())), ValueError,
     r"exog has 1 non-finite.*row\(s\) 3"),
    (lambda f, X: sm.OLS(np.r_[np.nan, f.yn.to_numpy()[1:]], X, missing="none"), ValueError,
     r"endog has 1 non-finite"),
    (lambda f, X: sm.GLS(f.yn, X), TypeError, r"does not support statsmodels' GLS"),
    (lambda f, X: sm.QuantReg(f.yn, X), TypeError, r"does not support statsmodels' QuantReg"),
    (lambda f, X: sm.GLM(f.yg, X, family=sm.families.Tweedie()), TypeError,
     r"family Tweedie is not supported"),
    (lambda f, X: sm.GLM(f.yp, X, family=sm.families.Poisson(), freq_weights=np.full(N, 2.0)),
     ValueError, r"freq_weights"),
    (lambda f, X: sm.GLM(f.yp, X, family=sm.families.Poisson(), var_weights=np.full(N, 2.0)),
     ValueError, r"var_weights.*Poisson"),
    (lambda f, X: sm.NegativeBinomial(f.ynb, X, loglike_method="nb1"), ValueError, r"nb1"),
    (lambda f, X: sm.OLS(f.yn, X).fit(), TypeError, r"unfitted.*fit_ple\(result.model\)"),
    (lambda f, X: sm.OLS(f.yn[:3], X[:3]), ValueError, r"3 observations cannot identify 4"),
])
def test_bad_models_are_rejected_with_a_clear_error(data, make, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make(*data)
    with pytest.raises(error, match=match):
        ple_stats.fit_ple(model, m=10, rng=0)


def test_bad_arguments(data):
    frame, X = data
    model = sm.Logit(frame.yb, X)
    with pytest.raises(TypeError, match="carries its own data"):
        ple_stats.fit_ple(model, frame.yb)
    with pytest.raises(ValueError, match="`estimator` must be one of"):
        ple_stats.fit_ple(model, estimator="median")
    with pytest.raises(ValueError, match="`m` must be"):
        ple_stats.fit_ple(model, m=1)
    with pytest.raises(TypeError, match="unexpected keyword|fit_kwds|floc"):
        ple_stats.fit_ple(model, floc=0)
    with pytest.raises(TypeError, match="needs `data`"):
        from scipy import stats

        ple_stats.fit_ple(stats.norm)


def test_statsmodels_is_not_imported_by_ple_stats():
    import subprocess
    import sys

    code = ("import sys, ple_stats; "
            "assert 'statsmodels' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.filterwarnings("ignore:the PLE of 1 of 100 bootstrap resamples stopped short")
def test_linearized_bootstrap_agrees_with_the_full_one():
    # The linearized bootstrap (the PLE map linearised at the fit) ignores the curvature
    # of the binding function; the full one solves 100 PLEs. Logit, n = 80 with about
    # 30 events, seeds 2/3: the standard errors agree within 30% (each estimated from
    # 100 resamples: relative error about 7%, so the ratio's is about 10%).
    rng = np.random.default_rng(8)
    X = sm.add_constant(rng.normal(size=(80, 2)))
    y = (rng.random(80) < 1 / (1 + np.exp(-X @ [-0.5, 1.0, -0.5]))).astype(float)
    res = ple_stats.fit_ple(sm.Logit(y, X), m=30, rng=2)
    lin = res.confidence_interval(n_resamples=100, rng=3, method="linearized").standard_error
    full = res.confidence_interval(n_resamples=100, rng=3, method="full").standard_error
    ratio = lin / full
    assert np.all((ratio > 0.7) & (ratio < 1.3)), ratio
