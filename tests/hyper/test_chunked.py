"""Chunked heads of HyperNetwork: one shared head predicts the target's entries chunk by chunk."""

import copy
import math
import warnings

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from ple_stats import PLEWarning  # noqa: E402
from ple_stats.hyper import (HyperNetwork, call_batched, call_with_weights,  # noqa: E402
                             hypernetwork_size, train_ple)
from ple_stats.hyper.examples import (GaussianModel, gaussian_nll,  # noqa: E402
                                      gaussian_sampler)
from ple_stats.hyper.models import VAE, HyperVAE  # noqa: E402

from .test_hypernetwork import TARGETS, _sets, _with_seed  # noqa: E402

D = 3
# chunk sizes: 1 entry, a size that cuts across tensors, one that divides nothing, and one
# larger than the whole target (a single truncated chunk)
CHUNKS = [1, 7, 64, 100_000]
OFFSETS = ["learned", "fixed"]


def _target(name):
    target = _with_seed(0, TARGETS[name][0])
    if name == "batchnorm":
        target.eval()
    return target


@pytest.mark.parametrize("name", sorted(TARGETS))
@pytest.mark.parametrize("chunk_size", CHUNKS)
@pytest.mark.parametrize("offset", OFFSETS)
def test_initial_output_is_the_targets_initialisation(name, chunk_size, offset):
    target = _target(name)
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), chunk_size=chunk_size,
                     chunk_offset=offset, seed=0)
    params = dict(target.named_parameters())
    assert H.names == tuple(params) and H.chunk_size == chunk_size
    assert H.heads[0].num_chunks == math.ceil(H.num_predicted / chunk_size)
    for X in (_sets(7, D, seed=1), 100 * _sets(3, D, seed=2), _sets(4, 5, D, seed=3)):
        w = H(X)
        assert list(w) == list(params)
        for k, p in params.items():
            expected = p.detach().expand(X.shape[:-2] + p.shape)
            assert w[k].shape == expected.shape and w[k].dtype == p.dtype
            assert torch.equal(w[k], expected), k
    for k, v in H.initial_weights().items():
        assert torch.equal(v, params[k].detach())


@pytest.mark.parametrize("chunk_size", [5, 13])
def test_output_is_the_flat_chunked_vector_in_named_order(chunk_size):
    target = _target("nested")
    H = HyperNetwork(target, in_features=D, hidden=(8,), pooled_hidden=(6,),
                     chunk_size=chunk_size, head_init_std=0.3, seed=0)
    head = H.heads[0]
    X = _sets(2, 9, D)
    z = H.encode(X)
    # the head written out: chunk j = offset_j + s (W2 relu(W1 [z, e_j] + b1) + b2),
    # s = 1 / sqrt(J) by default
    inputs = torch.cat([z[:, None, :].expand(-1, head.num_chunks, -1),
                        head.embeddings.expand(2, -1, -1)], dim=-1)
    chunks = head.out(torch.relu(head.hidden(inputs)))
    assert head.output_scale == 1 / math.sqrt(head.num_chunks)
    flat = chunks.reshape(2, -1)[:, :H.num_predicted] / math.sqrt(head.num_chunks) + head.bias
    got = torch.cat([v.reshape(2, -1) for v in H(X).values()], dim=1)
    torch.testing.assert_close(got, flat, rtol=1e-5, atol=1e-6)
    assert chunks.shape[-1] == chunk_size
    # the last chunk is truncated: the predicted entries are not a multiple of the chunk
    assert H.num_predicted % chunk_size != 0


# (target, keywords) of the size check
SIZE_CASES = [
    ("mlp", {"chunk_size": 8}),
    ("mlp", {"chunk_size": 1000, "chunk_offset": "fixed"}),
    ("cnn", {"chunk_size": 16, "chunk_embedding_dim": 3, "chunk_hidden": 5}),
    ("cnn", {"chunk_size": 7, "hidden": (), "pooled_hidden": ()}),
    ("batchnorm", {"chunk_size": 9, "predict_buffers": True, "chunk_offset": "fixed"}),
    ("nested", {"chunk_size": 11, "exclude": "decoder", "activation": nn.PReLU}),
    ("layernorm", {"chunk_size": 4, "hidden": (5,), "pooled_hidden": (6, 2),
                   "activation": nn.Tanh}),
]


@pytest.mark.parametrize("name, options", SIZE_CASES)
def test_hypernetwork_size_counts_what_the_chunked_constructor_builds(name, options):
    target = _target(name)
    size = hypernetwork_size(target, D, **options)
    H = HyperNetwork(target, in_features=D, seed=0, **options)
    assert size["parameters"] == sum(p.numel() for p in H.parameters())
    assert size["parameters"] == size["encoder_parameters"] + size["head_parameters"]
    assert size["buffers"] == sum(b.numel() for b in H.buffers())
    assert size["bytes"] == (sum(p.numel() * p.element_size() for p in H.parameters())
                             + sum(b.numel() * b.element_size() for b in H.buffers()))
    assert size["chunks"] == H.heads[0].num_chunks
    assert size["predicted"] == H.num_predicted
    one = hypernetwork_size(target, D, batch_shape=(10,), **options)["activation_bytes"]
    four = hypernetwork_size(target, D, batch_shape=(4, 10), **options)["activation_bytes"]
    assert 0 < one and four == 4 * one


def test_fixed_offset_is_a_buffer_and_is_not_trained():
    target = _target("mlp")
    H = HyperNetwork(target, in_features=D, chunk_size=16, chunk_offset="fixed", seed=0)
    assert "heads.0.bias" in dict(H.named_buffers())
    assert "heads.0.bias" not in dict(H.named_parameters())
    before = H.heads[0].bias.clone()
    _train_gaussian_like(H, target)
    assert torch.equal(H.heads[0].bias, before)
    learned = HyperNetwork(target, in_features=D, chunk_size=16, seed=0)
    assert "heads.0.bias" in dict(learned.named_parameters())


def _train_gaussian_like(H, target, steps=3):
    opt = torch.optim.Adam(H.parameters(), lr=0.05)
    x = _sets(5, 4, seed=7).to(next(target.parameters()).dtype)
    for _ in range(steps):
        opt.zero_grad()
        w = H(_sets(6, D, seed=8))
        call_with_weights(target, w, x).square().mean().backward()
        opt.step()


def test_large_target_sizes_and_the_warning_suggests_a_chunk_size():
    big = nn.Linear(4000, 4000, device="meta")  # nothing is allocated
    plain = hypernetwork_size(big, in_features=1)
    chunked = hypernetwork_size(big, in_features=1, chunk_size=2048)
    P = 4000 * 4000 + 4000
    J = math.ceil(P / 2048)
    encoder = plain["encoder_parameters"]
    assert chunked["chunks"] == J
    assert chunked["parameters"] == encoder + P + J * 8 + (96 + 8 + 1) * 32 + (32 + 1) * 2048
    assert chunked["parameters"] < 1.01 * P < plain["parameters"] / 96
    fixed = hypernetwork_size(big, in_features=1, chunk_size=2048, chunk_offset="fixed")
    # buffers: the fixed offset (P entries) and the output scale (one)
    assert fixed["parameters"] == chunked["parameters"] - P and fixed["buffers"] == P + 1
    assert fixed["bytes"] == chunked["bytes"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PLEWarning)
        with pytest.raises(PLEWarning, match=r"Chunked heads need far fewer: chunk_size=(\d+) "
                                             r"gives [\d,]+ parameters") as info:
            HyperNetwork(big, in_features=1)
    suggested = int(str(info.value).split("chunk_size=")[1].split(" ")[0])
    size = hypernetwork_size(big, in_features=1, chunk_size=suggested)
    assert size["bytes"] <= 2**30
    assert f"{size['parameters']:,} parameters" in str(info.value)
    # and the suggestion builds without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", PLEWarning)
        H = HyperNetwork(big, in_features=1, chunk_size=suggested)
    assert H.heads[0].bias.device.type == "meta"


def test_chunked_warning_when_still_too_large():
    # chunked heads above the threshold say so; for a tiny target they are no smaller
    small = _target("mlp")
    with pytest.warns(PLEWarning, match=r"\(chunk_size = 4, 15 chunks\), above warn_bytes = "
                                        r"100 B; training with Adam needs about four times "
                                        r"that\. Predict fewer tensors") as info:
        HyperNetwork(small, in_features=D, chunk_size=4, warn_bytes=100)
    assert "Chunked heads need far fewer" not in str(info[0].message)
    # a suggestion that is better but still above the threshold says that too
    with pytest.warns(PLEWarning, match=r"Chunked heads need far fewer: chunk_size=\d+ gives "
                                        r"[\d,]+ parameters \([\d.]+ KiB with its buffers, "
                                        r"still above warn_bytes: predict fewer tensors as "
                                        r"well\)"):
        HyperNetwork(nn.Linear(100, 100), in_features=D, warn_bytes=1000)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_call_with_weights_and_call_batched(name):
    target = _target(name)
    _, make_input = TARGETS[name]
    x = make_input(torch.Generator().manual_seed(1))
    H = HyperNetwork(target, in_features=D, hidden=(8,), chunk_size=10, seed=0)
    torch.testing.assert_close(call_with_weights(target, H(_sets(5, D)), x), target(x),
                               rtol=0, atol=0)
    Hs = HyperNetwork(target, in_features=D, hidden=(8,), chunk_size=10, head_init_std=0.2,
                      seed=0)
    w = Hs(_sets(4, 9, D))
    batched = call_batched(target, w, x)
    loop = torch.stack([call_with_weights(target, {k: v[b] for k, v in w.items()}, x)
                        for b in range(4)])
    torch.testing.assert_close(batched, loop, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(batched[0], batched[1])  # the weight sets really differ


def test_invariances_mask_and_gradients():
    target = _target("nested")
    H = HyperNetwork(target, in_features=D, hidden=(8, 8), chunk_size=9, head_init_std=0.5,
                     seed=0)
    X = _sets(11, D)
    perm = torch.randperm(11, generator=torch.Generator().manual_seed(3))
    for k, v in H(X[perm]).items():
        torch.testing.assert_close(v, H(X)[k], rtol=1e-5, atol=1e-6)
    padded = torch.full((2, 11, D), float("nan"))
    padded[0], padded[1, :4] = X, X[:4]
    mask = torch.zeros(2, 11, dtype=torch.bool)
    mask[0], mask[1, :4] = True, True
    w = H(padded, mask=mask)
    for k, v in H(X[:4]).items():
        torch.testing.assert_close(w[k][1], v, rtol=1e-5, atol=1e-6)
    sum(v.square().sum() for v in H(_sets(3, 6, D)).values()).backward()
    for name, p in H.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_seeded_and_global_rng_untouched():
    target = _target("cnn")
    state = torch.get_rng_state()
    a = HyperNetwork(target, in_features=D, chunk_size=32, head_init_std=0.1, seed=1)
    b = HyperNetwork(target, in_features=D, chunk_size=32, head_init_std=0.1, seed=1)
    c = HyperNetwork(target, in_features=D, chunk_size=32, head_init_std=0.1, seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))
    assert not torch.equal(a.heads[0].embeddings, c.heads[0].embeddings)
    # the encoder is drawn first, as with per-tensor heads
    plain = HyperNetwork(target, in_features=D, head_init_std=0.1, seed=1)
    assert torch.equal(plain.encoder[0].weight, a.encoder[0].weight)


def test_state_dict_round_trip_and_float64():
    target = _target("mlp").double()
    H = HyperNetwork(target, in_features=D, chunk_size=6, head_init_std=0.1, seed=0)
    assert H.heads[0].bias.dtype == torch.float64
    _train_gaussian_like(H, target)
    other = HyperNetwork(target, in_features=D, chunk_size=6, seed=5)
    other.load_state_dict(H.state_dict())
    X = _sets(7, D)
    for k, v in H(X).items():
        assert v.dtype == torch.float64 and torch.equal(v, other(X)[k])


def test_bad_chunk_options():
    target = _target("mlp")
    with pytest.raises(ValueError, match=r"^`chunk_size` must be positive; got 0"):
        HyperNetwork(target, in_features=D, chunk_size=0)
    with pytest.raises(TypeError, match=r"^`chunk_size` must be an integer"):
        HyperNetwork(target, in_features=D, chunk_size=2.5)
    with pytest.raises(ValueError, match=r"^`chunk_embedding_dim` must be positive"):
        hypernetwork_size(target, D, chunk_size=4, chunk_embedding_dim=0)
    with pytest.raises(ValueError, match=r"^`chunk_hidden` must be positive"):
        HyperNetwork(target, in_features=D, chunk_size=4, chunk_hidden=-1)
    with pytest.raises(ValueError, match=r"^`chunk_offset` must be one of \('learned', "
                                         r"'fixed'\); got 'zero'"):
        HyperNetwork(target, in_features=D, chunk_size=4, chunk_offset="zero")
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=r"^`chunk_output_scale` must be positive"):
            HyperNetwork(target, in_features=D, chunk_size=4, chunk_output_scale=bad)
    with pytest.raises(TypeError, match=r"^`chunk_output_scale` must be a positive number"):
        hypernetwork_size(target, D, chunk_size=4, chunk_output_scale="auto")


def test_chunk_output_scale_scales_the_shared_part_only():
    # theta = offset + s * head(z, e_j): the offset (the initial weights) is not scaled,
    # the set-dependent part is, linearly; an explicit s replaces the default 1 / sqrt(J).
    target = _target("mlp")
    X = _sets(2, 9, D)
    nets = [HyperNetwork(target, in_features=D, chunk_size=4, head_init_std=0.3, seed=0,
                         chunk_output_scale=s) for s in (1.0, 0.25)]
    assert nets[1].heads[0].output_scale == 0.25
    offset = nets[0].heads[0].bias
    flat = [torch.cat([v.reshape(2, -1) for v in H(X).values()], dim=1) - offset
            for H in nets]
    torch.testing.assert_close(flat[1], 0.25 * flat[0])
    assert flat[0].abs().max() > 1e-3  # the head contributes (head_init_std > 0)
    assert "output_scale=0.25" in repr(nets[1])


# -- training -----------------------------------------------------------------------------

def _gaussian_sets(seed=0):
    g = torch.Generator().manual_seed(seed)
    scale = torch.exp(torch.rand(96, 1, 1, generator=g) - 0.5)
    return scale * torch.randn(96, 10, 1, generator=g)


def _train(H, **kw):
    options = dict(penalty=0.1, m=2, epochs=2, batch_size=32, device="cpu", seed=0,
                   progress=False)
    options.update(kw)
    return train_ple(H, gaussian_nll, gaussian_sampler, _gaussian_sets(), **options)


def _gaussian_net(seed=0, **kw):
    return HyperNetwork(GaussianModel(), in_features=1, hidden=(8, 8), chunk_size=1,
                        seed=seed, **kw)


def test_training_starts_where_plain_training_of_the_target_would():
    H = _gaussian_net()
    hist = train_ple(H, gaussian_nll, gaussian_sampler, _gaussian_sets(), penalty=0.0, epochs=1,
                     shuffle=False, device="cpu", seed=0, progress=False)
    model = GaussianModel()
    own = {k: v.detach() for k, v in model.named_parameters()}
    assert hist.task_loss[0] == gaussian_nll(own, _gaussian_sets()).item()
    assert hist.penalty[0] != hist.penalty[0]  # NaN: lam = 0 skips the synthetic pass
    assert not torch.equal(H.heads[0].bias, torch.tensor([0.0, 0.0]))  # it trained


def test_train_ple_and_resume_reproduce_the_uninterrupted_run(tmp_path):
    straight = _gaussian_net()
    h_straight = _train(straight, epochs=4)
    assert all(math.isfinite(v) for v in h_straight.penalty)
    ckpt = tmp_path / "chunked.pt"
    _train(_gaussian_net(), epochs=2, checkpoint=ckpt)
    resumed = _gaussian_net(seed=123)
    h_resumed = _train(resumed, epochs=4, checkpoint=ckpt, resume=True)
    assert h_resumed.resumed_from == 2 and h_resumed.loss == h_straight.loss
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(),
                                                  straight.state_dict().values()))
    # a checkpoint of per-tensor heads (or another chunking) is another architecture
    with pytest.raises(ValueError, match=r"another hypernetwork or target"):
        _train(HyperNetwork(GaussianModel(), in_features=1, hidden=(8, 8), seed=0),
               epochs=3, checkpoint=ckpt, resume=True)


def test_hyper_vae_with_chunked_heads():
    x = torch.rand(48, 16, generator=torch.Generator().manual_seed(0))
    vae = VAE(16, latent=2, hidden=(8, 8, 8, 8), seed=0)
    initial = {k: v.detach().clone() for k, v in vae.named_parameters()}
    model = HyperVAE(copy.deepcopy(vae), seed=0, chunk_size=64)
    assert model.hyper.chunk_size == 64
    w = model.hyper(x)
    assert all(torch.equal(w[k], initial[k]) for k in initial)
    hist = model.fit(x, steps=4, batch_size=16, device="cpu", seed=0, progress=False)
    assert len(hist.penalty) == 2 and all(math.isfinite(v) for v in hist.loss)
    assert model.sample(3, generator=torch.Generator().manual_seed(1)).shape == (3, 16)


def test_the_output_scale_travels_with_the_state_dict():
    # The scale is a buffer: a network loaded from a state dict computes the saved
    # function whatever scale it was built with, and a state dict saved before the scale
    # existed (no such key) loads as scale 1, the function it computed then.
    target = _target("mlp")
    X = _sets(2, 9, D)
    saved = HyperNetwork(target, in_features=D, chunk_size=4, head_init_std=0.3, seed=0,
                         chunk_output_scale=1.0)
    loaded = HyperNetwork(target, in_features=D, chunk_size=4, head_init_std=0.3, seed=1)
    assert float(loaded.heads[0].output_scale) != 1.0
    loaded.load_state_dict(saved.state_dict())
    for name, value in saved(X).items():
        assert torch.equal(loaded(X)[name], value), name
    legacy = {k: v for k, v in saved.state_dict().items() if not k.endswith("output_scale")}
    again = HyperNetwork(target, in_features=D, chunk_size=4, seed=2)
    again.load_state_dict(legacy)  # strict: the missing key is filled, not an error
    assert float(again.heads[0].output_scale) == 1.0
    for name, value in saved(X).items():
        assert torch.equal(again(X)[name], value), name
