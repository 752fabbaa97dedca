"""Data-driven PLE (the paper's eq. 5) for the parametric families.

The binding function ``b(theta) = E_theta[T(Y)]`` is replaced by its Monte
Carlo estimate over ``m`` synthetic data sets of size ``n``,
``b_m(theta) = mean_j g(T(Y_j(theta)))``, and the PLE equation
``b_m(theta) = g(T(x))`` is solved for the free parameters of every data set
of the batch at once.

Continuous families use common random numbers: one fixed array of base
draws per data set, mapped to samples by the family's ``_from_base``
(quantile function or location-scale transform), so ``b_m`` is a smooth
deterministic function of ``theta`` and :func:`solve_batched` (quasi-Newton)
converges to machine precision. The unknowns are kept inside their domains by
solving in unconstrained coordinates (log for positive parameters).

Discrete families (Geometric) have a step-function ``b_m`` under common random
numbers, so derivatives are useless; but ``b_m`` is monotone in the single
parameter and its steps are tiny (about ``1/(m n)`` of the range) next to its
Monte Carlo error. For them the equation is solved by a bracketed
root finder (Illinois) on the same common random numbers, which converges to
the crossing point; the Monte Carlo error uses the slope of ``b_m`` over a
window much wider than its steps.

The solvers are those of the PLE engine (:mod:`ple_stats._engine`), shared
with scipy distributions; this module is the families' adapter to it
(:class:`BindingProblem`).

The engine evaluates ``b_m`` through :meth:`BindingProblem.simulator`, which
computes the same floating-point numbers as mapping every base draw and
applying the MLE, with less work where the family's structure allows it:
the Uniform's MLE of the synthetic sets from the per-set minimum and maximum
of the base draws (computed once; the map is monotone, so the extremes map to
the extremes, bit for bit), the Geometric's sums of integer-valued draws from
the few draws that can still change inside the root's bracket (integer sums
are exact in any order), and no second evaluation at the same ``theta`` for any
family. ``tests/test_bootstrap.py`` compares each with the plain evaluation.
"""

from __future__ import annotations

import functools

import numpy as np

from ._engine import (BindingModel, chunk_slices, engine_info, solve_chunks,
                      warn_not_converged)
from ._result import Refit

__all__ = ["fit_bootstrap", "BindingProblem", "CachedSimulator", "SummarySimulator",
           "FloorSumSimulator", "chunk_slices", "flatten_batch"]


class BindingProblem(BindingModel):
    """The simulated PLE equation of one family on one chunk of data sets.

    The families' adapter to the PLE engine: base draws and the map to data are
    the family's ``_draw_base``/``_from_base``, the estimator ``T`` its
    closed-form ``_mle`` (through the family's statistic transform ``g``), the
    coordinates its parameter constraints.

    Parameters
    ----------
    cls : Distribution subclass
    fixed : dict of name -> ndarray of the chunk's batch shape
    options : dict
        The family's ``fit_ple`` options (e.g. ``parametrization``).
    n : int
        Sample size of the synthetic data sets.
    """

    def __init__(self, cls, fixed, options, n):
        self.cls = cls
        self.fixed = fixed
        self.n = n
        self.free = cls._free_names(fixed)
        self.names = self.free
        self.constraints = [cls._constraints[name] for name in self.free]
        self.stat_transform = cls._ple_statistic_transform(options)
        self.solver = "monotone" if cls._discrete else "smooth"
        if cls._discrete:
            self.upper = self.constraints[0].upper
            self.lower_clip = 1e-300

    def statistic(self, data, fixed):
        """g(T(data)) for the free parameters, shape ``(*data.shape[:-1], k)``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            mle = self.cls._mle(data, fixed)
        return self.stack(mle)

    def stack(self, mle):
        """g of the free parameters of an MLE (a dict of arrays), stacked on a last axis."""
        return np.stack([self.stat_transform.get(name, _identity)(np.asarray(mle[name]))
                         for name in self.free], axis=-1)

    def params(self, theta):
        """All parameters (fixed and free) from the free values ``theta[..., k]``."""
        values = dict(self.fixed)
        for j, name in enumerate(self.free):
            values[name] = theta[..., j]
        return [values[name] for name in self.cls._param_names]

    # -- the engine's protocol ---------------------------------------------------------
    def draw_base(self, rng, shape):
        return self.cls._draw_base(rng, shape)

    def generate(self, theta, base):
        params = [np.asarray(p)[None, ..., None] for p in self.params(theta)]
        return self.cls._from_base(base, *params)

    def estimate(self, data):
        fixed = {k: np.broadcast_to(v, data.shape[:-1]) for k, v in self.fixed.items()}
        return self.statistic(data, fixed)

    def simulate(self, theta, base):
        """g(T(Y_j(theta))) for synthetic sets ``Y_j`` built from ``base`` (m, *batch, n)."""
        return self.estimate(self.generate(theta, base))

    def simulator(self, base):
        """The engine's evaluator of :meth:`simulate` on the fixed draws ``base``.

        The same numbers, bit for bit, computed with less work where the family
        allows it: from a summary of the draws (:class:`SummarySimulator`, the
        Uniform), from the draws that can still change the statistic inside
        the root's bracket (:class:`FloorSumSimulator`, the Geometric), and
        never twice at the same ``theta`` (:class:`CachedSimulator`).
        """
        if hasattr(self.cls, "_mle_from_base_summary"):
            return SummarySimulator(self, base)
        if hasattr(self.cls, "_mle_from_sum") and hasattr(self.cls, "_base_scale"):
            return FloorSumSimulator(self, base)
        return CachedSimulator(self, base)

    def target(self, x):
        return self.statistic(x, self.fixed)

    def start(self, x):
        return target_to_theta_start(self, x)

    def subset(self, index):
        """The same problem restricted to the data sets ``index`` of the batch."""
        sub = object.__new__(BindingProblem)
        sub.__dict__.update(self.__dict__)
        sub.fixed = {name: value[index] for name, value in self.fixed.items()}
        return sub

    def to_u(self, theta):
        return np.stack([c.to_unconstrained(theta[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def from_u(self, u):
        return np.stack([c.from_unconstrained(u[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def param_jacobian(self, theta):
        return np.stack([c.jacobian(theta[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def stat_coords(self, values):
        """Coordinates in which the residual is measured (log for positive statistics)."""
        return np.stack([c.to_unconstrained(values[..., j]) if c.transform == "log"
                         else values[..., j] for j, c in enumerate(self.constraints)], axis=-1)

    def stat_coords_derivative(self, values):
        return np.stack([1.0 / values[..., j] if c.transform == "log"
                         else np.ones_like(values[..., j])
                         for j, c in enumerate(self.constraints)], axis=-1)

    def residual_scale(self, x):
        # Residuals of real-valued statistics are scaled by the data's range.
        spread = (x.max(axis=-1) - x.min(axis=-1))[:, None]
        return np.where([c.transform == "log" for c in self.constraints], 1.0,
                        np.where(spread > 0, spread, 1.0))

    def bracket(self, target, f):
        """Bracket of the monotone solver: (0, upper] for a parameter such as ``p``."""
        upper = self.upper
        size = target.shape[0]
        hi = np.full(size, upper)
        f_hi = f(hi)  # >= 0: the statistic cannot exceed its value at the upper end
        lo = 0.5 * np.minimum(target, upper)
        f_lo = f(lo)
        for _ in range(200):
            bad = f_lo > 0
            if not bad.any():
                break
            lo = np.where(bad, 0.5 * lo, lo)
            f_lo = np.where(bad, f(lo), f_lo)
        exact = f_hi <= 0  # the statistic is at its maximum: the root is the upper end
        return lo, hi, f_lo, f_hi, exact, np.full(size, upper)


def _identity(value):
    return value


def _same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype == np.float64 and np.array_equal(
        a.view(np.int64), b.view(np.int64))


class CachedSimulator:
    """``problem.simulate(theta, base)`` for the engine, remembering its last few results.

    The engine evaluates the simulated statistics again at the root it found,
    where the root finder has already evaluated them (and, for the bracketed
    solver, twice more): a result is reused when ``theta`` has the same bits.
    The reused arrays are read-only.

    ``simulate(theta, idx)`` evaluates the data sets ``idx`` of the chunk
    (``None``: all of them); only whole-chunk results are remembered.
    """

    #: whole-chunk results remembered (at most, and in all no more values than ``base``)
    keep = 4

    def __init__(self, problem, base):
        self.problem, self.base = problem, base
        self._memory = []

    def simulate(self, theta, idx=None):
        if idx is not None:
            return self.compute(theta, idx)
        for known, sims in self._memory:
            if _same_bits(theta, known):
                return sims
        sims = self.compute(theta, None)
        sims.flags.writeable = False
        memory, held = [(np.array(theta), sims)], sims.size
        for entry in self._memory[:self.keep - 1]:
            held += entry[1].size
            if held > self.base.size:
                break
            memory.append(entry)
        self._memory = memory
        return sims

    def compute(self, theta, idx):
        if idx is None:
            return self.problem.simulate(theta, self.base)
        return self.problem.subset(idx).simulate(theta, self.base[:, idx])


class SummarySimulator(CachedSimulator):
    """For a family whose MLE of the synthetic sets follows from a summary of the base draws.

    The family gives ``_base_summary(base)`` (e.g. the Uniform's per-set
    minimum and maximum of the uniforms, computed once) and
    ``_mle_from_base_summary(summary, *params)``, which returns the MLE of
    ``_from_base(base, *params)`` bit for bit, or None where it cannot (then
    every draw is mapped, as :meth:`BindingProblem.simulate` does).
    """

    def __init__(self, problem, base):
        super().__init__(problem, base)
        self.summary = problem.cls._base_summary(base)

    def compute(self, theta, idx):
        problem = self.problem
        if idx is not None:
            return super().compute(theta, idx)
        params = [np.asarray(p)[None, ..., None] for p in problem.params(theta)]
        with np.errstate(over="ignore", invalid="ignore"):
            mle = problem.cls._mle_from_base_summary(self.summary, *params)
        if mle is None:
            return super().compute(theta, idx)
        return problem.stack(mle)


class FloorSumSimulator(CachedSimulator):
    """For a family whose synthetic data are ``1 + floor(E / lam(theta))`` and whose MLE
    depends on them through their sum only (the Geometric: ``lam = -log(1 - p)``).

    The sum of a synthetic set, ``n + sum_i floor(E_i / lam)``, is a sum of
    integers, exact in floating point below ``2**53`` in any order; so it can be
    assembled from parts and still be the sum the family's own code computes,
    bit for bit. The bracketed root finder evaluates each data set many times
    inside a shrinking bracket ``[lo, hi]`` of ``p``; there ``floor(E_i / lam)`` lies
    between its values at the ends (division is correctly rounded, so monotone in
    ``lam``), and for almost every draw those are equal. Once a data set's bracket
    is narrow (relative width at most ``window``), its draws are split once into
    those fixed inside the bracket (summed once per synthetic set) and the few
    that are not, and each further evaluation inside the bracket divides only
    those; the split is refined as the bracket shrinks (by ``refine``). The window
    is kept in ``lam`` as computed at its ends, and an evaluation uses it only when
    its own computed ``lam`` lies inside. An evaluation elsewhere maps every draw of
    its data set (with the sum taken as a matrix product, exact for integers). Where a sum could reach ``2**52``
    (``p`` near 0) the family's own arithmetic is used.

    ``narrow(idx, lo, hi)`` is the solver's report of the brackets of the data
    sets ``idx``.
    """

    #: a data set's draws are split once its bracket's relative width is at most this
    window = 0.05
    #: ... and split again when the bracket is at most this fraction of the window
    refine = 0.25
    #: draws per block of the quotients computed at once
    block = 2**15

    def __init__(self, problem, base):
        super().__init__(problem, base)
        m, size, n = base.shape
        self.m, self.size, self.n = m, size, n
        self.ones = np.ones(n)
        # quotients below 2**51 / n keep every sum of n of them (plus n) below 2**53: exact
        e_max = float(np.max(base)) if base.size else 0.0
        self.lam_min = e_max * n * 2.0**-51
        self.windowed = np.zeros(size, dtype=bool)  # the data sets whose draws are split
        self.w_lo = np.full(size, np.inf)  # ... their windows in lam (empty for the others)
        self.w_hi = np.full(size, -np.inf)
        self.fixed_sum = np.zeros((m, size))  # sum of the quotients fixed in the window
        self.act_e = np.empty(0)  # the draws that are not fixed, flat
        self.act_col = np.empty(0, dtype=np.intp)  # ... their data set
        self.act_pos = np.empty(0, dtype=np.intp)  # ... their synthetic set j * size + col

    def scale(self, theta):
        """``lam`` of the data sets, computed as the family's ``_from_base`` does."""
        return self.problem.cls._base_scale(np.asarray(theta[..., 0])[None, :, None])[0, :, 0]

    def compute(self, theta, idx):
        cols = np.arange(self.size) if idx is None else np.asarray(idx)
        lam = self.scale(theta)
        if not np.all(lam > self.lam_min):  # sums not exact (or nan): the family's own code
            return super().compute(theta, idx)
        inside = (lam >= self.w_lo[cols]) & (lam <= self.w_hi[cols])
        # The memory layout of the family's own result, which decides how the engine's
        # mean over the synthetic sets is summed: C order for the whole chunk; for the
        # data sets idx that of base[:, idx] (numpy lays the indexed axis outermost).
        total = np.empty((self.m, cols.size)) if idx is None else np.empty((cols.size, self.m)).T
        if inside.all():
            total[...] = self._window_sums(cols, lam)
        else:
            if inside.any():
                total[:, inside] = self._window_sums(cols[inside], lam[inside])
            total[:, ~inside] = self._mapped_sums(cols[~inside], lam[~inside])
        total += self.n
        return self.problem.stack(self.problem.cls._mle_from_sum(total, self.n))

    # -- sums of the quotients floor(E / lam) of the synthetic sets --------------------
    def _layout(self, cols):
        """The draws of the data sets ``cols``, a function broadcasting their ``lam`` over
        those draws, and the columns to keep: the whole chunk (with quotients 0 for the
        other data sets) where that is cheaper than copying the draws of ``cols``."""
        if 2 * cols.size > self.size:
            def spread(lam):
                full = np.full(self.size, np.inf)
                full[cols] = lam
                return full[None, :, None]
            return self.base, spread, cols, True
        return np.take(self.base, cols, axis=1), lambda lam: lam[None, :, None], slice(None), False

    def _blocks(self, e):
        """Slices of the synthetic sets of ``e`` holding about ``block`` draws each: the
        quotients of a block stay in cache between the division, the floor and the sum."""
        step = max(1, self.block // (e.shape[1] * self.n))
        return [slice(j, min(j + step, e.shape[0])) for j in range(0, e.shape[0], step)]

    def _sum_last(self, q):
        """Sums over the last axis of quotients ``q``: exact (integers), so as a matrix product."""
        return (q.reshape(-1, self.n) @ self.ones).reshape(q.shape[:2])

    def _mapped_sums(self, cols, lam):
        out = np.zeros((self.m, cols.size))
        live = lam < np.inf  # lam = inf (p = 1): every quotient is 0
        if not live.any():
            return out
        e, spread, keep, _ = self._layout(cols[live])
        lam_b = spread(lam[live])
        sums = np.empty(e.shape[:2])
        blocks = self._blocks(e)
        work = np.empty((blocks[0].stop,) + e.shape[1:])
        for blk in blocks:
            q = np.divide(e[blk], lam_b, out=work[:blk.stop - blk.start])
            np.floor(q, out=q)
            sums[blk] = self._sum_last(q)
        out[:, live] = sums[:, keep]
        return out

    def _window_sums(self, cols, lam):
        m, size = self.m, self.size
        lam_all = np.full(size, np.nan)
        lam_all[cols] = lam
        chosen = np.zeros(size, dtype=bool)
        chosen[cols] = True
        pick = chosen[self.act_col]  # the undecided draws of the data sets cols
        if pick.all():
            e, col, pos = self.act_e, self.act_col, self.act_pos
        else:
            e, col, pos = self.act_e[pick], self.act_col[pick], self.act_pos[pick]
        q = np.floor(e / lam_all[col])
        extra = np.bincount(pos, weights=q, minlength=m * size).reshape(m, size)
        return self.fixed_sum[:, cols] + extra[:, cols]

    # -- the windows --------------------------------------------------------------------
    def narrow(self, idx, lo, hi):
        """The brackets ``[lo, hi]`` (of ``p``) of the data sets ``idx`` have shrunk."""
        with np.errstate(invalid="ignore", divide="ignore"):
            width = (hi - lo) / hi
        lam_lo, lam_hi = self.scale(lo[:, None]), self.scale(hi[:, None])
        has = self.windowed[idx]
        new = ~has & (width <= self.window) & (lam_lo > self.lam_min) & (lam_lo <= lam_hi)
        if new.any():
            self._split(idx[new], lam_lo[new], lam_hi[new])
        # a window only shrinks (inside the old one, the fixed draws stay fixed)
        w_lo, w_hi = self.w_lo[idx], self.w_hi[idx]
        lam_lo, lam_hi = np.maximum(lam_lo, w_lo), np.minimum(lam_hi, w_hi)
        old = has & (lam_lo <= lam_hi) & (lam_hi - lam_lo <= self.refine * (w_hi - w_lo))
        if old.any():
            self._refine(idx[old], lam_lo[old], lam_hi[old])

    def _split(self, cols, lam_lo, lam_hi):
        """Split the draws of the data sets ``cols`` for the window ``[lam_lo, lam_hi]``."""
        e, spread, keep, whole = self._layout(cols)
        lo_b, hi_b = spread(lam_lo), spread(lam_hi)
        n, width = self.n, e.shape[1]
        fixed = np.empty(e.shape[:2])
        values, where = [], []
        for blk in self._blocks(e):
            part = e[blk]
            q_most = np.floor(part / lo_b)  # the largest quotients, at the smallest lam
            q_least = np.floor(part / hi_b)
            undecided = q_most != q_least
            q_least[undecided] = 0.0
            fixed[blk] = self._sum_last(q_least)
            flat = np.flatnonzero(undecided)
            values.append(part.reshape(-1)[flat])
            where.append(flat + blk.start * width * n)
        self.fixed_sum[:, cols] = fixed[:, keep]
        row = np.concatenate(where) // n  # j * width + column of e
        col = row % width if whole else cols[row % width]
        self.act_e = np.concatenate([self.act_e] + values)
        self.act_col = np.concatenate([self.act_col, col])
        self.act_pos = np.concatenate([self.act_pos, (row // width) * self.size + col])
        self.w_lo[cols], self.w_hi[cols] = lam_lo, lam_hi
        self.windowed[cols] = True

    def _refine(self, cols, lam_lo, lam_hi):
        """Shrink the windows of the data sets ``cols`` to ``[lam_lo, lam_hi]``."""
        lo_all, hi_all = np.full(self.size, np.nan), np.full(self.size, np.nan)
        lo_all[cols], hi_all[cols] = lam_lo, lam_hi
        chosen = np.zeros(self.size, dtype=bool)
        chosen[cols] = True
        pick = np.flatnonzero(chosen[self.act_col])
        e, col = self.act_e[pick], self.act_col[pick]
        q_hi = np.floor(e / lo_all[col])
        q_lo = np.floor(e / hi_all[col])
        fixed = q_hi == q_lo
        done = pick[fixed]
        self.fixed_sum += np.bincount(self.act_pos[done], weights=q_lo[fixed],
                                      minlength=self.m * self.size).reshape(self.m, self.size)
        stay = np.ones(self.act_e.size, dtype=bool)
        stay[done] = False
        self.act_e, self.act_col, self.act_pos = (
            self.act_e[stay], self.act_col[stay], self.act_pos[stay])
        self.w_lo[cols], self.w_hi[cols] = lam_lo, lam_hi


def flatten_batch(x, fixed):
    """Data ``(*batch, n)`` as ``(size, n)`` and fixed parameters as ``(size,)`` arrays."""
    n, batch = x.shape[-1], x.shape[:-1]
    size = int(np.prod(batch))
    return x.reshape(size, n), {k: np.reshape(v, size) for k, v in fixed.items()}, batch, size, n


def fit_bootstrap(cls, x, fixed, options, *, m, rng, tol=1e-10, max_iter=50):
    """Bootstrap PLE of ``cls`` on validated data ``x`` (see the module docstring).

    ``m`` (an int >= 2) and ``rng`` (a Generator) are validated by the caller.
    """
    cls._check_n(x, fixed, "ple", options)
    flat_x, flat_fixed, batch, size, n = flatten_batch(x, fixed)
    problem = BindingProblem(cls, flat_fixed, options, n)
    out = solve_chunks(problem, flat_x, m, rng, tol=tol, max_iter=max_iter, progress=False)
    warn_not_converged(out.converged, f"bootstrap PLE of {cls.__name__}", max_iter,
                       stacklevel=3)
    info = engine_info(out, cls.Params, cls._param_names, problem.free, batch, m=m,
                       estimator=("bootstrap PLE with common random numbers"
                                  + (" (bracketed root finder)" if cls._discrete else "")))
    info.update(options)
    params = {name: out.theta[:, j].reshape(batch) for j, name in enumerate(problem.free)}
    refit = functools.partial(cls.fit_ple, method="bootstrap", m=m, **options,
                              **{k_: np.asarray(v) for k_, v in fixed.items()})
    return cls._make_result(params, x, fixed, "ple", info, refit=Refit(refit, random=True))


def _unbox(arr):
    arr = np.asarray(arr)
    return arr.item() if arr.ndim == 0 else arr


def target_to_theta_start(problem, x):
    """Starting point: the MLE of the free parameters."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mle = problem.cls._mle(x, problem.fixed)
    return np.stack([np.asarray(mle[name], dtype=float) for name in problem.free], axis=-1)
