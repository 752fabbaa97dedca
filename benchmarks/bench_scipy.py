"""PLE of scipy distributions (m = 100) against scipy's own ``dist.fit`` in the same run.

Two measurements per distribution:

* one data set: ``ple_stats.fit_ple(dist, x, m=100)`` against one ``dist.fit(x)``
  of the same data (the goal: at most 10x);
* 1,000 data sets in one call against a Python loop of 1,000 ``dist.fit`` calls
  (the goal: at most 2x), with the peak memory of the batched call.

Beside them, two references that do not depend on how fast scipy's ``fit`` is:

* the **sampling floor**: one pass of scipy's standard quantile function ``dist._ppf``
  over the m * n (for the batch R * m * n) uniforms at the MLE's shapes. Every
  evaluation of the binding function at new shapes needs these quantiles, and a root
  needs at least one evaluation away from the MLE;
* the **one-step bootstrap**: the bias correction a user would write with scipy,
  ``dist.rvs`` of m synthetic sets at the MLE and a loop of m ``dist.fit`` calls
  (for the batch, timed on a few data sets and scaled to R).

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

#: data sets on which the batch's one-step bootstrap (R * m scipy fits) is timed and scaled
BOOT_SETS = 10


def _data(name, size=None, seed=0):
    dist, shapes, _, n = CASES[name]
    shape = n if size is None else (size, n)
    return dist(*shapes).rvs(size=shape, random_state=seed)


def _quiet(func):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func()


def _floor_inputs(dist, fits, n, size=()):
    """Uniforms of shape ``size + (M, n)`` and the fitted shapes broadcast against them."""
    u = np.random.default_rng(0).random(size + (M, n))
    shapes = list(zip(*fits))[:dist.numargs]
    args = [np.reshape(np.asarray(a, dtype=float), np.shape(a) + (1, 1)) for a in shapes]
    return u, args


def _sampling_floor(dist, fits, n, size=()):
    """Best time of one standard quantile pass, ``dist._ppf`` of ``size + (M, n)``
    uniforms at the fitted shapes (scipy's own quantile function, which the engine
    calls on synthetic data in standardised form; ``ppf`` adds argument checks)."""
    from ._timing import best_time_and_result

    u, args = _floor_inputs(dist, fits, n, size)
    return best_time_and_result(lambda: dist._ppf(u, *args), repeat=3)[0]


class TimeScipyPLE:
    params = list(CASES)
    param_names = ["distribution"]

    def setup(self, name):
        self.dist, _, self.kwds, n = CASES[name]
        self.x = _data(name)
        self.u, self.args = _floor_inputs(
            self.dist, [_quiet(lambda: self.dist.fit(self.x, **self.kwds))], n)

    def time_ple(self, name):
        _quiet(lambda: ple_stats.fit_ple(self.dist, self.x, m=M, rng=1, **self.kwds))

    def time_scipy_fit(self, name):
        _quiet(lambda: self.dist.fit(self.x, **self.kwds))

    def time_sampling_floor(self, name):
        self.dist._ppf(self.u, *self.args)


class TimeScipyPLEBatch:
    params = [name for name in CASES if name not in BATCH_SKIP]
    param_names = ["distribution"]
    timeout = 1200

    def setup(self, name):
        self.dist, _, self.kwds, n = CASES[name]
        self.x = _data(name, R)
        fits = _quiet(lambda: [self.dist.fit(row, **self.kwds) for row in self.x])
        self.u, self.args = _floor_inputs(self.dist, fits, n, (R,))

    def time_ple_batch(self, name):
        _quiet(lambda: ple_stats.fit_ple(self.dist, self.x, m=M, rng=1, **self.kwds))

    def time_scipy_fit_loop(self, name):
        _quiet(lambda: [self.dist.fit(row, **self.kwds) for row in self.x])

    def peakmem_ple_batch(self, name):
        _quiet(lambda: ple_stats.fit_ple(self.dist, self.x, m=M, rng=1, **self.kwds))

    def time_sampling_floor(self, name):
        self.dist._ppf(self.u, *self.args)




def _one_step_bootstrap(dist, x, kwds):
    """The bias correction written with scipy: 2 fit(x) - mean of m fits at fit(x)."""
    fit = np.asarray(dist.fit(x, **kwds))
    y = dist.rvs(*fit, size=(M, x.size), random_state=np.random.default_rng(1))
    return 2 * fit - np.mean([dist.fit(row, **kwds) for row in y], axis=0)


def main():
    from ._timing import best_time_and_result, print_table

    cases = {name: case for name, case in CASES.items() if not ONLY or name in ONLY}
    rows = []
    for name, (dist, _, kwds, n) in cases.items():
        x = _data(name)
        t_fit, fit = best_time_and_result(lambda: _quiet(lambda: dist.fit(x, **kwds)), repeat=5)
        t_ple, res = best_time_and_result(
            lambda: _quiet(lambda: ple_stats.fit_ple(dist, x, m=M, rng=1, **kwds)))
        t_floor = _sampling_floor(dist, [fit], n)
        t_boot, _ = best_time_and_result(lambda: _quiet(lambda: _one_step_bootstrap(dist, x, kwds)),
                                         repeat=1)
        status = ("converged" if res.info["converged"] else
                  "undefined" if res.info["binding_undefined"] else "not converged")
        rows.append([name, n, f"{t_fit * 1e3:.2f}", f"{t_ple * 1e3:.1f}",
                     f"{t_ple / t_fit:.0f}x", f"{t_floor * 1e3:.2f}", f"{t_ple / t_floor:.1f}x",
                     f"{t_boot * 1e3:.0f}", f"{t_ple / t_boot:.2f}x", status])
    print_table(f"PLE (m = {M}) of one data set vs one dist.fit of the same data, the sampling "
                "floor and a one-step bootstrap written with scipy",
                ["distribution", "n", "dist.fit ms", "PLE ms", "/fit", "floor ms", "/floor",
                 "1-step boot ms", "/boot", "PLE"], rows)

    rows = []
    for name, (dist, _, kwds, n) in cases.items():
        if name in BATCH_SKIP:
            continue
        x = _data(name, R)
        t_loop, fits = best_time_and_result(
            lambda: _quiet(lambda: [dist.fit(row, **kwds) for row in x]), repeat=1)
        t_floor = _sampling_floor(dist, fits, n, size=(R,))
        few = min(R, BOOT_SETS)
        t_boot, _ = best_time_and_result(
            lambda: _quiet(lambda: [_one_step_bootstrap(dist, row, kwds) for row in x[:few]]),
            repeat=1)
        t_boot *= R / few
        t_ple, res = best_time_and_result(
            lambda: _quiet(lambda: ple_stats.fit_ple(dist, x, m=M, rng=1, **kwds)), repeat=1)
        # peak memory in a second call: tracemalloc slows allocation-heavy code several
        # times over, so it must not run while the time is taken
        tracemalloc.start()
        _quiet(lambda: ple_stats.fit_ple(dist, x, m=M, rng=1, **kwds))
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        ok = np.asarray(res.info["converged"])
        rows.append([name, n, f"{t_loop:.2f}", f"{t_ple:.2f}", f"{t_ple / t_loop:.1f}x",
                     f"{t_floor:.3f}", f"{t_ple / t_floor:.1f}x", f"{t_boot:.1f}",
                     f"{t_ple / t_boot:.2f}x", f"{ok.mean():.3f}", f"{peak:.0f}"])
    print_table(f"PLE (m = {M}) of {R:,} data sets in one call vs a loop of {R:,} dist.fit, "
                f"the sampling floor and one-step bootstraps (timed on {min(R, BOOT_SETS)} "
                "data sets, scaled)",
                ["distribution", "n", "fit loop s", "PLE s", "/loop", "floor s", "/floor",
                 "1-step boot s (est.)", "/boot", "converged", "peak MiB"], rows)


if __name__ == "__main__":
    main()
