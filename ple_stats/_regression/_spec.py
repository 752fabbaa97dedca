"""What ple_stats needs of an unfitted statsmodels model, read and validated once.

:func:`describe_model` turns a ``GLM``, ``Logit``, ``Probit``, ``Poisson``,
``NegativeBinomial`` (NB2), ``OLS`` or ``WLS`` instance into a
:class:`RegressionSpec`: the design, the response, prior weights and offset,
the response distribution and link, and the parameter names in statsmodels'
order. Anything it cannot simulate from is rejected here with an error that
says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _links, _responses

__all__ = ["RegressionSpec", "describe_model", "is_statsmodels_model"]

SUPPORTED = ("GLM (Binomial, Poisson, Gamma, Gaussian, InverseGaussian, NegativeBinomial "
             "families)", "Logit", "Probit", "Poisson", "NegativeBinomial (NB2)", "OLS", "WLS")


@dataclass
class RegressionSpec:
    model: object
    kind: str  #: "GLM", "Logit", ..., "OLS"
    X: np.ndarray  #: (n, p)
    y: np.ndarray  #: (n,) response (proportions for binomial data)
    w: np.ndarray  #: (n,) prior weights (trials for binomial data)
    offset: np.ndarray  #: (n,)
    response: _responses.Response
    link: _links.Link
    exog_names: list  #: p names
    extra_name: str | None  #: name of the estimated dispersion in ``params`` (NB2: "alpha")
    has_names: bool  #: the model was built with named columns (pandas or a formula)

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def p(self):
        return self.X.shape[1]

    @property
    def names(self):
        """Free parameters of the PLE: the coefficients, then the dispersion if estimated."""
        extra = () if self.response.dispersion is None else (
            self.extra_name or self.response.dispersion,)
        return tuple(self.exog_names) + extra

    def label(self):
        if self.kind == "GLM":
            return f"GLM({self.response.name}, {self.link.name} link)"
        return self.kind


def is_statsmodels_model(obj):
    """True for instances of statsmodels classes (without importing statsmodels)."""
    module = type(obj).__module__ or ""
    return module.split(".")[0] == "statsmodels"


def _class_names(obj):
    return [cls.__name__ for cls in type(obj).__mro__]


def describe_model(model):
    """Read and validate ``model``; see the module docstring."""
    classes = _class_names(model)
    if "Results" in type(model).__name__ or (hasattr(model, "model")
                                              and hasattr(model, "params")):
        raise TypeError(
            f"fit_ple takes an unfitted statsmodels model; got a fitted result "
            f"({type(model).__name__}). Pass its model: fit_ple(result.model).")
    kind = type(model).__name__
    from statsmodels.discrete import discrete_model as dm
    from statsmodels.genmod import families as fam
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression import linear_model as lm

    X = np.asarray(model.exog, dtype=float)
    n = X.shape[0]
    offset = np.zeros(n)
    w = np.ones(n)
    extra_name = None
    if isinstance(model, GLM):
        kind = "GLM"
        family = model.family
        link = _links.link_from_statsmodels(family.link)
        response = _response_of_family(family, fam)
        if np.any(np.asarray(model.freq_weights) != 1.0):
            raise ValueError(
                "`freq_weights` are not supported: a frequency weight repeats an observation, "
                "and simulating from the fitted model needs each copy drawn apart. Repeat the "
                "rows instead.")
        var_weights = np.asarray(model.var_weights, dtype=float)
        if np.any(var_weights != 1.0) and not isinstance(
                response, (_responses.Binomial, _responses.Gaussian, _responses.Gamma,
                           _responses.InverseGaussian)):
            raise ValueError(
                f"`var_weights` are supported for the Binomial (trials), Gaussian, Gamma and "
                f"InverseGaussian families only; this model is {response.name}.")
        w = var_weights.copy()
        if isinstance(response, _responses.Binomial):
            trials = np.asarray(getattr(model, "n_trials", np.ones(n)), dtype=float)
            w = w * trials
        offset = _offset_exposure(model, n)
        y = np.asarray(model.endog, dtype=float)
    elif isinstance(model, (dm.Logit, dm.Probit)):
        link = _links.Logit() if isinstance(model, dm.Logit) else _links.Probit()
        response = _responses.Binomial()
        y = np.asarray(model.endog, dtype=float)
        offset = _offset_exposure(model, n)
        if np.any((y != 0) & (y != 1)):
            bad = y[(y != 0) & (y != 1)]
            raise ValueError(f"{kind} needs a binary endog (0 or 1); found "
                             f"{_responses._examples(bad)}.")
    elif isinstance(model, dm.NegativeBinomial):
        if getattr(model, "loglike_method", "nb2") != "nb2":
            raise ValueError(
                f"NegativeBinomial with loglike_method={model.loglike_method!r} is not "
                "supported; use loglike_method='nb2' (the default).")
        link, response = _links.Log(), _responses.NegativeBinomial()
        extra_name = "alpha"
        y = np.asarray(model.endog, dtype=float)
        offset = _offset_exposure(model, n)
    elif isinstance(model, dm.Poisson):
        link, response = _links.Log(), _responses.Poisson()
        y = np.asarray(model.endog, dtype=float)
        offset = _offset_exposure(model, n)
    elif isinstance(model, lm.WLS):  # OLS is a WLS with unit weights
        link, response = _links.Identity(), _responses.Gaussian()
        y = np.asarray(model.endog, dtype=float)
        if isinstance(model, lm.WLS):
            w = np.asarray(model.weights, dtype=float) * np.ones(n)
            if np.any(~np.isfinite(w)) or np.any(w <= 0):
                raise ValueError("WLS `weights` must be positive and finite.")
    else:
        raise TypeError(
            f"fit_ple does not support statsmodels' {kind} (a {' < '.join(classes[1:3])}); "
            f"supported: {', '.join(SUPPORTED)}.")

    if y.ndim != 1:
        raise ValueError(f"endog must be one column here; got shape {y.shape}.")
    _check_finite(X, "exog")
    _check_finite(y, "endog")
    _check_finite(offset, "offset/exposure")
    response.check_endog(y, w)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"exog must be (n, p) with n = {y.shape[0]}; got {X.shape}.")
    p = X.shape[1]
    # (NegativeBinomial's exog_names end with "alpha", which is not a column of exog.)
    names = list(getattr(model, "exog_names", None) or [f"x{j}" for j in range(p)])[:p]
    rank = np.linalg.matrix_rank(X)
    if rank < p:
        raise ValueError(
            f"exog is rank deficient: rank {rank} < {p} columns ({', '.join(names)}); the "
            "coefficients are not identified. Drop the collinear columns.")
    n_free = p + (response.dispersion is not None)
    if n <= n_free:
        raise ValueError(f"{n} observations cannot identify {n_free} parameters; need more "
                         "observations than parameters.")
    has_names = _has_names(model)
    return RegressionSpec(model=model, kind=kind, X=X, y=y, w=w, offset=offset,
                          response=response, link=link, exog_names=names,
                          extra_name=extra_name, has_names=has_names)


def _response_of_family(family, fam):
    if isinstance(family, fam.Binomial):
        return _responses.Binomial()
    if isinstance(family, fam.Poisson):
        return _responses.Poisson()
    if isinstance(family, fam.NegativeBinomial):
        return _responses.NegativeBinomial(alpha=family.alpha)
    if isinstance(family, fam.Gamma):
        return _responses.Gamma()
    if isinstance(family, fam.InverseGaussian):
        return _responses.InverseGaussian()
    if isinstance(family, fam.Gaussian):
        return _responses.Gaussian()
    raise TypeError(
        f"the GLM family {type(family).__name__} is not supported; supported: Binomial, "
        "Poisson, Gamma, Gaussian, InverseGaussian, NegativeBinomial.")


def _offset_exposure(model, n):
    total = np.zeros(n)
    offset = getattr(model, "offset", None)
    if offset is not None:
        total = total + np.asarray(offset, dtype=float)
    exposure = getattr(model, "exposure", None)
    if exposure is not None:  # statsmodels stores log(exposure)
        total = total + np.asarray(exposure, dtype=float)
    return total


def _check_finite(values, name):
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), in row(s) {shown}; "
            "drop or impute them first (statsmodels' missing='drop' does this).")


def _has_names(model):
    data = getattr(model, "data", None)
    if data is None:
        return False
    if getattr(model, "formula", None) is not None or getattr(data, "frame", None) is not None:
        return True
    exog = getattr(data, "orig_exog", None)
    return hasattr(exog, "columns")
