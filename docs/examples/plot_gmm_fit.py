"""
Fitting an imbalanced Gaussian mixture: EM vs PLE
=================================================

The truth is the mixture 0.8 N(0, 1) + 0.2 N(2, 1): two heavily overlapping components, the
right one a minority. :meth:`ple_stats.GMM.fit_mle` fits it by EM, :meth:`ple_stats.GMM.fit_ple`
by the iterated bootstrap (here with ``m = 20`` synthetic data sets and 8 iterations, to keep the
example fast; the defaults are ``m = 100`` and 20 iterations).

The left panel shows one data set of n = 50 with the true density and both fits. The right
panel shows, over 200 data sets of n = 50 fitted in *one* batched call per estimator, the
sampling distribution of the weight of the right-hand component (truth 0.2). Components are
ordered by mean, so that weight is the last entry of ``params.weights``.

At this sample size EM's weights are strongly biased towards 1/2, and the PLE equation often
has no solution inside the parameter box (``res.info["converged"]`` says for which data sets):
the printed numbers below are what this run measured, see :doc:`/gmm` for the full picture.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np

from ple_stats import GMM, ConvergenceWarning, DegenerateDataWarning

truth = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0])
n = 50
ple_settings = dict(m=20, options={"n_iter": 8, "average": 4})


def quietly(fit, *args, **kwargs):
    """Fit without the warnings that this case is expected to raise.

    EM fits that end on the variance floor raise ``DegenerateDataWarning`` and unsolved PLE
    equations ``ConvergenceWarning``; the same information is in ``res.info`` and is printed
    below.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, DegenerateDataWarning))
        return fit(*args, **kwargs)


def standard_error(values):
    return values.std(ddof=1) / np.sqrt(values.size)


# %%
# One data set
# ------------

x = truth.sample(n, rng=0)
mle = quietly(GMM.fit_mle, x)
ple = quietly(GMM.fit_ple, x, rng=1, **ple_settings)
for name, res in [("EM ", mle), ("PLE", ple)]:
    w, mu, sigma = (", ".join(f"{v:.3f}" for v in values) for values in res.params)
    print(f"{name}  weights ({w})  means ({mu})  sigmas ({sigma})")
print("PLE equation solved for this data set:", bool(ple.info["converged"]))

# %%
# Where the PLE equation has no solution for a data set, the iteration ends on a face of its
# box, for instance with a weight on ``weight_floor`` (a one-component fit), and
# ``info["converged"]`` is False. On overlapping components the mixture's PLE equation is
# often ill-posed at small n; the batch below shows how often.

# %%
# Many data sets in one batched call
# ----------------------------------

X = truth.sample(n, rng=2, sample_shape=(200,))  # shape (200, 50)
mle_batch = quietly(GMM.fit_mle, X)
ple_batch = quietly(GMM.fit_ple, X, rng=3, **ple_settings)
w_em = mle_batch.params.weights[:, -1]
w_ple = ple_batch.params.weights[:, -1]
diff = w_em - w_ple
print(f"right-hand weight, truth 0.2, over {w_em.size} data sets of n = {n}:")
for name, w in [("EM ", w_em), ("PLE", w_ple)]:
    print(f"  {name}: mean {w.mean():.3f} +- {standard_error(w):.3f}, median {np.median(w):.3f}")
print(f"  paired difference EM - PLE: {diff.mean():.3f} +- {standard_error(diff):.3f}")
print(f"  PLE equation solved for {ple_batch.info['converged'].mean():.0%} of the data sets")
for name, w in [("EM ", w_em), ("PLE", w_ple)]:
    print(f"  {name}: right-hand weight below 0.01 for {np.mean(w < 0.01):.0%} of the data sets, "
          f"above 0.99 for {np.mean(w > 0.99):.0%} (one-component fits)")

# %%
# Read the paired difference against its standard error before taking a difference of means
# for an improvement. In the histogram below, the fits that ended with a weight on its floor
# (the last lines above count them) form spikes at 0 and 1.

# %%
# The figure
# ----------

grid = np.linspace(-4.0, 6.0, 400)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
left.hist(x, bins=15, density=True, color="0.85", label=f"data (n = {n})")
left.plot(grid, np.exp(truth.logpdf(grid)), "k", lw=2, label="truth")
left.plot(grid, np.exp(mle.dist.logpdf(grid)), color="tab:red", label="EM")
left.plot(grid, np.exp(ple.dist.logpdf(grid)), color="tab:blue", ls="--", label="PLE")
left.set_xlabel("x")
left.set_ylabel("density")
left.set_title("One data set")
left.legend(fontsize=8)

bins = np.linspace(0.0, 1.0, 41)
right.hist(w_em, bins=bins, histtype="step", lw=1.5, color="tab:red",
           label=f"EM: mean {w_em.mean():.3f}")
right.hist(w_ple, bins=bins, histtype="step", lw=1.5, color="tab:blue",
           label=f"PLE: mean {w_ple.mean():.3f}")
right.axvline(0.2, color="k", lw=1, label="truth 0.2")
right.set_xlabel("weight of the right-hand component")
right.set_ylabel("data sets")
right.set_title(f"{w_em.size} data sets of n = {n}")
right.legend(fontsize=8)
plt.show()
