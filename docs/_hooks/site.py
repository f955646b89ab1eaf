"""mkdocs hooks of the documentation site (dependency-free; configured in ``mkdocs.yml``).

- Serves the generated derivation documents ``derivations/d*.md`` of the repository as pages
  ``derivations/<name>/`` (mkdocs only serves files under ``docs/``; they are read at build time,
  never copied into ``docs/``).
- Fills the placeholder ``<!-- clln:public-names -->`` of ``api/index.md`` with every public name
  of the top level and of every room, each a cross-reference: a name that the API pages do not
  render is a broken reference, which fails ``mkdocs build --strict``.
- Logs one warning per public function or method that leaves a parameter undocumented (the same
  check as ``tests/test_docs.py``), so that ``mkdocs build --strict`` fails on those as well.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.clln_docs")

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parents[1]
PLACEHOLDER = "<!-- clln:public-names -->"
#: Replaced by the README's results, from "## Results" up to "## Derivations" (one source).
README_RESULTS = "<!-- clln:readme-results -->"


def readme_results() -> str:
    """The README's results sections, with figure paths relative to ``docs/``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, stop = text.index("\n## Results\n"), text.index("\n## Derivations\n")
    body = text[start:stop].split("\n", 2)[2]  # drop the "## Results" heading itself
    return body.replace("](docs/figures/", "](figures/")


def _apicheck() -> Any:
    spec = importlib.util.spec_from_file_location("clln_docs_apicheck", _HERE / "apicheck.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def on_config(config: Any) -> Any:
    if str(ROOT) not in sys.path:  # the package of this checkout, also when not installed
        sys.path.insert(0, str(ROOT))
    return config


def on_pre_build(config: Any) -> None:
    for line in _apicheck().undocumented_parameters():
        log.warning("Undocumented parameters (numpydoc 'Parameters' section): %s", line)


def on_files(files: Any, config: Any) -> Any:
    for src in sorted((ROOT / "derivations").glob("d*.md")):
        files.append(
            File.generated(
                config, f"derivations/{src.name}", content=src.read_text(encoding="utf-8")
            )
        )
    return files


def _anchor(namespace: str, mod: Any, name: str) -> str:
    """The identifier under which the API pages render ``name`` of ``namespace``."""
    lazy = getattr(mod, "_LAZY", {})
    if name in lazy:  # loaded on first use; its page renders the defining module
        return f"{namespace}.{lazy[name]}.{name}"
    return f"{namespace}.{name}"


def _room_of(defining: str) -> str:
    parts = defining.split(".")
    return ".".join(parts[:2])


def public_names_markdown() -> str:
    """Markdown lists of every public name, room by room, each linking to its API entry."""
    check = _apicheck()
    out = []
    for namespace, mod, names in check.public_namespaces():
        if namespace == "clln_theory":
            out.append("## Top level: `from clln_theory import ...`\n")
            items = []
            for name in sorted(names):
                defining = f"clln_theory.{mod._EXPORTS[name]}"
                room = _room_of(defining)
                room_mod = importlib.import_module(room)
                items.append(f"[`{name}`][{_anchor(room, room_mod, name)}]")
            out.append(", ".join(items) + "\n")
            continue
        out.append(f"## `{namespace}`\n")
        items = [f"[`{n}`][{_anchor(namespace, mod, n)}]" for n in sorted(names)]
        out.append((", ".join(items) if items else "(no public names)") + "\n")
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, public_names_markdown())
    if README_RESULTS in markdown:
        markdown = markdown.replace(README_RESULTS, readme_results())
    return markdown
