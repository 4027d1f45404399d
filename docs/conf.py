"""Sphinx settings of the course's website, used by `make site` (docs/build_site.py stages the pages).

The repository and the release come from pyproject.toml, the one place the course's address lives (as for every
notebook's Colab badge and install cell): a fork changes them there, and the site's links follow.
Notebooks are never executed here (`nb_execution_mode = "off"`): the site shows what `make run` executed.
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sslcourse.grading.generate import release as _release  # noqa: E402

repository, version = _release(REPO)

project = "sslcourse"
author = "the sslcourse authors"
copyright = "the sslcourse authors, MIT licence"
release = version
html_title = "Self-supervised learning for computer vision"

extensions = ["myst_nb", "sphinx.ext.autodoc"]
# Equations are drawn by MathJax 2 from the site itself (jupyter-server-mathjax ships it), not from a CDN: the pages
# read offline, like the notebooks' figures and the Colab badge.
MATHJAX = Path(__import__("jupyter_server_mathjax").__file__).parent / "static"
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                               "processRefs": False, "processEnvironments": False},
                   "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None},  # the fonts it ships
                   "MMLorHTML": {"prefer": "HTML"}, "messageStyle": "none"}
myst_update_mathjax = False  # its settings are MathJax 4's
nb_execution_mode = "off"
nb_merge_streams = True  # one block of printed text per cell, not one per flush
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_dmath_double_inline = True  # `$$…$$` inside a paragraph is display math, as Jupyter draws it
myst_heading_anchors = 3
exclude_patterns = ["_downloads_src", ".doctrees", "**.ipynb_checkpoints"]
# Warnings are errors (`-W`), but one: a shell block with a placeholder such as `<cache with 00–05's checkpoints>`
# that Pygments cannot lex is still shown, only without colours.
suppress_warnings = ["misc.highlighting_failure"]

# The API reference shows signatures and docstrings; the source stays in the repository (no viewcode: the package
# holds reference implementations of the exercises).
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

html_theme = "sphinx_book_theme"
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": repository,
    "repository_branch": f"v{version}",
    "path_to_docs": "",  # the site's pages sit where the repository has them: notebooks/, exercises/
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
    "home_page_in_toc": True,
}


BULLET = ("* ", "- ")


def plain_docstring(app, what, name, obj, options, lines):
    """Read the package's plain-text docstrings as reStructuredText: a line indented under the one before it
    continues that line (``name: text`` followed by a hanging indent), and a bullet list after a line of text
    starts a new paragraph. Literal blocks (after ``::``) stay as written."""
    out, indents, literal = [], [], None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            out.append(line)
            indents.append(None)
            continue
        if literal is not None and indent > literal:
            out.append(line)
            indents.append(indent)
            continue
        literal = None
        prev = next((i for i in range(len(out) - 1, -1, -1) if indents[i] is not None), None)
        joined = prev is not None and prev == len(out) - 1 and indent > indents[prev] \
            and not out[prev].rstrip().endswith("::")
        if joined:
            out[prev] = out[prev].rstrip() + " " + line.strip()
        else:
            if line.lstrip().startswith(BULLET) and prev == len(out) - 1 and prev is not None \
                    and not out[prev].lstrip().startswith(BULLET):
                out.append("")
                indents.append(None)
            out.append(line)
            indents.append(indent)
        if out[-1].rstrip().endswith("::"):
            literal = indents[-1]
    lines[:] = out


def copy_mathjax(app, error):
    if error is None and app.builder.format == "html":
        import shutil

        shutil.copytree(MATHJAX, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("localization"))


def setup(app):
    app.connect("autodoc-process-docstring", plain_docstring)
    app.connect("build-finished", copy_mathjax)
