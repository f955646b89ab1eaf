"""Tables for pandas: ``--csv`` read by ``pandas.read_csv`` as it is, the provenance sidecar,
``to_dataframe`` of the reproduction, the comparisons and sweeps, and the missing extra."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from clln_theory.cli import main
from clln_theory.errors import Failure, MissingDependencyError
from clln_theory.experiments import reproduce
from clln_theory.experiments.compare import MeasuredComparison, TheoryComparison
from clln_theory.sweeps import SerialExecutor, grid, run_sweep

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def rep():
    return reproduce("exp1")


def test_read_csv_of_reproduce_exp1_with_default_arguments(tmp_path, capsys):
    path = tmp_path / "exp1.csv"
    assert main(["reproduce", "exp1", "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}.json" in out  # the sidecar is named among the written files
    df = pd.read_csv(path)
    assert path.read_text().splitlines()[0].startswith("tau,D2_theory,")
    rep = reproduce("exp1")
    assert list(df.columns) == list(rep.rows()[0])
    np.testing.assert_array_equal(df["tau"], rep.tau)
    np.testing.assert_allclose(df["D2_theory"], rep.D2_theory, rtol=1e-15)
    np.testing.assert_allclose(df["D2_measured"], rep.D2_measured, rtol=1e-15)
    assert df["in_box"].dtype == bool
    prov = json.loads((tmp_path / "exp1.csv.json").read_text())
    assert prov["package"] == "clln_theory" and prov["units"]["tau"] == "s"
    assert prov["config_source"] == "preset exp1"


def test_csv_to_stdout_has_no_comment_lines(capsys):
    assert main(["reproduce", "exp1", "--csv", "-"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("tau,") and "#" not in text


def test_to_dataframe_columns_equal_the_arrays(rep):
    df = rep.to_dataframe()
    assert list(df.columns) == list(rep.rows()[0]) and len(df) == rep.tau.size
    np.testing.assert_array_equal(df["tau"].to_numpy(), rep.tau)
    np.testing.assert_array_equal(df["D2_theory"].to_numpy(), rep.D2_theory)
    np.testing.assert_array_equal(df["D2_ratio"].to_numpy(), rep.D2_ratio)
    np.testing.assert_array_equal(df["Ebar_measured"].to_numpy(), rep.Ebar_measured)
    np.testing.assert_array_equal(df["in_box"].to_numpy(), rep.in_box)
    np.testing.assert_array_equal(df["G_min"].to_numpy(), rep.G_lo.min(axis=1))


def _measured() -> MeasuredComparison:
    T, n = 3, 2
    r = np.arange(T * n, dtype=float).reshape(T, n)
    return MeasuredComparison(
        tau=np.array([0.01, 0.02, 0.04]), D2_measured=np.ones(T), D2_sim=np.full(T, 2.0),
        D2_ratio=np.full(T, 2.0), Ebar_sim=np.full(T, 1e-4), G0=r, G_half=r + 1,
        at_limit=np.array([False, True, False]), n_periods=np.array([10, 20, 30]), seconds=1.0,
    )  # fmt: skip


def test_comparisons_to_dataframe():
    m = _measured()
    df = m.to_dataframe()
    assert {"tau", "D2_sim", "D2_ratio", "G0[0]", "G0[1]", "G_half[1]", "n_periods"} <= set(df)
    np.testing.assert_array_equal(df["G0[1]"], m.G0[:, 1])
    np.testing.assert_array_equal(df["at_limit"], m.at_limit)
    T = 2
    z = np.zeros(T)
    t = TheoryComparison(
        tau=np.array([0.1, 0.2]), span_theory=z + 1, span_sim=z + 2, span_ratio=z + 2,
        Ebar_theory=z, Ebar_sim=z, G0_theory=np.zeros((T, 3)), G0_sim=np.ones((T, 3)),
        G_half_theory=np.zeros((T, 3)), G_half_sim=np.ones((T, 3)), G0_difference=z + 1,
        G_star_a=np.zeros(3), G_star_b=np.zeros(3),
        failures=(Failure("simulation", "no cycle", "tau = 0.3 s"),),
    )  # fmt: skip
    df = t.to_dataframe()
    assert len(df) == T and "G_star_a" not in df and "G0_sim[2]" in df
    np.testing.assert_array_equal(df["span_ratio"], t.span_ratio)


def _square(item):
    if item["x"] == 3:
        raise ValueError("three")
    return {"y": item["x"] ** 2}


def test_sweep_result_to_dataframe():
    res = run_sweep(_square, grid(x=[1, 2, 3]), executor=SerialExecutor(), on_error="record")
    df = res.to_dataframe()
    assert list(df.columns) == ["key", "x", "y", "error"]
    assert df["y"].tolist()[:2] == [1, 4] and np.isnan(df["y"].iloc[2])
    assert df["error"].tolist() == ["", "", "three"]


def test_missing_pandas_is_a_typed_error_naming_the_extra(monkeypatch, rep):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(MissingDependencyError, match=r"clln_theory\[pandas\]") as info:
        rep.to_dataframe()
    assert isinstance(info.value, ImportError)
