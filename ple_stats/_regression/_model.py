"""The regression adapter of the PLE engine's model protocol.

The data sets are response vectors ``y`` (rows of ``x``, shape ``(size, n)``)
that share one design; the parameters are the coefficients, then the
estimated dispersion if there is one. Synthetic responses are drawn at
``theta`` by the inverse CDF from fixed base draws (common random numbers,
design fixed, as in the parametric bootstrap) and all ``m * size`` of them
are fitted at once by :func:`~._fitter.fit_glm`, warm-started at ``theta``.

The estimator ``T`` is the maximum-likelihood estimate where it exists and
the Jeffreys-penalised (Firth) estimate for data sets whose MLE runs to
infinity (``estimator="mle"``, the default), or the Jeffreys-penalised
estimate everywhere (``estimator="firth"``). The same rule fits the observed
and the synthetic data.

Coordinates: a coefficient enters the root finder standardised by its
standard error at the observed estimate, the dispersion as its logarithm
standardised the same way, so tolerances and the step-function solver's
secant window are in standard errors whatever the units of the covariates.
"""

from __future__ import annotations

import numpy as np

from .._engine import BindingModel
from ._fitter import fit_glm, information

__all__ = ["RegressionModel", "fit_T", "standard_errors"]

#: An estimated NB2 alpha at or below this is at its boundary (underdispersed data).
ALPHA_FLOOR = 1e-8


def fit_T(spec, y, estimator, beta0=None, disp0=None):
    """The estimator ``T`` on responses ``y`` ``(B, n)``.

    Returns
    -------
    stats : (B, k) coefficients then dispersion
    fallback : (B,) bool, the MLE ran to infinity and the Jeffreys fit was used
    converged : (B,) bool
    """
    common = dict(offset=spec.offset, w=spec.w, response=spec.response, link=spec.link)
    jeffreys = estimator == "firth"
    fit = fit_glm(y, spec.X, beta0=beta0, disp0=disp0, jeffreys=jeffreys, **common)
    fallback = np.zeros(y.shape[0], dtype=bool)
    if not jeffreys and fit.diverged.any():
        idx = np.flatnonzero(fit.diverged)
        refit = fit_glm(y[idx], spec.X, jeffreys=True,
                        beta0=None if beta0 is None else beta0[idx],
                        disp0=None if (disp0 is None or fit.disp is None) else disp0[idx],
                        **common)
        fit.beta[idx] = refit.beta
        if fit.disp is not None:
            fit.disp[idx] = refit.disp
        fit.converged[idx] = refit.converged
        fallback[idx] = True
    stats = fit.beta if fit.disp is None else np.concatenate([fit.beta, fit.disp[:, None]],
                                                             axis=1)
    return stats, fallback, fit.converged


def standard_errors(spec, theta):
    """Asymptotic standard errors of the coordinates (coefficients; log dispersion).

    Only scales of the root finder's coordinates: ``sqrt(diag(phi I^{-1}))``
    for the coefficients and ``sqrt(2 / n)`` for the log dispersion.
    """
    p = spec.p
    beta = theta[:, :p]
    disp = theta[:, p] if theta.shape[1] > p else None
    eta = beta @ spec.X.T + spec.offset
    mu, d1, _ = spec.link.derivatives(eta)
    resp_disp = disp if spec.response.dispersion == "alpha" else None
    with np.errstate(all="ignore"):
        weight = spec.w * d1 * d1 / spec.response.variance(mu, resp_disp)
        cov = np.linalg.pinv(information(spec.X, weight))
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=-2, axis2=-1), 0.0))
    if spec.response.dispersion == "scale":
        se = se * np.sqrt(disp)[:, None]
    se = np.where(np.isfinite(se) & (se > 0), se, 1.0)
    if disp is not None:
        se = np.concatenate([se, np.full((theta.shape[0], 1), np.sqrt(2.0 / spec.n))], axis=1)
    return se


class RegressionModel(BindingModel):
    """A regression model of ``spec`` for the engine (see the module docstring)."""

    fd_step = 1e-6
    #: Discrete responses: stop once every residual is a quarter of its Monte Carlo
    #: error (adds at most 3% to the error of the root, sqrt(1 + 0.25**2) = 1.03); the
    #: steps of b_m, and the switch of a synthetic set between the MLE and its
    #: Jeffreys fallback, are often larger than a tenth of it at small n.
    stepwise_fraction = 0.25

    def jacobian_hint(self, u):
        """The identity: in standardised coordinates ``b(theta) = theta + O(1/n)``, so the
        chord iteration with this Jacobian is the iterated bootstrap, whose contraction
        factor is the bias's slope, O(1/n). A secant over the step function ``b_m``
        would be noisy (it rests on a few dozen flipped responses) and cost k
        evaluations."""
        k = u.shape[-1]
        return np.broadcast_to(np.eye(k), u.shape + (k,)).copy()

    def __init__(self, spec, estimator, t_obs, spread, theta0=None):
        self.spec = spec
        self.estimator = estimator
        self.names = spec.names
        self.solver = "stepwise" if spec.response.discrete else "smooth"
        self.t_obs = t_obs
        self.theta0 = t_obs if theta0 is None else theta0
        self.center = self._coords(t_obs)
        self.spread = spread
        self.chunk_cost = spec.p + 2
        self._has_disp = spec.response.dispersion is not None
        # The diagnostics of the last evaluation of each data set (row), shared with the
        # subsets the solvers make, so that ``finish`` refits only rows whose last
        # evaluation was not at the solution.
        size = np.shape(t_obs)[0]
        self._rows = np.arange(size)
        self._last = {"theta": np.full(np.shape(t_obs), np.nan),
                      "separated": np.zeros(size), "not_converged": np.zeros(size)}

    # coordinates ------------------------------------------------------------------
    def _coords(self, theta):
        theta = np.asarray(theta, dtype=float)
        if self.spec.response.dispersion is None:
            return theta
        out = theta.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[..., -1] = np.log(theta[..., -1])
        return out

    def _uncoords(self, coords):
        if self.spec.response.dispersion is None:
            return coords
        out = np.array(coords, dtype=float)
        out[..., -1] = np.exp(coords[..., -1])
        return out

    def to_u(self, theta):
        return (self._coords(theta) - self.center) / self.spread

    def from_u(self, u):
        return self._uncoords(self.center + self.spread * u)

    def param_jacobian(self, theta):
        jac = np.array(self.spread, dtype=float)
        if self._has_disp:
            jac[..., -1] = jac[..., -1] * theta[..., -1]
        return jac

    def stat_coords(self, values):
        return self._coords(values)

    def stat_coords_derivative(self, values):
        out = np.ones_like(values)
        if self._has_disp:
            out[..., -1] = 1.0 / values[..., -1]
        return out

    def residual_scale(self, x):
        return self.spread

    # data -------------------------------------------------------------------------
    def draw_base(self, rng, shape):
        return self.spec.response.draw_base(rng, shape)

    def generate(self, theta, base):
        spec = self.spec
        p = spec.p
        mu = spec.link.inverse(theta[:, :p] @ spec.X.T + spec.offset)  # (size, n)
        disp = None if not self._has_disp else np.broadcast_to(theta[:, p], base.shape[:2])
        return spec.response.sample(base, np.broadcast_to(mu, base.shape[:3]), spec.w, disp)

    def _fit(self, data, theta):
        """T of ``data`` ``(m, size, n)``, each set warm-started at its ``theta``."""
        m, size, n = data.shape
        flat = data.reshape(m * size, n)
        start = np.broadcast_to(theta, (m,) + theta.shape).reshape(m * size, -1)
        p = self.spec.p
        beta0 = start[:, :p]
        disp0 = start[:, p] if self._has_disp else None
        stats, fallback, converged = fit_T(self.spec, flat, self.estimator, beta0=beta0,
                                           disp0=disp0)
        k = stats.shape[1]
        fallback, converged = fallback.reshape(m, size), converged.reshape(m, size)
        rows = self._rows
        self._last["theta"][rows] = theta
        self._last["separated"][rows] = fallback.mean(axis=0)
        self._last["not_converged"][rows] = (~converged).mean(axis=0)
        return stats.reshape(m, size, k), fallback, converged

    def simulate(self, theta, base):
        return self._fit(self.generate(theta, base), theta)[0]

    def estimate(self, data):  # pragma: no cover - the engine uses simulate and target
        raise NotImplementedError("the regression model fits through simulate and target")

    def target(self, x):
        return self.t_obs

    def start(self, x):
        return self.theta0

    def subset(self, index):
        sub = object.__new__(type(self))
        sub.__dict__.update(self.__dict__)
        sub.t_obs, sub.center, sub.spread, sub.theta0, sub._rows = (
            self.t_obs[index], self.center[index], self.spread[index], self.theta0[index],
            self._rows[index])
        return sub

    def skip(self, x, base):
        if self.spec.response.dispersion == "alpha":
            return self.t_obs[:, -1] <= 10.0 * ALPHA_FLOOR
        return np.zeros(x.shape[0], dtype=bool)

    def finish(self, x, base, theta):
        """The share of synthetic sets at the solution that needed the Jeffreys fallback,
        and that did not converge (from the last evaluation where it was at ``theta``)."""
        stale = np.flatnonzero(~np.all(self._last["theta"][self._rows] == theta, axis=-1))
        if stale.size:
            sub = self.subset(stale)
            sub._fit(sub.generate(theta[stale], base[:, stale]), theta[stale])
        return {"synthetic_separated": self._last["separated"][self._rows].copy(),
                "synthetic_not_converged": self._last["not_converged"][self._rows].copy()}
