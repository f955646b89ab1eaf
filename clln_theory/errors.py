"""Typed errors and warnings of clln_theory.

Every public function validates its inputs at the boundary and raises one of these, with a
one-sentence message: what was expected, what was received, what to do. Each subclasses the
builtin a caller would naturally catch, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "AccuracyWarning",
    "ArgumentError",
    "CLLNError",
    "ConfigError",
    "ConvergenceError",
    "DataFormatError",
    "DeviceError",
    "Failure",
    "FallbackWarning",
    "FileWriteError",
    "GateBoxWarning",
    "MissingDependencyError",
    "NetworkError",
    "NumericalRangeError",
    "ProtocolError",
    "ShapeError",
    "SingularSystemError",
    "StabilityError",
    "SymbolicSizeError",
    "TaskError",
]


class CLLNError(Exception):
    """Base class of every error raised on purpose by clln_theory."""


class ArgumentError(CLLNError, ValueError, TypeError):
    """An option or number has a wrong type or a value out of its range (a ``tol`` of -1, an
    ``eta`` of ``"x"``, a ``num`` beyond the documented limit).

    Subclasses both ``ValueError`` and ``TypeError`` so that either ``except`` catches it.
    """


class NumericalRangeError(CLLNError, FloatingPointError):
    """Valid-looking inputs whose arithmetic left float64's range (overflow to inf, or NaN)."""


class ShapeError(CLLNError, ValueError):
    """An array argument has the wrong shape, or sizes of two arguments do not match."""


class NetworkError(CLLNError, ValueError):
    """A network is malformed: unknown or floating node, self-loop, duplicate edge, ..."""


class DeviceError(CLLNError, ValueError):
    """A device is used outside its domain, e.g. a conductance K <= 0 at the given gate."""


class TaskError(CLLNError, ValueError):
    """A task or data point is malformed or inconsistent with its network."""


class ProtocolError(CLLNError, ValueError):
    """An unknown or inconsistent training protocol (clamping mode, step, period)."""


class ConfigError(CLLNError, ValueError):
    """An experiment description (TOML) has a missing, unknown or ill-typed key."""


class DataFormatError(CLLNError, ValueError):
    """A measured-data file is missing or malformed (the message names the file and row)."""


class FileWriteError(CLLNError, OSError):
    """A file could not be written: a full disk (ENOSPC), a read-only file system (EROFS), no
    permission, a folder in the way. The message names the file; the file keeps its previous
    content (every file the package writes is replaced atomically), and ``errno`` and
    ``filename`` are those of the `OSError` it stands for.

    Built like an `OSError`: ``FileWriteError(errno, message, filename)``; ``str()`` is the
    message alone (one sentence).
    """

    def __str__(self) -> str:
        return str(self.strerror)


class SingularSystemError(CLLNError, np.linalg.LinAlgError):
    """A linear system has no unique solution and a pseudoinverse would hide it."""


class StabilityError(SingularSystemError):
    """Linear dynamics with a growing or neutral mode where a limit cycle needs decay (a state
    dependent bias whose ``M - J`` has an eigenvalue with real part <= 0): the cycle does not
    exist. The message names the eigenvalue."""


class ConvergenceError(CLLNError, RuntimeError):
    """An iterative solver (Newton, shooting) did not converge within its budget."""


class MissingDependencyError(CLLNError, ImportError):
    """An optional extra is not installed (pandas for ``to_dataframe``); the message names the
    extra and the ``pip install`` line that brings it."""


class SymbolicSizeError(CLLNError, ValueError):
    """A network is too large for exact symbolic elimination to be practical."""


class AccuracyWarning(UserWarning):
    """A result is less accurate than requested; the message carries the estimated error."""


class FallbackWarning(UserWarning):
    """A solver left its first route for a slower one that still converged (Newton shooting
    for a limit cycle fell back to plain iteration): the result is valid, the time was longer.
    The message names the period, the route and the budget left."""


class GateBoxWarning(UserWarning):
    """A predicted orbit leaves the physical gate range: the linear theory's orbit without limits
    leaves the gate box [G_min, G_max], or drives a conductance to ``<= 0``.

    Raised by the faces that know the gate range: `periodic_orbit` and `cyclic_orbit` given
    ``box`` (where the orbit without limits leaves it, the result is the cycle pinned at the
    limits) and `compare_theory_simulation` (where the theory's orbit takes a gate to or below
    the threshold of its device, so the circuit it predicts does not exist). Never raised for
    an orbit that stays in range.
    """


@dataclass(frozen=True, slots=True)
class Failure:
    """One item of a batch, sweep or comparison that failed: what, why and where.

    Every result that carries a list of failures (``failures``) holds these records.

    Parameters
    ----------
    what : str
        What failed, e.g. ``"simulation"``, ``"theory"``, ``"case"``.
    why : str
        The message of the error that stopped it (one sentence).
    where : str
        Which item, in the result's own terms, e.g. ``"tau = 0.1 s"`` or ``"case 3"``.
    kind : str
        The class name of the error (``"ConvergenceError"``), or ``""`` if none was raised.
    """

    what: str
    why: str
    where: str
    kind: str = ""

    def __post_init__(self) -> None:
        for name in ("what", "why", "where", "kind"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ArgumentError(
                    f"Argument `{name}` of Failure must be a str, but is {type(value).__name__}."
                )

    def __str__(self) -> str:
        return f"{self.what} failed at {self.where}: {self.why}"
