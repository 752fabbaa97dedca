"""Response distributions of the regression models, batched.

A response distribution says, for a mean ``mu`` (any array shape, the last
axis the observations of one data set) and prior weights ``w``:

* its variance function (Fisher scoring) and log-likelihood in ``mu``
  (step halving);
* the maximum-likelihood estimate of its dispersion given ``mu``, if it has
  one estimated (``dispersion`` names it: ``"scale"`` as statsmodels' GLM
  scale, ``"alpha"`` as the NB2 dispersion);
* how to draw responses at ``mu`` from fixed base draws by the inverse CDF
  (common random numbers: the same base at nearby parameters gives nearby
  responses), and what base to draw.

Binomial responses are proportions with ``w`` the number of trials, as in
statsmodels' GLM.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["Response", "Binomial", "Poisson", "NegativeBinomial", "Gaussian", "Gamma",
           "InverseGaussian"]

#: Fitted means closer than this to the edge of their domain mark a diverging fit
#: (the maximum-likelihood estimate runs to infinity: separation).
BOUNDARY = 1e-8


class Response:
    """A response distribution (see the module docstring)."""

    name = ""
    discrete = False
    dispersion = None  #: None, "scale" or "alpha"
    fixed_dispersion = None  #: value of a known dispersion (NB with fixed alpha)

    def variance(self, mu, disp):
        raise NotImplementedError

    def variance_deriv(self, mu, disp):
        raise NotImplementedError

    def loglik_mu(self, y, mu, w, disp):
        """The log-likelihood's terms that depend on ``mu``, summed over the last axis."""
        raise NotImplementedError

    def valid_mu(self, mu):
        return np.isfinite(mu) & (mu > 0)

    def start_mu(self, y):
        raise NotImplementedError

    def at_boundary(self, mu):
        """Data sets whose fitted means reach the edge of the domain (shape ``mu.shape[:-1]``)."""
        return np.zeros(mu.shape[:-1], dtype=bool)

    def fit_dispersion(self, y, mu, w, start=None):
        raise NotImplementedError

    def draw_base(self, rng, shape):
        return rng.random(shape)

    def sample(self, base, mu, w, disp):
        raise NotImplementedError

    def check_endog(self, y, w):
        """Raise ValueError for responses outside the support."""


def trigamma(x):
    """psi'(x) for x > 0: six steps of the recurrence, then the asymptotic series
    (relative error below 1e-12); some 40 times faster than ``polygamma(1, x)``."""
    x = np.asarray(x, dtype=float)
    acc = np.zeros_like(x)
    for k in range(6):
        acc += 1.0 / (x + k) ** 2
    z = x + 6.0
    iz2 = 1.0 / (z * z)
    series = (1.0 + (0.5 + (1.0 / 6.0 + (-1.0 / 30.0 + (1.0 / 42.0 + (-1.0 / 30.0 + 5.0 / 66.0
                                                                        * iz2) * iz2) * iz2)
                                          * iz2) / z) / z) / z
    return acc + series


def _discrete_ppf(u, cdf, start, upper=None):
    """``min{k : cdf(k) >= u}`` elementwise, searching from ``start`` (integer floats)."""
    k = np.maximum(np.floor(start), 0.0)
    if upper is not None:
        k = np.minimum(k, upper)
    # Step up while the cdf is below u, then down while the cdf one below still covers u.
    for _ in range(10_000):
        low = cdf(k) < u
        if upper is not None:
            low &= k < upper
        if not low.any():
            break
        k = np.where(low, k + 1.0, k)
    for _ in range(10_000):
        high = (k > 0) & (cdf(np.maximum(k - 1.0, 0.0)) >= u)
        if not high.any():
            break
        k = np.where(high, k - 1.0, k)
    return k


def _recurrence_ppf(u, start, cdf, logpmf, ratio, upper=None, steps=64):
    """The quantile function of a count distribution by a local search with the pmf
    recurrence ``pmf(k + 1) = pmf(k) * ratio(k)``: one cdf and one pmf at ``start``,
    then a few cheap steps (the start is a normal approximation of the quantile).

    ``cdf``, ``logpmf`` and ``ratio`` take ``(k, index)``, ``index`` selecting the
    elements (flat) they are evaluated for. Elements not settled within ``steps``
    (far tails, where the pmf underflows) are finished by :func:`_discrete_ppf`.
    """
    shape = u.shape
    u = u.ravel()
    k = np.maximum(np.floor(start.ravel()), 0.0)
    if upper is not None:
        upper = np.broadcast_to(upper, shape).ravel()
        k = np.minimum(k, upper)
    every = np.arange(u.size)
    F = cdf(k, every)
    pmf = np.exp(logpmf(k, every))
    # Up: while F(k) < u, move to k + 1.
    idx = np.flatnonzero(F < u)
    if upper is not None:
        idx = idx[k[idx] < upper[idx]]
    for _ in range(steps):
        if idx.size == 0:
            break
        pmf[idx] *= ratio(k[idx], idx)
        k[idx] += 1.0
        F[idx] += pmf[idx]
        more = F[idx] < u[idx]
        if upper is not None:
            more &= k[idx] < upper[idx]
        idx = idx[more]
    left = idx
    # Down: while k > 0 and F(k - 1) = F(k) - pmf(k) >= u, move to k - 1.
    idx = np.flatnonzero((k > 0) & (F - pmf >= u))
    for _ in range(steps):
        if idx.size == 0:
            break
        F[idx] -= pmf[idx]
        k[idx] -= 1.0
        pmf[idx] /= ratio(k[idx], idx)
        idx = idx[(k[idx] > 0) & (F[idx] - pmf[idx] >= u[idx])]
    left = np.union1d(left, idx)
    if left.size:
        k[left] = _discrete_ppf(u[left], lambda q: cdf(q, left), k[left],
                                None if upper is None else upper[left])
    return k.reshape(shape)


def _flat(values, shape):
    return np.broadcast_to(values, shape).ravel()


def _normal_start(u, mean, sd):
    z = special.ndtri(np.clip(u, 1e-300, 1.0 - 1e-16))
    return mean + sd * z


class Binomial(Response):
    name = "Binomial"
    discrete = True

    def variance(self, mu, disp):
        return mu * (1.0 - mu)

    def variance_deriv(self, mu, disp):
        return 1.0 - 2.0 * mu

    def loglik_mu(self, y, mu, w, disp):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = (np.where(y > 0.0, y * np.log(mu), 0.0)
                     + np.where(y < 1.0, (1.0 - y) * np.log1p(-mu), 0.0))
        return (w * terms).sum(axis=-1)

    def valid_mu(self, mu):
        return np.isfinite(mu) & (mu > 0) & (mu < 1)

    def start_mu(self, y):
        return (y + 0.5) / 2.0

    def at_boundary(self, mu):
        return np.any((mu < BOUNDARY) | (mu > 1.0 - BOUNDARY), axis=-1)

    def sample(self, base, mu, w, disp):
        if np.all(w == 1.0):
            return (base > 1.0 - mu).astype(float)
        shape = np.broadcast_shapes(base.shape, mu.shape)
        trials = _flat(np.rint(w), shape)
        p = _flat(mu, shape)
        odds = p / (1.0 - p)
        counts = _recurrence_ppf(
            np.broadcast_to(base, shape),
            _normal_start(base, trials.reshape(shape) * mu,
                          np.sqrt(trials.reshape(shape) * mu * (1.0 - mu))),
            cdf=lambda k, i: special.bdtr(k.astype(np.int64), trials[i].astype(np.int64), p[i]),
            logpmf=lambda k, i: (special.gammaln(trials[i] + 1.0) - special.gammaln(k + 1.0)
                                 - special.gammaln(trials[i] - k + 1.0)
                                 + special.xlogy(k, p[i]) + special.xlog1py(trials[i] - k, -p[i])),
            ratio=lambda k, i: (trials[i] - k) / (k + 1.0) * odds[i],
            upper=trials.reshape(shape))
        return counts / trials.reshape(shape)

    def check_endog(self, y, w):
        counts = y * w
        bad = (y < 0) | (y > 1) | (np.abs(counts - np.round(counts)) > 1e-8)
        if bad.any():
            raise ValueError(
                "a binomial response must be a proportion of successes out of its trials "
                "(0/1 for binary data, counts/trials with `n_trials` or `var_weights`); "
                f"found values {_examples(y[bad])}.")


class Poisson(Response):
    name = "Poisson"
    discrete = True

    def variance(self, mu, disp):
        return mu

    def variance_deriv(self, mu, disp):
        return np.ones_like(mu)

    def loglik_mu(self, y, mu, w, disp):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (special.xlogy(y, mu) - mu).sum(axis=-1)

    def start_mu(self, y):
        return (y + np.mean(y, axis=-1, keepdims=True)) / 2.0 + 0.1

    def at_boundary(self, mu):
        return np.any(mu < BOUNDARY, axis=-1)

    def sample(self, base, mu, w, disp):
        shape = np.broadcast_shapes(base.shape, mu.shape)
        lam = _flat(mu, shape)
        return _recurrence_ppf(
            np.broadcast_to(base, shape), _normal_start(base, mu, np.sqrt(mu)),
            cdf=lambda k, i: special.pdtr(k, lam[i]),
            logpmf=lambda k, i: special.xlogy(k, lam[i]) - lam[i] - special.gammaln(k + 1.0),
            ratio=lambda k, i: lam[i] / (k + 1.0))

    def check_endog(self, y, w):
        _check_counts(y)


class NegativeBinomial(Response):
    """NB2: variance ``mu + alpha mu^2``; ``alpha`` estimated, or fixed (GLM family)."""

    name = "NegativeBinomial"
    discrete = True

    def __init__(self, alpha=None):
        if alpha is None:
            self.dispersion = "alpha"
        else:
            self.fixed_dispersion = float(alpha)

    def _alpha(self, disp):
        """alpha, broadcastable against ``mu`` (a dispersion per data set gains an axis)."""
        return self.fixed_dispersion if disp is None else np.asarray(disp)[..., None]

    def variance(self, mu, disp):
        return mu + self._alpha(disp) * mu * mu

    def variance_deriv(self, mu, disp):
        return 1.0 + 2.0 * self._alpha(disp) * mu

    def loglik_mu(self, y, mu, w, disp):
        alpha = self._alpha(disp)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = special.xlogy(y, alpha * mu) - (y + 1.0 / alpha) * np.log1p(alpha * mu)
        return terms.sum(axis=-1)

    def start_mu(self, y):
        return (y + np.mean(y, axis=-1, keepdims=True)) / 2.0 + 0.1

    def at_boundary(self, mu):
        return np.any(mu < BOUNDARY, axis=-1)

    def loglik(self, y, mu, alpha):
        """The full log-likelihood (alpha of shape ``mu.shape[:-1]``), summed."""
        r = 1.0 / alpha[..., None]
        terms = (special.gammaln(y + r) - special.gammaln(r) - special.gammaln(y + 1.0)
                 + r * np.log(r / (r + mu)) + special.xlogy(y, mu / (r + mu)))
        return terms.sum(axis=-1)

    def fit_dispersion(self, y, mu, w, start=None, *, floor=1e-8, max_iter=100, tol=1e-10):
        """MLE of alpha given ``mu`` (Newton in ``log(1/alpha)`` with step halving).

        Underdispersed data have no maximum at a positive alpha: the estimate
        stops at ``floor``."""
        shape = mu.shape[:-1]
        if start is None:
            # Moment estimate: sum((y - mu)^2 - y) / sum(mu^2).
            start = np.sum((y - mu) ** 2 - y, axis=-1) / np.sum(mu * mu, axis=-1)
        s = -np.log(np.clip(np.broadcast_to(start, shape), floor, 1e4)).astype(float)
        s_max = -np.log(floor)
        active = np.flatnonzero(np.ones(s.shape, dtype=bool))
        for _ in range(max_iter):
            if active.size == 0:
                break
            ya, ma, sa = y[active], mu[active], s[active]
            r = np.exp(sa)[:, None]
            rm = r + ma
            g = np.sum(special.digamma(ya + r) - special.digamma(r) + np.log(r / rm)
                       + 1.0 - (r + ya) / rm, axis=-1)
            h = np.sum(trigamma(ya + r) - trigamma(r) + 1.0 / r
                       - 2.0 / rm + (r + ya) / rm ** 2, axis=-1)
            r = r[:, 0]
            gs, hs = r * g, r * g + r * r * h  # derivatives in s = log r
            step = np.where(hs < 0, -gs / np.where(hs < 0, hs, -1.0), np.sign(gs))
            step = np.clip(step, -5.0, 5.0)
            ll = self.loglik(ya, ma, np.exp(-sa))
            todo = np.arange(active.size)
            moved = np.zeros(active.size)
            for _ in range(30):
                trial = np.minimum(sa[todo] + step[todo], s_max)
                ll_trial = self.loglik(ya[todo], ma[todo], np.exp(-trial))
                good = ll_trial >= ll[todo] - 1e-12 * np.abs(ll[todo])
                moved[todo[good]] = trial[good] - sa[todo[good]]
                todo = todo[~good]
                if todo.size == 0:
                    break
                step[todo] *= 0.5
            s[active] = sa + moved
            active = active[np.abs(moved) > tol * np.maximum(1.0, np.abs(sa))]
        return np.exp(-s)

    def sample(self, base, mu, w, disp):
        alpha = self._alpha(disp)
        shape = np.broadcast_shapes(base.shape, mu.shape, np.shape(alpha))
        r = _flat(1.0 / alpha, shape)
        p = r / (r + _flat(mu, shape))  # scipy's nbinom(r, p)
        return _recurrence_ppf(
            np.broadcast_to(base, shape), _normal_start(base, mu, np.sqrt(mu + alpha * mu * mu)),
            cdf=lambda k, i: special.betainc(r[i], k + 1.0, p[i]),
            logpmf=lambda k, i: (special.gammaln(k + r[i]) - special.gammaln(r[i])
                                 - special.gammaln(k + 1.0) + r[i] * np.log(p[i])
                                 + k * np.log1p(-p[i])),
            ratio=lambda k, i: (k + r[i]) / (k + 1.0) * (1.0 - p[i]))

    def check_endog(self, y, w):
        _check_counts(y)


class Gaussian(Response):
    name = "Gaussian"
    dispersion = "scale"

    def variance(self, mu, disp):
        return np.ones_like(mu)

    def variance_deriv(self, mu, disp):
        return np.zeros_like(mu)

    def loglik_mu(self, y, mu, w, disp):
        return -0.5 * np.sum(w * (y - mu) ** 2, axis=-1)

    def valid_mu(self, mu):
        return np.isfinite(mu)

    def start_mu(self, y):
        return np.array(y, dtype=float)

    def fit_dispersion(self, y, mu, w, start=None):
        return np.mean(w * (y - mu) ** 2, axis=-1)

    def draw_base(self, rng, shape):
        return rng.standard_normal(shape)

    def sample(self, base, mu, w, disp):
        return mu + np.sqrt(np.asarray(disp)[..., None] / w) * base


class Gamma(Response):
    """Gamma with mean ``mu`` and shape ``w / scale`` (statsmodels' scale is 1/shape)."""

    name = "Gamma"
    dispersion = "scale"

    def variance(self, mu, disp):
        return mu * mu

    def variance_deriv(self, mu, disp):
        return 2.0 * mu

    def loglik_mu(self, y, mu, w, disp):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.sum(w * (y / mu + np.log(mu)), axis=-1)

    def start_mu(self, y):
        return (y + np.mean(y, axis=-1, keepdims=True)) / 2.0

    def fit_dispersion(self, y, mu, w, start=None, *, max_iter=100, tol=1e-13):
        """MLE of 1/shape given ``mu``: solves sum w (log a - psi(a)) = D / 2, a = shape w."""
        half_dev = np.sum(w * (y / mu - np.log(y / mu) - 1.0), axis=-1)
        total = np.sum(w * np.ones_like(y), axis=-1)
        x = np.maximum(half_dev / total, 1e-300)
        # Minka's start (exact for equal weights up to about 1.5%), then Newton in log(shape).
        nu = (3.0 - x + np.sqrt((x - 3.0) ** 2 + 24.0 * x)) / (12.0 * x)
        s = np.log(nu)
        for _ in range(max_iter):
            a = np.exp(s)[..., None] * w
            g = np.sum(w * (np.log(a) - special.digamma(a)), axis=-1) - half_dev
            dg = np.sum(w * (1.0 - a * special.polygamma(1, a)), axis=-1)  # < 0
            step = np.clip(-g / dg, -3.0, 3.0)
            s = s + step
            if np.all(np.abs(step) <= tol * np.maximum(1.0, np.abs(s))):
                break
        return np.exp(-s)

    def sample(self, base, mu, w, disp):
        shape = w / np.asarray(disp)[..., None]
        return mu / shape * special.gammaincinv(shape, base)

    def check_endog(self, y, w):
        if np.any(y <= 0):
            raise ValueError(f"a Gamma response must be positive; found {_examples(y[y <= 0])}.")


class InverseGaussian(Response):
    """Inverse Gaussian with mean ``mu`` and shape ``w / scale``."""

    name = "InverseGaussian"
    dispersion = "scale"

    def variance(self, mu, disp):
        return mu ** 3

    def variance_deriv(self, mu, disp):
        return 3.0 * mu * mu

    def loglik_mu(self, y, mu, w, disp):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -0.5 * np.sum(w * (y - mu) ** 2 / (mu * mu * y), axis=-1)

    def start_mu(self, y):
        return (y + np.mean(y, axis=-1, keepdims=True)) / 2.0

    def fit_dispersion(self, y, mu, w, start=None):
        return np.mean(w * (y - mu) ** 2 / (mu * mu * y), axis=-1)

    def draw_base(self, rng, shape):
        # Michael, Schucany and Haas (1976): a normal and a uniform per response.
        return np.stack([rng.standard_normal(shape), rng.random(shape)], axis=-1)

    def sample(self, base, mu, w, disp):
        lam = w / np.asarray(disp)[..., None]
        nu = base[..., 0] ** 2
        y1 = mu + mu * mu * nu / (2.0 * lam) - mu / (2.0 * lam) * np.sqrt(
            4.0 * mu * lam * nu + (mu * nu) ** 2)
        y1 = np.maximum(y1, 1e-300)
        return np.where(base[..., 1] <= mu / (mu + y1), y1, mu * mu / y1)

    def check_endog(self, y, w):
        if np.any(y <= 0):
            raise ValueError("an inverse Gaussian response must be positive; found "
                             f"{_examples(y[y <= 0])}.")


def _check_counts(y):
    bad = (y < 0) | (np.abs(y - np.round(y)) > 1e-8)
    if bad.any():
        raise ValueError(f"a count response must be non-negative integers; found "
                         f"{_examples(y[bad])}.")


def _examples(values, limit=3):
    values = np.unique(np.asarray(values).ravel())
    shown = ", ".join(f"{v:g}" for v in values[:limit])
    return shown + (", ..." if values.size > limit else "")
