"""The recursive-generation simulator: throughput against numpy's raw generator rate."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

import ple_stats as ps

RUNS, GENERATIONS = 1_000, 100


class TimeSimulateAnalytic:
    """The Figure 4 loop with the analytic PLE, 1,000 runs x 100 generations."""

    params = ["Uniform", "Gaussian", "Exponential"]
    param_names = ["family"]

    def setup(self, family):
        self.dist = {"Uniform": ps.Uniform(low=0.0, high=1.0),
                     "Gaussian": ps.Gaussian(mu=0.0, sigma=1.0),
                     "Exponential": ps.Exponential(rate=0.5)}[family]
        self.fixed = {"low": 0.0} if family == "Uniform" else {}

    def time_simulate(self, family):
        ps.simulate(self.dist, n=20, generations=GENERATIONS, runs=RUNS, fixed=self.fixed,
                    rng=0, chunk_size=RUNS)


class MemSimulateAnalytic:
    """Peak resident memory of the same simulations (asv: the process's peak RSS)."""

    params = TimeSimulateAnalytic.params
    param_names = TimeSimulateAnalytic.param_names

    def setup(self, family):
        TimeSimulateAnalytic.setup(self, family)

    def peakmem_simulate(self, family):
        TimeSimulateAnalytic.time_simulate(self, family)


#: (runs, generations, n) of the scaling benchmark: each factor varied alone by 4x, then all
SCALING = [(1000, 25, 20), (4000, 25, 20), (1000, 100, 20), (1000, 25, 80), (4000, 100, 80)]


def simulate_mle(runs, generations, n):
    """One Gaussian MLE simulation in a single chunk (the cost that should be linear)."""
    return ps.simulate(ps.Gaussian(mu=0.0, sigma=1.0), n=n, generations=generations, runs=runs,
                       estimator="mle", rng=0, chunk_size=runs, progress=False)


class TimeSimulateScaling:
    """simulate(..., estimator="mle") for several runs x generations x n: linear cost."""

    params = [str(case) for case in SCALING]
    param_names = ["runs_generations_n"]

    def setup(self, case):
        self.case = tuple(int(v) for v in case.strip("()").split(","))

    def time_simulate_mle(self, case):
        simulate_mle(*self.case)

    def peakmem_simulate_mle(self, case):
        simulate_mle(*self.case)


class TimeRawDraws:
    """numpy's raw rate for the same number of draws (the floor)."""

    def time_draws(self):
        np.random.default_rng(0).standard_normal((GENERATIONS, RUNS, 20))


def main():
    from ._timing import print_table

    rows = []
    for name, dist, fixed, kwargs in [
        ("Uniform analytic", ps.Uniform(low=0.0, high=1.0), {"low": 0.0}, {}),
        ("Gaussian analytic", ps.Gaussian(mu=0.0, sigma=1.0), {}, {}),
        ("Exponential analytic", ps.Exponential(rate=0.5), {}, {}),
        ("Gaussian bootstrap m=100", ps.Gaussian(mu=0.0, sigma=1.0), {},
         {"method": "bootstrap", "m": 100}),
    ]:
        gens = GENERATIONS if not kwargs else 10
        n = 20
        start = time.perf_counter()
        ps.simulate(dist, n=n, generations=gens, runs=RUNS, fixed=fixed, fit_kwargs=kwargs,
                    rng=0, chunk_size=RUNS)
        elapsed = time.perf_counter() - start
        draws = gens * RUNS * n * (1 + kwargs.get("m", 0))
        start = time.perf_counter()
        np.random.default_rng(0).standard_normal(draws)
        raw = time.perf_counter() - start
        tracemalloc.start()
        ps.simulate(dist, n=n, generations=min(gens, 10), runs=RUNS, fixed=fixed,
                    fit_kwargs=kwargs, rng=0, chunk_size=RUNS)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append([name, gens, f"{elapsed:.3f}", f"{draws / elapsed:.3g}", f"{draws / raw:.3g}",
                     f"{elapsed / raw:.1f}x", f"{peak:.1f}"])
    print_table(f"simulate(): {RUNS:,} runs, n = 20 (draws include the bootstrap's m x n per fit)",
                ["case", "generations", "seconds", "draws/s", "numpy raw draws/s", "time/raw",
                 "peak MiB"], rows)
    print_scaling()


def print_scaling():
    """Time of simulate(estimator="mle") over runs x generations x n: ns per draw stays flat."""
    from ._timing import best_of, print_table

    rows = []
    for runs, generations, n in SCALING:
        seconds = best_of(lambda: simulate_mle(runs, generations, n), repeat=3, min_time=0.05)
        tracemalloc.start()
        simulate_mle(runs, generations, n)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        draws = runs * generations * n
        rows.append([runs, generations, n, f"{draws:,}", f"{seconds * 1e3:.1f}",
                     f"{seconds / draws * 1e9:.1f}", f"{peak:.1f}"])
    print_table("simulate(Gaussian, estimator='mle'), one chunk: cost against runs x generations x n",
                ["runs", "generations", "n", "draws", "ms", "ns/draw", "peak MiB"], rows)
    # least squares t = c + a * runs * generations + b * runs * generations * n: a fixed cost
    # per call, a cost per fitted data set, a cost per draw
    design = np.array([[1.0, r * g, r * g * n] for r, g, n in SCALING])
    times = np.array([float(row[4]) * 1e-3 for row in rows])
    (c, a, b), *_ = np.linalg.lstsq(design, times, rcond=None)
    worst = np.max(np.abs(design @ [c, a, b] - times) / times)
    print(f"least squares t = c + a * runs * generations + b * runs * generations * n: "
          f"c = {c * 1e3:.1f} ms, a = {a * 1e9:.0f} ns per data set, b = {b * 1e9:.1f} ns per "
          f"draw; worst relative misfit {worst:.0%}")


if __name__ == "__main__":
    import sys

    if "--scaling" in sys.argv[1:]:
        print_scaling()
    else:
        main()
