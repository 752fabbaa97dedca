"""The simulator's estimator: one generation's batched fit as flat parameters.

:class:`_Estimator` is what :func:`ple_stats.simulate` calls on every
generation's data of a chunk of runs: the family's ``fit_mle`` or ``fit_ple``
(with the fixed parameters and ``fit_kwargs``), or a user's callable, whose
result is checked to be a fit of the simulated family with one finite,
in-domain value per run (scalar families) or one finite mean and one symmetric
positive definite covariance per run (event-shaped families). It returns the
fitted parameters as an array ``(runs, k)`` and pickles, so chunks can run in
worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class _Estimator:
    """A picklable estimator ``x -> fitted parameter array (runs, k)``."""

    family: type
    kind: str  # "mle", "ple" or "callable"
    fixed: dict
    fit_kwargs: dict
    func: object = None

    def __call__(self, x, rng):
        if getattr(self.family, "_event_shaped", False):
            return self._call_event(x, rng)
        if self.kind == "mle":
            res = self.family.fit_mle(x, **self.fixed)
        elif self.kind == "ple":
            # rng always: a fit that draws nothing (Refit.random False: the analytic PLE)
            # only validates it, so its numbers are those of a call without it
            res = self.family.fit_ple(x, **self.fit_kwargs, rng=rng, **self.fixed)
        else:
            return self._check_output(self.func(x), x.shape[:-1])
        return np.stack([np.broadcast_to(np.asarray(v, dtype=float), x.shape[:-1])
                         for v in res.params], axis=-1)

    def _call_event(self, x, rng):
        """An event-shaped family's fit of data ``(runs, N, d)`` as flat scalars ``(runs, k)``
        (the family's own ``fit_mle`` / ``fit_ple``, or the user's callable, checked)."""
        if self.kind == "callable":
            return self._check_event_output(self.func(x), x.shape[:-2], x.shape[-1])
        if self.kind == "mle":
            res = self.family.fit_mle(x, **self.fixed)
        else:
            res = self.family.fit_ple(x, **self.fit_kwargs, rng=rng, **self.fixed)
        mean, cov = res.params
        batch, d = x.shape[:-2], x.shape[-1]
        return self.family._flatten(np.broadcast_to(mean, batch + (d,)),
                                    np.broadcast_to(cov, batch + (d, d)))

    def _returned_params(self, res):
        """The ``params`` of a user estimator's result, checked to be a fit of the family
        with its parameter names; returns ``(family, names, label, params)``."""
        family, names = self.family, self.family._param_names
        label = f"the estimator {self.label!r}"
        dist = getattr(res, "dist", None)
        if dist is not None and not isinstance(dist, family):
            raise TypeError(f"{label} returned a fit of {type(dist).__name__}; the simulated "
                            f"family is {family.__name__}.")
        params = getattr(res, "params", None)
        if params is None:
            raise TypeError(f"{label} must return a FitResult of {family.__name__} (with "
                            f"`params`); got {type(res).__name__}.")
        fields = getattr(params, "_fields", None)
        if fields is not None and tuple(fields) != names:
            raise TypeError(f"{label} returned parameters {tuple(fields)}; "
                            f"{family.__name__} has {names}.")
        if len(params) != len(names):
            raise ValueError(f"{label} returned {len(params)} parameter(s); "
                             f"{family.__name__} has {len(names)}: {names}.")
        return family, names, label, params

    def _check_event_output(self, res, batch, d):
        """:meth:`_check_output` for an event-shaped family: a fit of the family with one
        finite mean ``(d,)`` and one symmetric positive definite ``cov`` ``(d, d)`` per run."""
        family, names, label, params = self._returned_params(res)
        values = []
        for name, value in zip(names, params):
            constraint = family._constraints[name]
            shape = batch + (d,) * constraint.event_dim
            value = np.asarray(value, dtype=float)
            try:
                if constraint.event_shape(value) != shape[len(batch):]:
                    raise ValueError  # the event axes must match; only batch axes broadcast
                value = np.broadcast_to(value, shape)
            except ValueError:
                raise ValueError(f"{label} returned `{name}` of shape {value.shape} for "
                                 f"data of {int(np.prod(batch))} run(s) of dimension d = {d} "
                                 f"(expected {shape}).") from None
            try:
                value = constraint.validate(value, name)
            except ValueError as err:
                raise ValueError(f"{label} returned an invalid `{name}`: {err}") from None
            values.append(value)
        return family._flatten(*values)

    def _check_output(self, res, batch):
        """The parameters of a user estimator's result, checked: family, count, shape, domain."""
        family, names, label, params = self._returned_params(res)
        columns = []
        for name, value in zip(names, params):
            value = np.asarray(value, dtype=float)
            try:
                value = np.broadcast_to(value, batch)
            except ValueError:
                raise ValueError(f"{label} returned `{name}` of shape {value.shape} for "
                                 f"data of batch shape {batch}.") from None
            constraint = family._constraints[name]
            finite = np.isfinite(value)
            bad = ~(finite & constraint.contains(value))
            if bad.any():
                first = float(value[bad].flat[0])
                rule = "it must be finite" if not np.isfinite(first) else \
                    f"it must be {constraint.description}"
                raise ValueError(
                    f"{label} returned `{name}` = {first!r} ({rule}) for "
                    f"{int(np.count_nonzero(bad))} of {value.size} data set(s).")
            columns.append(value)
        return np.stack(columns, axis=-1)

    @property
    def label(self):
        if self.kind == "callable":
            return getattr(self.func, "__name__", "custom")
        return self.kind
