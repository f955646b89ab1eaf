"""The fields of a `clln_theory.experiments.Reproduction`, checked when it is built (engine of
`clln_theory.experiments.reproduction`): the types, the shapes against ``tau`` and the network,
finite numbers where the record documents no missing value and no ±inf anywhere (NaN marks a
missing value: not measured, no cycle, a conductance <= 0 on the orbit). One pass over arrays of
T or T x n numbers, cheap next to the orbits the pipeline computes."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_record, construction, quote
from ..data import CycleSamples
from ..errors import ArgumentError, NumericalRangeError, ShapeError
from ..inference import BiasEstimate, CalibratedTask, StateBiasFit
from ..model import Task
from ..theory import BoxCyclicOrbit, BoxOrbit, ClosedOrbit
from .compare import SimulatedPeriods
from .specs import ExperimentConfig

__all__ = ["check_reproduction", "require_finite_theory"]

_NONE = type(None)
#: Columns of T values that may hold NaN (a missing value), never ±inf.
_COLUMNS = (
    "D2_theory", "Ebar_theory", "D2_bias_free", "Ebar_bias_free", "D2_measured", "Ebar_measured",
)  # fmt: skip
#: Columns of T values or empty (a result built without them).
_OPTIONAL_COLUMNS = ("saturated", "D2_unconstrained", "Ebar_unconstrained")


def _items(rep: Any, name: str, kind: type | tuple[type, ...]) -> None:
    for i, item in enumerate(getattr(rep, name) or ()):
        if not isinstance(item, kind):
            raise ArgumentError(
                f"Field `{name}` of Reproduction must hold {getattr(kind, '__name__', kind)} "
                f"entries, but entry {i} is {quote(item)}."
            )


def _shape(rep: Any, name: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    value = getattr(rep, name)
    if value is None:
        return
    if value.shape not in shapes:
        raise ShapeError(
            f"Field `{name}` of Reproduction must have shape "
            f"{' or '.join(str(s) for s in shapes)} (T = tau.size periods), but has {value.shape}."
        )
    if value.dtype.kind in "fc" and np.any(np.isinf(value)):
        raise NumericalRangeError(
            f"Field `{name}` of Reproduction must hold finite numbers or NaN (no value), but "
            "holds inf."
        )


@construction
def check_reproduction(rep: Any) -> None:
    """Raise `ArgumentError` (a field of another type), `ShapeError` (a shape that does not
    match ``tau`` (T,) and the network's n gates) or `NumericalRangeError` (NaN where no value
    may be missing, or ±inf) naming the field of ``rep``; return None for a sound record."""
    check_record(
        rep, config=ExperimentConfig, tasks="tuple", B="array", bias=(BiasEstimate, _NONE),
        tau="array", orbit=(ClosedOrbit, _NONE), in_box="flags", G_lo="array|nan",
        G_hi="array|nan", grid=dict, cycles="tuple", notes="tuple", data_source="text",
        sim=(SimulatedPeriods, _NONE), sim_tasks="tuple?", state_bias=(StateBiasFit, _NONE),
        box_orbit=(BoxOrbit, BoxCyclicOrbit, ClosedOrbit, _NONE), saturated="flags",
        floquet="array|nan?", tau_sim="array|nan?",
        **dict.fromkeys((*_COLUMNS, "D2_unconstrained", "Ebar_unconstrained"), "array|nan"),
    )  # fmt: skip
    _items(rep, "tasks", CalibratedTask)
    _items(rep, "cycles", CycleSamples)
    _items(rep, "notes", str)
    _items(rep, "sim_tasks", Task)
    if rep.tau.ndim != 1 or not np.all(rep.tau > 0):
        raise ArgumentError(
            f"Field `tau` of Reproduction must be a 1-D array of periods > 0 (s), but is "
            f"{quote(rep.tau)}."
        )
    T, n = rep.tau.size, rep.config.network.n_gates
    _shape(rep, "B", ((n,),))
    for name in (*_COLUMNS, "in_box", "floquet", "tau_sim"):
        _shape(rep, name, ((T,),))
    for name in _OPTIONAL_COLUMNS:
        _shape(rep, name, ((T,), (0,)))
    for name in ("G_lo", "G_hi"):
        _shape(rep, name, ((T, n),))
    if len(rep.notes) not in (0, T):
        raise ShapeError(
            f"Field `notes` of Reproduction must hold one note per period ({T}) or none, but "
            f"holds {len(rep.notes)}."
        )


def require_finite_theory(*columns: Any) -> None:
    """Raise `NumericalRangeError` naming ``tau`` where a theory column (D², Ē, the gate range,
    the orbit without limits: fields of `_pipeline.Theory`) holds ±inf: a period so long that
    the orbit's arithmetic leaves float64's range."""
    for th in columns:
        for name in ("D2", "Ebar", "lo", "hi", "D2_unconstrained", "Ebar_unconstrained"):
            if np.any(np.isinf(np.asarray(getattr(th, name), dtype=float))):
                raise NumericalRangeError(
                    f"Argument `tau` holds a period whose orbit leaves float64's range (the "
                    f"theory's {name} is inf); choose shorter periods."
                )
