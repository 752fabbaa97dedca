"""The PLE of the Gaussian mixture: ``GMM.fit_ple``'s methods and their options.

``method="bootstrap"``: the iterated bootstrap with common random numbers,
``T`` the EM of :mod:`._gmm_em`. ``method="hypernetwork"``: the paper's set
network (torch, imported only when used). Each method has its own options,
passed as a mapping (``options={...}``, as ``scipy.optimize.minimize`` does);
the former keywords keep working for one release with a ``DeprecationWarning``.
The formulas and their rationale are in the docstring of
:meth:`ple_stats.GMM.fit_ple`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping

import numpy as np

from ._bootstrap import _unbox
from ._gaussian import c4
from ._gmm import _from_base, _result
from ._gmm_em import (_INITS, _as_float, _as_var_floor, _check_fit_data, _describe_em,
                      _em_settings, _fit_em, _is_gmm, _ordered, _warn_em,
                      _warn_unidentifiable)
from ._result import Refit
from ._validation import as_data, as_int, as_rng
from ._warnings import ConvergenceWarning

__all__ = ["METHODS", "OPTIONS", "fit_ple", "method_options"]

METHODS = ("bootstrap", "hypernetwork")
#: The options of each method and their defaults (``None``: the method's default, see
#: ``GMM.fit_ple``).
OPTIONS = {
    "bootstrap": {"n_iter": 20, "average": 10, "step": 1.0, "weight_floor": 1e-6,
                  "tol": 1e-8, "max_iter": 1000, "init": "quantile", "accelerate": True},
    "hypernetwork": {"penalty": None, "epochs": None, "lr": None, "detach_synthetic": None,
                     "device": None, "seed_values": None},
}
#: Former names of options (kept one release): old -> new.
_RENAMED = {"lam": "penalty", "detach": "detach_synthetic", "seeds": "seed_values"}
#: The bootstrap PLE handles data sets in chunks of at most this many synthetic points.
_PLE_CHUNK_DRAWS = 2**22


def fit_ple(cls, x, n_components, method, *, m, rng, var_floor, options, deprecated):
    """``GMM.fit_ple``: the method's options from ``options`` (and from the deprecated
    keywords ``deprecated``, a dict), then the method."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}; got {method!r}.")
    opts = method_options(method, options, deprecated)
    fit = fit_bootstrap if method == "bootstrap" else fit_hypernetwork
    return fit(cls, x, n_components, m=m, rng=rng, var_floor=var_floor, **opts)


def method_options(method, options, deprecated, where="GMM.fit_ple"):
    """The options of ``method``: those of the mapping ``options`` and, with a
    ``DeprecationWarning``, the former keywords in the dict ``deprecated``."""
    if options is None:
        options = {}
    elif not isinstance(options, Mapping):
        raise TypeError(f"`options` must be a mapping of method={method!r}'s options (a "
                        f"dict); got {type(options).__name__}.")
    options = dict(options)
    own = OPTIONS[method]
    for key in options:
        if key in own:
            continue
        other = next((o for o in METHODS if o != method and key in OPTIONS[o]), None)
        if other is not None:
            raise ValueError(f"`{key}` is an option of method='{other}', not of "
                             f"method='{method}'.")
        raise ValueError(f"unknown option {key!r} of method='{method}'; its options are "
                         f"{sorted(own)}.")
    given = _deprecated_keywords(method, dict(deprecated), options, where)
    return {**given, **options}


def _deprecated_keywords(method, kwargs, options, where):
    """The former keywords that apply to ``method``, with a DeprecationWarning; a
    keyword of the other method is refused unless it holds its default (as before)."""
    for old, new in _RENAMED.items():
        if old not in kwargs:
            continue
        if new in kwargs or new in options:
            raise TypeError(f"{where}() got both `{new}` and `{old}` (its deprecated name); "
                            f"pass `{new}` only.")
        warnings.warn(f"`{old}` is deprecated in {where}(); use `{new}`, an option of "
                      f"method='hypernetwork' (options={{{new!r}: ...}}).",
                      DeprecationWarning, stacklevel=5)
        kwargs[new] = kwargs.pop(old)
    known = {key: o for o in METHODS for key in OPTIONS[o]}
    for key in kwargs:
        if key not in known:
            raise TypeError(f"{where}() got an unexpected keyword argument {key!r}.")
        if key in options:
            raise TypeError(f"{where}() got `{key}` both as a keyword and in `options`; pass "
                            "it in `options` only.")
    if kwargs:
        spelled = ", ".join(f"{k!r}: ..." for k in kwargs)
        warnings.warn(f"passing {', '.join(f'`{k}`' for k in kwargs)} to {where}() as "
                      "keywords is deprecated (they will be removed in the next release); "
                      f"pass the method's options as a mapping, options={{{spelled}}}, as in "
                      "scipy.optimize.minimize.", DeprecationWarning, stacklevel=5)
    wrong = [k for k, v in kwargs.items()
             if known[k] != method and not _is_default(v, OPTIONS[known[k]][k])]
    if wrong:
        other = known[wrong[0]]
        raise ValueError(f"{', '.join(f'`{k}`' for k in wrong)} appl"
                         f"{'ies' if len(wrong) == 1 else 'y'} to method='{other}' only.")
    return {k: v for k, v in kwargs.items() if known[k] == method}


def _is_default(value, default):
    """Whether an argument equals its default, a string or bool only by the same type."""
    if isinstance(default, (str, bool)):
        return type(value) is type(default) and value == default
    return not isinstance(value, (str, bool)) and value == default



# ---------------------------------------------------------------------- bootstrap PLE
def fit_bootstrap(cls, x, n_components, *, m, rng, var_floor, n_iter=20, average=10, step=1.0,
                  weight_floor=1e-6, tol=1e-8, max_iter=1000, init="quantile",
                  accelerate=True):
    """``GMM.fit_ple(method="bootstrap")``: validation, the EM fit ``T(x)``, then the
    iterated bootstrap in chunks of data sets."""
    K = as_int(n_components, "n_components", minimum=1)
    m = as_int(100 if m is None else m, "m", minimum=2)
    n_iter = as_int(n_iter, "n_iter", minimum=1)
    average = as_int(average, "average", minimum=1)
    if average > n_iter:
        raise ValueError(f"`average` must be at most `n_iter` = {n_iter}; got {average}.")
    step = _as_float(step, "step")
    if not 0.0 < step <= 1.0:
        raise ValueError(f"`step` must be in (0, 1]; got {step!r}.")
    weight_floor = _as_float(weight_floor, "weight_floor")
    if not 0.0 < weight_floor < 1.0 / K:
        raise ValueError(f"`weight_floor` must be in (0, 1/K) = (0, {1.0 / K:g}); "
                         f"got {weight_floor!r}.")
    if _is_gmm(init):
        raise TypeError(f"`init` of fit_ple must be one of {_INITS} (a rule that applies "
                        "to the synthetic data sets too), not a GMM.")
    x = as_data(x)
    settings = _em_settings(tol, max_iter, var_floor, init, accelerate)
    _check_fit_data(x, K)
    _warn_unidentifiable(x, K, stacklevel=4)
    rng = as_rng(rng)
    batch, n = x.shape[:-1], x.shape[-1]
    flat = x.reshape(-1, n)
    size = flat.shape[0]
    fit = _fit_em(flat, K, settings, rng, batch)
    _warn_em(fit, batch, settings["max_iter"], stacklevel=4)
    t_x = _ordered(fit.weights, fit.means, np.sqrt(fit.variances))
    est, resid, se = (np.empty((3, size, K)) for _ in range(3))
    path = np.empty((size, n_iter))
    not_conv = 0
    chunk = max(1, _PLE_CHUNK_DRAWS // (m * n))
    for lo in range(0, size, chunk):
        part = slice(lo, min(size, lo + chunk))
        out = _ple_bootstrap(flat[part], tuple(t[part] for t in t_x), m=m, rng=rng,
                             n_iter=n_iter, average=average, step=step,
                             weight_floor=weight_floor, settings=settings)
        est[:, part], resid[:, part], se[:, part], path[part] = out[:4]
        not_conv += out[4]
    solved = np.all(np.abs(resid) <= 3.0 * se, axis=(0, 2))
    if not solved.all():
        warnings.warn(
            f"the bootstrap PLE equation b(theta) = T(x) was not solved (within 3 Monte "
            f"Carlo standard errors) for {int(np.count_nonzero(~solved))} of {size} data "
            "set(s): T(x) lies outside the range of b, or the iteration ended on the "
            "parameter box; see res.info['converged'] and res.info['residual'].",
            ConvergenceWarning, stacklevel=4)
    shape = batch + (K,)
    info = {
        "estimator": ("iterated bootstrap PLE with common random numbers (T: "
                      f"{_describe_em(settings)})"),
        "n_components": K,
        "m": m,
        "n_iter": n_iter,
        "average": average,
        "step": step,
        "converged": _unbox(solved.reshape(batch)),
        "mle": cls.Params(*(t.reshape(shape) for t in t_x)),
        "residual": cls.Params(*(r.reshape(shape) for r in resid)),
        "mc_se": cls.Params(*(s.reshape(shape) for s in se)),
        "path": path.reshape(batch + (n_iter,)),
        "synthetic_not_converged": not_conv / (size * m * (n_iter + 1)),
        "tol": settings["tol"], "max_iter": settings["max_iter"],
        "var_floor": settings["var_floor"], "weight_floor": weight_floor,
        "accelerate": settings["accelerate"],
        "fixed": (),
    }
    options = {"n_iter": n_iter, "average": average, "step": step,
               "weight_floor": weight_floor, "init": settings["init"], "tol": settings["tol"],
               "max_iter": settings["max_iter"], "accelerate": settings["accelerate"]}
    refit = functools.partial(cls.fit_ple, n_components=K, m=m,
                              var_floor=settings["var_floor"], options=options)
    return _result(cls, tuple(est), batch, n, "ple", info, Refit(refit, random=True))


def _ple_bootstrap(x, t_x, *, m, rng, n_iter, average, step, weight_floor, settings):
    """Iterated bootstrap on the chunk ``x`` (B, n) with ``t_x = T(x)`` ((B, K) each).

    Returns the estimate, the residual ``T(x) - b_m`` and the Monte Carlo
    standard errors (each (3, B, K)), the path (B, n_iter) and the number of
    synthetic EM fits that hit ``max_iter``.
    """
    B, n = x.shape
    K = t_x[0].shape[-1]
    u = rng.random((B, m, n))
    z = rng.standard_normal((B, m, n))
    # a "kmeans++" start of the synthetic fits draws from its own stream, restarted
    # at every evaluation, so that b_m stays a fixed function of theta
    start_seed = int(rng.integers(2**63))
    sd_x = x.std(axis=-1)[:, None]
    sd_floor = np.sqrt(settings["var_floor"]) * sd_x
    # the largest sensible sigma: 1.25 times the sigma-unbiased PLE of one Gaussian
    # fitted to all of x, s / c4(n) with s the n - 1 standard deviation
    sd_cap = 1.25 * sd_x * np.sqrt(n / (n - 1.0)) / c4(n)
    lo_x, hi_x = x.min(axis=-1)[:, None], x.max(axis=-1)[:, None]
    not_conv = 0

    def binding(theta):
        nonlocal not_conv
        y = _from_base(u, z, *(t[:, None, :] for t in theta)).reshape(B * m, n)
        fit = _fit_em(y, K, settings, np.random.default_rng(start_seed), (B * m,))
        not_conv += int(np.count_nonzero(~fit.converged))
        stats = _ordered(fit.weights, fit.means, np.sqrt(fit.variances))
        return tuple(s.reshape(B, m, K) for s in stats)

    theta = tuple(np.array(t) for t in t_x)
    acc = [np.zeros((B, K)) for _ in range(3)]
    path = np.empty((B, n_iter))
    for k in range(n_iter):
        b = tuple(s.mean(axis=1) for s in binding(theta))
        w = np.maximum(theta[0] + step * (t_x[0] - b[0]), weight_floor)
        w /= w.sum(axis=-1, keepdims=True)
        mu = np.clip(theta[1] + step * (t_x[1] - b[1]), lo_x, hi_x)
        sigma = np.clip(theta[2] * (t_x[2] / b[2]) ** step, sd_floor, sd_cap)
        new = _ordered(w, mu, sigma)
        path[:, k] = np.max([np.max(np.abs(a - c), axis=-1) for a, c in zip(new, theta)],
                            axis=0)
        theta = new
        if k >= n_iter - average:
            for a, t in zip(acc, theta):
                a += t
    est = _ordered(*(a / average for a in acc))
    sims = binding(est)
    resid = tuple(t - s.mean(axis=1) for t, s in zip(t_x, sims))
    se = tuple(s.std(axis=1, ddof=1) / np.sqrt(m) for s in sims)
    return np.stack(est), np.stack(resid), np.stack(se), path, not_conv



# ---------------------------------------------------------------------- hypernetwork PLE
def fit_hypernetwork(cls, x, n_components, *, m, rng, var_floor, penalty=None, epochs=None,
                     lr=None, detach_synthetic=None, device=None, seed_values=None):
    """``GMM.fit_ple(method="hypernetwork")``: validation, then the torch code."""
    K = as_int(n_components, "n_components", minimum=1)
    m = as_int(1 if m is None else m, "m", minimum=1)
    lam = _as_float(0.1 if penalty is None else penalty, "penalty")
    if lam < 0:
        raise ValueError(f"`penalty` must be non-negative; got {lam!r}.")
    epochs = as_int(500 if epochs is None else epochs, "epochs", minimum=1)
    lr = _as_float(0.01 if lr is None else lr, "lr")
    if lr <= 0:
        raise ValueError(f"`lr` must be positive; got {lr!r}.")
    detach = True if detach_synthetic is None else detach_synthetic
    if not isinstance(detach, (bool, np.bool_)):
        raise TypeError(f"`detach_synthetic` must be a bool; got {type(detach).__name__}.")
    var_floor = _as_var_floor(var_floor)
    x = as_data(x)
    _check_fit_data(x, K)
    _warn_unidentifiable(x, K, stacklevel=4)
    batch, n = x.shape[:-1], x.shape[-1]
    flat = x.reshape(-1, n)
    size = flat.shape[0]
    if seed_values is None:
        seeds = as_rng(rng).integers(2**62, size=size)
    else:
        if rng is not None:
            raise ValueError("give `seed_values` or `rng`, not both.")
        arr = np.asarray(seed_values)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"`seed_values` must be integers; got dtype {arr.dtype}.")
        if arr.shape != batch:
            raise ValueError(f"`seed_values` must have the data's batch shape {batch}; got "
                             f"shape {arr.shape}.")
        if np.any(arr < 0):
            raise ValueError("`seed_values` must be non-negative.")
        seeds = arr.reshape(size)
    from ._lib.optional import MissingDependencyError, import_optional, missing_message

    feature = 'GMM.fit_ple(method="hypernetwork")'
    import_optional("torch", feature)
    try:
        from .hyper.gmm import fit_gmm_hypernetwork
    except ImportError:  # torch importable but not usable (or blocked): the same message
        raise MissingDependencyError(missing_message("torch", feature)) from None
    from .hyper._checks import as_device

    dev = as_device("cpu" if device is None else device)
    record = max(1, epochs // 20)
    out = fit_gmm_hypernetwork(flat, seeds, K=K, penalty=lam, m=m, epochs=epochs, lr=lr,
                               detach_synthetic=bool(detach), var_floor=var_floor, device=dev,
                               record_every=record)
    for key in ("weights", "means", "sigmas", "loss"):
        if not np.all(np.isfinite(out[key])):
            bad = int(np.count_nonzero(~np.all(np.isfinite(np.atleast_2d(out[key].T).T),
                                               axis=-1)))
            raise FloatingPointError(
                f"the hypernetwork PLE diverged (non-finite `{key}`) for {bad} of {size} "
                "data set(s); lower `lr`.")
    info = {
        "estimator": "hypernetwork PLE (paper Section 5.2), one network per data set",
        "n_components": K,
        "loss": _unbox(out["loss"].reshape(batch)),
        "nll": _unbox(out["nll"].reshape(batch)),
        "penalty": _unbox(out["penalty"].reshape(batch)),
        "loss_history": out["history"].reshape(batch + (-1,)),
        "mle": None,
        "epochs": epochs, "penalty_weight": lam, "m": m, "lr": lr,
        "detach_synthetic": bool(detach), "device": str(dev), "seed_values": seeds.reshape(batch),
        # the former keys, kept for one release
        "lam": lam, "detach": bool(detach), "seeds": seeds.reshape(batch),
        "var_floor": var_floor,
        "fixed": (),
    }
    options = {"penalty": lam, "epochs": epochs, "lr": lr, "detach_synthetic": bool(detach),
               "device": device}
    refit = functools.partial(cls.fit_ple, n_components=K, method="hypernetwork", m=m,
                              var_floor=var_floor, options=options)
    params = (out["weights"], out["means"], out["sigmas"])
    return _result(cls, params, batch, n, "ple", info, Refit(refit, random=True))
