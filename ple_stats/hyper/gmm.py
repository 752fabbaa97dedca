"""The paper's Section 5.2 hypernetwork PLE for a one-dimensional Gaussian mixture.

One small set network per data set, ``H(X) = h2(mean_i h1(x_i))``, all of them
trained at once: every weight tensor carries a leading data-set axis and the
layers are batched matrix products, so a batch of ``B`` data sets is ``B``
independent networks with independent Adam optimisers (Adam is elementwise, the
loss is a sum of per-data-set losses, so no data set influences another).

This module needs PyTorch; it is imported by :meth:`ple_stats.GMM.fit_ple` only
for ``method="hypernetwork"``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._gmm import _quantile_means
from .._lib.deprecation import renamed_keywords
from ._checks import as_device

__all__ = ["fit_gmm_hypernetwork", "WIDTH"]

#: Width of every hidden layer (the paper: 8).
WIDTH = 8


def _init_linear(gen, fan_in, fan_out, scale=1.0):
    """PyTorch's default ``nn.Linear`` init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn
    from ``gen`` (float64, CPU); ``scale`` multiplies the weight."""
    bound = 1.0 / math.sqrt(fan_in)
    w = (torch.rand((fan_in, fan_out), generator=gen, dtype=torch.float64) * 2 - 1) * bound
    b = (torch.rand((fan_out,), generator=gen, dtype=torch.float64) * 2 - 1) * bound
    return w * scale, b


def _init_params(gens, K, head_bias, head_scale):
    """Batched parameters: a dict of tensors with leading axis ``B`` (one per generator).

    ``head_bias`` is ``(B, 3, K)``: the initial raw outputs of the three heads (means,
    pre-softplus variances, weight logits), so that every network starts at its data
    set's EM start; the head weights are scaled by ``head_scale``.
    """
    shapes = [("h1_0", 1, WIDTH), ("h1_1", WIDTH, WIDTH), ("h1_2", WIDTH, WIDTH),
              ("h2_0", WIDTH, WIDTH), ("h2_1", WIDTH, WIDTH)]
    per = {}
    for b, gen in enumerate(gens):
        for name, fi, fo in shapes:
            w, bias = _init_linear(gen, fi, fo)
            per.setdefault(name + ".w", []).append(w)
            per.setdefault(name + ".b", []).append(bias)
        for h, head in enumerate(("mean", "var", "logit")):
            w, _ = _init_linear(gen, WIDTH, K, scale=head_scale)
            per.setdefault(head + ".w", []).append(w)
            per.setdefault(head + ".b", []).append(head_bias[b, h])
    return {k: torch.stack(v) for k, v in per.items()}


def _forward(p, sets, var_floor):
    """``H`` on sets ``(B, S, N)`` (S sets of N points per data set) -> three (B, S, K)."""
    B, S, N = sets.shape
    h = sets.reshape(B, S * N, 1)
    for i in range(3):
        h = torch.relu(torch.baddbmm(p[f"h1_{i}.b"][:, None, :], h, p[f"h1_{i}.w"]))
    h = h.reshape(B, S, N, WIDTH).mean(dim=2)  # mean pooling over the points of each set
    for i in range(2):
        h = torch.relu(torch.baddbmm(p[f"h2_{i}.b"][:, None, :], h, p[f"h2_{i}.w"]))
    mean = torch.baddbmm(p["mean.b"][:, None, :], h, p["mean.w"])
    var = torch.nn.functional.softplus(
        torch.baddbmm(p["var.b"][:, None, :], h, p["var.w"])) + var_floor
    weight = torch.softmax(torch.baddbmm(p["logit.b"][:, None, :], h, p["logit.w"]), dim=-1)
    return mean, var, weight


def _nll(x, mean, var, weight):
    """Mean negative log-likelihood per point of ``x`` (B, n) under (B, K) mixtures."""
    logp = (-0.5 * (x[:, :, None] - mean[:, None, :]) ** 2 / var[:, None, :]
            - 0.5 * torch.log(2 * math.pi * var[:, None, :]) + torch.log(weight[:, None, :]))
    return -torch.logsumexp(logp, dim=-1).mean(dim=-1)


def _sample(gens, mean, var, weight, m, n, detach):
    """``m`` sets of ``n`` points from every mixture (B, K) -> (B, m, n).

    Each point takes the component whose cumulative-weight interval holds its
    uniform draw and is ``mean_k + sqrt(var_k) * z``: with ``detach=False`` the
    sample is a differentiable (pathwise) function of the means and variances;
    the component choice is discrete, so the weights get no pathwise gradient.
    """
    u = torch.stack([torch.rand((m, n), generator=g, dtype=torch.float64) for g in gens])
    z = torch.stack([torch.randn((m, n), generator=g, dtype=torch.float64) for g in gens])
    if detach:
        mean, var, weight = mean.detach(), var.detach(), weight.detach()
    cw = torch.cumsum(weight, dim=-1)[:, None, None, :-1]  # (B, 1, 1, K-1)
    comp = (u[..., None] >= cw).sum(dim=-1).clamp(max=mean.shape[-1] - 1)  # (B, m, n)
    B = mean.shape[0]
    loc = torch.gather(mean, 1, comp.reshape(B, -1)).reshape(B, m, n)
    scale = torch.gather(var.sqrt(), 1, comp.reshape(B, -1)).reshape(B, m, n)
    return loc + scale * z


class _Adam:
    """Adam (Kingma & Ba 2015) with torch's defaults (betas 0.9, 0.999; eps 1e-8; no
    weight decay), the same update as ``torch.optim.Adam``; written out because the
    first step of ``torch.optim.Adam`` imports ``torch._dynamo`` (seconds). Every
    update is elementwise, so each data set's slice of a batched tensor is updated
    as it would be alone."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, math.sqrt(1 - b2**self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(m, v.sqrt().div_(c2).add_(self.eps), value=-self.lr / c1)


@renamed_keywords(seeds="seed_values", lam="penalty", detach="detach_synthetic")
def fit_gmm_hypernetwork(x, seed_values, *, K=2, penalty=0.1, m=1, epochs=500, lr=0.01,
                         detach_synthetic=True, var_floor=1e-6, head_scale=0.01, device="cpu",
                         record_every=0, num_threads=1):
    """Train one hypernetwork per row of ``x`` (B, n); the workhorse of
    ``GMM.fit_ple(method="hypernetwork")`` (arguments validated there).

    Every data set is standardised (mean 0, standard deviation 1) and its
    network works in those coordinates; ``seed_values`` (B,) seeds one
    ``torch.Generator`` per data set (initial weights, then synthetic draws),
    so a data set's fit does not depend on the rest of the batch. ``penalty``
    is the penalty's weight, ``detach_synthetic`` as in :meth:`GMM.fit_ple`
    (the former names ``seeds``, ``lam``, ``detach`` work for one release,
    with a ``DeprecationWarning``).

    Training runs with ``torch.set_num_threads(num_threads)`` (default 1),
    restored afterwards (``None``: leave it alone): the tensors are tiny
    ((B, n, 8)), and more intra-op threads only add synchronisation (measured
    in ``benchmarks/README.md``). Changing the count is process-wide while the
    fit runs.

    Returns a dict of numpy arrays: ``weights``, ``means``, ``sigmas`` (B, K), in
    the data's coordinates and ordered by mean; ``loss``, ``nll``, ``penalty`` (B,)
    at the last epoch; ``history`` (B, epochs // record_every) of the loss when
    ``record_every > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from ple_stats import GMM
    >>> from ple_stats.hyper.gmm import fit_gmm_hypernetwork
    >>> truth = GMM(weights=[0.6, 0.4], means=[0.0, 5.0], sigmas=[1.0, 1.0])
    >>> x = truth.sample(100, rng=3, sample_shape=(2,))   # two data sets
    >>> out = fit_gmm_hypernetwork(x, seed_values=[0, 1], epochs=200)
    >>> (np.round(out["means"], 1) + 0.0).tolist()
    [[0.2, 4.9], [0.1, 5.1]]
    >>> bool(np.allclose(out["weights"].sum(axis=-1), 1.0))
    True
    """
    before = torch.get_num_threads()
    if num_threads is not None and num_threads != before:
        torch.set_num_threads(int(num_threads))
    try:
        return _train(x, seed_values, K=K, lam=penalty, m=m, epochs=epochs, lr=lr,
                      detach=detach_synthetic,
                      var_floor=var_floor, head_scale=head_scale, device=device,
                      record_every=record_every)
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _train(x, seeds, *, K, lam, m, epochs, lr, detach, var_floor, head_scale, device,
           record_every):
    device = as_device(device)
    x = np.asarray(x, dtype=np.float64)
    B, n = x.shape
    centre = x.mean(axis=-1, keepdims=True)
    scale = x.std(axis=-1, keepdims=True)
    xs = (x - centre) / scale
    if not 0.0 < var_floor < 1.0:
        # the variance head is softplus(.) + var_floor and starts at variance 1 (var(x))
        raise ValueError(f"`var_floor` must be in (0, 1) (a fraction of var(x), below the "
                         f"start variance var(x)); got {var_floor!r}.")
    # start of every network: EM's quantile start in standardised coordinates
    head_bias = np.zeros((B, 3, K))
    head_bias[:, 0] = _quantile_means(xs, K)
    head_bias[:, 1] = math.log(math.expm1(1.0 - var_floor))  # softplus^-1: variance 1
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    params = _init_params(gens, K, torch.from_numpy(head_bias), head_scale)
    params = {k: v.to(device).requires_grad_(True) for k, v in params.items()}
    if device.type != "cpu":
        gens = [torch.Generator(device=device).manual_seed(int(s) + 1) for s in seeds]
    xt = torch.from_numpy(xs).to(device)
    opt = _Adam(list(params.values()), lr=lr)
    history = []
    nll = pen = None
    for epoch in range(epochs):
        opt.zero_grad()
        mean, var, weight = (t[:, 0] for t in _forward(params, xt[:, None, :], var_floor))
        nll = _nll(xt, mean, var, weight)
        if lam > 0:
            y = _sample(gens, mean, var, weight, m, n, detach)
            ym, yv, yw = _forward(params, y, var_floor)  # (B, m, K) each
            gap = torch.cat([ym.mean(1) - mean, yv.mean(1) - var, yw.mean(1) - weight], -1)
            pen = gap.abs().mean(dim=-1)
            loss = nll + lam * pen
        else:
            pen = torch.zeros_like(nll)
            loss = nll
        loss.sum().backward()  # disjoint parameters: each network gets its own gradient
        opt.step()
        if record_every and (epoch + 1) % record_every == 0:
            history.append(loss.detach().cpu().numpy())
    with torch.no_grad():
        mean, var, weight = (t[:, 0] for t in _forward(params, xt[:, None, :], var_floor))
        final_nll = _nll(xt, mean, var, weight)
    mean, var, weight = (t.cpu().numpy() for t in (mean, var, weight))
    out_means = centre + scale * mean
    out_sigmas = scale * np.sqrt(var)
    order = np.argsort(out_means, axis=-1, kind="stable")
    take = (lambda a: np.take_along_axis(a, order, axis=-1))
    pen_np = pen.detach().cpu().numpy()
    return {
        "weights": take(weight), "means": take(out_means), "sigmas": take(out_sigmas),
        # the final-epoch objective (per point, standardised coordinates: the NLL of the
        # raw data is this NLL + log(scale))
        "loss": nll.detach().cpu().numpy() + lam * pen_np,
        "nll": final_nll.cpu().numpy() + np.log(scale[:, 0]),
        "penalty": pen_np,
        "history": (np.stack(history, axis=-1) if history else np.empty((B, 0))),
    }
