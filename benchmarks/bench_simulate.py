"""The recursive-generation simulator: throughput against numpy's raw generator rate."""

from __future__ import annotations

import time

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
        rows.append([name, gens, f"{elapsed:.3f}", f"{draws / elapsed:.3g}", f"{draws / raw:.3g}",
                     f"{elapsed / raw:.1f}x"])
    print_table(f"simulate(): {RUNS:,} runs, n = 20 (draws include the bootstrap's m x n per fit)",
                ["case", "generations", "seconds", "draws/s", "numpy raw draws/s", "time/raw"],
                rows)


if __name__ == "__main__":
    main()
