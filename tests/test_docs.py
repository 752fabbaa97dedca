"""The documentation sources: the API page lists exactly the public API; gallery examples;
the formulas are typeset by a MathJax served with the site (no CDN, so they render offline).

These checks read the ``.rst``, example and configuration files only (no Sphinx build), so
they are fast; the one check of built pages skips when there is no build. The build itself
(``make docs``, warnings as errors) runs in CI.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_PAGE = DOCS / "api.rst"
EXAMPLES = DOCS / "examples"
BUILT_HTML = DOCS / "_build" / "html"

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


def _conf_values():
    """``{name: value}`` of the literal top-level assignments of docs/conf.py (not run)."""
    values = {}
    for node in ast.parse((DOCS / "conf.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:  # not a literal
                pass
    return values


def _is_external(url):
    return "://" in url or url.startswith("//")


def test_math_is_typeset_by_a_local_mathjax():
    conf = _conf_values()
    extensions = conf["extensions"]
    assert "sphinx.ext.mathjax" in extensions
    # copies MathJax into _static/mathjax of the build and points mathjax_path there
    assert "sphinx-mathjax-offline" in extensions
    assert "sphinx.ext.imgmath" not in extensions
    path = conf.get("mathjax_path", "mathjax/tex-chtml.js")
    assert not _is_external(path) and not path.startswith("/"), \
        f"mathjax_path must be a path under _static, not {path!r}"


def test_docs_extra_installs_the_local_mathjax():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    docs_extra = re.search(r"^docs = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert docs_extra, "no docs extra in pyproject.toml"
    assert re.search(r'"sphinx-mathjax-offline\b', docs_extra.group(1))


def _script_sources(html):
    return re.findall(r"<script\b[^>]*\bsrc=\"([^\"]*)\"", html)


def test_built_pages_load_mathjax_from_the_site_itself():
    pages = sorted(BUILT_HTML.rglob("*.html")) if BUILT_HTML.is_dir() else []
    if not pages:
        pytest.skip("no built documentation (make docs builds it)")
    with_math = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        mathjax = [src for src in _script_sources(html) if "mathjax" in src.lower()]
        external = [src for src in mathjax if _is_external(src)]
        where = f"{page.relative_to(BUILT_HTML)} (a stale build? rerun make docs)"
        assert not external, f"{where} loads MathJax from the network: {external}"
        if 'class="math' in html:
            with_math += 1
            assert mathjax, f"{where} has formulas but loads no MathJax"
        for src in mathjax:
            assert (page.parent / src.split("?")[0]).is_file(), f"{where}: {src} is missing"
    assert with_math, "no built page has a formula"
