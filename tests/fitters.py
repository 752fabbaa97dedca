"""The registry of every fitter, for the shared checks of ``test_fitters`` (as scikit-learn's
``check_estimator`` runs one suite over every estimator).

A fitter is one way to fit data: each family of ``tests/families.py`` by ``fit_mle`` and by
``fit_ple`` with the analytic, the bootstrap and the penalised PLE (one fitter per setting of
``PLE_CONFIGS``, so fixed parameters and options are covered), the mixture (``GMM.fit_mle``,
``GMM.fit_ple(method="bootstrap")``), the scipy route (``ple_stats.fit_ple(stats.gamma, ...)``)
and the multivariate Gaussian. ``test_fitters`` fails when an exported family or fitting
method has no entry here.

Each :class:`Fitter` knows how to draw data of a batch shape, which keywords the fitter takes
(``m``, ``rng``), whether its output depends on ``rng``, the name its errors give the data,
and the optional modules it needs (a per-test ``pytest.importorskip``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

import ple_stats
from families import PLE_CONFIGS, REGISTRY
from ple_stats import GMM, MultivariateGaussian, Uniform

#: Observations per data set (the last data axis; the mixture uses 40).
N = 15


@dataclass(frozen=True)
class Fitter:
    """One fitter of the registry."""

    name: str
    #: ``fit(data, **kwargs) -> FitResult``; ``kwargs`` holds ``m`` and ``rng`` where taken
    fit: Callable
    #: ``sample(batch_shape, seed) -> data`` of shape ``(*batch, n)`` or ``(*batch, n, d)``
    sample: Callable
    #: the class of ``res.dist``
    family: type
    #: ``res.method``
    method: str
    #: whether the fitter takes ``m`` and ``rng`` (validated even where unused)
    takes_m: bool = False
    takes_rng: bool = False
    #: whether the output depends on ``rng`` (different seeds, different fits)
    random: bool = False
    #: the name the error messages give the data
    data_name: str = "x"
    #: the ``m`` of the checks (small: they test plumbing, not accuracy)
    m: int = 20
    #: optional modules the fitter needs (each test skips without them)
    requires: tuple[str, ...] = field(default=())
    #: a fit takes about a second: the checks that fit four times or more are marked slow
    slow: bool = False

    def __call__(self, data, **kwargs):
        defaults = {}
        if self.takes_m:
            defaults["m"] = self.m
        if self.takes_rng:
            defaults["rng"] = 0
        return self.fit(data, **{**defaults, **kwargs})

    def bad_data(self, value, batch=()):
        """Data of the fitter (floats) with one entry of the first member set to ``value``."""
        x = np.array(self.sample(batch, 1), dtype=float)
        event = (0,) * (x.ndim - len(batch) - 1)  # the first coordinate of a vector
        x[(0,) * len(batch) + (3,) + event] = value
        return x


def fitter_id(fitter):
    return fitter.name


# --------------------------------------------------------------------------- families


def _family_sampler(dist):
    def sample(batch, seed):
        return dist.sample(N, rng=seed, sample_shape=batch)
    return sample


def _family_fitters():
    out = []
    for case in REGISTRY.values():
        cls = case.cls
        out.append(Fitter(f"{cls.__name__}.fit_mle", lambda x, cls=cls: cls.fit_mle(x),
                          _family_sampler(case.default()), cls, "mle"))
    for config, (dist, fixed, options) in PLE_CONFIGS.items():
        cls, kw = type(dist), {**fixed, **options}
        # the Uniform's penalised PLE is its MLE below a penalty of order 1 / scale
        # (test_penalized), where it would not depend on `rng`
        penalty = 5.0 if cls is Uniform else 0.1
        sample = _family_sampler(dist)
        out += [
            Fitter(f"{config}.fit_ple[analytic]",
                   lambda x, cls=cls, kw=kw, **k: cls.fit_ple(x, method="analytic", **kw, **k),
                   sample, cls, "ple", takes_m=True, takes_rng=True),
            Fitter(f"{config}.fit_ple[bootstrap]",
                   lambda x, cls=cls, kw=kw, **k: cls.fit_ple(x, method="bootstrap", **kw, **k),
                   sample, cls, "ple", takes_m=True, takes_rng=True, random=True),
            Fitter(f"{config}.fit_ple[penalty]",
                   lambda x, cls=cls, kw=kw, penalty=penalty, **k: cls.fit_ple(
                       x, penalty=penalty, **kw, **k),
                   sample, cls, "ple", takes_m=True, takes_rng=True, random=True),
        ]
    return out


# --------------------------------------------------------------------------- the others


def _mixture(batch, seed):
    """Two well separated Gaussian clusters of 20 points each, per batch member."""
    rng = np.random.default_rng(seed)
    centres = np.repeat([-2.0, 2.0], 20)
    return centres + rng.standard_normal(tuple(batch) + (40,))


def _gamma(batch, seed):
    return stats.gamma(2.0, scale=1.5).rvs(size=tuple(batch) + (25,),
                                           random_state=np.random.default_rng(seed))


_MVN = MultivariateGaussian(mean=np.zeros(2), cov=np.array([[1.0, 0.3], [0.3, 2.0]]))


def _mvn(batch, seed):
    return _MVN.sample(12, rng=seed, sample_shape=batch)


OTHER_FITTERS = [
    Fitter("GMM.fit_mle", lambda x, **k: GMM.fit_mle(x, 2, **k), _mixture, GMM, "mle",
           takes_rng=True),
    Fitter("GMM.fit_ple[bootstrap]",
           lambda x, **k: GMM.fit_ple(x, 2, method="bootstrap", **k), _mixture, GMM, "ple",
           takes_m=True, takes_rng=True, random=True, m=10),
    Fitter("fit_ple(scipy.stats.gamma)",
           lambda x, **k: ple_stats.fit_ple(stats.gamma, x, floc=0, **k), _gamma,
           type(stats.gamma(2.0)),  # res.dist is the fitted frozen scipy distribution
           "ple", takes_m=True, takes_rng=True, random=True, data_name="data"),
    Fitter("MultivariateGaussian.fit_mle", lambda x: MultivariateGaussian.fit_mle(x), _mvn,
           MultivariateGaussian, "mle"),
    Fitter("MultivariateGaussian.fit_ple[analytic]",
           lambda x, **k: MultivariateGaussian.fit_ple(x, method="analytic", **k), _mvn,
           MultivariateGaussian, "ple", takes_m=True, takes_rng=True),
    Fitter("MultivariateGaussian.fit_ple[bootstrap]",
           lambda x, **k: MultivariateGaussian.fit_ple(x, method="bootstrap", **k), _mvn,
           MultivariateGaussian, "ple", takes_m=True, takes_rng=True, random=True),
    Fitter("MultivariateGaussian.fit_ple[penalty]",
           lambda x, **k: MultivariateGaussian.fit_ple(x, penalty=0.1, **k), _mvn,
           MultivariateGaussian, "ple", takes_m=True, takes_rng=True, random=True, m=5,
           slow=True),
]

FITTERS = _family_fitters() + OTHER_FITTERS
BY_NAME = {f.name: f for f in FITTERS}
assert len(BY_NAME) == len(FITTERS), "fitter names must be unique"
