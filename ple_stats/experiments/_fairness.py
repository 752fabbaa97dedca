"""Fairness of VAE vs Hyper-VAE (PLE) on an imbalanced two-class image set: the paper's Table 1.

Also holds what the deep-MADness reproduction shares with it: loading the
8×8 digits, the evaluation classifier and the FID in its feature space.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from .._fairness import fairness_ratio, frechet_distance, imbalance_ratio
from .._lib.executor import check_executor, execute
from .._lib.files import atomic_write, digest
from .._lib.store import CheckpointStore
from .._validation import as_int
from ._io import save_figure, write_csv, write_json

__all__ = ["reproduce_fairness", "PAPER_TABLE1_RFAIR"]

#: The paper's MNIST fairness ratios (Table 1), for comparison only.
PAPER_TABLE1_RFAIR = {
    "vae": {2: 1.5817, 5: 6.3097, 10: 12.993, 20: 42.641},
    "hyper-vae": {2: 2.1703, 5: 4.4904, 10: 6.650, 20: 14.633},
}

#: Model name -> PLE penalty weight (None: the plain VAE, trained without a hypernetwork).
MODELS = {"vae": None, "hyper-vae": 0.1, "hyper-vae-mle": 0.0}
_LABELS = {"vae": "VAE", "hyper-vae": "Hyper-VAE (PLE, λ = 0.1)",
           "hyper-vae-mle": "Hyper-VAE (λ = 0)"}
_COLORS = {"vae": "tab:red", "hyper-vae": "tab:blue", "hyper-vae-mle": "tab:gray"}

_TRAIN = {"steps": 2000, "batch_size": 64, "lr": 1e-3, "latent": 8,
          "hidden": (64, 48, 32, 32), "likelihood": "bernoulli", "m": 1,
          "hyper_hidden": (32, 64, 96)}
_QUICK_TRAIN = {"steps": 30, "batch_size": 32}


# --------------------------------------------------------------------------- data


def load_digit_images():
    """scikit-learn's bundled 8×8 digits (no download) in [0, 1]: ``(1797, 64)``, labels."""
    from .._lib.optional import import_optional

    datasets = import_optional("sklearn.datasets", "the digits images")
    digits = datasets.load_digits()
    return digits.data / 16.0, digits.target.copy()


def training_settings(defaults, quick_defaults, quick, steps, batch_size):
    """The training settings: ``defaults``, overridden by ``quick_defaults`` when ``quick``,
    then by the caller's ``steps`` and ``batch_size``."""
    train = dict(defaults, **(quick_defaults if quick else {}))
    if steps is not None:
        train["steps"] = as_int(steps, "steps", minimum=1)
    if batch_size is not None:
        train["batch_size"] = as_int(batch_size, "batch_size", minimum=2)
    return train


def resolve_models(models):
    """A model name or names, checked against :data:`MODELS`, as a tuple."""
    models = (models,) if isinstance(models, str) else tuple(models)
    for model in models:
        if model not in MODELS:
            raise ValueError(f"`models` entries must be among {sorted(MODELS)}; got {model!r}.")
    if not models or len(set(models)) != len(models):
        raise ValueError(f"`models` must be distinct and not empty; got {models!r}.")
    return models


def resolve_images(images, labels, default_name):
    """The user's (images, labels), validated, or the bundled digits; with a name for reports."""
    if images is None and labels is None:
        x, y = load_digit_images()
        return x, y, default_name
    x, y = check_images(images, labels)
    return x, y, "user images"


def check_images(images, labels):
    """Validate an image array and its labels; returns ``(x (N, d) float, labels (N,))``."""
    if images is None or labels is None:
        raise ValueError("`images` and `labels` must be given together (or neither, for the "
                         "bundled digits).")
    if isinstance(images, (list, tuple)):
        shapes = {np.shape(im) for im in images}
        if len(shapes) > 1:
            raise ValueError(f"`images` must all have the same size; got shapes "
                             f"{sorted(shapes)}.")
    try:
        x = np.asarray(images, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`images` must be an array of equally sized images; {exc}") from None
    if x.ndim < 2:
        raise ValueError(f"`images` must have shape (N, d), (N, h, w) or (N, c, h, w); got "
                         f"shape {x.shape}.")
    x = x.reshape(x.shape[0], -1)
    if not np.isfinite(x).all():
        raise ValueError("`images` must be finite; it contains NaN or inf.")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"`images` must have values in [0, 1]; got range [{x.min():.4g}, "
                         f"{x.max():.4g}] (rescale first, e.g. divide 8-bit images by 255).")
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"`labels` must be 1-D with one label per image ({x.shape[0]}); got "
                         f"shape {y.shape}.")
    return x, y


def _class_index(labels):
    classes = np.unique(labels)
    return classes, np.searchsorted(classes, labels)


# --------------------------------------------------------------------------- classifier


def train_classifier(x, y, *, seed=0, epochs=100, test_fraction=0.25, device="cpu"):
    """Train the evaluation classifier on a stratified split of (x, y).

    Returns ``(state, info)``: ``state`` the classifier's weights as numpy
    arrays (picklable, rebuilt by :func:`_classifier_from_state`), ``info``
    with the classes, the test accuracy and the split sizes.
    """
    import torch

    from .._lib.optional import import_optional
    from ._classifier import ImageClassifier, fit_classifier

    train_test_split = import_optional("sklearn.model_selection",
                                       "the classifier's train/test split").train_test_split

    classes, idx = _class_index(y)
    if classes.size < 2:
        raise ValueError(f"`labels` must hold at least 2 classes; got {classes.tolist()}.")
    tr, te = train_test_split(np.arange(len(y)), test_size=test_fraction, random_state=seed,
                              stratify=idx)
    clf = ImageClassifier(x.shape[1], n_classes=classes.size, seed=seed)
    fit_classifier(clf, x[tr], idx[tr], epochs=epochs, seed=seed, device=device)
    with torch.no_grad():
        xt = torch.as_tensor(x[te], dtype=torch.float32, device=device)
        pred = clf(xt).argmax(dim=1).cpu().numpy()
    accuracy = float(np.mean(pred == idx[te]))
    state = {k: v.detach().cpu().numpy() for k, v in clf.state_dict().items()}
    info = {"classes": classes.tolist(), "test_accuracy": accuracy, "n_train": int(len(tr)),
            "n_test": int(len(te)), "hidden": [128, 32], "epochs": epochs}
    return state, info


def _classifier_from_state(state, in_features, n_classes, device):
    import torch

    from ._classifier import ImageClassifier

    clf = ImageClassifier(in_features, n_classes=n_classes, seed=0)
    clf.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return clf.to(device).eval()


def _cached_classifier(out, x, y, seed, device, quick):
    """The classifier, trained once per output directory and data (cached as .npz)."""
    import hashlib

    data = hashlib.sha256(np.ascontiguousarray(x).tobytes() + np.asarray(y).tobytes()
                          + repr((seed, quick)).encode()).hexdigest()[:12]
    store = CheckpointStore(os.path.join(out, "cache", f"classifier-{data}"),
                            {"data": data, "seed": seed, "quick": quick}, names=["classifier"])
    saved = store.load(0)
    if saved is not None:
        info = {"classes": saved.pop("_classes").tolist(),
                "test_accuracy": float(saved.pop("_accuracy")),
                "n_train": int(saved.pop("_n_train")), "n_test": int(saved.pop("_n_test")),
                "hidden": [128, 32], "epochs": int(saved.pop("_epochs"))}
        return saved, info
    state, info = train_classifier(x, y, seed=seed, epochs=20 if quick else 100, device=device)
    store.save(0, {**state, "_classes": np.asarray(info["classes"]),
                              "_accuracy": info["test_accuracy"], "_n_train": info["n_train"],
                              "_n_test": info["n_test"], "_epochs": info["epochs"]})
    return state, info


def _features(clf, x, device):
    import torch

    with torch.no_grad():
        xt = torch.as_tensor(x, dtype=torch.float32, device=device)
        return clf.features(xt).double().cpu().numpy(), clf(xt).cpu().numpy()


def _fid(a, b):
    """FID, or NaN when a set has fewer than 2 rows (counted and reported by the caller)."""
    if a.shape[0] < 2 or b.shape[0] < 2:
        return math.nan
    return frechet_distance(a, b)


# --------------------------------------------------------------------------- models


def _seed_int(*parts):
    """A 32-bit seed derived from integers (or lists of them) by ``SeedSequence``."""
    flat = []
    for p in parts:
        flat.extend(int(v) for v in (p if isinstance(p, (list, tuple)) else [p]))
    return int(np.random.SeedSequence(flat).generate_state(1)[0])


def train_and_sample(model, x_train, n_generated, train, seed, device):
    """Train ``model`` ("vae", "hyper-vae", "hyper-vae-mle") on ``x_train``; return
    ``(generated images (n_generated, d), info dict)``."""
    import torch

    from ..hyper.models import VAE, HyperVAE, fit_vae

    if model not in MODELS:
        raise ValueError(f"`models` entries must be among {sorted(MODELS)}; got {model!r}.")
    vae = VAE(x_train.shape[1], latent=train["latent"], hidden=tuple(train["hidden"]),
              likelihood=train["likelihood"], seed=_seed_int(seed, 1))
    started = time.perf_counter()
    info = {}
    gen = torch.Generator(device=device).manual_seed(_seed_int(seed, 3))
    if MODELS[model] is None:
        losses = fit_vae(vae, x_train, steps=train["steps"], batch_size=train["batch_size"],
                         lr=train["lr"], seed=_seed_int(seed, 2), device=device,
                         progress=False)
        info["final_loss"] = losses[-1]
        info["penalty"] = math.nan
        with torch.no_grad():
            samples = vae.eval().sample(n_generated, generator=gen)
    else:
        hyper = HyperVAE(vae, hidden=tuple(train["hyper_hidden"]), seed=_seed_int(seed, 4))
        hist = hyper.fit(x_train, penalty=MODELS[model], m=train["m"], steps=train["steps"],
                         batch_size=train["batch_size"], lr=train["lr"],
                         seed=_seed_int(seed, 2), device=device, progress=False)
        info["final_loss"] = hist.task_loss[-1]
        info["penalty"] = hist.penalty[-1]
        samples = hyper.sample(n_generated, generator=gen)
    info["train_seconds"] = time.perf_counter() - started
    return samples.detach().cpu().numpy().astype(np.float64), info


def _subsample(x, y, majority, minority, ratio, seed):
    """All majority images and ``round(|maj| / ratio)`` minority ones, without replacement."""
    maj = np.flatnonzero(y == majority)
    mino = np.flatnonzero(y == minority)
    n_min = int(round(maj.size / ratio))
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    chosen = np.sort(rng.choice(mino, size=n_min, replace=False))
    keep = np.concatenate([maj, chosen])
    return x[keep], y[keep]


def classify_pair(setup, samples):
    """The setup's classifier on generated ``samples``: ``(classifier, features, logits,
    [majority index, minority index], assigned)``, each sample assigned to whichever of
    the two classes has the larger logit."""
    classes = list(setup["classes"])
    maj, mino = setup["majority"], setup["minority"]
    clf = _classifier_from_state(setup["classifier"], setup["x"].shape[1], len(classes),
                                 setup["device"])
    feats, logits = _features(clf, samples, setup["device"])
    pair = [classes.index(maj), classes.index(mino)]
    assigned = np.where(logits[:, pair[0]] >= logits[:, pair[1]], maj, mino)
    return clf, feats, logits, pair, assigned


def _fairness_unit(setup, model, ratio, seed_parts):
    """One (model, ratio, seed): build the training set, train, generate, evaluate."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(setup["threads"])
    try:
        device = setup["device"]
        x, y = setup["x"], setup["y"]
        maj, mino = setup["majority"], setup["minority"]
        x_train, y_train = _subsample(x, y, maj, mino, ratio, seed_parts + [1])
        samples, info = train_and_sample(model, x_train, setup["n_generated"], setup["train"],
                                         seed_parts + [2], device)
        clf, feats, logits, pair, assigned = classify_pair(setup, samples)
        other = ~np.isin(logits.argmax(axis=1), pair)
        real = setup["real_features"]
        train_feats, _ = _features(clf, x_train, device)
        f_maj = feats[assigned == maj]
        f_min = feats[assigned == mino]
        return {
            "fid_majority": _fid(f_maj, real[maj]),
            "fid_minority": _fid(f_min, real[mino]),
            "fid_overall": _fid(feats, train_feats),
            "n_majority": int(f_maj.shape[0]), "n_minority": int(f_min.shape[0]),
            "frac_minority": float(f_min.shape[0] / feats.shape[0]),
            "frac_other_class": float(other.mean()),
            "imbalance": imbalance_ratio(y_train, maj, mino),
            "n_train": int(x_train.shape[0]),
            "final_loss": float(info["final_loss"]), "penalty": float(info["penalty"]),
            "train_seconds": float(info["train_seconds"]),
            "samples": samples[:8].astype(np.float32),
        }
    finally:
        torch.set_num_threads(before)


def _se(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan


def _mean(values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _check_ratios(ratios, x, y, majority, minority):
    if np.ndim(ratios) == 0:
        ratios = (ratios,)
    out = []
    n_maj = int(np.count_nonzero(y == majority))
    n_min = int(np.count_nonzero(y == minority))
    for r in ratios:
        try:
            r = float(r)
        except (TypeError, ValueError):
            raise TypeError(f"`ratios` must hold numbers; got {r!r}.") from None
        if not math.isfinite(r) or r < 1:
            raise ValueError(f"`ratios` must hold imbalance ratios >= 1 (majority : minority); "
                             f"got {r}.")
        need = int(round(n_maj / r))
        if need < 2:
            raise ValueError(f"ratio {r:g} leaves {need} minority image(s) of class {minority!r} "
                             f"(|majority| = {n_maj}); at least 2 are needed: use a smaller "
                             f"ratio or more majority images.")
        if need > n_min:
            raise ValueError(f"ratio {r:g} needs {need} images of the minority class "
                             f"{minority!r}, which has only {n_min}: too few images for the "
                             f"ratio; use a larger ratio.")
        out.append(int(r) if r.is_integer() else r)
    if len(set(out)) != len(out):
        raise ValueError(f"`ratios` must not repeat; got {list(out)}.")
    return tuple(out)


def _check_class(value, labels, name):
    present = np.unique(labels).tolist()
    if value not in present:
        raise ValueError(f"`{name}` class {value!r} does not occur in `labels`; classes are "
                         f"{present}.")


def _setup_torch(device):
    from .._lib.optional import import_optional

    import_optional("torch", "this reproduction")
    from ..hyper._checks import as_device

    return str(as_device(device))


def _load_avg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def reproduce_fairness(out="results/fairness", *, ratios=None, seeds=None, majority=3,
                       minority=6, images=None, labels=None, models=("vae", "hyper-vae"),
                       steps=None, batch_size=None, n_generated=None, quick=False,
                       device=None, n_jobs=1, threads=1, seed=0, progress=None):
    r"""Table 1: fairness of a VAE vs a Hyper-VAE trained with PLE on imbalanced classes.

    For every imbalance ratio :math:`R_I` the training set holds all images of
    the ``majority`` class and ``round(|maj| / R_I)`` images of the
    ``minority`` class (drawn without replacement, seeded; the same set for
    every model at a given seed). Each model is trained on it (unconditional
    generation), ``n_generated`` images are generated (decoder means of
    :math:`z \sim N(0, I)`), assigned to the majority or the minority class by
    the evaluation classifier (the larger of the two logits), and

    - majority / minority FID: between the generated images assigned to a
      class and *all* real images of that class, in the classifier's
      penultimate-layer feature space (:func:`ple_stats.frechet_distance`);
    - :math:`R_{fair} = \mathrm{FID}_{min} / \mathrm{FID}_{maj}`
      (:func:`ple_stats.fairness_ratio`), closer to 1 is fairer;
    - overall FID: all generated images vs the training set.

    Means and standard errors over ``seeds`` seeds; the paired difference of
    :math:`R_{fair}` between the models (same data, same seed) is reported too.

    Parameters
    ----------
    out : str
        Output directory; every (model, ratio, seed) unit is cached under
        ``out/cache`` as it finishes, so an interrupted run resumes.
    ratios : sequence of float, optional
        Imbalance ratios :math:`R_I \ge 1` (default (2, 5, 10, 20); quick: (2, 5)).
    seeds : int, optional
        Seeds per (model, ratio) (default 3; quick: 1).
    majority, minority : label, default 3 and 6
        The two classes (the paper's digits).
    images, labels : array_like, optional
        Any images in [0, 1], shape (N, d), (N, h, w) or (N, c, h, w), and their
        labels; default: scikit-learn's bundled 8×8 digits scaled to [0, 1].
    models : sequence of str, default ("vae", "hyper-vae")
        Among ``"vae"`` (plain VAE, maximum ELBO), ``"hyper-vae"`` (weights from a
        hypernetwork with hidden sizes 32, 64, 96, ELBO + 0.1 · PLE penalty) and
        ``"hyper-vae-mle"`` (the same hypernetwork with λ = 0: an ablation that
        separates the hypernetwork from the penalty).
    steps, batch_size : int, optional
        Optimiser steps and images per step (default 2000 and 64; quick: 30 and 32).
    n_generated : int, optional
        Generated images per unit (default 2000; quick: 200).
    quick : bool
        A tiny version (ratios (2, 5), 1 seed, 30 steps) that runs in seconds.
        It changes the defaults only: a setting given explicitly is used as given.
    device : str, optional
        ``None``: CUDA when available, else CPU.
    n_jobs : int, default 1
        Worker processes over units (joblib).
    threads : int, default 1
        Torch intra-op threads per unit (restored afterwards).
    seed : int, default 0
        Root seed.
    progress : bool, optional
        Progress bar over units (default: when stderr is a terminal).

    Returns
    -------
    dict
        Paths of the written files: ``markdown``, ``csv``, ``units_csv``,
        ``json``, ``figure`` (PNG and PDF).

    Raises
    ------
    ValueError
        A ratio below 1, a class with too few images for a ratio, an unknown
        class, images of different sizes or outside [0, 1], an unknown model.

    Notes
    -----
    The per-class FID is biased upwards when few generated images fall in a
    class; at large :math:`R_I` the minority gets few, which by itself raises
    :math:`R_{fair}`. The counts are reported (``n_minority``). A class with
    fewer than 2 generated images has no FID: that unit's value is NaN,
    excluded from the means, and counted in ``missing``.
    """
    from .._result import import_matplotlib

    plt = import_matplotlib()
    device = _setup_torch(device)
    # quick changes the defaults only; an explicit value always wins
    seeds = as_int((1 if quick else 3) if seeds is None else seeds, "seeds", minimum=1)
    n_jobs, _ = check_executor(n_jobs)
    threads = as_int(threads, "threads", minimum=1)
    n_generated = as_int((200 if quick else 2000) if n_generated is None else n_generated,
                         "n_generated", minimum=2)
    models = resolve_models(models)
    x, y, data_name = resolve_images(images, labels, "sklearn digits 8x8")
    _check_class(majority, y, "majority")
    _check_class(minority, y, "minority")
    if majority == minority:
        raise ValueError(f"`majority` and `minority` must differ; both are {majority!r}.")
    if ratios is None:
        ratios = (2, 5) if quick else (2, 5, 10, 20)
    ratios = _check_ratios(ratios, x, y, majority, minority)
    train = training_settings(_TRAIN, _QUICK_TRAIN, quick, steps, batch_size)
    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    load_start = _load_avg()

    t0 = time.perf_counter()
    clf_state, clf_info = _cached_classifier(out, x, y, seed, device, quick)
    clf_seconds = time.perf_counter() - t0
    clf = _classifier_from_state(clf_state, x.shape[1], len(clf_info["classes"]), device)
    real_features = {c: _features(clf, x[y == c], device)[0] for c in (majority, minority)}

    setup = {"x": x, "y": y, "majority": majority, "minority": minority,
             "n_generated": n_generated, "train": train, "classifier": clf_state,
             "classes": clf_info["classes"], "real_features": real_features,
             "device": device, "threads": threads}
    units, names, tasks = [], [], []
    for model in models:
        for r in ratios:
            for s in range(seeds):
                units.append((model, r, s))
                names.append(f"{model}-R{r:g}-s{s}")
                tasks.append((setup, model, r, [seed, int(round(float(r) * 1000)), s]))
    import hashlib

    data_digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()
                                 + np.asarray(y).tobytes()).hexdigest()[:12]
    key = {"experiment": "fairness", "data": data_digest, "majority": repr(majority),
           "minority": repr(minority), "n_generated": n_generated, "train": train,
           "seed": seed, "classifier": clf_info["test_accuracy"]}
    store = CheckpointStore(os.path.join(out, "cache", "fairness-" + digest(key, 12)), key,
                            names=names)
    results = execute(_fairness_unit, tasks, n_jobs=n_jobs, store=store, progress=progress,
                      desc="fairness", unit="unit")

    unit_rows = []
    for (model, r, s), res in zip(units, results):
        fm, fn = res["fid_majority"], res["fid_minority"]
        rfair = fairness_ratio(fm, fn) if (np.isfinite(fm) and np.isfinite(fn)
                                           and fm > 0 and fn > 0) else math.nan
        unit_rows.append({"model": model, "ratio": r, "seed": s,
                          "imbalance": res["imbalance"], "n_train": res["n_train"],
                          "fid_majority": fm, "fid_minority": fn, "r_fair": rfair,
                          "fid_overall": res["fid_overall"], "n_majority": res["n_majority"],
                          "n_minority": res["n_minority"], "frac_minority": res["frac_minority"],
                          "frac_other_class": res["frac_other_class"],
                          "final_loss": res["final_loss"], "penalty": res["penalty"],
                          "train_seconds": round(res["train_seconds"], 3)})
    table = []
    for r in ratios:
        for model in models:
            rows = [u for u in unit_rows if u["model"] == model and u["ratio"] == r]
            entry = {"ratio": r, "model": model, "seeds": len(rows),
                     "missing": sum(not np.isfinite(u["r_fair"]) for u in rows)}
            for k in ("fid_majority", "fid_minority", "r_fair", "fid_overall",
                      "frac_minority", "frac_other_class"):
                entry[k] = _mean([u[k] for u in rows])
                entry[k + "_se"] = _se([u[k] for u in rows])
            gain = f"r_fair_gain_vs_{models[0]}"
            entry[gain] = entry[gain + "_se"] = ""  # the baseline itself: not applicable
            if model != models[0]:
                base = {u["seed"]: u["r_fair"] for u in unit_rows
                        if u["model"] == models[0] and u["ratio"] == r}
                diff = [base[u["seed"]] - u["r_fair"] for u in rows]
                entry[gain] = _mean(diff)
                entry[gain + "_se"] = _se(diff)
            table.append(entry)

    paths = {"csv": write_csv(os.path.join(out, "fairness.csv"), table),
             "units_csv": write_csv(os.path.join(out, "fairness_units.csv"), unit_rows)}
    paths["markdown"] = _write_markdown(os.path.join(out, "fairness.md"), table, models,
                                        clf_info, seeds, data_name, majority, minority)
    paths["figure"] = _plot(plt, out, table, models, ratios, units, results, x, y, majority,
                            minority)
    total = time.perf_counter() - started
    paths["json"] = write_json(os.path.join(out, "fairness.json"), {
        "table": "paper Table 1 analogue", "data": data_name, "n_images": int(x.shape[0]),
        "image_features": int(x.shape[1]), "majority": majority, "minority": minority,
        "ratios": list(ratios), "seeds": seeds, "models": list(models),
        "penalty_lambda": {m: MODELS[m] for m in models}, "train": train,
        "n_generated": n_generated, "classifier": clf_info, "device": device,
        "torch_threads": threads, "n_jobs": n_jobs, "seed": seed, "quick": quick,
        "seconds": {"classifier": round(clf_seconds, 3), "total": round(total, 3),
                    "units": {n: u["train_seconds"] for n, u in zip(names, unit_rows)}},
        "load_average": {"start": load_start, "end": _load_avg()},
        "paper_mnist_r_fair": PAPER_TABLE1_RFAIR,
    })
    return paths


def _fmt(mean, se, digits=3):
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {se:.{digits}f}" if np.isfinite(se) else f"{mean:.{digits}f}"


def _write_markdown(path, table, models, clf_info, seeds, data_name, majority, minority):
    lines = [f"# Fairness (Table 1 analogue): {data_name}, majority {majority}, "
             f"minority {minority}", "",
             f"Mean ± standard error over {seeds} seed(s). FID in the evaluation classifier's "
             f"feature space (test accuracy {clf_info['test_accuracy']:.3f}). "
             "R_fair = FID_min / FID_maj (closer to 1 is fairer).", "",
             "| R_I | model | majority FID | minority FID | R_fair | overall FID | "
             "generated minority share |",
             "|---|---|---|---|---|---|---|"]
    for e in table:
        lines.append(f"| {e['ratio']}:1 | {_LABELS[e['model']]} | "
                     f"{_fmt(e['fid_majority'], e['fid_majority_se'])} | "
                     f"{_fmt(e['fid_minority'], e['fid_minority_se'])} | "
                     f"{_fmt(e['r_fair'], e['r_fair_se'], 2)} | "
                     f"{_fmt(e['fid_overall'], e['fid_overall_se'])} | "
                     f"{_fmt(e['frac_minority'], e['frac_minority_se'])} |"
                     + (f" ({e['missing']} seed(s) without FID)" if e["missing"] else ""))
    gains = [e for e in table if e["model"] != models[0]]
    if gains:
        lines += ["", f"Paired R_fair({models[0]}) − R_fair(model), same data and seed "
                  "(positive: the model is fairer):", ""]
        for e in gains:
            key = f"r_fair_gain_vs_{models[0]}"
            lines.append(f"- R_I = {e['ratio']}, {_LABELS[e['model']]}: "
                         f"{_fmt(e[key], e[key + '_se'], 2)}")
    lines += ["", "Paper (MNIST, for comparison only), R_fair: VAE "
              + " / ".join(f"{v:g}" for v in PAPER_TABLE1_RFAIR["vae"].values())
              + "; Hyper-VAE " + " / ".join(f"{v:g}" for v in
                                            PAPER_TABLE1_RFAIR["hyper-vae"].values())
              + " (R_I = 2, 5, 10, 20).", ""]
    atomic_write(path, "\n".join(lines).encode())
    return path


def _plot(plt, out, table, models, ratios, units, results, x, y, majority, minority):
    side = int(round(math.sqrt(x.shape[1])))
    square = side * side == x.shape[1]
    n_img = 8
    rows = 1 + (len(models) + 1 if square else 0)
    fig = plt.figure(figsize=(9, 3.6 + 1.1 * (rows - 1)), constrained_layout=True)
    grid = fig.add_gridspec(rows, n_img, height_ratios=[3.2] + [1] * (rows - 1))
    ax = fig.add_subplot(grid[0, :])
    for model in models:
        es = [e for e in table if e["model"] == model]
        ax.errorbar([e["ratio"] for e in es], [e["r_fair"] for e in es],
                    yerr=[0 if not np.isfinite(e["r_fair_se"]) else e["r_fair_se"] for e in es],
                    marker="o", capsize=3, color=_COLORS[model], label=_LABELS[model])
    lim = [min(ratios), max(ratios)]
    ax.plot(lim, lim, ":", color="0.5", label="R_fair = R_I")
    ax.axhline(1.0, color="0.7", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.set_xticks(list(ratios))
    ax.set_xticklabels([f"{r:g}" for r in ratios])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("imbalance ratio R_I = |maj| / |min|")
    ax.set_ylabel("R_fair = FID_min / FID_maj")
    ax.set_title(f"Fairness: majority {majority}, minority {minority} "
                 "(mean ± s.e. over seeds)")
    ax.legend(fontsize=8)
    if square:
        r_show = max(ratios)
        picks = [("real", x[y == minority][:n_img // 2].tolist()
                  + x[y == majority][:n_img - n_img // 2].tolist())]
        for model in models:
            for (m, r, s), res in zip(units, results):
                if m == model and r == r_show and s == 0:
                    picks.append((f"{_LABELS[model]}, R_I = {r_show:g}", res["samples"]))
        for row, (title, imgs) in enumerate(picks, start=1):
            for col in range(n_img):
                a = fig.add_subplot(grid[row, col])
                a.imshow(np.asarray(imgs[col]).reshape(side, side), cmap="gray_r", vmin=0,
                         vmax=1)
                a.set_xticks([])
                a.set_yticks([])
                if col == 0:
                    a.set_ylabel(title, fontsize=6, rotation=0, ha="right", va="center")
    paths = save_figure(fig, out, "fairness")
    plt.close(fig)
    return paths
