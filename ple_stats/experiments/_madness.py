"""MADness on the closed-form families: the paper's Figures 4 and 5."""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import Exponential, Gaussian, Geometric, Laplace, Pareto, Uniform
from .._simulate import simulate
from .._simulation_result import SimulationResult
from .._warnings import PLEWarning
from ._io import save_figure, write_csv, write_json

__all__ = ["MADNESS_PANELS", "reproduce_madness", "reproduce_gaussian_std"]


@dataclass(frozen=True)
class Panel:
    """One family of Figure 4: the truth, the sample size and how the PLE is computed."""

    title: str
    dist: object
    n: int
    param: str
    runs: int
    fixed: dict = field(default_factory=dict)
    ple_kwargs: dict = field(default_factory=dict)


#: The settings of the paper's Figure 4.
MADNESS_PANELS = (
    Panel("Uniform(0, a), a = 1", Uniform(low=0.0, high=1.0), 20, "high", 100,
          fixed={"low": 0.0}),
    Panel("Gaussian, σ = 1", Gaussian(mu=0.0, sigma=1.0), 20, "sigma", 1000,
          ple_kwargs={"method": "bootstrap", "m": 100}),
    Panel("Laplace, b = 1", Laplace(mu=0.0, b=1.0), 25, "b", 1000,
          ple_kwargs={"method": "bootstrap", "m": 100}),
    Panel("Geometric, p = 0.5", Geometric(p=0.5), 25, "p", 1000,
          ple_kwargs={"method": "bootstrap", "m": 100}),
    Panel("Exponential, rate = 0.5", Exponential(rate=0.5), 25, "rate", 1000,
          ple_kwargs={"method": "bootstrap", "m": 100}),
    Panel("Pareto, b = 1 (xm = 1 known)", Pareto(b=1.0, xm=1.0), 25, "b", 100,
          fixed={"xm": 1.0}, ple_kwargs={"method": "bootstrap", "m": 100}),
)

_COLORS = {"mle": "tab:red", "ple": "tab:blue", "ple-sigma": "tab:green"}


def _run(dist, n, generations, runs, estimator, fixed, fit_kwargs, seed, n_jobs, out_dir,
         tag, progress):
    """One simulation, cached on disk under a name that encodes every setting.

    Chunks hold 100 runs; fewer runs (the quick size) are split into five
    chunks, so that a small run goes through the same parallel, checkpointed
    path as the full one.
    """
    chunk_size = 100 if runs >= 100 else max(1, -(-runs // 5))
    settings = json.dumps([repr(dist), n, generations, runs, estimator, fixed, fit_kwargs,
                           seed, chunk_size], sort_keys=True, default=str)
    tag = f"{tag}-{hashlib.sha256(settings.encode()).hexdigest()[:12]}"
    path = os.path.join(out_dir, "data", f"{tag}.npz")
    if os.path.exists(path):
        try:
            return SimulationResult.load(path)
        except ValueError as exc:  # truncated or corrupted: recompute it (from the checkpoint)
            warnings.warn(f"{exc} It is recomputed.", PLEWarning, stacklevel=3)
    sim = simulate(dist, n=n, generations=generations, runs=runs, estimator=estimator,
                   fixed=fixed, fit_kwargs=fit_kwargs or None,
                   rng=np.random.SeedSequence(seed), n_jobs=n_jobs,
                   chunk_size=chunk_size,
                   checkpoint=os.path.join(out_dir, "checkpoints", tag), progress=progress)
    sim.save(path)
    return sim


def _rows(sim, tag, param):
    table = sim.summary(param)
    rows = []
    for g in range(sim.generations + 1):
        row = {"panel": tag, "family": sim.family, "estimator": sim.estimator, "param": param}
        for key, values in table.items():
            row[key] = values[g].item() if hasattr(values[g], "item") else values[g]
        rows.append(row)
    return rows


def reproduce_madness(out="results/madness", *, runs=None, generations=None, m=None,
                      quick=False, n_jobs=1, seed=0, progress=None):
    """Figure 4: MLE vs PLE refitted on their own samples, six families.

    For every family of :data:`MADNESS_PANELS`, simulates the replace loop
    under the MLE and the PLE and plots, per generation, the mean ± standard
    error over runs (band), the median (dashed) and the exact expectation
    where it is known (dotted), in two figures: the parameter itself
    (``madness.png``) and its logarithm (``madness_log.png``, the honest view:
    an unbiased estimator keeps the mean, not the typical path).

    Parameters
    ----------
    out : str
        Output directory (created); simulations are cached and checkpointed
        under it, so an interrupted run resumes.
    runs : int, optional
        Runs per family (default: the paper's, 100 or 1000; quick: 50).
    generations : int, optional
        Generations after the truth (the paper does not say; default 100;
        quick: 15).
    m : int, optional
        Synthetic data sets of the bootstrap PLE, at least 2 (default 100;
        quick: 20).
    quick : bool
        A small version (50 runs, 15 generations, m = 20) that runs in seconds.
        It changes the defaults only: ``runs``, ``generations`` and ``m`` given
        explicitly are used as given.
    n_jobs : int
        Worker processes per simulation.
    seed : int
        Root seed.
    progress : bool, optional
        Progress bars (default: when stderr is a terminal).

    Returns
    -------
    dict
        Paths of the written files.
    """
    from .._result import import_matplotlib
    from .._validation import as_int

    # quick changes the defaults only; an explicit value always wins
    runs = (50 if quick else None) if runs is None else as_int(runs, "runs", minimum=1)
    generations = ((15 if quick else 100) if generations is None
                   else as_int(generations, "generations", minimum=1))
    m = (20 if quick else None) if m is None else as_int(m, "m", minimum=2)
    plt = import_matplotlib()
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    started = time.perf_counter()
    sims, rows, timings = {}, [], {}
    for i, panel in enumerate(MADNESS_PANELS):
        family = type(panel.dist).__name__
        panel_runs = runs or panel.runs
        for estimator in ("mle", "ple"):
            kwargs = dict(panel.ple_kwargs) if estimator == "ple" else {}
            if m is not None and "m" in kwargs:
                kwargs["m"] = m
            tag = f"{family}-{estimator}"
            t0 = time.perf_counter()
            sim = _run(panel.dist, panel.n, generations, panel_runs, estimator, panel.fixed,
                       kwargs, [seed, i], n_jobs, out, tag, progress)
            timings[tag] = round(time.perf_counter() - t0, 3)
            sims[tag] = sim
            rows += _rows(sim, family, panel.param)
    paths = {"csv": write_csv(os.path.join(out, "madness.csv"), rows)}
    for log in (False, True):
        fig, axes = plt.subplots(2, 3, figsize=(13, 7), constrained_layout=True)
        for ax, panel in zip(axes.ravel(), MADNESS_PANELS):
            family = type(panel.dist).__name__
            for estimator in ("mle", "ple"):
                sim = sims[f"{family}-{estimator}"]
                if log and np.any(sim.values(panel.param) <= 0):
                    continue
                sim.plot(panel.param, ax=ax, color=_COLORS[estimator], log=log)
            ax.set_title(f"{panel.title}, n = {panel.n}")
        axes.ravel()[0].legend(fontsize=7)
        fig.suptitle("Recursive refitting: MLE vs PLE (mean ± s.e. band, median dashed, "
                     "exact expectation dotted)" + (" — log scale" if log else ""))
        stem = "madness_log" if log else "madness"
        paths[stem] = save_figure(fig, out, stem)
        plt.close(fig)
    settings = [{"family": type(p.dist).__name__, "truth": p.dist.params._asdict(), "n": p.n,
                 "runs": runs or p.runs, "fixed": p.fixed, "ple": p.ple_kwargs | (
                     {"m": m} if m and "m" in p.ple_kwargs else {})}
                for p in MADNESS_PANELS]
    paths["json"] = write_json(os.path.join(out, "madness.json"), {
        "figure": "paper Figure 4", "generations": generations, "seed": seed,
        "panels": settings, "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 3),
    })
    return paths


def reproduce_gaussian_std(out="results/gaussian-std", *, runs=None, generations=None, n=20,
                           quick=False, n_jobs=1, seed=0, progress=None):
    """Figure 5: the Gaussian standard deviation under MLE, PLE ("variance") and PLE ("sigma").

    Standard normal truth, analytic estimators, ``runs`` runs (default 100)
    over ``generations`` generations (default 100). The paper's PLE is unbiased
    for the variance; the ``"sigma"`` parametrisation, unbiased for the
    standard deviation, is shown beside it. ``quick=True`` changes the defaults
    to 50 runs and 15 generations; values given explicitly are used as given.

    Returns
    -------
    dict
        Paths of the written files.
    """
    from .._result import import_matplotlib
    from .._validation import as_int

    # quick changes the defaults only; an explicit value always wins
    runs = (50 if quick else 100) if runs is None else as_int(runs, "runs", minimum=1)
    generations = ((15 if quick else 100) if generations is None
                   else as_int(generations, "generations", minimum=1))
    plt = import_matplotlib()
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    variants = {
        "mle": ("mle", {}),
        "ple": ("ple", {"parametrization": "variance"}),
        "ple-sigma": ("ple", {"parametrization": "sigma"}),
    }
    sims, rows = {}, []
    for j, (tag, (estimator, kwargs)) in enumerate(variants.items()):
        sims[tag] = _run(Gaussian(mu=0.0, sigma=1.0), n, generations, runs, estimator, {},
                         kwargs, [seed, j], n_jobs, out, f"Gaussian-{tag}", progress)
        rows += [dict(r, estimator=tag) for r in _rows(sims[tag], "Gaussian", "sigma")]
    paths = {"csv": write_csv(os.path.join(out, "gaussian_std.csv"), rows)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    labels = {"mle": "MLE", "ple": "PLE (variance)", "ple-sigma": "PLE (sigma)"}
    for log, ax in zip((False, True), axes):
        for tag, sim in sims.items():
            sim.plot("sigma", ax=ax, label=labels[tag], color=_COLORS[tag], log=log)
        ax.set_title(f"Gaussian σ, n = {n}, {runs} runs" + (" (log)" if log else ""))
    axes[0].legend(fontsize=7)
    paths["figure"] = save_figure(fig, out, "gaussian_std")
    plt.close(fig)
    paths["json"] = write_json(os.path.join(out, "gaussian_std.json"), {
        "figure": "paper Figure 5", "n": n, "runs": runs, "generations": generations,
        "seed": seed})
    return paths
