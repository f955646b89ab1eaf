"""Errors and scores of trained networks: (A1)-(A4), the cycle span (4), accuracy, hinge loss.

Small pure functions of outputs ``O`` and labels ``L`` (volts), shared by the theory, the
simulator and the paper pipeline: the one place these formulas are written. Nothing here imports
the data model; a task is read through its ``labels`` and ``kind`` attributes (`task_errors`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import choice, real_array, validator
from ._metrics import cycle_span_of, mean_error, task_error_of
from .errors import ArgumentError, ShapeError, TaskError

__all__ = [
    "accuracy",
    "combined_error",
    "cycle_span",
    "hinge_loss",
    "task_error",
    "task_errors",
    "two_task_error",
]


@validator
def check_pair(O: Any, labels: Any, name: str = "O") -> tuple[np.ndarray, np.ndarray]:
    """Outputs and labels as float arrays of matching trailing axes, finite (else `ShapeError`).

    ``labels`` is (n_points,) or, for a multi-output task, (n_points, n_outputs); ``name`` is
    the caller's name of the outputs.
    """
    O = real_array(O, name, error=ShapeError)
    labels = real_array(labels, "labels", error=ShapeError)
    if labels.ndim not in (1, 2) or labels.size == 0:
        raise ShapeError(
            "Argument `labels` must have shape (n_points,) or (n_points, n_outputs), but has "
            f"shape {labels.shape}."
        )
    if O.shape[O.ndim - labels.ndim :] != labels.shape or O.ndim < labels.ndim:
        raise ShapeError(
            f"Argument `{name}` must have shape (..., {', '.join(map(str, labels.shape))}) to "
            f"match `labels`, but has shape {O.shape}."
        )
    return O, labels


@validator
def check_errors(E1: Any, name1: str, E2: Any, name2: str) -> tuple[np.ndarray, np.ndarray]:
    """Two task errors as float arrays (V², finite, >= 0, broadcastable)."""
    a = real_array(E1, name1)
    b = real_array(E2, name2)
    for x, name in ((a, name1), (b, name2)):
        if np.any(x < 0):
            raise ArgumentError(
                f"Argument `{name}` must be a task error >= 0 (V^2), but has value "
                f"{float(x[x < 0].flat[0])!r}."
            )
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"Arguments `{name1}` and `{name2}` must have broadcastable shapes, but have "
            f"{a.shape} and {b.shape}."
        ) from None
    return a, b


@validator
def class_labels(labels: np.ndarray, name: str = "labels") -> np.ndarray:
    """Checked classification ``labels``, refused (`TaskError`, as `Task` refuses them) when one
    is 0: the sign of a label is its class, and 0 has none."""
    if np.any(labels == 0.0):
        raise TaskError(
            f"Argument `{name}`: classification labels must be nonzero (their sign is the "
            "class), but a label is 0."
        )
    return labels


def _point_axes(labels: np.ndarray) -> tuple[int, ...]:
    """The trailing axes of points (and targets) to average over."""
    return tuple(range(-labels.ndim, 0))


def task_error(O: Any, labels: Any, *, kind: str = "regression") -> np.ndarray | float:
    """Task error ``E = (1/N) sum_i delta_i**2`` (A1), or its classification form (A2).

    For a multi-output task (2-D labels) ``E = (1/N) sum_i sum_j delta_ij**2``: the squared
    errors of the targets add, point by point.

    Parameters
    ----------
    O : (..., N) or (..., N, n_outputs) array_like
        Outputs, V (leading axes: e.g. time).
    labels : (N,) or (N, n_outputs) array_like
        Labels ``L_i``, V.
    kind : {"regression", "classification"}
        ``"classification"`` zeroes points beyond their label in the label's direction:
        ``delta_i**2 Theta(L_i delta_i)`` (A2), ``delta = L - O``; its labels must be nonzero
        (TaskError, as :class:`~clln_theory.model.Task` refuses them).

    Returns
    -------
    E : float or (...) ndarray
        V².

    Examples
    --------
    >>> task_error([0.30, 0.15], [0.31, 0.14])
    0.0001...
    >>> task_error([0.5, -0.2], [0.1, -0.1], kind="classification")  # both past their labels
    0.0
    """
    kind = choice(kind, "kind", ("regression", "classification"))
    O, labels = check_pair(O, labels)
    if kind == "classification":
        class_labels(labels)
    return task_error_of(O, labels, kind == "classification")


def task_errors(outputs: Any, task: Any) -> np.ndarray:
    """Task error (A1) of a task's outputs, or its hinge form (A2) for a classification task.

    `task_error` with the labels and the kind read from ``task``.

    Parameters
    ----------
    outputs : (..., n_points) or (..., n_points, n_outputs) array_like
        Free outputs ``O`` of the task's points, V (leading axes: e.g. time).
    task : Task
        Any object with ``labels`` (``(n_points,)`` or ``(n_points, n_outputs)``, V) and
        ``kind`` (``"regression"`` or
        ``"classification"``), e.g. a `clln_theory.model.tasks.Task`.

    Returns
    -------
    E : (...) ndarray
        ``mean_i δ_i²`` (A1) or ``mean_i δ_i² Θ(L_i δ_i)`` (A2), V² (0-d for one sample).

    Raises
    ------
    ShapeError
        ``outputs`` does not end in an axis of the task's ``n_points``, or is not finite.

    Examples
    --------
    >>> from clln_theory.model.tasks import DataPoint, Task
    >>> t = Task([DataPoint({"a": 0.0}, 0.3), DataPoint({"a": 1.0}, -0.3)], "o",
    ...          kind="classification")
    >>> float(task_errors([0.5, -0.1], t))  # first point beyond its label: not counted
    0.02
    """
    if not (hasattr(task, "kind") and hasattr(task, "labels")):
        raise ArgumentError(f"Argument `task` must be a Task, but is {type(task).__name__}.")
    kind = choice(task.kind, "kind", ("regression", "classification"))
    O, labels = check_pair(outputs, task.labels, "outputs")
    E = task_error_of(O, labels, kind == "classification", "`outputs` and `task`")
    return np.asarray(E)  # (A1)/(A2)


def two_task_error(E_alpha: Any, E_beta: Any) -> Any:
    """Error of a two-task experiment ``E = (E_alpha + E_beta) / 2`` (A3).

    Parameters
    ----------
    E_alpha, E_beta : float or array_like
        Task errors (A1)/(A2) of tasks α and β, V².

    Returns
    -------
    E : float or ndarray
        V².

    Examples
    --------
    >>> round(two_task_error(1e-4, 3e-4), 12)
    0.0002
    """
    return mean_error(*check_errors(E_alpha, "E_alpha", E_beta, "E_beta"))  # (A3)


def combined_error(E_half: Any, E_full: Any) -> Any:
    """Combined error ``E_bar = (E(tau/2) + E(tau)) / 2`` on the limit cycle (A4).

    Parameters
    ----------
    E_half, E_full : float or array_like
        The two-task error (A3) at the end of the alpha half-period (``t = tau/2``) and at the
        end of the period (``t = tau``), V².

    Examples
    --------
    >>> round(combined_error(2e-4, 4e-4), 12)
    0.0003
    """
    return mean_error(*check_errors(E_half, "E_half", E_full, "E_full"))  # (A4)


def cycle_span(G_half: Any, G_full: Any) -> Any:
    """Cycle span ``D = ||G(tau/2) - G(tau)||`` (4) (the paper's data files hold ``D**2``).

    Parameters
    ----------
    G_half, G_full : (..., n_gates) array_like
        Gate vectors at ``tau/2`` and ``tau`` on the limit cycle, V.

    Returns
    -------
    D : float or (...) ndarray
        V.

    Examples
    --------
    >>> cycle_span([3.0, 3.5], [3.3, 3.1])
    0.5
    """
    a = real_array(G_half, "G_half", error=ShapeError)
    b = real_array(G_full, "G_full", error=ShapeError)
    if a.shape != b.shape or a.ndim == 0:
        raise ShapeError(
            f"Arguments `G_half` and `G_full` must have the same shape (..., n_gates), but have "
            f"{a.shape} and {b.shape}."
        )
    return cycle_span_of(a, b)


def accuracy(O: Any, labels: Any) -> Any:
    """Classification accuracy: fraction of points with ``sign(O) = sign(L)``.

    The class of a point is the sign of its label (Appendix A, ``L+ = -L-``); an output exactly
    0 is counted wrong.

    Parameters
    ----------
    O : (..., N) or (..., N, n_outputs) array_like
        Outputs, V.
    labels : (N,) or (N, n_outputs) array_like
        Labels, V (every target of every point counts once).

    Returns
    -------
    float or (...) ndarray
        Fraction in [0, 1].

    Raises
    ------
    ShapeError
        Mismatched shapes or non-finite values.
    TaskError
        A label is 0 (its sign is its class), as :class:`~clln_theory.model.Task` refuses it.

    Examples
    --------
    >>> accuracy([0.02, -0.01, 0.01, 0.0], [0.018, -0.018, -0.018, 0.018])
    0.5
    """
    O, labels = check_pair(O, labels)
    class_labels(labels)
    acc = np.mean(np.sign(O) == np.sign(labels), axis=_point_axes(labels))
    return float(acc) if np.ndim(acc) == 0 else acc


def hinge_loss(O: Any, labels: Any) -> Any:
    """Shifted hinge loss ``(1/N) sum_i max(0, sign(L_i) (L_i - O_i))``, V.

    The hinge implied by the classification protocol of Appendix A: a point is penalized by how
    far its output falls short of its label in the label's direction, and not at all beyond it.
    (The paper plots a "hinge loss" in Fig. 5C without defining it; this is the linear form of
    the hinge of (A2).)

    Parameters
    ----------
    O : (..., N) or (..., N, n_outputs) array_like
        Outputs, V.
    labels : (N,) or (N, n_outputs) array_like
        Labels, V (every target of every point counts once).

    Returns
    -------
    float or (...) ndarray
        V.

    Raises
    ------
    ShapeError
        Mismatched shapes or non-finite values.
    TaskError
        A label is 0 (its sign is its class), as :class:`~clln_theory.model.Task` refuses it.

    Examples
    --------
    >>> hinge_loss([0.02, -0.01], [0.018, -0.018])  # the second falls 8 mV short
    0.004
    """
    O, labels = check_pair(O, labels)
    class_labels(labels)
    h = np.maximum(0.0, np.sign(labels) * (labels - O)).mean(axis=_point_axes(labels))
    return float(h) if np.ndim(h) == 0 else h
