"""The clln-theory command (clln_theory.cli)."""

from __future__ import annotations

import json

import pytest

from clln_theory.cli import build_parser, main


def test_presets_subcommand(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "exp1" in out and "fig3" in out


def test_reproduce_fig3_json_to_stdout(capsys):
    assert main(["reproduce", "fig3", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["name"] == "fig3" and len(doc["table"]) == 40


def test_errors_exit_2_with_one_line(capsys, tmp_path):
    assert main(["reproduce", "nosuch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("clln-theory: error:") and "presets are" in err and "\n" not in err
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ncolour = 1\n')
    assert main(["reproduce", str(bad)]) == 2
    assert "Unknown key 'colour'" in capsys.readouterr().err
    assert main(["reproduce", "exp1", "--data-dir", str(tmp_path / "none")]) == 2
    assert "Data folder" in capsys.readouterr().err


def test_parser_requires_a_subcommand():
    from clln_theory.errors import CLLNError

    with pytest.raises(CLLNError, match="required: COMMAND"):
        build_parser().parse_args([])


def test_reproduce_exp1_writes_table_json_csv_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    files = {k: tmp_path / f"out.{k}" for k in ("json", "csv", "png")}
    argv = ["reproduce", "exp1"]  # the packaged data
    argv += ["--json", str(files["json"]), "--csv", str(files["csv"]), "--plot", str(files["png"])]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "orbit inside the gate box at 14 of 19 periods" in out
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [ln for ln in files["csv"].read_text().splitlines() if not ln.startswith("#")]
    assert len(lines) == 20  # header + 19 periods, after the provenance comments
    doc = json.loads(files["json"].read_text())
    assert doc["summary"]["n_in_box"] == 14
    assert doc["provenance"]["units"]["D2"] == "V^2" and doc["provenance"]["version"]
    assert doc["provenance"]["data_source"].startswith("packaged:")
    header = lines[0].split(",")
    assert header[:7] == [
        "tau", "D2_theory", "D2_measured", "D2_ratio", "Ebar_theory", "Ebar_measured", "Ebar_ratio"
    ]  # fmt: skip
    # the theory of the cycle in the gate box: finite D², Ē and both ratios at every period
    assert header[7:9] == ["in_box", "saturated"]
    rows = [dict(zip(header, ln.split(","), strict=True)) for ln in lines[1:]]
    assert all(r[k] not in ("", "nan") for r in rows for k in header[1:7])
    assert [r["saturated"] for r in rows] == ["False"] * 14 + ["True"] * 5
    assert [r["saturated"] for r in doc["table"]] == [False] * 14 + [True] * 5
    assert doc["summary"]["n_saturated"] == 5
    table = [ln.split() for ln in out.splitlines() if ln[:9].strip().replace(".", "").isdigit()]
    assert len(table) == 19 and all(len(r) == 9 for r in table)  # tau, 6 numbers, in box, sat.
    for r, row in zip(table, doc["table"], strict=True):  # the printed ratios, finite
        assert float(r[3]) == pytest.approx(row["D2_ratio"], abs=0.006)
        assert float(r[6]) == pytest.approx(row["Ebar_ratio"], abs=0.006)
        assert r[8] == ("yes" if row["saturated"] else "no")
    assert "saturated at 5 of 19 periods; D2 theory/measured 0.43 to 0.99" in out
