"""Your own network, end to end (issue 21, items 2-3): the 3x3 grid of docs/toml-reference.md
through `reproduce` and the command line, with two tasks, a differential output, three tasks
and a random bias.

Theory only: ~1-7 s each. The simulator on the grid needs hundreds of periods per period (its
cycle pins gates at the box; the accelerated iteration finds it), so its two runs, at few and
short periods, are marked slow (~20 s and ~5 s on a loaded 2-core machine)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from clln_theory.cli import main
from clln_theory.errors import TaskError
from clln_theory.experiments import reproduce
from clln_theory.experiments.config import load_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "toml-reference.md"


def _grid_toml() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index('name = "grid3x3"')
    end = text.index("```", start)
    return text[start:end]


def _variant(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


SHORT_TAU = "tau = [0.002, 0.02, 0.2]"


def _short(text: str) -> str:
    return re.sub(r"tau = \{ min = 1e-3, max = 10.0, num = 13 \}", SHORT_TAU, text)


def test_grid_two_tasks_theory_at_every_tau(tmp_path):
    rep = reproduce(_variant(tmp_path, _grid_toml(), "grid"), grid_points=0)
    assert rep.config.network.n_gates == 12
    assert rep.tau.size == 13
    assert np.all(np.isfinite(rep.D2_theory)) and np.all(rep.D2_theory > 0)
    assert np.all(np.isfinite(rep.Ebar_theory))


def _differential(tmp_path: Path) -> Path:
    text = _grid_toml().replace('output = "n6"', 'differential = ["n6", "n3"]')
    text = text.replace("label = 0.25", "label = -0.060").replace("label = 0.20", "label = -0.068")
    return _variant(tmp_path, _short(text), "diff")


@pytest.mark.xfail(
    reason="issue 21 left: the circuit clamps both nodes of a differential output (+-Delta/2), so "
    "the force is not grad C and J = W^-1 Hess C is not symmetric (W changes sign on this grid); "
    "a LinearTask needs a symmetric M (a non-symmetric linear theory is not built)",
    raises=TaskError,
    strict=True,
)
def test_grid_differential_output(tmp_path):
    rep = reproduce(_differential(tmp_path), grid_points=0)
    assert np.all(np.isfinite(rep.D2_theory))


def test_grid_differential_output_refusal_names_the_metric(tmp_path):
    """Why the differential grid is refused (issue 21 (a); the identity J = W^-1 Hess C / eta is
    tested in tests/theory/test_jacobian.py): the metric W changes sign on this grid, so no
    rescaling of the gates makes the two-node clamp a gradient flow."""
    with pytest.raises(TaskError, match="diagonal metric W") as err:
        reproduce(_differential(tmp_path), grid_points=0)
    lo, hi = (float(x) for x in re.findall(r"from (\S+) to (\S+) \(J", str(err.value))[0])
    assert lo < 0 < hi


def _three_tasks(text: str, gamma_inputs: str) -> str:
    text = text.replace(
        "[theory]",
        f'[[tasks]]\nname = "gamma"\npoints = [ {{ inputs = {{ {gamma_inputs} }}, label = 0.22 }} ]'
        "\n\n[theory]",
    )
    return re.sub(r"given = \[[^\]]*\]", "random = { mean = 0.0, std = 2.0, seed = 1 }", text)


def test_grid_three_tasks_and_random_bias(tmp_path):
    """Gamma's input is the midpoint of alpha's and beta's on the same node: in a linear network
    the output is affine in that input, so the three one-point tasks have no common solution
    (label 0.22, not 0.225). The biased cycle exists at every period all the same."""
    text = _three_tasks(_short(_grid_toml()), "n2 = 0.2266")
    cfg = load_config(_variant(tmp_path, text, "three"))
    assert len(cfg.tasks) == 3
    rep = reproduce(cfg, grid_points=0)
    assert len(rep.tasks) == 3 and rep.box_orbit is not None
    assert np.all(np.isfinite(rep.D2_theory)) and np.all(rep.D2_theory > 0)


def _cli_json(args: list[str], capsys) -> dict:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_grid_cli_json_theory_at_every_tau(tmp_path, capsys):
    """`reproduce FILE --json -` on the grid of docs/toml-reference.md: finite D2_theory at
    every one of the 13 logarithmic periods."""
    doc = _cli_json(["reproduce", str(_variant(tmp_path, _grid_toml(), "grid")), "--json", "-"],
                    capsys)  # fmt: skip
    rows = doc["table"]
    assert len(rows) == 13
    assert all(r["D2_theory"] is not None and r["D2_theory"] > 0 for r in rows)


def test_grid_three_incompatible_tasks_json_and_csv(tmp_path, capsys):
    """Regression: three tasks without a common solution (see above) have no bias-free cycle at
    the longer periods, and `--json -` raised ValueError on that NaN (JSON without NaN); the
    row now reports None there, D2_theory stays finite, and the CSV reads back."""
    pd = pytest.importorskip("pandas")
    text = _three_tasks(_short(_grid_toml()), "n2 = 0.2266")
    path = _variant(tmp_path, text, "three")
    rows = _cli_json(["reproduce", str(path), "--json", "-"], capsys)["table"]
    assert all(r["D2_theory"] is not None and r["D2_theory"] > 0 for r in rows)
    free = [r["D2_bias_free"] for r in rows]
    assert all(v is None or (isinstance(v, float) and math.isfinite(v)) for v in free)
    csv = tmp_path / "three.csv"
    assert main(["reproduce", str(path), "--csv", str(csv)]) == 0
    capsys.readouterr()
    frame = pd.read_csv(csv)
    assert len(frame) == len(rows) and frame["D2_theory"].notna().all()


def test_grid_printed_table_shows_flagged_notes(tmp_path, capsys):
    """The printed table (not only --json) says where the theory is questionable: on the grid
    every cycle pins gates volts from G* (the note names the distance and `relinearize`), once
    per note with its periods; a three-task row without a cycle prints its D2 as a dash."""
    path = _variant(tmp_path, _short(_grid_toml()), "grid")
    assert main(["reproduce", str(path)]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if "M taken at G*" in x]
    assert "theory.relinearize = true" in line and line.count("tau =") == 1
    far = float(re.search(r"pinned up to (\S+) V", line).group(1))
    assert far > 1.0  # the note's threshold (_cyclic._FAR_FROM_G_STAR)


#: The simulated and the theory's D² differ by up to ~30x on this grid (measured 0.029-0.032 at
#: tau = 2.2-46 ms, 0.11 at 1 s): the cycles pin gates over 2 V from the G* the linear theory is
#: taken at, and pin different gates. The tests ask for finite numbers on both sides, not
#: agreement; 1e-3..1e3 only catches a ratio gone wild (a wrong cycle, a unit slip).
RATIO_RANGE = (1e-3, 1e3)


@pytest.mark.slow
def test_grid_cli_simulate_json_at_every_snapped_tau(tmp_path, capsys):
    """Issue 21: `reproduce FILE --simulate --json -` on the grid: D2_theory and D2_sim at every
    snapped period and their ratio. 2.15 and 4.64 ms (of the grid's logarithmic sweep) snap to
    2.2 and 4.6 ms (11 and 23 steps per half); the simulator missed both cycles within 5000
    periods before the accelerated iteration (now ~1200 and ~450 periods, ~20 s in all on a
    loaded 2-core machine; each of the two strategies of `accelerate` finds one of them)."""
    text = _grid_toml().replace(
        "tau = { min = 1e-3, max = 10.0, num = 13 }",
        "tau = [0.0021544346900318843, 0.004641588833612777]",
    )
    path = _variant(tmp_path, text, "sim")
    rows = _cli_json(["reproduce", str(path), "--simulate", "--json", "-"], capsys)["table"]
    assert [r["tau_sim"] for r in rows] == pytest.approx([0.0022, 0.0046])
    for r in rows:
        assert r["D2_theory"] > 0 and r["D2_sim"] is not None and r["D2_sim"] > 0
        assert RATIO_RANGE[0] < r["D2_theory_over_sim"] < RATIO_RANGE[1]


@pytest.mark.slow
def test_grid_cli_simulate_json_three_tasks_random_bias(tmp_path, capsys):
    """Three tasks and `bias.random` through `reproduce FILE --simulate --json -`. Gamma imposes
    a second input (n4) so that the three tasks share solutions (three one-point tasks on one
    input node do not, see above: a frustrated cycle whose bias-free column has no cycle)."""
    text = _three_tasks(_grid_toml(), "n2 = 0.2266, n4 = 0.30").replace(
        "tau = { min = 1e-3, max = 10.0, num = 13 }", "tau = [0.0216]"
    )
    doc = _cli_json(
        ["reproduce", str(_variant(tmp_path, text, "three")), "--simulate", "--json", "-"], capsys
    )
    (row,) = doc["table"]
    assert len(doc["summary"]["simulate"]["tasks"]) == 3
    assert row["D2_theory"] > 0 and row["D2_sim"] is not None and row["D2_sim"] > 0
    assert RATIO_RANGE[0] < row["D2_theory_over_sim"] < RATIO_RANGE[1]
