"""The hypernetwork H_phi, generated automatically from a target ``torch.nn.Module``."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from ._checks import as_generator, check_module, check_positive_int, check_tensor

__all__ = ["HyperNetwork"]


def _select(names, exclude):
    """Split ``names`` into (kept, excluded) by ``exclude`` (None, str, iterable or predicate)."""
    if exclude is None:
        return list(names), []
    if callable(exclude):
        excluded = [name for name in names if exclude(name)]
        return [name for name in names if name not in excluded], excluded
    patterns = [exclude] if isinstance(exclude, str) else list(exclude)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise TypeError(f"`exclude` entries must be str; got {pattern!r}.")
    excluded = []
    for pattern in patterns:
        hits = [n for n in names if n == pattern or n.startswith(pattern + ".")]
        if not hits:
            raise ValueError(
                f"`exclude` entry {pattern!r} matches no parameter or buffer of `target`; "
                f"its names are {list(names)}."
            )
        excluded.extend(h for h in hits if h not in excluded)
    return [name for name in names if name not in excluded], excluded


def _linear(fan_in, fan_out, generator, *, dtype, device):
    """``nn.Linear`` with PyTorch's default initialisation, drawn from ``generator``.

    ``skip_init`` avoids touching the global random state.
    """
    layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out, dtype=dtype, device=device)
    with torch.no_grad():
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer


def _mlp(sizes, activation, generator, *, dtype, device):
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers.append(_linear(fan_in, fan_out, generator, dtype=dtype, device=device))
        layers.append(activation())
    return nn.Sequential(*layers)


class HyperNetwork(nn.Module):
    r"""Permutation-invariant hypernetwork predicting the weights of a target module.

    Built automatically from any ``torch.nn.Module`` (the paper's §4, H.2):

    .. math::

        H_\phi(X) = \Bigl\{\, W_k\, h_2\Bigl(\frac{1}{n}\sum_{i=1}^n h_1(x_i)\Bigr) + b_k
        \Bigr\}_{k \in \text{target tensors}}

    with a per-observation encoder :math:`h_1` (an MLP), mean pooling over the set
    (so the output does not depend on the order of the observations nor on the set
    size), an optional shared MLP :math:`h_2` after pooling, and one independent
    linear head :math:`(W_k, b_k)` per target tensor. Each head's bias is the
    flattened initial value of its target tensor and its weight is zero (or small),
    so the untrained hypernetwork outputs the target's own initialisation.

    Parameters
    ----------
    target : torch.nn.Module
        The model whose parameters are predicted (e.g. a generative model). It is
        not registered as a sub-module: ``hypernetwork.parameters()`` holds only
        the hypernetwork's own parameters. Available as ``hypernetwork.target``.
    in_features : int
        Number of features ``d`` of one observation.
    hidden : sequence of int, default (32, 64, 96)
        Widths of the encoder :math:`h_1`; an activation follows each layer. The
        paper's VAE experiment uses (32, 64, 96).
    pooled_hidden : sequence of int, default ()
        Widths of the shared MLP :math:`h_2` applied after pooling, before the
        heads (empty: the heads read the pooled encoding directly, as in the
        paper's §4).
    activation : callable returning a torch.nn.Module, default torch.nn.ReLU
        Activation class used in :math:`h_1` and :math:`h_2`.
    exclude : str, iterable of str or callable, optional
        Target tensors *not* to predict: they stay shared across sets and are
        taken from ``target`` when it runs (see :func:`call_with_weights`). A str
        matches a tensor name exactly or a sub-module prefix (``"decoder"``
        matches ``"decoder.weight"`` and ``"decoder.bias"``); a callable receives a
        name and returns True to exclude it.
    predict_buffers : bool, default False
        Whether floating-point buffers (e.g. BatchNorm ``running_mean`` and
        ``running_var``) are predicted. By default they are **not**: they are
        taken from ``target`` (and, in training mode, BatchNorm updates the
        target's own running statistics as usual). With ``True`` they are predicted
        like parameters; the target must then run in ``eval()`` mode, where
        BatchNorm normalises with the predicted statistics. Integer buffers
        (``num_batches_tracked``) are never predicted.
    head_init_std : float, default 0.0
        Standard deviation of the heads' initial weights. With 0 the initial output
        equals the target's initialisation exactly for every input; the encoder
        then receives zero gradient on the first step only (the heads' weights
        become non-zero after one update), as with zero-initialised residual
        branches. A small positive value gives every parameter a gradient at once
        and an initial output within about ``head_init_std`` of the target's.
    seed : None, int or torch.Generator, optional
        Randomness for the encoder's initialisation (and of the heads when
        ``head_init_std > 0``). The global torch random state is not used.

    Attributes
    ----------
    names : tuple of str
        Names of the predicted tensors, in the target's order.
    shapes : dict of str to torch.Size
        Their shapes.
    excluded : tuple of str
        Names of the target's parameters and buffers that are not predicted.

    Raises
    ------
    TypeError
        If ``target`` is not a ``torch.nn.Module``.
    ValueError
        If ``in_features`` or a width is not positive, an ``exclude`` name matches
        nothing, or nothing is left to predict.

    See Also
    --------
    call_with_weights : run the target on predicted weights.
    call_batched : run it on a batch of weight sets.
    train_ple : train the hypernetwork with the PLE penalty.

    Notes
    -----
    The input is a set ``X`` of shape ``(n, d)`` or a batch of sets ``(B, n, d)``;
    ``mask`` (boolean, shape ``(n,)`` or ``(B, n)``, True for a real observation)
    handles ragged sets padded to a common ``n``. The output is a dict name ->
    tensor with the target's shape, with a leading ``B`` when batched. Inputs are
    cast to the hypernetwork's dtype; non-finite entries raise ``ValueError``.

    The hypernetwork's dtype and device are those of the target's first predicted
    tensor at construction. ``hypernetwork.to(...)`` moves the hypernetwork only:
    move the target yourself (:func:`train_ple` moves both).

    References
    ----------
    .. [1] The PLE paper, §4 and appendix H.2 (``paper.txt``).
    .. [2] D. Ha, A. Dai and Q. V. Le, "HyperNetworks", ICLR 2017.
    .. [3] M. Zaheer et al., "Deep Sets", NeurIPS 2017.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper import HyperNetwork
    >>> target = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
    ...                              torch.nn.Linear(4, 2))
    >>> H = HyperNetwork(target, in_features=5, hidden=(16, 16), seed=0)
    >>> H.names
    ('0.weight', '0.bias', '2.weight', '2.bias')
    >>> X = torch.randn(10, 5, generator=torch.Generator().manual_seed(1))
    >>> {k: tuple(v.shape) for k, v in H(X).items()}
    {'0.weight': (4, 3), '0.bias': (4,), '2.weight': (2, 4), '2.bias': (2,)}
    >>> w = H(X.expand(7, 10, 5))             # a batch of 7 sets
    >>> tuple(w["0.weight"].shape)
    (7, 4, 3)
    >>> torch.equal(H(X)["2.bias"], target[2].bias)   # starts at the target's init
    True
    """

    def __init__(
        self,
        target: nn.Module,
        in_features: int,
        *,
        hidden: Sequence[int] = (32, 64, 96),
        pooled_hidden: Sequence[int] = (),
        activation: Callable[[], nn.Module] = nn.ReLU,
        exclude: str | Iterable[str] | Callable[[str], bool] | None = None,
        predict_buffers: bool = False,
        head_init_std: float = 0.0,
        seed: int | torch.Generator | None = None,
    ):
        super().__init__()
        check_module(target, "target")
        in_features = check_positive_int(in_features, "in_features")
        hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        pooled_hidden = tuple(check_positive_int(h, "pooled_hidden") for h in pooled_hidden)
        if not callable(activation):
            raise TypeError(f"`activation` must be callable (e.g. torch.nn.ReLU); got "
                            f"{type(activation).__name__}.")
        head_init_std = float(head_init_std)
        if not (math.isfinite(head_init_std) and head_init_std >= 0):
            raise ValueError(f"`head_init_std` must be non-negative; got {head_init_std}.")

        candidates = dict(target.named_parameters())
        buffers = dict(target.named_buffers())
        if predict_buffers:
            candidates.update((k, b) for k, b in buffers.items() if b.is_floating_point())
        all_names = list(dict(target.named_parameters())) + list(buffers)
        kept, _ = _select(list(candidates), exclude)
        if not kept:
            raise ValueError("nothing to predict: `target` has no parameters left after "
                             "`exclude`" + ("" if predict_buffers else
                                            " (buffers are not predicted by default)") + ".")
        first = candidates[kept[0]]
        dtype = first.dtype if first.is_floating_point() else torch.get_default_dtype()
        device = first.device
        generator = as_generator(seed, "seed")

        self.in_features = in_features
        self.hidden = hidden
        self.pooled_hidden = pooled_hidden
        self.predict_buffers = bool(predict_buffers)
        self.head_init_std = head_init_std
        self.names = tuple(kept)
        self.shapes = {name: candidates[name].shape for name in kept}
        self._dtypes = {name: candidates[name].dtype for name in kept}
        self.excluded = tuple(name for name in all_names if name not in kept)
        # Not a sub-module: the optimiser of H must not see the target's own copies.
        object.__setattr__(self, "_target", target)

        sizes = (in_features,) + hidden
        self.encoder = _mlp(sizes, activation, generator, dtype=dtype, device=device)
        self.pooled = _mlp((sizes[-1],) + pooled_hidden, activation, generator,
                           dtype=dtype, device=device)
        width = (sizes[-1],) + pooled_hidden
        width = width[-1]
        heads = []
        for name in kept:
            init = candidates[name].detach()
            head = nn.utils.skip_init(nn.Linear, width, init.numel(), dtype=dtype, device=device)
            with torch.no_grad():
                head.bias.copy_(init.reshape(-1).to(dtype))
                if head_init_std > 0:
                    head.weight.normal_(0.0, head_init_std, generator=generator)
                else:
                    head.weight.zero_()
            heads.append(head)
        self.heads = nn.ModuleList(heads)

    @property
    def target(self) -> nn.Module:
        """The target module (not a registered sub-module)."""
        return self._target

    @property
    def num_predicted(self) -> int:
        """Total number of predicted entries (sum of the predicted tensors' sizes)."""
        return sum(math.prod(s) for s in self.shapes.values())

    def shared_parameters(self) -> list[nn.Parameter]:
        """The target's parameters that are not predicted and require a gradient.

        :func:`train_ple` optimises them together with the hypernetwork; set
        ``requires_grad=False`` on a target parameter to keep it fixed instead.
        """
        kept = set(self.names)
        return [p for name, p in self.target.named_parameters()
                if name not in kept and p.requires_grad]

    def initial_weights(self) -> dict[str, Tensor]:
        """The weights the untrained hypernetwork starts from (the heads' biases, reshaped)."""
        return {name: head.bias.detach().reshape(self.shapes[name]).clone()
                for name, head in zip(self.names, self.heads)}

    def encode(self, X: Tensor, mask: Tensor | None = None) -> Tensor:
        """The pooled set representation ``h2(mean_i h1(x_i))``: ``(width,)`` or ``(B, width)``.

        Takes the same ``X`` and ``mask`` as :meth:`forward`.
        """
        X, mask = self._check_input(X, mask)
        features = self.encoder(X)
        if mask is None:
            pooled = features.mean(dim=-2)
        else:
            keep = mask.unsqueeze(-1)
            total = torch.where(keep, features, features.new_zeros(())).sum(dim=-2)
            pooled = total / mask.sum(dim=-1, keepdim=True).to(features.dtype)
        return self.pooled(pooled)

    def forward(self, X: Tensor, mask: Tensor | None = None) -> dict[str, Tensor]:
        """Predict the target's weights from a set ``X``.

        Parameters
        ----------
        X : torch.Tensor of shape (n, d) or (B, n, d)
            One set of ``n`` observations with ``d = in_features`` features, or a
            batch of ``B`` sets.
        mask : torch.Tensor of bool, shape (n,) or (B, n), optional
            True for real observations, False for padding (ragged sets). Every set
            needs at least one real observation. Padded rows are ignored, whatever
            they hold.

        Returns
        -------
        dict of str to torch.Tensor
            ``{name: tensor}`` with the target's shapes, with a leading ``B`` when
            ``X`` is batched.
        """
        z = self.encode(X, mask)
        batch = z.shape[:-1]
        out = {}
        for name, head in zip(self.names, self.heads):
            value = head(z).reshape(batch + self.shapes[name])
            if value.dtype != self._dtypes[name]:
                value = value.to(self._dtypes[name])
            out[name] = value
        return out

    def _check_input(self, X, mask):
        check_tensor(X, "X")
        if X.ndim not in (2, 3):
            raise ValueError(f"`X` must have shape (n, d) or (B, n, d); got shape "
                             f"{tuple(X.shape)}.")
        if X.shape[-1] != self.in_features:
            raise ValueError(f"`X` must have in_features={self.in_features} features in its "
                             f"last axis; got shape {tuple(X.shape)}.")
        if X.shape[-2] == 0 or X.numel() == 0:
            raise ValueError(f"`X` must hold a non-empty set (n >= 1); got shape "
                             f"{tuple(X.shape)}.")
        weight = self.encoder[0].weight if len(self.encoder) else self.heads[0].weight
        if X.dtype != weight.dtype or X.device != weight.device:
            X = X.to(dtype=weight.dtype, device=weight.device)
        if mask is None:
            if not torch.isfinite(X).all():
                raise ValueError("`X` must be finite; it contains NaN or inf.")
            return X, None
        check_tensor(mask, "mask")
        if mask.dtype != torch.bool:
            raise TypeError(f"`mask` must be a bool tensor; got dtype {mask.dtype}.")
        if mask.shape != X.shape[:-1]:
            raise ValueError(f"`mask` must have shape {tuple(X.shape[:-1])} (X without its "
                             f"feature axis); got {tuple(mask.shape)}.")
        mask = mask.to(X.device)
        if not mask.any(dim=-1).all():
            raise ValueError("`mask` leaves a set empty; every set needs at least one "
                             "True entry.")
        if not torch.isfinite(X[mask]).all():
            raise ValueError("`X` must be finite where `mask` is True; it contains NaN or inf.")
        return X, mask

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, predicts {len(self.names)} tensors "
                f"({self.num_predicted} entries), excluded={list(self.excluded)}")
