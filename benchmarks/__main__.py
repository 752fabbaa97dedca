"""Run every benchmark as a plain script and print the tables: ``python -m benchmarks``."""

import importlib
import sys

MODULES = ["bench_families", "bench_bootstrap", "bench_scipy", "bench_simulate", "bench_gmm",
           "bench_hyper", "bench_regression"]

if __name__ == "__main__":
    chosen = sys.argv[1:] or MODULES
    for name in chosen:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ImportError as exc:
            print(f"\n[{name}] skipped: {exc}")
            continue
        module.main()
