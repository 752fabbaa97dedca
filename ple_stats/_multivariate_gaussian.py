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
from collections import namedtuple

import numpy as np

from ._result import FitResult, Refit
from ._warnings import DegenerateDataError
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
    ``(d+1)/(m(n-1))`` relative in the covariance. The solve is the PLE engine's
    (:mod:`ple_stats._engine`: its chunks, base draws, smooth solver, Monte Carlo
    error and convergence warning, as for every family), through the family's
    adapter in :mod:`ple_stats._multivariate_gaussian_ple` with the full Jacobian
    of the Cholesky coordinates; the synthetic sets are fitted in one batched
    pass through their means and scatters (``T`` is equivariant).

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
        # the data-driven PLE imports this module: imported here, not at the top
        from ._multivariate_gaussian_ple import _fit_bootstrap, _fit_penalized

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


def __getattr__(name):
    # The data-driven PLE's pieces live in ._multivariate_gaussian_ple (which imports this
    # module); they stay reachable from here, loaded on first use.
    if name in ("_MVNBinding", "_fit_bootstrap", "_fit_penalized"):
        from . import _multivariate_gaussian_ple

        return getattr(_multivariate_gaussian_ple, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
