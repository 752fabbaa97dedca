"""The torch hypernetwork core of ple_stats.

A :class:`HyperNetwork` is generated from any ``torch.nn.Module`` target and
predicts its weights from a set of observations (:func:`hypernetwork_size` tells
its size before it is built); :func:`call_with_weights` and
:func:`call_batched` run the target on predicted weights; :func:`ple_penalty`
and :func:`train_ple` train the hypernetwork with the PLE penalty.

This subpackage needs PyTorch; ``import ple_stats`` alone never imports it.
"""

from .._lib.optional import import_optional

import_optional("torch", "ple_stats.hyper")

from ._functional import call_batched, call_with_weights
from ._network import HyperNetwork, hypernetwork_size
from ._penalty import ple_penalty
from ._train import TrainHistory, train_ple

__all__ = [
    "HyperNetwork",
    "TrainHistory",
    "call_batched",
    "call_with_weights",
    "hypernetwork_size",
    "ple_penalty",
    "train_ple",
]
