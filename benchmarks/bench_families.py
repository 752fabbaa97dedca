"""Batched closed-form fits of the six families vs a loop of scipy's ``fit``."""

from __future__ import annotations

import subprocess
import sys

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
    """One fit of one small data set (n = 25) vs scipy's fit of the same family."""

    params = [name for name in CASES if CASES[name][2] is not None]
    param_names = ["family"]

    def setup(self, family):
        self.x = _data(family, size=1)[0]
        self.cls = type(CASES[family][0])
        self.fixed = CASES[family][1]

    def time_fit_mle(self, family):
        self.cls.fit_mle(self.x, **self.fixed)

    def time_scipy_fit(self, family):
        scipy_loop(family, self.x[None])


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
        one = x[0]
        t_one = best_of(lambda: cls.fit_mle(one, **fixed))
        t_one_scipy = best_of(lambda: scipy_loop(name, one[None]))
        rows.append([name, f"{t_mle * 1e3:.2f}", f"{t_ple * 1e3:.2f}", f"{t_loop:.2f}",
                     f"{t_loop / t_mle:,.0f}x", f"{t_loop / t_ple:,.0f}x",
                     f"{t_mle / floor:.1f}x", f"{t_ple / floor:.1f}x",
                     f"{t_one * 1e6:.0f}", f"{t_one_scipy * 1e6:.0f}"])
    print_table(
        f"Batched fits on {R:,} data sets of n = {N} (one call) vs a loop of scipy's fit "
        f"(floor: one x.sum(axis=-1) = {floor * 1e3:.2f} ms)",
        ["family", "mle ms", "ple ms", "scipy loop s", "mle speedup", "ple speedup",
         "mle/floor", "ple/floor", "1 fit us", "scipy 1 fit us"], rows)
    print(f"\nimport ple_stats: {TrackImportTime().track_import_seconds():.3f} s")


if __name__ == "__main__":
    main()
