"""The fairness part of the deep ablation: Table 1's R_fair over the same grid of cells.

For one imbalance ratio, every cell of :func:`~ple_stats.experiments._deep_ablation.ablation_grid`
is trained once per seed on all images of the majority class and ``round(|maj| / R_I)`` of
the minority class (the same training set for every cell at a seed), and
:math:`R_{fair} = \\mathrm{FID}_{min} / \\mathrm{FID}_{maj}` of its generated images is
compared with the λ = 0 Hyper-VAE's by the same paired analysis as the collapse.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .._fairness import fairness_ratio
from .._lib.executor import execute
from .._lib.files import digest
from .._lib.store import CheckpointStore
from ._fairness import (_check_class, _check_ratios, _classifier_from_state, _features, _fid,
                        _subsample, classify_pair)

__all__ = ["run_fairness_part"]

MAJORITY, MINORITY = 3, 6


def _unit(setup, cell, seed_parts):
    import torch

    from ._deep_ablation import _train_cell

    before = torch.get_num_threads()
    torch.set_num_threads(setup["threads"])
    try:
        device = setup["device"]
        x, y, maj, mino = setup["x"], setup["y"], setup["majority"], setup["minority"]
        x_train, _ = _subsample(x, y, maj, mino, setup["ratio"], seed_parts + [1])
        samples, info = _train_cell(cell, x_train, setup["n_generated"], setup["train"],
                                    seed_parts + [2], device)
        _, feats, _, _, assigned = classify_pair(setup, samples)
        fm = _fid(feats[assigned == maj], setup["real_features"][maj])
        fn = _fid(feats[assigned == mino], setup["real_features"][mino])
        ok = np.isfinite(fm) and np.isfinite(fn) and fm > 0 and fn > 0
        return {"r_fair": fairness_ratio(fm, fn) if ok else math.nan, "fid_majority": fm,
                "fid_minority": fn, "n_minority": int(np.sum(assigned == mino)),
                "n_train": int(x_train.shape[0]),
                "penalty_share": float(info["penalty_share"]),
                "train_seconds": float(info["train_seconds"])}
    finally:
        torch.set_num_threads(before)


def run_fairness_part(out, *, cells, seeds, ratio, x, y, train, n_generated, clf_state,
                      clf_info, data_key, device, threads, n_jobs, seed, progress):
    """R_fair per (cell, seed) at ``ratio``, cached under ``out/cache``; returns the unit rows
    and ``{cell name: array of R_fair over seeds}``."""
    _check_class(MAJORITY, y, "majority")
    _check_class(MINORITY, y, "minority")
    ratio = _check_ratios((ratio,), x, y, MAJORITY, MINORITY)[0]
    clf = _classifier_from_state(clf_state, x.shape[1], len(clf_info["classes"]), device)
    real = {c: _features(clf, x[y == c], device)[0] for c in (MAJORITY, MINORITY)}
    setup = {"x": x, "y": y, "majority": MAJORITY, "minority": MINORITY, "ratio": ratio,
             "n_generated": n_generated, "train": train, "classifier": clf_state,
             "classes": clf_info["classes"], "real_features": real, "device": device,
             "threads": threads}
    key = {"experiment": "deep-ablation-fairness", "data": data_key, "ratio": ratio,
           "n_generated": n_generated, "train": train, "seed": seed,
           "classifier": clf_info["test_accuracy"]}
    units, names, tasks = [], [], []
    for s in range(seeds):
        for cell in cells:
            units.append((cell, s))
            names.append(f"{cell.name}-s{s}")
            tasks.append((setup, cell, [seed, 29, int(round(float(ratio) * 1000)), s]))
    store = CheckpointStore(os.path.join(out, "cache", "deep-ablation-fairness-"
                                         + digest(key, 12)), key, names=names)
    results = execute(_unit, tasks, n_jobs=n_jobs, store=store, progress=progress,
                      desc="deep-ablation fairness", unit="unit")
    rows = [{"cell": c.name, "seed": s, "ratio": ratio, **{k: v for k, v in r.items()}}
            for (c, s), r in zip(units, results)]
    outcome = {c.name: np.array([r["r_fair"] for (cc, _), r in zip(units, results) if cc == c])
               for c in cells}
    return ratio, rows, outcome
