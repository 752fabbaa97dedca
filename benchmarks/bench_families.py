"""Batched closed-form fits of the six families vs a loop of scipy's ``fit``."""

from __future__ import annotations

import subprocess
import sys
import timeit
import tracemalloc

import numpy as np
from scipy import stats

import ple_stats as ps

R, N = 10_000, 25

# family, truth, fixed keywords, scipy twin and its fit keywords
CASES = {
    "Uniform": (ps.Uniform(low=0.0, high=1.0), {}, stats.uniform, {}),
    "Gaussian": (ps.Gaussian(mu=0.0, sigma=1.0), {}, stats.norm, {}),
    "Laplace": (ps.Laplace(mu=0.0, b=1.0), {}, stats.laplace, {}),
    "Exponential": (ps.Exponential(rate=0.5), {}, stats.expon, {"floc": 0}),
    "Pareto": (ps.Pareto(b=1.0, xm=1.0), {"xm": 1.0}, stats.pareto, {"floc": 0, "fscale": 1.0}),
    # scipy's discrete distributions have no fit(); its closed form n/sum is the fair peer
    "Geometric": (ps.Geometric(p=0.5), {}, None, {}),
}


def _data(name, size=R, seed=0):
    dist = CASES[name][0]
    return dist.sample(N, rng=seed, sample_shape=(size,))


def scipy_loop(name, x):
    _, _, twin, kwds = CASES[name]
    if twin is None:
        return [x_i.size / x_i.sum() for x_i in x]
    return [twin.fit(x_i, **kwds) for x_i in x]


def scipy_single(name, x):
    """scipy's fit of one data set; for Geometric (no scipy fit) the validated closed form:
    what any fit must do at least (convert, check finite, ``n / sum``)."""
    _, _, twin, kwds = CASES[name]
    if twin is None:
        x = np.asarray(x, dtype=float)
        if not np.isfinite(x).all():  # pragma: no cover - the benchmark data are finite
            raise ValueError("x must be finite")
        return x.size / x.sum()
    return twin.fit(x, **kwds)


def interleaved_best(funcs, *, rounds=30, number=200):
    """Best time per call (seconds) of each function, measured in alternating short rounds.

    Interleaving gives every function the same machine conditions (other load,
    clock changes), so the ratios are meaningful even on a busy machine.
    """
    best = {key: float("inf") for key in funcs}
    for _ in range(rounds):
        for key, func in funcs.items():
            best[key] = min(best[key], timeit.timeit(func, number=number) / number)
    return best


def single_fit_rows():
    """One fit of one data set of n = 25 per family: ple_stats vs scipy in the same run."""
    rows = []
    for name, (dist, fixed, _, _) in CASES.items():
        cls, one = type(dist), _data(name, size=1)[0]
        number = 20 if name == "Geometric" else 200  # its PLE solves an equation
        t = interleaved_best({
            "mle": lambda: cls.fit_mle(one, **fixed),
            "ple": lambda: cls.fit_ple(one, **fixed),
            "peer": lambda: scipy_single(name, one),
        }, number=number)
        rows.append([name if CASES[name][2] is not None else f"{name}*",
                     f"{t['mle'] * 1e6:.1f}", f"{t['ple'] * 1e6:.1f}", f"{t['peer'] * 1e6:.1f}",
                     f"{t['mle'] / t['peer']:.2f}", f"{t['ple'] / t['peer']:.2f}"])
    return rows


class TimeBatchedFits:
    """fit_mle / fit_ple on 10,000 data sets of n = 25 in one call."""

    params = (list(CASES), ["fit_mle", "fit_ple"])
    param_names = ["family", "method"]

    def setup(self, family, method):
        self.x = _data(family)
        self.cls = type(CASES[family][0])
        self.fixed = CASES[family][1]

    def time_batched(self, family, method):
        getattr(self.cls, method)(self.x, **self.fixed)


class TimeScipyLoop:
    """A Python loop of scipy's fit over 200 of the same data sets (the peer)."""

    params = list(CASES)
    param_names = ["family"]

    def setup(self, family):
        self.x = _data(family)[:200]

    def time_scipy_loop(self, family):
        scipy_loop(family, self.x)


class TimeReductionFloor:
    """One numpy reduction pass over the same (10,000, 25) array: the memory-bound floor."""

    def setup(self):
        self.x = _data("Gaussian")

    def time_sum(self):
        self.x.sum(axis=-1)


class TimeSingleFit:
    """One fit of one small data set (n = 25) vs scipy's fit of the same family
    (for Geometric, which scipy cannot fit, the validated closed form ``n / sum``)."""

    params = list(CASES)
    param_names = ["family"]

    def setup(self, family):
        self.x = _data(family, size=1)[0]
        self.cls = type(CASES[family][0])
        self.fixed = CASES[family][1]

    def time_fit_mle(self, family):
        self.cls.fit_mle(self.x, **self.fixed)

    def time_fit_ple(self, family):
        self.cls.fit_ple(self.x, **self.fixed)

    def time_scipy_fit(self, family):
        scipy_single(family, self.x)


class MemBatchedFits:
    """Peak resident memory of fit_mle / fit_ple on 10,000 data sets of n = 25.

    asv reports the process's peak RSS, which includes the interpreter, numpy,
    scipy and the (10,000, 25) data array (2 MB) made in ``setup``.
    """

    params = (list(CASES), ["fit_mle", "fit_ple"])
    param_names = ["family", "method"]

    def setup(self, family, method):
        TimeBatchedFits.setup(self, family, method)

    def peakmem_batched(self, family, method):
        getattr(self.cls, method)(self.x, **self.fixed)


class TrackImportTime:
    """Seconds to ``import ple_stats`` in a fresh interpreter."""

    def track_import_seconds(self):
        code = ("import time; t = time.perf_counter(); import ple_stats; "
                "print(time.perf_counter() - t)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        return float(out.stdout)

    track_import_seconds.unit = "seconds"


def main():
    from ._timing import best_of, print_table

    xg = _data("Gaussian")
    floor = best_of(lambda: xg.sum(axis=-1))
    rows = []
    for name, (dist, fixed, twin, _) in CASES.items():
        cls, x = type(dist), _data(name)
        t_mle = best_of(lambda: cls.fit_mle(x, **fixed))
        t_ple = best_of(lambda: cls.fit_ple(x, **fixed))
        sub = x[:200]
        t_loop = best_of(lambda: scipy_loop(name, sub), repeat=3) * (R / len(sub))
        peaks = []
        for method in (cls.fit_mle, cls.fit_ple):  # memory allocated beyond the data
            tracemalloc.start()
            method(x, **fixed)
            peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
        rows.append([name, f"{t_mle * 1e3:.2f}", f"{t_ple * 1e3:.2f}", f"{t_loop:.2f}",
                     f"{t_loop / t_mle:,.0f}x", f"{t_loop / t_ple:,.0f}x",
                     f"{t_mle / floor:.1f}x", f"{t_ple / floor:.1f}x",
                     f"{peaks[0]:.1f}", f"{peaks[1]:.1f}"])
    print_table(
        f"Batched fits on {R:,} data sets of n = {N} (one call) vs a loop of scipy's fit "
        f"(floor: one x.sum(axis=-1) = {floor * 1e3:.2f} ms; peak MiB: tracemalloc, "
        f"the data ({x.nbytes / 2**20:.1f} MiB) not counted)",
        ["family", "mle ms", "ple ms", "scipy loop s", "mle speedup", "ple speedup",
         "mle/floor", "ple/floor", "mle peak MiB", "ple peak MiB"], rows)
    print(f"\nimport ple_stats: {TrackImportTime().track_import_seconds():.3f} s")
    print_single_fits()


def print_single_fits():
    from ._timing import print_table

    print_table(
        f"One fit of one data set of n = {N} (us per call, best of 30 interleaved rounds) vs "
        "scipy's fit of the same family (* Geometric: validated n / sum, scipy has no fit)",
        ["family", "fit_mle us", "fit_ple us", "scipy fit us", "mle/scipy", "ple/scipy"],
        single_fit_rows())


if __name__ == "__main__":
    if "--single" in sys.argv[1:]:
        print_single_fits()
    else:
        main()
