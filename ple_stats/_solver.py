"""Batched root finding for small systems: the engine of the data-driven PLE.

The PLE equation ``b(theta) = T(x)`` has one small system (k = number of free
parameters) per data set. :func:`solve_batched` solves a whole batch of them
together with a damped quasi-Newton (chord) iteration whose Jacobian comes
from forward differences and is refreshed only when progress slows. With
common random numbers the simulated binding function is a smooth
deterministic function, so the iteration converges like Newton's method; for
location-scale families it is affine in suitable coordinates and one step
suffices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["solve_batched", "finite_difference_jacobian", "SolverResult"]


@dataclass
class SolverResult:
    """Solution of a batch of systems ``residual(u) = 0``."""

    u: np.ndarray  #: solutions, shape (*batch, k)
    residual: np.ndarray  #: max-norm of the final residual, shape batch
    jacobian: np.ndarray  #: last Jacobian, shape (*batch, k, k)
    n_iter: int  #: iterations performed
    converged: np.ndarray  #: boolean, shape batch


def finite_difference_jacobian(residual, u, r0, *, step=1e-6):
    """Forward-difference Jacobian of a batched residual, shape ``(*batch, k, k)``."""
    k = u.shape[-1]
    jac = np.empty(u.shape + (k,))
    for j in range(k):
        h = step * np.maximum(1.0, np.abs(u[..., j]))
        shifted = u.copy()
        shifted[..., j] += h
        jac[..., :, j] = (residual(shifted) - r0) / h[..., None]
    return jac


def _solve(jac, rhs):
    """Batched ``jac^{-1} rhs``; singular systems give a zero step (flagged by the caller)."""
    try:
        return np.linalg.solve(jac, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        step = np.zeros_like(rhs)
        flat_j = jac.reshape(-1, *jac.shape[-2:])
        flat_r = rhs.reshape(-1, rhs.shape[-1])
        flat_s = step.reshape(-1, rhs.shape[-1])
        for i in range(flat_j.shape[0]):
            try:
                flat_s[i] = np.linalg.solve(flat_j[i], flat_r[i])
            except np.linalg.LinAlgError:
                pass
        return step


def solve_batched(residual, u0, *, tol=1e-10, max_iter=50, fd_step=1e-6):
    """Solve ``residual(u) = 0`` for every system of a batch.

    Parameters
    ----------
    residual : callable
        Maps ``u`` of shape ``(*batch, k)`` to residuals of the same shape,
        vectorised over the batch (each system independent).
    u0 : ndarray of shape (*batch, k)
        Starting points.
    tol : float
        Convergence when ``max_j |residual_j| <= tol`` for a system.
    max_iter : int
        Maximum number of quasi-Newton steps.
    fd_step : float
        Relative step of the forward-difference Jacobian.

    Returns
    -------
    SolverResult
    """
    u = np.array(u0, dtype=float)
    r = residual(u)
    jac = finite_difference_jacobian(residual, u, r, step=fd_step)
    norm = np.max(np.abs(r), axis=-1)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        done = norm <= tol
        if done.all():
            n_iter -= 1
            break
        step = -_solve(jac, r)
        step[done] = 0.0
        # Damping: halve the step of the systems whose residual did not decrease.
        scale = np.ones(norm.shape)
        for _ in range(8):
            trial = u + scale[..., None] * step
            r_trial = residual(trial)
            norm_trial = np.max(np.abs(r_trial), axis=-1)
            bad = ~(norm_trial < norm) & ~done
            if not bad.any():
                break
            scale = np.where(bad, 0.5 * scale, scale)
        accept = (norm_trial < norm) & ~done
        u = np.where(accept[..., None], trial, u)
        r = np.where(accept[..., None], r_trial, r)
        old_norm, norm = norm, np.where(accept, norm_trial, norm)
        slow = ~done & (norm > 0.1 * old_norm) & (norm > tol)
        if slow.any():
            jac = finite_difference_jacobian(residual, u, r, step=fd_step)
    converged = norm <= tol
    return SolverResult(u=u, residual=norm, jacobian=jac, n_iter=n_iter, converged=converged)
