"""The geometric distribution (number of trials up to the first success)."""

from __future__ import annotations

import numpy as np

from ._distribution import Distribution
from ._validation import UNIT_INTERVAL, all_true, as_int
from ._warnings import ConvergenceWarning

__all__ = ["Geometric", "geometric_binding"]

# scipy's hyp2f1(1, 1; n + 1; z) is accurate for small n but returns nan near
# z = 1 for n >= 200; the power series below converges fast for large n.
_SERIES_FROM_N = 50


def _hyp2f1_11(n, z):
    """2F1(1, 1; n + 1; z) for 0 <= z <= 1 and integer n >= 1 (elementwise in z)."""
    z = np.asarray(z, dtype=float)
    if n < _SERIES_FROM_N:
        from scipy.special import hyp2f1

        return hyp2f1(1.0, 1.0, n + 1.0, z)
    # sum_k k! / (n+1)_k z^k; term ratio (k+1) z / (n+1+k) < 1/2 after a few terms
    total = np.ones_like(z)
    term = np.ones_like(z)
    for k in range(10_000):
        term = term * z * (k + 1.0) / (n + 1.0 + k)
        total = total + term
        if np.all(term <= 1e-17 * total):
            break
    return total


def geometric_binding(p, n):
    r"""The binding function of the Geometric MLE: :math:`b(p) = E_p[n/S]`.

    :math:`S = \sum_{i=1}^n x_i` is negative binomial (trials to ``n``
    successes) and

    .. math::

        b(p) = p^n\,{}_2F_1(n, n; n+1; 1-p) = p\,{}_2F_1(1, 1; n+1; 1-p),

    the second form by Euler's transformation, which is far better
    conditioned. :math:`b` increases from 0 to :math:`b(1) = 1` and
    :math:`p \le b(p) \le \frac{n}{n-1} p`.

    Parameters
    ----------
    p : array_like
        Success probabilities in (0, 1].
    n : int
        Sample size, at least 1.

    Returns
    -------
    ndarray
        :math:`b(p)`, same shape as ``p``.

    Examples
    --------
    >>> from ple_stats._geometric import geometric_binding
    >>> round(float(geometric_binding(0.5, 25)), 6)
    0.509992
    """
    n = as_int(n, "n", minimum=1)
    p = np.asarray(p, dtype=float)
    if n == 1:  # b(p) = -p log p / (1 - p), exact where hyp2f1 near z = 1 is not
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(p < 1.0, -p * np.log(p) / -np.expm1(np.log(p)), 1.0)
    return p * _hyp2f1_11(n, 1.0 - p)


def _solve_binding(target, n, *, tol=1e-14, max_iter=200):
    """Solve b(p) = target elementwise by a bracketed Illinois (regula falsi) iteration.

    Returns ``(p, n_iter, converged)``.
    """
    target = np.asarray(target, dtype=float)
    p = np.ones_like(target)
    todo = target < 1.0  # target == 1 (all observations equal to 1) gives p = 1
    if not todo.any():
        return p, 0, True
    t = target[todo]
    hi = t.copy()  # b(p) >= p, so b(t) >= t
    if n >= 2:
        lo = t * (n - 1.0) / n  # b(p) <= n/(n-1) p
    else:
        lo = t * 1e-3
        while True:  # n = 1: b(p) = -p log p / (1 - p) is not within a fixed factor of p
            low_val = geometric_binding(lo, 1)
            if np.all(low_val <= t):
                break
            lo = np.where(low_val > t, lo * 1e-3, lo)
    f_lo = geometric_binding(lo, n) - t
    f_hi = geometric_binding(hi, n) - t
    side = np.zeros_like(t)
    converged = False
    for it in range(1, max_iter + 1):
        denom = f_hi - f_lo
        mid = np.where(denom > 0, (lo * f_hi - hi * f_lo) / np.where(denom > 0, denom, 1.0),
                       0.5 * (lo + hi))
        mid = np.clip(mid, lo, hi)
        f_mid = geometric_binding(mid, n) - t
        left = f_mid < 0
        # Illinois modification: halve the retained end's value when one end sticks.
        f_hi = np.where(left & (side == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~left & (side == -1), 0.5 * f_lo, f_lo)
        lo, f_lo = np.where(left, mid, lo), np.where(left, f_mid, f_lo)
        hi, f_hi = np.where(left, hi, mid), np.where(left, f_hi, f_mid)
        side = np.where(left, 1, -1)
        if np.all((hi - lo <= tol * hi) | (f_mid == 0)):
            converged = True
            break
    root = np.where(np.abs(f_lo) < np.abs(f_hi), lo, hi)
    p[todo] = root
    return p, it, converged


def _binding_one(p, n):
    """:func:`geometric_binding` of one Python float ``p`` for ``n >= 2``: the same operations
    in the same order on floats, so bitwise the same value, without the array overhead."""
    z = 1.0 - p
    if n < _SERIES_FROM_N:
        from scipy.special import hyp2f1

        return p * float(hyp2f1(1.0, 1.0, n + 1.0, z))
    total = term = 1.0
    for k in range(10_000):
        term = term * z * (k + 1.0) / (n + 1.0 + k)
        total = total + term
        if term <= 1e-17 * total:
            break
    return p * total


def _solve_binding_one(t, n, *, tol=1e-14, max_iter=200):
    """:func:`_solve_binding` for one Python float target and ``n >= 2``, step for step.

    Returns ``(p, n_iter, converged)``; used for one data set, where the array
    version spends its time in numpy calls on one-element arrays.
    """
    if not t < 1.0:
        return 1.0, 0, True
    hi, lo = t, t * (n - 1.0) / n
    f_lo = _binding_one(lo, n) - t
    f_hi = _binding_one(hi, n) - t
    side = 0
    converged = False
    for it in range(1, max_iter + 1):
        denom = f_hi - f_lo
        mid = (lo * f_hi - hi * f_lo) / denom if denom > 0 else 0.5 * (lo + hi)
        mid = min(max(mid, lo), hi)  # np.clip(mid, lo, hi)
        f_mid = _binding_one(mid, n) - t
        left = f_mid < 0
        if left:
            if side == 1:
                f_hi = 0.5 * f_hi
            lo, f_lo = mid, f_mid
        else:
            if side == -1:
                f_lo = 0.5 * f_lo
            hi, f_hi = mid, f_mid
        side = 1 if left else -1
        if hi - lo <= tol * hi or f_mid == 0:
            converged = True
            break
    return (lo if abs(f_lo) < abs(f_hi) else hi), it, converged


class Geometric(Distribution):
    r"""Geometric distribution: the number of trials up to and including the first success.

    .. math::

        P(X = k; p) = p\,(1-p)^{k-1}, \qquad k = 1, 2, \dots

    Support: the integers ``{1, 2, ...}`` (``scipy.stats.geom`` convention).

    Parameters
    ----------
    p : array_like
        Success probability in (0, 1].

    Notes
    -----
    **MLE.** :math:`\hat p = n / \sum_i x_i`, biased upwards
    (:math:`E[\hat p] = b(p) \ge p`, see :func:`geometric_binding`).

    **PLE.** The exact binding function is known in closed form, so the PLE
    solves :math:`b(\hat p) = n/\sum_i x_i` to machine precision with a
    bracketed root finder (no Monte Carlo). Data that are all ones give
    :math:`\hat p = 1`. :math:`b` is not affine, so the PLE removes the
    first-order bias rather than all of it: for ``n >= 5`` its remaining bias
    is under a tenth of the MLE's, at ``n = 2`` or ``3`` about a fifth.

    Under recursive refitting with the MLE, ``p_t`` is absorbed at 1 almost
    surely; under an unbiased estimator ``p_t`` is a bounded martingale and
    is absorbed at 1 with probability ``p_0``.

    Examples
    --------
    >>> from ple_stats import Geometric
    >>> x = Geometric(p=0.5).sample(25, rng=0)
    >>> round(Geometric.fit_mle(x).params.p, 4), round(Geometric.fit_ple(x).params.p, 4)
    (0.4167, 0.4069)
    """

    _param_names = ("p",)
    _constraints = {"p": UNIT_INTERVAL}
    _support = "{1, 2, ...}"
    _discrete = True

    def __init__(self, *, p):
        super().__init__(p=p)

    @staticmethod
    def _draw_base(rng, shape):
        return rng.standard_exponential(shape)

    @staticmethod
    def _base_scale(p):
        """``lam = -log(1 - p)``: the synthetic data are ``1 + floor(E / lam)``, E ~ Exp(1)."""
        with np.errstate(divide="ignore"):
            return -np.log1p(-p)

    @staticmethod
    def _from_base(e, p):
        # P(1 + floor(E / lam) > k) = exp(-k lam) = (1 - p)^k with lam = -log(1 - p);
        # p = 1 gives lam = inf and X = 1.
        return 1.0 + np.floor(e / Geometric._base_scale(p))

    @staticmethod
    def _logpdf(x, p):
        valid = (x >= 1) & (x == np.floor(x))
        with np.errstate(invalid="ignore", divide="ignore"):
            # (x - 1) * log(1 - p), with 0 * log(0) = 0 at x = 1 (p = 1 gives mass 1 at 1)
            tail = np.where(x == 1, 0.0, (x - 1.0) * np.log1p(-p))
            out = np.log(p) + tail
        return np.where(valid, out, -np.inf)

    def logpmf(self, x):
        """Log probability mass at ``x`` (``-inf`` off the support); alias of :meth:`logpdf`."""
        return self.logpdf(x)

    @staticmethod
    def _cdf(x, p):
        k = np.floor(np.maximum(x, 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x >= 1, -np.expm1(k * np.log1p(-p)), 0.0)

    @staticmethod
    def _mean(p):
        return 1.0 / p

    @staticmethod
    def _var(p):
        return (1.0 - p) / p**2

    @classmethod
    def _check_data(cls, x, fixed):
        # flat checks (per-row reductions are slow on short rows); the mask only on failure
        if not (np.minimum.reduce(x, axis=None) >= 1 and all_true(np.floor(x) == x)):
            cls._out_of_support(x, (x < 1) | (x != np.floor(x)), "integers >= 1")

    @classmethod
    def _mle(cls, x, fixed):
        return cls._mle_from_sum(np.add.reduce(x, axis=-1), x.shape[-1])

    @staticmethod
    def _mle_from_sum(total, n):
        """The MLE from the sum of the data: the bootstrap's shortcut (synthetic data of the
        form ``1 + floor(E / lam)``, whose sum it computes from fewer draws; see
        :class:`ple_stats._bootstrap.FloorSumSimulator`)."""
        return {"p": n / total}

    @classmethod
    def _ple_analytic(cls, x, fixed):
        n = x.shape[-1]
        target = cls._mle(x, fixed)["p"]
        if x.ndim == 1 and n >= 2:  # one data set: the same iteration on floats
            p, n_iter, converged = _solve_binding_one(float(target), n)
        else:
            p, n_iter, converged = _solve_binding(target, n)
        if not converged:  # pragma: no cover - the bracketed iteration always closes
            import warnings

            warnings.warn(f"Geometric PLE root finder stopped after {n_iter} iterations.",
                          ConvergenceWarning, stacklevel=3)
        return {"p": p}

    # -- exact theory of the replace loop (ple_stats._theory) ------------------------
    @classmethod
    def _exact_curves(cls, params, n, generations, *, estimator, fixed, options):
        """No exact curves: ``p_t`` is not a scaled copy of ``p_{t-1}`` and is absorbed
        at 1 (under the MLE almost surely)."""
        return {}
