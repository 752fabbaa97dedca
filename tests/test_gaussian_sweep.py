"""``reproduce_gaussian_sweep`` at the quick size, end to end: files, numbers, theory,
resume after a lost cell, parallel workers; and the singular cells (n <= d)."""

import csv
import json
import math
import os

import numpy as np
import pytest

from ple_stats.experiments import reproduce_gaussian_sweep
from ple_stats.experiments._gaussian_sweep import _cell

try:  # the sweep writes figures; the cells, the theory and the checks do not
    import matplotlib  # noqa: F401
    HAS_MATPLOTLIB = True
except ImportError:
    HAS_MATPLOTLIB = False
needs_matplotlib = pytest.mark.skipif(not HAS_MATPLOTLIB, reason="writes figures: needs matplotlib")

QUICK = dict(dims=(1, 3), sizes=(4, 10), generations=6, seeds=10, progress=False)


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@needs_matplotlib
def test_quick_sweep_writes_every_file_and_resumes_identically(tmp_path):
    out = tmp_path / "sweep"
    paths = reproduce_gaussian_sweep(out, **QUICK)
    for q in ("mean_sq_error", "trace_ratio", "logdet_ratio"):
        for mode in ("replace", "accumulate"):
            png, pdf = paths[f"gaussian_sweep_{q}_{mode}"]
            assert os.path.getsize(png) > 1000 and os.path.getsize(pdf) > 1000
    rows = _read(paths["csv"])
    # 2 dims x 2 sizes x 2 modes x 2 estimators, 7 generations each
    assert len(rows) == 16 * 7
    meta = json.loads(open(paths["json"]).read())
    assert meta["seeds"] == 10 and len(meta["final_generation"]) == 16
    first = open(paths["csv"]).read()
    # lose one cell: it is recomputed, and every number is the same
    cells = out / "cells"
    (store,) = [p for p in cells.iterdir() if p.is_dir()]
    victim = store / "unit_d3_n10_accumulate_ple.npz"
    assert victim.exists()
    victim.unlink()
    reproduce_gaussian_sweep(out, **QUICK)
    assert victim.exists()
    assert open(paths["csv"]).read() == first
    # parallel workers give the same numbers (a fresh directory: all cells computed)
    paths2 = reproduce_gaussian_sweep(tmp_path / "parallel", **QUICK, n_jobs=2)
    assert open(paths2["csv"]).read() == first


@needs_matplotlib
def test_sweep_numbers_and_theory_columns(tmp_path):
    paths = reproduce_gaussian_sweep(tmp_path, **QUICK)
    rows = _read(paths["csv"])
    by = {(r["d"], r["n"], r["mode"], r["estimator"], r["generation"]): r for r in rows}
    # generation 0 is the truth
    r0 = by[("3", "10", "replace", "mle", "0")]
    assert float(r0["trace_ratio_mean"]) == 1.0 and float(r0["mean_sq_error_mean"]) == 0.0
    # replace: exact theory for all three; the PLE keeps E tr = tr Sigma_0
    r = by[("3", "10", "replace", "ple", "6")]
    assert float(r["trace_ratio_exact"]) == 1.0
    assert float(r["mean_sq_error_exact"]) == pytest.approx(6 * 3 / 10)
    assert float(r["logdet_ratio_exact"]) < 0
    # accumulate: no exact log det, an upper bound instead
    r = by[("3", "10", "accumulate", "mle", "6")]
    assert r["logdet_ratio_exact"] == "" and float(r["logdet_ratio_bound"]) < 0
    assert float(r["logdet_ratio_mean"]) < float(r["logdet_ratio_bound"])
    # n = 4 > d = 3: nonsingular; n <= d does not occur here, see the next test
    assert float(by[("3", "4", "replace", "mle", "6")]["singular_fraction"]) == 0.0


@needs_matplotlib
def test_quick_is_the_default_grid_of_ci(tmp_path):
    paths = reproduce_gaussian_sweep(tmp_path, quick=True, seeds=4, generations=3,
                                     progress=False, modes="replace", estimators=("ple",))
    meta = json.loads(open(paths["json"]).read())
    assert meta["dims"] == [1, 3, 10] and meta["sizes"] == [10, 32]
    assert "gaussian_sweep_trace_ratio_replace" in paths
    assert "gaussian_sweep_trace_ratio_accumulate" not in paths


@pytest.mark.parametrize("kwargs, match", [
    ({"modes": ("replace", "fresh")}, "`modes`"),
    ({"estimators": ("mle", "mle")}, "must not repeat"),
    ({"sizes": (1, 4)}, "`sizes` must be at least 2"),
    ({"seeds": 1}, "`seeds` must be at least 2"),
    ({"dims": ()}, "must not be empty"),
    ({"n_jobs": 0}, "`n_jobs`"),
])
def test_bad_settings_are_refused(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        reproduce_gaussian_sweep(tmp_path, **{**QUICK, **kwargs})


@pytest.mark.parametrize("mode", ["replace", "accumulate"])
@pytest.mark.parametrize("estimator", ["mle", "ple"])
def test_singular_cells_follow_the_theory(mode, estimator):
    # n <= d: every fit is singular (log det = -inf) but the trace and the mean error are
    # defined, and their exact expectations hold: 6000 runs, d = 6, n = 4, t <= 4 (t ~ n,
    # beyond which the replace loop's mean is carried by rare paths), seed 31, 5 s.e.
    from ple_stats._theory import multivariate_gaussian_curves

    d, n, t, runs = 6, 4, 4, 6000
    cell = _cell(d, n, mode, estimator, t, runs, 31)
    assert np.all(cell["logdet_ratio"][:, 1:] == -np.inf)
    theory = multivariate_gaussian_curves(np.eye(d), n, t, estimator=estimator, mode=mode)
    for q in ("trace_ratio", "mean_sq_error"):
        values = cell[q]
        se = values.std(axis=0, ddof=1) / math.sqrt(runs)
        z = (values.mean(axis=0) - theory[q]["mean"])[1:] / se[1:]
        assert np.all(np.abs(z) < 5), (q, z)


def test_nonsingular_cell_matches_theory():
    # d = 4, n = 12, 6000 runs, t <= 10, seed 32: the three summaries within 5 s.e. of the
    # exact replace expectations (the log det's is exact for every t).
    from ple_stats._theory import multivariate_gaussian_curves

    d, n, t, runs = 4, 12, 10, 6000
    cell = _cell(d, n, "replace", "ple", t, runs, 32)
    theory = multivariate_gaussian_curves(np.eye(d), n, t, estimator="ple")
    for q in ("trace_ratio", "mean_sq_error", "logdet_ratio"):
        values = cell[q]
        se = values.std(axis=0, ddof=1) / math.sqrt(runs)
        z = (values.mean(axis=0) - theory[q]["mean"])[1:] / se[1:]
        assert np.all(np.abs(z) < 5), (q, z)


@needs_matplotlib
def test_command_line_runs_the_quick_sweep(tmp_path, capsys):
    from ple_stats.cli import main

    out = tmp_path / "cli"
    assert main(["reproduce", "gaussian-sweep", "--quick", "--runs", "3", "--generations",
                 "2", "--dims", "2", "--sizes", "5", "--modes", "accumulate",
                 "--estimators", "ple", "--out", str(out), "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().out
    meta = json.loads((out / "gaussian_sweep.json").read_text())
    assert meta["seeds"] == 3 and meta["dims"] == [2] and meta["modes"] == ["accumulate"]


@pytest.mark.parametrize("argv, message", [
    (["--runs", "1"], "`--runs` must be at least 2; got 1."),
    (["--sizes", "1"], "`--sizes` must be at least 2; got 1."),
    (["--dims", "3", "3"], "`--dims` must not repeat; got 3 3."),
    (["--m", "3"], "--m does not apply to `reproduce gaussian-sweep`"),
])
def test_command_line_refuses_bad_options(tmp_path, capsys, argv, message):
    from ple_stats.cli import main

    assert main(["reproduce", "gaussian-sweep", *argv, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
