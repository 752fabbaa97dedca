"""Bad input: one test per kind of bad input and entry point, asserting the message.

Entry points: the constructors, ``sample``, ``logpdf``/``cdf``, ``fit_mle`` and
``fit_ple``. API contract: bad values raise ``ValueError``, bad types and unknown
keywords ``TypeError``, with a message naming the argument; bad input never
returns NaN silently. (setup.cfg turns RuntimeWarning into an error, so a fit
that divides by zero before raising fails here too.) Non-finite data, ``m`` and
``rng`` are checked for every fitter (each PLE method, the mixture, the scipy route)
by ``test_fitters.py``.
"""

import numpy as np
import pytest

from families import CASES, case_id
from ple_stats import Exponential, Gaussian, Geometric, Laplace, Pareto, Uniform

FITS = ["fit_mle", "fit_ple"]
VALID = [1.0, 2.0, 3.0, 5.0]  # valid data for every family


def _fit(case_or_cls, method, x, **kwargs):
    cls = getattr(case_or_cls, "cls", case_or_cls)
    return getattr(cls, method)(x, **kwargs)


# --------------------------------------------------------------------------- data: types and values

BAD_DATA = [
    ("nan-in-batch", [[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]], ValueError, r"`x` .*non-finite"),
    ("None", [1.0, None, 2.0], ValueError, r"`x` .*non-finite"),
    ("empty", np.array([]), ValueError, r"`x` is empty"),
    ("empty-rows", np.zeros((3, 0)), ValueError, r"`x` is empty"),
    ("empty-batch", np.zeros((0, 3)), ValueError, r"`x` is empty"),
    ("scalar", 2.0, ValueError, r"`x` must have at least one dimension"),
    ("string", "1 2 3", TypeError, r"`x` must be numeric"),
    ("strings", ["1", "2", "3"], TypeError, r"`x` must be numeric"),
    ("booleans", [True, False, True], TypeError, r"`x` must be numeric; got booleans"),
    ("complex", [1.0 + 1j, 2.0, 3.0], TypeError, r"`x` must be real"),
    ("ragged", [[1.0, 2.0], [3.0]], ValueError, r"`x` could not be converted"),
]


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("kind, x, error, message", BAD_DATA, ids=[k[0] for k in BAD_DATA])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_bad_data_types_and_values(case, kind, x, error, message, method):
    with pytest.raises(error, match=message):
        _fit(case, method, x)


OUT_OF_SUPPORT = [
    (Exponential, [-1.0, 2.0], {}, r"`x` has 1 value\(s\) outside the support of Exponential"),
    (Geometric, [1.5, 2.0, 3.0], {}, r"`x` has 1 value\(s\) outside the support of Geometric "
                                     r"\(integers >= 1\)"),
    (Geometric, [0.0, 1.0, 2.0], {}, r"outside the support of Geometric"),
    (Geometric, [-2.0, 3.0, 1.0], {}, r"outside the support of Geometric"),
    (Pareto, [0.0, 2.0, 3.0], {}, r"outside the support of Pareto \(positive values\)"),
    (Pareto, [-1.0, 2.0, 3.0], {}, r"outside the support of Pareto"),
    (Pareto, [0.5, 2.0, 3.0], {"xm": 1.0},
     r"outside the support of Pareto \(below the fixed `xm`\)"),
    (Uniform, [-0.5, 0.3, 0.4], {"low": 0.0},
     r"outside the support of Uniform \(below the fixed `low`\)"),
    (Uniform, [0.3, 1.5, 0.4], {"high": 1.0},
     r"outside the support of Uniform \(above the fixed `high`\)"),
]


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("cls, x, fixed, message", OUT_OF_SUPPORT,
                         ids=[f"{c.__name__}-{x}-{f}" for c, x, f, _ in OUT_OF_SUPPORT])
def test_data_outside_the_support(cls, x, fixed, message, method):
    with pytest.raises(ValueError, match=message):
        _fit(cls, method, x, **fixed)


def test_out_of_support_in_a_batch_is_found():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 2.5]])
    with pytest.raises(ValueError, match=r"outside the support of Geometric .* e\.g\. 2\.5"):
        Geometric.fit_mle(x)


# --------------------------------------------------------------------------- sample size

TOO_SMALL = [
    (Gaussian, [1.0], {}, 2),
    (Uniform, [1.0], {}, 2),
    (Laplace, [1.0], {}, 2),
    (Exponential, [1.0], {}, 2),
    (Pareto, [1.0, 2.0], {}, 3),
    (Pareto, [2.0], {"xm": 1.0}, 2),
]


@pytest.mark.parametrize("cls, x, fixed, n_min", TOO_SMALL,
                         ids=[f"{c.__name__}-n{len(x)}-{f}" for c, x, f, _ in TOO_SMALL])
def test_ple_with_too_few_observations(cls, x, fixed, n_min):
    with pytest.raises(ValueError, match=rf"`x` has n = {len(x)} observations, but the PLE of "
                                         rf"{cls.__name__}.* needs n >= {n_min}"):
        cls.fit_ple(x, **fixed)
    # one more observation is enough
    y = np.append(x, 4.0 if cls is not Uniform else 0.5)
    assert cls.fit_ple(y, **fixed).n == len(x) + 1


@pytest.mark.parametrize("cls, x, fixed, methods", [
    (Exponential, [2.0], {}, ["fit_mle"]), (Geometric, [3.0], {}, FITS),
    (Gaussian, [2.0], {"mu": 0.0}, FITS), (Gaussian, [2.0], {"sigma": 1.0}, FITS),
    (Laplace, [2.0], {"b": 1.0}, FITS), (Laplace, [2.0], {"mu": 0.0}, FITS),
    (Uniform, [0.5], {"low": 0.0}, FITS), (Uniform, [0.5], {"high": 1.0}, FITS),
    (Pareto, [2.0], {"b": 2.0}, FITS), (Pareto, [2.0], {"xm": 1.0}, ["fit_mle"]),
])
def test_n_equals_one_is_enough_where_the_estimator_is_defined(cls, x, fixed, methods):
    for method in methods:
        res = getattr(cls, method)(x, **fixed)
        assert res.n == 1 and all(np.isfinite(v) for v in res.params)


# --------------------------------------------------------------------------- degenerate data

DEGENERATE = [
    (Gaussian, np.full(5, 2.0), {}),
    (Gaussian, np.full(3, 2.0), {"mu": 2.0}),
    (Laplace, np.full(5, 2.0), {}),
    (Laplace, np.full(3, -1.0), {"mu": -1.0}),
    (Uniform, np.full(5, 0.5), {}),
    (Uniform, np.full(3, 0.5), {"low": 0.5}),
    (Uniform, np.full(3, 0.5), {"high": 0.5}),
    (Pareto, np.full(5, 2.0), {}),
    (Pareto, np.full(3, 2.0), {"xm": 2.0}),
    # all equal, but sum(log x) - n log(min) rounds to +1.8e-15 instead of 0 here
    (Pareto, np.full(7, 0.15991495747873938), {}),
    (Pareto, np.full(6, 0.18487243621810906), {}),
    (Exponential, np.zeros(4), {}),
]


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("cls, x, fixed", DEGENERATE,
                         ids=[f"{c.__name__}-{x[0]:.4g}x{len(x)}-{f}" for c, x, f in DEGENERATE])
def test_degenerate_data(cls, x, fixed, method):
    with pytest.raises(ValueError, match="degenerate"):
        getattr(cls, method)(x, **fixed)


@pytest.mark.parametrize("method", FITS)
def test_degenerate_data_set_in_a_batch_is_located(method):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    with pytest.raises(ValueError, match=r"degenerate") as info:
        getattr(Gaussian, method)(x)
    assert "1" in str(info.value).split("index")[1]  # the offending data set is named


@pytest.mark.parametrize("method", FITS)
def test_geometric_all_ones_is_not_degenerate(method):
    assert getattr(Geometric, method)([1, 1, 1]).params.p == 1.0


# --------------------------------------------------------------------------- fixed parameters

ALL_FIXED = [(case, {name: case.examples[0][name] for name in case.param_names}) for case in CASES]


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("case, fixed", ALL_FIXED, ids=[c.name for c, _ in ALL_FIXED])
def test_all_parameters_fixed(case, fixed, method):
    x = case.default().sample(5, rng=0)
    with pytest.raises(ValueError, match=rf"all parameters of {case.name} are fixed"):
        _fit(case, method, x, **fixed)


FIXED_OUTSIDE_DOMAIN = [
    (Gaussian, {"sigma": -1.0}, ValueError, r"`sigma` must be positive; got -1\.0"),
    (Gaussian, {"sigma": 0.0}, ValueError, r"`sigma` must be positive"),
    (Gaussian, {"mu": np.nan}, ValueError, r"`mu` must be finite"),
    (Gaussian, {"mu": np.inf}, ValueError, r"`mu` must be finite"),
    (Gaussian, {"mu": "zero"}, TypeError, r"`mu` must be numeric"),
    (Laplace, {"b": 0.0}, ValueError, r"`b` must be positive"),
    (Laplace, {"mu": [0.0, np.nan]}, ValueError, r"`mu` must be finite"),
    (Pareto, {"xm": -1.0}, ValueError, r"`xm` must be positive"),
    (Pareto, {"b": 0.0}, ValueError, r"`b` must be positive"),
    (Uniform, {"low": np.nan}, ValueError, r"`low` must be finite"),
    (Uniform, {"high": True}, TypeError, r"`high` must be numeric"),
]


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("cls, fixed, error, message", FIXED_OUTSIDE_DOMAIN,
                         ids=[f"{c.__name__}-{f}" for c, f, _, _ in FIXED_OUTSIDE_DOMAIN])
def test_fixed_values_outside_their_domain(cls, fixed, error, message, method):
    with pytest.raises(error, match=message):
        getattr(cls, method)([1.0, 2.0, 3.0], **fixed)


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("case", [c for c in CASES if c.fixed], ids=case_id)
def test_fixed_values_that_do_not_broadcast_to_the_batch(case, method):
    params = case.batch((2, 3))
    x = case.cls(**params).sample(6, rng=1)
    for names in case.fixed:
        name = names[0]
        good = params[name]
        with pytest.raises(ValueError, match=rf"fixed `{name}` of shape \(4,\) does not broadcast "
                                              r"to the batch shape \(2, 3\)"):
            _fit(case, method, x, **{name: np.full(4, good.flat[0])})
        # batch-shaped and broadcastable (2, 1) values are accepted; the per-row extreme
        # keeps a bound below (low, xm) or above (high) every data set of its row
        _fit(case, method, x, **{name: good})
        column = {"low": good.min(axis=1, keepdims=True), "xm": good.min(axis=1, keepdims=True),
                  "high": good.max(axis=1, keepdims=True)}.get(name, good[:, :1])
        assert _fit(case, method, x, **{name: column}).batch_shape == (2, 3)
    # 1-D data (batch shape ()) with a length-2 fixed value
    name = case.fixed[0][0]
    with pytest.raises(ValueError, match=r"does not broadcast to the batch shape \(\)"):
        _fit(case, method, x[0, 0], **{name: np.full(2, params[name].min())})


# --------------------------------------------------------------------------- Pareto n*b <= 1


@pytest.mark.parametrize("x, fixed", [
    ([1.0, 2.0, 3.0, 4.0, 5.0], {"b": 0.1}),     # n b = 0.5
    ([1.0, 2.0, 3.0], {"b": 1 / 3}),             # n b = 1 exactly
    ([1.0, np.exp(10.0), np.exp(20.0)], {}),     # both free: b = 1/30, n b = 0.1
])
def test_pareto_ple_needs_n_b_above_one(x, fixed):
    with pytest.raises(ValueError, match=r"the Pareto PLE of `xm` needs n\*b > 1"):
        Pareto.fit_ple(x, **fixed)
    # the MLE is defined on the same data
    assert np.isfinite(Pareto.fit_mle(x, **fixed).params.xm)


# --------------------------------------------------------------------------- keywords and options


@pytest.mark.parametrize("method", FITS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_unknown_keywords(case, method):
    for key in ["foo", "floc", "loc", "scale"]:
        with pytest.raises(TypeError, match=rf"{case.name}\.{method}\(\) got an unexpected "
                                            rf"keyword argument '{key}'"):
            _fit(case, method, VALID, **{key: 1.0})


def test_fit_mle_refuses_ple_options():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'parametrization'"):
        Gaussian.fit_mle(VALID, parametrization="sigma")


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "Gaussian"], ids=case_id)
def test_parametrization_is_a_gaussian_option_only(case):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'parametrization'"):
        case.cls.fit_ple(VALID, parametrization="sigma")


@pytest.mark.parametrize("value", ["std", "sd", None, 2, ["sigma"]])
def test_bad_parametrization(value):
    with pytest.raises(ValueError,
                       match=r"`parametrization` must be one of \('sigma', 'variance'\)"):
        Gaussian.fit_ple(VALID, parametrization=value)


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("value", ["exact", "ANALYTIC", 3, ""])
def test_bad_method(case, value):
    with pytest.raises(ValueError, match=r"`method` must be one of \('analytic', 'bootstrap'\)"):
        case.cls.fit_ple(VALID, method=value)


# --------------------------------------------------------------------------- constructor


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_constructor_bad_parameter_types(case):
    good = case.examples[0]
    name = case.param_names[0]
    for bad, message in [("1.0", "numeric"), (True, "numeric"), (1 + 2j, "real"),
                         (np.array([True, False]), "numeric")]:
        with pytest.raises(TypeError, match=rf"`{name}` must be {message}"):
            case.cls(**{**good, name: bad})


@pytest.mark.parametrize("case", [c for c in CASES if len(c.param_names) > 1], ids=case_id)
def test_constructor_shapes_must_broadcast(case):
    a, b = case.param_names
    params = {a: np.full(2, case.examples[0][a]), b: np.full(3, case.examples[0][b])}
    with pytest.raises(ValueError, match=rf"parameter shapes do not broadcast together: "
                                         rf"`{a}` \(2,\), `{b}` \(3,\)"):
        case.cls(**params)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_constructor_unknown_keyword(case):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'scale'"):
        case.cls(**case.examples[0], scale=1.0)


def test_geometric_and_pareto_have_no_default_shape():
    with pytest.raises(TypeError, match="'p'"):
        Geometric()
    with pytest.raises(TypeError, match="'b'"):
        Pareto()


# --------------------------------------------------------------------------- sample


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("n, error, message", [
    (0, ValueError, r"`n` must be at least 1; got 0"),
    (-3, ValueError, r"`n` must be at least 1; got -3"),
    (2.5, TypeError, r"`n` must be an integer; got float"),
    (3.0, TypeError, r"`n` must be an integer; got float"),
    ("3", TypeError, r"`n` must be an integer; got str"),
    (True, TypeError, r"`n` must be an integer; got bool"),
    (None, TypeError, r"`n` must be an integer; got NoneType"),
])
def test_sample_bad_n(case, n, error, message):
    with pytest.raises(error, match=message):
        case.default().sample(n, rng=0)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sample_accepts_numpy_integers(case):
    assert case.default().sample(np.int64(3), rng=0).shape == (3,)


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("rng, error, message", [
    ("seed", TypeError, r"`rng` must be None, an int"),
    (1.5, TypeError, r"`rng` must be None, an int"),
    (np.random.RandomState(0), TypeError, r"`rng` must be None, an int.*got RandomState"),
    (True, TypeError, r"`rng` must be .*bool"),
    (-1, ValueError, r"`rng` must be a non-negative integer seed; got -1"),
])
def test_sample_bad_rng(case, rng, error, message):
    with pytest.raises(error, match=message):
        case.default().sample(3, rng=rng)


@pytest.mark.parametrize("shape, error, message", [
    ((-1,), ValueError, r"`sample_shape` must be at least 0"),
    (("a",), TypeError, r"`sample_shape` must be a tuple of non-negative ints"),
    (2.5, TypeError, r"`sample_shape` must be a tuple of non-negative ints"),
    ((2.0, 3), TypeError, r"`sample_shape`"),
])
def test_sample_bad_sample_shape(shape, error, message):
    with pytest.raises(error, match=message):
        Gaussian().sample(3, rng=0, sample_shape=shape)


# --------------------------------------------------------------------------- logpdf / cdf

BAD_POINTS = [
    ("nan", [0.5, np.nan], ValueError, r"`x` contains nan"),
    ("strings", ["0.5", "1"], TypeError, r"`x` must be a real numeric array"),
    ("booleans", [True, False], TypeError, r"`x` must be a real numeric array"),
    ("complex", [0.5 + 1j], TypeError, r"`x` must be a real numeric array"),
]


@pytest.mark.parametrize("function", ["logpdf", "cdf", "nll"])
@pytest.mark.parametrize("kind, x, error, message", BAD_POINTS, ids=[k[0] for k in BAD_POINTS])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_logpdf_and_cdf_bad_points(case, kind, x, error, message, function):
    with pytest.raises(error, match=message):
        getattr(case.default(), function)(x)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_logpdf_of_no_points_is_empty(case):
    # like scipy: evaluating at no points is not an error
    assert case.default().logpdf([]).shape == (0,)
    assert case.cls(**case.batch((3,))).logpdf(np.zeros((3, 0))).shape == (3, 0)
    assert case.default().cdf([]).shape == (0,)
