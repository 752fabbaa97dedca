"""The Pareto (type I) distribution."""

from __future__ import annotations

import math

import numpy as np

from ._distribution import Distribution
from ._theory import inverse_gamma_curves
from ._validation import POSITIVE, all_true, fmt_value

__all__ = ["Pareto"]


class Pareto(Distribution):
    r"""Pareto distribution with shape ``b`` and scale ``xm``.

    .. math::

        f(x; b, x_m) = \frac{b\, x_m^b}{x^{b+1}}, \qquad x \ge x_m .

    Support: ``[xm, inf)``. Same as ``scipy.stats.pareto(b, scale=xm)``.

    Parameters
    ----------
    b : array_like
        Shape (tail index), positive.
    xm : array_like
        Scale (the minimum of the support), positive.

    Notes
    -----
    **MLE.** :math:`\hat x_m = \min_i x_i` and
    :math:`\hat b = n / \sum_i \log(x_i / \hat x_m)`. With ``xm`` known,
    :math:`\log(x/x_m)` is exponential with rate ``b``, so
    :math:`E[\hat b] = \frac{n}{n-1} b`; with ``xm`` free,
    :math:`\sum_i \log(x_i/\min)` is Gamma(``n - 1``, rate ``b``) and
    :math:`E[\hat b] = \frac{n}{n-2} b`, while :math:`E[\min] = x_m\,\frac{nb}{nb-1}`.

    **PLE.**

    - ``xm`` fixed (``n >= 2``): :math:`\hat b = (n-1)/\sum_i \log(x_i/x_m)`,
      unbiased for ``b``.
    - both free (``n >= 3``): :math:`\hat b = (n-2)/\sum_i \log(x_i/\min)`
      (unbiased for ``b``) and :math:`\hat x_m = \min \cdot (1 - 1/(n\hat b))`
      (first-order correction; requires :math:`n\hat b > 1`).
    - ``b`` fixed: :math:`\hat x_m = \min \cdot (1 - 1/(nb))` (unbiased; requires
      :math:`nb > 1`).

    As for :class:`Exponential`, under recursive refitting the PLE keeps
    ``E[b_t]`` constant but ``E[log b_t]`` drifts downwards by about as much
    as the MLE's drifts upwards.

    Examples
    --------
    >>> from ple_stats import Pareto
    >>> x = Pareto(b=1.0, xm=1.0).sample(25, rng=0)
    >>> round(Pareto.fit_mle(x, xm=1.0).params.b, 4), round(Pareto.fit_ple(x, xm=1.0).params.b, 4)
    (0.8125, 0.78)
    """

    _param_names = ("b", "xm")
    _constraints = {"b": POSITIVE, "xm": POSITIVE}
    _support = "[xm, inf)"

    def __init__(self, *, b, xm=1.0):
        super().__init__(b=b, xm=xm)

    @staticmethod
    def _draw_base(rng, shape):
        return rng.standard_exponential(shape)

    @staticmethod
    def _from_base(e, b, xm):
        with np.errstate(over="ignore"):  # b near 0 overflows to inf; callers check
            out = e / b  # one work array, the same arithmetic as xm * exp(e / b)
            np.exp(out, out=out)
            if np.broadcast_shapes(np.shape(xm), out.shape) != out.shape:
                return xm * out
            return np.multiply(xm, out, out=out)

    @staticmethod
    def _logpdf(x, b, xm):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(b) + b * np.log(xm) - (b + 1.0) * np.log(x)
        return np.where(x >= xm, out, -np.inf)

    @staticmethod
    def _cdf(x, b, xm):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -np.expm1(b * (np.log(xm) - np.log(x)))
        return np.where(x >= xm, out, 0.0)

    @staticmethod
    def _mean(b, xm):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 1, b * xm / (b - 1.0), np.inf)

    @staticmethod
    def _var(b, xm):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b > 2, xm**2 * b / ((b - 1.0) ** 2 * (b - 2.0)), np.inf)

    @classmethod
    def _check_data(cls, x, fixed):
        # flat reductions (per-row ones are slow on short rows); the masks only on failure
        low = np.minimum.reduce(x, axis=None)
        if not low > 0:
            cls._out_of_support(x, x <= 0, "positive values")
        if "xm" in fixed:
            xm = fixed["xm"]
            if not (low >= xm if x.ndim == 1 else all_true(x >= xm[..., None])):
                cls._out_of_support(x, x < xm[..., None], "below the fixed `xm`")

    @classmethod
    def _min_n(cls, kind, fixed, options):
        if kind == "mle" or "b" in fixed:
            return 1
        return 2 if "xm" in fixed else 3

    @staticmethod
    def _log_excess(x, xm):
        # sum log(x / xm): exactly 0 for data all equal to xm (then b is degenerate);
        # the log in place (the same values as np.log(x / xm), one work array fewer)
        ratio = x / xm[..., None]
        return np.log(ratio, out=ratio).sum(axis=-1)

    @classmethod
    def _mle(cls, x, fixed):
        xm = fixed["xm"] if "xm" in fixed else np.minimum.reduce(x, axis=-1)
        if "b" in fixed:
            return {"xm": xm}
        return {"b": x.shape[-1] / cls._log_excess(x, xm), "xm": xm}

    @classmethod
    def _fit_floats(cls, x, fixed, kind):
        # _mle (xm fixed or free) and _ple_analytic (xm fixed) on Python floats; the sum of
        # the logs doubles as the finiteness check
        if "b" in fixed or (kind == "ple" and "xm" not in fixed):
            return None
        low = float(np.minimum.reduce(x))
        xm = fixed.get("xm", low)
        if not (low > 0 and low >= xm):
            return None
        log_excess = float(cls._log_excess(x, np.float64(xm)))
        if not math.isfinite(log_excess):
            return None
        n = x.shape[0]
        return (n - 1 if kind == "ple" else n) / log_excess, xm

    @classmethod
    def _ple_analytic(cls, x, fixed):
        n = x.shape[-1]
        if "xm" in fixed:
            return {"b": (n - 1) / cls._log_excess(x, fixed["xm"])}
        low = np.minimum.reduce(x, axis=-1)
        b = fixed["b"] if "b" in fixed else (n - 2) / cls._log_excess(x, low)
        nb = n * b
        if not np.all(nb > 1):
            where = tuple(np.argwhere(~(nb > 1))[0]) if np.ndim(nb) else ()
            raise ValueError(
                "the Pareto PLE of `xm` needs n*b > 1 (the minimum of n draws has finite "
                f"mean only then); got n*b = {fmt_value(np.asarray(nb)[where])} for the data set "
                f"at index {where} of `x`."
            )
        out = {"xm": low * (1.0 - 1.0 / nb)}
        if "b" not in fixed:
            out["b"] = b
        return out

    # -- exact theory of the replace loop (ple_stats._theory) ------------------------
    @classmethod
    def _exact_curves(cls, params, n, generations, *, estimator, fixed, options):
        """With ``xm`` fixed, ``b`` is the rate of the exponential ``log(x / xm)``:
        ``b_hat = c / Gamma(n, 1) * b``, ``c = n`` (MLE) or ``n - 1`` (PLE). Nothing
        exact with ``xm`` free."""
        if fixed != {"xm"}:
            return {}
        return {"b": inverse_gamma_curves(params["b"], n, generations, estimator == "ple")}
