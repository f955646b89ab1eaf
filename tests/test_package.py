"""The package's public surface: one explicit API, every returned type importable, import light.

- the top level re-exports at most 60 names explicitly (no module ``__getattr__``), each the very
  object its room offers;
- every room's ``__all__`` resolves;
- every class a public function or method is annotated to return is importable from the top
  level or from a room;
- ``__version__`` is the installed distribution's version;
- ``import clln_theory`` loads neither sympy, matplotlib nor dask.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import subprocess
import sys
import types
import typing

import pytest

import clln_theory

ROOMS = [
    "model",
    "electrical",
    "theory",
    "simulator",
    "inference",
    "experiments",
    "plotting",
    "sweeps",
    "metrics",
    "data",
    "errors",
    "testing",
]
#: The top level is the five jobs, the reproduction, their result types and the errors.
MAX_TOP_LEVEL = 60


def _room(name: str) -> types.ModuleType:
    return importlib.import_module(f"clln_theory.{name}")


def test_the_top_level_is_small_and_explicit():
    assert len(clln_theory.__all__) <= MAX_TOP_LEVEL
    assert len(set(clln_theory.__all__)) == len(clln_theory.__all__)
    assert "__getattr__" not in vars(clln_theory)


@pytest.mark.parametrize("name", [n for n in clln_theory.__all__ if n != "__version__"])
def test_every_top_level_name_is_its_rooms_object(name):
    obj = getattr(clln_theory, name)
    offered_by = [r for r in ROOMS if getattr(_room(r), name, None) is obj]
    assert offered_by, f"{name} is re-exported at the top level but no room offers it"
    assert any(name in getattr(_room(r), "__all__", ()) for r in offered_by)


@pytest.mark.parametrize("room", ROOMS)
def test_every_room_name_resolves(room):
    mod = _room(room)
    missing = [n for n in getattr(mod, "__all__", ()) if not hasattr(mod, n)]
    assert not missing, f"clln_theory.{room}.__all__ names missing objects: {missing}"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="periodic_orbits"):
        clln_theory.periodic_orbits


def _importable() -> set[type]:
    found = [getattr(clln_theory, n) for n in clln_theory.__all__ if n != "__version__"]
    for room in ROOMS:
        mod = _room(room)
        found += [getattr(mod, n) for n in getattr(mod, "__all__", ())]
    return {obj for obj in found if inspect.isclass(obj)}


def _public_functions():
    for room in ROOMS:
        mod = _room(room)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                yield f"{room}.{name}", obj
            elif inspect.isclass(obj) and obj.__module__.startswith("clln_theory"):
                for attr, member in vars(obj).items():
                    func = (
                        member.__func__
                        if isinstance(member, classmethod | staticmethod)
                        else member
                    )
                    if not attr.startswith("_") and inspect.isfunction(func):
                        yield f"{room}.{name}.{attr}", func


def _classes_in(annotation) -> set[type]:
    out: set[type] = set()
    if inspect.isclass(annotation) and annotation.__module__.startswith("clln_theory"):
        out.add(annotation)
    for arg in typing.get_args(annotation):
        out |= _classes_in(arg)
    return out


def test_every_returned_type_is_importable():
    importable = _importable()
    missing = {}
    for where, func in _public_functions():
        try:
            hints = typing.get_type_hints(func)
        except Exception:  # an annotation naming a type only known under TYPE_CHECKING
            continue
        for cls in _classes_in(hints.get("return")):
            if cls not in importable:
                missing.setdefault(f"{cls.__module__}.{cls.__qualname__}", []).append(where)
    assert not missing, f"returned but not importable from a room: {missing}"


def test_version_is_the_installed_metadata():
    assert clln_theory.__version__ == importlib.metadata.version("clln_theory")


def test_import_does_not_load_heavy_optional_modules():
    code = (
        "import sys, clln_theory; "
        "print(sorted(m for m in ('sympy', 'matplotlib', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_verbs_are_exported_from_the_top_level():
    from clln_theory.simulator.runs import simulate
    from clln_theory.theory.jacobian import linearize

    assert clln_theory.simulate is simulate and clln_theory.linearize is linearize
