"""The special functions behind the analytic PLEs, against independent references.

- ``laplace_kappa(n)``: exact rationals from Govindarajulu's formula
  (``fractions.Fraction``, tests/families.py), the quoted values, and the
  large-n expansion.
- ``geometric_binding(p, n)``: the direct negative-binomial sum of E[n/S] and
  scipy's ``hyp2f1``; monotonicity and the bounds p <= b(p) <= n/(n-1) p.
- ``c4(n)``: the Gamma-function formula, scipy's chi distribution, its
  asymptotic series, and Monte Carlo.
- The Geometric PLE solves its equation b(p) = n / sum(x).
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from families import (geometric_mle_mean, laplace_kappa_exact, laplace_kappa_exact_fast,
                      mean_chi_over_sqrt)
from ple_stats import Geometric
from ple_stats._gaussian import c4
from ple_stats._geometric import geometric_binding
from ple_stats._laplace import laplace_kappa

# --------------------------------------------------------------------------- Laplace kappa


@pytest.mark.parametrize("n, value", [(2, Fraction(3, 4)), (3, Fraction(3, 4)),
                                      (4, Fraction(83, 96)), (5, Fraction(83, 96)),
                                      (10, Fraction(304793, 322560)),
                                      (11, Fraction(304793, 322560))])
def test_laplace_kappa_quoted_rationals(n, value):
    # the reference reproduces the published rationals exactly, and the package to rounding
    assert laplace_kappa_exact(n) == value
    assert abs(laplace_kappa(n) - float(value)) < 1e-15


def test_laplace_kappa_small_n_from_first_principles():
    # n = 1: the median is the observation, b_MLE = 0. n = 2: b_MLE = |x1 - x2| / 2 and the
    # difference of two standard Laplace variables has density (1 + |d|) e^{-|d|} / 4,
    # so E|d| = 3/2 and kappa_2 = 3/4 -- independent of Govindarajulu's formula.
    assert laplace_kappa(1) == 0.0
    assert laplace_kappa_exact(1) == 0
    assert laplace_kappa_exact(2) == Fraction(3, 4)


@pytest.mark.parametrize("n", range(1, 41))
def test_laplace_kappa_matches_exact_rational(n):
    assert abs(laplace_kappa(n) - float(laplace_kappa_exact(n))) <= 1e-13


def test_fast_exact_reference_equals_literal_formula():
    # the O(n) rearrangement used below for large n is the same rational for n <= 40
    for n in range(1, 41):
        assert laplace_kappa_exact_fast(n) == laplace_kappa_exact(n)


@pytest.mark.parametrize("n", [41, 50, 64, 65, 85, 100, 128, 200, 333, 500, 1000])
def test_laplace_kappa_large_n_matches_exact_rational(n):
    # Same 1e-13 standard as for n <= 40. The docstring promises ~1e-15 "for any n";
    # the quadrature (epsrel=1e-12) gives errors up to ~2.6e-13 near n = 85.
    assert abs(laplace_kappa(n) - float(laplace_kappa_exact_fast(n))) <= 1e-13


def test_laplace_kappa_pairs_and_monotone():
    # kappa_{2k} = kappa_{2k+1} (exactly, on the rationals up to 2k+1 = 41), kappa_n
    # is non-decreasing and below 1
    for k in range(1, 21):
        assert laplace_kappa_exact_fast(2 * k) == laplace_kappa_exact_fast(2 * k + 1)
    values = np.array([laplace_kappa(n) for n in range(1, 301)])
    assert np.all(np.diff(values) >= -1e-13)
    assert np.all(values < 1.0)
    for k in range(1, 150):
        assert abs(laplace_kappa(2 * k) - laplace_kappa(2 * k + 1)) < 1e-12


@pytest.mark.parametrize("n", [100, 500, 1000, 2000, 10_000])
def test_laplace_kappa_large_n_expansion(n):
    # kappa_n -> 1 as 1 - 1/(2n) + O(n^{-3/2}): estimating the median costs
    # n f(0) (med - mu)^2 ~ b/2 in the sum of absolute deviations. The exact values
    # give n(1 - kappa_n) - 1/2 = 0.024 (n=100), 0.0058 (n=2000), i.e. ~0.25/sqrt(n).
    assert abs(laplace_kappa(n) - (1 - 1 / (2 * n))) <= n ** -1.5


def test_laplace_kappa_validates_n():
    with pytest.raises(ValueError, match="`n`"):
        laplace_kappa(0)
    with pytest.raises(TypeError, match="`n`"):
        laplace_kappa(2.5)


# --------------------------------------------------------------------------- Geometric binding

P_GRID = np.array([0.001, 0.05, 0.3, 0.5, 0.9, 0.999, 1.0])


@pytest.mark.parametrize("n", [1, 2, 5, 25, 49, 50, 51, 60, 300, 1000])
def test_geometric_binding_matches_negative_binomial_sum(n):
    # E[n/S] summed over S = n + NegBinom(n, p) failures up to a 1e-18 tail. Both sides are
    # double-precision sums of positive terms; scipy's nbinom.pmf (via log-gamma) carries
    # a relative error ~1e-14 for large n, hence 1e-12. n >= 50 exercises the series branch.
    reference = np.array([geometric_mle_mean(p, n) for p in P_GRID])
    np.testing.assert_allclose(geometric_binding(P_GRID, n), reference, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 25])
def test_geometric_binding_matches_hyp2f1_form(n):
    # the direct form p**n 2F1(n, n; n+1; 1-p), evaluated by scipy. scipy's hyp2f1 with
    # a = b = n loses digits near z = 1 (about 2e-14 at n = 25, p = 0.001), hence 1e-12.
    reference = P_GRID**n * special.hyp2f1(n, n, n + 1, 1 - P_GRID)
    np.testing.assert_allclose(geometric_binding(P_GRID, n), reference, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 25, 49, 50, 60, 300, 1000])
def test_geometric_binding_is_monotone_and_bounded(n):
    p = np.concatenate([np.geomspace(1e-6, 0.5, 200), np.linspace(0.5, 1.0, 200)[1:]])
    b = geometric_binding(p, n)
    assert b.shape == p.shape
    assert np.all(np.diff(b) > 0)
    assert geometric_binding(1.0, n) == 1.0
    # Jensen: E[n/S] >= n/E[S] = p; and n/S <= n/(n-1) * (n-1)/(S-1), an unbiased estimator
    assert np.all(b >= p * (1 - 1e-14))
    if n >= 2:
        assert np.all(b <= n / (n - 1) * p * (1 + 1e-14))


def test_geometric_binding_n1_closed_form():
    # n = 1: E[1/X] = sum_k p q^{k-1} / k = -p log(p) / (1 - p), which double precision
    # evaluates to a few ulps for any p. Small p arise from n = 1 and a large count
    # (the PLE of x = [10**6] is p ~ 7e-8); scipy's hyp2f1(1, 1; 2; z) near z = 1 is
    # off by 2.7e-10 at p = 1e-8 and 8e-7 at p = 1e-12.
    p = np.array([1e-12, 1e-8, 1e-5, 1e-3, 0.2, 0.5, 0.99])
    np.testing.assert_allclose(geometric_binding(p, 1), -p * np.log(p) / (1 - p), rtol=1e-13)


# --------------------------------------------------------------------------- c4


@pytest.mark.parametrize("n", [2, 3, 4, 5, 10, 30, 100, 300, 342])
def test_c4_matches_gamma_formula(n):
    # scipy's gamma ratio itself carries ~2e-13 relative error for n ~ 300 (the Gammas are
    # ~1e300), hence 1e-12; the chi-distribution reference below is tighter.
    reference = np.sqrt(2 / (n - 1)) * special.gamma(n / 2) / special.gamma((n - 1) / 2)
    np.testing.assert_allclose(c4(n), reference, rtol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 7, 50, 200])
def test_c4_matches_chi_mean(n):
    # c4(n) = E[s]/sigma = E sqrt(chi2_{n-1} / (n-1))
    np.testing.assert_allclose(c4(n), mean_chi_over_sqrt(n - 1), rtol=1e-13)


def test_c4_quoted_values():
    # c4(2) = sqrt(2/pi) and c4(3) = sqrt(pi)/2, exactly
    np.testing.assert_allclose(c4(2), np.sqrt(2 / np.pi), rtol=1e-15)
    np.testing.assert_allclose(c4(3), np.sqrt(np.pi) / 2, rtol=1e-15)


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000, 1_000_000])
def test_c4_large_n_matches_asymptotic_series(n):
    # c4(n) = 1 - 1/(4n) - 7/(32 n^2) - 19/(128 n^3) + O(n^-4): for n >= 1000 the
    # truncation error is < 1e-13 relative, so the series is an exact reference here.
    # The docstring says c4 "is accurate for any n >= 2"; exp(gammaln - gammaln)
    # cancels ~log(n) n digits' worth: 2.8e-13 at n = 1e3, 2.6e-10 at n = 1e6.
    series = 1 - 1 / (4 * n) - 7 / (32 * n**2) - 19 / (128 * n**3)
    np.testing.assert_allclose(c4(n), series, rtol=1e-13)


def test_c4_monte_carlo():
    # E[s] for n = 4 standard normals, R = 400_000 samples (seed 31): the standard
    # error of the mean of s is sd(s)/sqrt(R) ~ 0.41/632 = 6.5e-4; 4 s.e. two-sided
    # has a false-alarm rate of 6e-5.
    n, R = 4, 400_000
    s = np.random.default_rng(31).standard_normal((R, n)).std(axis=1, ddof=1)
    se = s.std(ddof=1) / np.sqrt(R)
    assert abs(s.mean() - c4(n)) < 4 * se


# --------------------------------------------------------------------------- Geometric PLE


def _assert_solves(x):
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    p = Geometric.fit_ple(x).params.p
    target = n / x.sum(axis=-1)
    np.testing.assert_allclose(geometric_binding(p, n), target, rtol=1e-12)
    return p


@pytest.mark.parametrize("x", [[1], [1, 1, 1], [1] * 500, [2], [7], [10**6], [1, 2],
                               [1, 1, 1, 1, 2], [3, 1, 4, 1, 5, 9, 2, 6], [50] * 60,
                               [1] * 999 + [2], list(range(1, 301))])
def test_geometric_ple_solves_its_equation(x):
    p = _assert_solves(x)
    if np.all(np.asarray(x) == 1):
        assert p == 1.0


def test_geometric_ple_n1_closed_form_check():
    # n = 1, x = k: -p log p / (1 - p) = 1/k, checked with the closed form of b
    for k in [2, 3, 10, 1000]:
        p = Geometric.fit_ple([k]).params.p
        np.testing.assert_allclose(-p * np.log(p) / (1 - p), 1 / k, rtol=1e-12)


def test_geometric_ple_solves_its_equation_batched():
    x = np.array([[1, 1, 1, 1], [1, 2, 3, 4], [9, 9, 9, 9], [1, 1, 1, 2]])
    p = _assert_solves(x)
    assert p[0] == 1.0
    # the solution under the independent negative-binomial reference of b
    for row, pi in zip(x[1:], p[1:]):
        np.testing.assert_allclose(geometric_mle_mean(pi, 4), 4 / row.sum(), rtol=1e-11)


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=40))
def test_geometric_ple_solves_its_equation_property(x):
    p = _assert_solves(x)
    assert 0 < p <= 1
    assert p <= len(x) / sum(x)  # b(p) >= p, so the PLE sits below the MLE
