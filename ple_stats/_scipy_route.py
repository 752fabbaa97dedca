"""Data-driven PLE for any ``scipy.stats`` distribution, on the PLE engine."""

from __future__ import annotations

import itertools
import numbers
import warnings
from collections import namedtuple

import numpy as np

from ._engine import engine_info, solve_chunks, unbox, warn_not_converged
from ._lib.executor import check_executor
from ._result import FitResult, Refit
from ._scipy_model import (Coords, ScipyModel, anchor_for, describe, fit_mle_batched,
                           parse_fixed)
from ._scipy_starts import batched_start, trusted
from ._validation import as_data, as_int, as_rng, fmt_value
from ._warnings import NoMLEWarning

__all__ = ["fit_ple", "NoMLEWarning", "FittedDistribution"]


_PARAMS_TYPES = {}


def _params_type(name, fields):
    """The named tuple of a distribution's parameters, one class per name and fields (so
    results of two calls compare alike), picklable although it is made at run time."""
    key = (name, tuple(fields))
    cls = _PARAMS_TYPES.get(key)
    if cls is None:
        cls = namedtuple(name, fields)
        cls.__reduce__ = lambda self: (_rebuild_params, (name, key[1], tuple(self)))
        _PARAMS_TYPES[key] = cls
    return cls


def _rebuild_params(name, fields, values):
    return _params_type(name, fields)(*values)


def _fit_ple_statsmodels(model, data, *, estimator="mle", **options):
    from ._regression._fit import fit_ple_regression

    if data is not None:
        raise TypeError("a statsmodels model carries its own data: call fit_ple(model), "
                        "without `data`.")
    return fit_ple_regression(model, estimator=estimator, **options)


def _as_tol(tol):
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"`tol` must be a positive number; got {type(tol).__name__} {tol!r}.")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"`tol` must be a positive finite number; got {tol!r}.")
    return float(tol)


def fit_ple(dist, data=None, *, m=100, rng=None, tol=1e-8, max_iter=30, n_jobs=1,
            backend="loky", progress=None, **fit_kwds):
    r"""Bootstrap PLE for any ``scipy.stats`` distribution or statsmodels regression model.

    ``fit_ple(model)`` with an unfitted statsmodels model (``GLM``,
    ``Logit``, ``Probit``, ``Poisson``, ``NegativeBinomial``, ``OLS``,
    ``WLS``, also built from a formula) debiases its coefficients and
    dispersion and returns a :class:`~ple_stats.RegressionResult`; it takes
    ``estimator="mle"`` (default) or ``"firth"`` besides ``m``, ``rng``,
    ``tol``, ``max_iter``, ``n_jobs``, ``backend`` and ``progress``. See
    the user guide, "Debiasing regression models". What follows describes
    scipy distributions.

    The estimator ``T`` is maximum likelihood on the distribution's own
    vectorised ``logpdf`` (``logpmf`` for discrete distributions), computed by
    a batched, warm-started Newton iteration. Its binding function
    ``b(theta) = E_theta[T(Y)]`` is estimated from ``m`` synthetic data sets
    ``Y_j = dist.ppf(U_j, theta)`` made from one fixed array of uniforms
    ``U`` (common random numbers), all fitted at once, and
    ``b_m(theta) = T(data)`` is solved for the free parameters by the PLE
    engine (quasi-Newton for continuous distributions; for discrete ones,
    whose ``b_m`` is a step function, a bracketed root finder for one free
    parameter and a secant chord iteration for several).

    Parameters
    ----------
    dist : scipy distribution or statsmodels model
        Unfrozen: an ``rv_continuous`` (``scipy.stats.gamma``), an
        ``rv_discrete`` (``scipy.stats.nbinom``) or a class of scipy's new
        infrastructure (``scipy.stats.Normal``, ``scipy.stats.make_distribution(...)``);
        or an unfitted statsmodels regression model (then ``data`` is not
        given: the model carries it).
    data : array_like of shape (..., n)
        Observations along the last axis; leading axes are independent data
        sets, all solved in one batched call. Required for a scipy
        distribution.
    m : int
        Number of synthetic data sets (at least 2).
    rng : None, int or numpy.random.Generator
        Randomness of the synthetic data.
    tol : float
        Tolerance of the residual, in the unconstrained coordinates of each
        parameter (relative for positive parameters, in units of the fitted
        scale for a location). For discrete distributions the solve stops
        once the residual is a tenth of its Monte Carlo error.
    max_iter : int
        Maximum iterations of the root finder.
    n_jobs : int
        Worker processes over chunks of data sets (``-1``: all cores).
        Results are identical for any ``n_jobs`` with the same seed.
    backend : {"loky", "dask"}
        ``"dask"`` runs the chunks on the current ``dask.distributed`` client.
    progress : bool, optional
        A progress bar over chunks of data sets (default: when stderr is a
        terminal).
    **fit_kwds
        Fixed parameters, as in scipy's ``fit``: ``floc``, ``fscale``, ``f0``,
        ``fa``/``fix_a`` (by position or name of the shape); for the new
        infrastructure ``f<name>`` (``fsigma=1``). For discrete distributions
        ``loc`` is fixed at 0 unless given, and integer-valued shapes (binom's
        ``n``) must be fixed (``fn=20``).

    Returns
    -------
    FitResult
        ``params`` is a named tuple of the distribution's parameters
        (``(*shapes, loc, scale)``, ``(*shapes, loc)`` for discrete ones, the
        class's own names for the new infrastructure); ``dist`` the fitted
        scipy distribution; ``info`` holds ``mle`` (the estimator ``T`` on the
        data), ``residual``, ``residuals``, ``n_iter``, ``converged``,
        ``mc_se``, ``mle_at_bound`` (the MLE does not exist: it runs to the
        edge of a parameter's domain) and ``synthetic_at_bound`` (the fraction
        of synthetic fits that do).

    Raises
    ------
    TypeError
        A frozen or non-scipy ``dist``, unknown fit keywords, non-numeric
        arguments.
    ValueError
        Non-finite or empty data, data outside the support at the fixed
        parameters, fixed values outside their domain, integer-valued shapes
        left free, ``m < 2``, a non-positive ``tol``.

    Warns
    -----
    ConvergenceWarning
        A solve stopped at ``max_iter``.
    NoMLEWarning
        The MLE of some data set does not exist.

    Notes
    -----
    Cost: every evaluation of ``b_m`` fits ``m`` synthetic sets per data set,
    each a few Newton steps from a warm start, on one stencil of ``logpdf``
    evaluations. For location-scale distributions the synthetic sets are
    fitted in standardised form, once per value of the shapes (the fits of the
    last few points are kept), so ``loc`` and ``scale`` cost nothing extra.
    Each value of the shapes visited draws ``m * n`` quantiles (a solve visits
    at least two); where scipy's ``fit`` is a closed form (``gamma`` with
    ``floc=0``) these quantiles, not the fits, set the cost. ``T`` on the
    observed data starts from a batched estimate where one is registered
    (``genextreme``: L-moments; ``t``: median and quantiles; a data set that
    does not reach a regular interior maximum from it is started again from
    scipy's fit, keeping the higher maximum), from scipy's own ``dist.fit``
    otherwise (continuous) or
    from a grid search (discrete and new infrastructure), and is polished by
    the same Newton iteration, so observed and synthetic data are fitted by
    the same estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> import ple_stats
    >>> x = stats.gamma(2.0, scale=3.0).rvs(size=15, random_state=0)
    >>> res = ple_stats.fit_ple(stats.gamma, x, m=30, rng=0, floc=0)
    >>> res.params._fields
    ('a', 'loc', 'scale')
    >>> bool(res.params.a < res.info["mle"].a)  # the MLE of the shape is biased up
    True
    """
    from ._regression._spec import is_statsmodels_model

    if is_statsmodels_model(dist):
        return _fit_ple_statsmodels(dist, data, m=m, rng=rng, tol=tol, max_iter=max_iter,
                                    n_jobs=n_jobs, backend=backend, progress=progress,
                                    **fit_kwds)
    if data is None:
        raise TypeError("fit_ple() needs `data` for a scipy distribution: fit_ple(dist, data).")
    spec = describe(dist)
    m = as_int(m, "m", minimum=2)
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    tol = _as_tol(tol)
    n_jobs, backend = check_executor(n_jobs, backend)
    rng = as_rng(rng)
    fixed = parse_fixed(spec, fit_kwds)
    x = as_data(data, "data")
    n = x.shape[-1]
    batch = x.shape[:-1]
    flat = x.reshape(-1, n)
    free = [name for name in spec.names if name not in fixed]
    _check_support(spec, fixed, free, flat)

    t_obs, center, spread, mle_at_bound, at_bound_params = _observed_fit(
        spec, fixed, free, flat, fit_kwds)
    model = ScipyModel(spec, fixed, t_obs, center, spread)
    out = solve_chunks(model, flat, m, rng, tol=tol, max_iter=max_iter, n_jobs=n_jobs,
                       backend=backend, progress=progress, desc=f"PLE {spec.name}")
    label = spec.label()
    warn_not_converged(out.converged | out.extra["skipped"], f"PLE of {label}", max_iter,
                       stacklevel=2)
    if mle_at_bound.any():
        names = sorted({name for j, name in enumerate(free) if at_bound_params[:, j].any()})
        warnings.warn(
            f"the maximum-likelihood estimate of {label} does not exist for "
            f"{int(np.count_nonzero(mle_at_bound))} of {mle_at_bound.size} data set(s): "
            f"{', '.join(f'`{n_}`' for n_ in names)} runs to the edge of its domain. The "
            "values reported for them are at the edge of the fitting box, not estimates; "
            "see res.info['mle_at_bound'].", NoMLEWarning, stacklevel=2)

    skipped = out.extra["skipped"] & ~mle_at_bound
    if skipped.any():
        # synthetic fits that ran to infinity, or only fits that did not converge (a
        # maximum on the edge of the support or at a kink of the likelihood)
        escaped = np.any(out.extra["synthetic_at_bound"][skipped] > 0)
        reason = ("have no MLE themselves (a parameter runs to infinity), so the binding "
                  "function E[T] is infinite in this parametrisation" if escaped else
                  "have no MLE that the batched Newton fit reaches (it did not converge: "
                  "the maximum may lie on the edge of the support or at a kink of the "
                  "likelihood), so the binding function cannot be computed")
        warnings.warn(
            f"the PLE of {label} is not defined for {int(np.count_nonzero(skipped))} of "
            f"{skipped.size} data set(s): some synthetic data sets drawn at their MLE "
            f"{reason}. They are left at the MLE with converged=False; see "
            "res.info['binding_undefined'], res.info['synthetic_at_bound'] and "
            "res.info['synthetic_not_converged'].", NoMLEWarning, stacklevel=2)

    names = list(spec.names)
    params_type = _params_type(f"{spec.name}_params", names)
    full = np.empty((flat.shape[0], len(names)))
    mle_full = np.empty_like(full)
    for i, name in enumerate(names):
        if name in fixed:
            full[:, i] = mle_full[:, i] = fixed[name]
        else:
            full[:, i] = out.theta[:, free.index(name)]
            mle_full[:, i] = t_obs[:, free.index(name)]

    def shaped(column):
        return unbox(column.reshape(batch))

    params = params_type(*(shaped(full[:, i]) for i in range(len(names))))
    info = engine_info(out, params_type, names, free, batch, m=m,
                       estimator=(f"bootstrap PLE over the batched MLE of {label}, common "
                                  "random numbers" + (" (step-function solver)"
                                                      if spec.discrete else "")))
    info.update({
        "mle": params_type(*(shaped(mle_full[:, i]) for i in range(len(names)))),
        "mle_at_bound": unbox(mle_at_bound.reshape(batch)),
        "binding_undefined": unbox(out.extra["skipped"].reshape(batch)),
        "synthetic_at_bound": shaped(out.extra["synthetic_at_bound"]),
        "synthetic_not_converged": shaped(out.extra["synthetic_not_converged"]),
        "fixed": tuple(name for name in names if name in fixed),
    })
    if "tolerance" in out.extra:
        info["tolerance"] = shaped(out.extra["tolerance"])
    frozen = _frozen(spec, params)
    refit = Refit(_ScipyRefit(dist, m, tol, max_iter, fit_kwds), random=True)
    return FitResult(params=params, dist=frozen, method="ple", n=n, info=info, refit=refit)


def _frozen(spec, params):
    values = params._asdict()
    if spec.kind == "new":
        return FittedDistribution(spec.dist, values)
    # positional, so that ``frozen.args`` holds every parameter (the parametric
    # bootstrap of FitResult.confidence_interval draws from ``dist.dist.rvs(*args)``)
    return spec.dist(*(values[name] for name in spec.names))


class FittedDistribution:
    """A fitted distribution of scipy's new infrastructure, with ple_stats' sampler.

    Everything of the scipy object (``logpdf``, ``mean``, ``support``, ...) is
    available as an attribute; :meth:`sample` follows ple_stats' convention
    (``(*sample_shape, *batch_shape, n)``), so confidence intervals work as for
    every other fit. ``scipy`` is the scipy distribution object itself.
    """

    def __init__(self, cls, values):
        self.cls = cls
        self.values = values
        self.scipy = cls(**values)

    @property
    def batch_shape(self):
        return np.shape(next(iter(self.values.values())))

    def sample(self, n, rng=None, *, sample_shape=()):
        n = as_int(n, "n", minimum=1)
        shape = self.batch_shape + (n,)
        inst = self.cls(**{k: np.broadcast_to(np.asarray(v, dtype=float)[..., None], shape)
                           for k, v in self.values.items()})
        return inst.sample(shape=tuple(sample_shape), rng=as_rng(rng))

    def __reduce__(self):  # rebuilt from its parameters (scipy's objects need this)
        return (FittedDistribution, (self.cls, self.values))

    def __getattr__(self, name):
        if name in ("cls", "values", "scipy"):
            raise AttributeError(name)
        return getattr(self.scipy, name)

    def __repr__(self):
        return f"FittedDistribution({self.scipy!r})"


# --------------------------------------------------------------------------- support


def _candidates(spec, name, data, count=5):
    """A few valid values of a free parameter (for support checks and grid starts)."""
    lo, hi = spec.domains[name]
    spread = float(np.std(data)) or 1.0
    if np.isfinite(lo) and np.isfinite(hi):
        t = 0.5 * (1.0 + np.tanh(0.5 * np.linspace(-6.0, 6.0, count)))
        return lo + (hi - lo) * t
    if np.isfinite(lo):
        return lo + np.unique(np.concatenate([np.geomspace(1e-3, 1e3, count),
                                              spread * np.geomspace(1e-2, 1e2, count)]))
    if np.isfinite(hi):
        return hi - np.geomspace(1e-3, 1e3, count)
    center = float(np.median(data))
    return center + spread * np.linspace(-3.0, 3.0, count)


def _support_at(spec, values):
    with np.errstate(all="ignore"):
        if spec.kind == "new":
            lo, hi = spec.dist(**values).support()
            return float(lo), float(hi)
        shapes = [values[s] for s in spec.shape_names]
        if not np.all(spec.dist._argcheck(*shapes)):
            return None
        lo, hi = spec.dist._get_support(*shapes)
        return float(lo), float(hi)


def _check_support(spec, fixed, free, x):
    """Data outside the support at the fixed parameters (and integers for discrete)."""
    label = spec.label()
    if spec.discrete:
        bad = x != np.floor(x)
        if bad.any():
            raise ValueError(f"`data` must hold integers for the discrete {label}; got "
                             f"{int(np.count_nonzero(bad))} non-integer value(s), e.g. "
                             f"{fmt_value(x[bad][0])}.")
    # Which of the support's ends the fixed parameters determine: the support of
    # the standard distribution must be the same at every candidate value of the
    # free shapes, and for the classic location-scale ones loc (and, unless the
    # end is 0, scale) must be fixed.
    free_shapes = [name for name in free if name in spec.shape_names]
    grids = [_candidates(spec, name, x, 4) for name in free_shapes]
    ends = set()
    for combo in itertools.product(*grids) if grids else [()]:
        values = {name: fixed[name] for name in spec.shape_names if name in fixed}
        values.update(dict(zip(free_shapes, combo)))
        try:
            support = _support_at(spec, values)
        except Exception:
            return
        if support is None:
            continue
        ends.add(support)
    if len(ends) != 1:
        return
    lo, hi = ends.pop()
    if spec.kind == "continuous":
        if "loc" not in fixed:
            return
        loc = fixed["loc"]
        scale = fixed.get("scale")
        lo = loc + (scale if scale is not None else 1.0) * lo if (scale is not None or lo == 0) \
            else -np.inf
        hi = loc + (scale if scale is not None else 1.0) * hi if (scale is not None or hi == 0) \
            else np.inf
    elif spec.kind == "discrete":
        lo, hi = lo + fixed["loc"], hi + fixed["loc"]
    bad = (x < lo) | (x > hi)
    if bad.any():
        held = ", ".join(f"{k}={v!r}" for k, v in fixed.items())
        raise ValueError(
            f"`data` has {int(np.count_nonzero(bad))} value(s) outside the support "
            f"[{lo}, {hi}] of {label}" + (f" with {held} fixed" if held else "")
            + f", e.g. {fmt_value(x[bad][0])}.")


# --------------------------------------------------------------------------- observed fit


def _fast_starts(spec, fixed, free, x):
    """Starts from the exact batched MLE of :mod:`ple_stats._scipy_fast` where one is
    registered and finite for every data set (else None: scipy's fit gives them)."""
    from ._scipy_fast import fast_mle

    fn = fast_mle(spec, free)
    if fn is None:
        return None
    values, _, _ = fn(x, {name: float(value) for name, value in fixed.items()},
                      np.full((x.shape[0], len(free)), np.nan))
    if not np.all(np.isfinite(values)):
        return None
    return {name: values[:, j] for j, name in enumerate(free)}


def _observed_fit(spec, fixed, free, x, fit_kwds):
    """T on the observed data: a start polished by the batched MLE.

    The start of a continuous distribution is the exact batched MLE where
    :mod:`ple_stats._scipy_fast` has one, else a batched estimate of
    :mod:`ple_stats._scipy_starts` where one is registered, else scipy's own
    ``dist.fit``. A data set whose polish from a batched estimate does not reach
    a regular interior maximum (:func:`ple_stats._scipy_starts.trusted`) is
    polished again from scipy's fit, and the higher of the two maxima is kept; a
    data set without a finite start, or whose maximum is still ``-inf`` (a start
    outside the support), starts from the best point of a grid. Discrete
    distributions and the new infrastructure start from the grid.

    Returns ``t_obs (size, k)``, the coordinates' ``center``/``spread`` and the
    MLE-at-the-edge flags (per data set and per parameter).
    """
    size, n = x.shape
    starts = {name: np.full(size, value, dtype=float) for name, value in fixed.items()}
    batched = np.zeros(size, dtype=bool)  # data sets started from a batched estimate
    if spec.kind == "continuous":
        found = _fast_starts(spec, fixed, free, x)
        if found is None:
            found = batched_start(spec, fixed, x)
            if found is not None:
                found = {name: np.array(found[name], dtype=float) for name in free}
                batched = _finite_rows(found, free)
                _fill_rows(found, ~batched, lambda rows: _scipy_starts(spec, fit_kwds, free,
                                                                       x[rows]))
        if found is None:
            found = _scipy_starts(spec, fit_kwds, free, x)
        starts.update(found)
        # scipy's fit failed (it raised): the grid
        _fill_rows(starts, ~_finite_rows(starts, free),
                   lambda rows: _grid_start(spec, fixed, free, x[rows]))
    else:
        starts.update(_grid_start(spec, fixed, free, x))
    bad = ~_finite_rows(starts, free)
    if bad.any():
        raise ValueError(f"no starting fit for the data set at index "
                         f"{int(np.flatnonzero(bad)[0])} of `data` (scipy's fit and a grid "
                         "search failed).")
    t_obs, value, per_param, converged = _polish(spec, free, x, starts)
    if batched.any():
        kept = (converged & ~per_param.any(axis=-1) & np.isfinite(value)
                & trusted(spec, dict(zip(free, t_obs.T))))
        again = batched & ~kept
        if again.any():
            _refit_from(spec, free, x, again, starts, t_obs, value, per_param,
                        lambda rows: _scipy_starts(spec, fit_kwds, free, x[rows]))
    if spec.kind == "continuous" and not np.all(np.isfinite(value)):
        # a start outside the support (scipy's fit of the three-parameter weibull_min
        # can put loc above the smallest observation): the best point of a grid instead
        _refit_from(spec, free, x, ~np.isfinite(value), starts, t_obs, value, per_param,
                    lambda rows: _grid_start(spec, fixed, free, x[rows]))
    if not np.all(np.isfinite(value)):
        i = int(np.flatnonzero(~np.isfinite(value))[0])
        raise ValueError(f"the log-likelihood of {spec.label()} is -inf at every parameter "
                         f"tried for the data set at index {i} of `data`: are the data in "
                         "its support?")
    center, spread = _reference(spec, free, x, starts)
    domains = [spec.domains[name] for name in free]
    center = np.where([c == "identity" for c in Coords.for_domains(domains).kinds], t_obs,
                      center)
    return t_obs, center, spread, per_param.any(axis=-1), per_param


def _finite_rows(values, free):
    """Data sets whose values of every free parameter are finite."""
    return np.all(np.isfinite(np.stack([values[name] for name in free], axis=-1)), axis=-1)


def _fill_rows(values, rows, new_values):
    """Replace, in place, the values of the data sets ``rows`` by ``new_values(rows)``."""
    rows = np.flatnonzero(rows)
    if rows.size:
        for name, value in new_values(rows).items():
            values[name][rows] = value


def _refit_from(spec, free, x, rows, starts, t_obs, value, per_param, new_starts):
    """Polish the starts ``new_starts(rows)`` of the data sets ``rows`` and keep, in
    place, the fits with a log-likelihood at least as high as the maxima found so far."""
    rows = np.flatnonzero(rows)
    sub = {name: v[rows] for name, v in starts.items()}
    sub.update(new_starts(rows))
    finite = _finite_rows(sub, free)
    rows = rows[finite]
    sub = {name: v[finite] for name, v in sub.items()}
    if rows.size == 0:
        return
    t_new, v_new, p_new, _ = _polish(spec, free, x[rows], sub)
    take = ~(v_new < value[rows])
    pick = rows[take]
    t_obs[pick], value[pick], per_param[pick] = t_new[take], v_new[take], p_new[take]
    for name in free:
        starts[name][pick] = sub[name][take]


def _scipy_starts(spec, fit_kwds, free, x):
    fits = np.array([_scipy_fit(spec, row, fit_kwds) for row in x]).reshape(len(x), -1)
    return {name: fits[:, i] for i, name in enumerate(spec.names) if name in free}


def _polish(spec, free, x, starts):
    """The batched MLE from ``starts``: ``(t_obs, loglik, per-parameter edge flags,
    converged)``."""
    size = x.shape[0]
    domains = [spec.domains[name] for name in free]
    if spec.kind == "continuous":
        # Fitted in standardised form, like the synthetic sets (the MLE is
        # location-scale equivariant): z = (x - loc0) / scale0.
        loc0, scale0 = starts["loc"], starts["scale"]
        std = {name: (np.zeros(size) if name == "loc" else np.ones(size) if name == "scale"
                      else value) for name, value in starts.items()}
        fit, res = fit_mle_batched(spec, (x - loc0[:, None]) / scale0[:, None], std, free,
                                   Coords.for_domains(domains))
        t_obs = fit.copy()
        for j, name in enumerate(free):
            if name == "loc":
                t_obs[:, j] = loc0 + scale0 * fit[:, j]
            elif name == "scale":
                t_obs[:, j] = scale0 * fit[:, j]
        per_param = Coords.for_domains(domains).escaped(res.u)
        # the log-likelihood of x, not of the standardised data
        value = np.asarray(res.value, dtype=float) - x.shape[-1] * np.log(scale0)
    else:
        center, spread = _reference(spec, free, x, starts)
        coords = Coords.for_domains(domains, center, spread,
                                    anchor_for(domains, np.stack([starts[n] for n in free], -1)))
        t_obs, res = fit_mle_batched(spec, x, starts, free, coords)
        per_param = coords.escaped(coords.to_u(t_obs))
        value = np.array(res.value, dtype=float)
    return t_obs, value, per_param, res.converged


def _reference(spec, free, x, starts):
    """Centre and spread of the identity coordinates (a location over its scale)."""
    size = x.shape[0]
    std = np.std(x, axis=-1)
    data_scale = np.where(std > 0, std, 1.0)
    center = np.zeros((size, len(free)))
    spread = np.ones((size, len(free)))
    for j, name in enumerate(free):
        center[:, j] = starts[name]
        if name == "loc" and "scale" in spec.names:
            scale = starts["scale"]
            spread[:, j] = np.where(np.isfinite(scale) & (scale > 0), scale, data_scale)
        elif spec.kind == "new" or name == "loc":
            spread[:, j] = data_scale
    return center, spread


def _scipy_fit(spec, row, fit_kwds):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                return np.asarray(spec.dist.fit(row, **fit_kwds), dtype=float)
    except Exception:  # scipy's FitError and friends: reported by the caller
        return np.full(len(spec.names), np.nan)


def _grid_start(spec, fixed, free, x, count=9):
    """Best point of a grid over the free parameters, per data set."""
    grids = [_candidates(spec, name, x, count) for name in free]
    while np.prod([len(g) for g in grids]) > 4096:
        grids = [g[::2] for g in grids]
    points = np.array(list(itertools.product(*grids)))  # (G, k)
    size = x.shape[0]
    values = {name: np.full((len(points), size), value) for name, value in fixed.items()}
    for j, name in enumerate(free):
        values[name] = np.broadcast_to(points[:, j, None], (len(points), size))
    from ._scipy_model import _logdensity

    ll = _logdensity(spec, x, values)  # (G, size)
    best = np.argmax(ll, axis=0)
    return {name: points[best, j] for j, name in enumerate(free)}


class _ScipyRefit:
    def __init__(self, dist, m, tol, max_iter, fit_kwds):
        self.args = (dist, m, tol, max_iter, fit_kwds)

    def __call__(self, x, rng=None):
        dist, m, tol, max_iter, fit_kwds = self.args
        return fit_ple(dist, x, m=m, rng=rng, tol=tol, max_iter=max_iter, progress=False,
                       **fit_kwds)
