"""The hypernetwork H_phi, generated automatically from a target ``torch.nn.Module``."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from .._warnings import PLEWarning
from ._checks import (as_generator, check_activation, check_activation_module, check_module,
                      check_positive_int, check_tensor)

__all__ = ["HyperNetwork", "hypernetwork_size", "SIZE_WARNING_BYTES"]

#: Default ``warn_bytes`` of :class:`HyperNetwork`: a hypernetwork whose parameters
#: would take more memory than this (1 GiB) is announced by a ``PLEWarning`` before
#: anything is allocated.
SIZE_WARNING_BYTES = 2**30


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
        layers.append(check_activation_module(activation(), "activation"))
    return nn.Sequential(*layers)


CHUNK_OFFSETS = ("learned", "fixed")


def _plan(target, in_features, hidden, pooled_hidden, activation, exclude, predict_buffers,
          chunk_size=None, chunk_embedding_dim=8, chunk_hidden=32, chunk_offset="learned",
          chunk_output_scale=None):
    """Validate the architecture options and list what the hypernetwork predicts.

    Shared by :class:`HyperNetwork` and :func:`hypernetwork_size`, so both see the
    same tensors. Returns a dict: the validated options, ``kept`` (predicted names),
    ``candidates`` (name -> tensor), ``all_names``, ``dtype`` and ``device``.
    """
    check_module(target, "target")
    chunk_size = check_positive_int(chunk_size, "chunk_size", allow_none=True)
    chunk_embedding_dim = check_positive_int(chunk_embedding_dim, "chunk_embedding_dim")
    chunk_hidden = check_positive_int(chunk_hidden, "chunk_hidden")
    if chunk_offset not in CHUNK_OFFSETS:
        raise ValueError(f"`chunk_offset` must be one of {CHUNK_OFFSETS}; got "
                         f"{chunk_offset!r}.")
    if chunk_output_scale is not None:
        if isinstance(chunk_output_scale, bool) or not isinstance(chunk_output_scale,
                                                                  numbers.Real):
            raise TypeError(f"`chunk_output_scale` must be a positive number or None; got "
                            f"{type(chunk_output_scale).__name__}.")
        if not (math.isfinite(chunk_output_scale) and chunk_output_scale > 0):
            raise ValueError(f"`chunk_output_scale` must be positive and finite; got "
                             f"{chunk_output_scale}.")
        chunk_output_scale = float(chunk_output_scale)
    in_features = check_positive_int(in_features, "in_features")
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Iterable):
        raise TypeError(f"`hidden` must be a sequence of int; got {type(hidden).__name__}.")
    if isinstance(pooled_hidden, (str, bytes)) or not isinstance(pooled_hidden, Iterable):
        raise TypeError(f"`pooled_hidden` must be a sequence of int; got "
                        f"{type(pooled_hidden).__name__}.")
    hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
    pooled_hidden = tuple(check_positive_int(h, "pooled_hidden") for h in pooled_hidden)
    check_activation(activation, "activation")

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
    return {"in_features": in_features, "hidden": hidden, "pooled_hidden": pooled_hidden,
            "activation": activation, "kept": kept, "candidates": candidates,
            "all_names": all_names, "dtype": dtype, "device": first.device,
            "chunk_size": chunk_size, "chunk_embedding_dim": chunk_embedding_dim,
            "chunk_hidden": chunk_hidden, "chunk_offset": chunk_offset,
            "chunk_output_scale": chunk_output_scale}


def _linear_parameters(fan_in, fan_out):
    return fan_in * fan_out + fan_out


def _size(plan, batch_shape=None):
    """The sizes of the hypernetwork described by ``plan`` (see :func:`hypernetwork_size`).

    Counted from the shapes alone; one activation module is built to count its
    own parameters (``nn.PReLU`` has some). The heads are counted in
    :func:`_head_sizes`, the one place that knows their layout.
    """
    encoder = (plan["in_features"],) + plan["hidden"]
    pooled = encoder[-1:] + plan["pooled_hidden"]
    width = pooled[-1]
    n_layers = len(encoder) - 1 + len(pooled) - 1
    per_activation = _activation_parameters(plan["activation"])
    body = (sum(_linear_parameters(a, b) for a, b in zip(encoder[:-1], encoder[1:]))
            + sum(_linear_parameters(a, b) for a, b in zip(pooled[:-1], pooled[1:]))
            + n_layers * per_activation)
    numels = {name: plan["candidates"][name].numel() for name in plan["kept"]}
    predicted = sum(numels.values())
    heads, buffers, per_set = _head_sizes(plan, width, list(numels.values()), per_activation)
    itemsize = plan["dtype"].itemsize
    target = sum(p.numel() for p in plan["candidates"].values())
    out = {
        "parameters": body + heads,
        "bytes": (body + heads + buffers) * itemsize,
        "encoder_parameters": body,
        "head_parameters": heads,
        "buffers": buffers,
        "predicted": predicted,
        "target_parameters": target,
        "chunks": (None if plan["chunk_size"] is None
                   else math.ceil(predicted / plan["chunk_size"])),
        "dtype": plan["dtype"],
        "activation_bytes": None,
    }
    if batch_shape is not None:
        sets, n = _batch(batch_shape)
        # forward pass: each encoder layer keeps its linear output and its activation,
        # per observation; after pooling the same per set; the heads' outputs per set
        per_obs = 2 * sum(encoder[1:])
        per_set = encoder[-1] + 2 * sum(pooled[1:]) + per_set
        out["activation_bytes"] = (sets * n * per_obs + sets * per_set) * itemsize
    return out


def _activation_parameters(activation):
    return sum(p.numel() for p in check_activation_module(activation(), "activation")
               .parameters())


def _head_sizes(plan, width, numels, per_activation):
    """(parameters, buffer entries, per-set intermediate entries) of the heads.

    Per-tensor heads: one ``nn.Linear(width, numel)`` per predicted tensor.
    Chunked (``chunk_size = c``): for the ``J = ceil(P / c)`` chunks of the ``P``
    predicted entries, a ``(J, e)`` table of chunk embeddings, the shared head
    ``Linear(width + e, k)``, an activation and ``Linear(k, c)``, and the flat
    ``P``-vector of initial weights (a parameter, or a buffer when
    ``chunk_offset="fixed"``), and the 0-d buffer of the output scale. See
    :class:`_ChunkedHead`.
    """
    predicted = sum(numels)
    c = plan["chunk_size"]
    if c is None:
        return sum(_linear_parameters(width, k) for k in numels), 0, predicted
    chunks = math.ceil(predicted / c)
    e, k = plan["chunk_embedding_dim"], plan["chunk_hidden"]
    heads = (chunks * e + _linear_parameters(width + e, k) + per_activation
             + _linear_parameters(k, c))
    learned = plan["chunk_offset"] == "learned"
    heads += predicted if learned else 0
    # per set: the hidden layer before and after its activation, the chunks' outputs,
    # and the sum with the offset
    per_set = 2 * chunks * k + chunks * c + predicted
    return heads, (0 if learned else predicted) + 1, per_set


def _suggest_chunk_size(plan, warn_bytes):
    """The power of two ``chunk_size`` giving the smallest hypernetwork, and its size."""
    predicted = sum(plan["candidates"][name].numel() for name in plan["kept"])
    best = None
    for power in range(4, max(5, math.ceil(math.log2(max(predicted, 2)))) + 1):
        size = _size({**plan, "chunk_size": 2**power})
        if best is None or size["bytes"] < best[1]["bytes"]:
            best = (2**power, size)
    return best


def _batch(batch_shape):
    shape = (batch_shape,) if isinstance(batch_shape, numbers.Integral) else tuple(batch_shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"`batch_shape` must be (n,) or (B, n), the shape of `X` without its "
                         f"feature axis; got {batch_shape!r}.")
    shape = tuple(check_positive_int(v, "batch_shape") for v in shape)
    return (1,) + shape if len(shape) == 1 else shape


def _format_bytes(n):
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _size_message(size, plan, warn_bytes):
    width = ((plan["in_features"],) + plan["hidden"] + plan["pooled_hidden"])[-1]
    head = (f"each needs a head row of width {width} + 1" if plan["chunk_size"] is None
            else f"chunk_size = {plan['chunk_size']}, {size['chunks']:,} chunks")
    dtype = str(plan["dtype"]).replace("torch.", "")
    chunk, chunked = _suggest_chunk_size(plan, warn_bytes)
    if chunked["bytes"] < size["bytes"]:
        fits = ("" if chunked["bytes"] <= warn_bytes else
                ", still above warn_bytes: predict fewer tensors as well")
        advice = (f"Chunked heads need far fewer: chunk_size={chunk} gives "
                  f"{chunked['parameters']:,} parameters ({_format_bytes(chunked['bytes'])} "
                  f"with its buffers{fits}). ")
    else:
        advice = ""
    return (
        f"HyperNetwork would have {size['parameters']:,} parameters "
        f"({_format_bytes(size['bytes'])} as {dtype}), "
        f"{size['parameters'] / size['predicted']:.0f} times the {size['predicted']:,} target "
        f"entries it predicts ({head}), above "
        f"warn_bytes = {_format_bytes(warn_bytes)}; training with Adam needs about four "
        f"times that. {advice}Predict fewer tensors (`exclude`), narrow the last hidden "
        f"width, or pass warn_bytes=None to build it anyway without this warning "
        f"(ple_stats.hyper.hypernetwork_size gives these numbers without building).")


def hypernetwork_size(
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
    warn_bytes: int | None = SIZE_WARNING_BYTES,
    chunk_size: int | None = None,
    chunk_embedding_dim: int = 8,
    chunk_hidden: int = 32,
    chunk_offset: str = "learned",
    chunk_output_scale: float | None = None,
    batch_shape: int | Sequence[int] | None = None,
) -> dict:
    r"""The size of the :class:`HyperNetwork` that these options would build, without building it.

    Takes the constructor's arguments (``head_init_std``, ``seed``,
    ``warn_bytes`` and ``chunk_output_scale`` are accepted so that the same
    keywords can be passed, and do not change the size). Nothing is allocated:
    the count comes from the target's tensor shapes, so ``target`` may even live
    on the ``"meta"`` device
    (``nn.Linear(4000, 4000, device="meta")``).

    With per-tensor heads (``chunk_size=None``) every predicted target entry
    gets a row of ``width + 1`` head parameters, where ``width`` is the last of
    ``hidden`` (or of ``pooled_hidden``), so the hypernetwork has about
    ``width + 1`` times as many parameters as the entries it predicts:
    ``(96 + 1) × 16 004 000 ≈ 1.55e9`` for a 4000×4000 ``nn.Linear`` with the
    default widths (6.2 GB in float32). Chunked heads (``chunk_size = c``) need
    ``P + J·e + (width + e + 1)·k + (k + 1)·c`` head parameters for ``P``
    predicted entries in ``J = ceil(P / c)`` chunks (``e =
    chunk_embedding_dim``, ``k = chunk_hidden``; the ``P`` are a buffer instead
    with ``chunk_offset="fixed"``): about 1.01 times the target for the same
    ``nn.Linear`` with ``chunk_size=2048``.

    Parameters
    ----------
    target, in_features, hidden, pooled_hidden, activation, exclude, predict_buffers
        As for :class:`HyperNetwork`.
    chunk_size, chunk_embedding_dim, chunk_hidden, chunk_offset
        As for :class:`HyperNetwork`.
    head_init_std, seed, warn_bytes, chunk_output_scale
        Accepted (and validated) and ignored: they do not change the size.
    batch_shape : int or (n,) or (B, n), optional
        The shape of an input ``X`` without its feature axis; when given,
        ``activation_bytes`` estimates the memory of one forward pass on it.

    Returns
    -------
    dict
        ``parameters`` (int, equal to ``sum(p.numel() for p in H.parameters())``),
        ``bytes`` (the memory of the parameters and buffers, in the target's
        floating dtype; an optimiser such as Adam keeps two more copies of the
        parameters, and training their gradients one), ``encoder_parameters`` and
        ``head_parameters`` (the split of ``parameters``), ``buffers`` (entries of
        the hypernetwork's buffers: the fixed offset of
        ``chunk_offset="fixed"``, else 0), ``predicted`` (target entries
        predicted), ``target_parameters`` (entries of all candidate tensors of
        the target), ``chunks`` (number of chunks, None without
        ``chunk_size``), ``dtype``, and ``activation_bytes`` (an estimate of a forward pass's
        intermediate tensors for ``batch_shape``; training keeps them for the
        backward pass; None without ``batch_shape``).

    Raises
    ------
    TypeError, ValueError
        As the constructor, for invalid options.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper import HyperNetwork, hypernetwork_size
    >>> target = torch.nn.Linear(3, 2)
    >>> size = hypernetwork_size(target, in_features=5, hidden=(16,))
    >>> size["parameters"], size["bytes"]
    (232, 928)
    >>> sum(p.numel() for p in HyperNetwork(target, 5, hidden=(16,)).parameters())
    232
    >>> big = torch.nn.Linear(4000, 4000, device="meta")     # nothing allocated
    >>> f"{hypernetwork_size(big, in_features=1)['parameters']:.3g}"
    '1.55e+09'
    >>> f"{hypernetwork_size(big, in_features=1, chunk_size=2048)['parameters']:.4g}"
    '1.615e+07'
    """
    plan = _plan(target, in_features, hidden, pooled_hidden, activation, exclude,
                 predict_buffers, chunk_size, chunk_embedding_dim, chunk_hidden, chunk_offset,
                 chunk_output_scale)
    return _size(plan, batch_shape)


def default_chunk_output_scale(num_chunks):
    """The default ``chunk_output_scale`` of ``J`` chunks: ``1 / sqrt(J)``.

    Every parameter of the shared output layer ``(W_2, b_2)`` serves all ``J``
    chunks, and an Adam step moves it by about the learning rate whatever ``J``:
    one step changes entry ``i`` of *every* chunk by the same shared amount, in a
    direction set by the sum of all chunks' gradients, mostly unrelated to each
    entry's own. Unscaled, that shared drift was as large as the learned offset's
    own step and left the digits Hyper-VAE 0.3 nats per image behind per-tensor
    heads at equal steps; scaled by ``1 / sqrt(J)`` it reached them (docs/hyper.rst,
    "Large targets").
    """
    return 1.0 / math.sqrt(num_chunks)


class _ChunkedHead(nn.Module):
    r"""One shared head that predicts the flat vector of all target entries chunk by chunk.

    The ``P`` predicted entries (the target's tensors flattened and concatenated
    in their named order) are cut into ``J = ceil(P / c)`` chunks of ``c``; chunk
    ``j`` is

    .. math::

        \theta_j = \theta^{(0)}_j + s\,\bigl(W_2\, a\bigl(W_1 [z, e_j] + b_1\bigr) + b_2\bigr),

    with the pooled set encoding ``z``, a learned embedding ``e_j`` per chunk, a
    shared hidden layer ``(W_1, b_1)`` of width ``k`` with activation ``a`` and a
    shared output layer ``(W_2, b_2)`` of ``c`` outputs; the last chunk is
    truncated to ``P``; the shared part is multiplied by ``output_scale``
    (``chunk_output_scale``, default ``1 / sqrt(J)``). ``bias`` holds the flat initial weights
    :math:`\theta^{(0)}` (a parameter, or a buffer when not ``learned``), and the
    output layer starts at zero (or small), so the untrained head outputs exactly
    :math:`\theta^{(0)}` for every input.
    ``W_1 [z, e_j]`` is computed as ``W_1^z z + W_1^e e_j``: the chunk part once
    per call, whatever the number of sets.
    """

    def __init__(self, width, init, *, chunk_size, embedding_dim, hidden, activation,
                 head_init_std, learned, output_scale, generator, dtype, device):
        super().__init__()
        numel = init.numel()
        self.width, self.numel, self.chunk_size = width, numel, chunk_size
        self.num_chunks = math.ceil(numel / chunk_size)
        scale = (default_chunk_output_scale(self.num_chunks) if output_scale is None
                 else output_scale)
        # A buffer, so that the state dict carries it: a network loaded from a state dict
        # computes the function that was saved whatever scale it was built with.
        self.register_buffer("output_scale", torch.tensor(scale, dtype=dtype, device=device))
        self.embeddings = nn.Parameter(torch.empty(self.num_chunks, embedding_dim,
                                                   dtype=dtype, device=device))
        with torch.no_grad():
            self.embeddings.normal_(0.0, 1.0, generator=generator)
        self.hidden = _linear(width + embedding_dim, hidden, generator, dtype=dtype,
                              device=device)
        self.activation = check_activation_module(activation(), "activation")
        self.out = nn.utils.skip_init(nn.Linear, hidden, chunk_size, dtype=dtype,
                                      device=device)
        with torch.no_grad():
            self.out.bias.zero_()
            if head_init_std > 0:
                self.out.weight.normal_(0.0, head_init_std, generator=generator)
            else:
                self.out.weight.zero_()
        offset = init.detach().reshape(-1).to(dtype=dtype, device=device).clone()
        if learned:
            self.bias = nn.Parameter(offset)
        else:
            self.register_buffer("bias", offset)

    def forward(self, z):
        """Flat predicted entries, shape ``z.shape[:-1] + (P,)``."""
        weight = self.hidden.weight
        code = nn.functional.linear(z, weight[:, :self.width], self.hidden.bias)
        per_chunk = nn.functional.linear(self.embeddings, weight[:, self.width:])
        hidden = self.activation(code.unsqueeze(-2) + per_chunk)      # (*batch, J, k)
        out = self.out(hidden).flatten(-2)                           # (*batch, J * c)
        if out.shape[-1] != self.numel:
            out = out[..., :self.numel]
        return torch.addcmul(self.bias, out, self.output_scale)  # one pass: offset + s out

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # State dicts saved before the scale existed computed offset + out: scale 1.
        key = prefix + "output_scale"
        if prefix + "bias" in state_dict and key not in state_dict:
            state_dict[key] = torch.ones((), dtype=self.output_scale.dtype,
                                         device=self.output_scale.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self):
        return (f"chunk_size={self.chunk_size}, chunks={self.num_chunks}, entries={self.numel}, "
                f"output_scale={float(self.output_scale):.4g}")


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

    Per-tensor heads hold ``width + 1`` parameters per predicted target entry
    (97 with the default widths). With ``chunk_size = c`` one shared head
    predicts all entries instead, ``c`` at a time (chunked heads, as
    hypnettorch's ``ChunkedHMLP``): the flattened vector :math:`\theta` of the
    ``P`` predicted entries (in the target's named order) is cut into
    ``J = ceil(P / c)`` chunks, and chunk ``j`` is

    .. math::

        \theta_j = \theta^{(0)}_j + s\,\bigl(W_2\, a\bigl(W_1 [z, e_j] + b_1\bigr) + b_2\bigr),

    with the pooled encoding :math:`z = h_2(\frac1n\sum_i h_1(x_i))`, a learned
    chunk embedding :math:`e_j` of size ``chunk_embedding_dim``, a shared hidden
    layer of width ``chunk_hidden`` (activation :math:`a`) and a shared output
    layer :math:`(W_2, b_2)` of ``c`` outputs, scaled by ``s`` (``chunk_output_scale``,
    default :math:`1/\sqrt{J}`); the last chunk is truncated. The
    offset :math:`\theta^{(0)}` is the target's flattened initial weights and
    :math:`W_2, b_2` start at zero, so the untrained hypernetwork again outputs
    exactly the target's initialisation. The output is the same named dict.

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
    activation : class or factory of torch.nn.Module, default torch.nn.ReLU
        Activation class used in :math:`h_1` and :math:`h_2`, called once per
        layer (``nn.ReLU``, or ``lambda: nn.LeakyReLU(0.2)``); an instance such as
        ``nn.ReLU()`` is refused.
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
    warn_bytes : int or None, default 2**30 (1 GiB)
        Warn (:class:`~ple_stats.PLEWarning`, with the numbers) before allocating
        a hypernetwork whose parameters would take more memory than this; None
        never warns. The heads hold ``width + 1`` parameters per predicted target
        entry, so a large target gives a much larger hypernetwork: see
        :func:`hypernetwork_size`.
    chunk_size : int, optional
        None (default): one linear head per target tensor (the layout above).
        An int ``c``: chunked heads, one shared head producing ``c`` entries at a
        time; the heads then have about ``P + (chunk_hidden + 1) c +
        chunk_embedding_dim · P / c`` parameters instead of ``(width + 1) P``.
        The warning of ``warn_bytes`` suggests a value.
    chunk_embedding_dim : int, default 8
        Size of the learned embedding of each chunk (with ``chunk_size``).
    chunk_hidden : int, default 32
        Width of the shared head's hidden layer (with ``chunk_size``): the
        set-dependent part of every chunk lies in the span of the ``chunk_hidden``
        columns of :math:`W_2` (and :math:`b_2`); each chunk has its own
        coefficients through its embedding. The cost of a forward pass is about
        ``chunk_hidden`` multiply-adds per predicted entry and set.
    chunk_offset : {"learned", "fixed"}, default "learned"
        With ``chunk_size``: whether the offset :math:`\theta^{(0)}` is a trained
        parameter (``heads[0].bias``; then the set-independent part of the
        weights can move anywhere, as the biases of per-tensor heads do, and the
        hypernetwork has about as many parameters as the target) or a fixed
        buffer (every change from the initial weights goes through the shared
        head: far fewer parameters, less capacity).
    chunk_output_scale : float > 0, optional
        With ``chunk_size``: the factor ``s`` of the shared head's output,
        :math:`\theta_j = \theta^{(0)}_j + s\,(W_2 a(\cdot) + b_2)`. Default
        ``1 / sqrt(J)`` for ``J`` chunks: the output layer serves every chunk, so
        each of its Adam steps moves all ``J`` chunks at once; unscaled, that shared
        drift slowed training (measured on the digits VAE: 0.3 nats per image
        behind per-tensor heads at equal steps, level with the default; see
        the hypernetwork page of the user guide, "Large targets").

    Attributes
    ----------
    names : tuple of str
        Names of the predicted tensors, in the target's order.
    shapes : dict of str to torch.Size
        Their shapes.
    excluded : tuple of str
        Names of the target's parameters and buffers that are not predicted.
    heads : torch.nn.ModuleList
        The per-tensor linear heads, in the order of ``names``; with
        ``chunk_size``, a single shared chunked head whose ``bias`` is the flat
        offset.
    chunk_size : int or None
        As given.

    Raises
    ------
    TypeError
        If ``target`` is not a ``torch.nn.Module``, or ``activation`` is an
        instance rather than a class.
    ValueError
        If ``in_features``, a width or a chunk option is not positive,
        ``chunk_offset`` is unknown, an ``exclude`` name matches nothing, or
        nothing is left to predict.

    Warns
    -----
    PLEWarning
        Before allocating, when the parameters would exceed ``warn_bytes``.

    See Also
    --------
    hypernetwork_size : the parameter count and memory, without building.
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
    >>> Hc = HyperNetwork(target, in_features=5, hidden=(16, 16), chunk_size=8, seed=0)
    >>> Hc.heads[0].num_chunks, tuple(Hc(X)["0.weight"].shape)    # 26 entries, 4 chunks
    (4, (4, 3))
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
        warn_bytes: int | None = SIZE_WARNING_BYTES,
        chunk_size: int | None = None,
        chunk_embedding_dim: int = 8,
        chunk_hidden: int = 32,
        chunk_offset: str = "learned",
        chunk_output_scale: float | None = None,
    ):
        super().__init__()
        plan = _plan(target, in_features, hidden, pooled_hidden, activation, exclude,
                     predict_buffers, chunk_size, chunk_embedding_dim, chunk_hidden,
                     chunk_offset, chunk_output_scale)
        in_features, hidden, pooled_hidden = (plan["in_features"], plan["hidden"],
                                              plan["pooled_hidden"])
        head_init_std = float(head_init_std)
        if not (math.isfinite(head_init_std) and head_init_std >= 0):
            raise ValueError(f"`head_init_std` must be non-negative; got {head_init_std}.")
        if warn_bytes is not None:
            if isinstance(warn_bytes, bool) or not isinstance(warn_bytes, numbers.Real):
                raise TypeError(f"`warn_bytes` must be a number of bytes or None; got "
                                f"{type(warn_bytes).__name__}.")
            if not warn_bytes >= 0:
                raise ValueError(f"`warn_bytes` must be non-negative; got {warn_bytes}.")
        size = _size(plan)
        if warn_bytes is not None and size["bytes"] > warn_bytes:
            # Before anything is allocated: for a target far beyond memory, this is
            # what the user sees first.
            warnings.warn(_size_message(size, plan, warn_bytes), PLEWarning, stacklevel=2)
        candidates, kept = plan["candidates"], plan["kept"]
        all_names = plan["all_names"]
        dtype, device = plan["dtype"], plan["device"]
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
        self.chunk_size = plan["chunk_size"]
        starts = [0]
        for name in kept:
            starts.append(starts[-1] + candidates[name].numel())
        self._slices = {name: (a, b) for name, a, b in zip(kept, starts[:-1], starts[1:])}
        self._numels = [b - a for a, b in self._slices.values()]
        if self.chunk_size is not None:
            init = torch.cat([candidates[name].detach().reshape(-1).to(dtype)
                              for name in kept])
            self.heads = nn.ModuleList([_ChunkedHead(
                width, init, chunk_size=self.chunk_size,
                embedding_dim=plan["chunk_embedding_dim"], hidden=plan["chunk_hidden"],
                activation=activation, head_init_std=head_init_std,
                learned=plan["chunk_offset"] == "learned",
                output_scale=plan["chunk_output_scale"], generator=generator,
                dtype=dtype, device=device)])
            return
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
        """The weights the untrained hypernetwork starts from (the heads' biases, reshaped).

        With chunked heads: the offset ``heads[0].bias`` cut into the named tensors.
        """
        if self.chunk_size is not None:
            flat = self.heads[0].bias.detach()
            return {name: flat[a:b].reshape(self.shapes[name]).clone()
                    for name, (a, b) in self._slices.items()}
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
        if self.chunk_size is not None:
            # one split (its backward is one concatenation), not a slice per tensor
            # (each slice's backward would fill a zero tensor of all P entries)
            parts = self.heads[0](z).split(self._numels, dim=-1)
            for name, part in zip(self.names, parts):
                value = part.reshape(batch + self.shapes[name])
                if value.dtype != self._dtypes[name]:
                    value = value.to(self._dtypes[name])
                out[name] = value
            return out
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
        weight = self.encoder[0].weight if len(self.encoder) else self.heads[0].bias
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
        chunks = "" if self.chunk_size is None else f", chunk_size={self.chunk_size}"
        return (f"in_features={self.in_features}, predicts {len(self.names)} tensors "
                f"({self.num_predicted} entries){chunks}, excluded={list(self.excluded)}")
