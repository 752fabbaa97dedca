"""The registry of the parametric families that the contract suite runs over.

One :class:`Case` per family exported by ``ple_stats`` (a subclass of
``ple_stats.Distribution`` named in ``ple_stats.__all__``); ``test_contract``
fails when one is missing. Each case holds valid parameter sets (scalar and
batched), the scipy twin, the fixed-parameter combinations, invalid parameter
values, how the fitted parameters behave under ``x -> c*x``, and an
*independent* reference maximum-likelihood fit built on ``scipy.stats``.

Also here: reference implementations of the special functions the families
use (exact rationals, negative-binomial sums, chi means), written from the exact results
without looking at the package's code, for the tests to compare against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import numpy as np
from scipy import optimize, stats

import ple_stats
from ple_stats import Exponential, Gaussian, Geometric, Laplace, Pareto, Uniform

BATCH_SHAPES = [(), (3,), (2, 3)]

#: Settings of the data-driven PLE tests (bootstrap, penalised):
#: id -> (truth, fixed parameters, fit_ple options).
PLE_CONFIGS = {
    "Uniform-free": (Uniform(low=-1.0, high=2.0), {}, {}),
    "Uniform-low-fixed": (Uniform(low=0.0, high=1.0), {"low": 0.0}, {}),
    "Gaussian-sigma": (Gaussian(mu=1.0, sigma=2.0), {}, {"parametrization": "sigma"}),
    "Gaussian-variance": (Gaussian(mu=1.0, sigma=2.0), {}, {"parametrization": "variance"}),
    "Gaussian-mu-fixed": (Gaussian(mu=1.0, sigma=2.0), {"mu": 1.0}, {}),
    "Gaussian-mu-fixed-variance": (Gaussian(mu=1.0, sigma=2.0), {"mu": 1.0},
                                   {"parametrization": "variance"}),
    "Laplace": (Laplace(mu=0.5, b=1.5), {}, {}),
    "Exponential": (Exponential(rate=0.5), {}, {}),
    "Pareto-xm-fixed": (Pareto(b=2.0, xm=1.0), {"xm": 1.0}, {}),
    "Pareto-free": (Pareto(b=2.0, xm=1.0), {}, {}),
    "Geometric": (Geometric(p=0.3), {}, {}),
}


def spread(lo, hi, shape):
    """Values from ``lo`` to ``hi`` laid out in ``shape`` (a float for ``shape == ()``)."""
    if shape == ():
        return float(lo)
    return np.linspace(lo, hi, math.prod(shape)).reshape(shape)


# --------------------------------------------------------------------------- reference MLEs
# Each takes 1-D data and a dict of fixed parameters and returns the MLE of the
# free parameters, computed with scipy.stats' own fit (closed-form formulas in
# scipy for all five continuous families once loc is fixed, so agreement is to
# rounding) or, for Geometric, a direct numerical maximisation.


def _uniform_mle(x, fixed):
    if "low" in fixed:
        loc, scale = stats.uniform.fit(x, floc=fixed["low"])
        return {"high": loc + scale}
    if "high" in fixed:
        # scipy cannot fix ``loc + scale``; reflect: -x is uniform on [-high, -low].
        loc, scale = stats.uniform.fit(-x, floc=-fixed["high"])
        return {"low": -(loc + scale)}
    loc, scale = stats.uniform.fit(x)
    return {"low": loc, "high": loc + scale}


def _gaussian_mle(x, fixed):
    kw = {}
    if "mu" in fixed:
        kw["floc"] = fixed["mu"]
    if "sigma" in fixed:
        kw["fscale"] = fixed["sigma"]
    loc, scale = stats.norm.fit(x, **kw)
    out = {"mu": loc, "sigma": scale}
    return {k: v for k, v in out.items() if k not in fixed}


def _laplace_mle(x, fixed):
    kw = {}
    if "mu" in fixed:
        kw["floc"] = fixed["mu"]
    if "b" in fixed:
        kw["fscale"] = fixed["b"]
    loc, scale = stats.laplace.fit(x, **kw)
    out = {"mu": loc, "b": scale}
    return {k: v for k, v in out.items() if k not in fixed}


def _exponential_mle(x, fixed):
    loc, scale = stats.expon.fit(x, floc=0)
    return {"rate": 1.0 / scale}


def _pareto_mle(x, fixed):
    if "xm" in fixed:
        b, _, _ = stats.pareto.fit(x, floc=0, fscale=fixed["xm"])
        return {"b": b}
    if "b" in fixed:
        _, _, scale = stats.pareto.fit(x, fixed["b"], f0=fixed["b"], floc=0)
        return {"xm": scale}
    b, _, scale = stats.pareto.fit(x, floc=0)
    return {"b": b, "xm": scale}


def _geometric_mle(x, fixed):
    """Maximise sum(scipy.stats.geom.logpmf(x, p)) over p in (0, 1] numerically."""

    def nll(p):
        return -np.sum(stats.geom.logpmf(x, p))

    res = optimize.minimize_scalar(nll, bounds=(1e-12, 1.0), method="bounded",
                                   options={"xatol": 1e-12})
    assert res.success
    return {"p": res.x}


# --------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Case:
    """One family of the contract suite."""

    cls: type
    param_names: tuple[str, ...]
    #: valid scalar parameter sets; the first is the default of the contract tests
    examples: tuple[dict, ...]
    #: valid parameters of a given batch shape
    batch: Callable[[tuple], dict]
    #: the scipy.stats twin: parameters (arrays broadcast) -> frozen distribution
    twin: Callable[..., object]
    #: the independent reference MLE, (1-D data, fixed dict) -> {free name: value}
    scipy_mle: Callable[[np.ndarray, dict], dict]
    #: fixed-parameter combinations besides "none fixed"
    fixed: tuple[tuple[str, ...], ...]
    #: (constructor kwargs, name of the offending parameter)
    invalid: tuple[tuple[dict, str], ...]
    #: domain of each parameter, as a predicate on (finite) fitted values
    domain: dict[str, Callable[[np.ndarray], np.ndarray]]
    #: power of c by which each parameter moves when the data are scaled x -> c*x
    #: (1: scale parameter, 0: invariant, -1: a rate); None for non-scale families
    scale_power: dict[str, int] | None
    #: whether the location parameters shift with x -> x + a (names), for location families
    location: tuple[str, ...] = ()
    #: points off or on the edge of the support, added to the quantile points
    edge_points: tuple[float, ...] = ()
    #: the fit_ple options to run (each a dict of keywords)
    ple_options: tuple[dict, ...] = ({},)
    discrete: bool = False
    #: smallest n for the PLE, by the frozenset of fixed names
    ple_min_n: dict = field(default_factory=dict)

    @property
    def name(self):
        return self.cls.__name__

    def default(self):
        return self.cls(**self.examples[0])

    def logpdf_twin(self, frozen, x):
        return frozen.logpmf(x) if self.discrete else frozen.logpdf(x)

    def min_n_ple(self, fixed_names=()):
        return self.ple_min_n.get(frozenset(fixed_names), 1)


def _positive(v):
    return np.isfinite(v) & (np.asarray(v) > 0)


def _finite(v):
    return np.isfinite(v)


CASES = [
    Case(
        cls=Uniform,
        param_names=("low", "high"),
        examples=({"low": -2.0, "high": 5.0}, {"low": 0.0, "high": 1.0},
                  {"low": 10.0, "high": 10.5}),
        batch=lambda s: {"low": spread(-1.0, 1.0, s), "high": spread(2.0, 7.0, s)},
        twin=lambda low, high: stats.uniform(loc=low, scale=np.subtract(high, low)),
        scipy_mle=_uniform_mle,
        fixed=(("low",), ("high",)),
        invalid=(({"low": 1.0, "high": 0.0}, "low"), ({"low": 1.0, "high": 1.0}, "low"),
                 ({"low": np.nan, "high": 1.0}, "low"), ({"low": 0.0, "high": np.inf}, "high"),
                 ({"low": [0.0, 2.0], "high": [1.0, 1.0]}, "low")),
        domain={"low": _finite, "high": _finite},
        scale_power={"low": 1, "high": 1},
        location=("low", "high"),
        edge_points=(-100.0, 100.0),
        ple_min_n={frozenset(): 2},
    ),
    Case(
        cls=Gaussian,
        param_names=("mu", "sigma"),
        examples=({"mu": 1.5, "sigma": 0.3}, {"mu": 0.0, "sigma": 1.0},
                  {"mu": -20.0, "sigma": 7.0}),
        batch=lambda s: {"mu": spread(-1.0, 1.0, s), "sigma": spread(0.5, 3.0, s)},
        twin=lambda mu, sigma: stats.norm(loc=mu, scale=sigma),
        scipy_mle=_gaussian_mle,
        fixed=(("mu",), ("sigma",)),
        invalid=(({"mu": 0.0, "sigma": 0.0}, "sigma"), ({"mu": 0.0, "sigma": -1.0}, "sigma"),
                 ({"mu": np.nan, "sigma": 1.0}, "mu"), ({"mu": 0.0, "sigma": np.nan}, "sigma"),
                 ({"mu": np.inf, "sigma": 1.0}, "mu"),
                 ({"mu": 0.0, "sigma": [1.0, -1.0]}, "sigma")),
        domain={"mu": _finite, "sigma": _positive},
        scale_power={"mu": 1, "sigma": 1},
        location=("mu",),
        edge_points=(-1e3, 1e3),
        ple_options=({}, {"parametrization": "sigma"}, {"parametrization": "variance"}),
        ple_min_n={frozenset(): 2},
    ),
    Case(
        cls=Laplace,
        param_names=("mu", "b"),
        examples=({"mu": -1.0, "b": 2.0}, {"mu": 0.0, "b": 1.0}, {"mu": 3.0, "b": 0.25}),
        batch=lambda s: {"mu": spread(-1.0, 1.0, s), "b": spread(0.5, 3.0, s)},
        twin=lambda mu, b: stats.laplace(loc=mu, scale=b),
        scipy_mle=_laplace_mle,
        fixed=(("mu",), ("b",)),
        invalid=(({"mu": 0.0, "b": 0.0}, "b"), ({"mu": 0.0, "b": -2.0}, "b"),
                 ({"mu": np.nan, "b": 1.0}, "mu"), ({"mu": 0.0, "b": np.inf}, "b")),
        domain={"mu": _finite, "b": _positive},
        scale_power={"mu": 1, "b": 1},
        location=("mu",),
        edge_points=(-30.0, 30.0),  # scipy's laplace.logpdf underflows beyond ~700 b
        ple_min_n={frozenset(): 2},
    ),
    Case(
        cls=Geometric,
        param_names=("p",),
        examples=({"p": 0.3},  {"p": 0.9}, {"p": 1.0}, {"p": 0.01}),
        batch=lambda s: {"p": spread(0.2, 0.8, s)},
        twin=lambda p: stats.geom(p),
        scipy_mle=_geometric_mle,
        fixed=(),
        invalid=(({"p": 0.0}, "p"), ({"p": -0.1}, "p"), ({"p": 1.5}, "p"),
                 ({"p": np.nan}, "p"), ({"p": [0.5, 0.0]}, "p")),
        domain={"p": lambda v: np.isfinite(v) & (np.asarray(v) > 0) & (np.asarray(v) <= 1)},
        scale_power=None,
        edge_points=(-1.0, 0.0, 0.5, 1.5, 2.5),
        discrete=True,
    ),
    Case(
        cls=Exponential,
        param_names=("rate",),
        examples=({"rate": 0.5}, {"rate": 3.0}, {"rate": 1e-3}),
        batch=lambda s: {"rate": spread(0.2, 5.0, s)},
        twin=lambda rate: stats.expon(scale=1.0 / np.asarray(rate)),
        scipy_mle=_exponential_mle,
        fixed=(),
        invalid=(({"rate": 0.0}, "rate"), ({"rate": -1.0}, "rate"),
                 ({"rate": np.nan}, "rate"), ({"rate": np.inf}, "rate")),
        domain={"rate": _positive},
        scale_power={"rate": -1},
        edge_points=(-1.0, 0.0),
        ple_min_n={frozenset(): 2},
    ),
    Case(
        cls=Pareto,
        param_names=("b", "xm"),
        examples=({"b": 3.0, "xm": 2.0}, {"b": 0.8, "xm": 1.0}, {"b": 1.5, "xm": 0.5},
                  {"b": 2.0, "xm": 1.0}),
        batch=lambda s: {"b": spread(2.5, 6.0, s), "xm": spread(0.5, 2.0, s)},
        twin=lambda b, xm: stats.pareto(b, scale=xm),
        scipy_mle=_pareto_mle,
        fixed=(("xm",), ("b",)),
        invalid=(({"b": 0.0, "xm": 1.0}, "b"), ({"b": -1.0, "xm": 1.0}, "b"),
                 ({"b": 1.0, "xm": 0.0}, "xm"), ({"b": 1.0, "xm": -2.0}, "xm"),
                 ({"b": np.nan, "xm": 1.0}, "b"), ({"b": 1.0, "xm": np.inf}, "xm")),
        domain={"b": _positive, "xm": _positive},
        scale_power={"b": 0, "xm": 1},
        edge_points=(-1.0, 0.0, 0.1),
        ple_min_n={frozenset(): 3, frozenset({"xm"}): 2},
    ),
]

REGISTRY = {case.name: case for case in CASES}


def case_id(case):
    return case.name


def exported_families():
    """Names of the families that ``ple_stats`` exports (Distribution subclasses)."""
    out = []
    for name in ple_stats.__all__:
        obj = getattr(ple_stats, name)
        if (isinstance(obj, type) and issubclass(obj, ple_stats.Distribution)
                and obj is not ple_stats.Distribution):
            out.append(name)
    return out


def fixed_values(case, params, names):
    """The true values of the parameters ``names``, as fit keywords."""
    return {name: params[name] for name in names}


def all_fixed_combos(case):
    return ((),) + tuple(case.fixed)


# --------------------------------------------------------------------------- references
# Special functions re-derived from the exact results (independent of the package's code).


def _h(r, m):
    """h(r, m) = sum_{k=m-r+1}^{m} 1/k (Govindarajulu 1966)."""
    return sum((Fraction(1, k) for k in range(m - r + 1, m + 1)), Fraction(0))


def laplace_order_stat_mean(i, n):
    """E[Z_(i:n)] for standard Laplace order statistics, exactly."""
    first = sum((math.comb(n, j) * _h(i - j, n - j) for j in range(0, i)), Fraction(0))
    second = sum((math.comb(n, j) * _h(j - i + 1, j) for j in range(i, n + 1)), Fraction(0))
    return (first - second) / 2**n


def laplace_kappa_exact(n):
    """kappa_n = (1/n) sum_i sgn(i - (n+1)/2) E[Z_(i:n)], as a Fraction (literal formula)."""
    total = Fraction(0)
    for i in range(1, n + 1):
        twice = 2 * i - (n + 1)
        sign = (twice > 0) - (twice < 0)
        if sign:
            total += sign * laplace_order_stat_mean(i, n)
    return total / n


def laplace_kappa_exact_fast(n):
    """The same rational, in O(n) big-rational operations (for large n).

    With h(i-j, n-j) = H_{n-j} - H_{n-i} and h(j-i+1, j) = H_j - H_{i-1}
    (H the harmonic numbers), the two sums of E[Z_(i:n)] are prefix/suffix
    sums over j; by symmetry E[Z_(i:n)] = -E[Z_(n+1-i:n)], so
    kappa_n = (2/n) sum_{i > (n+1)/2} E[Z_(i:n)].
    """
    harm = [Fraction(0)]
    for k in range(1, n + 1):
        harm.append(harm[-1] + Fraction(1, k))
    comb = [math.comb(n, j) for j in range(n + 1)]
    # prefix sums over j < i of C(n, j), C(n, j) H_{n-j} and C(n, j) H_j
    sum_c, sum_c_hrev, sum_c_h = [0], [Fraction(0)], [Fraction(0)]
    for j in range(n + 1):
        sum_c.append(sum_c[-1] + comb[j])
        sum_c_hrev.append(sum_c_hrev[-1] + comb[j] * harm[n - j])
        sum_c_h.append(sum_c_h[-1] + comb[j] * harm[j])
    total = Fraction(0)
    for i in range(1, n + 1):
        if 2 * i <= n + 1:
            continue
        # sum_{j<i} C(n,j) (H_{n-j} - H_{n-i})
        first = sum_c_hrev[i] - sum_c[i] * harm[n - i]
        # sum_{j>=i} C(n,j) (H_j - H_{i-1})
        second = (sum_c_h[n + 1] - sum_c_h[i]) - (sum_c[n + 1] - sum_c[i]) * harm[i - 1]
        total += first - second
    return 2 * total / 2**n / n


def geometric_mle_mean(p, n, *, tail=1e-18):
    """E_p[n / S] with S ~ n + NegBinomial(n, p) failures, by direct summation."""
    top = int(stats.nbinom.isf(tail, n, p)) + 10 if p < 1 else 0
    failures = np.arange(top + 1)
    return float(np.sum(n / (failures + n) * stats.nbinom.pmf(failures, n, p)))


def mean_chi_over_sqrt(df):
    """E[sqrt(chi2_df / df)], from scipy.stats.chi (for c4 and the Gaussian MLE bias)."""
    return stats.chi(df).mean() / math.sqrt(df)
