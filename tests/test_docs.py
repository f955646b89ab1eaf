"""The documentation: every public parameter documented, the TOML reference complete, the pages'
snippets running, and the site building with ``mkdocs build --strict`` (when mkdocs is installed).

The checks of parameters and TOML keys live in ``docs/_hooks/apicheck.py``, shared with the site
build (which fails on the same offenders).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _apicheck():
    spec = importlib.util.spec_from_file_location("clln_docs_apicheck", DOCS / "_hooks/apicheck.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


apicheck = _apicheck()


# ------------------------------------------------------------------------------ (a) parameters
def test_docstring_parser_reads_numpydoc_entries():
    doc = """Summary.

    Parameters
    ----------
    a, b : float
        Two numbers.
    *args : tuple
        More.
    c
        Untyped.

    Returns
    -------
    d : float
        Not a parameter.
    """
    assert apicheck.documented_names(doc) == {"a", "b", "args", "c"}
    assert apicheck.documented_names(None) == set()


def test_every_public_function_documents_every_parameter():
    offenders = apicheck.undocumented_parameters()
    assert not offenders, (
        f"{len(offenders)} public callables leave parameters out of their numpydoc 'Parameters' "
        "section (dataclasses: the class's 'Parameters' or 'Attributes'):\n  "
        + "\n  ".join(offenders)
    )


# ------------------------------------------------------------------------------ (b) TOML keys
def test_toml_reference_documents_every_accepted_key_and_no_other():
    accepted = apicheck.parser_toml_keys()
    documented = apicheck.documented_toml_keys()
    leaves = {leaf for leaf in documented.values() if leaf}
    assert accepted, "found no allowed-key sets in the TOML parser"
    missing = sorted(accepted - leaves)
    extra = sorted(leaves - accepted)
    assert not missing, f"keys the parser accepts but docs/toml-reference.md omits: {missing}"
    assert not extra, f"keys docs/toml-reference.md documents but the parser rejects: {extra}"
    for key in documented:  # every row names its full path, the leaf's parent is documented
        parent = key.rsplit(".", 1)[0].removesuffix("[]")
        if "." in key:
            assert parent in {k.removesuffix("[]") for k in documented}, (
                f"docs/toml-reference.md documents {key!r} but not its table {parent!r}"
            )


def _toml_blocks(page: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def test_toml_reference_examples_are_valid():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    from clln_theory.experiments import parse_config

    blocks = _toml_blocks(DOCS / "toml-reference.md")
    assert len(blocks) >= 3, "the TOML reference lost its examples"
    full = tomllib.loads(blocks[0])
    cfg = parse_config(full, source="docs example")
    assert cfg.name == "exp1" and cfg.rate.gamma == pytest.approx(3.2406e6, rel=1e-3)
    variant = copy.deepcopy(full)
    variant.update(tomllib.loads(blocks[1]))  # rate gamma, bias given, tau grid
    assert parse_config(variant).sweep.tau[0] == pytest.approx(1e-3)
    stationary = copy.deepcopy(full)
    stationary["bias"]["measure"].update(tomllib.loads(blocks[2])["bias"]["measure"])
    assert parse_config(stationary).bias.measurements[0].kind == "stationary"


def test_every_key_of_the_presets_is_documented():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    documented = {k.removesuffix("[]").replace("[]", "") for k in apicheck.documented_toml_keys()}

    def walk(raw, path):
        for k, v in raw.items():
            key = f"{path}.{k}" if path else k
            if path in ("network.supplies", "tasks.points.inputs"):
                key = f"{path}.<node>"
            elif path == "bias.measure":
                key = f"{path}.<task>"
            yield key
            if isinstance(v, dict):
                yield from walk(v, key)
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                for x in v:
                    yield from walk(x, key)

    presets = sorted((ROOT / "clln_theory/experiments/presets").glob("*.toml"))
    assert presets
    for preset in presets:
        keys = set(walk(tomllib.loads(preset.read_text(encoding="utf-8")), ""))
        assert keys <= documented, f"{preset.name}: undocumented keys {sorted(keys - documented)}"


# ------------------------------------------------------------------------------ snippets
def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("page", ["getting-started.md", "jobs.md", "own-network.md"])
def test_python_blocks_of_the_pages_run(page, capsys):
    pytest.importorskip("hypothesis")
    blocks = _python_blocks(DOCS / page)
    assert blocks, f"docs/{page} lost its code examples"
    namespace: dict = {"__name__": "docs"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/{page} python block {i + 1}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(
                f"docs/{page} python block {i + 1} failed: {exc!r}\n{code}"
            ) from exc
    assert capsys.readouterr().out.strip()


def test_pages_do_not_point_outside_the_repository():
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        for bad in ("DESIGN.md", "STYLE.md", "../shared", "/work/"):
            assert bad not in text, f"docs/{page.relative_to(DOCS)} refers to {bad!r}"


# ------------------------------------------------------------------------------ (c) the site
@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package is missing
            found = False
        if not found:
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]'); CI builds the site")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env["NO_MKDOCS_2_WARNING"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0, (
        f"mkdocs build --strict failed with {len(warnings)} warnings:\n" + "\n".join(warnings)
        if warnings
        else proc.stderr[-3000:]
    )
    assert (tmp_path / "site/index.html").is_file()
    assert (tmp_path / "site/toml-reference/index.html").is_file()
    _assert_mathjax_is_served_by_the_site(tmp_path / "site")


def _assert_mathjax_is_served_by_the_site(site: Path) -> None:
    """The formulas render offline: MathJax (and its license) in the site, no script from a CDN."""
    mj = site / "javascripts/mathjax"
    assert (mj / "tex-mml-chtml.js").is_file()
    assert "Apache License" in (mj / "LICENSE").read_text(encoding="utf-8")
    assert list((mj / "output/chtml/fonts/woff-v2").glob("*.woff"))
    assert (mj / "input/tex/extensions/boldsymbol.js").is_file()  # autoloaded TeX packages
    remote = re.compile(r"<script[^>]*\ssrc=\"(?:https?:)?//")
    for page in site.rglob("*.html"):
        assert not remote.search(page.read_text(encoding="utf-8")), f"{page} loads a remote script"
    page = (site / "derivations/d01_evolution/index.html").read_text(encoding="utf-8")
    assert 'src="../../javascripts/mathjax/tex-mml-chtml.js"' in page


def test_offline_mathjax_hook_lists_the_copy():
    pytest.importorskip("mkdocs", reason="the docs extra is not installed; CI builds the site")
    spec = importlib.util.spec_from_file_location(
        "clln_docs_offline_mathjax", DOCS / "_hooks/offline_mathjax.py"
    )
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    root = hook.mathjax_root()
    if root is None:
        pytest.skip("django-static-mathjax is not installed (pip install -e '.[docs]')")
    files = hook.mathjax_files(root)
    assert files["javascripts/mathjax/LICENSE"].is_file()
    assert files["javascripts/mathjax/tex-mml-chtml.js"].is_file()
    assert all(uri.startswith("javascripts/mathjax/") for uri in files)
    assert not any(uri.endswith(("tex-svg.js", "tex-chtml-full.js")) for uri in files)
