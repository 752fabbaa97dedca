"""Property-based tests (hypothesis) of every estimator of every family.

Over valid data drawn by hypothesis (well-conditioned: distinct values on a
grid, so no estimate is degenerate and no fixed value is violated):

- scale equivariance: fit(c x) = c^k fit(x), with k = 1 for scale and location
  parameters, 0 for Pareto's b, -1 for the exponential rate (fixed values scaled too);
- translation equivariance of the location families;
- permutation invariance;
- fitted parameters finite and inside their domain (never NaN), fixed ones unchanged;
- a batch of data sets gives the same fits as the loop of single fits;
- the PLE moves each biased parameter away from the MLE in the direction of the bias
  correction.

Tolerances: the data have a spread of at least 1e-2 against magnitudes of at
most ~1e4, so rounding in sums of squares and logs stays below ~1e-12
relative; 1e-9 leaves a wide margin while still catching any real
non-equivariance (an error of the estimator would be O(1)). Permutation and
batch checks compare the same arithmetic in a different order: 1e-12.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from families import CASES, all_fixed_combos

EQUIVARIANCE_RTOL = 1e-9
REORDER_RTOL = 1e-12
MAX_N = 12

# (case, fixed names, method, ple options); the default options are covered by the
# explicit ones where a family has any (Gaussian: parametrization="sigma")
FITS = [
    (case, names, method, options)
    for case in CASES
    for names in all_fixed_combos(case)
    for method, options_list in (("fit_mle", ({},)),
                                 ("fit_ple", [o for o in case.ple_options if o] or [{}]))
    for options in options_list
]


def _fit_id(value):
    if hasattr(value, "cls"):
        return value.name
    if isinstance(value, tuple):
        return "+".join(value) + "-fixed" if value else "free"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "default"
    return str(value)


def _min_n(case, names, method):
    """Smallest n for which this estimator is defined on distinct values."""
    n = 1
    if not names and case.name in ("Gaussian", "Laplace", "Uniform", "Pareto"):
        n = 2  # scale or spread from a single value is zero
    if case.name == "Pareto" and names == ("xm",):
        n = 1
    if method == "fit_ple":
        n = max(n, case.min_n_ple(names))
    return n


def _values(case, min_size, max_size=MAX_N):
    """Valid, non-degenerate data of one family: distinct values on a fine grid."""
    if case.name in ("Gaussian", "Laplace", "Uniform"):
        grid = st.lists(st.integers(-10_000, 10_000), min_size=min_size, max_size=max_size,
                        unique=True)
        return grid.map(lambda v: np.array(v) / 100.0)
    if case.name == "Exponential":
        grid = st.lists(st.integers(0, 100_000), min_size=min_size, max_size=max_size,
                        unique=True).filter(lambda v: sum(v) > 0)
        return grid.map(lambda v: np.array(v) / 100.0)
    if case.name == "Pareto":
        # x = 0.5 * exp(u), u on a 1e-3 grid in [0, 3]: log-spacings of at least 1e-3
        grid = st.lists(st.integers(0, 3000), min_size=min_size, max_size=max_size, unique=True)
        return grid.map(lambda v: 0.5 * np.exp(np.array(v) / 1000.0))
    if case.name == "Geometric":
        return st.lists(st.integers(1, 1000), min_size=min_size, max_size=max_size).map(
            lambda v: np.array(v, dtype=float))
    raise AssertionError(f"no data strategy for {case.name}")  # pragma: no cover


def _draw_fixed(data, case, names, x):
    """Draw valid fixed values for the data ``x`` (last axis = observations)."""
    fixed = {}
    for name in names:
        if name == "low":
            fixed[name] = x.min(axis=-1) - data.draw(st.integers(1, 1000)) / 100.0
        elif name == "high":
            fixed[name] = x.max(axis=-1) + data.draw(st.integers(1, 1000)) / 100.0
        elif name == "mu":
            # off the data grid (x = k/100), so no data set is all equal to mu
            fixed[name] = np.full(x.shape[:-1], data.draw(st.integers(-10_000, 10_000)) / 100.0
                                  + 0.005)
        elif name in ("sigma", "b"):
            # b >= 1.5 keeps n*b > 1 for the Pareto PLE of xm at any n >= 1
            fixed[name] = np.full(x.shape[:-1], data.draw(st.floats(1.5, 50.0)))
        elif name == "xm":
            fixed[name] = x.min(axis=-1) * data.draw(st.floats(0.1, 0.99))
        else:  # pragma: no cover
            raise AssertionError(name)
    return {k: (float(v) if np.ndim(v) == 0 else v) for k, v in fixed.items()}


def _valid_for(case, names, method, x):
    """Data on which the estimator is defined (beyond non-degeneracy)."""
    if case.name == "Pareto" and method == "fit_ple" and not names:
        n = x.shape[-1]
        # both free: b = (n-2)/sum(log(x/min)) and the xm correction needs n*b > 1
        return bool(np.all(n * (n - 2) > np.log(x / x.min(axis=-1, keepdims=True)).sum(-1)))
    return True


def _fit(case, method, x, fixed, options):
    return getattr(case.cls, method)(x, **fixed, **options)


def _draw_case_data(data, case, names, method):
    x = data.draw(_values(case, _min_n(case, names, method)), label="x")
    assume(_valid_for(case, names, method, x))
    return x, _draw_fixed(data, case, names, x)


# --------------------------------------------------------------------------- equivariance


@pytest.mark.parametrize("case, names, method, options",
                         [f for f in FITS if f[0].scale_power is not None], ids=_fit_id)
@given(data=st.data(), c=st.floats(1e-3, 1e3))
def test_scale_equivariance(case, names, method, options, data, c):
    x, fixed = _draw_case_data(data, case, names, method)
    power = case.scale_power
    base = _fit(case, method, x, fixed, options)
    scaled = _fit(case, method, c * x, {k: c ** power[k] * v for k, v in fixed.items()}, options)
    for name in case.param_names:
        np.testing.assert_allclose(getattr(scaled.params, name),
                                   c ** power[name] * getattr(base.params, name),
                                   rtol=EQUIVARIANCE_RTOL, err_msg=name)


@pytest.mark.parametrize("case, names, method, options",
                         [f for f in FITS if f[0].location], ids=_fit_id)
@given(data=st.data(), shift=st.integers(-10_000, 10_000))
def test_translation_equivariance(case, names, method, options, data, shift):
    x, fixed = _draw_case_data(data, case, names, method)
    a = shift / 10.0
    moved = {k: v + a if k in case.location else v for k, v in fixed.items()}
    base = _fit(case, method, x, fixed, options)
    shifted = _fit(case, method, x + a, moved, options)
    for name in case.param_names:
        expected = getattr(base.params, name) + (a if name in case.location else 0.0)
        # absolute rounding of x + a is ~1e-16 (|x| + |a|) <= 1e-12
        np.testing.assert_allclose(getattr(shifted.params, name), expected,
                                   rtol=EQUIVARIANCE_RTOL, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("case, names, method, options", FITS, ids=_fit_id)
@given(data=st.data())
def test_permutation_invariance(case, names, method, options, data):
    x, fixed = _draw_case_data(data, case, names, method)
    order = data.draw(st.permutations(range(x.shape[-1])), label="order")
    base = _fit(case, method, x, fixed, options)
    permuted = _fit(case, method, x[list(order)], fixed, options)
    for name in case.param_names:
        np.testing.assert_allclose(getattr(permuted.params, name), getattr(base.params, name),
                                   rtol=REORDER_RTOL, err_msg=name)


# --------------------------------------------------------------------------- domain


@pytest.mark.parametrize("case, names, method, options", FITS, ids=_fit_id)
@given(data=st.data())
def test_fitted_parameters_are_finite_and_in_their_domain(case, names, method, options, data):
    x, fixed = _draw_case_data(data, case, names, method)
    res = _fit(case, method, x, fixed, options)
    for name in case.param_names:
        value = getattr(res.params, name)
        assert np.isfinite(value), f"{name} = {value}"  # never NaN, never inf
        assert case.domain[name](value), f"{name} = {value}"
    for name, value in fixed.items():
        assert getattr(res.params, name) == value
    # the fitted distribution is a valid one: rebuilding it validates every constraint
    rebuilt = case.cls(**res.params._asdict())
    assert rebuilt == res.dist


@pytest.mark.parametrize("case, names, method, options", FITS, ids=_fit_id)
@given(data=st.data(), k=st.integers(2, 4))
def test_batch_equals_loop_of_single_fits(case, names, method, options, data, k):
    n_min = _min_n(case, names, method)
    n = data.draw(st.integers(n_min, MAX_N), label="n")
    rows = [data.draw(_values(case, n, n), label=f"x{i}") for i in range(k)]
    x = np.stack(rows)
    assume(_valid_for(case, names, method, x))
    fixed = _draw_fixed(data, case, names, x)
    batch = _fit(case, method, x, fixed, options)
    for i in range(k):
        single = _fit(case, method, x[i], {name: v[i] for name, v in fixed.items()}, options)
        for name in case.param_names:
            np.testing.assert_allclose(getattr(batch.params, name)[i], getattr(single.params, name),
                                       rtol=REORDER_RTOL, err_msg=name)


# --------------------------------------------------------------------------- PLE vs MLE

# The direction in which the PLE corrects the MLE: the MLE interval of the
# Uniform is too short, the Gaussian/Laplace scale too small, the rates and tail
# index too large, Geometric p too large (b(p) >= p).
DIRECTION = {
    ("Uniform", "low"): -1, ("Uniform", "high"): +1,
    ("Gaussian", "sigma"): +1, ("Laplace", "b"): +1,
    ("Exponential", "rate"): -1, ("Pareto", "b"): -1, ("Pareto", "xm"): -1,
    ("Geometric", "p"): -1,
}


@pytest.mark.parametrize("case, names, method, options",
                         [f for f in FITS if f[2] == "fit_ple"], ids=_fit_id)
@given(data=st.data())
def test_ple_corrects_the_mle_in_the_direction_of_its_bias(case, names, method, options, data):
    x, fixed = _draw_case_data(data, case, names, method)
    ple = _fit(case, "fit_ple", x, fixed, options)
    mle = _fit(case, "fit_mle", x, fixed, {})
    for name in case.param_names:
        if name in fixed:
            continue
        a, b = getattr(ple.params, name), getattr(mle.params, name)
        sign = DIRECTION.get((case.name, name))
        exactly_equal = (
            sign is None  # unbiased MLE (means, medians): the PLE keeps it
            or (case.name == "Laplace" and "mu" in fixed)  # b with mu known is unbiased
            or (case.name == "Gaussian" and "mu" in fixed
                and options.get("parametrization") == "variance")
            or (case.name == "Geometric" and b == 1.0)  # all ones: p = 1 for both
        )
        if exactly_equal:
            np.testing.assert_allclose(a, b, rtol=1e-14, err_msg=name)
        elif sign > 0:
            assert a > b, name
        else:
            assert a < b, name
