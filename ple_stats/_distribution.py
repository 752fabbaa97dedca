"""The shared base of the parametric families.

The base owns validation, broadcasting, batch shapes, sampling through
base draws, the fitting entry points and the result object. A family file
declares its parameters and supplies only its mathematics:

``_draw_base(rng, shape)`` / ``_from_base(base, *params)``
    Standard draws and the map from them to samples (quantile function or
    location-scale transform). Sampling and the data-driven PLE share them,
    which gives the bootstrap common random numbers for free.
``_logpdf``, ``_cdf``, ``_mean``, ``_var``
    Elementwise formulas on broadcast arrays.
``_check_data(x, fixed)``
    Support checks on validated data.
``_mle(x, fixed)`` / ``_ple_analytic(x, fixed, **options)``
    The estimators, vectorised along the last axis.
``_fit_floats(x, fixed, kind)`` (optional)
    The same estimator for one float64 data set on Python floats, for the
    common cases a family chooses (see :meth:`Distribution._fit_floats`).
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple
from typing import ClassVar

import numpy as np

from ._result import FitResult, Refit
from ._warnings import DegenerateDataError
from ._validation import (
    Constraint,
    as_data,
    as_int,
    as_param,
    as_rng,
    check_rng,
    fmt_value,
)

__all__ = ["Distribution", "DistributionBase"]

_PLE_METHODS = ("analytic", "bootstrap")


class DistributionBase:
    """The shape-aware core of every family: parameters, shapes, densities, pickling.

    A family declares ``_param_names`` and one :class:`Constraint` per
    parameter. Parameters are keyword-only; their entries are validated at
    construction, they are broadcast together, and the constraints' events are
    checked (``event_dim``: 0 for a number per batch member, 1 for a vector
    such as a simplex of mixture weights). The trailing ``event_dim`` axes,
    shared by all parameters, are the event; the leading ones the batch shape.
    The core also owns freezing, equality, pickling, the validation of
    evaluation points, ``nll`` and the plotting grid. A family supplies its
    mathematics as hooks (``_draw_base``/``_from_base`` or ``_sample_values``,
    ``_logpdf``, ``_cdf``, ``_mean``, ``_var``).

    :class:`Distribution` adds the fitting of the scalar families;
    :class:`~ple_stats.GMM` (an event-shaped family with its own EM and PLE)
    builds on this core directly.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _constraints: ClassVar[dict[str, Constraint]] = {}
    _support: ClassVar[str] = ""
    _discrete: ClassVar[bool] = False
    #: Trailing axes that form one value of every parameter (set from the constraints).
    _event_dim: ClassVar[int] = 0
    #: Appended to the message for parameter shapes that do not broadcast.
    _shape_note: ClassVar[str] = ""
    Params: ClassVar[type]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls._param_names and "Params" not in cls.__dict__:
            params = namedtuple(f"{cls.__name__}Params", cls._param_names)
            params.__qualname__ = f"{cls.__qualname__}.Params"
            params.__module__ = cls.__module__
            cls.Params = params
        if "_constraints" in cls.__dict__:
            cls._event_dim = max((c.event_dim for c in cls._constraints.values()), default=0)

    # ------------------------------------------------------------------ construction
    def __init__(self, **params):
        values = []
        for name in self._param_names:
            values.append(as_param(params.pop(name), name, self._constraints[name]))
        if params:  # pragma: no cover - subclasses pass exactly their parameters
            raise TypeError(f"unexpected parameters {sorted(params)}")
        try:
            values = np.broadcast_arrays(*values)
        except ValueError:
            shapes = ", ".join(f"`{n}` {np.shape(v)}" for n, v in zip(self._param_names, values))
            raise ValueError(f"parameter shapes do not broadcast together: {shapes}"
                             f"{self._shape_note}.") from None
        if self._event_dim:
            self._check_event_shape(values)
            values = [self._constraints[name].check_event(v, name)
                      for name, v in zip(self._param_names, values)]
        self._values = tuple(_frozen(v) for v in values)
        self._check_joint(*self._values)

    def _check_event_shape(self, values):
        """Raise ``ValueError`` unless the broadcast parameters have their event axes."""
        for name, v in zip(self._param_names, values):
            constraint = self._constraints[name]
            if v.ndim < constraint.event_dim:
                constraint.check_event(v, name)  # raises the shape message

    @classmethod
    def _from_trusted(cls, values):
        """Build from already validated, broadcast float arrays (internal fast path)."""
        self = object.__new__(cls)
        self._values = tuple(_frozen(v) for v in np.broadcast_arrays(*values))
        return self

    def _check_joint(self, *values):
        """Constraints between parameters (e.g. ``low < high``); none by default."""

    # ------------------------------------------------------------------ attributes
    @property
    def params(self):
        """Parameters as a named tuple in constructor order (floats for a scalar batch)."""
        return self.Params(*_unbox(self._values))

    @property
    def batch_shape(self) -> tuple:
        """Shape of the batch of distributions (``()`` for a single one)."""
        shape = self._values[0].shape
        return shape[:len(shape) - self._event_dim] if self._event_dim else shape

    def __repr__(self):
        args = ", ".join(
            f"{name}={fmt_value(v)}" for name, v in zip(self._param_names, self._values)
        )
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and all(
            a.shape == b.shape and np.array_equal(a, b)
            for a, b in zip(self._values, other._values)
        )

    __hash__ = None

    def __reduce__(self):
        return (_rebuild, (type(self), self._values))

    def _expanded(self):
        """Parameters aligned with ``(*batch, n)`` data: a point axis inserted after the
        batch axes (before the event axes of an event-shaped parameter)."""
        if not self._event_dim:
            return tuple(v[..., None] for v in self._values)
        at = len(self.batch_shape)
        return tuple(np.expand_dims(v, at) for v in self._values)

    # ------------------------------------------------------------------ sampling
    def sample(self, n, rng=None, *, sample_shape=()):
        """Draw ``n`` observations for every distribution of the batch.

        Parameters
        ----------
        n : int
            Number of observations (the last axis of the output), at least 1.
        rng : None, int or numpy.random.Generator
            Source of randomness (``numpy.random.default_rng`` semantics).
        sample_shape : tuple of int, optional
            Independent replicates, prepended to the output shape.

        Returns
        -------
        ndarray
            Shape ``(*sample_shape, *batch_shape, n)``; float64, or int64 for
            a discrete family (as numpy's ``Generator.geometric`` and scipy's
            ``rvs`` return them).

        Raises
        ------
        ValueError
            A discrete family's draws exceed the int64 range (a parameter so
            extreme that the values cannot be counted in integers).
        """
        n = as_int(n, "n", minimum=1)
        sample_shape = _as_shape(sample_shape, "sample_shape")
        values = self._sample_values(n, as_rng(rng), sample_shape)
        if not self._discrete:
            return values
        if not np.all(values < 2.0**63):
            raise ValueError(f"draws of {self!r} exceed the int64 range; the parameters are "
                             "too extreme to count the samples in integers.")
        return values.astype(np.int64)

    def _sample_values(self, n, rng, sample_shape=()):
        """Draws as float64 (internal: trusted arguments; overflow shows as ``inf``)."""
        base = self._draw_base(rng, sample_shape + self.batch_shape + (n,))
        return self._from_base(base, *self._expanded())

    # ------------------------------------------------------------------ densities
    def _eval_points(self, x, name="x"):
        arr = np.asarray(x)
        if arr.dtype == bool or arr.dtype.kind not in "iuf":
            raise TypeError(f"`{name}` must be a real numeric array; got dtype {arr.dtype}.")
        arr = arr.astype(np.float64, copy=False)
        if np.isnan(arr).any():
            raise ValueError(f"`{name}` contains nan.")
        if self._event_dim:  # the parameters' last axes are not the points': say so
            lead = arr.shape[:-1]
            try:
                np.broadcast_shapes(lead, self.batch_shape)
            except ValueError:
                raise ValueError(
                    f"`{name}` of shape {arr.shape} does not align with the batch shape "
                    f"{self.batch_shape} of the {type(self).__name__}: the leading axes of "
                    f"`{name}` (all but the last, the points), {lead}, must broadcast with "
                    f"{self.batch_shape}.") from None
        return arr

    def logpdf(self, x):
        """Log density at ``x`` (log mass function for discrete families).

        ``x`` has shape ``(*batch_shape, k)`` or broadcasts to it: the
        parameters are aligned with its leading axes. Outside the support the
        result is ``-inf``.
        """
        return self._logpdf(self._eval_points(x), *self._expanded())

    def cdf(self, x):
        """Cumulative distribution function at ``x`` (aligned as in :meth:`logpdf`)."""
        return self._cdf(self._eval_points(x), *self._expanded())

    def nll(self, x):
        """Negative log-likelihood of ``x`` summed over its last axis.

        Returns an array of the batch shape (a float for a single distribution);
        ``inf`` when some observation lies outside the support.
        """
        out = -np.sum(self.logpdf(x), axis=-1)
        return out.item() if out.ndim == 0 else out

    def mean(self):
        """Mean of each distribution of the batch (``inf`` where it does not exist)."""
        return _unbox_one(np.broadcast_to(self._mean(*self._values), self.batch_shape))

    def var(self):
        """Variance of each distribution of the batch (``inf`` where it does not exist)."""
        return _unbox_one(np.broadcast_to(self._var(*self._values), self.batch_shape))

    def _plot_grid(self, x=None, num=400):
        """Points at which to draw the density (shape ``(*batch, num)`` or ``(num,)``)."""
        if x is not None and x.size:
            lo, hi = float(x.min()), float(x.max())
        else:
            lo, hi = self._plot_range()
        pad = 0.05 * (hi - lo)
        if self._discrete:
            return np.arange(max(np.floor(lo), 1.0), np.ceil(hi) + 1.0)
        return np.linspace(lo - pad, hi + pad, num)

    def _plot_range(self):
        """``(lo, hi)`` of the plotting grid without data: mean +- 4 sd by default."""
        mean = np.asarray(self._mean(*self._values), dtype=float)
        sd = np.sqrt(np.asarray(self._var(*self._values), dtype=float))
        ok = np.isfinite(mean) & np.isfinite(sd)
        if not ok.all():  # heavy tails: use quantiles of the first member
            return float(np.min(self._values[-1])), float(np.max(self._values[-1])) * 10.0
        return float(np.min(mean - 4 * sd)), float(np.max(mean + 4 * sd))



class Distribution(DistributionBase):
    """Base class of the scalar parametric families of ple_stats.

    Parameters are keyword-only, validated at construction and broadcast
    together to a batch shape (see :class:`DistributionBase`). Data are
    ``(*batch, n)`` arrays with the observations along the last axis. A
    family supplies its estimators, ``_mle(x, fixed)`` and
    ``_ple_analytic(x, fixed, **options)``; the generic bootstrap and
    penalised PLE come from here.
    """

    #: fit_ple options of the family: name -> (default, allowed values or None)
    _ple_options: ClassVar[dict[str, tuple]] = {}
    _has_analytic_ple: ClassVar[bool] = True

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit_mle(cls, x, **fixed):
        """Maximum-likelihood fit along the last axis of ``x``.

        Parameters
        ----------
        x : array_like of shape (..., n)
            Data; leading axes index independent data sets.
        **fixed
            Parameters held fixed, by name (e.g. ``low=0.0``); scalars or
            arrays that broadcast to the batch shape ``x.shape[:-1]``.

        Returns
        -------
        FitResult
            ``method == "mle"``.

        Raises
        ------
        ValueError
            For non-finite, empty or out-of-support data, fixed values outside
            their domain, all parameters fixed, or data too small or degenerate
            for the estimate.
        TypeError
            For non-numeric data or unknown keywords.
        """
        if type(x) is np.ndarray and x.ndim == 1 and x.dtype is _FLOAT64:
            result = cls._fit_one_float_set(x, fixed, "mle")
            if result is not None:
                return result
        info = {"estimator": "closed-form maximum likelihood"}
        plain = cls._plain_fixed(fixed)
        if plain is not None and _plain_data(x, cls._min_n("mle", plain, {})):
            # One data set and fixed floats that _prepare_fit would pass unchanged: the
            # same checks and estimator without the general plumbing; anything unusual
            # takes the general path below, which raises its messages.
            cls._check_data(x, plain)
            with np.errstate(divide="ignore", invalid="ignore"):
                params = cls._mle(x, plain)
            result = cls._make_scalar_result(params, x, plain, "mle", info,
                                             _ClosedFormRefit(cls.fit_mle, {}, plain))
            if result is not None:
                return result
        x, fixed, _ = cls._prepare_fit(x, fixed, "fit_mle", allow_options=False)
        cls._check_n(x, fixed, "mle", {})
        with np.errstate(divide="ignore", invalid="ignore"):  # degenerate data: checked below
            params = cls._mle(x, fixed)
        return cls._make_result(params, x, fixed, "mle", info,
                                refit=_ClosedFormRefit(cls.fit_mle, {}, fixed))

    @classmethod
    def fit_ple(cls, x, method=None, *, penalty=None, m=100, rng=None, **kwargs):
        """Penalized autophagy estimate (PLE) along the last axis of ``x``.

        Solves the PLE equation ``b(theta) = T(x)``, where ``T`` is the maximum
        likelihood estimator and ``b(theta)`` its expectation at sample size
        ``n`` under ``theta`` (see the family's Notes and the user guide).

        Parameters
        ----------
        x : array_like of shape (..., n)
            Data; leading axes index independent data sets.
        method : {None, "analytic", "bootstrap"}
            ``"analytic"`` uses the closed form; ``"bootstrap"`` estimates
            ``b`` from ``m`` synthetic data sets with common random numbers
            and solves the equation numerically. ``None`` picks
            ``"analytic"`` where the family has it.
        penalty : float, optional
            If given, minimise ``NLL(x; theta)/n + penalty * sum_j |b_j(theta) - T_j(x)|``
            instead of solving the equation exactly (the paper's relaxation;
            its value is the paper's lambda, 0.1 there).
        m : int
            Number of synthetic data sets for ``"bootstrap"`` and ``penalty``.
        rng : None, int or numpy.random.Generator
            Randomness of the synthetic data sets.
        **kwargs
            Fixed parameters by name (as in :meth:`fit_mle`) and the family's
            options (e.g. ``parametrization`` for :class:`Gaussian`).

        Returns
        -------
        FitResult
            ``method == "ple"``; ``info["estimator"]`` says how it was computed.
        """
        if (penalty is None and rng is None and cls._has_analytic_ple
                and (method is None or (type(method) is str and method == "analytic"))
                and type(m) is int and m >= 2):
            result = None
            if type(x) is np.ndarray and x.ndim == 1 and x.dtype is _FLOAT64:
                result = cls._fit_one_float_set(x, kwargs, "ple")
            if result is None:
                result = cls._fit_ple_plain(x, kwargs)  # one data set, defaults: see fit_mle
            if result is not None:
                return result
        x, fixed, options = cls._prepare_fit(x, kwargs, "fit_ple", allow_options=True)
        m = as_int(m, "m", minimum=2)
        check_rng(rng)  # the Generator is built only where randomness is used
        if method is None:
            method = "analytic" if cls._has_analytic_ple and penalty is None else "bootstrap"
        if method not in _PLE_METHODS:
            raise ValueError(f"`method` must be one of {_PLE_METHODS} or None; got {method!r}.")
        if penalty is not None:
            from ._penalized import fit_penalized

            return fit_penalized(cls, x, fixed, options, penalty=penalty, m=m,
                                 rng=as_rng(rng))
        if method == "analytic":
            if not cls._has_analytic_ple:
                raise ValueError(f"{cls.__name__} has no analytic PLE; use method='bootstrap'.")
            cls._check_n(x, fixed, "ple", options)
            with np.errstate(divide="ignore", invalid="ignore"):  # checked in _make_result
                params = cls._ple_analytic(x, fixed, **options)
            info = {"estimator": "closed-form PLE", **options}
            refit = _ClosedFormRefit(cls.fit_ple, {"method": "analytic", **options}, fixed)
            return cls._make_result(params, x, fixed, "ple", info, refit=refit)
        from ._bootstrap import fit_bootstrap

        return fit_bootstrap(cls, x, fixed, options, m=m, rng=as_rng(rng))

    # -- fitting internals ----------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The float path is the family's own: a subclass that changes the estimators
        # without its own _fit_floats takes the general path.
        if "_fit_floats" in cls.__dict__:
            _FLOAT_FIT_FAMILIES.add(cls)

    @classmethod
    def _fit_floats(cls, x, fixed, kind):
        """The closed-form fit of one data set on Python floats, or ``None``.

        ``x`` is a 1-D float64 array with at least :meth:`_min_n` observations,
        ``fixed`` maps parameter names to Python floats in their domains, ``kind``
        is ``"mle"`` or ``"ple"`` (the analytic PLE with the default options).
        Returns the parameters in ``_param_names`` order (fixed ones included) as
        Python floats, bit for bit those of ``_mle``/``_ple_analytic``, or ``None``
        whenever anything is unusual: non-finite data, data outside the support, a
        zero division, values that break the family's joint constraint
        (``_check_joint``), a case the family does not handle. The general path
        then fits (and raises its messages). Used for the classes that define it
        themselves (not for their subclasses); ``tests/test_fit_fast_path.py`` pins
        the results.
        """
        return None

    @classmethod
    def _fit_one_float_set(cls, x, kwargs, kind):
        """The result of :meth:`_fit_floats` for one float64 data set, or ``None``: the
        public path's checks on Python floats, and its result, built directly."""
        if cls not in _FLOAT_FIT_FAMILIES:
            return None
        constraints = cls._constraints
        if kwargs:
            if len(kwargs) >= len(cls._param_names):
                return None
            for name, value in kwargs.items():
                if (type(value) is not float or name not in constraints
                        or not constraints[name].contains_float(value)):
                    return None
        options, ple_info, refit_options = _ple_defaults(cls) if kind == "ple" else _NO_OPTIONS
        if x.shape[0] < max(1, cls._min_n(kind, kwargs, options)):
            return None
        try:
            values = cls._fit_floats(x, kwargs, kind)
        except ZeroDivisionError:
            return None
        if values is None:
            return None
        for name, value in zip(cls._param_names, values):
            if not constraints[name].contains_float(value):
                return None
        dist = object.__new__(cls)
        dist._values = tuple(map(_frozen_float, values))
        fixed = ({name: kwargs[name] for name in cls._param_names if name in kwargs}
                 if kwargs else {})
        if kind == "mle":
            info = {"estimator": "closed-form maximum likelihood", "fixed": tuple(fixed)}
            refit = _ClosedFormRefit(cls.fit_mle, {}, fixed)
        else:
            info = {**ple_info, "fixed": tuple(fixed)}
            refit = _ClosedFormRefit(cls.fit_ple, refit_options, fixed)
        return FitResult._trusted(cls.Params(*values), dist, kind, x.shape[0], info, refit)

    @classmethod
    def _fit_ple_plain(cls, x, kwargs):
        """The analytic PLE of one plain data set with the default options and fixed
        floats, or ``None`` (then the general path of :meth:`fit_ple` handles it)."""
        fixed = cls._plain_fixed(kwargs)
        if fixed is None:
            return None
        options, info, refit_options = _ple_defaults(cls)
        if not _plain_data(x, cls._min_n("ple", fixed, options)):
            return None
        cls._check_data(x, fixed)
        with np.errstate(divide="ignore", invalid="ignore"):
            params = cls._ple_analytic(x, fixed, **options)
        return cls._make_scalar_result(params, x, fixed, "ple", info,
                                       _ClosedFormRefit(cls.fit_ple, refit_options, fixed))

    @classmethod
    def _plain_fixed(cls, kwargs):
        """Fixed parameters as :meth:`_prepare_fit` makes them for one data set, when every
        keyword names a parameter (not all of them) and holds a Python float in its
        domain; otherwise ``None`` (the general path then checks and reports)."""
        if not kwargs:
            return {}
        if len(kwargs) >= len(cls._param_names):
            return None
        fixed = {}
        for name in cls._param_names:  # constructor order
            if name in kwargs:
                value = kwargs[name]
                if type(value) is not float or not cls._constraints[name].contains_float(value):
                    return None
                fixed[name] = _frozen_float(value)
        return fixed if len(fixed) == len(kwargs) else None

    @classmethod
    def _prepare_fit(cls, x, kwargs, caller, *, allow_options):
        """Validate data, fixed parameters and options at the public boundary."""
        fixed_raw, options = {}, {}
        for key, value in kwargs.items():
            if key in cls._param_names:
                fixed_raw[key] = value
            elif allow_options and key in cls._ple_options:
                options[key] = value
            else:
                allowed = list(cls._param_names) + (list(cls._ple_options) if allow_options else [])
                raise TypeError(
                    f"{cls.__name__}.{caller}() got an unexpected keyword argument {key!r}; "
                    f"allowed keywords are {allowed}."
                )
        for key, (default, allowed) in (cls._ple_options.items() if allow_options else ()):
            value = options.setdefault(key, default)
            if allowed is not None and value not in allowed:
                raise ValueError(f"`{key}` must be one of {allowed}; got {value!r}.")
        x = as_data(x)
        if len(fixed_raw) == len(cls._param_names):
            raise ValueError(
                f"all parameters of {cls.__name__} are fixed ({sorted(fixed_raw)}): "
                "there is nothing to fit."
            )
        batch = x.shape[:-1]
        fixed = {}
        for name in cls._param_names if fixed_raw else ():  # keep constructor order
            if name not in fixed_raw:
                continue
            value = as_param(fixed_raw[name], name, cls._constraints[name])
            if not batch and value.ndim == 0:  # what broadcast_to gives, for less
                fixed[name] = value = value.view()
                value.flags.writeable = False
                continue
            try:
                fixed[name] = np.broadcast_to(value, batch)
            except ValueError:
                raise ValueError(
                    f"fixed `{name}` of shape {value.shape} does not broadcast to the batch "
                    f"shape {batch} of `x` (data of shape {x.shape})."
                ) from None
        cls._check_data(x, fixed)
        return x, fixed, options

    @classmethod
    def _check_data(cls, x, fixed):
        """Support checks; families override."""

    @classmethod
    def _ple_statistic_transform(cls, options):
        """Maps ``name -> g`` for parameters whose PLE is unbiased for ``g(param)``.

        The data-driven PLE averages ``g(T(Y))`` over synthetic data sets, so
        the parametrisation in which the estimate is unbiased is ``g``; the
        default is the identity for every parameter.
        """
        return {}

    @classmethod
    def _min_n(cls, kind, fixed, options):
        """Smallest sample size the estimator ``kind`` ("mle" or "ple") accepts."""
        return 1

    @classmethod
    def _check_n(cls, x, fixed, kind, options):
        n_min = cls._min_n(kind, fixed, options)
        n = x.shape[-1]
        if n < n_min:
            what = "maximum likelihood" if kind == "mle" else "the PLE"
            held = f" with {sorted(fixed)} fixed" if fixed else ""
            raise ValueError(
                f"`x` has n = {n} observations, but {what} of {cls.__name__}{held} "
                f"needs n >= {n_min}."
            )

    @classmethod
    def _make_result(cls, params, x, fixed, method, info, *, refit=None):
        """Check the fitted values, build the fitted distribution and the result."""
        batch = x.shape[:-1]
        if not batch:
            result = cls._make_scalar_result(params, x, fixed, method, info, refit)
            if result is not None:
                return result
        values = []
        for name in cls._param_names:
            value = np.asarray(fixed[name] if name in fixed else params[name], dtype=np.float64)
            if value.shape != batch:
                value = np.broadcast_to(value, batch)
            ok = cls._constraints[name].contains(value)
            if not ok.all():
                where = np.argwhere(~ok)
                idx = tuple(int(i) for i in where[0]) if where.size else ()
                raise DegenerateDataError(
                    f"the {method.upper()} fit of {cls.__name__} gives `{name}` = "
                    f"{fmt_value(np.asarray(value)[idx])}, outside its domain "
                    f"({cls._constraints[name].description}), for the data set at index "
                    f"{idx} of `x`: the data are degenerate for this estimator "
                    "(e.g. all observations equal)."
                )
            values.append(_frozen(value))
        dist = object.__new__(cls)
        dist._values = tuple(values)
        cls._check_fitted_joint(dist, method)
        info = {**info, "fixed": tuple(fixed)}
        return FitResult._trusted(dist.params, dist, method, x.shape[-1], info, refit)

    @classmethod
    def _make_scalar_result(cls, params, x, fixed, method, info, refit):
        """:meth:`_make_result` for one data set: the checks on Python floats.

        Returns ``None`` when a value is not a float64 scalar or lies outside its
        domain; the general path then handles it (and raises its message).
        The stored values and the parameters are bitwise those of the general path.
        """
        floats = []
        constraints = cls._constraints
        for name in cls._param_names:
            value = fixed[name] if name in fixed else params[name]
            kind = type(value)
            if not (kind is np.float64 or kind is float
                    or (kind is np.ndarray and value.ndim == 0 and value.dtype == np.float64)):
                return None
            value = float(value)
            if not constraints[name].contains_float(value):
                return None
            floats.append(value)
        dist = object.__new__(cls)
        dist._values = tuple(map(_frozen_float, floats))
        if cls._check_joint is not Distribution._check_joint:
            cls._check_fitted_joint(dist, method)
        info = {**info, "fixed": tuple(fixed)}
        return FitResult._trusted(cls.Params(*floats), dist, method, x.shape[-1], info, refit)

    @classmethod
    def _check_fitted_joint(cls, dist, method):
        try:
            dist._check_joint(*dist._values)
        except ValueError as exc:
            raise DegenerateDataError(
                f"the {method.upper()} fit of {cls.__name__} gives invalid parameters ({exc}): "
                "the data are degenerate for this estimator (e.g. all observations equal)."
            ) from None

    @classmethod
    def _free_names(cls, fixed):
        return tuple(name for name in cls._param_names if name not in fixed)

    @classmethod
    def _out_of_support(cls, x, bad, what):
        """Raise the standard message for data outside the support."""
        count = int(np.count_nonzero(bad))
        raise ValueError(
            f"`x` has {count} value(s) outside the support of {cls.__name__} ({what}), "
            f"e.g. {fmt_value(x[bad][0])}."
        )


_FLOAT64 = np.dtype(np.float64)

_NO_OPTIONS = ({}, None, None)
_PLE_DEFAULTS: dict = {}
_FLOAT_FIT_FAMILIES: set = set()  # the classes that define Distribution._fit_floats


def _ple_defaults(cls):
    """The defaults of ``fit_ple``'s options of a family, what an analytic PLE with them
    records in ``info`` and the options of its refit: built once per class, shared, read
    only (the single-fit path)."""
    cached = _PLE_DEFAULTS.get(cls)
    if cached is None:
        options = {key: default for key, (default, _) in cls._ple_options.items()}
        cached = (options, {"estimator": "closed-form PLE", **options},
                  {"method": "analytic", **options})
        _PLE_DEFAULTS[cls] = cached
    return cached


def _plain_data(x, n_min):
    """Whether ``x`` is one data set that ``as_data`` returns unchanged and that has at
    least ``n_min`` observations: a 1-D float64 ndarray of finite values."""
    return (type(x) is np.ndarray and x.ndim == 1 and x.dtype is _FLOAT64
            and x.shape[0] >= max(n_min, 1) and math.isfinite(np.add.reduce(x, axis=None)))


def _frozen(value):
    arr = np.array(value, dtype=np.float64, copy=True)
    arr.flags.writeable = False
    return arr


def _frozen_float(value: float):
    arr = np.array(value)  # a Python float gives a float64 0-d array
    arr.setflags(write=False)  # (cheaper than arr.flags.writeable = False)
    return arr


def _unbox_one(value):
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr


def _unbox(values):
    return tuple(_unbox_one(v) for v in values)


def _fixed_kwargs(fixed):
    return {name: np.asarray(value) for name, value in fixed.items()}


class _ClosedFormRefit(Refit):
    """The refit of a closed-form fit: ``fit(x, **options, **fixed)``.

    The ``functools.partial`` is built on first use, so a fit whose refit is
    never called does not pay for it.
    """

    def __init__(self, fit, options, fixed):
        self.fit, self.options, self.fixed = fit, options, fixed
        self.random = False

    @property
    def func(self):
        return functools.partial(self.fit, **self.options, **_fixed_kwargs(self.fixed))


def _rebuild(cls, values):
    return cls._from_trusted(values)


def _as_shape(shape, name):
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(as_int(s, name, minimum=0) for s in shape)
    except TypeError:
        raise TypeError(f"`{name}` must be a tuple of non-negative ints; got {shape!r}.") from None
    return shape
