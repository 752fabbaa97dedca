"""HyperNetwork construction, shapes, invariances and running the target on predicted weights."""

import subprocess
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from ple_stats import PLEWarning  # noqa: E402
from ple_stats.hyper import (HyperNetwork, call_batched, call_with_weights,  # noqa: E402
                             hypernetwork_size)
from ple_stats.hyper.examples import GaussianModel  # noqa: E402

D = 3  # features of one observation fed to the hypernetwork


class Nested(nn.Module):
    """Encoder/decoder with a nested Sequential and a free-standing parameter."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
        self.decoder = nn.ModuleDict({"body": nn.Sequential(nn.Linear(2, 6), nn.ReLU()),
                                      "head": nn.Linear(6, 4)})
        self.log_scale = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        h = self.decoder["body"](self.encoder(x))
        return self.decoder["head"](h) * torch.exp(self.log_scale)


def _with_seed(seed, fn):
    """Build a target from torch's global RNG without leaking the seed to other tests."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return fn()


# name -> (target factory, input factory for running the target)
TARGETS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)),
            lambda g: torch.randn(5, 4, generator=g)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Conv2d(3, 2, 3, padding=1),
                                  nn.Flatten(), nn.Linear(2 * 6 * 6, 3)),
            lambda g: torch.randn(2, 1, 8, 8, generator=g)),
    "batchnorm": (lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                        nn.Linear(6, 2)),
                  lambda g: torch.randn(5, 4, generator=g)),
    "layernorm": (lambda: nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5), nn.Linear(5, 2)),
                  lambda g: torch.randn(5, 4, generator=g)),
    "nested": (Nested, lambda g: torch.randn(5, 4, generator=g)),
}


@pytest.fixture(params=sorted(TARGETS))
def case(request):
    make_target, make_input = TARGETS[request.param]
    target = _with_seed(0, make_target)
    if request.param == "batchnorm":
        with torch.no_grad():  # non-trivial running statistics, so eval mode is a real check
            target[1].running_mean.uniform_(-1, 1, generator=torch.Generator().manual_seed(5))
            target[1].running_var.uniform_(0.5, 2, generator=torch.Generator().manual_seed(6))
        target.eval()
    return request.param, target, make_input


def _sets(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_names_and_shapes(case):
    _, target, _ = case
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), seed=0)
    params = dict(target.named_parameters())
    assert H.names == tuple(params)
    w = H(_sets(7, D))
    assert list(w) == list(params)
    for name, p in params.items():
        assert w[name].shape == p.shape and w[name].dtype == p.dtype
    wb = H(_sets(4, 7, D))
    for name, p in params.items():
        assert wb[name].shape == (4,) + tuple(p.shape)
    assert H.num_predicted == sum(p.numel() for p in params.values())


def test_batchnorm_buffers_excluded_by_default_and_predicted_on_request():
    target = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6))
    H = HyperNetwork(target, in_features=D, seed=0)
    assert H.names == ("0.weight", "0.bias", "1.weight", "1.bias")
    assert set(H.excluded) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    Hb = HyperNetwork(target, in_features=D, predict_buffers=True, seed=0)
    assert "1.running_mean" in Hb.names and "1.running_var" in Hb.names
    assert "1.num_batches_tracked" not in Hb.names  # integer buffers are never predicted
    w = Hb(_sets(9, D))
    assert torch.equal(w["1.running_var"], target[1].running_var)


def test_initial_output_equals_target_initialisation(case):
    _, target, _ = case
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), seed=0)
    for X in (_sets(7, D, seed=1), 100 * _sets(3, D, seed=2)):
        w = H(X)
        for name, p in target.named_parameters():
            assert torch.equal(w[name], p.detach()), name
    # a small random head weight gives a near-initial output
    Hs = HyperNetwork(target, in_features=D, hidden=(8, 8), head_init_std=1e-8, seed=0)
    for name, p in target.named_parameters():
        torch.testing.assert_close(Hs(_sets(7, D))[name], p.detach(), rtol=0, atol=1e-6)


def test_permutation_invariance(case):
    _, target, _ = case
    # non-zero head weights, so that the output depends on X (zero heads would be trivially
    # invariant)
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), head_init_std=0.5, seed=0)
    X = _sets(11, D)
    perm = torch.randperm(11, generator=torch.Generator().manual_seed(3))
    w, wp = H(X), H(X[perm])
    other = H(_sets(11, D, seed=9))
    for name in H.names:
        torch.testing.assert_close(wp[name], w[name], rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(other[k], w[k]) for k in H.names)  # the check has teeth


@pytest.mark.parametrize("n", [1, 7, 100])
def test_any_set_size(n):
    target = _with_seed(0, TARGETS["mlp"][0])
    H = HyperNetwork(target, in_features=D, hidden=(8,), head_init_std=0.5, seed=0)
    X = _sets(n, D)
    w = H(X)
    assert all(w[k].shape == p.shape for k, p in target.named_parameters())
    # mean pooling: a set and the same set repeated twice give the same weights
    w2 = H(torch.cat([X, X]))
    for k in H.names:
        torch.testing.assert_close(w2[k], w[k], rtol=1e-5, atol=1e-6)
    # batched sets of size n agree with one-at-a-time
    Xb = _sets(3, n, D, seed=4)
    wb = H(Xb)
    for b in range(3):
        for k, v in H(Xb[b]).items():
            torch.testing.assert_close(wb[k][b], v, rtol=1e-5, atol=1e-6)


def test_mask_equals_unpadded():
    target = _with_seed(0, TARGETS["nested"][0])
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), head_init_std=0.5, seed=0)
    sizes = [3, 7, 1]
    sets = [_sets(k, D, seed=10 + k) for k in sizes]
    padded = torch.full((3, 7, D), float("nan"))  # padding content must not matter
    mask = torch.zeros(3, 7, dtype=torch.bool)
    for b, s in enumerate(sets):
        padded[b, :len(s)] = s
        mask[b, :len(s)] = True
    w = H(padded, mask=mask)
    for b, s in enumerate(sets):
        for k, v in H(s).items():
            torch.testing.assert_close(w[k][b], v, rtol=1e-5, atol=1e-6)
            assert torch.isfinite(w[k][b]).all()
    # an unbatched set with a mask
    w1 = H(padded[0], mask=mask[0])
    for k, v in H(sets[0]).items():
        torch.testing.assert_close(w1[k], v, rtol=1e-5, atol=1e-6)


def test_gradients_reach_every_parameter(case):
    _, target, _ = case
    X = _sets(4, 6, D)
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), head_init_std=0.1, seed=0)
    sum(v.square().sum() for v in H(X).values()).backward()
    for name, p in H.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    # with the default zero heads, the encoder gets a gradient once the heads have moved
    H0 = HyperNetwork(target, in_features=D, hidden=(8, 8), seed=0)
    opt = torch.optim.SGD(H0.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        sum((v - 0.123).square().sum() for v in H0(X).values()).backward()
        opt.step()
    for name, p in H0.named_parameters():
        assert p.grad.abs().sum() > 0, name


def test_call_with_own_weights_equals_target(case):
    _, target, make_input = case
    x = make_input(torch.Generator().manual_seed(1))
    expected = target(x)
    own = {k: v.detach().clone() for k, v in target.named_parameters()}
    torch.testing.assert_close(call_with_weights(target, own, x), expected, rtol=0, atol=0)
    H = HyperNetwork(target, in_features=D, hidden=(8,), seed=0)
    torch.testing.assert_close(call_with_weights(target, H(_sets(5, D)), x), expected,
                               rtol=0, atol=0)


def test_vmap_equals_loop(case):
    _, target, make_input = case
    x = make_input(torch.Generator().manual_seed(1))
    H = HyperNetwork(target, in_features=D, hidden=(8,), head_init_std=0.2, seed=0)
    w = H(_sets(4, 9, D))
    batched = call_batched(target, w, x)
    loop = torch.stack([call_with_weights(target, {k: v[b] for k, v in w.items()}, x)
                        for b in range(4)])
    torch.testing.assert_close(batched, loop, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(batched[0], batched[1])  # the weight sets really differ
    # each weight set with its own input
    xs = torch.stack([make_input(torch.Generator().manual_seed(10 + b)) for b in range(4)])
    batched = call_batched(target, w, xs, args_in_dims=0)
    loop = torch.stack([call_with_weights(target, {k: v[b] for k, v in w.items()}, xs[b])
                        for b in range(4)])
    torch.testing.assert_close(batched, loop, rtol=1e-5, atol=1e-6)


def test_call_method_and_shared_tensors():
    model = GaussianModel(mu=0.0, sigma=1.0)
    w = {"mu": torch.tensor(5.0), "log_sigma": torch.tensor(-20.0)}
    y = call_with_weights(model, w, 4, torch.Generator().manual_seed(0), method="sample")
    torch.testing.assert_close(y, torch.full((4, 1), 5.0), rtol=0, atol=1e-6)
    assert model.mu.item() == 0.0  # the target's own tensors are untouched
    # a missing name is taken from the target
    out = call_with_weights(model, {"mu": torch.tensor(1.0)}, torch.tensor([1.0]))
    torch.testing.assert_close(out, model(torch.tensor([0.0])))
    with pytest.raises(ValueError, match="`method`"):
        call_with_weights(model, w, 3, method="no_such_method")


def test_exclude_keeps_tensors_shared():
    target = _with_seed(0, Nested)
    H = HyperNetwork(target, in_features=D, exclude=("decoder.head.bias", "encoder"), seed=0)
    assert "decoder.head.bias" not in H.names
    assert not any(n.startswith("encoder.") for n in H.names)
    assert set(H.excluded) == {"decoder.head.bias", "encoder.0.weight", "encoder.0.bias",
                               "encoder.2.weight", "encoder.2.bias"}
    assert {id(p) for p in H.shared_parameters()} == {
        id(p) for n, p in target.named_parameters() if n in H.excluded}
    Hp = HyperNetwork(target, in_features=D, exclude=lambda name: name.endswith("bias"),
                      seed=0)
    assert not any(n.endswith("bias") for n in Hp.names) and "log_scale" in Hp.names
    # the excluded tensor comes from the target at call time
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
    w = H(_sets(5, D))
    before = call_with_weights(target, w, x)
    with torch.no_grad():
        target.decoder["head"].bias.add_(1.0)
    torch.testing.assert_close(call_with_weights(target, w, x), before + 1.0)


def test_seeded_initialisation_does_not_touch_global_rng():
    target = _with_seed(0, TARGETS["mlp"][0])
    state = torch.get_rng_state()
    a = HyperNetwork(target, in_features=D, head_init_std=0.1, seed=1)
    b = HyperNetwork(target, in_features=D, head_init_std=0.1, seed=1)
    c = HyperNetwork(target, in_features=D, head_init_std=0.1, seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    for (_, pa), (_, pb), (_, pc) in zip(a.named_parameters(), b.named_parameters(),
                                         c.named_parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.encoder[0].weight, c.encoder[0].weight)
    assert len(list(a.parameters())) == 2 * 3 + 2 * 4  # encoder (3 layers) + 4 heads, no target


def test_bad_input():
    target = _with_seed(0, TARGETS["mlp"][0])
    H = HyperNetwork(target, in_features=D, seed=0)
    with pytest.raises(ValueError, match=r"`X` must have in_features=3 features"):
        H(torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"`X` must hold a non-empty set"):
        H(torch.zeros(0, D))
    with pytest.raises(ValueError, match=r"`X` must hold a non-empty set"):
        H(torch.zeros(2, 0, D))
    with pytest.raises(ValueError, match=r"`X` must have shape \(n, d\) or \(B, n, d\)"):
        H(torch.zeros(D))
    with pytest.raises(TypeError, match=r"`X` must be a torch.Tensor; got list"):
        H([[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"`X` must be finite"):
        H(torch.tensor([[0.0, float("nan"), 1.0]]))
    with pytest.raises(TypeError, match=r"`mask` must be a bool tensor"):
        H(torch.zeros(2, D), mask=torch.ones(2))
    with pytest.raises(ValueError, match=r"`mask` must have shape \(2,\)"):
        H(torch.zeros(2, D), mask=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"`mask` leaves a set empty"):
        H(torch.zeros(2, 2, D), mask=torch.tensor([[True, False], [False, False]]))
    with pytest.raises(TypeError, match=r"`target` must be a torch.nn.Module; got function"):
        HyperNetwork(lambda x: x, in_features=D)
    with pytest.raises(ValueError, match=r"`in_features` must be positive; got 0"):
        HyperNetwork(target, in_features=0)
    with pytest.raises(TypeError, match=r"`in_features` must be an integer"):
        HyperNetwork(target, in_features=2.5)
    with pytest.raises(ValueError, match=r"`exclude` entry 'nope' matches no parameter"):
        HyperNetwork(target, in_features=D, exclude="nope")
    with pytest.raises(ValueError, match=r"nothing to predict"):
        HyperNetwork(target, in_features=D, exclude=lambda name: True)
    with pytest.raises(ValueError, match=r"`head_init_std` must be non-negative"):
        HyperNetwork(target, in_features=D, head_init_std=-1.0)



def test_activation_instance_is_refused_with_advice():
    # Before: nn.ReLU() (an instance) was called with no input, a raw TypeError from forward().
    target = _with_seed(0, TARGETS["mlp"][0])
    with pytest.raises(TypeError, match=r"^`activation` must be a class .* got the instance "
                                        r"ReLU\(\)\. Pass the class: activation=nn\.ReLU"):
        HyperNetwork(target, in_features=D, activation=nn.ReLU())
    with pytest.raises(TypeError, match=r"^`activation` must be a class"):
        hypernetwork_size(target, D, activation=nn.Tanh())
    with pytest.raises(TypeError, match=r"^`activation` must build a torch.nn.Module when "
                                        r"called with no arguments; it returned builtin_function"):
        HyperNetwork(target, in_features=D, activation=lambda: torch.relu)
    # a class and a factory with options are fine
    HyperNetwork(target, in_features=D, activation=nn.Tanh)
    HyperNetwork(target, in_features=D, activation=lambda: nn.LeakyReLU(0.2))


# architecture options of the size check: (target name, keywords)
SIZE_CASES = [
    ("mlp", {}),
    ("mlp", {"hidden": (), "pooled_hidden": ()}),
    ("mlp", {"hidden": (5,), "pooled_hidden": (7, 4)}),
    ("cnn", {"hidden": (16, 16)}),
    ("batchnorm", {}),
    ("batchnorm", {"predict_buffers": True, "hidden": (4,)}),
    ("nested", {"exclude": "decoder", "activation": nn.PReLU}),  # PReLU has a parameter
    ("layernorm", {"hidden": (3, 6), "activation": lambda: nn.PReLU(1)}),
]


@pytest.mark.parametrize("name, options", SIZE_CASES)
def test_hypernetwork_size_counts_what_the_constructor_builds(name, options):
    target = _with_seed(0, TARGETS[name][0])
    size = hypernetwork_size(target, D, **options)
    H = HyperNetwork(target, in_features=D, seed=0, **options)
    assert size["parameters"] == sum(p.numel() for p in H.parameters())
    assert size["parameters"] == size["encoder_parameters"] + size["head_parameters"]
    assert size["bytes"] == sum(p.numel() * p.element_size() for p in H.parameters())
    assert size["predicted"] == H.num_predicted and size["dtype"] == torch.float32
    assert size["activation_bytes"] is None
    # a forward pass's intermediate tensors: linear in the number of observations
    one = hypernetwork_size(target, D, batch_shape=(10,), **options)["activation_bytes"]
    four = hypernetwork_size(target, D, batch_shape=(4, 10), **options)["activation_bytes"]
    assert 0 < one and four == 4 * one


def test_hypernetwork_size_of_a_large_target_allocates_nothing():
    # The 4000 x 4000 linear target: 16 004 000 entries, each with a head row of 97.
    big = nn.Linear(4000, 4000, device="meta")
    size = hypernetwork_size(big, in_features=1)
    encoder = (1 * 32 + 32) + (32 * 64 + 64) + (64 * 96 + 96)
    assert size["predicted"] == size["target_parameters"] == 4000 * 4000 + 4000
    assert size["parameters"] == encoder + 97 * size["predicted"]
    assert size["bytes"] == 4 * size["parameters"] > 6e9
    with pytest.raises(ValueError, match=r"`batch_shape` must be \(n,\) or \(B, n\)"):
        hypernetwork_size(big, in_features=1, batch_shape=(1, 2, 3))


def test_large_hypernetwork_warns_before_allocating():
    # Before: HyperNetwork of a 4000 x 4000 linear target silently tried to allocate 6 GB.
    # The warning must come first: made an error here, it stops the constructor, and a
    # target on the meta device shows that nothing was allocated before it.
    big = nn.Linear(4000, 4000, device="meta")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PLEWarning)
        with pytest.raises(PLEWarning, match=r"^HyperNetwork would have 1,552,396,416 "
                                             r"parameters \(5\.8 GiB as float32\), 97 times "
                                             r"the 16,004,000 target entries"):
            HyperNetwork(big, in_features=1)
    # the threshold is a keyword; None never warns
    small = _with_seed(0, TARGETS["mlp"][0])
    with pytest.warns(PLEWarning, match=r"above warn_bytes = 1000 B.*warn_bytes=None"):
        H = HyperNetwork(small, in_features=D, warn_bytes=1000)
    assert H.num_predicted == 58
    with warnings.catch_warnings():
        warnings.simplefilter("error", PLEWarning)
        HyperNetwork(small, in_features=D, warn_bytes=None)
        HyperNetwork(small, in_features=D)  # default 1 GiB: far away
    with pytest.raises(ValueError, match=r"^`warn_bytes` must be non-negative; got -1."):
        HyperNetwork(small, in_features=D, warn_bytes=-1)
    with pytest.raises(TypeError, match=r"^`warn_bytes` must be a number of bytes or None"):
        HyperNetwork(small, in_features=D, warn_bytes="1GB")


def test_call_helpers_bad_input():
    lin = nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"`weights` names \['wieght'\] are not parameters"):
        call_with_weights(lin, {"wieght": torch.zeros(1, 2)}, torch.zeros(1, 2))
    with pytest.raises(TypeError, match=r"`weights` must be a dict"):
        call_with_weights(lin, [torch.zeros(1, 2)], torch.zeros(1, 2))
    with pytest.raises(TypeError, match=r"`target` must be a torch.nn.Module"):
        call_with_weights("lin", {"bias": torch.zeros(1)}, torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"`batched_weights` tensors must share a leading"):
        call_batched(lin, {"weight": torch.zeros(3, 1, 2), "bias": torch.zeros(2, 1)},
                     torch.zeros(1, 2))


def test_import_ple_stats_does_not_import_torch():
    code = "import sys, ple_stats; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_torch_message():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import ple_stats.hyper\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert 'pip install "ple_stats[torch]"' in out


def _pinned_target():
    g = torch.Generator().manual_seed(0)
    target = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        for p in target.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return target


def _digest(tensors):
    import hashlib
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


# (head_init_std, sha256 of the state dict, 2.weight of the first set's prediction)
PINNED = [
    (0.0, "9e9fa36a83abea8864e8f666e01f5b214a66a03bb619214c9cd51011b2988879",
     [-0.6730899, 0.8728312, 1.0553575, 0.1778437, -0.2303355, -0.3917544, 0.5432947,
      -0.3951575, -0.4462172, 0.7440207, 1.5209795, 3.4105027, -1.5311843, -1.234135,
      1.8197253, -0.5515287]),
    (0.1, "e815be0eb6fa847959d01caf20373501bfcd59f87d901910063e069d72c8c19d",
     [-0.665861, 0.8753505, 1.0442463, 0.1781679, -0.2368602, -0.3806642, 0.5567123,
      -0.3836426, -0.4580886, 0.7385231, 1.536729, 3.4026465, -1.5196227, -1.234957,
      1.8246726, -0.5491679]),
]


@pytest.mark.parametrize("std, digest, row", PINNED)
def test_per_tensor_heads_are_pinned(std, digest, row):
    # The default layout (chunk_size=None): the seeded initial weights are bit for bit
    # those of the first release, and so are the outputs up to float rounding of the
    # machine's matrix products.
    H = HyperNetwork(_pinned_target(), in_features=3, hidden=(8, 8), pooled_hidden=(5,),
                     head_init_std=std, seed=0)
    assert list(H.state_dict()) == (
        ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
         "pooled.0.weight", "pooled.0.bias"]
        + [f"heads.{i}.{k}" for i in range(4) for k in ("weight", "bias")])
    assert _digest(H.state_dict().values()) == digest
    w = H(torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(1)))
    torch.testing.assert_close(w["2.weight"][0].reshape(-1), torch.tensor(row),
                               rtol=1e-6, atol=1e-6)
