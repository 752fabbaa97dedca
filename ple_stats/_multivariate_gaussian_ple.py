"""The data-driven PLE of the multivariate Gaussian: bootstrap and penalised fits.

:meth:`MultivariateGaussian.fit_ple <ple_stats.MultivariateGaussian.fit_ple>` with
``method="bootstrap"`` or ``penalty=`` lands here: the simulated PLE equation on a chunk
of data sets (:class:`_MVNBinding`, with common random numbers), the family's adapter to
the PLE engine (:class:`_MVNModel`), the bootstrap root (:func:`_fit_bootstrap`, the
engine's ``solve_chunks``) and the penalised simplex search (:func:`_fit_penalized`). The
family itself (validation, densities, closed-form fits) is
:mod:`ple_stats._multivariate_gaussian`, which imports this module lazily.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ._engine import BindingModel, chunk_slices, solve_chunks, unbox, warn_not_converged
from ._multivariate_gaussian import _LOG_2PI, MultivariateGaussian
from ._result import Refit
from ._solver import solve_batched
from ._warnings import ConvergenceWarning


# ---------------------------------------------------------------------------- data-driven PLE
# The family's adapter to the PLE engine is :class:`_MVNModel`; the simulated statistic of a
# chunk (with its base draws summarised once) is :class:`_MVNBinding`, which the penalised
# search uses directly.


class _MVNBinding:
    """The simulated PLE equation of the multivariate Gaussian on one chunk of data sets.

    ``theta`` (the reported scalars): the free ``mean[i]`` then the free ``cov[i,j]``,
    ``i <= j``; ``u`` (the root finder's): the free mean, then the lower Cholesky factor
    of the covariance with its diagonal logged. The statistic ``T`` is the MLE in the
    ``theta`` order. With common random numbers ``z`` (``(m, size, n, d)``), ``Y_j = mu +
    L z_j`` and ``T`` is equivariant: ``x_bar(Y_j) = mu + L z_bar_j`` and
    ``Sigma_hat(Y_j) = L S_j L^T`` with ``S_j`` the MLE scatter of ``z_j`` (about its mean,
    or about 0 when the mean is fixed), so the synthetic sets are fitted through the
    ``m`` precomputed ``(z_bar_j, S_j)`` -- the same estimator, in one batched pass.
    ``z=None`` builds the data's part only (MLE, scale, coordinates).
    """

    def __init__(self, x, fixed, z=None):
        self.n, self.d = x.shape[-2:]
        self.fixed = fixed
        self.mean_free = "mean" not in fixed
        self.cov_free = "cov" not in fixed
        d = self.d
        self.rows, self.cols = np.triu_indices(d)  # theta's order of cov entries
        self.lrows, self.lcols = np.tril_indices(d)  # u's order of Cholesky entries
        self.diag = self.lrows == self.lcols
        mle_mean = x.mean(axis=-2) if self.mean_free else fixed["mean"]
        dev = x - mle_mean[..., None, :]
        self.mle_mean = mle_mean
        self.mle_cov = fixed["cov"] if not self.cov_free else _scatter(dev) / self.n
        self.target = self.flat(self.mle_mean, self.mle_cov)
        sd = np.sqrt(np.diagonal(self.mle_cov, axis1=-2, axis2=-1))
        self.scale = self.flat(sd, sd[..., :, None] * sd[..., None, :])
        if not self.cov_free:
            self.fixed_chol = np.linalg.cholesky(fixed["cov"])
        if z is None:  # the data's part only (the engine's model)
            return
        z_bar = z.mean(axis=-2)
        self.z_bar = z_bar  # (m, size, d)
        zc = z - z_bar[..., None, :] if self.mean_free else z
        self.z_scatter = _scatter(zc) / self.n  # (m, size, d, d)
        self.z_bar_mean = z_bar.mean(axis=0)
        self.z_scatter_mean = self.z_scatter.mean(axis=0)

    # -- coordinates ---------------------------------------------------------------
    def flat(self, mean, cov):
        parts = ([mean] if self.mean_free else []) + (
            [cov[..., self.rows, self.cols]] if self.cov_free else [])
        return np.concatenate(parts, axis=-1)

    def unflat(self, theta):
        d, k = self.d, 0
        mean = self.fixed.get("mean")
        if self.mean_free:
            mean, k = theta[..., :d], d
        cov = self.fixed.get("cov")
        if self.cov_free:
            cov = np.empty(theta.shape[:-1] + (d, d))
            cov[..., self.rows, self.cols] = theta[..., k:]
            cov[..., self.cols, self.rows] = theta[..., k:]
        return mean, cov

    def from_u(self, u):
        """``u`` to ``(mean, L)``."""
        d, k = self.d, 0
        mean = self.fixed.get("mean")
        if self.mean_free:
            mean, k = u[..., :d], d
        if self.cov_free:
            vals = u[..., k:]
            chol = np.zeros(u.shape[:-1] + (d, d))
            chol[..., self.lrows, self.lcols] = np.where(self.diag, np.exp(vals), vals)
        else:
            chol = self.fixed_chol
        return mean, chol

    def to_u(self, mean, cov):
        parts = [mean] if self.mean_free else []
        if self.cov_free:
            vals = np.linalg.cholesky(cov)[..., self.lrows, self.lcols]
            vals[..., self.diag] = np.log(vals[..., self.diag])
            parts.append(vals)
        return np.concatenate(parts, axis=-1)

    def theta_jacobian(self, u):
        """d theta / d u, shape ``(size, k, k)`` (analytic)."""
        mean, chol = self.from_u(u)
        size, k = u.shape
        jac = np.zeros((size, k, k))
        off = 0
        if self.mean_free:
            jac[:, :self.d, :self.d] = np.eye(self.d)
            off = self.d
        if self.cov_free:
            for c, (a, b) in enumerate(zip(self.lrows, self.lcols)):
                dl = np.zeros((size, self.d, self.d))
                dl[:, a, b] = chol[:, a, a] if a == b else 1.0
                dcov = dl @ np.swapaxes(chol, -1, -2)
                dcov = dcov + np.swapaxes(dcov, -1, -2)
                jac[:, off:, off + c] = dcov[:, self.rows, self.cols]
        return jac

    # -- the simulated statistic -----------------------------------------------------
    def binding(self, mean, chol):
        """b_m at ``(mean, L)``: the mean of T over the m synthetic sets, ``(size, k)``."""
        sim_mean = (mean + (chol @ self.z_bar_mean[..., None])[..., 0]
                    if self.mean_free else mean)
        sim_cov = chol @ self.z_scatter_mean @ np.swapaxes(chol, -1, -2)
        return self.flat(sim_mean, sim_cov)

    def simulate(self, mean, chol):
        """T of every synthetic set, ``(m, size, k)``."""
        sim_mean = (mean + (chol @ self.z_bar[..., None])[..., 0]
                    if self.mean_free else np.broadcast_to(mean, self.z_bar.shape))
        sim_cov = chol @ self.z_scatter @ np.swapaxes(chol, -1, -2)
        return self.flat(sim_mean, sim_cov)

    def residual(self, u):
        with np.errstate(all="ignore"):
            res = (self.binding(*self.from_u(u)) - self.target) / self.scale
        return np.where(np.isfinite(res), res, 1e300)

    def nll_per_obs(self, x_bar, mle_cov_about_xbar, mean, chol):
        """NLL(x; mean, L L^T) / n from the data's mean and MLE scatter (about x_bar)."""
        dev = x_bar - mean
        m2 = mle_cov_about_xbar + dev[..., :, None] * dev[..., None, :]
        cov = chol @ np.swapaxes(chol, -1, -2)
        with np.errstate(all="ignore"):
            tr = np.trace(np.linalg.solve(cov, m2), axis1=-2, axis2=-1)
            logdet = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
        return 0.5 * tr + logdet + 0.5 * self.d * _LOG_2PI


def _scatter(dev):
    s = np.ascontiguousarray(np.swapaxes(dev, -1, -2)) @ dev
    return 0.5 * (s + np.swapaxes(s, -1, -2))


def _flatten_fit(x, fixed):
    n, d = x.shape[-2:]
    batch = x.shape[:-2]
    size = int(np.prod(batch))
    flat_fixed = {"mean": lambda v: np.reshape(v, (size, d)),
                  "cov": lambda v: np.reshape(v, (size, d, d))}
    return (x.reshape(size, n, d), {k: flat_fixed[k](v) for k, v in fixed.items()},
            batch, size)


def _chunk_problems(x, fixed, m, rng):
    """(slice, problem) per chunk; each chunk's base draws taken from ``rng`` in order
    (the engine's chunks and draws: :class:`_MVNModel`)."""
    size, n, d = x.shape
    for part in chunk_slices(size, m, n * d, cost=1):
        z = rng.standard_normal((m, part.stop - part.start, n, d))
        yield part, _MVNBinding(x[part], {k: v[part] for k, v in fixed.items()}, z)


class _MVNModel(BindingModel):
    """The multivariate Gaussian's adapter to the PLE engine (:mod:`ple_stats._engine`).

    Data sets are the rows of ``x`` (``(size, n, d)``); ``theta`` the free scalars in
    the order of :class:`_MVNBinding` (``mean[i]``, then ``cov[i,j]``, ``i <= j``),
    ``u`` the free mean and the Cholesky factor with its diagonal logged (its
    ``d theta / d u`` is a full matrix), the base draws standard normals ``(m, size,
    n, d)``. The simulated statistic comes from :class:`_MVNSimulator` (the draws
    summarised once per chunk). The binding function is quadratic in ``u``, so the
    Monte Carlo error uses a Jacobian recomputed at the root.
    """

    solver = "smooth"
    jacobian_at_root = True

    def __init__(self, x, fixed):
        self.x, self.fixed = x, fixed
        self.data = _MVNBinding(x, fixed)
        names = MultivariateGaussian._scalar_names(self.data.d)
        d = self.data.d
        self.names = ((names[:d] if self.data.mean_free else ())
                      + (names[d:] if self.data.cov_free else ()))

    def subset(self, index):
        return _MVNModel(self.x[index], {k: v[index] for k, v in self.fixed.items()})

    def draw_base(self, rng, shape):
        return rng.standard_normal(shape)

    def simulator(self, base):
        return _MVNSimulator(_MVNBinding(self.x, self.fixed, base))

    def simulate(self, theta, base):
        return self.simulator(base).simulate(theta)

    # The engine calls these with the model's own data (``subset`` restricts both), so the
    # MLE and the scale computed at construction are reused.
    def target(self, x):
        return self.data.target

    def residual_scale(self, x):
        return self.data.scale

    def to_u(self, theta):
        return self.data.to_u(*self.data.unflat(theta))

    def from_u(self, u):
        mean, chol = self.data.from_u(u)
        return self.data.flat(mean, chol @ np.swapaxes(chol, -1, -2))

    def param_jacobian(self, theta):
        return self.data.theta_jacobian(self.to_u(theta))


class _MVNSimulator:
    """The engine's evaluator of T over the synthetic sets of one chunk (see
    :func:`ple_stats._engine.solve_smooth`): ``simulate`` (every set) and ``binding``
    (their mean, by linearity from the mean summaries of the draws)."""

    def __init__(self, problem):
        self.problem = problem

    def _mean_chol(self, theta):
        p = self.problem
        mean, cov = p.unflat(theta)
        chol = _cholesky_or_nan(cov) if p.cov_free else p.fixed_chol
        return mean, chol

    def simulate(self, theta, idx=None):
        if idx is not None:  # pragma: no cover - the smooth solver asks for every set
            raise NotImplementedError("the multivariate Gaussian is solved by the smooth "
                                      "solver, which simulates every data set")
        return self.problem.simulate(*self._mean_chol(theta))

    def binding(self, theta):
        return self.problem.binding(*self._mean_chol(theta))


def _cholesky_or_nan(cov):
    """Batched lower Cholesky factors, NaN for the matrices that are not positive definite
    (a trial step of the root finder; its residual is then rejected as non-finite)."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        out = np.full(cov.shape, np.nan)
        for i in np.ndindex(cov.shape[:-2]):
            try:
                out[i] = np.linalg.cholesky(cov[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _event_values(problem, values, batch, fill=0.0):
    """Flat values ``(size, k)`` as ``Params`` of arrays of the batch's event shapes."""
    mean, cov = problem.unflat(values)
    size, d = values.shape[0], problem.d
    mean = np.full((size, d), fill) if not problem.mean_free else mean
    cov = np.full((size, d, d), fill) if not problem.cov_free else cov
    return MultivariateGaussian.Params(mean.reshape(batch + (d,)),
                                       cov.reshape(batch + (d, d)))


def _fit_bootstrap(cls, x, fixed, *, m, rng, tol=1e-10, max_iter=50):
    flat_x, flat_fixed, batch, size = _flatten_fit(x, fixed)
    n = x.shape[-2]
    model = _MVNModel(flat_x, flat_fixed)
    out = solve_chunks(model, flat_x, m, rng, tol=tol, max_iter=max_iter, progress=False)
    warn_not_converged(out.converged, "bootstrap PLE of MultivariateGaussian", max_iter,
                       stacklevel=3)
    problem = model.data
    theta = _event_values(problem, out.theta, batch)
    mean = fixed["mean"] if "mean" in fixed else theta.mean
    cov = fixed["cov"] if "cov" in fixed else theta.cov
    info = {
        "estimator": "bootstrap PLE with common random numbers",
        "m": m,
        "residual": unbox(out.residual.reshape(batch)),
        "residuals": _event_values(problem, out.residuals, batch),
        "n_iter": int(out.n_iter),
        "converged": unbox(out.converged.reshape(batch)),
        "mc_se": _event_values(problem, out.mc_se, batch),
        "fixed": tuple(fixed),
    }
    refit = functools.partial(cls.fit_ple, method="bootstrap", m=m,
                              **{k: np.asarray(v) for k, v in fixed.items()})
    return cls._result(mean, cov, n, info, Refit(refit, random=True), "bootstrap PLE")


def _fit_penalized(cls, x, fixed, *, penalty, m, rng, max_iter=5000):
    # (a simplex in k = d + d(d+1)/2 dimensions needs more steps than the scalar
    # families' 2000 to shrink: measured ~3000 at d = 3)
    from ._optimize import nelder_mead_batched

    flat_x, flat_fixed, batch, size = _flatten_fit(x, fixed)
    n, d = x.shape[-2:]
    thetas, gaps, objectives, converged, n_iter = [], [], [], [], 0
    for part, problem in _chunk_problems(flat_x, flat_fixed, m, rng):
        x_bar = flat_x[part].mean(axis=-2)
        cov_xbar = _scatter(flat_x[part] - x_bar[..., None, :]) / n
        u_mle = problem.to_u(problem.mle_mean, problem.mle_cov)
        # The root of the PLE equation (the large-penalty limit) spans the start simplex;
        # the objective uses the same base draws (common random numbers).
        u_root = solve_batched(problem.residual, u_mle, tol=1e-10, max_iter=50).u
        k = u_mle.shape[-1]

        def parts(u, index):
            sub = _Subset(problem, index)
            mean, chol = sub.from_u(u)
            return sub, mean, chol

        def objective(u, index):
            sub, mean, chol = parts(u, index)
            with np.errstate(all="ignore"):
                nll = problem.nll_per_obs(x_bar[index], cov_xbar[index], mean, chol)
                gap = np.abs(sub.binding(mean, chol) - problem.target[index]).sum(axis=-1)
            return nll + penalty * gap if penalty else nll

        # The L1 penalty has a kink on each of the k equations, and a simplex search in
        # k = d + d(d+1)/2 dimensions can stall on them: the search is run from the MLE
        # (its simplex spanning the root) and from the root (spanning the MLE), the better
        # end kept, and restarted once from there with a fresh simplex.
        def simplex_at(centre, other):
            simplex = np.repeat(centre[:, None, :], k + 1, axis=1)
            for j in range(k):
                delta = other[:, j] - centre[:, j]
                small = np.abs(delta) < 1e-3 * (1.0 + np.abs(centre[:, j]))
                simplex[:, j + 1, j] += np.where(small, 0.05 * (1.0 + np.abs(centre[:, j])),
                                                 delta)
            return simplex

        everyone = np.arange(len(u_mle))
        runs = [nelder_mead_batched(objective, simplex_at(u_mle, u_root), max_iter=max_iter)]
        if penalty:
            runs.append(nelder_mead_batched(objective, simplex_at(u_root, u_mle),
                                            max_iter=max_iter))
        best = runs[0].x
        if len(runs) == 2:
            best = np.where((runs[1].fun < runs[0].fun)[:, None], runs[1].x, runs[0].x)
            probe = best + 0.01 * (1.0 + np.abs(best))
            res = nelder_mead_batched(objective, simplex_at(best, probe), max_iter=max_iter)
            keep = objective(best, everyone) < res.fun
            res.x[keep] = best[keep]
            res.fun = np.where(keep, objective(best, everyone), res.fun)
            res.converged = res.converged & runs[0].converged & runs[1].converged
            res.n_iter = max(res.n_iter, runs[0].n_iter, runs[1].n_iter)
        else:
            res = runs[0]
        mean, chol = problem.from_u(res.x)
        thetas.append(problem.flat(mean, chol @ np.swapaxes(chol, -1, -2)))
        gaps.append(problem.binding(mean, chol) - problem.target)
        objectives.append(res.fun)
        converged.append(res.converged)
        n_iter = max(n_iter, res.n_iter)
    converged = np.concatenate(converged)
    if not converged.all():
        warnings.warn(
            "the penalised PLE of MultivariateGaussian did not converge for "
            f"{int(np.count_nonzero(~converged))} of {size} data set(s) within {max_iter} "
            "iterations; see res.info['converged'].", ConvergenceWarning, stacklevel=3)
    theta = _event_values(problem, np.concatenate(thetas), batch)
    gap = _event_values(problem, np.concatenate(gaps), batch)
    mean = fixed["mean"] if "mean" in fixed else theta.mean
    cov = fixed["cov"] if "cov" in fixed else theta.cov
    info = {
        "estimator": "penalised PLE (NLL/n + penalty * L1 gap), common random numbers",
        "penalty": penalty,
        "m": m,
        "objective": unbox(np.concatenate(objectives).reshape(batch)),
        "gap": {name: getattr(gap, name) for name in cls._param_names if name not in fixed},
        "n_iter": int(n_iter),
        "converged": unbox(converged.reshape(batch)),
        "fixed": tuple(fixed),
    }
    refit = functools.partial(cls.fit_ple, penalty=penalty, m=m,
                              **{k: np.asarray(v) for k, v in fixed.items()})
    return cls._result(mean, cov, n, info, Refit(refit, random=True), "penalised PLE")


class _Subset:
    """A chunk's problem restricted to the data sets ``index`` (for the optimiser)."""

    def __init__(self, problem, index):
        self.p, self.index = problem, index

    def from_u(self, u):
        p = self.p
        mean, chol = p.from_u(u)
        if not p.mean_free:
            mean = p.fixed["mean"][self.index]
        if not p.cov_free:
            chol = p.fixed_chol[self.index]
        return mean, chol

    def binding(self, mean, chol):
        p, i = self.p, self.index
        sim_mean = (mean + (chol @ p.z_bar_mean[i][..., None])[..., 0]
                    if p.mean_free else mean)
        sim_cov = chol @ p.z_scatter_mean[i] @ np.swapaxes(chol, -1, -2)
        return p.flat(sim_mean, sim_cov)
