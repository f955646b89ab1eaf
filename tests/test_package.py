"""The package's public surface: every exported name resolves, import stays light."""

import subprocess
import sys

import pytest

import clln_theory


@pytest.mark.parametrize("name", clln_theory.__all__)
def test_every_public_name_resolves(name):
    obj = getattr(clln_theory, name)
    assert obj is not None
    if name != "__version__":
        module = clln_theory._EXPORTS[name]
        assert obj is getattr(__import__(f"clln_theory.{module}", fromlist=[name]), name)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'periodic_orbits'"):
        clln_theory.periodic_orbits


def test_import_does_not_load_heavy_optional_modules():
    code = (
        "import sys, clln_theory; "
        "print(sorted(m for m in ('sympy', 'matplotlib', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_verbs_are_exported_from_the_top_level():
    # `linearize` and `simulate` live in modules named for their concept (theory.jacobian,
    # simulator.runs), so the top-level names are the functions themselves.
    import clln_theory
    from clln_theory.simulator.runs import simulate
    from clln_theory.theory.jacobian import linearize

    assert clln_theory.simulate is simulate and clln_theory.linearize is linearize
