"""Tables of results for pandas and for files: data frames, CSV without comment lines, sidecars.

Engine of every ``to_dataframe`` and ``to_csv`` of the package. pandas is an optional extra
(``pip install clln_theory[pandas]``), imported only inside `data_frame`; without it a
`MissingDependencyError` names the extra. A CSV written here is read by ``pandas.read_csv(path)``
with default arguments: its first line is the header, every row has the header's width, empty
cells are missing values; its provenance (package version, data source, units, the
description) goes to a sidecar JSON file ``path + ".json"``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_write
from .errors import MissingDependencyError

__all__ = ["array_columns", "csv_text", "data_frame", "frame_fields", "sidecar_path", "write_csv"]


def data_frame(columns: Mapping[str, Any]) -> Any:
    """A `pandas.DataFrame` of equal-length columns (None in a column becomes NaN)."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise MissingDependencyError(
            "to_dataframe() needs pandas, an optional extra: install it with "
            "`pip install clln_theory[pandas]` (or `pip install pandas`)."
        ) from exc
    return pd.DataFrame({k: _column(v) for k, v in columns.items()})


def _column(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v
    values = list(v)
    if any(x is None for x in values) and all(
        x is None or isinstance(x, int | float) for x in values
    ):
        return np.array([np.nan if x is None else x for x in values], dtype=float)
    return values


def array_columns(
    fields: Mapping[str, np.ndarray], names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Columns of (T,) and (T, n) arrays: a (T, n) array ``G0`` becomes ``G0[name]`` for each of
    the n names (default ``0`` … ``n−1``)."""
    out: dict[str, np.ndarray] = {}
    for key, a in fields.items():
        a = np.asarray(a)
        if a.ndim == 2:
            cols = names if names is not None and len(names) == a.shape[1] else range(a.shape[1])
            for j, name in enumerate(cols):
                out[f"{key}[{name}]"] = a[:, j]
        else:
            out[key] = a
    return out


def frame_fields(result: Any) -> dict[str, np.ndarray]:
    """The array fields of a dataclass result that have one row per ``tau`` (same length)."""
    T = np.shape(result.tau)[0]
    out = {}
    for f in dataclasses.fields(result):
        v = getattr(result, f.name)
        if isinstance(v, np.ndarray) and v.ndim in (1, 2) and v.shape[0] == T:
            out[f.name] = v
    return out


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """CSV of ``rows`` (dicts with the same keys): the header first, None as an empty cell."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def sidecar_path(path: str | Path) -> Path:
    """The provenance file of a CSV: ``path`` with ``.json`` appended (``t.csv.json``)."""
    p = Path(path)
    return p.with_name(p.name + ".json")


def write_csv(path: str | Path, text: str, provenance: Mapping[str, Any]) -> None:
    """Write the CSV ``text`` to ``path`` and ``provenance`` to its sidecar (both atomic)."""
    atomic_write(path, text)
    atomic_write(sidecar_path(path), json.dumps(provenance, indent=2, allow_nan=False) + "\n")
