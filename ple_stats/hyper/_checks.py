"""Argument validation for the torch core, done once at each public boundary.

Messages follow the package style: they name the argument, the constraint and
the offending value, e.g. "`lam` must be non-negative; got -1.0."
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import torch

__all__ = [
    "as_generator",
    "as_device",
    "check_activation",
    "check_activation_module",
    "check_module",
    "check_nonneg_float",
    "check_positive_float",
    "check_positive_int",
    "check_tensor",
    "check_weights",
]


def check_positive_int(value, name, *, allow_none=False, minimum=1):
    """Return ``value`` as an int >= ``minimum``; ``TypeError``/``ValueError`` naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer; got {value!r} of type "
                        f"{type(value).__name__}.")
    value = int(value)
    if value < minimum:
        word = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"`{name}` must be {word}; got {value}.")
    return value


def _as_real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        else:
            raise TypeError(f"`{name}` must be a real number; got {value!r} of type "
                            f"{type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}.")
    return value


def check_nonneg_float(value, name):
    """Return ``value`` as a finite float >= 0."""
    value = _as_real(value, name)
    if value < 0:
        raise ValueError(f"`{name}` must be non-negative; got {value}.")
    return value


def check_positive_float(value, name, *, allow_none=False):
    """Return ``value`` as a finite float > 0 (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    value = _as_real(value, name)
    if value <= 0:
        raise ValueError(f"`{name}` must be positive; got {value}.")
    return value


def check_module(value, name):
    """Raise ``TypeError`` unless ``value`` is a ``torch.nn.Module``."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"`{name}` must be a torch.nn.Module; got {type(value).__name__}.")
    return value


def check_tensor(value, name):
    """Raise ``TypeError`` unless ``value`` is a ``torch.Tensor``."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor; got {type(value).__name__}.")
    return value


def check_weights(weights, name):
    """Raise unless ``weights`` is a non-empty mapping from str to tensors."""
    if not isinstance(weights, Mapping):
        raise TypeError(f"`{name}` must be a dict mapping names to tensors; got "
                        f"{type(weights).__name__}.")
    if len(weights) == 0:
        raise ValueError(f"`{name}` must hold at least one tensor; got an empty dict.")
    for key, value in weights.items():
        if not isinstance(key, str):
            raise TypeError(f"`{name}` keys must be str; got {key!r}.")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"`{name}[{key!r}]` must be a torch.Tensor; got "
                            f"{type(value).__name__}.")
    return weights


def as_generator(seed, name="seed", *, device="cpu"):
    """A fresh ``torch.Generator`` on ``device`` from ``None | int | torch.Generator``.

    ``None`` draws fresh entropy from the operating system (not the global torch
    state); an int seeds a new generator; a generator is returned as is (it must
    live on ``device``).
    """
    device = torch.device(device)
    if isinstance(seed, torch.Generator):
        if seed.device.type != device.type:
            raise ValueError(f"`{name}` is a generator on {seed.device}, but the computation "
                             f"runs on {device}; pass an int seed or a generator on {device}.")
        return seed
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
        return gen
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be None, an int or a torch.Generator; got "
                        f"{type(seed).__name__}.")
    if seed < 0:
        raise ValueError(f"`{name}` must be non-negative; got {seed}.")
    gen.manual_seed(int(seed))
    return gen


# Device types a computation may run on, with how to tell whether this machine has one.
_ACCELERATORS = {
    "cuda": ("CUDA", lambda: torch.cuda.is_available(), lambda: torch.cuda.device_count()),
    "mps": ("MPS (Apple GPU)", lambda: torch.backends.mps.is_available(), lambda: 1),
    "xpu": ("XPU (Intel GPU)",
            lambda: hasattr(torch, "xpu") and torch.xpu.is_available(),
            lambda: torch.xpu.device_count()),
}


def as_device(device, name="device"):
    """The ``torch.device`` to compute on, validated: this is the one place devices are checked.

    ``None`` -> CUDA when available, else CPU. A str (``"cpu"``, ``"cuda"``,
    ``"cuda:1"``, ``"mps"``, ...), an accelerator index or a ``torch.device`` must
    name a device this machine has: an unknown name, an accelerator that is not
    available (``"cuda"`` without CUDA) or an index beyond the devices present
    raise ``ValueError`` naming ``name``. ``"meta"`` (tensors without data) is
    refused: nothing can be computed there.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, bool) or not isinstance(device, (str, int, torch.device)):
        raise TypeError(f"`{name}` must be None, a str such as 'cpu' or 'cuda', an "
                        f"accelerator index or a torch.device; got {type(device).__name__}.")
    if isinstance(device, int) and not torch.accelerator.is_available():
        raise ValueError(f"`{name}` is the accelerator index {device}, but this machine has "
                         f"no accelerator (no CUDA); use 'cpu'.")
    if not isinstance(device, torch.device):
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(f"`{name}` must name a torch device such as 'cpu' or 'cuda'; "
                             f"got {device!r}.") from None
    kind = device.type
    if kind == "cpu":
        return device
    if kind == "meta":
        raise ValueError(f"`{name}` must be a device that holds data, such as 'cpu' or "
                         f"'cuda'; got {str(device)!r} (meta tensors have shapes only, "
                         f"nothing can be computed on them).")
    if kind not in _ACCELERATORS:
        raise ValueError(f"`{name}` must be 'cpu' or one of {sorted(_ACCELERATORS)} (with an "
                         f"optional index, e.g. 'cuda:1'); got {str(device)!r}.")
    label, available, count = _ACCELERATORS[kind]
    if not available():
        raise ValueError(f"`{name}` is {str(device)!r}, but {label} is not available on this "
                         f"machine; use 'cpu' (or None: CUDA when available, else CPU).")
    if device.index is not None:
        present = count()
        if device.index >= present:
            raise ValueError(f"`{name}` is {str(device)!r}, but this machine has {present} "
                             f"{label} device(s) (indices 0 to {present - 1}).")
    return device


def check_activation(value, name="activation"):
    """Return ``value`` if it is a class or factory of ``torch.nn.Module`` activations.

    An instance (``nn.ReLU()``) is refused with a ``TypeError`` that says to pass
    the class: every layer needs its own activation module.
    """
    if isinstance(value, torch.nn.Module):
        cls = type(value).__name__
        raise TypeError(f"`{name}` must be a class (or factory) that builds an activation "
                        f"module, e.g. torch.nn.{cls}; got the instance {value!r}. Pass the "
                        f"class: {name}=nn.{cls} (or lambda: nn.{cls}(...) to give it options).")
    if not callable(value):
        raise TypeError(f"`{name}` must be callable (e.g. torch.nn.ReLU); got "
                        f"{type(value).__name__}.")
    return value


def check_activation_module(module, name="activation"):
    """Raise ``TypeError`` unless ``module``, built by an ``activation`` factory, is a Module."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"`{name}` must build a torch.nn.Module when called with no "
                        f"arguments; it returned {type(module).__name__}.")
    return module
