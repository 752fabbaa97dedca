"""The deep ablation of the PLE penalty: its grid, its power plan, its analysis, resume, CLI."""

import csv
import json
import math

import numpy as np
import pytest
from scipy import stats

from ple_stats.experiments import _deep_ablation as da

pytest.importorskip("statsmodels")


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- the grid


def test_the_grid_is_the_control_the_baseline_and_one_factor_at_a_time_around_the_base():
    cells = da.ablation_grid()
    assert cells[0] == da.PLAIN_VAE and cells[1] == da.CONTROL
    penalty = [c for c in cells if c.penalty]
    assert [c.penalty for c in penalty[:4]] == [0.1, 1.0, 10.0, da.BIG_LAMBDA]
    assert all(c.m == 1 and not c.detach and c.form == "l1" for c in penalty[:4])
    # each other factor is changed alone at the large weight
    assert {(c.m, c.detach, c.form) for c in penalty[4:]} == {(4, False, "l1"),
                                                               (1, True, "l1"),
                                                               (1, False, "l2")}
    assert penalty[-1].penalty == da.BIG_LAMBDA_L2
    assert len({c.name for c in cells}) == len(cells) == 9
    assert [c.name for c in da.ablation_grid((2.0,), big=50.0, big_l2=7.0)] == [
        "vae", "lam0", "lam2-m1-l1", "lam50-m1-l1", "lam50-m4-l1", "lam50-m1-l1-detached",
        "lam7-m1-l2"]


@pytest.mark.parametrize("bad", [(0.0,), (-1.0,), (math.inf,)])
def test_the_grid_refuses_weights_that_are_not_positive(bad):
    with pytest.raises(ValueError, match="`lambdas` must be positive and finite"):
        da.ablation_grid(bad)


def test_the_grid_refuses_a_weight_that_repeats_a_cell():
    with pytest.raises(ValueError, match="must be distinct"):
        da.ablation_grid((1.0, 1.0))


# --------------------------------------------------------------------------- the seed plan


def test_power_of_the_paired_t_test_matches_a_simulation():
    # 20000 simulated paired experiments: the rejection rate has s.e. <= 0.0036, so a
    # tolerance of 0.015 (4 s.e.) fails by chance with probability < 1e-4
    rng = np.random.default_rng(3)
    n, effect, sd = 8, 0.9, 1.0
    d = rng.normal(effect, sd, size=(20000, n))
    p = stats.ttest_1samp(d, 0.0, axis=1).pvalue
    assert abs(np.mean(p < 0.05) - da.paired_t_power(n, effect, sd)) < 0.015


def test_seeds_needed_is_the_smallest_n_with_the_power_and_detectable_effect_inverts_it():
    assert da.seeds_needed(1.0, 1.0) == 10  # Cohen's d = 1, 5 %, 80 %: the textbook 10
    for effect, sd, k in [(10.0, 20.0, 7), (5.0, 8.0, 1), (3.0, 2.0, 3)]:
        n = da.seeds_needed(effect, sd, comparisons=k)
        assert da.paired_t_power(n, effect, sd, alpha=0.05 / k) >= 0.8
        assert n == 2 or da.paired_t_power(n - 1, effect, sd, alpha=0.05 / k) < 0.8
        # more comparisons need more seeds; the effect detectable with n seeds is <= effect
        assert da.seeds_needed(effect, sd, comparisons=k + 5) >= n
        mde = da.detectable_effect(n, sd, comparisons=k)
        assert mde <= effect
        assert da.paired_t_power(n, mde, sd, alpha=0.05 / k) == pytest.approx(0.8, abs=1e-6)
    with pytest.raises(ValueError, match="`sd` must be positive"):
        da.seeds_needed(1.0, 0.0)


# --------------------------------------------------------------------------- the analysis


def _synthetic(seed=0, n=12):
    rng = np.random.default_rng(seed)
    control = rng.normal(100.0, 10.0, n)
    shift = {"a": 0.0, "b": -8.0, "c": 3.0, "d": -20.0, "e": 1.0}
    noise = {k: rng.normal(0.0, 6.0, n) for k in shift}
    return {"lam0": control, **{k: control + v + noise[k] for k, v in shift.items()}}


def _holm(p, alpha):
    """Holm's step-down procedure, written out (adjusted p = running max of (k - i) p_(i))."""
    p = np.asarray(p)
    k = p.size
    order = np.argsort(p)
    adjusted = np.empty(k)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, (k - i) * p[j])
        adjusted[j] = min(1.0, running)
    return adjusted, adjusted <= alpha


def test_paired_comparisons_are_paired_t_tests_with_holm_over_the_family():
    from statsmodels.stats.multitest import multipletests

    outcomes = _synthetic()
    rows = da.paired_comparisons(outcomes, "lam0", ["a", "b", "c", "d", "e"])
    p = []
    for row in rows:
        ref = stats.ttest_rel(outcomes[row["cell"]], outcomes["lam0"])
        assert row["t"] == pytest.approx(ref.statistic, rel=1e-12)
        assert row["p"] == pytest.approx(ref.pvalue, rel=1e-10)
        d = outcomes[row["cell"]] - outcomes["lam0"]
        assert row["mean_diff"] == pytest.approx(d.mean())
        assert row["n"] == 12
        lo, hi = stats.t.interval(0.95, 11, loc=d.mean(), scale=stats.sem(d))
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
        lo, hi = stats.t.interval(1 - 0.05 / 5, 11, loc=d.mean(), scale=stats.sem(d))
        assert (row["sim_ci_low"], row["sim_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
        assert row["relative"] == pytest.approx(d.mean() / outcomes["lam0"].mean())
        assert row["dz"] == pytest.approx(d.mean() / d.std(ddof=1))
        p.append(row["p"])
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    mine, mine_reject = _holm(p, 0.05)
    np.testing.assert_allclose([r["p_holm"] for r in rows], adjusted, rtol=1e-12)
    np.testing.assert_allclose(adjusted, mine, rtol=1e-12)
    assert [r["reject"] for r in rows] == list(reject) == list(mine_reject)
    assert rows[3]["reject"] and not rows[0]["reject"]  # -20 (3.3 sd) found, 0 not


def test_the_family_of_the_correction_is_what_is_passed():
    outcomes = _synthetic(1)
    alone = da.paired_comparisons(outcomes, "lam0", ["b"])[0]
    assert alone["p_holm"] == pytest.approx(alone["p"])  # a family of one: no correction
    together = [r for r in da.paired_comparisons(outcomes, "lam0") if r["cell"] == "b"][0]
    assert together["p_holm"] >= together["p"]
    assert alone["sim_ci_high"] - alone["sim_ci_low"] < (together["sim_ci_high"]
                                                         - together["sim_ci_low"])


def test_the_confidence_interval_of_the_effect_covers_at_its_level():
    # 4000 synthetic experiments of 6 seeds: coverage s.e. 0.0034; tolerance 0.015 (4.4 s.e.).
    # The interval of paired_comparisons is that of _paired (checked above against scipy);
    # it is called directly because statsmodels' multipletests runs gc.collect() per call.
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(4000):
        out = da._paired(rng.normal(-4.0, 5.0, 6), 0.05, 1)
        hits += out["ci_low"] <= -4.0 <= out["ci_high"]
    assert abs(hits / 4000 - 0.95) < 0.015


def test_a_missing_seed_drops_its_pair_and_shapes_must_match():
    outcomes = _synthetic(2, n=6)
    outcomes["a"][2] = np.nan
    row = da.paired_comparisons(outcomes, "lam0", ["a"])[0]
    assert row["n"] == 5
    with pytest.raises(ValueError, match="must share the seeds"):
        da.paired_comparisons({"lam0": np.ones(3), "a": np.ones(4)}, "lam0")
    with pytest.raises(ValueError, match="at least one cell"):
        da.paired_comparisons({"lam0": np.ones(3)}, "lam0")


def test_the_primary_outcome_is_the_mean_fid_over_generations():
    fid = np.array([[10.0, 20.0, 60.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(da.primary_outcome(fid), [30.0, 2.0])


# --------------------------------------------------------------------------- the run

TINY = {"seeds": 2, "generations": 1, "lambdas": (), "n_images": 80, "steps": 2,
        "batch_size": 16, "n_generated": 40, "quick": True, "progress": False}


@pytest.fixture
def counted(monkeypatch):
    """Count the trainings (cell name, seed parts) actually run."""
    calls = []
    original = da._train_cell

    def train(cell, *args):
        calls.append((cell.name, tuple(args[3])))
        return original(cell, *args)

    monkeypatch.setattr(da, "_train_cell", train)
    return calls


def test_a_rerun_reuses_the_cache_and_more_seeds_train_only_the_new_ones(tmp_path, counted):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib").use("Agg")
    out = str(tmp_path / "abl")
    first = da.reproduce_deep_ablation(out, **TINY)
    # 6 cells (vae, λ = 0 and the four cells at the large weights), 2 seeds, 1 generation
    assert len(counted) == 6 * 2
    table = _rows(first["csv"])
    old = {(u["cell"], u["seed"]): u["fid"] for u in _rows(first["units_csv"])}
    counted.clear()
    again = da.reproduce_deep_ablation(out, **TINY)
    assert counted == []
    assert _rows(again["csv"]) == table
    more = da.reproduce_deep_ablation(out, **{**TINY, "seeds": 3})
    # only seed 2 is trained, and seeds 0 and 1 are read back unchanged
    assert sorted(counted) == sorted((c.name, (0, 19, 2, 1)) for c in da.ablation_grid(()))
    units = _rows(more["units_csv"])
    assert len(units) == 6 * 3
    assert all(old[(u["cell"], u["seed"])] == u["fid"] for u in units if u["seed"] != "2")


def test_the_fairness_part_trains_each_cell_on_the_same_subsample_and_resumes(tmp_path,
                                                                               counted):
    pytest.importorskip("torch")
    from ple_stats.experiments._deep_ablation_fairness import run_fairness_part
    from ple_stats.experiments._fairness import _cached_classifier, load_digit_images

    x, y = load_digit_images()
    keep = np.flatnonzero(np.isin(y, [3, 6]))[:60]
    x, y = x[keep], y[keep]
    clf_state, clf_info = _cached_classifier(str(tmp_path), x, y, 0, "cpu", True)
    cells = (da.PLAIN_VAE, da.CONTROL, da.AblationCell(1.0))
    kw = {"cells": cells, "seeds": 2, "ratio": 2, "x": x, "y": y,
          "train": dict(da._TRAIN, steps=30, batch_size=16), "n_generated": 200,
          "clf_state": clf_state, "clf_info": clf_info, "data_key": "t", "device": "cpu",
          "threads": 1, "n_jobs": 1, "seed": 0, "progress": False}
    ratio, units, outcome = run_fairness_part(str(tmp_path), **kw)
    assert ratio == 2 and len(counted) == 6 and len(units) == 6
    # every cell of a seed is trained on the same subsample of 3s and 6s (different seeds
    # draw different ones, with the same counts)
    assert len({(u["seed"], u["n_train"]) for u in units}) == 2
    assert {c for c, _ in counted} == {c.name for c in cells}
    assert len({parts for _, parts in counted}) == 2
    for c in cells:
        got = [u["r_fair"] for u in units if u["cell"] == c.name]
        np.testing.assert_array_equal(outcome[c.name], got)
    assert np.isfinite([u["r_fair"] for u in units]).sum() >= 4
    counted.clear()
    again = run_fairness_part(str(tmp_path), **kw)
    assert counted == []
    np.testing.assert_array_equal([u["r_fair"] for u in again[1]],
                                  [u["r_fair"] for u in units])


@pytest.mark.slow
def test_the_ablation_with_its_fairness_part_writes_both_analyses(tmp_path):
    # about 25 s on an idle CPU
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib").use("Agg")
    paths = da.reproduce_deep_ablation(str(tmp_path / "f"), **{
        **TINY, "n_images": 120, "fairness_ratio": 2, "steps": 40})
    rows = _rows(paths["fairness_csv"])
    assert [r["cell"] for r in rows] == [c.name for c in da.ablation_grid(())[2:]] + ["vae"]
    units = _rows(paths["fairness_units_csv"])
    r_fair = {(u["cell"], u["seed"]): float(u["r_fair"] or "nan") for u in units}
    for r in rows:
        d = np.array([r_fair[(r["cell"], s)] - r_fair[("lam0", s)] for s in ("0", "1")])
        d = d[np.isfinite(d)]
        assert int(r["n"]) == d.size
        if d.size:
            assert float(r["mean_diff"]) == pytest.approx(d.mean())
    assert "## Fairness: R_fair" in open(paths["markdown"]).read()
    meta = json.loads(open(paths["json"]).read())
    assert meta["fairness"]["ratio"] == 2


def test_the_same_seed_gives_every_cell_the_same_start(tmp_path, counted):
    # λ = 0 here equals "hyper-vae-mle" of the deep-MADness loop at the same seed parts
    pytest.importorskip("torch")
    from ple_stats.experiments._fairness import load_digit_images, train_and_sample

    x = load_digit_images()[0][:64]
    train = dict(da._TRAIN, steps=2, batch_size=16)
    a, _ = da._train_cell(da.CONTROL, x, 10, train, [0, 19, 0, 1], "cpu")
    b, _ = train_and_sample("hyper-vae-mle", x, 10, dict(train, m=1), [0, 19, 0, 1], "cpu")
    np.testing.assert_array_equal(a, b)
    c, _ = da._train_cell(da.PLAIN_VAE, x, 10, train, [0, 19, 0, 1], "cpu")
    d, _ = train_and_sample("vae", x, 10, dict(train, m=1), [0, 19, 0, 1], "cpu")
    np.testing.assert_array_equal(c, d)


@pytest.mark.slow
def test_the_quick_command_runs_end_to_end(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib").use("Agg")
    from ple_stats.cli import main

    out = tmp_path / "q"
    assert main(["reproduce", "deep-ablation", "--quick", "--out", str(out),
                 "--no-progress"]) == 0
    rows = _rows(out / "deep_ablation.csv")
    assert [r["cell"] for r in rows] == [c.name for c in da.ablation_grid()[2:]] + ["vae"]
    assert [r["family"] for r in rows] == ["grid"] * 7 + ["baseline"]
    meta = json.loads((out / "deep_ablation.json").read_text())
    assert meta["seeds"] == 2 and meta["generations"] == 2 and meta["quick"]
    assert meta["power"]["comparisons"] == 7
    for name in ("deep_ablation.png", "deep_ablation.pdf", "deep_ablation.md",
                 "deep_ablation_units.csv", "deep_ablation_curves.csv"):
        assert (out / name).stat().st_size > 0
    # every penalty cell reports the penalty's measured share of the loss
    assert all(0 < float(r["penalty_share_mean"]) < 1 for r in rows[:7])


@pytest.mark.parametrize("argv, message", [
    (["--runs", "1"], "`--runs` must be at least 2; got 1."),
    (["--lambdas", "0"], "`--lambdas` must be positive penalty weights; got 0."),
    (["--lambdas", "1", "1"], "`--lambdas` must not repeat; got 1 1."),
    (["--models", "vae"], "--models does not apply to `reproduce deep-ablation`"),
    (["--ratios", "2"], "--ratios does not apply to `reproduce deep-ablation`"),
    (["--fairness-ratio", "0.5"], "`--fairness-ratio` must be imbalance ratios >= 1"),
])
def test_the_command_refuses_bad_options(tmp_path, capsys, argv, message):
    from ple_stats.cli import main

    assert main(["reproduce", "deep-ablation", *argv, "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith(f"ple-stats: error: {message}")
    assert not (tmp_path / "x").exists()


def test_the_command_passes_its_options(tmp_path, monkeypatch):
    from ple_stats.cli import main

    seen = []

    def fake(out, **kw):
        seen.append((out, kw))
        return {}

    monkeypatch.setattr(da, "reproduce_deep_ablation", fake)
    monkeypatch.setattr("ple_stats.experiments.reproduce_deep_ablation", fake, raising=False)
    out = str(tmp_path / "o")
    assert main(["reproduce", "deep-ablation", "--runs", "20", "--generations", "4",
                 "--lambdas", "0.5", "2", "--steps", "100", "--device", "cpu", "--quick",
                 "--fairness-ratio", "10", "--n-jobs", "2", "--out", out]) == 0
    assert seen == [(out, {"seeds": 20, "generations": 4, "lambdas": (0.5, 2.0),
                           "fairness_ratio": 10.0, "steps": 100, "device": "cpu",
                           "quick": True, "n_jobs": 2})]
