"""One vocabulary across the numpy and the torch code, checked on the public signatures.

The table below is the vocabulary: a keyword that names one idea has one name and one
meaning everywhere, and the former names are kept for one release as deprecated aliases.
"""

import importlib
import inspect

import numpy as np
import pytest

import ple_stats
import ple_stats.experiments
from ple_stats import GMM

#: Former keyword -> the one name now (a public signature must not use the former).
FORBIDDEN = {
    "lam": "penalty",              # the PLE penalty's weight, a float
    "detach": "detach_synthetic",  # whether the synthetic data carry no gradient
    "penalty_kind": "penalty_form",
    "kind": "penalty_form",        # the penalty's form (ple_penalty's old keyword)
    "n_epochs": "epochs",
    "n_steps": "steps",
    "n_seeds": "seeds",
}
#: Allowed values of the penalty's form (``penalty_form``).
PENALTY_FORMS = ("l1", "l2", "relative", "l2_unbiased")
#: ``detach_synthetic`` defaults to True (None: "the default", which is True), except where
#: the sampler is reparameterised by construction (the package's one rule: synthetic data
#: are detached unless the target offers reparameterised sampling).
DETACH_EXCEPTIONS = {"ple_stats.hyper.models.HyperVAE.fit": False}
#: Names of the functions that train or reproduce (their default seed is 0).
TRAINERS = ("fit", "train", "reproduce")
#: Records with both counts (epochs run, steps taken): results, not settings.
RECORDS = {"ple_stats.hyper.TrainHistory"}


def _modules():
    mods = [ple_stats, ple_stats.experiments]
    try:
        importlib.import_module("torch")
    except ImportError:
        return mods
    return mods + [importlib.import_module(f"ple_stats.hyper{sub}")
                   for sub in ("", ".models", ".gmm")]


def _public_callables():
    """(qualified name, parameters) of every public function, class and public method."""
    out = {}
    for mod in _modules():
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not callable(obj):
                continue
            found = [(f"{mod.__name__}.{name}", obj)]
            if inspect.isclass(obj):
                found += [(f"{mod.__name__}.{name}.{m}", f) for m, f in vars(obj).items()
                          if not m.startswith("_") or m == "__init__"]
            for qual, f in found:
                f = f.__func__ if isinstance(f, (classmethod, staticmethod)) else f
                if not callable(f) or qual.rsplit(".", 1)[0] in RECORDS or qual in RECORDS:
                    continue
                try:
                    out[qual] = inspect.signature(f).parameters
                except (TypeError, ValueError):
                    continue
    return out


SIGNATURES = _public_callables()


def test_the_signatures_were_found():
    # a guard against an empty sweep (which would let every check below pass)
    assert "ple_stats.GMM.fit_ple" in SIGNATURES
    if "ple_stats.hyper.train_ple" in SIGNATURES:  # torch installed
        assert "ple_stats.hyper.gmm.fit_gmm_hypernetwork" in SIGNATURES
    assert "ple_stats.experiments.reproduce_gmm" in SIGNATURES
    assert len(SIGNATURES) > 30


@pytest.mark.parametrize("qual", sorted(SIGNATURES))
def test_public_signature_speaks_the_vocabulary(qual):
    params = SIGNATURES[qual]
    for old, new in FORBIDDEN.items():
        assert old not in params, f"{qual} has `{old}`; the package's name is `{new}`."
    # training length: `epochs` counts passes over the data, `steps` optimiser updates;
    # one setting never has both
    assert not ("epochs" in params and "steps" in params), f"{qual}: `epochs` and `steps`."
    if "penalty" in params:  # the weight, a number (or None: the method's default)
        d = params["penalty"].default
        assert d is inspect.Parameter.empty or d is None or isinstance(d, (int, float)), (
            f"{qual}: `penalty` is the penalty's weight; its form is `penalty_form`.")
    if "penalty_form" in params:
        assert params["penalty_form"].default in PENALTY_FORMS
    if "detach_synthetic" in params:
        expected = DETACH_EXCEPTIONS.get(qual, True)
        allowed = {expected, None} if expected else {expected}
        assert params["detach_synthetic"].default in allowed, qual
    if "seeds" in params:  # a count of seeds; an array of seeds is `seed_values`
        d = params["seeds"].default
        assert d is None or (isinstance(d, int) and not isinstance(d, bool)), qual
    if "seed" in params and qual.rsplit(".", 1)[-1].startswith(TRAINERS):
        # trainers and reproductions are reproducible by default (constructors, like
        # torch modules, initialise from fresh entropy unless seeded)
        assert params["seed"].default == 0, f"{qual}: the default seed is 0."


# ---------------------------------------------------------------------- deprecated aliases
MIX = GMM(weights=[0.7, 0.3], means=[0.0, 3.0], sigmas=[1.0, 0.5])


def _fit(**kw):
    x = MIX.sample(40, rng=5, sample_shape=(2,))
    return GMM.fit_ple(x, method="hypernetwork", epochs=20, m=2, **kw)


def test_gmm_hypernetwork_pins_and_aliases():
    pytest.importorskip("torch")
    new = _fit(penalty=0.5, rng=3)
    # pinned before the rename (torch CPU; rel 1e-6 leaves room for another CPU's kernels)
    np.testing.assert_allclose(new.params.means, [[0.0750779814068403, 2.0040334524978785],
                                                  [0.38671001734162014, 2.14046334288079]],
                               rtol=1e-6)
    np.testing.assert_allclose(new.info["loss"], [1.372972147801486, 1.4060353179885234],
                               rtol=1e-6)
    with pytest.warns(DeprecationWarning, match="`lam` is deprecated.*use `penalty`"):
        old = _fit(lam=0.5, rng=3)
    assert np.array_equal(old.params.means, new.params.means)

    new = _fit(penalty=0.5, detach_synthetic=False, seed_values=[4, 5])
    np.testing.assert_allclose(new.params.sigmas, [[1.2233480605582019, 1.4091951503579618],
                                                   [1.2288459349987146, 1.217099551364834]],
                               rtol=1e-6)
    with pytest.warns(DeprecationWarning) as record:
        old = _fit(lam=0.5, detach=False, seeds=[4, 5])
    said = " ".join(str(w.message) for w in record)
    assert "use `detach_synthetic`" in said and "use `seed_values`" in said
    assert np.array_equal(old.params.sigmas, new.params.sigmas)
    assert new.info["detach_synthetic"] is False and new.info["penalty_weight"] == 0.5
    assert np.array_equal(new.info["seed_values"], [4, 5])


@pytest.mark.parametrize("old, new, value", [("lam", "penalty", 0.1),
                                             ("detach", "detach_synthetic", True),
                                             ("seeds", "seed_values", [1])])
def test_gmm_old_and_new_name_together_is_a_type_error(old, new, value):
    with pytest.raises(TypeError, match=f"got both `{new}` and `{old}`"):
        GMM.fit_ple(MIX.sample(20, rng=0), method="hypernetwork", **{old: value, new: value})


def test_fit_gmm_hypernetwork_aliases():
    pytest.importorskip("torch")
    from ple_stats.hyper.gmm import fit_gmm_hypernetwork

    x = MIX.sample(30, rng=1, sample_shape=(1,))
    new = fit_gmm_hypernetwork(x, [3], penalty=0.5, m=2, epochs=5, detach_synthetic=False)
    with pytest.warns(DeprecationWarning):
        old = fit_gmm_hypernetwork(x, seeds=[3], lam=0.5, m=2, epochs=5, detach=False)
    assert np.array_equal(old["means"], new["means"])


def test_reproduce_gmm_lam_alias():
    with pytest.raises(TypeError, match="got both `penalty` and `lam`"):
        ple_stats.experiments.reproduce_gmm("unused", penalty=0.1, lam=0.1)


def _train_ple(**kw):
    torch = pytest.importorskip("torch")
    from ple_stats.hyper import HyperNetwork, train_ple
    from ple_stats.hyper.examples import GaussianModel, gaussian_nll, gaussian_sampler

    data = torch.randn(64, 10, 1, generator=torch.Generator().manual_seed(0)) * 2 + 1
    H = HyperNetwork(GaussianModel(), in_features=1, hidden=(8, 8), seed=0)
    return train_ple(H, gaussian_nll, gaussian_sampler, data, epochs=3, batch_size=16,
                     detach_synthetic=False, device="cpu", seed=0, progress=False, **kw)


def test_train_ple_pins_and_aliases():
    new = _train_ple(penalty=0.3, penalty_form="l2")
    # pinned before the rename, when this call read lam=0.3, penalty="l2"
    np.testing.assert_allclose(new.loss, (3.6404839158058167, 3.5763792395591736,
                                          3.514336049556732), rtol=1e-6)
    np.testing.assert_allclose(new.penalty, (2.086203636508799e-06, 2.024216018980951e-05,
                                             6.147292879177257e-05), rtol=1e-5)
    with pytest.warns(DeprecationWarning) as record:
        old = _train_ple(lam=0.3, penalty="l2")
    said = " ".join(str(w.message) for w in record)
    assert "use `penalty`" in said and "now `penalty_form`" in said
    assert old.loss == new.loss and old.penalty == new.penalty
    with pytest.raises(TypeError, match="got both `penalty` and `lam`"):
        _train_ple(lam=0.3, penalty=0.3)
    with pytest.raises(TypeError, match="got `penalty_form` and a string `penalty`"):
        _train_ple(penalty="l2", penalty_form="l2")


def test_train_ple_default_seed_is_reproducible():
    a = _train_ple()
    b = _train_ple()
    assert a.loss == b.loss


def test_hypervae_fit_lam_alias():
    torch = pytest.importorskip("torch")
    from ple_stats.hyper.models import VAE, HyperVAE

    x = torch.rand(32, 16, generator=torch.Generator().manual_seed(0))

    def fit(**kw):
        model = HyperVAE(VAE(16, latent=2, hidden=(8, 8, 8, 8), seed=0), seed=0)
        return model.fit(x, steps=2, batch_size=16, device="cpu", seed=0, progress=False, **kw)

    new = fit(penalty=0.2, penalty_form="l2")
    with pytest.warns(DeprecationWarning) as record:
        old = fit(lam=0.2, penalty="l2")
    said = " ".join(str(w.message) for w in record)
    assert "`lam` is deprecated in HyperVAE.fit" in said and "now `penalty_form`" in said
    assert old.loss == new.loss


# ---------------------------------------------------------------------- one family list
def _scalar_families():
    out = set()
    for name in ple_stats.__all__:
        obj = getattr(ple_stats, name)
        if (inspect.isclass(obj) and issubclass(obj, ple_stats.Distribution)
                and obj is not ple_stats.Distribution and not inspect.isabstract(obj)
                and not getattr(obj, "_event_dim", 0) and not name.startswith("Multivariate")):
            out.add(name)
    return out


def test_the_cli_demo_lists_every_scalar_family(capsys):
    from ple_stats.cli import main

    families = _scalar_families()
    assert families >= {"Uniform", "Gaussian", "Laplace", "Geometric", "Exponential", "Pareto"}
    assert main(["demo", "--reps", "20", "--n", "6"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    assert {row.split()[0] for row in rows} == families
