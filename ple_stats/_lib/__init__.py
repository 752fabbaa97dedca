"""Infrastructure shared by every long-running feature of ple_stats.

One home for the plumbing that the simulator, the experiments and the
hypernetwork trainer all need, so that each is written (and fixed) once:

- :mod:`.files`: atomic writes and content digests;
- :mod:`.store`: the checkpoint store (finished units of work on disk,
  verified on load);
- :mod:`.executor`: running units of work in-process, with joblib or Dask;
- :mod:`.progress`: progress bars;
- :mod:`.optional`: imports of optional dependencies with one error message.

Nothing here imports numpy's optional companions (joblib, dask, tqdm, torch,
matplotlib) at import time.
"""
