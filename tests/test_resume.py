"""Resuming, checkpoints, collapse and interrupts: nothing silently wrong, nothing lost.

Faults are injected for real: files are truncated or overwritten on disk,
processes race for one directory, and simulations are killed with SIGKILL
and SIGINT mid-run; nothing here is mocked.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from ple_stats import (GMM, Gaussian, Geometric, Laplace, Pareto, PLEWarning, SimulationResult,
                       Uniform, simulate, simulate_gmm)
from ple_stats._lib.files import atomic_write
from ple_stats._lib.store import CheckpointStore

UNIFORM = Uniform(low=0.0, high=1.0)
ARGS = dict(n=8, generations=4, runs=50, fixed={"low": 0.0}, rng=7, chunk_size=10,
            progress=False)


def _run(checkpoint=None, **kw):
    return simulate(UNIFORM, **{**ARGS, "estimator": "mle", "checkpoint": checkpoint, **kw})


def _chunks(folder):
    return sorted(folder.glob("chunk_*.npz"))


# --------------------------------------------------------------------------- seeded outputs
# Pinned before the simulator's plumbing moved (sum of all trajectories, and run 17's last
# value of the first parameter, as exact hex floats): moving code must not change results.
PINNED = [
    ('Gaussian(mu=0.0, sigma=1.0)', 20, 'ple', None, {'method': 'bootstrap', 'm': 20},
     '0x1.8babb1dcb3be4p+7', '0x1.7bd0537984d78p-3'),
    ('Geometric(p=0.5)', 25, 'ple', None, {'method': 'bootstrap', 'm': 20},
     '0x1.a54407997956fp+6', '0x1.cda539346e16ep-2'),
    ('Uniform(low=0.0, high=1.0)', 20, 'mle', {'low': 0.0}, None,
     '0x1.70a2407b75f18p+7', '0x0.0p+0'),
    ('Pareto(b=1.0, xm=1.0)', 25, 'ple', {'xm': 1.0}, {'method': 'bootstrap', 'm': 20},
     '0x1.a0257765bbcc7p+8', '0x1.8296e08cb6e5dp-1'),
    ('Laplace(mu=0.0, b=1.0)', 25, 'ple', None, {'method': 'bootstrap', 'm': 20},
     '0x1.94200a7916964p+7', '-0x1.03f245ad5b187p-1'),
]


@pytest.mark.parametrize("dist, n, estimator, fixed, fit_kwargs, total, value", PINNED,
                         ids=[p[0].split("(")[0] for p in PINNED])
def test_seeded_simulations_are_unchanged(dist, n, estimator, fixed, fit_kwargs, total, value):
    families = {"Gaussian": Gaussian, "Geometric": Geometric, "Uniform": Uniform,
                "Pareto": Pareto, "Laplace": Laplace}
    sim = simulate(eval(dist, families), n=n, generations=6, runs=30, estimator=estimator,
                   fixed=fixed, fit_kwargs=fit_kwargs, rng=11, chunk_size=10, progress=False)
    assert float(sim.trajectories.sum()).hex() == total
    assert float(sim.trajectories[17, -1, 0]).hex() == value


# --------------------------------------------------------------------------- estimator identity
def test_two_lambdas_with_one_name_do_not_share_a_checkpoint(tmp_path):
    ck = tmp_path / "ck"
    mle = _run(ck, estimator=lambda x: Uniform.fit_mle(x, low=0.0))
    with pytest.raises(ValueError, match="holds a run with different arguments"):
        _run(ck, estimator=lambda x: Uniform.fit_ple(x, low=0.0))
    # the same lambda again resumes (and gives the same trajectories)
    again = _run(ck, estimator=lambda x: Uniform.fit_mle(x, low=0.0))
    assert np.array_equal(again.trajectories, mle.trajectories)


def _fit(x, method):
    return getattr(Uniform, method)(x, low=0.0)


def test_partials_and_redefined_functions_are_told_apart(tmp_path):
    _run(tmp_path / "a", estimator=functools.partial(_fit, method="fit_mle"))
    with pytest.raises(ValueError, match="different arguments"):
        _run(tmp_path / "a", estimator=functools.partial(_fit, method="fit_ple"))

    def est(x):
        return Uniform.fit_mle(x, low=0.0)

    _run(tmp_path / "b", estimator=est)

    def est(x):  # noqa: F811 - redefined, as in a notebook
        return Uniform.fit_ple(x, low=0.0)

    with pytest.raises(ValueError, match="different arguments"):
        _run(tmp_path / "b", estimator=est)


def test_a_closure_is_identified_by_its_values(tmp_path):
    def make(low):
        return lambda x: Uniform.fit_mle(x, low=low)

    _run(tmp_path / "c", estimator=make(0.0))
    with pytest.raises(ValueError, match="different arguments"):
        _run(tmp_path / "c", estimator=make(-1.0), fixed={"low": -1.0})


# --------------------------------------------------------------------------- the directory
_RACE = textwrap.dedent("""
    import os, sys, time
    from ple_stats import Uniform, simulate
    folder, seed, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        sim = simulate(Uniform(low=0.0, high=1.0), n=8, generations=3, runs=20,
                       estimator="mle", fixed={"low": 0.0}, rng=seed, chunk_size=5,
                       checkpoint=folder, progress=False)
    except ValueError as exc:
        print("refused", exc)
    else:
        print("ran", repr(sim.trajectories.sum()))
""")


@pytest.mark.slow
def test_two_processes_racing_for_a_new_directory_never_mix_runs(tmp_path):
    # 8 trials of two processes (seeds 7 and 8) released at the same instant on a new
    # directory: exactly one may claim it, the other is refused, every time.
    for trial in range(8):
        folder, go = tmp_path / f"ck{trial}", tmp_path / f"go{trial}"
        procs = [subprocess.Popen([sys.executable, "-c", _RACE, str(folder), str(seed), str(go)],
                                  stdout=subprocess.PIPE, text=True) for seed in (7, 8)]
        time.sleep(1.0)  # both have imported ple_stats and are waiting
        go.touch()
        outs = [p.communicate(timeout=120)[0] for p in procs]
        assert sorted(o.split()[0] for o in outs) == ["ran", "refused"], outs
        claimed = json.loads((folder / "checkpoint.json").read_text())["key"]["seed"][0]
        winner = (7, 8)[[o.startswith("ran") for o in outs].index(True)]
        assert claimed == winner
        # a rerun with the winner's seed uses only its own chunks: identical to a fresh run
        rerun = simulate(UNIFORM, n=8, generations=3, runs=20, estimator="mle",
                         fixed={"low": 0.0}, rng=winner, chunk_size=5, checkpoint=folder,
                         progress=False)
        fresh = simulate(UNIFORM, n=8, generations=3, runs=20, estimator="mle",
                         fixed={"low": 0.0}, rng=winner, chunk_size=5, progress=False)
        assert np.array_equal(rerun.trajectories, fresh.trajectories)


def test_deleting_checkpoint_json_does_not_make_old_chunks_reusable(tmp_path):
    ck = tmp_path / "ck"
    _run(ck)
    os.remove(ck / "checkpoint.json")
    with pytest.raises(ValueError, match=r"chunk_000000\.npz' belongs to a run with different"):
        _run(ck, rng=8)


def test_a_chunk_of_another_run_is_refused_not_used(tmp_path):
    # a valid chunk of a run with another run count, copied in: it would shrink the result
    _run(tmp_path / "other", runs=40)
    ck = tmp_path / "ck"
    _run(ck)
    os.replace(tmp_path / "other" / "chunk_000001.npz", ck / "chunk_000001.npz")
    with pytest.raises(ValueError, match="belongs to a run with different arguments"):
        _run(ck)


def test_a_chunk_of_the_wrong_shape_is_recomputed(tmp_path):
    ck = tmp_path / "ck"
    reference = _run(ck)
    store = CheckpointStore(ck, json.loads((ck / "checkpoint.json").read_text())["key"])
    store.save(2, np.zeros((6, 5, 4)))  # right run, wrong shape (6 runs instead of 10)
    with pytest.warns(PLEWarning, match=r"chunk_000002\.npz' is not valid: shape \(6, 5, 4\)"):
        again = _run(ck)
    assert again.trajectories.shape == reference.trajectories.shape
    assert np.array_equal(again.trajectories, reference.trajectories)


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "flip"])
def test_a_damaged_chunk_is_named_and_recomputed(tmp_path, damage):
    ck = tmp_path / "ck"
    reference = _run(ck)
    path = ck / "chunk_000003.npz"
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(len(raw)))
    else:  # one bit of the array data flipped: still a readable file, wrong numbers
        data = bytearray(raw)
        data[len(data) // 3] ^= 0x01
        path.write_bytes(bytes(data))
    with pytest.warns(PLEWarning, match=r"chunk_000003\.npz' is not valid"):
        again = _run(ck)
    assert np.array_equal(again.trajectories, reference.trajectories)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _run(ck)  # repaired: no warning the next time


@pytest.mark.parametrize("content", [b"", b'{"digest": "ab', b"not json at all"])
def test_a_damaged_checkpoint_json_is_rewritten(tmp_path, content):
    ck = tmp_path / "ck"
    reference = _run(ck)
    (ck / "checkpoint.json").write_bytes(content)
    with pytest.warns(PLEWarning, match=r"checkpoint\.json' is unreadable"):
        again = _run(ck)
    assert np.array_equal(again.trajectories, reference.trajectories)
    json.loads((ck / "checkpoint.json").read_text())  # valid again


def test_checkpoint_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        _run(tmp_path / "f")


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_a_damaged_simulation_file_names_itself(tmp_path, damage):
    path = tmp_path / "sim.npz"
    _run().save(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"")
    with pytest.raises(ValueError, match=r"sim\.npz'.*truncated or corrupted.*Delete it"):
        SimulationResult.load(path)


def test_atomic_files_get_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_an_interrupted_figure_write_leaves_the_old_file_whole(tmp_path):
    from ple_stats.experiments._io import save_figure

    class Figure:
        def savefig(self, target, **kw):
            target.write(b"%PDF-partial")
            raise KeyboardInterrupt  # Ctrl-C in the middle of rendering

    (tmp_path / "fig.png").write_bytes(b"old figure")
    with pytest.raises(KeyboardInterrupt):
        save_figure(Figure(), str(tmp_path), "fig")
    assert (tmp_path / "fig.png").read_bytes() == b"old figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


# --------------------------------------------------------------------------- collapse
@pytest.mark.parametrize("dist, n, estimator", [
    (Gaussian(mu=0.0, sigma=1.0), 3, "mle"),
    (Laplace(mu=0.0, b=1.0), 2, "mle"),
    (Laplace(mu=0.0, b=1.0), 2, "ple"),
    (Uniform(low=0.0, high=1.0), 2, "mle"),
    (Uniform(low=0.0, high=1.0), 2, "ple"),
], ids=lambda v: type(v).__name__ if not isinstance(v, (int, str)) else str(v))
def test_a_collapsed_run_is_recorded_and_the_others_kept(dist, n, estimator):
    with pytest.warns(PLEWarning, match=r"of 100 runs collapsed"):
        sim = simulate(dist, n=n, generations=100, runs=100, estimator=estimator, rng=0,
                       progress=False)
    collapsed = sim.collapsed
    assert collapsed.shape == (100,) and (collapsed >= 0).any()
    assert np.isfinite(sim.trajectories).all()
    for r in np.flatnonzero(collapsed >= 0):  # absorbing: frozen from the collapse on
        t = collapsed[r]
        assert (sim.trajectories[r, t:] == sim.trajectories[r, t - 1]).all()
    frac = sim.summary(sim.param_names[-1])["collapsed_fraction"]
    assert frac[0] == 0 and frac[-1] == np.mean(collapsed >= 0)
    assert np.all(np.diff(frac) >= 0)


def test_runs_that_do_not_collapse_are_unaffected_by_those_that_do():
    # Gaussian MLE at n = 3: runs collapse at different generations. A run's trajectory up
    # to the first collapse in its chunk is the same as in a simulation with a shorter
    # horizon that has no collapse at all.
    with pytest.warns(PLEWarning, match="collapsed"):
        sim = simulate(Gaussian(mu=0.0, sigma=1.0), n=3, generations=200, runs=20,
                       estimator="mle", rng=5, chunk_size=20)
    first = sim.collapsed[sim.collapsed >= 0].min()
    short = simulate(Gaussian(mu=0.0, sigma=1.0), n=3, generations=int(first) - 1, runs=20,
                     estimator="mle", rng=5, chunk_size=20)
    assert np.array_equal(short.trajectories, sim.trajectories[:, :first])


def test_collapse_survives_save_and_load(tmp_path):
    with pytest.warns(PLEWarning):
        sim = simulate(Uniform(low=0.0, high=1.0), n=2, generations=60, runs=30,
                       estimator="mle", rng=1)
    sim.save(tmp_path / "s.npz")
    back = SimulationResult.load(tmp_path / "s.npz")
    assert np.array_equal(back.collapsed, sim.collapsed)


def test_simulate_gmm_keeps_the_runs_that_do_not_collapse():
    truth = GMM(weights=[0.5, 0.5], means=[0.0, 2.0], sigmas=[1.0, 1.0])
    with pytest.warns(PLEWarning, match="of 20 runs collapsed"):
        res = simulate_gmm(truth, n=3, generations=30, runs=20, estimator="mle", rng=0)
    assert (res.collapsed >= 0).any() and (res.collapsed < 0).any()
    assert np.isfinite(res.trajectories).all()


# --------------------------------------------------------------------------- user estimators
def _gaussian_fit(x):
    return Gaussian.fit_mle(x)


class _Fake:
    def __init__(self, params):
        self.params = params


@pytest.mark.parametrize("estimator, exc, match", [
    (_gaussian_fit, TypeError, "returned a fit of Gaussian; the simulated family is Uniform"),
    (lambda x: _Fake(Gaussian.fit_mle(x).params), TypeError,
     r"returned parameters \('mu', 'sigma'\); Uniform has \('low', 'high'\)"),
    (lambda x: _Fake((np.ones(x.shape[0]),)), ValueError,
     r"returned 1 parameter\(s\); Uniform has 2"),
    (lambda x: _Fake((np.zeros(x.shape[0]), np.full(x.shape[0], np.nan))), ValueError,
     r"returned `high` = nan"),
    (lambda x: _Fake((np.zeros(3), np.ones(3))), ValueError, r"returned `low` of shape \(3,\)"),
    (lambda x: 1.0, TypeError, "must return a FitResult of Uniform"),
])
def test_a_user_estimator_is_validated(estimator, exc, match):
    with pytest.raises(exc, match=match):
        simulate(UNIFORM, n=5, generations=2, runs=10, estimator=estimator)


def test_an_out_of_domain_user_estimate_is_refused():
    def negative_sigma(x):
        return _Fake((x.mean(axis=-1), -np.ones(x.shape[0])))

    with pytest.raises(ValueError, match=r"returned `sigma` = -1.0 \(it must be positive"):
        simulate(Gaussian(mu=0.0, sigma=1.0), n=5, generations=2, runs=10,
                 estimator=negative_sigma)


# --------------------------------------------------------------------------- real kills
_KILLED = textwrap.dedent("""
    import sys
    from ple_stats import Gaussian, simulate
    simulate(Gaussian(mu=0.0, sigma=1.0), n=20, generations=30, runs=400, estimator="ple",
             fit_kwargs={"method": "bootstrap", "m": 20}, rng=3, chunk_size=20,
             n_jobs=int(sys.argv[2]), checkpoint=sys.argv[1], progress=False)
    print("finished")
""")


def _killed_run(tmp_path, sig, n_jobs=1):
    ck = tmp_path / "ck"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(ck), str(n_jobs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_chunks(ck)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    return ck, proc


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_simulation_resumes_bitwise_identically(tmp_path, sig):
    ck, _ = _killed_run(tmp_path, sig)
    saved = len(_chunks(ck))
    assert 3 <= saved < 20
    kwargs = dict(n=20, generations=30, runs=400, estimator="ple",
                  fit_kwargs={"method": "bootstrap", "m": 20}, rng=3, chunk_size=20,
                  progress=False)
    resumed = simulate(Gaussian(mu=0.0, sigma=1.0), checkpoint=ck, **kwargs)
    fresh = simulate(Gaussian(mu=0.0, sigma=1.0), **kwargs)
    assert np.array_equal(resumed.trajectories, fresh.trajectories)


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_workers_of_a_killed_parent_exit_soon(tmp_path):
    ck = tmp_path / "ck"
    # no pipes: the workers would inherit them and keep them open
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(ck), "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_chunks(ck)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = set()
    for pid in _children(proc.pid):  # loky: a resource tracker and the workers
        tree |= {pid, *_children(pid)}
    assert tree, "no worker processes were found"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    # each worker checks every second that its parent is there; 30 s leaves room for a
    # loaded machine (before the check they lived on for more than 12 minutes)
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [p for p in tree if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"{len(left)} worker process(es) outlived their parent by 30 s"


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"mode": "fresh", "fresh_fraction": "a"}, TypeError, "`fresh_fraction` must be a number"),
    ({"mode": "fresh", "fresh_fraction": 1.5}, ValueError, r"`fresh_fraction` must be in \[0, 1\]"),
    ({"fixed": ["low"]}, TypeError, "`fixed` must be a dict of parameter values"),
    ({"fixed": {"low": "zero"}}, TypeError, r"`fixed\['low'\]` must be a number"),
    ({"fixed": {"width": 1.0}}, TypeError, "`fixed` names an unknown parameter 'width'"),
])
def test_bad_simulate_arguments_name_themselves(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate(UNIFORM, n=5, generations=2, runs=4, estimator="mle", **kwargs)


_IDENTITY = textwrap.dedent("""
    import ple_stats as ps
    from ple_stats._estimator_identity import callable_identity

    def est(x):  # a set literal: a frozenset constant, iterated in hash order
        if "mle" in {"mle", "maximum-likelihood", "ml", "m.l.e."}:
            return ps.Gaussian.fit_mle(x)

    def make():
        tags = {"a", "b", "c", "dd"}

        def helper(x):
            return ps.Gaussian.fit_mle(x)
        return lambda x: helper(x) if "a" in tags else None

    class Est:
        def __init__(self):
            self.names = {"x", "y", "zz"}

        def __call__(self, x):
            return ps.Gaussian.fit_mle(x)

    print(callable_identity(est), callable_identity(make()), callable_identity(Est()))
""")


def test_an_estimator_has_the_same_identity_in_every_process():
    # sets iterate in the order of the per-process string hash seed; the identity must not
    outs = {subprocess.run([sys.executable, "-c", _IDENTITY], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           check=True).stdout for seed in (1, 2, 3)}
    assert len(outs) == 1


def test_a_closure_over_a_local_function_is_identified_by_it(tmp_path):
    def make(method):
        def helper(x):
            return getattr(Uniform, method)(x, low=0.0)
        return lambda x: helper(x)

    _run(tmp_path / "d", estimator=make("fit_mle"))
    _run(tmp_path / "d", estimator=make("fit_mle"))  # the same: resumes
    with pytest.raises(ValueError, match="different arguments"):
        _run(tmp_path / "d", estimator=make("fit_ple"))


def test_an_estimator_that_is_wrong_only_sometimes_is_refused_not_taken_for_collapse():
    # valid on the probe's data, out of domain for some runs later: an error, not a collapse
    def shifted(x):
        res = Gaussian.fit_mle(x)
        return _Fake((res.params.mu, res.params.sigma - 0.7))

    with pytest.raises(ValueError, match=r"returned `sigma` = .* \(it must be positive\)"):
        simulate(Gaussian(mu=0.0, sigma=1.0), n=10, generations=5, runs=200,
                 estimator=shifted, rng=0)


def test_degenerate_data_raise_the_error_the_simulators_catch():
    from ple_stats import DegenerateDataError

    for fit in (lambda: Gaussian.fit_mle([1.0, 1.0, 1.0]),
                lambda: Uniform.fit_ple([2.0, 2.0]),
                lambda: GMM.fit_mle([3.0, 3.0, 3.0, 3.0])):
        with pytest.raises(DegenerateDataError, match="degenerate|all observations equal"):
            fit()
    assert issubclass(DegenerateDataError, ValueError)


def test_exclusive_creation_without_hard_links(tmp_path, monkeypatch):
    # some file systems (vfat, SMB) have no hard links: exclusive creation must still hold
    def no_link(src, dst):
        raise PermissionError("hard links are not supported here")

    monkeypatch.setattr(os, "link", no_link)
    assert atomic_write(tmp_path / "a.json", b"first", exclusive=True)
    assert not atomic_write(tmp_path / "a.json", b"second", exclusive=True)
    assert (tmp_path / "a.json").read_bytes() == b"first"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
