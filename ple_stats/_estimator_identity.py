"""What identifies a user's callable estimator in a checkpoint key.

A checkpoint may only be resumed by the same estimator. A name is not
enough: two lambdas share the name ``<lambda>``, two ``functools.partial``
objects share their function's, and a function redefined in a notebook keeps
its name. :func:`callable_identity` digests what the callable *computes with*:
its code (byte code, constants, the names it looks up, recursively through
nested functions), its default arguments and the values in its closure; for a
``functools.partial`` also its bound arguments; for a bound method its
instance; for any other object its pickled state.

State that a function reads from module globals at call time is not part of
its identity; nor is the code of the functions it calls by name.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import types

__all__ = ["callable_identity"]


_SCALARS = (type(None), bool, int, float, complex, str, bytes)


def _canonical(value, what, depth=0):
    """A form of ``value`` whose ``repr`` is the same in every process.

    Sets are sorted (their iteration order follows the per-process string hash
    seed), dicts are taken in sorted key order, arrays by a digest of their
    bytes, callables by :func:`callable_identity`, other objects by their type
    and their attributes; what has none of these is pickled.
    """
    import numpy as np

    if depth > 50:
        raise ValueError(f"a checkpoint cannot identify the callable estimator: its {what} "
                         "is nested too deeply (a cycle?).")
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (types.FunctionType, functools.partial, types.MethodType,
                          types.BuiltinFunctionType, type)):
        return ("callable", callable_identity(value))
    if isinstance(value, types.CodeType):
        return ("code", _code_parts(value))
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted((repr(_canonical(v, what, depth + 1)) for v in value))))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,
                tuple(_canonical(v, what, depth + 1) for v in value))
    if isinstance(value, dict):
        items = ((repr(_canonical(k, what, depth + 1)), _canonical(v, what, depth + 1))
                 for k, v in value.items())
        return ("dict", tuple(sorted(items, key=lambda kv: kv[0])))
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return ("ndarray", value.shape, _canonical(value.tolist(), what, depth + 1))
        data = np.ascontiguousarray(value)
        return ("ndarray", data.dtype.str, data.shape, hashlib.sha256(data.tobytes()).hexdigest())
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.item())
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    state = getattr(value, "__dict__", None)
    if state is not None:
        slots = {k: getattr(value, k) for k in getattr(kind, "__slots__", ()) if hasattr(value, k)}
        return ("object", name, _canonical({**state, **slots}, what, depth + 1))
    try:
        return ("pickle", name, hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest())
    except Exception:  # noqa: BLE001 - anything unpicklable has no stable identity
        raise ValueError(
            f"a checkpoint cannot identify the callable estimator: its {what} cannot be "
            "pickled, so a restart could not tell whether it is the same estimator. Pass a "
            "module-level function or a picklable callable, or run without `checkpoint`."
        ) from None


def _code_parts(code):
    parts = [code.co_code, code.co_names, code.co_varnames, code.co_freevars,
             code.co_argcount, code.co_kwonlyargcount]
    for const in code.co_consts:
        parts.append(_canonical(const, "code constants"))
    return tuple(parts)


def _value_digest(value, what):
    return hashlib.sha256(repr(_canonical(value, what)).encode()).hexdigest()


def callable_identity(func):
    """A digest that changes whenever ``func`` would compute something else.

    >>> from ple_stats import Uniform
    >>> a = callable_identity(lambda x: Uniform.fit_mle(x, low=0.0))
    >>> b = callable_identity(lambda x: Uniform.fit_ple(x, low=0.0))
    >>> a == b
    False
    >>> a == callable_identity(lambda x: Uniform.fit_mle(x, low=0.0))
    True
    """
    if id(func) in _ACTIVE:  # a function that refers to itself (e.g. through its closure)
        return f"recursive {getattr(func, '__qualname__', type(func).__qualname__)}"
    _ACTIVE.add(id(func))
    try:
        return _identity(func)
    finally:
        _ACTIVE.discard(id(func))


_ACTIVE = set()


def _identity(func):
    h = hashlib.sha256()
    if isinstance(func, functools.partial):
        h.update(b"partial")
        h.update(callable_identity(func.func).encode())
        h.update(_value_digest(func.args, "partial arguments").encode())
        h.update(_value_digest(sorted(func.keywords.items()), "partial keywords").encode())
    elif isinstance(func, types.MethodType):
        h.update(b"method")
        h.update(callable_identity(func.__func__).encode())
        h.update(_value_digest(func.__self__, "instance").encode())
    elif isinstance(func, types.FunctionType):
        h.update(f"{func.__module__}.{func.__qualname__}".encode())
        h.update(repr(_code_parts(func.__code__)).encode())
        h.update(_value_digest(func.__defaults__, "default arguments").encode())
        h.update(_value_digest(sorted((func.__kwdefaults__ or {}).items()),
                               "keyword defaults").encode())
        cells = tuple(cell.cell_contents for cell in (func.__closure__ or ()))
        h.update(_value_digest(cells, "closure").encode())
    elif isinstance(func, type) or isinstance(func, types.BuiltinFunctionType):
        h.update(f"{func.__module__}.{func.__qualname__}".encode())
    else:
        kind = type(func)
        h.update(f"{kind.__module__}.{kind.__qualname__}".encode())
        h.update(_value_digest(func, "object").encode())
    return h.hexdigest()[:32]
