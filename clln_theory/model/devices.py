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

``ThreeRegimeMOSFET``
    The transistor of the experiment: ohmic (Eq. (2)), saturation ``S Vov**2 / 2`` and an
    exponential subthreshold tail (0.1 V/decade) below an overdrive of 0.096 V, used by the
    nonlinear simulator (`clln_theory.electrical.circuit`, `clln_theory.simulator`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._checks import positive, quote
from ..errors import ArgumentError

__all__ = [
    "DEVICES",
    "SUBTHRESHOLD_SLOPE",
    "SUBTHRESHOLD_TRANSITION",
    "Device",
    "LinearDevice",
    "OhmicMOSFET",
    "ThreeRegimeMOSFET",
    "device_named",
]


@runtime_checkable
class Device(Protocol):
    """What a learning-edge model provides (vectorized over gates).

    ``current(G, S, V_T, Va, Vb)`` is the current from node a to node b, in amperes.
    ``current_and_derivatives`` returns ``(I, dI_dVa, dI_dVb, dI_dG)``. A device whose current is
    linear in the node voltages has ``is_linear`` True and provides ``conductance(G, S, V_T)``.
    """

    @property
    def is_linear(self) -> bool:
        """True for a current linear in the node voltages (the device provides ``conductance``).

        Read-only: a frozen dataclass field (``is_linear: bool = field(init=False)``) or a
        class attribute satisfies it.
        """
        ...

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray:
        """Current from node a to node b.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        ndarray
            Current from a to b, A.
        """
        ...

    def current_and_derivatives(
        self, G, S, V_T, Va, Vb
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The current and its derivatives.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        tuple of 4 ndarrays
            ``(I, dI/dVa, dI/dVb, dI/dG)``: A, S, S, A/V.
        """
        ...


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

    is_linear: bool = field(default=True, init=False)

    def conductance(self, G, S, V_T) -> np.ndarray:
        """Conductance ``K = S (G - V_T)`` (no check of sign here).

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V (all three broadcast together).

        Returns
        -------
        ndarray
            Siemens.
        """
        return np.asarray(S) * (np.asarray(G, dtype=float) - np.asarray(V_T))

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray:
        """Current from a to b: ``K (Va - Vb)``.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        ndarray
            Current from a to b, A.
        """
        return self.conductance(G, S, V_T) * (np.asarray(Va) - np.asarray(Vb))

    def current_and_derivatives(self, G, S, V_T, Va, Vb):
        """``(I, dI/dVa, dI/dVb, dI/dG)`` of the linear resistor.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        tuple of 4 ndarrays
            ``(I, dI/dVa, dI/dVb, dI/dG)``: A, S, S, A/V.
        """
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

    is_linear: bool = field(default=False, init=False)

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray:
        """Current from a to b.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        ndarray
            Current from a to b, A.
        """
        Va = np.asarray(Va, dtype=float)
        Vb = np.asarray(Vb, dtype=float)
        return np.asarray(S) * (np.asarray(G) - np.asarray(V_T) - 0.5 * (Va + Vb)) * (Va - Vb)

    def current_and_derivatives(self, G, S, V_T, Va, Vb):
        """``(I, dI/dVa, dI/dVb, dI/dG)`` of Eq. (2).

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        tuple of 4 ndarrays
            ``(I, dI/dVa, dI/dVb, dI/dG)``: A, S, S, A/V.
        """
        Va = np.asarray(Va, dtype=float)
        Vb = np.asarray(Vb, dtype=float)
        S = np.asarray(S, dtype=float)
        ov = np.asarray(G) - np.asarray(V_T) - 0.5 * (Va + Vb)
        dV = Va - Vb
        return S * ov * dV, S * (ov - 0.5 * dV), S * (-ov - 0.5 * dV), S * dV


#: Subthreshold slope of `ThreeRegimeMOSFET`, volts of gate overdrive per decade of current.
SUBTHRESHOLD_SLOPE = 0.1
#: Overdrive ``G - V_T - min(Va, Vb)`` at which `ThreeRegimeMOSFET` turns subthreshold, volts.
SUBTHRESHOLD_TRANSITION = 0.096


@dataclass(frozen=True, slots=True)
class ThreeRegimeMOSFET:
    """Three-regime MOSFET of the experiment: ohmic, saturation and subthreshold.

    With the source the lower-voltage terminal, ``Vs = min(Va, Vb)``, the drain-source voltage
    ``Vds = |Va - Vb|`` and the overdrive ``Vov = G - V_T - Vs``, the magnitude of the current is

    * ohmic (``Vov >= Vtr``, ``Vds < Vov``): ``f = S (Vov - Vds/2) Vds``, which is Eq. (2) of the
      paper, ``S (G - V_T - Vbar) |dV|``;
    * saturation (``Vov >= Vtr``, ``Vds >= Vov``): ``f = S Vov**2 / 2``;
    * subthreshold (``Vov < Vtr``): ``f = f_above(Vtr, Vds) * 10**((Vov - Vtr) / n)``, the
      above-threshold current evaluated at the transition overdrive ``Vtr``, decaying by one
      decade per ``n`` volts of overdrive below it.

    The current from a to b is ``I = sign(Va - Vb) f``: odd under swapping a and b, zero at
    ``Va = Vb``.

    Parameters
    ----------
    transition : float
        ``Vtr``, the overdrive at which the exponential tail is matched on, V (0.096 V).
    slope : float
        ``n``, volts per decade of the subthreshold tail (0.1 V/decade).

    Raises
    ------
    ArgumentError
        ``transition`` or ``slope`` not a finite number > 0.

    Notes
    -----
    Continuity (tested in ``tests/electrical/test_circuit.py``): ``f`` is continuous everywhere.
    Ohmic and
    saturation meet with a continuous first derivative at ``Vds = Vov`` (``df/dVds = 0`` from both
    sides). The subthreshold tail equals the above-threshold current at ``Vov = Vtr`` for every
    ``Vds`` (continuity in ``G`` and in the node voltages), but ``df/dVov`` jumps there by the
    factor ``(Vtr - Vds/2) ln(10)/n`` (ohmic side, 2.2 as ``Vds -> 0``) or ``Vtr ln(10)/(2n)``
    (saturated, 1.105): the model is C⁰, not C¹, across the threshold, as specified. The damped
    Newton of `clln_theory.electrical.circuit` copes with this kink (line search on the current
    residual).

    Examples
    --------
    >>> dev = ThreeRegimeMOSFET()
    >>> ohm = OhmicMOSFET()
    >>> args = (3.0, 8.5e-4, 0.7, 0.4, 0.2)  # deep ohmic: same as Eq. (2)
    >>> bool(np.isclose(dev.current(*args), ohm.current(*args)))
    True
    >>> float(dev.current(3.0, 8.5e-4, 0.7, 0.2, 0.4)) == -float(dev.current(*args))
    True
    >>> float(dev.current(2.0, 1.0, 0.7, 1.5, 0.0))  # saturated: S (G - V_T)**2 / 2
    0.845
    """

    transition: float = SUBTHRESHOLD_TRANSITION
    slope: float = SUBTHRESHOLD_SLOPE
    is_linear: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "transition", positive(self.transition, "transition", unit="V"))
        object.__setattr__(self, "slope", positive(self.slope, "slope", unit="V/decade"))

    def _magnitude(self, G, S, V_T, Va, Vb):
        """``(s, f, df/dVov, df/dVds)`` with ``I = s f``."""
        Va = np.asarray(Va, dtype=float)
        Vb = np.asarray(Vb, dtype=float)
        S = np.asarray(S, dtype=float)
        dV = Va - Vb
        s = np.where(dV >= 0.0, 1.0, -1.0)
        Vds = np.abs(dV)
        Vov = np.asarray(G, dtype=float) - np.asarray(V_T, dtype=float) - np.minimum(Va, Vb)
        Vtr = self.transition
        above = Vov >= Vtr
        Vo = np.where(above, Vov, Vtr)  # overdrive at which the square law is evaluated
        ohmic = Vds < Vo
        f = np.where(ohmic, S * (Vo - 0.5 * Vds) * Vds, 0.5 * S * Vo**2)
        f_ov = np.where(ohmic, S * Vds, S * Vo)
        f_ds = np.where(ohmic, S * (Vo - Vds), 0.0)
        # subthreshold: f = f_above(Vtr, Vds) * 10**((Vov - Vtr)/n)
        expo = np.where(above, 0.0, (Vov - Vtr) / self.slope)
        g = np.power(10.0, expo)
        f_sub = f * g
        f_ov = np.where(above, f_ov, f_sub * (np.log(10.0) / self.slope))
        f_ds = np.where(above, f_ds, f_ds * g)
        f = np.where(above, f, f_sub)
        return s, f, f_ov, f_ds

    def current(self, G, S, V_T, Va, Vb) -> np.ndarray:
        """Current from a to b.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        ndarray
            Current from a to b, A.
        """
        s, f, _, _ = self._magnitude(G, S, V_T, Va, Vb)
        return s * f

    def current_and_derivatives(self, G, S, V_T, Va, Vb):
        """``(I, dI/dVa, dI/dVb, dI/dG)``.

        For ``Va >= Vb`` (source b): ``dI/dVa = f_ds``, ``dI/dVb = -f_ov - f_ds``,
        ``dI/dG = f_ov``; for ``Va < Vb`` (source a) the mirror image.

        Parameters
        ----------
        G : array_like
            Gate voltages, V.
        S : array_like
            Device slopes, A/V².
        V_T : array_like
            Threshold voltages, V.
        Va, Vb : array_like
            Voltages of the edges' end nodes a and b, V (all five broadcast together).

        Returns
        -------
        tuple of 4 ndarrays
            ``(I, dI/dVa, dI/dVb, dI/dG)``: A, S, S, A/V.
        """
        s, f, f_ov, f_ds = self._magnitude(G, S, V_T, Va, Vb)
        fwd = s > 0
        dIa = np.where(fwd, f_ds, f_ov + f_ds)
        dIb = np.where(fwd, -f_ov - f_ds, -f_ds)
        return s * f, dIa, dIb, s * f_ov


#: The one registry of device names: ``"three-regime"`` (`ThreeRegimeMOSFET`, the experiment's
#: transistor), ``"ohmic"`` (`OhmicMOSFET`, Eq. (2)) and ``"linear"`` (`LinearDevice`, the
#: theory's resistor). Configuration files, the experiments and the command line read it.
DEVICES: Mapping[str, type] = MappingProxyType(
    {"three-regime": ThreeRegimeMOSFET, "ohmic": OhmicMOSFET, "linear": LinearDevice}
)


def device_named(name: Any, *, name_of: str = "device") -> Device:
    """The device registered under ``name`` in `DEVICES`, built with its default parameters.

    Parameters
    ----------
    name : str
        ``"three-regime"``, ``"ohmic"`` or ``"linear"``.
    name_of : str
        The argument's name in the caller, for the message (default ``"device"``).

    Returns
    -------
    Device

    Raises
    ------
    ArgumentError
        An unknown name; the message suggests the nearest registered spelling
        (``"three_regime"`` -> ``"three-regime"``).

    Examples
    --------
    >>> device_named("ohmic")
    OhmicMOSFET(is_linear=False)
    >>> device_named("three_regime")
    Traceback (most recent call last):
    ...
    clln_theory.errors.ArgumentError: Argument `device` must be one of 'three-regime', 'ohmic', \
'linear', but is 'three_regime'; did you mean 'three-regime'?
    """
    if isinstance(name, str) and name in DEVICES:
        return DEVICES[name]()
    options = ", ".join(map(repr, DEVICES))
    hint = ""
    if isinstance(name, str):
        key = name.strip().lower().replace("_", "-").replace(" ", "-")
        near = [key] if key in DEVICES else difflib.get_close_matches(key, list(DEVICES), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else "."
    raise ArgumentError(
        f"Argument `{name_of}` must be one of {options}, but is {quote(name)}{hint or '.'}"
    )
