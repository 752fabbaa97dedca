"""``fit_mle`` against scipy's maximum likelihood, and the PLE against the exact formulas.

Tolerances: for the five continuous families scipy's ``fit`` uses closed-form
formulas once ``loc`` is fixed (``norm.fit``, ``laplace.fit``, ``expon.fit``,
``uniform.fit`` and ``pareto.fit(floc=0)`` never call an optimiser), so the two
sides agree to rounding and are compared at ``rtol=1e-12``. scipy's
``rv_discrete`` has no ``fit``: the Geometric MLE is compared with a bounded
``minimize_scalar`` of ``-sum(geom.logpmf)`` run to ``xatol=1e-12``; the
log-likelihood is flat to second order at its maximum, so the optimiser's
argmax is trusted to ~1e-6 (relative), the tolerance used there.
"""

import numpy as np
import pytest

from families import (CASES, REGISTRY, all_fixed_combos, fixed_values,
                      laplace_kappa_exact, mean_chi_over_sqrt)
from ple_stats import Exponential, Gaussian, Geometric, Laplace, Pareto, Uniform

CLOSED_FORM_RTOL = 1e-12
GEOMETRIC_RTOL = 1e-6

MLE_CASES = [
    (case, example_index, names, n)
    for case in CASES
    for example_index in range(len(case.examples))
    for names in all_fixed_combos(case)
    for n in (5, 60)
]


def _mle_id(value):
    if hasattr(value, "cls"):
        return value.name
    if isinstance(value, tuple):
        return "+".join(value) + "-fixed" if value else "free"
    return str(value)


@pytest.mark.parametrize("case, example_index, names, n", MLE_CASES, ids=_mle_id)
def test_fit_mle_equals_scipy(case, example_index, names, n):
    example = case.examples[example_index]
    seed = 1000 + 10 * CASES.index(case) + example_index + n
    x = case.cls(**example).sample(n, rng=seed)
    fixed = fixed_values(case, example, names)
    res = case.cls.fit_mle(x, **fixed)
    expected = case.scipy_mle(x, fixed)
    rtol = GEOMETRIC_RTOL if case.discrete else CLOSED_FORM_RTOL
    for name, value in expected.items():
        np.testing.assert_allclose(getattr(res.params, name), value, rtol=rtol, err_msg=name)
    for name, value in fixed.items():
        assert getattr(res.params, name) == value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_batched_fit_mle_equals_scipy_per_data_set(case):
    params = case.batch((2, 3))
    x = case.cls(**params).sample(15, rng=77)
    for names in all_fixed_combos(case):
        fixed = fixed_values(case, params, names)
        res = case.cls.fit_mle(x, **fixed)
        for idx in np.ndindex(2, 3):
            expected = case.scipy_mle(x[idx], {k: v[idx] for k, v in fixed.items()})
            rtol = GEOMETRIC_RTOL if case.discrete else CLOSED_FORM_RTOL
            for name, value in expected.items():
                np.testing.assert_allclose(getattr(res.params, name)[idx], value, rtol=rtol)


def test_geometric_mle_all_ones_is_one():
    # the likelihood p**n increases on (0, 1]: the maximum is at the boundary
    assert Geometric.fit_mle([1, 1, 1, 1]).params.p == 1.0
    np.testing.assert_allclose(REGISTRY["Geometric"].scipy_mle(np.ones(4), {})["p"], 1.0,
                               rtol=GEOMETRIC_RTOL)


@pytest.mark.parametrize("x", [[3.0], [1.0, 7.0, 2.0], [1, 1, 1, 2], list(range(1, 40))])
def test_geometric_mle_small_data_equals_numerical_maximum(x):
    x = np.asarray(x, dtype=float)
    expected = REGISTRY["Geometric"].scipy_mle(x, {})["p"]
    np.testing.assert_allclose(Geometric.fit_mle(x).params.p, expected, rtol=GEOMETRIC_RTOL)


# --------------------------------------------------------------------------- PLE formulas
# The analytic PLE against the table of exact formulas, evaluated with numpy and with the
# reference constants of tests/families.py (scipy.stats.chi for c4, exact
# rationals for kappa_n), never with the package's own helpers.


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
def test_uniform_ple_formulas(n):
    x = Uniform(low=-1.0, high=3.0).sample(n, rng=300 + n)
    lo, hi = x.min(), x.max()
    res = Uniform.fit_ple(x, low=-1.0)
    np.testing.assert_allclose(res.params.high, -1.0 + (n + 1) / n * (hi + 1.0), rtol=1e-14)
    res = Uniform.fit_ple(x, high=3.0)
    np.testing.assert_allclose(res.params.low, 3.0 - (n + 1) / n * (3.0 - lo), rtol=1e-14)
    if n >= 2:
        res = Uniform.fit_ple(x)
        np.testing.assert_allclose(res.params, [lo - (hi - lo) / (n - 1), hi + (hi - lo) / (n - 1)],
                                   rtol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 300])
def test_gaussian_ple_formulas(n):
    x = Gaussian(mu=2.0, sigma=1.5).sample(n, rng=400 + n)
    # mu fixed: n degrees of freedom, E sqrt(chi2_n / n) for the "sigma" parametrisation
    root_mean_sq = np.sqrt(np.mean((x - 2.0) ** 2))
    res = Gaussian.fit_ple(x, mu=2.0, parametrization="variance")
    np.testing.assert_allclose(res.params.sigma, root_mean_sq, rtol=1e-13)
    res = Gaussian.fit_ple(x, mu=2.0)
    np.testing.assert_allclose(res.params.sigma, root_mean_sq / mean_chi_over_sqrt(n), rtol=1e-12)
    res = Gaussian.fit_ple(x, sigma=1.5)
    np.testing.assert_allclose(res.params.mu, x.mean(), rtol=1e-14)
    if n >= 2:
        s = np.std(x, ddof=1)
        c4 = mean_chi_over_sqrt(n - 1)  # c4(n) = E[s]/sigma = E sqrt(chi2_{n-1}/(n-1))
        res = Gaussian.fit_ple(x)
        np.testing.assert_allclose(res.params, [x.mean(), s / c4], rtol=1e-12)
        np.testing.assert_allclose(Gaussian.fit_ple(x, parametrization="sigma").params.sigma,
                                   s / c4, rtol=1e-12)
        res = Gaussian.fit_ple(x, parametrization="variance")
        np.testing.assert_allclose(res.params, [x.mean(), s], rtol=1e-13)


@pytest.mark.parametrize("n", [2, 3, 4, 11, 40])
def test_laplace_ple_formulas(n):
    x = Laplace(mu=-1.0, b=2.0).sample(n, rng=500 + n)
    med = np.median(x)
    mad = np.mean(np.abs(x - med))
    res = Laplace.fit_ple(x)
    np.testing.assert_allclose(res.params, [med, mad / float(laplace_kappa_exact(n))], rtol=1e-12)
    # mu fixed: the MLE of b is unbiased and the PLE equals it
    res = Laplace.fit_ple(x, mu=-1.0)
    np.testing.assert_allclose(res.params.b, np.mean(np.abs(x + 1.0)), rtol=1e-14)
    assert Laplace.fit_ple(x, mu=-1.0).params == Laplace.fit_mle(x, mu=-1.0).params
    res = Laplace.fit_ple(x, b=2.0)
    assert res.params.mu == med


@pytest.mark.parametrize("n", [2, 3, 25])
def test_exponential_ple_formula(n):
    x = Exponential(rate=0.5).sample(n, rng=600 + n)
    np.testing.assert_allclose(Exponential.fit_ple(x).params.rate, (n - 1) / x.sum(), rtol=1e-14)


@pytest.mark.parametrize("n", [3, 4, 25])
def test_pareto_ple_formulas(n):
    x = Pareto(b=2.0, xm=1.5).sample(n, rng=700 + n)
    logs = np.log(x / 1.5)
    res = Pareto.fit_ple(x, xm=1.5)
    np.testing.assert_allclose(res.params.b, (n - 1) / logs.sum(), rtol=1e-12)
    low = x.min()
    b = (n - 2) / np.log(x / low).sum()
    res = Pareto.fit_ple(x)
    np.testing.assert_allclose(res.params, [b, low * (1 - 1 / (n * b))], rtol=1e-12)
    res = Pareto.fit_ple(x, b=2.0)
    np.testing.assert_allclose(res.params.xm, low * (1 - 1 / (n * 2.0)), rtol=1e-14)


def test_scipy_fit_agrees_with_the_scipy_twin_parametrisation():
    # Guard for the references themselves: data drawn from the scipy twin and fitted by
    # the reference give back (approximately, n = 20000) the twin's parameters.
    for case in CASES:
        example = case.examples[0]
        x = case.twin(**example).rvs(20000, random_state=np.random.default_rng(9))
        fitted = case.scipy_mle(np.asarray(x, dtype=float), {})
        for name, value in fitted.items():
            np.testing.assert_allclose(value, example[name], rtol=0.05, err_msg=case.name)
