"""The package layout: rooms, faces over engines, no import loops, sizes that follow concepts.

The rules are the table of the README's "Layout" section (and DEVELOPING.md). Every import in
the package, including those inside functions and under ``TYPE_CHECKING``, is read from the
source with ``ast``:

- a room imports only the rooms of its row in `ALLOWED`;
- no module imports another module's ``_private`` name;
- the module import graph has no loop;
- an engine (a module whose name starts with ``_``) imports no validator and no function of a
  face module (only classes, types and constants), so it can neither validate nor call a
  public function;
- no ``__init__`` loads names through a module ``__getattr__``: re-exports are explicit;
- modules and functions stay small, counted in lines of code (docstrings, comments and blank
  lines do not count).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "clln_theory"

#: room -> rooms it may import (besides itself). A room is a subpackage or a top-level module.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_checks": {"errors"},
    "_files": {"errors"},  # the one engine that writes files (atomic, typed errors)
    "_progress": set(),  # the one progress line on standard error (imports nothing)
    "_repr": set(),  # the short reprs of every result (imports nothing of the package)
    "_tables": {"errors", "_files"},  # data frames and CSV of results (pandas optional)
    "metrics": {"errors", "_checks"},
    "data": {"errors", "_checks", "_repr"},
    "sweeps": {"errors", "_checks", "_files", "_progress", "_repr", "_tables"},
    "model": {"errors", "_checks", "_files"},
    "electrical": {"errors", "_checks", "model", "metrics"},
    "theory": {"errors", "_checks", "model", "electrical", "metrics", "_repr"},
    "simulator": {"errors", "_checks", "model", "electrical", "metrics", "_progress", "_repr"},
    "inference": {
        "errors",
        "_checks",
        "model",
        "electrical",
        "theory",
        "metrics",
        "data",
        "_repr",
    },
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
        "_files",
        "_progress",
        "_repr",
        "_tables",
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
        "_files",
        "experiments",
        "_progress",
        "_repr",
        "_tables",
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
        "_files",
        "experiments",
        "plotting",
        "_progress",
        "_repr",
        "_tables",
    },
    "__main__": {"cli"},
    "_version": set(),
    # the top level re-exports the face of every room but plotting and cli
    "__init__": {
        "_version",
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
}

#: Third-party modules only one room may import (heavy or optional).
ONLY_IN: dict[str, set[str]] = {
    "matplotlib": {"plotting"},
    "sympy": {"electrical"},  # electrical/symbolic.py: the one sympy importer
}


def _room(path: Path) -> str:
    """A subpackage, or a top-level module; a top-level engine ``_metrics.py`` belongs to the
    room of its face ``metrics.py``."""
    rel = path.relative_to(PKG)
    if len(rel.parts) > 1:
        return rel.parts[0]
    stem = rel.stem
    if stem.startswith("_") and not stem.startswith("__") and (PKG / f"{stem[1:]}.py").exists():
        return stem[1:]
    return stem


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
        if target.startswith("_") and (PKG / f"{target[1:]}.py").exists():
            target = target[1:]  # a top-level engine belongs to its face's room
        if target != room and target not in ALLOWED[room]:
            bad.append(f"line {line}: the {room} room may not import {target}")
    assert not bad, f"{path.relative_to(PKG)}: " + "; ".join(bad)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_imports_another_modules_private_names(path):
    # Private MODULES of a room (its engines, `theory/_orbit_float.py`) may be imported by the
    # rooms allowed to import that room: that is how engines are shared. Private NAMES (a
    # function starting with `_`) are their module's own, whatever the room.
    bad = []
    for target, names, line, parts in _imports(path):
        if target.startswith("ext:"):
            continue
        privates = [n for n in names if n.startswith("_") and not n.startswith("__")]
        privates = [n for n in privates if f"{'.'.join(parts)}.{n}" not in MODULES]
        if privates:
            bad.append(f"line {line}: {', '.join(privates)} from {'.'.join(parts)}")
    assert not bad, f"{path.relative_to(PKG)}: " + "; ".join(bad)


def test_the_layout_table_names_every_room():
    rooms = {_room(p) for p in FILES}
    assert rooms <= set(ALLOWED), sorted(rooms - set(ALLOWED))


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in FILES}


def _resolve(name: str) -> str:
    """The package module that ``name`` (a module or a name inside one) refers to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _edges(path: Path) -> dict[str, list[tuple[str, str, int]]]:
    """Module -> [(imported module, imported name or "", line)] for every package import."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: dict[str, list[tuple[str, str, int]]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "clln_theory":
                    out.setdefault(_resolve(alias.name), []).append(("", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                full = ".".join([*base, *([node.module] if node.module else [])])
            else:
                full = node.module or ""
            if full.split(".")[0] != "clln_theory":
                continue
            for alias in node.names:
                target = f"{full}.{alias.name}"
                if target in MODULES:  # from package import module
                    out.setdefault(target, []).append(("", node.lineno))
                else:
                    out.setdefault(_resolve(full), []).append((alias.name, node.lineno))
    out.pop(here, None)
    return out


GRAPH = {name: _edges(path) for name, path in MODULES.items()}


def _loops(graph: dict[str, dict]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_loop_finder_finds_a_loop():
    graph = {"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {"a": []}}
    assert _loops(graph) == [["a", "b", "c"]]
    assert _loops({"a": {"b": []}, "b": {}}) == []


def test_no_import_loop_between_modules():
    loops = _loops(GRAPH)
    assert not loops, "import loops (imports inside functions included): " + "; ".join(
        " <-> ".join(loop) for loop in loops
    )


#: Private modules that are not engines: the shared validators and the version, and each room's
#: argument checkers (``<room>/_args.py``), which belong to the faces.
NOT_ENGINES = {"_checks", "_version", "_args"}


def _is_engine(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last.startswith("_") and not last.startswith("__") and last not in NOT_ENGINES


def _validators() -> set[str]:
    from clln_theory import _checks

    return {name for name in dir(_checks) if hasattr(getattr(_checks, name), "__wrapped__")}


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if _is_engine(m)), ids=lambda m: m[len("clln_theory.") :]
)
def test_engines_import_no_face_function_and_no_validator(module):
    validators = _validators()
    bad = []
    for target, names in GRAPH[module].items():
        for name, line in names:
            if target == "clln_theory._checks" and name in validators:
                bad.append(f"line {line}: validator {name}")
            elif target in ("clln_theory", "clln_theory._checks", "clln_theory.errors"):
                continue
            elif target.endswith("._args"):
                bad.append(f"line {line}: {name or 'the module'} from the checkers {target}")
            elif not _is_engine(target) and not target.endswith("errors"):
                if name == "" or name[:1].islower():
                    what = name or "the module itself"
                    bad.append(f"line {line}: {what} from the face {target}")
    assert not bad, f"{module}: " + "; ".join(bad)


@pytest.mark.parametrize("path", [p for p in FILES if p.name == "__init__.py"])
def test_reexports_are_explicit(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert not defined & {"__getattr__", "__dir__"}, f"{path}: lazy re-exports"


def _code_lines(text: str) -> set[int]:
    """Line numbers holding code: not blank, not a comment, not part of a docstring."""
    tree = ast.parse(text)
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines - doc_lines


def test_code_lines_skip_docstrings_comments_and_blanks():
    text = 'def f():\n    """Doc.\n\n    More.\n    """\n    # a comment\n\n    return 1\n'
    assert _code_lines(text) == {1, 8}


#: A module over this many lines of code is split by concept (docstrings, comments and blank
#: lines do not count: a well-documented module is not penalised).
MAX_MODULE_CODE_LINES = 450
#: A function over this many lines of code must say why in its docstring, in a line starting
#: "Long function:" (for example a kernel kept whole so its inner loop stays in one frame).
MAX_FUNCTION_CODE_LINES = 80


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text(encoding="utf-8")
    code = _code_lines(text)
    n_code = len(code)
    assert n_code <= MAX_MODULE_CODE_LINES, f"{path.relative_to(PKG)} has {n_code} lines of code"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = len([i for i in code if node.lineno <= i <= node.end_lineno])
            doc = ast.get_docstring(node) or ""
            if length > MAX_FUNCTION_CODE_LINES and "Long function:" not in doc:
                long.append(f"{node.name} ({length} lines of code)")
    assert not long, f"{path.relative_to(PKG)}: " + ", ".join(long)
