"""The Gaussian (normal) distribution."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._distribution import Distribution
from ._theory import chi_moments, scale_curves
from ._validation import POSITIVE, REAL

__all__ = ["Gaussian", "c4"]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def c4(n):
    r"""The bias factor of the sample standard deviation, :math:`E[s] = c_4(n)\,\sigma`.

    .. math::

        c_4(n) = \sqrt{\frac{2}{n-1}}\,\frac{\Gamma(n/2)}{\Gamma((n-1)/2)},
        \qquad s^2 = \frac{1}{n-1}\sum_i (x_i - \bar x)^2 .

    For ``n >= 60`` it is computed from the asymptotic series
    :math:`\log c_4 = -\frac{1}{8x} + \frac{1}{192x^3} - \frac{1}{640x^5} + \frac{17}{14336x^7}`,
    :math:`x = (n-1)/2` (relative error below 1e-15), which avoids the cancellation
    of two large log-gamma values; below, from log-gamma differences.

    Examples
    --------
    >>> from ple_stats._gaussian import c4
    >>> round(c4(2), 6), round(c4(10), 6)
    (0.797885, 0.972659)
    """
    if np.ndim(n) == 0:  # the common case; math.lgamma keeps scipy off the import path
        n = float(n)
        if n >= 60:
            return float(_c4_series(n))
        return math.sqrt(2.0 / (n - 1.0)) * math.exp(math.lgamma(n / 2.0)
                                                     - math.lgamma((n - 1.0) / 2.0))
    from scipy.special import gammaln

    n = np.asarray(n, dtype=float)
    small = np.minimum(n, 60.0)
    direct = np.sqrt(2.0 / (small - 1.0)) * np.exp(gammaln(small / 2.0)
                                                   - gammaln((small - 1.0) / 2.0))
    return np.where(n >= 60, _c4_series(np.maximum(n, 60.0)), direct)


def _c4_series(n):
    x = (np.asarray(n, dtype=float) - 1.0) / 2.0
    return np.exp(-1.0 / (8 * x) + 1.0 / (192 * x**3) - 1.0 / (640 * x**5)
                  + 17.0 / (14336 * x**7))


def _sum_sq_dev(dev):
    """Sum of squares of the deviations along the last axis (one formula for every path)."""
    return np.einsum("...i,...i->...", dev, dev)


@functools.lru_cache(maxsize=256)
def _c4_of_int(n):
    """:func:`c4` of an integer sample size, cached (the single-fit path's PLE)."""
    return c4(n)


class Gaussian(Distribution):
    r"""Gaussian (normal) distribution with mean ``mu`` and standard deviation ``sigma``.

    .. math::

        f(x; \mu, \sigma) = \frac{1}{\sigma\sqrt{2\pi}}
        \exp\!\Big(-\frac{(x-\mu)^2}{2\sigma^2}\Big), \qquad x \in \mathbb{R}.

    Support: the real line.

    Parameters
    ----------
    mu : array_like
        Mean.
    sigma : array_like
        Standard deviation, positive.

    Notes
    -----
    **MLE.** :math:`\hat\mu = \bar x`, :math:`\hat\sigma = \sqrt{\frac1n\sum_i(x_i-\bar x)^2}`,
    biased: :math:`E[\hat\sigma] = c_4(n)\sqrt{(n-1)/n}\,\sigma` and
    :math:`E[\hat\sigma^2] = \frac{n-1}{n}\sigma^2`.

    **PLE.** PLE depends on the parametrisation, chosen by the ``fit_ple``
    option ``parametrization``:

    - ``"sigma"`` (default): unbiased for :math:`\sigma`,
      :math:`\hat\sigma = s / c_4(n)` with :math:`s^2` the ``n - 1`` variance
      (:func:`c4`);
    - ``"variance"``: unbiased for :math:`\sigma^2`, :math:`\hat\sigma = s`
      (the paper's choice, its Appendix F.3 and Figure 5).

    :math:`\hat\mu = \bar x` in both (the MLE of the mean is unbiased). With
    ``mu`` fixed, the sums use ``n`` degrees of freedom:
    :math:`\hat\sigma^2 = \frac1n\sum(x_i-\mu)^2` is then unbiased for the variance,
    and ``"sigma"`` divides its root by
    :math:`E\sqrt{\chi^2_n/n} = \sqrt{2/n}\,\Gamma(\frac{n+1}{2})/\Gamma(\frac n2)`.
    The PLE with both parameters free needs ``n >= 2``.

    Examples
    --------
    >>> from ple_stats import Gaussian
    >>> x = Gaussian(mu=0.0, sigma=1.0).sample(20, rng=0)
    >>> res = Gaussian.fit_ple(x)
    >>> round(res.params.mu, 4), round(res.params.sigma, 4)
    (-0.1832, 0.8845)
    >>> round(Gaussian.fit_ple(x, parametrization="variance").params.sigma, 4)
    0.873
    >>> round(Gaussian.fit_mle(x).params.sigma, 4)
    0.8509
    """

    _param_names = ("mu", "sigma")
    _constraints = {"mu": REAL, "sigma": POSITIVE}
    _support = "(-inf, inf)"
    _ple_options = {"parametrization": ("sigma", ("sigma", "variance"))}

    def __init__(self, *, mu=0.0, sigma=1.0):
        super().__init__(mu=mu, sigma=sigma)

    @staticmethod
    def _draw_base(rng, shape):
        return rng.standard_normal(shape)

    @staticmethod
    def _from_base(z, mu, sigma):
        return mu + sigma * z

    @staticmethod
    def _logpdf(x, mu, sigma):
        z = (x - mu) / sigma
        return -0.5 * z * z - np.log(sigma) - _LOG_SQRT_2PI

    @staticmethod
    def _cdf(x, mu, sigma):
        from scipy.special import ndtr

        return ndtr((x - mu) / sigma)

    @staticmethod
    def _mean(mu, sigma):
        return mu

    @staticmethod
    def _var(mu, sigma):
        return sigma**2

    @classmethod
    def _ple_statistic_transform(cls, options):
        return {"sigma": np.square} if options["parametrization"] == "variance" else {}

    @classmethod
    def _min_n(cls, kind, fixed, options):
        return 2 if (kind == "ple" and not fixed) else 1

    @staticmethod
    def _sum_sq(x, center):
        return _sum_sq_dev(x - center[..., None])

    @classmethod
    def _mle(cls, x, fixed):
        n = x.shape[-1]
        mu = fixed["mu"] if "mu" in fixed else np.add.reduce(x, axis=-1) / n
        if "sigma" in fixed:
            return {"mu": mu}
        return {"mu": mu, "sigma": np.sqrt(cls._sum_sq(x, mu) / n)}

    @classmethod
    def _ple_analytic(cls, x, fixed, parametrization):
        n = x.shape[-1]
        if "sigma" in fixed:
            return {"mu": x.mean(axis=-1)}
        if "mu" in fixed:
            sigma = np.sqrt(cls._sum_sq(x, fixed["mu"]) / n)
            if parametrization == "sigma":  # E sqrt(chi2_n / n) = c4(n + 1)
                sigma = sigma / c4(n + 1.0)
            return {"sigma": sigma}
        mu = np.add.reduce(x, axis=-1) / n
        s = np.sqrt(cls._sum_sq(x, mu) / (n - 1))
        return {"mu": mu, "sigma": s / c4(n) if parametrization == "sigma" else s}

    @classmethod
    def _fit_floats(cls, x, fixed, kind):
        # _mle / _ple_analytic (both free, the default parametrization) on Python floats;
        # the sum doubles as the finiteness check
        if fixed:
            return None
        n = x.shape[0]
        total = float(np.add.reduce(x))
        if not math.isfinite(total):
            return None
        mu = total / n
        sum_sq = float(_sum_sq_dev(x - mu))
        if kind == "mle":
            return mu, math.sqrt(sum_sq / n)
        return mu, math.sqrt(sum_sq / (n - 1)) / _c4_of_int(n)

    # -- exact theory of the replace loop (ple_stats._theory) ------------------------
    @classmethod
    def _exact_curves(cls, params, n, generations, *, estimator, fixed, options):
        """Both parameters free: ``sigma_t / sigma_{t-1} = sqrt(chi2_{n-1} / k) / d`` with
        ``k = n``, ``d = 1`` (MLE), ``k = n - 1``, ``d = 1`` (variance PLE) or
        ``k = n - 1``, ``d = c4(n)`` (sigma PLE); ``mu`` is a martingale."""
        if fixed:
            return {}
        ple = estimator == "ple"
        parametrization = options.get("parametrization", "sigma")
        if not ple:
            k, divisor = float(n), 1.0
        elif parametrization == "variance":
            k, divisor = n - 1.0, 1.0
        else:
            k, divisor = n - 1.0, float(c4(n))
        mean, mean_log = chi_moments(n - 1.0, k)
        return {"sigma": scale_curves(params["sigma"], generations, mean / divisor,
                                      mean_log - np.log(divisor)),
                "mu": {"mean": np.full(generations + 1, float(params["mu"]))}}
