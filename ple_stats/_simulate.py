"""The recursive-generation (self-consuming) simulator.

Generation 0 is the truth; generation ``t >= 1`` is the estimate from ``n``
points drawn from generation ``t - 1``'s fitted model, so generation 1 is the
fit to real data. Runs are independent and vectorised: one batched fit per
generation for a whole chunk of runs. Chunks are the unit of parallelism and
of checkpointing, and each has its own random stream spawned from ``rng``,
so the result does not depend on ``n_jobs``, the backend or interruptions.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from ._distribution import Distribution
from ._simulation_result import SimulationResult
from ._validation import as_int

__all__ = ["simulate"]

_MODES = ("replace", "accumulate", "fresh")
_BACKENDS = ("loky", "dask")


@dataclass(frozen=True)
class _Estimator:
    """A picklable estimator ``x -> fitted parameter array (runs, k)``."""

    family: type
    kind: str  # "mle", "ple" or "callable"
    fixed: dict
    fit_kwargs: dict
    func: object = None

    def __call__(self, x, rng):
        if self.kind == "mle":
            res = self.family.fit_mle(x, **self.fixed)
        elif self.kind == "ple":
            kwargs = dict(self.fit_kwargs)
            if kwargs.get("method") == "bootstrap" or "penalty" in kwargs or (
                    not self.family._has_analytic_ple):
                kwargs["rng"] = rng
            res = self.family.fit_ple(x, **kwargs, **self.fixed)
        else:
            res = self.func(x)
        return np.stack([np.broadcast_to(np.asarray(v, dtype=float), x.shape[:-1])
                         for v in res.params], axis=-1)

    @property
    def label(self):
        if self.kind == "callable":
            return getattr(self.func, "__name__", "custom")
        return self.kind


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


def _run_chunk(spec: _Spec, runs: int, seed) -> np.ndarray:
    """Simulate ``runs`` independent runs.

    Returns ``(runs, generations + 1, k + 1)``: the trajectories, and in the
    last column the generation at which a run overflowed (else -1).

    A run whose model has drifted so far that its samples overflow the
    floating-point range (e.g. a Pareto shape near 0 draws ``inf``) cannot be
    refitted: it is frozen at its last fitted value from then on and its
    overflow generation recorded (``SimulationResult.diverged``).
    """
    rng = np.random.default_rng(seed)
    family = spec.family
    k = len(spec.theta0)
    traj = np.empty((runs, spec.generations + 1, k + 1))
    traj[:, 0, :k] = spec.theta0
    traj[:, :, k] = -1.0
    alive = np.ones(runs, dtype=bool)
    truth = family._from_trusted([np.full(runs, v) for v in spec.theta0])
    n_real = int(round(spec.fresh_fraction * spec.n)) if spec.mode == "fresh" else 0
    pool = None
    theta = traj[:, 0, :k].copy()
    for t in range(1, spec.generations + 1):
        model = family._from_trusted([theta[:, j] for j in range(k)])
        if spec.mode == "replace":
            x = model.sample(spec.n, rng)
        elif spec.mode == "fresh":
            parts = [truth.sample(n_real, rng)] if n_real else []
            if spec.n - n_real:
                parts.append(model.sample(spec.n - n_real, rng))
            x = np.concatenate(parts, axis=-1)
        else:  # accumulate: keep all data seen so far
            new = model.sample(spec.n, rng)
            pool = new if pool is None else np.concatenate([pool, new], axis=-1)
            x = pool
        finite = np.isfinite(x).all(axis=-1)
        if not finite.all():
            newly = alive & ~finite
            traj[newly, :, k] = t
            alive &= finite
            if pool is not None:
                pool = np.where(finite[:, None], pool, 1.0)
        if alive.any():
            theta[alive] = spec.estimator(x[alive], rng)
        traj[:, t, :k] = theta
    return traj


def simulate(dist, n, generations=100, runs=1000, *, estimator="ple", fixed=None,
             fit_kwargs=None, mode="replace", fresh_fraction=0.0, rng=None, n_jobs=1,
             backend="loky", chunk_size=100, checkpoint=None, progress=None):
    r"""Refit a model on its own samples for many generations, many runs at once.

    Parameters
    ----------
    dist : Distribution
        The truth (generation 0): a ple_stats family with scalar parameters,
        e.g. ``Uniform(low=0.0, high=1.0)``.
    n : int
        Number of points drawn per generation (at least 1).
    generations : int
        Number of refits after the truth (at least 1).
    runs : int
        Independent runs (at least 1).
    estimator : {"ple", "mle"} or callable
        ``"mle"`` uses ``fit_mle``; ``"ple"`` uses ``fit_ple`` with
        ``fit_kwargs`` (e.g. ``{"method": "bootstrap", "m": 100}``); a
        callable maps data ``(runs, n)`` to a :class:`FitResult` of the same
        family.
    fixed : dict, optional
        Parameters held fixed in every fit (e.g. ``{"low": 0.0}``).
    fit_kwargs : dict, optional
        Further keywords of ``fit_ple`` (``method``, ``m``, ``penalty``,
        ``parametrization``).
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
        restarted with the same arguments skips them.
    progress : bool, optional
        Show a progress bar (tqdm) over chunks; default: when stderr is a
        terminal.

    Returns
    -------
    SimulationResult
        ``trajectories`` of shape ``(runs, generations + 1, n_params)``.

    Examples
    --------
    >>> from ple_stats import Uniform, simulate
    >>> sim = simulate(Uniform(low=0.0, high=1.0), n=20, generations=5, runs=200,
    ...                estimator="mle", fixed={"low": 0.0}, rng=0)
    >>> sim.trajectories.shape
    (200, 6, 2)
    >>> sim.param_names
    ('low', 'high')
    """
    if not isinstance(dist, Distribution):
        raise TypeError(f"`dist` must be a ple_stats distribution such as Uniform(...); "
                        f"got {type(dist).__name__}.")
    if dist.batch_shape != ():
        raise ValueError(f"`dist` must have scalar parameters; got batch shape "
                         f"{dist.batch_shape}.")
    n = as_int(n, "n", minimum=1)
    generations = as_int(generations, "generations", minimum=1)
    runs = as_int(runs, "runs", minimum=1)
    chunk_size = as_int(chunk_size, "chunk_size", minimum=1)
    n_jobs, backend = _check_executor(n_jobs, backend)
    if mode not in _MODES:
        raise ValueError(f"`mode` must be one of {_MODES}; got {mode!r}.")
    fresh_fraction = float(fresh_fraction)
    if not 0.0 <= fresh_fraction <= 1.0:
        raise ValueError(f"`fresh_fraction` must be in [0, 1]; got {fresh_fraction}.")
    family = type(dist)
    fixed = dict(fixed or {})
    for name in fixed:
        if name not in family._param_names:
            raise TypeError(f"`fixed` names an unknown parameter {name!r} of {family.__name__}; "
                            f"parameters are {family._param_names}.")
    fixed = {name: float(value) for name, value in fixed.items()}
    fit_kwargs = dict(fit_kwargs or {})
    est = _make_estimator(family, estimator, fixed, fit_kwargs)
    # Check the whole configuration once on real data before any long work.
    probe = dist.sample(n, np.random.default_rng(0), sample_shape=(2,))
    est(probe, np.random.default_rng(0))

    spec = _Spec(family, tuple(float(v) for v in dist._values), n, generations, mode,
                 fresh_fraction, est)
    seeds = _child_seeds(rng, -(-runs // chunk_size), checkpoint is not None)
    sizes = [min(chunk_size, runs - start) for start in range(0, runs, chunk_size)]
    store = _Checkpoint(checkpoint, spec, runs, chunk_size, seeds) if checkpoint else None
    results = _execute(spec, sizes, seeds, n_jobs, backend, store, progress)
    combined = np.concatenate(results, axis=0)
    trajectories, diverged = combined[..., :-1], combined[:, 0, -1].astype(int)
    if (diverged >= 0).any():
        import warnings

        from ._warnings import PLEWarning

        warnings.warn(
            f"{int(np.count_nonzero(diverged >= 0))} of {runs} runs drifted so far that their "
            "samples overflowed the floating-point range; each is frozen at its last fitted "
            "value from then on (see SimulationResult.diverged).", PLEWarning, stacklevel=2)
    return SimulationResult(
        trajectories=trajectories,
        diverged=diverged,
        param_names=family._param_names,
        family=family.__name__,
        truth=dict(zip(family._param_names, spec.theta0)),
        n=n,
        estimator=est.label,
        fixed=tuple(fixed),
        options={k: v for k, v in fit_kwargs.items() if isinstance(v, (str, int, float))},
        mode=mode,
        fresh_fraction=fresh_fraction,
    )


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


def _execute(spec, sizes, seeds, n_jobs, backend, store, progress):
    """Run the simulator's chunks (see :func:`_execute_tasks`)."""
    tasks = [(spec, sizes[i], seeds[i]) for i in range(len(sizes))]
    return _execute_tasks(_run_chunk, tasks, n_jobs=n_jobs, backend=backend, store=store,
                          progress=progress, desc="simulate")


def _check_executor(n_jobs, backend="loky"):
    """Validated ``(n_jobs, backend)`` of :func:`_execute_tasks`."""
    n_jobs = as_int(n_jobs, "n_jobs")
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"`n_jobs` must be a positive integer or -1; got {n_jobs}.")
    if backend not in _BACKENDS:
        raise ValueError(f"`backend` must be one of {_BACKENDS}; got {backend!r}.")
    return n_jobs, backend


def _execute_tasks(func, tasks, *, n_jobs=1, backend="loky", store=None, progress=None,
                   desc="simulate", unit="chunk"):
    """Run ``func(*tasks[i])`` for every task, reusing and filling a checkpoint ``store``.

    The generic chunk executor of the simulator, usable with any picklable
    module-level ``func`` (the experiments run their units of work through it).
    Results come back in task order whatever the backend. ``store`` (an object
    with ``load(i) -> result or None`` and ``save(i, result)``, e.g.
    :class:`_Checkpoint` or :class:`_ChunkStore`) makes finished tasks
    survive an interruption: they are loaded instead of recomputed.
    ``backend`` is ``"loky"`` (joblib processes, ``n_jobs`` of them; in-process
    when ``n_jobs == 1``) or ``"dask"`` (the current ``dask.distributed`` client).
    """
    results = [None] * len(tasks)
    todo = []
    for i in range(len(tasks)):
        saved = store.load(i) if store else None
        if saved is not None:
            results[i] = saved
        else:
            todo.append(i)
    bar = _progress_bar(len(tasks), len(tasks) - len(todo), progress, desc=desc, unit=unit)

    def finish(i, result):
        results[i] = result
        if store:
            store.save(i, result)
        if bar is not None:
            bar.update(1)

    try:
        if backend == "dask":
            _run_dask(func, tasks, todo, finish)
        elif n_jobs == 1 or len(todo) <= 1:
            for i in todo:
                finish(i, func(*tasks[i]))
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            outputs = parallel(delayed(func)(*tasks[i]) for i in todo)
            for i, result in zip(todo, outputs):
                finish(i, result)
    finally:
        if bar is not None:
            bar.close()
    return results


def _run_dask(func, tasks, todo, finish):
    try:
        from dask.distributed import as_completed, get_client
    except ImportError as exc:  # pragma: no cover - exercised only without dask
        raise ImportError('backend="dask" needs dask.distributed: '
                          'pip install "ple_stats[parallel]"') from exc
    try:
        client = get_client()
    except ValueError:
        raise ValueError('backend="dask" needs a running dask.distributed Client: create one '
                         "first, e.g. `Client(LocalCluster())`.") from None
    futures = {client.submit(func, *tasks[i], pure=False): i for i in todo}
    for future in as_completed(futures):
        finish(futures[future], future.result())


def _progress_bar(total, done, progress, desc="simulate", unit="chunk"):
    """A tqdm bar (None when ``progress`` is false, or None and stderr is not a terminal)."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is optional
        return None
    return tqdm(total=total, initial=done, desc=desc, unit=unit)


class _ChunkStore:
    """Finished chunks on disk, each written atomically, in a directory tied to a key.

    ``key`` (a JSON-able dict) states everything that determines the chunks'
    results; its digest is written to ``checkpoint.json`` on first use and a
    directory holding another digest is refused, so a changed setting never
    silently reuses old chunks. A chunk is an ndarray (saved as ``.npy``) or a
    dict of arrays and scalars (saved as ``.npz``; loaded back as a dict).
    Chunks are indexed by an int (``chunk_000001``) or a str (``unit_<name>``).
    """

    def __init__(self, path, key):
        self.path = os.fspath(path)
        os.makedirs(self.path, exist_ok=True)
        text = json.dumps(key, sort_keys=True, default=str)
        self.digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        meta = os.path.join(self.path, "checkpoint.json")
        if os.path.exists(meta):
            with open(meta) as fh:
                old = json.load(fh)
            if old.get("digest") != self.digest:
                raise ValueError(
                    f"the checkpoint directory {self.path!r} holds a run with different "
                    "arguments; use another directory or delete it.")
        else:
            _atomic_write(meta, json.dumps({"digest": self.digest, "key": key},
                                           indent=1, default=str).encode())

    def _file(self, i, ext="npy"):
        stem = f"chunk_{i:06d}" if isinstance(i, (int, np.integer)) else f"unit_{i}"
        return os.path.join(self.path, f"{stem}.{ext}")

    def load(self, i):
        try:
            return np.load(self._file(i))
        except FileNotFoundError:
            pass
        try:
            with np.load(self._file(i, "npz"), allow_pickle=False) as data:
                return {k: (data[k].item() if data[k].ndim == 0 else data[k]) for k in data}
        except FileNotFoundError:
            return None

    def save(self, i, result):
        import io

        buffer = io.BytesIO()
        if isinstance(result, dict):
            np.savez(buffer, **result)
            _atomic_write(self._file(i, "npz"), buffer.getvalue())
        else:
            np.save(buffer, result)
            _atomic_write(self._file(i), buffer.getvalue())


class _Checkpoint(_ChunkStore):
    """The simulator's store: keyed by the arguments of :func:`simulate`."""

    def __init__(self, path, spec, runs, chunk_size, seeds):
        est = spec.estimator
        key = {
            "family": spec.family.__name__, "theta0": spec.theta0, "n": spec.n,
            "generations": spec.generations, "mode": spec.mode,
            "fresh_fraction": spec.fresh_fraction, "estimator": est.kind,
            "fixed": est.fixed, "fit_kwargs": {k: repr(v) for k, v in est.fit_kwargs.items()},
            "runs": runs, "chunk_size": chunk_size,
            "seed": [seeds[0].entropy if seeds else None,
                     list(seeds[0].spawn_key[:-1]) if seeds else None],
        }
        if est.kind == "callable":
            # A callable is identified by its qualified name (an object by its type's).
            func = est.func
            name = getattr(func, "__qualname__", None) or type(func).__qualname__
            key["callable"] = f"{getattr(func, '__module__', '')}.{name}"
        super().__init__(path, key)


def _atomic_write(path, data: bytes):
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
