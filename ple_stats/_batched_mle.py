"""Batched, warm-started maximum likelihood for small parameter vectors.

:func:`maximize_batched` maximises ``B`` independent log-likelihoods of ``k``
unconstrained coordinates at once, with a damped Newton iteration whose
gradient and Hessian are central finite differences. Every iteration
evaluates the log-likelihood on one *stencil* of points per problem
(``1 + 2k + 2k(k-1)`` points: the centre, ``±h`` along each coordinate and
the four corners of each coordinate pair), all in one vectorised call, so
the cost of ``B`` fits is a few large array evaluations instead of ``B``
calls of a general optimiser.

The coordinates are chosen by the caller so that a step of ``h`` is a
*relative* change of the parameter (log of a scale, a location divided by a
reference scale); the steps are therefore independent of the units of the
data.

An indefinite Hessian (far from the maximum, or at a saddle) is replaced by
the negative of its absolute value (eigenvalues ``-|lambda|``), which keeps
the step an ascent direction; every step is halved until the log-likelihood
does not decrease, and limited to ``max_step`` in each coordinate.
Coordinates may be confined to a box ``[lower, upper]``: a problem whose
maximum lies on the box has no interior maximum (the MLE runs off to the
edge of the parameter space) and is flagged in ``at_bound``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["maximize_batched", "MaximizeResult", "stencil_offsets"]


@dataclass
class MaximizeResult:
    u: np.ndarray  #: maximisers, shape (B, k)
    value: np.ndarray  #: log-likelihood at the maximisers, shape (B,)
    n_iter: int  #: iterations of the slowest problem
    converged: np.ndarray  #: shape (B,)
    at_bound: np.ndarray  #: shape (B,): some coordinate ends on the box


def stencil_offsets(k):
    """Unit offsets of the finite-difference stencil, shape ``(P, k)``.

    Row 0 is the centre, rows ``1 + 2j`` and ``2 + 2j`` are ``±e_j``, then for
    each pair ``i < j`` the corners ``(+,+), (+,-), (-,+), (-,-)``.
    """
    rows = [np.zeros(k)]
    for j in range(k):
        for sign in (1.0, -1.0):
            e = np.zeros(k)
            e[j] = sign
            rows.append(e)
    for i in range(k):
        for j in range(i + 1, k):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(k)
                e[i], e[j] = si, sj
                rows.append(e)
    return np.array(rows)


def _derivatives(values, h):
    """Gradient ``(B, k)`` and Hessian ``(B, k, k)`` from stencil values ``(P, B)``."""
    k = h.shape[-1]
    f0 = values[0]
    plus, minus = values[1:2 * k + 1:2], values[2:2 * k + 2:2]
    grad = ((plus - minus) / (2.0 * h.T)).T
    hess = np.empty(f0.shape + (k, k))
    diag = (plus - 2.0 * f0 + minus) / (h.T ** 2)
    for j in range(k):
        hess[:, j, j] = diag[j]
    row = 2 * k + 1
    for i in range(k):
        for j in range(i + 1, k):
            pp, pm, mp, mm = values[row:row + 4]
            hess[:, i, j] = hess[:, j, i] = (pp - pm - mp + mm) / (4.0 * h[:, i] * h[:, j])
            row += 4
    return grad, hess


def _ascent_step(grad, hess):
    """Newton step ``-H^{-1} g`` with ``H`` replaced by ``-|H|`` (batched, k small)."""
    with np.errstate(all="ignore"):
        lam, vec = np.linalg.eigh(np.where(np.isfinite(hess), hess, 0.0))
        mag = np.abs(lam)
        floor = 1e-12 * np.maximum(mag.max(axis=-1, keepdims=True), 1e-300)
        mag = np.maximum(mag, floor)
        coef = np.einsum("bkj,bk->bj", vec, grad) / mag
        return np.einsum("bkj,bj->bk", vec, coef)


def maximize_batched(loglik, u0, *, h, lower=None, upper=None, tol=1e-10, max_iter=50,
                     max_step=2.0):
    """Maximise ``B`` log-likelihoods of ``k`` coordinates from starts ``u0``.

    Parameters
    ----------
    loglik : callable
        ``loglik(points, index)`` with ``points`` of shape ``(P, len(index), k)``
        returns the log-likelihoods, shape ``(P, len(index))``, of the
        problems ``index`` (an integer array into the batch) at those
        points; non-finite values count as ``-inf``.
    u0 : ndarray of shape (B, k)
        Starting points (inside the box).
    h : ndarray of shape (k,) or (B, k)
        Finite-difference steps of the coordinates.
    lower, upper : ndarray of shape (k,), optional
        The box (``-inf``/``inf`` where unbounded).
    tol : float
        Converged when a full (undamped) Newton step is at most ``tol`` in
        every coordinate, or the gradient is negligible.
    max_iter : int
    max_step : float
        Largest change of one coordinate in one step.

    Returns
    -------
    MaximizeResult
    """
    u = np.array(u0, dtype=float)
    size, k = u.shape
    h = np.broadcast_to(np.asarray(h, dtype=float), (size, k))
    lower = np.full(k, -np.inf) if lower is None else np.asarray(lower, dtype=float)
    upper = np.full(k, np.inf) if upper is None else np.asarray(upper, dtype=float)
    offsets = stencil_offsets(k)
    everyone = np.arange(size)

    def evaluate(points, index):
        if index.size == size:  # everyone: a slice, not a copy
            index = slice(None)
        values = np.asarray(loglik(points, index), dtype=float)
        return np.where(np.isfinite(values), values, -np.inf)

    value = evaluate(u[None], everyone)[0]
    active = np.ones(size, dtype=bool)
    converged = np.zeros(size, dtype=bool)
    # Chord steps: the Hessian is kept while the steps shrink fast (by 10x or more
    # per iteration) and recomputed otherwise; a chord step costs 2k evaluations
    # instead of 2k + 2k(k - 1).
    hess_all = np.zeros((size, k, k))
    need = np.ones(size, dtype=bool)
    prev_full = np.full(size, np.inf)
    n_grad = 2 * k
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            n_iter -= 1
            break
        ui, hi = u[idx], h[idx]
        fresh = need[idx]
        grad = np.empty((idx.size, k))
        for group, rows in ((True, np.flatnonzero(fresh)), (False, np.flatnonzero(~fresh))):
            if rows.size == 0:
                continue
            offs = offsets[1:] if group else offsets[1:n_grad + 1]
            points = ui[rows][None] + offs[:, None, :] * hi[rows][None]
            values = evaluate(points, idx[rows])
            values = np.concatenate([value[idx[rows]][None], values])
            with np.errstate(all="ignore"):
                if group:
                    g, hs = _derivatives(values, hi[rows])
                    hess_all[idx[rows]] = hs
                else:
                    plus, minus = values[1:n_grad + 1:2], values[2:n_grad + 2:2]
                    g = ((plus - minus) / (2.0 * hi[rows].T)).T
            grad[rows] = g
        hess = hess_all[idx]
        step = _ascent_step(np.where(np.isfinite(grad), grad, 0.0), hess)
        step = np.where(np.isfinite(step), step, 0.0)
        # On the box, a step that would leave it is projected onto it.
        step = np.where(((ui <= lower + 1e-12) & (step < 0)) | ((ui >= upper - 1e-12) & (step > 0)),
                        0.0, step)
        big = np.max(np.abs(step), axis=-1)
        step = step * np.minimum(1.0, max_step / np.maximum(big, 1e-300))[:, None]
        full = np.max(np.abs(step), axis=-1)
        # Differences of the log-likelihood below its rounding error (~1e-13 of its
        # size) are noise: such a step is accepted, and a step that is predicted to
        # gain less than that is the last one.
        slack = 1e-13 * (1.0 + np.abs(value[idx]))
        with np.errstate(all="ignore"):
            gain = 0.5 * np.abs(np.sum(np.where(np.isfinite(grad), grad, 0.0) * step, axis=-1))
        scale = np.ones(idx.size)
        trial = np.clip(ui + step, lower, upper)
        f_trial = evaluate(trial[None], idx)[0]
        for _ in range(12):
            bad = ~(f_trial >= value[idx] - slack)
            if not bad.any():
                break
            scale = np.where(bad, 0.5 * scale, scale)
            b = np.flatnonzero(bad)
            trial[b] = np.clip(ui[b] + scale[b, None] * step[b], lower, upper)
            f_trial[b] = evaluate(trial[b][None], idx[b])[0]
        accept = f_trial >= value[idx] - slack
        u[idx] = np.where(accept[:, None], trial, ui)
        value[idx] = np.where(accept, f_trial, value[idx])
        # (a chord step of negligible gain may still be far from the root: it ends
        # the iteration only once it is short)
        small = (full <= tol) | ((gain <= slack) & (fresh | (full <= 1e3 * tol)))
        # a chord step that failed is retried with a fresh Hessian
        retry = ~accept & ~fresh
        converged[idx] = small & accept | (~accept & fresh & (full <= 1e3 * tol))
        active[idx] = ~(small | (~accept & fresh))
        need[idx] = retry | (scale < 1.0) | (full > 0.1 * prev_full[idx])
        prev_full[idx] = np.where(accept, full, prev_full[idx])
    at_bound = np.any((u <= lower + 1e-9) | (u >= upper - 1e-9), axis=-1)
    converged |= at_bound
    return MaximizeResult(u=u, value=value, n_iter=n_iter, converged=converged,
                          at_bound=at_bound)
