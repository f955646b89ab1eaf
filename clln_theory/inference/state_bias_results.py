"""The records of the state-dependent bias fit (`clln_theory.inference.state_bias`): a drift
test's velocity along a direction, and the fitted bias with its uncertainties."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .._checks import quote
from .._repr import short_repr
from ..errors import ArgumentError, ShapeError
from ..model.bias import AffineBias
from .estimates import record_number, record_vector, unit_vector

__all__ = ["DriftMeasurement", "StateBiasFit"]


@dataclass(frozen=True, slots=True)
class DriftMeasurement:
    """One drift test: the bias velocity along ``direction`` near the gates ``G``.

    Attributes
    ----------
    direction : (n,) ndarray
        Unit vector (the solution line's null direction of the trained task).
    value : float
        Measured velocity along it, V/s.
    std : float
        Its standard error, V/s (scatter of the finite-difference velocities / sqrt(window)),
        ``>= 0`` (``inf`` for a single velocity: no weight in a fit).
    G : (n,) ndarray
        Mean gates over the window, V: where ``B(G)`` is sampled.
    source : str
        Where it comes from.

    Raises
    ------
    ArgumentError, ShapeError
        On construction: ``direction`` not a finite unit vector, ``G`` not finite or of another
        shape, ``value`` not finite, ``std`` NaN or negative, ``source`` not a str.
    """

    __repr__ = short_repr

    direction: NDArray
    value: float
    std: float
    G: NDArray
    source: str = ""

    def __post_init__(self) -> None:
        d = unit_vector(self.direction, "direction")
        G = record_vector(self.G, "G")
        if G.shape != d.shape:
            raise ShapeError(
                f"Argument `G` must have the shape of `direction` {d.shape}, but has {G.shape}."
            )
        object.__setattr__(self, "direction", d)
        object.__setattr__(self, "G", G)
        object.__setattr__(self, "value", record_number(self.value, "value"))
        # a standard error: >= 0, inf for a single velocity (no scatter: no weight in a fit)
        object.__setattr__(self, "std", record_number(self.std, "std", low=0.0, inf=True))
        if not isinstance(self.source, str):
            raise ArgumentError(f"Argument `source` must be a str, but is {quote(self.source)}.")


@dataclass(frozen=True, slots=True)
class StateBiasFit:
    """A state-dependent bias fitted to cycles and drift tests.

    Attributes
    ----------
    bias : AffineBias
        The fit, ``B(G) = B0 + J (G - G_ref)``.
    B0_std : (n,) ndarray
        Standard errors of ``B0``, V/s.
    J_std : (n, n) ndarray
        Standard errors of ``J``, 1/s.
    cov : (n + n^2, n + n^2) ndarray
        Covariance of ``(B0, J.ravel())``, marginal over the phases.
    phase : (c,) ndarray
        Phase of each cycle's first sample, fraction of its period.
    rms_cycles : (c,) ndarray
        Root mean square distance of each cycle's samples from the model, V.
    drift_residuals : (d,) ndarray
        Model minus measured drift velocity, V/s.
    sigma_cycle : float
        Sample scatter used to weight the cycles, V.
    rho : float
        Lag-1 autocorrelation of the cycle residuals.
    dof : int
        Residuals minus parameters.
    model : str
        The shape of ``J``: ``"constant"``, ``"affine"``, ``"diagonal"`` or ``"along-lines"``.
    directions : (L, n) ndarray
        The solution lines' unit null directions ``u_mu`` (one row per task with a line).
    gains : (L,) ndarray
        The gains ``u_mu^T J u_mu`` along them, 1/s.
    gains_std : (L,) ndarray
        Their standard errors, 1/s.
    shapes_only : bool
        Whether the cycles entered with their means removed (shapes, not positions).
    fitted_to_positions : bool
        Whether the cycles' sample positions entered the fit (False for ``"along-lines"``
        fitted from velocities only: its ``rms_cycles`` are then predictions, with only each
        cycle's phase fitted).
    """

    __repr__ = short_repr

    bias: AffineBias
    B0_std: NDArray
    J_std: NDArray
    cov: NDArray
    phase: NDArray
    rms_cycles: NDArray
    drift_residuals: NDArray
    sigma_cycle: float
    rho: float
    dof: int
    model: str = "affine"
    directions: NDArray = field(default_factory=lambda: np.zeros((0, 0)))
    gains: NDArray = field(default_factory=lambda: np.zeros(0))
    gains_std: NDArray = field(default_factory=lambda: np.zeros(0))
    shapes_only: bool = False
    fitted_to_positions: bool = True
