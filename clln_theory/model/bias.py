"""A bias that depends on the state: ``B(G) = B0 + J (G - G_ref)`` (beyond the paper).

The paper's bias ``B`` (V/s) is a constant vector. Fits of ``B`` to measured bow-ties at several
periods move with the period, which is what a bias that depends on the gates would do: the
orbit visits different gates at different periods. :class:`AffineBias` is the first-order
(Taylor) model of such a bias about a reference state ``G_ref``. It lives in the data model
because both the linear theory (`clln_theory.theory.affine`) and the simulator accept it, and the
simulator never imports the theory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._checks import real_array, validator, vector
from ..errors import ArgumentError, ShapeError

__all__ = ["AffineBias"]

#: Largest |B| entry, V/s (a documented limit, not in ``__all__``). The paper's biases are
#: ~1 V/s; beyond 1e150 the orbit's products (B·τ, M⁺B, their squares in the span) leave
#: float64's range for ordinary M and τ.
MAX_BIAS = 1e150


@validator
def bias_vector(B: object, n: int, name: str = "B") -> NDArray:
    """A constant bias: a finite real ``(n,)`` vector with entries of magnitude <= `MAX_BIAS`.

    Raises ArgumentError (ShapeError for a wrong shape) naming ``name``.
    """
    b = vector(B, name, n)
    big = float(np.max(np.abs(b))) if b.size else 0.0
    if big > MAX_BIAS:
        raise ArgumentError(
            f"Argument `{name}` must have entries of magnitude <= {MAX_BIAS:g} V/s, but has "
            f"max|{name}| = {big:.3g}; rescale (the orbit arithmetic would overflow)."
        )
    return b


@dataclass(frozen=True, slots=True)
class AffineBias:
    """State-dependent bias ``B(G) = B0 + J (G - G_ref)``, V/s.

    Parameters
    ----------
    B0 : (n,) array_like
        Bias at ``G_ref``, V/s.
    J : (n, n) array_like
        Its gradient ``dB/dG``, 1/s (any real matrix: not symmetric in general).
    G_ref : (n,) array_like
        The state the bias is expanded about, V.

    Attributes
    ----------
    n : int
        Number of gates.

    Raises
    ------
    ShapeError
        If ``B0``, ``J`` and ``G_ref`` do not have shapes ``(n,)``, ``(n, n)``, ``(n,)``.
    ArgumentError
        If an entry is not a finite real number.

    Examples
    --------
    >>> from clln_theory.model import AffineBias
    >>> b = AffineBias([1.0, 2.0], [[-0.5, 0.0], [0.0, 0.0]], [3.0, 3.0])
    >>> b([4.0, 3.0])
    array([0.5, 2. ])
    """

    B0: NDArray
    J: NDArray
    G_ref: NDArray

    def __post_init__(self) -> None:
        B0 = real_array(self.B0, "B0")
        if B0.ndim != 1 or B0.size == 0:
            raise ShapeError(f"Argument `B0` must have shape (n,), but has shape {B0.shape}.")
        n = B0.size
        J = real_array(self.J, "J", error=ShapeError)
        if J.shape != (n, n):
            raise ShapeError(
                f"Argument `J` must have shape ({n}, {n}) like `B0`, but has {J.shape}."
            )
        G_ref = vector(self.G_ref, "G_ref", n, error=ShapeError)
        for name, arr in (("B0", B0), ("J", J), ("G_ref", G_ref)):
            arr = np.array(arr, dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n(self) -> int:
        """Number of gates."""
        return int(self.B0.size)

    def __call__(self, G: ArrayLike) -> NDArray:
        """The bias at ``G``: ``B0 + J (G - G_ref)``.

        Parameters
        ----------
        G : (n,) or (..., n) array_like
            Gates, V.

        Returns
        -------
        ndarray of shape ``G.shape``
            V/s.

        Raises
        ------
        ShapeError
            If ``G`` does not end in ``n``.
        ArgumentError
            If ``G`` is not a finite real array.
        """
        G = real_array(G, "G")
        if G.ndim == 0 or G.shape[-1] != self.n:
            raise ShapeError(f"Argument `G` must end in {self.n} gates, but has shape {G.shape}.")
        return self.B0 + (G - self.G_ref) @ self.J.T

    def offset(self) -> NDArray:
        """The constant part of ``B(G) = J G + offset``: ``B0 - J G_ref``, V/s.

        Returns
        -------
        (n,) ndarray
            V/s.
        """
        return self.B0 - self.J @ self.G_ref
