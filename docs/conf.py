"""Sphinx configuration of the ple_stats documentation."""

import os
import sys

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
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
intersphinx_mapping = {}
exclude_patterns = ["_build", "examples/*", "generated/*.examples"]
html_theme = "pydata_sphinx_theme"
html_title = "ple_stats"
html_static_path = ["_static"]
html_theme_options = {"navigation_depth": 2, "show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}
