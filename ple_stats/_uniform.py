"""The continuous uniform distribution."""

from __future__ import annotations

import math

import numpy as np

from ._distribution import Distribution
from ._theory import scale_curves
from ._validation import REAL, all_true, fmt_value

__all__ = ["Uniform"]


class Uniform(Distribution):
    r"""Continuous uniform distribution on ``[low, high]``.

    .. math::

        f(x; \mathrm{low}, \mathrm{high}) = \frac{1}{\mathrm{high} - \mathrm{low}},
        \qquad \mathrm{low} \le x \le \mathrm{high}.

    Support: the interval ``[low, high]``.

    Parameters
    ----------
    low, high : array_like
        Ends of the interval, ``low < high``; broadcast to the batch shape.

    Notes
    -----
    **MLE.** ``low = min(x)``, ``high = max(x)``. Both are biased inwards:
    ``E[max] = high - (high - low)/(n + 1)`` and ``E[min] = low + (high - low)/(n + 1)``.

    **PLE.** The binding function is affine, so the PLE is *exactly unbiased*
    for both ends. With both ends free (``n >= 2``):

    .. math::

        \widehat{\mathrm{low}} = \min - \frac{\max - \min}{n - 1}, \qquad
        \widehat{\mathrm{high}} = \max + \frac{\max - \min}{n - 1}.

    With ``low = L`` fixed, ``high = L + (n + 1)/n \cdot (\max - L)``; with
    ``high = H`` fixed, ``low = H - (n + 1)/n \cdot (H - \min)``.

    Under recursive refitting with ``low = 0`` fixed, the MLE shrinks the
    interval as ``E[high_t] = (n/(n+1))^t high``; the PLE keeps
    ``E[high_t] = high`` while ``E[log high_t]`` still drifts by
    ``log(1 + 1/n) - 1/n`` per generation.

    Examples
    --------
    >>> from ple_stats import Uniform
    >>> x = Uniform(low=0.0, high=1.0).sample(20, rng=0)
    >>> round(Uniform.fit_mle(x, low=0.0).params.high, 4)
    0.9351
    >>> round(Uniform.fit_ple(x, low=0.0).params.high, 4)
    0.9818
    """

    _param_names = ("low", "high")
    _constraints = {"low": REAL, "high": REAL}
    _support = "[low, high]"

    def __init__(self, *, low=0.0, high=1.0):
        super().__init__(low=low, high=high)

    def _check_joint(self, low, high):
        if not all_true(low < high):
            raise ValueError(f"`low` must be smaller than `high`; got low={fmt_value(low)}, "
                             f"high={fmt_value(high)}.")

    @staticmethod
    def _draw_base(rng, shape):
        return rng.random(shape)

    @staticmethod
    def _from_base(u, low, high):
        return low + (high - low) * u

    @staticmethod
    def _base_summary(u):
        """Per synthetic set, the smallest and largest base draw: all the bootstrap needs."""
        return np.minimum.reduce(u, axis=-1), np.maximum.reduce(u, axis=-1)

    @staticmethod
    def _mle_from_base_summary(summary, low, high):
        """The MLE of the synthetic sets ``_from_base(u, low, high)`` from ``_base_summary(u)``.

        ``u -> low + (high - low) * u`` is monotone also in floating point (each rounded
        operation is), so the minimum and maximum of the data are the images of those of
        ``u``, bit for bit: nondecreasing for ``high >= low``, with the ends swapped
        otherwise. Returns None where the parameters are not finite (then the caller
        maps every draw, whose NaNs the reduction would propagate).
        """
        u_min, u_max = summary
        low, width = low[..., 0], (high - low)[..., 0]
        if not (np.isfinite(low).all() and np.isfinite(width).all()):
            return None
        rising = width >= 0
        return {"low": low + width * np.where(rising, u_min, u_max),
                "high": low + width * np.where(rising, u_max, u_min)}

    @staticmethod
    def _logpdf(x, low, high):
        inside = (x >= low) & (x <= high)
        return np.where(inside, -np.log(high - low), -np.inf)

    @staticmethod
    def _cdf(x, low, high):
        return np.clip((x - low) / (high - low), 0.0, 1.0)

    @staticmethod
    def _mean(low, high):
        return 0.5 * (low + high)

    @staticmethod
    def _var(low, high):
        return (high - low) ** 2 / 12.0

    @classmethod
    def _check_data(cls, x, fixed):
        # one data set: one reduction per fixed end; a batch: one elementwise pass
        # (per-row reductions are slow on short rows); the masks only on failure
        if "low" in fixed:
            low = fixed["low"]
            if not (np.minimum.reduce(x) >= low if x.ndim == 1 else all_true(x >= low[..., None])):
                cls._out_of_support(x, x < low[..., None], "below the fixed `low`")
        if "high" in fixed:
            high = fixed["high"]
            if not (np.maximum.reduce(x) <= high if x.ndim == 1
                    else all_true(x <= high[..., None])):
                cls._out_of_support(x, x > high[..., None], "above the fixed `high`")

    @classmethod
    def _min_n(cls, kind, fixed, options):
        return 2 if (kind == "ple" and not fixed) else 1

    @classmethod
    def _mle(cls, x, fixed):
        return {"low": np.minimum.reduce(x, axis=-1), "high": np.maximum.reduce(x, axis=-1)}

    @classmethod
    def _ple_analytic(cls, x, fixed):
        n = x.shape[-1]
        lo, hi = np.minimum.reduce(x, axis=-1), np.maximum.reduce(x, axis=-1)
        if "low" in fixed:
            low = fixed["low"]
            return {"high": low + (n + 1) / n * (hi - low)}
        if "high" in fixed:
            high = fixed["high"]
            return {"low": high - (n + 1) / n * (high - lo)}
        spread = (hi - lo) / (n - 1)
        return {"low": lo - spread, "high": hi + spread}

    @classmethod
    def _fit_floats(cls, x, fixed, kind):
        # _mle / _ple_analytic (both ends free) on Python floats; finite extremes mean
        # finite data (NaN propagates through the reductions)
        if fixed:
            return None
        lo = float(np.minimum.reduce(x))
        hi = float(np.maximum.reduce(x))
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            return None
        if kind == "mle":
            return lo, hi
        spread = (hi - lo) / (x.shape[0] - 1)
        return lo - spread, hi + spread

    # -- exact theory of the replace loop (ple_stats._theory) ------------------------
    @classmethod
    def _exact_curves(cls, params, n, generations, *, estimator, fixed, options):
        """With ``low`` fixed the width refits as ``w_t = w_{t-1} c max(U_1..U_n)``,
        ``max ~ Beta(n, 1)``: ``E[R] = n / (n + 1)``, ``E[log R] = -1/n`` (MLE, ``c = 1``)
        and ``E[R] = 1``, ``E[log R] = log(1 + 1/n) - 1/n`` (PLE, ``c = (n + 1)/n``).
        ``E[log high_t]`` is known for ``low = 0`` only; nothing with both ends free."""
        if fixed != {"low"}:
            return {}
        ple = estimator == "ple"
        low, high = params["low"], params["high"]
        width = scale_curves(high - low, generations, 1.0 if ple else n / (n + 1.0),
                             np.log1p(1.0 / n) - 1.0 / n if ple else -1.0 / n)
        out = {"high": {"mean": low + width["mean"]}}
        if low == 0:
            out["high"]["mean_log"] = width["mean_log"]
        return out
