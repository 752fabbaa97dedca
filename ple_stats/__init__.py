"""ple_stats: penalized autophagy estimation (PLE).

Maximum likelihood is biased at finite sample sizes, and the bias compounds
when a model is refitted on its own samples. PLE chooses the estimate so that
refitting on data drawn from the fitted model gives, in expectation, the same
estimate. See the user guide for the definitions and what is (and is not)
claimed.

>>> from ple_stats import Uniform
>>> res = Uniform.fit_ple([0.1, 0.4, 0.7, 0.9], low=0.0)
>>> round(res.params.high, 4)
1.125
"""

from ._distribution import Distribution
from ._exponential import Exponential
from ._fairness import fairness_ratio, frechet_distance, imbalance_ratio
from ._gaussian import Gaussian
from ._gmm import GMM
from ._gmm_simulate import simulate_gmm
from ._geometric import Geometric
from ._kl import kl_divergence
from ._laplace import Laplace
from ._multivariate_gaussian import MultivariateGaussian
from ._pareto import Pareto
from ._regression._result import RegressionResult
from ._result import FitResult
from ._scipy_route import fit_ple
from ._simulate import simulate
from ._simulation_result import SimulationResult
from ._uniform import Uniform
from ._warnings import (ConvergenceWarning, DegenerateDataError, DegenerateDataWarning,
                        NoMLEWarning, PLEWarning, SeparationWarning)

__version__ = "0.1.0"

__all__ = [
    "Distribution",
    "Uniform",
    "Gaussian",
    "Laplace",
    "Geometric",
    "Exponential",
    "Pareto",
    "MultivariateGaussian",
    "GMM",
    "FitResult",
    "fit_ple",
    "RegressionResult",
    "kl_divergence",
    "frechet_distance",
    "fairness_ratio",
    "imbalance_ratio",
    "simulate",
    "simulate_gmm",
    "SimulationResult",
    "PLEWarning",
    "ConvergenceWarning",
    "DegenerateDataWarning",
    "NoMLEWarning",
    "SeparationWarning",
    "DegenerateDataError",
]
