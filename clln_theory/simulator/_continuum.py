"""The continuum mode of the simulator: the ODE (5) integrated over each half period.

With the points of the active task cycled fast, the discrete steps (7) average to

    dG/dt = ⟨w_p [A₀ (ΔV_F,p² − ΔV_C,p²) + B]⟩_p,     w_p = t_p / t_h,               (5)

integrated with `scipy.integrate.solve_ivp`, the gates projected onto the gate box. The nudge
and the step weight ``w_p`` of every point are those of the discrete steps
(`clln_theory.electrical.clamping`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import ConvergenceError, ProtocolError
from ._kernels import eval_bias
from ._runner import Runner

__all__ = ["run_continuum", "velocity"]


def velocity(run: Runner, G: np.ndarray, k: int, r0: float) -> np.ndarray:
    """Right-hand side of the continuum dynamics (5) for task ``k`` (mean over its points).

    Parameters
    ----------
    run : Runner
        The compiled simulation.
    G : (n_gates,) ndarray
        Gate voltages, V.
    k : int
        Index of the trained task.
    r0 : float
        Overclamping hold time per volt of error, s/V (unused for standard clamping).

    Returns
    -------
    (n_gates,) ndarray
        ``dG/dt``, V/s, projected onto the gate box (no velocity out of a face it touches).
    """
    prot = run.protocol
    task = run.tasks[k]
    ker = run.kernels[k]
    rule = run.rules[k]
    b = run.B if run.Bfun is None else eval_bias(run.Bfun, G, run.n)
    assert b is not None  # a Runner holds a constant bias B or a bias callable Bfun
    v = np.zeros(run.n)
    Gl = G.tolist() if run.engine == "fast" else G
    for p in range(task.n_points):
        if run.engine == "fast":
            O, VF = ker.output(Gl, p), None
        else:
            O, VF = ker.output(G, p)
        nudge, w = rule(O, task.labels[p])  # (1) or (F5), hinge of Appendix A
        if w == 0.0:
            continue
        if prot.overclamp:
            w = r0 * w / prot.t_h  # t_p / t_h with t_p = r0 |delta|
        if np.any(nudge):
            v += w * (prot.A0 * ker.signal(G, p, O, VF, nudge) + b)
        else:
            v += w * b
    v /= task.n_points
    if run.limits is not None:  # projected dynamics on the gate box
        v = np.where((G <= run.limits[0]) & (v < 0), 0.0, v)
        v = np.where((G >= run.limits[1]) & (v > 0), 0.0, v)
    return v


def _half(run: Runner, G: np.ndarray, h: int, t0: float, t_eval: np.ndarray, ivp: dict):
    """Integrate half period ``h`` from ``G``; returns ``(G_end, times, samples)``."""
    k = run.task_of_half(h)
    r0 = run.r0(G, k) if run.protocol.overclamp else 0.0
    t1 = t0 + run.tau / 2.0

    def integrate(t_eval):
        sol = solve_ivp(
            lambda t, y: velocity(run, run.clip(y), k, r0), (t0, t1), G, t_eval=t_eval, **ivp
        )
        if not sol.success:
            raise ConvergenceError(
                f"The continuum integration of half period {h} failed: {sol.message}; try "
                "scheme='Radau' or the discrete mode."
            )
        return sol

    sol = integrate(t_eval)
    if sol.t.size and sol.t[-1] == t1:
        G_end = run.clip(sol.y[:, -1])
    else:  # t_eval did not include t1: integrate the end point alone
        G_end = run.clip(integrate(None).y[:, -1])
    return G_end, list(sol.t), [run.clip(y) for y in sol.y.T]


def run_continuum(
    run: Runner,
    G0: np.ndarray,
    n_halves: int,
    stride: int,
    *,
    rtol: float,
    atol: float,
    scheme: str,
) -> tuple[list[float], list[Any], list[int]]:
    """Integrate (5) over ``n_halves`` half periods from ``G0``.

    Parameters
    ----------
    run : Runner
        The compiled simulation.
    G0 : (n_gates,) ndarray
        Initial gates, V.
    n_halves : int
        Number of half periods.
    stride : int
        Sample every ``stride`` steps ``t_h`` (at least once per half period, always at its end).
    rtol : float
        Relative tolerance of `solve_ivp` (checked, > 0).
    atol : float
        Absolute tolerance of `solve_ivp`, V (checked, > 0).
    scheme : str
        Integration method of `solve_ivp` (``"RK45"``, ``"Radau"``, ...), checked.

    Returns
    -------
    times : list of float
        Sample times, s.
    samples : list of ndarray
        Gates at the sample times, V.
    active : list of int
        Task trained up to each sample.

    Raises
    ------
    ConvergenceError
        `solve_ivp` failed.
    ProtocolError
        The run has update or node-voltage noise (the continuum has no noise model).
    """
    if run.noise is not None:
        raise ProtocolError("Noise (update_noise, voltage_noise) needs mode='discrete'.")
    tau = run.tau
    G = G0.copy()
    times, samples, active = [0.0], [G.copy()], [0]
    dt = stride * run.protocol.t_h
    ivp = {"method": scheme, "rtol": rtol, "atol": atol}
    for h in range(n_halves):
        t0 = h * tau / 2.0
        n_s = max(1, round((tau / 2.0) / dt))
        t_eval = t0 + dt * np.arange(1, n_s + 1)
        t_eval[-1] = t0 + tau / 2.0
        G, ts, ss = _half(run, G, h, t0, t_eval, ivp)
        times.extend(ts)
        samples.extend(ss)
        active.extend([run.task_of_half(h)] * len(ts))
    return times, samples, active
