"""The PLE penalty between weights predicted from real and from synthetic data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from .._lib.deprecation import renamed_keywords
from ._checks import check_nonneg_float, check_weights

__all__ = ["ple_penalty", "PENALTY_KINDS"]

#: The penalty forms accepted by :func:`ple_penalty` (``penalty_form=``).
PENALTY_KINDS = ("l1", "l2", "relative", "l2_unbiased")


@renamed_keywords(kind="penalty_form")
def ple_penalty(weights_real: Mapping[str, Tensor],
                weights_synthetic: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]],
                *, penalty_form: str = "l1", eps: float = 1e-8) -> Tensor:
    r"""PLE penalty: the gap between weights refitted on synthetic data and on real data.

    With :math:`\theta = H(X)` the weights predicted from the real set and
    :math:`H(Y_1), \dots, H(Y_m)` those predicted from ``m`` synthetic sets drawn
    from the model with weights :math:`\theta`, the default (``penalty_form="l1"``, the
    paper's eq. 5) is the mean over all :math:`E` weight entries

    .. math::

        \operatorname{pen} = \frac{1}{E} \sum_{e=1}^{E}
        \Bigl| \frac{1}{m}\sum_{i=1}^{m} H(Y_i)_e - H(X)_e \Bigr| .

    Parameters
    ----------
    weights_real : dict of str to torch.Tensor
        :math:`H(X)`; tensors of any shapes (a leading batch axis included: the
        mean then runs over the batch too).
    weights_synthetic : dict or sequence of dicts
        :math:`H(Y_i)` for one (``m = 1``) or ``m`` synthetic sets, each with the
        same names and shapes as ``weights_real``.
    penalty_form : {"l1", "l2", "relative", "l2_unbiased"}, default "l1"
        With :math:`D_i = H(Y_i) - H(X)` and :math:`\bar D = \frac1m\sum_i D_i`:
        ``"l1"``: mean of :math:`|\bar D_e|`;
        ``"l2"``: mean of :math:`\bar D_e^2`;
        ``"relative"``: mean of :math:`|\bar D_e| / (|H(X)_e| + \text{eps})` (scale free,
        but large for weights near zero);
        ``"l2_unbiased"`` (needs ``m >= 2``): mean of
        :math:`\frac{1}{m(m-1)}\sum_{i \ne j} D_{i,e} D_{j,e}`, an unbiased estimate of
        :math:`(E_Y[H(Y)_e] - H(X)_e)^2` *without* the Monte Carlo variance that
        ``"l1"`` and ``"l2"`` carry; it can be negative (its expectation is not).
    eps : float, default 1e-8
        Guard of the ``"relative"`` denominator.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable with respect to both arguments.

    Raises
    ------
    TypeError
        If the arguments are not dicts of tensors (or a sequence of such dicts).
    ValueError
        If ``weights_synthetic`` is empty or its names or shapes differ from
        ``weights_real``, or ``penalty_form`` is unknown.

    See Also
    --------
    train_ple : uses this penalty in the training loss.

    Notes
    -----
    The absolute value is taken of the *averaged* gap: with ``m = 1`` the penalty
    includes the sampling noise of a single synthetic set; as ``m`` grows it tends
    to :math:`|E_Y[H(Y)] - H(X)|`, the recursive-stability constraint. The noise
    part rewards estimators with a small sampling variance (shrinkage, in the
    extreme a constant estimator, which is trivially recursively stable); see
    ``docs/hyper.rst`` for what this does in a worked example.

    Examples
    --------
    >>> import torch
    >>> from ple_stats.hyper import ple_penalty
    >>> real = {"mu": torch.tensor(0.0), "log_sigma": torch.tensor([1.0, 2.0])}
    >>> syn = {"mu": torch.tensor(0.3), "log_sigma": torch.tensor([1.0, 1.4])}
    >>> ple_penalty(real, syn)              # (0.3 + 0 + 0.6) / 3
    tensor(0.3000)
    >>> ple_penalty(real, [syn, real])      # the mean of the two synthetic sets is used
    tensor(0.1500)
    >>> ple_penalty(real, [syn, syn], penalty_form="l2_unbiased")   # (0.09 + 0 + 0.36) / 3
    tensor(0.1500)
    """
    check_weights(weights_real, "weights_real")
    if isinstance(weights_synthetic, Mapping):
        synthetic = [weights_synthetic]
    elif isinstance(weights_synthetic, Sequence) and not isinstance(weights_synthetic, str):
        synthetic = list(weights_synthetic)
        if not synthetic:
            raise ValueError("`weights_synthetic` must hold at least one dict (m >= 1); "
                             "got an empty sequence.")
    else:
        raise TypeError(f"`weights_synthetic` must be a dict of tensors or a sequence of such "
                        f"dicts; got {type(weights_synthetic).__name__}.")
    kind = penalty_form
    if kind not in PENALTY_KINDS:
        raise ValueError(f"`penalty_form` must be one of {PENALTY_KINDS}; got {kind!r}.")
    eps = check_nonneg_float(eps, "eps")
    names = list(weights_real)
    for i, syn in enumerate(synthetic):
        check_weights(syn, f"weights_synthetic[{i}]")
        if set(syn) != set(names):
            raise ValueError(f"`weights_synthetic[{i}]` must have the names of `weights_real` "
                             f"{sorted(names)}; got {sorted(syn)}.")
        for name in names:
            if syn[name].shape != weights_real[name].shape:
                raise ValueError(f"`weights_synthetic[{i}][{name!r}]` must have shape "
                                 f"{tuple(weights_real[name].shape)} like `weights_real`; got "
                                 f"{tuple(syn[name].shape)}.")
    m = len(synthetic)
    if kind == "l2_unbiased" and m < 2:
        raise ValueError(f"`penalty_form` 'l2_unbiased' needs at least 2 synthetic sets; got m = {m}.")
    total = None
    count = 0
    for name in names:
        real = weights_real[name]
        if kind == "l2_unbiased":
            gaps = torch.stack([syn[name] for syn in synthetic]) - real
            s, q = gaps.sum(dim=0), gaps.square().sum(dim=0)
            term = ((s.square() - q) / (m * (m - 1))).sum()
            total = term if total is None else total + term
            count += real.numel()
            continue
        mean_syn = synthetic[0][name]
        if m > 1:
            mean_syn = torch.stack([syn[name] for syn in synthetic]).mean(dim=0)
        gap = mean_syn - real
        if kind == "l1":
            term = gap.abs()
        elif kind == "l2":
            term = gap.square()
        else:
            term = gap.abs() / (real.abs() + eps)
        term = term.sum()
        total = term if total is None else total + term
        count += real.numel()
    if count == 0:
        raise ValueError("`weights_real` holds no entries (all tensors are empty).")
    return total / count
