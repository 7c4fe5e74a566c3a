"""Sphinx configuration: the guided tour first, then the API reference from the docstrings.

Build (needs the ``docs`` extra, ``pip install ".[docs]"``, and an installed or in-place
built minigrad)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""
import minigrad

project = "minigrad"
author = "the minigrad developers"
release = version = minigrad.__version__

extensions = [
    "myst_parser",            # TOUR.md and the other Markdown pages
    "sphinx.ext.autodoc",     # the API reference, from the docstrings
    "sphinx.ext.napoleon",    # their Google-style "Args:" / "Returns:" sections
    "sphinx.ext.viewcode",    # a link from each entry to its source
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "results", "images", "TOUR.md"]  # TOUR.md: the first page, via index.md
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True   # dataclass fields: documented once, by autodoc

html_theme = "alabaster"
html_title = "minigrad"
html_theme_options = {"page_width": "1180px", "sidebar_width": "260px"}
