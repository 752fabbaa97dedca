"""The simulator's multivariate Gaussian paths: the analytic one (sufficient statistics and
Bartlett draws) pinned, and the data path (bootstrap / penalised PLE, callables) that draws
the synthetic data of every generation and fits them with the family's own data-driven PLE.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from ple_stats import DegenerateDataError, MultivariateGaussian as MVN, PLEWarning, simulate

# --------------------------------------------------------------------------- analytic path pinned
# Pinned before the data path was added (sum of all trajectories, and run 17's last value of
# cov[0,0], as exact hex floats): the analytic path's seeded output must not change.
PIN_TRUTH = dict(mean=[0.5, -1.0], cov=[[1.0, 0.3], [0.3, 0.5]])
PINNED = [
    ('mle', 'replace', False, '0x1.4d1efc161c193p+6', '-0x1.e74fa7cd533d0p-8'),
    ('mle', 'replace', True, '0x1.9452a480efbb2p+7', '-0x1.165bf0f7af1f3p-6'),
    ('mle', 'accumulate', False, '0x1.56546a0224f16p+7', '-0x1.f076f231fff5ap-6'),
    ('mle', 'accumulate', True, '0x1.de1f65575c985p+7', '-0x1.55178854c445cp-5'),
    ('mle', 'fresh', False, '0x1.6c9dd0baca130p+7', '-0x1.564549d062a31p-5'),
    ('mle', 'fresh', True, '0x1.e17eeaeba411ep+7', '0x1.09065521f99dep-2'),
    ('ple', 'replace', False, '0x1.a472a101bc777p+7', '-0x1.d0bc73234c366p-6'),
    ('ple', 'replace', True, '0x1.9452a480efbb2p+7', '-0x1.165bf0f7af1f3p-6'),
    ('ple', 'accumulate', False, '0x1.befb8998d787ap+7', '-0x1.4331d5106449ep-5'),
    ('ple', 'accumulate', True, '0x1.de1f65575c985p+7', '-0x1.55178854c445cp-5'),
    ('ple', 'fresh', False, '0x1.2f8e8b8ea6900p+8', '-0x1.0e2dd5c70b2c8p-5'),
    ('ple', 'fresh', True, '0x1.e17eeaeba411ep+7', '0x1.09065521f99dep-2'),
]


@pytest.mark.parametrize("estimator, mode, mean_fixed, total, value", PINNED)
def test_analytic_path_seeded_output_is_unchanged(estimator, mode, mean_fixed, total, value):
    fixed = {"mean": [0.5, -1.0]} if mean_fixed else None
    sim = simulate(MVN(**PIN_TRUTH), n=5, generations=6, runs=30, estimator=estimator,
                   mode=mode, fresh_fraction=0.4, fixed=fixed, rng=11, chunk_size=10,
                   progress=False)
    assert float(sim.trajectories.sum()).hex() == total
    assert float(sim.trajectories[17, -1, 3]).hex() == value


# --------------------------------------------------------------------------- the data path
# The bootstrap and penalised PLE and a callable estimator need the data themselves: every
# generation draws n points of dimension d per run and fits all runs in one batched call of
# the family's fit_ple (or the callable).
TRUTH = MVN(**PIN_TRUTH)
BOOT = {"method": "bootstrap", "m": 20}
NAMES = ("mean[0]", "mean[1]", "cov[0,0]", "cov[0,1]", "cov[1,1]")


class _Interrupted(Exception):
    pass


def _fit_ple_analytic(x):
    """A module-level callable estimator (the analytic PLE, drawing no randomness)."""
    return MVN.fit_ple(x)


@pytest.mark.parametrize("mode", ["replace", "accumulate", "fresh"])
@pytest.mark.parametrize("fit_kwargs, mean_fixed", [(BOOT, False), (BOOT, True)])
def test_bootstrap_path_shapes_names_and_options(mode, fit_kwargs, mean_fixed):
    fixed = {"mean": [0.5, -1.0]} if mean_fixed else None
    sim = simulate(TRUTH, n=6, generations=3, runs=7, mode=mode, fresh_fraction=0.5,
                   fixed=fixed, fit_kwargs=fit_kwargs, rng=0, chunk_size=4, progress=False)
    assert sim.trajectories.shape == (7, 4, 5)
    assert sim.param_names == NAMES
    assert sim.estimator == "ple" and sim.options == {"method": "bootstrap", "m": 20,
                                                      **({"mean_fixed_at_truth": True}
                                                         if mean_fixed else {})}
    assert sim.mode == mode and sim.dim == 2
    np.testing.assert_array_equal(sim.trajectories[:, 0], np.broadcast_to(
        MVN._flatten(*TRUTH.params), (7, 5)))
    assert np.all(np.isfinite(sim.trajectories))
    assert np.all(sim.diverged == -1) and np.all(sim.collapsed == -1)
    assert np.all(np.linalg.eigvalsh(sim.covariances()) > 0)
    if mean_fixed:
        assert np.all(sim.means() == [0.5, -1.0])
    # every generation is a new fit
    assert np.all(np.diff(sim.trajectories[..., 2], axis=1) != 0)
    # no exact curves for the data-driven PLE (its bias compounds; see theory())
    assert sim.theory() == {}
    assert "theory_trace_ratio" not in sim.collapse_summary()


def test_bootstrap_path_fits_the_drawn_data_with_the_familys_bootstrap_ple():
    # Generation 1 is the family's bootstrap fit_ple of n points drawn from the truth with
    # the chunk's stream: rebuild it by hand from the same stream.
    sim = simulate(TRUTH, n=6, generations=1, runs=5, fit_kwargs=BOOT, rng=3, progress=False)
    from ple_stats._simulate import _child_seeds

    rng = np.random.default_rng(_child_seeds(3, 1, False)[0])
    x = TRUTH.sample(6, rng, sample_shape=(5,))
    res = MVN.fit_ple(x, rng=rng, **BOOT)
    np.testing.assert_array_equal(sim.trajectories[:, 1], MVN._flatten(*res.params))


def test_accumulate_fits_the_pooled_data():
    # Under accumulate generation t fits n t points: with a callable that records the data
    # sizes it is handed (after the probe on n points).
    sizes = []

    def recording(x):
        sizes.append(x.shape)
        return MVN.fit_ple(x)

    simulate(TRUTH, n=4, generations=3, runs=5, estimator=recording, mode="accumulate",
             rng=0, progress=False)
    assert sizes == [(2, 4, 2), (5, 4, 2), (5, 8, 2), (5, 12, 2)]


def test_callable_estimator_runs_and_matches_the_analytic_fit_of_drawn_data():
    sim = simulate(TRUTH, n=6, generations=3, runs=5, estimator=_fit_ple_analytic, rng=0,
                   progress=False)
    assert sim.estimator == "_fit_ple_analytic" and sim.trajectories.shape == (5, 4, 5)
    assert sim.theory() == {}
    from ple_stats._simulate import _child_seeds

    rng = np.random.default_rng(_child_seeds(0, 1, False)[0])
    x = TRUTH.sample(6, rng, sample_shape=(5,))
    np.testing.assert_array_equal(sim.trajectories[:, 1],
                                  MVN._flatten(*MVN.fit_ple(x).params))


def test_penalised_path_runs():
    # d = 1 keeps the simplex search (k = 2 unknowns) fast.
    truth = MVN(mean=[0.0], cov=[[2.0]])
    sim = simulate(truth, n=5, generations=2, runs=3, fit_kwargs={"penalty": 0.1, "m": 10},
                   rng=0, progress=False)
    assert sim.trajectories.shape == (3, 3, 2) and sim.param_names == ("mean[0]", "cov[0,0]")
    assert sim.options == {"penalty": 0.1, "m": 10} and sim.theory() == {}
    assert np.all(sim.trajectories[:, 1:, 1] > 0)
    # penalty 0 is the MLE of the same drawn data (the penalty draws no data of its own
    # in the objective; its base draws come after the data in the stream)
    zero = simulate(truth, n=5, generations=1, runs=3, fit_kwargs={"penalty": 0.0, "m": 10},
                    rng=0, progress=False)
    mle = simulate(truth, n=5, generations=1, runs=3, estimator=lambda x: MVN.fit_mle(x),
                   rng=0, progress=False)
    np.testing.assert_allclose(zero.trajectories, mle.trajectories, rtol=1e-6, atol=1e-8)


def test_bootstrap_mean_trajectory_agrees_with_the_analytic_path():
    # Both loops at the same truth, n = 8, 4 generations, 600 runs each, independent seeds
    # (6 for the bootstrap, 5 for the analytic loop). The mean's expectation is the same in
    # both (the bootstrap root keeps E[mean_t | past] = x_bar). The bootstrap covariance is
    # C (A^T A)^{-1} C^T (C = chol of the MLE, A = chol of the pooled base scatter), whose
    # expectation exceeds the analytic S's by O((d + 1) / (m (n - 1))) per generation: with
    # m = 100, by 0.29% (cov[0,0]) to at most 0.53% at generation 1 (Bartlett moments),
    # at most ~2.2% by generation 4, where the combined standard error of a diagonal entry
    # is ~6% relative (2.8% at generation 1, where the bias is <= 0.53%): at most 0.35
    # standard errors. Tolerance: 5 combined standard errors for each of the 5 parameters
    # x 4 generations, a margin of >= 4.65 beyond that bias: by the central limit theorem
    # the false-alarm rate is below 20 * 3.3e-6 ~ 7e-5. (With the MLE in place of the PLE,
    # (7/8)^t of the variance, the diagonal entries lie 5.4 and 6.3 standard errors off at
    # generation 3: the test has the power to see a wrong estimator.)
    n, m, generations, runs = 8, 100, 4, 600
    boot = simulate(TRUTH, n=n, generations=generations, runs=runs,
                    fit_kwargs={"method": "bootstrap", "m": m}, rng=6, progress=False)
    exact = simulate(TRUTH, n=n, generations=generations, runs=runs, rng=5, progress=False)
    for j, name in enumerate(NAMES):
        b, a = boot.trajectories[:, :, j], exact.trajectories[:, :, j]
        se = np.hypot(b.std(axis=0, ddof=1), a.std(axis=0, ddof=1)) / np.sqrt(runs)
        z = (b.mean(axis=0) - a.mean(axis=0))[1:] / se[1:]
        assert np.all(np.abs(z) < 5), (name, z)


def test_bootstrap_path_is_identical_for_any_n_jobs():
    kw = dict(n=6, generations=3, runs=12, mode="accumulate", fit_kwargs=BOOT, rng=4,
              chunk_size=4, progress=False)
    a = simulate(TRUTH, **kw)
    b = simulate(TRUTH, **kw, n_jobs=2)
    np.testing.assert_array_equal(a.trajectories, b.trajectories)
    assert not np.array_equal(a.trajectories, simulate(TRUTH, **{**kw, "rng": 5}).trajectories)


def test_bootstrap_path_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    # Interrupt a checkpointed bootstrap run in its third chunk (fit_ple raising, as a
    # KeyboardInterrupt would), restart: the finished chunks are reused, the rest computed,
    # and the result is that of the uninterrupted run; a different fit_kwargs is refused.
    kw = dict(n=6, generations=3, runs=20, fit_kwargs=BOOT, rng=9, chunk_size=4,
              progress=False)
    reference = simulate(TRUTH, **kw)
    original = MVN.fit_ple
    calls = {"n": 0, "fail_after": 1 + 2 * 3}  # the probe, then 3 generations per chunk

    def counting(cls, x, *args, **kwargs):
        calls["n"] += 1
        if calls["fail_after"] is not None and calls["n"] > calls["fail_after"]:
            raise _Interrupted
        return original(x, *args, **kwargs)

    monkeypatch.setattr(MVN, "fit_ple", classmethod(counting))
    ck = tmp_path / "ck"
    with pytest.raises(_Interrupted):
        simulate(TRUTH, **kw, checkpoint=ck)
    assert sorted(p.name for p in ck.glob("chunk_*.npz")) == ["chunk_000000.npz",
                                                               "chunk_000001.npz"]
    calls.update(n=0, fail_after=None)
    resumed = simulate(TRUTH, **kw, checkpoint=ck)
    assert calls["n"] == 1 + 3 * 3  # only the three unfinished chunks
    np.testing.assert_array_equal(resumed.trajectories, reference.trajectories)
    with pytest.raises(ValueError, match="holds a run with different arguments"):
        simulate(TRUTH, **{**kw, "fit_kwargs": {"method": "bootstrap", "m": 21}},
                 checkpoint=ck)


def _gaussian_fit(x):
    from ple_stats import Gaussian

    return Gaussian.fit_mle(x[..., 0])


def _wrong_shape(x):
    res = MVN.fit_ple(x)
    return SimpleNamespace(params=MVN.Params(res.params.mean, res.params.cov[..., :1, :1]))


def _not_positive_definite(x):
    res = MVN.fit_ple(x)
    return SimpleNamespace(params=MVN.Params(res.params.mean, -res.params.cov))


def _nan_mean(x):
    res = MVN.fit_ple(x)
    return SimpleNamespace(params=MVN.Params(res.params.mean * np.nan, res.params.cov))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"fit_kwargs": {"method": "bootstrap", "m": 1}}, ValueError, "`m` must be"),
    ({"fit_kwargs": {"method": "jackknife"}}, ValueError, "`method` must be"),
    ({"fit_kwargs": {"penalty": -1.0}}, ValueError, "`penalty` must be"),
    ({"fit_kwargs": {"penalty": "big"}}, TypeError, "`penalty` must be"),
    ({"fit_kwargs": {"method": "bootstrap", "rng": 0}}, TypeError, "must not contain 'rng'"),
    ({"fit_kwargs": {"parametrization": "sigma"}}, TypeError,
     r"\['parametrization'\] do not apply"),
    ({"fit_kwargs": {"m": 20}}, TypeError, r"\['m'\] do not apply to the analytic PLE"),
    ({"estimator": "mle", "fit_kwargs": BOOT}, TypeError, "estimator='ple' only"),
    ({"fit_kwargs": BOOT, "n": 2}, ValueError, "needs n >= 3"),
    ({"fit_kwargs": BOOT, "fixed": {"mean": [0.0, 0.0, 0.0]}}, ValueError, "event shape"),
    ({"fit_kwargs": BOOT, "fixed": {"cov": np.eye(2)}}, TypeError, "only 'mean'"),
    ({"estimator": _gaussian_fit}, TypeError, "returned a fit of Gaussian"),
    ({"estimator": _wrong_shape}, ValueError, "returned `cov` of shape"),
    ({"estimator": _not_positive_definite}, ValueError, "invalid `cov`"),
    ({"estimator": _nan_mean}, ValueError, "invalid `mean`.*finite"),
])
def test_bad_input_of_the_data_path_names_the_argument(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate(TRUTH, **{"n": 6, "generations": 2, "runs": 2, "progress": False, **kwargs})


def _refuses_a_large_first_point(x):
    """Refuses (as degenerate) any data set whose first point's first coordinate is > 1.6."""
    if (x[:, 0, 0] > 1.6).any():
        raise DegenerateDataError("a data set this estimator refuses")
    return MVN.fit_ple(x)


def test_a_run_whose_data_are_refused_is_frozen_and_recorded():
    with pytest.warns(PLEWarning, match=r"runs collapsed: their data became degenerate"):
        sim = simulate(TRUTH, n=6, generations=4, runs=30, estimator=_refuses_a_large_first_point,
                       rng=1, progress=False)
    gone = np.flatnonzero(sim.collapsed >= 0)
    assert 0 < gone.size < 30 and np.all(sim.diverged == -1)
    for r in gone:
        t = sim.collapsed[r]
        assert np.all(sim.trajectories[r, t:] == sim.trajectories[r, t - 1])
    assert np.all(np.isfinite(sim.trajectories))
