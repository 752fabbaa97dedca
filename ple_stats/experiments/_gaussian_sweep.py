"""Model collapse of multivariate Gaussians: replace vs accumulate, MLE vs PLE, exact theory.

The sweep of Kazdan, Schaeffer et al. ("Collapse or Thrive?"): ``N(mu, Sigma)`` in
dimensions ``d`` fitted to ``n`` points for many generations and seeds, each generation
trained either on fresh synthetic data only (*replace*) or on those added to all earlier
data (*accumulate*); plotted are the squared error of the mean, the trace and the
log determinant of the fitted covariance relative to the truth's.
"""

from __future__ import annotations

import os
import time

import numpy as np

from .._lib.executor import check_executor, execute
from .._lib.files import digest
from .._lib.store import CheckpointStore
from .._simulate import event_generations
from .._theory import multivariate_gaussian_curves
from .._validation import as_int
from ._io import save_figure, write_csv, write_json

__all__ = ["SWEEP_DIMS", "SWEEP_SIZES", "reproduce_gaussian_sweep"]

#: Dimensions and sample sizes of the published sweep.
SWEEP_DIMS = (1, 3, 10, 31, 100)
SWEEP_SIZES = (10, 32, 100, 316, 1000)
_MODES = ("replace", "accumulate")
_ESTIMATORS = ("mle", "ple")
_QUANTITIES = {
    "mean_sq_error": ("‖μ_t − μ_0‖²", "log"),
    "trace_ratio": ("tr Σ_t / tr Σ_0", "log"),
    "logdet_ratio": ("log det Σ_t − log det Σ_0", "linear"),
}
_QUICK = {"dims": (1, 3, 10), "sizes": (10, 32), "generations": 20, "seeds": 20}
_FULL = {"dims": SWEEP_DIMS, "sizes": SWEEP_SIZES, "generations": 100, "seeds": 100}


def _cell(d, n, mode, estimator, generations, seeds, seed):
    """One cell: ``seeds`` independent runs of the loop, the three summaries per generation.

    The truth is ``N(0, I_d)`` (the summaries are affine invariant in law, except the
    mean error, which scales with ``tr Sigma_0 = d``). The runs go through the
    simulator's own loop (:func:`ple_stats._simulate.event_generations`), recording
    the summaries instead of the ``d + d(d+1)/2`` parameters. The random stream
    depends on ``(seed, d, n, mode)`` only, so MLE and PLE see the same base draws
    (common random numbers).
    """
    started = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence([seed, d, n, _MODES.index(mode)]))
    mse = np.zeros((seeds, generations + 1))
    trace = np.ones((seeds, generations + 1))
    logdet = np.zeros((seeds, generations + 1))
    if n > d:
        loop = event_generations(np.zeros(d), np.eye(d), n, generations, mode=mode,
                                 estimator=estimator, runs=seeds, rng=rng)
        for t, mean, factor, _ in loop:
            mse[:, t] = np.einsum("ri,ri->r", mean, mean)
            trace[:, t] = np.einsum("rij,rij->r", factor, factor) / d
            with np.errstate(divide="ignore"):
                logdet[:, t] = 2.0 * np.log(np.abs(np.diagonal(factor, axis1=-2,
                                                               axis2=-1))).sum(axis=-1)
    else:
        _singular_cell(d, n, mode, estimator, generations, seeds, rng, mse, trace, logdet)
    return {"mean_sq_error": mse, "trace_ratio": trace, "logdet_ratio": logdet,
            "seconds": round(time.perf_counter() - started, 3)}


def _singular_cell(d, n, mode, estimator, generations, seeds, rng, mse, trace, logdet):
    """A cell with ``n <= d``: every fit is singular, and the loop lives in a subspace.

    Generation 1's ``n`` points span an affine subspace ``mu_1 + span(Q)`` of
    dimension ``r = n - 1 < d``; every later model, and so every later draw and fit,
    stays in it (its mean is the pooled mean and its covariance the pooled scatter of
    points inside it), in both loop modes. The loop is run exactly in the ``r``
    coordinates ``y`` of that subspace (``mu_t = mu_1 + Q y_t``, ``tr Sigma_t =
    tr`` of the ``r x r`` covariance), which avoids factorising numerically
    singular ``d x d`` matrices; ``log det Sigma_t = -inf`` from generation 1 on.
    """
    from .._multivariate_gaussian import draw_sufficient_statistics

    r = n - 1
    divisor = n if estimator == "mle" else n - 1
    x_bar, scatter = draw_sufficient_statistics(rng, np.zeros((seeds, d)),
                                                np.broadcast_to(np.eye(d), (seeds, d, d)), n)
    q, upper = np.linalg.qr(scatter[:, :, :r])  # the scatter's columns span the subspace
    lower = np.linalg.cholesky(upper @ np.ascontiguousarray(np.swapaxes(upper, -1, -2)))
    mse[:, 1] = np.einsum("ri,ri->r", x_bar, x_bar)
    trace[:, 1] = np.einsum("rij,rij->r", lower, lower) / divisor / d
    logdet[:, 1:] = -np.inf
    if generations == 1:
        return
    pool = (n, np.zeros((seeds, r)), lower) if mode == "accumulate" else None
    loop = event_generations(np.zeros((seeds, r)), lower / np.sqrt(divisor), n,
                             generations - 1, mode=mode, estimator=estimator, runs=seeds,
                             rng=rng, pool=pool)
    for t, y, factor, _ in loop:
        shift = np.einsum("rdk,rk->rd", q, y)
        mse[:, t + 1] = np.einsum("ri,ri->r", x_bar + shift, x_bar + shift)
        trace[:, t + 1] = np.einsum("rij,rij->r", factor, factor) / d


def _name(d, n, mode, estimator):
    return f"d{d}_n{n}_{mode}_{estimator}"


def _rows(cell, d, n, mode, estimator, generations):
    """Every plotted number of one cell: per generation, mean ± s.e., median, theory."""
    theory = multivariate_gaussian_curves(np.eye(d), n, generations, estimator=estimator,
                                          mode=mode)
    runs = cell["mean_sq_error"].shape[0]
    rows = [{"d": d, "n": n, "mode": mode, "estimator": estimator, "generation": g}
            for g in range(generations + 1)]
    for q in _QUANTITIES:
        values = np.asarray(cell[q])
        finite = np.isfinite(values).all(axis=0)
        with np.errstate(invalid="ignore"):
            mean = np.where(finite, values.mean(axis=0), np.nan)
            se = np.where(finite, values.std(axis=0, ddof=1) / np.sqrt(runs), np.nan)
        median = np.median(values, axis=0)
        curves = theory.get(q, {})
        exact = curves.get("mean", np.full(generations + 1, np.nan))
        bound = curves.get("upper_bound", np.full(generations + 1, np.nan))
        singular = (~np.isfinite(values)).mean(axis=0)
        for g, row in enumerate(rows):
            row[f"{q}_mean"] = float(mean[g])
            row[f"{q}_se"] = float(se[g])
            row[f"{q}_median"] = float(median[g]) if np.isfinite(median[g]) else float("nan")
            row[f"{q}_exact"] = float(exact[g])
            if q == "logdet_ratio":
                row["logdet_ratio_bound"] = float(bound[g])
                row["singular_fraction"] = float(singular[g])
    return rows


def reproduce_gaussian_sweep(out="results/gaussian-sweep", *, dims=None, sizes=None,
                             generations=None, seeds=None, modes=_MODES,
                             estimators=_ESTIMATORS, quick=False, n_jobs=1, seed=0,
                             progress=None):
    """Model collapse of ``N(mu, Sigma)``: replace vs accumulate, MLE vs PLE, with theory.

    For every dimension ``d``, sample size ``n``, loop mode and estimator, ``seeds``
    independent runs start from the truth ``N(0, I_d)`` and refit the Gaussian
    ``generations`` times: on ``n`` fresh draws from the previous fit
    (``"replace"``) or on those added to all earlier draws (``"accumulate"``,
    ``n t`` points at generation ``t``, kept as running sufficient statistics).
    The estimators are the analytic fits of
    :class:`~ple_stats.MultivariateGaussian`: the MLE (divisor ``N``) and the PLE
    (the unbiased covariance, divisor ``N - 1``).

    Figures (one per quantity and mode, ``gaussian_sweep_{quantity}_{mode}.png/.pdf``):
    rows are the estimators, columns the dimensions, one line per ``n`` with its
    mean ± s.e. band over seeds, and the exact expectation dotted where it exists
    (:func:`ple_stats._theory.multivariate_gaussian_curves`: everything under
    replace; the mean error and the trace under accumulate, where for the log
    determinant only an upper bound is known, drawn dash-dotted). A cell with
    ``n <= d`` under replace has a singular fit from generation 1 on
    (``log det = -inf``, not drawn; its trace and mean error are).

    Parameters
    ----------
    out : str
        Output directory; finished cells are kept in ``out/cells`` (one file each,
        keyed by the settings), so an interrupted sweep resumes and a grid that
        contains a computed cell reuses it.
    dims, sizes : sequence of int, optional
        Dimensions (default 1, 3, 10, 31, 100) and sample sizes (default 10, 32, 100,
        316, 1000; at least 2).
    generations : int, optional
        Refits after the truth (default 100).
    seeds : int, optional
        Independent runs per cell (default 100; at least 2).
    modes : sequence of {"replace", "accumulate"}
    estimators : sequence of {"mle", "ple"}
    quick : bool
        A small sweep for tests and CI (d = 1, 3, 10; n = 10, 32; 20 generations, 20
        seeds) through the same cells, store and workers. It changes the defaults only.
    n_jobs : int
        Worker processes over cells (-1: all cores).
    seed : int
        Root seed; a cell's numbers depend only on it and on ``(d, n, mode)``.
    progress : bool, optional
        Progress bar over cells (default: when stderr is a terminal).

    Returns
    -------
    dict
        Paths of the written files: ``csv``, ``json`` and one entry per figure.
    """
    from .._result import import_matplotlib

    defaults = _QUICK if quick else _FULL
    dims = tuple(as_int(v, "dims", minimum=1) for v in (defaults["dims"] if dims is None
                                                       else dims))
    sizes = tuple(as_int(v, "sizes", minimum=2) for v in (defaults["sizes"] if sizes is None
                                                         else sizes))
    generations = as_int(defaults["generations"] if generations is None else generations,
                         "generations", minimum=1)
    seeds = as_int(defaults["seeds"] if seeds is None else seeds, "seeds", minimum=2)
    seed = as_int(seed, "seed", minimum=0)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    estimators = (estimators,) if isinstance(estimators, str) else tuple(estimators)
    for name, values, allowed in (("dims", dims, None), ("sizes", sizes, None),
                                  ("modes", modes, _MODES),
                                  ("estimators", estimators, _ESTIMATORS)):
        if not values:
            raise ValueError(f"`{name}` must not be empty.")
        if len(set(values)) != len(values):
            raise ValueError(f"`{name}` must not repeat; got {values!r}.")
        if allowed is not None and any(v not in allowed for v in values):
            raise ValueError(f"`{name}` must be entries of {allowed}; got {values!r}.")
    n_jobs, _ = check_executor(n_jobs)
    plt = import_matplotlib()
    os.makedirs(out, exist_ok=True)

    grid = [(d, n, mode, est) for mode in modes for est in estimators for d in dims
            for n in sizes]
    # the expensive cells first, so that the workers finish together
    order = sorted(range(len(grid)), key=lambda i: -grid[i][0] ** 2 * grid[i][1])
    key = {"experiment": "gaussian-sweep", "generations": generations, "seeds": seeds,
           "seed": seed, "truth": "N(0, I_d)", "version": 1}
    store = CheckpointStore(os.path.join(out, "cells", digest(key, 12)), key,
                            names=[_name(*grid[i]) for i in order])
    tasks = [(*grid[i], generations, seeds, seed) for i in order]
    started = time.perf_counter()
    done = execute(_cell, tasks, n_jobs=n_jobs, store=store, progress=progress,
                   desc="gaussian sweep", unit="cell")
    cells = {grid[i]: cell for i, cell in zip(order, done)}
    wall = round(time.perf_counter() - started, 3)

    rows = []
    for d, n, mode, est in grid:
        rows += _rows(cells[(d, n, mode, est)], d, n, mode, est, generations)
    paths = {"csv": write_csv(os.path.join(out, "gaussian_sweep.csv"), rows)}
    table = {(r["d"], r["n"], r["mode"], r["estimator"], r["generation"]): r for r in rows}
    for q, (label, scale) in _QUANTITIES.items():
        for mode in modes:
            stem = f"gaussian_sweep_{q}_{mode}"
            paths[stem] = _plot(plt, table, q, label, scale, mode, dims, sizes, estimators,
                                generations, seeds, out, stem)
    final = {f"{_name(d, n, mode, est)}": {
        q: {"mean": table[(d, n, mode, est, generations)][f"{q}_mean"],
            "se": table[(d, n, mode, est, generations)][f"{q}_se"],
            "median": table[(d, n, mode, est, generations)][f"{q}_median"],
            "exact": table[(d, n, mode, est, generations)][f"{q}_exact"]}
        for q in _QUANTITIES} for d, n, mode, est in grid}
    paths["json"] = write_json(os.path.join(out, "gaussian_sweep.json"), {
        "experiment": "multivariate Gaussian model collapse (Kazdan, Schaeffer et al., "
                      "'Collapse or Thrive?'): replace vs accumulate",
        "truth": "N(0, I_d)", "dims": dims, "sizes": sizes, "generations": generations,
        "seeds": seeds, "modes": modes, "estimators": estimators, "seed": seed,
        "quick": quick, "n_jobs": n_jobs,
        "theory": "exact: replace (all three), accumulate (mean error, trace); accumulate "
                  "log det: Jensen upper bound only",
        "final_generation": final,
        "cell_seconds": {_name(*c): cells[c]["seconds"] for c in grid},
        "compute_seconds": round(sum(cells[c]["seconds"] for c in grid), 3),
        "wall_seconds_this_run": wall,
    })
    return paths


def _plot(plt, table, q, label, scale, mode, dims, sizes, estimators, generations, seeds,
          out, stem):
    from matplotlib.ticker import NullLocator

    fig, axes = plt.subplots(len(estimators), len(dims), squeeze=False,
                             figsize=(3.0 * len(dims) + 1.0, 2.6 * len(estimators) + 0.8),
                             constrained_layout=True)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(sizes)))
    t = np.arange(generations + 1)
    for a, est in enumerate(estimators):
        for b, d in enumerate(dims):
            ax = axes[a, b]
            for color, n in zip(colors, sizes):
                rows = [table[(d, n, mode, est, g)] for g in t]
                mean = np.array([r[f"{q}_mean"] for r in rows])
                se = np.array([r[f"{q}_se"] for r in rows])
                exact = np.array([r[f"{q}_exact"] for r in rows])
                shown = t if scale == "linear" else t[1:]
                if scale == "log":
                    mean_s, se_s = mean[1:], se[1:]
                else:
                    mean_s, se_s = mean, se
                ax.plot(shown, mean_s, color=color, lw=1.3, label=f"n = {n}")
                ax.fill_between(shown, mean_s - se_s, mean_s + se_s, color=color, alpha=0.25,
                                lw=0)
                exact_s = exact if scale == "linear" else exact[1:]
                if np.isfinite(exact_s).any():
                    ax.plot(shown, exact_s, color="k", ls=":", lw=0.9)
                if q == "logdet_ratio" and np.isfinite(mean).any():  # not for singular cells
                    bound = np.array([r["logdet_ratio_bound"] for r in rows])
                    if np.isfinite(bound).any():
                        ax.plot(t, bound, color=color, ls="-.", lw=0.8)
            ax.set_yscale(scale)
            if scale == "log":  # minor ticks of log axes double the drawing time
                ax.yaxis.set_minor_locator(NullLocator())
            ax.set_title(f"{est.upper()}, d = {d}", fontsize=9)
            if a == len(estimators) - 1:
                ax.set_xlabel("generation")
            if b == 0:
                ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=7)
    theory = ("exact expectation dotted" if mode == "replace" or q != "logdet_ratio"
              else "Jensen upper bound dash-dotted (no exact result)")
    fig.suptitle(f"{label}, {mode}: mean ± s.e. over {seeds} seeds, {theory}", fontsize=10)
    paths = save_figure(fig, out, stem)
    plt.close(fig)
    return paths
