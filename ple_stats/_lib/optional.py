"""Imports of optional dependencies, with one message that names the extra to install."""

from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "MissingDependencyError", "import_optional", "missing_message"]

#: Top-level module -> (distribution name, extra of ple_stats that installs it).
EXTRAS = {
    "matplotlib": ("matplotlib", "plot"),
    "tqdm": ("tqdm", None),  # a dependency of ple_stats itself
    "joblib": ("joblib", "parallel"),
    "dask": ("dask[distributed]", "parallel"),
    "distributed": ("dask[distributed]", "parallel"),
    "torch": ("torch==2.13.0", "torch"),
    "sklearn": ("scikit-learn", "experiments"),
    "statsmodels": ("statsmodels", "regression"),
    "pandas": ("pandas", "regression"),
}


class MissingDependencyError(ImportError):
    """An optional dependency of ple_stats is not installed (the message names its extra)."""


def missing_message(module, feature):
    """The text of the ImportError raised when ``module`` is missing for ``feature``.

    >>> print(missing_message("joblib", "n_jobs > 1"))
    n_jobs > 1 needs joblib, which is not installed: pip install "ple_stats[parallel]" (or pip install joblib).
    """
    top = module.split(".")[0]
    dist, extra = EXTRAS[top]
    if extra is None:
        return (f"{feature} needs {dist}, a dependency of ple_stats that is not installed: "
                f"pip install {dist}.")
    return (f"{feature} needs {dist.split('[')[0].split('=')[0]}, which is not installed: "
            f'pip install "ple_stats[{extra}]" (or pip install {dist}).')


def import_optional(module, feature):
    """Import ``module`` (e.g. ``"joblib"`` or ``"dask.distributed"``) for ``feature``.

    Raises
    ------
    MissingDependencyError
        (an ImportError) when it is missing, with :func:`missing_message`
        (which names the extra of ple_stats that installs it).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] not in (top, "distributed"):
            raise  # the package is there but one of its own imports failed
        raise MissingDependencyError(missing_message(module, feature), name=exc.name) from exc
