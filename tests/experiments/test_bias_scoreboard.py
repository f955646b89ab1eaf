"""The bias scoreboard (`compare_bias`) recomputed from the shipped data of experiments 1 and 2
at all 19 measured periods: the numbers of the README's table (theory with the gate box; the
simulator's columns in the slow test)."""

from __future__ import annotations

import numpy as np
import pytest

from clln_theory.errors import ArgumentError
from clln_theory.experiments.bias_scoreboard import compare_bias

MODELS = ["drift-test", "constant", "affine", "along-lines"]

#: model -> (D² within 1.5x of 19, of the 14 in box, D² median, Ē within 1.5x of 19, bow-tie
#: rms in mV at the three measured periods), theory with the gate box.
EXPECTED = {
    "exp1": {
        "drift-test": (15, 10, 0.82, 12, (53, 94, 597)),
        "constant": (18, 13, 1.03, 9, (120, 68, 372)),
        "affine": (16, 11, 0.82, 14, (28, 31, 59)),
        "along-lines": (18, 13, 0.99, 10, (95, 73, 495)),
    },
    "exp2": {
        "drift-test": (16, 13, 0.89, 18, (58, 86, 207)),
        "constant": (16, 13, 1.15, 14, (53, 59, 125)),
        "affine": (13, 13, 1.15, 14, (16, 18, 41)),
        "along-lines": (18, 13, 0.87, 18, (73, 97, 165)),
    },
}


@pytest.mark.parametrize("exp", ["exp1", "exp2"])
def test_scoreboard_numbers_from_the_shipped_data(exp):
    sb = compare_bias(exp, models=MODELS, simulate=False)
    assert sb.tau.size == 19 and int(sb.in_box.sum()) == 14
    for row in sb.rows():
        want = EXPECTED[exp][row["model"]]
        d, e = row["D2"], row["Ebar"]
        assert (d.within, d.within_box, e.within) == (want[0], want[1], want[3]), row["model"]
        assert d.median == pytest.approx(want[2], abs=0.006)
        s = next(s for s in sb.scores if s.model == row["model"])
        assert np.allclose(1e3 * s.rms_theory, want[4], atol=0.6)
    fitted = {s.model: s.fit for s in sb.scores}
    assert fitted["drift-test"] is None
    assert not fitted["along-lines"].fitted_to_positions  # its bow-tie rms is a prediction
    assert "(pred)" in sb.table() and "(fit)" in sb.table()


@pytest.mark.slow
def test_scoreboard_simulator_columns():
    sb = compare_bias("exp1", models=["drift-test", "along-lines"])
    rows = {(r["model"], r["engine"]): r for r in sb.rows()}
    assert rows[("drift-test", "simulator")]["D2"].within == 17
    assert rows[("along-lines", "simulator")]["D2"].within == 19
    assert rows[("along-lines", "simulator")]["D2"].within_box == 14


def test_unknown_model_is_refused():
    with pytest.raises(ArgumentError, match="models"):
        compare_bias("exp1", models=["quadratic"])
