"""ple_penalty: exact values on hand-computed cases, gradients, and argument checks."""

import pytest

torch = pytest.importorskip("torch")

from ple_stats.hyper import ple_penalty  # noqa: E402


def _t(values):
    return torch.tensor(values, dtype=torch.float64)


REAL = {"a": _t([1.0, 2.0]), "b": _t([[0.5]])}
SYN1 = {"a": _t([1.5, 1.0]), "b": _t([[0.5]])}
SYN2 = {"a": _t([0.5, 2.0]), "b": _t([[1.5]])}
# mean of SYN1, SYN2: a = [1.0, 1.5], b = [[1.0]]; gap to REAL: [0.0, -0.5], [[0.5]]


@pytest.mark.parametrize("kind", ["l1", "l2", "relative"])
def test_zero_when_predictions_agree(kind):
    same = {k: v.clone() for k, v in REAL.items()}
    assert ple_penalty(REAL, same, penalty_form=kind).item() == 0.0
    assert ple_penalty(REAL, [same, same, same], penalty_form=kind).item() == 0.0
    # synthetic sets that disagree individually but agree on average also give zero
    up = {k: v + 0.25 for k, v in REAL.items()}
    down = {k: v - 0.25 for k, v in REAL.items()}
    assert ple_penalty(REAL, [up, down], penalty_form=kind).item() == pytest.approx(0.0, abs=1e-15)


def test_hand_computed_values():
    # l1: (|0| + |-0.5| + |0.5|) / 3 entries
    assert ple_penalty(REAL, [SYN1, SYN2]).item() == pytest.approx(1 / 3, rel=1e-14)
    # l2: (0 + 0.25 + 0.25) / 3
    l2 = ple_penalty(REAL, [SYN1, SYN2], penalty_form="l2").item()
    assert l2 == pytest.approx(1 / 6, rel=1e-14)
    # relative: (0 / 1 + 0.5 / 2 + 0.5 / 0.5) / 3
    relative = ple_penalty(REAL, [SYN1, SYN2], penalty_form="relative", eps=0.0).item()
    assert relative == pytest.approx(1.25 / 3, rel=1e-14)
    # m = 1: gaps [0.5, -1.0], [[0.0]] -> (0.5 + 1.0 + 0) / 3
    assert ple_penalty(REAL, SYN1).item() == pytest.approx(0.5, rel=1e-14)
    assert ple_penalty(REAL, [SYN1]).item() == pytest.approx(0.5, rel=1e-14)


def test_l2_unbiased_is_the_cross_product_of_distinct_draws():
    # gaps: SYN1 - REAL = a [0.5, -1.0], b [[0.0]]; SYN2 - REAL = a [-0.5, 0.0], b [[1.0]]
    # products of the two draws: -0.25, 0, 0 -> mean over 3 entries
    assert ple_penalty(REAL, [SYN1, SYN2], penalty_form="l2_unbiased").item() == pytest.approx(
        -0.25 / 3, rel=1e-14)
    same = {k: v.clone() for k, v in REAL.items()}
    assert ple_penalty(REAL, [same, same], penalty_form="l2_unbiased").item() == 0.0
    # m = 3 against the definition sum_{i != j} D_i D_j / (m (m - 1))
    g = torch.Generator().manual_seed(0)
    real = {"w": torch.randn(4, generator=g, dtype=torch.float64)}
    syn = [{"w": torch.randn(4, generator=g, dtype=torch.float64)} for _ in range(3)]
    gaps = [s["w"] - real["w"] for s in syn]
    direct = sum(gaps[i] * gaps[j] for i in range(3) for j in range(3) if i != j) / 6
    assert ple_penalty(real, syn, penalty_form="l2_unbiased").item() == pytest.approx(
        direct.mean().item(), rel=1e-12)
    # a constant shift c of every draw gives exactly c**2 (no noise term)
    shifted = [{k: v + 0.3 for k, v in REAL.items()} for _ in range(4)]
    assert ple_penalty(REAL, shifted, penalty_form="l2_unbiased").item() == pytest.approx(0.09)
    with pytest.raises(ValueError, match=r"'l2_unbiased' needs at least 2 synthetic sets"):
        ple_penalty(REAL, SYN1, penalty_form="l2_unbiased")


def test_grows_with_the_gap():
    values = []
    for gap in [0.0, 0.1, 1.0, 3.0]:
        syn = {k: v + gap for k, v in REAL.items()}
        l1 = ple_penalty(REAL, syn).item()
        l2 = ple_penalty(REAL, syn, penalty_form="l2").item()
        assert l1 == pytest.approx(gap, rel=1e-12, abs=1e-15)
        assert l2 == pytest.approx(gap**2, rel=1e-12, abs=1e-15)
        values.append(l1)
    assert values == sorted(values) and values[0] < values[-1]


def test_batched_weights_average_over_the_batch():
    real = {"w": torch.zeros(4, 2)}           # B = 4 sets, weight of shape (2,)
    syn = {"w": torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.0, -1.0]])}
    assert ple_penalty(real, syn).item() == pytest.approx(4.0 / 8)


def test_gradient_flows_to_both_sides():
    real = {"w": torch.tensor([1.0, -1.0], requires_grad=True)}
    syn = {"w": torch.tensor([2.0, -3.0], requires_grad=True)}
    ple_penalty(real, syn).backward()
    # d/d real of mean |syn - real| = -sign(syn - real) / 2
    torch.testing.assert_close(real["w"].grad, torch.tensor([-0.5, 0.5]))
    torch.testing.assert_close(syn["w"].grad, torch.tensor([0.5, -0.5]))


def test_bad_input():
    with pytest.raises(ValueError, match=r"`penalty_form` must be one of"):
        ple_penalty(REAL, SYN1, penalty_form="huber")
    with pytest.warns(DeprecationWarning, match="`kind` is deprecated .* use `penalty_form`"):
        old = ple_penalty(REAL, [SYN1, SYN2], kind="l2")
    assert old.item() == ple_penalty(REAL, [SYN1, SYN2], penalty_form="l2").item()
    with pytest.raises(TypeError, match="got both `penalty_form` and `kind`"):
        ple_penalty(REAL, SYN1, kind="l1", penalty_form="l1")
    with pytest.raises(ValueError, match=r"`weights_synthetic` must hold at least one dict"):
        ple_penalty(REAL, [])
    with pytest.raises(ValueError, match=r"`weights_synthetic\[1\]` must have the names"):
        ple_penalty(REAL, [SYN1, {"a": _t([1.0, 2.0])}])
    with pytest.raises(ValueError, match=r"`weights_synthetic\[0\]\['a'\]` must have shape"):
        ple_penalty(REAL, {"a": _t([1.0]), "b": _t([[0.5]])})
    with pytest.raises(TypeError, match=r"`weights_synthetic` must be a dict of tensors"):
        ple_penalty(REAL, _t([1.0]))
    with pytest.raises(TypeError, match=r"`weights_real` must be a dict"):
        ple_penalty([1.0], SYN1)
    with pytest.raises(TypeError, match=r"`weights_real\['a'\]` must be a torch.Tensor"):
        ple_penalty({"a": [1.0]}, SYN1)
    with pytest.raises(ValueError, match=r"`eps` must be non-negative; got -1.0"):
        ple_penalty(REAL, SYN1, penalty_form="relative", eps=-1)
