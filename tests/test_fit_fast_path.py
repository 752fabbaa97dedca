"""Single and batched closed-form fits: outputs pinned bit for bit, checks kept.

``fit_mle`` and the analytic ``fit_ple`` have a fast path for one data set
(1-D data) and trusted internal construction of the result. These tests pin
their outputs, recorded before that path existed, as hex floats compared with
``==``: any change to the arithmetic is a visible, deliberate decision. They
also check that the fast path keeps every check of the public boundary (the
messages of degenerate fits, invalid ``rng``, fixed values), the result's
fields, its ``refit`` and its pickling. No timings here: those are in
``benchmarks/bench_families.py``.
"""

import pickle
import re
import warnings

import numpy as np
import pytest

import ple_stats as ps


def data(family, seed, shape):
    """Seeded data of each family, drawn with numpy directly (independent of the samplers)."""
    rng = np.random.default_rng(seed)
    if family == "Uniform":
        return rng.random(shape)
    if family == "Gaussian":
        return 1.0 + 2.0 * rng.standard_normal(shape)
    if family == "Laplace":
        return 0.5 + 1.5 * rng.laplace(size=shape)
    if family == "Exponential":
        return rng.standard_exponential(shape) / 0.5
    if family == "Pareto":
        return np.exp(rng.standard_exponential(shape) / 2.0)
    if family == "Geometric":
        return rng.geometric(0.3, size=shape)
    raise KeyError(family)


#: (family, "mle" or "ple", fixed parameters, fit_ple options, seed, data shape)
#: -> fitted parameters as hex floats (a list, in C order, for a batch)
PINS = {
    ('Uniform', 'mle', (), (), 0, (25,)): {'low': '0x1.66f0d1577d200p-9', 'high': '0x1.dec1d00f1ead7p-1'},
    ('Uniform', 'ple', (), (), 0, (25,)): {'low': '-0x1.27cd87be624e3p-5', 'high': '0x1.f2a5995c5c4f7p-1'},
    ('Uniform', 'mle', (), (), 1, (25,)): {'low': '0x1.c3874c857cc00p-6', 'high': '0x1.f6232fae3bdf4p-1'},
    ('Uniform', 'ple', (), (), 1, (25,)): {'low': '-0x1.8e594a653118cp-7', 'high': '0x1.053c679dfe44dp+0'},
    ('Uniform', 'mle', (), (), 2, (7,)): {'low': '0x1.787cd9d738668p-4', 'high': '0x1.a0e2323ed3df6p-1'},
    ('Uniform', 'ple', (), (), 2, (7,)): {'low': '-0x1.d26fbe0d62c90p-6', 'high': '0x1.de854b6a26028p-1'},
    ('Uniform', 'mle', (), (), 3, (3, 25)): {'low': ['0x1.869dcfc14a600p-10', '0x1.f130619e5dde0p-6', '0x1.bb22d51f273a0p-5'], 'high': ['0x1.f26962982761ap-1', '0x1.dce8d4930a594p-1', '0x1.f0ed1405006ccp-1']},
    ('Uniform', 'ple', (), (), 3, (3, 25)): {'low': ['-0x1.3f8f1ea224d55p-5', '-0x1.d7e581a705698p-8', '0x1.04a1cbfa3bd28p-6'], 'high': ['0x1.0392d1b5152a1p+0', '0x1.f02222a34b530p-1', '0x1.023d197b9080ep+0']},
    ('Uniform', 'mle', (), (), 4, (2, 2, 7)): {'low': ['0x1.4b1ab6ef864a8p-4', '0x1.656ed6f4a5b08p-3', '0x1.6bea1724b70f0p-3', '0x1.1131cb38b8cd8p-3'], 'high': ['0x1.f3d63709e1811p-1', '0x1.cdef228aad28fp-1', '0x1.f7e2e6e9edcd4p-1', '0x1.eacb4c22ba6f8p-1']},
    ('Uniform', 'ple', (), (), 4, (2, 2, 7)): {'low': ['-0x1.18291ea065552p-4', '0x1.b43239ae8cca8p-5', '0x1.6292043b86cd4p-5', '-0x1.0f035ff495fe0p-8'], 'high': ['0x1.201f58ddef7a8p+0', '0x1.0603da5676e43p+0', '0x1.1e5a2637b1921p+0', '0x1.189ae2d868e77p+0']},
    ('Uniform', 'mle', (('low', -0.25),), (), 0, (25,)): {'low': '-0x1.0000000000000p-2', 'high': '0x1.dec1d00f1ead7p-1'},
    ('Uniform', 'ple', (('low', -0.25),), (), 0, (25,)): {'low': '-0x1.0000000000000p-2', 'high': '0x1.f70701576795cp-1'},
    ('Uniform', 'mle', (('low', -0.25),), (), 1, (25,)): {'low': '-0x1.0000000000000p-2', 'high': '0x1.f6232fae3bdf4p-1'},
    ('Uniform', 'ple', (('low', -0.25),), (), 1, (25,)): {'low': '-0x1.0000000000000p-2', 'high': '0x1.07abe5980aa75p+0'},
    ('Uniform', 'mle', (('low', -0.25),), (), 2, (7,)): {'low': '-0x1.0000000000000p-2', 'high': '0x1.a0e2323ed3df6p-1'},
    ('Uniform', 'ple', (('low', -0.25),), (), 2, (7,)): {'low': '-0x1.0000000000000p-2', 'high': '0x1.eeb95dfea8ff4p-1'},
    ('Uniform', 'mle', (('low', -0.25),), (), 3, (3, 25)): {'low': ['-0x1.0000000000000p-2', '-0x1.0000000000000p-2', '-0x1.0000000000000p-2'], 'high': ['0x1.f26962982761ap-1', '0x1.dce8d4930a594p-1', '0x1.f0ed1405006ccp-1']},
    ('Uniform', 'ple', (('low', -0.25),), (), 3, (3, 25)): {'low': ['-0x1.0000000000000p-2', '-0x1.0000000000000p-2', '-0x1.0000000000000p-2'], 'high': ['0x1.05bbeb96cccc6p+0', '0x1.f51b1a847129ap-1', '0x1.04f6292152241p+0']},
    ('Uniform', 'mle', (('low', -0.25),), (), 4, (2, 2, 7)): {'low': ['-0x1.0000000000000p-2', '-0x1.0000000000000p-2', '-0x1.0000000000000p-2', '-0x1.0000000000000p-2'], 'high': ['0x1.f3d63709e1811p-1', '0x1.cdef228aad28fp-1', '0x1.f7e2e6e9edcd4p-1', '0x1.eacb4c22ba6f8p-1']},
    ('Uniform', 'ple', (('low', -0.25),), (), 4, (2, 2, 7)): {'low': ['-0x1.0000000000000p-2', '-0x1.0000000000000p-2', '-0x1.0000000000000p-2', '-0x1.0000000000000p-2'], 'high': ['0x1.26c38d2a37b77p+0', '0x1.111aef2aac177p+0', '0x1.2913f1aa3ebe7p+0', '0x1.2198bdcab3ad7p+0']},
    ('Uniform', 'mle', (('high', 1.5),), (), 0, (25,)): {'low': '0x1.66f0d1577d200p-9', 'high': '0x1.8000000000000p+0'},
    ('Uniform', 'ple', (('high', 1.5),), (), 0, (25,)): {'low': '-0x1.d43058caf4080p-5', 'high': '0x1.8000000000000p+0'},
    ('Uniform', 'mle', (('high', 1.5),), (), 1, (25,)): {'low': '0x1.c3874c857cc00p-6', 'high': '0x1.8000000000000p+0'},
    ('Uniform', 'ple', (('high', 1.5),), (), 1, (25,)): {'low': '-0x1.00b9a50244400p-5', 'high': '0x1.8000000000000p+0'},
    ('Uniform', 'mle', (('high', 1.5),), (), 2, (7,)): {'low': '0x1.787cd9d738668p-4', 'high': '0x1.8000000000000p+0'},
    ('Uniform', 'ple', (('high', 1.5),), (), 2, (7,)): {'low': '-0x1.bf71502e9af90p-4', 'high': '0x1.8000000000000p+0'},
    ('Uniform', 'mle', (('high', 1.5),), (), 3, (3, 25)): {'low': ['0x1.869dcfc14a600p-10', '0x1.f130619e5dde0p-6', '0x1.bb22d51f273a0p-5'], 'high': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Uniform', 'ple', (('high', 1.5),), (), 3, (3, 25)): {'low': ['-0x1.ded330ed8edc0p-5', '-0x1.d1f6a4b775680p-6', '-0x1.ea892fe521600p-9'], 'high': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Uniform', 'mle', (('high', 1.5),), (), 4, (2, 2, 7)): {'low': ['0x1.4b1ab6ef864a8p-4', '0x1.656ed6f4a5b08p-3', '0x1.6bea1724b70f0p-3', '0x1.1131cb38b8cd8p-3'], 'high': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Uniform', 'ple', (('high', 1.5),), (), 4, (2, 2, 7)): {'low': ['-0x1.f34f2eee41f40p-4', '-0x1.e5cc1318bc880p-7', '-0x1.6f477d60a3800p-7', '-0x1.fa8a15d820e60p-5'], 'high': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Uniform', 'mle', (('low', (-0.25, -0.5, -0.125)),), (), 3, (3, 25)): {'low': ['-0x1.0000000000000p-2', '-0x1.0000000000000p-1', '-0x1.0000000000000p-3'], 'high': ['0x1.f26962982761ap-1', '0x1.dce8d4930a594p-1', '0x1.f0ed1405006ccp-1']},
    ('Uniform', 'ple', (('low', (-0.25, -0.5, -0.125)),), (), 3, (3, 25)): {'low': ['-0x1.0000000000000p-2', '-0x1.0000000000000p-1', '-0x1.0000000000000p-3'], 'high': ['0x1.05bbeb96cccc6p+0', '0x1.fa39d2d65caecp-1', '0x1.03ae7b0cd742dp+0']},
    ('Uniform', 'mle', (('high', (1.5, 1.25, 2.0)),), (), 3, (3, 25)): {'low': ['0x1.869dcfc14a600p-10', '0x1.f130619e5dde0p-6', '0x1.bb22d51f273a0p-5'], 'high': ['0x1.8000000000000p+0', '0x1.4000000000000p+0', '0x1.0000000000000p+1']},
    ('Uniform', 'ple', (('high', (1.5, 1.25, 2.0)),), (), 3, (3, 25)): {'low': ['-0x1.ded330ed8edc0p-5', '-0x1.2e1f9a7a04c40p-6', '-0x1.84ff3a7785780p-6'], 'high': ['0x1.8000000000000p+0', '0x1.4000000000000p+0', '0x1.0000000000000p+1']},
    ('Gaussian', 'mle', (), (), 0, (25,)): {'mu': '0x1.b4cdb26993e04p-1', 'sigma': '0x1.b5d66db692ea0p+0'},
    ('Gaussian', 'ple', (), (('parametrization', 'sigma'),), 0, (25,)): {'mu': '0x1.b4cdb26993e04p-1', 'sigma': '0x1.c38b416b9e00bp+0'},
    ('Gaussian', 'ple', (), (('parametrization', 'variance'),), 0, (25,)): {'mu': '0x1.b4cdb26993e04p-1', 'sigma': '0x1.beddbb6c01bc6p+0'},
    ('Gaussian', 'mle', (), (), 1, (25,)): {'mu': '0x1.0179040a27d20p+0', 'sigma': '0x1.a3c6a337fe3e3p+0'},
    ('Gaussian', 'ple', (), (('parametrization', 'sigma'),), 1, (25,)): {'mu': '0x1.0179040a27d20p+0', 'sigma': '0x1.b0eab7e73fd05p+0'},
    ('Gaussian', 'ple', (), (('parametrization', 'variance'),), 1, (25,)): {'mu': '0x1.0179040a27d20p+0', 'sigma': '0x1.ac6e985eb1dd0p+0'},
    ('Gaussian', 'mle', (), (), 2, (7,)): {'mu': '0x1.aca664b37eb23p-1', 'sigma': '0x1.419caf16dab3ap+1'},
    ('Gaussian', 'ple', (), (('parametrization', 'sigma'),), 2, (7,)): {'mu': '0x1.aca664b37eb23p-1', 'sigma': '0x1.6a17ce32e8eb9p+1'},
    ('Gaussian', 'ple', (), (('parametrization', 'variance'),), 2, (7,)): {'mu': '0x1.aca664b37eb23p-1', 'sigma': '0x1.5b61766d567a6p+1'},
    ('Gaussian', 'mle', (), (), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.2857609505543p+1', '0x1.0458b3af9d083p+1', '0x1.0d5ffa427e119p+1']},
    ('Gaussian', 'ple', (), (('parametrization', 'sigma'),), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.319e410ea69b1p+1', '0x1.0c7f1dd44755ep+1', '0x1.15cebef2717e1p+1']},
    ('Gaussian', 'ple', (), (('parametrization', 'variance'),), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.2e73bc3635ec0p+1', '0x1.09b70be95574cp+1', '0x1.12edfb7df4c3cp+1']},
    ('Gaussian', 'mle', (), (), 4, (2, 2, 7)): {'mu': ['0x1.8ed18f8301a5ep-1', '0x1.67e4a5e1b3e02p+0', '0x1.cdf362935b6c7p-2', '0x1.0f7f973af1968p-1'], 'sigma': ['0x1.f33b41dfdacf2p+0', '0x1.bc90b4f48e089p+0', '0x1.5c8b14720ab48p+1', '0x1.efc65743df4cfp+0']},
    ('Gaussian', 'ple', (), (('parametrization', 'sigma'),), 4, (2, 2, 7)): {'mu': ['0x1.8ed18f8301a5ep-1', '0x1.67e4a5e1b3e02p+0', '0x1.cdf362935b6c7p-2', '0x1.0f7f973af1968p-1'], 'sigma': ['0x1.1908daaa86513p+1', '0x1.f485adff11519p+0', '0x1.8869fdbdfada2p+1', '0x1.1716b44857864p+1']},
    ('Gaussian', 'ple', (), (('parametrization', 'variance'),), 4, (2, 2, 7)): {'mu': ['0x1.8ed18f8301a5ep-1', '0x1.67e4a5e1b3e02p+0', '0x1.cdf362935b6c7p-2', '0x1.0f7f973af1968p-1'], 'sigma': ['0x1.0d9da5c8a7593p+1', '0x1.e02f73fbba238p+0', '0x1.787842e5741d0p+1', '0x1.0bbfbcf3a36d4p+1']},
    ('Gaussian', 'mle', (('mu', 1.0),), (), 0, (25,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.b772f01519295p+0'},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'sigma'),), 0, (25,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.bbdd44bd23989p+0'},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'variance'),), 0, (25,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.b772f01519295p+0'},
    ('Gaussian', 'mle', (('mu', 1.0),), (), 1, (25,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.a3c74c861d2e4p+0'},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'sigma'),), 1, (25,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.a7ff08bd1c0e0p+0'},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'variance'),), 1, (25,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.a3c74c861d2e4p+0'},
    ('Gaussian', 'mle', (('mu', 1.0),), (), 2, (7,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.42495025eec68p+1'},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'sigma'),), 2, (7,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.4df709149ec20p+1'},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'variance'),), 2, (7,)): {'mu': '0x1.0000000000000p+0', 'sigma': '0x1.42495025eec68p+1'},
    ('Gaussian', 'mle', (('mu', 1.0),), (), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0'], 'sigma': ['0x1.289acf594e2d4p+1', '0x1.0590de1fb9560p+1', '0x1.1700daf492545p+1']},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'sigma'),), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0'], 'sigma': ['0x1.2b95b920d57acp+1', '0x1.0831a7d349749p+1', '0x1.19ce7eb910f63p+1']},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'variance'),), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0'], 'sigma': ['0x1.289acf594e2d4p+1', '0x1.0590de1fb9560p+1', '0x1.1700daf492545p+1']},
    ('Gaussian', 'mle', (('mu', 1.0),), (), 4, (2, 2, 7)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0'], 'sigma': ['0x1.f66dbd8e4018cp+0', '0x1.c88b296a131cap+0', '0x1.638db74207a90p+1', '0x1.fe265d039fa95p+0']},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'sigma'),), 4, (2, 2, 7)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0'], 'sigma': ['0x1.0451491c11bebp+1', '0x1.d91655beddc67p+0', '0x1.70700b779cbd5p+1', '0x1.08516902b3b1cp+1']},
    ('Gaussian', 'ple', (('mu', 1.0),), (('parametrization', 'variance'),), 4, (2, 2, 7)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0'], 'sigma': ['0x1.f66dbd8e4018cp+0', '0x1.c88b296a131cap+0', '0x1.638db74207a90p+1', '0x1.fe265d039fa95p+0']},
    ('Gaussian', 'mle', (('sigma', 2.0),), (), 0, (25,)): {'mu': '0x1.b4cdb26993e04p-1', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'sigma'),), 0, (25,)): {'mu': '0x1.b4cdb26993e04p-1', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'variance'),), 0, (25,)): {'mu': '0x1.b4cdb26993e04p-1', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'mle', (('sigma', 2.0),), (), 1, (25,)): {'mu': '0x1.0179040a27d20p+0', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'sigma'),), 1, (25,)): {'mu': '0x1.0179040a27d20p+0', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'variance'),), 1, (25,)): {'mu': '0x1.0179040a27d20p+0', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'mle', (('sigma', 2.0),), (), 2, (7,)): {'mu': '0x1.aca664b37eb23p-1', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'sigma'),), 2, (7,)): {'mu': '0x1.aca664b37eb23p-1', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'variance'),), 2, (7,)): {'mu': '0x1.aca664b37eb23p-1', 'sigma': '0x1.0000000000000p+1'},
    ('Gaussian', 'mle', (('sigma', 2.0),), (), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1']},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'sigma'),), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1']},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'variance'),), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1']},
    ('Gaussian', 'mle', (('sigma', 2.0),), (), 4, (2, 2, 7)): {'mu': ['0x1.8ed18f8301a5ep-1', '0x1.67e4a5e1b3e02p+0', '0x1.cdf362935b6c7p-2', '0x1.0f7f973af1968p-1'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1']},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'sigma'),), 4, (2, 2, 7)): {'mu': ['0x1.8ed18f8301a5ep-1', '0x1.67e4a5e1b3e02p+0', '0x1.cdf362935b6c7p-2', '0x1.0f7f973af1968p-1'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1']},
    ('Gaussian', 'ple', (('sigma', 2.0),), (('parametrization', 'variance'),), 4, (2, 2, 7)): {'mu': ['0x1.8ed18f8301a5ep-1', '0x1.67e4a5e1b3e02p+0', '0x1.cdf362935b6c7p-2', '0x1.0f7f973af1968p-1'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1']},
    ('Gaussian', 'mle', (('mu', (1.0, 0.5, 0.0)),), (), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x0.0p+0'], 'sigma': ['0x1.289acf594e2d4p+1', '0x1.133659c2056d3p+1', '0x1.12fff94d2706cp+1']},
    ('Gaussian', 'ple', (('mu', (1.0, 0.5, 0.0)),), (('parametrization', 'sigma'),), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x0.0p+0'], 'sigma': ['0x1.2b95b920d57acp+1', '0x1.15fa3d3cc750fp+1', '0x1.15c350ea58141p+1']},
    ('Gaussian', 'ple', (('mu', (1.0, 0.5, 0.0)),), (('parametrization', 'variance'),), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x0.0p+0'], 'sigma': ['0x1.289acf594e2d4p+1', '0x1.133659c2056d3p+1', '0x1.12fff94d2706cp+1']},
    ('Gaussian', 'mle', (('sigma', (2.0, 1.0, 3.0)),), (), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+0', '0x1.8000000000000p+1']},
    ('Gaussian', 'ple', (('sigma', (2.0, 1.0, 3.0)),), (('parametrization', 'sigma'),), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+0', '0x1.8000000000000p+1']},
    ('Gaussian', 'ple', (('sigma', (2.0, 1.0, 3.0)),), (('parametrization', 'variance'),), 3, (3, 25)): {'mu': ['0x1.ce0291c98591dp-1', '0x1.327465e602997p+0', '0x1.bab0a2cf7e61fp-2'], 'sigma': ['0x1.0000000000000p+1', '0x1.0000000000000p+0', '0x1.8000000000000p+1']},
    ('Laplace', 'mle', (), (), 0, (25,)): {'mu': '0x1.b838c7f0d82e2p-1', 'b': '0x1.de6899f64c0c5p+0'},
    ('Laplace', 'ple', (), (), 0, (25,)): {'mu': '0x1.b838c7f0d82e2p-1', 'b': '0x1.e973f2ef85223p+0'},
    ('Laplace', 'mle', (), (), 1, (25,)): {'mu': '0x1.6a0f3e7116d4fp-2', 'b': '0x1.687d080bf4ad3p+0'},
    ('Laplace', 'ple', (), (), 1, (25,)): {'mu': '0x1.6a0f3e7116d4fp-2', 'b': '0x1.70cf7b76dc677p+0'},
    ('Laplace', 'mle', (), (), 2, (7,)): {'mu': '-0x1.185f7cb4ae470p-2', 'b': '0x1.1a3691fe5b007p+0'},
    ('Laplace', 'ple', (), (), 2, (7,)): {'mu': '-0x1.185f7cb4ae470p-2', 'b': '0x1.36b18231dbf71p+0'},
    ('Laplace', 'mle', (), (), 3, (3, 25)): {'mu': ['0x1.237720e6090eep-2', '0x1.1173aebe1b324p+0', '0x1.b8b4c78dc917cp-1'], 'b': ['0x1.865575926801ap+0', '0x1.2a4ce60ef70f6p+0', '0x1.5a2b28a6d174ap+0']},
    ('Laplace', 'ple', (), (), 3, (3, 25)): {'mu': ['0x1.237720e6090eep-2', '0x1.1173aebe1b324p+0', '0x1.b8b4c78dc917cp-1'], 'b': ['0x1.8f584b29bfbb7p+0', '0x1.312fd3107b7f2p+0', '0x1.6228fb1fc8678p+0']},
    ('Laplace', 'mle', (), (), 4, (2, 2, 7)): {'mu': ['0x1.b9a100d5ff55cp-1', '0x1.46a556bcffdd2p-1', '0x1.4a6f59196c0dep+0', '0x1.0058f61df4c31p-1'], 'b': ['0x1.c35f4b4d49599p+0', '0x1.17f00c9e9fdabp+0', '0x1.fcb46bb319fd9p+0', '0x1.5f140897f174fp+0']},
    ('Laplace', 'ple', (), (), 4, (2, 2, 7)): {'mu': ['0x1.b9a100d5ff55cp-1', '0x1.46a556bcffdd2p-1', '0x1.4a6f59196c0dep+0', '0x1.0058f61df4c31p-1'], 'b': ['0x1.f0ec6f15ac593p+0', '0x1.343033789d328p+0', '0x1.18055e8377febp+1', '0x1.8282178d7129dp+0']},
    ('Laplace', 'mle', (('mu', 0.5),), (), 0, (25,)): {'mu': '0x1.0000000000000p-1', 'b': '0x1.e78e898810558p+0'},
    ('Laplace', 'ple', (('mu', 0.5),), (), 0, (25,)): {'mu': '0x1.0000000000000p-1', 'b': '0x1.e78e898810558p+0'},
    ('Laplace', 'mle', (('mu', 0.5),), (), 1, (25,)): {'mu': '0x1.0000000000000p-1', 'b': '0x1.6ae952ea689cfp+0'},
    ('Laplace', 'ple', (('mu', 0.5),), (), 1, (25,)): {'mu': '0x1.0000000000000p-1', 'b': '0x1.6ae952ea689cfp+0'},
    ('Laplace', 'mle', (('mu', 0.5),), (), 2, (7,)): {'mu': '0x1.0000000000000p-1', 'b': '0x1.36831f9718155p+0'},
    ('Laplace', 'ple', (('mu', 0.5),), (), 2, (7,)): {'mu': '0x1.0000000000000p-1', 'b': '0x1.36831f9718155p+0'},
    ('Laplace', 'mle', (('mu', 0.5),), (), 3, (3, 25)): {'mu': ['0x1.0000000000000p-1', '0x1.0000000000000p-1', '0x1.0000000000000p-1'], 'b': ['0x1.89da9fc6578dcp+0', '0x1.3f1cac89350c5p+0', '0x1.6655a15e1cd73p+0']},
    ('Laplace', 'ple', (('mu', 0.5),), (), 3, (3, 25)): {'mu': ['0x1.0000000000000p-1', '0x1.0000000000000p-1', '0x1.0000000000000p-1'], 'b': ['0x1.89da9fc6578dcp+0', '0x1.3f1cac89350c5p+0', '0x1.6655a15e1cd73p+0']},
    ('Laplace', 'mle', (('mu', 0.5),), (), 4, (2, 2, 7)): {'mu': ['0x1.0000000000000p-1', '0x1.0000000000000p-1', '0x1.0000000000000p-1', '0x1.0000000000000p-1'], 'b': ['0x1.d32547e472bb3p+0', '0x1.1cfbdbf5446a7p+0', '0x1.1a47d61756821p+1', '0x1.5f1a6350f0a77p+0']},
    ('Laplace', 'ple', (('mu', 0.5),), (), 4, (2, 2, 7)): {'mu': ['0x1.0000000000000p-1', '0x1.0000000000000p-1', '0x1.0000000000000p-1', '0x1.0000000000000p-1'], 'b': ['0x1.d32547e472bb3p+0', '0x1.1cfbdbf5446a7p+0', '0x1.1a47d61756821p+1', '0x1.5f1a6350f0a77p+0']},
    ('Laplace', 'mle', (('b', 1.5),), (), 0, (25,)): {'mu': '0x1.b838c7f0d82e2p-1', 'b': '0x1.8000000000000p+0'},
    ('Laplace', 'ple', (('b', 1.5),), (), 0, (25,)): {'mu': '0x1.b838c7f0d82e2p-1', 'b': '0x1.8000000000000p+0'},
    ('Laplace', 'mle', (('b', 1.5),), (), 1, (25,)): {'mu': '0x1.6a0f3e7116d4fp-2', 'b': '0x1.8000000000000p+0'},
    ('Laplace', 'ple', (('b', 1.5),), (), 1, (25,)): {'mu': '0x1.6a0f3e7116d4fp-2', 'b': '0x1.8000000000000p+0'},
    ('Laplace', 'mle', (('b', 1.5),), (), 2, (7,)): {'mu': '-0x1.185f7cb4ae470p-2', 'b': '0x1.8000000000000p+0'},
    ('Laplace', 'ple', (('b', 1.5),), (), 2, (7,)): {'mu': '-0x1.185f7cb4ae470p-2', 'b': '0x1.8000000000000p+0'},
    ('Laplace', 'mle', (('b', 1.5),), (), 3, (3, 25)): {'mu': ['0x1.237720e6090eep-2', '0x1.1173aebe1b324p+0', '0x1.b8b4c78dc917cp-1'], 'b': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Laplace', 'ple', (('b', 1.5),), (), 3, (3, 25)): {'mu': ['0x1.237720e6090eep-2', '0x1.1173aebe1b324p+0', '0x1.b8b4c78dc917cp-1'], 'b': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Laplace', 'mle', (('b', 1.5),), (), 4, (2, 2, 7)): {'mu': ['0x1.b9a100d5ff55cp-1', '0x1.46a556bcffdd2p-1', '0x1.4a6f59196c0dep+0', '0x1.0058f61df4c31p-1'], 'b': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Laplace', 'ple', (('b', 1.5),), (), 4, (2, 2, 7)): {'mu': ['0x1.b9a100d5ff55cp-1', '0x1.46a556bcffdd2p-1', '0x1.4a6f59196c0dep+0', '0x1.0058f61df4c31p-1'], 'b': ['0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0', '0x1.8000000000000p+0']},
    ('Laplace', 'mle', (('mu', (1.0, 0.5, 0.0)),), (), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x0.0p+0'], 'b': ['0x1.ab84061d37c5cp+0', '0x1.3f1cac89350c5p+0', '0x1.8c4242368116dp+0']},
    ('Laplace', 'ple', (('mu', (1.0, 0.5, 0.0)),), (), 3, (3, 25)): {'mu': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x0.0p+0'], 'b': ['0x1.ab84061d37c5cp+0', '0x1.3f1cac89350c5p+0', '0x1.8c4242368116dp+0']},
    ('Laplace', 'mle', (('b', (1.5, 2.0, 2.5)),), (), 3, (3, 25)): {'mu': ['0x1.237720e6090eep-2', '0x1.1173aebe1b324p+0', '0x1.b8b4c78dc917cp-1'], 'b': ['0x1.8000000000000p+0', '0x1.0000000000000p+1', '0x1.4000000000000p+1']},
    ('Laplace', 'ple', (('b', (1.5, 2.0, 2.5)),), (), 3, (3, 25)): {'mu': ['0x1.237720e6090eep-2', '0x1.1173aebe1b324p+0', '0x1.b8b4c78dc917cp-1'], 'b': ['0x1.8000000000000p+0', '0x1.0000000000000p+1', '0x1.4000000000000p+1']},
    ('Exponential', 'mle', (), (), 0, (25,)): {'rate': '0x1.9ffa01bb77f1ep-2'},
    ('Exponential', 'ple', (), (), 0, (25,)): {'rate': '0x1.8f566810213a2p-2'},
    ('Exponential', 'mle', (), (), 1, (25,)): {'rate': '0x1.cd9f895a8f04bp-2'},
    ('Exponential', 'ple', (), (), 1, (25,)): {'rate': '0x1.bb2883dc0e6aep-2'},
    ('Exponential', 'mle', (), (), 2, (7,)): {'rate': '0x1.9a0de49561560p-1'},
    ('Exponential', 'ple', (), (), 2, (7,)): {'rate': '0x1.5f799f5b78009p-1'},
    ('Exponential', 'mle', (), (), 3, (3, 25)): {'rate': ['0x1.30cf61cdce0dcp-1', '0x1.a370cd4d3b381p-2', '0x1.d3a05e6352fc9p-2']},
    ('Exponential', 'ple', (), (), 3, (3, 25)): {'rate': ['0x1.249e2073a7177p-1', '0x1.92a9bad98087cp-2', '0x1.c0ebdfbb82de0p-2']},
    ('Exponential', 'mle', (), (), 4, (2, 2, 7)): {'rate': ['0x1.67d0183dcaf89p-2', '0x1.f8b4a4ae91b25p-2', '0x1.0106285973f96p-2', '0x1.2acad288f34cfp-1']},
    ('Exponential', 'ple', (), (), 4, (2, 2, 7)): {'rate': ['0x1.3469395989676p-2', '0x1.b09ad64c7ce1fp-2', '0x1.b89cd774c6d01p-3', '0x1.001b8fe319afap-1']},
    ('Pareto', 'mle', (), (), 0, (25,)): {'b': '0x1.a06989915cb84p+0', 'xm': '0x1.002a35e945791p+0'},
    ('Pareto', 'ple', (), (), 0, (25,)): {'b': '0x1.7f196a1517dcbp+0', 'xm': '0x1.f2a2b185ca2f9p-1'},
    ('Pareto', 'mle', (), (), 1, (25,)): {'b': '0x1.da5497c532917p+0', 'xm': '0x1.03d4eb2c0ee19p+0'},
    ('Pareto', 'ple', (), (), 1, (25,)): {'b': '0x1.b4624e304d3e2p+0', 'xm': '0x1.fb781f4e33791p-1'},
    ('Pareto', 'mle', (), (), 2, (7,)): {'b': '0x1.02e01677eb650p+2', 'xm': '0x1.112c7a64e10d5p+0'},
    ('Pareto', 'ple', (), (), 2, (7,)): {'b': '0x1.71d2693d996bbp+1', 'xm': '0x1.03aab0ff222d1p+0'},
    ('Pareto', 'mle', (), (), 3, (3, 25)): {'b': ['0x1.3176ef0f50d3ep+1', '0x1.b225c0c3977c0p+0', '0x1.f78267d70e395p+0'], 'xm': ['0x1.003afe56287e9p+0', '0x1.05591475d7d72p+0', '0x1.0a2f5be478d51p+0']},
    ('Pareto', 'ple', (), (), 3, (3, 25)): {'b': ['0x1.190704e52166cp+1', '0x1.8f6a69a9b4536p+0', '0x1.cf3a887e2bce5p+0'], 'xm': ['0x1.f71fdac86ee9ep-1', '0x1.fd4b9bbd79a09p-1', '0x1.044d00580759ep+0']},
    ('Pareto', 'mle', (), (), 4, (2, 2, 7)): {'b': ['0x1.8f72953a2bd8dp+0', '0x1.081a4674ff340p+1', '0x1.239739a32b189p+0', '0x1.4736fa1dcbf51p+1'], 'xm': ['0x1.12b9ca6996011p+0', '0x1.05d7b7b138649p+0', '0x1.20155ed0a2d13p+0', '0x1.09b49749b756ep+0']},
    ('Pareto', 'ple', (), (), 4, (2, 2, 7)): {'b': ['0x1.1d51d84e1f51bp+0', '0x1.794a1b829125bp+0', '0x1.a08ee49ff46c4p-1', '0x1.d3731c2a9114fp+0'], 'xm': ['0x1.df064186e1823p-1', '0x1.d8ec658889585p-1', '0x1.daffa5965e071p-1', '0x1.e9d5da5e9d6e7p-1']},
    ('Pareto', 'mle', (('xm', 1.0),), (), 0, (25,)): {'b': '0x1.9ffa01bb77f1ep+0', 'xm': '0x1.0000000000000p+0'},
    ('Pareto', 'ple', (('xm', 1.0),), (), 0, (25,)): {'b': '0x1.8f566810213a2p+0', 'xm': '0x1.0000000000000p+0'},
    ('Pareto', 'mle', (('xm', 1.0),), (), 1, (25,)): {'b': '0x1.cd9f895a8f04bp+0', 'xm': '0x1.0000000000000p+0'},
    ('Pareto', 'ple', (('xm', 1.0),), (), 1, (25,)): {'b': '0x1.bb2883dc0e6aep+0', 'xm': '0x1.0000000000000p+0'},
    ('Pareto', 'mle', (('xm', 1.0),), (), 2, (7,)): {'b': '0x1.9a0de49561560p+1', 'xm': '0x1.0000000000000p+0'},
    ('Pareto', 'ple', (('xm', 1.0),), (), 2, (7,)): {'b': '0x1.5f799f5b78009p+1', 'xm': '0x1.0000000000000p+0'},
    ('Pareto', 'mle', (('xm', 1.0),), (), 3, (3, 25)): {'b': ['0x1.30cf61cdce0ddp+1', '0x1.a370cd4d3b381p+0', '0x1.d3a05e6352fc9p+0'], 'xm': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0']},
    ('Pareto', 'ple', (('xm', 1.0),), (), 3, (3, 25)): {'b': ['0x1.249e2073a7178p+1', '0x1.92a9bad98087cp+0', '0x1.c0ebdfbb82de0p+0'], 'xm': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0']},
    ('Pareto', 'mle', (('xm', 1.0),), (), 4, (2, 2, 7)): {'b': ['0x1.67d0183dcaf8bp+0', '0x1.f8b4a4ae91b25p+0', '0x1.0106285973f96p+0', '0x1.2acad288f34cfp+1'], 'xm': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0']},
    ('Pareto', 'ple', (('xm', 1.0),), (), 4, (2, 2, 7)): {'b': ['0x1.3469395989677p+0', '0x1.b09ad64c7ce1fp+0', '0x1.b89cd774c6d01p-1', '0x1.001b8fe319afap+1'], 'xm': ['0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0', '0x1.0000000000000p+0']},
    ('Pareto', 'mle', (('b', 2.0),), (), 0, (25,)): {'b': '0x1.0000000000000p+1', 'xm': '0x1.002a35e945791p+0'},
    ('Pareto', 'ple', (('b', 2.0),), (), 0, (25,)): {'b': '0x1.0000000000000p+1', 'xm': '0x1.f6154af22c01cp-1'},
    ('Pareto', 'mle', (('b', 2.0),), (), 1, (25,)): {'b': '0x1.0000000000000p+1', 'xm': '0x1.03d4eb2c0ee19p+0'},
    ('Pareto', 'ple', (('b', 2.0),), (), 1, (25,)): {'b': '0x1.0000000000000p+1', 'xm': '0x1.fd452918e9f79p-1'},
    ('Pareto', 'mle', (('b', 2.0),), (), 2, (7,)): {'b': '0x1.0000000000000p+1', 'xm': '0x1.112c7a64e10d5p+0'},
    ('Pareto', 'ple', (('b', 2.0),), (), 2, (7,)): {'b': '0x1.0000000000000p+1', 'xm': '0x1.fb529a290fab0p-1'},
    ('Pareto', 'mle', (('b', 2.0),), (), 3, (3, 25)): {'b': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1'], 'xm': ['0x1.003afe56287e9p+0', '0x1.05591475d7d72p+0', '0x1.0a2f5be478d51p+0']},
    ('Pareto', 'ple', (('b', 2.0),), (), 3, (3, 25)): {'b': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1'], 'xm': ['0x1.f6362ff08ccf1p-1', '0x1.001efa737c7bcp+0', '0x1.04dc7de505c69p+0']},
    ('Pareto', 'mle', (('b', 2.0),), (), 4, (2, 2, 7)): {'b': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1'], 'xm': ['0x1.12b9ca6996011p+0', '0x1.05d7b7b138649p+0', '0x1.20155ed0a2d13p+0', '0x1.09b49749b756ep+0']},
    ('Pareto', 'ple', (('b', 2.0),), (), 4, (2, 2, 7)): {'b': ['0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1', '0x1.0000000000000p+1'], 'xm': ['0x1.fe3477e8a8dd7p-1', '0x1.e64779b6d671ap-1', '0x1.0b818ee64e0b6p+0', '0x1.ed73f464547cdp-1']},
    ('Pareto', 'mle', (('xm', (1.0, 0.5, 0.875)),), (), 3, (3, 25)): {'b': ['0x1.30cf61cdce0ddp+1', '0x1.88cb23949d9e7p-1', '0x1.77ee36120137ap+0'], 'xm': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x1.c000000000000p-1']},
    ('Pareto', 'ple', (('xm', (1.0, 0.5, 0.875)),), (), 3, (3, 25)): {'b': ['0x1.249e2073a7178p+1', '0x1.7914eef51231bp-1', '0x1.68e4aec99ac4cp+0'], 'xm': ['0x1.0000000000000p+0', '0x1.0000000000000p-1', '0x1.c000000000000p-1']},
    ('Pareto', 'mle', (('b', (1.5, 2.0, 2.5)),), (), 3, (3, 25)): {'b': ['0x1.8000000000000p+0', '0x1.0000000000000p+1', '0x1.4000000000000p+1'], 'xm': ['0x1.003afe56287e9p+0', '0x1.05591475d7d72p+0', '0x1.0a2f5be478d51p+0']},
    ('Pareto', 'ple', (('b', (1.5, 2.0, 2.5)),), (), 3, (3, 25)): {'b': ['0x1.8000000000000p+0', '0x1.0000000000000p+1', '0x1.4000000000000p+1'], 'xm': ['0x1.f2cb965ca0bfdp-1', '0x1.001efa737c7bcp+0', '0x1.05ed10b1b6631p+0']},
    ('Geometric', 'mle', (), (), 0, (25,)): {'p': '0x1.05397829cbc15p-2'},
    ('Geometric', 'ple', (), (), 0, (25,)): {'p': '0x1.fae3159dc747ep-3'},
    ('Geometric', 'mle', (), (), 1, (25,)): {'p': '0x1.1642c8590b216p-2'},
    ('Geometric', 'ple', (), (), 1, (25,)): {'p': '0x1.0e285ceb944e6p-2'},
    ('Geometric', 'mle', (), (), 2, (7,)): {'p': '0x1.ddddddddddddep-2'},
    ('Geometric', 'ple', (), (), 2, (7,)): {'p': '0x1.b9a408227f984p-2'},
    ('Geometric', 'mle', (), (), 3, (3, 25)): {'p': ['0x1.638e38e38e38ep-2', '0x1.0295fad40a57fp-2', '0x1.1951951951952p-2']},
    ('Geometric', 'ple', (), (), 3, (3, 25)): {'p': ['0x1.5a4669900982dp-2', '0x1.f5b6b24bb4c9cp-3', '0x1.1128f87df86d3p-2']},
    ('Geometric', 'mle', (), (), 4, (2, 2, 7)): {'p': ['0x1.c000000000000p-3', '0x1.2aaaaaaaaaaabp-2', '0x1.4d653594d6536p-3', '0x1.6666666666666p-2']},
    ('Geometric', 'ple', (), (), 4, (2, 2, 7)): {'p': ['0x1.8e33a304f1bfdp-3', '0x1.0c95a62527377p-2', '0x1.25a796c5a9956p-3', '0x1.45489ecef9a7fp-2']},
}


def _fit(key):
    family, method, fixed, options, seed, shape = key
    cls = getattr(ps, family)
    x = data(family, seed, shape)
    fixed = {name: np.asarray(value) for name, value in fixed}
    if method == "mle":
        return cls, x, fixed, cls.fit_mle(x, **fixed)
    return cls, x, fixed, cls.fit_ple(x, method="analytic", **fixed, **dict(options))


@pytest.mark.parametrize("key", list(PINS), ids=str)
def test_pinned_outputs(key):
    cls, x, fixed, res = _fit(key)
    batch = x.shape[:-1]
    expected = PINS[key]
    assert res.params._fields == cls._param_names == tuple(expected)
    for name, value in zip(res.params._fields, res.params):
        if batch == ():
            assert type(value) is float
            assert value == float.fromhex(expected[name])
        else:
            assert type(value) is np.ndarray and value.dtype == np.float64
            assert value.shape == batch
            want = np.array([float.fromhex(h) for h in expected[name]]).reshape(batch)
            assert np.array_equal(value, want)
        stored = getattr(res.dist, "_values")[cls._param_names.index(name)]
        assert type(stored) is np.ndarray and stored.shape == batch
        assert stored.dtype == np.float64 and not stored.flags.writeable
        assert np.array_equal(stored, value)
    assert res.dist.params == res.params or batch != ()
    assert res.n == x.shape[-1] and type(res.n) is int
    assert res.method == key[1]
    assert res.info["fixed"] == tuple(name for name in cls._param_names if name in fixed)
    if key[1] == "mle":
        assert res.info["estimator"] == "closed-form maximum likelihood"
    else:
        assert res.info["estimator"] == "closed-form PLE"
        for option, value in key[3]:
            assert res.info[option] == value
    assert res.batch_shape == batch
    if batch == ():  # the same fit through every route a caller may take
        family, method, fixed_items, options = key[:4]
        fit = cls.fit_mle if method == "mle" else cls.fit_ple
        extra = {} if method == "mle" else dict(options)
        floats = {name: float(value) for name, value in fixed_items}
        variants = [fit(x, **floats, **extra), fit(list(x), **floats, **extra),
                    fit(x, **{k: np.float64(v) for k, v in floats.items()}, **extra)]
        if method == "ple":
            variants += [fit(x, method="analytic", rng=0, m=10, **floats, **extra)]
        for other in variants:
            assert other.params == res.params and other.info == res.info
            assert other.dist == res.dist and other.n == res.n
            assert other.dist.params == res.params
            assert all(not v.flags.writeable for v in other.dist._values)


@pytest.mark.parametrize("key", [k for k in PINS if k[4] in (0, 3)], ids=str)
def test_refit_and_pickle_reproduce_the_fit(key):
    cls, x, fixed, res = _fit(key)
    again = res.refit(x)
    assert again.method == res.method and again.info == res.info
    for a, b in zip(again.params, res.params):
        assert np.array_equal(a, b)
    back = pickle.loads(pickle.dumps(res))
    assert back.dist == res.dist and back.info == res.info
    for a, b in zip(back.refit(x).params, res.params):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("family", ["Uniform", "Gaussian", "Laplace", "Exponential", "Pareto",
                                    "Geometric"])
def test_other_input_types_give_the_same_fit(family):
    cls = getattr(ps, family)
    x = data(family, 0, (25,))
    ref_mle, ref_ple = cls.fit_mle(x.astype(np.float64)), cls.fit_ple(x.astype(np.float64))
    for other in (list(x), tuple(x), x.astype(np.float64)[::-1][::-1], x[None][0]):
        assert cls.fit_mle(other).params == ref_mle.params
        assert cls.fit_ple(other).params == ref_ple.params
    f32 = x.astype(np.float32)
    assert cls.fit_mle(f32).params == cls.fit_mle(f32.astype(np.float64)).params


def test_fixed_arrays_are_not_aliased_by_the_result():
    x = data("Gaussian", 3, (3, 25))
    mu = np.array([1.0, 0.5, 0.0])
    res = ps.Gaussian.fit_mle(x, mu=mu)
    mu0 = np.array([0.0])
    res0 = ps.Gaussian.fit_ple(x[0], mu=mu0[0:1].reshape(()))
    mu[:] = 7.0
    mu0[:] = 7.0
    assert np.array_equal(res.params.mu, [1.0, 0.5, 0.0])
    assert np.array_equal(res.dist.params.mu, [1.0, 0.5, 0.0])
    assert res0.params.mu == 0.0 and res0.dist.params.mu == 0.0
    with pytest.raises(ValueError):
        res.params.mu[0] = 3.0  # read-only, as the fitted distribution's values


_PREFIX = "the data are degenerate for this estimator (e.g. all observations equal)."

#: (family, method, data, fixed, the message (a regular expression))
DEGENERATE = [
    ("Gaussian", "fit_mle", [2.0] * 5, {},
     r"the MLE fit of Gaussian gives `sigma` = 0.0, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Gaussian", "fit_ple", [2.0] * 5, {},
     r"the PLE fit of Gaussian gives `sigma` = 0.0, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Gaussian", "fit_mle", [[1.0, 2.0, 3.0], [2.0] * 3], {},
     r"the MLE fit of Gaussian gives `sigma` = 0.0, outside its domain \(positive\), "
     r"for the data set at index \(1,\) of `x`"),
    ("Gaussian", "fit_mle", [2.0] * 5, {"mu": 2.0},
     r"the MLE fit of Gaussian gives `sigma` = 0.0, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Exponential", "fit_mle", [0.0] * 4, {},
     r"the MLE fit of Exponential gives `rate` = inf, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Exponential", "fit_ple", [[1.0, 2.0], [0.0, 0.0]], {},
     r"the PLE fit of Exponential gives `rate` = inf, outside its domain \(positive\), "
     r"for the data set at index \(1,\) of `x`"),
    ("Uniform", "fit_mle", [0.5] * 4, {},
     r"the MLE fit of Uniform gives invalid parameters \(`low` must be smaller than `high`; "
     r"got low=0.5, high=0.5.\)"),
    ("Uniform", "fit_ple", [[0.1, 0.5], [0.5, 0.5]], {},
     r"the PLE fit of Uniform gives invalid parameters \(`low` must be smaller than `high`; "
     r"got low=\[-0.3,  0.5\], high=\[0.9, 0.5\].\)"),
    ("Laplace", "fit_mle", [1.0] * 4, {},
     r"the MLE fit of Laplace gives `b` = 0.0, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Pareto", "fit_mle", [1.0] * 4, {"xm": 1.0},
     r"the MLE fit of Pareto gives `b` = inf, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Pareto", "fit_ple", [2.0] * 4, {},
     r"the PLE fit of Pareto gives `b` = inf, outside its domain \(positive\), "
     r"for the data set at index \(\) of `x`"),
    ("Pareto", "fit_ple", [[1.0, 2.0, 30.0], [1.0, 1.01, 1.02]], {"b": 0.2},
     r"the Pareto PLE of `xm` needs n\*b > 1 \(the minimum of n draws has finite mean only "
     r"then\); got n\*b = 0.6000000000000001 for the data set at index"),
]


@pytest.mark.parametrize("case", DEGENERATE, ids=lambda c: f"{c[0]}-{c[1]}-{np.ndim(c[2])}d")
def test_degenerate_fits_raise_the_same_messages(case):
    family, method, x, fixed, message = case
    for data in (x, np.asarray(x, dtype=np.float64)):  # a list, and the 1-D fast path
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RuntimeWarning leaks from the arithmetic
            with pytest.raises(ValueError, match=message) as info:
                getattr(getattr(ps, family), method)(data, **fixed)
        if "degenerate" in str(info.value):
            assert str(info.value).endswith(_PREFIX)


def test_analytic_ple_still_validates_rng_and_m():
    x = data("Exponential", 0, (25,))
    for rng, error, text in [(-1, ValueError, "non-negative integer seed"),
                             (True, TypeError, "got a bool"),
                             ("seed", TypeError, "got str"),
                             (1.5, TypeError, "got float")]:
        with pytest.raises(error, match=text):
            ps.Exponential.fit_ple(x, rng=rng)
    with pytest.raises(ValueError, match="`m` must be at least 2; got 1"):
        ps.Exponential.fit_ple(x, m=1)
    with pytest.raises(ValueError, match="`method` must be one of"):
        ps.Exponential.fit_ple(x, method="exact")
    for rng in (None, 3, np.random.SeedSequence(3), np.random.default_rng(3)):
        assert ps.Exponential.fit_ple(x, rng=rng).params == ps.Exponential.fit_ple(x).params


#: (family, method, data, fixed, the exact message)
OUT_OF_SUPPORT = [
    ("Pareto", "fit_mle", [2.0, -1.0, 3.0], {"xm": 1.0},
     "`x` has 1 value(s) outside the support of Pareto (positive values), e.g. -1.0."),
    ("Pareto", "fit_mle", [2.0, 0.5, 3.0], {"xm": 1.0},
     "`x` has 1 value(s) outside the support of Pareto (below the fixed `xm`), e.g. 0.5."),
    ("Geometric", "fit_mle", [0, 2, 1.5], {},
     "`x` has 2 value(s) outside the support of Geometric (integers >= 1), e.g. 0.0."),
    ("Exponential", "fit_ple", [1.0, -0.5], {},
     "`x` has 1 value(s) outside the support of Exponential ([0, inf)), e.g. -0.5."),
    ("Uniform", "fit_mle", [0.5, -1.0], {"low": 0.0},
     "`x` has 1 value(s) outside the support of Uniform (below the fixed `low`), e.g. -1.0."),
    ("Uniform", "fit_ple", [0.5, 2.0], {"high": 1.0},
     "`x` has 1 value(s) outside the support of Uniform (above the fixed `high`), e.g. 2.0."),
    ("Exponential", "fit_mle", [1.0, np.nan], {},
     "`x` contains 1 non-finite value(s) (nan or inf), e.g. nan."),
    ("Gaussian", "fit_ple", [1.0, np.inf, 2.0], {"mu": 0.0},
     "`x` contains 1 non-finite value(s) (nan or inf), e.g. inf."),
    ("Gaussian", "fit_mle", [1.0, 2.0], {"sigma": -1.0},
     "`sigma` must be positive; got -1.0."),
    ("Gaussian", "fit_mle", [1.0, 2.0], {"mu": 0.0, "sigma": 1.0},
     "all parameters of Gaussian are fixed (['mu', 'sigma']): there is nothing to fit."),
    ("Exponential", "fit_ple", [1.0], {},
     "`x` has n = 1 observations, but the PLE of Exponential needs n >= 2."),
]


@pytest.mark.parametrize("as_array", [False, True], ids=["list", "ndarray"])
@pytest.mark.parametrize("case", OUT_OF_SUPPORT, ids=lambda c: f"{c[0]}-{c[1]}")
def test_invalid_data_raise_the_same_messages(case, as_array):
    family, method, x, fixed, message = case
    data = np.asarray(x, dtype=np.float64) if as_array else x  # ndarray: the 1-D fast path
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(getattr(ps, family), method)(data, **fixed)


def test_unknown_keywords_raise_the_same_type_error():
    x = data("Gaussian", 0, (25,))
    for fit in (ps.Gaussian.fit_mle, ps.Gaussian.fit_ple):
        with pytest.raises(TypeError, match="got an unexpected keyword argument 'scale'"):
            fit(x, scale=1.0)
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'parametrization'"):
        ps.Gaussian.fit_mle(x, parametrization="sigma")


#: Geometric PLE of one data set (the root finder) at sample sizes around its switch from
#: scipy's hyp2f1 to the power series (n = 50); (2, 6) is all ones (p = 1).
GEOMETRIC_PLE = {
    (1, 5): "0x1.ba93882e24da6p-5", (1, 6): "0x1.23800b4b36ef6p-2",
    (2, 5): "0x1.2001662958965p-3", (2, 6): "0x1.0000000000000p+0",
    (3, 5): "0x1.6271f3ceb26fep-3", (3, 6): "0x1.0b1c95c62aaa1p-1",
    (10, 5): "0x1.8115a2302cf6dp-2", (10, 6): "0x1.ce23f618de7a3p-2",
    (49, 5): "0x1.61a56b670cd6ap-2", (49, 6): "0x1.49e914a65faa3p-2",
    (50, 5): "0x1.6162a57748885p-2", (50, 6): "0x1.4e898d5f16ee0p-2",
    (60, 5): "0x1.5d3f7aa89bc64p-2", (60, 6): "0x1.35d82dc1a5c88p-2",
}


@pytest.mark.parametrize("key", list(GEOMETRIC_PLE), ids=str)
def test_geometric_ple_of_one_data_set_is_pinned(key):
    n, seed = key
    x = np.random.default_rng(seed).geometric(0.3, size=n)
    if key == (2, 6):
        x[:] = 1
    expected = float.fromhex(GEOMETRIC_PLE[key])
    assert ps.Geometric.fit_ple(x).params.p == expected
    assert ps.Geometric.fit_ple(x[None]).params.p[0] == expected  # the batched solver agrees


def test_geometric_ple_of_one_data_set_equals_the_array_solver():
    # The float iteration for one data set repeats the array iteration on a batch of one
    # step for step. (In a larger batch the iteration runs until every data set has
    # converged, so a data set's root can differ in the last digit from its own.)
    rng = np.random.default_rng(7)
    for n in [2, 3, 4, 5, 8, 13, 25, 49, 50, 51, 80, 200]:
        for p in (0.02, 0.3, 0.7, 0.97):
            for row in rng.geometric(p, size=(4, n)):
                expected = ps.Geometric.fit_ple(row[None]).params.p[0]
                assert ps.Geometric.fit_ple(row).params.p == expected


@pytest.mark.parametrize("family", ["Uniform", "Gaussian", "Exponential", "Pareto"])
def test_single_fits_share_no_mutable_state(family):
    # The float path builds the PLE's default options, info and refit options once per
    # family: a caller who edits one result's info must not change the next result.
    cls = getattr(ps, family)
    x = data(family, 0, (25,))
    first = cls.fit_ple(x)
    expected = dict(first.info)
    first.info["estimator"] = "edited"
    first.info.clear()
    again = cls.fit_ple(x)
    assert again.info == expected and again.params == cls.fit_ple(list(x)).params
    assert first.refit(x).params == again.params


def test_a_subclass_with_its_own_estimator_is_not_given_the_float_path():
    # The float path belongs to the class that defines it: a subclass that changes the
    # estimator (and not _fit_floats) gets its own estimator for one data set too.
    class Scaled(ps.Exponential):
        @classmethod
        def _mle(cls, x, fixed):
            return {"rate": 2.0 * super()._mle(x, fixed)["rate"]}

    x = data("Exponential", 0, (25,))
    assert Scaled.fit_mle(x).params.rate == 2.0 * ps.Exponential.fit_mle(x).params.rate
