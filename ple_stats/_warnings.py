"""Warning classes of ple_stats: soft problems are reported, never silenced."""

__all__ = ["PLEWarning", "ConvergenceWarning", "DegenerateDataWarning", "NoMLEWarning"]


class PLEWarning(UserWarning):
    """Base class of the warnings that ple_stats issues."""


class ConvergenceWarning(PLEWarning):
    """An iterative solver (root finder, EM, optimiser) stopped before converging."""


class DegenerateDataWarning(PLEWarning):
    """A fit hit a degenerate case (e.g. a collapsed mixture component) and was repaired."""


class NoMLEWarning(PLEWarning):
    """The maximum-likelihood estimate does not exist (it runs to the edge of the domain)."""
