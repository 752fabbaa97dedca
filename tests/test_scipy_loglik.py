"""The summed log-densities of ``ple_stats._scipy_loglik`` against scipy's ``logpdf``.

They must give scipy's numbers bit for bit (the same arithmetic on every point,
the special cases by scipy's own rule), since the generic route's pinned seeded
outputs depend on them (``tests/test_scipy_route.py``).
"""

import numpy as np
import pytest
from scipy import stats

from ple_stats import _scipy_loglik
from ple_stats._scipy_model import _logdensity, describe


def _scipy_sums(dist, data, values):
    spec = describe(dist)
    shapes = [np.asarray(values[n])[..., None] for n in spec.shape_names]
    with np.errstate(all="ignore"):
        out = dist.logpdf(data, *shapes, loc=np.asarray(values["loc"])[..., None],
                          scale=np.asarray(values["scale"])[..., None])
        total = np.sum(out, axis=-1)
    return np.where(np.isfinite(total), total, -np.inf)


def _same(a, b):
    return np.array_equal(a, b)  # -inf == -inf; a nan would fail


def _random_values(dist, rng, shape):
    if dist is stats.t:
        shapes = {"df": np.exp(rng.normal(0.5, 1.5, shape))}
    else:
        shapes = {"c": rng.normal(0.0, 0.6, shape)}
    return {**shapes, "loc": rng.normal(0.0, 0.5, shape),
            "scale": np.exp(rng.normal(0.0, 0.4, shape))}


@pytest.mark.parametrize("dist", [stats.t, stats.genextreme])
def test_equals_scipys_logpdf_bit_for_bit(dist):
    rng = np.random.default_rng(0)
    data = dist(0.3 if dist is stats.genextreme else 3.0).rvs(size=(300, 25),
                                                              random_state=1)
    values = _random_values(dist, rng, (5, 300))
    got = _logdensity(describe(dist), data, values)
    want = _scipy_sums(dist, data, values)
    assert _same(got, want)
    if dist is stats.genextreme:  # a third of these sets have points outside the support
        assert 0.1 < np.mean(np.isinf(want)) < 0.9


@pytest.mark.parametrize("dist", [stats.t, stats.genextreme])
def test_scalar_parameters(dist):
    data = dist(0.2 if dist is stats.genextreme else 4.0).rvs(size=(40, 10), random_state=2)
    rng = np.random.default_rng(3)
    shape_name = describe(dist).shape_names[0]
    values = {shape_name: _random_values(dist, rng, (3, 40))[shape_name], "loc": 0.0,
              "scale": 1.0}
    assert _same(_logdensity(describe(dist), data, values), _scipy_sums(dist, data, values))


def test_genextreme_special_cases_take_scipys_rule():
    z = np.array([[-1.0, 0.0, 0.5, 1.0]])  # x = 1 is the end of the support at c = 1
    data = np.repeat(z, 6, axis=0)
    values = {"c": np.array([[0.0, 1.0, 2.0, -1.0, 1e-300, 0.5]]), "loc": 0.0,
              "scale": 1.0}
    # c = 0: the Gumbel; c = 1 at x = 1: scipy's density 1 there; c = 2: x = 0.5 on
    # the end (c x = 1), x = 1 beyond it; c = -1: x = -1 on the lower end
    total = _logdensity(describe(stats.genextreme), data, values)
    assert _same(total, _scipy_sums(stats.genextreme, data, values))
    assert np.isfinite(total[0, [0, 1, 4, 5]]).all()
    assert np.isinf(total[0, [2, 3]]).all()


def test_t_infinite_df_is_the_normal():
    data = stats.norm.rvs(size=(3, 8), random_state=4)
    values = {"df": np.array([[np.inf, 5.0, 1e300]]), "loc": 0.1, "scale": 2.0}
    total = _logdensity(describe(stats.t), data, values)
    assert _same(total, _scipy_sums(stats.t, data, values))
    assert total[0, 0] == pytest.approx(np.sum(stats.norm.logpdf(data[0], 0.1, 2.0)),
                                        rel=1e-14)


def test_only_for_the_exact_scipy_class():
    class Shifted(type(stats.genextreme)):
        def _logpdf(self, x, c):
            return super()._logpdf(x - 0.1, c)

    assert _scipy_loglik.summed_logpdf(describe(stats.genextreme)) is not None
    assert _scipy_loglik.summed_logpdf(describe(Shifted(name="shifted"))) is None
    assert _scipy_loglik.summed_logpdf(describe(stats.gamma)) is None
    assert _scipy_loglik.summed_logpdf(describe(stats.Normal)) is None


def test_the_summed_path_is_the_one_used(monkeypatch):
    # the comparisons above would pass against scipy itself: check the registered
    # function is what _logdensity calls, and that scipy's rule is not needed here
    from ple_stats import _scipy_model

    calls, rule = [], []
    original = _scipy_loglik._SUMMED["genextreme_gen"]
    monkeypatch.setitem(_scipy_loglik._SUMMED, "genextreme_gen",
                        lambda *args: calls.append(1) or original(*args))
    original_rule = _scipy_model._scipy_rule_sums
    monkeypatch.setattr(_scipy_model, "_scipy_rule_sums",
                        lambda *args: rule.append(1) or original_rule(*args))
    data = stats.genextreme(0.1).rvs(size=(4, 10), random_state=0)
    values = {"c": np.array([[0.1, 0.0, -0.2, 0.3]]), "loc": 0.0, "scale": 1.0}
    total = _logdensity(describe(stats.genextreme), data, values)
    assert calls and not rule  # c = 0 (the Gumbel) is computed here too
    assert _same(total, _scipy_sums(stats.genextreme, data, values))


@pytest.mark.parametrize("dist", [stats.t, stats.genextreme])
def test_special_cases_with_per_set_parameters(dist):
    # several parameter points per data set, loc and scale per (point, set), with
    # invalid scales and shapes and (genextreme) points exactly on c x = 1
    rng = np.random.default_rng(5)
    data = rng.normal(size=(6, 12))
    values = _random_values(dist, rng, (4, 6))
    values["scale"][0, 0] = 0.0
    values["scale"][1, 1] = -1.0
    if dist is stats.t:
        values["df"][2, 2] = 0.0
        values["df"][3, 3] = -2.0
        values["df"][0, 4] = np.inf
    else:
        values["c"][2, :] = 0.0
        # x = loc + scale / c for one point: c z = 1 (exactly, for these numbers)
        values["c"][3, 3], values["loc"][3, 3], values["scale"][3, 3] = 0.5, 0.0, 1.0
        data[3, 0] = 2.0
    got = _logdensity(describe(dist), data, values)
    want = _scipy_sums(dist, data, values)
    assert _same(got, want)
    assert np.isinf(got[0, 0]) and np.isinf(got[1, 1])
