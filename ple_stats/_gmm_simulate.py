"""Recursive refitting of a Gaussian mixture: :func:`simulate_gmm`.

:func:`ple_stats.simulate` needs a :class:`Distribution` family (one scalar per
parameter); :class:`GMM` carries a vector per parameter and is a class of its
own, so its recursive-generation loop lives here, with the same result type.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._gmm import GMM
from ._simulate import _warn_absorbed, fit_runs
from ._simulation_result import SimulationResult
from ._validation import as_int, as_rng
from ._warnings import ConvergenceWarning, DegenerateDataWarning

__all__ = ["simulate_gmm"]

_ESTIMATORS = ("mle", "ple")
_RESERVED = ("x", "n_components", "rng")


def simulate_gmm(gmm, n, generations, runs, *, estimator="mle", fit_kwargs=None, rng=None):
    r"""Recursive refitting of a Gaussian mixture on its own samples.

    Generation 0 is ``gmm``; generation 1 is the fit to ``n`` points drawn from
    it; generation ``t`` the fit to ``n`` points drawn from generation
    ``t - 1`` ("replace" mode: no fresh data). All ``runs`` chains advance
    together: one batched fit (:meth:`GMM.fit_mle` or :meth:`GMM.fit_ple`)
    per generation.

    Parameters
    ----------
    gmm : GMM
        The truth, a single mixture (batch shape ``()``) of ``K`` components.
    n : int
        Points drawn per generation, at least ``max(K, 2)``.
    generations : int
        Number of refits, at least 1.
    runs : int
        Independent chains, at least 1.
    estimator : {"mle", "ple"}
        ``"mle"``: :meth:`GMM.fit_mle` (EM); ``"ple"``: :meth:`GMM.fit_ple`
        (the bootstrap by default; ``fit_kwargs={"method": "hypernetwork"}``
        for the hypernetwork, which needs torch).
    fit_kwargs : dict, optional
        Extra keyword arguments of the fit (e.g. ``{"tol": 1e-6}`` or
        ``{"m": 20, "n_iter": 8, "average": 4}``); not ``x``,
        ``n_components`` or ``rng``.
    rng : None, int or numpy.random.Generator
        One stream for the samples and the PLE's synthetic data, in a fixed
        order: the result is a function of ``rng`` alone.

    Returns
    -------
    SimulationResult
        ``trajectories`` of shape ``(runs, generations + 1, 3K)`` with
        ``param_names`` ``("weight_0", ..., "mean_0", ..., "sigma_0", ...)``;
        components are ordered by mean in every generation (as the fits
        return them), so ``weight_k`` is the weight of the ``k``-th
        component from the left, not a tracked identity. ``family`` is
        ``"GMM"``, ``options`` holds ``fit_kwargs`` and a ``"diagnostics"``
        dict: for EM the fractions of (run, generation) fits that hit
        ``max_iter`` (``"em_not_converged"``) or ended on the variance floor
        (``"floor_hit"``); for the bootstrap PLE the fraction whose equation
        was not solved (``"ple_not_solved"``). A chain whose samples
        become degenerate (e.g. all points equal, so that no mixture can be
        fitted) is frozen at its last fit from then on, recorded in
        ``collapsed``, with a :class:`PLEWarning`; the other chains go on.

    Raises
    ------
    TypeError
        ``gmm`` not a :class:`GMM`, or bad argument types.
    ValueError
        A batch of mixtures, ``n < max(K, 2)``, ``generations < 1``,
        ``runs < 1``, an unknown ``estimator`` or a reserved ``fit_kwargs`` key.

    Examples
    --------
    >>> from ple_stats import GMM
    >>> from ple_stats._gmm_simulate import simulate_gmm
    >>> truth = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0])
    >>> res = simulate_gmm(truth, n=50, generations=3, runs=4, rng=0)
    >>> res.trajectories.shape
    (4, 4, 6)
    >>> res.param_names[:3]
    ('weight_0', 'weight_1', 'mean_0')
    >>> [float(v) for v in res.values("weight_1")[:, 0]]
    [0.2, 0.2, 0.2, 0.2]
    """
    if not isinstance(gmm, GMM):
        raise TypeError(f"`gmm` must be a GMM; got {type(gmm).__name__}.")
    if gmm.batch_shape != ():
        raise ValueError(f"`gmm` must be a single mixture (batch shape ()); got batch shape "
                         f"{gmm.batch_shape}.")
    K = gmm.n_components
    n = as_int(n, "n", minimum=max(K, 2))
    generations = as_int(generations, "generations", minimum=1)
    runs = as_int(runs, "runs", minimum=1)
    if not isinstance(estimator, str) or estimator not in _ESTIMATORS:
        raise ValueError(f"`estimator` must be one of {_ESTIMATORS}; got {estimator!r}.")
    if fit_kwargs is None:
        fit_kwargs = {}
    if not isinstance(fit_kwargs, dict):
        raise TypeError(f"`fit_kwargs` must be a dict; got {type(fit_kwargs).__name__}.")
    reserved = [k for k in fit_kwargs if k in _RESERVED]
    if reserved:
        raise ValueError(f"`fit_kwargs` must not set {reserved} (simulate_gmm sets them).")
    if estimator == "mle" and "method" in fit_kwargs:
        raise ValueError("`fit_kwargs['method']` applies to estimator='ple' only.")
    rng = as_rng(rng)

    names = (tuple(f"weight_{k}" for k in range(K)) + tuple(f"mean_{k}" for k in range(K))
             + tuple(f"sigma_{k}" for k in range(K)))
    out = np.empty((runs, generations + 1, 3 * K))
    w, mu, sigma = (np.broadcast_to(v, (runs, K)).copy() for v in gmm.params)
    out[:, 0] = np.concatenate([w, mu, sigma], axis=-1)
    flags = ({"em_not_converged": 0, "floor_hit": 0} if estimator == "mle" else
             {"ple_not_solved": 0} if fit_kwargs.get("method", "bootstrap") == "bootstrap"
             else {})
    alive = np.ones(runs, dtype=bool)
    collapsed = np.full(runs, -1)

    def fit(x, rng):
        with warnings.catch_warnings():  # counted below instead
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DegenerateDataWarning)
            if estimator == "mle":
                res = GMM.fit_mle(x, K, **fit_kwargs)
            else:
                res = GMM.fit_ple(x, K, rng=rng, **fit_kwargs)
        fits.append(res)
        return np.concatenate([np.array(v).reshape(x.shape[0], K) for v in res.params], axis=-1)

    for t in range(1, generations + 1):
        x = GMM._from_trusted(w, mu, sigma).sample(n, rng)  # (runs, n)
        fits = []
        theta, refused = fit_runs(fit, x[alive], rng, 3 * K)
        index = np.flatnonzero(alive)
        collapsed[index[refused]] = t
        alive[index[refused]] = False
        kept = index[~refused]
        w[kept], mu[kept], sigma[kept] = np.split(theta[~refused], 3, axis=-1)
        out[:, t] = np.concatenate([w, mu, sigma], axis=-1)
        for res in fits:  # the batch, or the runs fitted one at a time after a collapse
            if estimator == "mle":
                flags["em_not_converged"] += int(np.count_nonzero(~res.info["converged"]))
                flags["floor_hit"] += int(np.count_nonzero(res.info["floor_hit"]))
            elif res.info.get("residual") is not None:  # bootstrap PLE
                flags["ple_not_solved"] += int(np.count_nonzero(~res.info["converged"]))
    _warn_absorbed(np.full(runs, -1), collapsed, runs)
    options = dict(fit_kwargs)
    options["diagnostics"] = {k: v / (runs * generations) for k, v in flags.items()}
    truth = {k: [float(v) for v in getattr(gmm.params, k)] for k in gmm.Params._fields}
    return SimulationResult(trajectories=out, param_names=names, family="GMM", truth=truth,
                            n=n, estimator=estimator, options=options, collapsed=collapsed)
