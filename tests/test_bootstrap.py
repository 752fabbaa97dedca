"""The data-driven PLE, ``fit_ple(x, method="bootstrap", m=..., rng=...)``.

The bootstrap PLE solves ``b_m(theta) = T(x)`` with ``b_m`` the mean of the MLE
over ``m`` synthetic data sets made from one fixed array of base draws (common
random numbers). Every family has an analytic PLE that solves the same equation
with the *exact* binding function ``b``, so the two differ only by the
Monte Carlo error of ``b_m``, which the bootstrap reports as
``res.info["mc_se"]``. The statistical tests below check

- agreement: ``z = (boot - analytic) / mc_se`` over R = 300 independent data
  sets has mean near 0 and standard deviation near 1 (the reported error is
  the real one, neither too small nor too large);
- convergence: the mean ``|boot - analytic|`` shrinks like ``1/sqrt(m)``;
- unbiasedness where the analytic PLE is exactly unbiased.

Every statistical test uses fixed seeds (so the suite is deterministic) and
states the false-alarm rate it would have over fresh seeds. Validation of ``m``
and ``rng``, non-finite data, reproducibility and batching are checked for every
fitter by ``test_fitters.py``.
"""

import functools
import math

import numpy as np
import pytest

from ple_stats import Exponential, Gaussian, Geometric, Pareto, Uniform
from ple_stats import _bootstrap

from families import PLE_CONFIGS

N = 20

CONFIGS = PLE_CONFIGS  # (id, truth, fixed parameters, fit_ple options)


def _free(name):
    dist, fixed, _ = CONFIGS[name]
    return [p for p in type(dist)._param_names if p not in fixed]


def _get(res, param):
    return np.asarray(getattr(res.params, param), dtype=float)


@functools.lru_cache(maxsize=None)
def _agreement_fits(name, R=300):
    """Data, analytic PLE and bootstrap PLEs at m = 100 and m = 400 (independent rngs).

    Seeds: data 1000 + index, bootstrap 2000 + index (m = 100) and 3000 + index
    (m = 400), so the two bootstrap errors are independent.
    """
    index = list(CONFIGS).index(name)
    dist, fixed, options = CONFIGS[name]
    cls = type(dist)
    x = dist.sample(N, rng=1000 + index, sample_shape=(R,))
    analytic = cls.fit_ple(x, method="analytic", **fixed, **options)
    boot100 = cls.fit_ple(x, method="bootstrap", m=100, rng=2000 + index, **fixed, **options)
    boot400 = cls.fit_ple(x, method="bootstrap", m=400, rng=3000 + index, **fixed, **options)
    return x, analytic, boot100, boot400


# --------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bootstrap_agrees_with_analytic_within_reported_mc_error(name):
    R, m = 300, 100
    _, analytic, boot, _ = _agreement_fits(name)
    assert np.all(boot.info["converged"])
    for param in _free(name):
        d = _get(boot, param) - _get(analytic, param)
        se = np.asarray(getattr(boot.info["mc_se"], param), dtype=float)
        assert np.all(np.isfinite(se)) and np.all(se > 0)
        z = d / se
        # (1) The mean of z. Over fresh seeds mean(z) has standard error 1/sqrt(R)
        # = 0.058; 4 of them = 0.23 (false alarm ~6e-5). Studentising with an
        # error estimated from the same m draws adds a known bias of about
        # gamma/(2 sqrt(m)) when the simulated statistic has skewness gamma
        # (the t-statistic of a skewed mean): the maximum of uniforms has
        # gamma ~ -1.7 and we measured mean(z) ~ -0.11 (Uniform high) and
        # +0.10 (Pareto xm) averaged over 12 seeds. 1/sqrt(m) = 0.1 allows
        # |gamma| <= 2, which covers every statistic here. (Over 15 further seeds
        # the largest |mean(z)| reached 0.70 of this bound, Uniform low.)
        assert abs(z.mean()) < 4.0 / np.sqrt(R) + 1.0 / np.sqrt(m), (param, z.mean())
        # (2) The spread of z: near 1 iff mc_se is the real Monte Carlo error.
        # The sample sd of R = 300 near-normal values has s.e. ~1/sqrt(2R) = 0.04
        # (measured over 27 seeds and all parameters: 0.91..1.16); mc_se is estimated
        # from m = 100 sets (z is t-like, sd ~1.01). [0.8, 1.25] is > 4 s.e. on
        # both sides, yet catches an error off by a factor 1.3 either way.
        assert 0.8 < z.std(ddof=1) < 1.25, (param, z.std(ddof=1))
        # (3) Without studentising, the mean difference is within 4 of its own
        # standard errors of zero (the O(1/m) bias of the root, e.g. the
        # relative 1/((n-2) m) of the exponential rate, is < 0.5 s.e. at R = 300).
        assert abs(d.mean()) < 4.0 * d.std(ddof=1) / np.sqrt(R), (param, d.mean())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bootstrap_converges_to_analytic_like_one_over_sqrt_m(name):
    # The Monte Carlo error of the root scales as 1/sqrt(m): from m = 100 to
    # m = 400 the mean |boot - analytic| should halve. Each mean of R = 300
    # absolute errors has a relative s.e. of ~0.755/sqrt(R) ~ 0.044 (half-normal;
    # up to ~0.05 with heterogeneous scales), so the ratio of two independent
    # ones has s.e. ~0.5 * sqrt(2) * 0.05 = 0.035. [0.35, 0.65] is > 4 s.e.
    # each side of 0.5 and excludes 1/sqrt(2) (1/m^(1/4)) and 1 (no convergence).
    # Measured over 15 further seeds and all parameters: 0.42..0.59.
    _, analytic, boot100, boot400 = _agreement_fits(name)
    for param in _free(name):
        a = _get(analytic, param)
        err100 = np.mean(np.abs(_get(boot100, param) - a))
        err400 = np.mean(np.abs(_get(boot400, param) - a))
        ratio = err400 / err100
        assert 0.35 < ratio < 0.65, (param, ratio)
        # the reported error shrinks by the same factor
        se100 = np.mean(np.asarray(getattr(boot100.info["mc_se"], param)))
        se400 = np.mean(np.asarray(getattr(boot400.info["mc_se"], param)))
        assert 0.4 < se400 / se100 < 0.6, (param, se400 / se100)


# --------------------------------------------------------------------------- unbiasedness


@pytest.mark.parametrize("dist, fixed, options, param, exact_mle_mean", [
    # E[sigma_MLE] = c4(n) sqrt((n-1)/n) sigma, c4(n) = sqrt(2/(n-1)) G(n/2)/G((n-1)/2)
    (Gaussian(mu=0.0, sigma=2.0), {}, {"parametrization": "sigma"}, "sigma",
     2.0 * math.sqrt(2 / 9) * math.exp(math.lgamma(5.0) - math.lgamma(4.5)) * math.sqrt(9 / 10)),
    # E[rate_MLE] = n/(n-1) rate
    (Exponential(rate=0.5), {}, {}, "rate", 0.5 * 10 / 9),
    # E[max] = low + n/(n+1) (high - low)
    (Uniform(low=0.0, high=3.0), {"low": 0.0}, {}, "high", 3.0 * 10 / 11),
], ids=["Gaussian-sigma", "Exponential-rate", "Uniform-high"])
def test_bootstrap_ple_is_unbiased_where_the_analytic_ple_is_exactly_unbiased(
        dist, fixed, options, param, exact_mle_mean):
    # R = 4000 data sets of n = 10, m = 100; seeds 7 (data) and 8 (bootstrap).
    # The bootstrap PLE is the analytic (exactly unbiased) PLE plus Monte Carlo
    # noise of mean O(1/m) (relative 1/((n-2) m) = 1.3e-3 for the exponential
    # rate, < 0.25 s.e. of the mean here). 4 s.e. of the mean over data sets:
    # false alarm ~6e-5. The MLE fails the same check by > 10 s.e. (power check).
    R, n = 4000, 10
    cls = type(dist)
    x = dist.sample(n, rng=7, sample_shape=(R,))
    boot = cls.fit_ple(x, method="bootstrap", m=100, rng=8, **fixed, **options)
    assert np.all(boot.info["converged"])
    truth = getattr(dist.params, param)
    values = _get(boot, param)
    se = values.std(ddof=1) / np.sqrt(R)
    assert abs(values.mean() - truth) < 4.0 * se, (values.mean(), truth, se)

    mle = _get(cls.fit_mle(x, **fixed), param)
    se_mle = mle.std(ddof=1) / np.sqrt(R)
    assert abs(mle.mean() - exact_mle_mean) < 4.0 * se_mle  # the reference is right
    assert abs(mle.mean() - truth) > 10.0 * se_mle  # ... and the test has power


# --------------------------------------------------------------------------- info and shapes


@pytest.mark.parametrize("name", list(CONFIGS))
def test_info_fields_single_data_set(name):
    dist, fixed, options = CONFIGS[name]
    cls = type(dist)
    x = dist.sample(N, rng=5)
    res = cls.fit_ple(x, method="bootstrap", m=50, rng=6, **fixed, **options)
    assert res.method == "ple" and res.n == N
    info = res.info
    for key in ("residual", "n_iter", "converged", "mc_se", "m"):
        assert key in info, key
    assert info["m"] == 50
    assert info["converged"] is True or info["converged"] == np.True_
    assert isinstance(info["n_iter"], int) and info["n_iter"] >= 0
    assert np.isfinite(info["residual"]) and info["residual"] >= 0
    if cls._discrete:
        # a step function's residual is the jump at the crossing, not ~0
        assert info["residual"] < 0.05
    else:
        assert info["residual"] <= 1e-9
    mc_se = info["mc_se"]
    assert type(mc_se) is cls.Params
    assert mc_se._fields == cls._param_names
    for param in cls._param_names:
        value = getattr(mc_se, param)
        assert isinstance(value, float)
        if param in fixed:
            assert value == 0.0
            assert getattr(res.params, param) == fixed[param]
        else:
            assert value > 0.0


@pytest.mark.parametrize("name", list(CONFIGS))
def test_info_fields_have_the_batch_shape(name):
    dist, fixed, options = CONFIGS[name]
    cls = type(dist)
    x = dist.sample(N, rng=9, sample_shape=(2, 3))
    res = cls.fit_ple(x, method="bootstrap", m=30, rng=10, **fixed, **options)
    assert res.batch_shape == (2, 3)
    for param in cls._param_names:
        assert np.shape(getattr(res.params, param)) == (2, 3)
        assert np.shape(getattr(res.info["mc_se"], param)) == (2, 3)
    assert np.shape(res.info["residual"]) == (2, 3)
    converged = np.asarray(res.info["converged"])
    assert converged.shape == (2, 3) and converged.dtype == bool and converged.all()
    assert res.dist.batch_shape == (2, 3)
    # the fitted distribution is ready to sample, with the batch shape
    assert res.dist.sample(4, rng=0).shape == (2, 3, 4)


def test_method_none_picks_analytic_and_bootstrap_differs_from_it():
    x = Exponential(rate=1.0).sample(15, rng=0)
    default = Exponential.fit_ple(x)
    analytic = Exponential.fit_ple(x, method="analytic")
    boot = Exponential.fit_ple(x, method="bootstrap", m=30, rng=1)
    assert default.params.rate == analytic.params.rate == (15 - 1) / x.sum()
    assert boot.params.rate != analytic.params.rate
    assert "bootstrap" in boot.info["estimator"]


# --------------------------------------------------------------------------- fast paths
# The bootstrap evaluates the simulated statistics through BindingProblem.simulator
# (a summary of the draws for the Uniform, the draws still undecided inside the bracket
# for the Geometric, no second evaluation at the same theta for every family). Each
# must give the numbers of the family's own simulate() bit for bit: compared here
# against the engine's plain path (the simulator hook removed).


def _fit_both(monkeypatch, cls, x, **kwargs):
    fast = cls.fit_ple(x, method="bootstrap", **kwargs)
    with monkeypatch.context() as patch:
        patch.delattr(_bootstrap.BindingProblem, "simulator")
        plain = cls.fit_ple(x, method="bootstrap", **kwargs)
    return fast, plain


def _assert_same_fit(fast, plain):
    for key in ("residual", "converged", "n_iter"):
        assert np.array_equal(fast.info[key], plain.info[key], equal_nan=True), key
    for name in type(fast.dist)._param_names:
        assert np.array_equal(getattr(fast.params, name), getattr(plain.params, name),
                              equal_nan=True), name
        assert np.array_equal(getattr(fast.info["mc_se"], name),
                              getattr(plain.info["mc_se"], name), equal_nan=True), name


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fast_simulators_give_the_plain_fit_bit_for_bit(monkeypatch, name):
    dist, fixed, options = CONFIGS[name]
    x = dist.sample(N, rng=21, sample_shape=(60,))
    _assert_same_fit(*_fit_both(monkeypatch, type(dist), x, m=40, rng=22, **fixed, **options))


@pytest.mark.parametrize("case", ["n=1", "n=2", "m=2", "p near 0", "p near 0 and 0.5",
                                  "all ones", "p near 1", "several chunks", "one data set"])
def test_geometric_floor_sums_give_the_plain_fit_bit_for_bit(monkeypatch, case):
    # n = 1 and 2, the fewest synthetic sets, sums beyond 2**52 (p ~ 1e-12: the family's own
    # arithmetic), roots at the upper end (all ones), brackets ending at p = 1, chunks.
    geo = Geometric
    x, m = {
        "n=1": (geo(p=0.4).sample(1, rng=1, sample_shape=(50,)), 30),
        "n=2": (geo(p=0.4).sample(2, rng=1, sample_shape=(50,)), 30),
        "m=2": (geo(p=0.4).sample(20, rng=1, sample_shape=(50,)), 2),
        "p near 0": (geo(p=1e-12).sample(20, rng=1, sample_shape=(10,)), 30),
        "p near 0 and 0.5": (np.concatenate([geo(p=1e-12).sample(20, rng=1, sample_shape=(3,)),
                                             geo(p=0.5).sample(20, rng=2, sample_shape=(30,))]),
                             30),
        "all ones": (np.concatenate([np.ones((3, 20)),
                                     geo(p=0.9).sample(20, rng=1, sample_shape=(30,))]), 30),
        "p near 1": (geo(p=0.97).sample(30, rng=3, sample_shape=(40,)), 50),
        "several chunks": (geo(p=0.3).sample(50, rng=3, sample_shape=(1000,)), 100),
        "one data set": (geo(p=0.3).sample(50, rng=5), 100),
    }[case]
    with np.errstate(all="ignore"):
        _assert_same_fit(*_fit_both(monkeypatch, geo, x, m=m, rng=4))


@pytest.mark.parametrize("cls, dist, fixed", [
    (Uniform, Uniform(low=-1e300, high=1e300), {}),  # widths overflow to inf: mapped draws
    (Uniform, Uniform(low=0.0, high=5.0), {"high": 5.0}),
    (Pareto, Pareto(b=0.3, xm=2.0), {"xm": 2.0}),
    (Pareto, Pareto(b=3.0, xm=2.0), {"b": 3.0}),
])
def test_other_fast_paths_give_the_plain_fit_bit_for_bit(monkeypatch, cls, dist, fixed):
    x = dist.sample(6, rng=3, sample_shape=(40,))
    with np.errstate(all="ignore"):
        _assert_same_fit(*_fit_both(monkeypatch, cls, x, m=30, rng=4, **fixed))


def _problem(cls, x, fixed=None):
    flat_x, flat_fixed, _, _, n = _bootstrap.flatten_batch(x, fixed or {})
    return _bootstrap.BindingProblem(cls, flat_fixed, {}, n)


def test_uniform_summary_maps_minimum_and_maximum_bit_for_bit():
    # low + (high - low) * u is monotone in floating point, in u and also for high < low
    # (the ends swap), so the extremes of the data are the images of those of u.
    rng = np.random.default_rng(0)
    problem = _problem(Uniform, np.zeros((50, 7)))
    base = problem.draw_base(rng, (20, 50, 7))
    sim = problem.simulator(base)
    assert isinstance(sim, _bootstrap.SummarySimulator)
    for scale in (1.0, 1e-300, 1e300):
        theta = rng.normal(size=(50, 2)) * scale  # half of them with high < low
        assert np.array_equal(sim.simulate(theta), problem.simulate(theta, base))
    theta = np.array([[0.0, np.inf]] * 50)  # not finite: every draw mapped
    assert np.array_equal(sim.simulate(theta), problem.simulate(theta, base), equal_nan=True)


def test_geometric_floor_sums_and_their_layout_match_the_family_bit_for_bit():
    # Random brackets narrowing towards random roots; inside and outside the windows,
    # for the whole chunk and for subsets, the statistics and the engine's mean over the
    # synthetic sets (which depends on the memory layout) are the family's own.
    rng = np.random.default_rng(1)
    size, m, n = 40, 30, 12
    problem = _problem(Geometric, np.ones((size, n)))
    base = problem.draw_base(rng, (m, size, n))
    sim = problem.simulator(base)
    assert isinstance(sim, _bootstrap.FloorSumSimulator)
    root = rng.uniform(0.05, 0.95, size)
    lo, hi = 0.5 * root, np.minimum(1.5 * root, 1.0)
    windows = 0
    for step in range(40):
        idx = np.sort(rng.choice(size, rng.integers(1, size + 1), replace=False))
        for theta, part in ((rng.uniform(lo, hi), None), (rng.uniform(lo[idx], hi[idx]), idx),
                            (rng.uniform(0.01, 1.0, size), None)):
            got = sim.simulate(theta[:, None], part)
            want = (problem.simulate(theta[:, None], base) if part is None else
                    problem.subset(part).simulate(theta[:, None], base[:, part]))
            assert np.array_equal(got, want)
            assert np.array_equal(got.mean(axis=0), want.mean(axis=0))
        shrink = rng.uniform(0.3, 0.9, size)
        lo, hi = root - shrink * (root - lo), root + shrink * (hi - root)
        sim.narrow(idx, lo[idx], hi[idx])
        windows = max(windows, int(np.sum(sim.windowed)))
    assert windows > size // 2  # the windows were used
    assert sim.act_e.size < 0.05 * base.size  # ... and hold few of the draws


def test_cached_simulations_are_read_only_and_reused():
    rng = np.random.default_rng(2)
    problem = _problem(Exponential, np.ones((5, 4)))
    base = problem.draw_base(rng, (10, 5, 4))
    sim = problem.simulator(base)
    theta = rng.uniform(0.5, 2.0, (5, 1))
    first = sim.simulate(theta)
    assert sim.simulate(theta.copy()) is first and not first.flags.writeable
    assert np.array_equal(first, problem.simulate(theta, base))
    assert sim.simulate(theta * (1 + 1e-16) + 1e-15) is not first
