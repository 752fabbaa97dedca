"""The one-dimensional Gaussian mixture (``GMM``): its parameters, sampler and density.

The class is built on the shared core of the families
(:class:`~ple_stats._distribution.DistributionBase`): its parameters are
event-shaped (the component axis, ``event_dim=1``; the weights on the
simplex). EM and SQUAREM live in :mod:`._gmm_em`, the PLE's methods and their
options in :mod:`._gmm_ple` (imported when ``fit_ple`` is first called).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._bootstrap import _unbox
from ._distribution import DistributionBase
from ._gmm_em import (_check_fit_data, _describe_em, _em_kwargs, _em_settings, _fit_em,
                      _ordered, _quantile_means, _warn_em, _warn_unidentifiable)
from ._result import FitResult, Refit
from ._validation import POSITIVE, REAL, SIMPLEX, Constraint, as_data, as_int, check_rng

__all__ = ["GMM"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: The component vectors of the means and sigmas (entries finite / positive).
_MEANS = Constraint(REAL.description, event_dim=1)
_SIGMAS = Constraint(POSITIVE.description, POSITIVE.lower, transform=POSITIVE.transform,
                     event_dim=1)
#: Kept importable from here (``ple_stats.hyper.gmm`` starts its heads at it).
_quantile_means = _quantile_means


class GMM(DistributionBase):
    r"""One-dimensional Gaussian mixture with ``K`` components.

    .. math::

        f(x; w, \mu, \sigma) = \sum_{k=1}^{K} w_k\,
        \frac{1}{\sigma_k\sqrt{2\pi}}\exp\!\Big(-\frac{(x-\mu_k)^2}{2\sigma_k^2}\Big),
        \qquad x \in \mathbb{R}.

    Support: the real line.

    The last axis of every parameter is the *component axis* (an event of
    dimension 1: the weights lie on the simplex); the leading axes, broadcast
    together, are the batch shape. Construction, validation, broadcasting,
    freezing, equality, pickling, ``nll`` and the plotting grid come from the
    shared core of the families (:class:`~ple_stats._distribution.DistributionBase`,
    with event-shaped constraints); this class holds the mixture's mathematics:
    its sampler, density, moments, EM (:mod:`._gmm_em`) and PLE
    (:mod:`._gmm_ple`). The interface is that of the other families
    (``params``, ``batch_shape``, ``sample``, ``logpdf``, ``cdf``, ``nll``,
    ``mean``, ``var``, ``fit_mle``, ``fit_ple``).

    Parameters
    ----------
    weights : array_like of shape (..., K)
        Mixing weights, non-negative and summing to 1 (within 1e-8) along the
        last axis.
    means : array_like of shape (..., K)
        Component means, finite.
    sigmas : array_like of shape (..., K)
        Component standard deviations, positive.

    Notes
    -----
    **MLE** (:meth:`fit_mle`) is computed by EM with a documented start,
    stopping rule and variance floor; the mixture likelihood is unbounded
    (a component can shrink onto one observation), so the floor is part of
    the estimator. Components are returned ordered by mean.

    **PLE** (:meth:`fit_ple`) is the iterated bootstrap (Kuk
    1995): ``theta <- theta + T(x) - mean_h T(Y_h(theta))`` with ``T`` the EM
    above and ``Y_h`` synthetic data sets drawn from ``theta`` with common
    random numbers. Its fixed point solves ``b_m(theta) = T(x)``: unbiased,
    to first order, for the weights, the means and the sigmas.

    References
    ----------
    Kuk, A. Y. C. (1995). Asymptotically unbiased estimation in generalized
    linear models with random effects. JRSS B 57(2), 395-407.

    Examples
    --------
    >>> from ple_stats import GMM
    >>> d = GMM(weights=[0.7, 0.3], means=[0.0, 2.0], sigmas=[1.0, 1.0])
    >>> d.batch_shape, d.n_components
    ((), 2)
    >>> round(d.mean(), 4), round(d.var(), 4)
    (0.6, 1.84)
    >>> x = d.sample(500, rng=0)
    >>> x.shape
    (500,)
    >>> res = GMM.fit_mle(x)
    >>> [round(float(w), 2) for w in res.params.weights]
    [0.74, 0.26]
    """

    _param_names = ("weights", "means", "sigmas")
    _constraints = {"weights": SIMPLEX, "means": _MEANS, "sigmas": _SIGMAS}
    _support = "R"
    _shape_note = " (the last axis is the component axis)"

    def __init__(self, *, weights, means, sigmas):
        super().__init__(weights=weights, means=means, sigmas=sigmas)

    def _check_event_shape(self, values):
        w = values[0]
        if w.ndim == 0:
            raise ValueError("`weights`, `means` and `sigmas` need a component axis (their last "
                             "axis); got scalars for all three.")
        if w.shape[-1] < 1:
            raise ValueError(f"a mixture needs at least one component (K >= 1); got the "
                             f"parameter shape {w.shape}.")

    @classmethod
    def _from_trusted(cls, *values):
        """Build from validated float arrays ``(weights, means, sigmas)``, given as three
        arguments or as one tuple (as the core's unpickling passes them)."""
        if len(values) == 1:
            (values,) = values
        return super()._from_trusted(values)

    @property
    def n_components(self) -> int:
        """Number of components ``K``."""
        return self._values[0].shape[-1]

    # ------------------------------------------------------------------ the mathematics
    def _sample_values(self, n, rng, sample_shape=()):
        # each observation picks its component with probability ``weights`` (a uniform
        # draw against the cumulative weights) and is then means[k] + sigmas[k] * z
        shape = sample_shape + self.batch_shape + (n,)
        u = rng.random(shape)
        z = rng.standard_normal(shape)
        return _from_base(u, z, *self._values)

    @staticmethod
    def _logpdf(x, w, mu, sigma):
        """log sum_k w_k N(x; mu_k, sigma_k): ``x`` (..., k), parameters (..., 1, K)."""
        with np.errstate(divide="ignore"):
            logw = np.log(w)
        z = (x[..., None] - mu) / sigma
        logp = -0.5 * z * z + (logw - np.log(sigma) - _LOG_SQRT_2PI)
        return _logsumexp(logp, axis=-1)

    @staticmethod
    def _cdf(x, w, mu, sigma):
        from scipy.special import ndtr

        return np.sum(w * ndtr((x[..., None] - mu) / sigma), axis=-1)

    @staticmethod
    def _mean(w, mu, sigma):
        """``sum_k w_k mu_k``."""
        return np.sum(w * mu, axis=-1)

    @staticmethod
    def _var(w, mu, sigma):
        """``sum_k w_k (sigma_k^2 + (mu_k - mean)^2)``."""
        mean = np.sum(w * mu, axis=-1, keepdims=True)
        return np.sum(w * (sigma**2 + (mu - mean) ** 2), axis=-1)

    def _plot_range(self):
        _, mu, sigma = self._values
        return float(np.min(mu - 4 * sigma)), float(np.max(mu + 4 * sigma))

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit_mle(cls, x, n_components=2, *, tol=1e-8, max_iter=1000, var_floor=1e-6,
                init="quantile", accelerate=True, rng=None):
        r"""Maximum-likelihood fit by EM, for every data set of a batch at once.

        Parameters
        ----------
        x : array_like of shape (..., n)
            Data; leading axes index independent data sets, all fitted in one
            vectorised EM.
        n_components : int
            Number of components ``K`` (at least 1; ``n >= K`` is required).
        tol : float
            Stopping rule: EM stops for a data set when the mean log-likelihood
            per observation changed by less than ``tol`` in one iteration (as
            scikit-learn's ``GaussianMixture``).
        max_iter : int
            Iteration cap; data sets that hit it are flagged in
            ``info["converged"]`` and a :class:`ConvergenceWarning` is issued.
        var_floor : float
            In (0, 1); every component variance is kept at least
            ``var_floor * var(x)`` (``var(x)`` of its own data set). Without a
            floor the likelihood is unbounded; a data set whose fit ends on the
            floor is flagged in ``info["floor_hit"]`` with a
            :class:`DegenerateDataWarning`.
        init : {"quantile", "kmeans++"} or GMM
            Start. ``"quantile"`` (default, deterministic): means at the
            ``(k + 0.5) / K`` quantiles of the data (where two of them coincide,
            as on tied or discrete data, the same quantiles of the data's
            distinct values, which differ), equal weights, every sigma the
            data's standard deviation. ``"kmeans++"``: means chosen by
            k-means++ seeding with ``rng`` (first centre uniform, then each
            next with probability proportional to the squared distance to the
            nearest chosen one), weights and sigmas as for ``"quantile"``. A
            ``GMM`` (batch shape broadcasting to the data's) starts from its
            parameters. With either rule, a fit that ends with two coincident
            components (equal means and sigmas within 1e-7 standard
            deviations of the data: a saddle of the likelihood, which EM does
            not leave) is refitted from a k-means++ start with a fixed seed,
            and the fit with the higher likelihood is returned.
        accelerate : bool
            ``True`` (default): SQUAREM-accelerated EM (see Notes); on
            slowly converging (overlapping) mixtures at ``tol <= 1e-8`` it
            typically needs about 3 to 6 times fewer EM steps; at a loose ``tol`` it
            can need a few more, since the stopping rule is tested on every
            third step. ``False``: plain EM, whose iterates are those of
            scikit-learn's ``GaussianMixture`` from the same start.
        rng : None, int or numpy.random.Generator
            Used by ``init="kmeans++"`` only.

        Returns
        -------
        FitResult
            ``method == "mle"``; ``params`` fields have shape ``(*batch, K)``
            (``(K,)`` for 1-D data), components ordered by mean;
            ``info`` has ``"converged"``, ``"n_iter"``, ``"loglik"`` (the
            total log-likelihood of each data set at the returned
            parameters) and ``"floor_hit"``, each of the batch shape.

        Raises
        ------
        ValueError
            Non-finite or empty data, ``n < K``, a data set with all
            observations equal, or bad settings.
        TypeError
            Non-numeric data or settings of the wrong type.

        Warns
        -----
        ConvergenceWarning
            When a data set hit ``max_iter``.
        DegenerateDataWarning
            When a fit ends on the variance floor, or a data set has fewer
            distinct values than ``K`` (the mixture is then not identifiable).

        Notes
        -----
        One EM iteration (the same as scikit-learn's, so the two agree to
        rounding from the same start): the E-step computes responsibilities
        :math:`r_{ik} \propto w_k N(x_i; \mu_k, \sigma_k^2)` and the mean
        log-likelihood :math:`\ell = \frac1n\sum_i \log\sum_k w_k N(x_i;\mu_k,\sigma_k^2)`
        at the current parameters; the M-step sets :math:`N_k = \sum_i r_{ik}
        + 10\epsilon`, :math:`w_k = N_k/\sum_j N_j`, :math:`\mu_k = \sum_i
        r_{ik}x_i/N_k`, :math:`\sigma_k^2 = \max(\sum_i r_{ik}(x_i-\mu_k)^2/N_k,\;
        \text{var\_floor}\cdot\text{var}(x))`. It stops after the iteration
        in which :math:`|\ell - \ell_{\text{previous}}| <` ``tol``. A data set
        that has converged is frozen while the others go on, so a batched
        fit equals the fits of its data sets one by one.

        With ``accelerate=True`` the EM maps are grouped in cycles of three
        (SQUAREM, scheme S3 of Varadhan and Roland, *Scand. J. Statist.* 35,
        2008, in the coordinates :math:`(\log w, \mu, \log\sigma^2)`): two
        plain EM steps :math:`p_1 = M(p_0)`, :math:`p_2 = M(p_1)`, the
        stopping rule tested on the first of them (so it is tested on every
        third EM step), then one EM step from the extrapolated point
        :math:`p_0 - 2a r + a^2 v` (:math:`r = p_1 - p_0`,
        :math:`v = p_2 - 2p_1 + p_0`, :math:`a = -\max(1, \min(|r|/|v|,
        a_{\max}))`, :math:`a = -1` when :math:`|v| = 0`), kept when the
        log-likelihood at the extrapolated point is at least that at
        :math:`p_1`; otherwise the cycle ends at :math:`p_2`. The bound
        :math:`a_{\max}` starts at 1 (the first cycle is plain EM), is
        multiplied by 4 after each kept step that reached it (up to
        :math:`2^{20}`) and returns to 1 after a rejected one. An
        extrapolated point is mapped back to valid parameters (weights
        renormalised and kept above :math:`10\epsilon`, variances on or above
        the floor); one that overflows or moves a mean more than :math:`10^6`
        standard deviations of the data is replaced by :math:`p_2`. The
        log-likelihood never decreases from cycle to cycle and the returned
        parameters are always the output of an EM step; ``info["n_iter"]``
        counts EM steps in both modes. With the same ``tol`` it typically
        stops closer to the maximum than plain EM (which, on overlapping
        mixtures, stops up to ~1e-4 away at ``tol=1e-10``). Like any EM
        variant it may reach a different local maximum from the same start:
        on 400 data sets per setting of Figure 3's mixtures (weights 0.5, 0.8
        and 0.9; n = 10, 30, 100 and 1000; ``tol=1e-8``) the accelerated fit
        had the higher log-likelihood for 0.3-5.8 % of the data sets and the
        lower for 0-0.7 % (``python -m benchmarks bench_gmm``).

        Examples
        --------
        >>> import numpy as np
        >>> from ple_stats import GMM
        >>> truth = GMM(weights=[0.8, 0.2], means=[0.0, 4.0], sigmas=[1.0, 0.5])
        >>> x = truth.sample(400, rng=1, sample_shape=(3,))   # three data sets
        >>> res = GMM.fit_mle(x)
        >>> res.params.weights.shape, bool(res.info["converged"].all())
        ((3, 2), True)
        >>> np.round(res.params.means[0], 2)
        array([0.02, 4.  ])
        """
        K = as_int(n_components, "n_components", minimum=1)
        x = as_data(x)
        settings = _em_settings(tol, max_iter, var_floor, init, accelerate)
        check_rng(rng)  # validated at the boundary even where init="quantile" ignores it
        _check_fit_data(x, K)
        _warn_unidentifiable(x, K, stacklevel=2)
        batch, n = x.shape[:-1], x.shape[-1]
        flat = x.reshape(-1, n)
        fit = _fit_em(flat, K, settings, rng, batch)
        _warn_em(fit, batch, settings["max_iter"], stacklevel=2)
        params = _ordered(fit.weights, fit.means, np.sqrt(fit.variances))
        info = {
            "estimator": _describe_em(settings),
            "n_components": K,
            "converged": _unbox(fit.converged.reshape(batch)),
            "n_iter": _unbox(fit.n_iter.reshape(batch)),
            "loglik": _unbox(fit.loglik.reshape(batch)),
            "floor_hit": _unbox(fit.floor_hit.reshape(batch)),
            "tol": settings["tol"], "max_iter": settings["max_iter"],
            "var_floor": settings["var_floor"], "accelerate": settings["accelerate"],
            "fixed": (),
        }
        refit = functools.partial(cls.fit_mle, n_components=K, **_em_kwargs(settings),
                                  init=settings["init"])
        return _result(cls, params, batch, n, "mle", info, Refit(refit, random=True))

    @classmethod
    def fit_ple(cls, x, n_components=2, method="bootstrap", *, m=None, rng=None,
                var_floor=1e-6, options=None, **deprecated):
        r"""Penalized autophagy estimate (PLE) by the iterated bootstrap or a hypernetwork.

        ``method="bootstrap"`` (default) is described here; ``method="hypernetwork"``
        (the paper's Section 5.2, needs PyTorch) trains one small set network per
        data set, see "Hypernetwork PLE" in the Notes.

        Seeks ``theta`` with ``b_m(theta) = T(x)``, where ``T`` is the EM
        estimator of :meth:`fit_mle` (same ``var_floor`` and options ``tol``,
        ``max_iter``, ``init``, ``accelerate``) and ``b_m(theta)`` the mean of
        ``T`` over ``m`` synthetic data sets of size ``n`` drawn from ``theta``
        with common random numbers (uniform and normal base draws fixed for the
        whole iteration).

        Parameters
        ----------
        x : array_like of shape (..., n)
            Data; leading axes index independent data sets. The ``m``
            synthetic sets of all data sets go through one batched EM per
            iteration.
        n_components : int
            ``K``, as in :meth:`fit_mle`.
        method : {"bootstrap", "hypernetwork"}
            The iterated bootstrap (numpy) or the paper's hypernetwork (torch).
        m : int, optional
            Synthetic data sets per data set: bootstrap at least 2 (default
            100); hypernetwork at least 1 (default 1, the paper's), drawn
            afresh at every epoch.
        rng : None, int or numpy.random.Generator
            Randomness of the synthetic data sets (and of a ``"kmeans++"``
            start). For the hypernetwork, one seed per data set is drawn from
            it (see the option ``seed_values``).
        var_floor : float
            In (0, 1): every component variance is kept at least
            ``var_floor * var(x)``, as in :meth:`fit_mle` (both methods).
        options : mapping, optional
            The method's own settings, by name (as ``scipy.optimize.minimize``
            takes ``options``); those not given keep their defaults. An option
            of the other method, or an unknown name, is a ``ValueError``.
            They are listed below.

        Other Parameters
        ----------------
        n_iter : int
            ``method="bootstrap"``: number of bootstrap iterations (at least
            1, default 20); there is no early stop (see Notes).
        average : int
            ``method="bootstrap"``: the estimate is the mean of the last
            ``average`` iterates, between 1 (the last iterate) and ``n_iter``
            (default 10).
        step : float
            ``method="bootstrap"``: damping in (0, 1]: the fraction of the
            correction applied per iteration (default 1, the plain iterated
            bootstrap).
        weight_floor : float
            ``method="bootstrap"``: after each update, weights are clipped at
            ``weight_floor`` and renormalised; in (0, 1/K) (default 1e-6).
        tol, max_iter, init, accelerate
            ``method="bootstrap"``: settings of the EM estimator ``T`` (see
            :meth:`fit_mle`; defaults 1e-8, 1000, ``"quantile"``, True);
            ``init`` must be ``"quantile"`` or ``"kmeans++"``, a rule that
            applies to the synthetic data sets too.
        penalty : float
            ``method="hypernetwork"``: weight of the penalty, non-negative
            (default 0.1, the paper's); 0 gives the plain hypernetwork fit (no
            synthetic data drawn). Formerly ``lam``.
        epochs : int
            ``method="hypernetwork"``: full-batch Adam steps (default 500).
        lr : float
            ``method="hypernetwork"``: Adam learning rate (default 0.01).
        detach_synthetic : bool
            ``method="hypernetwork"``: ``True`` (default) treats the synthetic
            sets as data (no gradient through them); ``False`` makes them
            reparameterised in the means and sigmas (the component choice is
            discrete, so the weights get no pathwise gradient). Formerly
            ``detach``.
        device : str or torch.device
            ``method="hypernetwork"``: where to train (default ``"cpu"``).
        seed_values : array_like of int
            ``method="hypernetwork"``: one seed per data set (the batch
            shape), overriding ``rng``; data set ``b`` then trains with a
            ``torch.Generator`` seeded by ``seed_values[b]`` alone, so its fit
            does not depend on the rest of the batch. Formerly ``seeds``
            (``seeds`` names a count elsewhere in the package).
        **deprecated
            The options above passed directly as keywords (and their former
            names ``lam``, ``detach``, ``seeds``), the interface before
            ``options``: they keep working for one release, with a
            ``DeprecationWarning``; as before, a keyword of the other method
            is accepted only at its default value.

        Returns
        -------
        FitResult
            ``method == "ple"``; ``params`` as for :meth:`fit_mle`. ``info``:
            ``"mle"`` (``T(x)``), ``"residual"`` (``T(x) - b_m(theta)`` at the
            estimate) and ``"mc_se"`` (Monte Carlo standard errors), each a
            parameter named tuple of ``(*batch, K)`` arrays; ``"converged"``
            (batch shape: every residual within 3 Monte Carlo standard errors,
            i.e. the equation is solved as well as ``b_m`` can tell);
            ``"path"`` (largest parameter change per iteration, shape
            ``(*batch, n_iter)``); ``"n_iter"``, ``"average"``, ``"step"``,
            ``"m"``; ``"synthetic_not_converged"`` (fraction of the synthetic
            EM fits that hit ``max_iter``).

            With ``method="hypernetwork"`` (``method == "ple"``): ``info`` has
            ``"loss"``, ``"nll"`` (mean negative log-likelihood per point of
            the data at the estimate), ``"penalty"`` (batch shape; loss and
            penalty at the last epoch, see Notes), ``"loss_history"``
            (``(*batch, 20)``, the loss at every ``epochs // 20``-th epoch),
            ``"mle"`` (``None``: no EM is run), ``"epochs"``, ``"penalty_weight"``,
            ``"m"``, ``"lr"``, ``"detach_synthetic"``, ``"device"``, ``"seed_values"``
            (and, for one release, their former names ``"lam"``, ``"detach"``,
            ``"seeds"``).

        Raises
        ------
        ValueError
            As :meth:`fit_mle`, and for a ``method`` other than
            ``"bootstrap"`` or ``"hypernetwork"``, bad iteration settings,
            ``penalty < 0``, ``m < 1``, or an option of the other method.
        TypeError
            ``options`` not a mapping, an unknown keyword, or an option given
            both as a keyword and in ``options``.
        ImportError
            ``method="hypernetwork"`` without PyTorch installed.

        Warns
        -----
        ConvergenceWarning
            When EM on ``x`` did not converge, or the PLE equation was not
            solved for some data sets (``info["converged"]``).
        DegenerateDataWarning
            As :meth:`fit_mle` (the floor, fewer distinct values than ``K``).

        Notes
        -----
        Iteration ``k`` (start :math:`\theta^0 = T(x)`), with
        :math:`\bar T = \frac1m\sum_h T(Y_h(\theta))` and :math:`s` = ``step``:

        .. math::

            w &\leftarrow \Pi\big(w + s\,(T_w(x) - \bar T_w)\big), \\
            \mu &\leftarrow \mathrm{clip}\big(\mu + s\,(T_\mu(x) - \bar T_\mu),\;
                                              \min x,\, \max x\big), \\
            \sigma &\leftarrow \mathrm{clip}\big(\sigma\,(T_\sigma(x)/\bar T_\sigma)^s,\;
                   \sqrt{\text{var\_floor}\cdot\text{var}(x)},\, 1.25\,s_x/c_4(n)\big),

        :math:`\Pi` clipping the weights at ``weight_floor`` and renormalising,
        and components re-sorted by mean. The sigma step is multiplicative so
        that sigmas stay positive; its fixed point is that of the additive
        step (:math:`\bar T_\sigma = T_\sigma(x)`), so, like :class:`Gaussian`'s
        default, the PLE targets unbiasedness of :math:`\sigma` (and of the
        weights and means).

        Why the box and the averaging. At small ``n`` the mixture MLE is
        strongly biased (e.g. two overlapping components, weights 0.8/0.2:
        EM's mean minority weight is 0.35 to 0.4 from n = 30 to 300) and the map
        :math:`\theta\mapsto b(\theta)` is flat in some directions, so ``T(x)``
        often lies outside the range of ``b``: the equation has no solution,
        and the plain iteration then drifts without bound (a component's
        sigma grew to hundreds in our trials). The box (means inside the
        data's range; sigmas at most :math:`1.25\,s_x/c_4(n)`, 25% above the
        sigma-unbiased PLE of one Gaussian fitted to all of ``x`` (:math:`s_x`
        its ``n - 1`` standard deviation), a cap that does not bind for a
        well-posed ``K = 1`` fit; weights at least ``weight_floor``) keeps
        every iterate a sensible mixture; estimates that end on its faces are
        flagged by ``info["converged"]``.
        Under common random numbers ``b_m`` is piecewise smooth (a synthetic
        point changes component when a cumulative weight crosses its uniform
        draw) and the synthetic EM fits stop at a tolerance, so the iterates
        settle into a small neighbourhood of the fixed point rather than onto
        it; averaging the last ``average`` iterates removes most of that jitter
        (``info["path"]`` shows it). The Monte Carlo standard error treats
        ``b_m`` as having unit Jacobian: ``mc_se = sd_h T(Y_h) / sqrt(m)`` at
        the estimate.

        **Hypernetwork PLE** (the paper's Section 5.2). Each data set ``x`` gets
        its own network ``H(X) = h2(mean_i h1(x_i))``: ``h1`` three fully
        connected layers of width 8 with ReLU applied to every point, mean
        pooling, ``h2`` two such layers and three linear heads (means;
        variances through softplus plus ``var_floor``; weights through
        softmax). The network works on the standardised data (mean 0,
        standard deviation 1; the estimate is mapped back), its head biases
        start at EM's quantile start and its head weights at 1% of PyTorch's
        default initialisation. It is trained by ``epochs`` full-batch Adam
        steps on

        .. math::

            L = -\frac1n\sum_i \log f(x_i; H(X))
                + \lambda\,\frac{1}{3K}\sum_{e}
                  \Big|\frac1m\sum_{j=1}^m H(Y_j)_e - H(X)_e\Big|,
            \qquad Y_j \sim f(\cdot; H(X)),

        the entries ``e`` being the ``3K`` predicted means, variances and
        weights (standardised coordinates) and the ``Y_j`` of size ``n``
        drawn afresh every epoch. The estimate is ``H(X)`` after training,
        components ordered by mean. All data sets train at once, as batched
        matrix products over a leading data-set axis; the loss is the sum of
        the per-data-set losses and Adam is elementwise, so each network
        trains exactly as it would alone (up to floating-point rounding).
        There is no convergence test: ``info["loss_history"]`` shows the
        path. Training uses one torch thread (restored afterwards): on these
        tiny tensors intra-op threads only add overhead, 40-fold in our
        measurements. What it achieves against EM is measured in
        ``docs/gmm.rst``.

        Examples
        --------
        >>> from ple_stats import GMM
        >>> truth = GMM(weights=[0.6, 0.4], means=[0.0, 5.0], sigmas=[1.0, 1.0])
        >>> x = truth.sample(200, rng=3)
        >>> res = GMM.fit_ple(x, m=20, rng=0, options={"n_iter": 6, "average": 3})
        >>> res.method, res.params.weights.shape
        ('ple', (2,))
        >>> [round(float(v), 1) for v in res.params.means]
        [0.0, 5.0]
        >>> hn = GMM.fit_ple(x, method="hypernetwork", rng=0,
        ...                  options={"epochs": 300})  # doctest: +SKIP
        >>> [round(float(v), 1) for v in hn.params.means]  # doctest: +SKIP
        [0.0, 5.0]
        """
        from ._gmm_ple import fit_ple

        return fit_ple(cls, x, n_components, method, m=m, rng=rng, var_floor=var_floor,
                       options=options, deprecated=deprecated)


#: The parameters' named tuple (``GMM.Params``), by its former module-level name.
GMMParams = GMM.Params


# ---------------------------------------------------------------------- densities
def _logsumexp(a, axis):
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def _from_base(u, z, w, mu, sigma):
    """Samples from uniform draws ``u`` (component) and normal draws ``z`` (..., n).

    Parameters have shape ``(*batch, K)`` and broadcast against ``u[..., None]``
    once a point axis is inserted.
    """
    cw = np.cumsum(w, axis=-1)[..., None, :-1]  # (*batch, 1, K-1)
    comp = np.sum(u[..., None] >= cw, axis=-1)  # (..., n) in 0..K-1
    K = w.shape[-1]
    comp = np.minimum(comp, K - 1)
    shape = comp.shape + (K,)
    loc = np.take_along_axis(np.broadcast_to(mu[..., None, :], shape), comp[..., None], -1)
    scale = np.take_along_axis(np.broadcast_to(sigma[..., None, :], shape), comp[..., None], -1)
    return loc[..., 0] + scale[..., 0] * z


def _result(cls, params, batch, n, method, info, refit):
    shape = batch + (params[0].shape[-1],)
    values = [np.reshape(v, shape) for v in params]
    for name, v in zip(cls.Params._fields, values):
        if not np.all(np.isfinite(v)):  # pragma: no cover - guarded by the floor and checks
            raise ValueError(f"the {method.upper()} fit gave a non-finite `{name}`.")
    dist = cls._from_trusted(*values)
    return FitResult(params=dist.params, dist=dist, method=method, n=n, info=info, refit=refit)
