"""Exact behaviour of recursive refitting (the replace loop), where it is known.

In the replace loop every generation refits ``n`` draws from the previous
fit. For a scale parameter the fitted value is the previous one times an
independent ratio ``R`` with a fixed law, so ``theta_t = theta_0 * prod R_i``
and

    E[theta_t] = theta_0 * E[R]^t,        E[log theta_t] = log theta_0 + t * E[log R].

Location parameters estimated without bias (Gaussian and Laplace ``mu``) are
martingales: ``E[mu_t] = mu_0``. Only curves that are exact are returned.
"""

from __future__ import annotations

import numpy as np

from ._gaussian import c4
from ._laplace import laplace_kappa

__all__ = ["exact_curves"]


def _scale_curves(theta0, generations, mean_ratio, mean_log_ratio=None):
    t = np.arange(generations + 1, dtype=float)
    curves = {"mean": theta0 * mean_ratio**t}
    if mean_log_ratio is not None:
        curves["mean_log"] = np.log(theta0) + t * mean_log_ratio
    return curves


def _chi_moments(dof, k):
    """E[sqrt(chi2_dof / k)] and E[log sqrt(chi2_dof / k)]."""
    from scipy.special import digamma, gammaln

    mean = np.sqrt(2.0 / k) * np.exp(gammaln((dof + 1) / 2.0) - gammaln(dof / 2.0))
    mean_log = 0.5 * (digamma(dof / 2.0) + np.log(2.0 / k))
    return mean, mean_log


def exact_curves(family, params, n, generations, *, estimator, fixed=(), options=None):
    """Exact ``E[theta_t]`` and ``E[log theta_t]`` per parameter, ``t = 0..generations``.

    Parameters
    ----------
    family : str
        Class name of the family ("Uniform", "Gaussian", ...).
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
        parameters whose behaviour is known exactly (possibly empty).
    """
    from scipy.special import digamma

    options = options or {}
    fixed = set(fixed)
    ple = estimator == "ple"
    out = {}
    if family == "Uniform" and fixed == {"low"}:
        low, high = params["low"], params["high"]
        width = _scale_curves(high - low, generations, 1.0 if ple else n / (n + 1.0),
                              np.log1p(1.0 / n) - 1.0 / n if ple else -1.0 / n)
        out["high"] = {"mean": low + width["mean"]}
        if low == 0:
            out["high"]["mean_log"] = width["mean_log"]
    elif family == "Gaussian" and not fixed:
        parametrization = options.get("parametrization", "sigma")
        if not ple:
            k, divisor = float(n), 1.0
        elif parametrization == "variance":
            k, divisor = n - 1.0, 1.0
        else:
            k, divisor = n - 1.0, float(c4(n))
        mean, mean_log = _chi_moments(n - 1.0, k)
        out["sigma"] = _scale_curves(params["sigma"], generations, mean / divisor,
                                     mean_log - np.log(divisor))
        out["mu"] = {"mean": np.full(generations + 1, float(params["mu"]))}
    elif family == "Laplace" and not fixed:
        out["b"] = _scale_curves(params["b"], generations, 1.0 if ple else laplace_kappa(n))
        out["mu"] = {"mean": np.full(generations + 1, float(params["mu"]))}
    elif (family == "Exponential") or (family == "Pareto" and fixed == {"xm"}):
        name = "rate" if family == "Exponential" else "b"
        # theta_hat = c / Gamma(n, 1) * theta with c = n (MLE) or n - 1 (PLE)
        c = n - 1.0 if ple else float(n)
        out[name] = _scale_curves(params[name], generations, c / (n - 1.0),
                                  np.log(c) - digamma(n))
    return out
