"""Link functions of GLMs as the batched fitter needs them.

Each link gives the mean ``mu = g^{-1}(eta)`` and its first two derivatives
in ``eta`` (Fisher scoring uses the first, the Jeffreys penalty the second),
and ``g(mu)`` for starting values. All are elementwise numpy functions on
arrays of any shape.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["Link", "LINKS", "link_from_statsmodels"]


class Link:
    """A link function ``g`` with ``eta = g(mu)``."""

    name = ""

    def __call__(self, mu):
        raise NotImplementedError

    def inverse(self, eta):
        raise NotImplementedError

    def derivatives(self, eta):
        """``(mu, dmu/deta, d2mu/deta2)`` at ``eta``."""
        raise NotImplementedError


class Identity(Link):
    name = "identity"

    def __call__(self, mu):
        return np.asarray(mu, dtype=float)

    def inverse(self, eta):
        return np.asarray(eta, dtype=float)

    def derivatives(self, eta):
        return eta, np.ones_like(eta), np.zeros_like(eta)


class Log(Link):
    name = "log"

    def __call__(self, mu):
        return np.log(mu)

    def inverse(self, eta):
        return np.exp(np.minimum(eta, 700.0))

    def derivatives(self, eta):
        mu = self.inverse(eta)
        return mu, mu, mu


class Logit(Link):
    name = "logit"

    def __call__(self, mu):
        return special.logit(mu)

    def inverse(self, eta):
        return special.expit(eta)

    def derivatives(self, eta):
        mu = special.expit(eta)
        d1 = mu * (1.0 - mu)
        return mu, d1, d1 * (1.0 - 2.0 * mu)


class Probit(Link):
    name = "probit"

    def __call__(self, mu):
        return special.ndtri(mu)

    def inverse(self, eta):
        return special.ndtr(eta)

    def derivatives(self, eta):
        d1 = np.exp(-0.5 * eta * eta) / np.sqrt(2.0 * np.pi)
        return special.ndtr(eta), d1, -eta * d1


class CLogLog(Link):
    name = "cloglog"

    def __call__(self, mu):
        return np.log(-np.log1p(-mu))

    def inverse(self, eta):
        return -np.expm1(-np.exp(np.minimum(eta, 700.0)))

    def derivatives(self, eta):
        e = np.exp(np.minimum(eta, 700.0))
        d1 = e * np.exp(-e)
        return -np.expm1(-e), d1, d1 * (1.0 - e)


class LogLog(Link):
    name = "loglog"

    def __call__(self, mu):
        return -np.log(-np.log(mu))

    def inverse(self, eta):
        return np.exp(-np.exp(np.minimum(-eta, 700.0)))

    def derivatives(self, eta):
        e = np.exp(np.minimum(-eta, 700.0))
        mu = np.exp(-e)
        d1 = e * mu
        return mu, d1, d1 * (e - 1.0)


class Power(Link):
    """``eta = mu**power`` (statsmodels' Power link; ``power != 0``)."""

    def __init__(self, power):
        self.power = float(power)
        self.name = {1.0: "identity", -1.0: "inverse_power", -2.0: "inverse_squared",
                     0.5: "sqrt"}.get(self.power, f"power({self.power:g})")

    def __call__(self, mu):
        return np.power(mu, self.power)

    def inverse(self, eta):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.power(eta, 1.0 / self.power)

    def derivatives(self, eta):
        a = 1.0 / self.power
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = np.power(eta, a)
            d1 = a * np.power(eta, a - 1.0)
            d2 = a * (a - 1.0) * np.power(eta, a - 2.0)
        return mu, d1, d2


LINKS = {cls.name: cls for cls in (Identity, Log, Logit, Probit, CLogLog, LogLog)}


def link_from_statsmodels(link):
    """The :class:`Link` of a statsmodels link instance (ValueError if unsupported)."""
    name = type(link).__name__
    table = {"Identity": Identity, "Log": Log, "Logit": Logit, "Probit": Probit,
             "CLogLog": CLogLog, "LogLog": LogLog}
    if name in table:
        return table[name]()
    if hasattr(link, "power") and name in ("Power", "InversePower", "InverseSquared", "Sqrt"):
        if float(link.power) == 1.0:
            return Identity()
        return Power(link.power)
    raise ValueError(
        f"the {name} link is not supported; supported links: identity, log, logit, probit, "
        "cloglog, loglog and the power links (inverse_power, inverse_squared, sqrt).")
