"""Seeded outputs of the exact replace-loop theory, pinned bit for bit.

Written before the per-family knowledge moved from ``_theory.py`` into hooks on the
family classes (issue #16): the hooks must give the same numbers, to the last bit.
The values are ``float.hex`` strings of ``exact_curves(..., generations=3)`` as the
string switch computed them.
"""

import numpy as np
import pytest

from ple_stats import Gaussian, simulate
from ple_stats._theory import exact_curves

# ((family, params, n, estimator, fixed, options), {param: {curve: [hex, ...]}})
PINNED = [(('Uniform', {'high': 2.0, 'low': 0.0}, 7, 'mle', ('low',), None),
  {'high': {'mean': ['0x1.0000000000000p+1',
                     '0x1.c000000000000p+0',
                     '0x1.8800000000000p+0',
                     '0x1.5700000000000p+0'],
            'mean_log': ['0x1.62e42fefa39efp-1',
                         '0x1.19bf9da67f0cap-1',
                         '0x1.a13616bab4f4cp-2',
                         '0x1.0eecf2286bd03p-2']}}),
 (('Uniform', {'high': 2.0, 'low': 0.0}, 7, 'ple', ('low',), None),
  {'high': {'mean': ['0x1.0000000000000p+1',
                     '0x1.0000000000000p+1',
                     '0x1.0000000000000p+1',
                     '0x1.0000000000000p+1'],
            'mean_log': ['0x1.62e42fefa39efp-1',
                         '0x1.5e1dd7af1e9eap-1',
                         '0x1.59577f6e999e4p-1',
                         '0x1.5491272e149dep-1']}}),
 (('Uniform', {'high': 3.0, 'low': 1.0}, 7, 'ple', ('low',), None),
  {'high': {'mean': ['0x1.8000000000000p+1',
                     '0x1.8000000000000p+1',
                     '0x1.8000000000000p+1',
                     '0x1.8000000000000p+1']}}),
 (('Gaussian', {'mu': 0.5, 'sigma': 1.5}, 7, 'mle', (), None),
  {'mu': {'mean': ['0x1.0000000000000p-1',
                   '0x1.0000000000000p-1',
                   '0x1.0000000000000p-1',
                   '0x1.0000000000000p-1']},
   'sigma': {'mean': ['0x1.8000000000000p+0',
                      '0x1.5511e60cfff6fp+0',
                      '0x1.2ef07569fee8dp+0',
                      '0x1.0d1251bb9ad45p+0'],
             'mean_log': ['0x1.9f323ecbf984cp-2',
                          '0x1.ec7e925cacee6p-3',
                          '0x1.35314e42cda68p-4',
                          '-0x1.6e9a8833be8fcp-4']}}),
 (('Gaussian', {'mu': 0.5, 'sigma': 1.5}, 7, 'ple', (), None),
  {'mu': {'mean': ['0x1.0000000000000p-1',
                   '0x1.0000000000000p-1',
                   '0x1.0000000000000p-1',
                   '0x1.0000000000000p-1']},
   'sigma': {'mean': ['0x1.8000000000000p+0',
                      '0x1.8000000000002p+0',
                      '0x1.8000000000003p+0',
                      '0x1.8000000000004p+0'],
             'mean_log': ['0x1.9f323ecbf984cp-2',
                          '0x1.6fa5c8be82d3bp-2',
                          '0x1.401952b10c22ap-2',
                          '0x1.108cdca39571ap-2']}}),
 (('Gaussian', {'mu': 0.5, 'sigma': 1.5}, 7, 'ple', (), {'parametrization': 'variance'}),
  {'mu': {'mean': ['0x1.0000000000000p-1',
                   '0x1.0000000000000p-1',
                   '0x1.0000000000000p-1',
                   '0x1.0000000000000p-1']},
   'sigma': {'mean': ['0x1.8000000000000p+0',
                      '0x1.7065ca166743ap+0',
                      '0x1.616dde50feba3p+0',
                      '0x1.5311a49dd7b3dp+0'],
             'mean_log': ['0x1.9f323ecbf984cp-2',
                          '0x1.452c1faf5dc1dp-2',
                          '0x1.d64c012583fdcp-3',
                          '0x1.223fc2ec4c77ep-3']}}),
 (('Laplace', {'b': 2.0, 'mu': -1.0}, 11, 'mle', (), None),
  {'b': {'mean': ['0x1.0000000000000p+1',
                  '0x1.e3cc64c64c64cp+0',
                  '0x1.c92673ba83fcbp+0',
                  '0x1.aff8457920825p+0']},
   'mu': {'mean': ['-0x1.0000000000000p+0',
                   '-0x1.0000000000000p+0',
                   '-0x1.0000000000000p+0',
                   '-0x1.0000000000000p+0']}}),
 (('Laplace', {'b': 2.0, 'mu': -1.0}, 11, 'ple', (), None),
  {'b': {'mean': ['0x1.0000000000000p+1',
                  '0x1.0000000000000p+1',
                  '0x1.0000000000000p+1',
                  '0x1.0000000000000p+1']},
   'mu': {'mean': ['-0x1.0000000000000p+0',
                   '-0x1.0000000000000p+0',
                   '-0x1.0000000000000p+0',
                   '-0x1.0000000000000p+0']}}),
 (('Exponential', {'rate': 3.0}, 7, 'mle', (), None),
  {'rate': {'mean': ['0x1.8000000000000p+1',
                     '0x1.c000000000000p+1',
                     '0x1.0555555555556p+2',
                     '0x1.30e38e38e38e4p+2'],
            'mean_log': ['0x1.193ea7aad030bp+0',
                         '0x1.2bf7073e4053cp+0',
                         '0x1.3eaf66d1b076dp+0',
                         '0x1.5167c6652099ep+0']}}),
 (('Exponential', {'rate': 3.0}, 7, 'ple', (), None),
  {'rate': {'mean': ['0x1.8000000000000p+1',
                     '0x1.8000000000000p+1',
                     '0x1.8000000000000p+1',
                     '0x1.8000000000000p+1'],
            'mean_log': ['0x1.193ea7aad030bp+0',
                         '0x1.04809bfdbcae7p+0',
                         '0x1.df8520a152586p-1',
                         '0x1.b60909472b53ep-1']}}),
 (('Pareto', {'b': 2.5, 'xm': 1.0}, 7, 'mle', ('xm',), None),
  {'b': {'mean': ['0x1.4000000000000p+1',
                  '0x1.7555555555556p+1',
                  '0x1.b38e38e38e390p+1',
                  '0x1.fc25ed097b428p+1'],
         'mean_log': ['0x1.d5240f0e0e078p-1',
                      '0x1.fa94ce34ee4dap-1',
                      '0x1.1002c6ade749ep+0',
                      '0x1.22bb2641576cfp+0']}}),
 (('Pareto', {'b': 2.5, 'xm': 1.0}, 7, 'ple', ('xm',), None),
  {'b': {'mean': ['0x1.4000000000000p+1',
                  '0x1.4000000000000p+1',
                  '0x1.4000000000000p+1',
                  '0x1.4000000000000p+1'],
         'mean_log': ['0x1.d5240f0e0e078p-1',
                      '0x1.aba7f7b3e7030p-1',
                      '0x1.822be059bffe8p-1',
                      '0x1.58afc8ff98fa0p-1']}})]

# Gaussian(mu=0.5, sigma=1.5), n = 7, the variance PLE: SimulationResult.theory()
THEORY_PINNED = {'mu': {'mean': ['0x1.0000000000000p-1',
                 '0x1.0000000000000p-1',
                 '0x1.0000000000000p-1',
                 '0x1.0000000000000p-1']},
 'sigma': {'mean': ['0x1.8000000000000p+0',
                    '0x1.7065ca166743ap+0',
                    '0x1.616dde50feba3p+0',
                    '0x1.5311a49dd7b3dp+0'],
           'mean_log': ['0x1.9f323ecbf984cp-2',
                        '0x1.452c1faf5dc1dp-2',
                        '0x1.d64c012583fdcp-3',
                        '0x1.223fc2ec4c77ep-3']}}


def _hex(curves):
    return {p: {k: [float(v).hex() for v in np.asarray(a)] for k, a in c.items()}
            for p, c in curves.items()}


@pytest.mark.parametrize("case, expected", PINNED, ids=[f"{c[0]}-{c[3]}-{i}"
                                                        for i, (c, _) in enumerate(PINNED)])
def test_exact_curves_are_bitwise_unchanged(case, expected):
    family, params, n, estimator, fixed, options = case
    out = exact_curves(family, params, n, 3, estimator=estimator, fixed=fixed, options=options)
    assert _hex(out) == expected


def test_simulation_result_theory_is_bitwise_unchanged():
    sim = simulate(Gaussian(mu=0.5, sigma=1.5), n=7, generations=3, runs=2, estimator="ple",
                   fit_kwargs={"parametrization": "variance"}, rng=0, progress=False)
    assert _hex(sim.theory()) == THEORY_PINNED


@pytest.mark.parametrize("family, params, fixed", [
    ("Geometric", {"p": 0.5}, ()),
    ("Uniform", {"low": 0.0, "high": 1.0}, ()),
    ("Pareto", {"b": 2.0, "xm": 1.0}, ()),
    ("Gaussian", {"mu": 0.0, "sigma": 1.0}, ("mu",)),
    ("Laplace", {"mu": 0.0, "b": 1.0}, ("b",)),
])
def test_exact_curves_are_empty_without_an_exact_result(family, params, fixed):
    for estimator in ("mle", "ple"):
        assert exact_curves(family, params, 7, 3, estimator=estimator, fixed=fixed) == {}
