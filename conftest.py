"""Repository-level pytest configuration (doctest collection of the package and docs)."""

import importlib.util
import os

os.environ.setdefault("MPLBACKEND", "Agg")  # figures are written to files, never shown

collect_ignore_glob = [
    "docs/conf.py", "docs/examples/*", "docs/auto_examples/*", "docs/generated/*",
    "docs/_build/*", "benchmarks/*",
]
if importlib.util.find_spec("torch") is None:  # the optional torch core and its docs
    collect_ignore_glob += ["ple_stats/hyper/*", "tests/hyper/*", "docs/hyper.rst"]
