"""Exact detection of a non-existent maximum-likelihood estimate by linear programming.

For binary/binomial responses the MLE is infinite exactly when the data are
(quasi-)completely separated (Albert and Anderson 1984): some direction
``d != 0`` has ``x_i'd >= 0`` where every trial succeeded, ``x_i'd <= 0``
where every trial failed and ``x_i'd = 0`` elsewhere. For counts (Poisson,
negative binomial with a log-type link) the condition is ``x_i'd <= 0``
where ``y_i = 0`` and ``x_i'd = 0`` where ``y_i > 0``. Moving along ``d``
never lowers the likelihood, so the coefficients with ``d_j != 0`` run to
infinity. The linear programs (Konis 2007) find every such coefficient.
"""

from __future__ import annotations

import numpy as np

__all__ = ["infinite_coefficients"]


def _sign_rows(y, response):
    """``+1`` / ``-1`` for rows constrained to one side, ``0`` for equality rows."""
    if response.name == "Binomial":
        return np.where(y >= 1.0, 1.0, np.where(y <= 0.0, -1.0, 0.0))
    if response.name in ("Poisson", "NegativeBinomial"):
        return np.where(y <= 0.0, -1.0, 0.0)
    return None


def infinite_coefficients(X, y, response, link_name="logit"):
    """Indices of the coefficients whose MLE is infinite (empty when the MLE exists).

    For a ``Binomial`` response any link with range (0, 1) behaves alike; for
    counts the link must map the real line onto (0, inf) (log).
    """
    from scipy.optimize import linprog

    sign = _sign_rows(y, response)
    if sign is None or (response.name != "Binomial" and link_name != "log"):
        return np.array([], dtype=int)
    p = X.shape[1]
    ineq = sign != 0
    # s_i x_i'd >= 0  <=>  -s_i x_i'd <= 0 ; equality rows: x_i'd = 0.
    A_ub = -(sign[ineq, None] * X[ineq]) if ineq.any() else None
    b_ub = np.zeros(int(ineq.sum())) if ineq.any() else None
    A_eq = X[~ineq] if (~ineq).any() else None
    b_eq = np.zeros(int((~ineq).sum())) if (~ineq).any() else None
    bounds = [(-1.0, 1.0)] * p
    found = set()
    for j in range(p):
        for direction in (1.0, -1.0):
            if j in found:
                continue
            c = np.zeros(p)
            c[j] = -direction  # maximise direction * d_j
            res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                          method="highs")
            if res.status == 0 and -res.fun > 1e-7:
                d = res.x
                # Only a direction that moves the linear predictor separates the data.
                if np.max(np.abs(X @ d)) > 1e-7:
                    found.update(np.flatnonzero(np.abs(d) > 1e-7).tolist())
    return np.array(sorted(found), dtype=int)
