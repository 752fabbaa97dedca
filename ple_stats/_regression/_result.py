"""The result of ``ple_stats.fit_ple`` on a regression model."""

from __future__ import annotations

import warnings

import numpy as np

from .._uncertainty import (ConfidenceInterval, _as_level, _warn_once_per_kind,
                            percentile_interval)
from .._validation import as_int, as_rng
from ._model import fit_T

__all__ = ["RegressionResult"]

#: Parametric-bootstrap resamples behind ``bse`` and ``conf_int()``.
DEFAULT_RESAMPLES = 200
BOOTSTRAP_METHODS = ("linearized", "full")


class RegressionResult:
    """PLE of a statsmodels regression model, beside its maximum-likelihood estimate.

    Attributes
    ----------
    model : statsmodels model
        The model that was fitted (unchanged).
    params : pandas.Series
        The PLE of the coefficients in exog order, named by ``model.exog_names``,
        then NB2's ``alpha`` where it is estimated (statsmodels' order).
    mle : pandas.Series
        The estimator ``T`` on the data (the maximum-likelihood estimate, or
        the Jeffreys-penalised one where the MLE does not exist or
        ``estimator="firth"``), same index.
    scale, mle_scale : float
        PLE and ``T`` of the dispersion of Gaussian, Gamma and inverse
        Gaussian models (statsmodels' ``scale``: the variance of OLS, 1/shape
        of a Gamma); 1.0 where the dispersion is fixed.
    mc_se : pandas.Series
        Monte Carlo standard error of the PLE from the ``m`` synthetic sets,
        one row per free parameter (``params``' rows, then ``scale`` where it
        is estimated).
    bse : pandas.Series
        Parametric-bootstrap standard error of the PLE (computed on first use,
        200 resamples, linearized; see :meth:`confidence_interval`), same rows
        as ``mc_se``.
    info : dict
        The engine's diagnostics: ``residual``, ``residuals``, ``n_iter``,
        ``converged``, ``mc_se``, ``m``, ``estimator``;
        ``observed_separated`` (the data's MLE is infinite),
        ``synthetic_separated`` (fraction of synthetic sets at the PLE whose MLE
        is infinite) and ``synthetic_not_converged``.

    Examples
    --------
    >>> import numpy as np
    >>> import statsmodels.api as sm
    >>> import ple_stats
    >>> rng = np.random.default_rng(0)
    >>> X = sm.add_constant(rng.normal(size=(50, 2)))
    >>> y = (rng.random(50) < 1 / (1 + np.exp(-X @ [-0.5, 1.0, 0.5]))).astype(float)
    >>> res = ple_stats.fit_ple(sm.Logit(y, X), m=50, rng=0)
    >>> list(res.params.index)
    ['const', 'x1', 'x2']
    >>> bool(res.info["converged"])
    True
    >>> bool(abs(res.params["x1"]) < abs(res.mle["x1"]))  # the MLE is biased away from 0
    True
    """

    def __init__(self, spec, out, t_obs, *, observed_separated, estimator, m, tol, max_iter,
                 bootstrap_seed):
        import pandas as pd

        self._spec = spec
        self.model = spec.model
        self._estimator = estimator
        self._settings = {"m": m, "tol": tol, "max_iter": max_iter}
        self._bootstrap_seed = bootstrap_seed
        self._bootstrap = {}
        p = spec.p
        names = list(spec.names)
        theta = out.theta[0]
        self._free_names = names
        self._theta = pd.Series(theta, index=names, name="ple")
        self._t = pd.Series(t_obs, index=names, name="mle")
        has_scale = spec.response.dispersion == "scale"
        keep = names[:p] + ([] if spec.response.dispersion is None or has_scale else names[p:])
        self.params = self._theta[keep].rename("params")
        self.mle = self._t[keep].rename("mle")
        self.scale = float(theta[-1]) if has_scale else 1.0
        self.mle_scale = float(t_obs[-1]) if has_scale else 1.0
        self.mc_se = pd.Series(out.mc_se[0], index=names, name="mc_se")
        self.info = {
            "estimator": (f"bootstrap PLE of {spec.label()} over the batched "
                          + ("maximum-likelihood estimate (Jeffreys-penalised where it is "
                             "infinite)" if estimator == "mle"
                             else "Jeffreys-penalised (Firth) estimate")
                          + ", common random numbers"
                          + (" (step-function solver)" if spec.response.discrete else "")),
            "m": m,
            "residual": float(out.residual[0]),
            "residuals": pd.Series(out.residuals[0], index=names, name="residuals"),
            "n_iter": int(out.n_iter),
            "converged": bool(out.converged[0]),
            "mc_se": self.mc_se,
            "observed_separated": observed_separated,
            "binding_undefined": bool(out.extra["skipped"][0]),
            "synthetic_separated": float(out.extra["synthetic_separated"][0]),
            "synthetic_not_converged": float(out.extra["synthetic_not_converged"][0]),
        }

    @property
    def nobs(self):
        return self._spec.n

    # uncertainty ------------------------------------------------------------------
    def confidence_interval(self, confidence_level=0.95, *, n_resamples=DEFAULT_RESAMPLES,
                            method="linearized", rng=None, progress=None):
        """Parametric-bootstrap percentile intervals and standard errors of the PLE.

        ``n_resamples`` response vectors are drawn from the fitted model (at
        the PLE, design fixed) and ``T`` is fitted to each.

        ``method="linearized"`` (default) maps each resample's ``T`` through
        the fit's own correction, ``T* + (PLE - T(y))`` (the dispersion by its
        ratio): the first step of the PLE solve of the resample, exact where the
        bias does not vary with the parameters and otherwise wrong by the
        bias's slope, O(1/n) of the spread. It costs ``n_resamples`` fits of
        ``T``. ``method="full"`` solves the PLE of every resample (``m``
        synthetic sets each, batched, with a progress bar), about
        ``n_resamples`` times the cost of the fit.

        Parameters
        ----------
        confidence_level : float
            In (0, 1).
        n_resamples : int
            Bootstrap resamples (at least 2).
        method : {"linearized", "full"}
        rng : None, int or numpy.random.Generator
            Randomness of the resamples (and of their PLEs' synthetic sets).
            ``None`` uses a seed drawn by the fit, so repeated calls (and
            ``bse``) agree.
        progress : bool, optional
            ``method="full"``: a progress bar over chunks of resamples.

        Returns
        -------
        ConfidenceInterval
            ``low``, ``high`` and ``standard_error``, pandas Series with one
            row per free parameter (as ``mc_se``).
        """
        return self._interval(confidence_level, n_resamples, method, rng, progress,
                              stacklevel=3)

    def _interval(self, confidence_level, n_resamples, method, rng, progress, stacklevel):
        import pandas as pd

        level = _as_level(confidence_level)
        if method not in BOOTSTRAP_METHODS:
            raise ValueError(f"`method` must be one of {BOOTSTRAP_METHODS}; got {method!r}.")
        if progress is not None and not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"`progress` must be True, False or None; got "
                            f"{type(progress).__name__}.")
        values = self._resampled(as_int(n_resamples, "n_resamples", minimum=2), method, rng,
                                 progress, stacklevel + 1)
        low, high, se = percentile_interval(values, level)
        index = self._free_names
        return ConfidenceInterval(pd.Series(low, index=index, name="low"),
                                  pd.Series(high, index=index, name="high"),
                                  pd.Series(se, index=index, name="standard_error"))

    def conf_int(self, alpha=0.05):
        """Bootstrap percentile intervals as a DataFrame (statsmodels' layout: one row per
        free parameter, columns ``lower`` and ``upper``; the default method of
        :meth:`confidence_interval`)."""
        import pandas as pd

        ci = self._interval(1.0 - float(alpha), DEFAULT_RESAMPLES, "linearized", None, None,
                            stacklevel=3)
        return pd.DataFrame({"lower": ci.low, "upper": ci.high})

    @property
    def bse(self):
        """Parametric-bootstrap standard errors (the default method of
        :meth:`confidence_interval`, 200 resamples, computed once)."""
        ci = self._interval(0.95, DEFAULT_RESAMPLES, "linearized", None, None, stacklevel=3)
        return ci.standard_error.rename("bse")

    def _resampled(self, n_resamples, method, rng, progress, stacklevel):
        from ._fit import solve_regression
        from ._model import RegressionModel, standard_errors

        key = (n_resamples, method) if rng is None else None
        if key is not None and key in self._bootstrap:
            return self._bootstrap[key]
        gen = np.random.default_rng(self._bootstrap_seed) if rng is None else as_rng(rng)
        spec = self._spec
        theta = self._theta.to_numpy()[None]
        sampler = RegressionModel(spec, self._estimator, theta, standard_errors(spec, theta))
        base = sampler.draw_base(gen, (n_resamples, 1, spec.n))
        y = sampler.generate(theta, base)[:, 0]
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            start = np.broadcast_to(theta, (n_resamples, theta.shape[1]))
            p = spec.p
            t_obs = fit_T(spec, y, self._estimator, beta0=start[:, :p],
                          disp0=start[:, p] if start.shape[1] > p else None)[0]
            # Each resample's T moved by the fit's correction, T(y) - PLE: the linearized
            # PLE, and the start of the full solve (the correction varies slowly).
            values = _shifted_start(spec, t_obs, self._t.to_numpy(), self._theta.to_numpy())
            if method == "full":
                out = solve_regression(spec, y, t_obs, self._estimator, rng=gen,
                                       progress=progress, desc="bootstrap PLE", start=values,
                                       **self._settings)
                values = out.theta
        _warn_once_per_kind([record], stacklevel=stacklevel)
        if key is not None:
            self._bootstrap[key] = values
        return values

    # display ----------------------------------------------------------------------
    def summary(self, alpha=0.05, n_resamples=DEFAULT_RESAMPLES, method="linearized"):
        """A statsmodels ``Summary``: the fit's settings, then one row per parameter with
        the MLE, the PLE, the bootstrap standard error and interval (see
        :meth:`confidence_interval` for ``n_resamples`` and ``method``), and the Monte
        Carlo standard error."""
        from statsmodels.iolib.summary import Summary
        from statsmodels.iolib.table import SimpleTable

        spec = self._spec
        ci = self._interval(1.0 - float(alpha), n_resamples, method, None, None, stacklevel=3)
        info = self.info
        left = [("Model:", spec.label()), ("Estimator T:", "MLE" if self._estimator == "mle"
                                            else "Firth"),
                ("No. Observations:", str(spec.n)), ("Synthetic sets m:", str(info["m"]))]
        right = [("Converged:", str(info["converged"])), ("Iterations:", str(info["n_iter"])),
                 ("Separated data:", str(info["observed_separated"])),
                 ("Separated synthetic:", f"{100 * info['synthetic_separated']:.0f}%")]
        summary = Summary()
        header = SimpleTable([[a, b, c, d] for (a, b), (c, d) in zip(left, right)],
                             title="Penalized autophagy estimation (PLE) results")
        summary.tables.append(header)
        lo_name, hi_name = f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"
        rows = []
        for name in self._free_names:
            rows.append([f"{self._t[name]:.4f}", f"{self._theta[name]:.4f}",
                         f"{ci.standard_error[name]:.4f}", f"{ci.low[name]:.4f}",
                         f"{ci.high[name]:.4f}", f"{self.mc_se[name]:.4f}"])
        table = SimpleTable(rows, headers=["MLE", "PLE", "boot s.e.", lo_name, hi_name,
                                           "MC s.e."],
                            stubs=[str(n) for n in self._free_names])
        summary.tables.append(table)
        summary.add_extra_txt([
            "PLE solves E_theta[T(Y)] = T(y) over m synthetic response vectors drawn from the "
            "model at theta (design fixed, common random numbers). boot s.e. and the interval: "
            f"parametric bootstrap ({n_resamples} resamples, {method} PLE). MC s.e.: "
            "the Monte Carlo error of the PLE from the finite m."])
        return summary

    def __repr__(self):
        rows = "\n".join(f"    {name}: mle {self._t[name]:.6g}, ple {self._theta[name]:.6g}"
                         for name in self._free_names)
        return (f"RegressionResult({self._spec.label()}, n={self._spec.n}, "
                f"m={self.info['m']}, converged={self.info['converged']})\n{rows}")


def _shifted_start(spec, t_obs, t_fit, theta_fit):
    """Starts of resampled PLEs: each resample's ``T`` moved by the fit's correction
    ``theta_fit - t_fit`` (coefficients additively, the dispersion by its ratio)."""
    start = t_obs + (theta_fit - t_fit)
    if spec.response.dispersion is not None:
        start[:, -1] = t_obs[:, -1] * (theta_fit[-1] / t_fit[-1])
    return start
