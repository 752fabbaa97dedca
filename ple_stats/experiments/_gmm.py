"""The unbalanced two-component Gaussian mixture: the paper's Figure 3."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from .._gmm import GMM
from .._kl import kl_divergence
from .._lib.deprecation import renamed_keywords
from .._lib.executor import check_executor, execute
from .._lib.files import digest
from .._lib.store import CheckpointStore
from .._validation import as_int
from .._warnings import ConvergenceWarning, DegenerateDataWarning
from ._io import save_figure, write_csv, write_json

__all__ = ["GMM_METHODS", "GMM_WEIGHTS", "GMM_SIZES", "reproduce_gmm"]

#: Majority weights of the paper's grid: (0.5, 0.5) ... (0.9, 0.1).
GMM_WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9)
#: Seven training sizes on a log grid from 10 to 1000.
GMM_SIZES = tuple(int(v) for v in np.round(np.geomspace(10, 1000, 7)))
_MEANS, _SIGMAS = (0.0, 2.0), (1.0, 1.0)

_FULL = {"weights": GMM_WEIGHTS, "sizes": GMM_SIZES, "seeds": 100, "m": 20, "n_iter": 12,
         "average": 6, "tol": 1e-8, "max_iter": 5000, "epochs": 500}
_QUICK = {"weights": (0.5, 0.7, 0.9), "sizes": (10, 100), "seeds": 8, "m": 8, "n_iter": 4,
          "average": 2, "tol": 1e-6, "max_iter": 500, "epochs": 100}
#: The PLE methods of ``GMM.fit_ple`` that the figure can show.
GMM_METHODS = ("bootstrap", "hypernetwork")


def _truth(w):
    return GMM(weights=[w, 1.0 - w], means=list(_MEANS), sigmas=list(_SIGMAS))


def _cell(w, n, settings, seed):
    """One cell: ``seeds`` data sets of size ``n`` from the truth, one batched MLE
    and one batched PLE fit (``settings["method"]``, bootstrap when absent), KL of
    each fit to the truth per data set. The data sets depend only on ``seed``,
    so both methods see the same data."""
    started = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    truth = _truth(w)
    x = truth.sample(n, rng, sample_shape=(settings["seeds"],))
    em = {k: settings[k] for k in ("tol", "max_iter", "var_floor", "accelerate")}
    method = settings.get("method", "bootstrap")
    with warnings.catch_warnings():  # counted from the info instead
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateDataWarning)
        mle = GMM.fit_mle(x, **em)  # the same EM as the bootstrap PLE's T
        if method == "bootstrap":
            ple = GMM.fit_ple(x, m=settings["m"], rng=rng, var_floor=em["var_floor"],
                              options={"n_iter": settings["n_iter"],
                                       "average": settings["average"],
                                       **{k: em[k] for k in ("tol", "max_iter", "accelerate")}})
        else:
            ple = GMM.fit_ple(x, method="hypernetwork", m=settings["hyper_m"],
                              var_floor=settings["var_floor"], rng=rng,
                              options={"penalty": settings["lam"], "epochs": settings["epochs"],
                                       "lr": settings["lr"]})
    kl_mle = np.asarray(kl_divergence(mle.dist, truth))
    kl_ple = np.asarray(kl_divergence(ple.dist, truth))
    cell = {
        "w": w, "n": n,
        "kl_mle": kl_mle.tolist(), "kl_ple": kl_ple.tolist(),
        "w_right_mle": mle.params.weights[:, 1].tolist(),
        "w_right_ple": ple.params.weights[:, 1].tolist(),
        "mle_converged": np.asarray(mle.info["converged"]).tolist(),
        "mle_floor_hit": np.asarray(mle.info["floor_hit"]).tolist(),
    }
    if method == "bootstrap":
        cell["ple_solved"] = np.asarray(ple.info["converged"]).tolist()
        cell["synthetic_not_converged"] = float(ple.info["synthetic_not_converged"])
    else:
        cell["ple_nll"] = np.asarray(ple.info["nll"]).tolist()
        cell["mle_nll"] = (-np.asarray(mle.info["loglik"]) / n).tolist()
        cell["ple_penalty"] = np.asarray(ple.info["penalty"]).tolist()
    cell["seconds"] = round(time.perf_counter() - started, 3)
    return cell


def _summary(cell):
    kl_mle, kl_ple = np.asarray(cell["kl_mle"]), np.asarray(cell["kl_ple"])
    diff = kl_mle - kl_ple
    r = diff.size
    se = (lambda v: float(v.std(ddof=1) / np.sqrt(r)) if r > 1 else float("nan"))
    wm, wp = np.asarray(cell["w_right_mle"]), np.asarray(cell["w_right_ple"])
    return {
        "w_major": cell["w"], "w_minor": round(1.0 - cell["w"], 10), "n": cell["n"],
        "seeds": r,
        "kl_diff_mean": float(diff.mean()), "kl_diff_se": se(diff),
        "kl_diff_median": float(np.median(diff)),
        "frac_ple_closer": float(np.mean(diff > 0)),
        "kl_mle_mean": float(kl_mle.mean()), "kl_mle_se": se(kl_mle),
        "kl_ple_mean": float(kl_ple.mean()), "kl_ple_se": se(kl_ple),
        "w_minor_mle_mean": float(wm.mean()), "w_minor_mle_se": se(wm),
        "w_minor_ple_mean": float(wp.mean()), "w_minor_ple_se": se(wp),
        "mle_converged": float(np.mean(cell["mle_converged"])),
        "mle_floor_hit": float(np.mean(cell["mle_floor_hit"])),
        # bootstrap only
        "ple_solved": float(np.mean(cell["ple_solved"])) if "ple_solved" in cell else "",
        "synthetic_not_converged": cell.get("synthetic_not_converged", ""),
        # hypernetwork only: mean over seeds of NLL per point, PLE minus EM (>= 0 when
        # the network stops short of EM's likelihood) and the final penalty
        "nll_gap_mean": (float(np.mean(np.subtract(cell["ple_nll"], cell["mle_nll"])))
                         if "ple_nll" in cell else ""),
        "penalty_mean": float(np.mean(cell["ple_penalty"])) if "ple_penalty" in cell else "",
        "seconds": cell["seconds"],
    }


def _cell_store(out, settings, grid):
    """Finished cells on disk, one directory per settings (the grid is not part of the key:
    a cell computed for one grid is reused by another that contains it)."""
    key = {"experiment": "gmm", **{k: settings[k] for k in settings
                                   if k not in ("weights", "sizes")}}
    method = settings.get("method", "bootstrap")
    return CheckpointStore(os.path.join(out, "cells", f"{method}-{digest(key, 12)}"), key,
                           names=[f"w{w:.3f}_n{n}" for w, n in grid])


@renamed_keywords(lam="penalty")
def reproduce_gmm(out="results/gmm", *, weights=None, sizes=None, seeds=None, m=None,
                  n_iter=None, average=None, tol=None, max_iter=None, var_floor=1e-6,
                  accelerate=True, methods=("bootstrap",), penalty=0.1, hyper_m=1, epochs=None,
                  lr=0.01, quick=False, n_jobs=1, backend="loky", seed=0, progress=None):
    """Figure 3: KL(q_MLE || p) - KL(q_PLE || p) over weights and sample sizes.

    The truth ``p`` is the two-component mixture with means 0 and 2, unit
    sigmas and weights ``(w, 1 - w)``. For each cell ``(w, n)``, ``seeds``
    data sets of size ``n`` are drawn; all of them are fitted in one batched
    EM (``GMM.fit_mle``) and one batched PLE (``GMM.fit_ple``, once per entry
    of ``methods``), and the KL divergence of each fit to the truth is
    computed by :func:`ple_stats.kl_divergence`. The heat map shows the mean
    over seeds of ``KL(q_MLE || p) - KL(q_PLE || p)`` (positive: the PLE fit
    is closer to the truth) with its standard error over seeds; one heat map
    per method, all methods on the same data sets.

    Parameters
    ----------
    out : str
        Output directory; finished cells are cached in ``out/cells`` (one
        JSON file each, keyed by the method and the settings), so an
        interrupted run resumes.
    weights : sequence of float, optional
        Majority weights ``w`` (rows; default :data:`GMM_WEIGHTS`, 0.5 ... 0.9).
    sizes : sequence of int, optional
        Training sizes ``n`` (columns; default :data:`GMM_SIZES`, 10, 22, 46,
        100, 215, 464, 1000).
    seeds : int, optional
        Data sets per cell (default 100, the paper's).
    m, n_iter, average : int, optional
        Bootstrap PLE settings (see :meth:`GMM.fit_ple`; default 20, 12 and 6).
    tol, max_iter, var_floor, accelerate
        EM settings (see :meth:`GMM.fit_mle`; default 1e-8, 5000, 1e-6, True),
        shared by the MLE and the bootstrap PLE's inner EM; ``var_floor`` is also
        the hypernetwork's variance floor.
    methods : sequence of {"bootstrap", "hypernetwork"}
        PLE methods to draw, each in its own files: ``gmm.*`` for the
        bootstrap, ``gmm_hypernetwork.*`` for the hypernetwork (needs torch).
    penalty, hyper_m, epochs, lr
        Hypernetwork PLE settings (``penalty``, ``m``, ``epochs``, ``lr`` of
        :meth:`GMM.fit_ple` with ``method="hypernetwork"``; default 0.1, 1, 500
        and 0.01). ``penalty`` was ``lam`` (deprecated alias, one release).
    quick : bool
        A small grid (3 weights x 2 sizes, 8 seeds, m = 8, 4 iterations of
        which 2 averaged, EM tol 1e-6 and max_iter 500, 100 hypernetwork epochs)
        that runs in seconds; its numbers are a smoke test, not a result. It
        changes the defaults only: a setting given explicitly is used as given.
    n_jobs : int
        Worker processes over cells (joblib); -1 for all cores.
    backend : {"loky", "dask"}
        The simulator's executor: local joblib processes (``n_jobs``) or the
        running ``dask.distributed`` client (see :func:`ple_stats.simulate`).
    seed : int
        Root seed; cell ``(w, n)`` uses ``SeedSequence([seed, round(1000 w), n])``,
        so a cell's numbers depend neither on the rest of the grid nor on
        ``n_jobs`` or interruptions.
    progress : bool, optional
        Progress bar over cells (default: when stderr is a terminal).

    Returns
    -------
    dict
        Paths of the written files: ``csv``, ``json``, ``figure`` for the
        first method, ``csv_METHOD``, ``json_METHOD``, ``figure_METHOD`` for
        the others.
    """
    from .._result import import_matplotlib

    # quick changes the defaults only; an explicit value always wins
    defaults = _QUICK if quick else _FULL
    weights, sizes, seeds, m, n_iter, average, tol, max_iter, epochs = (
        defaults[name] if value is None else value for name, value in (
            ("weights", weights), ("sizes", sizes), ("seeds", seeds), ("m", m),
            ("n_iter", n_iter), ("average", average), ("tol", tol), ("max_iter", max_iter),
            ("epochs", epochs)))
    weights = tuple(float(w) for w in weights)
    sizes = tuple(as_int(n, "sizes", minimum=2) for n in sizes)
    if not weights or not sizes:
        raise ValueError("`weights` and `sizes` must not be empty.")
    for w in weights:
        if not 0.0 < w < 1.0:
            raise ValueError(f"`weights` must lie in (0, 1); got {w!r}.")
    # a cell is named (and seeded) by round(1000 w) and n: they must identify it
    if len({round(1000 * w) for w in weights}) != len(weights):
        raise ValueError(f"`weights` must differ by at least 0.001; got {weights!r}.")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"`sizes` must be distinct; got {sizes!r}.")
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    if not methods or any(k not in GMM_METHODS for k in methods) \
            or len(set(methods)) != len(methods):
        raise ValueError(f"`methods` must be distinct entries of {GMM_METHODS}; got "
                         f"{methods!r}.")
    n_jobs, backend = check_executor(n_jobs, backend)
    common = {"seeds": as_int(seeds, "seeds", minimum=2),
              "tol": float(tol), "max_iter": as_int(max_iter, "max_iter", minimum=1),
              "var_floor": float(var_floor), "seed": as_int(seed, "seed", minimum=0),
              "accelerate": bool(accelerate)}
    per_method = {}
    if "bootstrap" in methods:
        settings = {**common, "m": as_int(m, "m", minimum=2),
                    "n_iter": as_int(n_iter, "n_iter", minimum=1),
                    "average": as_int(average, "average", minimum=1)}
        if settings["average"] > settings["n_iter"]:
            raise ValueError("`average` must be at most `n_iter`.")
        per_method["bootstrap"] = settings
    if "hypernetwork" in methods:
        # kept as "lam" in the settings, so that existing checkpoints stay valid
        lam = float(penalty)
        if not lam >= 0:
            raise ValueError(f"`penalty` must be non-negative; got {lam!r}.")
        if not float(lr) > 0:
            raise ValueError(f"`lr` must be positive; got {lr!r}.")
        per_method["hypernetwork"] = {
            **common, "method": "hypernetwork", "lam": lam,
            "hyper_m": as_int(hyper_m, "hyper_m", minimum=1),
            "epochs": as_int(epochs, "epochs", minimum=1), "lr": float(lr)}
    plt = import_matplotlib()
    os.makedirs(out, exist_ok=True)
    paths = {}
    for i, method in enumerate(methods):
        stem = "gmm" if method == "bootstrap" else f"gmm_{method}"
        suffix = "" if i == 0 else f"_{method}"
        written = _run_method(out, stem, per_method[method], weights, sizes, quick, n_jobs,
                              backend, progress, plt)
        paths.update({key + suffix: value for key, value in written.items()})
    return paths


def _run_method(out, stem, settings, weights, sizes, quick, n_jobs, backend, progress, plt):
    """The grid for one PLE method: cached cells, table, JSON, heat map."""
    method = settings.get("method", "bootstrap")
    grid = [(w, n) for w in weights for n in sizes]
    store = _cell_store(out, settings, grid)
    started = time.perf_counter()
    tasks = [(w, n, settings, [settings["seed"], int(round(1000 * w)), n]) for w, n in grid]
    done = execute(_cell, tasks, n_jobs=n_jobs, backend=backend, store=store,
                   progress=progress, desc=f"gmm cells ({method})", unit="cell")
    rows = [_summary(cell) for cell in done]  # in the order of the grid
    paths = {"csv": write_csv(os.path.join(out, f"{stem}.csv"), rows)}
    paths["figure"] = _plot(plt, rows, weights, sizes, settings, out, stem)
    diffs = np.array([r["kl_diff_mean"] for r in rows])
    ses = np.array([r["kl_diff_se"] for r in rows])
    paths["json"] = write_json(os.path.join(out, f"{stem}.json"), {
        "figure": "paper Figure 3",
        "method": method,
        "truth": {"means": _MEANS, "sigmas": _SIGMAS, "weights": "(w, 1 - w)"},
        "measure": "mean over seeds of KL(q_MLE || p) - KL(q_PLE || p); positive: PLE closer",
        "weights": weights, "sizes": sizes, "settings": settings, "quick": quick,
        "cells_positive_2se": int(np.sum(diffs > 2 * ses)),
        "cells_negative_2se": int(np.sum(diffs < -2 * ses)),
        "cells": rows,
        "compute_seconds": round(sum(c["seconds"] for c in done), 3),
        "wall_seconds_this_run": round(time.perf_counter() - started, 3),
    })
    return paths


def _plot(plt, rows, weights, sizes, settings, out, stem="gmm"):
    table = {(r["w_major"], r["n"]): r for r in rows}
    mean = np.array([[table[(w, n)]["kl_diff_mean"] for n in sizes] for w in weights])
    se = np.array([[table[(w, n)]["kl_diff_se"] for n in sizes] for w in weights])
    lim = float(np.max(np.abs(mean))) or 1.0
    fig, ax = plt.subplots(figsize=(1.3 * len(sizes) + 2.5, 0.8 * len(weights) + 1.8),
                           constrained_layout=True)
    image = ax.imshow(mean[::-1], cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for a, w in enumerate(weights[::-1]):
        for b, n in enumerate(sizes):
            i = len(weights) - 1 - a
            strong = abs(mean[i, b]) > 0.6 * lim
            ax.text(b, a, f"{mean[i, b]:+.3f}\n±{se[i, b]:.3f}", ha="center", va="center",
                    fontsize=7, color="white" if strong else "black")
    ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
    ax.set_yticks(range(len(weights)), [f"{w:.1f}, {1 - w:.1f}" for w in weights[::-1]])
    ax.set_xlabel("number of training samples n")
    ax.set_ylabel("weights (majority, minority)")
    fig.colorbar(image, ax=ax, label="KL(q_MLE‖p) − KL(q_PLE‖p)")
    if settings.get("method", "bootstrap") == "bootstrap":
        which = f"bootstrap PLE m = {settings['m']}, {settings['n_iter']} iterations"
    else:
        which = (f"hypernetwork PLE λ = {settings['lam']:g}, m = {settings['hyper_m']}, "
                 f"{settings['epochs']} epochs")
    ax.set_title(f"GMM, means 0 and 2, σ = 1: mean ± s.e. over {settings['seeds']} seeds\n"
                 f"(positive: PLE closer to the truth; {which}, EM tol {settings['tol']:g})",
                 fontsize=9)
    paths = save_figure(fig, out, stem)
    plt.close(fig)
    return paths
