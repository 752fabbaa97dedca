"""Batched maximum-likelihood (and Jeffreys-penalised) fits of a GLM.

Many response vectors ``y`` of shape ``(B, n)`` share one design ``X``
``(n, p)``, prior weights ``w`` and offset; all ``B`` fits run at once by
Fisher scoring with step halving, each from its own start (a warm start at
the parameters that generated it, for synthetic data).

The Jeffreys-penalised fit maximises ``loglik(beta) + log det I(beta) / 2``
with ``I = X' W X`` the expected information (Firth 1993; for canonical
links its score is Firth's modified score). Its estimate is finite where
the maximum-likelihood estimate runs to infinity (separation), and it
serves as the finite fallback estimator there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GLMFit", "fit_glm", "information"]


@dataclass
class GLMFit:
    beta: np.ndarray  #: (B, p)
    disp: np.ndarray | None  #: (B,) estimated dispersion, None if there is none
    converged: np.ndarray  #: (B,)
    diverged: np.ndarray  #: (B,) the fit ran to the edge of the domain (no finite MLE)
    n_iter: int


class _Design:
    """The design and what every evaluation reuses: ``X`` and the products
    ``X_i X_i'`` flattened, so that all ``B`` information matrices are one
    matrix product ``weight @ XX``."""

    def __init__(self, X):
        self.X = X
        n, p = X.shape
        self.p = p
        self.XX = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)

    def information(self, weight):
        return (weight @ self.XX).reshape(weight.shape[0], self.p, self.p)


def information(X, weight):
    """``X' diag(weight) X`` for each row of ``weight`` ``(B, n)``: ``(B, p, p)``."""
    return _Design(X).information(weight)


class _Point:
    """Everything a Fisher step needs at ``beta``, and the objective there."""

    __slots__ = ("beta", "mu", "d1", "d2", "var", "weight", "info", "value")


def _evaluate(design, y, beta, offset, w, response, link, disp, jeffreys):
    pt = _Point()
    pt.beta = beta
    eta = beta @ design.X.T + offset
    pt.mu, pt.d1, pt.d2 = link.derivatives(eta)
    with np.errstate(all="ignore"):
        pt.var = response.variance(pt.mu, disp)
        weight = w * pt.d1 * pt.d1 / pt.var
        valid = np.all(response.valid_mu(pt.mu) & np.isfinite(weight), axis=-1)
        pt.weight = np.where(np.isfinite(weight), weight, 0.0)
        pt.info = design.information(pt.weight)
        value = response.loglik_mu(y, pt.mu, w, disp)
        if jeffreys:
            sign, logdet = np.linalg.slogdet(pt.info)
            value = value + 0.5 * np.where(sign > 0, logdet, -np.inf)
    pt.value = np.where(valid & np.isfinite(value), value, -np.inf)
    return pt


def _take(pt, index):
    out = _Point()
    for name in _Point.__slots__:
        setattr(out, name, getattr(pt, name)[index])
    return out


#: (response, link) pairs whose observed and expected information coincide.
CANONICAL = {("Binomial", "logit"), ("Poisson", "log"), ("Gaussian", "identity"),
             ("Gamma", "inverse_power"), ("InverseGaussian", "inverse_squared")}


def _score_step(design, y, pt, w, response, disp, jeffreys, newton):
    with np.errstate(all="ignore"):
        resid = w * (y - pt.mu) * pt.d1 / pt.var
        if newton:
            # Newton's step on the observed information, where it is an ascent direction
            # (a non-canonical link's Fisher scoring converges only linearly).
            dvar = response.variance_deriv(pt.mu, disp)
            curvature = (pt.d2 - pt.d1 * pt.d1 * dvar / pt.var) / pt.var
            observed = pt.weight - w * (y - pt.mu) * curvature
            score = resid @ design.X
            try:
                step = np.linalg.solve(design.information(observed), score[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.zeros_like(score)
            ascent = np.isfinite(step).all(axis=-1) & (np.sum(step * score, axis=-1) > 0)
            if ascent.all():
                return step
            fisher = _score_step(design, y, pt, w, response, disp, jeffreys, False)
            return np.where(ascent[:, None], step, fisher)
        if jeffreys:
            # Penalised score: X' [w (y - mu) mu'/V + h (d log W / d eta) / 2], h the hat values.
            inv = np.linalg.inv(pt.info)
            X = design.X
            hat = pt.weight * ((X @ inv) * X[None]).sum(axis=-1)
            dlogw = 2.0 * pt.d2 / pt.d1 - response.variance_deriv(pt.mu, disp) * pt.d1 / pt.var
            resid = resid + 0.5 * hat * dlogw
        score = resid @ design.X
        try:
            step = np.linalg.solve(pt.info, score[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(a, b, rcond=None)[0]
                             for a, b in zip(pt.info, score)])
    return np.where(np.isfinite(step), step, 0.0)


def _start(design, y, offset, w, response, link, disp):
    """The usual GLM start: one weighted least-squares fit at ``mu = start_mu(y)``."""
    mu = response.start_mu(y)
    eta = link(mu)
    _, d1, _ = link.derivatives(eta)
    with np.errstate(all="ignore"):
        weight = w * d1 * d1 / response.variance(mu, disp)
        rhs = (weight * (eta - offset)) @ design.X
        return np.linalg.solve(design.information(weight), rhs[..., None])[..., 0]


def fit_glm(y, X, *, offset, w, response, link, beta0=None, disp0=None, jeffreys=False,
            tol=1e-10, max_iter=100):
    """Fit every row of ``y`` ``(B, n)``; see the module docstring.

    Non-canonical links take Newton steps on the observed information (Fisher
    steps where that is not an ascent direction); the Jeffreys-penalised fit
    takes Fisher steps. NB2's alpha is updated by its maximum-likelihood
    equation after each step of ``beta`` (the two blocks are orthogonal, so
    the alternation converges about as fast as a joint Newton iteration); a
    scale dispersion (Gaussian, Gamma, inverse Gaussian) does not enter the
    score of ``beta`` and is estimated once at the fitted means.

    Returns
    -------
    GLMFit
    """
    B = y.shape[0]
    design = _Design(X)
    # NB2's alpha enters the weights: alternate with it. A scale dispersion cancels from
    # the score of beta: fit beta alone, then the dispersion once at the fitted means.
    alternate = response.dispersion == "alpha"
    newton = not jeffreys and (response.name, link.name) not in CANONICAL
    disp = None
    if alternate:
        disp = (np.ones(B) if disp0 is None else np.array(disp0, dtype=float))
    beta = (_start(design, y, offset, w, response, link, disp) if beta0 is None
            else np.array(beta0, dtype=float))
    beta = np.where(np.isfinite(beta), beta, 0.0)
    if alternate and disp0 is None:
        disp = response.fit_dispersion(y, link.inverse(beta @ X.T + offset), w)
    converged = np.zeros(B, dtype=bool)
    diverged = np.zeros(B, dtype=bool)
    args = (offset, w, response, link)
    current = _evaluate(design, y, beta, *args, disp, jeffreys)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        active = np.flatnonzero(~converged & ~diverged)
        if active.size == 0:
            n_iter -= 1
            break
        ya = y[active]
        da = None if disp is None else disp[active]
        pt = _take(current, active)
        step = _score_step(design, ya, pt, w, response, da, jeffreys, newton)
        scale = np.ones(active.size)
        todo = np.arange(active.size)
        accepted = np.zeros(active.size, dtype=bool)
        for _ in range(40):
            trial = _evaluate(design, ya[todo], pt.beta[todo] + scale[todo, None] * step[todo],
                              *args, None if da is None else da[todo], jeffreys)
            old = pt.value[todo]
            good = np.isfinite(trial.value) & ((trial.value >= old - 1e-12 * np.abs(old))
                                               | ~np.isfinite(old))
            accepted[todo[good]] = True
            for name in _Point.__slots__:
                getattr(pt, name)[todo[good]] = getattr(trial, name)[good]
            todo = todo[~good]
            if todo.size == 0:
                break
            scale[todo] *= 0.5
        moved = np.where(accepted[:, None], scale[:, None] * step, 0.0)
        beta[active] = pt.beta
        change = np.max(np.abs(moved) / (1.0 + np.abs(pt.beta)), axis=-1)
        if alternate:  # the variance, hence the weights, change with alpha
            # Two Newton steps of alpha per step of beta: the pair converges jointly.
            new_disp = response.fit_dispersion(ya, pt.mu, w, start=da, max_iter=2)
            change = np.maximum(change, np.abs(np.log(new_disp / da)))
            disp[active] = new_disp
            pt = _evaluate(design, ya, pt.beta, *args, new_disp, jeffreys)
        for name in _Point.__slots__:
            getattr(current, name)[active] = getattr(pt, name)
        done = change <= tol
        converged[active] = done
        if n_iter >= 3:
            diverged[active] = ~done & response.at_boundary(pt.mu)
    if response.dispersion == "scale":
        disp = response.fit_dispersion(y, current.mu, w,
                                       start=None if disp0 is None else np.asarray(disp0))
    return GLMFit(beta=beta, disp=disp, converged=converged, diverged=diverged, n_iter=n_iter)
