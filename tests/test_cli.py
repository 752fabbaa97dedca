"""The ``ple-stats`` command line: ``reproduce madness|gaussian-std`` and ``demo``."""

import csv
import json
import math

import numpy as np
import pytest

import ple_stats
from ple_stats import SimulationResult, Uniform
from ple_stats.cli import main

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

QUICK_GENERATIONS, QUICK_RUNS = 15, 50  # what --quick means (see reproduce_madness)
FAMILIES = ("Uniform", "Gaussian", "Laplace", "Geometric", "Exponential", "Pareto")


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _forbid_simulation(monkeypatch):
    """Make any new simulation fail, to prove that a rerun uses the cached data."""

    def boom(*args, **kwargs):
        raise AssertionError("simulate() was called: the cached data were not reused")

    monkeypatch.setattr("ple_stats.experiments._madness.simulate", boom)


@pytest.mark.slow
def test_reproduce_madness_quick_writes_everything_and_reuses_its_cache(tmp_path, capsys,
                                                                         monkeypatch):
    out = tmp_path / "madness"
    argv = ["reproduce", "madness", "--quick", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    for name in ("madness.png", "madness.pdf", "madness_log.png", "madness_log.pdf",
                 "madness.csv", "madness.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert f"wrote {out / 'madness.csv'}" in printed

    rows = _rows(out / "madness.csv")
    # six families x two estimators x (generations + 1) rows
    assert len(rows) == len(FAMILIES) * 2 * (QUICK_GENERATIONS + 1)
    pairs = {(r["family"], r["estimator"]) for r in rows}
    assert pairs == {(f, e) for f in FAMILIES for e in ("mle", "ple")}
    for family, estimator in pairs:
        gens = [int(r["generation"]) for r in rows
                if r["family"] == family and r["estimator"] == estimator]
        assert gens == list(range(QUICK_GENERATIONS + 1))
    # the CSV holds the summary of the cached simulation data
    # cache files are named after the family, the estimator and a digest of all settings
    (cached,) = (out / "data").glob("Uniform-mle-*.npz")
    sim = SimulationResult.load(cached)
    assert sim.runs == QUICK_RUNS and sim.generations == QUICK_GENERATIONS and sim.n == 20
    uniform_mle = [r for r in rows if r["family"] == "Uniform" and r["estimator"] == "mle"]
    np.testing.assert_allclose([float(r["mean"]) for r in uniform_mle], sim.mean("high"),
                               rtol=1e-12)
    # ... with the exact curve where it is known: (n/(n+1))^t
    np.testing.assert_allclose([float(r["theory_mean"]) for r in uniform_mle],
                               (20 / 21) ** np.arange(QUICK_GENERATIONS + 1), rtol=1e-12)

    settings = json.loads((out / "madness.json").read_text())
    assert settings["generations"] == QUICK_GENERATIONS and settings["seed"] == 0
    panels = {p["family"]: p for p in settings["panels"]}
    assert set(panels) == set(FAMILIES)
    assert panels["Uniform"]["n"] == 20 and panels["Uniform"]["fixed"] == {"low": 0.0}
    assert panels["Pareto"]["fixed"] == {"xm": 1.0} and panels["Pareto"]["n"] == 25
    assert panels["Gaussian"]["ple"] == {"method": "bootstrap", "m": 20}  # quick: m = 20
    assert all(p["runs"] == QUICK_RUNS for p in panels.values())

    # Rerun: the simulations are cached under out/data and must not be recomputed.
    before = (out / "madness.csv").read_text()
    _forbid_simulation(monkeypatch)
    assert main(argv) == 0
    assert (out / "madness.csv").read_text() == before


def test_reproduce_gaussian_std_quick_writes_everything_and_reuses_its_cache(
        tmp_path, capsys, monkeypatch):
    out = tmp_path / "gstd"
    argv = ["reproduce", "gaussian-std", "--quick", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    for name in ("gaussian_std.png", "gaussian_std.pdf", "gaussian_std.csv",
                 "gaussian_std.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert "wrote" in capsys.readouterr().out

    rows = _rows(out / "gaussian_std.csv")
    assert len(rows) == 3 * (QUICK_GENERATIONS + 1)
    assert {r["estimator"] for r in rows} == {"mle", "ple", "ple-sigma"}
    assert {r["param"] for r in rows} == {"sigma"}
    # the exact E[sigma_t] curves, written out: per generation the MLE
    # multiplies by E sqrt(chi2_{n-1}/n), the variance PLE by c4(n), the sigma PLE by 1
    n = 20
    e_chi = math.sqrt(2.0) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))
    factor = {"mle": e_chi / math.sqrt(n), "ple": e_chi / math.sqrt(n - 1), "ple-sigma": 1.0}
    t = np.arange(QUICK_GENERATIONS + 1)
    for estimator, f in factor.items():
        theory = [float(r["theory_mean"]) for r in rows if r["estimator"] == estimator]
        np.testing.assert_allclose(theory, f**t, rtol=1e-12)

    settings = json.loads((out / "gaussian_std.json").read_text())
    assert settings["n"] == 20 and settings["runs"] == QUICK_RUNS
    assert settings["generations"] == QUICK_GENERATIONS and settings["seed"] == 0

    before = (out / "gaussian_std.csv").read_text()
    _forbid_simulation(monkeypatch)
    assert main(argv) == 0
    assert (out / "gaussian_std.csv").read_text() == before


def test_changing_the_seed_does_not_reuse_stale_cached_data(tmp_path):
    # The cache under out/data must be keyed by everything that determines the
    # simulation. A rerun into the same directory with another --seed must not
    # silently reuse the old seed's trajectories (while madness.json / gaussian_std.json
    # record the new seed).
    out = tmp_path / "gstd"
    base = ["reproduce", "gaussian-std", "--quick", "--out", str(out), "--no-progress"]
    assert main(base + ["--seed", "0"]) == 0
    (old,) = (out / "data").glob("Gaussian-mle-*.npz")
    first = SimulationResult.load(old).trajectories
    assert main(base + ["--seed", "1"]) == 0
    (new,) = set((out / "data").glob("Gaussian-mle-*.npz")) - {old}
    second = SimulationResult.load(new).trajectories
    assert json.loads((out / "gaussian_std.json").read_text())["seed"] == 1
    assert not np.array_equal(first, second)


def test_demo_prints_a_table(capsys):
    assert main(["demo", "--reps", "200"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert "averaged over 200 data sets" in lines[0]
    assert lines[1].split() == ["family", "param", "truth", "mean", "MLE", "mean", "PLE", "s.e."]
    rows = [line.split() for line in lines[2:]]
    # one row per free parameter of the six families
    assert [r[:2] for r in rows] == [
        ["Uniform", "high"], ["Gaussian", "mu"], ["Gaussian", "sigma"], ["Laplace", "mu"],
        ["Laplace", "b"], ["Geometric", "p"], ["Exponential", "rate"], ["Pareto", "b"]]
    for r in rows:
        assert len(r) == 6
        values = [float(v) for v in r[2:]]
        assert all(np.isfinite(values)) and values[3] > 0
    # the Uniform row is what it says: the mean over 200 data sets of n = 10 (seed 0)
    # of the MLE max(x) and of the PLE (n+1)/n max(x)
    x = Uniform(low=0.0, high=1.0).sample(10, rng=0, sample_shape=(200,))
    truth, mean_mle, mean_ple, _ = (float(v) for v in rows[0][2:])
    assert truth == 1.0
    assert mean_mle == pytest.approx(x.max(axis=-1).mean(), abs=5e-5)
    assert mean_ple == pytest.approx(11 / 10 * x.max(axis=-1).mean(), abs=5e-5)


def test_demo_is_deterministic_and_honours_its_options(capsys):
    assert main(["demo", "--reps", "50", "--n", "8", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--reps", "50", "--n", "8", "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    assert "n = 8, averaged over 50 data sets (seed 3)" in first
    assert main(["demo", "--reps", "50", "--n", "8", "--seed", "4"]) == 0
    assert capsys.readouterr().out != first


def test_bad_values_give_exit_code_2_with_a_message(tmp_path, capsys):
    rc = main(["reproduce", "gaussian-std", "--quick", "--runs", "0", "--out",
               str(tmp_path / "x"), "--no-progress"])
    assert rc == 2
    assert "ple-stats: error: `runs` must be at least 1" in capsys.readouterr().err


def test_models_option_is_refused_where_it_does_not_apply(tmp_path, capsys):
    rc = main(["reproduce", "madness", "--quick", "--models", "vae", "--out",
               str(tmp_path / "x"), "--no-progress"])
    assert rc == 2
    assert "--models applies to `reproduce fairness`" in capsys.readouterr().err


def test_unknown_experiment_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["reproduce", "figure-9"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_does_not_need_matplotlib_to_import():
    # `import ple_stats` (and its CLI module) must not import matplotlib; checked in a
    # fresh interpreter so the rest of this session's imports do not interfere.
    import subprocess
    import sys

    code = ("import sys, ple_stats, ple_stats.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert ple_stats.cli.main is main
