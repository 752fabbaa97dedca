"""The paper's image models: a fully connected VAE and its hypernetwork version.

- :class:`VAE`: encoder and decoder of 5 fully connected layers each, with
  BatchNorm and LeakyReLU (the paper's Table 1 model), Bernoulli or Gaussian
  decoder for images in [0, 1].
- :class:`HyperVAE`: the same VAE whose weights are predicted by a
  :class:`~ple_stats.hyper.HyperNetwork` (hidden sizes 32, 64, 96) from the
  training set, trained with ELBO + λ·PLE penalty by :func:`~ple_stats.hyper.train_ple`.

The evaluation classifier of the fairness experiment (``ImageClassifier``,
``fit_classifier``) is experiment tooling and lives in
:mod:`ple_stats.experiments._classifier`; importing it from here still works, with a
``DeprecationWarning``, for one release.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._checks import (as_device, as_generator, check_nonneg_float, check_positive_float,
                      check_positive_int)
from ._functional import call_with_weights
from ._network import HyperNetwork
from .._lib.deprecation import renamed_keywords
from .._lib.progress import progress_bar
from ._train import TrainHistory, train_ple

__all__ = ["VAE", "HyperVAE", "fit_vae", "as_images"]

_LIKELIHOODS = ("bernoulli", "gaussian")
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _linear(fan_in, fan_out, generator):
    """``nn.Linear`` with PyTorch's default initialisation drawn from ``generator``."""
    layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out)
    with torch.no_grad():
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer


def _stack(sizes, out, generator, negative_slope):
    """``len(sizes) - 1`` blocks Linear -> BatchNorm1d -> LeakyReLU, then a Linear to ``out``."""
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [_linear(fan_in, fan_out, generator), nn.BatchNorm1d(fan_out),
                   nn.LeakyReLU(negative_slope)]
    layers.append(_linear(sizes[-1], out, generator))
    return nn.Sequential(*layers)


def as_images(x, name="x", *, in_features=None, dtype=torch.float32, device=None) -> Tensor:
    """Check and convert images to a float tensor of shape (N, d) with values in [0, 1].

    Images of shape (N, h, w) or (N, c, h, w) are flattened. ``ValueError``
    (naming ``name``) for values outside [0, 1], non-finite values, fewer than 2
    images, or a feature count other than ``in_features``.
    """
    if not isinstance(x, Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"`{name}` must be an array of images; {exc}") from None
    if not (x.is_floating_point() or x.dtype in (torch.uint8, torch.int32, torch.int64,
                                                  torch.bool)):
        raise TypeError(f"`{name}` must be a real array of images; got dtype {x.dtype}.")
    if x.ndim < 2:
        raise ValueError(f"`{name}` must have shape (N, d) or (N, h, w); got shape "
                         f"{tuple(x.shape)}.")
    x = x.reshape(x.shape[0], -1).to(dtype=dtype, device=device)
    if in_features is not None and x.shape[1] != in_features:
        raise ValueError(f"`{name}` must have {in_features} features (pixels) per image; got "
                         f"{x.shape[1]} (shape {tuple(x.shape)}).")
    if x.shape[0] < 2:
        raise ValueError(f"`{name}` must hold at least 2 images (BatchNorm needs a batch); got "
                         f"{x.shape[0]}.")
    if not torch.isfinite(x).all():
        raise ValueError(f"`{name}` must be finite; it contains NaN or inf.")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"`{name}` must have values in [0, 1]; got range "
                         f"[{x.min().item():.4g}, {x.max().item():.4g}] (rescale first, e.g. "
                         f"divide 8-bit images by 255).")
    return x


class VAE(nn.Module):
    r"""Fully connected variational autoencoder for flattened images in [0, 1].

    Encoder :math:`q(z \mid x) = N(\mu(x), \operatorname{diag}\sigma^2(x))` and decoder
    :math:`p(x \mid z)`, each of 5 fully connected layers: the first four each followed
    by BatchNorm and LeakyReLU, the fifth the output layer (the encoder's outputs
    :math:`(\mu, \log\sigma^2)`, the decoder's pixel logits or means). The prior is
    :math:`N(0, I)`. The training objective is the evidence lower bound

    .. math::

        \mathrm{ELBO}(x) = E_{q(z\mid x)}[\log p(x \mid z)]
        - \mathrm{KL}\bigl(q(z \mid x)\,\Vert\,N(0, I)\bigr),

    estimated with one reparameterised draw of :math:`z`.

    Parameters
    ----------
    in_features : int, default 64
        Pixels per image (64 for the 8×8 digits).
    latent : int, default 8
        Size of :math:`z`.
    hidden : sequence of 4 int, default (64, 48, 32, 32)
        Widths of the encoder's four hidden layers; the decoder mirrors them.
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
        Decoder: Bernoulli on each pixel (the usual choice for images in [0, 1],
        the log-likelihood of a grey value :math:`x` is the cross-entropy
        :math:`x\log p + (1-x)\log(1-p)`), or Gaussian with mean
        :math:`\operatorname{sigmoid}(\cdot)` and a learned per-pixel scale.
    negative_slope : float, default 0.2
        Slope of the LeakyReLU.
    seed : None, int or torch.Generator
        Initialisation randomness (the global torch state is not used).

    Raises
    ------
    ValueError
        For a non-positive size, ``hidden`` not of length 4, or an unknown ``likelihood``.

    See Also
    --------
    HyperVAE : the same model with hypernetwork-predicted weights.
    fit_vae : plain maximum-ELBO training.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper.models import VAE
    >>> vae = VAE(in_features=64, latent=4, seed=0)
    >>> x = torch.rand(10, 64, generator=torch.Generator().manual_seed(1))
    >>> vae.elbo(x, generator=torch.Generator().manual_seed(2)).shape
    torch.Size([10])
    >>> vae.sample(5, generator=torch.Generator().manual_seed(3)).shape
    torch.Size([5, 64])
    >>> sum(isinstance(m, torch.nn.Linear) for m in vae.encoder)   # 5 layers each
    5
    """

    def __init__(self, in_features: int = 64, *, latent: int = 8,
                 hidden: Sequence[int] = (64, 48, 32, 32), likelihood: str = "bernoulli",
                 negative_slope: float = 0.2, seed: int | torch.Generator | None = None):
        super().__init__()
        in_features = check_positive_int(in_features, "in_features")
        latent = check_positive_int(latent, "latent")
        hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if len(hidden) != 4:
            raise ValueError(f"`hidden` must hold 4 widths (5 fully connected layers with the "
                             f"output layer); got {len(hidden)}: {hidden}.")
        if likelihood not in _LIKELIHOODS:
            raise ValueError(f"`likelihood` must be one of {_LIKELIHOODS}; got {likelihood!r}.")
        negative_slope = check_nonneg_float(negative_slope, "negative_slope")
        generator = as_generator(seed, "seed")
        self.in_features, self.latent, self.hidden = in_features, latent, hidden
        self.likelihood = likelihood
        self.encoder = _stack((in_features,) + hidden, 2 * latent, generator, negative_slope)
        self.decoder = _stack((latent,) + hidden[::-1], in_features, generator, negative_slope)
        if likelihood == "gaussian":
            self.log_scale = nn.Parameter(torch.full((in_features,), math.log(0.1)))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The posterior's mean and log-variance, each ``(N, latent)``."""
        out = self.encoder(x)
        return out[:, :self.latent], out[:, self.latent:]

    def decode(self, z: Tensor) -> Tensor:
        """Pixel means in [0, 1] for latent codes ``z`` of shape ``(N, latent)``."""
        return torch.sigmoid(self.decoder(z))

    def elbo(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One-draw ELBO estimate per image, shape ``(N,)`` (nats)."""
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            loglik = -F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(dim=1)
        else:
            scale = self.log_scale
            resid = (x - torch.sigmoid(out)) * torch.exp(-scale)
            loglik = -(0.5 * resid.square() + scale + _HALF_LOG_2PI).sum(dim=1)
        kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=1)
        return loglik - kl

    def loss(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Negative ELBO averaged over the images (nats per image): the training loss."""
        return -self.elbo(x, generator).mean()

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Same as :meth:`loss`."""
        return self.loss(x, generator)

    def sample(self, k: int, generator: torch.Generator | None = None, *,
               mean: bool = True) -> Tensor:
        """``k`` generated images, shape ``(k, in_features)``.

        ``z ~ N(0, I)`` drawn from ``generator``, decoded. With ``mean=True``
        (default) the decoder's pixel means are returned (grey images in
        [0, 1], a reparameterised, differentiable function of the weights);
        with ``mean=False`` a draw from the decoder (Bernoulli pixels, or
        Gaussian noise added to the means). Uses the module's mode: in
        training mode BatchNorm normalises over the ``k`` samples (``k >= 2``),
        in ``eval()`` mode with its running statistics.
        """
        k = check_positive_int(k, "k")
        ref = self.decoder[0].weight
        z = torch.randn(k, self.latent, generator=generator, dtype=ref.dtype, device=ref.device)
        means = self.decode(z)
        if mean:
            return means
        if self.likelihood == "bernoulli":
            return torch.bernoulli(means, generator=generator)
        noise = torch.randn(means.shape, generator=generator, dtype=means.dtype,
                            device=means.device)
        return means + torch.exp(self.log_scale) * noise


def _epochs_for(steps, n, batch_size):
    per_epoch = max(1, math.ceil(n / batch_size))
    return max(1, math.ceil(steps / per_epoch))


def fit_vae(vae: VAE, data, *, steps: int = 1000, batch_size: int = 64, lr: float = 1e-3,
            seed: int | None = 0, device=None, progress: bool | None = None) -> list[float]:
    """Train a :class:`VAE` by maximising the ELBO (Adam, shuffled minibatches).

    Parameters
    ----------
    vae : VAE
        Trained in place.
    data : array_like of shape (N, in_features)
        Images in [0, 1].
    steps : int, default 1000
        Optimiser steps, rounded up to whole epochs.
    batch_size : int, default 64
        Images per step.
    lr : float, default 1e-3
        Adam learning rate.
    seed : None or int, default 0
        Shuffling and the reparameterisation noise.
    device : str or torch.device, optional
        Default: CUDA when available, else CPU.
    progress : bool, optional
        tqdm bar over epochs; default: when stderr is a terminal.

    Returns
    -------
    list of float
        Mean loss (negative ELBO, nats per image) per epoch.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper.models import VAE, fit_vae
    >>> x = torch.rand(64, 16, generator=torch.Generator().manual_seed(0))
    >>> losses = fit_vae(VAE(16, latent=2, seed=0), x, steps=20, batch_size=32,
    ...                  device="cpu", progress=False)
    >>> len(losses)
    10
    """
    if not isinstance(vae, VAE):
        raise TypeError(f"`vae` must be a VAE; got {type(vae).__name__}.")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    lr = check_positive_float(lr, "lr")
    device = as_device(device)
    data = as_images(data, "data", in_features=vae.in_features, device=device)
    vae.to(device)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    shuffle = as_generator(seed, "seed")
    noise = torch.Generator(device=device).manual_seed(
        int(torch.randint(0, 2**62, (), generator=shuffle)))
    n = data.shape[0]
    epochs = _epochs_for(steps, n, batch_size)
    bar = progress_bar(epochs, progress=progress, desc="train", unit="epoch")
    losses = []
    vae.train()
    try:
        for _ in range(epochs):
            order = torch.randperm(n, generator=shuffle).to(device)
            total, count = 0.0, 0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                if idx.numel() < 2:  # BatchNorm needs two images
                    continue
                loss = vae.loss(data[idx], noise)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite VAE loss at epoch {len(losses)}; "
                                             f"lower `lr`.")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item()
                count += 1
            losses.append(total / count)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4g}")
    finally:
        if bar is not None:
            bar.close()
    vae.eval()
    return losses


class HyperVAE(nn.Module):
    r"""A :class:`VAE` whose weights are predicted from the training set by a hypernetwork.

    :math:`\theta = H_\phi(X)` with a :class:`~ple_stats.hyper.HyperNetwork` of
    encoder widths ``hidden`` (the paper: 32, 64, 96) reading the images as a set;
    the VAE runs on :math:`\theta` via :func:`~ple_stats.hyper.call_with_weights`.
    :meth:`fit` trains :math:`\phi` with :func:`~ple_stats.hyper.train_ple`:
    each minibatch of ``batch_size`` images is a set :math:`X`, the task loss is
    the VAE's negative ELBO under :math:`H_\phi(X)`, and the penalty compares
    :math:`H_\phi(Y)` with :math:`H_\phi(X)` for ``m`` sets :math:`Y` of generated
    images (:meth:`VAE.sample` with the weights :math:`H_\phi(X)`).

    BatchNorm: its affine parameters are predicted; its running statistics are
    buffers, not predicted (the core's default) and are updated on the VAE
    itself during training. The synthetic sets are generated in training mode
    (BatchNorm normalises over the generated batch) on *copies* of the running
    statistics, so drawing them does not change the statistics.

    Parameters
    ----------
    vae : VAE
        The target (its initial weights are the hypernetwork's starting output).
    hidden : sequence of int, default (32, 64, 96)
        Widths of the hypernetwork's per-image encoder.
    seed : None, int or torch.Generator
        Initialisation of the hypernetwork.
    **kwargs
        Further keywords of :class:`~ple_stats.hyper.HyperNetwork` (``head_init_std``, ...).

    Attributes
    ----------
    vae : VAE
    hyper : HyperNetwork
    weights : dict or None
        The weights used by :meth:`sample`: set by :meth:`fit` (and
        :meth:`set_weights`) to :math:`H_\phi` applied to the whole training set.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper.models import VAE, HyperVAE
    >>> x = torch.rand(48, 16, generator=torch.Generator().manual_seed(0))
    >>> model = HyperVAE(VAE(16, latent=2, hidden=(8, 8, 8, 8), seed=0), seed=0)
    >>> hist = model.fit(x, steps=4, batch_size=16, device="cpu", seed=0, progress=False)
    >>> len(hist.penalty), model.sample(3, generator=torch.Generator().manual_seed(1)).shape
    (2, torch.Size([3, 16]))
    """

    def __init__(self, vae: VAE, *, hidden: Sequence[int] = (32, 64, 96),
                 seed: int | torch.Generator | None = None, **kwargs):
        super().__init__()
        if not isinstance(vae, VAE):
            raise TypeError(f"`vae` must be a VAE; got {type(vae).__name__}.")
        self.vae = vae
        self.hyper = HyperNetwork(vae, in_features=vae.in_features, hidden=hidden, seed=seed,
                                  **kwargs)
        self.weights = None

    def _frozen_buffers(self):
        return {name: buf.detach().clone() for name, buf in self.vae.named_buffers()}

    def task_loss(self, weights: dict, X: Tensor, generator=None) -> Tensor:
        """Negative ELBO of the set ``X`` (N, d) under the VAE with ``weights``."""
        return call_with_weights(self.vae, weights, X, method="loss", generator=generator)

    def sampler(self, weights: dict, n: int, generator: torch.Generator) -> Tensor:
        """``n`` generated images with ``weights`` (training-mode BatchNorm, stats untouched)."""
        return call_with_weights(self.vae, {**self._frozen_buffers(), **weights}, n,
                                 method="sample", generator=generator)

    @renamed_keywords(penalty_form_from_str=True, lam="penalty")
    def fit(self, data, *, penalty: float = 0.1, m: int = 1, steps: int = 1000,
            batch_size: int = 64, lr: float = 1e-3, detach_synthetic: bool = False,
            seed: int | None = 0, device=None, progress: bool | None = None,
            **train_kwargs) -> TrainHistory:
        """Train with ELBO + ``penalty`` · PLE penalty via :func:`~ple_stats.hyper.train_ple`.

        Parameters
        ----------
        data : array_like of shape (N, in_features)
            Training images in [0, 1]; minibatches of ``batch_size`` are the sets.
        penalty : float, default 0.1
            Penalty weight (0: plain hypernetwork training, no penalty).
            Formerly ``lam`` (deprecated alias, one release).
        m : int, default 1
            Synthetic sets per real set.
        steps : int, default 1000
            Optimiser steps, rounded up to whole epochs.
        batch_size : int, default 64
            Images per set.
        lr : float, default 1e-3
        detach_synthetic : bool, default False
            The generated images are a reparameterised function of the weights
            (decoder means of :math:`z \\sim N(0, I)`), so by default the gradient
            flows through them; True treats them as data. (The package's one
            rule: synthetic data are detached unless the sampler is
            reparameterised, as this one is; hence the default differs from
            :func:`~ple_stats.hyper.train_ple`'s, whose sampler is arbitrary.)
        seed : None or int
            Shuffling, the synthetic draws and the ELBO's reparameterisation noise.
        device : str or torch.device, optional
            Default: CUDA when available, else CPU.
        progress : bool, optional
            tqdm bar over epochs; default: when stderr is a terminal.
        **train_kwargs
            Further keywords of :func:`~ple_stats.hyper.train_ple` (``penalty_form``,
            ``clip_grad_norm``, ...).

        Returns
        -------
        TrainHistory
        """
        steps = check_positive_int(steps, "steps")
        batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
        device = as_device(device)
        data = as_images(data, "data", in_features=self.vae.in_features, device=device)
        # The ELBO's reparameterisation noise: train_ple passes no generator to the task
        # loss, so it has its own stream, seeded from `seed` (reproducible; a resumed
        # train_ple checkpoint would not restore it, so this class does not offer resume).
        root = as_generator(seed, "seed")
        noise = torch.Generator(device=device).manual_seed(
            int(torch.randint(0, 2**62, (), generator=root)))
        loop_seed = int(torch.randint(0, 2**62, (), generator=root))
        epochs = _epochs_for(steps, data.shape[0], batch_size)
        history = train_ple(
            self.hyper, lambda w, X: self.task_loss(w, X, noise), self.sampler, data,
            penalty=penalty, m=m, epochs=epochs, batch_size=batch_size, lr=lr,
            drop_last=data.shape[0] >= batch_size and data.shape[0] % batch_size == 1,
            detach_synthetic=detach_synthetic, device=device, seed=loop_seed,
            progress=progress, **train_kwargs)
        self.set_weights(data)
        return history

    @torch.no_grad()
    def set_weights(self, data) -> dict:
        """Set :attr:`weights` to :math:`H_\\phi` of the whole set ``data`` and return them."""
        ref = self.hyper.heads[0].bias
        data = as_images(data, "data", in_features=self.vae.in_features, device=ref.device)
        self.weights = {k: v.detach() for k, v in self.hyper(data).items()}
        return self.weights

    @torch.no_grad()
    def sample(self, k: int, generator: torch.Generator | None = None, *,
               mean: bool = True) -> Tensor:
        """``k`` images from the VAE with :attr:`weights`, BatchNorm in eval mode."""
        if self.weights is None:
            raise ValueError("the HyperVAE has no weights yet: call fit() or set_weights().")
        was = self.vae.training
        self.vae.eval()
        try:
            return call_with_weights(self.vae, self.weights, k, method="sample",
                                     generator=generator, mean=mean)
        finally:
            self.vae.train(was)


_MOVED = {"ImageClassifier", "fit_classifier"}


def __getattr__(name):
    """The classifier's former home: a deprecated alias for one release."""
    if name in _MOVED:
        import warnings

        from ..experiments import _classifier

        warnings.warn(f"ple_stats.hyper.models.{name} moved to "
                      f"ple_stats.experiments._classifier.{name}; the old import is "
                      "deprecated and will be removed in the next release.",
                      DeprecationWarning, stacklevel=2)
        return getattr(_classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
