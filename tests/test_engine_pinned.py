"""Seeded outputs of the data-driven PLE of the families, pinned to full precision.

The bootstrap and penalised PLE of the families run on the shared PLE engine
(``ple_stats._engine``). These values were recorded before the engine was
factored out of the family code; the engine must reproduce them bit for bit
for the same seed (same base draws, same arithmetic), so any change to the
numbers is a deliberate, visible decision.

Data: ``truth.sample(20, rng=1, sample_shape=(3,))`` of each setting in
``families.PLE_CONFIGS``; fits with ``m=50, rng=3``.
"""

import numpy as np
import pytest

from families import PLE_CONFIGS

#: name -> (params of the free parameters, mc_se of them, n_iter)
BOOTSTRAP = {
    'Gaussian-sigma': (
        {
            'mu': [1.0291858142805084, 0.9596475749766943, 0.6501456240088043],
            'sigma': [1.1917986640126366, 2.544774716851455, 1.3920216155905245],
        },
        {
            'mu': [0.04330814130990264, 0.06732659129571399, 0.04614706648283056],
            'sigma': [0.02533719529992128, 0.05557275103175766, 0.03127587363081246],
        },
        2),
    'Gaussian-mu-fixed': (
        {'sigma': [1.1544446209141332, 2.49263015127437, 1.3866399335816328]},
        {'sigma': [0.023432812122633147, 0.049757686129766956, 0.029499225450319223]},
        1),
    'Laplace': (
        {
            'mu': [0.2820190739416639, 0.6611858368280821, 1.0966688237150992],
            'b': [1.19123538744197, 1.6892979360267462, 1.1312683926393],
        },
        {
            'mu': [0.04702221005186187, 0.060756921872068055, 0.04585421868743141],
            'b': [0.03337952101561114, 0.050363158264327454, 0.035621584101468526],
        },
        2),
    'Pareto-xm-fixed': (
        {'b': [1.889423269556511, 1.1558130357494465, 2.5666611162713453]},
        {'b': [0.0739047821345314, 0.04349328357596378, 0.09126232161776032]},
        1),
    'Pareto-free': (
        {
            'b': [1.8500602994276025, 1.1427312170166923, 2.427092913513078],
            'xm': [0.9893801828590205, 0.9906052995242339, 0.9770204313183941],
        },
        {
            'b': [0.0728235269071948, 0.045150380985721154, 0.08423684069525436],
            'xm': [0.0036147756712927182, 0.003974925429751238, 0.0035960302818603095],
        },
        2),
    'Geometric': (
        {'p': [0.2847052344176212, 0.18779911074844327, 0.37543208641069303]},
        {'p': [0.009062643911411011, 0.006015105692991835, 0.009487421590719977]},
        21),
    'Uniform-free': (
        {
            'low': [-1.0548886783823779, -1.0421902182747504, -0.8437309520890878],
            'high': [1.9908602215811146, 2.0999469145434477, 1.7531453802034622],
        },
        {
            'low': [0.021119404599115144, 0.01977554131311809, 0.013788748325067894],
            'high': [0.01683795952679978, 0.02461463203061045, 0.016454332741185605],
        },
        1),
    'Exponential': (
        {'rate': [0.47235581739679394, 0.28895325894257584, 0.641665279045584]},
        {'rate': [0.018476195529830167, 0.01087332089081665, 0.022815580416001693]},
        1),
}

#: name -> params of the penalised PLE (penalty = 0.1)
PENALISED = {
    'Gaussian-sigma': {
        'mu': [1.0291858142805086, 0.9596475749766944, 0.6501456240088044],
        'sigma': [1.1917986640126366, 2.544774716851455, 1.3920216155905245],
    },
    'Geometric': {'p': [0.29323564245091815, 0.19243504399790534, 0.3845838813017219]},
}


def _fit(name, **kwargs):
    dist, fixed, options = PLE_CONFIGS[name]
    x = dist.sample(20, rng=1, sample_shape=(3,))
    return type(dist).fit_ple(x, m=50, rng=3, **fixed, **options, **kwargs)


@pytest.mark.parametrize("name", list(BOOTSTRAP))
def test_bootstrap_outputs_are_bitwise_unchanged(name):
    params, mc_se, n_iter = BOOTSTRAP[name]
    res = _fit(name, method="bootstrap")
    for param, values in params.items():
        assert np.array_equal(getattr(res.params, param), values), param
        assert np.array_equal(getattr(res.info["mc_se"], param), mc_se[param]), param
    assert res.info["n_iter"] == n_iter


@pytest.mark.parametrize("name", list(PENALISED))
def test_penalised_outputs_are_bitwise_unchanged(name):
    res = _fit(name, penalty=0.1)
    for param, values in PENALISED[name].items():
        assert np.array_equal(getattr(res.params, param), values), param
