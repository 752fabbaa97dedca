"""Running a target module on predicted weights (``torch.func.functional_call`` and ``vmap``)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn
from torch.func import functional_call, vmap

from ._checks import check_module, check_weights

__all__ = ["call_with_weights", "call_batched"]


class _MethodCall(nn.Module):
    """Wraps ``module`` so that ``functional_call`` runs ``module.<method>`` instead of forward."""

    def __init__(self, module, method):
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, *args, **kwargs):
        return getattr(self.module, self.method)(*args, **kwargs)


def _check_names(target, weights):
    known = {name for name, _ in target.named_parameters(remove_duplicate=False)}
    known.update(name for name, _ in target.named_buffers(remove_duplicate=False))
    unknown = [name for name in weights if name not in known]
    if unknown:
        raise ValueError(f"`weights` names {unknown} are not parameters or buffers of "
                         f"`target`; its names are {sorted(known)}.")


def _run(target, weights, args, kwargs, method):
    if method is None:
        return functional_call(target, dict(weights), args, kwargs)
    if not callable(getattr(target, method, None)):
        raise ValueError(f"`method` {method!r} is not a method of `target` "
                         f"({type(target).__name__}).")
    wrapper = _MethodCall(target, method)
    prefixed = {"module." + name: value for name, value in weights.items()}
    return functional_call(wrapper, prefixed, args, kwargs)


def call_with_weights(target: nn.Module, weights: Mapping[str, Tensor], *args,
                      method: str | None = None, **kwargs):
    """Run ``target(*args, **kwargs)`` with its parameters replaced by ``weights``.

    A thin, checked wrapper over :func:`torch.func.functional_call`: the target's
    own tensors are untouched, gradients flow into ``weights``, and every
    parameter or buffer missing from ``weights`` (those excluded from prediction,
    shared across sets) is taken from ``target`` itself.

    Parameters
    ----------
    target : torch.nn.Module
        The module to run.
    weights : dict of str to torch.Tensor
        Replacement tensors by name, with the target's shapes (e.g. the output of
        :class:`HyperNetwork` for one set).
    *args, **kwargs
        Passed to the target's forward (or to ``method``).
    method : str, optional
        Name of another method of ``target`` to run instead of ``forward``, e.g.
        ``"sample"`` or ``"log_prob"``; it runs with the replaced weights too.

    Returns
    -------
    object
        Whatever the target (or ``method``) returns.

    Raises
    ------
    TypeError
        If ``target`` is not a module or ``weights`` not a dict of tensors.
    ValueError
        If a name in ``weights`` is not a parameter or buffer of ``target``, or
        ``method`` is not one of its methods.

    See Also
    --------
    call_batched : the same over a leading batch of weight sets.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper import call_with_weights
    >>> lin = torch.nn.Linear(2, 1)
    >>> w = {"weight": torch.tensor([[1.0, 2.0]]), "bias": torch.tensor([0.5])}
    >>> call_with_weights(lin, w, torch.tensor([[1.0, 1.0]]))
    tensor([[3.5000]])
    >>> out = call_with_weights(lin, {"bias": torch.tensor([0.0])},  # weight from `lin`
    ...                         torch.zeros(1, 2))
    >>> out.requires_grad                   # through lin.weight, a shared parameter
    True
    """
    check_module(target, "target")
    check_weights(weights, "weights")
    _check_names(target, weights)
    return _run(target, weights, args, kwargs, method)


def call_batched(target: nn.Module, batched_weights: Mapping[str, Tensor], *args,
                 method: str | None = None, args_in_dims=None, randomness: str = "error",
                 chunk_size: int | None = None, **kwargs):
    """Run ``target`` once per weight set of a batch, vectorised with :func:`torch.func.vmap`.

    Equivalent to stacking ``call_with_weights(target, {k: v[b] ...}, *args)`` over
    ``b = 0..B-1``, in one vectorised call.

    Parameters
    ----------
    target : torch.nn.Module
        The module to run.
    batched_weights : dict of str to torch.Tensor
        Replacement tensors with a common leading batch axis ``B`` (e.g. the output
        of :class:`HyperNetwork` for a batch of sets). Missing names are taken
        from ``target``, shared by all ``B`` runs.
    *args
        Inputs of the target. By default they are shared by all ``B`` runs.
    method : str, optional
        Run this method of ``target`` instead of ``forward``.
    args_in_dims : None, int or tuple, default None
        Batch axes of ``args`` as in ``vmap``'s ``in_dims``: ``None`` shares every
        argument, ``0`` maps all of them over their leading axis (each weight set
        gets its own input, e.g. its own data set), a tuple chooses per argument.
    randomness : {"error", "different", "same"}, default "error"
        ``vmap``'s treatment of random operations inside the target.
    chunk_size : int, optional
        ``vmap``'s chunk size, to bound memory.
    **kwargs
        Passed unbatched to the target.

    Returns
    -------
    object
        The target's output with a leading batch axis ``B``.

    Raises
    ------
    TypeError
        If ``target`` is not a module or ``batched_weights`` not a dict of tensors.
    ValueError
        If the tensors do not share a leading batch size, or a name is unknown.

    Notes
    -----
    BatchNorm in training mode updates running statistics in place, which ``vmap``
    cannot batch: run such targets in ``eval()`` mode, or give them
    ``track_running_stats=False`` (see
    :func:`torch.func.replace_all_batch_norm_modules_`).

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper import call_batched
    >>> lin = torch.nn.Linear(2, 1)
    >>> w = {"weight": torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]]),
    ...      "bias": torch.zeros(3, 1)}
    >>> call_batched(lin, w, torch.tensor([[2.0, 3.0]]))     # 3 weight sets, one input
    tensor([[[2.]],
    <BLANKLINE>
            [[3.]],
    <BLANKLINE>
            [[5.]]])
    """
    check_module(target, "target")
    check_weights(batched_weights, "batched_weights")
    sizes = {name: (v.shape[0] if v.ndim else None) for name, v in batched_weights.items()}
    if None in sizes.values() or len(set(sizes.values())) != 1:
        raise ValueError(f"`batched_weights` tensors must share a leading batch axis; got "
                         f"leading sizes {sizes}.")
    _check_names(target, batched_weights)
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"`randomness` must be 'error', 'different' or 'same'; got "
                         f"{randomness!r}.")

    def one(weights, *inner):
        return _run(target, weights, inner, kwargs, method)

    in_dims = (0,) + (args_in_dims if isinstance(args_in_dims, tuple)
                      else (args_in_dims,) * len(args))
    return vmap(one, in_dims=in_dims, randomness=randomness,
                chunk_size=chunk_size)(dict(batched_weights), *args)
