"""``ple_stats.simulate`` and ``SimulationResult``: shapes, summaries, loop modes,
determinism across workers and backends, checkpoint/resume, files, plots, bad input.

The comparisons with the exact theory of recursive refitting live in
``test_theory.py``.
"""

import json
import math
import os

import numpy as np
import pytest

from ple_stats import (Exponential, Gaussian, Geometric, Laplace, SimulationResult, Uniform,
                       simulate)


@pytest.fixture
def plt():
    """matplotlib's pyplot for the plotting tests only (the rest runs without matplotlib)."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


UNIFORM = Uniform(low=0.0, high=1.0)


# ---------------------------------------------------------------------------- shapes


def test_trajectories_shape_truth_and_names():
    sim = simulate(Gaussian(mu=0.5, sigma=2.0), n=10, generations=7, runs=13, rng=0,
                   chunk_size=5, progress=False)
    assert sim.trajectories.shape == (13, 8, 2)
    assert sim.trajectories.dtype == np.float64
    assert sim.param_names == ("mu", "sigma")
    assert sim.runs == 13 and sim.generations == 7 and sim.n == 10
    assert np.all(sim.trajectories[:, 0] == [0.5, 2.0])
    assert sim.truth == {"mu": 0.5, "sigma": 2.0}
    assert sim.family == "Gaussian" and sim.estimator == "ple" and sim.mode == "replace"
    assert np.all(np.isfinite(sim.trajectories))
    # generations differ from each other and runs from each other
    assert np.unique(sim.trajectories[:, 1, 1]).size == 13
    assert not np.array_equal(sim.trajectories[:, 1], sim.trajectories[:, 2])


def test_generation_one_is_the_fit_to_data_from_the_truth():
    # Generation 1 is a fit to n draws from the truth: for the exponential MLE,
    # rate_1 = n / Gamma(n, rate), so E[rate_1] = n/(n-1) rate. 20000 runs,
    # seed 1, 4 s.e. (false alarm ~6e-5).
    n, runs = 10, 20_000
    sim = simulate(Exponential(rate=2.0), n=n, generations=1, runs=runs, estimator="mle",
                   rng=1, chunk_size=runs, progress=False)
    rate1 = sim.values("rate")[:, 1]
    se = rate1.std(ddof=1) / math.sqrt(runs)
    assert abs(rate1.mean() - 2.0 * n / (n - 1)) < 4 * se


def test_fixed_parameters_stay_fixed():
    sim = simulate(UNIFORM, n=10, generations=5, runs=20, fixed={"low": 0.0}, rng=0,
                   progress=False)
    assert np.all(sim.values("low") == 0.0)
    assert sim.fixed == ("low",)
    assert np.all(sim.values("high")[:, 1:] > 0)


def test_summaries_equal_numpy_on_the_trajectories():
    sim = simulate(Laplace(mu=1.0, b=2.0), n=9, generations=6, runs=50, rng=2, progress=False)
    b = sim.trajectories[..., 1]
    np.testing.assert_array_equal(sim.values("b"), b)
    np.testing.assert_allclose(sim.mean("b"), b.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(sim.standard_error("b"), b.std(axis=0, ddof=1) / np.sqrt(50),
                               rtol=1e-12)
    np.testing.assert_allclose(sim.median("b"), np.median(b, axis=0), rtol=1e-15)
    np.testing.assert_allclose(sim.mean_log("b"), np.log(b).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sim.standard_error_log("b"),
                               np.log(b).std(axis=0, ddof=1) / np.sqrt(50), rtol=1e-12)
    table = sim.summary("b")
    assert {"generation", "mean", "se", "median", "mean_log", "se_log", "theory_mean"} <= set(table)
    np.testing.assert_array_equal(table["generation"], np.arange(7))
    np.testing.assert_allclose(table["mean"], b.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(table["theory_mean"], sim.theory()["b"]["mean"])
    for key in table:
        assert len(table[key]) == 7


def test_mean_log_raises_for_non_positive_parameters():
    sim = simulate(Gaussian(mu=0.0, sigma=1.0), n=10, generations=3, runs=20, rng=0,
                   progress=False)
    assert np.any(sim.values("mu") <= 0)
    with pytest.raises(ValueError, match="`mu` takes non-positive values"):
        sim.mean_log("mu")
    with pytest.raises(ValueError, match="`mu` takes non-positive values"):
        sim.standard_error_log("mu")
    # the summary of mu leaves the log columns out instead of raising
    table = sim.summary("mu")
    assert "mean_log" not in table and "mean" in table


def test_unknown_parameter_name_raises():
    sim = simulate(UNIFORM, n=5, generations=1, runs=2, rng=0, progress=False)
    with pytest.raises(ValueError, match="`param` must be one of"):
        sim.mean("sigma")


def test_single_run_standard_error_is_zero():
    sim = simulate(UNIFORM, n=5, generations=2, runs=1, rng=0, progress=False)
    assert sim.trajectories.shape == (1, 3, 2)
    assert np.all(sim.standard_error("high") == 0)


def test_bootstrap_ple_estimator_runs_and_records_options():
    sim = simulate(Exponential(rate=1.0), n=10, generations=3, runs=8, estimator="ple",
                   fit_kwargs={"method": "bootstrap", "m": 20}, rng=0, progress=False)
    assert sim.options == {"method": "bootstrap", "m": 20}
    assert np.all(np.isfinite(sim.trajectories))
    # the bootstrap PLE consumes randomness: it differs from the analytic one on the
    # same seed after generation 1 starts from the same data
    analytic = simulate(Exponential(rate=1.0), n=10, generations=3, runs=8, estimator="ple",
                        rng=0, progress=False)
    assert not np.array_equal(sim.trajectories, analytic.trajectories)


# ---------------------------------------------------------------------------- loop modes
#
# Uniform(0, 1) with low fixed, MLE, n = 20, 20 generations, 4000 runs; 4 s.e. each.


def _uniform_mle(mode, fresh_fraction=0.0, rng=5, generations=20, runs=4000):
    return simulate(UNIFORM, n=20, generations=generations, runs=runs, estimator="mle",
                    fixed={"low": 0.0}, mode=mode, fresh_fraction=fresh_fraction, rng=rng,
                    chunk_size=runs, progress=False)


def test_accumulate_collapses_far_more_slowly_than_replace():
    replace = _uniform_mle("replace")
    accumulate = _uniform_mle("accumulate")
    assert accumulate.mode == "accumulate"
    # replace: E[high_20] = (n/(n+1))^20 = 0.377; accumulate keeps every past point,
    # and new points drawn from U(0, max(pool)) never exceed max(pool): the MLE
    # (the pool maximum) stays at its generation-1 value on every path.
    n, t = 20, 20
    h_rep = replace.values("high")[:, t]
    assert abs(h_rep.mean() - (n / (n + 1)) ** t) < 4 * h_rep.std(ddof=1) / math.sqrt(4000)
    h_acc = accumulate.values("high")
    assert h_acc[:, t].mean() > 0.9 > 0.5 > h_rep.mean()
    np.testing.assert_array_equal(h_acc[:, 1:], np.repeat(h_acc[:, 1:2], t, axis=1))
    assert abs(h_acc[:, t].mean() - n / (n + 1)) < 4 * h_acc[:, t].std(ddof=1) / math.sqrt(4000)


def test_accumulate_data_grow_with_the_generations():
    calls = []

    def recording_mle(x):
        calls.append(x.shape)
        return Uniform.fit_mle(x, low=0.0)

    simulate(UNIFORM, n=7, generations=4, runs=3, estimator=recording_mle, fixed={"low": 0.0},
             mode="accumulate", rng=0, chunk_size=3, progress=False)
    # the first call is the configuration probe on 2 data sets; then one per generation
    assert calls[1:] == [(3, 7), (3, 14), (3, 21), (3, 28)]


def test_fresh_with_all_real_data_keeps_every_generation_like_the_first():
    sim = _uniform_mle("fresh", fresh_fraction=1.0)
    high = sim.values("high")[:, 1:]
    n = 20
    se = high.std(axis=0, ddof=1) / math.sqrt(sim.runs)
    # every generation is the MLE on n fresh draws from the truth: E = n/(n+1)
    assert np.all(np.abs(high.mean(axis=0) - n / (n + 1)) < 4 * se)
    # ... independent of the previous generation (correlation s.e. 1/sqrt(4000) = 0.016)
    r = np.corrcoef(high[:, 0], high[:, -1])[0, 1]
    assert abs(r) < 4 / math.sqrt(sim.runs)


def test_fresh_with_no_real_data_is_the_replace_loop_in_distribution():
    # Different seeds, so this compares distributions, not identical draws: the
    # means must follow the replace loop's exact (n/(n+1))^t.
    sim = _uniform_mle("fresh", fresh_fraction=0.0, rng=17)
    high = sim.values("high")
    se = high.std(axis=0, ddof=1) / math.sqrt(sim.runs)
    expected = (20 / 21) ** np.arange(21)
    assert np.all(np.abs(high.mean(axis=0)[1:] - expected[1:]) < 4 * se[1:])


def test_fresh_fraction_in_between_sits_between():
    half = _uniform_mle("fresh", fresh_fraction=0.5, generations=20, runs=2000)
    replace = _uniform_mle("replace", generations=20, runs=2000)
    all_real = _uniform_mle("fresh", fresh_fraction=1.0, generations=20, runs=2000)
    assert replace.mean("high")[20] < half.mean("high")[20] < all_real.mean("high")[20]


# ---------------------------------------------------------------------------- determinism


def _det_kwargs(**kw):
    base = dict(n=10, generations=4, runs=45, estimator="ple",
                fit_kwargs={"method": "bootstrap", "m": 15}, rng=11, chunk_size=10,
                progress=False)
    base.update(kw)
    return base


GAUSS = Gaussian(mu=0.0, sigma=1.0)


def test_same_rng_identical_different_rng_different():
    a = simulate(GAUSS, **_det_kwargs())
    b = simulate(GAUSS, **_det_kwargs())
    c = simulate(GAUSS, **_det_kwargs(rng=np.random.SeedSequence(11)))
    d = simulate(GAUSS, **_det_kwargs(rng=12))
    assert np.array_equal(a.trajectories, b.trajectories)
    assert np.array_equal(a.trajectories, c.trajectories)
    assert not np.array_equal(a.trajectories, d.trajectories)


def test_generator_rng_is_consumed_not_reseeded():
    rng = np.random.default_rng(3)
    a = simulate(UNIFORM, n=5, generations=2, runs=4, rng=rng, progress=False)
    b = simulate(UNIFORM, n=5, generations=2, runs=4, rng=rng, progress=False)
    assert not np.array_equal(a.trajectories, b.trajectories)


def test_identical_across_n_jobs():
    a = simulate(GAUSS, **_det_kwargs(n_jobs=1))
    b = simulate(GAUSS, **_det_kwargs(n_jobs=2))
    assert np.array_equal(a.trajectories, b.trajectories)


def test_identical_on_the_dask_backend():
    distributed = pytest.importorskip("dask.distributed")
    a = simulate(GAUSS, **_det_kwargs())
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        b = simulate(GAUSS, backend="dask", **_det_kwargs())
    assert np.array_equal(a.trajectories, b.trajectories)


def test_dask_backend_without_a_client_raises():
    pytest.importorskip("dask.distributed")
    with pytest.raises(ValueError, match="needs a running dask.distributed Client"):
        simulate(GAUSS, backend="dask", **_det_kwargs())


# ---------------------------------------------------------------------------- checkpoints
#
# A module-level estimator (its qualified name is part of the checkpoint's key) that
# counts its calls and can be told to fail, to simulate an interruption.


class _Interrupted(Exception):
    pass


_COUNTER = {"calls": 0, "fail_after": None}


def _counting_mle(x):
    _COUNTER["calls"] += 1
    if _COUNTER["fail_after"] is not None and _COUNTER["calls"] > _COUNTER["fail_after"]:
        raise _Interrupted
    return Uniform.fit_mle(x, low=0.0)


@pytest.fixture
def counter():
    _COUNTER.update(calls=0, fail_after=None)
    yield _COUNTER
    _COUNTER.update(calls=0, fail_after=None)


CK_GEN, CK_CHUNKS, CK_CHUNK = 4, 5, 10


def _ck_run(checkpoint=None, **kw):
    args = dict(n=8, generations=CK_GEN, runs=CK_CHUNKS * CK_CHUNK, estimator=_counting_mle,
                fixed={"low": 0.0}, rng=2024, chunk_size=CK_CHUNK, checkpoint=checkpoint,
                progress=False)
    args.update(kw)
    return simulate(UNIFORM, **args)


def test_resume_after_interruption_is_identical_and_skips_finished_chunks(tmp_path, counter):
    reference = _ck_run()
    # one probe call (configuration check) + one call per generation per chunk
    assert counter["calls"] == 1 + CK_CHUNKS * CK_GEN
    # the counting callable is the MLE, which consumes no randomness: the same
    # trajectories as estimator="mle"
    mle = simulate(UNIFORM, n=8, generations=CK_GEN, runs=CK_CHUNKS * CK_CHUNK, estimator="mle",
                   fixed={"low": 0.0}, rng=2024, chunk_size=CK_CHUNK, progress=False)
    assert np.array_equal(reference.trajectories, mle.trajectories)

    ck = tmp_path / "ck"
    done = 2
    counter.update(calls=0, fail_after=1 + done * CK_GEN)  # fail in the third chunk
    with pytest.raises(_Interrupted):
        _ck_run(ck)
    saved = sorted(p.name for p in ck.glob("chunk_*.npz"))
    assert saved == [f"chunk_{i:06d}.npz" for i in range(done)]

    counter.update(calls=0, fail_after=None)
    resumed = _ck_run(ck)
    assert np.array_equal(resumed.trajectories, reference.trajectories)
    # only the unfinished chunks were recomputed
    assert counter["calls"] == 1 + (CK_CHUNKS - done) * CK_GEN
    assert len(list(ck.glob("chunk_*.npz"))) == CK_CHUNKS

    # a finished checkpoint is reused entirely ...
    counter.update(calls=0)
    again = _ck_run(ck)
    assert counter["calls"] == 1
    assert np.array_equal(again.trajectories, reference.trajectories)
    # ... and a deleted chunk file is recomputed alone, identically
    os.remove(ck / "chunk_000003.npz")
    counter.update(calls=0)
    repaired = _ck_run(ck)
    assert counter["calls"] == 1 + CK_GEN
    assert np.array_equal(repaired.trajectories, reference.trajectories)


def test_checkpoint_with_different_arguments_raises(tmp_path, counter):
    ck = tmp_path / "ck"
    _ck_run(ck)
    for change in ({"rng": 2025}, {"generations": CK_GEN + 1}, {"n": 9},
                   {"runs": CK_CHUNKS * CK_CHUNK + 1}, {"estimator": "mle"}):
        with pytest.raises(ValueError, match="holds a run with different arguments"):
            _ck_run(ck, **change)


def test_checkpoint_needs_a_reproducible_rng(tmp_path):
    with pytest.raises(ValueError, match="`checkpoint` needs a reproducible `rng`"):
        simulate(UNIFORM, n=5, generations=2, runs=4, rng=None, checkpoint=tmp_path / "a",
                 progress=False)
    with pytest.raises(ValueError, match="`checkpoint` needs an int seed or a SeedSequence"):
        simulate(UNIFORM, n=5, generations=2, runs=4, rng=np.random.default_rng(0),
                 checkpoint=tmp_path / "b", progress=False)


def test_checkpoint_with_seed_sequence_and_n_jobs(tmp_path):
    # A SeedSequence is stateful (spawn() advances it), so each call gets a fresh one.
    def kw():
        return _det_kwargs(rng=np.random.SeedSequence(5))

    a = simulate(GAUSS, checkpoint=tmp_path / "ck", n_jobs=2, **kw())
    b = simulate(GAUSS, checkpoint=tmp_path / "ck", **kw())
    c = simulate(GAUSS, **kw())
    assert np.array_equal(a.trajectories, c.trajectories)
    assert np.array_equal(b.trajectories, c.trajectories)


def test_resume_with_the_same_seed_sequence_object_does_not_mix_streams(tmp_path, counter):
    # Interrupt a checkpointed run seeded by a SeedSequence object, then restart with
    # the *same object* (as in a notebook re-run). spawn() has advanced it, so the
    # restart's chunk streams are not those of the saved chunks: the restart must
    # either reproduce the uninterrupted run or refuse (ValueError) -- never return
    # trajectories whose chunks come from two different sets of streams.
    reference = _ck_run(rng=np.random.SeedSequence(5))
    ck = tmp_path / "ck"
    seq = np.random.SeedSequence(5)
    counter.update(calls=0, fail_after=1 + 2 * CK_GEN)
    with pytest.raises(_Interrupted):
        _ck_run(ck, rng=seq)
    counter.update(calls=0, fail_after=None)
    try:
        resumed = _ck_run(ck, rng=seq)
    except ValueError:
        return
    assert np.array_equal(resumed.trajectories, reference.trajectories)


# ---------------------------------------------------------------------------- files and plots


def test_save_load_round_trip(tmp_path):
    sim = simulate(Gaussian(mu=0.0, sigma=1.0), n=10, generations=3, runs=7, estimator="ple",
                   fit_kwargs={"parametrization": "variance"}, rng=0, progress=False)
    path = tmp_path / "sim.npz"
    sim.save(path)
    back = SimulationResult.load(path)
    assert np.array_equal(back.trajectories, sim.trajectories)
    assert np.array_equal(back.diverged, sim.diverged)
    for field in ("param_names", "family", "truth", "n", "estimator", "fixed", "options",
                  "mode", "fresh_fraction"):
        assert getattr(back, field) == getattr(sim, field), field
    assert isinstance(back.param_names, tuple) and isinstance(back.fixed, tuple)
    # the theory of the loaded result is the same (it depends on the metadata)
    np.testing.assert_array_equal(back.theory()["sigma"]["mean"], sim.theory()["sigma"]["mean"])
    # also through a str path, and with a fixed parameter and a non-default mode
    sim2 = simulate(UNIFORM, n=5, generations=2, runs=3, fixed={"low": 0.0}, mode="fresh",
                    fresh_fraction=0.4, rng=1, progress=False)
    sim2.save(str(tmp_path / "b.npz"))
    back2 = SimulationResult.load(str(tmp_path / "b.npz"))
    assert back2.fixed == ("low",) and back2.mode == "fresh" and back2.fresh_fraction == 0.4
    assert np.array_equal(back2.trajectories, sim2.trajectories)


def _write_npz(path, version, with_diverged=True):
    meta = {"format_version": version, "param_names": ["p"], "family": "Geometric",
            "truth": {"p": 0.5}, "n": 3, "estimator": "mle", "fixed": [], "options": {},
            "mode": "replace", "fresh_fraction": 0.0}
    arrays = {"trajectories": np.full((2, 3, 1), 0.5), "metadata": np.array(json.dumps(meta))}
    if with_diverged:
        arrays["diverged"] = np.full(2, -1)
    np.savez(path, **arrays)


def test_load_rejects_an_unknown_format_version(tmp_path):
    path = tmp_path / "bad.npz"
    _write_npz(path, 999)
    with pytest.raises(ValueError, match="not a SimulationResult file of a known version"):
        SimulationResult.load(path)


def test_load_of_a_file_without_the_diverged_array(tmp_path):
    # Files written before ``diverged`` was added (same format_version 1, e.g. the
    # cached data of an earlier `ple-stats reproduce`) must load (no run diverged)
    # or be refused with a clear ValueError -- not crash with a KeyError.
    path = tmp_path / "old.npz"
    _write_npz(path, 1, with_diverged=False)
    try:
        sim = SimulationResult.load(path)
    except ValueError:
        return
    assert np.all(sim.diverged == -1) and sim.trajectories.shape == (2, 3, 1)


def test_plot_returns_axes_with_the_theory_overlaid(plt):
    import matplotlib.axes

    sim = simulate(UNIFORM, n=20, generations=10, runs=50, estimator="mle", fixed={"low": 0.0},
                   rng=0, progress=False)
    ax = sim.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    theory = (20 / 21) ** np.arange(11)
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
    assert any(y.shape == theory.shape and np.allclose(y, theory, rtol=1e-12) for y in ys)
    # the mean and median lines are there too
    assert any(np.allclose(y, sim.mean("high")) for y in ys)
    assert any(np.allclose(y, sim.median("high")) for y in ys)
    # log view: the exact E[log high_t] = -t/n
    ax_log = sim.plot("high", log=True)
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax_log.get_lines()]
    assert any(np.allclose(y, -np.arange(11) / 20, atol=1e-12) for y in ys)
    # theory=False leaves it out
    ax_off = sim.plot(theory=False)
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax_off.get_lines()]
    assert not any(np.allclose(y, theory, rtol=1e-12) for y in ys)


def test_plot_on_given_axes_without_theory_for_geometric(plt):
    fig, ax = plt.subplots()
    sim = simulate(Geometric(p=0.5), n=5, generations=3, runs=10, rng=0, progress=False)
    out = sim.plot("p", ax=ax, label="PLE", color="tab:blue")
    assert out is ax
    assert len(ax.get_lines()) == 2  # mean and median, no theory for Geometric


# ---------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"generations": 0}, ValueError, "`generations` must be at least 1"),
    ({"runs": 0}, ValueError, "`runs` must be at least 1"),
    ({"n": 0}, ValueError, "`n` must be at least 1"),
    ({"generations": 2.5}, TypeError, "`generations` must be an integer"),
    ({"mode": "recycle"}, ValueError, "`mode` must be one of"),
    ({"mode": "fresh", "fresh_fraction": 1.5}, ValueError,
     "`fresh_fraction` must be in \\[0, 1\\]"),
    ({"mode": "fresh", "fresh_fraction": -0.1}, ValueError, "`fresh_fraction` must be in"),
    ({"estimator": "map"}, ValueError, "`estimator` must be 'mle', 'ple' or a callable"),
    ({"n_jobs": 0}, ValueError, "`n_jobs` must be a positive integer or -1"),
    ({"n_jobs": -2}, ValueError, "`n_jobs` must be a positive integer or -1"),
    ({"backend": "ray"}, ValueError, "`backend` must be one of"),
    ({"fixed": {"lo": 0.0}}, TypeError, "`fixed` names an unknown parameter 'lo'"),
    ({"chunk_size": 0}, ValueError, "`chunk_size` must be at least 1"),
    ({"rng": "seed"}, TypeError, "`rng` must be None, an int"),
    ({"rng": -1}, ValueError, "`rng` must be a non-negative integer seed"),
    ({"estimator": "mle", "fit_kwargs": {"m": 10}}, TypeError, "apply to estimator='ple' only"),
    ({"fit_kwargs": {"rng": 0}}, TypeError, "must not contain 'rng'"),
])
def test_bad_arguments_raise(kwargs, exc, match):
    args = dict(n=5, generations=2, runs=3, fixed={"low": 0.0}, rng=0, progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        simulate(UNIFORM, **args)


def test_non_distribution_raises_type_error():
    from scipy import stats

    for obj in (stats.norm(0, 1), "Uniform", Uniform):
        with pytest.raises(TypeError, match="`dist` must be a ple_stats distribution"):
            simulate(obj, n=5, generations=1, runs=2, rng=0)


def test_batched_distribution_raises():
    with pytest.raises(ValueError, match="`dist` must have scalar parameters"):
        simulate(Uniform(low=[0.0, 0.0], high=[1.0, 2.0]), n=5, generations=1, runs=2, rng=0)


def test_invalid_configuration_fails_before_any_long_work():
    # an option the family does not have is caught on the probe fit, up front
    with pytest.raises(TypeError, match="parametrization"):
        simulate(Exponential(rate=1.0), n=5, generations=1000, runs=10**6, rng=0,
                 fit_kwargs={"parametrization": "sigma"})
    # too small n for the PLE
    with pytest.raises(ValueError, match="needs n >= 2"):
        simulate(Exponential(rate=1.0), n=1, generations=1000, runs=10**6, rng=0)
