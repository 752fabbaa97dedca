"""The ``ple-stats`` command line: reproductions of the paper's experiments and a demo."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args):
    """Fit MLE and PLE on one sample of each family and print a comparison."""
    import numpy as np

    from . import Exponential, Gaussian, Geometric, Laplace, Pareto, Uniform

    cases = [
        (Uniform(low=0.0, high=1.0), {"low": 0.0}),
        (Gaussian(mu=0.0, sigma=1.0), {}),
        (Laplace(mu=0.0, b=1.0), {}),
        (Geometric(p=0.5), {}),
        (Exponential(rate=0.5), {}),
        (Pareto(b=1.0, xm=1.0), {"xm": 1.0}),
    ]
    reps = args.reps
    print(f"MLE vs PLE, n = {args.n}, averaged over {reps} data sets (seed {args.seed})")
    print(f"{'family':<12}{'param':>7}{'truth':>9}{'mean MLE':>11}{'mean PLE':>11}"
          f"{'s.e.':>9}")
    for dist, fixed in cases:
        family = type(dist)
        x = dist.sample(args.n, rng=args.seed, sample_shape=(reps,))
        mle, ple = family.fit_mle(x, **fixed), family.fit_ple(x, **fixed)
        for name in family._param_names:
            if name in fixed:
                continue
            a, b = np.asarray(getattr(mle.params, name)), np.asarray(getattr(ple.params, name))
            print(f"{family.__name__:<12}{name:>7}{getattr(dist.params, name):>9.4f}"
                  f"{a.mean():>11.4f}{b.mean():>11.4f}{b.std(ddof=1) / np.sqrt(reps):>9.4f}")
    return 0


def _reproduce(args):
    from . import experiments

    common = dict(quick=args.quick, n_jobs=args.n_jobs, seed=args.seed,
                  progress=False if args.no_progress else None)
    if args.generations is not None:
        common["generations"] = args.generations
    if args.runs is not None:
        common["runs"] = args.runs
    if getattr(args, "method", None) is not None and args.name != "gmm":
        raise ValueError(f"--method applies to `reproduce gmm` only, not {args.name!r}.")
    if args.models is not None and args.name not in ("fairness", "deep-madness"):
        raise ValueError(f"--models applies to `reproduce fairness` and `reproduce "
                         f"deep-madness` only, not {args.name!r}.")
    if args.name == "madness":
        paths = experiments.reproduce_madness(args.out or "results/madness", m=args.m, **common)
    elif args.name == "gaussian-std":
        paths = experiments.reproduce_gaussian_std(args.out or "results/gaussian-std", **common)
    elif args.name == "gmm":
        if args.generations is not None:
            raise ValueError("--generations does not apply to `reproduce gmm`.")
        kwargs = {k: v for k, v in common.items() if k != "runs"}
        if args.runs is not None:
            kwargs["seeds"] = args.runs  # data sets per cell
        method = args.method or "bootstrap"
        kwargs["methods"] = (("bootstrap", "hypernetwork") if method == "both" else (method,))
        if args.m is not None:
            kwargs["hyper_m" if method == "hypernetwork" else "m"] = args.m
        paths = experiments.reproduce_gmm(args.out or "results/gmm", **kwargs)
    elif args.name in ("fairness", "deep-madness"):
        kwargs = {"quick": args.quick, "n_jobs": args.n_jobs, "seed": args.seed,
                  "progress": common["progress"], "device": args.device}
        if args.runs is not None:
            kwargs["seeds"] = args.runs  # training seeds per model (and ratio)
        if args.steps is not None:
            kwargs["steps"] = args.steps
        if args.m is not None:
            raise ValueError(f"--m does not apply to `reproduce {args.name}`.")
        if args.models is not None:
            kwargs["models"] = tuple(args.models)
        if args.name == "fairness":
            if args.generations is not None:
                raise ValueError("--generations does not apply to `reproduce fairness`.")
            if args.ratios is not None:
                kwargs["ratios"] = tuple(args.ratios)
            paths = experiments.reproduce_fairness(args.out or "results/fairness", **kwargs)
        else:
            if args.ratios is not None:
                raise ValueError("--ratios does not apply to `reproduce deep-madness`.")
            if args.generations is not None:
                kwargs["generations"] = args.generations
            paths = experiments.reproduce_deep_madness(args.out or "results/deep-madness",
                                                       **kwargs)
    else:  # pragma: no cover - argparse restricts the choices
        raise SystemExit(f"unknown experiment {args.name!r}")
    for key, value in paths.items():
        for path in value if isinstance(value, list) else [value]:
            print(f"wrote {path}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ple-stats",
        description="Penalized autophagy estimation: reproductions and demos.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fit MLE and PLE on samples of each family")
    demo.add_argument("--n", type=int, default=10, help="sample size (default 10)")
    demo.add_argument("--reps", type=int, default=20000, help="data sets to average over")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    rep = sub.add_parser("reproduce", help="reproduce a figure of the paper")
    rep.add_argument("name", choices=["madness", "gaussian-std", "gmm", "fairness",
                                      "deep-madness"],
                     help="madness: Figure 4 (six families); gaussian-std: Figure 5; "
                          "gmm: Figure 3 (unbalanced Gaussian mixture); fairness: Table 1 "
                          "(VAE vs Hyper-VAE, needs torch); deep-madness: Figure 2 analogue "
                          "(needs torch)")
    rep.add_argument("--out", help="output directory (default results/NAME)")
    rep.add_argument("--runs", type=int, help="runs per simulation (default: the paper's)")
    rep.add_argument("--generations", type=int, help="generations (default 100)")
    rep.add_argument("--m", type=int, help="synthetic data sets of the bootstrap PLE (madness, "
                                           "gmm)")
    rep.add_argument("--ratios", type=float, nargs="+",
                     help="imbalance ratios (fairness; default 2 5 10 20)")
    rep.add_argument("--steps", type=int,
                     help="optimiser steps per training (fairness, deep-madness)")
    rep.add_argument("--device", help="torch device (fairness, deep-madness; default: cuda "
                                      "if available, else cpu)")
    rep.add_argument("--method", choices=["bootstrap", "hypernetwork", "both"],
                     help="gmm only: the PLE method(s) of the heat map (default bootstrap; "
                          "hypernetwork needs torch); with hypernetwork alone, --m sets its m")
    rep.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    rep.add_argument("--models", nargs="+", choices=["vae", "hyper-vae", "hyper-vae-mle"],
                     help="fairness, deep-madness: the models (default vae hyper-vae; "
                          "hyper-vae-mle is the Hyper-VAE with lambda = 0, the ablation)")
    rep.add_argument("--n-jobs", type=int, default=1, help="worker processes (-1: all cores)")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--no-progress", action="store_true", help="hide progress bars")
    rep.set_defaults(func=_reproduce)
    return parser


def main(argv=None):
    """Entry point of ``ple-stats``."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"ple-stats: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
