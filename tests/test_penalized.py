"""The penalised PLE, ``fit_ple(x, penalty=lam, m=..., rng=...)`` (paper eq. 5).

It minimises ``NLL(x; theta)/n + lam * sum_j |b_m,j(theta) - T_j(x)|`` with the
simulated binding function ``b_m`` of the bootstrap PLE. Checked here:

- ``lam = 0`` is the MLE to the simplex optimiser's tolerance: the package's
  Nelder-Mead stops when the simplex is below 1e-9 (unconstrained coordinates)
  and its values agree to 1e-12, which near a quadratic minimum pins the
  parameters to ~1e-6 of their scale at worst (measured: <= 6e-8); 1e-6
  relative still catches any real difference from the MLE;
- a large ``lam`` (an exact L1 penalty) gives the root of the simulated PLE
  equation, i.e. the bootstrap PLE computed with the same ``m`` and ``rng``
  (the same common random numbers: with different draws the two would differ
  by the Monte Carlo error, ~1e-2, not 1e-6);
- in between, the likelihood and the gap trade off monotonically along the
  penalty path.

Validation of ``m`` and ``rng``, non-finite data, reproducibility and batching are
checked for every fitter by ``test_fitters.py``.
"""

import numpy as np
import pytest

from ple_stats import Exponential, Laplace, Uniform

from families import PLE_CONFIGS

N = 21  # odd: the Laplace MLE of mu (the median) is then unique
R = 6

CONFIGS = PLE_CONFIGS  # (id, truth, fixed parameters, fit_ple options)
CONTINUOUS = [k for k in CONFIGS if k != "Geometric"]


def _setup(name, n=N, seed=None):
    dist, fixed, options = CONFIGS[name]
    seed = list(CONFIGS).index(name) if seed is None else seed
    x = dist.sample(n, rng=100 + seed, sample_shape=(R,))
    return type(dist), x, fixed, options


def _free(cls, fixed):
    return [p for p in cls._param_names if p not in fixed]


def _get(res, param):
    return np.asarray(getattr(res.params, param), dtype=float)


def _nll_per_obs(res, x):
    return np.asarray(res.dist.nll(x), dtype=float) / x.shape[-1]


def _l1_gap(res):
    return sum(np.abs(np.asarray(v, dtype=float)) for v in res.info["gap"].values())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_zero_penalty_gives_the_mle(name):
    cls, x, fixed, options = _setup(name)
    res = cls.fit_ple(x, penalty=0.0, m=30, rng=1, **fixed, **options)
    mle = cls.fit_mle(x, **fixed)
    assert np.all(res.info["converged"])
    # 1e-6 relative to the parameter, or to the data's spread for parameters that
    # may sit near 0 (a location: relative error in mu is meaningless at mu ~ 0;
    # measured worst case over 15 seeds: 4.7e-8 absolute at spread ~8)
    spread = np.ptp(x, axis=-1)
    for param in cls._param_names:
        a, b = _get(res, param), _get(mle, param)
        assert np.all(np.abs(a - b) <= 1e-6 * np.maximum(np.abs(b), spread)), param


def test_zero_penalty_laplace_even_n_reaches_the_mle_likelihood():
    # For even n the Laplace likelihood is flat in mu between the two middle order
    # statistics (sum |x - mu| is constant there), so the argmin is not unique:
    # np.median picks the midpoint, the optimiser any point of the interval.
    # What must agree is the minimum value and that mu lies in that interval.
    n = 20
    x = Laplace(mu=0.5, b=1.5).sample(n, rng=3, sample_shape=(R,))
    res = Laplace.fit_ple(x, penalty=0.0, m=30, rng=1)
    mle = Laplace.fit_mle(x)
    np.testing.assert_allclose(_nll_per_obs(res, x), _nll_per_obs(mle, x), rtol=1e-9)
    xs = np.sort(x, axis=-1)
    mu = _get(res, "mu")
    tol = 1e-8 * (1 + np.abs(mu))
    assert np.all((xs[:, n // 2 - 1] - tol <= mu) & (mu <= xs[:, n // 2] + tol))


@pytest.mark.parametrize("name", CONTINUOUS)
def test_large_penalty_gives_the_bootstrap_root_with_the_same_draws(name):
    cls, x, fixed, options = _setup(name)
    pen = cls.fit_ple(x, penalty=1e3, m=40, rng=7, **fixed, **options)
    boot = cls.fit_ple(x, method="bootstrap", m=40, rng=7, **fixed, **options)
    assert np.all(pen.info["converged"])
    for param in cls._param_names:
        np.testing.assert_allclose(_get(pen, param), _get(boot, param), rtol=1e-6,
                                   err_msg=param)
    # the simulated equation is solved: every gap is ~0 (the statistic's scale is O(1))
    for param, gap in pen.info["gap"].items():
        assert np.all(np.abs(gap) < 1e-6), (param, gap)
    # negative control: with other draws the root moves by the Monte Carlo error,
    # far more than the 1e-6 above (so the comparison does test common random numbers)
    other = cls.fit_ple(x, method="bootstrap", m=40, rng=8, **fixed, **options)
    diffs = [np.max(np.abs(_get(other, p) / _get(boot, p) - 1)) for p in _free(cls, fixed)]
    assert max(diffs) > 1e-4


@pytest.mark.parametrize("name", list(CONFIGS))
def test_penalty_path_trades_likelihood_for_stability(name):
    # Along lam = 0 < 0.01 < 0.1 < 1 < 1e3 (same m and rng, hence the same b_m), the
    # minimiser's NLL cannot decrease and its gap cannot increase: if lam1 < lam2,
    # optimality of both gives NLL1 <= NLL2 and gap1 >= gap2. The slack 1e-8
    # covers the optimiser's tolerance. lam = 0.1 (the paper's) lies between the
    # MLE and the root; at this n it often already reaches the root (the L1
    # penalty is exact once lam exceeds the likelihood's slope there).
    cls, x, fixed, options = _setup(name)
    lams = (0.0, 0.01, 0.1, 1.0, 1e3)
    fits = [cls.fit_ple(x, penalty=lam, m=40, rng=9, **fixed, **options) for lam in lams]
    nll = [_nll_per_obs(f, x) for f in fits]
    gap = [_l1_gap(f) for f in fits]
    mle = cls.fit_mle(x, **fixed)
    np.testing.assert_allclose(nll[0], _nll_per_obs(mle, x), rtol=1e-9)
    slack = 1e-8
    for i in range(len(lams) - 1):
        assert np.all(nll[i] <= nll[i + 1] + slack * (1 + np.abs(nll[i + 1]))), lams[i]
        assert np.all(gap[i] + slack >= gap[i + 1]), lams[i]
    # lam = 0.1: likelihood no better than the MLE's, gap no larger than the MLE's
    assert np.all(nll[2] >= _nll_per_obs(mle, x) - slack)
    assert np.all(gap[2] <= gap[0] + slack)
    # the path really moves: the (biased) MLE violates the simulated equation, the
    # large-penalty end satisfies it at a strictly worse likelihood. (The MLE's gap
    # is random through b_m and can be small for one data set, hence the max.)
    assert gap[0].max() > 1e-3
    # where the MLE's gap is not small by chance, the root costs likelihood
    moved = gap[0] > 1e-3
    assert np.all(nll[-1][moved] > nll[0][moved] + 1e-9)
    if cls._discrete:
        # b_m is a step function under common random numbers: one simulated set's
        # n/S moves by ~n/S^2 ~ p^2/n when S moves by 1, so b_m jumps by ~p^2/(n m)
        # ~ 1e-4 here; the gap at the crossing is at most about one jump.
        assert np.all(gap[-1] < 1e-3)
    else:
        assert np.all(gap[-1] < 1e-6)
    if cls is not Uniform:
        # smooth likelihoods: a small penalty gives a strict compromise (gap down,
        # NLL up) for some data set. The uniform likelihood instead jumps from the
        # MLE to the root (see the next test), so it is excluded here.
        strict = (gap[1] < gap[0] - 1e-6) & (nll[1] > nll[0] + 1e-9)
        assert strict.any()


def test_uniform_penalised_switches_from_mle_to_root_at_the_predicted_penalty():
    # Uniform(0, high) with low = 0 fixed: NLL/n = log(high) for high >= max and the
    # simulated statistic is linear, b_m(high) = high * ubar (ubar = mean of the
    # simulated maxima of standard uniforms). On [max, root] the objective
    # log(high) + lam * (max - high * ubar) is concave, so its minimum is at an end:
    # the MLE (max) while lam < lam* = log(root / max) / gap_MLE, the root beyond.
    # This predicts the penalised estimate exactly from the MLE, the bootstrap root
    # and the MLE's gap, all computed with the same draws.
    x = Uniform(low=0.0, high=1.0).sample(15, rng=4)
    mle = Uniform.fit_ple(x, penalty=0.0, m=50, rng=3, low=0.0)
    root = Uniform.fit_ple(x, method="bootstrap", m=50, rng=3, low=0.0).params.high
    gap0 = abs(mle.info["gap"]["high"])
    assert mle.params.high == pytest.approx(x.max(), rel=1e-9)
    lam_star = np.log(root / x.max()) / gap0
    below = Uniform.fit_ple(x, penalty=0.9 * lam_star, m=50, rng=3, low=0.0).params.high
    above = Uniform.fit_ple(x, penalty=1.1 * lam_star, m=50, rng=3, low=0.0).params.high
    assert below == pytest.approx(x.max(), rel=1e-7)
    assert above == pytest.approx(root, rel=1e-7)


@pytest.mark.parametrize("name", ["Gaussian-sigma", "Pareto-free", "Geometric"])
def test_info_fields(name):
    cls, x, fixed, options = _setup(name)
    lam = 0.1
    res = cls.fit_ple(x, penalty=lam, m=30, rng=2, **fixed, **options)
    info = res.info
    assert info["penalty"] == lam and isinstance(info["penalty"], float)
    assert info["m"] == 30
    assert set(info["gap"]) == set(_free(cls, fixed))
    for value in info["gap"].values():
        assert np.shape(value) == (R,)
    assert np.shape(info["objective"]) == (R,)
    assert np.asarray(info["converged"]).all()
    # the reported objective is NLL/n + lam * L1 gap at the reported estimate
    np.testing.assert_allclose(info["objective"], _nll_per_obs(res, x) + lam * _l1_gap(res),
                               rtol=1e-10)


def test_reported_gap_at_the_mle_is_the_mle_bias():
    # info["gap"] is b_m(theta) - T(x). At lam = 0 (theta = the MLE T) for the
    # exponential rate, b_m(T) = T * mean_j n / Gamma_j(n), so gap / T has mean
    # n/(n-1) - 1 = 1/(n-1) (the MLE's relative bias) and sd
    # n / ((n-1) sqrt((n-2) m)) per data set (Var(1/G) = 1/((n-1)^2 (n-2))).
    # R = 200 data sets (seeds 21, 22): the mean has s.e. ~0.003 against
    # 1/(n-1) = 0.05; 4 s.e. (false alarm ~6e-5). The sample sd of 200 near-normal
    # values has relative s.e. 1/sqrt(400) = 0.05: 25% is 5 s.e.
    n, m, R = 21, 30, 200
    x = Exponential(rate=2.0).sample(n, rng=21, sample_shape=(R,))
    res = Exponential.fit_ple(x, penalty=0.0, m=m, rng=22)
    rel = np.asarray(res.info["gap"]["rate"]) / np.asarray(res.params.rate)
    se = rel.std(ddof=1) / np.sqrt(R)
    assert abs(rel.mean() - 1 / (n - 1)) < 4 * se
    assert rel.std(ddof=1) == pytest.approx(n / ((n - 1) * np.sqrt((n - 2) * m)), rel=0.25)


def test_single_data_set_gives_scalars():
    x = Exponential(rate=2.0).sample(15, rng=0)
    res = Exponential.fit_ple(x, penalty=0.1, m=30, rng=1)
    assert isinstance(res.params.rate, float)
    assert isinstance(res.info["objective"], float)
    assert isinstance(res.info["gap"]["rate"], float)


@pytest.mark.parametrize("penalty, exc, match", [
    (-0.1, ValueError, "`penalty`"),
    (np.nan, ValueError, "`penalty`"),
    (np.inf, ValueError, "`penalty`"),
    ("0.1", TypeError, "`penalty`"),
    (True, TypeError, "`penalty`"),
])
def test_bad_penalty_raises(penalty, exc, match):
    x = Exponential(rate=1.0).sample(10, rng=0)
    with pytest.raises(exc, match=match):
        Exponential.fit_ple(x, penalty=penalty, m=10, rng=0)
