"""Conductance models of the learning edges.

A device describes the current through every learning edge of a network as a function of its gate
voltage ``G`` and the voltages ``Va``, ``Vb`` of its two end nodes. All methods are vectorized
over the gates: ``G``, ``S``, ``V_T``, ``Va`` and ``Vb`` broadcast together.

Models
------
``LinearDevice``
    The paper's theory (Appendix D): a linear resistor of conductance ``K = S (G - V_T)``.
``OhmicMOSFET``
    Eq. (2) of the paper: ``I = S (G - V_T - Vbar) dV`` with ``Vbar`` the mean of the two node
    voltages and ``dV = Va - Vb``. The ``Vbar`` term is the network's nonlinearity.

The three-regime MOSFET of the experiment (ohmic / saturation / subthreshold) is added by the
simulator (see ``ThreeRegimeMOSFET`` there, once present).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Device", "LinearDevice", "OhmicMOSFET"]


@runtime_checkable
class Device(Protocol):
    """What a learning-edge model provides (vectorized over gates).

    ``current(G, S, V_T, Va, Vb)`` is the current from node a to node b, in amperes.
    ``current_and_derivatives`` returns ``(I, dI_dVa, dI_dVb, dI_dG)``. A device whose current is
    linear in the node voltages sets ``is_linear = True`` and provides ``conductance(G, S, V_T)``.
    """

    is_linear: bool

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray: ...

    def current_and_derivatives(
        self, G, S, V_T, Va, Vb
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...


@dataclass(frozen=True, slots=True)
class LinearDevice:
    """Linear resistor ``K = S (G - V_T)``: the edge model of the paper's theory (Appendix D).

    Examples
    --------
    >>> dev = LinearDevice()
    >>> float(dev.conductance(3.0, 8.5e-4, 0.7))
    0.001955
    >>> float(dev.current(3.0, 8.5e-4, 0.7, 0.4, 0.2))  # K * (Va - Vb)
    0.000391
    """

    is_linear: bool = True

    def conductance(self, G, S, V_T) -> np.ndarray:
        """Conductance ``K = S (G - V_T)`` in siemens (no check of sign here)."""
        return np.asarray(S) * (np.asarray(G, dtype=float) - np.asarray(V_T))

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray:
        """Current from a to b: ``K (Va - Vb)``."""
        return self.conductance(G, S, V_T) * (np.asarray(Va) - np.asarray(Vb))

    def current_and_derivatives(self, G, S, V_T, Va, Vb):
        """``(I, dI/dVa, dI/dVb, dI/dG)`` of the linear resistor."""
        K = self.conductance(G, S, V_T)
        dV = np.asarray(Va, dtype=float) - np.asarray(Vb, dtype=float)
        return K * dV, K, -K, np.asarray(S) * dV


@dataclass(frozen=True, slots=True)
class OhmicMOSFET:
    """Ohmic-regime MOSFET of Eq. (2): ``I = S (G - V_T - Vbar) (Va - Vb)``.

    ``Vbar = (Va + Vb) / 2``. Equivalently ``I = S (G - V_T) dV - S (Va**2 - Vb**2) / 2``, so the
    current is odd under swapping a and b, and reduces to ``LinearDevice`` when ``Vbar = 0``.

    Examples
    --------
    >>> dev = OhmicMOSFET()
    >>> I = float(dev.current(3.0, 8.5e-4, 0.7, 0.4, 0.2))
    >>> round(I, 12) == round(8.5e-4 * (3.0 - 0.7 - 0.3) * 0.2, 12)
    True
    """

    is_linear: bool = False

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray:
        """Current from a to b (amperes)."""
        Va = np.asarray(Va, dtype=float)
        Vb = np.asarray(Vb, dtype=float)
        return np.asarray(S) * (np.asarray(G) - np.asarray(V_T) - 0.5 * (Va + Vb)) * (Va - Vb)

    def current_and_derivatives(self, G, S, V_T, Va, Vb):
        """``(I, dI/dVa, dI/dVb, dI/dG)`` of Eq. (2)."""
        Va = np.asarray(Va, dtype=float)
        Vb = np.asarray(Vb, dtype=float)
        S = np.asarray(S, dtype=float)
        ov = np.asarray(G) - np.asarray(V_T) - 0.5 * (Va + Vb)
        dV = Va - Vb
        return S * ov * dV, S * (ov - 0.5 * dV), S * (-ov - 0.5 * dV), S * dV
