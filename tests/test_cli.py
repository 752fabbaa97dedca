"""The ``ple-stats`` command line: ``reproduce madness|gaussian-std`` and ``demo``."""

import csv
import json
import math

import numpy as np
import pytest

import ple_stats
from ple_stats import SimulationResult, Uniform
from ple_stats.cli import main

try:  # the reproductions write figures; the usage errors and the demo do not
    import matplotlib  # noqa: F401
    HAS_MATPLOTLIB = True
except ImportError:
    HAS_MATPLOTLIB = False
needs_matplotlib = pytest.mark.skipif(not HAS_MATPLOTLIB, reason="writes figures: needs matplotlib")

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


@needs_matplotlib
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


@needs_matplotlib
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


@needs_matplotlib
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
    assert capsys.readouterr().err == "ple-stats: error: `--runs` must be at least 1; got 0.\n"


REPRODUCTIONS = {"madness": "reproduce_madness", "gaussian-std": "reproduce_gaussian_std",
                 "gmm": "reproduce_gmm", "fairness": "reproduce_fairness",
                 "deep-madness": "reproduce_deep_madness"}


@pytest.fixture
def calls(monkeypatch):
    """Replace every reproduction by a recorder: ``calls`` lists (name, out, kwargs)."""
    record = []
    for name, function in REPRODUCTIONS.items():
        def fake(out, _name=name, **kwargs):
            record.append((_name, out, kwargs))
            return {}
        monkeypatch.setattr(f"ple_stats.experiments.{function}", fake)
    return record


@pytest.mark.parametrize("where", ["file", "under a file"])
@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_out_that_cannot_be_a_directory_is_a_usage_error(tmp_path, capsys, calls, name, where):
    # Before: a Python traceback (exit code 1), for some reproductions after minutes of work.
    somefile = tmp_path / "somefile"
    somefile.write_text("not a directory")
    out = somefile if where == "file" else somefile / "sub"
    assert main(["reproduce", name, "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    if where == "file":
        assert err == (f"ple-stats: error: --out {str(out)!r} is an existing file, not a "
                       f"directory; choose another --out.\n")
    else:
        assert err == (f"ple-stats: error: --out {str(out)!r} cannot be created: "
                       f"{str(somefile)!r} is a file, not a directory; choose another "
                       f"--out.\n")
    assert calls == []  # refused before any work
    assert somefile.read_text() == "not a directory"


def test_out_is_created_and_passed_on(tmp_path, calls):
    out = tmp_path / "new" / "deeper"
    assert main(["reproduce", "gmm", "--out", str(out)]) == 0
    assert out.is_dir() and calls == [("gmm", str(out), {})]


BAD_VALUES = [
    (["madness", "--runs", "0"], "`--runs` must be at least 1; got 0."),
    (["madness", "--m", "0"], "`--m` must be at least 2; got 0."),
    (["madness", "--m", "1"], "`--m` must be at least 2; got 1."),
    (["madness", "--generations", "0"], "`--generations` must be at least 1; got 0."),
    (["gaussian-std", "--generations", "-3"], "`--generations` must be at least 1; got -3."),
    (["gmm", "--runs", "1"], "`--runs` must be at least 2; got 1."),
    (["gmm", "--m", "1"], "`--m` must be at least 2; got 1."),
    (["gmm", "--method", "hypernetwork", "--m", "0"], "`--m` must be at least 1; got 0."),
    (["fairness", "--steps", "0"], "`--steps` must be at least 1; got 0."),
    (["deep-madness", "--runs", "0"], "`--runs` must be at least 1; got 0."),
    (["fairness", "--ratios", "2", "0.5"],
     "`--ratios` must be imbalance ratios >= 1 (majority : minority); got 0.5."),
    (["fairness", "--ratios", "nan"],
     "`--ratios` must be imbalance ratios >= 1 (majority : minority); got nan."),
    (["fairness", "--ratios", "2", "2"], "`--ratios` must not repeat; got 2 2."),
    (["fairness", "--models", "vae", "vae"], "`--models` must not repeat; got vae vae."),
    (["madness", "--n-jobs", "0"],
     "`--n-jobs` must be a positive number of worker processes or -1 (all cores); got 0."),
    (["gmm", "--n-jobs", "-2"],
     "`--n-jobs` must be a positive number of worker processes or -1 (all cores); got -2."),
    (["gaussian-std", "--seed", "-1"], "`--seed` must be at least 0; got -1."),
]


@pytest.mark.parametrize("argv, message", BAD_VALUES)
def test_every_bad_numeric_option_is_a_usage_error(tmp_path, capsys, calls, argv, message):
    # Before: `madness --quick --runs 0` silently ran 50 runs and `--m 0` became 20.
    out = tmp_path / "out"
    assert main(["reproduce", *argv, "--quick", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"ple-stats: error: {message}\n"
    assert calls == [] and not out.exists()


def test_reproduce_madness_refuses_bad_values_itself(tmp_path):
    # the function too: runs=0 used to mean the paper's runs (50 with quick=True), m=0 the
    # default m
    from ple_stats.experiments import reproduce_gaussian_std, reproduce_madness

    for kwargs, message in [({"runs": 0}, "`runs` must be at least 1; got 0."),
                            ({"m": 0}, "`m` must be at least 2; got 0."),
                            ({"generations": 0}, "`generations` must be at least 1; got 0.")]:
        with pytest.raises(ValueError, match=f"^{message}$"):
            reproduce_madness(str(tmp_path / "m"), quick=True, **kwargs)
    with pytest.raises(ValueError, match="^`runs` must be at least 1; got 0.$"):
        reproduce_gaussian_std(str(tmp_path / "g"), quick=True, runs=0)
    with pytest.raises(TypeError, match="^`generations` must be an integer"):
        reproduce_gaussian_std(str(tmp_path / "g"), quick=True, generations=2.5)
    assert not (tmp_path / "m").exists() and not (tmp_path / "g").exists()


def test_argparse_errors_use_the_same_prefix_and_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        main(["reproduce", "madness", "--runs", "many"])
    assert info.value.code == 2
    assert "ple-stats: error: argument --runs: invalid int value: 'many'" in \
        capsys.readouterr().err


# option -> the reproductions it applies to (everything else must refuse it)
APPLIES = {
    ("--generations", "3"): {"madness", "gaussian-std", "deep-madness"},
    ("--m", "5"): {"madness", "gmm"},
    ("--method", "both"): {"gmm"},
    ("--ratios", "2"): {"fairness"},
    ("--steps", "3"): {"fairness", "deep-madness"},
    ("--models", "vae"): {"fairness", "deep-madness"},
    ("--device", "cpu"): {"fairness", "deep-madness"},
}


@pytest.mark.parametrize("option", sorted(APPLIES))
@pytest.mark.parametrize("name", sorted(REPRODUCTIONS))
def test_options_that_do_not_apply_are_refused_everywhere(tmp_path, capsys, calls, option,
                                                          name):
    # Before: some were ignored (--m for gaussian-std, --device for madness, --ratios and
    # --steps for madness) and others refused, in different words.
    out = tmp_path / "out"
    rc = main(["reproduce", name, *option, "--out", str(out)])
    if name in APPLIES[option]:
        assert rc == 0 and len(calls) == 1
    else:
        assert rc == 2 and calls == [] and not out.exists()
        err = capsys.readouterr().err
        assert err.startswith(f"ple-stats: error: {option[0]} does not apply to "
                              f"`reproduce {name}`; it applies to `reproduce ")


def test_models_option_is_refused_where_it_does_not_apply(tmp_path, capsys):
    rc = main(["reproduce", "madness", "--quick", "--models", "vae", "--out",
               str(tmp_path / "x"), "--no-progress"])
    assert rc == 2
    assert capsys.readouterr().err == (
        "ple-stats: error: --models does not apply to `reproduce madness`; it applies to "
        "`reproduce fairness` and `reproduce deep-madness`.\n")


def test_help_lists_where_each_option_applies(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    text = capsys.readouterr().out
    assert "options by reproduction (any other option is refused):" in text
    assert "  madness       --generations --m\n" in text
    assert "  gaussian-std  --generations\n" in text
    assert "  fairness      --ratios --steps --models --device\n" in text


def test_explicit_options_are_passed_with_quick_and_others_left_to_the_defaults(tmp_path,
                                                                               calls):
    out = str(tmp_path / "o")
    runs = [
        (["madness", "--generations", "40", "--m", "7"],
         {"generations": 40, "m": 7}),
        (["gaussian-std", "--runs", "80"], {"runs": 80}),
        (["gmm", "--runs", "30", "--m", "9", "--method", "both"],
         {"seeds": 30, "m": 9, "methods": ("bootstrap", "hypernetwork")}),
        (["gmm", "--m", "3", "--method", "hypernetwork"],
         {"hyper_m": 3, "methods": ("hypernetwork",)}),
        (["fairness", "--runs", "3", "--ratios", "2", "5", "10", "20", "--steps", "9",
          "--models", "vae", "--device", "cpu"],
         {"seeds": 3, "ratios": (2.0, 5.0, 10.0, 20.0), "steps": 9, "models": ("vae",),
          "device": "cpu"}),
        (["deep-madness", "--generations", "5", "--runs", "3"],
         {"generations": 5, "seeds": 3}),
    ]
    for argv, expected in runs:
        calls.clear()
        assert main(["reproduce", *argv, "--quick", "--out", out, "--n-jobs", "2",
                     "--no-progress"]) == 0
        assert calls == [(argv[0], out, {**expected, "quick": True, "n_jobs": 2,
                                         "progress": False})]
    calls.clear()
    assert main(["reproduce", "madness", "--out", out]) == 0
    assert calls == [("madness", out, {})]  # nothing given: every default is the function's


@needs_matplotlib
def test_explicit_options_win_over_quick_in_madness_and_gaussian_std(tmp_path):
    # Before: quick clamped generations to 15 (and gaussian-std's runs to 50) even when given.
    out = tmp_path / "m"
    assert main(["reproduce", "madness", "--quick", "--generations", "16", "--runs", "2",
                 "--m", "3", "--out", str(out), "--no-progress"]) == 0
    settings = json.loads((out / "madness.json").read_text())
    assert settings["generations"] == 16
    assert {p["runs"] for p in settings["panels"]} == {2}
    assert settings["panels"][1]["ple"] == {"method": "bootstrap", "m": 3}
    sim = SimulationResult.load(next((out / "data").glob("Gaussian-ple-*.npz")))
    assert sim.runs == 2 and sim.generations == 16

    out = tmp_path / "g"
    assert main(["reproduce", "gaussian-std", "--quick", "--generations", "16", "--runs",
                 "60", "--out", str(out), "--no-progress"]) == 0
    settings = json.loads((out / "gaussian_std.json").read_text())
    assert settings["runs"] == 60 and settings["generations"] == 16


@needs_matplotlib
def test_explicit_options_win_over_quick_in_gmm(tmp_path):
    # Before: --quick replaced --runs (the data sets per cell) and --m by its own 8 and 8.
    out = tmp_path / "gmm"
    assert main(["reproduce", "gmm", "--quick", "--runs", "3", "--m", "3", "--out", str(out),
                 "--no-progress"]) == 0
    settings = json.loads((out / "gmm.json").read_text())
    assert settings["settings"]["seeds"] == 3 and settings["settings"]["m"] == 3
    # the other settings keep their quick values
    assert settings["settings"]["n_iter"] == 4 and settings["sizes"] == [10, 100]


class _Stop(Exception):
    """Raised by the stand-in executor, once the work units are known."""


@needs_matplotlib
@pytest.mark.parametrize("name", ["fairness", "deep-madness"])
def test_explicit_options_win_over_quick_in_the_torch_reproductions(tmp_path, monkeypatch,
                                                                    name):
    # Before: with quick=True, ratios equal to the default (2 5 10 20) became (2, 5), seeds
    # equal to the default 3 became 1, deep-madness's 5 generations became 2 and
    # fairness's n_generated was capped at 200. The units are captured at the executor,
    # so no model is trained.
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from ple_stats.experiments import _deep_madness, _fairness
    from ple_stats.experiments._fairness import load_digit_images

    seen = {}

    def stand_in(func, tasks, **kwargs):
        seen["tasks"] = tasks
        raise _Stop

    module = _fairness if name == "fairness" else _deep_madness
    monkeypatch.setattr(module, "execute", stand_in)
    x, y = load_digit_images()
    keep = np.concatenate([np.flatnonzero(y == c)[:40] for c in range(10)])
    common = dict(quick=True, seeds=3, models=("vae",), images=x[keep], labels=y[keep],
                  device="cpu", progress=False)
    with pytest.raises(_Stop):
        if name == "fairness":
            module.reproduce_fairness(str(tmp_path), ratios=(2, 5, 10, 20), n_generated=300,
                                      **common)
        else:
            module.reproduce_deep_madness(str(tmp_path), generations=5, **common)
    tasks = seen["tasks"]
    setup = tasks[0][0]
    if name == "fairness":
        assert sorted({t[2] for t in tasks}) == [2, 5, 10, 20]
        assert len(tasks) == 4 * 3 and setup["n_generated"] == 300
        assert setup["train"]["steps"] == 30  # not given: the quick default
    else:
        assert len(tasks) == 3 and setup["generations"] == 5


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
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'statsmodels' not in sys.modules, 'statsmodels imported'; "
            "assert 'pandas' not in sys.modules, 'pandas imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert ple_stats.cli.main is main
