"""EM for the one-dimensional Gaussian mixture: the estimator ``T`` of ``GMM.fit_mle``.

Batched EM over a leading axis of data sets, its SQUAREM acceleration, the
quantile and k-means++ starts, the saddle guard, and the validation and
warnings that ``GMM.fit_mle`` and the bootstrap PLE (:mod:`._gmm_ple`) share.
The rules (start, stopping, variance floor, order of the components) are
documented in :meth:`ple_stats.GMM.fit_mle`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._validation import as_int, as_rng
from ._warnings import ConvergenceWarning, DegenerateDataError, DegenerateDataWarning

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INITS = ("quantile", "kmeans++")
#: EM works on chunks of data sets of at most this many (data set, component, point) cells.
_EM_CHUNK_CELLS = 2**16
#: SQUAREM: the largest step length, and the largest |mean| of standardised data an
#: extrapolated point may have (beyond it the cycle takes a plain EM step).
_SQUAREM_MAX_STEP = 2.0**20
_SQUAREM_MEAN_BOUND = 1e6
#: Seed of the k-means++ restart of a fit that ended on a saddle (coincident components).
_RESTART_SEED = 0


def _is_gmm(value):
    """Whether ``value`` is a :class:`~ple_stats.GMM` (a given start)."""
    from ._gmm import GMM  # the class imports this module

    return isinstance(value, GMM)


# ---------------------------------------------------------------------- EM
class _EMFit:
    """Raw output of :func:`_em` on flat data ``(B, n)``; arrays ``(B, K)`` or ``(B,)``."""

    __slots__ = ("weights", "means", "variances", "n_iter", "converged", "loglik",
                 "floor_hit")

    def __init__(self, **kw):
        for key, value in kw.items():
            setattr(self, key, value)


def _em(x, start, *, tol, max_iter, var_floor, accelerate=False):
    """EM on every row of ``x`` (B, n) from ``start = (w, mu, var)`` (each (B, K)).

    EM is affine equivariant, so each data set is first standardised (mean 0,
    variance 1): the iterates are the affine images of those on the raw data,
    the change of the mean log-likelihood (the stopping rule) is unchanged, and
    the variance floor becomes ``var_floor`` itself. The data sets still
    iterating (the active set) are kept contiguous and processed in blocks of
    about ``_EM_CHUNK_CELLS`` (data set, component, point) cells, a loop over
    blocks, never over data sets; a converged data set is frozen.

    With ``accelerate``, the maps run in SQUAREM cycles of three (see the Notes
    of ``GMM.fit_mle``); the cycle phase is the same for every active data set,
    since each does exactly one map per loop iteration. ``n_iter`` counts EM
    maps in both modes.
    """
    B, n = x.shape
    K = start[0].shape[-1]
    centre = x.mean(axis=-1, keepdims=True)
    scale = np.sqrt(np.mean((x - centre) ** 2, axis=-1, keepdims=True))  # > 0, checked
    xs = (x - centre) / scale
    moments = np.stack([np.ones_like(xs), xs, xs * xs], axis=-1)  # (B, n, 3)
    w = np.array(start[0], dtype=float)
    mu = (np.asarray(start[1], dtype=float) - centre) / scale
    var = np.maximum(np.asarray(start[2], dtype=float) / scale**2, var_floor)
    lower = np.full(B, -np.inf)
    n_iter = np.zeros(B, dtype=int)
    converged = np.zeros(B, dtype=bool)
    idx = np.arange(B)
    mom = moments
    rows = max(1, _EM_CHUNK_CELLS // (K * n))
    scratch = _Scratch(min(rows, B), K, n)
    cycle = 3 if accelerate else 1
    saved = {}  # accelerate: p0, p1, p2 ((A, K) triples), ll(p1), at_max of the active sets
    step_max = np.ones(B)
    for it in range(1, max_iter + 1):
        phase = (it - 1) % cycle
        mean_ll, new = _em_map(mom, w[idx], mu[idx], var[idx], rows, var_floor, scratch)
        n_iter[idx] = it
        if phase == 0:
            done = np.abs(mean_ll - lower[idx]) < tol
            lower[idx] = mean_ll
            if accelerate:
                saved["p0"] = (w[idx], mu[idx], var[idx])
                done[:] = False  # the rule is tested on the plain step of phase 1
        elif phase == 1:
            done = np.abs(mean_ll - lower[idx]) < tol
            lower[idx] = mean_ll
            saved["p1"], saved["ll1"], saved["p2"] = (w[idx], mu[idx], var[idx]), mean_ll, new
        else:
            accept = np.isfinite(mean_ll) & (mean_ll >= saved["ll1"])
            new = tuple(np.where(accept[:, None], a, b) for a, b in zip(new, saved["p2"]))
            grow = accept & saved["at_max"]
            step_max[idx] = np.where(grow, np.minimum(4.0 * step_max[idx], _SQUAREM_MAX_STEP),
                                     np.where(accept, step_max[idx], 1.0))
            done = np.zeros(idx.size, dtype=bool)
        w[idx], mu[idx], var[idx] = new
        if accelerate and phase == 1:
            alpha, at_max = _squarem_alpha(saved["p0"], saved["p1"], new, step_max[idx])
            saved["at_max"] = at_max
            w[idx], mu[idx], var[idx] = _squarem_point(saved["p0"], saved["p1"], new, alpha,
                                                       var_floor)
        if done.any():
            converged[idx[done]] = True
            if accelerate and phase == 1:  # end on the EM output, not the extrapolated point
                for arr, val in zip((w, mu, var), new):
                    arr[idx[done]] = val[done]
            keep = ~done
            idx = idx[keep]
            if idx.size == 0:
                break
            mom = mom[keep]
            saved = {k: (v[keep] if isinstance(v, np.ndarray) else tuple(a[keep] for a in v))
                     for k, v in saved.items()}
    if accelerate and idx.size and (max_iter - 1) % cycle == 1:
        # stopped at the cap right after an extrapolation: return the EM output p2
        for arr, val in zip((w, mu, var), saved["p2"]):
            arr[idx] = val
    final_ll = np.empty(B)
    for lo in range(0, B, rows):
        blk = slice(lo, min(B, lo + rows))
        final_ll[blk] = _e_step(moments[blk], w[blk], mu[blk], var[blk], need_stats=False,
                                scratch=scratch)
    return _EMFit(
        weights=w, means=centre + scale * mu, variances=var * scale**2, n_iter=n_iter,
        converged=converged, loglik=n * (final_ll - np.log(scale[:, 0])),
        floor_hit=np.any(var <= var_floor * (1.0 + 1e-9), axis=-1))


def _em_map(mom, w, mu, var, rows, var_floor, scratch=None):
    """One EM map on the active data sets: the mean log-likelihood at ``(w, mu, var)``
    (A,) and the M-step's parameters, the E-step done in blocks of ``rows`` data sets."""
    A, K = w.shape
    mean_ll = np.empty(A)
    stats = np.empty((A, K, 3))
    for lo in range(0, A, rows):
        blk = slice(lo, min(A, lo + rows))
        mean_ll[blk], stats[blk] = _e_step(mom[blk], w[blk], mu[blk], var[blk],
                                           scratch=scratch)
    return mean_ll, _m_step(stats, var_floor)


def _squarem_coords(p):
    w, mu, var = p
    tiny = np.finfo(np.float64).tiny  # a start may have a zero weight
    return np.concatenate([np.log(np.maximum(w, tiny)), mu, np.log(var)], axis=-1)


def _squarem_alpha(p0, p1, p2, step_max):
    """SQUAREM step length ``a`` (A,) in [-step_max, -1] and whether it hit the bound."""
    q0, q1, q2 = (_squarem_coords(p) for p in (p0, p1, p2))
    r = q1 - q0
    v = q2 - 2.0 * q1 + q0
    rr, vv = np.sum(r * r, axis=-1), np.sum(v * v, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sqrt(rr / vv)
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    length = np.clip(ratio, 1.0, step_max)
    return -length, length >= step_max


def _squarem_point(p0, p1, p2, alpha, var_floor):
    """The extrapolated point ``p0 - 2 a r + a^2 v`` mapped back to valid parameters."""
    q0, q1, q2 = (_squarem_coords(p) for p in (p0, p1, p2))
    a = alpha[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        q = q0 - 2.0 * a * (q1 - q0) + a * a * (q2 - 2.0 * q1 + q0)
    K = p0[0].shape[-1]
    # a step that overflowed, or sent a mean of the standardised data beyond
    # _SQUAREM_MEAN_BOUND, is replaced by p2 itself (its EM step is then a plain one)
    ok = np.all(np.isfinite(q), axis=-1) & np.all(np.abs(q[:, K:2 * K]) <= _SQUAREM_MEAN_BOUND,
                                                   axis=-1)
    q = np.where(ok[:, None], q, q2)
    logw = q[:, :K]
    w = np.exp(logw - logw.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    w = np.maximum(w, 10.0 * np.finfo(np.float64).eps)
    w /= w.sum(axis=-1, keepdims=True)
    return w, q[:, K:2 * K], np.maximum(np.exp(np.minimum(q[:, 2 * K:], 700.0)), var_floor)


class _Scratch:
    """Work arrays of the E-step for blocks of up to ``rows`` data sets, allocated once per
    EM run: a fresh (rows, K, n) array per block costs more (allocation and first touch of
    the memory) than the arithmetic on it."""

    def __init__(self, rows, K, n):
        self.logp = np.empty((rows, K, n))
        self.top = np.empty((rows, 1, n))
        self.total = np.empty((rows, 1, n))
        self.ll = np.empty((rows, 1, n))


def _e_step(mom, w, mu, var, need_stats=True, scratch=None):
    """E-step on a block: the mean log-likelihood per data set (A,) and, unless
    ``need_stats`` is false, the responsibility-weighted moments
    ``sum_i r_ik x_i^p`` for p = 0, 1, 2, shape (A, K, 3). ``scratch`` (a
    :class:`_Scratch` for at least A data sets) holds the work arrays."""
    x = mom[:, :, 1]
    A, K = w.shape
    if scratch is None:
        scratch = _Scratch(A, K, x.shape[-1])
    with np.errstate(divide="ignore"):
        const = np.log(w) - 0.5 * np.log(var) - _LOG_SQRT_2PI
    logp = np.subtract(x[:, None, :], mu[:, :, None], out=scratch.logp[:A])
    np.multiply(logp, logp, out=logp)
    logp *= (-0.5 / var)[:, :, None]
    logp += const[:, :, None]
    # max and sum over the short component axis as K - 1 elementwise steps: the same
    # sequential order as numpy's reduction over a non-last axis (so the same result),
    # without its overhead
    top = scratch.top[:A]
    np.copyto(top, logp[:, :1])
    for k in range(1, K):
        np.maximum(top, logp[:, k:k + 1], out=top)
    logp -= top
    np.exp(logp, out=logp)
    total = scratch.total[:A]
    np.copyto(total, logp[:, :1])
    for k in range(1, K):
        total += logp[:, k:k + 1]
    ll = np.log(total, out=scratch.ll[:A])
    ll += top
    mean_ll = ll[:, 0, :].mean(axis=-1)
    if not need_stats:
        return mean_ll
    logp /= total  # responsibilities
    return mean_ll, np.matmul(logp, mom)


def _m_step(stats, var_floor):
    """M-step from the weighted moments (A, K, 3) of standardised data."""
    nk = stats[:, :, 0] + 10.0 * np.finfo(np.float64).eps
    w = nk / nk.sum(axis=-1, keepdims=True)
    mu = stats[:, :, 1] / nk
    var = stats[:, :, 2] / nk - mu * mu
    return w, mu, np.maximum(var, var_floor)


def _start(x, K, init, rng, batch):
    """Starting parameters ``(w, mu, var)`` (each (B, K)) for the rows of ``x``."""
    B, n = x.shape
    var = np.repeat(x.var(axis=-1)[:, None], K, axis=1)
    w = np.full((B, K), 1.0 / K)
    if _is_gmm(init):
        gw, gmu, gsd = init._values
        if init.n_components != K:
            raise ValueError(f"`init` has {init.n_components} components; `n_components` "
                             f"is {K}.")
        try:
            shape = batch + (K,)
            vals = [np.broadcast_to(v, shape).reshape(B, K) for v in (gw, gmu, gsd * gsd)]
        except ValueError:
            raise ValueError(f"`init` has batch shape {init.batch_shape}, which does not "
                             f"broadcast to the data's batch shape {batch}.") from None
        return tuple(np.array(v) for v in vals)
    if init == "quantile":
        return w, _quantile_means(x, K), var
    # k-means++ seeding, vectorised over data sets
    rng = as_rng(rng)
    mu = np.empty((B, K))
    rows = np.arange(B)
    first = rng.integers(n, size=B)
    mu[:, 0] = x[rows, first]
    d2 = (x - mu[:, :1]) ** 2
    for k in range(1, K):
        cum = np.cumsum(d2, axis=-1)
        total = cum[:, -1]
        u = rng.random(B) * total
        pick = np.minimum(np.sum(cum <= u[:, None], axis=-1), n - 1)
        # all points already chosen (total 0): any point will do
        pick = np.where(total > 0, pick, rng.integers(n, size=B))
        mu[:, k] = x[rows, pick]
        d2 = np.minimum(d2, (x - mu[:, k:k + 1]) ** 2)
    return w, np.sort(mu, axis=-1), var


def _quantile_means(x, K):
    """The quantile start's means (B, K) for the rows of ``x`` (B, n): the ``(k + 0.5) / K``
    quantiles of the data, or, where two of them coincide (tied data: e.g. 40 zeros among
    50 counts put both quartiles at 0), the same quantiles of the row's distinct values,
    which are distinct. Equal means with equal variances and weights are a fixed point of
    EM (a saddle of the likelihood), so the start must not have them."""
    q = (np.arange(K) + 0.5) / K
    mu = np.quantile(x, q, axis=-1).T.reshape(x.shape[0], K)
    for i in np.flatnonzero(np.any(np.diff(mu, axis=-1) <= 0.0, axis=-1)):
        mu[i] = np.quantile(np.unique(x[i]), q)
    return mu


def _ordered(w, mu, sigma):
    """Components sorted by mean (stable)."""
    order = np.argsort(mu, axis=-1, kind="stable")
    return tuple(np.take_along_axis(v, order, axis=-1) for v in (w, mu, sigma))


# ---------------------------------------------------------------------- settings, checks, warnings
def _as_float(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a real number; got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    return value


def _as_var_floor(value):
    """``var_floor`` in (0, 1): a fraction of var(x). Positive, since the mixture
    likelihood is unbounded without a floor; below 1, since every method starts its
    components at variance var(x), above the floor (the hypernetwork's variance head
    ``softplus(.) + var_floor`` cannot start at var(x) otherwise), and a floor at or
    above var(x) leaves no mixture to fit (every component at least as wide as the data,
    and the bootstrap PLE's sigma cap, about 1.25 sd(x), below it)."""
    value = _as_float(value, "var_floor")
    if value <= 0:
        raise ValueError(f"`var_floor` must be positive (the mixture likelihood is unbounded "
                         f"without a floor); got {value!r}.")
    if value >= 1:
        raise ValueError(f"`var_floor` must be below 1 (it is a fraction of var(x): every "
                         f"component variance is kept at least var_floor * var(x), and the "
                         f"fit starts at var(x)); got {value!r}.")
    return value


def _em_settings(tol, max_iter, var_floor, init, accelerate):
    tol = _as_float(tol, "tol")
    if tol <= 0:
        raise ValueError(f"`tol` must be positive; got {tol!r}.")
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    var_floor = _as_var_floor(var_floor)
    if not _is_gmm(init):
        if not isinstance(init, str):
            raise TypeError(f"`init` must be one of {_INITS} or a GMM; got "
                            f"{type(init).__name__}.")
        if init not in _INITS:
            raise ValueError(f"`init` must be one of {_INITS} or a GMM; got {init!r}.")
    if not isinstance(accelerate, (bool, np.bool_)):
        raise TypeError(f"`accelerate` must be True or False; got {type(accelerate).__name__}.")
    return {"tol": tol, "max_iter": max_iter, "var_floor": var_floor, "init": init,
            "accelerate": bool(accelerate)}


def _em_kwargs(settings):
    return {k: settings[k] for k in ("tol", "max_iter", "var_floor", "accelerate")}


def _describe_em(settings):
    init = settings["init"]
    kind = "SQUAREM-accelerated EM" if settings["accelerate"] else "EM"
    return f"{kind} ({'given' if _is_gmm(init) else init} start)"


def _check_fit_data(x, K):
    n = x.shape[-1]
    if n < K:
        raise ValueError(f"`x` has n = {n} observations, but a mixture of K = {K} components "
                         f"needs n >= K.")
    flat = x.reshape(-1, n)
    same = flat.max(axis=-1) == flat.min(axis=-1)
    if same.any():
        idx = np.unravel_index(int(np.argmax(same)), x.shape[:-1]) if x.ndim > 1 else ()
        raise DegenerateDataError(
            f"`x` has all observations equal in the data set at index {idx}: "
            "a Gaussian mixture cannot be fitted to it (zero variance).")
    # EM works with variances: they must be normal floating-point numbers
    with np.errstate(all="ignore"):
        var = flat.var(axis=-1)
    bad = ~np.isfinite(var) | (var < np.finfo(np.float64).tiny)
    if bad.any():
        i = int(np.argmax(bad))
        idx = np.unravel_index(i, x.shape[:-1]) if x.ndim > 1 else ()
        raise ValueError(f"`x` has a variance of {var[i]:.3g} in the data set at index {idx}, "
                         "outside the floating-point range of a mixture fit; rescale the data "
                         "(e.g. divide it by its standard deviation) and scale the fit back.")


def _fit_em(x, K, settings, rng, batch):
    """EM on the rows of ``x`` (B, n) from the start rule of ``settings``, with the saddle
    guard: a row whose fit ends with two coincident components (equal means and sigmas
    within 1e-7 of the data's standard deviation, a saddle of the likelihood that EM does
    not leave) is refitted from a k-means++ start drawn from
    ``default_rng(_RESTART_SEED)`` (afresh for each row, so that a batched fit equals
    the fits one by one), and the fit with the higher log-likelihood is kept."""
    kw = _em_kwargs(settings)
    fit = _em(x, _start(x, K, settings["init"], rng, batch), **kw)
    if K < 2 or _is_gmm(settings["init"]):
        return fit
    _, mu, sd = _ordered(fit.weights, fit.means, np.sqrt(fit.variances))
    tol = 1e-7 * x.std(axis=-1, keepdims=True)
    close = (np.abs(np.diff(mu, axis=-1)) <= tol) & (np.abs(np.diff(sd, axis=-1)) <= tol)
    rows = np.flatnonzero(np.any(close, axis=-1))
    if rows.size:
        starts = [_start(x[i:i + 1], K, "kmeans++", np.random.default_rng(_RESTART_SEED), (1,))
                  for i in rows]
        again = _em(x[rows], tuple(np.concatenate(v) for v in zip(*starts)), **kw)
        better = again.loglik > fit.loglik[rows]
        for name in _EMFit.__slots__:
            getattr(fit, name)[rows[better]] = getattr(again, name)[better]
    return fit


def _warn_unidentifiable(x, K, stacklevel):
    """DegenerateDataWarning for data sets with fewer distinct values than components."""
    if K < 2:
        return
    flat = np.sort(x.reshape(-1, x.shape[-1]), axis=-1)
    distinct = 1 + np.count_nonzero(np.diff(flat, axis=-1) > 0, axis=-1)
    few = distinct < K
    if few.any():
        warnings.warn(
            f"`x` has fewer distinct values than the K = {K} components in "
            f"{int(few.sum())} of {few.size} data set(s) (e.g. {int(distinct[few][0])} "
            "distinct values): the mixture is not identifiable and the fit puts components "
            "on few points.", DegenerateDataWarning, stacklevel=stacklevel + 1)


def _warn_em(fit, batch, max_iter, stacklevel):
    bad = ~fit.converged
    if bad.any():
        warnings.warn(
            f"EM did not converge within max_iter = {max_iter} iterations for "
            f"{int(bad.sum())} of {bad.size} data set(s); see res.info['converged'].",
            ConvergenceWarning, stacklevel=stacklevel + 1)
    if fit.floor_hit.any():
        warnings.warn(
            f"a component variance ended on the floor var_floor * var(x) for "
            f"{int(fit.floor_hit.sum())} of {fit.floor_hit.size} data set(s) (a component "
            "collapsed onto few observations); see res.info['floor_hit'].",
            DegenerateDataWarning, stacklevel=stacklevel + 1)
