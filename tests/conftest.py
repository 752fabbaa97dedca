"""Shared test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=ci`` selects a derandomised profile (the same examples on
every run, as scipy does in CI); the default ``dev`` profile draws fresh
examples. Both keep the example counts modest so the suite stays fast, and
disable the per-example deadline (the first call of a fit may compile caches,
e.g. the Laplace constant's quadrature).
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=30, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", deadline=None, max_examples=15,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
