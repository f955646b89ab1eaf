"""Loaders of the published data layout (clln_theory.data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat

from clln_theory import data
from clln_theory.errors import DataFormatError

DATA = data.packaged_data_dir()  # shipped with the package: these tests always run


def test_default_data_dir_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert data.default_data_dir() == tmp_path.resolve()
    assert data.require_data_dir() == tmp_path.resolve()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "none"))
    assert data.default_data_dir() is None
    with pytest.raises(DataFormatError, match="--data-dir"):
        data.require_data_dir()


def test_default_data_dir_has_the_published_layout():
    assert (DATA / data.SMALL_NETWORK / "MSE-DG2-Data").is_dir()


def test_measured_curves_of_both_experiments():
    for exp in ("exp1", "exp2"):
        d2 = data.load_curve(DATA / "small network/MSE-DG2-Data" / f"measured-DG2-{exp}.csv")
        eb = data.load_curve(DATA / "small network/MSE-DG2-Data" / f"measured-MSE-{exp}.csv")
        assert d2.tau.size == eb.tau.size == 19  # the 19 periods of Fig. 2D,E
        np.testing.assert_array_equal(d2.tau, eb.tau)
        assert d2.tau[0] == 0.0006 and d2.tau[-1] == 2.0
        assert not d2.value.flags.writeable


def test_cycle_file_rows_are_gates_and_period_from_name():
    files = data.find_cycle_files(DATA / "small network/experimental_bowties", "exp1")
    assert sorted(files) == [0.02, 0.08, 0.2]
    cyc = data.load_cycle(files[0.2])
    assert cyc.tau == 0.2 and cyc.G.shape == (61, 2)
    # G = (G-, G+): the end of the beta half-period lies on beta's measured line
    # G+ = 0.43914 G- + 1.6061 (data README), which fixes the row order
    k = int(np.argmax(cyc.G[:, 0]))
    assert abs(cyc.G[k, 1] - (0.43914 * cyc.G[k, 0] + 1.6061)) < 0.01


def test_drift_test_reads_matlab_arrays():
    d = data.load_drift_test(DATA / "small network/DriftTests/exp1DriftTest_2.mat")
    assert d.times.shape == (300,) and d.G.shape == (300, 2)
    # task alpha drifts along G+ = 2.7257 G- - 3.3003 (after the two skipped samples)
    g = d.G[5]
    assert abs(g[1] - (2.7257 * g[0] - 3.3003)) < 0.05


def test_malformed_csv_names_file_and_row(tmp_path):
    f = tmp_path / "measured-DG2-expX.csv"
    f.write_text("0.001,1e-5\n0.002,oops\n")
    with pytest.raises(DataFormatError, match=r"Row 2 of .*measured-DG2-expX.csv"):
        data.load_curve(f)
    f.write_text("0.001,1e-5,3\n")
    with pytest.raises(DataFormatError, match=r"Row 1 .* two numbers"):
        data.load_curve(f)
    f.write_text("-0.001,1e-5\n")
    with pytest.raises(DataFormatError, match=r"tau=-0\.001"):
        data.load_curve(f)


def test_header_row_is_skipped(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("tau,D2\n0.001,1e-5\n0.01,1e-3\n")
    c = data.load_curve(f)
    np.testing.assert_array_equal(c.tau, [0.001, 0.01])


def test_ragged_cycle_and_missing_period(tmp_path):
    f = tmp_path / "bowtie-x-0.5s.csv"
    f.write_text("1,2,3\n4,5\n")
    with pytest.raises(DataFormatError, match=r"Row 2 .* 2 samples but row 1 has 3"):
        data.load_cycle(f)
    g = tmp_path / "cycle.csv"
    g.write_text("1,2\n3,4\n")
    with pytest.raises(DataFormatError, match="give tau explicitly"):
        data.load_cycle(g)
    assert data.load_cycle(g, tau=0.1).G.shape == (2, 2)


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(DataFormatError, match="does not exist"):
        data.load_curve(tmp_path / "nope.csv")
    with pytest.raises(DataFormatError, match=r"Data folder .* does not exist"):
        data.require_data_dir(tmp_path / "nope")
    with pytest.raises(DataFormatError, match="does not exist"):
        data.resolve(tmp_path, "small network/x.csv")


def test_drift_test_missing_array_and_lengths(tmp_path):
    f = tmp_path / "d.mat"
    savemat(f, {"time": np.arange(5.0), "GMINUS": np.ones(5)})
    with pytest.raises(DataFormatError, match="no array 'GPLUS'"):
        data.load_drift_test(f)
    savemat(f, {"time": np.arange(5.0), "GMINUS": np.ones(5), "GPLUS": np.ones(4)})
    with pytest.raises(DataFormatError, match="differ in length"):
        data.load_drift_test(f)
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a matlab file at all")
    with pytest.raises(DataFormatError, match="Cannot read MATLAB file"):
        data.load_drift_test(bad)
