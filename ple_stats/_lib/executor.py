"""Running units of work: in-process, in joblib worker processes, or on a Dask cluster."""

from __future__ import annotations

import os
import threading
import time

from .. import _validation
from .optional import import_optional
from .progress import progress_bar

__all__ = ["BACKENDS", "check_executor", "execute"]

BACKENDS = ("loky", "dask")

#: Seconds an idle joblib worker waits for work before it exits.
IDLE_WORKER_TIMEOUT = 60
#: Seconds between a worker's checks that the process which started it is still there.
ORPHAN_CHECK_INTERVAL = 1.0

_watchdog = None


def _watch_parent(parent):
    """Exit this worker as soon as the process that started it is gone (e.g. SIGKILLed)."""
    while True:
        time.sleep(ORPHAN_CHECK_INTERVAL)
        if os.getppid() != parent:
            os._exit(1)


def _call_in_worker(parent, func, *args):
    """Run ``func(*args)`` in a joblib worker that will not outlive the caller ``parent``.

    A worker whose parent is killed with SIGKILL is not told; joblib's idle
    timeout alone can leave it running for minutes. The first task in each
    worker starts a daemon thread that ends the worker once it is orphaned.
    """
    global _watchdog
    if _watchdog is None and os.getppid() == parent:
        _watchdog = threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                                     name="ple_stats-orphan-watchdog")
        _watchdog.start()
    return func(*args)


def check_executor(n_jobs, backend="loky"):
    """Validated ``(n_jobs, backend)`` of :func:`execute`.

    Checks too that what they need is installed (joblib for ``n_jobs != 1``,
    dask.distributed for ``backend="dask"``), so a missing extra is reported
    before any work, not after it.
    """
    n_jobs = _validation.as_int(n_jobs, "n_jobs")
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"`n_jobs` must be a positive integer or -1; got {n_jobs}.")
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS}; got {backend!r}.")
    if backend == "dask":
        import_optional("dask.distributed", 'backend="dask"')
    elif n_jobs != 1:
        import_optional("joblib", f"n_jobs={n_jobs}")
    return n_jobs, backend


def execute(func, tasks, *, n_jobs=1, backend="loky", store=None, progress=None,
            desc=None, unit="chunk"):
    """Run ``func(*tasks[i])`` for every task, reusing and filling a checkpoint ``store``.

    Parameters
    ----------
    func : callable
        A picklable module-level function.
    tasks : list of tuple
        Its arguments, one tuple per unit of work.
    n_jobs : int
        joblib worker processes (``-1``: all cores); in-process when 1, or
        when at most one task is left to run.
    backend : {"loky", "dask"}
        ``"dask"`` submits the tasks to the current ``dask.distributed``
        client.
    store : CheckpointStore, optional
        Finished tasks are loaded from it instead of recomputed, and each
        task is saved to it as it completes.
    progress : bool, optional
        A progress bar over tasks (default: when stderr is a terminal).
    desc, unit : str
        The bar's label and unit.

    Returns
    -------
    list
        The results in task order, whatever the backend.
    """
    results = [None] * len(tasks)
    todo = []
    for i in range(len(tasks)):
        saved = store.load(i) if store is not None else None
        if saved is not None:
            results[i] = saved
        else:
            todo.append(i)
    bar = progress_bar(len(tasks), initial=len(tasks) - len(todo), progress=progress,
                       desc=desc, unit=unit)

    def finish(i, result):
        results[i] = result
        if store is not None:
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
            joblib = import_optional("joblib", f"n_jobs={n_jobs}")
            parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator",
                                       idle_worker_timeout=IDLE_WORKER_TIMEOUT)
            parent = os.getpid()
            outputs = parallel(joblib.delayed(_call_in_worker)(parent, func, *tasks[i])
                               for i in todo)
            for i, result in zip(todo, outputs):
                finish(i, result)
    finally:
        if bar is not None:
            bar.close()
    return results


def _run_dask(func, tasks, todo, finish):
    distributed = import_optional("dask.distributed", 'backend="dask"')
    try:
        client = distributed.get_client()
    except ValueError:
        raise ValueError('backend="dask" needs a running dask.distributed Client: create one '
                         "first, e.g. `Client(LocalCluster())`.") from None
    futures = {client.submit(func, *tasks[i], pure=False): i for i in todo}
    for future in distributed.as_completed(futures):
        finish(futures[future], future.result())
