"""PLE training of a hypernetwork: task loss + penalty * PLE penalty, checkpoint and resume."""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from .._lib.deprecation import renamed_keywords
from .._lib.files import atomic_write
from .._lib.progress import progress_bar
from ._checks import (as_device, as_generator, check_nonneg_float, check_positive_float,
                      check_positive_int)
from ._network import HyperNetwork
from ._penalty import PENALTY_KINDS, ple_penalty

__all__ = ["TrainHistory", "train_ple"]

_FORMAT = "ple_stats.hyper.checkpoint/2"
# A checkpoint file is this header line, a digest line, then the torch.save payload:
#   b"ple_stats.hyper checkpoint\n" b"sha256:<64 hex digits of the payload>\n" payload
_MAGIC = b"ple_stats.hyper checkpoint\n"
_DIGEST_LINE = re.compile(rb"sha256:([0-9a-f]{64})\n")
_HEADER_SIZE = len(_MAGIC) + len(b"sha256:") + 64 + 1
_START_OVER = ("delete it to start over (or train with resume=False, which overwrites it)")
_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


@dataclass(frozen=True)
class TrainHistory:
    """What :func:`train_ple` did, one entry per epoch (over all runs when resumed).

    Attributes
    ----------
    loss : tuple of float
        Mean total loss (task loss + weight * PLE penalty) over the epoch's steps.
    task_loss : tuple of float
        Mean task loss.
    penalty : tuple of float
        Mean PLE penalty; NaN when its weight is 0 (the synthetic pass is skipped).
    epochs : int
        Epochs completed in total.
    steps : int
        Optimiser steps taken in total.
    resumed_from : int
        Epoch the last call started from (0 for a fresh run).
    """

    loss: tuple
    task_loss: tuple
    penalty: tuple
    epochs: int
    steps: int
    resumed_from: int = 0

    def as_dict(self) -> dict:
        """Plain-dict form (lists of floats), e.g. for json."""
        out = asdict(self)
        for key in ("loss", "task_loss", "penalty"):
            out[key] = list(out[key])
        return out


def _batches(data, batch_size, drop_last, shuffle, generator):
    """Yield the sets of one epoch: tensors (n, d) or (B, n, d)."""
    if isinstance(data, Tensor):
        size = data.shape[0]
        order = torch.randperm(size, generator=generator) if shuffle else torch.arange(size)
        step = size if batch_size is None else batch_size
        for start in range(0, size, step):
            idx = order[start:start + step]
            if drop_last and idx.numel() < step:
                return
            yield data[idx.to(data.device)]
    else:
        for item in data:
            if isinstance(item, (list, tuple)) and len(item) == 1:
                item = item[0]
            if not isinstance(item, Tensor):
                raise TypeError(f"`data` must yield tensors of shape (n, d) or (B, n, d); got "
                                f"{type(item).__name__}.")
            yield item


def _check_data(data, in_features):
    if isinstance(data, Tensor):
        if data.ndim not in (2, 3):
            raise ValueError(f"`data` must have shape (N, d) (one data set; batches of points "
                             f"are the sets) or (N, n, d) (N sets); got shape "
                             f"{tuple(data.shape)}.")
        if data.shape[-1] != in_features:
            raise ValueError(f"`data` must have in_features={in_features} features in its last "
                             f"axis; got shape {tuple(data.shape)}.")
        if data.numel() == 0:
            raise ValueError(f"`data` must not be empty; got shape {tuple(data.shape)}.")
        return
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise TypeError(f"`data` must be a torch.Tensor or a re-iterable of tensors (a list, a "
                        f"DataLoader); got {type(data).__name__}.")
    if iter(data) is data:
        raise TypeError("`data` must be re-iterable (a tensor, a list, a DataLoader): it is "
                        "iterated once per epoch; got a one-shot iterator.")


def _make_optimizer(optimizer, params, lr, optimizer_kwargs):
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in _OPTIMIZERS:
            raise ValueError(f"`optimizer` must be one of {sorted(_OPTIMIZERS)} or a "
                             f"torch.optim.Optimizer class; got {optimizer!r}.")
        cls = _OPTIMIZERS[key]
    elif isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        cls = optimizer
    else:
        raise TypeError(f"`optimizer` must be a name or a torch.optim.Optimizer class; got "
                        f"{optimizer!r}.")
    return cls(params, lr=lr, **dict(optimizer_kwargs or {}))


def _save_atomic(state, path):
    """torch.save into memory, then an atomic write of header + digest + bytes (never half a file).

    The sha256 digest of the payload is written before it, so that
    :func:`_load_checkpoint` can tell a complete file from a truncated or damaged one.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = _MAGIC + b"sha256:" + hashlib.sha256(payload).hexdigest().encode() + b"\n"
    atomic_write(path, header + payload)


def _load_checkpoint(path):
    """The state saved by :func:`train_ple` in ``path``, verified against its digest.

    Loads with ``weights_only=True``. A file that is empty, truncated, damaged,
    of an older format or not a checkpoint at all raises ``ValueError`` naming
    the file and saying how to start over.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        data = fh.read()

    def refuse(reason):
        return ValueError(f"`checkpoint` file {path!r} cannot be resumed: {reason}; "
                          f"{_START_OVER}.")

    if not data.startswith(_MAGIC):
        if not data:
            raise refuse("it is empty (0 bytes)")
        if data.startswith(b"PK"):
            raise refuse("it is a plain torch file without the digest header of train_ple "
                         "checkpoints (not written by this version of train_ple)")
        raise refuse("it does not start with the train_ple checkpoint header: it is not a "
                     "checkpoint, or it is damaged")
    match = _DIGEST_LINE.fullmatch(data[len(_MAGIC):_HEADER_SIZE])
    if match is None:
        raise refuse("its digest line is missing or damaged (the file is truncated or "
                     "corrupted)")
    payload = data[_HEADER_SIZE:]
    if hashlib.sha256(payload).hexdigest().encode() != match.group(1):
        raise refuse(f"its contents ({len(payload)} bytes) do not match the sha256 digest "
                     f"written with them: the file is truncated or corrupted")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means: not readable here
        # `from None`: torch's own message would advise weights_only=False, which
        # would run arbitrary code from the file.
        raise refuse(f"torch cannot read its contents ({type(exc).__name__}); it may have "
                     f"been written by another version of torch") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise refuse("it does not hold a train_ple checkpoint of this version")
    return state


def _plain(value):
    """``value`` reduced to what is compared between runs: numbers, str, None, containers.

    Anything else (a function, a tensor) becomes its type's name, so that a
    snapshot never holds memory addresses and loads with ``weights_only=True``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return f"<{type(value).__name__}>"


# LR-scheduler state entries that are bookkeeping, not settings (the same in every
# freshly built scheduler).
_SCHEDULER_BOOKKEEPING = {"_step_count", "_is_initial", "_get_lr_called_within_step",
                          "_last_lr"}


def _settings(opt, sched):
    """The optimiser's and the scheduler's settings at construction, as flat config entries.

    Taken before any step, they hold every constructor argument (betas, momentum,
    weight decay; step size, gamma, T_max, ...), and equal settings give equal
    entries, so a resumed run can be compared with the saved one.
    """
    out = {"optimizer": f"{type(opt).__module__}.{type(opt).__qualname__}"}
    groups = opt.state_dict()["param_groups"]
    for i, group in enumerate(groups):
        prefix = "optimizer" if len(groups) == 1 else f"optimizer[{i}]"
        for key, value in group.items():
            if key not in ("params", "lr", "initial_lr"):
                out[f"{prefix}.{key}"] = _plain(value)
    if sched is not None:
        out["scheduler"] = f"{type(sched).__module__}.{type(sched).__qualname__}"
        for key, value in sched.state_dict().items():
            if key not in _SCHEDULER_BOOKKEEPING:
                out[f"scheduler.{key}"] = _plain(value)
    return out


#: Keys of a checkpoint's saved settings (their former keyword names) -> the keywords now.
_CONFIG_NAMES = {"lam": "penalty", "penalty": "penalty_form"}


@renamed_keywords(penalty_form_from_str=True, lam="penalty")
def train_ple(
    hypernetwork: HyperNetwork,
    task_loss: Callable[[dict, Tensor], Tensor],
    sampler: Callable[[dict, int, torch.Generator], Tensor] | None,
    data,
    *,
    penalty: float = 0.1,
    m: int = 1,
    epochs: int = 10,
    batch_size: int | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
    lr: float = 1e-3,
    optimizer: str | type = "adam",
    optimizer_kwargs: Mapping | None = None,
    scheduler: Callable | None = None,
    penalty_form: str = "l1",
    detach_synthetic: bool = True,
    clip_grad_norm: float | None = None,
    device: str | torch.device | None = None,
    seed: int | torch.Generator | None = 0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    progress: bool | None = None,
) -> TrainHistory:
    r"""Train a hypernetwork with the PLE penalty (the paper's eq. 5).

    For each batch of real sets :math:`X`: predict :math:`\theta = H_\phi(X)`,
    draw ``m`` synthetic sets :math:`Y_i \sim P(\cdot; \theta)` of the same size
    with ``sampler``, and minimise

    .. math::

        \text{loss} = \text{task\_loss}(\theta, X)
        + \lambda\, \operatorname{pen}\bigl(H_\phi(X), \{H_\phi(Y_i)\}_{i=1}^m\bigr)

    over the hypernetwork's parameters :math:`\phi` (and the target's shared,
    non-predicted parameters), with :func:`ple_penalty`. ``penalty = 0`` is plain
    hypernetwork training (the MLE baseline) and skips the synthetic pass.

    Parameters
    ----------
    hypernetwork : HyperNetwork
        The model to train (in place). Its ``target`` supplies the shared tensors.
    task_loss : callable ``(weights, X) -> scalar tensor``
        The NLL (or negative ELBO) of the real batch ``X`` under the target with
        the predicted ``weights`` (a dict, batched with a leading ``B`` when ``X``
        is ``(B, n, d)``); use :func:`call_with_weights` / :func:`call_batched`
        inside it to run the target.
    sampler : callable ``(weights, n, generator) -> tensor`` or None
        Draws one synthetic batch from the target with ``weights``: shape
        ``(n, d)`` for unbatched weights, ``(B, n, d)`` for weights with a leading
        ``B`` (exactly the shape of ``X``). It must draw its randomness from
        ``generator``. May be None when ``penalty == 0``.
    data : torch.Tensor or re-iterable of tensors
        ``(N, n, d)``: ``N`` sets of ``n`` observations, taken ``batch_size`` sets
        at a time (batched forward). ``(N, d)``: one data set whose minibatches
        of ``batch_size`` points are the sets. Otherwise an iterable (list,
        DataLoader) yielding sets ``(n, d)`` or batches ``(B, n, d)``, iterated
        once per epoch as given (``batch_size`` and ``shuffle`` then do not apply).
    penalty : float, default 0.1
        Penalty weight :math:`\lambda \ge 0` (the paper uses 0.1); 0 is plain
        training. Formerly ``lam`` (deprecated alias, one release).
    m : int, default 1
        Number of synthetic sets per real set.
    epochs : int, default 10
        Total number of epochs (a resumed run continues up to this number).
    batch_size : int, optional
        Sets (3-D ``data``) or points (2-D ``data``) per step; default: all of
        ``data`` in one step.
    shuffle : bool, default True
        Reshuffle tensor ``data`` every epoch (with the seeded generator).
    drop_last : bool, default False
        Drop a final incomplete batch of tensor ``data``.
    lr : float, default 1e-3
        Learning rate.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch.optim.Optimizer class
        The optimiser, built as ``optimizer(params, lr=lr, **optimizer_kwargs)``.
    optimizer_kwargs : dict, optional
        Further optimiser settings.
    scheduler : callable ``optimizer -> LRScheduler``, optional
        Builds a learning-rate scheduler, stepped once after every epoch and
        saved in the checkpoint, e.g.
        ``lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)``.
    penalty_form : {"l1", "l2", "relative", "l2_unbiased"}, default "l1"
        ``kind`` of :func:`ple_penalty` (``"l2_unbiased"`` needs ``m >= 2``).
        Formerly a string ``penalty`` (still accepted for one release, with a
        ``DeprecationWarning``).
    detach_synthetic : bool, default True
        Treat the synthetic sets as data (no gradient through the sampling). Set
        False when ``sampler`` is reparameterised (e.g. ``mu + sigma * z``): the
        gradient then also flows from :math:`H(Y)` through :math:`Y` into
        :math:`\theta`, which is what moves :math:`\theta` towards the
        recursive-stability constraint.
    clip_grad_norm : float, optional
        Clip the global gradient norm to this value before each step.
    device : str or torch.device, optional
        Default: CUDA when available, else CPU. The hypernetwork and its target
        are moved there; data batches are moved per step.
    seed : None, int or torch.Generator
        Source of all randomness of the loop (shuffling and the sampler's
        draws); the global torch random state is never used. Default 0, as
        every trainer of the package; None: fresh entropy (not reproducible).
    checkpoint : path, optional
        File written atomically (temporary file, then ``os.replace``) every
        ``checkpoint_every`` epochs and after the last one. It holds the
        hypernetwork, the target's state, the optimiser, the random-generator
        states, the epoch, the history and the settings, saved with
        ``torch.save`` behind a header line with the sha256 digest of those bytes.
    checkpoint_every : int, default 1
        Epochs between checkpoints.
    resume : bool, default False
        Continue from ``checkpoint`` when that file exists (start fresh when it
        does not). The continued run is identical to an uninterrupted one with the
        same settings (tensor ``data``, or a deterministic iterable). Settings
        that change how training continues must equal the saved ones, or
        ``ValueError`` lists the differences: ``penalty``, ``m``, ``batch_size``,
        ``shuffle``, ``drop_last``, ``lr``, ``optimizer`` and every optimiser
        setting (``optimizer_kwargs`` and the optimiser's defaults), the
        scheduler's class and settings (as built, e.g. ``T_max``), ``penalty_form``,
        ``detach_synthetic``, ``clip_grad_norm`` and the device type. Allowed to
        change: ``epochs`` (train on up to the new total), ``checkpoint_every``,
        ``progress``, and ``seed`` (unused when resuming: the random-generator
        states come from the checkpoint). ``data``, ``task_loss`` and
        ``sampler`` cannot be checked: pass the same ones. The file is read
        with ``weights_only=True`` after its digest is verified; an empty,
        truncated or damaged file raises ``ValueError`` naming it (delete it to
        start over).
    progress : bool, optional
        Show a tqdm progress bar over epochs; default: only when stderr is a
        terminal.

    Returns
    -------
    TrainHistory
        Per-epoch mean loss, task loss and penalty.

    Raises
    ------
    TypeError
        For arguments of the wrong type (message names the argument).
    ValueError
        For invalid values (``penalty < 0``, ``m < 1``, wrong data shape, a sampler
        output of the wrong shape, an unavailable ``device``, a checkpoint from
        different settings, or one that is truncated or damaged).
    FloatingPointError
        If the loss or the synthetic data become NaN or infinite; the message
        names the epoch and step.

    See Also
    --------
    HyperNetwork, ple_penalty, call_with_weights, call_batched

    Notes
    -----
    The task loss and the penalty are averaged as returned by ``task_loss`` and
    :func:`ple_penalty`; choose ``penalty`` relative to the task loss's scale (a mean
    per-observation NLL with ``penalty = 0.1`` reproduces the paper's setting).
    For ``m > 1`` the ``m`` synthetic sets go through the hypernetwork in one
    batched pass.

    Examples
    --------
    Fit a Gaussian's ``(mu, log_sigma)`` from sets of 10 points:

    >>> import torch
    >>> from ple_stats.hyper import HyperNetwork, train_ple
    >>> from ple_stats.hyper.examples import GaussianModel, gaussian_nll, gaussian_sampler
    >>> g = torch.Generator().manual_seed(0)
    >>> sets = torch.randn(256, 10, 1, generator=g)          # 256 sets, n = 10
    >>> H = HyperNetwork(GaussianModel(), in_features=1, hidden=(16, 16), seed=0)
    >>> hist = train_ple(H, gaussian_nll, gaussian_sampler, sets, penalty=0.1, epochs=3,
    ...                  batch_size=64, device="cpu", seed=0, progress=False)
    >>> hist.epochs, hist.steps, len(hist.penalty)
    (3, 12, 3)
    """
    if not isinstance(hypernetwork, HyperNetwork):
        raise TypeError(f"`hypernetwork` must be a HyperNetwork; got "
                        f"{type(hypernetwork).__name__}.")
    if not callable(task_loss):
        raise TypeError(f"`task_loss` must be callable (weights, X) -> loss; got "
                        f"{type(task_loss).__name__}.")
    lam = check_nonneg_float(penalty, "penalty")
    m = check_positive_int(m, "m")
    epochs = check_positive_int(epochs, "epochs", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size", allow_none=True)
    lr = check_positive_float(lr, "lr")
    clip_grad_norm = check_positive_float(clip_grad_norm, "clip_grad_norm", allow_none=True)
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if lam > 0 and not callable(sampler):
        raise TypeError(f"`sampler` must be callable (weights, n, generator) -> tensor when "
                        f"penalty > 0; got {type(sampler).__name__}.")
    if penalty_form not in PENALTY_KINDS:
        raise ValueError(f"`penalty_form` must be one of {PENALTY_KINDS}; got "
                         f"{penalty_form!r}.")
    if penalty_form == "l2_unbiased" and m < 2 and lam > 0:
        raise ValueError(f"`m` must be at least 2 with penalty_form='l2_unbiased'; got {m}.")
    if progress not in (None, True, False):
        raise TypeError(f"`progress` must be None, True or False; got {progress!r}.")
    _check_data(data, hypernetwork.in_features)
    device = as_device(device)
    if checkpoint is not None and os.path.isdir(checkpoint):
        raise ValueError(f"`checkpoint` must be a file path; {os.fspath(checkpoint)!r} is a "
                         f"directory.")

    H = hypernetwork
    target = H.target
    H.to(device)
    target.to(device)
    params = list(H.parameters()) + H.shared_parameters()
    opt = _make_optimizer(optimizer, params, lr, optimizer_kwargs)
    if scheduler is not None and not callable(scheduler):
        raise TypeError(f"`scheduler` must be callable optimizer -> LRScheduler; got "
                        f"{type(scheduler).__name__}.")
    sched = None if scheduler is None else scheduler(opt)

    # Two generators: shuffling on the CPU, the sampler's draws on `device`.
    if isinstance(seed, torch.Generator):
        sample_gen = as_generator(seed, "seed", device=device)
        shuffle_seed = int(torch.randint(0, 2**62, (), generator=sample_gen,
                                         device=sample_gen.device))
        shuffle_gen = torch.Generator().manual_seed(shuffle_seed)
    else:
        shuffle_gen = as_generator(seed, "seed")
        sample_seed = int(torch.randint(0, 2**62, (), generator=shuffle_gen))
        sample_gen = torch.Generator(device=device).manual_seed(sample_seed)

    # Everything that determines how training continues: a resumed run must match.
    # the keys of the saved settings keep their former names: old checkpoints stay valid
    config = {"lam": lam, "m": m, "batch_size": batch_size, "penalty": penalty_form,
              "detach_synthetic": bool(detach_synthetic), "shuffle": bool(shuffle),
              "drop_last": bool(drop_last), "lr": lr, "clip_grad_norm": clip_grad_norm,
              "device": device.type, **_settings(opt, sched)}
    record = {"loss": [], "task_loss": [], "penalty": []}
    start_epoch, steps = 0, 0
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        state = _load_checkpoint(checkpoint)
        if (sched is None) != (state.get("scheduler") is None):
            raise ValueError("`checkpoint` was written " + ("with" if sched is None else
                             "without") + " a `scheduler`; resume with the same settings.")
        saved = state["config"]
        changed = {_CONFIG_NAMES.get(k, k): (saved.get(k), config.get(k))
                   for k in {**saved, **config} if saved.get(k) != config.get(k)}
        if changed:
            raise ValueError(f"`checkpoint` was written with other settings "
                             f"(saved, now): {dict(sorted(changed.items()))}; resume with "
                             f"the same settings (or start over with resume=False).")
        try:
            H.load_state_dict(state["hypernetwork"])
            target.load_state_dict(state["target"])
        except RuntimeError as exc:
            raise ValueError(f"`checkpoint` holds the state of another hypernetwork or "
                             f"target (different architecture): {exc}") from None
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        shuffle_gen.set_state(state["shuffle_rng"])
        sample_gen.set_state(state["sample_rng"])
        record = {k: list(v) for k, v in state["history"].items()}
        start_epoch, steps = int(state["epoch"]), int(state["step"])
    resumed_from = start_epoch

    bar = progress_bar(epochs, initial=start_epoch, progress=progress, desc="train_ple",
                       unit="epoch")
    H.train()
    try:
        for epoch in range(start_epoch, epochs):
            sums = {"loss": 0.0, "task_loss": 0.0, "penalty": 0.0}
            n_steps = 0
            for step, X in enumerate(_batches(data, batch_size, drop_last, shuffle,
                                              shuffle_gen)):
                X = X.to(device)
                if X.ndim not in (2, 3) or X.shape[-1] != H.in_features:
                    raise ValueError(f"`data` yielded a batch of shape {tuple(X.shape)}; "
                                     f"expected (n, {H.in_features}) or "
                                     f"(B, n, {H.in_features}).")
                loss, task, pen = _step(H, opt, params, task_loss, sampler, X, lam=lam, m=m,
                                        kind=penalty_form, detach=detach_synthetic,
                                        generator=sample_gen, clip=clip_grad_norm,
                                        where=(epoch, step))
                sums["loss"] += loss.item()
                sums["task_loss"] += task.item()
                sums["penalty"] += math.nan if pen is None else pen.item()
                n_steps += 1
                steps += 1
            if n_steps == 0:
                raise ValueError(f"`data` yielded no batch in epoch {epoch}"
                                 + (" (drop_last=True with fewer points than batch_size)"
                                    if drop_last else "") + ".")
            for key in record:
                record[key].append(sums[key] / n_steps)
            if sched is not None:
                sched.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss'][-1]:.4g}",
                                penalty=f"{record['penalty'][-1]:.3g}")
            done = epoch + 1
            if checkpoint is not None and (done % checkpoint_every == 0 or done == epochs):
                _save_atomic({
                    "format": _FORMAT,
                    "epoch": done,
                    "step": steps,
                    "config": config,
                    "hypernetwork": H.state_dict(),
                    "target": target.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": None if sched is None else sched.state_dict(),
                    "shuffle_rng": shuffle_gen.get_state(),
                    "sample_rng": sample_gen.get_state(),
                    "history": record,
                }, checkpoint)
    finally:
        if bar is not None:
            bar.close()
    return TrainHistory(loss=tuple(record["loss"]), task_loss=tuple(record["task_loss"]),
                        penalty=tuple(record["penalty"]), epochs=len(record["loss"]),
                        steps=steps, resumed_from=resumed_from)


def _step(H, opt, params, task_loss, sampler, X, *, lam, m, kind, detach, generator, clip,
          where=(0, 0)):
    """One optimisation step on the real batch ``X``; returns (loss, task loss, penalty or None).

    This is exactly what :func:`train_ple` runs per step (the benchmark times it).
    """
    weights = H(X)
    task = task_loss(weights, X)
    if not isinstance(task, Tensor) or task.numel() != 1:
        raise TypeError(f"`task_loss` must return a scalar tensor; got {type(task).__name__}"
                        + (f" of shape {tuple(task.shape)}" if isinstance(task, Tensor) else "")
                        + ".")
    task = task.reshape(())
    if lam > 0:
        pen = _penalty_term(H, sampler, weights, X, m, kind, detach, generator, *where)
        loss = task + lam * pen
    else:
        pen = None
        loss = task
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"non-finite loss at epoch {where[0]}, step {where[1]}: task_loss={task.item()}, "
            f"penalty={float('nan') if pen is None else pen.item()}. Lower `lr`, set "
            f"`clip_grad_norm`, or check `task_loss`.")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()
    return loss, task, pen


def _penalty_term(H, sampler, weights, X, m, kind, detach, generator, epoch, step):
    """Draw m synthetic sets like X from the target on ``weights``; return the penalty."""
    n = X.shape[-2]
    if detach:
        source = {k: v.detach() for k, v in weights.items()}
        context = torch.no_grad()
    else:
        source, context = weights, contextlib.nullcontext()
    with context:
        draws = [sampler(source, n, generator) for _ in range(m)]
    for Y in draws:
        if not isinstance(Y, Tensor):
            raise TypeError(f"`sampler` must return a tensor; got {type(Y).__name__}.")
        if Y.shape != X.shape:
            raise ValueError(f"`sampler` must return synthetic data shaped like the real batch "
                             f"{tuple(X.shape)}; got {tuple(Y.shape)}.")
        if not torch.isfinite(Y).all():
            raise FloatingPointError(f"`sampler` produced NaN or inf at epoch {epoch}, step "
                                     f"{step}.")
    Y = torch.stack(draws)                       # (m, n, d) or (m, B, n, d)
    if X.ndim == 3:
        Y = Y.reshape((m * X.shape[0],) + tuple(X.shape[1:]))
    refit = H(Y)                                 # one batched pass over all m sets
    lead = (m,) if X.ndim == 2 else (m, X.shape[0])
    synthetic = {k: v.reshape(lead + tuple(v.shape[1:])) for k, v in refit.items()}
    per_draw = [{k: v[i] for k, v in synthetic.items()} for i in range(m)]
    return ple_penalty(weights, per_draw, penalty_form=kind)
