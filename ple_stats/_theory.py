"""Exact behaviour of recursive refitting (the replace loop), where it is known.

In the replace loop every generation refits ``n`` draws from the previous
fit. For a scale parameter the fitted value is the previous one times an
independent ratio ``R`` with a fixed law, so ``theta_t = theta_0 * prod R_i``
and

    E[theta_t] = theta_0 * E[R]^t,        E[log theta_t] = log theta_0 + t * E[log R].

Location parameters estimated without bias (Gaussian and Laplace ``mu``) are
martingales: ``E[mu_t] = mu_0``. Only curves that are exact are returned.

What is known about a family lives on the family, as its classmethod hook
``_exact_curves(params, n, generations, *, estimator, fixed, options)``
(the law of its ratio ``R``); :func:`exact_curves` looks the family up and
calls it. The helpers here (:func:`scale_curves`, :func:`chi_moments`,
:func:`inverse_gamma_curves`) turn a ratio's law into curves.
"""

from __future__ import annotations

import numpy as np

from ._distribution import Distribution

__all__ = ["exact_curves", "multivariate_gaussian_curves", "wishart_log_det_moments"]


def scale_curves(theta0, generations, mean_ratio, mean_log_ratio=None):
    """``{"mean": theta0 E[R]^t}`` and, given ``E[log R]``, ``{"mean_log": ...}``, for
    ``t = 0..generations``."""
    t = np.arange(generations + 1, dtype=float)
    curves = {"mean": theta0 * mean_ratio**t}
    if mean_log_ratio is not None:
        curves["mean_log"] = np.log(theta0) + t * mean_log_ratio
    return curves


def chi_moments(dof, k):
    """E[sqrt(chi2_dof / k)] and E[log sqrt(chi2_dof / k)]."""
    from scipy.special import digamma, gammaln

    mean = np.sqrt(2.0 / k) * np.exp(gammaln((dof + 1) / 2.0) - gammaln(dof / 2.0))
    mean_log = 0.5 * (digamma(dof / 2.0) + np.log(2.0 / k))
    return mean, mean_log


def inverse_gamma_curves(theta0, n, generations, ple):
    """Curves of a rate refitted as ``theta_hat = c / Gamma(n, 1) * theta``, with
    ``c = n`` (MLE) or ``n - 1`` (PLE): ``E[R] = c / (n - 1)``,
    ``E[log R] = log c - psi(n)``."""
    from scipy.special import digamma

    c = n - 1.0 if ple else float(n)
    return scale_curves(theta0, generations, c / (n - 1.0), np.log(c) - digamma(n))


def _family_class(family):
    """The family class of a class or a class name ("Uniform", ...); ``None`` if unknown."""
    if isinstance(family, type):
        return family
    stack = list(Distribution.__subclasses__())
    while stack:
        cls = stack.pop(0)
        if cls.__name__ == family and cls.__module__.startswith("ple_stats."):
            return cls
        stack.extend(cls.__subclasses__())
    return None


def exact_curves(family, params, n, generations, *, estimator, fixed=(), options=None):
    """Exact ``E[theta_t]`` and ``E[log theta_t]`` per parameter, ``t = 0..generations``.

    Parameters
    ----------
    family : str or type
        The family class, or its name ("Uniform", "Gaussian", ...).
    params : dict
        True parameters (generation 0).
    n : int
        Sample size per generation.
    generations : int
    estimator : {"mle", "ple"}
        The PLE curves are those of the analytic PLE (exact); the bootstrap
        PLE approximates it.
    fixed : iterable of str
        Names of the fixed parameters.
    options : dict
        ``fit_ple`` options (``parametrization`` for Gaussian).

    Returns
    -------
    dict
        ``{param_name: {"mean": array, "mean_log": array}}`` for the
        parameters whose behaviour is known exactly (possibly empty): what the
        family's ``_exact_curves`` hook returns; empty for a family without one.
    """
    cls = _family_class(family)
    hook = getattr(cls, "_exact_curves", None)
    if hook is None:
        return {}
    return hook(params, n, generations, estimator=estimator, fixed=frozenset(fixed),
                options=options or {})


# --------------------------------------------------------------------------- multivariate
def wishart_log_det_moments(d, dof, divisor):
    r"""Mean and variance of ``log det(W / divisor)`` for ``W ~ Wishart_d(dof, I)``.

    By the Bartlett decomposition ``det W = prod_{i=1}^{d} chi2_{dof - i + 1}``
    (independent), and ``E log chi2_k = psi(k/2) + log 2``,
    ``Var log chi2_k = psi'(k/2)``:

    .. math::

        E = \sum_{i=1}^{d} \psi\big(\tfrac{dof - i + 1}{2}\big) + d \log\frac{2}{divisor},
        \qquad
        \mathrm{Var} = \sum_{i=1}^{d} \psi'\big(\tfrac{dof - i + 1}{2}\big).

    Needs ``dof >= d`` (else ``W`` is singular and the log determinant is
    ``-inf``; ``(-inf, nan)`` is returned).
    """
    from scipy.special import digamma, polygamma

    if dof < d:
        return -np.inf, np.nan
    half = (dof - np.arange(d, dtype=float)) / 2.0
    return (float(np.sum(digamma(half)) + d * np.log(2.0 / divisor)),
            float(np.sum(polygamma(1, half))))


def multivariate_gaussian_curves(cov0, n, generations, *, estimator, mode="replace",
                                 mean_fixed=False):
    r"""What is known exactly about the multivariate Gaussian refitted on its own samples.

    Generation 0 is the truth ``N(mu_0, Sigma_0)``; generation ``t`` is the
    analytic fit (:class:`~ple_stats.MultivariateGaussian`: MLE divisor ``N``,
    PLE divisor ``N - 1`` of the scatter of the ``N`` points fitted; ``N``
    for both with the mean fixed at ``mu_0``) to ``n`` draws from generation
    ``t - 1`` (``mode="replace"``) or to those and all earlier draws
    (``mode="accumulate"``, ``N = n t``).

    **Replace.** Given the past, ``Sigma_t = Sigma_{t-1}^{1/2} (W / c)
    Sigma_{t-1}^{1/2}`` with ``W ~ Wishart_d(k, I)`` independent of the past,
    ``k = n - 1`` (``n`` with the mean fixed), ``c = n`` (MLE, or mean fixed)
    or ``n - 1`` (PLE). Hence, exactly,

    - ``E[Sigma_t] = r^t Sigma_0`` with ``r = k / c``: ``((n - 1)/n)^t`` for the
      MLE, 1 for the PLE and with the mean fixed;
    - ``E[log det Sigma_t] - log det Sigma_0 = t * delta`` with
      ``delta = sum_{i=1}^{d} psi((k - i + 1)/2) + d log(2/c)``
      (:func:`wishart_log_det_moments`), and variance ``t * sum psi'(...)``:
      the increments are independent and identically distributed. ``delta < 0``
      also for the PLE (Jensen: ``E log det(W/k) < log det E(W/k) = 0``), so
      ``log det Sigma_t -> -inf`` almost surely (strong law of large numbers);
    - ``mu_t = mu_{t-1} + e_t`` with ``E[e_t e_t^T | past] = Sigma_{t-1} / n``, a
      martingale with orthogonal increments:
      ``E||mu_t - mu_0||^2 = (tr Sigma_0 / n) sum_{s=0}^{t-1} r^s``, i.e.
      ``tr Sigma_0 (1 - r^t)`` for the MLE and ``t tr Sigma_0 / n`` for the PLE.

    **Accumulate** (mean free). With ``S_t`` the pooled scatter and
    ``delta_t = m_t - mu_{t-1}`` the new batch's mean minus the pool's,
    ``S_t = S_{t-1} + W_t + n (t-1)/t delta_t delta_t^T`` with
    ``E[W_t | past] = (n - 1) Sigma_{t-1}`` and ``E[delta_t delta_t^T | past] =
    Sigma_{t-1} / n``, so ``E[Sigma_t] = r_t Sigma_0`` exactly, with

    - MLE: ``r_t = prod_{s=1}^{t} (1 - 1/(n s^2))``, decreasing to
      ``sin(pi/sqrt(n)) / (pi/sqrt(n)) > 0``;
    - PLE: ``r_t = prod_{s=2}^{t} (1 - 1/(s (n s - 1)))``, decreasing to a
      positive limit.

    The pool's mean moves by ``mu_t - mu_{t-1} = delta_t / t``, again a
    martingale, so exactly ``E||mu_t - mu_0||^2 = sum_{s=1}^{t} tr(E Sigma_{s-1})
    / (n s^2) <= (pi^2/6) tr Sigma_0 / n``. For ``E[log det Sigma_t]`` no exact
    result is known here: the curve ``d log r_t`` returned is an **upper bound**
    (Jensen: ``E log det Sigma_t <= log det E Sigma_t``), not the expectation.
    With the mean fixed at ``mu_0``: ``E[Sigma_t] = Sigma_0`` and ``mu_t = mu_0``.

    Parameters
    ----------
    cov0 : array_like of shape (d, d)
    n : int
    generations : int
    estimator : {"mle", "ple"}
    mode : {"replace", "accumulate"}
    mean_fixed : bool
        The mean is held fixed at the truth's.

    Returns
    -------
    dict
        ``cov_ratio`` (``E[Sigma_t] / Sigma_0``, elementwise), ``trace_ratio``
        (``{"mean": E tr Sigma_t / tr Sigma_0}``), ``mean_sq_error``
        (``{"mean": E||mu_t - mu_0||^2}``) and ``logdet_ratio``: under replace
        ``{"mean": ..., "sd": ...}`` (exact; absent when ``n`` is too small for a
        nonsingular fit), under accumulate ``{"upper_bound": ...}``. Empty for
        another mode.
    """
    cov0 = np.asarray(cov0, dtype=float)
    d = cov0.shape[-1]
    trace0 = float(np.trace(cov0))
    t = np.arange(generations + 1, dtype=float)
    ple = estimator == "ple"
    out = {}
    if mode == "replace":
        k = float(n) if mean_fixed else n - 1.0
        c = n - 1.0 if (ple and not mean_fixed) else float(n)
        r = (k / c) ** t
        if mean_fixed:
            mse = np.zeros_like(t)
        else:  # sum_{s=0}^{t-1} r^s, cumulated
            mse = trace0 / n * np.concatenate([[0.0], np.cumsum(r[:-1])])
        drift, var = wishart_log_det_moments(d, int(k), c)
        if np.isfinite(drift):
            out["logdet_ratio"] = {"mean": t * drift, "sd": np.sqrt(t * var)}
    elif mode == "accumulate":
        s = t[1:]
        if mean_fixed:
            step = np.ones_like(s)
        elif ple:
            step = np.where(s >= 2, 1.0 - 1.0 / (s * (n * s - 1.0)), 1.0)
        else:
            step = 1.0 - 1.0 / (n * s * s)
        r = np.concatenate([[1.0], np.cumprod(step)])
        if mean_fixed:
            mse = np.zeros_like(t)
        else:  # sum_{s=1}^{t} tr Sigma_0 r_{s-1} / (n s^2)
            mse = np.concatenate([[0.0], np.cumsum(trace0 * r[:-1] / (n * s * s))])
        out["logdet_ratio"] = {"upper_bound": d * np.log(r)}
    else:
        return {}
    out["cov_ratio"] = r
    out["trace_ratio"] = {"mean": r}
    out["mean_sq_error"] = {"mean": mse}
    return out
