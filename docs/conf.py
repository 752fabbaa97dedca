"""Sphinx configuration of the ple_stats documentation."""

import dataclasses
import importlib
import os
import pkgutil
import sys

import sphinx.ext.autosummary
from sphinx.pycode import ModuleAnalyzer

sys.path.insert(0, os.path.abspath(".."))
import ple_stats  # noqa: E402

project = "ple_stats"
author = "The ple_stats developers"
copyright = "2026, The ple_stats developers"
release = version = ple_stats.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # A copy of MathJax (3.2.2) from PyPI, copied into _static/mathjax: the formulas are
    # typeset without any network (no CDN).
    "sphinx-mathjax-offline",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]  # autosummary pages: short titles, classes with their members
exclude_patterns = ["_build", "examples/*", "generated/*.examples"]

autosummary_generate = True
# autosummary ends a summary line at the first ". "; in "the paper's eq. 5" that is not the
# end of a sentence.
if "eq." not in getattr(sphinx.ext.autosummary, "WELL_KNOWN_ABBREVIATIONS", ("eq.",)):
    sphinx.ext.autosummary.WELL_KNOWN_ABBREVIATIONS += ("eq.",)
autodoc_typehints = "none"  # the numpydoc Parameters sections give the types
toc_object_entries_show_parents = "hide"  # "On this page": fit_mle(), not Gaussian.fit_mle()
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
intersphinx_mapping = {}
# The local MathJax of sphinx-mathjax-offline (which sets the same path); never a URL.
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "pydata_sphinx_theme"
html_title = "ple_stats"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
}
# The left sidebar lists a section's sub-pages: keep it where there are some (the API
# reference and its pages), drop it on the single pages and the gallery so that their text
# and code get the width.
html_sidebars = {
    page: []
    for page in ("getting_started", "user_guide", "experiments", "gmm", "hyper", "fairness",
                 "cli", "comparison", "auto_examples/*")
}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}


def _constant_docstring(app, what, name, obj, options, lines):
    """Document a public constant by its ``#:`` comment and, when short, its value.

    The constants of ``ple_stats.experiments`` are defined (and commented) in its private
    modules; autodoc looks for the comment in the public module only and would otherwise show
    the docstring of the constant's type (``tuple``).
    """
    if what != "data":
        return
    modname, _, attr = name.rpartition(".")
    package = importlib.import_module(modname)
    for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
        source = f"{modname}.{info.name}"
        comment = ModuleAnalyzer.for_module(source).find_attr_docs().get(("", attr))
        if comment and getattr(importlib.import_module(source), attr, None) is obj:
            lines[:] = [line for line in comment if line.strip()]
            break
    value = repr(obj)
    if len(value) <= 80:
        lines += ["", f"Value: ``{value}``."]
    elif isinstance(obj, (tuple, list)):  # item by item, records broken between fields
        lines += ["", "Value::", "", f"   {value[0]}"]
        for item in obj:
            lines += [f"    {line}" for line in _wrapped_repr(item)]
        lines += [f"   {value[-1]}"]


def _wrapped_repr(item, width=64):
    """``repr(item) + ","`` in lines of about ``width`` characters, broken between fields."""
    if hasattr(item, "_fields"):  # a named tuple
        names = item._fields
    elif dataclasses.is_dataclass(item):
        names = [field.name for field in dataclasses.fields(item) if field.repr]
    else:
        return [f"{item!r},"]
    head = f"{type(item).__name__}("
    parts = [f"{name}={getattr(item, name)!r}," for name in names]
    parts[-1] = parts[-1][:-1] + "),"
    lines, line = [], head + parts[0]
    for part in parts[1:]:
        if len(line) + 1 + len(part) > width:
            lines.append(line)
            line = " " * len(head) + part
        else:
            line += " " + part
    return lines + [line]


def setup(app):
    app.connect("autodoc-process-docstring", _constant_docstring)
