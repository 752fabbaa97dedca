"""Recursive refitting of a Gaussian mixture: :func:`simulate_gmm`.

:func:`ple_stats.simulate` needs a :class:`Distribution` family (one scalar per
parameter); :class:`GMM` carries a vector per parameter and is a class of its
own, so its recursive-generation loop lives here, with the same result type.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ._gmm import GMM
from ._lib.executor import check_executor, execute
from ._lib.store import CheckpointStore
from ._simulate import _child_seeds, _warn_absorbed, fit_runs
from ._simulation_result import SimulationResult
from ._validation import as_int, as_rng
from ._warnings import ConvergenceWarning, DegenerateDataWarning

__all__ = ["simulate_gmm"]

_ESTIMATORS = ("mle", "ple")
_RESERVED = ("x", "n_components", "rng")
#: Order of the diagnostic counts in a chunk's output.
_FLAGS = ("em_not_converged", "floor_hit", "ple_not_solved")


class _Spec(NamedTuple):
    """Everything that determines one chunk's output (and the checkpoint's identity)."""

    theta0: tuple      # (weights, means, sigmas) of the truth, lists of K floats
    n: int
    generations: int
    estimator: str
    fit_kwargs: dict


def simulate_gmm(gmm, n, generations, runs, *, estimator=None, fit_kwargs=None, rng=None,
                 chunk_size=None, n_jobs=1, backend="loky", checkpoint=None, progress=None):
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
        for the hypernetwork, which needs torch). Not given: ``"mle"``, with a
        ``FutureWarning``; the default becomes ``"ple"``, as in
        :func:`~ple_stats.simulate`, in the next release.
    fit_kwargs : dict, optional
        Extra keyword arguments of the fit (e.g. ``{"tol": 1e-6}`` or
        ``{"m": 20, "n_iter": 8, "average": 4}``); not ``x``,
        ``n_components`` or ``rng``.
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        With ``chunk_size=None``: one stream (``numpy.random.default_rng(rng)``)
        for the samples and the PLE's synthetic data of all runs, in a fixed
        order, as before chunks existed. With a ``chunk_size``: every chunk of
        runs gets its own child stream of ``rng``, as in
        :func:`~ple_stats.simulate` (so the numbers differ from the one-stream
        result). Either way the result is a function of ``rng`` and
        ``chunk_size`` alone, whatever ``n_jobs`` and ``backend``.
        ``checkpoint`` needs an int (or, with a ``chunk_size``, a SeedSequence).
    chunk_size : int, optional
        Runs per chunk: the unit of parallel work, checkpointing and random
        streams. Default None: all runs in one chunk (one stream; no
        parallelism).
    n_jobs : int
        joblib worker processes over the chunks (``-1``: all cores).
    backend : {"loky", "dask"}
        As in :func:`~ple_stats.simulate`.
    checkpoint : str or path-like, optional
        Directory where finished chunks are saved as they complete; a run
        with the same arguments resumes from it. A directory written with
        other arguments is refused; a damaged chunk is recomputed with a
        warning.
    progress : bool, optional
        A progress bar (tqdm) over chunks; default: when stderr is a terminal.

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
    >>> res = simulate_gmm(truth, n=50, generations=3, runs=4, estimator="mle", rng=0)
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
    if estimator is None:
        warnings.warn("simulate_gmm's default `estimator` will change from 'mle' to 'ple' (as "
                      "in simulate) in the next release; pass estimator='mle' to keep EM.",
                      FutureWarning, stacklevel=2)
        estimator = "mle"
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
    if chunk_size is not None:
        chunk_size = as_int(chunk_size, "chunk_size", minimum=1)
    n_jobs, backend = check_executor(n_jobs, backend)

    spec = _Spec(tuple([float(v) for v in p] for p in gmm.params), n, generations, estimator,
                 dict(fit_kwargs))
    if chunk_size is None:
        # One chunk on one stream: the numbers of the loop before chunks existed.
        if checkpoint is not None and not (isinstance(rng, (int, np.integer))
                                           and not isinstance(rng, bool)):
            raise ValueError("`checkpoint` with chunk_size=None needs an int seed as `rng`, so "
                             "that a restart draws the same numbers.")
        sizes, streams = [runs], [rng if checkpoint is not None else as_rng(rng)]
        seed_key = int(rng) if checkpoint is not None else None
    else:
        streams = _child_seeds(rng, -(-runs // chunk_size), checkpoint is not None)
        sizes = [min(chunk_size, runs - start) for start in range(0, runs, chunk_size)]
        seed_key = [streams[0].entropy, list(streams[0].spawn_key[:-1])]
    store = None
    if checkpoint is not None:
        expected = [(size, generations + 1, 3 * K + 1) for size in sizes]
        key = {"family": "GMM", "theta0": spec.theta0, "n": n, "generations": generations,
               "estimator": estimator,
               "fit_kwargs": {k: repr(v) for k, v in sorted(fit_kwargs.items())},
               "runs": runs, "chunk_size": chunk_size, "seed": seed_key}

        def check(i, chunk):
            shape = np.shape(chunk.get("trajectories")) if isinstance(chunk, dict) else None
            return None if shape == expected[i] else f"shape {shape}, expected {expected[i]}"

        store = CheckpointStore(checkpoint, key, check=check)
    tasks = [(spec, sizes[i], streams[i]) for i in range(len(sizes))]
    results = execute(_run_gmm_chunk, tasks, n_jobs=n_jobs, backend=backend, store=store,
                      progress=progress, desc="simulate_gmm", unit="chunk")
    combined = np.concatenate([np.asarray(r["trajectories"]) for r in results], axis=0)
    counts = np.sum([np.asarray(r["flags"]) for r in results], axis=0)
    out, collapsed = combined[..., :-1], combined[:, 0, -1].astype(int)

    names = (tuple(f"weight_{k}" for k in range(K)) + tuple(f"mean_{k}" for k in range(K))
             + tuple(f"sigma_{k}" for k in range(K)))
    kept = (("em_not_converged", "floor_hit") if estimator == "mle" else
            ("ple_not_solved",) if fit_kwargs.get("method", "bootstrap") == "bootstrap"
            else ())
    _warn_absorbed(np.full(runs, -1), collapsed, runs)
    options = dict(fit_kwargs)
    options["diagnostics"] = {k: int(counts[_FLAGS.index(k)]) / (runs * generations)
                              for k in kept}
    truth = {k: [float(v) for v in getattr(gmm.params, k)] for k in gmm.Params._fields}
    return SimulationResult(trajectories=out, param_names=names, family="GMM", truth=truth,
                            n=n, estimator=estimator, options=options, collapsed=collapsed)


def _run_gmm_chunk(spec: _Spec, runs: int, rng) -> dict:
    """``runs`` chains of ``spec`` on one stream; the output of one chunk.

    Returns ``{"trajectories": (runs, generations + 1, 3K + 1), "flags": (3,)}``: the
    parameters per generation with the generation at which a chain collapsed (-1: never)
    in the last column, and the counts of :data:`_FLAGS`.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    estimator, fit_kwargs = spec.estimator, spec.fit_kwargs
    generations, n = spec.generations, spec.n
    K = len(spec.theta0[0])
    out = np.empty((runs, generations + 1, 3 * K + 1))
    w, mu, sigma = (np.broadcast_to(np.asarray(v, dtype=float), (runs, K)).copy()
                    for v in spec.theta0)
    out[:, 0, :-1] = np.concatenate([w, mu, sigma], axis=-1)
    flags = dict.fromkeys(_FLAGS, 0)
    alive = np.ones(runs, dtype=bool)
    collapsed = np.full(runs, -1)

    ple_kwargs = _ple_keywords(fit_kwargs)

    def fit(x, rng):
        with warnings.catch_warnings():  # counted below instead
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DegenerateDataWarning)
            if estimator == "mle":
                res = GMM.fit_mle(x, K, **fit_kwargs)
            else:
                res = GMM.fit_ple(x, K, rng=rng, **ple_kwargs)
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
        out[:, t, :-1] = np.concatenate([w, mu, sigma], axis=-1)
        for res in fits:  # the batch, or the runs fitted one at a time after a collapse
            if estimator == "mle":
                flags["em_not_converged"] += int(np.count_nonzero(~res.info["converged"]))
                flags["floor_hit"] += int(np.count_nonzero(res.info["floor_hit"]))
            elif res.info.get("residual") is not None:  # bootstrap PLE
                flags["ple_not_solved"] += int(np.count_nonzero(~res.info["converged"]))
    out[:, :, -1] = collapsed[:, None]
    return {"trajectories": out, "flags": np.array([flags[k] for k in _FLAGS])}


def _ple_keywords(fit_kwargs):
    """``fit_kwargs`` for ``GMM.fit_ple``: the options of its method (``n_iter``,
    ``epochs``, ...) may be given flat, as for every estimator of the simulators; they go
    into ``options``. Other keys (``method``, ``m``, ``var_floor``, ``options``, former
    names) pass through."""
    from ._gmm_ple import OPTIONS

    kwargs = dict(fit_kwargs)
    own = OPTIONS.get(kwargs.get("method", "bootstrap"), {})
    flat = {key: kwargs.pop(key) for key in list(kwargs) if key in own}
    if flat:
        options = dict(kwargs.pop("options", None) or {})
        for key, value in flat.items():
            if key in options:
                raise TypeError(f"`fit_kwargs` gives `{key}` both flat and in `options`.")
            options[key] = value
        kwargs["options"] = options
    return kwargs

