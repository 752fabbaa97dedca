"""Cost of a PLE training step of the torch hypernetwork core, relative to a plain step.

asv style (a class with ``params``, ``param_names``, a seeded ``setup`` and ``time_*``
methods) and runnable as a script::

    python benchmarks/bench_hyper.py

which prints, per target and batch size, the time of one optimisation step for plain
hypernetwork training (lam = 0, the MLE baseline), PLE with m = 1 and PLE with m = 4,
and their ratios to the plain step. The step timed is the one ``train_ple`` runs
(``ple_stats.hyper._train._step``): hypernetwork forward, task loss, synthetic draws,
hypernetwork forward on the synthetic sets, penalty, backward, Adam update.
The goal: PLE with m = 1 costs at most 3x a plain step.

``python benchmarks/bench_hyper.py --scaling`` measures how the hypernetwork scales
with the target instead: for a fully connected VAE (``ple_stats.hyper.models.VAE``)
and a small convolutional VAE of about 1e4, 1e5, 1e6 and 1e7 parameters, the
hypernetwork's parameters with per-tensor heads and with chunked heads, the peak
memory of training, and the time of one plain Adam step of the target itself
against one PLE step (m = 1 and 4) through the hypernetwork. The goal: at 1e6
target parameters the chunked hypernetwork has at most 3x the target's parameters
and a PLE step costs at most 3x a plain step of the target.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import timeit

try:
    import torch
    from torch import nn

    from ple_stats.hyper import HyperNetwork, call_batched, call_with_weights, hypernetwork_size
    from ple_stats.hyper._network import _plan, _suggest_chunk_size
    from ple_stats.hyper._train import _step
    from ple_stats.hyper.models import VAE, HyperVAE
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


# -- scaling with the size of the target ---------------------------------------------------

SCALE_N = 64                         # images per set (one set per step, HyperVAE's default)
SCALE_MODES = {"ple_m1": 1, "ple_m4": 4}
# target kind -> {nominal size: width}; the printed table gives the exact counts
SCALE_WIDTHS = {"mlp_vae": {"1e4": 30, "1e5": 124, "1e6": 394, "1e7": 1262},
                "conv_vae": {"1e4": 9, "1e5": 38, "1e6": 133, "1e7": 438}}
SCALE_LAYOUTS = ("per_tensor", "chunked")
MAX_BYTES = 8e9                      # per-tensor rows whose training state would exceed this
                                     # are reported by their size estimate only

if torch is not None:

    class ConvVAE(nn.Module):
        """A small convolutional VAE of 16x16 images (``d = 256``), Bernoulli decoder.

        Encoder: two stride-2 3x3 convolutions (``c`` and ``2c`` channels, ReLU),
        a linear map to the posterior's mean and log-variance; decoder: a linear map
        to ``2c x 4 x 4`` and two stride-2 transposed 4x4 convolutions. About
        ``50 c**2`` parameters.
        """

        def __init__(self, c, latent=8, seed=0):
            super().__init__()
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                self.enc1 = nn.Conv2d(1, c, 3, 2, 1)
                self.enc2 = nn.Conv2d(c, 2 * c, 3, 2, 1)
                self.enc3 = nn.Linear(2 * c * 16, 2 * latent)
                self.dec1 = nn.Linear(latent, 2 * c * 16)
                self.dec2 = nn.ConvTranspose2d(2 * c, c, 4, 2, 1)
                self.dec3 = nn.ConvTranspose2d(c, 1, 4, 2, 1)
            self.c, self.latent, self.in_features = c, latent, 256

        def _decode(self, z):
            h = torch.relu(self.dec1(z)).reshape(-1, 2 * self.c, 4, 4)
            return self.dec3(torch.relu(self.dec2(h))).reshape(-1, 256)

        def loss(self, x, generator=None):
            """Negative one-draw ELBO per image, averaged."""
            h = torch.relu(self.enc2(torch.relu(self.enc1(x.reshape(-1, 1, 16, 16)))))
            mu, logvar = self.enc3(h.flatten(1)).chunk(2, dim=-1)
            eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
            logits = self._decode(mu + torch.exp(0.5 * logvar) * eps)
            rec = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
            kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(-1)
            return (rec.sum(-1) + kl).mean()

        def sample(self, k, generator=None):
            """``k`` images (the decoder's pixel means; reparameterised)."""
            z = torch.randn(k, self.latent, generator=generator, dtype=self.dec1.weight.dtype)
            return torch.sigmoid(self._decode(z))

    def _scaling_target(kind, size):
        width = SCALE_WIDTHS[kind][size]
        if kind == "mlp_vae":
            return VAE(64, latent=8, hidden=(width,) * 4, seed=0)
        return ConvVAE(width)

    def _chunk_size(target, d):
        """The chunk size that the size warning would suggest (smallest hypernetwork)."""
        plan = _plan(target, d, (32, 64, 96), (), nn.ReLU, None, False)
        return _suggest_chunk_size(plan, 0)[0]

    def _pieces(kind, size, layout):
        """(target, hypernetwork or None, task_loss, sampler, data)."""
        target = _scaling_target(kind, size)
        d = target.in_features
        data = torch.rand(SCALE_N, d, generator=torch.Generator().manual_seed(1))
        if layout is None:
            return target, None, None, None, data
        chunk = _chunk_size(target, d) if layout == "chunked" else None
        noise = torch.Generator().manual_seed(3)
        if kind == "mlp_vae":
            model = HyperVAE(target, seed=0, chunk_size=chunk, warn_bytes=None)
            return (target, model.hyper, lambda w, X: model.task_loss(w, X, noise),
                    model.sampler, data)
        H = HyperNetwork(target, d, seed=0, chunk_size=chunk, warn_bytes=None)

        def task_loss(w, X):
            return call_with_weights(target, w, X, method="loss", generator=noise)

        def sampler(w, n, generator):
            return call_with_weights(target, w, n, method="sample", generator=generator)

        return target, H, task_loss, sampler, data

    def _plain_step_fn(target, data):
        opt = torch.optim.Adam(target.parameters(), lr=1e-4)
        noise = torch.Generator().manual_seed(3)

        def step():
            loss = target.loss(data, noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    def _ple_step_fn(H, task_loss, sampler, data, m):
        params = list(H.parameters())
        opt = torch.optim.Adam(params, lr=1e-4)
        gen = torch.Generator().manual_seed(2)

        def step():
            _step(H, opt, params, task_loss, sampler, data, lam=0.1, m=m, kind="l1",
                  detach=False, generator=gen, clip=None)
        return step


def _maxrss_bytes():
    """Peak resident memory of this process so far.

    ``VmHWM`` of ``/proc/self/status`` where there is one: ``ru_maxrss`` survives
    ``exec`` on Linux, so a child would start with its parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # kB on Linux


def _memory_row(kind, size, layout, mode):
    """Peak RSS increase of two training steps, in a fresh process (printed as json)."""
    torch.set_num_threads(1)
    # torch's one-off set-up (autograd engine, kernels, Adam) before the baseline
    warm = VAE(16, latent=2, hidden=(4,) * 4, seed=0)
    _plain_step_fn(warm, torch.rand(8, 16))()
    target, H, task_loss, sampler, data = _pieces(kind, size,
                                                  None if mode == "plain" else layout)
    if H is not None:
        _ple_step_fn(HyperVAE(warm, seed=0).hyper, lambda w, X: warm.loss(X), lambda w, n, g:
                     torch.rand(n, 16, generator=g), torch.rand(8, 16), 1)()
    base = _maxrss_bytes()
    if mode == "plain":
        step = _plain_step_fn(target, data)
    else:
        step = _ple_step_fn(H, task_loss, sampler, data, SCALE_MODES[mode])
    for _ in range(2):
        step()
    print(json.dumps({"peak_bytes": _maxrss_bytes() - base}))


class TimeScaling:
    """One step: plain Adam on the target vs PLE (m = 1, 4) through the hypernetwork."""

    params = (list(SCALE_WIDTHS), ["1e4", "1e5", "1e6"], list(SCALE_LAYOUTS),
              ["plain"] + list(SCALE_MODES))
    param_names = ["target", "size", "layout", "mode"]

    def setup(self, kind, size, layout, mode):
        if torch is None:
            raise NotImplementedError("torch is not installed")
        target, H, task_loss, sampler, data = _pieces(kind, size, layout)
        self.step = (_plain_step_fn(target, data) if mode == "plain"
                     else _ple_step_fn(H, task_loss, sampler, data, SCALE_MODES[mode]))
        self.step()

    def time_step(self, *args):
        self.step()


def _subprocess_json(args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args], env=env,
                         cwd=root, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _time_interleaved(steps, rounds, budget=0.3):
    """Best CPU seconds per call of each function, timed in interleaved rounds.

    CPU time of the process (``time.process_time``), not wall time: with one
    thread it is the cost of the step, and it is far less disturbed by other
    jobs on a shared machine.
    """
    number = {}
    for name, fn in steps.items():
        start = time.process_time()
        fn()                                           # warm-up, and the repeat count
        number[name] = max(1, int(budget / max(time.process_time() - start, 1e-6)))
    best = dict.fromkeys(steps, math.inf)
    for _ in range(rounds):
        for name, fn in steps.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number[name],
                                                       timer=time.process_time)
                             / number[name])
    return best


def _scaling(rounds, sizes, memory):
    print(f"\nScaling with the target: torch {torch.__version__}, CPU, "
          f"{torch.get_num_threads()} thread(s); one set of n = {SCALE_N} images per step; "
          f"PLE: lam = 0.1, gradient through the synthetic sets (HyperVAE's default); Adam; "
          f"best of {rounds} interleaved rounds. 'MiB': increase of the peak resident "
          f"memory (VmHWM) over the target and data alone during two training steps, "
          f"each in a fresh process. Chunked: the chunk_size of the size warning, "
          f"chunk_embedding_dim = 8, chunk_hidden = 32, learned offset.")
    header = (f"{'target':<9} {'size':>4} {'target params':>13} {'layout':<10} {'chunk':>6} "
              f"{'H params':>13} {'H/target':>8} {'plain ms':>9} {'m=1 ms':>9} {'m=4 ms':>9} "
              f"{'m=1/plain':>9} {'m=4/plain':>9} {'plain MiB':>9} {'m=4 MiB':>9}")
    print(header)
    for kind in SCALE_WIDTHS:
        for size in sizes:
            reference = _scaling_target(kind, size)
            d = reference.in_features
            p = sum(q.numel() for q in reference.parameters())
            plain_mem = None
            for layout in SCALE_LAYOUTS:
                chunk = _chunk_size(reference, d) if layout == "chunked" else None
                est = hypernetwork_size(reference, d, chunk_size=chunk)
                head = (f"{kind:<9} {size:>4} {p:>13,} {layout:<10} {chunk or '-':>6} "
                        f"{est['parameters']:>13,} {est['parameters'] / p:>8.2f}")
                # parameters, their gradients and Adam's two moments
                if 4 * est["bytes"] > MAX_BYTES:
                    print(f"{head}   not run: training state about "
                          f"{4 * est['bytes'] / 2**30:.1f} GiB (4 x {est['bytes'] / 2**30:.1f}"
                          f" GiB of parameters)", flush=True)
                    continue
                target, H, task_loss, sampler, data = _pieces(kind, size, layout)
                steps = {"plain": _plain_step_fn(target, data)}
                for mode, m in SCALE_MODES.items():
                    steps[mode] = _ple_step_fn(H, task_loss, sampler, data, m)
                t = _time_interleaved(steps, rounds)
                del steps, H, target
                mem = ""
                if memory:
                    if plain_mem is None:
                        plain_mem = _subprocess_json(["--memory-row", kind, size, "-",
                                                      "plain"])["peak_bytes"]
                    ple = _subprocess_json(["--memory-row", kind, size, layout,
                                            "ple_m4"])["peak_bytes"]
                    mem = f"{plain_mem / 2**20:>9.1f} {ple / 2**20:>9.1f}"
                print(f"{head} {1e3 * t['plain']:>9.2f} {1e3 * t['ple_m1']:>9.2f} "
                      f"{1e3 * t['ple_m4']:>9.2f} {t['ple_m1'] / t['plain']:>9.2f} "
                      f"{t['ple_m4'] / t['plain']:>9.2f} {mem}", flush=True)


# -- quality: chunked and per-tensor heads reach the same loss --------------------------------

def _quality_gaussian(seeds, lam, m):
    """``gaussian_scale_example`` with per-tensor heads and with chunked heads (chunk_size=1).

    The example builds its own HyperNetwork; for the chunked run the class it uses
    is replaced by one with ``chunk_size=1`` (its two parameters, two chunks).
    """
    from functools import partial
    from unittest import mock

    from ple_stats.hyper import examples

    rows = []
    for layout in SCALE_LAYOUTS:
        for seed in seeds:
            factory = (examples.HyperNetwork if layout == "per_tensor"
                       else partial(HyperNetwork, chunk_size=1))
            start = time.process_time()
            with mock.patch.object(examples, "HyperNetwork", factory):
                res = examples.gaussian_scale_example(lam, m=m, seed=seed)
            rows.append((layout, seed, res.history.task_loss[-1], res.mean_sigma,
                         time.process_time() - start))
    return rows


def _quality_digits(seeds, lam, m, steps):
    """HyperVAE on the sklearn digits: final training loss and held-out negative ELBO."""
    from ple_stats.experiments._fairness import load_digit_images

    x, _ = load_digit_images()
    x = torch.as_tensor(x, dtype=torch.float32)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    train, test = x[order[:1500]], x[order[1500:]]
    rows = []
    for layout, n_steps in [(layout, n) for n in (steps, 2 * steps) for layout in SCALE_LAYOUTS]:
        for seed in seeds:
            vae = VAE(64, latent=8, seed=seed)
            chunk = _chunk_size(vae, 64) if layout == "chunked" else None
            model = HyperVAE(vae, seed=seed, chunk_size=chunk)
            start = time.process_time()
            hist = model.fit(train, penalty=lam, m=m, steps=n_steps, batch_size=64, seed=seed,
                             device="cpu", progress=False)
            vae.eval()
            with torch.no_grad():
                held_out = call_with_weights(vae, model.weights, test, method="loss",
                                             generator=torch.Generator().manual_seed(5))
            rows.append((f"{layout} {n_steps}", seed, hist.task_loss[-1], held_out.item(),
                         time.process_time() - start, chunk))
    return rows


def _quality(seeds, digits_steps):
    def summary(rows, col):
        out = {}
        for layout in dict.fromkeys(r[0] for r in rows):
            vals = torch.tensor([r[col] for r in rows if r[0] == layout], dtype=torch.float64)
            out[layout] = (vals.mean().item(), vals.std().item() if len(vals) > 1 else 0.0)
        return out

    print(f"\nQuality, per-tensor vs chunked heads: torch {torch.__version__}, CPU, "
          f"{torch.get_num_threads()} thread(s); seeds {seeds}; s = CPU seconds per run; "
          f"sd = standard deviation over the seeds")
    for lam, m in ((0.0, 1), (1.0, 4)):
        rows = _quality_gaussian(seeds, lam, m)
        print(f"Gaussian example (gaussian_scale_example, lam = {lam:g}, m = {m}; chunked: "
              f"chunk_size = 1): last-epoch task loss (NLL), mean predicted sigma")
        for r in rows:
            print(f"  {r[0]:<10} seed {r[1]}  loss {r[2]:.5f}  sigma {r[3]:.4f}  {r[4]:.0f} s")
        for col, what in ((2, "loss"), (3, "sigma")):
            sm = summary(rows, col)
            print(f"  {what}: " + ", ".join(f"{k} {v[0]:.4f} (sd over seeds {v[1]:.4f})"
                                             for k, v in sm.items()), flush=True)
    rows = _quality_digits(seeds, 0.1, 1, digits_steps)
    print(f"Digits HyperVAE (VAE(64, latent=8), lam = 0.1, m = 1, {digits_steps} and "
          f"{2 * digits_steps} steps of 64 images; chunked: chunk_size = {rows[-1][5]}): "
          f"last-epoch training loss and held-out negative ELBO (297 images), nats per image")
    for r in rows:
        print(f"  {r[0]:<15} seed {r[1]}  train {r[2]:.3f}  held-out {r[3]:.3f}  {r[4]:.0f} s")
    for col, what in ((2, "train"), (3, "held-out")):
        sm = summary(rows, col)
        print(f"  {what}: " + ", ".join(f"{k} {v[0]:.3f} (sd over seeds {v[1]:.3f})"
                                         for k, v in sm.items()), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_hyper.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's default)")
    parser.add_argument("--scaling", action="store_true",
                        help="measure the scaling with the target's size instead")
    parser.add_argument("--sizes", nargs="+", default=["1e4", "1e5", "1e6", "1e7"],
                        choices=["1e4", "1e5", "1e6", "1e7"], help="with --scaling")
    parser.add_argument("--no-memory", action="store_true",
                        help="with --scaling: skip the peak-memory processes")
    parser.add_argument("--memory-row", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--quality", action="store_true",
                        help="compare the loss reached with per-tensor and chunked heads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="with --quality")
    parser.add_argument("--digits-steps", type=int, default=1500, help="with --quality")
    args = parser.parse_args([] if argv is None else argv)
    if torch is None:
        raise SystemExit('bench_hyper needs PyTorch: pip install "ple_stats[torch]"')
    if args.memory_row:
        _memory_row(*args.memory_row)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.scaling:
        _scaling(min(args.rounds, 3), args.sizes, not args.no_memory)
        return
    if args.quality:
        _quality(args.seeds, args.digits_steps)
        return
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
