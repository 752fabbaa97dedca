"""The exponential distribution."""

from __future__ import annotations

import math

import numpy as np

from ._distribution import Distribution
from ._theory import inverse_gamma_curves
from ._validation import POSITIVE

__all__ = ["Exponential"]


class Exponential(Distribution):
    r"""Exponential distribution with rate ``rate``.

    .. math::

        f(x; \lambda) = \lambda e^{-\lambda x}, \qquad x \ge 0.

    Support: ``[0, inf)``.

    Parameters
    ----------
    rate : array_like
        Rate :math:`\lambda > 0` (the inverse of the mean).

    Notes
    -----
    **MLE.** :math:`\hat\lambda = n / \sum_i x_i`, biased upwards:
    :math:`E[\hat\lambda] = \frac{n}{n-1}\lambda` (``n >= 2``).

    **PLE** (unbiased for the rate, ``n >= 2``):
    :math:`\hat\lambda = (n - 1) / \sum_i x_i`.

    Under recursive refitting ``E[rate_t]`` grows as ``(n/(n-1))^t`` under the
    MLE and stays constant under the PLE, but the drift of ``E[log rate_t]``
    (``log n - psi(n)`` per generation for the MLE, ``log(n-1) - psi(n)`` for
    the PLE) is about as large for both, with opposite signs: the PLE is not
    better for this family, it errs the other way.

    Examples
    --------
    >>> from ple_stats import Exponential
    >>> x = Exponential(rate=0.5).sample(25, rng=0)
    >>> res_mle, res_ple = Exponential.fit_mle(x), Exponential.fit_ple(x)
    >>> round(res_mle.params.rate, 4), round(res_ple.params.rate, 4)
    (0.4062, 0.39)
    """

    _param_names = ("rate",)
    _constraints = {"rate": POSITIVE}
    _support = "[0, inf)"

    def __init__(self, *, rate=1.0):
        super().__init__(rate=rate)

    @staticmethod
    def _draw_base(rng, shape):
        return rng.standard_exponential(shape)

    @staticmethod
    def _from_base(e, rate):
        return e / rate

    @staticmethod
    def _logpdf(x, rate):
        return np.where(x >= 0, np.log(rate) - rate * x, -np.inf)

    @staticmethod
    def _cdf(x, rate):
        return -np.expm1(-rate * np.maximum(x, 0.0))

    @staticmethod
    def _mean(rate):
        return 1.0 / rate

    @staticmethod
    def _var(rate):
        return 1.0 / rate**2

    @classmethod
    def _check_data(cls, x, fixed):
        # one flat reduction (per-row ones are slow on short rows); the mask only on failure
        if not np.minimum.reduce(x, axis=None) >= 0:
            cls._out_of_support(x, x < 0, "[0, inf)")

    @classmethod
    def _min_n(cls, kind, fixed, options):
        return 2 if kind == "ple" else 1

    @classmethod
    def _mle(cls, x, fixed):
        return {"rate": x.shape[-1] / np.add.reduce(x, axis=-1)}

    @classmethod
    def _ple_analytic(cls, x, fixed):
        return {"rate": (x.shape[-1] - 1) / np.add.reduce(x, axis=-1)}

    @classmethod
    def _fit_floats(cls, x, fixed, kind):
        # _mle / _ple_analytic on Python floats; the sum doubles as the finiteness check
        total = float(np.add.reduce(x))
        if not (math.isfinite(total) and np.minimum.reduce(x) >= 0):
            return None
        n = x.shape[0]
        return ((n - 1 if kind == "ple" else n) / total,)

    # -- exact theory of the replace loop (ple_stats._theory) ------------------------
    @classmethod
    def _exact_curves(cls, params, n, generations, *, estimator, fixed, options):
        """``rate_hat = c / Gamma(n, 1) * rate`` with ``c = n`` (MLE) or ``n - 1`` (PLE)."""
        return {"rate": inverse_gamma_curves(params["rate"], n, generations,
                                             estimator == "ple")}
