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


def _code_parts(code):
    parts = [code.co_code, code.co_names, code.co_varnames, code.co_freevars,
             code.co_argcount, code.co_kwonlyargcount]
    for const in code.co_consts:
        parts.append(_code_parts(const) if isinstance(const, types.CodeType) else repr(const))
    return tuple(parts)


def _value_digest(value, what):
    if isinstance(value, (types.FunctionType, functools.partial, types.MethodType)):
        return callable_identity(value)
    try:
        return hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest()
    except Exception:  # noqa: BLE001 - anything unpicklable has no stable identity
        raise ValueError(
            f"a checkpoint cannot identify the callable estimator: its {what} cannot be "
            "pickled, so a restart could not tell whether it is the same estimator. Pass a "
            "module-level function or a picklable callable, or run without `checkpoint`."
        ) from None


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
