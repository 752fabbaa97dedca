"""Input validation at the public boundary.

Every public entry point normalises its inputs here once; the inner code
trusts what it receives. Messages follow one style: they name the argument,
the constraint and the offending value, e.g. "`sigma` must be positive; got -1.0."
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

__all__ = [
    "Constraint",
    "REAL",
    "POSITIVE",
    "UNIT_INTERVAL",
    "NONNEGATIVE",
    "SIMPLEX",
    "as_rng",
    "check_rng",
    "as_data",
    "as_int",
    "as_param",
    "all_true",
    "fmt_value",
]


def all_true(mask) -> bool:
    """Whether every entry of a boolean array or numpy bool is true.

    For one data set the support checks compare numpy scalars, and ``bool()``
    of a numpy bool costs a tenth of its ``.all()``.
    """
    return bool(mask) if mask.ndim == 0 else bool(mask.all())


def fmt_value(value) -> str:
    """Short printable form of a scalar or array, for error messages."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(arr.item())
    flat = arr.ravel()
    if flat.size <= 4:
        return np.array2string(arr, separator=", ")
    return f"array of shape {arr.shape}"


class Constraint:
    """The domain of one distribution parameter, scalar or event-shaped.

    As in torch.distributions and numpyro, a constraint has an ``event_dim``:
    the number of trailing axes that form one value of the parameter (0: a
    number per batch member; 1: a vector, e.g. a simplex of mixture weights;
    2: a matrix, e.g. a covariance). The bounds apply to every entry; an
    ``event_check`` tests what the entries alone cannot (the weights sum to
    1, the matrix is positive definite). One base class thus validates,
    broadcasts and pickles scalar, vector and matrix parameters alike.

    Parameters
    ----------
    description : str
        Words for error messages ("positive", "in (0, 1]"); for an entry
        outside the bounds the message reads "`name` must be <description>".
    lower, upper : float
        Bounds of every entry.
    lower_open, upper_open : bool
        Whether each bound is excluded.
    transform : {"identity", "log", "logit"}
        Map of the entries to the real line (for the delta method and solvers).
    event_dim : int
        Trailing axes that form one value (0, 1 or 2).
    event_check : callable, optional
        ``event_check(value, name) -> value`` for an array of at least
        ``event_dim`` axes whose entries are in the bounds: raises
        ``ValueError`` for values outside the domain, may return a normalised
        copy (e.g. a symmetrised matrix).
    """

    def __init__(self, description, lower=-np.inf, upper=np.inf, *, lower_open=True,
                 upper_open=True, transform="identity", event_dim=0, event_check=None):
        self.description = description
        self.lower = lower
        self.upper = upper
        self.lower_open = lower_open
        self.upper_open = upper_open
        self.transform = transform
        self.event_dim = event_dim
        self._event_check = event_check

    def to_unconstrained(self, value):
        """Map values of the domain to the real line (identity, log or logit)."""
        value = np.asarray(value, dtype=float)
        if self.transform == "log":
            return np.log(value)
        if self.transform == "logit":
            return np.log(value) - np.log1p(-value)
        return value

    def from_unconstrained(self, u):
        """Inverse of :meth:`to_unconstrained`."""
        u = np.asarray(u, dtype=float)
        if self.transform == "log":
            return np.exp(u)
        if self.transform == "logit":
            return 0.5 * (1.0 + np.tanh(0.5 * u))
        return u

    def jacobian(self, value):
        """d value / d u at ``value`` (for the delta method)."""
        value = np.asarray(value, dtype=float)
        if self.transform == "log":
            return value
        if self.transform == "logit":
            return value * (1.0 - value)
        return np.ones_like(value)

    def contains_float(self, v: float) -> bool:
        """Whether the Python float ``v`` lies in the bounds (the scalar fast path)."""
        return (math.isfinite(v) and (v > self.lower if self.lower_open else v >= self.lower)
                and (v < self.upper if self.upper_open else v <= self.upper))

    def contains(self, value):
        """Boolean mask: which entries of ``value`` lie in the bounds (finite ones only)."""
        value = np.asarray(value, dtype=float)
        if value.ndim == 0:  # scalar fast path (single fits)
            v = float(value)
            ok = (math.isfinite(v) and (v > self.lower if self.lower_open else v >= self.lower)
                  and (v < self.upper if self.upper_open else v <= self.upper))
            return np.bool_(ok)
        low_ok = value > self.lower if self.lower_open else value >= self.lower
        up_ok = value < self.upper if self.upper_open else value <= self.upper
        return np.isfinite(value) & low_ok & up_ok

    def check(self, value, name):
        """Raise ``ValueError`` naming ``name`` unless every entry lies in the bounds."""
        ok = self.contains(value)
        if not np.all(ok):
            bad = np.asarray(value)[~ok] if np.ndim(value) else value
            raise ValueError(
                f"`{name}` must be {self.description}; got {fmt_value(value)}"
                + ("" if np.ndim(value) == 0 else f" (offending value {fmt_value(bad.flat[0])})")
                + "."
            )

    # -- the event ------------------------------------------------------------------
    def event_shape(self, value):
        """The trailing ``event_dim`` axes of ``value``'s shape."""
        return np.shape(value)[np.ndim(value) - self.event_dim:]

    def batch_shape(self, value):
        """The leading axes of ``value``'s shape (all but the event's)."""
        return np.shape(value)[:np.ndim(value) - self.event_dim]

    def check_event(self, value, name):
        """``value`` (entries already checked) with its event checked, or a ``ValueError``.

        Needs at least ``event_dim`` axes; returns what ``event_check`` returns
        (``value`` itself without one).
        """
        if np.ndim(value) < self.event_dim:
            what = "vector" if self.event_dim == 1 else "matrix"
            raise ValueError(f"`{name}` must be a {what} (at least {self.event_dim} "
                             f"dimension(s), batch axes first); got shape {np.shape(value)}.")
        return value if self._event_check is None else self._event_check(value, name)

    def validate(self, value, name):
        """``value`` as a float64 array inside the domain, or an error naming ``name``.

        For ``event_dim == 0`` this is :func:`as_param`. For an event-shaped
        parameter the array must have at least ``event_dim`` axes, be non-empty
        and finite; then the entries' bounds and the event are checked.
        """
        if self.event_dim == 0:
            return as_param(value, name, self)
        arr = _as_float_array(value, name)
        if arr.ndim < self.event_dim:
            self.check_event(arr, name)  # raises the shape message
        if arr.size == 0:
            raise ValueError(f"`{name}` is empty (shape {arr.shape}).")
        if not np.isfinite(arr).all():
            raise ValueError(f"`{name}` must be finite; got {fmt_value(arr)}.")
        self.check(arr, name)
        return self.check_event(arr, name)

    def __repr__(self):
        if self.event_dim:
            return f"Constraint({self.description!r}, event_dim={self.event_dim})"
        return f"Constraint({self.description!r})"


REAL = Constraint("finite")
POSITIVE = Constraint("positive", 0.0, transform="log")
UNIT_INTERVAL = Constraint("in (0, 1]", 0.0, 1.0, upper_open=False, transform="logit")
NONNEGATIVE = Constraint("non-negative", 0.0, lower_open=False)
#: Tolerance of a simplex's sum (|sum - 1| at most this).
SIMPLEX_SUM_TOL = 1e-8


def _check_simplex(value, name):
    total = value.sum(axis=-1)
    if (np.abs(total - 1.0) > SIMPLEX_SUM_TOL).any():
        raise ValueError(f"`{name}` must sum to 1 along the last axis (within "
                         f"{SIMPLEX_SUM_TOL:g}); got sums {fmt_value(total)}.")
    return value


#: Probability vectors (mixture weights): entries non-negative, summing to 1 along the
#: last axis.
SIMPLEX = Constraint("non-negative", 0.0, lower_open=False, event_dim=1,
                     event_check=_check_simplex)


def as_rng(rng, name="rng") -> np.random.Generator:
    """Normalise ``rng`` (None, int, SeedSequence or Generator) to a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    check_rng(rng, name)
    return np.random.default_rng(rng)


def check_rng(rng, name="rng") -> None:
    """Raise as :func:`as_rng` does for an invalid ``rng``, without building a Generator.

    For entry points that accept ``rng`` but need no randomness on some paths
    (``fit_ple(method="analytic")``): ``default_rng(None)`` reads OS entropy,
    which costs more than a whole closed-form fit.
    """
    if rng is None or isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
        return
    if isinstance(rng, numbers.Integral):
        if isinstance(rng, bool):
            raise TypeError(f"`{name}` must be None, an int or a numpy Generator; got a bool.")
        if rng < 0:
            raise ValueError(f"`{name}` must be a non-negative integer seed; got {rng}.")
        return
    raise TypeError(
        f"`{name}` must be None, an int, a numpy SeedSequence or a numpy Generator; "
        f"got {type(rng).__name__}."
    )


def as_int(value, name, *, minimum=None) -> int:
    """Validate an integer argument (not bool), optionally with a minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        try:
            if isinstance(value, bool):
                raise TypeError
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"`{name}` must be an integer; got {type(value).__name__}.") from None
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}; got {value}.")
    return value


_FLOAT64 = np.dtype(np.float64)


def _as_float_array(value, name) -> np.ndarray:
    """Convert to a float64 array, raising TypeError for non-numeric input."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"`{name}` must be numeric; got {type(value).__name__}.")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"`{name}` could not be converted to an array: {exc}") from None
    if arr.dtype == bool:
        raise TypeError(f"`{name}` must be numeric; got booleans.")
    if arr.dtype.kind == "c":
        raise TypeError(f"`{name}` must be real; got complex values.")
    if arr.dtype.kind not in "iuf":
        if arr.dtype.kind == "O":
            try:
                return arr.astype(np.float64)
            except (TypeError, ValueError):
                pass
        raise TypeError(f"`{name}` must be numeric; got an array of dtype {arr.dtype}.")
    return arr.astype(np.float64, copy=False)


def as_param(value, name, constraint: Constraint) -> np.ndarray:
    """Validate one distribution parameter: numeric, finite, inside its domain."""
    if type(value) is float and constraint.contains_float(value):  # fast path, same result
        return np.array(value)
    arr = _as_float_array(value, name)
    constraint.check(arr, name)
    return arr


def as_data(x, name="x") -> np.ndarray:
    """Validate a data array: numeric, at least 1-D, non-empty, finite.

    Observations lie along the last axis. Returns a float64 array (a view
    when the input already is one).
    """
    # A float64 ndarray (the common case) needs no conversion or type checks.
    arr = x if type(x) is np.ndarray and x.dtype is _FLOAT64 else _as_float_array(x, name)
    if arr.ndim == 0:
        raise ValueError(
            f"`{name}` must have at least one dimension (observations along the last axis); "
            f"got a scalar {fmt_value(arr)}."
        )
    if arr.shape[-1] == 0:
        raise ValueError(f"`{name}` is empty: it has no observations along its last axis "
                         f"(shape {arr.shape}).")
    if arr.size == 0:
        raise ValueError(f"`{name}` is empty (shape {arr.shape}).")
    # A finite sum proves every entry finite (nan and inf propagate); only when
    # it is not (or overflowed) is the elementwise check needed. (Not the sum of
    # squares: it overflows, with a warning, for valid data beyond 1e154.)
    if math.isfinite(np.add.reduce(arr, axis=None)):
        return arr
    finite = np.isfinite(arr)
    if not finite.all():
        n_bad = int(arr.size - np.count_nonzero(finite))
        raise ValueError(
            f"`{name}` contains {n_bad} non-finite value(s) (nan or inf), "
            f"e.g. {fmt_value(arr[~finite][0])}."
        )
    return arr
