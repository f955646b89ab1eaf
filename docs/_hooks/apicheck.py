"""Checks of the documentation that both the site build and ``tests/test_docs.py`` run.

- :func:`undocumented_parameters`: every public function, method and constructor documents every
  parameter in the numpydoc "Parameters" (or "Other Parameters") section of its docstring; a
  class's constructor may document them in the class docstring's "Parameters" or "Attributes".
- :func:`parser_toml_keys` and :func:`documented_toml_keys`: the keys the TOML parser accepts and
  the keys the TOML reference page documents.

No dependency beyond the standard library and ``clln_theory`` itself (imported lazily).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: The rooms of the package whose ``__all__`` is the public API (subpackages and modules).
ROOMS = (
    "model",
    "electrical",
    "theory",
    "simulator",
    "inference",
    "experiments",
    "plotting",
    "metrics",
    "data",
    "sweeps",
    "testing",
    "errors",
    "cli",
)

#: Section titles whose entries count as documented parameters.
_PARAM_SECTIONS = ("Parameters", "Other Parameters")
_CLASS_SECTIONS = ("Parameters", "Other Parameters", "Attributes")
_SECTION_TITLES = {
    "Parameters",
    "Other Parameters",
    "Attributes",
    "Returns",
    "Yields",
    "Receives",
    "Raises",
    "Warns",
    "Warnings",
    "See Also",
    "Notes",
    "References",
    "Examples",
    "Methods",
}
_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_]\w*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::.*)?$")


# ------------------------------------------------------------------------------ docstrings
def docstring_sections(doc: str | None) -> dict[str, list[str]]:
    """Split a numpydoc docstring into ``{title: lines}`` (lines dedented by ``cleandoc``)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    sections: dict[str, list[str]] = {"": []}
    current = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        title = line.strip()
        underline = nxt.strip()
        if (
            title in _SECTION_TITLES
            and underline
            and set(underline) == {"-"}
            and len(underline) >= len(title) - 1
        ):
            current = title
            sections.setdefault(current, [])
            i += 2
            continue
        sections[current].append(line)
        i += 1
    return sections


def documented_names(doc: str | None, titles: tuple[str, ...] = _PARAM_SECTIONS) -> set[str]:
    """Names documented as entries ``name : type`` or ``a, b : type`` in the given sections."""
    names: set[str] = set()
    for title, lines in docstring_sections(doc).items():
        if title not in titles:
            continue
        indents = [len(s) - len(s.lstrip()) for s in lines if s.strip()]
        if not indents:
            continue
        base = min(indents)
        for s in lines:
            if not s.strip() or len(s) - len(s.lstrip()) != base:
                continue
            m = _ENTRY.match(s.strip())
            if m:
                names.update(n.strip().lstrip("*") for n in m.group(1).split(","))
    return names


def _signature_names(func: Callable[..., Any], *, skip_first: bool) -> list[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # builtins without a signature
        return []
    names = [p.name for p in sig.parameters.values()]
    if skip_first and names:
        names = names[1:]
    return names


# ------------------------------------------------------------------------------ public objects
def public_namespaces() -> Iterator[tuple[str, Any, list[str]]]:
    """``(dotted name, module, __all__)`` for the top level and every room."""
    top = importlib.import_module("clln_theory")
    yield "clln_theory", top, [n for n in top.__all__ if not n.startswith("__")]
    for room in ROOMS:
        mod = importlib.import_module(f"clln_theory.{room}")
        yield f"clln_theory.{room}", mod, list(getattr(mod, "__all__", []))


def _own_callable_members(cls: type) -> Iterator[tuple[str, Callable[..., Any], bool]]:
    """Public methods defined in ``clln_theory`` classes: ``(name, function, bound_first)``."""
    for name, raw in vars(cls).items():
        if name.startswith("_") and name != "__call__":
            continue
        if isinstance(raw, staticmethod):
            yield name, raw.__func__, False
        elif isinstance(raw, classmethod):
            yield name, raw.__func__, True
        elif inspect.isfunction(raw):
            yield name, raw, True


def _is_ours(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "") or "").startswith("clln_theory")


def undocumented_parameters() -> list[str]:
    """One line per public callable that leaves parameters undocumented (sorted, deduplicated).

    A line reads ``module.qualname: a, b`` and names the callable by its defining module.
    """
    offenders: dict[str, list[str]] = {}
    seen: set[int] = set()

    def check(label: str, params: list[str], documented: set[str]) -> None:
        missing = [n for n in params if n not in documented and not n.startswith("_")]
        if missing:
            offenders[label] = missing

    for _, mod, names in public_namespaces():
        for name in names:
            obj = getattr(mod, name)
            if id(obj) in seen or not _is_ours(obj):
                continue
            seen.add(id(obj))
            where = f"{obj.__module__}.{getattr(obj, '__qualname__', name)}"
            if inspect.isclass(obj):
                _check_class(obj, where, check, seen)
            elif inspect.isfunction(obj):
                params = _signature_names(obj, skip_first=False)
                check(where, params, documented_names(obj.__doc__))
    return [f"{k}: {', '.join(v)}" for k, v in sorted(offenders.items())]


def _check_class(cls: type, where: str, check: Callable[..., None], seen: set[int]) -> None:
    class_doc = documented_names(cls.__doc__, _CLASS_SECTIONS)
    init = vars(cls).get("__init__")
    if dataclasses.is_dataclass(cls):
        # the constructor's parameters are the fields (own and inherited): document them on
        # the class, under Parameters or Attributes
        check(where, [f.name for f in dataclasses.fields(cls) if f.init], class_doc)
    elif inspect.isfunction(init) and _is_ours(init) and not issubclass(cls, BaseException):
        documented = class_doc | documented_names(init.__doc__)
        check(f"{where}.__init__", _signature_names(init, skip_first=True), documented)
    for mname, func, bound in _own_callable_members(cls):
        if id(func) in seen:
            continue
        seen.add(id(func))
        params = _signature_names(func, skip_first=bound)
        check(f"{where}.{mname}", params, documented_names(func.__doc__))


# ------------------------------------------------------------------------------ TOML keys
def parser_toml_keys() -> set[str]:
    """Key names the TOML parser accepts, from the parser's own allowed-key sets.

    If ``clln_theory.experiments.config`` has a machine-readable table ``KEYS`` (dotted table
    path -> allowed keys), its leaf names are used; otherwise every set literal of strings in
    the parser's source (the sets it checks unknown keys against): the face ``config.py`` and the
    engines of the experiments room that it imports (the section readers).
    """
    config = importlib.import_module("clln_theory.experiments.config")
    table = getattr(config, "KEYS", None)
    if isinstance(table, dict):
        return {str(k) for keys in table.values() for k in keys}
    folder = Path(config.__file__).parent
    sources = [Path(config.__file__)]
    for node in ast.walk(ast.parse(sources[0].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            engine = folder / f"{node.module}.py"
            if node.module.startswith("_") and engine.exists():
                sources.append(engine)
    keys: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Set) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
            ):
                keys.update(e.value for e in node.elts)  # type: ignore[attr-defined]
    return keys


_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def documented_toml_keys(page: str | Path | None = None) -> dict[str, str]:
    """Dotted keys documented in the reference tables of ``docs/toml-reference.md``.

    Returns ``{dotted key: leaf name}``; placeholders such as ``<task>`` or ``<node>`` (tables
    whose keys are names chosen by the user) have the leaf ``""``.
    """
    path = Path(page) if page is not None else ROOT / "docs" / "toml-reference.md"
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        key = m.group(1).strip()
        leaf = re.sub(r"\[\]$", "", key.split(".")[-1])
        out[key] = "" if leaf.startswith("<") else leaf
    return out
