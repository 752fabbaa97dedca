"""Every optional dependency, when missing, gets one error that names the extra to install.

Each CLI command runs in a subprocess in which one package is made unimportable
(``sys.modules[name] = None``, which makes ``import name`` raise ImportError),
as on a machine where that extra was not installed.
"""

import subprocess
import sys
import textwrap

import pytest

from ple_stats._lib.optional import EXTRAS, import_optional, missing_message

_RUN = textwrap.dedent("""
    import sys
    for name in {blocked!r}:
        sys.modules[name] = None
    from ple_stats.cli import main
    sys.exit(main({argv!r}))
""")


def _cli(argv, blocked):
    proc = subprocess.run([sys.executable, "-c", _RUN.format(blocked=blocked, argv=argv)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def _extra_hint(module):
    return f'pip install "ple_stats[{EXTRAS[module][1]}]"'


CASES = [
    # (command, unimportable modules, the package the message names)
    (["reproduce", "madness", "--quick", "--n-jobs", "2"], ["joblib"], "joblib"),
    (["reproduce", "madness", "--quick"], ["matplotlib", "matplotlib.pyplot"], "matplotlib"),
    (["reproduce", "gaussian-std", "--quick"], ["matplotlib", "matplotlib.pyplot"],
     "matplotlib"),
    (["reproduce", "gmm", "--quick"], ["matplotlib", "matplotlib.pyplot"], "matplotlib"),
    (["reproduce", "gmm", "--quick", "--n-jobs", "2"], ["joblib"], "joblib"),
    (["reproduce", "gmm", "--quick", "--method", "hypernetwork"], ["torch"], "torch"),
    (["reproduce", "fairness", "--quick"], ["torch"], "torch"),
    (["reproduce", "fairness", "--quick"], ["sklearn", "sklearn.datasets"], "sklearn"),
    (["reproduce", "deep-madness", "--quick"], ["torch"], "torch"),
    (["reproduce", "deep-madness", "--quick"], ["sklearn", "sklearn.datasets"], "sklearn"),
]


@pytest.mark.parametrize("argv, blocked, module", CASES,
                         ids=[f"{c[0][1]}-{'-'.join(c[0][3:])}-{c[1][0]}" for c in CASES])
def test_cli_names_the_extra_of_a_missing_package(argv, blocked, module, tmp_path):
    code, output = _cli(argv + ["--out", str(tmp_path / "out"), "--no-progress"], blocked)
    assert code == 2, output
    assert "ple-stats: error:" in output
    assert "which is not installed" in output and _extra_hint(module) in output, output
    assert "Traceback" not in output


@pytest.mark.parametrize("module, text", [
    # written out, not built from EXTRAS: what a user reads for each optional package
    ("joblib", 'pip install "ple_stats[parallel]" (or pip install joblib).'),
    ("dask.distributed", 'pip install "ple_stats[parallel]" (or pip install dask[distributed]).'),
    ("matplotlib.pyplot", 'pip install "ple_stats[plot]" (or pip install matplotlib).'),
    ("torch", 'pip install "ple_stats[torch]" (or pip install torch==2.13.0).'),
    ("sklearn.datasets", 'pip install "ple_stats[experiments]" (or pip install scikit-learn).'),
    ("statsmodels.api", 'pip install "ple_stats[regression]" (or pip install statsmodels).'),
    ("pandas", 'pip install "ple_stats[regression]" (or pip install pandas).'),
    ("tqdm.auto", "a dependency of ple_stats that is not installed: pip install tqdm."),
])
def test_the_message_is_the_same_everywhere(module, text):
    message = missing_message(module, "this feature")
    assert message.startswith("this feature needs ") and message.endswith(text)


def test_import_optional_raises_the_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "joblib", None)
    with pytest.raises(ImportError, match=r'n_jobs=2 needs joblib, which is not installed: '
                                          r'pip install "ple_stats\[parallel\]"'):
        import_optional("joblib", "n_jobs=2")


def test_missing_tqdm_names_it_when_a_bar_is_asked_for(monkeypatch):
    from ple_stats._lib.progress import progress_bar

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert progress_bar(3, progress=False) is None  # no bar wanted: tqdm is not needed
    with pytest.raises(ImportError, match="a progress bar needs tqdm, a dependency of "
                                          "ple_stats that is not installed: pip install tqdm"):
        progress_bar(3, progress=True)


def test_simulate_reports_missing_joblib_and_dask_before_any_work(monkeypatch):
    from ple_stats import Uniform, simulate

    truth = Uniform(low=0.0, high=1.0)
    monkeypatch.setitem(sys.modules, "joblib", None)
    with pytest.raises(ImportError, match=r'pip install "ple_stats\[parallel\]"'):
        simulate(truth, n=5, generations=2, runs=10, estimator="mle", n_jobs=2)
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r'backend="dask" needs dask, which is not installed'):
        simulate(truth, n=5, generations=2, runs=10, estimator="mle", backend="dask")


def test_an_import_error_inside_an_installed_package_is_not_disguised(tmp_path, monkeypatch):
    # a package that is present but fails on one of *its* dependencies shows the real error
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("import a_dependency_that_is_absent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as info:
        import_optional("brokenpkg", "x")
    assert info.value.name == "a_dependency_that_is_absent"
    assert "which is not installed" not in str(info.value)
