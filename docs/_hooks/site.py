"""mkdocs hooks of the documentation site (dependency-free; configured in ``mkdocs.yml``).

- Serves the generated derivation documents ``derivations/d*.md`` of the repository as pages
  ``derivations/<name>/`` (mkdocs only serves files under ``docs/``; they are read at build time,
  never copied into ``docs/``).
- Fills the placeholder ``<!-- clln:public-names -->`` of ``api/index.md`` with tables of every
  public name of the top level and of every room, one line each, each a cross-reference: a name
  that the API pages do not render is a broken reference, which fails ``mkdocs build --strict``.
- Opens every room's API page (``::: clln_theory.<room>``) with a table of the room's functions,
  classes, errors and constants (one line each, constants last), and renders the members in that
  order.
- Logs one warning per public function or method that leaves a parameter undocumented (the same
  check as ``tests/test_docs.py``), so that ``mkdocs build --strict`` fails on those as well.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import re
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


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "constant"


def _summary(obj: Any) -> str:
    """The first line of a docstring, safe inside a Markdown table cell."""
    if _kind(obj) == "constant":
        return f"`{obj!r}`"[:80].replace("|", "\\|")
    doc = inspect.getdoc(obj) or ""
    return (doc.strip().splitlines() or [""])[0].replace("|", "\\|")


_ORDER = {"function": 0, "class": 1, "exception": 2, "constant": 3}
_HEADINGS = {
    "function": "Functions",
    "class": "Classes",
    "exception": "Errors and warnings",
    "constant": "Constants",
}


def _ordered(mod: Any, names: list[str]) -> list[tuple[str, str, Any]]:
    """``(name, kind, object)``: functions, classes, errors, then constants, each sorted."""
    items = [(n, _kind(getattr(mod, n)), getattr(mod, n)) for n in names]
    return sorted(items, key=lambda item: (_ORDER[item[1]], item[0].lower()))


def room_table(namespace: str, mod: Any, names: list[str], anchor_room: str) -> str:
    """One table per kind of name (functions first, constants last), one line per name."""
    out = []
    current = None
    for name, kind, obj in _ordered(mod, names):
        if kind != current:
            current = kind
            out.append(f"\n**{_HEADINGS[kind]}**\n\n| name | summary |\n|---|---|")
        target = f"{anchor_room}.{name}"
        out.append(f"| [`{name}`][{target}] | {_summary(obj)} |")
    return "\n".join(out) + "\n"


def _defining_room(name: str, obj: Any) -> str:
    """The room whose page renders ``name`` (the first room whose face offers that object)."""
    for namespace, mod, names in _apicheck().public_namespaces():
        if namespace != "clln_theory" and name in names and getattr(mod, name) is obj:
            return namespace
    raise ValueError(f"{name} is re-exported at the top level but offered by no room")


def public_names_markdown() -> str:
    """Tables of every public name, room by room, each linking to its API entry."""
    check = _apicheck()
    out = []
    for namespace, mod, names in check.public_namespaces():
        if namespace == "clln_theory":
            out.append("## Top level: `from clln_theory import ...`\n")
            rows = ["| name | room | summary |", "|---|---|---|"]
            for name, _kind_name, obj in _ordered(mod, names):
                room = _defining_room(name, obj)
                rows.append(f"| [`{name}`][{room}.{name}] | `{room}` | {_summary(obj)} |")
            out.append("\n".join(rows) + "\n")
            continue
        out.append(f"## `{namespace}`\n")
        out.append(room_table(namespace, mod, names, namespace) if names else "(no public names)\n")
    return "\n".join(out)


_DIRECTIVE = re.compile(r"^::: (clln_theory(?:\.\w+)?)\s*$", re.MULTILINE)


def _room_page(markdown: str) -> str:
    """Open a room's API page with its table, then render its members, constants last."""

    def expand(match: re.Match[str]) -> str:
        namespace = match.group(1)
        mod = importlib.import_module(namespace)
        names = list(getattr(mod, "__all__", []))
        if not names:
            return match.group(0)
        items = _ordered(mod, names)
        main = [name for name, kind, _obj in items if kind != "constant"]
        constants = [name for name, kind, _obj in items if kind == "constant"]
        out = room_table(namespace, mod, names, namespace)
        for group, heading in ((main, ""), (constants, "\n## Constants\n")):
            if not group:
                continue
            members = "\n".join(f"        - {name}" for name in group)
            out += (
                f"{heading}\n::: {namespace}\n    options:\n      members:\n{members}\n"
                "      members_order: __all__\n      group_by_category: false\n"
            )
        return out

    return _DIRECTIVE.sub(expand, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri.startswith("api/") and "::: clln_theory" in markdown:
        markdown = _room_page(markdown)
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, public_names_markdown())
    if README_RESULTS in markdown:
        markdown = markdown.replace(README_RESULTS, readme_results())
    return markdown
