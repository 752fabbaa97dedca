"""The ``ple-stats`` command line: reproductions of the paper's experiments and a demo.

Exit codes: 0 on success; 2 for a usage error (an unknown option or value, an option
that does not apply to the chosen reproduction, a bad ``--out``, or an invalid value
found by the reproduction itself), with a one-line ``ple-stats: error: ...`` on stderr.

Which options apply to which reproduction, and what each becomes in the reproduction's
function, is one table (``_OPTIONS``); the ``reproduce`` parser, its help and the
checks are generated from it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """Argparse errors in the same form as ours: ``ple-stats: error: ...``, exit code 2."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"ple-stats: error: {message}\n")


def _demo(args):
    """Fit MLE and PLE on one sample of each family and print a comparison."""
    import numpy as np

    from .experiments import MADNESS_PANELS

    # the package's one list of the scalar families with their example truths and the
    # parameters held fixed (Figure 4's panels)
    cases = [(panel.dist, panel.fixed) for panel in MADNESS_PANELS]
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


# --------------------------------------------------------------------------- the table

#: name -> (function of ple_stats.experiments, help)
_REPRODUCTIONS = {
    "madness": ("reproduce_madness", "Figure 4 (six families)"),
    "gaussian-std": ("reproduce_gaussian_std", "Figure 5"),
    "gmm": ("reproduce_gmm", "Figure 3 (unbalanced Gaussian mixture)"),
    "fairness": ("reproduce_fairness", "Table 1 (VAE vs Hyper-VAE, needs torch)"),
    "deep-madness": ("reproduce_deep_madness", "Figure 2 analogue (needs torch)"),
    "gaussian-sweep": ("reproduce_gaussian_sweep",
                       "multivariate Gaussian collapse, replace vs accumulate"),
    "deep-ablation": ("reproduce_deep_ablation",
                      "is the PLE penalty what delays a Hyper-VAE's collapse? A paired, "
                      "Holm-corrected ablation over lambda, m, detach and the penalty form "
                      "(needs torch and statsmodels; the default grid takes about 50-60 min "
                      "and at most 90 min on 2 CPU cores with --n-jobs 2, --fairness-ratio "
                      "adds about 15 min; --quick: under a minute)"),
}
_EVERY = tuple(_REPRODUCTIONS)
_TORCH = ("fairness", "deep-madness")


def _every(keyword):
    return {name: keyword for name in _EVERY}


def _at_least(minimum):
    def check(value, name, keyword):
        if value < minimum:
            return f"must be at least {minimum}; got {value}."
        return None
    return check


def _check_runs(value, name, keyword):
    # gmm, gaussian-sweep: a standard error over seeds needs two of them (deep-ablation: the
    # spread of the paired differences)
    return _at_least(2 if name in ("gmm", "gaussian-sweep", "deep-ablation") else 1)(
        value, name, keyword)


def _check_distinct(values, name, keyword):
    if len(set(values)) != len(values):
        return f"must not repeat; got {' '.join(str(v) for v in values)}."
    return None


def _check_sizes(values, name, keyword):
    for v in values:
        if v < (2 if keyword == "sizes" else 1):
            return f"must be at least {2 if keyword == 'sizes' else 1}; got {v}."
    return _check_distinct(values, name, keyword)


def _check_m(value, name, keyword):
    # the bootstrap PLE needs m >= 2 synthetic data sets; the hypernetwork's m >= 1
    return _at_least(1 if keyword == "hyper_m" else 2)(value, name, keyword)


def _check_n_jobs(value, name, keyword):
    if value == 0 or value < -1:
        return f"must be a positive number of worker processes or -1 (all cores); got {value}."
    return None


def _check_ratios(values, name, keyword):
    for r in values:
        if not (math.isfinite(r) and r >= 1):
            return f"must be imbalance ratios >= 1 (majority : minority); got {r:g}."
    if len(set(values)) != len(values):
        return f"must not repeat; got {' '.join(f'{r:g}' for r in values)}."
    return None


def _check_lambdas(values, name, keyword):
    for v in values:
        if not (math.isfinite(v) and v > 0):
            return f"must be positive penalty weights; got {v:g}."
    if len(set(values)) != len(values):
        return f"must not repeat; got {' '.join(f'{v:g}' for v in values)}."
    return None


def _check_models(values, name, keyword):
    if len(set(values)) != len(values):
        return f"must not repeat; got {' '.join(values)}."
    return None


def _gmm_m_keyword(args):
    # --m is the bootstrap's m, or the hypernetwork's when that is the only method
    return "hyper_m" if args.method == "hypernetwork" else "m"


def _methods(value):
    return ("bootstrap", "hypernetwork") if value == "both" else (value,)


@dataclass(frozen=True)
class _Option:
    """One option of ``reproduce``: its flag, help, and where it applies.

    ``keywords`` maps each reproduction the option applies to onto the keyword of
    its function (or a callable ``args -> keyword``); a reproduction absent from it
    refuses the option. An option left out on the command line is not passed at
    all, so the function's default applies (and ``--quick`` changes only defaults).
    """

    flag: str
    help: str
    keywords: dict
    parse: dict = field(default_factory=dict)
    check: object = None    # (value, reproduction, keyword) -> problem or None
    convert: object = None  # value -> what the function receives

    @property
    def dest(self):
        return self.flag.lstrip("-").replace("-", "_")


_OPTIONS = (
    _Option("--out", "output directory (default results/NAME)", _every("out"),
            {"metavar": "DIR"}),
    _Option("--runs", "madness, gaussian-std: runs per simulation (default: the paper's); "
                      "gmm: data sets per cell; fairness, deep-madness: training seeds; "
                      "gaussian-sweep: seeds per cell; deep-ablation: seeds per cell "
                      "(default 30, at least 2)",
            {"madness": "runs", "gaussian-std": "runs", "gmm": "seeds", "fairness": "seeds",
             "deep-madness": "seeds", "gaussian-sweep": "seeds", "deep-ablation": "seeds"},
            {"type": int, "metavar": "N"}, _check_runs),
    _Option("--generations", "generations (default 100; deep-madness: 5; deep-ablation: 3)",
            {"madness": "generations", "gaussian-std": "generations",
             "deep-madness": "generations", "gaussian-sweep": "generations",
             "deep-ablation": "generations"},
            {"type": int, "metavar": "G"}, _at_least(1)),
    _Option("--dims", "dimensions d (default 1 3 10 31 100)", {"gaussian-sweep": "dims"},
            {"type": int, "nargs": "+", "metavar": "D"}, _check_sizes, tuple),
    _Option("--sizes", "sample sizes n, each >= 2 (default 10 32 100 316 1000)",
            {"gaussian-sweep": "sizes"}, {"type": int, "nargs": "+", "metavar": "N"},
            _check_sizes, tuple),
    _Option("--modes", "loop modes (default replace accumulate)", {"gaussian-sweep": "modes"},
            {"nargs": "+", "choices": ["replace", "accumulate"], "metavar": "MODE"},
            _check_distinct, tuple),
    _Option("--estimators", "estimators (default mle ple)", {"gaussian-sweep": "estimators"},
            {"nargs": "+", "choices": ["mle", "ple"], "metavar": "EST"}, _check_distinct,
            tuple),
    _Option("--m", "synthetic data sets of the bootstrap PLE (at least 2); with gmm "
                   "--method hypernetwork alone, the hypernetwork's m",
            {"madness": "m", "gmm": _gmm_m_keyword}, {"type": int, "metavar": "M"}, _check_m),
    _Option("--method", "the PLE method(s) of the heat map (default bootstrap; hypernetwork "
                        "needs torch)",
            {"gmm": "methods"}, {"choices": ["bootstrap", "hypernetwork", "both"]},
            convert=_methods),
    _Option("--ratios", "imbalance ratios, each >= 1 (default 2 5 10 20)",
            {"fairness": "ratios"}, {"type": float, "nargs": "+", "metavar": "R"},
            _check_ratios, tuple),
    _Option("--lambdas", "the penalty weights of the lambda sweep, besides 0 and the large "
                         "one (default 0.1 1 10)",
            {"deep-ablation": "lambdas"}, {"type": float, "nargs": "+", "metavar": "L"},
            _check_lambdas, tuple),
    _Option("--fairness-ratio", "also run the fairness part (R_fair of digits 3 vs 6) at this "
                                "imbalance ratio, >= 1 (default: not run)",
            {"deep-ablation": "fairness_ratio"}, {"type": float, "metavar": "R"},
            lambda v, n, k: _check_ratios([v], n, k)),
    _Option("--steps", "optimiser steps per training",
            {**{k: "steps" for k in _TORCH}, "deep-ablation": "steps"},
            {"type": int, "metavar": "S"}, _at_least(1)),
    _Option("--models", "the models, among vae, hyper-vae and hyper-vae-mle (the Hyper-VAE "
                        "with lambda = 0, the ablation); default vae hyper-vae",
            {k: "models" for k in _TORCH},
            {"nargs": "+", "choices": ["vae", "hyper-vae", "hyper-vae-mle"],
             "metavar": "MODEL"},
            _check_models, tuple),
    _Option("--device", "torch device (default: cuda if available, else cpu)",
            {**{k: "device" for k in _TORCH}, "deep-ablation": "device"},
            {"metavar": "DEVICE"}),
    _Option("--quick", "a small version that runs in seconds; it changes only the defaults "
                       "of the options not given", _every("quick"), {"action": "store_true"}),
    _Option("--n-jobs", "worker processes (default 1; -1: all cores)", _every("n_jobs"),
            {"type": int, "metavar": "J"}, _check_n_jobs),
    _Option("--seed", "root seed (default 0)", _every("seed"), {"type": int, "metavar": "S"},
            _at_least(0)),
    _Option("--no-progress", "hide progress bars", _every("progress"),
            {"action": "store_true"}, convert=lambda value: False),
)


def _applies_to(option):
    names = [n for n in _EVERY if n in option.keywords]
    quoted = [f"`reproduce {n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _check_out(out):
    """Refuse an ``--out`` that cannot be a writable directory, before any work."""
    path = os.path.normpath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--out {out!r} is an existing file, not a directory; choose "
                         f"another --out.")
    parent = path
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    parent = parent or os.curdir
    if not os.path.isdir(parent):
        raise ValueError(f"--out {out!r} cannot be created: {parent!r} is a file, not a "
                         f"directory; choose another --out.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out!r} is not writable: no write permission in "
                         f"{parent!r}; choose another --out.")
    try:  # what the permission bits do not tell (a read-only file system, ...)
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ValueError(f"--out {out!r} is not writable: {exc.strerror or exc}; choose "
                         f"another --out.") from None


def _reproduce(args):
    name = args.name
    kwargs = {}
    for option in _OPTIONS:
        value = getattr(args, option.dest)
        if value is None or value is False:  # not given: the function's default applies
            continue
        if name not in option.keywords:
            raise ValueError(f"{option.flag} does not apply to `reproduce {name}`; it "
                             f"applies to {_applies_to(option)}.")
        keyword = option.keywords[name]
        keyword = keyword(args) if callable(keyword) else keyword
        problem = option.check(value, name, keyword) if option.check else None
        if problem:
            raise ValueError(f"`{option.flag}` {problem}")
        kwargs[keyword] = option.convert(value) if option.convert else value
    out = kwargs.pop("out", None) or os.path.join("results", name)
    _check_out(out)

    from . import experiments

    function = getattr(experiments, _REPRODUCTIONS[name][0], None)
    if function is None:  # not exported by ple_stats.experiments: its own module
        from .experiments import _deep_ablation

        function = getattr(_deep_ablation, _REPRODUCTIONS[name][0])
    paths = function(out, **kwargs)
    for key, value in paths.items():
        for path in value if isinstance(value, list) else [value]:
            print(f"wrote {path}")
    return 0


def _epilog():
    lines = ["options by reproduction (any other option is refused):"]
    for name in _EVERY:
        flags = [o.flag for o in _OPTIONS
                 if name in o.keywords and len(o.keywords) < len(_EVERY)]
        lines.append(f"  {name:<13} {' '.join(flags) if flags else '-'}")
    common = [o.flag for o in _OPTIONS if len(o.keywords) == len(_EVERY)]
    lines.append(f"  {'all':<13} {' '.join(common)}")
    lines.append("an option given explicitly always wins over --quick.")
    lines.append("exit codes: 0 success, 2 usage error (ple-stats: error: ... on stderr).")
    return "\n".join(lines)


def build_parser():
    parser = _Parser(
        prog="ple-stats",
        description="Penalized autophagy estimation: reproductions and demos.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="fit MLE and PLE on samples of each family")
    demo.add_argument("--n", type=int, default=10, help="sample size (default 10)")
    demo.add_argument("--reps", type=int, default=20000, help="data sets to average over")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    rep = sub.add_parser("reproduce", help="reproduce a figure of the paper",
                         epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("name", choices=list(_REPRODUCTIONS),
                     help="; ".join(f"{n}: {h}" for n, (_, h) in _REPRODUCTIONS.items()))
    for option in _OPTIONS:
        where = ("" if len(option.keywords) == len(_EVERY)
                 else f" [{', '.join(n for n in _EVERY if n in option.keywords)}]")
        rep.add_argument(option.flag, dest=option.dest, default=None,
                         help=option.help + where, **option.parse)
    rep.set_defaults(func=_reproduce)
    return parser


def main(argv=None):
    """Entry point of ``ple-stats``; returns the exit code.

    0 on success; 2 for a usage error or a missing optional dependency (the
    message names the extra to install).
    """
    from ._lib.optional import MissingDependencyError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, MissingDependencyError) as exc:
        print(f"ple-stats: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
