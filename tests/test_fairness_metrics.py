"""frechet_distance, fairness_ratio, imbalance_ratio (numpy core, no torch).

The closed-form checks build feature sets whose *sample* mean and covariance
(ddof=1) equal chosen population values exactly (whitened draws), so the
expected distance is known to rounding error and the tolerances are 1e-9
relative: any error in the formula shows up far above that.
"""

import numpy as np
import pytest
import scipy.linalg

from ple_stats._fairness import fairness_ratio, frechet_distance, imbalance_ratio


def _exact_moments(mean, cov, n, seed):
    """n rows whose sample mean is ``mean`` and sample covariance (ddof=1) is ``cov``."""
    rng = np.random.default_rng(seed)
    d = len(mean)
    z = rng.normal(size=(n, d))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # sample cov = I
    return np.asarray(mean) + z @ np.linalg.cholesky(np.asarray(cov)).T


def test_exact_moment_construction():
    x = _exact_moments([1.0, -2.0], [[2.0, 0.3], [0.3, 0.5]], 50, 0)
    np.testing.assert_allclose(x.mean(axis=0), [1.0, -2.0], atol=1e-12)
    np.testing.assert_allclose(np.cov(x, rowvar=False), [[2.0, 0.3], [0.3, 0.5]], atol=1e-12)


def test_identical_sets_give_zero():
    x = np.random.default_rng(1).normal(size=(300, 6)) @ np.diag([1, 2, 3, 0.1, 5, 1])
    assert abs(frechet_distance(x, x)) < 1e-10
    # Same moments, different rows: also zero.
    cov = np.diag([1.0, 4.0, 0.25])
    a = _exact_moments([0, 1, 2], cov, 40, 2)
    b = _exact_moments([0, 1, 2], cov, 90, 3)
    assert abs(frechet_distance(a, b)) < 1e-10


def test_diagonal_covariances_closed_form():
    mu_a, mu_b = np.array([0.0, 1.0, -1.0]), np.array([0.5, 1.0, 2.0])
    va, vb = np.array([1.0, 4.0, 0.5]), np.array([2.0, 1.0, 0.5])
    a = _exact_moments(mu_a, np.diag(va), 60, 4)
    b = _exact_moments(mu_b, np.diag(vb), 75, 5)
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(va) - np.sqrt(vb)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_non_commuting_2x2_closed_form():
    # For 2x2 M with non-negative eigenvalues, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
    ca = np.array([[2.0, 0.8], [0.8, 1.0]])
    cb = np.array([[0.5, -0.3], [-0.3, 1.5]])
    a = _exact_moments([1.0, 0.0], ca, 30, 6)
    b = _exact_moments([0.0, 2.0], cb, 45, 7)
    m = ca @ cb
    tr_root = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(ca) * np.linalg.det(cb)))
    expected = 1.0 + 4.0 + np.trace(ca) + np.trace(cb) - 2 * tr_root
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_matches_scipy_sqrtm_on_full_rank_case():
    rng = np.random.default_rng(8)
    a = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(150, 5)) @ rng.normal(size=(5, 5)) + 0.3
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(ca @ cb).real
    ref = (np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca) + np.trace(cb)
           - 2 * np.trace(root))
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)


def test_one_dimensional_reduces_to_moment_formula():
    rng = np.random.default_rng(9)
    a, b = rng.normal(2.0, 3.0, size=(40, 1)), rng.normal(-1.0, 0.5, size=(25, 1))
    expected = ((a.mean() - b.mean()) ** 2
                + (a.std(ddof=1) - b.std(ddof=1)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-12)


def test_symmetric_non_negative_and_translation_invariant():
    rng = np.random.default_rng(10)
    for trial in range(20):
        d = int(rng.integers(1, 6))
        a = rng.normal(size=(int(rng.integers(2, 30)), d)) * rng.uniform(0.1, 3, size=d)
        b = rng.normal(size=(int(rng.integers(2, 30)), d)) + rng.normal(size=d)
        ab, ba = frechet_distance(a, b), frechet_distance(b, a)
        assert ab >= 0.0
        assert ab == pytest.approx(ba, rel=1e-9, abs=1e-12)
        shift = rng.normal(size=d) * 10
        assert frechet_distance(a + shift, b + shift) == pytest.approx(ab, rel=1e-8, abs=1e-9)


def test_singular_covariances_give_a_real_finite_value():
    # Fewer rows than features: both covariances are singular; scipy's sqrtm of the
    # product would warn and return complex parts, the symmetric form stays real.
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(4, 10)), rng.normal(size=(6, 10)) + 1.0
    value = frechet_distance(a, b)
    assert isinstance(value, float) and np.isfinite(value) and value > 0
    assert value == pytest.approx(frechet_distance(b, a), rel=1e-9)


@pytest.mark.parametrize("a, b, exc, match", [
    (np.zeros(5), np.zeros((5, 1)), ValueError, "features_a.*2-D"),
    (np.zeros((5, 2)), np.zeros((5, 2, 1)), ValueError, "features_b.*2-D"),
    (np.zeros((1, 2)), np.zeros((5, 2)), ValueError, "features_a.*at least 2 rows"),
    (np.zeros((5, 2)), np.zeros((5, 3)), ValueError, "same number of columns"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros((3, 2)), ValueError, "features_a.*finite"),
    (np.zeros((3, 2)), np.full((3, 2), np.inf), ValueError, "features_b.*finite"),
    ("abc", np.zeros((3, 2)), TypeError, "features_a"),
    (np.zeros((3, 2)), np.zeros((3, 2), dtype=complex), TypeError, "features_b.*real"),
    ([[1, 2], [3]], np.zeros((3, 2)), TypeError, "features_a"),
])
def test_frechet_bad_input(a, b, exc, match):
    with pytest.raises(exc, match=match):
        frechet_distance(a, b)


def test_fairness_ratio_values_and_vectorised():
    assert fairness_ratio(0.5, 2.0) == 4.0
    assert isinstance(fairness_ratio(1, 3), float)
    np.testing.assert_allclose(fairness_ratio([1.0, 2.0], [[2.0], [4.0]]),
                               [[2.0, 1.0], [4.0, 2.0]])
    # R_fair = S_maj / S_min with S = 1 / FID.
    assert fairness_ratio(0.3, 0.9) == pytest.approx((1 / 0.3) / (1 / 0.9))


@pytest.mark.parametrize("maj, mino, exc, match", [
    (0.0, 1.0, ValueError, "fid_majority.*positive"),
    (1.0, -2.0, ValueError, "fid_minority.*positive"),
    (np.nan, 1.0, ValueError, "fid_majority.*finite"),
    ([1.0, 2.0], [1.0, 2.0, 3.0], ValueError, "broadcast"),
    ("x", 1.0, TypeError, "fid_majority"),
])
def test_fairness_ratio_bad_input(maj, mino, exc, match):
    with pytest.raises(exc, match=match):
        fairness_ratio(maj, mino)


def test_imbalance_ratio_from_labels_and_counts():
    labels = np.array([3] * 20 + [6] * 4 + [1] * 7)
    assert imbalance_ratio(labels, majority=3, minority=6) == 5.0
    assert imbalance_ratio({3: 20, 6: 4}, majority=3, minority=6) == 5.0
    assert imbalance_ratio(["a", "a", "b"], majority="a", minority="b") == 2.0


@pytest.mark.parametrize("labels, maj, mino, exc, match", [
    ([3, 3, 1], 3, 6, ValueError, "minority.*6.*does not occur"),
    ([6, 6, 1], 3, 6, ValueError, "majority.*3.*does not occur"),
    ({3: 5}, 3, 6, ValueError, "minority.*not a key"),
    ({3: 5, 6: 1.5}, 3, 6, TypeError, "integers"),
    ([3, 6], 3, 3, ValueError, "must differ"),
    ([[3, 6]], 3, 6, TypeError, "1-D"),
])
def test_imbalance_ratio_bad_input(labels, maj, mino, exc, match):
    with pytest.raises(exc, match=match):
        imbalance_ratio(labels, maj, mino)


# ---------------------------------------------------------------------------- extreme scales


def _direct_frechet(a, b):
    """The FID formula written out independently: tr (Sigma_a Sigma_b)^(1/2) as the sum of
    the square roots of the eigenvalues of the (non-symmetric) product, which are real and
    non-negative for two covariance matrices."""
    ca = np.atleast_2d(np.cov(a, rowvar=False))
    cb = np.atleast_2d(np.cov(b, rowvar=False))
    eig = np.linalg.eigvals(ca @ cb)
    assert np.all(np.abs(eig.imag) <= 1e-12 * np.abs(eig).max())
    return (np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2) + np.trace(ca) + np.trace(cb)
            - 2.0 * np.sum(np.sqrt(np.clip(eig.real, 0.0, None))))


def _feature_pair(d, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(60, d)) @ rng.normal(size=(d, d))
    b = rng.normal(size=(45, d)) @ rng.normal(size=(d, d)) + 0.5
    return a, b


@pytest.mark.parametrize("d", [1, 3, 8])
def test_agrees_with_the_direct_formula(d):
    # moderate scale, where the direct formula is accurate: the two agree to rounding
    # (measured: within 1.2e-14 relative)
    a, b = _feature_pair(d, d)
    assert frechet_distance(a, b) == pytest.approx(_direct_frechet(a, b), rel=1e-12)


@pytest.mark.parametrize("d", [1, 3, 8])
@pytest.mark.parametrize("c", [1e155, 1e-155])
def test_homogeneous_of_degree_two_at_extreme_scales(d, c):
    # d^2(c a, c b) = c^2 d^2(a, b). At 1e155 the squares of the features overflow (the
    # plain formula raised LinAlgError), at 1e-155 they underflow. The features at 1e155 are
    # taken 100 times smaller so that c^2 d^2 stays below the largest float; the results at
    # 1e-155 (about 1e-310) are subnormal, with a spacing of about 2e-14 of their value.
    a, b = _feature_pair(d, d)
    if c > 1:
        a, b = 0.01 * a, 0.01 * b
    ref = frechet_distance(a, b)
    scaled = frechet_distance(c * a, c * b)
    assert scaled / c / c == pytest.approx(ref, rel=1e-12)


def test_distance_beyond_the_float_range_raises():
    a, b = _feature_pair(3, 0)
    with pytest.raises(ValueError, match="larger than the largest float"):
        frechet_distance(1e155 * a, 1e155 * b)  # about 3e310
    assert frechet_distance(np.zeros((3, 2)), np.zeros((4, 2))) == 0.0


def test_fairness_ratio_is_the_correctly_rounded_quotient_or_raises():
    # Python's Fraction -> float conversion is correctly rounded: the reference.
    from fractions import Fraction

    values = [5e-324, 1e-310, 1e-300, 1e-150, 0.3, 1.0, 7.0, 1e150, 1e300, 1.7e308]
    for maj in values:
        for mino in values:
            exact = Fraction(mino) / Fraction(maj)
            try:
                expected = float(exact)
            except OverflowError:
                expected = np.inf
            if expected == 0.0 or np.isinf(expected):
                with pytest.raises(ValueError, match="fairness ratio.*(largest|smallest)"):
                    fairness_ratio(maj, mino)
            else:
                assert fairness_ratio(maj, mino) == expected, (maj, mino)
    with pytest.raises(ValueError, match=r"larger than the largest float"):
        fairness_ratio(1e-300, 1e300)  # 1e600
    with pytest.raises(ValueError, match=r"at index \(1,\) is larger than the largest float"):
        fairness_ratio([1.0, 1e-300], [2.0, 1e300])


@pytest.mark.parametrize("labels, maj, mino, match", [
    ([3, 3, 6], np.array([3]), 6, r"`majority` must be a single class label.*shape \(1,\)"),
    ([3, 3, 6], np.array([3, 6]), 6, r"`majority` must be a single class label.*shape \(2,\)"),
    ({3: 2, 6: 1}, np.array([3]), 6, "`majority` must be a single class label"),
    ([3, 3, 6], 3, [6], "`minority` must be a single class label.*list"),
    ([3, 3, 6], 3, {6}, "`minority` must be a single class label.*set"),
    ([3, [3, 6]], 3, 6, "`labels` must be a 1-D array"),
])
def test_imbalance_ratio_rejects_labels_of_the_wrong_kind(labels, maj, mino, match):
    with pytest.raises(TypeError, match=match):
        imbalance_ratio(labels, maj, mino)


def test_imbalance_ratio_accepts_zero_dimensional_array_labels():
    assert imbalance_ratio([3, 3, 6], np.array(3), np.int64(6)) == 2.0
