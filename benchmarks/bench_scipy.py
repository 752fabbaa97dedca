"""PLE of scipy distributions (m = 100) against scipy's own ``dist.fit`` in the same run.

Two measurements per distribution:

* one data set: ``ple_stats.fit_ple(dist, x, m=100)`` against one ``dist.fit(x)``
  of the same data (the goal: at most 10x);
* 1,000 data sets in one call against a Python loop of 1,000 ``dist.fit`` calls
  (the goal: at most 2x), with the peak memory of the batched call.

Run ``python -m benchmarks bench_scipy`` (``BENCH_SCIPY_R`` sets the number of
data sets of the second table, 1,000 by default; ``BENCH_SCIPY_CASES`` a
";"-separated subset of the cases).
"""

from __future__ import annotations

import os
import tracemalloc
import warnings

import numpy as np
from scipy import stats

import ple_stats

M = 100
R = int(os.environ.get("BENCH_SCIPY_R", 1000))
#: case names to run, separated by ";" (default: all), e.g. "gamma (floc=0);t"
ONLY = [c for c in os.environ.get("BENCH_SCIPY_CASES", "").split(";") if c]

#: name -> (distribution, true parameters, fixed keywords, n)
CASES = {
    "t": (stats.t, (3.0,), {}, 30),
    "weibull_min (floc=0)": (stats.weibull_min, (1.5,), {"floc": 0}, 20),
    "gamma (floc=0)": (stats.gamma, (2.0,), {"floc": 0}, 20),
    "genextreme": (stats.genextreme, (0.1,), {}, 30),
    "lognorm": (stats.lognorm, (0.5,), {}, 30),
    "lognorm (floc=0)": (stats.lognorm, (0.5,), {"floc": 0}, 30),
    "beta": (stats.beta, (2.0, 3.0), {}, 30),
    "beta (floc=0, fscale=1)": (stats.beta, (2.0, 3.0), {"floc": 0, "fscale": 1}, 30),
}


#: not run in the batch table: the four-parameter beta's MLE runs off to infinity for most
#: data sets, whose synthetic fits then use all their inner iterations (very slow)
BATCH_SKIP = {"beta"}


def _data(name, size=None, seed=0):
    dist, shapes, _, n = CASES[name]
    shape = n if size is None else (size, n)
    return dist(*shapes).rvs(size=shape, random_state=seed)


def _quiet(func):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func()


class TimeScipyPLE:
    params = list(CASES)
    param_names = ["distribution"]

    def setup(self, name):
        self.dist, _, self.kwds, _ = CASES[name]
        self.x = _data(name)

    def time_ple(self, name):
        _quiet(lambda: ple_stats.fit_ple(self.dist, self.x, m=M, rng=1, **self.kwds))

    def time_scipy_fit(self, name):
        _quiet(lambda: self.dist.fit(self.x, **self.kwds))


class TimeScipyPLEBatch:
    params = [name for name in CASES if name not in BATCH_SKIP]
    param_names = ["distribution"]
    timeout = 1200

    def setup(self, name):
        self.dist, _, self.kwds, _ = CASES[name]
        self.x = _data(name, R)

    def time_ple_batch(self, name):
        _quiet(lambda: ple_stats.fit_ple(self.dist, self.x, m=M, rng=1, **self.kwds))

    def time_scipy_fit_loop(self, name):
        _quiet(lambda: [self.dist.fit(row, **self.kwds) for row in self.x])

    def peakmem_ple_batch(self, name):
        _quiet(lambda: ple_stats.fit_ple(self.dist, self.x, m=M, rng=1, **self.kwds))


def main():
    from ._timing import best_time_and_result, print_table

    cases = {name: case for name, case in CASES.items() if not ONLY or name in ONLY}
    rows = []
    for name, (dist, _, kwds, n) in cases.items():
        x = _data(name)
        t_fit, _ = best_time_and_result(lambda: _quiet(lambda: dist.fit(x, **kwds)), repeat=5)
        t_ple, res = best_time_and_result(lambda: _quiet(lambda: ple_stats.fit_ple(dist, x, m=M, rng=1,
                                                                     **kwds)))
        status = ("converged" if res.info["converged"] else
                  "undefined" if res.info["binding_undefined"] else "not converged")
        rows.append([name, n, f"{t_fit * 1e3:.2f}", f"{t_ple * 1e3:.0f}",
                     f"{t_ple / t_fit:.0f}x", status])
    print_table(f"PLE (m = {M}) of one data set vs one dist.fit of the same data",
                ["distribution", "n", "dist.fit ms", "PLE ms", "ratio", "PLE"], rows)

    rows = []
    for name, (dist, _, kwds, n) in cases.items():
        if name in BATCH_SKIP:
            continue
        x = _data(name, R)
        t_loop, _ = best_time_and_result(lambda: _quiet(lambda: [dist.fit(row, **kwds) for row in x]),
                           repeat=1)
        t_ple, res = best_time_and_result(lambda: _quiet(lambda: ple_stats.fit_ple(dist, x, m=M, rng=1,
                                                                     **kwds)), repeat=1)
        # peak memory in a second call: tracemalloc slows allocation-heavy code several
        # times over, so it must not run while the time is taken
        tracemalloc.start()
        _quiet(lambda: ple_stats.fit_ple(dist, x, m=M, rng=1, **kwds))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        ok = np.asarray(res.info["converged"])
        rows.append([name, n, f"{t_loop:.2f}", f"{t_ple:.2f}", f"{t_ple / t_loop:.1f}x",
                     f"{ok.mean():.3f}", f"{peak:.0f}"])
    print_table(f"PLE (m = {M}) of {R:,} data sets in one call vs a loop of {R:,} dist.fit",
                ["distribution", "n", "fit loop s", "PLE s", "ratio", "converged",
                 "peak MiB"], rows)


if __name__ == "__main__":
    main()
