"""Reproductions of the paper's experiments, as functions with parameters.

Each ``reproduce_*`` function writes figures (PNG and PDF) and the plotted
numbers (CSV and JSON) into an output directory and returns the paths. The
command line exposes them as ``ple-stats reproduce NAME``.
"""

from ._deep_ablation import reproduce_deep_ablation
from ._deep_madness import reproduce_deep_madness
from ._fairness import reproduce_fairness
from ._gaussian_sweep import SWEEP_DIMS, SWEEP_SIZES, reproduce_gaussian_sweep
from ._gmm import GMM_SIZES, GMM_WEIGHTS, reproduce_gmm
from ._madness import MADNESS_PANELS, reproduce_gaussian_std, reproduce_madness

__all__ = ["MADNESS_PANELS", "reproduce_madness", "reproduce_gaussian_std", "GMM_WEIGHTS",
           "GMM_SIZES", "reproduce_gmm", "reproduce_fairness", "reproduce_deep_madness",
           "reproduce_deep_ablation",
           "reproduce_gaussian_sweep", "SWEEP_DIMS", "SWEEP_SIZES"]
