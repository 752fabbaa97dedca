"""Renamed keywords: the old name keeps working for one release, with a DeprecationWarning."""

from __future__ import annotations

import functools
import warnings

__all__ = ["renamed_keywords"]


def renamed_keywords(*, penalty_form_from_str=False, **renames):
    """Decorate a function whose keywords ``old`` were renamed to ``renames[old]``.

    A call with ``old=value`` runs as ``new=value`` and emits a
    ``DeprecationWarning`` that names the new keyword; passing both is a
    ``TypeError``. ``inspect.signature`` of the result shows the new names only.

    ``penalty_form_from_str=True`` handles the one rename whose old name is
    reused: ``penalty`` used to be the penalty's form (a string) and is now its
    weight (a float), so a string passed as ``penalty`` is moved to
    ``penalty_form`` with a warning, before ``lam`` becomes ``penalty``.
    """
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if penalty_form_from_str and isinstance(kwargs.get("penalty"), str):
                if "penalty_form" in kwargs:
                    raise TypeError(f"{fn.__qualname__}() got `penalty_form` and a string "
                                    "`penalty` (its deprecated name); pass `penalty_form` only.")
                warnings.warn(f"{fn.__qualname__}(penalty=<str>) is deprecated: the penalty's "
                              "form is now `penalty_form`, and `penalty` is its weight "
                              "(formerly `lam`).", DeprecationWarning, stacklevel=2)
                kwargs["penalty_form"] = kwargs.pop("penalty")
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{fn.__qualname__}() got both `{new}` and `{old}` (its "
                                    f"deprecated name); pass `{new}` only.")
                warnings.warn(f"`{old}` is deprecated in {fn.__qualname__}(); use `{new}`.",
                              DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        wrapper.renamed_keywords = dict(renames)
        return wrapper

    return decorate
