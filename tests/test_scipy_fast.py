"""The exact batched MLEs of ``ple_stats._scipy_fast`` (the scipy route's fast T).

Each registered estimator must be the MLE: checked against scipy's own
``dist.fit`` (closed form or a root solve for these fixed parameters) to 1e-7,
and for the Weibull shape, where scipy's fit is a general optimiser that stops
at ~1e-5, by its score being zero and its log-likelihood at least scipy's. The
PLE computed with them must agree with the PLE of the generic finite-difference
Newton estimator they replace (the route before the fast path), within a small
fraction of the reported Monte Carlo error.
"""

import warnings

import numpy as np
import pytest
from scipy import stats

import ple_stats
from ple_stats import _scipy_fast, _scipy_model
from ple_stats._scipy_model import describe

#: name -> (frozen truth, fixed keywords, fixed values for the estimator)
CASES = {
    "gamma": (stats.gamma(2.0, scale=3.0), {"floc": 0}, {"loc": 0.0}),
    "lognorm": (stats.lognorm(0.5, scale=2.0), {"floc": 0}, {"loc": 0.0}),
    "weibull_min": (stats.weibull_min(1.5, scale=2.0), {"floc": 0}, {"loc": 0.0}),
    "beta": (stats.beta(2.0, 3.0), {"floc": 0, "fscale": 1}, {"loc": 0.0, "scale": 1.0}),
    "norm": (stats.norm(1.0, 2.0), {}, {}),
    "norm-floc": (stats.norm(1.0, 2.0), {"floc": 1.0}, {"loc": 1.0}),
    "norm-fscale": (stats.norm(1.0, 2.0), {"fscale": 2.0}, {"scale": 2.0}),
}


def _dist_name(case):
    return case.split("-")[0]


def _free(case):
    spec = describe(getattr(stats, _dist_name(case)))
    fixed = CASES[case][2]
    return spec, [n for n in spec.names if n not in fixed]


def _scipy_free(case, row):
    spec, free = _free(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = spec.dist.fit(row, **CASES[case][1])
    return np.array([fit[spec.names.index(n)] for n in free])


@pytest.mark.parametrize("case", list(CASES))
def test_registered_for_its_fixed_parameters(case):
    spec, free = _free(case)
    assert _scipy_fast.fast_mle(spec, free) is not None


def test_not_registered_for_other_fixed_parameters():
    # gamma with loc free, beta with only loc fixed, t: the generic estimator
    assert _scipy_fast.fast_mle(describe(stats.gamma), ["a", "loc", "scale"]) is None
    assert _scipy_fast.fast_mle(describe(stats.beta), ["a", "b", "scale"]) is None
    assert _scipy_fast.fast_mle(describe(stats.t), ["df", "loc", "scale"]) is None
    assert _scipy_fast.fast_mle(describe(stats.nbinom), ["n", "p"]) is None


@pytest.mark.parametrize("case", [c for c in CASES if c != "weibull_min"])
def test_equals_scipy_fit(case):
    spec, free = _free(case)
    x = CASES[case][0].rvs(size=(12, 15), random_state=3)
    values, converged, loglik = _scipy_fast.fast_mle(spec, free)(x, CASES[case][2], None)
    assert values.shape == (12, len(free)) and np.all(converged)
    ref = np.array([_scipy_free(case, row) for row in x])
    np.testing.assert_allclose(values, ref, rtol=1e-7)
    # the returned log-likelihood is the log-likelihood at the returned values
    for row, v, ll in zip(x, values, loglik):
        params = dict(CASES[case][2], **dict(zip(free, v)))
        shapes = [params[n] for n in spec.shape_names]
        total = spec.dist.logpdf(row, *shapes, loc=params.get("loc", 0.0),
                                 scale=params.get("scale", 1.0)).sum()
        assert ll == pytest.approx(total, rel=1e-12, abs=1e-10)


def test_weibull_shape_is_the_mle():
    spec, free = _free("weibull_min")
    x = CASES["weibull_min"][0].rvs(size=(12, 15), random_state=4)
    values, converged, loglik = _scipy_fast.fast_mle(spec, free)(x, {"loc": 0.0}, None)
    c, scale = values.T
    assert np.all(converged)
    # the profile score of the shape and the scale equation vanish
    y = x
    score = ((y ** c[:, None] * np.log(y)).sum(-1) / (y ** c[:, None]).sum(-1) - 1.0 / c
             - np.log(y).mean(-1))
    np.testing.assert_allclose(score, 0.0, atol=1e-12)
    np.testing.assert_allclose(scale, np.mean(y ** c[:, None], -1) ** (1.0 / c), rtol=1e-12)
    ref = np.array([_scipy_free("weibull_min", row) for row in x])
    np.testing.assert_allclose(values, ref, rtol=1e-4)  # scipy's optimiser stops at ~1e-5
    scipy_ll = np.array([stats.weibull_min.logpdf(row, r[0], 0.0, r[1]).sum()
                         for row, r in zip(x, ref)])
    assert np.all(loglik >= scipy_ll - 1e-12)


def test_warm_start_gives_the_same_estimate():
    spec, free = _free("beta")
    x = CASES["beta"][0].rvs(size=(8, 20), random_state=5)
    fn = _scipy_fast.fast_mle(spec, free)
    cold = fn(x, {"loc": 0.0, "scale": 1.0}, None)[0]
    start = np.column_stack([np.full(8, 7.0), np.full(8, 0.3)])
    warm = fn(x, {"loc": 0.0, "scale": 1.0}, start)[0]
    np.testing.assert_allclose(warm, cold, rtol=1e-12)


def test_an_mle_at_infinity_is_flagged_at_the_box():
    # equal observations: the gamma shape MLE is infinite
    spec, free = _free("gamma")
    x = np.vstack([np.full(10, 2.0), CASES["gamma"][0].rvs(size=10, random_state=1)])
    values0 = {"a": np.ones(2), "loc": np.zeros(2), "scale": np.ones(2)}
    coords = _scipy_model.Coords.for_domains([spec.domains[n] for n in free])
    values, res = _scipy_model.fit_mle_batched(spec, x, values0, free, coords)
    assert res.at_bound.tolist() == [True, False]
    assert coords.escaped(res.u)[0, 0] and not coords.escaped(res.u)[1].any()
    assert np.all(np.isfinite(values))


@pytest.mark.parametrize("case", ["gamma", "lognorm", "weibull_min", "beta", "norm"])
def test_ple_agrees_with_the_generic_estimator(case, monkeypatch):
    # The fast T is the MLE to ~1e-10 and the generic Newton T to its own ~1e-10,
    # on the same common random numbers: the PLEs agree to far below their Monte
    # Carlo error. Measured: |difference| / mc_se below 1e-6 on these seeds; the
    # bound 1e-3 leaves room for other platforms' rounding and still fails on any
    # real change of the estimator (a different T moves the PLE by ~mc_se).
    truth, kwds, _ = CASES[case]
    dist = getattr(stats, _dist_name(case))
    x = truth.rvs(size=(3, 20), random_state=11)
    fast = ple_stats.fit_ple(dist, x, m=40, rng=5, **kwds)
    monkeypatch.setattr(_scipy_model, "fast_mle", lambda spec, free: None)
    generic = ple_stats.fit_ple(dist, x, m=40, rng=5, **kwds)
    assert np.all(fast.info["converged"]) and np.all(generic.info["converged"])
    for name in fast.params._fields:
        se = np.asarray(getattr(generic.info["mc_se"], name))
        diff = np.abs(np.asarray(getattr(fast.params, name))
                      - np.asarray(getattr(generic.params, name)))
        assert np.all(diff <= 1e-3 * se + 1e-12 * np.abs(getattr(generic.params, name)))
        np.testing.assert_allclose(getattr(fast.info["mle"], name),
                                   getattr(generic.info["mle"], name), rtol=1e-7)
