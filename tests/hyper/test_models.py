"""VAE, HyperVAE and the evaluation classifier: shapes, training, the penalty's synthetic sets."""

import pytest

torch = pytest.importorskip("torch")

from ple_stats.hyper import train_ple  # noqa: E402
from ple_stats.experiments._classifier import ImageClassifier, fit_classifier  # noqa: E402
from ple_stats.hyper.models import VAE, HyperVAE, as_images, fit_vae  # noqa: E402

D = 16


def _images(n=64, seed=0):
    """Two blurry 4x4 'digits' with noise, in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    protos = torch.stack([torch.linspace(0, 1, D), torch.linspace(1, 0, D)])
    which = torch.randint(0, 2, (n,), generator=g)
    return (protos[which] + 0.1 * torch.randn(n, D, generator=g)).clamp(0, 1)


def _small_vae(seed=0, **kw):
    return VAE(D, latent=2, hidden=(16, 12, 8, 8), seed=seed, **kw)


def test_vae_architecture_and_shapes():
    vae = VAE(64, latent=8, seed=0)
    linears = [m for m in vae.encoder if isinstance(m, torch.nn.Linear)]
    norms = [m for m in vae.encoder if isinstance(m, torch.nn.BatchNorm1d)]
    acts = [m for m in vae.encoder if isinstance(m, torch.nn.LeakyReLU)]
    assert (len(linears), len(norms), len(acts)) == (5, 4, 4)
    assert sum(isinstance(m, torch.nn.Linear) for m in vae.decoder) == 5
    x = torch.rand(10, 64, generator=torch.Generator().manual_seed(0))
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (10, 8)
    assert vae.decode(mu).shape == (10, 64)
    assert vae.elbo(x).shape == (10,)
    assert vae.loss(x).shape == ()
    s = vae.sample(7, generator=torch.Generator().manual_seed(1))
    assert s.shape == (7, 64) and s.min() >= 0 and s.max() <= 1
    b = vae.sample(7, generator=torch.Generator().manual_seed(1), mean=False)
    assert set(b.unique().tolist()) <= {0.0, 1.0}


def test_vae_gaussian_likelihood_and_seeding():
    vae = VAE(D, latent=2, hidden=(8, 8, 8, 8), likelihood="gaussian", seed=3)
    x = _images(8)
    assert torch.isfinite(vae.elbo(x, torch.Generator().manual_seed(0))).all()
    twin = VAE(D, latent=2, hidden=(8, 8, 8, 8), likelihood="gaussian", seed=3)
    for p, q in zip(vae.parameters(), twin.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"hidden": (8, 8, 8)}, ValueError, "hidden.*4 widths"),
    ({"likelihood": "poisson"}, ValueError, "likelihood"),
    ({"latent": 0}, ValueError, "latent"),
])
def test_vae_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        VAE(D, **kwargs)


def test_fit_vae_lowers_the_loss():
    # Deterministic (seeded); the mean negative ELBO of the last epoch must be well
    # below the first epoch's (it drops by tens of nats here).
    vae = _small_vae()
    losses = fit_vae(vae, _images(128), steps=150, batch_size=32, lr=3e-3, seed=0,
                     device="cpu", progress=False)
    assert losses[-1] < losses[0] - 1.0


def test_hyper_vae_fit_lowers_task_loss_and_has_a_penalty():
    model = HyperVAE(_small_vae(), seed=0)
    assert model.hyper.hidden == (32, 64, 96)
    hist = model.fit(_images(128), steps=120, batch_size=32, lr=3e-3, seed=0, device="cpu",
                     progress=False)
    assert hist.task_loss[-1] < hist.task_loss[0] - 1.0
    assert all(p > 0 and p == p for p in hist.penalty)       # computed, finite, non-zero
    assert model.weights is not None
    assert model.sample(5, generator=torch.Generator().manual_seed(0)).shape == (5, D)


def test_hyper_vae_penalty_uses_generated_batches():
    model = HyperVAE(_small_vae(), seed=0, head_init_std=1e-3)
    calls = []
    sampler = model.sampler

    def spy(weights, n, generator):
        y = sampler(weights, n, generator)
        calls.append((n, tuple(y.shape), y.detach().clone()))
        return y

    x = _images(64)
    hist = train_ple(model.hyper, lambda w, X: model.task_loss(w, X), spy, x, penalty=0.1, m=2,
                     epochs=1, batch_size=32, device="cpu", seed=0, progress=False,
                     detach_synthetic=False)
    # 2 steps x m = 2 synthetic sets, each shaped like the real batch, generated images
    # in [0, 1] that are not real rows.
    assert len(calls) == 4
    assert all(n == 32 and shape == (32, D) for n, shape, _ in calls)
    for _, _, y in calls:
        assert y.min() >= 0 and y.max() <= 1
        assert torch.cdist(y, x).min() > 1e-6
    assert hist.penalty[0] > 0


def test_hyper_vae_sampler_leaves_batchnorm_statistics_alone():
    model = HyperVAE(_small_vae(), seed=0)
    before = {k: v.clone() for k, v in model.vae.named_buffers()}
    w = model.hyper(_images(16))
    y = model.sampler(w, 16, torch.Generator().manual_seed(0))
    assert y.shape == (16, D)
    for k, v in model.vae.named_buffers():
        assert torch.equal(v, before[k]), k


def test_hyper_vae_sample_needs_weights():
    with pytest.raises(ValueError, match="no weights yet"):
        HyperVAE(_small_vae(), seed=0).sample(3)
    with pytest.raises(TypeError, match="vae"):
        HyperVAE(torch.nn.Linear(2, 2))


def test_classifier_shapes_and_training():
    x = _images(128)
    y = (x[:, 0] < 0.5).long()
    clf = ImageClassifier(D, n_classes=2, hidden=(16, 8), seed=0)
    assert clf(x).shape == (128, 2) and clf.features(x).shape == (128, 8)
    losses = fit_classifier(clf, x, y, epochs=30, device="cpu")
    assert losses[-1] < losses[0]
    with torch.no_grad():
        assert (clf(x).argmax(1) == y).float().mean() > 0.9
    with pytest.raises(ValueError, match="class indices"):
        fit_classifier(clf, x, y + 5, epochs=1, device="cpu")


def test_classifier_old_import_path_is_deprecated():
    import ple_stats.hyper.models as models

    for name, obj in (("ImageClassifier", ImageClassifier), ("fit_classifier", fit_classifier)):
        with pytest.warns(DeprecationWarning, match="ple_stats.experiments._classifier"):
            assert getattr(models, name) is obj
        assert name not in models.__all__
    with pytest.raises(AttributeError):
        models.NoSuchModel


@pytest.mark.parametrize("x, kw, match", [
    (torch.full((4, D), 2.0), {}, r"\[0, 1\]"),
    (torch.full((4, D), float("nan")), {}, "finite"),
    (torch.rand(4, D + 1), {"in_features": D}, "16 features"),
    (torch.rand(1, D), {}, "at least 2 images"),
    (torch.rand(D), {}, "shape"),
])
def test_as_images_errors(x, kw, match):
    with pytest.raises(ValueError, match=match):
        as_images(x, "data", **kw)
