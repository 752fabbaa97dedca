"""The recursive-generation (self-consuming) simulator.

Generation 0 is the truth; generation ``t >= 1`` is the estimate from ``n``
points drawn from generation ``t - 1``'s fitted model, so generation 1 is the
fit to real data. Runs are independent and vectorised: one batched fit per
generation for a whole chunk of runs. Chunks are the unit of parallelism and
of checkpointing, and each has its own random stream spawned from ``rng``,
so the result does not depend on ``n_jobs``, the backend or interruptions.

Event-shaped families (the multivariate Gaussian) run the same chunks through
their own loop: :func:`event_generations`, which works on sufficient statistics,
for the MLE and the analytic PLE; :func:`_run_event_data_chunk`, which draws the
data and fits them with the family's ``fit_ple`` (or a callable) through
:func:`fit_runs` as the scalar families do, for the bootstrap and penalised PLE.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._distribution import Distribution
from ._estimator_identity import callable_identity
from ._lib.executor import check_executor, execute
from ._lib.store import CheckpointStore
from ._simulate_estimator import _Estimator
from ._simulation_result import SimulationResult
from ._validation import as_int
from ._warnings import DegenerateDataError, PLEWarning

__all__ = ["simulate"]

_MODES = ("replace", "accumulate", "fresh")


@dataclass(frozen=True)
class _Spec:
    """Everything that determines one chunk's output (and the checkpoint's identity)."""

    family: type
    theta0: tuple
    n: int
    generations: int
    mode: str
    fresh_fraction: float
    estimator: _Estimator


def fit_runs(fit, x, rng, k):
    """Fit every run's data, telling collapsed runs apart instead of failing the batch.

    ``fit(x, rng) -> (runs, k)`` is called once on the whole batch. When it
    refuses the data with a :class:`DegenerateDataError` (some run's data are
    degenerate: all points equal, a zero range, ...), each run is fitted alone
    and those that are refused are reported as collapsed. Any other error,
    e.g. a user's estimator returning an invalid value, is raised. (When a
    batch is refitted run by run after a collapse, the refits draw their
    randomness after the failed batched attempt: deterministic for a seed,
    but not the draws the other runs would have had without the collapse.)

    Returns
    -------
    theta : ndarray of shape (runs, k)
        NaN in the rows of collapsed runs.
    collapsed : ndarray of bool, shape (runs,)
    """
    runs = x.shape[0]
    try:
        return fit(x, rng), np.zeros(runs, dtype=bool)
    except DegenerateDataError:
        pass
    theta, collapsed = np.full((runs, k), np.nan), np.zeros(runs, dtype=bool)
    for r in range(runs):
        try:
            theta[r] = fit(x[r:r + 1], rng)[0]
        except DegenerateDataError:
            collapsed[r] = True
    return theta, collapsed


def _freeze_diverged(traj, alive, finite, t, k):
    """Runs whose data of generation ``t`` overflowed stop there (recorded in ``traj``)."""
    traj[alive & ~finite, :, k] = t
    alive &= finite


def _refit_alive(estimator, x, rng, k, alive, traj, t):
    """Fit the live runs' data (:func:`fit_runs`); runs whose data the estimator refuses
    collapse at generation ``t`` (recorded in ``traj``, removed from ``alive``). Returns
    the indices of the runs fitted and their estimates."""
    index = np.flatnonzero(alive)
    fitted, collapsed = fit_runs(estimator, x[alive], rng, k)
    if collapsed.any():
        traj[index[collapsed], :, k + 1] = t
        alive[index[collapsed]] = False
    return index[~collapsed], fitted[~collapsed]


def _run_chunk(spec: _Spec, runs: int, seed) -> np.ndarray:
    """Simulate ``runs`` independent runs.

    Returns ``(runs, generations + 1, k + 2)``: the trajectories; in column
    ``k`` the generation at which a run overflowed (else -1) and in column
    ``k + 1`` the generation at which it collapsed (else -1).

    A run whose model has drifted so far that its samples overflow the
    floating-point range (e.g. a Pareto shape near 0 draws ``inf``), or
    whose data have become degenerate so that the estimator refuses them
    (e.g. all points equal: a Gaussian sigma of 0), cannot be refitted: it is
    frozen at its last fitted value from then on (an absorbing state) and the
    generation recorded (``SimulationResult.diverged``, ``.collapsed``).
    """
    if getattr(spec.family, "_event_shaped", False):
        return _run_event_chunk(spec, runs, seed)
    rng = np.random.default_rng(seed)
    family = spec.family
    k = len(spec.theta0)
    traj = np.empty((runs, spec.generations + 1, k + 2))
    traj[:, 0, :k] = spec.theta0
    traj[:, :, k:] = -1.0
    alive = np.ones(runs, dtype=bool)
    truth = family._from_trusted([np.full(runs, v) for v in spec.theta0])
    n_real = int(round(spec.fresh_fraction * spec.n)) if spec.mode == "fresh" else 0
    pool = None
    theta = traj[:, 0, :k].copy()
    for t in range(1, spec.generations + 1):
        model = family._from_trusted([theta[:, j] for j in range(k)])
        x, pool = _generation_data(spec, model, truth, n_real, pool,
                                   lambda dist, size: dist._sample_values(size, rng), axis=-1)
        finite = np.isfinite(x).all(axis=-1)
        if not finite.all():
            _freeze_diverged(traj, alive, finite, t, k)
            if pool is not None:
                pool = np.where(finite[:, None], pool, 1.0)
        if alive.any():
            done, fitted = _refit_alive(spec.estimator, x, rng, k, alive, traj, t)
            theta[done] = fitted
        traj[:, t, :k] = theta
    return traj



# --------------------------------------------------------------------------- event-shaped
# The multivariate Gaussian's fits depend on the data only through the count, the mean
# and the scatter matrix, and for Gaussian data those are drawn directly (independent
# mean and Wishart scatter, by the Bartlett decomposition): no data are generated and
# the accumulate loop keeps running sufficient statistics, not a growing pool. Every
# covariance is held as a lower-triangular factor F (Sigma = F F^T), so sampling needs no
# factorisation, a singular covariance is handled like any other, and log det Sigma is
# read off the diagonal of F.


def _merge(parts):
    """Pool ``(count, mean, scatter factor)`` parts into one (Chan's update).

    ``S = sum S_i + sum N_i (m_i - M)(m_i - M)^T``, formed explicitly and
    factorised again (batched over runs; see :func:`_lower_factor`).
    """
    parts = [p for p in parts if p[0] > 0]
    if len(parts) == 1:
        return parts[0]
    total = sum(p[0] for p in parts)
    mean = sum(p[0] * p[1] for p in parts) / total
    scatter = sum(_outer(p[2]) for p in parts)
    for count, centre, _ in parts:
        delta = centre - mean
        scatter = scatter + count * delta[:, :, None] * delta[:, None, :]
    return total, mean, _lower_factor(scatter)


def _outer(factor):
    """``F F^T`` for a batch of square ``F`` (the transpose copied: numpy's matmul of a
    transposed view is several times slower)."""
    return factor @ np.ascontiguousarray(np.swapaxes(factor, -1, -2))


def _lower_factor(scatter):
    """A lower-triangular ``L`` with ``L L^T = S`` for a batch of p.s.d. matrices ``S``.

    The Cholesky factor where every ``S`` is positive definite (the usual case);
    otherwise (a singular ``S``, e.g. fewer pooled points than dimensions) the
    triangular factor of a QR decomposition of ``(V sqrt(w))^T``, ``S = V diag(w) V^T``,
    which is exact for a singular ``S`` as well.
    """
    scatter = 0.5 * (scatter + np.swapaxes(scatter, -1, -2))
    try:
        return np.linalg.cholesky(scatter)
    except np.linalg.LinAlgError:
        pass
    w, v = np.linalg.eigh(scatter)
    columns = v * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
    r = np.linalg.qr(np.swapaxes(columns, -1, -2), mode="r")  # (runs, d, d), upper
    return np.swapaxes(r, -1, -2)


def event_generations(mean0, factor0, n, generations, *, mode="replace", fresh_fraction=0.0,
                      estimator="ple", fixed_mean=None, runs=1, rng=None, pool=None):
    """The self-consuming loop of the multivariate Gaussian, one generation at a time.

    Parameters
    ----------
    mean0 : ndarray of shape (d,) or (runs, d)
    factor0 : ndarray of shape (d, d) or (runs, d, d)
        A lower-triangular square root of the true covariance (its Cholesky factor).
        The loop starts from this model (the truth, whose draws ``"fresh"`` mixes in).
    n, generations, mode, fresh_fraction
        As in :func:`simulate`.
    estimator : {"mle", "ple"}
        The analytic fits of :class:`~ple_stats.MultivariateGaussian`: divisor
        ``N`` (MLE) or ``N - 1`` (PLE) of the scatter of the ``N`` points fitted
        (``N = n``, or ``n t`` when accumulating); ``N`` for both with the mean fixed.
    fixed_mean : ndarray of shape (d,), optional
    runs : int
    rng : numpy.random.Generator
    pool : tuple, optional
        ``(count, mean (runs, d), scatter factor (runs, d, d))`` of data already
        pooled (``"accumulate"`` continuing from a given state).

    Yields
    ------
    t, mean, factor
        For ``t = 1 .. generations``: the fitted means ``(runs, d)`` and
        lower-triangular covariance factors ``(runs, d, d)`` of generation ``t``.
        A run whose fit stops being finite is frozen at its last finite fit.
    """
    from ._multivariate_gaussian import draw_sufficient_statistics

    d = mean0.shape[-1]
    truth_mean = np.broadcast_to(mean0, (runs, d))
    truth_factor = np.broadcast_to(factor0, (runs, d, d))
    mean, factor = truth_mean.copy(), truth_factor.copy()
    n_real = int(round(fresh_fraction * n)) if mode == "fresh" else 0
    for t in range(1, generations + 1):
        parts = []
        if n_real:
            parts.append((n_real, *draw_sufficient_statistics(rng, truth_mean, truth_factor,
                                                               n_real)))
        if n - n_real:
            parts.append((n - n_real, *draw_sufficient_statistics(rng, mean, factor,
                                                                   n - n_real)))
        if mode == "accumulate" and pool is not None:
            parts.insert(0, pool)
        count, centre, scatter = _merge(parts)
        previous_pool = pool
        if mode == "accumulate":
            pool = (count, centre, scatter)
        if fixed_mean is not None:  # the scatter about the fixed mean: N degrees of freedom
            shift = centre - fixed_mean
            scatter = _lower_factor(_outer(scatter)
                                    + count * shift[:, :, None] * shift[:, None, :])
            new_mean, divisor = np.broadcast_to(fixed_mean, (runs, d)), count
        else:
            new_mean, divisor = centre, (count - 1 if estimator == "ple" else count)
        new_factor = scatter / np.sqrt(divisor)
        ok = np.isfinite(new_mean).all(axis=-1) & np.isfinite(new_factor).all(axis=(-2, -1))
        if not ok.all():
            new_mean = np.where(ok[:, None], new_mean, mean)
            new_factor = np.where(ok[:, None, None], new_factor, factor)
            if pool is not None and previous_pool is not None:  # keep the frozen runs' pool
                pool = (pool[0], np.where(ok[:, None], pool[1], previous_pool[1]),
                        np.where(ok[:, None, None], pool[2], previous_pool[2]))
        mean, factor = new_mean, new_factor
        yield t, mean, factor, ~ok


def _run_event_chunk(spec: _Spec, runs: int, seed) -> np.ndarray:
    """:func:`_run_chunk` for an event-shaped family (the same output layout).

    Column ``k`` holds the generation at which a run's fit stopped being
    finite (frozen from then on), column ``k + 1`` the first generation whose
    fitted covariance is numerically singular (a zero on the diagonal of its
    factor); such a run goes on, since a singular Gaussian can still be
    sampled (in the replace loop it stays singular).

    Estimators that need the data themselves (:func:`draws_data`) run
    :func:`_run_event_data_chunk` instead.
    """
    if draws_data(spec.estimator):
        return _run_event_data_chunk(spec, runs, seed)
    rng = np.random.default_rng(seed)
    family = spec.family
    k = len(spec.theta0)
    d = family._dim_of(k)
    mean0, cov0 = family._unflatten(np.array(spec.theta0), d)
    factor0 = np.linalg.cholesky(cov0)
    fixed = spec.estimator.fixed.get("mean")
    traj = np.empty((runs, spec.generations + 1, k + 2))
    traj[:, 0, :k] = spec.theta0
    traj[:, :, k:] = -1.0
    diverged = np.full(runs, -1)
    singular = np.full(runs, -1)
    for t, mean, factor, bad in event_generations(
            mean0, factor0, spec.n, spec.generations, mode=spec.mode,
            fresh_fraction=spec.fresh_fraction, estimator=spec.estimator.kind,
            fixed_mean=None if fixed is None else np.asarray(fixed, dtype=float),
            runs=runs, rng=rng):
        cov = _outer(factor)
        traj[:, t, :k] = family._flatten(mean, cov)
        diverged[(diverged < 0) & bad] = t
        flat = (np.diagonal(factor, axis1=-2, axis2=-1) == 0).any(axis=-1)
        singular[(singular < 0) & flat] = t
    traj[:, :, k] = diverged[:, None]
    traj[:, :, k + 1] = singular[:, None]
    return traj


def draws_data(estimator):
    """Whether an event-shaped family's estimator needs synthetic data drawn (the data path):
    a callable, the bootstrap PLE or the penalised PLE. The MLE and the analytic PLE depend
    on the data only through the sufficient statistics, which :func:`event_generations`
    draws directly."""
    return (estimator.kind == "callable" or estimator.fit_kwargs.get("method") == "bootstrap"
            or estimator.fit_kwargs.get("penalty") is not None)


def _run_event_data_chunk(spec: _Spec, runs: int, seed) -> np.ndarray:
    """:func:`_run_chunk` for an event-shaped family whose estimator needs the data.

    Every generation draws the data: ``n`` points of dimension ``d`` per run
    from the previous fit (the family's ``sample``; in ``"fresh"`` the truth's
    points first, in ``"accumulate"`` appended to the run's pool), and one
    batched fit of all live runs (:func:`fit_runs`: the family's bootstrap or
    penalised ``fit_ple``, drawing its base randomness from the chunk's stream,
    or the user's callable). The columns are those of the scalar families:
    column ``k`` the generation whose samples overflowed, column ``k + 1`` the
    generation whose data the estimator refused as degenerate; either run is
    frozen at its last fit from then on.
    """
    rng = np.random.default_rng(seed)
    family = spec.family
    k = len(spec.theta0)
    d = family._dim_of(k)
    mean0, cov0 = family._unflatten(np.array(spec.theta0), d)
    traj = np.empty((runs, spec.generations + 1, k + 2))
    traj[:, 0, :k] = spec.theta0
    traj[:, :, k:] = -1.0
    alive = np.ones(runs, dtype=bool)
    mean = np.broadcast_to(mean0, (runs, d)).copy()
    cov = np.broadcast_to(cov0, (runs, d, d)).copy()
    factor = np.broadcast_to(np.linalg.cholesky(cov0), (runs, d, d)).copy()
    truth = family._from_trusted(mean.copy(), cov.copy(), factor.copy())
    n_real = int(round(spec.fresh_fraction * spec.n)) if spec.mode == "fresh" else 0
    pool = None
    theta = traj[:, 0, :k].copy()
    for t in range(1, spec.generations + 1):
        model = family._from_trusted(mean, cov, factor)
        x, pool = _generation_data(spec, model, truth, n_real, pool,
                                   lambda dist, size: dist.sample(size, rng), axis=-2)
        finite = np.isfinite(x).all(axis=(-2, -1))
        if not finite.all():
            _freeze_diverged(traj, alive, finite, t, k)
            if pool is not None:
                pool = np.where(finite[:, None, None], pool, 0.0)
        if alive.any():
            done, fitted = _refit_alive(spec.estimator, x, rng, k, alive, traj, t)
            theta[done] = fitted
            mean[done], cov[done] = family._unflatten(fitted, d)
            factor[done] = _lower_factor(cov[done])
        traj[:, t, :k] = theta
    return traj


def simulate(dist, n, generations=100, runs=1000, *, estimator="ple", fixed=None,
             fit_kwargs=None, mode="replace", fresh_fraction=0.0, rng=None, n_jobs=1,
             backend="loky", chunk_size=100, checkpoint=None, progress=None):
    r"""Refit a model on its own samples for many generations, many runs at once.

    Parameters
    ----------
    dist : Distribution or MultivariateGaussian
        The truth (generation 0): a ple_stats family with scalar parameters,
        e.g. ``Uniform(low=0.0, high=1.0)``, or a single
        :class:`~ple_stats.MultivariateGaussian`. For the latter the
        trajectories hold the ``k = d + d(d+1)/2`` scalar parameters
        ``"mean[i]"`` and ``"cov[i,j]"`` (``i <= j``), ``fixed`` may hold
        ``"mean"``, and ``n >= d + 1`` (``n >= d`` with the mean fixed). For
        the MLE and the analytic PLE its loop draws the sample mean and a
        Bartlett factor of the scatter instead of data (exact in law) and
        accumulates running sufficient statistics (cheap: no data, no solve).
        The bootstrap PLE (``fit_kwargs={"method": "bootstrap", "m": ...}``),
        the penalised PLE (``{"penalty": ...}``) and a callable estimator need
        the data: that loop draws ``n`` points of dimension ``d`` per run and
        generation (keeping the pool under ``"accumulate"``) and fits all runs
        of a chunk in one batched ``fit_ple`` call, as for the scalar
        families. It costs a data-driven fit per generation (measured on the
        collapse-lab page of the user guide), and its
        ``collapsed`` records refused (degenerate) data, as for the scalar
        families, instead of a singular fitted covariance.
        :meth:`SimulationResult.collapse_summary` gives the mean error, trace
        ratio and log-determinant ratio.
    n : int
        Number of points drawn per generation (at least 1).
    generations : int
        Number of refits after the truth (at least 1).
    runs : int
        Independent runs (at least 1).
    estimator : {"ple", "mle"} or callable
        ``"mle"`` uses ``fit_mle``; ``"ple"`` uses ``fit_ple`` with
        ``fit_kwargs`` (e.g. ``{"method": "bootstrap", "m": 100}``); a
        callable maps data ``(runs, n)`` (``(runs, N, d)`` for the
        multivariate Gaussian, ``N`` the points fitted) to a
        :class:`FitResult` of the same family.
    fixed : dict, optional
        Parameters held fixed in every fit (e.g. ``{"low": 0.0}``).
    fit_kwargs : dict, optional
        Further keywords of ``fit_ple`` (``method``, ``m``, ``penalty``,
        ``parametrization``; for the multivariate Gaussian ``method``, ``m``
        and ``penalty``). The simulator supplies ``rng``: each fit draws its
        base randomness from its chunk's stream.
    mode : {"replace", "accumulate", "fresh"}
        ``"replace"``: each generation sees only ``n`` fresh synthetic points
        (the paper's fully synthetic loop); ``"accumulate"``: all data of past
        generations are kept and the new ``n`` added; ``"fresh"``: a fraction
        ``fresh_fraction`` of the ``n`` points is new real data from the truth.
    fresh_fraction : float
        In [0, 1]; used by ``mode="fresh"``.
    rng : None, int or numpy.random.SeedSequence
        Seed; every chunk of runs gets its own child stream. ``checkpoint``
        needs an int or SeedSequence so that a restart reproduces the streams.
    n_jobs : int
        Local worker processes (joblib); ``-1`` for all cores.
    backend : {"loky", "dask"}
        ``"dask"`` submits the chunks to the current ``dask.distributed``
        client (start one first, e.g. ``Client(LocalCluster())``).
    chunk_size : int
        Runs per chunk (the unit of parallel work, checkpointing and random
        streams: part of what determines the result).
    checkpoint : str or path, optional
        Directory where finished chunks are saved as they complete; a run
        restarted with the same arguments skips them and gives the same
        result. A directory (or a chunk file) written with other arguments
        is refused; a damaged chunk is recomputed with a warning (see the
        user guide, "What resuming guarantees").
    progress : bool, optional
        Show a progress bar (tqdm) over chunks; default: when stderr is a
        terminal.

    Returns
    -------
    SimulationResult
        ``trajectories`` of shape ``(runs, generations + 1, n_params)``.
        Runs whose data became degenerate (collapse) or whose samples
        overflowed are frozen at their last value from then on and recorded
        in ``collapsed`` and ``diverged``, with a :class:`PLEWarning`; the
        other runs go on.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, or a callable ``estimator`` whose result is not a fit
        of the simulated family with one finite, in-domain value per run.

    Examples
    --------
    >>> from ple_stats import Uniform, simulate
    >>> sim = simulate(Uniform(low=0.0, high=1.0), n=20, generations=5, runs=200,
    ...                estimator="mle", fixed={"low": 0.0}, rng=0)
    >>> sim.trajectories.shape
    (200, 6, 2)
    >>> sim.param_names
    ('low', 'high')

    The multivariate Gaussian with its bootstrap PLE (synthetic data drawn
    and fitted every generation):

    >>> import numpy as np
    >>> from ple_stats import MultivariateGaussian
    >>> truth = MultivariateGaussian(mean=np.zeros(2), cov=np.eye(2))
    >>> sim = simulate(truth, n=10, generations=3, runs=50, rng=0,
    ...                fit_kwargs={"method": "bootstrap", "m": 50}, progress=False)
    >>> sim.trajectories.shape
    (50, 4, 5)
    >>> sim.param_names
    ('mean[0]', 'mean[1]', 'cov[0,0]', 'cov[0,1]', 'cov[1,1]')
    """
    event = getattr(type(dist), "_event_shaped", False)
    if not isinstance(dist, Distribution) and not event:
        raise TypeError(f"`dist` must be a ple_stats distribution such as Uniform(...); "
                        f"got {type(dist).__name__}.")
    if dist.batch_shape != ():
        raise ValueError(f"`dist` must have scalar parameters; got batch shape "
                         f"{dist.batch_shape}.")
    n = as_int(n, "n", minimum=1)
    generations = as_int(generations, "generations", minimum=1)
    runs = as_int(runs, "runs", minimum=1)
    chunk_size = as_int(chunk_size, "chunk_size", minimum=1)
    n_jobs, backend = check_executor(n_jobs, backend)
    if mode not in _MODES:
        raise ValueError(f"`mode` must be one of {_MODES}; got {mode!r}.")
    fresh_fraction = _as_fraction(fresh_fraction)
    family = type(dist)
    fit_kwargs = dict(fit_kwargs or {})
    options = {k: v for k, v in fit_kwargs.items() if isinstance(v, (str, int, float))}
    if event:
        fixed, est, theta0, param_names, truth = _event_setup(dist, n, estimator, fixed,
                                                              fit_kwargs, options)
    else:
        fixed = _as_fixed(fixed, family)
        est = _make_estimator(family, estimator, fixed, fit_kwargs)
        # Check the whole configuration once on real data before any long work.
        probe = dist.sample(n, np.random.default_rng(0), sample_shape=(2,))
        est(probe, np.random.default_rng(0))
        theta0 = tuple(float(v) for v in dist._values)
        param_names = family._param_names
        truth = dict(zip(param_names, theta0))

    spec = _Spec(family, theta0, n, generations, mode, fresh_fraction, est)
    seeds = _child_seeds(rng, -(-runs // chunk_size), checkpoint is not None)
    sizes = [min(chunk_size, runs - start) for start in range(0, runs, chunk_size)]
    store = None
    if checkpoint is not None:
        expected = [(size, generations + 1, len(spec.theta0) + 2) for size in sizes]
        store = CheckpointStore(
            checkpoint, _checkpoint_key(spec, runs, chunk_size, seeds),
            check=lambda i, chunk: None if chunk.shape == expected[i] else
            f"shape {chunk.shape}, expected {expected[i]}")
    tasks = [(spec, sizes[i], seeds[i]) for i in range(len(sizes))]
    results = execute(_run_chunk, tasks, n_jobs=n_jobs, backend=backend, store=store,
                      progress=progress, desc="simulate", unit="chunk")
    combined = np.concatenate(results, axis=0)
    k = len(spec.theta0)
    trajectories = combined[..., :k]
    diverged, collapsed = (combined[:, 0, j].astype(int) for j in (k, k + 1))
    _warn_absorbed(diverged, collapsed, runs, event and not draws_data(est))
    return SimulationResult(
        trajectories=trajectories,
        diverged=diverged,
        collapsed=collapsed,
        param_names=param_names,
        family=family.__name__,
        truth=truth,
        n=n,
        estimator=est.label,
        fixed=tuple(fixed),
        options=options,
        mode=mode,
        fresh_fraction=fresh_fraction,
    )


def _event_setup(dist, n, estimator, fixed, fit_kwargs, options):
    """Validated settings of an event-shaped family (the multivariate Gaussian).

    Returns ``(fixed, estimator, theta0, param_names, truth)``; records in
    ``options`` whether a fixed mean is the truth's (the exact theory needs it).
    """
    family = type(dist)
    if not callable(estimator) and estimator not in ("mle", "ple"):
        raise ValueError(f"`estimator` must be 'mle', 'ple' or a callable; got {estimator!r}.")
    for key in ("rng", "x"):
        if key in fit_kwargs:
            raise TypeError(f"`fit_kwargs` must not contain {key!r}: the simulator supplies it.")
    unknown = sorted(set(fit_kwargs) - {"method", "m", "penalty"})
    if unknown:
        raise TypeError(f"`fit_kwargs` {unknown} do not apply to {family.__name__}; its "
                        "fit_ple takes 'method', 'm' and 'penalty'.")
    if estimator == "mle" and fit_kwargs:
        raise TypeError(f"`fit_kwargs` {sorted(fit_kwargs)} apply to estimator='ple' only.")
    if fixed is None:
        fixed = {}
    if not isinstance(fixed, dict):
        raise TypeError(f"`fixed` must be a dict such as {{'mean': 0.0}}; got "
                        f"{type(fixed).__name__}.")
    if set(fixed) - {"mean"}:
        raise TypeError(f"`fixed` may hold only 'mean' for {family.__name__}; got "
                        f"{sorted(fixed)}.")
    d = dist.dim
    mean0, cov0 = dist.params
    # the fits check n, the fixed mean's shape and the data; a probe from the truth
    probe = dist.sample(n, np.random.default_rng(0), sample_shape=(2,))
    fixed_out = {}
    if "mean" in fixed:
        value = family._prepare_fit(probe, fixed, "fit_ple")[1]["mean"][0]
        fixed_out["mean"] = tuple(float(v) for v in value)
        options["mean_fixed_at_truth"] = bool(np.array_equal(value, mean0))
    if callable(estimator):
        est = _Estimator(family, "callable", fixed_out, fit_kwargs, func=estimator)
    else:
        est = _Estimator(family, estimator, fixed_out, fit_kwargs)
        if not draws_data(est) and "m" in fit_kwargs:
            raise TypeError(f"`fit_kwargs` ['m'] do not apply to the analytic PLE of "
                            f"{family.__name__}; it is for method='bootstrap' or a penalty.")
    if draws_data(est):  # the whole configuration, once, before any long work
        est(probe, np.random.default_rng(0))
    else:
        fit = family.fit_mle if estimator == "mle" else family.fit_ple
        fit(probe, **fit_kwargs, **fixed)
    theta0 = tuple(float(v) for v in family._flatten(mean0, cov0))
    names = family._scalar_names(d)
    return fixed_out, est, theta0, names, dict(zip(names, theta0))


def _warn_absorbed(diverged, collapsed, runs, event=False):
    """One PLEWarning for the runs frozen by an overflow or a collapse."""
    if event:
        if (diverged >= 0).any() or (collapsed >= 0).any():
            warnings.warn(
                f"{int(np.count_nonzero(diverged >= 0))} of {runs} runs stopped being finite "
                "(frozen at their last finite fit; SimulationResult.diverged) and "
                f"{int(np.count_nonzero(collapsed >= 0))} reached a numerically singular "
                "covariance (SimulationResult.collapsed; they go on, a singular Gaussian can "
                "still be sampled).", PLEWarning, stacklevel=3)
        return
    parts = []
    if (diverged >= 0).any():
        parts.append(f"{int(np.count_nonzero(diverged >= 0))} of {runs} runs drifted so far "
                     "that their samples overflowed the floating-point range "
                     "(SimulationResult.diverged)")
    if (collapsed >= 0).any():
        parts.append(f"{int(np.count_nonzero(collapsed >= 0))} of {runs} runs collapsed: "
                     "their data became degenerate (e.g. all points equal) and could not be "
                     "refitted (SimulationResult.collapsed)")
    if parts:
        warnings.warn("; ".join(parts) + ". Each is frozen at its last fitted value from then "
                      "on; the other runs are unaffected.", PLEWarning, stacklevel=3)


def _as_fraction(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`fresh_fraction` must be a number in [0, 1]; got "
                        f"{type(value).__name__}.")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"`fresh_fraction` must be in [0, 1]; got {value}.")
    return value


def _as_fixed(fixed, family):
    if fixed is None:
        return {}
    if not isinstance(fixed, dict):
        raise TypeError(f"`fixed` must be a dict of parameter values such as "
                        f"{{{family._param_names[0]!r}: 0.0}}; got {type(fixed).__name__}.")
    out = {}
    for name, value in fixed.items():
        if name not in family._param_names:
            raise TypeError(f"`fixed` names an unknown parameter {name!r} of "
                            f"{family.__name__}; parameters are {family._param_names}.")
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"`fixed[{name!r}]` must be a number; got {value!r}.") from None
    return out


def _make_estimator(family, estimator, fixed, fit_kwargs):
    if callable(estimator):
        return _Estimator(family, "callable", fixed, fit_kwargs, func=estimator)
    if estimator not in ("mle", "ple"):
        raise ValueError(f"`estimator` must be 'mle', 'ple' or a callable; got {estimator!r}.")
    if estimator == "mle" and fit_kwargs:
        raise TypeError(f"`fit_kwargs` {sorted(fit_kwargs)} apply to estimator='ple' only.")
    for key in ("rng", "x"):
        if key in fit_kwargs:
            raise TypeError(f"`fit_kwargs` must not contain {key!r}: the simulator supplies it.")
    return _Estimator(family, estimator, fixed, fit_kwargs)


def _checkpoint_key(spec, runs, chunk_size, seeds):
    """Everything that determines the simulator's chunks (the checkpoint store's key)."""
    est = spec.estimator
    key = {
        "family": f"{spec.family.__module__}.{spec.family.__qualname__}",
        "theta0": spec.theta0, "n": spec.n,
        "generations": spec.generations, "mode": spec.mode,
        "fresh_fraction": spec.fresh_fraction, "estimator": est.kind,
        "fixed": est.fixed, "fit_kwargs": {k: repr(v) for k, v in est.fit_kwargs.items()},
        "runs": runs, "chunk_size": chunk_size,
        "seed": [seeds[0].entropy if seeds else None,
                 list(seeds[0].spawn_key[:-1]) if seeds else None],
    }
    if est.kind == "callable":
        key["callable"] = callable_identity(est.func)
    return key


def _child_seeds(rng, count, need_reproducible):
    if isinstance(rng, np.random.SeedSequence):
        root = rng
    elif rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng is None and need_reproducible:
            raise ValueError("`checkpoint` needs a reproducible `rng` (an int seed or a "
                             "SeedSequence) so that a restart draws the same numbers.")
        if rng is not None and rng < 0:
            raise ValueError(f"`rng` must be a non-negative integer seed; got {rng}.")
        root = np.random.SeedSequence(rng)
    elif isinstance(rng, np.random.Generator):
        if need_reproducible:
            raise ValueError("`checkpoint` needs an int seed or a SeedSequence as `rng`, not a "
                             "Generator, so that a restart draws the same numbers.")
        root = np.random.SeedSequence(int(rng.integers(2**63)))
    else:
        raise TypeError(f"`rng` must be None, an int, a SeedSequence or a Generator; got "
                        f"{type(rng).__name__}.")
    # Spawn from a copy: SeedSequence.spawn advances the object it is called on, and a
    # restart with the same object must draw the same child streams.
    fresh = np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key,
                                   pool_size=root.pool_size)
    return fresh.spawn(count)


def _generation_data(spec, model, truth, n_real, pool, draw, axis):
    """One generation's training data by ``spec.mode``: ``n`` draws of the current fit
    (replace), ``n_real`` of the truth then the rest of the fit (fresh), or the pool of
    all draws so far (accumulate); ``draw(dist, size)`` samples, observations along
    ``axis``. Returns ``(x, pool)``."""
    if spec.mode == "replace":
        return draw(model, spec.n), pool
    if spec.mode == "fresh":
        parts = [draw(truth, n_real)] if n_real else []
        if spec.n - n_real:
            parts.append(draw(model, spec.n - n_real))
        return np.concatenate(parts, axis=axis), pool
    new = draw(model, spec.n)  # accumulate: keep all data seen so far
    pool = new if pool is None else np.concatenate([pool, new], axis=axis)
    return pool, pool

