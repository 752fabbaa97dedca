"""Deep ablation: does the PLE penalty change how fast a deep generative model collapses?

The deep-MADness loop (:func:`~ple_stats.experiments.reproduce_deep_madness`)
run over a grid of the penalty's settings, every cell paired by seed with the
Hyper-VAE at λ = 0, analysed by a plan fixed before the run (docs/fairness.rst,
"Deep ablation"): one primary outcome, paired t-tests against λ = 0, Holm's
correction over the grid, mean differences with confidence intervals, and the
plain VAE against the λ = 0 Hyper-VAE as the fair baseline of the hypernetwork.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from .._fairness import frechet_distance
from .._lib.executor import check_executor, execute
from .._lib.files import atomic_write
from .._lib.store import CheckpointStore
from .._validation import as_int
from ._deep_madness import chain_setup
from ._fairness import (_classifier_from_state, _features, _load_avg,
                        _mean, _se, _seed_int, _setup_torch, resolve_images,
                        training_settings)
from ._io import save_figure, write_csv, write_json

__all__ = ["AblationCell", "ablation_grid", "CONTROL", "PLAIN_VAE", "BIG_LAMBDA",
           "BIG_LAMBDA_L2", "paired_comparisons", "paired_t_power", "seeds_needed",
           "detectable_effect", "primary_outcome", "reproduce_deep_ablation"]

#: The λ of the l1 penalty at which it is a sizeable share of the loss: measured on the
#: digits (300 steps, m = 1), λ · penalty is 11 % of the loss averaged over training
#: (5 % at the end); at λ = 10 it is 0.02 %, at λ = 0.1 under 10^-5.
BIG_LAMBDA = 1e5
#: The same for the l2 form (the squared gap is about 10^-3 times the l1 one).
BIG_LAMBDA_L2 = 1e8

#: The pre-registered analysis (docs/fairness.rst, "Deep ablation").
ALPHA = 0.05
POWER = 0.8
#: The smallest effect of interest: this fraction of the λ = 0 control's primary outcome
#: (the suggestive generation-3 difference of the deep-MADness run was 16 %).
MIN_EFFECT_FRACTION = 0.15

_TRAIN = {"steps": 300, "batch_size": 64, "lr": 1e-3, "latent": 8,
          "hidden": (64, 48, 32, 32), "likelihood": "bernoulli",
          "hyper_hidden": (32, 64, 96)}
_QUICK_TRAIN = {"steps": 30, "batch_size": 32}
#: 30 seeds: the power plan of docs/fairness.rst (pilot sd 18.0 FID, effect 12.7 FID,
#: α = 0.05 / 7, 80 %: 29 seeds).
_DEFAULT = {"seeds": 30, "generations": 3, "n_images": None}
_QUICK = {"seeds": 2, "generations": 2, "n_images": 300}


@dataclass(frozen=True)
class AblationCell:
    """One setting of the grid: the penalty weight, m, detached synthetic data, the form.

    ``penalty=None`` is the plain VAE (no hypernetwork); ``penalty=0`` the
    Hyper-VAE trained on the ELBO alone (the control: m, detach and form do
    not apply to it).
    """

    penalty: float | None
    m: int = 1
    detach: bool = False
    form: str = "l1"

    @property
    def name(self):
        """A file-safe name, e.g. ``lam100000-m4-l1`` or ``lam0`` or ``vae``."""
        if self.penalty is None:
            return "vae"
        if self.penalty == 0:
            return "lam0"
        return (f"lam{self.penalty:g}-m{self.m}-{self.form}"
                + ("-detached" if self.detach else ""))

    @property
    def label(self):
        if self.penalty is None:
            return "VAE"
        if self.penalty == 0:
            return "Hyper-VAE, λ = 0"
        return (f"λ = {self.penalty:g}, m = {self.m}, {self.form}"
                + (", detached" if self.detach else ""))


PLAIN_VAE = AblationCell(None)
CONTROL = AblationCell(0.0)


def ablation_grid(lambdas=(0.1, 1.0, 10.0), *, big=BIG_LAMBDA, big_l2=BIG_LAMBDA_L2):
    """The cells of the ablation: the plain VAE, the λ = 0 control and the penalty cells.

    A one-factor-at-a-time design around the base setting (m = 1, gradient
    through the synthetic data, ``"l1"``): the λ sweep ``lambdas + (big,)``,
    then at ``big`` each of m = 4, detached synthetic data, and the ``"l2"``
    form (at ``big_l2``, where its share of the loss is comparable).
    The full factorial (32 penalty cells) would need 4.6 times the seeds'
    compute for the same power.

    >>> [c.name for c in ablation_grid()]  # doctest: +NORMALIZE_WHITESPACE
    ['vae', 'lam0', 'lam0.1-m1-l1', 'lam1-m1-l1', 'lam10-m1-l1', 'lam100000-m1-l1',
     'lam100000-m4-l1', 'lam100000-m1-l1-detached', 'lam1e+08-m1-l2']
    """
    cells = [PLAIN_VAE, CONTROL]
    for lam in tuple(lambdas) + (big,):
        lam = float(lam)
        if not (math.isfinite(lam) and lam > 0):
            raise ValueError(f"`lambdas` must be positive and finite; got {lam}.")
        cells.append(AblationCell(lam))
    cells += [AblationCell(float(big), m=4), AblationCell(float(big), detach=True),
              AblationCell(float(big_l2), form="l2")]
    if len({c.name for c in cells}) != len(cells):
        raise ValueError(f"the grid's cells must be distinct; got {[c.name for c in cells]}.")
    return tuple(cells)


# --------------------------------------------------------------------------- analysis


def primary_outcome(fid):
    """The primary outcome: the area under the FID curve per generation, as its mean.

    ``fid`` has shape ``(..., generations)``; returns shape ``(...)``.
    """
    return np.asarray(fid, dtype=float).mean(axis=-1)


def paired_t_power(n, effect, sd, *, alpha=ALPHA):
    """Power of the two-sided paired t-test with ``n`` pairs, true mean difference ``effect``
    and standard deviation of the differences ``sd`` (the noncentral t)."""
    from scipy import stats

    n = as_int(n, "n", minimum=2)
    df = n - 1
    ncp = abs(effect) / sd * math.sqrt(n)
    crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def seeds_needed(effect, sd, *, alpha=ALPHA, power=POWER, comparisons=1, max_seeds=10_000):
    """Smallest number of seeds for which the paired t-test at ``alpha / comparisons``
    (Bonferroni: the first, strictest step of Holm's procedure, so Holm's power is at
    least this) detects ``effect`` with at least ``power``.

    >>> seeds_needed(1.0, 1.0)          # d = 1 at 5 %, 80 %: the textbook 10
    10
    """
    if not (sd > 0 and effect != 0):
        raise ValueError(f"`sd` must be positive and `effect` non-zero; got {sd}, {effect}.")
    level = alpha / as_int(comparisons, "comparisons", minimum=1)
    for n in range(2, max_seeds + 1):
        if paired_t_power(n, effect, sd, alpha=level) >= power:
            return n
    raise ValueError(f"more than {max_seeds} seeds are needed.")


def detectable_effect(n, sd, *, alpha=ALPHA, power=POWER, comparisons=1):
    """The smallest mean difference detected with ``power`` by ``n`` seeds (see
    :func:`seeds_needed`)."""
    level = alpha / as_int(comparisons, "comparisons", minimum=1)
    lo, hi = 0.0, sd
    while paired_t_power(n, hi, sd, alpha=level) < power:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if paired_t_power(n, mid, sd, alpha=level) < power else (lo, mid)
    return hi


def _paired(d, alpha, k):
    from scipy import stats

    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    n = d.size
    row = {"n": n, "mean_diff": float(d.mean()) if n else math.nan}
    if n < 2:
        return {**row, "sd_diff": math.nan, "se": math.nan, "t": math.nan, "p": math.nan,
                "ci_low": math.nan, "ci_high": math.nan, "sim_ci_low": math.nan,
                "sim_ci_high": math.nan}
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    if se > 0:
        t = row["mean_diff"] / se
        p = float(2 * stats.t.sf(abs(t), n - 1))
    else:
        t, p = (0.0, 1.0) if row["mean_diff"] == 0 else (math.copysign(math.inf, row["mean_diff"]), 0.0)
    q = stats.t.ppf(1 - alpha / 2, n - 1)
    qs = stats.t.ppf(1 - alpha / (2 * k), n - 1)
    return {**row, "sd_diff": sd, "se": se, "t": t, "p": p,
            "ci_low": row["mean_diff"] - q * se, "ci_high": row["mean_diff"] + q * se,
            "sim_ci_low": row["mean_diff"] - qs * se, "sim_ci_high": row["mean_diff"] + qs * se}


def paired_comparisons(outcomes, control, cells=None, *, alpha=ALPHA):
    """Each cell against ``control``, paired by seed; Holm's correction over the cells.

    Parameters
    ----------
    outcomes : dict of str to array_like of shape (seeds,)
        The outcome of each cell per seed (seed ``i`` of every cell is entry
        ``i``; a NaN drops that seed's pair).
    control : str
        The key of the control.
    cells : sequence of str, optional
        The cells compared (the family of the correction); default: every key
        but ``control``.
    alpha : float, default 0.05

    Returns
    -------
    list of dict
        Per cell: ``n`` pairs, ``mean_diff`` (cell − control), ``sd_diff``,
        ``se``, ``t``, ``p`` (two-sided paired t), ``p_holm`` and ``reject``
        (Holm over the family, by :func:`statsmodels.stats.multitest.multipletests`),
        the ``ci_low``/``ci_high`` 95 % interval of the mean difference, the
        simultaneous (Bonferroni, level ``alpha / k``) ``sim_ci_low``/``sim_ci_high``,
        ``relative`` (mean difference / control mean, with ``rel_ci_low`` /
        ``rel_ci_high``) and ``dz`` (mean / sd of the differences).
    """
    from .._lib.optional import import_optional

    multitest = import_optional("statsmodels.stats.multitest", "the deep ablation's analysis")
    base = np.asarray(outcomes[control], dtype=float)
    cells = [c for c in outcomes if c != control] if cells is None else list(cells)
    if not cells:
        raise ValueError("`cells` must hold at least one cell besides the control.")
    k = len(cells)
    rows = []
    for cell in cells:
        y = np.asarray(outcomes[cell], dtype=float)
        if y.shape != base.shape:
            raise ValueError(f"outcome of {cell!r} has shape {y.shape}, the control "
                             f"{base.shape}: the cells must share the seeds.")
        row = {"cell": cell, **_paired(y - base, alpha, k)}
        ok = np.isfinite(y - base)
        ref = float(base[ok].mean()) if ok.any() else math.nan
        row["control_mean"] = ref
        row["cell_mean"] = float(y[ok].mean()) if ok.any() else math.nan
        row["relative"] = row["mean_diff"] / ref
        row["rel_ci_low"] = row["ci_low"] / ref
        row["rel_ci_high"] = row["ci_high"] / ref
        row["dz"] = (row["mean_diff"] / row["sd_diff"] if row["sd_diff"] > 0
                     else math.nan)
        rows.append(row)
    p = np.array([r["p"] for r in rows])
    finite = np.isfinite(p)
    p_holm = np.full(k, math.nan)
    reject = np.zeros(k, dtype=bool)
    if finite.any():
        reject[finite], p_holm[finite], _, _ = multitest.multipletests(p[finite], alpha=alpha,
                                                                       method="holm")
    for row, ph, rj in zip(rows, p_holm, reject):
        row["p_holm"] = float(ph)
        row["reject"] = bool(rj)
    return rows


# --------------------------------------------------------------------------- training


def _train_cell(cell, x_train, n_generated, train, seed, device):
    """Train ``cell`` on ``x_train``; ``(generated images, info)``.

    The seeds are derived as in :func:`~ple_stats.experiments._fairness.train_and_sample`,
    so every cell of a seed starts from the same VAE (and hypernetwork) initialisation.
    """
    import torch

    from ..hyper.models import VAE, HyperVAE, fit_vae

    vae = VAE(x_train.shape[1], latent=train["latent"], hidden=tuple(train["hidden"]),
              likelihood=train["likelihood"], seed=_seed_int(seed, 1))
    started = time.perf_counter()
    gen = torch.Generator(device=device).manual_seed(_seed_int(seed, 3))
    if cell.penalty is None:
        losses = fit_vae(vae, x_train, steps=train["steps"], batch_size=train["batch_size"],
                         lr=train["lr"], seed=_seed_int(seed, 2), device=device,
                         progress=False)
        info = {"final_loss": losses[-1], "penalty": math.nan, "penalty_share": math.nan}
        with torch.no_grad():
            samples = vae.eval().sample(n_generated, generator=gen)
    else:
        hyper = HyperVAE(vae, hidden=tuple(train["hyper_hidden"]), seed=_seed_int(seed, 4))
        hist = hyper.fit(x_train, penalty=cell.penalty, m=cell.m, steps=train["steps"],
                         batch_size=train["batch_size"], lr=train["lr"],
                         detach_synthetic=cell.detach, penalty_form=cell.form,
                         seed=_seed_int(seed, 2), device=device, progress=False)
        task = np.asarray(hist.task_loss, dtype=float)
        pen = cell.penalty * np.asarray(hist.penalty, dtype=float)
        share = pen / (task + pen) if cell.penalty > 0 else np.full_like(task, math.nan)
        info = {"final_loss": task[-1], "penalty": hist.penalty[-1],
                "penalty_share": float(np.mean(share))}
        samples = hyper.sample(n_generated, generator=gen)
    info["train_seconds"] = time.perf_counter() - started
    return samples.detach().cpu().numpy().astype(np.float64), info


_FIELDS = ("fid", "final_loss", "penalty", "penalty_share", "train_seconds")


def _chain_unit(setup, cell, seed_parts, store_args):
    """One chain of one cell; every generation is checkpointed as it finishes."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(setup["threads"])
    try:
        device = setup["device"]
        clf = _classifier_from_state(setup["classifier"], setup["x"].shape[1],
                                     setup["n_classes"], device)
        folder, key = store_args
        gens = setup["generations"]
        store = CheckpointStore(folder, key, names=[
            f"{cell.name}-s{seed_parts[-1]}-g{t}" for t in range(1, gens + 1)])
        data = setup["x"]
        out = {k: [] for k in _FIELDS}
        for t in range(1, gens + 1):
            saved = store.load(t - 1)
            if saved is not None:
                samples = saved.pop("samples")
                info = saved
            else:
                samples, info = _train_cell(cell, data, setup["n_generated"], setup["train"],
                                            seed_parts + [t], device)
                info["fid"] = frechet_distance(_features(clf, samples, device)[0],
                                               setup["real_features"])
                store.save(t - 1, {"samples": samples.astype(np.float32),
                                   **{k: float(info[k]) for k in _FIELDS}})
            for k in _FIELDS:
                out[k].append(info[k])
            data = np.clip(np.asarray(samples, dtype=np.float64), 0.0, 1.0)
        return {k: np.asarray(v, dtype=float) for k, v in out.items()}
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- the reproduction


def reproduce_deep_ablation(out="results/deep-ablation", *, seeds=None, generations=None,
                            lambdas=(0.1, 1.0, 10.0), big=BIG_LAMBDA, big_l2=BIG_LAMBDA_L2,
                            images=None, labels=None, n_images=None, steps=None,
                            batch_size=None, n_generated=None, fairness_ratio=None,
                            quick=False, device=None, n_jobs=1, threads=1, seed=0,
                            progress=None):
    r"""Does the PLE penalty delay a Hyper-VAE's collapse? A paired, powered ablation.

    Runs the deep-MADness loop (generation 1 trained on the real images,
    generation :math:`t` on ``n_generated`` images of generation
    :math:`t-1`) for every cell of :func:`ablation_grid` (the plain VAE, the
    Hyper-VAE at λ = 0, and the penalty cells) and ``seeds`` seeds; seed
    :math:`s` starts every cell from the same initialisation and data, so the
    comparisons are paired. The analysis (fixed before the run; see
    docs/fairness.rst): the primary outcome is the mean FID over the
    generations (:func:`primary_outcome`); each penalty cell is compared with
    the λ = 0 Hyper-VAE by a paired t-test, with Holm's correction over the
    penalty cells (:func:`paired_comparisons`); the plain VAE against the
    λ = 0 Hyper-VAE (the hypernetwork's own effect) is a separate comparison.

    Cost: the default (9 cells, 30 seeds, 3 generations of 300 steps on the
    1797 digits) is 270 chains, about 195 core-seconds per seed on an idle
    CPU: about 50 min of wall time with ``n_jobs=2`` on 2 idle CPU cores (measured:
    1.9 min per seed with other jobs sharing the machine, about 58 min for 30), and
    at most 90 min; the fairness part adds about 15 min (measured 14.3); ``quick``:
    under a minute.

    Parameters
    ----------
    out : str
        Output directory; every generation of every chain is cached under
        ``out/cache`` as it finishes, so an interrupted run resumes, and a rerun
        with more ``seeds`` computes only the new seeds.
    seeds : int, optional
        Seeds per cell, at least 2 (default 30, from the power plan; quick: 2).
    generations : int, optional
        Generations per chain (default 3; quick: 2).
    lambdas, big, big_l2 : see :func:`ablation_grid`
    images, labels : array_like, optional
        Images in [0, 1] and labels (for the evaluation classifier); default:
        scikit-learn's 8×8 digits.
    n_images : int, optional
        Use the first ``n_images`` of a seeded permutation of the images
        (default: all; quick: 300).
    steps, batch_size : int, optional
        Optimiser steps and images per step per generation (default 300 and
        64; quick: 30 and 32).
    n_generated : int, optional
        Images generated per generation (default: as many as real images).
    fairness_ratio : float, optional
        Also run the fairness part (Table 1's :math:`R_{fair}`, digits 3 and 6 at
        this imbalance ratio, one training per cell and seed, 2000 generated
        images; quick: 200), analysed like the collapse with :math:`R_{fair}` as
        the outcome and its own Holm family. Default: not run (it adds about a
        third to the cost).
    quick : bool
        Changes the defaults only.
    device : str, optional
    n_jobs : int, default 1
        Worker processes over chains.
    threads : int, default 1
        Torch threads per chain.
    seed : int, default 0
    progress : bool, optional

    Returns
    -------
    dict
        Paths: ``csv`` (the analysis), ``units_csv`` (every seed and
        generation), ``curves_csv``, ``markdown``, ``json``, ``figure``.
    """
    from .._lib.optional import import_optional
    from .._result import import_matplotlib

    import_optional("statsmodels.stats.multitest", "the deep ablation's analysis")
    plt = import_matplotlib()
    device = _setup_torch(device)
    sizes = _QUICK if quick else _DEFAULT
    seeds = as_int(sizes["seeds"] if seeds is None else seeds, "seeds", minimum=2)
    generations = as_int(sizes["generations"] if generations is None else generations,
                         "generations", minimum=1)
    n_jobs, _ = check_executor(n_jobs)
    threads = as_int(threads, "threads", minimum=1)
    cells = ablation_grid(lambdas, big=big, big_l2=big_l2)
    x, y, data_name = resolve_images(images, labels, "sklearn digits 8x8 (all classes)")
    n_images = sizes["n_images"] if n_images is None else n_images
    if n_images is not None:
        n_images = as_int(n_images, "n_images", minimum=2)
        if n_images > x.shape[0]:
            raise ValueError(f"`n_images` must be at most the {x.shape[0]} images; got "
                             f"{n_images}.")
        keep = np.sort(np.random.default_rng(np.random.SeedSequence([seed, 23])).permutation(
            x.shape[0])[:n_images])
        x, y = x[keep], y[keep]
    n_generated = x.shape[0] if n_generated is None else as_int(n_generated, "n_generated",
                                                                 minimum=2)
    train = training_settings(_TRAIN, _QUICK_TRAIN, quick, steps, batch_size)
    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    load_start = _load_avg()

    clf_info, floor, key, folder, setup = chain_setup(
        "deep-ablation", out, x, y, seed, device, quick, n_generated=n_generated, train=train,
        generations=generations, threads=threads)
    chains, names, tasks = [], [], []
    for s in range(seeds):  # seed-major: an interrupted run has whole seeds of every cell
        for cell in cells:
            chains.append((cell, s))
            names.append(f"{cell.name}-s{s}-G{generations}")
            tasks.append((setup, cell, [seed, 19, s], (folder, key)))
    store = CheckpointStore(folder, key, names=names)
    results = execute(_chain_unit, tasks, n_jobs=n_jobs, store=store, progress=progress,
                      desc="deep-ablation", unit="chain")

    by_cell = {c.name: [r for (cc, _), r in zip(chains, results) if cc == c] for c in cells}
    fid = {n: np.stack([r["fid"] for r in rs]) for n, rs in by_cell.items()}  # (seeds, G)
    primary = {n: primary_outcome(f) for n, f in fid.items()}
    penalty_cells = [c.name for c in cells if c.penalty]
    grid_rows = paired_comparisons(primary, CONTROL.name, penalty_cells)
    baseline = paired_comparisons(primary, CONTROL.name, [PLAIN_VAE.name])[0]
    labels_of = {c.name: c.label for c in cells}
    cell_of = {c.name: c for c in cells}

    # power, from this run's own spread (the plan's numbers are in the docs)
    sd = float(np.nanmedian([r["sd_diff"] for r in grid_rows]))
    effect = MIN_EFFECT_FRACTION * float(np.mean(primary[CONTROL.name]))
    k = len(penalty_cells)
    power = {"primary": "mean FID over generations 1..G", "alpha": ALPHA, "power": POWER,
             "comparisons": k, "min_effect": effect, "sd_paired_median": sd,
             "seeds": seeds}
    if sd > 0 and np.isfinite(sd):
        power["detectable_effect"] = detectable_effect(seeds, sd, comparisons=k)
        power["seeds_needed_for_min_effect"] = seeds_needed(effect, sd, comparisons=k)
        power["power_at_min_effect"] = paired_t_power(seeds, effect, sd, alpha=ALPHA / k)

    shares = {n: _mean([u["penalty_share"].mean() for u in rs]) for n, rs in by_cell.items()}
    rows = _analysis_rows(grid_rows, baseline, cell_of, shares)
    curves = []
    for c in cells:
        for t in range(generations):
            curves.append({"cell": c.name, "generation": t + 1, "seeds": seeds,
                           "fid_mean": _mean(fid[c.name][:, t]),
                           "fid_se": _se(fid[c.name][:, t]),
                           "fid_real_split_half": floor})
    units = [{"cell": c.name, "seed": s, "generation": t + 1, "fid": float(res["fid"][t]),
              "final_loss": float(res["final_loss"][t]), "penalty": float(res["penalty"][t]),
              "penalty_share": float(res["penalty_share"][t]),
              "train_seconds": round(float(res["train_seconds"][t]), 3)}
             for (c, s), res in zip(chains, results) for t in range(generations)]
    paths = {"csv": write_csv(os.path.join(out, "deep_ablation.csv"), rows),
             "curves_csv": write_csv(os.path.join(out, "deep_ablation_curves.csv"), curves),
             "units_csv": write_csv(os.path.join(out, "deep_ablation_units.csv"), units)}
    fairness = None
    if fairness_ratio is not None:
        from ._deep_ablation_fairness import run_fairness_part

        ratio, fair_units, fair = run_fairness_part(
            out, cells=cells, seeds=seeds, ratio=fairness_ratio, x=x, y=y, train=train,
            n_generated=200 if quick else 2000, clf_state=setup["classifier"], clf_info=clf_info,
            data_key=key["data"], device=device, threads=threads, n_jobs=n_jobs, seed=seed,
            progress=progress)
        fair_shares = {c.name: _mean([u["penalty_share"] for u in fair_units
                                      if u["cell"] == c.name]) for c in cells}
        fairness = {"ratio": ratio, "rows": _analysis_rows(
            paired_comparisons(fair, CONTROL.name, penalty_cells),
            paired_comparisons(fair, CONTROL.name, [PLAIN_VAE.name])[0], cell_of,
            fair_shares)}
        paths["fairness_csv"] = write_csv(os.path.join(out, "deep_ablation_fairness.csv"),
                                          fairness["rows"])
        paths["fairness_units_csv"] = write_csv(
            os.path.join(out, "deep_ablation_fairness_units.csv"), fair_units)
    paths["markdown"] = _write_markdown(os.path.join(out, "deep_ablation.md"), rows, power,
                                        seeds, generations, floor, fairness)
    paths["figure"] = _plot(plt, out, rows, curves, cells, labels_of, generations, floor,
                            seeds, fairness)
    total = time.perf_counter() - started
    seconds = {c.name: round(float(sum(r["train_seconds"].sum() for r in by_cell[c.name])), 2)
               for c in cells}
    paths["json"] = write_json(os.path.join(out, "deep_ablation.json"), {
        "experiment": "deep ablation of the PLE penalty (issue #19)", "data": data_name,
        "n_images": int(x.shape[0]), "generations": generations, "seeds": seeds,
        "cells": [{"name": c.name, "penalty": c.penalty, "m": c.m, "detached": c.detach,
                   "form": c.form} for c in cells],
        "train": train, "n_generated": n_generated, "classifier": clf_info,
        "fid_real_split_half": floor, "analysis": rows, "power": power,
        "fairness": fairness,
        "device": device, "torch_threads": threads, "n_jobs": n_jobs, "seed": seed,
        "quick": quick, "seconds": {"total": round(total, 3), "train_by_cell": seconds},
        "load_average": {"start": load_start, "end": _load_avg()},
    })
    return paths


def _analysis_rows(grid_rows, baseline, cell_of, shares):
    """The rows of the analysis table: the grid's cells (Holm), then the baseline."""
    rows = []
    for r in grid_rows + [dict(baseline, p_holm=math.nan, reject=baseline["p"] < ALPHA)]:
        c = cell_of[r["cell"]]
        rows.append({"cell": r["cell"], "label": c.label,
                     "family": "grid" if c.penalty else "baseline",
                     "penalty": "" if c.penalty is None else c.penalty, "m": c.m,
                     "detached": c.detach, "form": c.form,
                     "penalty_share_mean": shares[r["cell"]],
                     **{k: v for k, v in r.items() if k != "cell"}})
    return rows


def _table(rows):
    lines = ["| cell | penalty share | control | cell | difference [95 % CI] | "
             "simultaneous CI | relative | p | p (Holm) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {_fmt(r['penalty_share_mean'], 4)} | "
            f"{_fmt(r['control_mean'])} | {_fmt(r['cell_mean'])} | "
            f"{_fmt(r['mean_diff'])} [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] | "
            f"[{_fmt(r['sim_ci_low'])}, {_fmt(r['sim_ci_high'])}] | "
            f"{_fmt(100 * r['relative'], 1)} % | {_fmt(r['p'], 3)} | "
            f"{_fmt(r['p_holm'], 3) if r['family'] == 'grid' else '(separate)'} |")
    return lines


def _fmt(v, digits=2):
    return "n/a" if not np.isfinite(v) else f"{v:.{digits}f}"


def _write_markdown(path, rows, power, seeds, generations, floor, fairness=None):
    lines = ["# Deep ablation of the PLE penalty", "",
             f"Primary outcome: mean FID over generations 1..{generations}; {seeds} seeds; "
             f"each cell minus the Hyper-VAE at λ = 0, paired by seed (negative: the cell "
             f"collapses less). Holm over the {power['comparisons']} penalty cells at "
             f"α = {ALPHA}. FID floor (real vs real halves): {floor:.2f}.", ""]
    lines += _table(rows)
    lines += ["", f"Power (from this run's spread): median sd of the paired differences "
              f"{_fmt(power['sd_paired_median'])}; with {seeds} seeds the effect detected "
              f"with 80 % power at α/{power['comparisons']} is "
              f"{_fmt(power.get('detectable_effect', math.nan))} FID "
              f"(minimum effect of interest {_fmt(power['min_effect'])}).", ""]
    if fairness is not None:
        lines += [f"## Fairness: R_fair (digits 3 and 6, R_I = {fairness['ratio']:g})", "",
                  "Each cell minus the Hyper-VAE at λ = 0, paired by seed (negative: the "
                  "cell is fairer); Holm over the penalty cells (its own family).", ""]
        lines += _table(fairness["rows"]) + [""]
    atomic_write(path, "\n".join(lines).encode())
    return path


def _effects_panel(ax, rows, xlabel, title, fontsize=8):
    """Paired differences with their 95 % and simultaneous intervals, one row per cell."""
    ypos = np.arange(len(rows))[::-1]
    for yv, r in zip(ypos, rows):
        color = "tab:blue" if r["family"] == "grid" else "tab:red"
        ax.plot([r["sim_ci_low"], r["sim_ci_high"]], [yv, yv], color=color, lw=1, alpha=0.4)
        ax.errorbar(r["mean_diff"], yv, xerr=[[r["mean_diff"] - r["ci_low"]],
                                              [r["ci_high"] - r["mean_diff"]]],
                    fmt="o", color=color, capsize=3)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(ypos)
    ax.set_yticklabels([r["label"] + (" *" if r["reject"] and r["family"] == "grid" else "")
                        for r in rows], fontsize=fontsize)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)


def _plot(plt, out, rows, curves, cells, labels_of, generations, floor, seeds, fairness=None):
    """The collapse's effects and FID curves; with the fairness part, its effects between
    them (the same cells, in the same rows)."""
    ratios = [1.3] + ([1.0] if fairness else []) + [1.0]
    fig, axes = plt.subplots(1, len(ratios), figsize=(5.5 * len(ratios), 4.6),
                             constrained_layout=True, gridspec_kw={"width_ratios": ratios})
    ax, bx = axes[0], axes[-1]
    _effects_panel(ax, rows, "mean FID over generations: cell − Hyper-VAE (λ = 0)",
                   f"Paired by seed ({seeds} seeds): 95 % CI, faint: simultaneous CI; * Holm")
    if fairness:
        _effects_panel(axes[1], fairness["rows"],
                       "R_fair (FID minority / FID majority): cell − Hyper-VAE (λ = 0)",
                       f"Fairness at R_I = {fairness['ratio']:g} (lower: fairer); * Holm",
                       fontsize=7)
    gens = np.arange(1, generations + 1)
    shades = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(1, len(cells) - 2)))
    styles = {"vae": ("tab:red", "-"), "lam0": ("k", "-")}
    styles.update({c.name: (shades[i], "--") for i, c in enumerate(
        [c for c in cells if c.name not in styles])})
    for c in cells:
        sel = [r for r in curves if r["cell"] == c.name]
        se = [0.0 if not np.isfinite(r["fid_se"]) else r["fid_se"] for r in sel]
        style = styles[c.name]
        bx.errorbar(gens, [r["fid_mean"] for r in sel], yerr=se, marker="o", capsize=2,
                    color=style[0], ls=style[1], lw=1, label=labels_of[c.name])
    bx.axhline(floor, ls=":", color="0.5", label="real vs real")
    bx.set_xticks(gens)
    bx.set_xlabel("generation (1: trained on real data)")
    bx.set_ylabel("FID to the real images")
    bx.legend(fontsize=6)
    paths = save_figure(fig, out, "deep_ablation")
    plt.close(fig)
    return paths
