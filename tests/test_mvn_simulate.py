"""The simulator's multivariate Gaussian paths: the analytic one (sufficient statistics and
Bartlett draws) pinned, and the data path (bootstrap / penalised PLE, callables) that draws
the synthetic data of every generation and fits them with the family's own data-driven PLE.
"""

import numpy as np
import pytest

from ple_stats import MultivariateGaussian as MVN, simulate

# --------------------------------------------------------------------------- analytic path pinned
# Pinned before the data path was added (sum of all trajectories, and run 17's last value of
# cov[0,0], as exact hex floats): the analytic path's seeded output must not change.
PIN_TRUTH = dict(mean=[0.5, -1.0], cov=[[1.0, 0.3], [0.3, 0.5]])
PINNED = [
    ('mle', 'replace', False, '0x1.4d1efc161c193p+6', '-0x1.e74fa7cd533d0p-8'),
    ('mle', 'replace', True, '0x1.9452a480efbb2p+7', '-0x1.165bf0f7af1f3p-6'),
    ('mle', 'accumulate', False, '0x1.56546a0224f16p+7', '-0x1.f076f231fff5ap-6'),
    ('mle', 'accumulate', True, '0x1.de1f65575c985p+7', '-0x1.55178854c445cp-5'),
    ('mle', 'fresh', False, '0x1.6c9dd0baca130p+7', '-0x1.564549d062a31p-5'),
    ('mle', 'fresh', True, '0x1.e17eeaeba411ep+7', '0x1.09065521f99dep-2'),
    ('ple', 'replace', False, '0x1.a472a101bc777p+7', '-0x1.d0bc73234c366p-6'),
    ('ple', 'replace', True, '0x1.9452a480efbb2p+7', '-0x1.165bf0f7af1f3p-6'),
    ('ple', 'accumulate', False, '0x1.befb8998d787ap+7', '-0x1.4331d5106449ep-5'),
    ('ple', 'accumulate', True, '0x1.de1f65575c985p+7', '-0x1.55178854c445cp-5'),
    ('ple', 'fresh', False, '0x1.2f8e8b8ea6900p+8', '-0x1.0e2dd5c70b2c8p-5'),
    ('ple', 'fresh', True, '0x1.e17eeaeba411ep+7', '0x1.09065521f99dep-2'),
]


@pytest.mark.parametrize("estimator, mode, mean_fixed, total, value", PINNED)
def test_analytic_path_seeded_output_is_unchanged(estimator, mode, mean_fixed, total, value):
    fixed = {"mean": [0.5, -1.0]} if mean_fixed else None
    sim = simulate(MVN(**PIN_TRUTH), n=5, generations=6, runs=30, estimator=estimator,
                   mode=mode, fresh_fraction=0.4, fixed=fixed, rng=11, chunk_size=10,
                   progress=False)
    assert float(sim.trajectories.sum()).hex() == total
    assert float(sim.trajectories[17, -1, 3]).hex() == value
