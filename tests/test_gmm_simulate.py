"""simulate_gmm: recursive refitting of a Gaussian mixture."""

import warnings

import numpy as np
import pytest

from ple_stats import GMM
from ple_stats._gmm_simulate import simulate_gmm
from ple_stats._simulation_result import SimulationResult
from ple_stats._warnings import ConvergenceWarning, DegenerateDataWarning

TRUTH = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0])


def test_shapes_names_and_generation_zero():
    res = simulate_gmm(TRUTH, n=40, generations=4, runs=6, estimator="mle", rng=0)
    assert isinstance(res, SimulationResult)
    assert res.trajectories.shape == (6, 5, 6)
    assert res.param_names == ("weight_0", "weight_1", "mean_0", "mean_1", "sigma_0",
                               "sigma_1")
    assert res.runs == 6 and res.generations == 4 and res.n == 40
    assert res.family == "GMM" and res.estimator == "mle" and res.mode == "replace"
    assert res.truth == {"weights": [0.8, 0.2], "means": [0.0, 2.0], "sigmas": [1.0, 1.0]}
    np.testing.assert_array_equal(res.trajectories[:, 0],
                                  np.tile([0.8, 0.2, 0.0, 2.0, 1.0, 1.0], (6, 1)))
    w = res.trajectories[:, :, :2]
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    assert np.all(res.trajectories[:, :, 4:] > 0)
    assert np.all(np.diff(res.trajectories[:, 1:, 2:4], axis=-1) >= 0)  # ordered by mean
    assert res.theory() == {}  # no exact curves for the mixture
    assert set(res.summary("weight_1")) >= {"generation", "mean", "se", "median"}
    assert set(res.options["diagnostics"]) == {"em_not_converged", "floor_hit"}


def test_deterministic_and_first_generation_is_a_fit_to_the_truth():
    a = simulate_gmm(TRUTH, n=30, generations=3, runs=5, estimator="mle", rng=11)
    b = simulate_gmm(TRUTH, n=30, generations=3, runs=5, estimator="mle",
                     rng=np.random.default_rng(11))
    c = simulate_gmm(TRUTH, n=30, generations=3, runs=5, estimator="mle", rng=12)
    np.testing.assert_array_equal(a.trajectories, b.trajectories)
    assert not np.array_equal(a.trajectories, c.trajectories)
    # generation 1 = one batched EM on `runs` samples of the truth, same stream
    rng = np.random.default_rng(11)
    x = GMM(weights=np.tile([0.8, 0.2], (5, 1)), means=np.tile([0.0, 2.0], (5, 1)),
            sigmas=np.ones((5, 2))).sample(30, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateDataWarning)
        fit = GMM.fit_mle(x)
    np.testing.assert_array_equal(a.trajectories[:, 1], np.concatenate(fit.params, axis=-1))


def test_em_minority_weight_drifts_towards_one_half():
    # Measured (seed 0, 200 runs, n = 100, overlapping components 0.8/0.2): EM's
    # minority weight jumps to ~0.38 at the first fit (EM's own small-sample bias
    # towards 1/2 on overlapping components) and keeps drifting up (0.44 +- 0.02
    # at generation 10), while both sigmas shrink (sigma_0: 0.85 -> 0.65) and the
    # means move apart. Bounds: > 5 standard errors (s.e. ~0.018) from the truth
    # 0.2 and from 1/2 would be a changed behaviour, not noise.
    res = simulate_gmm(TRUTH, n=100, generations=10, runs=200, estimator="mle", rng=0)
    w1 = res.mean("weight_1")
    se = res.standard_error("weight_1")
    assert np.all(se[1:] < 0.025)
    assert w1[1] > 0.2 + 5 * se[1]
    assert w1[10] > w1[1] - 2 * np.hypot(se[1], se[10])  # no way back towards 0.2
    assert 0.35 < w1[10] < 0.5
    assert res.mean("sigma_0")[10] < 0.8 and res.mean("sigma_1")[10] < 0.9
    assert res.mean("mean_0")[10] < -0.2  # the components move apart


def test_ple_estimator_bootstrap():
    res = simulate_gmm(TRUTH, n=30, generations=2, runs=4, estimator="ple",
                       fit_kwargs={"m": 4, "n_iter": 2, "average": 1, "tol": 1e-6}, rng=3)
    assert res.estimator == "ple" and res.trajectories.shape == (4, 3, 6)
    assert res.options["m"] == 4 and "ple_not_solved" in res.options["diagnostics"]
    np.testing.assert_allclose(res.trajectories[:, :, :2].sum(-1), 1.0, atol=1e-12)
    again = simulate_gmm(TRUTH, n=30, generations=2, runs=4, estimator="ple",
                         fit_kwargs={"m": 4, "n_iter": 2, "average": 1, "tol": 1e-6}, rng=3)
    np.testing.assert_array_equal(res.trajectories, again.trajectories)


def test_ple_estimator_hypernetwork():
    pytest.importorskip("torch")
    res = simulate_gmm(TRUTH, n=30, generations=2, runs=3, estimator="ple",
                       fit_kwargs={"method": "hypernetwork", "epochs": 20}, rng=3)
    assert res.trajectories.shape == (3, 3, 6) and np.all(np.isfinite(res.trajectories))
    assert res.options["diagnostics"] == {}


def test_three_components_and_save_load(tmp_path):
    truth = GMM(weights=[0.5, 0.3, 0.2], means=[-3.0, 0.0, 3.0], sigmas=[1.0, 0.5, 1.0])
    res = simulate_gmm(truth, n=60, generations=2, runs=3, estimator="mle", rng=1,
                       fit_kwargs={"tol": 1e-6})
    assert res.trajectories.shape == (3, 3, 9) and res.param_names[-1] == "sigma_2"
    res.save(tmp_path / "sim.npz")
    back = SimulationResult.load(tmp_path / "sim.npz")
    np.testing.assert_array_equal(back.trajectories, res.trajectories)
    assert back.param_names == res.param_names and back.options == res.options


def test_bad_input():
    with pytest.raises(TypeError, match="`gmm` must be a GMM"):
        simulate_gmm("gmm", 10, 2, 2)
    batch = GMM(weights=[[0.5, 0.5]] * 2, means=[0.0, 1.0], sigmas=[1.0, 1.0])
    with pytest.raises(ValueError, match="`gmm` must be a single mixture"):
        simulate_gmm(batch, 10, 2, 2)
    with pytest.raises(ValueError, match="`n` must be"):
        simulate_gmm(TRUTH, 1, 2, 2)
    with pytest.raises(ValueError, match="`generations` must be"):
        simulate_gmm(TRUTH, 10, 0, 2)
    with pytest.raises(ValueError, match="`runs` must be"):
        simulate_gmm(TRUTH, 10, 2, 0)
    with pytest.raises(ValueError, match="`estimator` must be one of"):
        simulate_gmm(TRUTH, 10, 2, 2, estimator="em")
    with pytest.raises(ValueError, match="`fit_kwargs` must not set"):
        simulate_gmm(TRUTH, 10, 2, 2, fit_kwargs={"rng": 1}, estimator="mle")
    with pytest.raises(ValueError, match="applies to estimator='ple' only"):
        simulate_gmm(TRUTH, 10, 2, 2, fit_kwargs={"method": "hypernetwork"}, estimator="mle")
    with pytest.raises(TypeError, match="`fit_kwargs` must be a dict"):
        simulate_gmm(TRUTH, 10, 2, 2, fit_kwargs=[("tol", 1e-6)], estimator="mle")


# ---------------------------------------------------------------------- chunks, workers, store
PLE = dict(estimator="ple", fit_kwargs={"m": 4, "n_iter": 2, "average": 1})


def test_default_estimator_warns_of_its_change():
    with pytest.warns(FutureWarning, match="will change from 'mle' to 'ple'"):
        res = simulate_gmm(TRUTH, n=20, generations=1, runs=2, rng=0)
    assert res.estimator == "mle"


def test_one_chunk_is_the_one_stream_of_before():
    # Pinned before chunks existed (rng=3, estimator "mle"): chunk_size=None keeps the
    # numbers bit for bit; a chunk_size gives each chunk a child stream instead.
    res = simulate_gmm(TRUTH, n=30, generations=2, runs=3, estimator="mle", rng=3)
    np.testing.assert_allclose(res.trajectories[:, 2, 1],
                               [0.9370072211013504, 0.6428546036416813, 0.06466412586523806],
                               rtol=1e-9)
    again = simulate_gmm(TRUTH, n=30, generations=2, runs=3, estimator="mle", rng=3,
                         chunk_size=None, n_jobs=2)
    np.testing.assert_array_equal(res.trajectories, again.trajectories)
    chunked = simulate_gmm(TRUTH, n=30, generations=2, runs=3, estimator="mle", rng=3,
                           chunk_size=3)
    assert not np.array_equal(res.trajectories, chunked.trajectories)


@pytest.mark.parametrize("kw", [dict(estimator="mle"), PLE])
def test_chunks_are_deterministic_across_workers(kw):
    one = simulate_gmm(TRUTH, n=20, generations=2, runs=5, rng=7, chunk_size=2, n_jobs=1, **kw)
    two = simulate_gmm(TRUTH, n=20, generations=2, runs=5, rng=7, chunk_size=2, n_jobs=2, **kw)
    np.testing.assert_array_equal(one.trajectories, two.trajectories)
    np.testing.assert_array_equal(one.collapsed, two.collapsed)
    assert one.options == two.options and one.trajectories.shape == (5, 3, 6)
    assert np.isfinite(one.trajectories).all()


def test_checkpoint_resumes_after_a_chunk_is_deleted(tmp_path):
    kw = dict(n=20, generations=2, runs=5, estimator="mle", rng=4, chunk_size=2)
    first = simulate_gmm(TRUTH, checkpoint=tmp_path / "c", **kw)
    files = sorted((tmp_path / "c").glob("chunk_*.npz"))
    assert len(files) == 3
    files[1].unlink()
    again = simulate_gmm(TRUTH, checkpoint=tmp_path / "c", **kw)
    np.testing.assert_array_equal(first.trajectories, again.trajectories)
    assert first.options == again.options
    assert len(sorted((tmp_path / "c").glob("chunk_*.npz"))) == 3
    with pytest.raises(ValueError):  # other arguments: refused
        simulate_gmm(TRUTH, checkpoint=tmp_path / "c", **{**kw, "n": 21})
    # one chunk (the one stream) checkpoints too, with an int seed
    one = simulate_gmm(TRUTH, n=20, generations=2, runs=3, estimator="mle", rng=4,
                       checkpoint=tmp_path / "one")
    back = simulate_gmm(TRUTH, n=20, generations=2, runs=3, estimator="mle", rng=4,
                        checkpoint=tmp_path / "one")
    plain = simulate_gmm(TRUTH, n=20, generations=2, runs=3, estimator="mle", rng=4)
    np.testing.assert_array_equal(one.trajectories, back.trajectories)
    np.testing.assert_array_equal(one.trajectories, plain.trajectories)
    with pytest.raises(ValueError, match="needs an int seed"):
        simulate_gmm(TRUTH, n=20, generations=2, runs=3, estimator="mle",
                     rng=np.random.default_rng(4), checkpoint=tmp_path / "gen")
    with pytest.raises(ValueError, match="`chunk_size` must be"):
        simulate_gmm(TRUTH, n=20, generations=2, runs=3, estimator="mle", chunk_size=0)
