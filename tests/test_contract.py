"""The contract suite: every family of the registry runs the same checks.

Shapes, densities against the scipy twin, moments, the negative
log-likelihood, invalid parameters, randomness, pickling, the fields of
``FitResult`` under every fixed-parameter combination, dtypes, and the sampling
distribution. The checks every fitter shares (result type, ``m``, ``rng``,
non-finite data, batches) run over the registry of ``tests/fitters.py`` in
``test_fitters.py``.
"""

import pickle

import numpy as np
import pytest
from scipy import stats

import ple_stats
from families import (BATCH_SHAPES, CASES, REGISTRY, all_fixed_combos, case_id,
                      exported_families, fixed_values)

FIT_METHODS = ["fit_mle", "fit_ple"]


def _params_of(case, batch):
    return case.batch(batch)


def _twin(case, params, *, expand=False):
    """The scipy twin; with ``expand`` the parameters get a trailing axis (data along it)."""
    if expand:
        params = {k: np.asarray(v)[..., None] for k, v in params.items()}
    return case.twin(**params)


def _scipy(fn, *args):
    """Call scipy quietly: its geom with p = 1 divides by log1p(-1) = -inf internally."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return fn(*args)


def _points(case, params):
    """Evaluation points of shape (*batch, k): quantiles of the twin and off-support points."""
    q = np.array([1e-6, 0.01, 0.3, 0.5, 0.77, 0.99, 1 - 1e-9])
    inner = _scipy(_twin(case, params, expand=True).ppf, q)
    batch = np.shape(next(iter(params.values())))
    edges = np.broadcast_to(np.array(case.edge_points), batch + (len(case.edge_points),))
    return np.concatenate([inner, edges], axis=-1)


# --------------------------------------------------------------------------- registry


def test_registry_covers_every_exported_family():
    exported = exported_families()
    assert exported, "ple_stats exports no Distribution subclass?"
    missing = sorted(set(exported) - set(REGISTRY))
    assert not missing, f"exported by ple_stats but missing from tests/families.py: {missing}"
    stale = sorted(set(REGISTRY) - set(exported))
    assert not stale, f"registry entries that ple_stats does not export: {stale}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_registry_entry_matches_family(case):
    d = case.default()
    assert d.params._fields == case.param_names
    assert set(case.domain) == set(case.param_names)
    for names in case.fixed:
        assert set(names) < set(case.param_names)
    # every example is valid and sits inside the declared domain
    for example in case.examples:
        params = case.cls(**example).params
        for name in case.param_names:
            assert case.domain[name](getattr(params, name))


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("batch", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sample_shapes(case, batch):
    d = case.cls(**_params_of(case, batch))
    assert d.batch_shape == batch
    assert d.sample(7, rng=0).shape == batch + (7,)
    assert d.sample(1, rng=0).shape == batch + (1,)
    assert d.sample(7, rng=0, sample_shape=(4,)).shape == (4,) + batch + (7,)
    assert d.sample(7, rng=0, sample_shape=(2, 4)).shape == (2, 4) + batch + (7,)
    assert d.sample(7, rng=0, sample_shape=5).shape == (5,) + batch + (7,)
    # discrete draws are integers, as numpy's Generator.geometric and scipy's rvs give them
    expected = np.int64 if case.cls._discrete else np.float64
    assert d.sample(7, rng=0).dtype == expected


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_samples_lie_in_the_support(case):
    for example in case.examples:
        x = case.cls(**example).sample(500, rng=11)
        assert np.all(np.isfinite(case.logpdf_twin(case.twin(**example), x)))


FIT_COMBOS = [(case, names) for case in CASES for names in all_fixed_combos(case)]


def _combo_id(value):
    if hasattr(value, "cls"):
        return value.name
    return "+".join(value) + "-fixed" if value else "free"


@pytest.mark.parametrize("method", FIT_METHODS)
@pytest.mark.parametrize("batch", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case, names", FIT_COMBOS, ids=_combo_id)
def test_fit_round_trips_with_the_batch_shape(case, names, batch, method):
    params = _params_of(case, batch)
    d = case.cls(**params)
    x = d.sample(9, rng=3)
    fixed = fixed_values(case, params, names)
    res = getattr(case.cls, method)(x, **fixed)
    assert type(res.dist) is case.cls
    assert res.dist.batch_shape == batch
    assert res.n == 9
    for name in case.param_names:
        value = getattr(res.params, name)
        if batch == ():
            assert type(value) is float
        else:
            assert isinstance(value, np.ndarray) and value.shape == batch
            assert value.dtype == np.float64
        assert np.all(case.domain[name](value))
    for name, value in fixed.items():
        np.testing.assert_array_equal(getattr(res.params, name), value)
    # the fitted distribution samples with the same batch shape, and refits
    y = res.dist.sample(9, rng=0)
    assert y.shape == batch + (9,)
    assert getattr(case.cls, method)(y, **fixed).dist.batch_shape == batch


# --------------------------------------------------------------------------- densities


def _assert_logpdf_matches(case, params):
    d = case.cls(**params)
    x = _points(case, params)
    expected = _scipy(case.logpdf_twin, _twin(case, params, expand=True), x)
    got = d.logpmf(x) if case.discrete else d.logpdf(x)
    assert got.shape == expected.shape
    # Both sides are closed forms in double precision: agreement to rounding.
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)


def _assert_cdf_matches(case, params):
    d = case.cls(**params)
    x = _points(case, params)
    expected = _scipy(_twin(case, params, expand=True).cdf, x)
    got = d.cdf(x)
    assert got.shape == expected.shape
    # Closed forms on both sides; the absolute tolerance covers scipy's 1 - x**-b
    # for the Pareto cdf, which loses relative accuracy just above xm.
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_logpdf_matches_scipy(case):
    for example in case.examples:
        _assert_logpdf_matches(case, example)


@pytest.mark.parametrize("batch", BATCH_SHAPES[1:], ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_logpdf_matches_scipy_batched(case, batch):
    _assert_logpdf_matches(case, _params_of(case, batch))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cdf_matches_scipy(case):
    for example in case.examples:
        _assert_cdf_matches(case, example)


@pytest.mark.parametrize("batch", BATCH_SHAPES[1:], ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_cdf_matches_scipy_batched(case, batch):
    _assert_cdf_matches(case, _params_of(case, batch))


def test_geometric_logpmf_is_logpdf():
    d = ple_stats.Geometric(p=[0.2, 0.7])
    k = np.array([[1.0, 2.0, 5.0, 0.0, 2.5], [1.0, 3.0, 40.0, -1.0, 7.0]])
    np.testing.assert_array_equal(d.logpmf(k), d.logpdf(k))
    np.testing.assert_allclose(d.logpmf(k), stats.geom([[0.2], [0.7]]).logpmf(k), rtol=1e-12)


@pytest.mark.parametrize("batch", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_logpdf_at_scalar_points_aligns_with_the_batch(case, batch):
    # a scalar point is evaluated under every member: shape (*batch, 1), as scipy's
    # twin with a trailing parameter axis gives
    params = _params_of(case, batch)
    point = float(np.ravel(_scipy(_twin(case, params).median))[0])
    got = case.cls(**params).logpdf(point)
    expected = _scipy(case.logpdf_twin, _twin(case, params, expand=True), point)
    assert got.shape == np.shape(expected) == batch + (1,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_logpdf_at_infinity_is_minus_infinity(case):
    # like scipy: infinite points are off every support here, density 0
    got = case.default().logpdf([np.inf, -np.inf])
    np.testing.assert_array_equal(got, [-np.inf, -np.inf])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_mean_and_var_match_scipy(case):
    for example in case.examples:
        d, twin = case.cls(**example), case.twin(**example)
        assert type(d.mean()) is float and type(d.var()) is float
        # closed forms (inf where the moment does not exist, e.g. Pareto b <= 1 or 2)
        np.testing.assert_allclose(d.mean(), _scipy(twin.mean), rtol=1e-13)
        np.testing.assert_allclose(d.var(), _scipy(twin.var), rtol=1e-13)


@pytest.mark.parametrize("batch", BATCH_SHAPES[1:], ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_mean_and_var_match_scipy_batched(case, batch):
    params = _params_of(case, batch)
    d, twin = case.cls(**params), _twin(case, params)
    assert d.mean().shape == batch and d.var().shape == batch
    np.testing.assert_allclose(d.mean(), twin.mean(), rtol=1e-13)
    np.testing.assert_allclose(d.var(), twin.var(), rtol=1e-13)


@pytest.mark.parametrize("batch", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_nll_is_minus_sum_of_logpdf(case, batch):
    params = _params_of(case, batch)
    d = case.cls(**params)
    x = d.sample(12, rng=5)
    nll = d.nll(x)
    expected = -np.sum(case.logpdf_twin(_twin(case, params, expand=True), x), axis=-1)
    if batch == ():
        assert type(nll) is float
    else:
        assert nll.shape == batch
    np.testing.assert_allclose(nll, -np.sum(d.logpdf(x), axis=-1), rtol=1e-15)
    np.testing.assert_allclose(nll, expected, rtol=1e-12)


def _off_support(case):
    twin = case.twin(**case.examples[0])
    return [v for v in case.edge_points if _scipy(case.logpdf_twin, twin, v) == -np.inf]


@pytest.mark.parametrize("case", [c for c in CASES if _off_support(c)], ids=case_id)
def test_nll_is_infinite_off_the_support(case):
    d = case.default()
    for v in _off_support(case):
        x = np.append(d.sample(5, rng=1), v)
        assert d.nll(x) == np.inf


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "case, kwargs, name",
    [(case, kwargs, name) for case in CASES for kwargs, name in case.invalid],
    ids=lambda v: case_id(v) if hasattr(v, "cls") else None,
)
def test_invalid_parameters_raise_naming_the_parameter(case, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        case.cls(**kwargs)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_params_is_a_named_tuple_in_constructor_order(case):
    example = case.examples[0]
    d = case.cls(**example)
    assert d.params._fields == case.param_names
    assert tuple(d.params) == tuple(float(example[n]) for n in case.param_names)
    assert all(type(v) is float for v in d.params)
    # keyword-only: positional parameters are refused
    with pytest.raises(TypeError):
        case.cls(*[example[n] for n in case.param_names])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_parameters_broadcast_to_a_batch(case):
    first, *rest = case.param_names
    params = dict(case.examples[0])
    params[first] = np.full((4, 1), params[first])
    for name in rest:
        params[name] = np.full((3,), params[name])
    d = case.cls(**params)
    expected = (4, 3) if rest else (4, 1)
    assert d.batch_shape == expected
    for value in d.params:
        assert value.shape == expected


# --------------------------------------------------------------------------- randomness


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_same_seed_same_output_different_seed_different_output(case):
    d = case.cls(**_params_of(case, (3,)))
    np.testing.assert_array_equal(d.sample(50, rng=7), d.sample(50, rng=7))
    np.testing.assert_array_equal(d.sample(50, rng=np.random.default_rng(7)), d.sample(50, rng=7))
    seq = np.random.SeedSequence(7)
    np.testing.assert_array_equal(d.sample(50, rng=seq), d.sample(50, rng=7))
    assert not np.array_equal(d.sample(50, rng=7), d.sample(50, rng=8))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rng_none_int_and_generator(case):
    d = case.cls(**_params_of(case, (3,)))
    a, b = d.sample(50, rng=None), d.sample(50, rng=None)
    assert a.shape == b.shape == (3, 50)
    assert not np.array_equal(a, b)  # fresh OS entropy each call
    gen = np.random.default_rng(1)
    first, second = d.sample(50, rng=gen), d.sample(50, rng=gen)
    assert not np.array_equal(first, second)  # the generator's state advances
    gen = np.random.default_rng(1)
    np.testing.assert_array_equal(d.sample(50, rng=gen), first)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sampling_never_touches_global_state(case):
    np.random.seed(1234)
    state = np.random.get_state()[1].copy()
    case.default().sample(20, rng=None)
    case.default().sample(20, rng=3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# --------------------------------------------------------------------------- pickling


@pytest.mark.parametrize("batch", BATCH_SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pickle_round_trip(case, batch):
    d = case.cls(**_params_of(case, batch))
    d2 = pickle.loads(pickle.dumps(d))
    assert type(d2) is case.cls and d2 == d
    assert d2.batch_shape == batch
    np.testing.assert_array_equal(d2.sample(5, rng=2), d.sample(5, rng=2))

    res = case.cls.fit_mle(d.sample(9, rng=1))
    params = pickle.loads(pickle.dumps(res.params))
    assert type(params) is type(res.params)
    assert params._fields == case.param_names
    for a, b in zip(params, res.params):
        np.testing.assert_array_equal(a, b)
    res2 = pickle.loads(pickle.dumps(res))
    assert res2.dist == res.dist and res2.method == res.method and res2.n == res.n


# --------------------------------------------------------------------------- FitResult


@pytest.mark.parametrize("batch", [(), (2, 3)], ids=str)
@pytest.mark.parametrize("method", FIT_METHODS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_fit_result_fields(case, method, batch):
    params = _params_of(case, batch)
    x = case.cls(**params).sample(11, rng=4)
    for names in all_fixed_combos(case):
        # (type, method, n, info["estimator"], frozenness: test_fitters, for every fitter)
        res = getattr(case.cls, method)(x, **fixed_values(case, params, names))
        assert res.batch_shape == batch
        unpacked = tuple(res.params)  # a named tuple: unpackable
        assert len(unpacked) == len(case.param_names)
        assert res.params._fields == case.param_names
        assert type(res.dist) is case.cls
        for name, value in zip(case.param_names, unpacked):
            np.testing.assert_array_equal(getattr(res.dist.params, name), value)
        assert tuple(res.info["fixed"]) == tuple(names)
        assert case.name in repr(res)


@pytest.mark.parametrize("method", FIT_METHODS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_input_gives_float64_results(case, method):
    x = case.default().sample(30, rng=8, sample_shape=(2,))
    res32 = getattr(case.cls, method)(x.astype(np.float32))
    res64 = getattr(case.cls, method)(x.astype(np.float32).astype(np.float64))
    for a, b in zip(res32.params, res64.params):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)
    # float32 parameters are stored as float64 too
    d = case.cls(**{k: np.float32(v) for k, v in case.examples[0].items()})
    assert all(type(v) is float for v in d.params)
    assert d.sample(3, rng=0).dtype == (np.int64 if case.cls._discrete else np.float64)
    assert d.logpdf(np.float32([1.0, 2.0])).dtype == np.float64


@pytest.mark.parametrize("method", FIT_METHODS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_integer_input_works(case, method):
    # integer data inside the support (ceil keeps Pareto/Uniform-low data above the bound)
    x = np.ceil(case.cls(**case.examples[0]).sample(25, rng=9)).astype(np.int64)
    res_int = getattr(case.cls, method)(x)
    res_float = getattr(case.cls, method)(x.astype(np.float64))
    for a, b in zip(res_int.params, res_float.params):
        assert type(a) is float
        assert a == b
    # Python lists of ints too
    res_list = getattr(case.cls, method)(x.tolist())
    assert tuple(res_list.params) == tuple(res_float.params)


# --------------------------------------------------------------------------- sampling law


KS_N = 3000
KS_ALPHA = 1e-4


@pytest.mark.parametrize("case", [c for c in CASES if not c.discrete], ids=case_id)
def test_sampling_distribution_matches_scipy_ks(case):
    # One-sample Kolmogorov-Smirnov test of 3000 draws against the twin's cdf, with
    # a fixed seed per family (100 + its index in the registry: 100, 101, 102, 104, 105).
    # Under a correct sampler the p-value is uniform, so the false-alarm rate of this
    # check is KS_ALPHA = 1e-4 per family.
    seed = 100 + CASES.index(case)
    example = case.examples[0]
    x = case.cls(**example).sample(KS_N, rng=seed)
    assert stats.kstest(x, case.twin(**example).cdf).pvalue > KS_ALPHA


def test_sampling_distribution_matches_scipy_geometric_chi_square():
    # Pearson chi-square of 5000 Geometric(0.3) draws over the cells 1, ..., 14 and
    # {>= 15} (every expected count >= 5 * 5000 * 0.7**14 = 34): fixed seed 106,
    # false-alarm rate 1e-4.
    p, n = 0.3, 5000
    x = ple_stats.Geometric(p=p).sample(n, rng=106)
    assert np.all(x == np.floor(x)) and x.min() >= 1
    cells = np.arange(1, 15)
    observed = np.append([np.count_nonzero(x == k) for k in cells], np.count_nonzero(x >= 15))
    expected = n * np.append(stats.geom.pmf(cells, p), stats.geom.sf(14, p))
    assert stats.chisquare(observed, expected).pvalue > KS_ALPHA


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_batch_members_sample_from_their_own_parameters(case):
    # Each member of a (2, 3) batch must be drawn with its own parameters: the
    # (mid-)probability-integral transform U = (F(X) + F(X-)) / 2 under the member's
    # twin has mean exactly 1/2 (continuous or discrete) and variance <= 1/12.
    # With 4000 draws per member the standard error is <= 0.0046; 5 s.e. gives a
    # false-alarm rate of 6e-7 per member, while swapping two members' parameters
    # moves the mean by far more.
    params = _params_of(case, (2, 3))
    x = case.cls(**params).sample(4000, rng=200 + CASES.index(case))
    twin = _twin(case, params, expand=True)
    u = 0.5 * (twin.cdf(x) + twin.cdf(x - 1.0 if case.discrete else x))
    se = np.sqrt(1 / 12 / x.shape[-1])
    assert np.all(np.abs(u.mean(axis=-1) - 0.5) < 5 * se)


@pytest.mark.parametrize("case", [c for c in CASES if c.cls._discrete], ids=case_id)
def test_discrete_samples_are_integers_that_bincount_and_fit(case):
    for example in case.examples:
        d = case.cls(**example)
        x = d.sample(50, rng=3)
        assert x.dtype == np.int64
        np.bincount(x)  # what a user does with integer draws
        # the same draws as floats give the same fits
        assert case.cls.fit_mle(x).params == case.cls.fit_mle(x.astype(float)).params
        assert case.cls.fit_ple(x).params == case.cls.fit_ple(x.astype(float)).params
