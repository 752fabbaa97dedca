"""Fairness metrics of generative models: Fréchet distance, fairness and imbalance ratios.

numpy/scipy only: the feature extractor (a classifier's penultimate layer, an
Inception network, ...) is the caller's business; these functions take the
features.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping

import numpy as np

__all__ = ["frechet_distance", "fairness_ratio", "imbalance_ratio"]


def _features(x, name):
    if isinstance(x, (str, bytes, Mapping)):
        raise TypeError(f"`{name}` must be an array of shape (N, d); got {type(x).__name__}.")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested sequences
        raise TypeError(f"`{name}` must be an array of shape (N, d); {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise TypeError(f"`{name}` must be a numeric array of shape (N, d); got dtype "
                        f"{arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be real; got a complex array.")
    arr = arr.astype(float, copy=False)
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D of shape (N, d) (one row per sample); got "
                         f"shape {arr.shape}.")
    if arr.shape[0] < 2:
        raise ValueError(f"`{name}` must have at least 2 rows to estimate a covariance; got "
                         f"{arr.shape[0]}.")
    if arr.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one feature column; got shape "
                         f"{arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite; it contains NaN or inf.")
    return arr


def _clean_eigenvalues(vals):
    """Eigenvalues of a symmetric PSD matrix with the rounding-level ones set to 0.

    Below ``d * eps * max|value|`` (numpy's ``matrix_rank`` tolerance) an
    eigenvalue is indistinguishable from 0; left in, a rounding error of size
    ``eps`` would contribute ``sqrt(eps)`` (1e-8) to the square root.
    """
    tol = vals.size * np.finfo(float).eps * max(np.abs(vals).max(initial=0.0), 1e-300)
    return np.where(vals > tol, vals, 0.0)


def _psd_sqrt(matrix):
    """Symmetric square root of a symmetric PSD matrix."""
    vals, vecs = np.linalg.eigh(matrix)
    return (vecs * np.sqrt(_clean_eigenvalues(vals))) @ vecs.T


def frechet_distance(features_a, features_b):
    r"""Fréchet distance between Gaussians fitted to two feature sets (the FID formula).

    .. math::

        d^2 = \lVert \mu_a - \mu_b \rVert^2
        + \operatorname{tr}\bigl(\Sigma_a + \Sigma_b - 2 (\Sigma_a \Sigma_b)^{1/2}\bigr),

    the squared 2-Wasserstein distance between :math:`N(\mu_a, \Sigma_a)` and
    :math:`N(\mu_b, \Sigma_b)`, with the sample means and sample covariances
    (``ddof=1``, as ``np.cov``) of the two sets. With features of an image
    classifier this is the Fréchet Inception Distance (FID) of Heusel et al.

    Parameters
    ----------
    features_a : array_like of shape (N, d)
        One feature vector per row, ``N >= 2``.
    features_b : array_like of shape (M, d)
        The other set, ``M >= 2``, same ``d``.

    Returns
    -------
    float
        The squared distance, ``>= 0`` (it is ``0`` exactly when the two sample
        means and covariances agree, up to rounding).

    Raises
    ------
    TypeError
        If an argument is not a real numeric array.
    ValueError
        If an argument is not 2-D, has fewer than 2 rows or non-finite entries,
        the two have different numbers of columns, or the distance is larger
        than the largest float.

    See Also
    --------
    fairness_ratio : the ratio of two per-class FIDs.

    Notes
    -----
    The trace of the matrix square root is computed from the symmetric form
    :math:`\operatorname{tr}(\Sigma_a\Sigma_b)^{1/2}
    = \operatorname{tr}(\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2})^{1/2}` with two
    symmetric eigendecompositions (eigenvalues below the rounding level
    ``d * eps * max`` set to zero), so the result is real also for singular covariances (fewer rows
    than features) where ``scipy.linalg.sqrtm`` of :math:`\Sigma_a\Sigma_b`
    returns complex parts. A result that rounding makes slightly negative is
    returned as 0. The distance is homogeneous of degree 2 in the features, so it
    is computed for both sets divided by the power of two nearest above their
    largest magnitude (an exact scaling) and multiplied back: features of any
    magnitude (1e-155 or 1e155, where squares leave the floating-point range)
    give the distance to rounding. In one dimension it reduces to
    :math:`(\mu_a-\mu_b)^2 + (\sigma_a-\sigma_b)^2`.

    The estimate is biased upwards at small sample sizes (the sample
    covariances are noisy); compare FIDs computed from equal sample sizes.

    References
    ----------
    .. [1] M. Heusel et al., "GANs trained by a two time-scale update rule converge
       to a local Nash equilibrium", NeurIPS 2017.
    .. [2] D. C. Dowson and B. V. Landau, "The Fréchet distance between multivariate
       normal distributions", J. Multivariate Anal. 12 (1982).

    Examples
    --------
    >>> import numpy as np
    >>> from ple_stats._fairness import frechet_distance
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(500, 3))
    >>> frechet_distance(a, a)
    0.0
    >>> round(frechet_distance(a, a + [1.0, 0.0, 0.0]), 6)   # a shift of 1: |mu_a - mu_b|^2
    1.0
    >>> x, y = np.array([[0.0], [2.0]]), np.array([[1.0], [5.0]])
    >>> round(frechet_distance(x, y), 6)   # (1 - 3)^2 + (sqrt(2) - sqrt(8))^2 = 4 + 2
    6.0
    """
    a = _features(features_a, "features_a")
    b = _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"`features_a` and `features_b` must have the same number of columns "
                         f"d; got {a.shape[1]} and {b.shape[1]}.")
    # d^2 is homogeneous of degree 2: compute it for the features divided by a power of
    # two near their largest magnitude (an exact scaling), so that no product of features
    # overflows or underflows, and scale back
    top = max(np.abs(a).max(), np.abs(b).max())
    if top == 0.0:
        return 0.0
    exponent = math.frexp(top)[1]
    value = _frechet_unit(np.ldexp(a, -exponent), np.ldexp(b, -exponent))
    try:
        return math.ldexp(value, 2 * exponent)
    except OverflowError:
        raise ValueError(
            f"the Fréchet distance of `features_a` and `features_b` is {value:.6g} * 2**"
            f"{2 * exponent}, larger than the largest float (about 1.8e308); rescale the "
            "features.") from None


def _frechet_unit(a, b):
    """The distance for features of magnitude at most 1."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a = np.atleast_2d(np.cov(a, rowvar=False))
    cov_b = np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _psd_sqrt(cov_a)
    inner = root_a @ cov_b @ root_a
    inner = 0.5 * (inner + inner.T)
    trace_root = np.sqrt(_clean_eigenvalues(np.linalg.eigvalsh(inner))).sum()
    value = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
             - 2.0 * trace_root)
    return float(max(value, 0.0))


def _positive(value, name):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a positive number or array of them; got "
                        f"{value!r}.") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    if (arr <= 0).any():
        raise ValueError(f"`{name}` must be positive (an FID of 0 has no finite score "
                         f"S = 1/FID); got {value!r}.")
    return arr


def fairness_ratio(fid_majority, fid_minority):
    r"""Fairness ratio :math:`R_{fair} = S_{maj} / S_{min}`, score :math:`S = 1/\mathrm{FID}`.

    .. math::

        R_{fair} = \frac{S_{maj}}{S_{min}} = \frac{\mathrm{FID}_{min}}{\mathrm{FID}_{maj}} .

    1 means both classes are generated equally well; above 1 the minority is
    generated worse. The paper compares it with the imbalance ratio
    :math:`R_I` of the training set (:func:`imbalance_ratio`): a
    procedurally fair model has :math:`R_{fair} \le R_I`.

    Parameters
    ----------
    fid_majority, fid_minority : float or array_like
        Positive, finite FIDs of the majority and minority classes; arrays
        broadcast.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar inputs, otherwise the broadcast array: the correctly
        rounded quotient (IEEE division), also for FIDs far from 1.

    Raises
    ------
    TypeError
        If an argument is not numeric.
    ValueError
        If an argument is not finite or not positive, the shapes do not broadcast,
        or the ratio is outside the floating-point range (e.g. ``fairness_ratio(1e-300,
        1e300)``, 1e600).

    See Also
    --------
    frechet_distance, imbalance_ratio

    Examples
    --------
    >>> from ple_stats._fairness import fairness_ratio
    >>> fairness_ratio(0.5, 2.0)
    4.0
    >>> fairness_ratio([0.5, 1.0], [1.0, 1.0])
    array([2., 1.])
    """
    maj = _positive(fid_majority, "fid_majority")
    mino = _positive(fid_minority, "fid_minority")
    try:
        shape = np.broadcast_shapes(maj.shape, mino.shape)
    except ValueError:
        raise ValueError(f"`fid_majority` and `fid_minority` must broadcast; got shapes "
                         f"{maj.shape} and {mino.shape}.") from None
    with np.errstate(over="ignore", under="ignore"):
        ratio = np.divide(mino, maj)  # IEEE division: the correctly rounded ratio
    for bad, what in ((np.isinf(ratio), "larger than the largest float (about 1.8e308)"),
                      (ratio == 0.0, "smaller than the smallest positive float (about 5e-324)")):
        if np.any(bad):
            idx = np.unravel_index(int(np.argmax(bad)), shape) if shape else ()
            where = f" at index {tuple(int(i) for i in idx)}" if shape else ""
            raise ValueError(
                f"the fairness ratio fid_minority / fid_majority = "
                f"{float(np.broadcast_to(mino, shape)[idx]):.6g} / "
                f"{float(np.broadcast_to(maj, shape)[idx]):.6g}"
                f"{where} is {what}.")
    return float(ratio) if ratio.ndim == 0 else ratio


def _label(value, name):
    """A single, hashable class label (a 0-d array becomes its scalar)."""
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise TypeError(f"`{name}` must be a single class label (a hashable scalar such as "
                            f"3 or 'cat'); got an array of shape {value.shape}.")
        value = value.item()
    if not isinstance(value, Hashable):
        raise TypeError(f"`{name}` must be a single class label (a hashable scalar such as 3 "
                        f"or 'cat'); got {type(value).__name__} {value!r}.")
    return value


def imbalance_ratio(labels, majority, minority):
    r"""Imbalance ratio :math:`R_I = |C_{maj}| / |C_{min}|` of a labelled data set.

    Parameters
    ----------
    labels : array_like of shape (N,) or mapping
        The class label of every sample, or a mapping ``{class: count}``.
    majority, minority : hashable
        The two class labels.

    Returns
    -------
    float
        Number of ``majority`` samples over number of ``minority`` samples.

    Raises
    ------
    TypeError
        If ``labels`` is not 1-D array-like or a mapping, a count is not an integer,
        or ``majority`` or ``minority`` is not a single hashable label (e.g. an array).
    ValueError
        If a class does not occur (``minority`` count 0) or ``majority == minority``.

    Examples
    --------
    >>> from ple_stats._fairness import imbalance_ratio
    >>> imbalance_ratio([3, 3, 3, 6, 3, 3, 6, 1], majority=3, minority=6)
    2.5
    >>> imbalance_ratio({3: 180, 6: 18}, majority=3, minority=6)
    10.0
    """
    majority = _label(majority, "majority")
    minority = _label(minority, "minority")
    if majority == minority:
        raise ValueError(f"`majority` and `minority` must differ; both are {majority!r}.")
    if isinstance(labels, Mapping):
        counts = {}
        for cls in (majority, minority):
            if cls not in labels:
                role = "majority" if cls == majority else "minority"
                raise ValueError(f"`{role}` class {cls!r} is not a key of `labels`; keys are "
                                 f"{sorted(labels, key=repr)}.")
            count = labels[cls]
            if isinstance(count, bool) or not isinstance(count, numbers.Integral):
                raise TypeError(f"`labels` counts must be integers; got {count!r} for class "
                                f"{cls!r}.")
            if count < 0:
                raise ValueError(f"`labels` counts must be non-negative; got {count} for class "
                                 f"{cls!r}.")
            counts[cls] = int(count)
    else:
        if isinstance(labels, (str, bytes)):
            raise TypeError("`labels` must be a 1-D array of class labels or a mapping "
                            "{class: count}; got a string.")
        try:
            arr = np.asarray(labels)
        except ValueError as exc:  # ragged nested sequences
            raise TypeError(f"`labels` must be a 1-D array of class labels or a mapping "
                            f"{{class: count}}; {exc}") from None
        if arr.ndim != 1:
            raise TypeError(f"`labels` must be 1-D (one label per sample) or a mapping "
                            f"{{class: count}}; got shape {arr.shape}.")
        counts = {cls: int(np.count_nonzero(arr == cls)) for cls in (majority, minority)}
    if counts[majority] == 0:
        raise ValueError(f"`majority` class {majority!r} does not occur in `labels`.")
    if counts[minority] == 0:
        raise ValueError(f"`minority` class {minority!r} does not occur in `labels`; the "
                         f"ratio is infinite.")
    return counts[majority] / counts[minority]
