"""scipy distributions as models of the PLE engine.

:class:`ScipySpec` describes a scipy distribution (``rv_continuous``,
``rv_discrete``, or a class of scipy's new infrastructure such as
``stats.Normal`` or one made by ``stats.make_distribution``): its parameter
names, their domains and which are integer-valued. :class:`ScipyModel` is
the engine's adapter (:class:`ple_stats._engine.BindingModel`):

* base draws are uniforms; synthetic data are ``dist.ppf(U, theta)``
  (integers for discrete distributions);
* the estimator ``T`` is the batched, warm-started maximum likelihood of
  :func:`ple_stats._batched_mle.maximize_batched` on the distribution's own
  vectorised ``logpdf`` (``logpmf``), over all synthetic sets of all data sets
  at once; each synthetic fit starts at the ``theta`` that generated it (or,
  once fitted, at its previous fit shifted by the change of ``theta``); where
  :mod:`ple_stats._scipy_fast` registers an exact MLE for the distribution and
  its fixed parameters (gamma, lognorm, weibull_min with ``loc`` fixed; beta
  with ``loc`` and ``scale`` fixed; norm), that estimator is ``T`` instead, for
  the observed and the synthetic data alike; for ``t`` and ``genextreme``,
  :mod:`ple_stats._scipy_loglik` sums the log-density with scipy's own
  arithmetic (the same numbers) but its parameter-only terms once per data set;
* coordinates: log of the distance to a finite end of a parameter's domain,
  logit inside a bounded domain, and for real parameters (``loc``) the value
  centred at the data's MLE and divided by a reference scale, so that every
  finite-difference step is relative to the parameter's own scale.

Location-scale distributions (the classic ``rv_continuous``) are fitted on
standardised data: the MLE is equivariant, ``T(loc + scale Z) =
(shapes(Z), loc + scale loc(Z), scale scale(Z))``, so the synthetic sets are
fitted once per value of the *shapes*, and moving ``loc`` or ``scale`` costs
nothing.
"""

from __future__ import annotations

import numpy as np

from ._batched_mle import MaximizeResult, maximize_batched
from ._engine import BindingModel
from ._scipy_direct import _discrete_ppf, _fast_logdensity, _standard_ppf
from ._scipy_fast import fast_mle
from ._scipy_loglik import summed_logpdf

__all__ = ["ScipySpec", "ScipyModel", "Coords", "fit_mle_batched", "describe"]

#: scipy marks these shapes integer-valued, but they are real parameters of the
#: distribution (nbinom's n is its dispersion).
_REAL_SHAPES = {("nbinom", "n")}

#: Relative finite-difference step of the inner maximum likelihood (central
#: differences: truncation ~h^2, rounding ~eps/h^2 in the Hessian).
_H = 2e-5

#: Box of the inner fits in unconstrained coordinates: a dimensionless positive
#: shape between 1e-6 and 1e6, a logit within +-14 (1e-6 .. 1 - 1e-6), a
#: standardised location within 1e6 scales and a standardised log scale within
#: +-14. An MLE that reaches the box does not exist in the interior (e.g. a t
#: fit whose df runs to infinity) and is flagged.
_BOX = {"log": 13.815510557964274, "logit": 13.815510557964274, "identity": 1e6}

_ENDPOINT_ZERO = 1e-300  # scipy writes open (0, inf) domains as (5e-324, inf)


class ScipySpec:
    """Parameters of a scipy distribution: names, domains, integrality, kind.

    ``kind`` is ``"continuous"`` (``rv_continuous``: shapes, ``loc``, ``scale``),
    ``"discrete"`` (``rv_discrete``: shapes, ``loc``) or ``"new"`` (scipy's new
    infrastructure: the class's parameters, continuous or discrete).
    """

    def __init__(self, dist, kind, names, domains, integer, discrete):
        self.dist = dist
        self.kind = kind
        self.names = tuple(names)
        self.domains = domains  # name -> (lower, upper)
        self.integer = integer  # name -> bool
        self.discrete = discrete
        self.name = getattr(dist, "name", None) or getattr(dist, "__name__", "distribution")
        #: evaluate scipy's private density methods directly (classic distributions)
        self.fast = kind != "new"

    @property
    def shape_names(self):
        if self.kind == "new":
            return self.names
        return tuple(n for n in self.names if n not in ("loc", "scale"))

    def label(self):
        return f"scipy.stats.{self.name}"


def _as_endpoint(value, default):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    if value != 0.0 and abs(value) < 1e-300:
        return 0.0
    return value


def describe(dist):
    """The :class:`ScipySpec` of an unfrozen scipy distribution, or TypeError."""
    from scipy import stats
    from scipy.stats import _distribution_infrastructure as infra

    if isinstance(dist, stats.rv_continuous) or isinstance(dist, stats.rv_discrete):
        discrete = isinstance(dist, stats.rv_discrete)
        shapes = [s.strip() for s in (dist.shapes or "").split(",") if s.strip()]
        domains, integer = {}, {}
        try:
            info = {s.name: s for s in dist._shape_info()}
        except Exception:  # pragma: no cover - a distribution without shape info
            info = {}
        for name in shapes:
            if name in info:
                lo, hi = info[name].domain
                domains[name] = (_as_endpoint(lo, -np.inf), _as_endpoint(hi, np.inf))
                integer[name] = (bool(info[name].integrality)
                                 and (dist.name, name) not in _REAL_SHAPES)
            else:  # pragma: no cover
                domains[name] = (-np.inf, np.inf)
                integer[name] = False
        names = shapes + ["loc"] + ([] if discrete else ["scale"])
        domains["loc"] = (-np.inf, np.inf)
        integer["loc"] = discrete
        if not discrete:
            domains["scale"] = (0.0, np.inf)
            integer["scale"] = False
        return ScipySpec(dist, "discrete" if discrete else "continuous", names, domains,
                         integer, discrete)
    if isinstance(dist, type) and issubclass(dist, infra.UnivariateDistribution):
        params = dist._parameterizations[0].parameters if dist._parameterizations else {}
        domains, integer = {}, {}
        for name, param in params.items():
            lo, hi = param.domain.endpoints
            domains[name] = (_as_endpoint(lo, -np.inf), _as_endpoint(hi, np.inf))
            integer[name] = False
        discrete = issubclass(dist, infra.DiscreteDistribution)
        spec = ScipySpec(dist, "new", list(params), domains, integer, discrete)
        spec.name = dist.__name__
        return spec
    if isinstance(dist, (stats.distributions.rv_frozen,)) or isinstance(
            dist, infra.UnivariateDistribution):
        name = getattr(getattr(dist, "dist", None), "name", None) or type(dist).__name__
        raise TypeError(
            f"`dist` is a frozen distribution ({name} with its parameters set); pass the "
            f"unfrozen one, e.g. scipy.stats.{name} (or the class scipy.stats.{name} of the "
            "new infrastructure), and hold parameters fixed by keyword (floc=0, f0=2, ...).")
    raise TypeError("`dist` must be an unfrozen scipy.stats distribution such as "
                    "scipy.stats.gamma, scipy.stats.nbinom or scipy.stats.Normal; got "
                    f"{type(dist).__name__}.")


def parse_fixed(spec, fit_kwds):
    """Fixed parameters from scipy-style keywords (``floc``, ``fscale``, ``f0``, ``fa``,
    ``fix_a``; for the new infrastructure ``f<name>``/``f<index>``), validated."""
    shapes = spec.shape_names
    fixed, given = {}, {}
    for key, value in fit_kwds.items():
        name = None
        if key == "floc" and "loc" in spec.names:
            name = "loc"
        elif key == "fscale" and "scale" in spec.names:
            name = "scale"
        elif key.startswith("fix_") and key[4:] in shapes:
            name = key[4:]
        elif key.startswith("f") and key[1:].isdigit() and int(key[1:]) < len(shapes):
            name = shapes[int(key[1:])]
        elif key.startswith("f") and key[1:] in shapes:
            name = key[1:]
        if name is None:
            allowed = [f"f{n}" for n in shapes] + [f"f{i}" for i in range(len(shapes))]
            allowed += [p for p in ("floc", "fscale") if p[1:] in spec.names]
            raise TypeError(
                f"fit_ple() got an unexpected keyword argument {key!r} for "
                f"{spec.label()}; parameters are fixed with {allowed}.")
        if name in given:
            raise TypeError(f"`{name}` is fixed twice (by `{given[name]}` and `{key}`); "
                            "fix it once.")
        given[name] = key
        fixed[name] = _fixed_value(spec, name, key, value)
    if spec.kind == "discrete" and "loc" not in fixed:
        fixed["loc"] = 0.0
    for name in spec.names:
        if spec.integer.get(name) and name not in fixed:
            raise ValueError(
                f"`{name}` of {spec.label()} is integer-valued and cannot be estimated by a "
                f"smooth fit: fix it by keyword, e.g. f{name}=20 (or "
                f"f{shapes.index(name) if name in shapes else name}=20).")
    if len(fixed) == len(spec.names):
        raise ValueError(f"all parameters of {spec.label()} are fixed "
                         f"({', '.join(f'{k}={v!r}' for k, v in fixed.items())}): there is "
                         "nothing to fit.")
    return fixed


def _fixed_value(spec, name, key, value):
    if isinstance(value, (str, bytes)) or isinstance(value, bool):
        raise TypeError(f"`{key}` (the fixed `{name}`) must be a real number; got "
                        f"{type(value).__name__} {value!r}.")
    if np.ndim(value) != 0:
        raise ValueError(f"`{key}` (the fixed `{name}`) must be a single number; got an "
                         f"array of shape {np.shape(value)}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{key}` (the fixed `{name}`) must be a real number; got "
                        f"{type(value).__name__}.") from None
    if isinstance(value, complex) or (hasattr(value, "imag") and np.imag(value) != 0):
        raise TypeError(f"`{key}` (the fixed `{name}`) must be real; got {value!r}.")
    lo, hi = spec.domains[name]
    ok = np.isfinite(number) and lo <= number <= hi
    if name == "scale":
        ok = ok and number > 0
    if not ok:
        what = "positive and finite" if name == "scale" else f"finite and in [{lo}, {hi}]"
        raise ValueError(f"`{key}` (the fixed `{name}`) must be {what}; got {value!r}.")
    if spec.integer.get(name) and number != np.floor(number):
        raise ValueError(f"`{key}` (the fixed `{name}`) must be an integer; got {value!r}.")
    return number


# --------------------------------------------------------------------------- coordinates


class Coords:
    """Unconstrained coordinates of a list of parameters (the last axis).

    Kinds: ``"log"`` (``u = log(theta - a)``), ``"neglog"``
    (``u = log(b - theta)``), ``"logit"`` (``u = logit((theta - a) / (b - a))``)
    and ``"identity"`` (``u = (theta - center) / spread``, centre and spread per
    data set, broadcast against ``theta``).
    """

    def __init__(self, kinds, lower, upper, center=None, spread=None, anchor=None):
        self.kinds = list(kinds)
        self.lower = np.asarray(lower, dtype=float)
        self.upper = np.asarray(upper, dtype=float)
        k = len(self.kinds)
        self.center = np.zeros(k) if center is None else np.asarray(center, dtype=float)
        self.spread = np.ones(k) if spread is None else np.asarray(spread, dtype=float)
        #: reference distance to the finite end for log kinds (u = 0 there), so the
        #: box of the fits is relative to it: u = log((theta - a) / anchor)
        self.anchor = np.ones(k) if anchor is None else np.asarray(anchor, dtype=float)

    @classmethod
    def for_domains(cls, domains, center=None, spread=None, anchor=None):
        kinds, lower, upper = [], [], []
        for lo, hi in domains:
            if np.isfinite(lo) and np.isfinite(hi):
                kinds.append("logit")
            elif np.isfinite(lo):
                kinds.append("log")
            elif np.isfinite(hi):
                kinds.append("neglog")
            else:
                kinds.append("identity")
            lower.append(lo)
            upper.append(hi)
        return cls(kinds, lower, upper, center, spread, anchor)

    def subset(self, index):
        """Coordinates with per-data-set centre and spread restricted to ``index``."""
        c, s, r = self.center, self.spread, self.anchor
        return Coords(self.kinds, self.lower, self.upper,
                      c[index] if c.ndim > 1 else c, s[index] if s.ndim > 1 else s,
                      r[index] if r.ndim > 1 else r)

    def repeat(self, m):
        """Coordinates for ``m`` synthetic sets of each data set (flattened (m*size, k))."""
        c, s, r = self.center, self.spread, self.anchor
        return Coords(self.kinds, self.lower, self.upper,
                      np.tile(c, (m, 1)) if c.ndim > 1 else c,
                      np.tile(s, (m, 1)) if s.ndim > 1 else s,
                      np.tile(r, (m, 1)) if r.ndim > 1 else r)

    def _cols(self, values, fn):
        values = np.asarray(values, dtype=float)
        cols = []
        for j, kind in enumerate(self.kinds):
            c = self.center[..., j] if self.center.ndim > 1 else self.center[j]
            s = self.spread[..., j] if self.spread.ndim > 1 else self.spread[j]
            r = self.anchor[..., j] if self.anchor.ndim > 1 else self.anchor[j]
            cols.append(fn(kind, values[..., j], self.lower[j], self.upper[j], c, s, r))
        return np.stack(cols, axis=-1)

    def to_u(self, theta):
        def f(kind, v, a, b, c, s, r):
            with np.errstate(divide="ignore", invalid="ignore"):
                if kind == "log":
                    return np.log((v - a) / r)
                if kind == "neglog":
                    return np.log((b - v) / r)
                if kind == "logit":
                    t = (v - a) / (b - a)
                    return np.log(t) - np.log1p(-t)
                return (v - c) / s
        return self._cols(theta, f)

    def from_u(self, u):
        def f(kind, v, a, b, c, s, r):
            with np.errstate(over="ignore"):
                if kind == "log":
                    return a + r * np.exp(v)
                if kind == "neglog":
                    return b - r * np.exp(v)
                if kind == "logit":
                    return a + (b - a) * 0.5 * (1.0 + np.tanh(0.5 * v))
                return c + s * v
        return self._cols(u, f)

    def jacobian(self, theta):
        """d theta / d u."""
        def f(kind, v, a, b, c, s, r):
            if kind == "log":
                return v - a
            if kind == "neglog":
                return -(b - v)
            if kind == "logit":
                return (v - a) * (b - v) / (b - a)
            return np.broadcast_to(s, np.shape(v)) * np.ones_like(v)
        return self._cols(theta, f)

    def derivative(self, theta):
        """d u / d theta (for statistics measured in these coordinates)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / self.jacobian(theta)

    def escaped(self, u):
        """Which coordinates of ``u`` (..., k) sit on the box towards an *infinite* end
        of the domain (a positive shape or scale running to infinity, a location to
        +-infinity): there the MLE does not exist. (At a finite end, e.g. a
        probability of 0, the box is a negligible distance from the boundary MLE.)"""
        lower, upper = self.box()
        out = np.zeros(np.shape(u), dtype=bool)
        for j, kind in enumerate(self.kinds):
            uj = u[..., j]
            if kind in ("log", "neglog"):
                out[..., j] = uj >= upper[j] - 1e-6
            elif kind == "identity":
                out[..., j] = (uj <= lower[j] + 1e-6) | (uj >= upper[j] - 1e-6)
        return out

    def box(self, scale_names=()):
        lo = np.array([-_BOX[k if k != "neglog" else "log"] for k in self.kinds])
        return lo, -lo


# --------------------------------------------------------------------------- log-likelihoods


def _logdensity(spec, data, values):
    """Summed log density of ``data`` (B, n) under ``values`` (name -> (P, B) arrays)."""
    dist = spec.dist
    args = {name: np.asarray(v)[..., None] for name, v in values.items()}
    with np.errstate(all="ignore"):
        if spec.kind == "new":
            inst = dist(**args, validation_policy="skip_all")
            out = inst.logpmf(data) if spec.discrete else inst.logpdf(data)
        else:
            shapes = [args[n] for n in spec.shape_names]
            summed = summed_logpdf(spec) if spec.fast else None
            if summed is not None:
                total = summed(data, shapes, args["loc"], args["scale"])
                rule = np.isnan(total)
                if rule.any():  # the special cases: scipy's general rule, set by set
                    total[rule] = _scipy_rule_sums(spec, data, shapes, args, rule)
                return np.where(np.isfinite(total), total, -np.inf)
            out = None
            if spec.fast:
                try:
                    out = _fast_logdensity(spec, data, shapes, args)
                except Exception:  # an implementation that does not take this form
                    spec.fast = False
            if out is None and spec.discrete:
                out = dist.logpmf(data, *shapes, loc=args["loc"])
            elif out is None:
                out = dist.logpdf(data, *shapes, loc=args["loc"], scale=args["scale"])
        total = np.sum(out, axis=-1)
    return np.where(np.isfinite(total), total, -np.inf)


def _scipy_rule_sums(spec, data, shapes, args, where):
    """scipy's summed log-density of the (P, B) entries ``where`` (a boolean mask)."""
    shape = where.shape
    pick = np.nonzero(where)
    batch = pick[-1]

    def take(a):
        a = np.broadcast_to(np.asarray(a, dtype=float), shape + (1,))
        return a[pick]

    sub = {"loc": take(args["loc"]), "scale": take(args["scale"])}
    sub_shapes = [take(a) for a in shapes]
    out = spec.dist.logpdf(data[batch], *sub_shapes, loc=sub["loc"], scale=sub["scale"])
    return np.sum(out, axis=-1)


def _uniform_mle(data, fixed, free):
    lo, hi = data.min(axis=-1), data.max(axis=-1)
    if free == ["loc", "scale"]:
        return np.stack([lo, hi - lo], axis=-1)
    if free == ["scale"]:
        return (hi - fixed["loc"])[:, None]
    return None  # loc alone: not unique (any loc in [max - scale, min])


def _expon_mle(data, fixed, free):
    if free == ["loc", "scale"]:
        lo = data.min(axis=-1)
        return np.stack([lo, data.mean(axis=-1) - lo], axis=-1)
    if free == ["scale"]:
        return (data.mean(axis=-1) - fixed["loc"])[:, None]
    return None


def _laplace_mle(data, fixed, free):
    # numpy's median (the mean of the two middle values for even n), as scipy's fit
    loc = np.median(data, axis=-1) if "loc" in free else np.full(data.shape[0], fixed["loc"])
    scale = np.mean(np.abs(data - loc[:, None]), axis=-1)
    if free == ["loc", "scale"]:
        return np.stack([loc, scale], axis=-1)
    if free == ["scale"]:
        return scale[:, None]
    return loc[:, None]


#: Distributions whose likelihood is maximised on the edge of the support or at a kink
#: (not a stationary point, so Newton does not apply), with their vectorised MLE.
_CLOSED_FORM = {"uniform": _uniform_mle, "expon": _expon_mle, "laplace": _laplace_mle}


def closed_form_mle(spec, free):
    """The vectorised closed-form MLE of ``free`` for ``spec``, or None."""
    if spec.kind != "continuous" or spec.name not in _CLOSED_FORM:
        return None
    fn = _CLOSED_FORM[spec.name]
    probe = fn(np.array([[0.0, 1.0]]), {"loc": 0.0, "scale": 1.0}, list(free))
    return None if probe is None else fn


def fit_mle_batched(spec, data, values0, free, coords, *, tol=1e-10, max_iter=60):
    """The batched MLE of the parameters ``free`` on ``data`` (B, n).

    ``values0`` maps every parameter name to its start (free) or value (fixed),
    arrays of shape (B,); ``coords`` are the free parameters' coordinates
    (centre/spread of shape (B, k) or (k,)). Returns ``(values, result)`` with
    ``values`` (B, k) the fitted free parameters and ``result`` the
    :class:`ple_stats._batched_mle.MaximizeResult`.
    """
    k = len(free)
    closed = closed_form_mle(spec, free)
    if closed is not None:
        fixed = {n: np.asarray(v, dtype=float)[0] for n, v in values0.items() if n not in free}
        values = closed(data, fixed, list(free))
        with np.errstate(all="ignore"):
            total = _logdensity(spec, data, {**{n: np.asarray(values0[n]) for n in fixed},
                                             **{n: values[:, j] for j, n in enumerate(free)}})
        size = data.shape[0]
        return values, MaximizeResult(u=coords.to_u(values), value=total, n_iter=0,
                                      converged=np.ones(size, dtype=bool),
                                      at_bound=np.zeros(size, dtype=bool))
    start = np.stack([np.asarray(values0[n], dtype=float) for n in free], axis=-1)
    fast = _fast_fit(spec, data, values0, free, coords, start)
    if fast is not None:
        return fast
    u0 = coords.to_u(start)
    lower, upper = coords.box()
    u0 = np.clip(u0, lower + 1e-6, upper - 1e-6)
    fixed_vals = {}
    for n, v in values0.items():
        if n not in free:
            v = np.asarray(v, dtype=float)
            # a value shared by every problem is passed as a scalar (no copies)
            fixed_vals[n] = v.flat[0] if v.size and np.all(v == v.flat[0]) else v
    per_problem = coords.center.ndim > 1 or coords.anchor.ndim > 1

    def loglik(points, index):
        sub = coords.subset(index) if per_problem else coords
        natural = sub.from_u(points)  # (P, b, k)
        values = {n: (v if np.ndim(v) == 0 else v[index][None, :]) for n, v in fixed_vals.items()}
        for j, n in enumerate(free):
            values[n] = natural[..., j]
        return _logdensity(spec, data[index], values)

    res = maximize_batched(loglik, u0, h=np.full(k, _H), lower=lower, upper=upper, tol=tol,
                           max_iter=max_iter)
    return coords.from_u(res.u), res


def _fast_fit(spec, data, values0, free, coords, start):
    """The exact MLE of :mod:`ple_stats._scipy_fast` where one is registered, else None.

    Used only when every fixed parameter has one value for all problems (as in
    the standardised fits). Values beyond the box of the coordinates are put on
    it and flagged, as the Newton iteration of :func:`fit_mle_batched` would
    leave them (an MLE that runs to infinity).
    """
    fn = fast_mle(spec, free)
    if fn is None:
        return None
    fixed = {}
    for name, value in values0.items():
        if name not in free:
            value = np.asarray(value, dtype=float)
            if value.size == 0 or np.any(value != value.flat[0]):
                return None
            fixed[name] = float(value.flat[0])
    values, converged, total = fn(data, fixed, start)
    lower, upper = coords.box()
    with np.errstate(invalid="ignore"):
        u = coords.to_u(values)
        clipped = np.clip(u, lower, upper)
        moved = np.any(clipped != u, axis=-1) & ~np.any(np.isnan(u), axis=-1)
    if moved.any():
        u = np.where(moved[:, None], clipped, u)
        values = np.where(moved[:, None], coords.from_u(u), values)
        total = np.array(total, dtype=float)
        kept = {n: values[moved, j] for j, n in enumerate(free)}
        total[moved] = _logdensity(spec, data[moved], {**fixed, **kept})
    with np.errstate(invalid="ignore"):
        at_bound = np.any((u <= lower + 1e-9) | (u >= upper - 1e-9), axis=-1)
    return values, MaximizeResult(u=u, value=total, n_iter=0, converged=converged | at_bound,
                                  at_bound=at_bound)


# --------------------------------------------------------------------------- the model


def anchor_for(domains, values):
    """Distances of ``values`` (size, k) to the finite end of each log-kind domain."""
    anchor = np.ones(np.shape(values))
    for j, (lo, hi) in enumerate(domains):
        if np.isfinite(lo) and not np.isfinite(hi):
            anchor[:, j] = values[:, j] - lo
        elif np.isfinite(hi) and not np.isfinite(lo):
            anchor[:, j] = hi - values[:, j]
    return np.where(np.isfinite(anchor) & (anchor > 0), anchor, 1.0)


def _interior(lo, hi):
    """A point inside the domain (lo, hi)."""
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.5 * (lo + hi)
    if np.isfinite(lo):
        return lo + 1.0
    if np.isfinite(hi):
        return hi - 1.0
    return 0.0


#: what scipy's numerical quantile function (``brentq`` on the cdf) raises when the cdf
#: is not finite at a shape value a solver tries
_QUANTILE_FAILURES = (ValueError, RuntimeError, ArithmeticError)


def _synthetic_quantiles(dist, base, shapes):
    """Standard quantiles of ``base`` (m, size, n) at ``shapes`` (1, size, 1) each.

    A data set whose shapes make scipy's quantile function fail (the cdf is not
    finite somewhere its root finder looks: ``recipinvgauss`` at some trial
    values) gets NaN quantiles, so its synthetic statistics are NaN and the
    solver shortens the step that led there; the other data sets are unaffected.
    """
    try:
        return _standard_ppf(dist, base, shapes)
    except _QUANTILE_FAILURES:
        out = np.full(base.shape, np.nan)
        for i in range(base.shape[1]):
            try:
                out[:, i:i + 1] = _standard_ppf(dist, base[:, i:i + 1],
                                                [s[:, i:i + 1] for s in shapes])
            except _QUANTILE_FAILURES:
                pass
        return out


class ScipyModel(BindingModel):
    """The engine's adapter for one scipy distribution on one chunk of data sets.

    Parameters
    ----------
    spec : ScipySpec
    fixed : dict name -> float
    t_obs : ndarray (size, k)
        The estimator T on the observed data (the batched MLE), in the order of
        the free parameters.
    center, spread : ndarray (size, k)
        Centre and spread of the free parameters' identity coordinates.
    """

    fd_step = 1e-6
    #: the bracketed solver stops at a hundredth of the Monte Carlo error
    stop_fraction = 0.01
    #: a step of the stepwise (discrete, several parameters) solver changes a positive
    #: parameter by at most a factor e^2 (a logit by 2): a nearly singular secant could
    #: otherwise send a trial to parameters whose quantiles scipy searches for minutes
    #: (nbinom at n = 4e17, p = 1e-9)
    max_step = 2.0

    def __init__(self, spec, fixed, t_obs, center, spread, *, inner_tol=1e-10,
                 inner_max_iter=30):
        self.spec = spec
        self.fixed = dict(fixed)
        self.free = [n for n in spec.names if n not in fixed]
        self.names = tuple(self.free)
        self.t_obs = t_obs
        domains = [spec.domains[n] for n in self.free]
        self.coords = Coords.for_domains(domains, center, spread, anchor_for(domains, t_obs))
        self.inner_tol = inner_tol
        self.inner_max_iter = inner_max_iter
        self.discrete = spec.discrete
        k = len(self.free)
        if spec.discrete:
            self.solver = "monotone" if k == 1 else "stepwise"
            if k == 1:
                lo, hi = domains[0]
                self.upper = hi
                self.lower_clip = lo if np.isfinite(lo) else -np.inf
        # location-scale trick for the classic continuous distributions
        self.standardise = spec.kind == "continuous"
        stencil = 1 + 2 * k + 2 * k * (k - 1)
        self.chunk_cost = 2 * stencil
        #: points whose synthetic statistics are kept (see _recall)
        self._kept = max(2, 1 + sum(name in spec.shape_names for name in self.free))
        self._reset()

    def _reset(self):
        self._key = None
        self._stats = None
        self._cache = {}
        self._base_ident = None
        self._warm = None
        self._at_bound = None
        self._unconverged = None

    def subset(self, index):
        sub = object.__new__(ScipyModel)
        sub.__dict__.update(self.__dict__)
        sub.t_obs = self.t_obs[index]
        sub.coords = self.coords.subset(index)
        sub._reset()
        return sub

    # -- coordinates -------------------------------------------------------------------
    def to_u(self, theta):
        return self.coords.to_u(theta)

    def from_u(self, u):
        return self.coords.from_u(u)

    def param_jacobian(self, theta):
        return self.coords.jacobian(theta)

    def stat_coords(self, values):
        return self.coords.to_u(values)

    def stat_coords_derivative(self, values):
        return self.coords.derivative(values)

    def residual_scale(self, x):
        return np.ones((x.shape[0], len(self.free)))

    # -- data ----------------------------------------------------------------------------
    def draw_base(self, rng, shape):
        return rng.random(shape)

    def _full(self, theta, shape):
        values = {n: np.broadcast_to(v, shape) for n, v in self.fixed.items()}
        for j, n in enumerate(self.free):
            values[n] = np.broadcast_to(theta[..., j], shape)
        return values

    def generate(self, theta, base):
        values = {n: np.asarray(v)[None, :, None] for n, v in
                  self._full(theta, theta.shape[:-1]).items()}
        spec = self.spec
        with np.errstate(all="ignore"):
            if spec.kind == "new":
                inst = spec.dist(**values, validation_policy="skip_all")
                return inst.icdf(base)
            shapes = [values[n] for n in spec.shape_names]
            if spec.discrete:
                fast = _discrete_ppf(spec.dist, base, [s[0, :, 0] for s in shapes])
                if fast is not None:
                    return fast + values["loc"]
                return spec.dist.ppf(base, *shapes, loc=values["loc"])
            return spec.dist.ppf(base, *shapes, loc=values["loc"], scale=values["scale"])

    def target(self, x):
        return self.t_obs

    def start(self, x):
        return self.t_obs

    # -- the estimator on synthetic data -------------------------------------------------
    def simulate(self, theta, base):
        if self.standardise:
            return self._simulate_standardised(theta, base)
        m, size, n = base.shape
        key = theta.tobytes()
        if self._recall(key, base):
            return self._stats
        data = self.generate(theta, base).reshape(m * size, n)
        values0 = {k_: np.tile(v, m) for k_, v in self._full(theta, (size,)).items()}
        if self._warm is not None:
            prev_theta, prev_fit = self._warm
            shift = self.coords.to_u(theta) - self.coords.to_u(prev_theta)
            coords_rep = self.coords.repeat(m)
            guess = coords_rep.from_u(coords_rep.to_u(prev_fit) + np.tile(shift, (m, 1)))
            ok = np.all(np.isfinite(guess), axis=-1)
            for j, name in enumerate(self.free):
                values0[name] = np.where(ok, guess[:, j], values0[name])
        fit, res = fit_mle_batched(self.spec, data, values0, self.free, self.coords.repeat(m),
                                   tol=self.inner_tol, max_iter=self.inner_max_iter)
        self._warm = (theta.copy(), fit)
        stats = fit.reshape(m, size, len(self.free))
        self._remember(key, stats,
                       self.coords.repeat(m).escaped(res.u).any(axis=-1).reshape(m, size),
                       ~res.converged.reshape(m, size))
        return stats

    # The statistics simulated at the last few points are kept (least recently used
    # dropped first): as many as a forward-difference Jacobian visits before it returns
    # to its base point (the point and one column per free shape), so the columns of
    # loc and scale, which leave the shapes unchanged, draw no new quantiles. A model
    # instance simulates from one array of base draws (the engine makes a subset with
    # a fresh cache for each chunk); other draws clear the cache. The kept arrays are
    # read-only: a caller that changes what it is given must copy it.

    def _recall(self, key, base):
        """Make the statistics simulated at ``key`` current; False if not kept."""
        ident = (base.__array_interface__["data"][0], base.shape, base.strides)
        if ident != self._base_ident:
            self._base_ident, self._key, self._cache = ident, None, {}
            return False
        if key == self._key:
            return True
        hit = self._cache.pop(key, None)
        if hit is None:
            return False
        self._cache[key] = hit  # now the most recently used
        self._key, (self._stats, self._at_bound, self._unconverged) = key, hit
        return True

    def _remember(self, key, stats, at_bound, unconverged):
        for array in (stats, at_bound, unconverged):
            array.setflags(write=False)
        while len(self._cache) >= self._kept:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (stats, at_bound, unconverged)
        self._key, self._stats = key, stats
        self._at_bound, self._unconverged = at_bound, unconverged

    def _simulate_standardised(self, theta, base):
        spec = self.spec
        m, size, n = base.shape
        full = self._full(theta, (size,))
        shape_names = spec.shape_names
        shapes = np.stack([np.asarray(full[s], dtype=float) for s in shape_names], axis=-1) \
            if shape_names else np.zeros((size, 0))
        key = shapes.tobytes()
        if not self._recall(key, base):
            self._remember(key, *self._fit_standardised(shapes, base))
        std = self._stats  # (m, size, k) in standardised units
        out = np.empty_like(std)
        loc, scale = np.asarray(full["loc"], dtype=float), np.asarray(full["scale"], dtype=float)
        for j, name in enumerate(self.free):
            if name == "loc":
                out[..., j] = loc + scale * std[..., j]
            elif name == "scale":
                out[..., j] = scale * std[..., j]
            else:
                out[..., j] = std[..., j]
        return out

    def _fit_standardised(self, shapes, base):
        spec = self.spec
        m, size, n = base.shape
        shape_names = spec.shape_names
        z = _synthetic_quantiles(spec.dist, base, [shapes[None, :, j, None]
                                            for j in range(len(shape_names))])
        z = z.reshape(m * size, n)
        values0 = {}
        for j, s in enumerate(shape_names):
            values0[s] = np.tile(shapes[:, j], m)
        values0["loc"] = np.zeros(m * size)
        values0["scale"] = np.ones(m * size)
        free_std = [nm for nm in self.free]
        domains = [spec.domains[nm] for nm in free_std]
        coords = Coords.for_domains(domains)
        if self._warm is not None:
            prev_shapes, prev_fit = self._warm
            guess = coords.to_u(prev_fit)
            for j, nm in enumerate(free_std):
                if nm in shape_names:
                    i = shape_names.index(nm)
                    c1 = Coords.for_domains([spec.domains[nm]])
                    delta = (c1.to_u(shapes[:, i:i + 1]) - c1.to_u(prev_shapes[:, i:i + 1]))[:, 0]
                    guess[:, j] = guess[:, j] + np.tile(delta, m)
            guess = coords.from_u(guess)
            ok = np.all(np.isfinite(guess), axis=-1)
            for j, nm in enumerate(free_std):
                values0[nm] = np.where(ok, guess[:, j], values0[nm])
        fit, res = fit_mle_batched(spec, z, values0, free_std, coords, tol=self.inner_tol,
                                   max_iter=self.inner_max_iter)
        self._warm = (shapes.copy(), fit)
        return (fit.reshape(m, size, len(free_std)),
                coords.escaped(res.u).any(axis=-1).reshape(m, size),
                ~res.converged.reshape(m, size))

    #: data sets whose synthetic fits at the MLE run off to infinity more often than
    #: this are not solved: their binding function is infinite (dominated by the box)
    max_escaped = 0.0

    def skip(self, x, base):
        """Data sets whose binding function does not exist in these coordinates.

        If a synthetic fit at the observed MLE runs to an infinite end of a
        parameter's domain (a t whose df runs to infinity), ``E_theta[T]`` is
        infinite and the PLE equation has no solution in this parametrisation;
        a synthetic fit that does not converge within the inner iterations is
        taken as such a case too (e.g. the three-parameter lognormal, whose
        MLE runs along a ridge towards the normal limit).
        """
        self.simulate(self.t_obs, base)
        failed = self._at_bound | self._unconverged
        return failed.mean(axis=0) > self.max_escaped

    def finish(self, x, base, theta):
        self.simulate(theta, base)
        return {"synthetic_at_bound": self._at_bound.mean(axis=0),
                "synthetic_not_converged": self._unconverged.mean(axis=0)}

    # -- the bracket of the monotone (one-parameter, discrete) solver ------------------
    def bracket(self, target, f):
        """Bracket ``[lo, hi]`` of the root of ``f`` (increasing) for each data set.

        Inside a bounded domain the upper end is the domain's end; on a half-line
        the distance to the finite end is doubled until ``f(hi) >= 0``, and halved
        from ``target`` until ``f(lo) <= 0``. A statistic at an end of the domain
        (e.g. a Poisson mean of 0) has its root there (``exact``).
        """
        lo_dom, hi_dom = self.spec.domains[self.free[0]]
        size = target.shape[0]
        at = np.clip(target, lo_dom, hi_dom)
        exact = (target <= lo_dom) | (target >= hi_dom)
        t = np.where(exact, _interior(lo_dom, hi_dom), target)
        base_lo = lo_dom if np.isfinite(lo_dom) else None
        def farther(v):  # twice as far from the finite lower end (or 1 + 2|v| up)
            if base_lo is not None:
                return base_lo + 2.0 * (v - base_lo)
            return v + 2.0 * (1.0 + np.abs(v))

        if np.isfinite(hi_dom):
            hi = np.full(size, hi_dom)
        elif base_lo is not None:
            hi = base_lo + 2.0 * (np.abs(t - base_lo) + 1e-300)
        else:
            hi = t + 1.0 + np.abs(t)
        f_hi = f(hi)
        for _ in range(200):
            bad = (f_hi < 0) & ~exact
            if not bad.any() or np.isfinite(hi_dom):
                break
            hi = np.where(bad, farther(hi), hi)
            f_hi = np.where(bad, f(hi), f_hi)
        if base_lo is not None:
            lo = base_lo + 0.5 * (np.minimum(t, hi) - base_lo)
        else:
            lo = t - 1.0 - np.abs(t)
        f_lo = f(lo)
        for _ in range(200):
            bad = (f_lo > 0) & ~exact
            if not bad.any():
                break
            lo = np.where(bad, base_lo + 0.5 * (lo - base_lo) if base_lo is not None
                          else lo - 2.0 * (1.0 + np.abs(lo)), lo)
            f_lo = np.where(bad, f(lo), f_lo)
        # the statistic at its largest value already at the upper end: the root is there
        top = (f_hi <= 0) & np.isfinite(hi_dom)
        at = np.where(top & ~exact, hi_dom, at)
        return lo, hi, f_lo, f_hi, exact | top, at
