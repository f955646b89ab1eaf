"""Documented limits of the linear theory: bias (from model.bias), periods, trajectory size.

Beyond these the float64 arithmetic would overflow, or a call would allocate more memory than a
workstation has; each is refused with an `ArgumentError` naming the argument before anything
large is allocated. Public names for the theory's modules; not part of the package's API.
"""

from __future__ import annotations

from ..errors import ArgumentError
from ..model.bias import MAX_BIAS, bias_vector

__all__ = [
    "MAX_BIAS",
    "MAX_PERIODS",
    "MAX_SAMPLE_VALUES",
    "MIN_SOLUTION_TOL",
    "bias_vector",
    "check_periods",
    "check_samples",
]


#: Largest number of periods τ in one call (a τ sweep): each period holds a few ``(n,)``
#: results and the solver works through them in chunks; 10⁶ periods of a two-gate pair take
#: about a second, a larger sweep is better split.
MAX_PERIODS = 1_000_000

#: Largest number of gate values in one sampled trajectory (periods × samples × gates): 10⁸
#: float64 values are 800 MB.
MAX_SAMPLE_VALUES = 100_000_000


#: Smallest ``tol`` of ``nearest_solution``, V: the outputs of a ~1 V network are resolved to
#: ~1e-16 V in float64, so a smaller tolerance can never be met (a ConvergenceError every time).
MIN_SOLUTION_TOL = 1e-15


def check_periods(n_periods: int, name: str = "tau") -> None:
    """Refuse more than `MAX_PERIODS` periods in one call (ArgumentError naming ``name``)."""
    if n_periods > MAX_PERIODS:
        raise ArgumentError(
            f"Argument `{name}` holds {n_periods} periods, more than MAX_PERIODS = {MAX_PERIODS};"
            " split the sweep."
        )


def check_samples(m: int, n_periods: int, n: int, name: str = "times_or_n") -> None:
    """Refuse a trajectory of more than `MAX_SAMPLE_VALUES` values (``m`` samples of
    ``n_periods`` periods of ``n`` gates) with an ArgumentError naming ``name``."""
    if m * max(n_periods, 1) * max(n, 1) > MAX_SAMPLE_VALUES:
        raise ArgumentError(
            f"Argument `{name}` asks for {m} samples of {n_periods} period(s) of {n} gates, more "
            f"than MAX_SAMPLE_VALUES = {MAX_SAMPLE_VALUES} values; sample fewer times."
        )
