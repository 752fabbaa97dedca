"""The one-dimensional Gaussian mixture: construction, densities, EM, bootstrap PLE, Figure 3.

Statistical tests state their seed, the quantity compared and why the tolerance is what it
is; the EM cross-checks against scikit-learn are deterministic (same start, same rules).
"""

from __future__ import annotations

import json
import os
import pickle
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from ple_stats import GMM, ConvergenceWarning, DegenerateDataWarning, Gaussian
from ple_stats.cli import main as cli_main

sklearn_mixture = pytest.importorskip("sklearn.mixture")


def mixture_pdf(x, weights, means, sigmas):
    """Reference density from scipy.stats, written independently of the package."""
    return sum(w * stats.norm.pdf(x, m, s) for w, m, s in zip(weights, means, sigmas))


# --------------------------------------------------------------------------- construction
def test_params_shapes_and_broadcasting():
    d = GMM(weights=[0.3, 0.7], means=[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], sigmas=1.0)
    assert d.batch_shape == (3,)
    assert d.n_components == 2
    w, mu, sigma = d.params
    assert w.shape == mu.shape == sigma.shape == (3, 2)
    assert d.params._fields == ("weights", "means", "sigmas")
    np.testing.assert_array_equal(sigma, 1.0)
    single = GMM(weights=[1.0], means=[0.5], sigmas=[2.0])
    assert single.batch_shape == () and single.n_components == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(weights=[0.5, 0.6], means=[0, 1], sigmas=[1, 1]), "`weights` must sum to 1"),
    (dict(weights=[1.2, -0.2], means=[0, 1], sigmas=[1, 1]), "`weights` must be non-negative"),
    (dict(weights=[0.5, 0.5], means=[0, 1], sigmas=[1, -1]), "`sigmas` must be positive"),
    (dict(weights=[0.5, 0.5], means=[0, 1], sigmas=[1, 0]), "`sigmas` must be positive"),
    (dict(weights=[0.5, 0.5], means=[0, np.nan], sigmas=[1, 1]), "`means` must be finite"),
    (dict(weights=[0.5, 0.5], means=[0, np.inf], sigmas=[1, 1]), "`means` must be finite"),
    (dict(weights=[], means=[], sigmas=[]), "at least one component"),
    (dict(weights=1.0, means=0.0, sigmas=1.0), "component axis"),
    (dict(weights=[0.5, 0.5], means=[0, 1, 2], sigmas=[1, 1]), "do not broadcast"),
])
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GMM(**kwargs)


def test_invalid_parameter_types():
    with pytest.raises(TypeError, match="`means` must be numeric"):
        GMM(weights=[1.0], means=["a"], sigmas=[1.0])
    with pytest.raises(TypeError):
        GMM([0.5, 0.5], [0, 1], [1, 1])  # keyword-only, like every family


def test_weights_tolerance_is_1e8():
    GMM(weights=[0.5, 0.5 + 5e-9], means=[0, 1], sigmas=[1, 1])
    with pytest.raises(ValueError, match="sum to 1"):
        GMM(weights=[0.5, 0.5 + 5e-8], means=[0, 1], sigmas=[1, 1])


def test_pickle_repr_eq():
    d = GMM(weights=[0.2, 0.8], means=[-1.0, 1.0], sigmas=[0.5, 2.0])
    back = pickle.loads(pickle.dumps(d))
    assert back == d and back is not d
    assert "GMM(weights=" in repr(d)
    assert d != GMM(weights=[0.2, 0.8], means=[-1.0, 1.5], sigmas=[0.5, 2.0])
    res = GMM.fit_mle(d.sample(50, rng=0))
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(again.params.means, res.params.means)


# --------------------------------------------------------------------------- sampling, densities
@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_sample_shapes_and_determinism(batch):
    w = np.broadcast_to([0.3, 0.7], batch + (2,))
    d = GMM(weights=w, means=[0.0, 3.0], sigmas=[1.0, 0.5])
    assert d.sample(7, rng=1).shape == batch + (7,)
    assert d.sample(7, rng=1, sample_shape=(4,)).shape == (4,) + batch + (7,)
    np.testing.assert_array_equal(d.sample(7, rng=1), d.sample(7, rng=1))
    res = GMM.fit_mle(d.sample(40, rng=2))  # round trip keeps the batch shape
    assert res.params.weights.shape == batch + (2,)
    assert res.dist.batch_shape == batch


def test_sample_moments():
    # 200,000 draws: the sample mean is within 5 standard errors of the mixture mean and the
    # sample variance within 5 standard errors of its variance (false alarm < 1e-6 each;
    # the variance's standard error from the fourth central moment, estimated).
    d = GMM(weights=[0.2, 0.5, 0.3], means=[-2.0, 0.0, 4.0], sigmas=[0.5, 1.0, 2.0])
    x = d.sample(200_000, rng=3)
    n = x.size
    assert abs(x.mean() - d.mean()) < 5 * np.sqrt(d.var() / n)
    m4 = np.mean((x - x.mean()) ** 4)
    assert abs(x.var() - d.var()) < 5 * np.sqrt((m4 - x.var() ** 2) / n)
    # component frequencies: the share of points below -1 against the exact cdf
    share = np.mean(x < -1.0)
    p = d.cdf(np.array([-1.0]))[0]
    assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / n)


def test_logpdf_cdf_nll_against_scipy():
    w, mu, sd = [0.1, 0.6, 0.3], [-1.0, 0.5, 3.0], [0.2, 1.0, 1.5]
    d = GMM(weights=w, means=mu, sigmas=sd)
    x = np.linspace(-5, 8, 101)
    np.testing.assert_allclose(np.exp(d.logpdf(x)), mixture_pdf(x, w, mu, sd), rtol=1e-13)
    ref_cdf = sum(wi * stats.norm.cdf(x, m, s) for wi, m, s in zip(w, mu, sd))
    np.testing.assert_allclose(d.cdf(x), ref_cdf, rtol=1e-12, atol=1e-15)
    assert d.nll(x) == pytest.approx(-np.sum(np.log(mixture_pdf(x, w, mu, sd))), rel=1e-12)
    # far in the tail the density underflows, the log density does not
    assert np.isfinite(d.logpdf(np.array([1e3]))).all()
    total, _ = integrate.quad(lambda t: np.exp(d.logpdf(np.array([t]))[0]), -30, 30,
                              points=mu, limit=200)
    assert total == pytest.approx(1.0, abs=1e-10)


def test_logpdf_aligns_batch_and_zero_weights():
    d = GMM(weights=[[1.0, 0.0], [0.5, 0.5]], means=[0.0, 2.0], sigmas=1.0)
    x = np.array([[0.0, 2.0], [0.0, 2.0]])
    out = d.logpdf(x)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out[0], stats.norm.logpdf([0.0, 2.0]), rtol=1e-14)
    assert d.nll(x).shape == (2,)
    with pytest.raises(ValueError, match="`x` contains nan"):
        d.logpdf([np.nan, 0.0])


def test_mean_var():
    w, mu, sd = [0.25, 0.75], [-1.0, 2.0], [0.5, 1.5]
    d = GMM(weights=w, means=mu, sigmas=sd)
    mean = integrate.quad(lambda t: t * mixture_pdf(t, w, mu, sd), -40, 40)[0]
    var = integrate.quad(lambda t: (t - mean) ** 2 * mixture_pdf(t, w, mu, sd), -40, 40)[0]
    assert d.mean() == pytest.approx(mean, rel=1e-10)
    assert d.var() == pytest.approx(var, rel=1e-10)


# --------------------------------------------------------------------------- EM vs scikit-learn
SKLEARN_CASES = [
    # (weights, means, sigmas, n, seed)
    ([0.5, 0.5], [0.0, 3.0], [1.0, 1.0], 200, 0),
    ([0.8, 0.2], [0.0, 2.0], [1.0, 1.0], 100, 6),      # Figure 3's overlap
    ([0.9, 0.1], [0.0, 4.0], [1.0, 0.5], 300, 2),      # imbalanced
    ([0.95, 0.05], [0.0, 5.0], [1.0, 1.0], 500, 3),    # strongly imbalanced
    ([0.3, 0.4, 0.3], [-3.0, 0.0, 4.0], [1.0, 0.7, 1.2], 400, 4),  # K = 3
]


def _sklearn_fit(x, K, tol, max_iter, covariance_type):
    """scikit-learn's EM from the quantile start of ple_stats (same rules, no regularisation)."""
    q = np.quantile(x, (np.arange(K) + 0.5) / K)
    prec = np.full(K, 1.0 / x.var())
    prec = prec.reshape(K, 1, 1) if covariance_type == "full" else prec
    gm = sklearn_mixture.GaussianMixture(
        K, covariance_type=covariance_type, tol=tol, max_iter=max_iter, reg_covar=0.0,
        weights_init=np.full(K, 1.0 / K), means_init=q[:, None], precisions_init=prec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it must converge
        gm.fit(x[:, None])
    order = np.argsort(gm.means_[:, 0])
    var = gm.covariances_.reshape(K)[order]
    return gm, gm.weights_[order], gm.means_[order, 0], np.sqrt(var)


def _polished_maximum(x, start):
    """The likelihood maximum near ``start`` found independently of EM: BFGS on the mean
    NLL in (log weight ratios, means, log sigmas)."""
    K = start.n_components
    w, mu, sd = (np.asarray(v, dtype=float) for v in start.params)

    def unpack(th):
        return (special.softmax(np.concatenate([[0.0], th[:K - 1]])), th[K - 1:2 * K - 1],
                np.exp(th[2 * K - 1:]))

    def nll_and_grad(th):
        ww, m, s = unpack(th)
        z = (x[:, None] - m) / s
        lp = np.log(ww) - np.log(s) - 0.5 * np.log(2 * np.pi) - 0.5 * z**2
        total = special.logsumexp(lp, axis=1, keepdims=True)
        r = np.exp(lp - total)  # responsibilities
        grad = np.concatenate([-(r[:, 1:] - ww[1:]).mean(axis=0),
                               -(r * z / s).mean(axis=0), -(r * (z * z - 1.0)).mean(axis=0)])
        return -total.mean(), grad

    th = np.concatenate([np.log(w[1:] / w[0]), mu, np.log(sd)])
    return unpack(optimize.minimize(nll_and_grad, th, jac=True, method="BFGS",
                                    options=dict(gtol=1e-13)).x)


@pytest.mark.parametrize("covariance_type", ["full", "spherical"])
@pytest.mark.parametrize("case", SKLEARN_CASES)
def test_em_matches_sklearn(case, covariance_type):
    # Plain EM: same start, same E and M steps, same stopping rule (|change of the mean
    # log-likelihood| < tol): the iterates agree to rounding, so 1e-6 is a wide margin. None
    # of these data sets reaches the variance floor (asserted), where the two differ by design
    # (sklearn adds reg_covar, ple_stats floors).
    w, mu, sd, n, seed = case
    K = len(w)
    x = GMM(weights=w, means=mu, sigmas=sd).sample(n, rng=seed)
    tol, max_iter = 1e-10, 20_000
    res = GMM.fit_mle(x, n_components=K, tol=tol, max_iter=max_iter, accelerate=False)
    gm, gw, gmu, gsd = _sklearn_fit(x, K, tol, max_iter, covariance_type)
    assert res.info["converged"] and not res.info["floor_hit"]
    assert res.info["n_iter"] == gm.n_iter_
    np.testing.assert_allclose(res.params.weights, gw, atol=1e-6)
    np.testing.assert_allclose(res.params.means, gmu, atol=1e-6)
    np.testing.assert_allclose(res.params.sigmas, gsd, atol=1e-6)
    # log-likelihood at the returned parameters: not worse than scikit-learn's
    assert res.info["loglik"] / n >= gm.score(x[:, None]) - 1e-12
    assert res.info["loglik"] == pytest.approx(-res.dist.nll(x), rel=1e-12)


@pytest.mark.parametrize("case", SKLEARN_CASES)
def test_accelerated_em_is_closer_to_the_maximum_than_sklearn(case):
    # SQUAREM (the default) with the same start and stopping rule: fewer EM maps, a
    # log-likelihood not below scikit-learn's, and parameters at least as close to the
    # maximum, located independently by BFGS from a tight accelerated fit
    # (measured: 0.0-0.4 times scikit-learn's distance, which is 5e-7 to 2e-4 at tol 1e-10).
    w, mu, sd, n, seed = case
    K = len(w)
    x = GMM(weights=w, means=mu, sigmas=sd).sample(n, rng=seed)
    tol, max_iter = 1e-10, 20_000
    res = GMM.fit_mle(x, n_components=K, tol=tol, max_iter=max_iter)
    gm, gw, gmu, gsd = _sklearn_fit(x, K, tol, max_iter, "full")
    assert res.info["converged"] and not res.info["floor_hit"]
    assert res.info["n_iter"] < gm.n_iter_
    assert res.info["loglik"] / n >= gm.score(x[:, None]) - 1e-12
    tight = GMM.fit_mle(x, n_components=K, tol=1e-15, max_iter=20_000)
    best = _polished_maximum(x, tight.dist)
    for b, t in zip(best, tight.params):  # the same maximum
        np.testing.assert_allclose(t, b, atol=1e-8)
    err_ours = max(np.abs(a - b).max() for a, b in zip(res.params, best))
    err_sklearn = max(np.abs(a - b).max() for a, b in zip((gw, gmu, gsd), best))
    assert err_ours <= err_sklearn + 1e-9


def test_em_given_start_matches_sklearn():
    # A start that is not the quantile rule, passed as a GMM to both.
    x = GMM(weights=[0.7, 0.3], means=[0.0, 2.5], sigmas=[1.0, 0.7]).sample(250, rng=9)
    start = GMM(weights=[0.4, 0.6], means=[-1.0, 1.0], sigmas=[2.0, 0.5])
    res = GMM.fit_mle(x, init=start, tol=1e-10, max_iter=20_000, accelerate=False)
    gm = sklearn_mixture.GaussianMixture(
        2, tol=1e-10, max_iter=20_000, reg_covar=0.0, weights_init=[0.4, 0.6],
        means_init=[[-1.0], [1.0]], precisions_init=[[[0.25]], [[4.0]]]).fit(x[:, None])
    order = np.argsort(gm.means_[:, 0])
    np.testing.assert_allclose(res.params.means, gm.means_[order, 0], atol=1e-6)
    np.testing.assert_allclose(res.params.weights, gm.weights_[order], atol=1e-6)
    assert res.info["n_iter"] == gm.n_iter_


@pytest.mark.parametrize("accelerate", [True, False])
def test_batched_em_equals_single_fits(accelerate):
    truth = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0])
    x = truth.sample(60, rng=5, sample_shape=(2, 4))
    res = GMM.fit_mle(x, tol=1e-9, max_iter=20_000, accelerate=accelerate)
    assert res.params.means.shape == (2, 4, 2)
    assert len(set(res.info["n_iter"].ravel())) > 1  # they stop at different iterations
    for idx in np.ndindex(2, 4):
        one = GMM.fit_mle(x[idx], tol=1e-9, max_iter=20_000, accelerate=accelerate)
        for a, b in zip(res.params, one.params):
            np.testing.assert_allclose(a[idx], b, rtol=0, atol=1e-12)
        assert res.info["n_iter"][idx] == one.info["n_iter"]
        assert res.info["loglik"][idx] == pytest.approx(one.info["loglik"], rel=1e-13)


def test_accelerated_em_cycles():
    # The first two maps of a cycle are plain EM steps; a cycle never lowers the
    # log-likelihood (its extrapolation is kept only when it improves on the first step).
    x = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0]).sample(200, rng=8,
                                                                          sample_shape=(5,))
    kw = dict(tol=1e-300, var_floor=1e-6)  # never "converged": stop at the cap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in (1, 2):
            a = GMM.fit_mle(x, max_iter=k, accelerate=True, **kw)
            b = GMM.fit_mle(x, max_iter=k, accelerate=False, **kw)
            for u, v in zip(a.params, b.params):
                np.testing.assert_array_equal(u, v)
        ll = np.array([GMM.fit_mle(x, max_iter=k, **kw).info["loglik"] for k in range(3, 61, 3)])
        plain = GMM.fit_mle(x, max_iter=60, accelerate=False, **kw).info["loglik"]
        capped = GMM.fit_mle(x, max_iter=60, **kw)
    assert np.all(np.diff(ll, axis=0) >= -1e-9)
    assert np.all(ll[-1] >= plain - 1e-9)  # 60 accelerated maps get at least as far as 60 plain
    np.testing.assert_array_equal(capped.info["n_iter"], 60)


def test_em_single_component_is_gaussian_mle():
    x = Gaussian(mu=1.0, sigma=2.0).sample(30, rng=4, sample_shape=(3,))
    res = GMM.fit_mle(x, n_components=1)
    ref = Gaussian.fit_mle(x)
    np.testing.assert_allclose(res.params.means[..., 0], ref.params.mu, rtol=1e-13)
    np.testing.assert_allclose(res.params.sigmas[..., 0], ref.params.sigma, rtol=1e-12)
    np.testing.assert_array_equal(res.params.weights, 1.0)


def test_em_affine_equivariance_and_ordering():
    x = GMM(weights=[0.6, 0.4], means=[0.0, 3.0], sigmas=[1.0, 0.5]).sample(200, rng=6)
    a = GMM.fit_mle(x, tol=1e-10)
    b = GMM.fit_mle(5.0 - 3.0 * x, tol=1e-10)  # reflection reverses the order
    np.testing.assert_allclose(b.params.means, (5.0 - 3.0 * a.params.means)[::-1], atol=1e-7)
    np.testing.assert_allclose(b.params.sigmas, 3.0 * a.params.sigmas[::-1], atol=1e-7)
    np.testing.assert_allclose(b.params.weights, a.params.weights[::-1], atol=1e-8)
    assert np.all(np.diff(a.params.means) > 0)


def test_em_kmeanspp_start():
    x = GMM(weights=[0.5, 0.5], means=[0.0, 6.0], sigmas=[1.0, 1.0]).sample(100, rng=8)
    r1 = GMM.fit_mle(x, init="kmeans++", rng=3)
    r2 = GMM.fit_mle(x, init="kmeans++", rng=3)
    np.testing.assert_array_equal(r1.params.means, r2.params.means)
    ref = GMM.fit_mle(x)  # well separated: both starts reach the same optimum
    np.testing.assert_allclose(r1.params.means, ref.params.means, atol=1e-4)


# --------------------------------------------------------------------------- bad input, floor
@pytest.mark.parametrize("x, kwargs, match", [
    ([1.0, 2.0], dict(n_components=3), r"n = 2 observations.*needs n >= K"),
    ([1.0, 2.0, 3.0], dict(n_components=0), "`n_components` must be at least 1"),
    ([1.0, np.nan, 3.0], {}, "non-finite"),
    ([1.0, np.inf, 3.0], {}, "non-finite"),
    ([], {}, "empty"),
    ([2.0, 2.0, 2.0], {}, "all observations equal"),
    ([-1e300, 0.0, 1e300], {}, "variance of inf .* outside the floating-point range"),
    ([1e-200, 2e-200, 4e-200], {}, "variance of 0 .* outside the floating-point range"),
    ([1.0, 2.0, 3.0], dict(tol=0.0), "`tol` must be positive"),
    ([1.0, 2.0, 3.0], dict(var_floor=0.0), "`var_floor` must be positive"),
    ([1.0, 2.0, 3.0], dict(max_iter=0), "`max_iter` must be at least 1"),
    ([1.0, 2.0, 3.0], dict(init="random"), "`init` must be one of"),
])
def test_fit_mle_bad_input(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        GMM.fit_mle(x, **kwargs)


def test_fit_is_scale_equivariant_far_from_unit_scale():
    # Variances of 1e+-300 are still normal floating-point numbers: the fits just scale.
    x = GMM(weights=[0.5, 0.5], means=[0.0, 3.0], sigmas=[1.0, 1.0]).sample(50, rng=0)
    ref = GMM.fit_mle(x)
    for scale in (1e150, 1e-150):
        res = GMM.fit_mle(x * scale)
        np.testing.assert_allclose(res.params.means / scale, ref.params.means, rtol=1e-9)
        np.testing.assert_allclose(res.params.sigmas / scale, ref.params.sigmas, rtol=1e-9)
        np.testing.assert_allclose(res.params.weights, ref.params.weights, rtol=1e-9)


def test_fit_bad_types():
    with pytest.raises(TypeError, match="`x` must be numeric"):
        GMM.fit_mle(["a", "b", "c"])
    with pytest.raises(TypeError, match="`n_components` must be an integer"):
        GMM.fit_mle([1.0, 2.0, 3.0], n_components=2.5)
    with pytest.raises(TypeError, match="`accelerate` must be True or False"):
        GMM.fit_mle(np.arange(10.0), accelerate="yes")
    with pytest.raises(TypeError, match="`init`"):
        GMM.fit_mle([1.0, 2.0, 3.0], init=3)
    with pytest.raises(ValueError, match="index"):  # names the degenerate data set
        GMM.fit_mle([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])


def test_degenerate_fit_hits_the_floor_with_a_warning():
    # Five coincident points beside spread ones: EM shrinks the upper component onto them;
    # the floor var_floor * var(x) stops it, with a DegenerateDataWarning, finite parameters.
    x = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 0.1, -1.2, 0.7, 1.9, -0.4])
    with pytest.warns(DegenerateDataWarning, match="floor"):
        res = GMM.fit_mle(x, var_floor=1e-4)
    assert res.info["floor_hit"]
    floor = np.sqrt(1e-4 * x.var())
    assert res.params.sigmas.min() == pytest.approx(floor, rel=1e-9)
    assert all(np.isfinite(v).all() for v in res.params)
    assert np.isfinite(res.info["loglik"])


def test_convergence_warning_and_flags():
    x = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0]).sample(50, rng=1,
                                                                            sample_shape=(3,))
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = GMM.fit_mle(x, max_iter=2)
    assert not res.info["converged"].any()
    np.testing.assert_array_equal(res.info["n_iter"], 2)


def test_confidence_interval_runs():
    x = GMM(weights=[0.5, 0.5], means=[0.0, 5.0], sigmas=[1.0, 1.0]).sample(100, rng=2)
    ci = GMM.fit_mle(x).confidence_interval(n_resamples=20, rng=0)
    assert ci.low.means.shape == (2,)
    assert np.all(ci.low.means <= ci.high.means)


# --------------------------------------------------------------------------- bootstrap PLE
def test_fit_ple_method_and_settings():
    x = GMM(weights=[0.5, 0.5], means=[0.0, 4.0], sigmas=[1.0, 1.0]).sample(30, rng=0)
    with pytest.raises(ValueError, match=r"`method` must be one of \('bootstrap', 'hypernetwork'\)"):
        GMM.fit_ple(x, method="newton")
    for kwargs, match in [
        (dict(m=1), "`m` must be at least 2"),
        (dict(options={"n_iter": 0}), "`n_iter` must be at least 1"),
        (dict(options={"n_iter": 3, "average": 4}), "`average` must be at most"),
        (dict(options={"step": 0.0}), r"`step` must be in \(0, 1\]"),
        (dict(options={"step": 1.5}), r"`step` must be in \(0, 1\]"),
        (dict(options={"weight_floor": 0.5}), "`weight_floor` must be in"),
        (dict(n_components=31), "needs n >= K"),
    ]:
        with pytest.raises(ValueError, match=match):
            GMM.fit_ple(x, **kwargs)
    with pytest.raises(TypeError, match="`init` of fit_ple"):
        GMM.fit_ple(x, options={"init": GMM(weights=[0.5, 0.5], means=[0, 4], sigmas=[1, 1])})


def test_fit_ple_options_per_method():
    # scipy.optimize.minimize's pattern: each method reads its own `options`; an option of
    # the other method or an unknown name is refused by name
    x = GMM(weights=[0.5, 0.5], means=[0.0, 4.0], sigmas=[1.0, 1.0]).sample(30, rng=0)
    with pytest.raises(ValueError, match="`epochs` is an option of method='hypernetwork', "
                                         "not of method='bootstrap'"):
        GMM.fit_ple(x, options={"epochs": 5})
    with pytest.raises(ValueError, match="`n_iter` is an option of method='bootstrap', "
                                         "not of method='hypernetwork'"):
        GMM.fit_ple(x, method="hypernetwork", options={"n_iter": 5})
    with pytest.raises(ValueError, match="unknown option 'iters' of method='bootstrap'"):
        GMM.fit_ple(x, options={"iters": 5})
    with pytest.raises(TypeError, match="`options` must be a mapping"):
        GMM.fit_ple(x, options=[("n_iter", 5)])
    with pytest.raises(TypeError, match="unexpected keyword argument 'iters'"):
        GMM.fit_ple(x, iters=5)
    with pytest.raises(TypeError, match="`n_iter` both as a keyword and in `options`"):
        GMM.fit_ple(x, n_iter=5, options={"n_iter": 5})
    with pytest.raises(TypeError, match="got both `penalty` and `lam`"):
        GMM.fit_ple(x, method="hypernetwork", lam=0.1, options={"penalty": 0.1})
    import inspect

    params = inspect.signature(GMM.fit_ple).parameters
    assert list(params)[:7] == ["x", "n_components", "method", "m", "rng", "var_floor",
                                "options"]


def test_fit_ple_former_keywords_warn_and_give_the_same_fit():
    # the keywords before `options` work for one release, with a DeprecationWarning that
    # spells the new call; the numbers are bit for bit those of `options`
    x = GMM(weights=[0.6, 0.4], means=[0.0, 3.0], sigmas=[1.0, 1.0]).sample(30, rng=2)
    opts = {"n_iter": 3, "average": 2, "step": 0.5, "init": "kmeans++"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        new = GMM.fit_ple(x, m=6, rng=1, options=opts)
        with pytest.warns(DeprecationWarning, match=r"as keywords is deprecated.*"
                                                    r"options=\{'n_iter': \.\.\., "):
            old = GMM.fit_ple(x, m=6, rng=1, **opts)
    for a, b in zip(new.params, old.params):
        assert np.array_equal(a, b)
    assert np.array_equal(new.info["path"], old.info["path"])
    # as before, a keyword of the other method is accepted at its default only
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="`epochs` applies to method='hypernetwork' only"):
            GMM.fit_ple(x, epochs=5)
        with pytest.raises(ValueError, match="`n_iter` applies to method='bootstrap' only"):
            GMM.fit_ple(x, method="hypernetwork", n_iter=5)
    # the refit repeats the options (no deprecated keywords, no warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = new.refit.func(x, rng=1)
    for a, b in zip(new.params, again.params):
        assert np.array_equal(a, b)


def test_fit_ple_shapes_validity_determinism():
    truth = GMM(weights=[0.7, 0.3], means=[0.0, 5.0], sigmas=[1.0, 1.0])
    x = truth.sample(40, rng=1, sample_shape=(2, 3))
    kw = dict(m=10, options={"n_iter": 4, "average": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GMM.fit_ple(x, rng=4, **kw)
        b = GMM.fit_ple(x, rng=4, **kw)
    assert a.method == "ple" and a.n == 40
    for va, vb in zip(a.params, b.params):
        assert va.shape == (2, 3, 2)
        np.testing.assert_array_equal(va, vb)
    np.testing.assert_allclose(a.params.weights.sum(-1), 1.0, atol=1e-12)
    assert np.all(a.params.weights > 0) and np.all(a.params.sigmas > 0)
    assert np.all(np.diff(a.params.means, axis=-1) >= 0)
    assert a.info["path"].shape == (2, 3, 4)
    assert a.info["mc_se"].means.shape == (2, 3, 2)
    assert a.info["converged"].shape == (2, 3)
    np.testing.assert_array_equal(a.info["mle"].means, GMM.fit_mle(x).params.means)


def test_fit_ple_single_component_matches_gaussian_ple():
    # K = 1: T(Y(theta)) = (1, mu + sigma * mean(z), sigma * sd(z)) is affine in theta, so
    # the iteration reaches its fixed point in one step: sigma = sd(x) / mean_h sd(z_h),
    # against the exact s / c4(n) of Gaussian.fit_ple. They differ by the Monte Carlo error
    # of mean_h sd(z_h), about mc_se; 5 * mc_se is a false-alarm rate below 1e-6.
    x = Gaussian(mu=1.0, sigma=2.0).sample(12, rng=7, sample_shape=(5,))
    res = GMM.fit_ple(x, n_components=1, m=400, rng=3, options={"n_iter": 2, "average": 1})
    ref = Gaussian.fit_ple(x)
    se = res.info["mc_se"]
    assert np.all(np.abs(res.params.sigmas[:, 0] - ref.params.sigma) < 5 * se.sigmas[:, 0])
    assert np.all(np.abs(res.params.means[:, 0] - ref.params.mu) < 5 * se.means[:, 0])
    assert np.all(res.info["converged"])


def test_ple_reduces_sigma_bias_well_separated():
    # Two well-separated equal components (means 0 and 10, sigma 1, n = 20): EM is then the
    # per-cluster Gaussian MLE, whose sigma is biased low by about 5% (about 10 points per
    # cluster). Seed 11, 400 data sets, m = 40. The MLE's mean sigma must be below 1 by more
    # than 5 standard errors, the PLE's within 4 standard errors of 1 (false alarm < 1e-4;
    # the PLE's residual bias from the Monte Carlo b_m is far below one standard error).
    truth = GMM(weights=[0.5, 0.5], means=[0.0, 10.0], sigmas=[1.0, 1.0])
    x = truth.sample(20, rng=11, sample_shape=(400,))
    mle = GMM.fit_mle(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ple = GMM.fit_ple(x, m=40, rng=12, options={"n_iter": 6, "average": 3})
    for j in range(2):
        s_mle, s_ple = mle.params.sigmas[:, j], ple.params.sigmas[:, j]
        se_mle = s_mle.std(ddof=1) / np.sqrt(400)
        se_ple = s_ple.std(ddof=1) / np.sqrt(400)
        assert 1.0 - s_mle.mean() > 5 * se_mle
        assert abs(s_ple.mean() - 1.0) < 4 * se_ple


@pytest.fixture(scope="module")
def minority_weights_n30():
    """Figure 3's hard case, fitted once for the two tests below: weights (0.8, 0.2), means
    0 and 2, sigma 1, n = 30; seed 2024, 200 data sets, m = 20, 12 iterations (the
    reproduction's settings). Returns the right (minority) component's weights."""
    truth = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0])
    x = truth.sample(30, rng=2024, sample_shape=(200,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateDataWarning)
        w_mle = GMM.fit_mle(x).params.weights[:, 1]
        w_ple = GMM.fit_ple(x, m=20, rng=7, options={"n_iter": 12, "average": 6}).params.weights[:, 1]
    return w_mle, w_ple


@pytest.mark.slow
def test_minority_weight_bias_at_n30_measured(minority_weights_n30):
    # Measured here (seed 2024, 200 data sets): the minority weight (truth 0.2) averages
    # 0.421 +- 0.020 under EM and 0.394 +- 0.024 under the bootstrap PLE; the paired
    # reduction is 0.027 +- 0.010, an eighth of EM's bias of 0.22. The PLE equation has no
    # solution for most of these data sets (T(x) outside the range of b): it is solved for
    # 17.5 % of them, and 39 % end with a weight on its floor. Asserted is what holds with a wide margin: EM's bias is large
    # (11 s.e.; asserted > 5) and the PLE does NOT halve it (its bias exceeds half of EM's
    # by 5.6 paired s.e.).
    w_mle, w_ple = minority_weights_n30
    bias_mle, bias_ple = w_mle.mean() - 0.2, w_ple.mean() - 0.2
    assert bias_mle > 5 * w_mle.std(ddof=1) / np.sqrt(w_mle.size)
    assert bias_ple > 0.5 * bias_mle


@pytest.mark.slow
@pytest.mark.xfail(reason="measured: the bootstrap PLE removes only about an eighth of EM's "
                          "minority-weight bias at n = 30 (see the test above)", strict=True)
def test_ple_halves_minority_weight_bias_at_n30(minority_weights_n30):
    w_mle, w_ple = minority_weights_n30
    assert abs(w_ple.mean() - 0.2) < 0.5 * abs(w_mle.mean() - 0.2)


def test_fit_ple_warns_when_unsolved():
    # Heavily overlapping components at n = 15: T(x) is often outside the range of b.
    x = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0]).sample(
        15, rng=3, sample_shape=(20,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        with pytest.warns(ConvergenceWarning, match="was not solved"):
            res = GMM.fit_ple(x, m=10, rng=0, options={"n_iter": 4, "average": 2})
    assert not np.all(res.info["converged"])
    assert all(np.isfinite(v).all() for v in res.params)


# --------------------------------------------------------------------------- Figure 3
def test_reproduce_gmm_quick_cli(tmp_path):
    out = tmp_path / "gmm"
    assert cli_main(["reproduce", "gmm", "--quick", "--out", str(out), "--no-progress"]) == 0
    for name in ("gmm.csv", "gmm.json", "gmm.png", "gmm.pdf"):
        assert (out / name).stat().st_size > 0
    info = json.loads((out / "gmm.json").read_text())
    assert info["quick"] and len(info["cells"]) == 6
    (folder,) = (out / "cells").iterdir()  # one checkpoint store per settings
    cells = sorted(p.name for p in folder.glob("unit_*.npz"))
    assert len(cells) == 6
    for row in info["cells"]:
        assert np.isfinite(row["kl_diff_mean"]) and row["kl_diff_se"] > 0
        assert row["kl_mle_mean"] >= 0 and row["kl_ple_mean"] >= 0
        assert row["kl_diff_mean"] == pytest.approx(row["kl_mle_mean"] - row["kl_ple_mean"])
    # an interrupted run resumes: drop one cell, rerun, get the same numbers
    os.remove(folder / cells[0])
    assert cli_main(["reproduce", "gmm", "--quick", "--out", str(out), "--no-progress"]) == 0
    again = json.loads((out / "gmm.json").read_text())

    def numbers(rows):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    assert numbers(again["cells"]) == numbers(info["cells"])
    assert cli_main(["reproduce", "gmm", "--quick", "--generations", "3", "--out",
                     str(out)]) == 2


def test_reproduce_gmm_same_numbers_on_every_executor(tmp_path):
    # The grid runs on the simulator's executor: in-process, joblib processes and Dask give
    # the same cells (each cell's seed depends only on (seed, w, n)).
    from ple_stats.experiments import reproduce_gmm

    distributed = pytest.importorskip("dask.distributed")
    kw = dict(weights=(0.8,), sizes=(10, 20), seeds=4, m=4, n_iter=2, average=1, tol=1e-6,
              progress=False)

    def numbers(out, **extra):
        paths = reproduce_gmm(str(tmp_path / out), **kw, **extra)
        rows = json.loads(open(paths["json"]).read())["cells"]
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    serial = numbers("serial")
    assert numbers("loky", n_jobs=2) == serial
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        assert numbers("dask", backend="dask") == serial
    with pytest.raises(ValueError, match="`backend` must be one of"):
        reproduce_gmm(str(tmp_path / "bad"), backend="spark", **kw)
    # cells are named and seeded by round(1000 w) and n: those must identify them
    bad = dict(kw, weights=(0.501, 0.5012))
    with pytest.raises(ValueError, match="`weights` must differ by at least 0.001"):
        reproduce_gmm(str(tmp_path / "bad"), **bad)
    with pytest.raises(ValueError, match="`sizes` must be distinct"):
        reproduce_gmm(str(tmp_path / "bad"), **dict(kw, sizes=(10, 10)))


def test_accelerated_em_ends_every_cycle_on_an_em_step():
    # Stopped at the cap right after an extrapolation (max_iter = 3c + 2), the fit returns
    # p2 = M(M(p0)): exactly two plain EM steps from the fit stopped at 3c.
    x = GMM(weights=[0.7, 0.3], means=[0.0, 2.0], sigmas=[1.0, 0.8]).sample(150, rng=21,
                                                                          sample_shape=(4,))
    kw = dict(tol=1e-300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for c in (1, 2, 5):
            start = GMM.fit_mle(x, max_iter=3 * c, **kw).dist
            two_plain = GMM.fit_mle(x, init=start, max_iter=2, accelerate=False, **kw)
            capped = GMM.fit_mle(x, max_iter=3 * c + 2, **kw)
            for a, b in zip(capped.params, two_plain.params):
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_accelerated_em_is_quiet_on_a_zero_weight_start():
    x = GMM(weights=[0.6, 0.4], means=[0.0, 3.0], sigmas=[1.0, 1.0]).sample(100, rng=2)
    start = GMM(weights=[1.0, 0.0], means=[0.0, 3.0], sigmas=[1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)  # the empty component floors
        warnings.simplefilter("error", RuntimeWarning)
        fast = GMM.fit_mle(x, init=start, tol=1e-10, max_iter=20_000)
        plain = GMM.fit_mle(x, init=start, tol=1e-10, max_iter=20_000, accelerate=False)
    assert fast.info["loglik"] >= plain.info["loglik"] - 1e-9


def test_squarem_extrapolation_stays_valid():
    # An extrapolation that overflows falls back to the last EM point; a large finite one is
    # mapped back to valid parameters (weights on the simplex, variances on or above the floor).
    from ple_stats._gmm_em import _squarem_point

    p0 = (np.array([[0.5, 0.5]]), np.array([[-1.0, 1.0]]), np.array([[1.0, 1.0]]))
    p1 = (np.array([[0.6, 0.4]]), np.array([[-1.1, 1.2]]), np.array([[0.9, 1.1]]))
    p2 = (np.array([[0.65, 0.35]]), np.array([[-1.15, 1.3]]), np.array([[0.85, 1.15]]))
    w, mu, var = _squarem_point(p0, p1, p2, np.array([-1e200]), 1e-6)
    for got, want in zip((w, mu, var), p2):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    w, mu, var = _squarem_point(p0, p1, p2, np.array([-1e3]), 1e-6)
    assert np.all(np.isfinite(mu))
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)
    assert np.all(w > 0) and np.all(var >= 1e-6)
    # finite but absurd (means ~1e100 data standard deviations away): back to p2, no warning
    from ple_stats._gmm_em import _em_map

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w, mu, var = _squarem_point(p0, p1, p2, np.array([-1e50]), 1e-6)
        x = np.linspace(-2.0, 2.0, 20)
        mom = np.stack([np.ones_like(x), x, x * x], axis=-1)[None]
        ll, _ = _em_map(mom, w, mu, var, 1, 1e-6)
    np.testing.assert_allclose(mu, p2[1], rtol=1e-12)
    assert np.isfinite(ll).all()


# --------------------------------------------------------------------------- tied data, saddles
def _sklearn_best_of_five(x, K):
    """scikit-learn's GaussianMixture with k-means++ starts, best of 5; its regularisation
    (reg_covar added to every variance) set to ple_stats' floor var_floor * var(x), so that
    a component collapsed onto tied points has the same variance in both."""
    gm = sklearn_mixture.GaussianMixture(K, init_params="k-means++", n_init=5, random_state=0,
                                         tol=1e-8, max_iter=1000, reg_covar=1e-6 * x.var())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(x[:, None])
    return gm.score(x[:, None]) * x.size


@pytest.mark.parametrize("seed", range(8))
def test_em_does_not_stop_at_the_symmetric_saddle_on_tied_data(seed):
    # Poisson(0.3) counts, n = 50: most observations are 0, so the (k + 0.5)/K quantiles
    # of the data coincide (both quartiles 0 for seeds 0 and 2). Two identical components
    # are a fixed point of EM, where it stopped with converged=True and no warning (seed
    # 0: log-likelihood -45.5 against 227.8 for a k-means++ start). The start now has
    # distinct means; the fit must reach scikit-learn's best of five k-means++ starts (the
    # two objectives differ by reg_covar on the components off the floor: measured within
    # 1e-10), or warn that the mixture is not identifiable (fewer distinct values than K).
    x = np.random.default_rng(seed).poisson(0.3, 50).astype(float)
    for K in (2, 3):
        distinct = np.unique(x).size
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            res = GMM.fit_mle(x, n_components=K)
        messages = [str(w.message) for w in record if w.category is DegenerateDataWarning]
        if distinct < K:
            assert any("fewer distinct values" in m for m in messages), (K, messages)
            continue
        assert res.info["converged"]
        assert res.info["loglik"] >= _sklearn_best_of_five(x, K) - 1e-6, (seed, K)
        assert np.all(np.diff(res.params.means) > 1e-3)


def test_quantile_start_unchanged_on_untied_data_and_distinct_on_tied_data():
    from ple_stats._gmm_em import _quantile_means

    x = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0]).sample(30, rng=0,
                                                                            sample_shape=(4,))
    for K in (1, 2, 3):
        q = (np.arange(K) + 0.5) / K
        np.testing.assert_array_equal(_quantile_means(x, K), np.quantile(x, q, axis=-1).T)
    tied = np.array([[0.0] * 8 + [1.0, 2.0], [5.0] * 9 + [7.0], [0.0, 1.0, 2.0, 3.0] * 2 + [4, 5]])
    mu = _quantile_means(tied, 3)
    assert np.all(np.diff(mu, axis=-1) > 0)
    np.testing.assert_array_equal(mu[0], np.quantile([0.0, 1.0, 2.0], [1 / 6, 0.5, 5 / 6]))
    np.testing.assert_array_equal(mu[1], np.quantile([5.0, 7.0], [1 / 6, 0.5, 5 / 6]))
    np.testing.assert_array_equal(mu[2], np.quantile(tied[2], [1 / 6, 0.5, 5 / 6]))  # untied


def test_fit_ending_on_a_saddle_is_restarted(monkeypatch):
    # The guard behind the start: with the old quantile rule (coincident means on these
    # data) EM ends on the saddle, and the k-means++ restart with a fixed seed finds the
    # maximum; batched and one-by-one fits agree (the restart is per data set).
    import ple_stats._gmm_em as gmm_module

    def tied_quantiles(x, K):
        return np.quantile(x, (np.arange(K) + 0.5) / K, axis=-1).T.reshape(x.shape[0], K)

    monkeypatch.setattr(gmm_module, "_quantile_means", tied_quantiles)
    xs = np.stack([np.random.default_rng(s).poisson(0.3, 50).astype(float) for s in (0, 2)])
    assert np.all(tied_quantiles(xs, 2)[:, 0] == tied_quantiles(xs, 2)[:, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        both = GMM.fit_mle(xs)
        for i, x in enumerate(xs):
            one = GMM.fit_mle(x)
            assert one.info["loglik"] >= _sklearn_best_of_five(x, 2) - 1e-6
            assert both.info["loglik"][i] == one.info["loglik"]
            for a, b in zip(both.params, one.params):
                np.testing.assert_array_equal(a[i], b)


def test_fewer_distinct_values_than_components_warns():
    x = np.array([0.0] * 7 + [1.0] * 3)
    for fit in (lambda: GMM.fit_mle(x, n_components=3),
                lambda: GMM.fit_ple(x, n_components=3, m=5, rng=0,
                                      options={"n_iter": 2, "average": 1})):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fit()
        assert any(w.category is DegenerateDataWarning
                   and "fewer distinct values than the K = 3" in str(w.message)
                   for w in record)
    with warnings.catch_warnings(record=True) as record:  # three distinct values: no warning
        warnings.simplefilter("always")
        GMM.fit_mle(np.array([0.0] * 7 + [1.0, 2.0, 3.5]), n_components=3)
    assert not any("fewer distinct values" in str(w.message) for w in record)


def test_logpdf_with_a_misaligned_batch_names_x_and_both_shapes():
    d = GMM(weights=[0.5, 0.5], means=[[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]], sigmas=1.0)
    for method in (d.logpdf, d.cdf, d.nll):
        with pytest.raises(ValueError, match=r"`x` of shape \(2, 5\).*batch shape \(3,\)"):
            method(np.zeros((2, 5)))
    assert d.logpdf(np.zeros((3, 5))).shape == (3, 5)
    assert d.logpdf(np.zeros(5)).shape == (3, 5)  # the same points for every mixture
    assert d.cdf(np.zeros((4, 1, 5))).shape == (4, 3, 5)


@pytest.mark.parametrize("var_floor", [1.0, 2.0])
def test_var_floor_of_one_or_more_is_refused(var_floor):
    x = GMM(weights=[0.5, 0.5], means=[0.0, 3.0], sigmas=[1.0, 1.0]).sample(40, rng=0)
    with pytest.raises(ValueError, match="`var_floor` must be below 1"):
        GMM.fit_mle(x, var_floor=var_floor)
    with pytest.raises(ValueError, match="`var_floor` must be below 1"):
        GMM.fit_ple(x, var_floor=var_floor, m=5)
