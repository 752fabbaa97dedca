"""The shared checks of every fitter in ``tests/fitters.py`` (scikit-learn's ``check_estimator``).

For each fitter: the result's type and fields, validation of ``m`` and ``rng`` (even where a
fitter does not use them), reproducibility (the same seed gives the identical fit, info
included; a different seed a different one where the fit draws; ``np.random``'s global state
untouched), non-finite data refused with a ``ValueError`` that names the argument, and
batching (a batch is a loop of single fits: bit for bit for the deterministic fitters; for
the random ones a batch of one is the single fit and a member's fit does not depend on the
other members' data).

The family-specific contract (shapes of every batch and fixed combination, densities against
scipy, pickling of distributions) is ``test_contract``'s.
"""

import dataclasses
import inspect
import pickle

import numpy as np
import pytest

import ple_stats
from families import PLE_CONFIGS, REGISTRY
from fitters import BY_NAME, FITTERS, fitter_id

RANDOM = [f for f in FITTERS if f.random]
#: RANDOM, the slow fitters marked (for the checks that fit four times: > 3 s measured)
RANDOM_MARKED = [pytest.param(f, marks=pytest.mark.slow) if f.slow else f for f in RANDOM]
WITH_M = [f for f in FITTERS if f.takes_m]
WITH_RNG = [f for f in FITTERS if f.takes_rng]


@pytest.fixture(autouse=True)
def _requires(request):
    callspec = getattr(request.node, "callspec", None)
    fitter = callspec.params.get("fitter") if callspec else None
    for module in getattr(fitter, "requires", ()):
        pytest.importorskip(module)


def _same(a, b):
    """Whether two results' fields (arrays, named tuples, dicts, scalars) are identical."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        # named tuples by their fields: the scipy route makes a new class per call
        return (getattr(a, "_fields", None) == getattr(b, "_fields", None)
                and len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b)))
    if isinstance(a, (np.ndarray, np.generic, float, int)):
        return np.array_equal(a, b, equal_nan=True) and np.shape(a) == np.shape(b)
    return a == b


def _params(res):
    return [np.asarray(v) for v in res.params]


# --------------------------------------------------------------------------- the registry


def _fitting_classes():
    """The exported classes with a fit method, by name."""
    return {name: getattr(ple_stats, name) for name in ple_stats.__all__
            if isinstance(getattr(ple_stats, name), type)
            and hasattr(getattr(ple_stats, name), "fit_mle") and name != "Distribution"}


def test_registry_covers_every_family_and_method():
    expected = set()
    for name in REGISTRY:
        expected.add(f"{name}.fit_mle")
    for config in PLE_CONFIGS:
        expected |= {f"{config}.fit_ple[{kind}]" for kind in ("analytic", "bootstrap",
                                                              "penalty")}
    expected |= {"GMM.fit_mle", "GMM.fit_ple[bootstrap]", "fit_ple(scipy.stats.gamma)"}
    expected |= {f"MultivariateGaussian.{m}" for m in ("fit_mle", "fit_ple[analytic]",
                                                      "fit_ple[bootstrap]", "fit_ple[penalty]")}
    missing = sorted(expected - set(BY_NAME))
    assert not missing, f"fitters missing from tests/fitters.py: {missing}"
    # every exported class that fits has a fit_mle and a fit_ple entry
    for name, cls in _fitting_classes().items():
        methods = {f.method for f in FITTERS if f.family is cls}
        assert methods == {"mle", "ple"}, f"{name} lacks fitters in tests/fitters.py"
    # every PLE config's family is in the family registry (no stale entries)
    assert {type(d).__name__ for d, _, _ in PLE_CONFIGS.values()} <= set(REGISTRY)


# --------------------------------------------------------------------------- the result


@pytest.mark.parametrize("batch", [(), (3,)], ids=str)
@pytest.mark.parametrize("fitter", FITTERS, ids=fitter_id)
def test_result_type_and_fields(fitter, batch):
    x = fitter.sample(batch, 4)
    res = fitter(x)
    assert isinstance(res, ple_stats.FitResult)
    assert res.method == fitter.method
    n = x.shape[len(batch)]
    assert res.n == n and type(res.n) is int
    assert isinstance(res.dist, fitter.family)
    assert hasattr(res.params, "_fields") and len(tuple(res.params)) == len(res.params._fields)
    if hasattr(fitter.family, "_param_names"):  # not the scipy route's frozen distribution
        assert res.params._fields == fitter.family._param_names
    assert res.batch_shape == batch
    assert isinstance(res.info, dict)
    assert isinstance(res.info["estimator"], str) and res.info["estimator"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n = 3


@pytest.mark.parametrize("fitter", FITTERS, ids=fitter_id)
def test_result_pickles(fitter):
    res = fitter(fitter.sample((3,), 4))
    back = pickle.loads(pickle.dumps(res))
    assert back.method == res.method and back.n == res.n
    assert all(np.array_equal(a, b) for a, b in zip(_params(back), _params(res)))


# --------------------------------------------------------------------------- m and rng


@pytest.mark.parametrize("m", [1, 0, -5])
@pytest.mark.parametrize("fitter", WITH_M, ids=fitter_id)
def test_m_below_two_raises(fitter, m):
    with pytest.raises(ValueError, match="`m` must be at least 2"):
        fitter(fitter.sample((), 0), m=m)


@pytest.mark.parametrize("m", [2.5, "100", True])
@pytest.mark.parametrize("fitter", WITH_M, ids=fitter_id)
def test_m_of_wrong_type_raises(fitter, m):
    with pytest.raises(TypeError, match="`m`"):
        fitter(fitter.sample((), 0), m=m)


@pytest.mark.parametrize("rng, error", [("seed", TypeError), (np.random.RandomState(0), TypeError),
                                        (-1, ValueError)], ids=["str", "RandomState", "negative"])
# Every fitter validates `rng` at the boundary, even where it is unused (GMM.fit_mle with
# init="quantile" draws nothing).
@pytest.mark.parametrize("fitter", WITH_RNG, ids=fitter_id)
def test_bad_rng_raises(fitter, rng, error):
    with pytest.raises(error, match="`rng`"):
        fitter(fitter.sample((), 0), rng=rng)


@pytest.mark.parametrize("fitter", WITH_RNG, ids=fitter_id)
def test_same_seed_gives_the_identical_fit(fitter):
    x = fitter.sample((3,), 11)
    a, b = fitter(x, rng=12), fitter(x, rng=12)
    c = fitter(x, rng=np.random.default_rng(12))
    for other in (b, c):
        assert _same(_params(a), _params(other))
        assert _same(a.info, other.info)


@pytest.mark.parametrize("fitter", RANDOM_MARKED, ids=fitter_id)
def test_the_fit_draws_from_rng(fitter):
    x = fitter.sample((3,), 11)
    # a different seed gives a different fit (the check above can fail) ...
    assert not _same(_params(fitter(x, rng=12)), _params(fitter(x, rng=13)))
    # ... and one Generator passed twice is advanced, not re-seeded
    gen = np.random.default_rng(3)
    assert not _same(_params(fitter(x, rng=gen)), _params(fitter(x, rng=gen)))


@pytest.mark.parametrize("fitter", WITH_RNG, ids=fitter_id)
def test_global_numpy_state_is_untouched(fitter):
    x = fitter.sample((), 0)
    np.random.seed(1234)
    state = np.random.get_state()[1].copy()
    fitter(x, rng=1)
    fitter(x, rng=None)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# --------------------------------------------------------------------------- data


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=str)
@pytest.mark.parametrize("batch", [(), (2,)], ids=str)
@pytest.mark.parametrize("fitter", FITTERS, ids=fitter_id)
def test_non_finite_data_raise_naming_the_argument(fitter, batch, value):
    with pytest.raises(ValueError, match=rf"`{fitter.data_name}` contains 1 non-finite value"):
        fitter(fitter.bad_data(value, batch))


@pytest.mark.parametrize("fitter", FITTERS, ids=fitter_id)
def test_the_data_argument_is_named_as_documented(fitter):
    # the error messages name the data as the signature does
    target = ple_stats.fit_ple if fitter.data_name == "data" else fitter.family.fit_mle
    assert fitter.data_name in inspect.signature(target).parameters


# --------------------------------------------------------------------------- batches


@pytest.mark.parametrize("fitter", [f for f in FITTERS if not f.random], ids=fitter_id)
def test_batch_is_a_loop_of_single_fits(fitter):
    x = fitter.sample((3,), 21)
    batch = fitter(x)
    rows = [fitter(x[i]) for i in range(3)]
    for j, value in enumerate(_params(batch)):
        np.testing.assert_array_equal(value, np.stack([_params(r)[j] for r in rows]))


@pytest.mark.parametrize("fitter", RANDOM, ids=fitter_id)
def test_batch_members_are_separate_fits(fitter):
    # A random fitter draws each member's synthetic data from its own part of the stream,
    # so a batch is a loop in distribution: bit for bit, a batch of one is the single fit,
    # and a member's fit does not change when the other members' data do.
    x, other = fitter.sample((3,), 21), fitter.sample((3,), 22)
    other[0] = x[0]
    single, one = fitter(x[0], rng=5), fitter(x[:1], rng=5)
    for a, b in zip(_params(single), _params(one)):
        np.testing.assert_array_equal(a, b[0])
    for a, b in zip(_params(fitter(x, rng=5)), _params(fitter(other, rng=5))):
        np.testing.assert_array_equal(a[0], b[0])
