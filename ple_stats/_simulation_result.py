"""The result of :func:`ple_stats.simulate`: trajectories, summaries, theory, plots, files."""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field

import numpy as np

from ._lib.files import atomic_write
from ._theory import exact_curves, multivariate_gaussian_curves

__all__ = ["SimulationResult"]

_FORMAT_VERSION = 3  # 2: adds ``diverged``; 3: adds ``collapsed``


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Trajectories of a recursive-refitting simulation.

    Attributes
    ----------
    trajectories : ndarray of shape (runs, generations + 1, n_params)
        ``[:, 0]`` is the truth, ``[:, 1]`` the fit to real data, ``[:, t]``
        the fit after ``t - 1`` refits on synthetic data.
    param_names : tuple of str
    family : str
    truth : dict
    n : int
        Points drawn per generation.
    estimator : str
    fixed : tuple of str
        Parameters held fixed.
    options : dict
        ``fit_ple`` options used (``method``, ``m``, ``parametrization``, ...).
    mode : str
    fresh_fraction : float
    diverged : ndarray of int, shape (runs,)
        Generation at which a run's samples overflowed the floating-point
        range (it is frozen at its last value from then on), or -1.
    collapsed : ndarray of int, shape (runs,)
        Generation at which a run's data became degenerate (e.g. all points
        equal) so that the estimator refused them; the run is frozen at its
        last value from then on (an absorbing state), or -1.
    """

    trajectories: np.ndarray
    param_names: tuple
    family: str
    truth: dict
    n: int
    estimator: str
    fixed: tuple = ()
    options: dict = field(default_factory=dict)
    mode: str = "replace"
    fresh_fraction: float = 0.0
    diverged: np.ndarray = None
    collapsed: np.ndarray = None

    def __post_init__(self):
        for name in ("diverged", "collapsed"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(self.trajectories.shape[0], -1))

    # ------------------------------------------------------------------ shape
    @property
    def runs(self) -> int:
        return self.trajectories.shape[0]

    @property
    def generations(self) -> int:
        return self.trajectories.shape[1] - 1

    def __repr__(self):
        return (f"SimulationResult({self.family}, estimator={self.estimator!r}, n={self.n}, "
                f"runs={self.runs}, generations={self.generations}, mode={self.mode!r})")

    def values(self, param):
        """Trajectories of one parameter, shape (runs, generations + 1)."""
        if param not in self.param_names:
            raise ValueError(f"`param` must be one of {self.param_names}; got {param!r}.")
        return self.trajectories[..., self.param_names.index(param)]

    # ------------------------------------------------------------------ summaries
    def mean(self, param):
        """Mean over runs per generation."""
        return self.values(param).mean(axis=0)

    def standard_error(self, param):
        """Standard error of :meth:`mean` per generation (zero with a single run)."""
        values = self.values(param)
        if self.runs < 2:
            return np.zeros(values.shape[1])
        return values.std(axis=0, ddof=1) / np.sqrt(self.runs)

    def median(self, param):
        """Median over runs per generation."""
        return np.median(self.values(param), axis=0)

    def mean_log(self, param):
        """Mean of ``log(theta_t)`` over runs per generation (positive parameters only)."""
        values = self.values(param)
        if np.any(values <= 0):
            raise ValueError(f"`{param}` takes non-positive values; its log is undefined.")
        return np.log(values).mean(axis=0)

    def standard_error_log(self, param):
        """Standard error of :meth:`mean_log`."""
        values = self.values(param)
        if np.any(values <= 0):
            raise ValueError(f"`{param}` takes non-positive values; its log is undefined.")
        if self.runs < 2:
            return np.zeros(values.shape[1])
        return np.log(values).std(axis=0, ddof=1) / np.sqrt(self.runs)

    def theory(self):
        """Exact ``E[theta_t]`` (and ``E[log theta_t]``) curves where known.

        Returns ``{param: {"mean": ..., "mean_log": ...}}``; empty when no
        exact result applies (other loop modes, custom estimators, the
        Geometric family). For ``estimator="ple"`` the curves are those of the
        analytic PLE; a bootstrap PLE approximates them within its Monte
        Carlo error.

        For the multivariate Gaussian (replace and accumulate loops) the
        entries are ``"mean[i]"`` and ``"cov[i,j]"`` (``{"mean": E[theta_t]}``)
        and the three collapse summaries ``"mean_sq_error"``,
        ``"trace_ratio"`` and ``"logdet_ratio"`` of :meth:`collapse_summary`;
        the accumulate loop's ``"logdet_ratio"`` is an upper bound
        (``{"upper_bound": ...}``), not an expectation (see
        :func:`ple_stats._theory.multivariate_gaussian_curves`). There are no
        curves for its bootstrap or penalised PLE: the bootstrap's expected
        covariance exceeds the analytic PLE's by ``O((d + 1) / (m (n - 1)))`` per
        replace generation, differently in each coordinate, and the excess
        compounds over generations.
        """
        if self.is_event_shaped:
            return self._event_theory()
        if self.mode != "replace" or self.estimator not in ("mle", "ple"):
            return {}
        if "penalty" in self.options:
            return {}
        return exact_curves(self.family, self.truth, self.n, self.generations,
                            estimator=self.estimator, fixed=self.fixed, options=self.options)

    # ------------------------------------------------------------------ event-shaped
    @property
    def is_event_shaped(self) -> bool:
        """Whether the parameters are a mean vector and a covariance (MultivariateGaussian)."""
        return self.family == "MultivariateGaussian"

    @property
    def dim(self):
        """The dimension ``d`` of a multivariate family (None for a scalar one)."""
        if not self.is_event_shaped:
            return None
        return sum(1 for name in self.param_names if name.startswith("mean["))

    def _require_event(self, what):
        if not self.is_event_shaped:
            raise ValueError(f"{what} is defined for the multivariate Gaussian; this is a "
                             f"simulation of {self.family}.")

    def _truth_arrays(self):
        from ._multivariate_gaussian import MultivariateGaussian

        theta0 = np.array([self.truth[name] for name in self.param_names])
        return MultivariateGaussian._unflatten(theta0, self.dim)

    def means(self):
        """Mean vectors, shape ``(runs, generations + 1, d)`` (multivariate Gaussian)."""
        self._require_event("means()")
        return self.trajectories[..., :self.dim]

    def covariances(self, generation=None):
        """Covariance matrices ``(runs, generations + 1, d, d)``, or ``(runs, d, d)`` of one
        generation (multivariate Gaussian)."""
        from ._multivariate_gaussian import MultivariateGaussian

        self._require_event("covariances()")
        traj = self.trajectories if generation is None else self.trajectories[:, generation]
        return MultivariateGaussian._unflatten(traj, self.dim)[1]

    def mean_sq_error(self):
        """``||mu_t - mu_0||^2`` per run and generation, shape ``(runs, generations + 1)``."""
        self._require_event("mean_sq_error()")
        mean0, _ = self._truth_arrays()
        return np.sum((self.means() - mean0) ** 2, axis=-1)

    def trace_ratio(self):
        """``tr Sigma_t / tr Sigma_0`` per run and generation."""
        self._require_event("trace_ratio()")
        d = self.dim
        diagonal = [self.param_names.index(f"cov[{i},{i}]") for i in range(d)]
        traces = self.trajectories[..., diagonal].sum(axis=-1)
        return traces / traces[:, :1]

    def logdet_ratio(self):
        """``log det Sigma_t - log det Sigma_0`` per run and generation (``-inf`` where singular).

        Computed one generation at a time (vectorised over runs), so the
        ``(runs, generations + 1, d, d)`` covariances are never all in memory.
        """
        self._require_event("logdet_ratio()")
        out = np.empty(self.trajectories.shape[:2])
        for g in range(self.generations + 1):
            sign, logdet = np.linalg.slogdet(self.covariances(g))
            out[:, g] = np.where(sign > 0, logdet, -np.inf)
        return out - out[:, :1]

    def collapse_summary(self):
        """Per-generation mean ± standard error of the three collapse summaries, with theory.

        The quantities plotted in studies of model collapse: the squared error
        of the mean ``||mu_t - mu_0||^2``, the trace ratio ``tr Sigma_t / tr
        Sigma_0`` and the log-determinant ratio ``log det Sigma_t - log det
        Sigma_0``, each averaged over runs. Columns ``theory_*`` hold the exact
        expectations where they exist (:meth:`theory`), and
        ``bound_logdet_ratio`` the upper bound of the accumulate loop.

        Returns
        -------
        dict of ndarray
            ``generation``, then for ``q`` in ``mean_sq_error``, ``trace_ratio``,
            ``logdet_ratio``: ``q_mean``, ``q_se``, ``q_median`` and, where known,
            ``theory_q``.
        """
        self._require_event("collapse_summary()")
        table = {"generation": np.arange(self.generations + 1)}
        theory = self.theory()
        for name, values in (("mean_sq_error", self.mean_sq_error()),
                             ("trace_ratio", self.trace_ratio()),
                             ("logdet_ratio", self.logdet_ratio())):
            table.update(_mean_se_median(name, values))
            curves = theory.get(name, {})
            if "mean" in curves:
                table[f"theory_{name}"] = curves["mean"]
            if "upper_bound" in curves:
                table[f"bound_{name}"] = curves["upper_bound"]
        return table

    def _event_theory(self):
        if self.estimator not in ("mle", "ple") or self.mode not in ("replace", "accumulate"):
            return {}
        if self.options.get("method") == "bootstrap" or self.options.get("penalty") is not None:
            # The data-driven PLE of a covariance is not the analytic one in expectation:
            # the bootstrap's root C (A^T A)^{-1} C^T (A the Cholesky factor of the pooled
            # base scatter) inflates E[Sigma_t] by O((d + 1) / (m (n - 1))) per replace
            # generation, differently in each coordinate, and the excess compounds.
            return {}
        fixed = "mean" in self.fixed
        if fixed and not self.options.get("mean_fixed_at_truth", False):
            return {}
        mean0, cov0 = self._truth_arrays()
        curves = multivariate_gaussian_curves(cov0, self.n, self.generations,
                                              estimator=self.estimator, mode=self.mode,
                                              mean_fixed=fixed)
        out = {name: curves[name] for name in ("mean_sq_error", "trace_ratio", "logdet_ratio")
               if name in curves}
        ones = np.ones(self.generations + 1)
        for name in self.param_names:
            value = self.truth[name]
            ratio = ones if name.startswith("mean[") else curves["cov_ratio"]
            out[name] = {"mean": value * ratio}
        return out

    def summary(self, param):
        """Per-generation table: generation, mean, standard error, median, theory."""
        table = {
            "generation": np.arange(self.generations + 1),
            "mean": self.mean(param),
            "se": self.standard_error(param),
            "median": self.median(param),
            "diverged_fraction": self._fraction_by(self.diverged),
            "collapsed_fraction": self._fraction_by(self.collapsed),
        }
        if np.all(self.values(param) > 0):
            table["mean_log"] = self.mean_log(param)
            table["se_log"] = self.standard_error_log(param)
        for key, curve in self.theory().get(param, {}).items():
            table[f"theory_{key}"] = curve
        return table

    def _fraction_by(self, events):
        """Fraction of runs whose event (a generation, or -1) happened by each generation."""
        g = np.arange(self.generations + 1)
        return ((events[:, None] >= 0) & (events[:, None] <= g)).mean(axis=0)

    # ------------------------------------------------------------------ plotting
    def plot(self, param=None, *, ax=None, label=None, color=None, theory=True, log=False):
        """Mean ± standard error (band), median (dashed) and theory (dotted) per generation.

        Parameters
        ----------
        param : str, optional
            Parameter to show; default the last free one.
        ax : matplotlib Axes, optional
        label : str, optional
            Legend label (default: the estimator).
        color : optional
        theory : bool
            Overlay the exact expectation where known.
        log : bool
            Plot ``E[log theta_t]`` instead of ``E[theta_t]``.

        Returns
        -------
        ax : matplotlib Axes
        """
        from ._result import import_matplotlib

        plt = import_matplotlib()
        if param is None:
            free = [p for p in self.param_names if p not in self.fixed]
            param = free[-1]
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        label = label or self.estimator.upper()
        t = np.arange(self.generations + 1)
        if log:
            mean, se = self.mean_log(param), self.standard_error_log(param)
            median = np.log(self.median(param))
        else:
            mean, se, median = self.mean(param), self.standard_error(param), self.median(param)
        (line,) = ax.plot(t, mean, color=color, label=f"{label} mean ± s.e.")
        ax.fill_between(t, mean - se, mean + se, color=line.get_color(), alpha=0.25, lw=0)
        ax.plot(t, median, color=line.get_color(), ls="--", lw=1, label=f"{label} median")
        curves = self.theory().get(param, {}) if theory else {}
        key = "mean_log" if log else "mean"
        if key in curves:
            ax.plot(t, curves[key], color="k", ls=":", lw=1.2, label=f"{label} exact")
        ax.set_xlabel("generation")
        ax.set_ylabel(f"log {param}" if log else param)
        ax.set_title(f"{self.family} (n = {self.n})")
        return ax

    # ------------------------------------------------------------------ files
    def save(self, path):
        """Write to a portable ``.npz`` file (arrays plus JSON metadata), atomically."""
        meta = {
            "format_version": _FORMAT_VERSION,
            "param_names": list(self.param_names), "family": self.family,
            "truth": self.truth, "n": self.n, "estimator": self.estimator,
            "fixed": list(self.fixed), "options": self.options, "mode": self.mode,
            "fresh_fraction": self.fresh_fraction,
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, trajectories=self.trajectories, diverged=self.diverged,
                            collapsed=self.collapsed, metadata=np.array(json.dumps(meta)))
        atomic_write(os.fspath(path), buffer.getvalue())

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`.

        Raises
        ------
        ValueError
            The file is not a SimulationResult file, or it is truncated or
            corrupted (the message names it).
        """
        path = os.fspath(path)
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
                if "metadata" not in data or "trajectories" not in data:
                    raise ValueError(f"{path!r} is not a SimulationResult file.")
                meta = json.loads(str(data["metadata"]))
                trajectories = data["trajectories"]
                # versions 1 and 2 had no overflow / collapse record: none happened then
                diverged = data["diverged"] if "diverged" in data else None
                collapsed = data["collapsed"] if "collapsed" in data else None
        except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
                json.JSONDecodeError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ValueError(f"cannot read the SimulationResult file {path!r}: it is truncated "
                             f"or corrupted ({type(exc).__name__}: {exc}). Delete it and rerun "
                             "the simulation.") from None
        version = meta.pop("format_version", None)
        if version not in (1, 2, _FORMAT_VERSION):
            raise ValueError(f"{path!r} is not a SimulationResult file of a known version "
                             f"(version {version!r}).")
        meta["param_names"] = tuple(meta["param_names"])
        meta["fixed"] = tuple(meta["fixed"])
        return cls(trajectories=trajectories, diverged=diverged, collapsed=collapsed, **meta)


def _mean_se_median(name, values):
    """``{name_mean, name_se, name_median}`` over runs (axis 0); ``nan`` where undefined."""
    runs = values.shape[0]
    finite = np.isfinite(values).all(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.where(finite, values.mean(axis=0), np.nan)
        se = (values.std(axis=0, ddof=1) / np.sqrt(runs) if runs > 1
              else np.zeros(values.shape[1]))
        se = np.where(finite, se, np.nan)
    return {f"{name}_mean": mean, f"{name}_se": se,
            f"{name}_median": np.median(values, axis=0)}
