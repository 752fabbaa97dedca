"""Batched derivative-free minimisation (Nelder-Mead), one small problem per data set.

The penalised PLE objective has an L1 term and is not differentiable at its
minimum, so a simplex method is the robust choice. Every data set of the
batch carries its own simplex; each iteration evaluates the objective only on
the data sets that need a new point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["nelder_mead_batched", "MinimizeResult"]


@dataclass
class MinimizeResult:
    x: np.ndarray  #: minimisers, shape (B, k)
    fun: np.ndarray  #: minima, shape (B,)
    n_iter: int
    converged: np.ndarray  #: shape (B,)


def nelder_mead_batched(fun, simplex, *, xatol=1e-9, fatol=1e-12, max_iter=1000):
    """Minimise ``B`` independent functions of ``k`` variables.

    Parameters
    ----------
    fun : callable
        ``fun(points, index)`` returns the objective at ``points`` (shape
        ``(len(index), k)``) for the problems ``index`` (an integer array into
        the batch); non-finite values count as +inf.
    simplex : ndarray of shape (B, k + 1, k)
        Initial simplices.
    xatol, fatol : float
        Convergence when the simplex is smaller than ``xatol`` (max-norm) and
        its values differ by at most ``fatol`` (absolute, plus ``fatol`` times
        the best value).
    max_iter : int

    Returns
    -------
    MinimizeResult
    """
    s = np.array(simplex, dtype=float)
    batch, npts, k = s.shape
    # Adaptive coefficients (Gao and Han 2012) are for large k; k is 1 or 2 here.
    alpha, gamma, rho, sigma = 1.0, 2.0, 0.5, 0.5
    everyone = np.arange(batch)

    def evaluate(points, index):
        values = np.asarray(fun(points, index), dtype=float)
        return np.where(np.isfinite(values), values, np.inf)

    f = np.stack([evaluate(s[:, i], everyone) for i in range(npts)], axis=1)
    active = np.ones(batch, dtype=bool)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        order = np.argsort(f, axis=1)
        s = np.take_along_axis(s, order[..., None], axis=1)
        f = np.take_along_axis(f, order, axis=1)
        size = np.max(np.abs(s[:, 1:] - s[:, :1]), axis=(1, 2))
        spread = np.max(np.abs(f[:, 1:] - f[:, :1]), axis=1)
        done = (size <= xatol) & (spread <= fatol * (1.0 + np.abs(f[:, 0])))
        active &= ~done
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ss, ff = s[idx], f[idx]
        centroid = ss[:, :-1].mean(axis=1)
        worst = ss[:, -1]
        xr = centroid + alpha * (centroid - worst)
        fr = evaluate(xr, idx)
        new_x, new_f = xr.copy(), fr.copy()
        replace = (fr >= ff[:, 0]) & (fr < ff[:, -2])

        expand = fr < ff[:, 0]
        if expand.any():
            e = np.flatnonzero(expand)
            xe = centroid[e] + gamma * (xr[e] - centroid[e])
            fe = evaluate(xe, idx[e])
            better = fe < fr[e]
            new_x[e] = np.where(better[:, None], xe, xr[e])
            new_f[e] = np.where(better, fe, fr[e])
            replace[e] = True

        contract = fr >= ff[:, -2]
        shrink = np.zeros(idx.size, dtype=bool)
        if contract.any():
            c = np.flatnonzero(contract)
            outside = fr[c] < ff[c, -1]
            toward = np.where(outside[:, None], xr[c], worst[c])
            xc = centroid[c] + rho * (toward - centroid[c])
            fc = evaluate(xc, idx[c])
            accept = np.where(outside, fc <= fr[c], fc < ff[c, -1])
            new_x[c] = xc
            new_f[c] = fc
            replace[c] = accept
            shrink[c] = ~accept

        ss[replace, -1] = new_x[replace]
        ff[replace, -1] = new_f[replace]
        if shrink.any():
            h = np.flatnonzero(shrink)
            best = ss[h, :1]
            ss[h, 1:] = best + sigma * (ss[h, 1:] - best)
            for i in range(1, npts):
                ff[h, i] = evaluate(ss[h, i], idx[h])
        s[idx], f[idx] = ss, ff
    order = np.argmin(f, axis=1)
    x = s[np.arange(batch), order]
    return MinimizeResult(x=x, fun=f[np.arange(batch), order], n_iter=n_iter,
                          converged=~active)
