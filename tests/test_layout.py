"""The package layout: which room may import which, and no reaching into another module's privates.

The rules are the table of the README's "Layout" section (and DEVELOPING.md). Every import in
the package, including those inside functions, is read from the source with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "clln_theory"

#: room -> rooms it may import (besides itself). A room is a subpackage or a top-level module.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_checks": {"errors"},
    "metrics": {"errors", "_checks"},
    "data": {"errors", "_checks"},
    "sweeps": {"errors", "_checks"},
    "model": {"errors", "_checks"},
    "electrical": {"errors", "_checks", "model", "metrics"},
    "theory": {"errors", "_checks", "model", "electrical", "metrics"},
    "simulator": {"errors", "_checks", "model", "electrical", "metrics"},
    "inference": {"errors", "_checks", "model", "electrical", "theory", "metrics", "data"},
    "testing": {"errors", "_checks", "model", "electrical", "theory"},
    "experiments": {
        "errors",
        "_checks",
        "model",
        "electrical",
        "theory",
        "simulator",
        "metrics",
        "inference",
        "data",
        "sweeps",
    },
    "plotting": {
        "errors",
        "_checks",
        "model",
        "electrical",
        "theory",
        "simulator",
        "metrics",
        "inference",
        "data",
        "sweeps",
        "experiments",
    },
    "cli": {
        "errors",
        "_checks",
        "model",
        "electrical",
        "theory",
        "simulator",
        "metrics",
        "inference",
        "data",
        "sweeps",
        "experiments",
        "plotting",
    },
    "__main__": {"cli"},
    "__init__": set(),  # the lazy re-exports name modules by string, never import them
}

#: Third-party modules only one room may import (heavy or optional).
ONLY_IN: dict[str, set[str]] = {
    "matplotlib": {"plotting"},
    "sympy": {"electrical"},  # electrical/symbolic.py: the one sympy importer
}


def _room(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path):
    """(target room or top-level third-party name, imported names, line) for every import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PKG)
    here = ["clln_theory", *rel.with_suffix("").parts]
    if here[-1] == "__init__":
        here = here[:-1]
    pkg = here[:-1] if rel.name != "__init__.py" else here
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "clln_theory":
                    yield (parts[1] if len(parts) > 1 else "__init__"), [], node.lineno, parts
                else:
                    yield "ext:" + parts[0], [], node.lineno, parts
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)]
                parts = [*base, *(node.module.split(".") if node.module else [])]
            else:
                parts = (node.module or "").split(".")
            names = [a.name for a in node.names]
            if parts[0] != "clln_theory":
                yield "ext:" + parts[0], names, node.lineno, parts
                continue
            if len(parts) == 1:  # from clln_theory import x  /  from . import x
                for n in names:
                    yield n, [], node.lineno, [*parts, n]
            else:
                yield parts[1], names, node.lineno, parts


FILES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_follow_the_layout(path):
    room = _room(path)
    assert room in ALLOWED, f"{path.relative_to(PKG)}: room {room!r} is not in the layout table"
    bad = []
    for target, _names, line, _parts in _imports(path):
        if target.startswith("ext:"):
            ext = target[4:]
            if ext in ONLY_IN and room not in ONLY_IN[ext]:
                bad.append(f"line {line}: {ext} may only be imported in {sorted(ONLY_IN[ext])}")
            continue
        if target != room and target not in ALLOWED[room]:
            bad.append(f"line {line}: the {room} room may not import {target}")
    assert not bad, f"{path.relative_to(PKG)}: " + "; ".join(bad)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_imports_another_modules_private_names(path):
    bad = []
    for target, names, line, parts in _imports(path):
        if target.startswith("ext:") or target == "_checks":
            continue
        if any(p.startswith("_") and p not in ("__init__",) for p in parts[1:]):
            # a private module of the same room (theory/_orbit_float.py) is fine
            if target != _room(path):
                bad.append(f"line {line}: private module {'.'.join(parts)}")
        privates = [n for n in names if n.startswith("_") and not n.startswith("__")]
        if privates:  # a module's private names are its own, whatever the room
            bad.append(f"line {line}: {', '.join(privates)} from {'.'.join(parts)}")
    assert not bad, f"{path.relative_to(PKG)}: " + "; ".join(bad)


def test_the_layout_table_names_every_room():
    rooms = {_room(p) for p in FILES}
    assert rooms <= set(ALLOWED), sorted(rooms - set(ALLOWED))


#: A module over this many lines is split by concern (it is hard to hold in one's head).
MAX_MODULE_LINES = 700
#: A function over this many lines must say why in its docstring, in a line starting
#: "Long function:" (for example a kernel kept whole so its inner loop stays in one frame).
MAX_FUNCTION_LINES = 120


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    n_lines = text.count("\n")
    assert n_lines <= MAX_MODULE_LINES, f"{path.relative_to(PKG)} has {n_lines} lines"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if length > MAX_FUNCTION_LINES and "Long function:" not in doc:
                long.append(f"{node.name} ({length} lines)")
    assert not long, f"{path.relative_to(PKG)}: " + ", ".join(long)
