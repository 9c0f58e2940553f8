"""Sphinx configuration for sklearn-ntk.

Build with ``python -m sphinx -W -b html doc doc/_build/html`` from the repository root.
"""

import os
import sys

# Document the checkout this file lives in, installed or not.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import sklearn_ntk  # noqa: E402

project = "sklearn-ntk"
author = "sklearn-ntk developers"
copyright = "sklearn-ntk developers"
release = sklearn_ntk.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# Gallery of examples/ (sphinx-gallery): every examples/plot_*.py is run and its figures and
# printed output are embedded. SKLEARN_NTK_DOC_PLOTS=0 builds the pages without running the
# examples (no figures; used by the quick docs test).
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "plot_gallery": os.environ.get("SKLEARN_NTK_DOC_PLOTS", "1") not in ("0", "false", "False"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "show_memory": False,
    "backreferences_dir": None,
    "matplotlib_animations": False,
}

# API pages are generated from the docstrings into doc/generated/ (git-ignored).
autosummary_generate = True
# Class pages (doc/_templates/autosummary/class.rst) document this package's methods, including
# those inherited from its private base classes, but not the generic scikit-learn ones
# (get_params, score, ...), whose docstrings link into scikit-learn's own documentation.
autodoc_member_order = "bysource"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# No network here or in CI: no intersphinx inventories, so no cross-project links.
nitpicky = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
default_role = "literal"

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-ntk {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
# MathJax is loaded from a CDN by the browser when the pages are viewed; the build is offline.
# SKLEARN_NTK_MATHJAX_PATH points the pages at a local copy instead, for viewing them offline,
# e.g. Debian's libjs-mathjax (MathJax 2):
# "file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML".
if os.environ.get("SKLEARN_NTK_MATHJAX_PATH"):
    mathjax_path = os.environ["SKLEARN_NTK_MATHJAX_PATH"]
