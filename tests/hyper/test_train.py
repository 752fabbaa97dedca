"""train_ple: reduction to plain training, reproducibility, checkpoint/resume, errors."""

import argparse
import copy
import hashlib
import io
import os
import re

import pytest

torch = pytest.importorskip("torch")

from ple_stats.hyper import (HyperNetwork, TrainHistory, call_batched,  # noqa: E402
                              train_ple)
from ple_stats.hyper._train import _load_checkpoint  # noqa: E402
from ple_stats.hyper.examples import (GaussianModel, gaussian_nll,  # noqa: E402
                                      gaussian_sampler)

N_SETS, N, D = 96, 10, 1


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    scale = torch.exp(torch.rand(N_SETS, 1, 1, generator=g) - 0.5)
    return scale * torch.randn(N_SETS, N, D, generator=g)


def _net(seed=0, **kw):
    return HyperNetwork(GaussianModel(), in_features=D, hidden=(8, 8), seed=seed, **kw)


def _train(H, **kw):
    options = dict(penalty=0.1, epochs=2, batch_size=32, device="cpu", seed=0, progress=False)
    options.update(kw)
    return train_ple(H, gaussian_nll, gaussian_sampler, options.pop("data", _data()), **options)


def _params(H):
    return [p.detach().clone() for p in H.parameters()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def test_lam_zero_is_plain_training_and_skips_the_sampler():
    def sampler(weights, n, generator):  # must never be called when lam == 0
        raise AssertionError("sampler called with lam = 0")

    data = _data()
    H = _net()
    H_manual = copy.deepcopy(H)
    hist = train_ple(H, gaussian_nll, sampler, data, penalty=0.0, epochs=3, shuffle=False,
                     lr=1e-2, device="cpu", seed=0, progress=False)
    assert all(p != p for p in hist.penalty)  # NaN: no synthetic pass
    # the same optimisation written by hand: full batch, Adam, task loss only
    opt = torch.optim.Adam(H_manual.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        loss = gaussian_nll(H_manual(data), data)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert _same(_params(H), _params(H_manual))
    assert list(hist.task_loss) == losses == list(hist.loss)
    # sampler=None is accepted when lam == 0
    train_ple(_net(), gaussian_nll, None, data, penalty=0.0, epochs=1, device="cpu", seed=0,
              progress=False)


def test_penalty_changes_training():
    H0, H1 = _net(), _net()
    h0 = _train(H0, penalty=0.0)
    h1 = _train(H1, penalty=0.5)
    assert not _same(_params(H0), _params(H1))
    assert all(p > 0 for p in h1.penalty)
    assert h1.loss[0] == pytest.approx(h1.task_loss[0] + 0.5 * h1.penalty[0], rel=1e-6)
    assert len(h0.loss) == 2 and h1.steps == 2 * 3


@pytest.mark.parametrize("penalty, m", [("l2", 1), ("relative", 3), ("l2_unbiased", 2)])
def test_other_penalty_kinds_train(penalty, m):
    hist = _train(_net(), penalty_form=penalty, m=m, epochs=1)
    assert all(p == p for p in hist.penalty)  # computed (not NaN)
    assert hist.loss[0] == pytest.approx(hist.task_loss[0] + 0.1 * hist.penalty[0], rel=1e-6)


def test_same_seed_same_result_and_global_rng_untouched():
    state = torch.get_rng_state()
    a, b, c = _net(), _net(), _net()
    ha = _train(a, seed=3)
    hb = _train(b, seed=3)
    _train(c, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert _same(_params(a), _params(b)) and ha == hb
    assert not _same(_params(a), _params(c))


def _halving(opt):
    return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)


def test_checkpoint_resume_reproduces_uninterrupted_run(tmp_path):
    settings = dict(m=2, seed=7, scheduler=_halving)
    straight = _net()
    h_straight = _train(straight, epochs=4, **settings)

    ckpt = tmp_path / "sub" / "run.pt"
    first = _net()
    _train(first, epochs=2, checkpoint=ckpt, **settings)
    assert sorted(os.listdir(ckpt.parent)) == ["run.pt"]  # no temporary file left behind
    # a fresh process would build a new hypernetwork (here with another seed, to show that
    # its state really comes from the checkpoint) and call train_ple again
    resumed = _net(seed=123)
    h_resumed = _train(resumed, epochs=4, checkpoint=ckpt, resume=True, **settings)
    assert _same(_params(resumed), _params(straight))
    assert h_resumed.loss == h_straight.loss and h_resumed.penalty == h_straight.penalty
    assert h_resumed.resumed_from == 2 and h_resumed.epochs == 4
    assert h_resumed.steps == h_straight.steps
    # without the saved optimiser, scheduler and generator states the run would differ
    fresh = _net(seed=123)
    fresh.load_state_dict(_load_checkpoint(ckpt)["hypernetwork"])
    _train(fresh, epochs=2, **settings)
    assert not _same(_params(fresh), _params(straight))


def test_resume_after_an_interruption(tmp_path):
    straight = _net()
    _train(straight, epochs=3, seed=1)

    calls = {"n": 0}

    def crashing_loss(weights, X):
        calls["n"] += 1
        if calls["n"] == 8:  # during the third epoch (3 steps per epoch)
            raise KeyboardInterrupt
        return gaussian_nll(weights, X)

    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train_ple(_net(), crashing_loss, gaussian_sampler, _data(), penalty=0.1, epochs=3,
                  batch_size=32, device="cpu", seed=1, progress=False, checkpoint=ckpt)
    assert _load_checkpoint(ckpt)["epoch"] == 2
    resumed = _net(seed=99)
    hist = _train(resumed, epochs=3, seed=1, checkpoint=ckpt, resume=True)
    assert hist.resumed_from == 2
    assert _same(_params(resumed), _params(straight))


def test_resume_checks_settings(tmp_path):
    ckpt = tmp_path / "run.pt"
    _train(_net(), epochs=1, checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"`checkpoint` was written with other settings"):
        _train(_net(), epochs=2, penalty=0.5, checkpoint=ckpt, resume=True)
    with pytest.raises(ValueError, match=r"`checkpoint` was written without a `scheduler`"):
        _train(_net(), epochs=2, checkpoint=ckpt, resume=True, scheduler=_halving)
    # resume=True without a checkpoint file starts fresh
    hist = _train(_net(), epochs=1, checkpoint=tmp_path / "new.pt", resume=True)
    assert hist.resumed_from == 0 and (tmp_path / "new.pt").exists()


@pytest.mark.parametrize("change, key", [
    ({"lr": 0.01}, "'lr': (0.001, 0.01)"),
    ({"optimizer": "sgd"}, "'optimizer': ('torch.optim.adam.Adam', 'torch.optim.sgd.SGD')"),
    ({"optimizer_kwargs": {"betas": (0.5, 0.9)}},
     "'optimizer.betas': ((0.9, 0.999), (0.5, 0.9))"),
    ({"m": 3}, "'m': (2, 3)"),
    ({"penalty_form": "l2"}, "'penalty_form': ('l1', 'l2')"),
    ({"batch_size": 16}, "'batch_size': (32, 16)"),
    ({"clip_grad_norm": 1.0}, "'clip_grad_norm': (None, 1.0)"),
    ({"shuffle": False}, "'shuffle': (True, False)"),
    ({"scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)},
     "'scheduler.gamma': (0.5, 0.9)"),
    ({"scheduler": lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)},
     "'scheduler': ('torch.optim.lr_scheduler.StepLR', "
     "'torch.optim.lr_scheduler.ExponentialLR')"),
])
def test_resume_refuses_every_setting_that_changes_the_continuation(tmp_path, change, key):
    # Before, a resumed run with another lr (or optimiser, scheduler settings, ...)
    # silently continued with the saved ones.
    ckpt = tmp_path / "run.pt"
    saved = dict(m=2, scheduler=_halving)
    _train(_net(), epochs=1, checkpoint=ckpt, **saved)
    before = ckpt.read_bytes()
    H = _net(seed=5)
    start = _params(H)
    with pytest.raises(ValueError, match=r"^`checkpoint` was written with other settings "
                                         r"\(saved, now\): \{.*" + re.escape(key)):
        _train(H, epochs=2, checkpoint=ckpt, resume=True, **{**saved, **change})
    # refused before anything was loaded or written
    assert _same(_params(H), start) and ckpt.read_bytes() == before


def test_resume_allows_what_does_not_change_the_continuation(tmp_path):
    # epochs (the new total), checkpoint_every, progress and seed may differ
    straight = _net()
    _train(straight, epochs=3, seed=4)
    ckpt = tmp_path / "run.pt"
    _train(_net(), epochs=1, seed=4, checkpoint=ckpt)
    resumed = _net(seed=8)
    hist = _train(resumed, epochs=3, seed=99, checkpoint=ckpt, checkpoint_every=2,
                  resume=True)
    assert hist.resumed_from == 1 and _same(_params(resumed), _params(straight))


def test_resume_refuses_another_architecture(tmp_path):
    ckpt = tmp_path / "run.pt"
    _train(_net(), epochs=1, checkpoint=ckpt)
    other = HyperNetwork(GaussianModel(), in_features=D, hidden=(8, 4), seed=0)
    with pytest.raises(ValueError, match=r"`checkpoint` holds the state of another "
                                         r"hypernetwork or target"):
        _train(other, epochs=2, checkpoint=ckpt, resume=True)


def _corrupt(kind, data):
    if kind == "truncated":
        return data[: len(data) // 2]
    if kind == "zero-length":
        return b""
    if kind == "garbage":
        return bytes(range(256)) * 64
    if kind == "flipped byte":  # complete length, one byte of the payload changed
        i = len(data) - 100
        return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    if kind == "header only":
        return data[:40]
    if kind in ("valid digest, not torch", "valid digest, unsafe pickle"):
        # intact as written, but torch refuses the payload: with weights_only=True,
        # torch's own error advises weights_only=False, which must not reach the user
        if kind == "valid digest, not torch":
            payload = b"not a torch file" * 10
        else:
            buffer = io.BytesIO()
            torch.save({"format": argparse.Namespace()}, buffer)
            payload = buffer.getvalue()
        return (b"ple_stats.hyper checkpoint\nsha256:"
                + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    if kind == "plain torch file":  # what an older version wrote (no digest header)
        buffer = io.BytesIO()
        torch.save({"format": "ple_stats.hyper.checkpoint/1"}, buffer)
        return buffer.getvalue()
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["truncated", "zero-length", "garbage", "flipped byte",
                                  "header only", "plain torch file",
                                  "valid digest, not torch", "valid digest, unsafe pickle"])
def test_corrupted_checkpoint_is_a_clear_error(tmp_path, kind):
    # Before, a damaged file ended in torch's UnpicklingError, whose text advises
    # weights_only=False (unsafe: it runs code from the file).
    ckpt = tmp_path / "run.pt"
    _train(_net(), epochs=1, checkpoint=ckpt)
    ckpt.write_bytes(_corrupt(kind, ckpt.read_bytes()))
    with pytest.raises(ValueError) as info:
        _train(_net(), epochs=2, checkpoint=ckpt, resume=True)
    text = str(info.value)
    assert text.startswith(f"`checkpoint` file {str(ckpt)!r} cannot be resumed: ")
    assert "delete it to start over" in text
    assert "weights_only" not in text
    # nothing of torch's message is chained into the traceback either
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    # starting over (resume=False) overwrites the damaged file with a valid one
    _train(_net(), epochs=1, checkpoint=ckpt)
    assert _load_checkpoint(ckpt)["epoch"] == 1


def test_checkpoint_file_carries_the_digest_of_its_payload(tmp_path):
    ckpt = tmp_path / "run.pt"
    _train(_net(), epochs=1, checkpoint=ckpt)
    data = ckpt.read_bytes()
    header, digest_line, payload = data.split(b"\n", 2)
    assert header == b"ple_stats.hyper checkpoint"
    assert digest_line == b"sha256:" + hashlib.sha256(payload).hexdigest().encode()
    state = torch.load(io.BytesIO(payload), weights_only=True)
    assert state["epoch"] == 1 and state["config"]["lr"] == 1e-3


def test_unavailable_device_is_a_value_error(monkeypatch):
    # Before: device="cuda" without CUDA gave torch's AssertionError deep inside .to().
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"^`device` is 'cuda', but CUDA is not available "
                                         r"on this machine"):
        _train(_net(), device="cuda")
    with pytest.raises(ValueError, match=r"^`device` must be a device that holds data"):
        _train(_net(), device="meta")


def test_shared_parameters_are_trained():
    target = GaussianModel()
    H = HyperNetwork(target, in_features=D, hidden=(8,), exclude="log_sigma", seed=0)
    assert H.names == ("mu",)

    def nll(weights, X):  # log_sigma comes from the target itself
        return -call_batched(target, weights, X, args_in_dims=0).mean()

    def run(epochs):
        train_ple(H, nll, None, _data(), penalty=0.0, epochs=epochs, batch_size=32,
                  device="cpu", seed=0, progress=False)

    run(2)
    assert target.log_sigma.item() != 0.0  # trained as an ordinary shared parameter
    target.log_sigma.requires_grad_(False)
    before = target.log_sigma.item()
    run(1)
    assert target.log_sigma.item() == before


def test_data_layouts():
    g = torch.Generator().manual_seed(0)
    points = torch.randn(50, D, generator=g)  # one data set; batches of points are the sets
    hist = _train(_net(), data=points, batch_size=16, epochs=2)
    assert hist.steps == 2 * 4
    hist = _train(_net(), data=points, batch_size=16, epochs=2, drop_last=True)
    assert hist.steps == 2 * 3
    sets = [torch.randn(n, D, generator=g) for n in (5, 9, 12)]  # ragged sets, unbatched
    hist = _train(_net(), data=sets, epochs=2)
    assert hist.steps == 6 and all(p > 0 for p in hist.penalty)


def test_clip_grad_norm_bounds_the_step():
    H = _net()
    before = _params(H)
    _train(H, penalty=0.0, epochs=1, batch_size=None, optimizer="sgd", lr=1.0,
           clip_grad_norm=1e-3)
    step = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(_params(H), before)))
    assert 0 < step.item() <= 1e-3 * (1 + 1e-5)


def test_optimizer_class_and_progress_bar(capsys):
    hist = _train(_net(), epochs=1, optimizer=torch.optim.SGD,
                  optimizer_kwargs={"momentum": 0.9}, progress=True)
    assert isinstance(hist, TrainHistory) and hist.epochs == 1
    assert "train_ple" in capsys.readouterr().err
    assert hist.as_dict()["epochs"] == 1


def test_non_finite_loss_is_reported():
    calls = {"n": 0}

    def loss_nan_on_fifth_call(weights, X):
        calls["n"] += 1
        loss = gaussian_nll(weights, X)
        return loss * float("nan") if calls["n"] == 5 else loss

    with pytest.raises(FloatingPointError, match=r"non-finite loss at epoch 1, step 1"):
        train_ple(_net(), loss_nan_on_fifth_call, gaussian_sampler, _data(), penalty=0.1, epochs=3,
                  batch_size=32, device="cpu", seed=0, progress=False)

    def bad_sampler(weights, n, generator):
        return gaussian_sampler(weights, n, generator) * float("inf")

    with pytest.raises(FloatingPointError, match=r"`sampler` produced NaN or inf at epoch 0"):
        train_ple(_net(), gaussian_nll, bad_sampler, _data(), penalty=0.1, epochs=1,
                  device="cpu", seed=0, progress=False)


def test_bad_arguments():
    H, data = _net(), _data()

    def run(**kw):
        options = dict(penalty=0.1, epochs=1, device="cpu", seed=0, progress=False)
        args = [kw.pop(k) if k in kw else d for k, d in
                (("hypernetwork", H), ("task_loss", gaussian_nll),
                 ("sampler", gaussian_sampler), ("data", data))]
        options.update(kw)
        return train_ple(*args, **options)

    with pytest.raises(ValueError, match=r"^`penalty` must be non-negative; got -1.0.$"):
        run(penalty=-1)
    with pytest.raises(ValueError, match=r"`penalty` must be finite"):
        run(penalty=float("inf"))
    with pytest.raises(ValueError, match=r"^`m` must be positive; got 0.$"):
        run(m=0)
    with pytest.raises(TypeError, match=r"`m` must be an integer"):
        run(m=1.5)
    with pytest.raises(TypeError, match=r"`hypernetwork` must be a HyperNetwork"):
        run(hypernetwork=GaussianModel())
    with pytest.raises(TypeError, match=r"`task_loss` must be callable"):
        run(task_loss="nll")
    with pytest.raises(TypeError, match=r"`sampler` must be callable"):
        run(sampler=None)
    with pytest.raises(TypeError, match=r"`data` must be re-iterable"):
        run(data=iter([data[0]]))
    with pytest.raises(TypeError, match=r"`data` must be a torch.Tensor or a re-iterable"):
        run(data=3.0)
    with pytest.raises(ValueError, match=r"`data` must have in_features=1 features"):
        run(data=torch.zeros(4, 10, 2))
    with pytest.raises(ValueError, match=r"`data` must have shape \(N, d\)"):
        run(data=torch.zeros(4))
    with pytest.raises(ValueError, match=r"`data` must not be empty"):
        run(data=torch.zeros(0, 10, 1))
    with pytest.raises(ValueError, match=r"`batch_size` must be positive; got 0"):
        run(batch_size=0)
    with pytest.raises(ValueError, match=r"`lr` must be positive"):
        run(lr=0.0)
    with pytest.raises(ValueError, match=r"`optimizer` must be one of"):
        run(optimizer="lbfgs2")
    with pytest.raises(ValueError, match=r"`penalty_form` must be one of"):
        run(penalty_form="huber")
    with pytest.raises(ValueError,
                       match=r"`m` must be at least 2 with penalty_form='l2_unbiased'"):
        run(penalty_form="l2_unbiased", m=1)
    with pytest.raises(ValueError, match=r"`device` must name a torch device"):
        run(device="gpu0")
    with pytest.raises(TypeError, match=r"`seed` must be None, an int or a torch.Generator"):
        run(seed="zero")
    with pytest.raises(TypeError, match=r"`task_loss` must return a scalar tensor"):
        run(task_loss=lambda w, X: w["mu"])
    with pytest.raises(ValueError, match=r"`sampler` must return synthetic data shaped like"):
        run(sampler=lambda w, n, g: torch.zeros(n, 1))


def test_as_device_validates_in_one_place(monkeypatch):
    from ple_stats.hyper._checks import as_device

    assert as_device("cpu") == torch.device("cpu")
    assert as_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert as_device(None) == torch.device("cpu")
    for bad in ("cuda", "cuda:0", torch.device("cuda", 1)):
        with pytest.raises(ValueError, match=r"CUDA is not available on this machine"):
            as_device(bad)
    with pytest.raises(ValueError, match=r"^`device` must be a device that holds data.*"
                                         r"got 'meta'"):
        as_device("meta")
    with pytest.raises(ValueError, match=r"^`device` must be 'cpu' or one of \['cuda', "
                                         r"'mps', 'xpu'\].*got 'privateuseone'"):
        as_device("privateuseone")
    with pytest.raises(ValueError, match=r"^`where` must name a torch device"):
        as_device("gpu0", "where")
    with pytest.raises(TypeError, match=r"^`device` must be None, a str"):
        as_device(1.5)
    # where CUDA exists, "cuda" and "cuda:N" keep working, and an index beyond the
    # devices present is named (simulated here: the tests run without a GPU)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert as_device(None) == torch.device("cuda")
    assert as_device("cuda") == torch.device("cuda")
    assert as_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match=r"^`device` is 'cuda:2', but this machine has 2 "
                                         r"CUDA device\(s\)"):
        as_device("cuda:2")
