"""Descriptions of any network (clln_theory.experiments.config): lattices, edge-list files,
several or differential outputs, K tasks, a reference and a bias of n numbers, misspelt nodes;
the shipped presets parse to the same configs as before these keys existed."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import tomllib

from clln_theory.errors import ConfigError
from clln_theory.experiments.config import load_config, parse_config
from clln_theory.model import Differential, Task

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ROOT / "clln_theory" / "experiments" / "presets"
#: The presets as parsed before lattices, files, outputs and K tasks were added (made with the
#: `_plain` below from the parser of main at 106b497).
BEFORE = Path(__file__).resolve().parent / "config_presets_before.json"
GATES = (
    "n0-n1", "n0-n3", "n1-n2", "n1-n4", "n2-n5", "n3-n4",
    "n3-n6", "n4-n5", "n4-n7", "n5-n8", "n6-n7", "n7-n8",
)  # fmt: skip


def _blocks() -> list[str]:
    page = (ROOT / "docs" / "toml-reference.md").read_text(encoding="utf-8")
    return re.findall(r"```toml\n(.*?)```", page, flags=re.S)


def _grid() -> dict:
    """The 3x3 grid example of docs/toml-reference.md."""
    (text,) = [b for b in _blocks() if 'name = "grid3x3"' in b]
    return tomllib.loads(text)


def _variant() -> dict:
    """The grid with the documented variant: differential output, three tasks, random bias."""
    (text,) = [b for b in _blocks() if "differential = " in b]
    raw, patch = _grid(), tomllib.loads(text)
    del raw["network"]["output"]
    raw["network"].update(patch["network"])
    raw["tasks"] = patch["tasks"]
    raw["bias"] = patch["bias"]
    return raw


def _error(raw, folder=None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, folder=folder)
    msg = str(info.value)
    assert "\n" not in msg and msg.rstrip().endswith((".", ")", "?")), msg
    return msg


# ------------------------------------------------------------------------------ the 3x3 grid
def test_grid_parses_to_twelve_learning_edges_two_tasks_reference_and_bias(tmp_path):
    f = tmp_path / "grid.toml"
    f.write_text(next(b for b in _blocks() if 'name = "grid3x3"' in b), encoding="utf-8")
    cfg = load_config(f)
    net = cfg.network
    assert net.nodes == tuple(f"n{k}" for k in range(9))
    assert net.n_edges == net.n_gates == 12 and net.gate_names == GATES
    assert all(e.learning and e.S == 8.5e-4 and e.V_T == 0.7 for e in net.edges)
    assert cfg.output == "n6" and cfg.targets == ("n6",) and cfg.task_output == "n6"
    assert [t.name for t in cfg.tasks] == ["alpha", "beta"]
    for spec, v1, label in zip(cfg.tasks, (0.4351, 0.0181), (0.25, 0.20), strict=True):
        (point,) = spec.points
        assert dict(point.inputs) == {"n0": 0.4351, "n8": 0.0181, "n2": v1}
        assert point.label == label and spec.lines == (None,) and spec.G_star is None
        assert spec.kind == "regression" and spec.linearize == "nearest"
    assert cfg.durations == (0.5, 0.5)
    assert len(cfg.reference) == 12 and cfg.reference[:3] == (3.0, 3.2, 2.8)
    assert len(cfg.bias.given) == 12 and cfg.bias.random is None and not cfg.bias.measurements
    assert cfg.sweep.tau == pytest.approx(np.geomspace(1e-3, 10.0, 13), rel=1e-15)
    assert cfg.simulate is not None and cfg.simulate.device == "linear"
    assert cfg.simulate.G0 == cfg.reference and cfg.simulate.gate_limits == (1.0, 5.0)
    # the parsed tasks are valid Tasks of the network
    for spec in cfg.tasks:
        Task(spec.points, cfg.task_output, kind=spec.kind, name=spec.name).validate(net)


def test_grid_reference_and_bias_must_hold_one_number_per_learning_edge():
    raw = _grid()
    raw["theory"]["reference"] = [3.0, 3.5]
    assert "Key 'theory.reference' must hold 12 numbers" in _error(raw)
    raw = _grid()
    del raw["theory"]["reference"]
    del raw["simulate"]
    msg = _error(raw)
    assert msg.startswith("Missing key 'theory.reference' (or 'tasks[0].G_star')")
    raw = _grid()
    raw["bias"]["given"] = [1.0] * 11
    assert "Key 'bias.given' must hold 12 numbers" in _error(raw)


def test_differential_output_three_tasks_and_random_bias():
    cfg = parse_config(_variant())
    assert cfg.targets == (Differential("n6", "n3"),) and cfg.output == Differential("n6", "n3")
    assert cfg.task_output == Differential("n6", "n3")
    assert [t.name for t in cfg.tasks] == ["alpha", "beta", "gamma"]
    assert [t.kind for t in cfg.tasks] == ["regression", "regression", "classification"]
    assert [t.duration for t in cfg.tasks] == [0.5, None, None]
    assert cfg.durations == (0.5, 0.25, 0.25)
    assert cfg.tasks[1].points[0].label == -0.063
    for spec in cfg.tasks:
        task = Task(spec.points, cfg.task_output, kind=spec.kind, name=spec.name)
        assert task.is_differential and task.kind == spec.kind
    expected = np.random.default_rng(1).normal(0.0, 2.0, 12)
    assert cfg.bias.given == tuple(expected.tolist())
    assert cfg.bias.random is not None and cfg.bias.random.seed == 1
    assert parse_config(_variant()).bias.given == cfg.bias.given  # reproducible


def test_random_bias_is_reproducible_and_checked():
    raw = _grid()
    raw["bias"] = {"random": {"std": 0.5, "seed": 7}}
    a, b = parse_config(raw), parse_config(copy.deepcopy(raw))
    assert a.bias.given == b.bias.given and len(a.bias.given) == 12
    assert a.bias.random is not None and a.bias.random.mean == 0.0
    raw["bias"]["random"]["seed"] = 8
    assert parse_config(raw).bias.given != a.bias.given
    for key, value, words in [
        ("std", -1.0, "Key 'bias.random.std' must be >= 0"),
        ("seed", 1.5, "Key 'bias.random.seed' must be an integer >= 0"),
        ("seed", -1, "Key 'bias.random.seed'"),
        ("mean", "0", "Key 'bias.random.mean' must be a number"),
        ("spread", 1.0, "Unknown key 'bias.random.spread'"),
    ]:
        bad = copy.deepcopy(raw)
        bad["bias"]["random"][key] = value
        assert words in _error(bad)
    bad = copy.deepcopy(raw)
    bad["bias"]["given"] = [0.0] * 12
    assert "Key 'bias.random' conflicts with 'bias.given'" in _error(bad)


def test_three_tasks_with_durations():
    raw = _grid()
    third = copy.deepcopy(raw["tasks"][1])
    third.update(name="gamma", points=[{"inputs": {"n2": 0.2266}, "label": 0.22}])
    raw["tasks"].append(third)
    cfg = parse_config(raw)
    assert len(cfg.tasks) == 3 and cfg.durations == pytest.approx((1 / 3,) * 3)
    for task, share in zip(raw["tasks"], (0.2, 0.3, 0.5), strict=True):
        task["duration"] = share
    cfg = parse_config(raw)
    assert [t.duration for t in cfg.tasks] == [0.2, 0.3, 0.5] and cfg.durations == (0.2, 0.3, 0.5)
    raw["tasks"][2]["duration"] = 0.4
    assert "Key 'tasks[].duration'" in _error(raw) and "sum to 1" in _error(raw)
    raw["tasks"][2]["duration"] = 1.0
    assert "Key 'tasks[2].duration'" in _error(raw)
    del raw["tasks"][2]["duration"]
    raw["tasks"][1]["duration"] = 0.8
    assert "less than 1" in _error(raw)
    raw = _grid()
    raw["tasks"][1]["name"] = "alpha"
    assert "Key 'tasks[1].name' repeats 'alpha'" in _error(raw)
    raw["tasks"] = raw["tasks"][:1]
    assert "Key 'tasks' must hold two or more tasks" in _error(raw)


def test_several_outputs_take_one_label_per_output():
    raw = _grid()
    del raw["network"]["output"]
    raw["network"]["outputs"] = ["n6", ["n7", "n3"]]
    for task, labels in zip(raw["tasks"], ([0.25, 0.01], [0.2, -0.02]), strict=True):
        task["points"][0]["label"] = labels
    cfg = parse_config(raw)
    assert cfg.targets == ("n6", Differential("n7", "n3")) and cfg.output == "n6"
    assert cfg.task_output == ("n6", Differential("n7", "n3"))
    assert cfg.tasks[0].points[0].label == (0.25, 0.01)
    # two outputs, one point each: 2 conditions on 12 gates, nearest the reference
    assert {t.linearize for t in cfg.tasks} == {"nearest"}
    task = Task(cfg.tasks[0].points, cfg.task_output, name="alpha")
    assert task.n_outputs == 2
    raw["tasks"][0]["points"][0]["label"] = 0.25
    assert "Key 'tasks[0].points[0].label' must be an array of 2 numbers" in _error(raw)
    raw["tasks"][0]["points"][0]["label"] = [0.25]
    assert "Key 'tasks[0].points[0].label' must hold 2 number(s)" in _error(raw)
    raw["tasks"][0]["points"][0]["label"] = [0.25, "x"]
    assert "Key 'tasks[0].points[0].label[1]' must be a number" in _error(raw)
    raw = _grid()
    raw["network"]["outputs"] = ["n7"]
    assert "Key 'network.outputs' conflicts with 'network.output'" in _error(raw)
    del raw["network"]["output"]
    raw["network"]["outputs"] = ["n6", ["n6", "n3"]]
    assert "Key 'network.outputs' uses a node twice" in _error(raw)
    raw["network"]["outputs"] = ["n6", ["n7"]]
    assert "Key 'network.outputs[1]' must be [plus, minus]" in _error(raw)
    raw["network"]["outputs"] = ["n6"]
    raw["tasks"][0]["points"][0]["inputs"]["n6"] = 0.1
    assert "Key 'tasks[0].points[0].inputs' imposes the output node 'n6'" in _error(raw)


def test_classification_labels_are_nonzero():
    raw = _grid()
    raw["tasks"][0]["kind"] = "classification"
    assert parse_config(raw).tasks[0].kind == "classification"
    raw["tasks"][0]["points"][0]["label"] = 0.0
    assert "Key 'tasks[0].points[0].label' must be nonzero" in _error(raw)
    raw["tasks"][0]["kind"] = "hinge"
    assert "Key 'tasks[0].kind' must be 'regression' or 'classification'" in _error(raw)


def test_linearization_modes():
    assert [t.linearize for t in load_config("exp1").tasks] == ["line", "line"]
    assert [t.linearize for t in load_config("fig3").tasks] == ["joint", "nearest"]
    raw = _grid()
    raw["tasks"][0]["G_star"] = [3.0] * 12
    assert parse_config(raw).tasks[0].linearize == "given"
    raw = _grid()  # 13 one-point conditions on 12 gates: overdetermined
    raw["tasks"][0]["points"] = [
        {"inputs": {"n2": 0.02 + 0.03 * k}, "label": 0.2} for k in range(13)
    ]
    assert "Missing key 'tasks[0].G_star'" in _error(raw)
    raw = _grid()
    raw["tasks"][0]["points"][0]["line"] = [1.0, 0.0]
    assert "Key 'tasks[0].points[0].line' gives a solution line, which needs" in _error(raw)


# ------------------------------------------------------------------------------ lattices
def test_periodic_lattice_and_fixed_edges():
    raw = _grid()
    raw["network"]["lattice"] = {"kind": "periodic", "rows": 3, "cols": 4}
    raw["network"]["fixed"] = [{"edge": "n0-n1", "R": 500.0}, {"edge": "n5-n9", "K": 2e-3}]
    for key in ("reference", "gate_box"):
        raw["theory"].pop(key)
    for key in ("G0", "gate_limits"):
        raw["simulate"].pop(key, None)
    raw["bias"] = {"random": {"std": 1.0, "seed": 3}}
    for task in raw["tasks"]:
        task["G_star"] = [3.0] * 22
    cfg = parse_config(raw)
    net = cfg.network
    assert net.n_nodes == 12 and net.n_edges == 24 and net.n_gates == 22
    fixed = {e.name: e.K for e in net.edges if not e.learning}
    assert fixed == {"n0-n1": pytest.approx(1 / 500.0), "n5-n9": 2e-3}
    assert "n3-n0" in net.gate_names and "n8-n0" in net.gate_names  # the wrapped edges
    bad = copy.deepcopy(raw)
    bad["network"]["fixed"][1]["edge"] = "n5-n10"
    assert "did you mean" in _error(bad) and "Key 'network.fixed[1].edge'" in _error(bad)
    bad["network"]["fixed"][1] = {"edge": "n0-n1", "R": 1.0}
    assert "Key 'network.fixed[1].edge' repeats" in _error(bad)
    bad["network"]["fixed"][1] = {"edge": "n5-n9", "R": 1.0, "K": 1.0}
    assert "exactly one of them" in _error(bad)
    for lattice, words in [
        ({"kind": "periodic", "rows": 2, "cols": 4}, "Key 'network.lattice.rows' must be an"),
        ({"kind": "grid", "rows": 0, "cols": 4}, "Key 'network.lattice.rows' must be an"),
        ({"kind": "grid", "rows": 3, "cols": 300}, "Key 'network.lattice.cols'"),
        ({"kind": "grid", "rows": 3, "cols": 2.0}, "Key 'network.lattice.cols'"),
        ({"kind": "hex", "rows": 3, "cols": 3}, "Key 'network.lattice.kind'"),
        ({"kind": "grid", "rows": 3}, "Missing required key 'network.lattice.cols'"),
        ({"kind": "grid", "rows": 1, "cols": 1}, "at least two nodes"),
        ({"kind": "grid", "rows": 3, "cols": 3, "diag": True}, "Unknown key"),
    ]:
        bad = copy.deepcopy(raw)
        bad["network"]["lattice"] = lattice
        assert words in _error(bad)
    bad = _grid()
    bad["network"]["fixed"] = [{"edge": "n0-n1", "R": 500.0}]
    del bad["network"]["lattice"]
    assert "Key 'network.fixed' names lattice edges" in _error(bad)


def test_lattice_plus_inline_edges():
    raw = _grid()
    raw["network"]["edges"] = [{"a": "In", "b": "n2", "R": 500.0}]
    raw["network"]["supplies"]["In"] = 0.3
    cfg = parse_config(raw)
    assert cfg.network.n_edges == 13 and cfg.network.n_gates == 12
    assert cfg.network.nodes[-1] == "In"


# ------------------------------------------------------------------------------ edge files
_CSV = """# the 2+1 network of the paper, as an edge list
a,b,name,learning,R,S,V_T
Low,Output,Low-Output,,,,
High,Output,High-Output,true,,8.5e-4,0.65

Input,Output,Input-Output,false,500.0,,
"""


def _file_raw() -> dict:
    raw = tomllib.loads((PRESETS / "fig3.toml").read_text(encoding="utf-8"))
    del raw["network"]["edges"]
    raw["network"]["file"] = "net/edges.csv"
    return raw


def test_edge_list_file(tmp_path):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "edges.csv").write_text(_CSV, encoding="utf-8")
    cfg = parse_config(_file_raw(), folder=tmp_path)
    ref = load_config("fig3").network
    assert cfg.network.gate_names == ref.gate_names and cfg.network.nodes[0] == "Low"
    assert cfg.network.S.tolist() == [8.5e-4, 8.5e-4] and cfg.network.V_T.tolist() == [0.7, 0.65]
    assert cfg.network.K_fixed.tolist() == ref.K_fixed.tolist()
    toml = tmp_path / "net.toml"  # load_config reads it relative to the TOML's folder
    toml.write_text(_toml_with_file(), encoding="utf-8")
    assert load_config(toml).network.gate_names == ref.gate_names


def _toml_with_file() -> str:
    text = (PRESETS / "fig3.toml").read_text(encoding="utf-8")
    start = text.index("edges = [")
    end = text.index("]\n", text.index("R = 500.0")) + 2
    return text[:start] + 'file = "net/edges.csv"\n' + text[end:]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a,b,R\nLow,Output,abc\n", "File 'net/edges.csv' (key 'network.file'), row 2, column 'R'"),
        ("a,b,R\nLow,Output,-5\n", "row 2, column 'R': must be a positive number"),
        ("a,b\nLow,Output\nHigh\n", "row 3: has 1 columns, but the header names 2"),
        ("a,c\nLow,Output\n", "row 1: the header must name distinct columns"),
        ("a,b,K,R\nLow,Output,1,1\n", "the header names both 'K' and 'R'"),
        ("a,b,learning\nLow,Output,maybe\n", "row 2, column 'learning'"),
        ("a,b,learning,R\nLow,Output,true,5\n", "row 2: a learning edge takes S and V_T, not R"),
        ("a,b,learning\nLow,Output,false\n", "row 2: the fixed edge 'Low-Output' needs K or R"),
        ("a,b\n,Output\n", "row 2, column 'a': a node name is required"),
        ("# nothing\n\n", "holds no header row"),
        ("a,b\n", "has a header but no edge"),
        ("a,b,S\nLow,Output,1e9\n", "row 2: not a valid edge"),
    ],
)
def test_edge_list_file_errors_name_file_row_and_column(tmp_path, text, words):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "edges.csv").write_text(text, encoding="utf-8")
    assert words in _error(_file_raw(), folder=tmp_path)


def test_edge_list_file_path_is_checked(tmp_path):
    assert "Key 'network.file' is relative to the TOML file's folder" in _error(_file_raw())
    assert "cannot be read" in _error(_file_raw(), folder=tmp_path)
    raw = _file_raw()
    raw["network"]["file"] = "../edges.csv"
    assert "Key 'network.file' must be a path relative" in _error(raw, folder=tmp_path)
    raw["network"]["file"] = 3
    assert "Key 'network.file' must be a non-empty string" in _error(raw, folder=tmp_path)


# ------------------------------------------------------------------------------ node names
def _exp1() -> dict:
    return tomllib.loads((PRESETS / "exp1.toml").read_text(encoding="utf-8"))


def test_misspelt_node_names_are_refused_with_the_nearest_names():
    raw = _exp1()
    raw["network"]["output"] = "Outptu"
    msg = _error(raw)
    assert msg.startswith("Key 'network.output' names node 'Outptu', which no edge touches")
    assert "did you mean 'Output'?" in msg
    raw = _exp1()  # misspelt in an edge: a dangling node, not a new node
    raw["network"]["edges"][1]["b"] = "Outptu"
    msg = _error(raw)
    assert msg.startswith("Key 'network.edges[1].b' names node 'Outptu'")
    assert "did you mean 'Output'?" in msg and "dangling" in msg
    raw = _exp1()
    raw["tasks"][1]["points"][0]["inputs"] = {"Inptu": 0.0181}
    msg = _error(raw)
    assert "Key 'tasks[1].points[0].inputs.Inptu' names node 'Inptu'" in msg
    assert "did you mean 'Input'?" in msg
    raw = _exp1()
    raw["network"]["supplies"]["Hihg"] = raw["network"]["supplies"].pop("High")
    assert "Key 'network.supplies.Hihg'" in _error(raw) and "'High'" in _error(raw)
    raw = _grid()
    raw["network"]["differential"] = ["n6", "m3"]
    del raw["network"]["output"]
    assert "Key 'network.differential[1]' names node 'm3'" in _error(raw)
    raw = _grid()
    raw["network"]["output"] = "zzz"
    assert "the nodes are ['n0'" in _error(raw)  # no close match: the nodes listed


def test_no_output_and_no_edges():
    raw = _exp1()
    del raw["network"]["output"]
    assert _error(raw).startswith("Missing required key 'network.output' (or")
    raw = _exp1()
    del raw["network"]["edges"]
    assert _error(raw).startswith("Missing required key 'network.edges' (or")


# ------------------------------------------------------------------------------ presets
def _plain(x):
    """Plain data of a parsed description, field by field (arrays as lists, NaN as text)."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        out = {"__type__": type(x).__name__}
        for f in dataclasses.fields(x):
            if f.name not in ("raw", "incidence"):
                out[f.name] = _plain(getattr(x, f.name))
        return out
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()] if x.ndim else _plain(x.item())
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return {"__type__": type(x).__name__, **{k: _plain(getattr(x, k)) for k in x._fields}}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, float):
        return "nan" if math.isnan(x) else x
    if isinstance(x, bool | int | str) or x is None:
        return x
    if isinstance(x, Path):
        return str(x)
    return {"__type__": type(x).__name__, "repr": repr(x)}


#: Fields added with the new keys, and their value in a description that does not use them.
NEW_FIELDS = {
    ("ExperimentConfig", "targets"): None,  # checked against `output` below
    ("TaskSpec", "kind"): "regression",
    ("TaskSpec", "duration"): None,
    ("TaskSpec", "linearize"): None,  # checked in test_linearization_modes
    ("BiasSpec", "random"): None,
    ("SimulateSpec", "max_seconds"): None,  # issue 21: no wall-clock budget unless given
    ("BiasSpec", "state"): "constant",  # issue 19: the paper's constant bias by default
    ("BiasSpec", "shapes_only"): False,
    ("ExperimentConfig", "relinearize"): False,  # issue 21: M at G* unless theory.relinearize
}


def _compare(before, after, path, diffs):
    if isinstance(before, dict):
        for k, v in before.items():
            if k not in after:
                diffs.append(f"{path}.{k} is gone")
            else:
                _compare(v, after[k], f"{path}.{k}", diffs)
        for k in set(after) - set(before):
            key = (after["__type__"], k)
            if key not in NEW_FIELDS:
                diffs.append(f"{path}.{k} is new")
            elif NEW_FIELDS[key] is not None and after[k] != NEW_FIELDS[key]:
                diffs.append(f"{path}.{k} = {after[k]!r}, not {NEW_FIELDS[key]!r}")
    elif isinstance(before, list):
        if not isinstance(after, list) or len(before) != len(after):
            diffs.append(f"{path}: length {len(before)} -> {after!r:.60}")
        else:
            for i, (u, v) in enumerate(zip(before, after, strict=True)):
                _compare(u, v, f"{path}[{i}]", diffs)
    elif before != after:
        diffs.append(f"{path}: {before!r} -> {after!r}")


@pytest.mark.parametrize("name", sorted(json.loads(BEFORE.read_text(encoding="utf-8"))))
def test_every_preset_parses_field_by_field_as_before(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder named like a preset must not shadow it
    before = json.loads(BEFORE.read_text(encoding="utf-8"))[name]
    cfg = load_config(name)
    diffs: list[str] = []
    _compare(before, _plain(cfg), name, diffs)
    assert not diffs, diffs
    assert cfg.targets == (cfg.output,) == ("Output",) and cfg.task_output == "Output"
    assert cfg.durations == (0.5, 0.5)


def test_network_node_suggests_the_nearest_names():
    from clln_theory.errors import NetworkError
    from clln_theory.model import star_network

    with pytest.raises(NetworkError, match=r"Unknown node 'Outptu'; did you mean 'Output'\?"):
        star_network().node("Outptu")
