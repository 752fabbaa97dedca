"""The multivariate Gaussian distribution: an event-shaped family.

The scalar families share :class:`~ple_stats.Distribution`, whose parameters
are one number per batch member. Here a parameter is a vector (``mean``,
event dimension 1) or a matrix (``cov``, event dimension 2), so the family
declares its constraints with an event dimension (the shared
:class:`~ple_stats._validation.Constraint` with ``event_dim``, as
torch.distributions and numpyro do) and validates, broadcasts and pickles
through them. Data are ``(*batch, n, d)``: observations along the axis before
the last, coordinates along the last.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import namedtuple

import numpy as np

from ._engine import EngineResult, chunk_slices, monte_carlo_se, unbox, warn_not_converged
from ._result import FitResult, Refit
from ._solver import finite_difference_jacobian, solve_batched
from ._warnings import ConvergenceWarning, DegenerateDataError
from ._validation import (Constraint, _as_float_array, as_data, as_int, as_rng, check_rng,
                          fmt_value)

__all__ = ["MultivariateGaussian", "REAL_VECTOR", "POSITIVE_DEFINITE",
           "draw_sufficient_statistics", "bartlett_factor"]

_LOG_2PI = math.log(2.0 * math.pi)
#: Relative asymmetry |C - C^T| / max|C| accepted (and symmetrised) in a covariance.
SYMMETRY_RTOL = 1e-10


def _check_spd(arr, name):
    d = arr.shape[-1]
    if arr.shape[-2] != d:
        raise ValueError(f"`{name}` must be square in its last two axes (d, d); got shape "
                         f"{arr.shape}.")
    scale = np.max(np.abs(arr), axis=(-2, -1), keepdims=True)
    asym = np.abs(arr - np.swapaxes(arr, -1, -2))
    bad = np.any(asym > SYMMETRY_RTOL * scale, axis=(-2, -1))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        raise ValueError(f"`{name}` must be symmetric positive definite; the matrix at batch "
                         f"index {idx} is not symmetric (largest |C - C^T| = "
                         f"{float(asym[idx].max()):.3g}).")
    arr = 0.5 * (arr + np.swapaxes(arr, -1, -2))
    _cholesky(arr, name)  # raises when some matrix is not positive definite
    return arr


def _cholesky(cov, name="cov"):
    """Lower Cholesky factors of a batch of symmetric matrices, or a ValueError naming ``name``."""
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        chol = None
    if chol is None or not np.isfinite(chol).all():
        flat = cov.reshape((-1,) + cov.shape[-2:])
        for i, c in enumerate(flat):
            w = np.linalg.eigvalsh(c)
            if not w.min() > 0 or not np.isfinite(w).all():
                idx = np.unravel_index(i, cov.shape[:-2]) if cov.ndim > 2 else ()
                idx = tuple(int(j) for j in idx)
                raise ValueError(f"`{name}` must be symmetric positive definite; the matrix "
                                 f"at batch index {idx} has smallest eigenvalue "
                                 f"{float(w.min()):.3g}.")
        chol = np.linalg.cholesky(cov)  # pragma: no cover - eigenvalues positive: succeeds
    return chol


REAL_VECTOR = Constraint("a finite vector", event_dim=1)
POSITIVE_DEFINITE = Constraint("symmetric positive definite", event_dim=2,
                               event_check=_check_spd)


def _frozen(value):
    arr = np.array(value, dtype=np.float64, copy=True)
    arr.flags.writeable = False
    return arr


def bartlett_factor(rng, shape, d, dof):
    """Lower-triangular ``A`` with ``A @ A^T ~ Wishart_d(dof, I)`` (Bartlett decomposition).

    ``A[i, i] = sqrt(chi2(dof - i))`` and ``A[i, j] ~ N(0, 1)`` for ``j < i``
    (0-based), for ``i < dof``; when ``dof < d`` the rows and columns from
    ``dof`` on follow the singular Wishart law (rank ``dof``): zero diagonal
    from row ``dof`` on, no entries in the columns ``j >= dof``. Exact in law
    for every ``dof >= 0``.

    Returns an array of shape ``(*shape, d, d)``.
    """
    a = np.zeros(tuple(shape) + (d, d))
    rows, cols = np.tril_indices(d, -1)
    keep = cols < dof
    rows, cols = rows[keep], cols[keep]
    if rows.size:
        a[..., rows, cols] = rng.standard_normal(tuple(shape) + (rows.size,))
    r = min(d, dof)
    if r:
        df = dof - np.arange(r, dtype=float)
        a[..., np.arange(r), np.arange(r)] = np.sqrt(rng.chisquare(df, tuple(shape) + (r,)))
    return a


def draw_sufficient_statistics(rng, mean, factor, size):
    """Mean and scatter factor of ``size`` draws from ``N(mean, factor @ factor^T)``, in law.

    For Gaussian data the sample mean ``x_bar ~ N(mean, Sigma / size)`` and the
    scatter ``sum (x - x_bar)(x - x_bar)^T ~ Wishart_d(size - 1, Sigma)`` are
    independent, so both are drawn directly: ``x_bar = mean + factor z / sqrt(size)``
    and the scatter as ``B B^T`` with ``B = factor @ A``, ``A`` a Bartlett factor
    (:func:`bartlett_factor`). ``factor`` may be singular (any lower-triangular
    square root of a positive semi-definite matrix); ``B`` is lower triangular
    when ``factor`` is.

    Parameters
    ----------
    mean : ndarray of shape (runs, d)
    factor : ndarray of shape (runs, d, d)
    size : int
        At least 1.

    Returns
    -------
    x_bar : ndarray of shape (runs, d)
    scatter_factor : ndarray of shape (runs, d, d)
    """
    runs, d = mean.shape
    z = rng.standard_normal((runs, d, 1))
    x_bar = mean + (factor @ z)[..., 0] / math.sqrt(size)
    a = bartlett_factor(rng, (runs,), d, size - 1)
    return x_bar, factor @ a


class MultivariateGaussian:
    r"""Multivariate Gaussian (normal) distribution with mean ``mean`` and covariance ``cov``.

    .. math::

        f(x; \mu, \Sigma) = (2\pi)^{-d/2} \det(\Sigma)^{-1/2}
        \exp\!\Big(-\tfrac12 (x-\mu)^\top \Sigma^{-1} (x-\mu)\Big),
        \qquad x \in \mathbb{R}^d.

    Support: :math:`\mathbb{R}^d`.

    Parameters
    ----------
    mean : array_like of shape (..., d)
        Mean vectors; leading axes are batch axes. A scalar is the same value
        in every coordinate.
    cov : array_like of shape (..., d, d)
        Covariance matrices, symmetric positive definite (checked by a Cholesky
        factorisation; an asymmetry up to ``1e-10`` of the largest entry is
        symmetrised away). The batch shapes of ``mean`` and ``cov`` broadcast.

    Raises
    ------
    ValueError
        ``cov`` not symmetric positive definite, non-finite values, shapes that
        do not agree in ``d`` or do not broadcast.

    Notes
    -----
    Data are ``(*batch, n, d)`` arrays: ``n`` observations of dimension ``d``.

    **MLE.** :math:`\hat\mu = \bar x`,
    :math:`\hat\Sigma = \frac1n\sum_i (x_i-\bar x)(x_i-\bar x)^\top`, biased:
    :math:`E[\hat\Sigma] = \frac{n-1}{n}\Sigma`.

    **PLE** (``method="analytic"``, the default). The binding function of the
    MLE is affine, :math:`b(\mu, \Sigma) = (\mu, \frac{n-1}{n}\Sigma)`, so the
    PLE equation has the exact solution :math:`\hat\mu = \bar x` and
    :math:`\hat\Sigma = S = \frac{1}{n-1}\sum_i (x_i-\bar x)(x_i-\bar x)^\top`,
    unbiased for :math:`\Sigma` (not for :math:`\Sigma^{-1}` nor for
    :math:`\log\det\Sigma`).

    **Fixed parameters**, by keyword as in the scalar families: with ``mean``
    fixed, the scatter about it has ``n`` degrees of freedom and
    :math:`\frac1n\sum(x_i-\mu)(x_i-\mu)^\top` is already unbiased, so MLE and
    PLE coincide; with ``cov`` fixed, both estimate the mean by :math:`\bar x`.

    **Sample sizes.** A fitted covariance must be positive definite to be a
    member of the family. With the mean free the centred data span at most
    ``n - 1`` dimensions, so both fits need ``n >= d + 1`` (which includes the
    PLE's ``n >= 2``); with ``mean`` fixed ``n >= d``; with ``cov`` fixed
    ``n >= 1``. Below that, or for data that are degenerate (e.g. collinear),
    a ``ValueError`` says so.

    **Data-driven PLE** (``method="bootstrap"``, ``penalty=``), as for the
    scalar families: ``T`` is the MLE above (respecting a fixed parameter) and
    ``b(theta)`` is estimated from ``m`` synthetic sets ``Y_j = mean + L z_j``
    built from one fixed array ``z`` of ``m x n x d`` standard normals per data
    set (common random numbers; ``L`` the Cholesky factor of ``cov``). The
    unknowns are the free mean and the Cholesky factor with its diagonal
    logged; each residual is scaled by the data's standard deviations. Since the
    binding function is affine, the bootstrap PLE estimates the analytic one:
    they differ by the Monte Carlo error ``info["mc_se"]`` (delta method, as the
    engine's), and by an ``O(1/m)`` bias of the nonlinear root, about
    ``(d+1)/(m(n-1))`` relative in the covariance. The engine's protocol
    (:mod:`ple_stats._engine`) takes scalar parameters, so the solve is a small
    loop here over the engine's public pieces (``chunk_slices``,
    ``solve_batched``, ``monte_carlo_se``, ``warn_not_converged``) with the
    full Jacobian of the Cholesky coordinates; the synthetic sets are fitted in
    one batched pass through their means and scatters (``T`` is equivariant).

    Examples
    --------
    >>> import numpy as np
    >>> from ple_stats import MultivariateGaussian
    >>> d = MultivariateGaussian(mean=np.zeros(3), cov=np.eye(3))
    >>> x = d.sample(20, rng=0)
    >>> x.shape
    (20, 3)
    >>> res = MultivariateGaussian.fit_ple(x)
    >>> res.params.cov.shape
    (3, 3)
    >>> bool(np.allclose(res.params.cov, np.cov(x, rowvar=False)))
    True
    >>> bool(np.allclose(MultivariateGaussian.fit_mle(x).params.cov,
    ...                  np.cov(x, rowvar=False, bias=True)))
    True
    """

    _param_names = ("mean", "cov")
    _constraints = {"mean": REAL_VECTOR, "cov": POSITIVE_DEFINITE}
    _support = "R^d"
    #: The simulator treats this family through its event-shaped path.
    _event_shaped = True
    Params = namedtuple("MultivariateGaussianParams", _param_names)
    Params.__qualname__ = "MultivariateGaussian.Params"
    Params.__module__ = __name__

    def __init__(self, *, mean, cov):
        cov = POSITIVE_DEFINITE.validate(cov, "cov")
        if np.ndim(mean) == 0:  # a scalar mean: the same value in every coordinate
            mean = np.full(cov.shape[-1], _as_float_array(mean, "mean"))
        mean = REAL_VECTOR.validate(mean, "mean")
        if mean.shape[-1] != cov.shape[-1]:
            raise ValueError(f"`mean` has dimension d = {mean.shape[-1]} but `cov` is "
                             f"{cov.shape[-1]} x {cov.shape[-1]}.")
        self._set(mean, cov)

    def _set(self, mean, cov, chol=None):
        d = mean.shape[-1]
        try:
            batch = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
        except ValueError:
            raise ValueError(f"the batch shapes of `mean` {mean.shape[:-1]} and `cov` "
                             f"{cov.shape[:-2]} do not broadcast together.") from None
        self._mean = _frozen(np.broadcast_to(mean, batch + (d,)))
        self._cov = _frozen(np.broadcast_to(cov, batch + (d, d)))
        if chol is None:
            chol = _cholesky(self._cov)
        self._chol = _frozen(np.broadcast_to(chol, batch + (d, d)))

    @classmethod
    def _from_trusted(cls, mean, cov, chol=None):
        """Build from validated arrays (internal fast path; ``chol`` when already known)."""
        self = object.__new__(cls)
        self._set(np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), chol)
        return self

    # ------------------------------------------------------------------ attributes
    @property
    def params(self):
        """Parameters as a named tuple ``(mean, cov)`` of arrays."""
        return self.Params(np.array(self._mean), np.array(self._cov))

    @property
    def batch_shape(self) -> tuple:
        """Shape of the batch of distributions (``()`` for a single one)."""
        return self._mean.shape[:-1]

    @property
    def event_shape(self) -> tuple:
        """Shape of one observation, ``(d,)``."""
        return self._mean.shape[-1:]

    @property
    def dim(self) -> int:
        """The dimension ``d``."""
        return self._mean.shape[-1]

    def __repr__(self):
        return (f"MultivariateGaussian(mean={fmt_value(self._mean)}, "
                f"cov={fmt_value(self._cov)})")

    def __eq__(self, other):
        return (type(self) is type(other) and self._mean.shape == other._mean.shape
                and np.array_equal(self._mean, other._mean)
                and np.array_equal(self._cov, other._cov))

    __hash__ = None

    def __reduce__(self):
        return (_rebuild, (self._mean, self._cov))

    # ------------------------------------------------------------------ sampling
    def sample(self, n, rng=None, *, sample_shape=()):
        """Draw ``n`` observations for every distribution of the batch.

        ``x = mean + L z`` with ``L`` the Cholesky factor of ``cov`` (batched)
        and ``z`` standard normal.

        Parameters
        ----------
        n : int
            Number of observations, at least 1.
        rng : None, int or numpy.random.Generator
        sample_shape : tuple of int, optional
            Independent replicates, prepended to the output shape.

        Returns
        -------
        ndarray
            Shape ``(*sample_shape, *batch_shape, n, d)``.
        """
        n = as_int(n, "n", minimum=1)
        sample_shape = _as_shape(sample_shape)
        rng = as_rng(rng)
        shape = sample_shape + self.batch_shape + (n, self.dim)
        z = rng.standard_normal(shape)
        # x_i = mean + L z_i for every observation i: z @ L^T
        return self._mean[..., None, :] + z @ np.ascontiguousarray(
            np.swapaxes(self._chol, -1, -2))

    # ------------------------------------------------------------------ densities
    def _points(self, x):
        arr = _as_float_array(x, "x")
        if arr.ndim == 0 or arr.shape[-1] != self.dim:
            raise ValueError(f"`x` must have its last axis of length d = {self.dim} "
                             f"(points of R^{self.dim}); got shape {arr.shape}.")
        if np.isnan(arr).any():
            raise ValueError("`x` contains nan.")
        return arr

    def logpdf(self, x):
        """Log density at the points ``x``.

        ``x`` has shape ``(*batch_shape, k, d)`` (``k`` points per member of
        the batch) or broadcasts to it; a single point of shape ``(d,)`` gives
        an array of the batch shape (a float for a single distribution).
        """
        arr = self._points(x)
        single = arr.ndim == 1
        if single:
            arr = arr[None, :]
        dev = arr - self._mean[..., None, :]
        batch = np.broadcast_shapes(dev.shape[:-2], self.batch_shape)
        dev = np.broadcast_to(dev, batch + dev.shape[-2:])
        chol = np.broadcast_to(self._chol, batch + self._chol.shape[-2:])
        # solve L y = dev^T for every batch member (batched): the Mahalanobis norm is |y|^2
        y = np.linalg.solve(chol, np.swapaxes(np.where(np.isfinite(dev), dev, 0.0), -1, -2))
        maha = np.einsum("...ij,...ij->...j", y, y)
        half_logdet = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
        out = -0.5 * maha - half_logdet[..., None] - 0.5 * self.dim * _LOG_2PI
        out = np.where(np.isfinite(dev).all(axis=-1), out, -np.inf)
        if single:
            out = out[..., 0]
        return out.item() if out.ndim == 0 else out

    def nll(self, x):
        """Negative log-likelihood of ``x`` (shape ``(*batch, n, d)``) summed over its ``n`` points.

        Returns an array of the batch shape (a float for a single distribution).
        """
        arr = self._points(x)
        if arr.ndim < 2:
            raise ValueError(f"`x` must have shape (..., n, d); got shape {arr.shape}.")
        out = -np.sum(np.asarray(self.logpdf(arr)), axis=-1)
        return out.item() if np.ndim(out) == 0 else out

    def log_det_cov(self):
        """``log det cov`` of each member of the batch (a float for a single distribution)."""
        out = 2.0 * np.log(np.diagonal(self._chol, axis1=-2, axis2=-1)).sum(axis=-1)
        return out.item() if out.ndim == 0 else out

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit_mle(cls, x, **fixed):
        """Maximum-likelihood fit of ``x`` of shape ``(*batch, n, d)``.

        Parameters
        ----------
        x : array_like of shape (..., n, d)
        **fixed
            ``mean=`` (shape ``(..., d)``) or ``cov=`` (shape ``(..., d, d)``)
            held fixed; they broadcast to the batch shape of ``x``.

        Returns
        -------
        FitResult
            ``params`` is ``(mean, cov)``; ``info["ddof"]`` the divisor used
            (``n``).

        Raises
        ------
        ValueError
            Non-finite or empty data, a last axis that does not match a fixed
            parameter, too few observations (``n >= d + 1`` with the mean free,
            ``n >= d`` with it fixed), degenerate data (singular fit).
        TypeError
            Non-numeric data, unknown keywords.
        """
        x, fixed = cls._prepare_fit(x, fixed, "fit_mle")
        return cls._fit(x, fixed, "mle")

    @classmethod
    def fit_ple(cls, x, method=None, *, penalty=None, m=100, rng=None, **fixed):
        """Penalized autophagy estimate (PLE) of ``x`` of shape ``(*batch, n, d)``.

        The analytic PLE (see the class Notes): ``mean = x_bar`` and the
        covariance with divisor ``n - 1`` (``n`` when ``mean`` is fixed); or the
        data-driven PLE, by simulation with common random numbers.

        Parameters
        ----------
        x : array_like of shape (..., n, d)
        method : {None, "analytic", "bootstrap"}
            ``None`` is ``"analytic"``. ``"bootstrap"`` solves the simulated PLE
            equation ``b_m(theta) = T(x)`` for every data set.
        penalty : float >= 0, optional
            The penalised PLE: minimise ``NLL(x; theta)/n + penalty * sum |b_m(theta)
            - T(x)|`` over the free scalars ``mean[i]``, ``cov[i, j]`` (``i <= j``) by a
            simplex search; ``0`` gives the MLE, a large penalty the bootstrap root
            with the same ``m`` and ``rng``. Takes precedence over ``method``.
        m : int, default 100
            Synthetic data sets per data set (at least 2).
        rng : None, int or numpy.random.Generator
            Source of the base draws (unused by the analytic PLE).
        **fixed
            ``mean=`` or ``cov=``, as in :meth:`fit_mle`.

        Returns
        -------
        FitResult
            For the bootstrap, ``info`` has ``residual`` (max-norm of the scaled
            residual), ``residuals`` and ``mc_se`` (``Params`` of arrays shaped as
            the parameters, 0 for fixed ones), ``n_iter``, ``converged``, ``m``;
            for the penalty, ``objective``, ``gap`` (``b_m - T(x)`` per free
            parameter), ``penalty``, ``n_iter``, ``converged``, ``m``.

        Raises
        ------
        ValueError
            An unknown ``method``, ``m < 2``, a negative or non-finite ``penalty``,
            and the errors of :meth:`fit_mle`.

        Warns
        -----
        ConvergenceWarning
            The solver or the simplex search did not converge for some data set.
        """
        if method not in (None, "analytic", "bootstrap"):
            raise ValueError(f"`method` must be 'analytic', 'bootstrap' or None for "
                             f"MultivariateGaussian; got {method!r}.")
        m = as_int(m, "m", minimum=2)
        check_rng(rng)  # the Generator is built only where randomness is used
        x, fixed = cls._prepare_fit(x, fixed, "fit_ple")
        if penalty is None and method != "bootstrap":
            return cls._fit(x, fixed, "ple")
        cls._fit(x, fixed, "ple")  # the checks of sample size and degenerate data
        rng = as_rng(rng)
        if penalty is not None:
            from ._penalized import _as_penalty

            return _fit_penalized(cls, x, fixed, penalty=_as_penalty(penalty), m=m, rng=rng)
        return _fit_bootstrap(cls, x, fixed, m=m, rng=rng)

    @classmethod
    def _result(cls, mean, cov, n, info, refit, what):
        try:
            chol = _cholesky(np.asarray(cov, dtype=float))
        except ValueError:
            # The root is a Cholesky product, but a solve that did not converge can leave a
            # log-diagonal at -inf (seen for nearly collinear data with n = d + 1 and a
            # small m): such data are degenerate for this estimator, and the simulator
            # records the run as collapsed instead of failing the whole batch.
            raise DegenerateDataError(
                f"the {what} of MultivariateGaussian is not positive definite for some data "
                "set (the solve did not converge: the data are nearly degenerate for this "
                "m; see the ConvergenceWarning).") from None
        dist = cls._from_trusted(mean, cov, chol)
        return FitResult(params=dist.params, dist=dist, method="ple", n=n, info=info,
                         refit=refit)

    @classmethod
    def _prepare_fit(cls, x, kwargs, caller):
        for key in kwargs:
            if key not in cls._param_names:
                raise TypeError(f"MultivariateGaussian.{caller}() got an unexpected keyword "
                                f"argument {key!r}; allowed keywords are "
                                f"{list(cls._param_names)}.")
        if len(kwargs) == len(cls._param_names):
            raise ValueError("all parameters of MultivariateGaussian are fixed (['cov', "
                             "'mean']): there is nothing to fit.")
        x = as_data(x)
        if x.ndim < 2:
            raise ValueError(f"`x` must have shape (..., n, d): n observations of dimension "
                             f"d along the last two axes; got shape {x.shape}.")
        d = x.shape[-1]
        batch = x.shape[:-2]
        fixed = {}
        for name in cls._param_names:
            if name not in kwargs:
                continue
            constraint = cls._constraints[name]
            value = kwargs[name]
            if name == "mean" and np.ndim(value) == 0:  # mean=0: zero in every coordinate
                value = np.full(d, _as_float_array(value, name))
            value = constraint.validate(value, name)
            event = (d,) * constraint.event_dim
            if constraint.event_shape(value) != event:
                raise ValueError(f"fixed `{name}` has event shape "
                                 f"{constraint.event_shape(value)}, but the data have "
                                 f"dimension d = {d} (expected {event}).")
            try:
                fixed[name] = np.broadcast_to(value, batch + event)
            except ValueError:
                raise ValueError(f"fixed `{name}` of batch shape "
                                 f"{constraint.batch_shape(value)} does not broadcast to the "
                                 f"batch shape {batch} of `x` (data of shape {x.shape}).") \
                    from None
        return x, fixed

    @classmethod
    def _fit(cls, x, fixed, kind):
        n, d = x.shape[-2:]
        if "cov" in fixed:
            n_min, why = 1, ""
        elif "mean" in fixed:
            n_min, why = d, " (a covariance of rank n about the fixed mean)"
        else:
            n_min, why = d + 1, " (the centred data span at most n - 1 dimensions)"
        if n < n_min:
            what = "maximum likelihood" if kind == "mle" else "the PLE"
            held = f" with {sorted(fixed)} fixed" if fixed else ""
            raise ValueError(f"`x` has n = {n} observations of dimension d = {d}, but {what} "
                             f"of MultivariateGaussian{held} needs n >= {n_min} for a "
                             f"nonsingular covariance{why}.")
        mean = fixed["mean"] if "mean" in fixed else x.mean(axis=-2)
        chol = None
        if "cov" in fixed:
            cov, ddof = fixed["cov"], None
        else:
            dev = x - mean[..., None, :]
            scatter = np.ascontiguousarray(np.swapaxes(dev, -1, -2)) @ dev
            scatter = 0.5 * (scatter + np.swapaxes(scatter, -1, -2))
            ddof = n - 1 if (kind == "ple" and "mean" not in fixed) else n
            cov = scatter / ddof
            try:
                chol = _cholesky(cov)
            except ValueError:
                raise DegenerateDataError(
                    f"the {kind.upper()} fit of MultivariateGaussian gives a singular "
                    "covariance for some data set of `x`: the data are degenerate (e.g. "
                    "collinear, or all points equal).") from None
        dist = cls._from_trusted(mean, cov, chol)
        info = {"estimator": "closed-form maximum likelihood" if kind == "mle"
                else "closed-form PLE", "fixed": tuple(fixed), "ddof": ddof}
        fit = cls.fit_mle if kind == "mle" else functools.partial(cls.fit_ple,
                                                                  method="analytic")
        refit = Refit(functools.partial(fit, **{k: np.asarray(v) for k, v in fixed.items()}))
        return FitResult(params=dist.params, dist=dist, method=kind, n=n, info=info,
                         refit=refit)

    # ------------------------------------------------------------------ simulation hooks
    @staticmethod
    def _scalar_names(d):
        """Names of the free scalar parameters: ``mean[i]``, then ``cov[i,j]`` for ``i <= j``."""
        rows, cols = np.triu_indices(d)
        return (tuple(f"mean[{i}]" for i in range(d))
                + tuple(f"cov[{i},{j}]" for i, j in zip(rows, cols)))

    @staticmethod
    def _flatten(mean, cov):
        """``(..., d)``, ``(..., d, d)`` -> ``(..., k)``, in :meth:`_scalar_names` order."""
        d = mean.shape[-1]
        rows, cols = np.triu_indices(d)
        return np.concatenate([mean, cov[..., rows, cols]], axis=-1)

    @staticmethod
    def _unflatten(theta, d):
        """Inverse of :meth:`_flatten`."""
        theta = np.asarray(theta, dtype=float)
        rows, cols = np.triu_indices(d)
        cov = np.empty(theta.shape[:-1] + (d, d))
        cov[..., rows, cols] = theta[..., d:]
        cov[..., cols, rows] = theta[..., d:]
        return theta[..., :d], cov

    @staticmethod
    def _dim_of(k):
        """``d`` from the number ``k = d + d(d+1)/2`` of scalar parameters."""
        d = int(round((-3 + math.sqrt(9 + 8 * k)) / 2))
        if d + d * (d + 1) // 2 != k:
            raise ValueError(f"{k} is not d + d(d+1)/2 for any d.")
        return d


# ---------------------------------------------------------------------------- data-driven PLE
# The engine's protocol (``_engine.BindingModel``) is for scalar parameters: its Monte Carlo
# error takes d theta / d u as elementwise, which the Cholesky coordinates of a covariance
# are not. The bootstrap PLE below is therefore a small solver loop over the engine's
# public pieces (``chunk_slices``, ``solve_batched``, ``monte_carlo_se``,
# ``EngineResult``, ``warn_not_converged``) with the full Jacobian of the coordinates.


class _MVNBinding:
    """The simulated PLE equation of the multivariate Gaussian on one chunk of data sets.

    ``theta`` (the reported scalars): the free ``mean[i]`` then the free ``cov[i,j]``,
    ``i <= j``; ``u`` (the root finder's): the free mean, then the lower Cholesky factor
    of the covariance with its diagonal logged. The statistic ``T`` is the MLE in the
    ``theta`` order. With common random numbers ``z`` (``(m, size, n, d)``), ``Y_j = mu +
    L z_j`` and ``T`` is equivariant: ``x_bar(Y_j) = mu + L z_bar_j`` and
    ``Sigma_hat(Y_j) = L S_j L^T`` with ``S_j`` the MLE scatter of ``z_j`` (about its mean,
    or about 0 when the mean is fixed), so the synthetic sets are fitted through the
    ``m`` precomputed ``(z_bar_j, S_j)`` -- the same estimator, in one batched pass.
    """

    def __init__(self, x, fixed, z):
        self.n, self.d = x.shape[-2:]
        self.fixed = fixed
        self.mean_free = "mean" not in fixed
        self.cov_free = "cov" not in fixed
        d = self.d
        self.rows, self.cols = np.triu_indices(d)  # theta's order of cov entries
        self.lrows, self.lcols = np.tril_indices(d)  # u's order of Cholesky entries
        self.diag = self.lrows == self.lcols
        mle_mean = x.mean(axis=-2) if self.mean_free else fixed["mean"]
        dev = x - mle_mean[..., None, :]
        self.mle_mean = mle_mean
        self.mle_cov = fixed["cov"] if not self.cov_free else _scatter(dev) / self.n
        self.target = self.flat(self.mle_mean, self.mle_cov)
        sd = np.sqrt(np.diagonal(self.mle_cov, axis1=-2, axis2=-1))
        self.scale = self.flat(sd, sd[..., :, None] * sd[..., None, :])
        z_bar = z.mean(axis=-2)
        self.z_bar = z_bar  # (m, size, d)
        zc = z - z_bar[..., None, :] if self.mean_free else z
        self.z_scatter = _scatter(zc) / self.n  # (m, size, d, d)
        self.z_bar_mean = z_bar.mean(axis=0)
        self.z_scatter_mean = self.z_scatter.mean(axis=0)

    # -- coordinates ---------------------------------------------------------------
    def flat(self, mean, cov):
        parts = ([mean] if self.mean_free else []) + (
            [cov[..., self.rows, self.cols]] if self.cov_free else [])
        return np.concatenate(parts, axis=-1)

    def unflat(self, theta):
        d, k = self.d, 0
        mean = self.fixed.get("mean")
        if self.mean_free:
            mean, k = theta[..., :d], d
        cov = self.fixed.get("cov")
        if self.cov_free:
            cov = np.empty(theta.shape[:-1] + (d, d))
            cov[..., self.rows, self.cols] = theta[..., k:]
            cov[..., self.cols, self.rows] = theta[..., k:]
        return mean, cov

    def from_u(self, u):
        """``u`` to ``(mean, L)``."""
        d, k = self.d, 0
        mean = self.fixed.get("mean")
        if self.mean_free:
            mean, k = u[..., :d], d
        if self.cov_free:
            vals = u[..., k:]
            chol = np.zeros(u.shape[:-1] + (d, d))
            chol[..., self.lrows, self.lcols] = np.where(self.diag, np.exp(vals), vals)
        else:
            chol = self.fixed_chol
        return mean, chol

    def to_u(self, mean, cov):
        parts = [mean] if self.mean_free else []
        if self.cov_free:
            vals = np.linalg.cholesky(cov)[..., self.lrows, self.lcols]
            vals[..., self.diag] = np.log(vals[..., self.diag])
            parts.append(vals)
        return np.concatenate(parts, axis=-1)

    def theta_jacobian(self, u):
        """d theta / d u, shape ``(size, k, k)`` (analytic)."""
        mean, chol = self.from_u(u)
        size, k = u.shape
        jac = np.zeros((size, k, k))
        off = 0
        if self.mean_free:
            jac[:, :self.d, :self.d] = np.eye(self.d)
            off = self.d
        if self.cov_free:
            for c, (a, b) in enumerate(zip(self.lrows, self.lcols)):
                dl = np.zeros((size, self.d, self.d))
                dl[:, a, b] = chol[:, a, a] if a == b else 1.0
                dcov = dl @ np.swapaxes(chol, -1, -2)
                dcov = dcov + np.swapaxes(dcov, -1, -2)
                jac[:, off:, off + c] = dcov[:, self.rows, self.cols]
        return jac

    # -- the simulated statistic -----------------------------------------------------
    def binding(self, mean, chol):
        """b_m at ``(mean, L)``: the mean of T over the m synthetic sets, ``(size, k)``."""
        sim_mean = (mean + (chol @ self.z_bar_mean[..., None])[..., 0]
                    if self.mean_free else mean)
        sim_cov = chol @ self.z_scatter_mean @ np.swapaxes(chol, -1, -2)
        return self.flat(sim_mean, sim_cov)

    def simulate(self, mean, chol):
        """T of every synthetic set, ``(m, size, k)``."""
        sim_mean = (mean + (chol @ self.z_bar[..., None])[..., 0]
                    if self.mean_free else np.broadcast_to(mean, self.z_bar.shape))
        sim_cov = chol @ self.z_scatter @ np.swapaxes(chol, -1, -2)
        return self.flat(sim_mean, sim_cov)

    def residual(self, u):
        with np.errstate(all="ignore"):
            res = (self.binding(*self.from_u(u)) - self.target) / self.scale
        return np.where(np.isfinite(res), res, 1e300)

    def nll_per_obs(self, x_bar, mle_cov_about_xbar, mean, chol):
        """NLL(x; mean, L L^T) / n from the data's mean and MLE scatter (about x_bar)."""
        dev = x_bar - mean
        m2 = mle_cov_about_xbar + dev[..., :, None] * dev[..., None, :]
        cov = chol @ np.swapaxes(chol, -1, -2)
        with np.errstate(all="ignore"):
            tr = np.trace(np.linalg.solve(cov, m2), axis1=-2, axis2=-1)
            logdet = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
        return 0.5 * tr + logdet + 0.5 * self.d * _LOG_2PI


def _scatter(dev):
    s = np.ascontiguousarray(np.swapaxes(dev, -1, -2)) @ dev
    return 0.5 * (s + np.swapaxes(s, -1, -2))


def _flatten_fit(x, fixed):
    n, d = x.shape[-2:]
    batch = x.shape[:-2]
    size = int(np.prod(batch))
    flat_fixed = {"mean": lambda v: np.reshape(v, (size, d)),
                  "cov": lambda v: np.reshape(v, (size, d, d))}
    return (x.reshape(size, n, d), {k: flat_fixed[k](v) for k, v in fixed.items()},
            batch, size)


def _chunk_problems(x, fixed, m, rng):
    """(slice, problem) per chunk; each chunk's base draws taken from ``rng`` in order."""
    size, n, d = x.shape
    for part in chunk_slices(size, m, n * d, cost=1):
        z = rng.standard_normal((m, part.stop - part.start, n, d))
        sub_fixed = {k: v[part] for k, v in fixed.items()}
        problem = _MVNBinding(x[part], sub_fixed, z)
        if "cov" in sub_fixed:
            problem.fixed_chol = np.linalg.cholesky(sub_fixed["cov"])
        yield part, problem


def _event_values(problem, values, batch, fill=0.0):
    """Flat values ``(size, k)`` as ``Params`` of arrays of the batch's event shapes."""
    mean, cov = problem.unflat(values)
    size, d = values.shape[0], problem.d
    mean = np.full((size, d), fill) if not problem.mean_free else mean
    cov = np.full((size, d, d), fill) if not problem.cov_free else cov
    return MultivariateGaussian.Params(mean.reshape(batch + (d,)),
                                       cov.reshape(batch + (d, d)))


def _fit_bootstrap(cls, x, fixed, *, m, rng, tol=1e-10, max_iter=50):
    flat_x, flat_fixed, batch, size = _flatten_fit(x, fixed)
    n, d = x.shape[-2:]
    pieces = []
    for part, problem in _chunk_problems(flat_x, flat_fixed, m, rng):
        u0 = problem.to_u(problem.mle_mean, problem.mle_cov)
        sol = solve_batched(problem.residual, u0, tol=tol, max_iter=max_iter)
        mean, chol = problem.from_u(sol.u)
        theta = problem.flat(mean, chol @ np.swapaxes(chol, -1, -2))
        # Monte Carlo error (delta method, as the engine's): the Jacobian in theta
        # coordinates, J_theta = J_u (d theta / d u)^{-1}, from a fresh forward-difference
        # J_u at the root.
        r0 = problem.residual(sol.u)
        j_u = finite_difference_jacobian(problem.residual, sol.u, r0)
        with np.errstate(all="ignore"):
            j_theta = j_u @ np.linalg.pinv(problem.theta_jacobian(sol.u))
        sims = problem.simulate(mean, chol)
        se = monte_carlo_se(j_theta, sims, 1.0 / problem.scale, np.ones_like(theta))
        pieces.append((problem, EngineResult(theta=theta, mc_se=se, residual=sol.residual,
                                             residuals=r0, converged=sol.converged,
                                             n_iter=sol.n_iter)))
    problem = pieces[0][0]
    out = EngineResult(*(np.concatenate([getattr(p[1], f) for p in pieces])
                         for f in ("theta", "mc_se", "residual", "residuals", "converged")),
                       n_iter=max(p[1].n_iter for p in pieces))
    warn_not_converged(out.converged, "bootstrap PLE of MultivariateGaussian", max_iter,
                       stacklevel=3)
    theta = _event_values(problem, out.theta, batch)
    mean = fixed["mean"] if "mean" in fixed else theta.mean
    cov = fixed["cov"] if "cov" in fixed else theta.cov
    info = {
        "estimator": "bootstrap PLE with common random numbers",
        "m": m,
        "residual": unbox(out.residual.reshape(batch)),
        "residuals": _event_values(problem, out.residuals, batch),
        "n_iter": int(out.n_iter),
        "converged": unbox(out.converged.reshape(batch)),
        "mc_se": _event_values(problem, out.mc_se, batch),
        "fixed": tuple(fixed),
    }
    refit = functools.partial(cls.fit_ple, method="bootstrap", m=m,
                              **{k: np.asarray(v) for k, v in fixed.items()})
    return cls._result(mean, cov, n, info, Refit(refit, random=True), "bootstrap PLE")


def _fit_penalized(cls, x, fixed, *, penalty, m, rng, max_iter=5000):
    # (a simplex in k = d + d(d+1)/2 dimensions needs more steps than the scalar
    # families' 2000 to shrink: measured ~3000 at d = 3)
    from ._optimize import nelder_mead_batched

    flat_x, flat_fixed, batch, size = _flatten_fit(x, fixed)
    n, d = x.shape[-2:]
    thetas, gaps, objectives, converged, n_iter = [], [], [], [], 0
    for part, problem in _chunk_problems(flat_x, flat_fixed, m, rng):
        x_bar = flat_x[part].mean(axis=-2)
        cov_xbar = _scatter(flat_x[part] - x_bar[..., None, :]) / n
        u_mle = problem.to_u(problem.mle_mean, problem.mle_cov)
        # The root of the PLE equation (the large-penalty limit) spans the start simplex;
        # the objective uses the same base draws (common random numbers).
        u_root = solve_batched(problem.residual, u_mle, tol=1e-10, max_iter=50).u
        k = u_mle.shape[-1]

        def parts(u, index):
            sub = _Subset(problem, index)
            mean, chol = sub.from_u(u)
            return sub, mean, chol

        def objective(u, index):
            sub, mean, chol = parts(u, index)
            with np.errstate(all="ignore"):
                nll = problem.nll_per_obs(x_bar[index], cov_xbar[index], mean, chol)
                gap = np.abs(sub.binding(mean, chol) - problem.target[index]).sum(axis=-1)
            return nll + penalty * gap if penalty else nll

        # The L1 penalty has a kink on each of the k equations, and a simplex search in
        # k = d + d(d+1)/2 dimensions can stall on them: the search is run from the MLE
        # (its simplex spanning the root) and from the root (spanning the MLE), the better
        # end kept, and restarted once from there with a fresh simplex.
        def simplex_at(centre, other):
            simplex = np.repeat(centre[:, None, :], k + 1, axis=1)
            for j in range(k):
                delta = other[:, j] - centre[:, j]
                small = np.abs(delta) < 1e-3 * (1.0 + np.abs(centre[:, j]))
                simplex[:, j + 1, j] += np.where(small, 0.05 * (1.0 + np.abs(centre[:, j])),
                                                 delta)
            return simplex

        everyone = np.arange(len(u_mle))
        runs = [nelder_mead_batched(objective, simplex_at(u_mle, u_root), max_iter=max_iter)]
        if penalty:
            runs.append(nelder_mead_batched(objective, simplex_at(u_root, u_mle),
                                            max_iter=max_iter))
        best = runs[0].x
        if len(runs) == 2:
            best = np.where((runs[1].fun < runs[0].fun)[:, None], runs[1].x, runs[0].x)
            probe = best + 0.01 * (1.0 + np.abs(best))
            res = nelder_mead_batched(objective, simplex_at(best, probe), max_iter=max_iter)
            keep = objective(best, everyone) < res.fun
            res.x[keep] = best[keep]
            res.fun = np.where(keep, objective(best, everyone), res.fun)
            res.converged = res.converged & runs[0].converged & runs[1].converged
            res.n_iter = max(res.n_iter, runs[0].n_iter, runs[1].n_iter)
        else:
            res = runs[0]
        mean, chol = problem.from_u(res.x)
        thetas.append(problem.flat(mean, chol @ np.swapaxes(chol, -1, -2)))
        gaps.append(problem.binding(mean, chol) - problem.target)
        objectives.append(res.fun)
        converged.append(res.converged)
        n_iter = max(n_iter, res.n_iter)
    converged = np.concatenate(converged)
    if not converged.all():
        warnings.warn(
            "the penalised PLE of MultivariateGaussian did not converge for "
            f"{int(np.count_nonzero(~converged))} of {size} data set(s) within {max_iter} "
            "iterations; see res.info['converged'].", ConvergenceWarning, stacklevel=3)
    theta = _event_values(problem, np.concatenate(thetas), batch)
    gap = _event_values(problem, np.concatenate(gaps), batch)
    mean = fixed["mean"] if "mean" in fixed else theta.mean
    cov = fixed["cov"] if "cov" in fixed else theta.cov
    info = {
        "estimator": "penalised PLE (NLL/n + penalty * L1 gap), common random numbers",
        "penalty": penalty,
        "m": m,
        "objective": unbox(np.concatenate(objectives).reshape(batch)),
        "gap": {name: getattr(gap, name) for name in cls._param_names if name not in fixed},
        "n_iter": int(n_iter),
        "converged": unbox(converged.reshape(batch)),
        "fixed": tuple(fixed),
    }
    refit = functools.partial(cls.fit_ple, penalty=penalty, m=m,
                              **{k: np.asarray(v) for k, v in fixed.items()})
    return cls._result(mean, cov, n, info, Refit(refit, random=True), "penalised PLE")


class _Subset:
    """A chunk's problem restricted to the data sets ``index`` (for the optimiser)."""

    def __init__(self, problem, index):
        self.p, self.index = problem, index

    def from_u(self, u):
        p = self.p
        mean, chol = p.from_u(u)
        if not p.mean_free:
            mean = p.fixed["mean"][self.index]
        if not p.cov_free:
            chol = p.fixed_chol[self.index]
        return mean, chol

    def binding(self, mean, chol):
        p, i = self.p, self.index
        sim_mean = (mean + (chol @ p.z_bar_mean[i][..., None])[..., 0]
                    if p.mean_free else mean)
        sim_cov = chol @ p.z_scatter_mean[i] @ np.swapaxes(chol, -1, -2)
        return p.flat(sim_mean, sim_cov)


def _rebuild(mean, cov):
    return MultivariateGaussian._from_trusted(mean, cov)


def _as_shape(shape):
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        return tuple(as_int(s, "sample_shape", minimum=0) for s in shape)
    except TypeError:
        raise TypeError(f"`sample_shape` must be a tuple of non-negative ints; got "
                        f"{shape!r}.") from None
