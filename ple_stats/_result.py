"""The result object returned by every fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = ["FitResult", "Refit"]


class Refit:
    """The estimator behind a fit, as a picklable callable ``refit(x, rng=None)``.

    ``func`` is called with the same options and fixed parameters as the
    original fit; ``random`` says whether it consumes randomness (then ``rng``
    is passed on).
    """

    def __init__(self, func, *, random=False):
        self.func = func
        self.random = random

    def __call__(self, x, rng=None):
        return self.func(x, rng=rng) if self.random else self.func(x)


def import_matplotlib():
    """Import ``matplotlib.pyplot`` lazily, with an install hint when it is missing."""
    from ._lib.optional import import_optional

    return import_optional("matplotlib.pyplot", "plotting")


@dataclass(frozen=True)
class FitResult:
    """Result of a fit by maximum likelihood (``"mle"``) or PLE (``"ple"``).

    Attributes
    ----------
    params : NamedTuple
        Fitted parameters in constructor order, so ``mu, sigma = res.params``
        works. Each field is a float for 1-D input and an array of the batch
        shape ``x.shape[:-1]`` otherwise.
    dist : Distribution
        The fitted distribution (same class as the one fitted), ready to
        ``.sample()``.
    method : str
        ``"mle"`` or ``"ple"``.
    n : int
        Sample size (length of the last axis of the data).
    info : dict
        Diagnostics: always ``"estimator"`` (how it was computed) and
        ``"fixed"`` (names of the parameters held fixed); iterative methods
        add ``"residual"``, ``"n_iter"``, ``"converged"``, ``"mc_se"``, ...

    Examples
    --------
    >>> from ple_stats import Exponential
    >>> res = Exponential.fit_ple([0.5, 1.5, 2.0, 4.0])
    >>> res.method, res.n
    ('ple', 4)
    >>> round(res.params.rate, 4)
    0.375
    >>> (rate,) = res.params
    """

    params: NamedTuple
    dist: Any
    method: str
    n: int
    info: dict = field(default_factory=dict)
    refit: Refit | None = field(default=None, repr=False, compare=False)
    """The estimator as a callable ``x -> FitResult`` (same options and fixed
    parameters); used for parametric-bootstrap uncertainty."""

    @classmethod
    def _trusted(cls, params, dist, method, n, info, refit=None):
        """Build from trusted values without the frozen dataclass's ``__init__``.

        Same object (fields, equality, pickling, immutability) for a fraction
        of the cost, which matters for the single closed-form fits.
        """
        self = object.__new__(cls)
        object.__setattr__(self, "__dict__", {"params": params, "dist": dist, "method": method,
                                              "n": n, "info": info, "refit": refit})
        return self

    @property
    def batch_shape(self) -> tuple:
        """Shape of the batch of data sets that was fitted (``()`` for 1-D data)."""
        batch_shape = getattr(self.dist, "batch_shape", None)
        return batch_shape if batch_shape is not None else np.shape(self.params[0])

    def __repr__(self):
        fields = ", ".join(
            f"{name}={_short(value)}" for name, value in zip(self.params._fields, self.params)
        )
        name = getattr(getattr(self.dist, "dist", None), "name", type(self.dist).__name__)
        return (f"FitResult({name}, method={self.method!r}, n={self.n}, "
                f"{fields})")

    def plot(self, x=None, *, ax=None, bins="auto", max_curves=10):
        """Plot the fitted density (or mass function), over a histogram of ``x`` if given.

        Parameters
        ----------
        x : array_like of shape (n,), optional
            Data to show as a normalised histogram behind the fitted curve.
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made when omitted.
        bins : int or str
            Histogram bins, passed to ``Axes.hist``.
        max_curves : int
            For a batch of fits, at most this many curves are drawn.

        Returns
        -------
        ax : matplotlib Axes
        """
        plt = import_matplotlib()
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        dist = self.dist
        if x is not None:
            data = np.asarray(x, dtype=float).ravel()
            ax.hist(data, bins=bins, density=True, alpha=0.35, color="0.5", label="data")
        if hasattr(dist, "_plot_grid"):
            grid = dist._plot_grid(None if x is None else np.asarray(x, dtype=float))
            values = np.exp(dist.logpdf(grid))
            discrete = dist._discrete
        else:  # a scipy distribution (ple_stats.fit_ple on a scipy family)
            grid, values, discrete = self._scipy_curve(dist)
        values = values.reshape(-1, grid.shape[-1])
        grids = np.broadcast_to(grid, values.shape[:-1] + grid.shape[-1:]).reshape(values.shape)
        for i in range(min(max_curves, values.shape[0])):
            style = dict(drawstyle="steps-mid") if discrete else {}
            ax.plot(grids[i], values[i], label=f"{self.method.upper()} fit" if i == 0 else None,
                    **style)
        ax.set_xlabel("x")
        ax.set_ylabel("probability" if discrete else "density")
        name = (type(dist).__name__ if hasattr(dist, "_plot_grid") else
                getattr(getattr(dist, "dist", None), "name", None)
                or type(getattr(dist, "scipy", dist)).__name__)
        ax.set_title(f"{name}: {self.method.upper()} fit (n = {self.n})")
        ax.legend()
        return ax

    def _scipy_curve(self, dist):
        """Grid and density (or mass) values of a fitted scipy distribution, classic or new."""
        quantile = dist.ppf if hasattr(dist, "ppf") else dist.icdf
        discrete = not hasattr(dist, "pdf") or (hasattr(dist, "pmf") and not callable(
            getattr(dist, "pdf", None)))
        lo, hi = np.min(quantile(0.001)), np.max(quantile(0.999))
        if discrete:
            grid = np.arange(np.floor(lo), np.ceil(hi) + 1.0)
            density = dist.pmf
        else:
            grid = np.linspace(lo, hi, 400)
            density = dist.pdf
        values = np.asarray(density(grid[:, None] if self.batch_shape else grid))
        return grid, (values.T if self.batch_shape else values), discrete

    def confidence_interval(self, confidence_level=0.95, *, n_resamples=1000, rng=None,
                            progress=None):
        """Parametric-bootstrap standard errors and percentile confidence intervals.

        ``n_resamples`` data sets of size ``n`` are drawn from the fitted
        distribution and refitted with the same estimator (same method,
        options and fixed parameters); the spread of the refits gives the
        standard error and the percentile interval of each parameter.

        Parameters
        ----------
        confidence_level : float
            In (0, 1); default 0.95.
        n_resamples : int
            Number of bootstrap refits B (at least 2).
        rng : None, int or numpy.random.Generator
            Randomness of the resampling.
        progress : bool, optional
            Show a progress bar (tqdm) over the resamples; default: when stderr
            is a terminal. The resamples are refitted in up to 10 batched calls
            either way, so the bar never changes the result.

        Returns
        -------
        ConfidenceInterval
            Named tuple ``(low, high, standard_error)``, each a parameter named
            tuple of the batch shape.

        Examples
        --------
        >>> from ple_stats import Exponential
        >>> x = Exponential(rate=2.0).sample(50, rng=0)
        >>> ci = Exponential.fit_ple(x).confidence_interval(n_resamples=200, rng=1)
        >>> bool(ci.low.rate < 2.0 < ci.high.rate)
        True
        """
        from ._uncertainty import parametric_bootstrap_ci

        return parametric_bootstrap_ci(self, confidence_level=confidence_level,
                                       n_resamples=n_resamples, rng=rng, progress=progress)


def _short(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():.6g}"
    return f"<array {arr.shape}>"
