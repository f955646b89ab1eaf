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


def test_without_the_simulator_its_columns_are_none_not_nan():
    # Regression (issue 18): simulate=False reported `rms_sim` as NaN (a number for a run that
    # never happened); now every simulator column is None, and the JSON says null.
    import json

    sb = compare_bias("exp1", models=("drift-test",), simulate=False)
    (s,) = sb.scores
    assert s.D2_sim is None and s.Ebar_sim is None and s.rms_sim is None
    assert np.all(np.isfinite(s.rms_theory)) and s.rms_theory.shape == sb.cycle_tau.shape
    assert [r["engine"] for r in sb.rows()] == ["theory (box)"]
    assert json.loads(sb.to_json())["models"][0]["rms_sim"] is None


@pytest.mark.parametrize(
    "models",
    [None, "drift-test", 1.0, object(), [], (), ["drift-test", "drift-test"], ("drift-test", 1)],
)
def test_bad_models_are_refused_naming_models(models):
    # Regression (issue 18): None meant "all" silently, a string was split into letters, a
    # number raised a raw TypeError.
    with pytest.raises(ArgumentError, match="`models`"):
        compare_bias("exp1", models=models, simulate=False)


def test_cli_without_models_scores_every_model(monkeypatch, capsys):
    # `--models` left out: the command asks for all of BIAS_MODELS (compare_bias refuses None).
    import clln_theory.experiments.bias_scoreboard as sb_mod
    from clln_theory.cli import main

    real, seen = sb_mod.compare_bias, []

    def one_model(config, **kw):
        seen.append(kw["models"])
        return real(config, **{**kw, "models": ("drift-test",)})

    monkeypatch.setattr(sb_mod, "compare_bias", one_model)
    assert main(["compare-bias", "exp1", "--no-simulate", "--quiet"]) == 0
    assert main(["compare-bias", "exp1", "--no-simulate", "--quiet", "--models", "affine"]) == 0
    assert seen == [sb_mod.BIAS_MODELS, ["affine"]]
    assert "drift-test" in capsys.readouterr().out
