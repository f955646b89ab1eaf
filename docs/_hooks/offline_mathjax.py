"""mkdocs hook: the site serves its own copy of MathJax, so the formulas render offline.

The copy comes from the Python package ``django-static-mathjax`` (PyPI; MathJax 3.2.2 as static
files, Apache-2.0, no dependencies; it installs the importable package ``mathjax``), a
requirement of the ``docs`` extra. At build time this hook adds to the site, under
``javascripts/mathjax/``, the parts of MathJax's ``es5`` distribution that the pages use — the
TeX+MathML to CommonHTML component ``tex-mml-chtml.js`` (``extra_javascript`` in ``mkdocs.yml``
loads it), the TeX extensions it autoloads, its web fonts, the menu and the accessibility tools
the menu loads on demand — and MathJax's ``LICENSE``. MathJax finds the rest of itself relative to
the URL of ``tex-mml-chtml.js``, so nothing is fetched from a CDN, at build time or in the
reader's browser. Without the package the build logs a warning, which fails
``mkdocs build --strict``.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.offline_mathjax")

#: Folder of the site that holds the copy (``extra_javascript`` points into it).
TARGET = "javascripts/mathjax"
#: The parts of MathJax's ``es5`` folder the site serves (files or folders).
PARTS = ("tex-mml-chtml.js", "input/tex", "input/mml", "output/chtml", "ui", "a11y", "sre")


def mathjax_root() -> Path | None:
    """MathJax's distribution folder (``package.json``, ``LICENSE``, ``es5/``), or None."""
    try:
        spec = importlib.util.find_spec("mathjax")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        root = Path(location) / "static" / "mathjax"
        if (root / "es5" / "tex-mml-chtml.js").is_file() and (root / "LICENSE").is_file():
            return root
    return None


def mathjax_files(root: Path) -> dict[str, Path]:
    """Site path -> source file of every file the site serves from the MathJax copy ``root``."""
    es5 = root / "es5"
    out = {f"{TARGET}/LICENSE": root / "LICENSE"}
    for part in PARTS:
        src = es5 / part
        found = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for path in found:
            out[f"{TARGET}/{path.relative_to(es5).as_posix()}"] = path
    return out


def on_files(files: Any, config: Any) -> Any:
    root = mathjax_root()
    if root is None:
        log.warning(
            "MathJax is not installed, so the site's formulas would not render: install the "
            "docs extra (pip install -e '.[docs]', which brings django-static-mathjax)."
        )
        return files
    for uri, path in mathjax_files(root).items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
