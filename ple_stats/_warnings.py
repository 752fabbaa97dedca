"""Warning and error classes of ple_stats: soft problems are reported, never silenced."""

__all__ = ["PLEWarning", "ConvergenceWarning", "DegenerateDataWarning", "NoMLEWarning",
           "SeparationWarning", "DegenerateDataError"]


class PLEWarning(UserWarning):
    """Base class of the warnings that ple_stats issues."""


class ConvergenceWarning(PLEWarning):
    """An iterative solver (root finder, EM, optimiser) stopped before converging."""


class DegenerateDataWarning(PLEWarning):
    """A fit hit a degenerate case (e.g. a collapsed mixture component) and was repaired."""


class NoMLEWarning(PLEWarning):
    """The maximum-likelihood estimate does not exist (it runs to the edge of the domain)."""


class SeparationWarning(NoMLEWarning):
    """A regression's maximum-likelihood estimate is infinite: the data are separated.

    (Quasi-)complete separation of binary data, or counts that are zero
    wherever a covariate direction lowers the mean. The warning names the
    coefficients that run to infinity.
    """


class DegenerateDataError(ValueError):
    """The data are degenerate for the estimator (e.g. all observations equal): no fit exists.

    A ``ValueError``, so existing handlers keep working; the simulators catch
    this class (and only it) to record a run as collapsed.
    """
