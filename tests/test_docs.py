"""The documentation sources: the API page lists exactly the public API; gallery examples.

These checks read the ``.rst`` and example files only (no Sphinx build), so they are fast.
The build itself (``make docs``, warnings as errors) runs in CI.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
API_PAGE = DOCS / "api.rst"
EXAMPLES = DOCS / "examples"

# The modules whose ``__all__`` is the public API, and what each needs to be imported.
PUBLIC_MODULES = {"ple_stats": None, "ple_stats.experiments": None, "ple_stats.hyper": "torch"}


def documented_names(text):
    """``{module: [names]}`` of the entries of every ``autosummary`` block of an rst text.

    A block's entries are relative to the latest ``.. module::`` or ``.. currentmodule::``
    above it.
    """
    names = {}
    module = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        current = re.match(r"\.\. (?:current)?module::\s*(\S+)\s*$", line)
        if current:
            module = current.group(1)
        if re.match(r"\.\. autosummary::\s*$", line):
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                entry = lines[i].strip()
                if entry and not entry.startswith(":"):  # skip the :toctree: etc. options
                    assert module is not None, f"autosummary entry {entry!r} before any " \
                                               f"module directive in {API_PAGE.name}"
                    names.setdefault(module, []).append(entry)
                i += 1
            continue
        i += 1
    return names


API = documented_names(API_PAGE.read_text(encoding="utf-8"))


def test_parser_reads_blocks_and_modules():
    text = """
.. module:: pkg

.. autosummary::
   :toctree: generated/
   :nosignatures:

   A
   b

Text.

.. currentmodule:: pkg.sub

.. autosummary::

   c
"""
    assert documented_names(text) == {"pkg": ["A", "b"], "pkg.sub": ["c"]}


def test_api_page_documents_only_public_modules():
    assert set(API) == set(PUBLIC_MODULES)


@pytest.mark.parametrize("module_name", sorted(PUBLIC_MODULES))
def test_api_page_lists_exactly_the_public_api(module_name):
    if PUBLIC_MODULES[module_name]:
        pytest.importorskip(PUBLIC_MODULES[module_name])
    module = importlib.import_module(module_name)
    listed = API.get(module_name, [])
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    assert not duplicates, f"listed twice in api.rst: {duplicates}"
    missing = sorted(set(module.__all__) - set(listed))
    extra = sorted(set(listed) - set(module.__all__))
    assert not missing, f"{module_name}.__all__ names missing from api.rst: {missing}"
    assert not extra, f"api.rst lists names outside {module_name}.__all__: {extra}"


def _examples():
    return sorted(EXAMPLES.glob("plot_*.py"))


def test_gallery_has_the_promised_examples():
    names = {path.stem for path in _examples()}
    assert {"plot_sampling_distributions", "plot_recursive_loop", "plot_gmm_fit",
            "plot_scipy_debiasing", "plot_hypernetwork"} <= names


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_gallery_example_has_a_title(path):
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{path.name} has no module docstring"
    lines = docstring.strip().splitlines()
    assert len(lines) >= 3, f"{path.name}: a title, its underline and some prose are needed"
    title, underline = lines[0].strip(), lines[1].strip()
    assert title, f"{path.name}: empty title"
    assert set(underline) == {"="} and len(underline) >= len(title), \
        f"{path.name}: the title must be underlined with '=' at least as long as itself"
    assert any(line.strip() for line in lines[2:]), f"{path.name}: no text under the title"


def test_gallery_readme_has_a_title():
    lines = (EXAMPLES / "README.rst").read_text(encoding="utf-8").strip().splitlines()
    assert set(lines[1].strip()) == {"="} and len(lines[1].strip()) >= len(lines[0].strip())
