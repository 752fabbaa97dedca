"""kl_divergence: mixtures by break-pointed quadrature, Gaussian and Exponential closed forms.

References are computed independently: scipy.stats densities integrated by
scipy.integrate.quad at high accuracy (with break points of its own), or closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

from ple_stats import GMM, Exponential, Gaussian, Uniform, kl_divergence
from ple_stats._kl import _adaptive, _kl_mixtures, _Pieces

REF_P = GMM(weights=[0.7, 0.3], means=[0.0, 2.0], sigmas=[1.0, 1.0])
REF_Q = GMM(weights=[0.5, 0.5], means=[0.3, 2.5], sigmas=[1.2, 0.8])


def logdens(x, g):
    w, m, s = g.params
    with np.errstate(divide="ignore"):
        return logsumexp([np.log(wi) + stats.norm.logpdf(x, mi, si)
                          for wi, mi, si in zip(w, m, s)])


def reference_kl(q, p):
    """quad of q log(q/p) over pieces cut at every component's centre +- k sigmas (own code)."""
    comps = [(m, s) for g in (q, p) for m, s in zip(g.params.means, g.params.sigmas)]
    cuts = sorted({m + k * s for m, s in comps for k in (-40, -12, -8, -5, -3, -2, -1, -0.5,
                                                          0, 0.5, 1, 2, 3, 5, 8, 12, 40)})

    def f(x):
        a, b = logdens(x, q), logdens(x, p)
        return np.exp(a) * (a - b)

    return sum(integrate.quad(f, lo, hi, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
               for lo, hi in zip(cuts[:-1], cuts[1:]))


def test_spec_reference():
    assert kl_divergence(REF_Q, REF_P) == pytest.approx(0.2031050925673, abs=1e-12)
    assert abs(reference_kl(REF_Q, REF_P) - 0.2031050925673) < 1e-9


def test_identical_is_zero_and_batched():
    assert kl_divergence(REF_P, REF_P) == 0.0
    q = GMM(weights=[[0.5, 0.5], [0.7, 0.3], [0.5, 0.5]], means=[[0.3, 2.5], [0, 2], [0, 1]],
            sigmas=[[1.2, 0.8], [1, 1], [1, 1]])
    out = kl_divergence(q, REF_P)
    assert out.shape == (3,)
    assert out[0] == pytest.approx(0.2031050925673, abs=1e-9)
    assert out[1] == 0.0
    assert kl_divergence(q, q).tolist() == [0.0, 0.0, 0.0]


def random_mixture(rng, K):
    w = rng.dirichlet(np.ones(K))
    return GMM(weights=w, means=rng.uniform(-3, 3, K), sigmas=np.exp(rng.uniform(-1.5, 1, K)))


@pytest.mark.parametrize("seed", range(8))
def test_random_mixtures_against_quad(seed):
    rng = np.random.default_rng(seed)
    q = random_mixture(rng, int(rng.integers(1, 4)))
    p = random_mixture(rng, int(rng.integers(1, 4)))
    for a, b in ((q, p), (p, q)):
        value = kl_divergence(a, b)
        assert value >= 0.0
        assert value == pytest.approx(reference_kl(a, b), abs=1e-9, rel=1e-9)


def test_nonnegative_when_nearly_identical():
    # 1e-7 perturbations: KL ~ 1e-14, where q log(q/p) integrated naively cancels to
    # either sign; the non-negative integrand keeps it >= 0 and tiny.
    rng = np.random.default_rng(5)
    base = random_mixture(rng, 3)
    w, m, s = base.params
    near = GMM(weights=w, means=m + 1e-7, sigmas=s * (1 + 1e-7))
    value = kl_divergence(near, base)
    assert 0.0 <= value < 1e-12


@pytest.mark.parametrize("sigma", [1e-3, 1e-6])
def test_narrow_component_in_q_only_and_in_p_only(sigma):
    # A narrow component of q sitting inside p's broad mass (and the mirror case). The
    # reference cuts at the narrow component's own +-k sigmas.
    narrow = GMM(weights=[0.7, 0.3], means=[0.0, 0.5], sigmas=[1.0, sigma])
    for q, p in ((narrow, REF_P), (REF_P, narrow)):
        assert kl_divergence(q, p) == pytest.approx(reference_kl(q, p), abs=1e-8, rel=1e-10)


def test_narrow_components_far_apart_closed_form():
    # Pairs of components 50 apart: wherever q has mass, p is dominated by its paired
    # component (the other one is below e^-700 of it there), so
    # KL = sum_k w_k log(w_k / v_k) + sum_k w_k KL(N_qk || N_pk) up to about e^-200: a
    # closed-form reference independent of any quadrature, with widths 1e-6 and 2e-6.
    # (The narrow pair sits at 0, where float64 resolves it finely: at 50 the spacing of
    # doubles, 7e-15, is 7e-9 of a width of 1e-6, which limits any method to about 1e-9.)
    q = GMM(weights=[0.6, 0.4], means=[50.0, 0.0], sigmas=[1.0, 1e-6])
    p = GMM(weights=[0.3, 0.7], means=[50.2, 1e-6], sigmas=[1.3, 2e-6])

    def kl_normal(m1, s1, m2, s2):
        return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5

    ref = (0.6 * np.log(0.6 / 0.3) + 0.4 * np.log(0.4 / 0.7)
           + 0.6 * kl_normal(50.0, 1.0, 50.2, 1.3) + 0.4 * kl_normal(0.0, 1e-6, 1e-6, 2e-6))
    assert kl_divergence(q, p) == pytest.approx(ref, rel=1e-10)


def test_adaptive_fallback_agrees():
    # The scipy.integrate.quad fallback (used when the two Gauss-Legendre rules disagree),
    # piece by piece over the same break points.
    q, p = REF_Q, REF_P
    pieces = _Pieces([v[None] for v in q._values], [v[None] for v in p._values])
    cuts = pieces.cuts()
    value = sum(_adaptive(pieces, 0, j, cuts[0, j]) for j in range(cuts.shape[1]))
    assert value == pytest.approx(0.2031050925673, abs=1e-12)
    assert _kl_mixtures(q, p) == pytest.approx(value, abs=1e-12)


def test_gaussian_closed_form_against_quad_and_mixture():
    q = Gaussian(mu=[0.0, 1.0, -2.0], sigma=[1.0, 0.3, 2.5])
    p = Gaussian(mu=0.5, sigma=1.5)
    out = kl_divergence(q, p)
    assert out.shape == (3,)
    for i in range(3):
        mq, sq = q.params.mu[i], q.params.sigma[i]

        def f(x):
            a, b = stats.norm.logpdf(x, mq, sq), stats.norm.logpdf(x, 0.5, 1.5)
            return np.exp(a) * (a - b)

        ref = integrate.quad(f, mq - 40 * sq, mq + 40 * sq, points=[mq], epsabs=1e-14,
                             limit=200)[0]
        assert out[i] == pytest.approx(ref, abs=1e-10)
        # a Gaussian beside a GMM is a one-component mixture: the quadrature agrees too
        g = GMM(weights=[1.0], means=[0.5], sigmas=[1.5])
        assert kl_divergence(Gaussian(mu=mq, sigma=sq), g) == pytest.approx(out[i], abs=1e-10)
    assert kl_divergence(p, p) == 0.0


def test_exponential_closed_form_against_quad():
    q, p = Exponential(rate=[0.5, 2.0]), Exponential(rate=1.3)
    out = kl_divergence(q, p)
    for i, lq in enumerate([0.5, 2.0]):
        def f(x):
            a, b = stats.expon.logpdf(x, scale=1 / lq), stats.expon.logpdf(x, scale=1 / 1.3)
            return np.exp(a) * (a - b)

        ref = integrate.quad(f, 0, np.inf, epsabs=1e-14)[0]
        assert out[i] == pytest.approx(ref, abs=1e-10)
    assert kl_divergence(p, p) == 0.0


def test_unsupported_pairs_and_shapes():
    with pytest.raises(TypeError, match="kl_divergence supports"):
        kl_divergence(Gaussian(mu=0.0, sigma=1.0), Exponential(rate=1.0))
    with pytest.raises(TypeError, match="kl_divergence supports"):
        kl_divergence(Uniform(low=0.0, high=1.0), Uniform(low=0.0, high=2.0))
    with pytest.raises(TypeError, match="`p` must be a GMM or a Gaussian"):
        kl_divergence(REF_Q, Exponential(rate=1.0))
    with pytest.raises(TypeError, match="kl_divergence supports"):
        kl_divergence(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="do not broadcast"):
        kl_divergence(Gaussian(mu=[0.0, 1.0], sigma=1.0), Gaussian(mu=[0.0, 1.0, 2.0], sigma=1.0))
    q2 = GMM(weights=[0.5, 0.5], means=[[0, 1], [1, 2]], sigmas=1.0)
    p3 = GMM(weights=[0.5, 0.5], means=[[0, 1], [1, 2], [2, 3]], sigmas=1.0)
    with pytest.raises(ValueError, match="do not broadcast"):
        kl_divergence(q2, p3)


def test_mixtures_with_different_component_counts_batched():
    q = GMM(weights=[[0.2, 0.3, 0.5]], means=[[-1.0, 0.0, 2.0]], sigmas=[[0.5, 1.0, 0.7]])
    ps = GMM(weights=[0.6, 0.4], means=[[0.0, 2.0], [1.0, 3.0]], sigmas=[1.0, 0.9])
    out = kl_divergence(q, ps)
    assert out.shape == (2,)
    q1 = GMM(weights=[0.2, 0.3, 0.5], means=[-1.0, 0.0, 2.0], sigmas=[0.5, 1.0, 0.7])
    for i, means in enumerate(([0.0, 2.0], [1.0, 3.0])):
        p1 = GMM(weights=[0.6, 0.4], means=means, sigmas=[1.0, 0.9])
        assert out[i] == pytest.approx(reference_kl(q1, p1), abs=1e-9)


# ---------------------------------------------------------------------------- extreme scales


def kl_normal(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


#: KL(q || p) for q = 0.5 N(0, s) + 0.5 N(D, s), p = 0.3 N(0, s) + 0.7 N(D, 2 s) with the
#: two locations D >= 1e3 s apart: wherever q has mass one component of each mixture
#: dominates (the other is below e^-(1e3)^2/8 of it), so the KL is the closed form
#: sum_k w_k log(w_k / v_k) + sum_k w_k KL(N_qk || N_pk) to far below rounding.
SEPARATED_REF = (0.5 * np.log(0.5 / 0.3) + 0.5 * np.log(0.5 / 0.7)
                 + 0.5 * kl_normal(0.0, 1.0, 0.0, 2.0))


@pytest.mark.parametrize("s, D", [(1e-3, 1.0), (1e-100, 1.0), (1e-160, 1.0), (1e-300, 1.0),
                                  (1e-320, 1.0), (1.0, 1e3), (1.0, 1e100), (1.0, 1e155),
                                  (1.0, 1e300), (1.0, 1.7e308)])
def test_separated_components_at_any_scale(s, D):
    # widths far below 1e-154 and distances far above 1e154 (where squares overflow),
    # down to a subnormal width and up to the largest floats
    q = GMM(weights=[0.5, 0.5], means=[0.0, D], sigmas=[s, s])
    p = GMM(weights=[0.3, 0.7], means=[0.0, D], sigmas=[s, 2 * s])
    assert kl_divergence(q, p) == pytest.approx(SEPARATED_REF, rel=1e-12)
    assert kl_divergence(q, q) == 0.0
    assert kl_divergence(p, p) == 0.0


@pytest.mark.parametrize("scale", [2.0**-1000, 2.0**-520, 2.0**-60, 2.0**60, 2.0**520,
                                   2.0**1000])
@pytest.mark.parametrize("shift", [0.0, 3.0, -7.25])
def test_invariant_under_a_common_affine_map(scale, shift):
    # x -> (x + shift) * scale maps both mixtures; powers of two and shifts of few bits
    # keep the mapped parameters exact, so the KL must agree with the reference to rounding.
    def mapped(g):
        w, m, s = g.params
        return GMM(weights=w, means=(m + shift) * scale, sigmas=s * scale)

    q, p = mapped(REF_Q), mapped(REF_P)
    assert kl_divergence(q, p) == pytest.approx(0.2031050925673, abs=1e-12)
    assert kl_divergence(q, q) == 0.0


@pytest.mark.parametrize("s", [1e-30, 1e-160, 1e-300])
def test_very_narrow_component_inside_a_broad_one(s):
    # q = 0.7 N(0, 1) + 0.3 N(0.5, s): the spike is q's density over a width ~ 40 s where
    # the broad part is negligible, so up to O(s log s)
    #   KL = int 0.7 N(0,1) log(0.7 N(0,1) / p)
    #        + 0.3 (log(0.3 / (s sqrt(2 pi))) - 1/2 - log p(0.5)),
    # the first term by quad (no spike in it).
    def logp(x):
        return np.logaddexp(np.log(0.7) + stats.norm.logpdf(x, 0, 1),
                            np.log(0.3) + stats.norm.logpdf(x, 2, 1))

    broad = integrate.quad(
        lambda x: 0.7 * stats.norm.pdf(x) * (np.log(0.7) + stats.norm.logpdf(x) - logp(x)),
        -40, 40, points=[0, 2], epsabs=1e-15, epsrel=1e-13, limit=200)[0]
    ref = broad + 0.3 * (np.log(0.3 / s) - 0.5 * np.log(2 * np.pi) - 0.5 - logp(0.5))
    q = GMM(weights=[0.7, 0.3], means=[0.0, 0.5], sigmas=[1.0, s])
    assert kl_divergence(q, REF_P) == pytest.approx(ref, rel=1e-12)
    # seen from the other side the spike only removes its weight from p's broad part
    assert np.isfinite(kl_divergence(REF_P, q))
    assert kl_divergence(REF_P, q) == pytest.approx(
        kl_divergence(REF_P, GMM(weights=[0.7, 0.3], means=[0.0, 0.5], sigmas=[1.0, 1e-30])),
        rel=1e-12)


def test_divergence_beyond_the_float_range_raises():
    narrow = GMM(weights=[1.0], means=[0.0], sigmas=[1e-200])
    with pytest.raises(ValueError, match="larger than the largest float"):
        kl_divergence(Gaussian(mu=0.0, sigma=1.0), narrow)  # exact: about 5e399
    far = GMM(weights=[0.5, 0.5], means=[0.0, 1e200], sigmas=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"larger than the largest float.*batch index \(1,\)"):
        kl_divergence(GMM(weights=[[1.0, 0.0], [0.5, 0.5]], means=[0.0, 1e200], sigmas=1.0),
                      GMM(weights=[1.0], means=[0.0], sigmas=[1.0]))
    # the other direction is finite: log(1e200) - 1/2 + ... for the narrow one
    assert kl_divergence(narrow, Gaussian(mu=0.0, sigma=1.0)) == pytest.approx(
        np.log(1e200) - 0.5, rel=1e-14)
    assert np.isfinite(kl_divergence(GMM(weights=[1.0], means=[0.0], sigmas=[1.0]), far))


# ---------------------------------------------------------------------------- closed forms, exact
try:  # the exact references below need mpmath; the tests above do not
    import mpmath
except ImportError:
    mpmath = None


def _exact(fn, *args):
    """``fn`` at ``args`` in 1400-digit arithmetic (squares of 1e300 and their ratios to
    1e-300 stay exact far below the last digit of a double)."""
    if mpmath is None:
        pytest.skip("the exact reference needs mpmath")
    with mpmath.workdps(1400):
        return fn(*[mpmath.mpf(a) for a in args])


def _kl_exponential_exact(lq, lp):
    return mpmath.log(lq) - mpmath.log(lp) + lp / lq - 1


def _kl_gaussian_exact(mq, sq, mp, sp):
    return mpmath.log(sp) - mpmath.log(sq) + (sq**2 + (mq - mp) ** 2) / (2 * sp**2) - 0.5


def _check_against_exact(value_or_error, exact):
    """The float result is the exact value to 1e-14 relative (and 0 where the exact value
    rounds to 0); an exact value beyond the float range must raise."""
    if exact > 1.7976931348623157e308:
        assert isinstance(value_or_error, ValueError), (value_or_error, exact)
        assert "larger than the largest float" in str(value_or_error)
        return
    assert not isinstance(value_or_error, Exception), (value_or_error, exact)
    if float(exact) == 0.0:
        assert value_or_error == 0.0
    else:
        assert value_or_error == pytest.approx(float(exact), rel=1e-14), float(exact)


def _call(fn, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        return exc


RATES = [1e-300, 1e-200, 1e-5, 0.3, 1.0, 1 + 1e-9, 1.05, 2.0, 1e5, 1e300]


@pytest.mark.parametrize("lq", RATES)
def test_exponential_closed_form_against_exact_arithmetic(lq):
    for lp in RATES:
        value = _call(kl_divergence, Exponential(rate=lq), Exponential(rate=lp))
        _check_against_exact(value, _exact(_kl_exponential_exact, lq, lp))
    # rates 1e+-300: the exact KL is 1380.55..., finite
    assert kl_divergence(Exponential(rate=1e300), Exponential(rate=1e-300)) == pytest.approx(
        float(_exact(_kl_exponential_exact, 1e300, 1e-300)), rel=1e-14)


SIGMAS = [1e-300, 1e-150, 0.5, 1.0, 1 + 1e-9, 1.07, 3.0, 1e150, 1e300]


@pytest.mark.parametrize("sq", SIGMAS)
@pytest.mark.parametrize("mq, mp", [(0.0, 0.0), (1e-9, 0.0), (1.0, 0.5), (-1e150, 0.0),
                                    (1e300, -1e300)])
def test_gaussian_closed_form_against_exact_arithmetic(sq, mq, mp):
    for sp in SIGMAS:
        value = _call(kl_divergence, Gaussian(mu=mq, sigma=sq), Gaussian(mu=mp, sigma=sp))
        _check_against_exact(value, _exact(_kl_gaussian_exact, mq, sq, mp, sp))


# ---------------------------------------------------------------------- the registry
def test_registry_dispatch_exact_pair_then_mro():
    from ple_stats import _kl

    class WideGaussian(Gaussian):
        pass

    g, w = Gaussian(mu=0.0, sigma=1.0), WideGaussian(mu=1.0, sigma=2.0)
    # a subclass pair falls back on the registered (Gaussian, Gaussian) along the MRO
    assert kl_divergence(w, g) == kl_divergence(Gaussian(mu=1.0, sigma=2.0), g)
    saved = dict(_kl._KL_REGISTRY)
    try:
        @_kl.register_kl(WideGaussian, Gaussian)
        def _wide(q, p):
            return np.float64(42.0)

        assert kl_divergence(w, g) == 42.0                        # the exact pair first
        assert kl_divergence(g, w) == kl_divergence(g, Gaussian(mu=1.0, sigma=2.0))
    finally:
        _kl._KL_REGISTRY.clear()
        _kl._KL_REGISTRY.update(saved)
        _kl._KL_MEMO.clear()
    assert kl_divergence(w, g) != 42.0


def test_unregistered_pair_names_both_types():
    with pytest.raises(TypeError, match=r"Gaussian and Exponential.*\(Gaussian, Exponential\)"):
        kl_divergence(Gaussian(mu=0.0, sigma=1.0), Exponential(rate=1.0))
    from ple_stats._kl import register_kl

    with pytest.raises(TypeError, match="register_kl takes two classes"):
        register_kl(Gaussian, "Gaussian")
