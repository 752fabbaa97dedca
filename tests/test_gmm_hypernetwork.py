"""GMM.fit_ple(method="hypernetwork"): the paper's Section 5.2 set network."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ple_stats import GMM, kl_divergence  # noqa: E402
from ple_stats._warnings import DegenerateDataWarning  # noqa: E402
from ple_stats.cli import main as cli_main  # noqa: E402
from ple_stats.experiments import reproduce_gmm  # noqa: E402

# These tests call GMM.fit_ple with the former keyword interface (kept for one release,
# with a DeprecationWarning); the options mapping is tested in test_gmm.py.
pytestmark = pytest.mark.filterwarnings(
    "ignore:passing .* to GMM.fit_ple\\(\\) as keywords is deprecated:DeprecationWarning")

SEPARATED = GMM(weights=[0.6, 0.4], means=[0.0, 5.0], sigmas=[1.0, 1.0])
OVERLAP = GMM(weights=[0.8, 0.2], means=[0.0, 2.0], sigmas=[1.0, 1.0])


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def separated_fit():
    x = SEPARATED.sample(100, rng=3, sample_shape=(3,))
    res = GMM.fit_ple(x, method="hypernetwork", epochs=200, seed_values=[11, 12, 13])
    return x, res


def test_trains_to_the_em_optimum_on_a_well_identified_mixture(separated_fit):
    x, res = separated_fit
    hist = res.info["loss_history"]
    assert hist.shape == (3, 20)
    # the loss falls (from the EM quantile start, ~1.40 per point, to ~1.1)
    assert np.all(hist[:, -1] < hist[:, 0] - 0.2)
    # separated components, n = 100: the likelihood has one sensible maximum and the
    # network reaches it: mean NLL per point within 1e-6 of EM's (measured: 1e-9)
    mle = GMM.fit_mle(x)
    np.testing.assert_allclose(res.info["nll"], -mle.info["loglik"] / 100, atol=1e-6)
    for a, b in zip(res.params, mle.params):
        np.testing.assert_allclose(a, b, atol=5e-3)
    assert res.method == "ple" and res.n == 100
    assert res.info["epochs"] == 200 and res.info["penalty_weight"] == 0.1 and res.info["m"] == 1
    assert res.info["detach_synthetic"] is True and res.info["device"] == "cpu"
    # the reported loss is the last epoch's NLL + lam * penalty, penalty >= 0
    assert np.all(res.info["penalty"] >= 0) and np.all(np.isfinite(res.info["loss"]))
    np.testing.assert_allclose(res.info["loss"], hist[:, -1], rtol=0, atol=0.05)


def test_batched_equals_separate_training(separated_fit):
    # one generator per data set and disjoint parameters: a data set trains exactly
    # as it would alone (the batched matrix products give identical rounding here)
    x, res = separated_fit
    for i, seed in enumerate((11, 12, 13)):
        one = GMM.fit_ple(x[i], method="hypernetwork", epochs=200, seed_values=seed)
        for a, b in zip(res.params, one.params):
            np.testing.assert_allclose(np.asarray(a)[i], b, rtol=1e-12, atol=1e-12)


def test_simplex_and_positivity_on_hard_data():
    # n = 10 with overlapping components: EM often ends on its variance floor
    x = OVERLAP.sample(10, rng=5, sample_shape=(4, 5))
    res = GMM.fit_ple(x, method="hypernetwork", epochs=100, rng=1)
    w, mu, sigma = res.params
    assert w.shape == mu.shape == sigma.shape == (4, 5, 2)
    assert np.all(w > 0) and np.all(sigma > 0)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    assert np.all(np.diff(mu, axis=-1) >= 0)  # ordered by mean
    assert res.info["loss_history"].shape == (4, 5, 20)
    assert np.all(np.isfinite(kl_divergence(res.dist, OVERLAP)))


def test_seeding_is_deterministic():
    x = OVERLAP.sample(30, rng=2, sample_shape=(3,))
    a = GMM.fit_ple(x, method="hypernetwork", epochs=50, rng=7)
    b = GMM.fit_ple(x, method="hypernetwork", epochs=50, rng=np.random.default_rng(7))
    c = GMM.fit_ple(x, method="hypernetwork", epochs=50, rng=8)
    assert all(np.array_equal(p, q) for p, q in zip(a.params, b.params))
    assert np.array_equal(a.info["seed_values"], b.info["seed_values"])
    assert not np.array_equal(a.params.means, c.params.means)


def test_lam_zero_is_the_plain_fit(separated_fit):
    x, res = separated_fit
    # lam = 0: no synthetic data are drawn, so m and detach cannot matter
    plain = GMM.fit_ple(x, method="hypernetwork", epochs=200, seed_values=[11, 12, 13],
                        penalty=0.0)
    other = GMM.fit_ple(x, method="hypernetwork", epochs=200, seed_values=[11, 12, 13],
                        penalty=0, m=4, detach_synthetic=False)
    assert all(np.array_equal(p, q) for p, q in zip(plain.params, other.params))
    np.testing.assert_array_equal(plain.info["penalty"], 0.0)
    np.testing.assert_allclose(plain.info["loss"], plain.info["loss_history"][:, -1],
                               atol=0.05)
    # and the penalty acts (if only a little: measured 5e-5 at n = 100, lam = 0.1, m = 1)
    diff = max(np.max(np.abs(p - q)) for p, q in zip(plain.params, res.params))
    assert 0 < diff < 0.01


def test_reparameterised_synthetic_sets_change_the_fit():
    x = OVERLAP.sample(40, rng=6, sample_shape=(2,))
    a = GMM.fit_ple(x, method="hypernetwork", epochs=60, seed_values=[1, 2], penalty=1.0, m=2)
    b = GMM.fit_ple(x, method="hypernetwork", epochs=60, seed_values=[1, 2], penalty=1.0, m=2,
                    detach_synthetic=False)
    assert b.info["detach_synthetic"] is False
    assert not np.array_equal(a.params.means, b.params.means)


def test_kl_against_em_is_measurable():
    # Separated components, n = 100, 30 data sets (seed 4): the hypernetwork reaches
    # the MLE, so the paired KL difference is ~0 (measured 8e-5 +- 6e-5 with 300
    # epochs, 40 sets); a difference beyond 0.002 (30 x the mean KL's 1e-3 scale of
    # its s.e.) would mean the network stopped short of the optimum.
    x = SEPARATED.sample(100, rng=4, sample_shape=(30,))
    mle = GMM.fit_mle(x)
    hn = GMM.fit_ple(x, method="hypernetwork", epochs=200, rng=0)
    kl_mle = kl_divergence(mle.dist, SEPARATED)
    kl_hn = kl_divergence(hn.dist, SEPARATED)
    assert kl_hn.shape == (30,) and np.all(kl_hn >= 0)
    assert abs(np.mean(kl_mle - kl_hn)) < 0.002


def test_bad_input():
    x = OVERLAP.sample(20, rng=0)
    with pytest.raises(ValueError, match="`penalty` must be non-negative"):
        GMM.fit_ple(x, method="hypernetwork", penalty=-0.1)
    with pytest.raises(ValueError, match="`m` must be"):
        GMM.fit_ple(x, method="hypernetwork", m=0)
    with pytest.raises(ValueError, match="`method` must be one of"):
        GMM.fit_ple(x, method="hyper")
    with pytest.raises(ValueError, match="`epochs` must be"):
        GMM.fit_ple(x, method="hypernetwork", epochs=0)
    with pytest.raises(ValueError, match="`lr` must be positive"):
        GMM.fit_ple(x, method="hypernetwork", lr=0.0)
    with pytest.raises(TypeError, match="`detach_synthetic` must be a bool"):
        GMM.fit_ple(x, method="hypernetwork", detach_synthetic="yes")
    with pytest.raises(ValueError, match="`n_iter`.*method='bootstrap' only"):
        GMM.fit_ple(x, method="hypernetwork", n_iter=5)
    with pytest.raises(ValueError, match="`accelerate`.*method='bootstrap' only"):
        GMM.fit_ple(x, method="hypernetwork", accelerate=1)  # not the default True
    with pytest.raises(ValueError, match="`penalty`.*method='hypernetwork' only"):
        GMM.fit_ple(x, penalty=0.1)
    with pytest.raises(ValueError, match="`seed_values` must have the data's batch shape"):
        GMM.fit_ple(np.stack([x, x]), method="hypernetwork", seed_values=[1, 2, 3])
    with pytest.raises(ValueError, match="`seed_values` or `rng`, not both"):
        GMM.fit_ple(x, method="hypernetwork", seed_values=1, rng=1)
    with pytest.raises(ValueError, match="`device` must name a torch device"):
        GMM.fit_ple(x, method="hypernetwork", device="nowhere")
    with pytest.raises(ValueError, match="all observations equal"):
        GMM.fit_ple(np.ones(10), method="hypernetwork")


def test_missing_torch_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match='pip install "ple_stats\\[torch\\]"'):
        GMM.fit_ple(OVERLAP.sample(20, rng=0), method="hypernetwork")


def test_import_ple_stats_does_not_import_torch():
    code = "import sys, ple_stats; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_thread_count_is_restored():
    torch.set_num_threads(2)
    GMM.fit_ple(OVERLAP.sample(20, rng=0), method="hypernetwork", epochs=5, rng=0)
    assert torch.get_num_threads() == 2


def test_refit_reproduces_the_settings():
    x = OVERLAP.sample(30, rng=1)
    res = GMM.fit_ple(x, method="hypernetwork", epochs=40, penalty=0.5, m=2, rng=3)
    again = res.refit(x, rng=3)
    assert again.info["penalty_weight"] == 0.5 and again.info["m"] == 2
    assert again.info["epochs"] == 40
    assert all(np.array_equal(p, q) for p, q in zip(res.params, again.params))


# --------------------------------------------------------------------------- Figure 3
def test_reproduce_gmm_with_the_hypernetwork(tmp_path):
    out = tmp_path / "gmm"
    kw = dict(weights=(0.8,), sizes=(10, 30), seeds=4, m=4, n_iter=2, average=1,
              tol=1e-6, max_iter=200, epochs=30, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        paths = reproduce_gmm(out, methods=("bootstrap", "hypernetwork"), **kw)
    assert {"csv", "json", "figure", "csv_hypernetwork", "json_hypernetwork",
            "figure_hypernetwork"} <= set(paths)
    for name in ("gmm.json", "gmm_hypernetwork.json", "gmm_hypernetwork.png",
                 "gmm_hypernetwork.pdf", "gmm_hypernetwork.csv"):
        assert (out / name).stat().st_size > 0
    boot = json.loads((out / "gmm.json").read_text())
    hyper = json.loads((out / "gmm_hypernetwork.json").read_text())
    assert hyper["method"] == "hypernetwork" and boot["method"] == "bootstrap"
    # both methods see the same data sets, so EM's KL is the same in both tables
    for a, b in zip(boot["cells"], hyper["cells"]):
        assert a["kl_mle_mean"] == b["kl_mle_mean"]
        assert np.isfinite(b["nll_gap_mean"]) and b["penalty_mean"] >= 0
    assert len(list((out / "cells").glob("*/unit_*.npz"))) == 4
    # cached: a second run computes nothing and gives the same numbers
    again = reproduce_gmm(out, methods=("hypernetwork",), **kw)
    rerun = json.loads((out / "gmm_hypernetwork.json").read_text())
    assert set(again) == {"csv", "json", "figure"}
    strip = (lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows])
    assert strip(rerun["cells"]) == strip(hyper["cells"])
    with pytest.raises(ValueError, match="`methods` must be distinct entries"):
        reproduce_gmm(out, methods=("em",), **kw)


def test_cli_method_option(tmp_path, capsys):
    assert cli_main(["reproduce", "madness", "--method", "hypernetwork", "--quick",
                     "--out", str(tmp_path)]) == 2
    assert "--method does not apply to `reproduce madness`" in capsys.readouterr().err


@pytest.mark.parametrize("var_floor", [1.0, 1.5, 1e10])
def test_var_floor_at_or_above_one_is_refused_by_name(var_floor):
    # The variance head is softplus(.) + var_floor and starts at var(x) (1 in standardised
    # coordinates): a floor >= 1 gave "math domain error" from softplus^-1(1 - var_floor).
    x = OVERLAP.sample(20, rng=0)
    with pytest.raises(ValueError, match=r"`var_floor` must be below 1.*got"):
        GMM.fit_ple(x, method="hypernetwork", var_floor=var_floor, epochs=2)
    from ple_stats.hyper.gmm import fit_gmm_hypernetwork

    with pytest.raises(ValueError, match=r"`var_floor` must be in \(0, 1\)"):
        fit_gmm_hypernetwork(x[None], [0], var_floor=var_floor, epochs=2)
    with pytest.raises(ValueError, match="`var_floor` must be positive"):
        GMM.fit_ple(x, method="hypernetwork", var_floor=0.0, epochs=2)
    with pytest.raises(TypeError, match="`var_floor` must be a real number"):
        GMM.fit_ple(x, method="hypernetwork", var_floor="1e-6", epochs=2)
    # just below 1 is valid: every sigma at least sqrt(0.999) sd(x)
    res = GMM.fit_ple(x, method="hypernetwork", var_floor=0.999, epochs=2, seed_values=1)
    assert np.all(res.params.sigmas >= np.sqrt(0.999) * x.std() * (1 - 1e-12))


def test_start_has_distinct_means_on_tied_data():
    # 40 zeros in 50 counts: both quartiles are 0. The network's start (EM's quantile
    # start) uses the quantiles of the distinct values then, like EM.
    from ple_stats._gmm import _quantile_means

    x = np.random.default_rng(0).poisson(0.3, 50).astype(float)
    assert np.quantile(x, 0.25) == np.quantile(x, 0.75) == 0.0
    start = _quantile_means(x[None], 2)[0]
    np.testing.assert_allclose(start, np.quantile(np.unique(x), [0.25, 0.75]))
    res = GMM.fit_ple(x, method="hypernetwork", epochs=50, seed_values=3)
    assert np.diff(res.params.means)[0] > 0.1
