"""The worked example of docs/hyper.rst: the PLE penalty and the bias of a predicted scale."""

import pytest

torch = pytest.importorskip("torch")

from ple_stats.hyper.examples import gaussian_scale_example  # noqa: E402

# A shortened version of the documented run (480 Adam steps instead of 1280).
CONFIG = dict(n_train=4096, epochs=30, batch_size=256, lr=1e-2, n_test=4000, seed=0)


@pytest.mark.slow
def test_penalty_lowers_the_gap_and_the_scale_bias():
    mle = gaussian_scale_example(0.0, **CONFIG)
    ple = gaussian_scale_example(1.0, m=4, **CONFIG)
    # The run is deterministic (seed 0). Tolerances come from repeating this comparison with
    # seeds 0..5 before writing the test: lam = 0 gave a held-out penalty of
    # 0.083-0.085 and |bias| 0.069-0.081; lam = 1, m = 4 gave 0.066-0.067 and 0.017-0.030;
    # the paired difference of the mean predicted sigma was 0.039-0.060 (sd 0.0075, held-out
    # standard error 0.001). The thresholds below sit at least 4 of those seed-to-seed sd
    # away from what the implementation produces, so a correct implementation fails them
    # only if a platform's rounding sends training far outside what six seeds showed; a
    # penalty that does nothing (or the wrong sign) fails them all.

    # the MLE baseline learns the MLE: its bias matches the exact MLE on the same sets
    # (E sigma_MLE = 0.9227 at n = 10) to within the network's approximation error
    assert abs(mle.mean_sigma - mle.mle_mean_sigma) < 0.015
    assert mle.bias < -0.05
    # the penalty term (held out, 16 synthetic sets per set) is lower with lam > 0 ...
    assert ple.penalty < 0.9 * mle.penalty
    # ... and so is the recursive drift of log sigma (-0.110 per generation for the MLE)
    assert ple.drift_log_sigma > mle.drift_log_sigma + 0.02
    # the predicted scale's bias shrinks, paired on the same held-out sets
    diff = ple.predicted_sigma - mle.predicted_sigma
    se = diff.std().item() / len(diff) ** 0.5
    assert diff.mean().item() > 5 * se
    assert abs(ple.bias) < abs(mle.bias) - 0.02
