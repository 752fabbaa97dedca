"""Cost of a PLE training step of the torch hypernetwork core, relative to a plain step.

asv style (a class with ``params``, ``param_names``, a seeded ``setup`` and ``time_*``
methods) and runnable as a script::

    python benchmarks/bench_hyper.py

which prints, per target and batch size, the time of one optimisation step for plain
hypernetwork training (lam = 0, the MLE baseline), PLE with m = 1 and PLE with m = 4,
and their ratios to the plain step. The step timed is the one ``train_ple`` runs
(``ple_stats.hyper._train._step``): hypernetwork forward, task loss, synthetic draws,
hypernetwork forward on the synthetic sets, penalty, backward, Adam update.
The issue's goal: PLE with m = 1 costs at most 3x a plain step.
"""

from __future__ import annotations

import argparse
import math
import sys
import timeit

try:
    import torch
    from torch import nn

    from ple_stats.hyper import HyperNetwork, call_batched
    from ple_stats.hyper._train import _step
    from ple_stats.hyper.examples import GaussianModel, gaussian_nll, gaussian_sampler
except ImportError:  # asv discovers benchmarks without the optional dependency
    torch = None

N = 32  # points per set
MODES = {"plain": (0.0, 1), "ple_m1": (0.1, 1), "ple_m4": (0.1, 4)}


if torch is not None:

    class DiagonalMixture(nn.Module):
        """K-component diagonal Gaussian mixture in d dimensions (40 weights for K=8, d=2)."""

        def __init__(self, k=8, d=2):
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.logits = nn.Parameter(torch.zeros(k))
            self.means = nn.Parameter(torch.randn(k, d, generator=g))
            self.log_scales = nn.Parameter(torch.zeros(k, d))

        def forward(self, x):
            """Log density of each row of ``x`` (shape (n, d) -> (n,))."""
            z = (x[:, None, :] - self.means) * torch.exp(-self.log_scales)
            comp = (-0.5 * z.square() - self.log_scales).sum(-1) - 0.5 * x.shape[-1] * math.log(
                2 * math.pi)
            return torch.logsumexp(comp + torch.log_softmax(self.logits, -1), dim=-1)

    def mixture_sampler(weights, n, generator):
        probs = torch.softmax(weights["logits"], -1)          # (B, K)
        comp = torch.multinomial(probs, n, replacement=True, generator=generator)  # (B, n)
        idx = comp[..., None].expand(-1, -1, weights["means"].shape[-1])
        mean = torch.gather(weights["means"], 1, idx)
        scale = torch.exp(torch.gather(weights["log_scales"], 1, idx))
        return mean + scale * torch.randn(mean.shape, generator=generator)

    def _targets():
        mixture = DiagonalMixture()

        def mixture_nll(weights, X):
            return -call_batched(mixture, weights, X, args_in_dims=0).mean()

        return {
            "gaussian": (GaussianModel(), 1, gaussian_nll, gaussian_sampler),
            "mixture": (mixture, 2, mixture_nll, mixture_sampler),
        }


class TimeTrainStep:
    """One optimisation step of ``train_ple``: plain (lam = 0) vs PLE with m = 1 and m = 4."""

    params = (["gaussian", "mixture"], [16, 128], list(MODES))
    param_names = ["target", "batch_sets", "mode"]

    def setup(self, target_name, batch_sets, mode):
        if torch is None:
            raise NotImplementedError("torch is not installed")
        target, d, task_loss, sampler = _targets()[target_name]
        self.H = HyperNetwork(target, in_features=d, seed=0)
        self.params_list = list(self.H.parameters())
        self.opt = torch.optim.Adam(self.params_list, lr=1e-3)
        self.X = torch.randn(batch_sets, N, d, generator=torch.Generator().manual_seed(1))
        self.gen = torch.Generator().manual_seed(2)
        self.lam, self.m = MODES[mode]
        self.task_loss, self.sampler = task_loss, sampler
        self.time_step()  # warm-up (first-call imports and allocations)

    def time_step(self, *args):
        _step(self.H, self.opt, self.params_list, self.task_loss, self.sampler, self.X,
              lam=self.lam, m=self.m, kind="l1", detach=True, generator=self.gen, clip=None)


def _measure(target, batch_sets, rounds, number):
    """Best time per step of each mode; the modes are timed in interleaved rounds so that a
    change of machine load affects them alike (the ratios are what is reported)."""
    benches = {}
    for mode in MODES:
        benches[mode] = TimeTrainStep()
        benches[mode].setup(target, batch_sets, mode)
    best = dict.fromkeys(MODES, math.inf)
    for _ in range(rounds):
        for mode, bench in benches.items():
            t = timeit.timeit(bench.time_step, number=number) / number
            best[mode] = min(best[mode], t)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_hyper.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's default)")
    args = parser.parse_args([] if argv is None else argv)
    if torch is None:
        raise SystemExit('bench_hyper needs PyTorch: pip install "ple_stats[torch]"')
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"\nOne train_ple step, plain (lam = 0) vs PLE (lam = 0.1, m = 1 and 4): torch "
          f"{torch.__version__}, CPU, {torch.get_num_threads()} thread(s); n = {N} points per "
          f"set, B sets per step; best of {args.rounds} interleaved rounds of {args.number} "
          f"steps")
    print(f"{'target':<9} {'B':>4} {'plain ms':>9} {'PLE m=1 ms':>11} {'PLE m=4 ms':>11} "
          f"{'m=1/plain':>10} {'m=4/plain':>10}")
    for target in TimeTrainStep.params[0]:
        for batch_sets in TimeTrainStep.params[1]:
            t = _measure(target, batch_sets, args.rounds, args.number)
            print(f"{target:<9} {batch_sets:>4} {1e3 * t['plain']:>9.3f} "
                  f"{1e3 * t['ple_m1']:>11.3f} {1e3 * t['ple_m4']:>11.3f} "
                  f"{t['ple_m1'] / t['plain']:>10.2f} {t['ple_m4'] / t['plain']:>10.2f}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
