"""Deep MADness: VAE vs Hyper-VAE (PLE) refitted on their own samples (paper Figure 2 analogue)."""

from __future__ import annotations

import math
import os
import time

import numpy as np

from .._fairness import frechet_distance
from .._lib.executor import check_executor, execute
from .._lib.files import digest
from .._lib.store import CheckpointStore
from .._validation import as_int
from ._fairness import (_LABELS, _COLORS, MODELS, _cached_classifier, _classifier_from_state,
                        _features, _load_avg, _mean, _se, _setup_torch,
                        resolve_images, resolve_models, train_and_sample,
                        training_settings)
from ._io import save_figure, write_csv, write_json

__all__ = ["reproduce_deep_madness"]

_TRAIN = {"steps": 1500, "batch_size": 64, "lr": 1e-3, "latent": 8,
          "hidden": (64, 48, 32, 32), "likelihood": "bernoulli", "m": 1,
          "hyper_hidden": (32, 64, 96)}
_QUICK_TRAIN = {"steps": 30, "batch_size": 32}


def _chain_unit(setup, model, seed_parts, store_args):
    """One chain: generation 1 trained on the real images, generation t on generation t-1's.

    Every generation is saved in the checkpoint store ``store_args = (folder,
    key)`` as it finishes, so an interrupted chain resumes at its last
    finished generation.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(setup["threads"])
    try:
        device = setup["device"]
        x = setup["x"]
        clf = _classifier_from_state(setup["classifier"], x.shape[1], setup["n_classes"],
                                     device)
        real = setup["real_features"]
        data = x
        out = {k: [] for k in ("fid", "final_loss", "penalty", "train_seconds")}
        shown = []
        folder, key = store_args
        store = CheckpointStore(folder, key, names=[
            f"{model}-s{seed_parts[-1]}-g{t}" for t in range(1, setup["generations"] + 1)])
        for t in range(1, setup["generations"] + 1):
            saved = store.load(t - 1)
            if saved is not None:
                samples = saved.pop("samples")
                info = saved
            else:
                samples, info = train_and_sample(model, data, setup["n_generated"],
                                                 setup["train"], seed_parts + [t], device)
                feats, _ = _features(clf, samples, device)
                info["fid"] = frechet_distance(feats, real)
                store.save(t - 1, {"samples": samples.astype(np.float32),
                                   **{k: float(info[k]) for k in ("fid", "final_loss",
                                                                  "penalty", "train_seconds")}})
            for k in out:
                out[k].append(info[k])
            shown.append(np.asarray(samples[:8], dtype=np.float32))
            data = np.clip(np.asarray(samples, dtype=np.float64), 0.0, 1.0)
        return {**{k: np.asarray(v, dtype=float) for k, v in out.items()},
                "samples": np.stack(shown)}
    finally:
        torch.set_num_threads(before)


def reproduce_deep_madness(out="results/deep-madness", *, generations=None, seeds=None,
                           models=("vae", "hyper-vae"), images=None, labels=None, steps=None,
                           batch_size=None, n_generated=None, quick=False, device=None,
                           n_jobs=1, threads=1, seed=0, progress=None):
    r"""Figure 2 analogue: VAE and Hyper-VAE refitted on their own samples, FID per generation.

    The fully synthetic ("replace") loop of SPEC §5: generation 1 is trained on
    the real images, generation :math:`t` on ``n_generated`` images generated
    by generation :math:`t-1` (decoder means, in [0, 1]); each generation is
    a fresh model (new initialisation), trained for the same number of steps.
    After each generation the FID between its generated images and the real
    images is measured in the evaluation classifier's feature space; the
    figure shows mean ± standard error over seeds per generation, with the
    FID between two random halves of the real data as the noise floor.

    Parameters
    ----------
    out : str
        Output directory; every generation of every chain is cached under
        ``out/cache`` as it finishes, so an interrupted run resumes (and a rerun
        with more ``generations`` continues the cached chains).
    generations : int, optional
        Generations per chain (default 5; quick: 2).
    seeds : int, optional
        Independent chains per model (default 3; quick: 1).
    models : sequence of str, default ("vae", "hyper-vae")
        As in :func:`~ple_stats.experiments.reproduce_fairness` (``"hyper-vae-mle"``
        is the λ = 0 ablation).
    images, labels : array_like, optional
        Any images in [0, 1] and labels (the labels train the evaluation
        classifier only); default: scikit-learn's 8×8 digits, all 10 classes.
    steps, batch_size : int, optional
        Optimiser steps and images per step per generation (default 1500 and
        64; quick: 30 and 32).
    n_generated : int, optional
        Images generated per generation (default: as many as real images).
    quick : bool
        A tiny version that runs in seconds. It changes the defaults only: a
        setting given explicitly is used as given.
    device : str, optional
        ``None``: CUDA when available, else CPU.
    n_jobs : int, default 1
        Worker processes over chains (joblib).
    threads : int, default 1
        Torch intra-op threads per chain.
    seed : int, default 0
        Root seed.
    progress : bool, optional
        Progress bar over chains (default: when stderr is a terminal).

    Returns
    -------
    dict
        Paths of the written files: ``csv``, ``json``, ``figure`` (PNG and PDF).
    """
    from .._result import import_matplotlib

    plt = import_matplotlib()
    device = _setup_torch(device)
    # quick changes the defaults only; an explicit value always wins
    generations = (2 if quick else 5) if generations is None else generations
    seeds = (1 if quick else 3) if seeds is None else seeds
    generations = as_int(generations, "generations", minimum=1)
    seeds = as_int(seeds, "seeds", minimum=1)
    n_jobs, _ = check_executor(n_jobs)
    threads = as_int(threads, "threads", minimum=1)
    models = resolve_models(models)
    x, y, data_name = resolve_images(images, labels, "sklearn digits 8x8 (all classes)")
    n_generated = x.shape[0] if n_generated is None else as_int(n_generated, "n_generated",
                                                                 minimum=2)
    train = training_settings(_TRAIN, _QUICK_TRAIN, quick, steps, batch_size)
    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    load_start = _load_avg()

    # (the cache key leaves out `generations`: chains can grow)
    clf_info, floor, key, folder, setup = chain_setup(
        "deep-madness", out, x, y, seed, device, quick, n_generated=n_generated, train=train,
        generations=generations, threads=threads)
    chains, names, tasks = [], [], []
    for model in models:
        for s in range(seeds):
            chains.append((model, s))
            names.append(f"{model}-s{s}-G{generations}")
            tasks.append((setup, model, [seed, 7, s], (folder, key)))
    store = CheckpointStore(folder, key, names=names)
    results = execute(_chain_unit, tasks, n_jobs=n_jobs, store=store, progress=progress,
                      desc="deep-madness", unit="chain")

    rows = []
    for model in models:
        runs = [res for (m, _), res in zip(chains, results) if m == model]
        fid = np.stack([r["fid"] for r in runs])
        for t in range(generations):
            rows.append({"model": model, "generation": t + 1, "seeds": len(runs),
                         "fid_mean": _mean(fid[:, t]), "fid_se": _se(fid[:, t]),
                         "fid_median": float(np.median(fid[:, t])),
                         "fid_real_split_half": floor,
                         "train_seconds_mean": _mean([r["train_seconds"][t] for r in runs])})
    per_seed = [{"model": m, "seed": s, "generation": t + 1, "fid": float(res["fid"][t]),
                 "final_loss": float(res["final_loss"][t]), "penalty": float(res["penalty"][t]),
                 "train_seconds": round(float(res["train_seconds"][t]), 3)}
                for (m, s), res in zip(chains, results) for t in range(generations)]
    paths = {"csv": write_csv(os.path.join(out, "deep_madness.csv"), rows),
             "units_csv": write_csv(os.path.join(out, "deep_madness_units.csv"), per_seed)}

    side = int(round(math.sqrt(x.shape[1])))
    square = side * side == x.shape[1]
    n_rows = 1 + (len(models) if square else 0)
    fig = plt.figure(figsize=(max(7, 1.2 * generations + 2), 3.8 + 1.2 * (n_rows - 1)),
                     constrained_layout=True)
    grid = fig.add_gridspec(n_rows, generations, height_ratios=[3.2] + [1] * (n_rows - 1))
    ax = fig.add_subplot(grid[0, :])
    gens = np.arange(1, generations + 1)
    for model in models:
        sel = [r for r in rows if r["model"] == model]
        se = [0.0 if not np.isfinite(r["fid_se"]) else r["fid_se"] for r in sel]
        ax.errorbar(gens, [r["fid_mean"] for r in sel], yerr=se, marker="o", capsize=3,
                    color=_COLORS[model], label=_LABELS[model])
    ax.axhline(floor, ls="--", color="0.5", label="real vs real (split halves)")
    ax.set_xticks(gens)
    ax.set_xlabel("generation (1: trained on real data)")
    ax.set_ylabel("FID to the real images")
    ax.set_title(f"Refitting on own samples: mean ± s.e. over {seeds} seed(s)")
    ax.legend(fontsize=8)
    if square:
        for row, model in enumerate(models, start=1):
            res = next(r for (m, s), r in zip(chains, results) if m == model and s == 0)
            for t in range(generations):
                a = fig.add_subplot(grid[row, t])
                a.imshow(res["samples"][t, 0].reshape(side, side), cmap="gray_r", vmin=0,
                         vmax=1)
                a.set_xticks([])
                a.set_yticks([])
                if t == 0:
                    a.set_ylabel(_LABELS[model], fontsize=6, rotation=0, ha="right",
                                 va="center")
    paths["figure"] = save_figure(fig, out, "deep_madness")
    plt.close(fig)
    total = time.perf_counter() - started
    paths["json"] = write_json(os.path.join(out, "deep_madness.json"), {
        "figure": "paper Figure 2 analogue (CPU-sized: VAE on 8x8 digits, not BigGAN)",
        "data": data_name, "n_images": int(x.shape[0]), "generations": generations,
        "seeds": seeds, "models": list(models),
        "penalty_lambda": {m: MODELS[m] for m in models}, "train": train,
        "n_generated": n_generated, "classifier": clf_info, "fid_real_split_half": floor,
        "device": device, "torch_threads": threads, "n_jobs": n_jobs, "seed": seed,
        "quick": quick, "seconds": {"total": round(total, 3)},
        "load_average": {"start": load_start, "end": _load_avg()},
    })
    return paths


def chain_setup(experiment, out, x, y, seed, device, quick, *, n_generated, train,
                generations, threads):
    """What every refitting chain of a deep experiment on ``(x, y)`` shares: the cached
    classifier and its features of the real images, the FID between two random halves of
    them (the noise floor), the cache key and folder (named by ``experiment``; not by
    the number of chains, seeds or generations, which can grow), and the ``setup`` the
    chains are given. Returns ``(classifier info, floor, key, folder, setup)``."""
    import hashlib

    clf_state, clf_info = _cached_classifier(out, x, y, seed, device, quick)
    clf = _classifier_from_state(clf_state, x.shape[1], len(clf_info["classes"]), device)
    real_features = _features(clf, x, device)[0]
    half = np.random.default_rng(np.random.SeedSequence([seed, 99])).permutation(x.shape[0])
    floor = frechet_distance(real_features[half[: x.shape[0] // 2]],
                             real_features[half[x.shape[0] // 2:]])
    key = {"experiment": experiment,
           "data": hashlib.sha256(np.ascontiguousarray(x).tobytes()
                                  + np.asarray(y).tobytes()).hexdigest()[:12],
           "n_generated": n_generated, "train": train, "seed": seed,
           "classifier": clf_info["test_accuracy"]}
    folder = os.path.join(out, "cache", f"{experiment}-" + digest(key, 12))
    setup = {"x": x, "n_generated": n_generated, "train": train, "classifier": clf_state,
             "n_classes": len(clf_info["classes"]), "real_features": real_features,
             "generations": generations, "device": device, "threads": threads}
    return clf_info, floor, key, folder, setup

