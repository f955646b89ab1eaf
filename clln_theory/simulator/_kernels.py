"""The step kernels of the simulator: one half period of discrete learning steps (7).

Two engines solve the free (and clamped) state of each step:

``"general"`` (`GeneralTask`)
    Any network: the damped Newton of `clln_theory.electrical.circuit` for the free and the
    clamped state of every step (warm-started from the previous step of the same point).
``"fast"`` (`FastTask`)
    Networks whose free state has a single interior node, the output (the paper's 2+1
    network): the current law at that node is solved in closed form (`LinearDevice`: linear;
    `OhmicMOSFET`: quadratic) or by a safeguarded scalar Newton (`ThreeRegimeMOSFET`) in plain
    ``math``, and the clamped state needs no solve at all. It gives the same answers as
    ``"general"`` to the solver tolerance (``tests/simulator/test_simulate.py``) at 20-100x the
    speed.

`half_fast` and `half_general` run the steps of one half period; both read the clamping rule
from `clln_theory.electrical._clamping` (through `TrainingProtocol.point_rule`), so the rule is the
theory's, step for step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from ..electrical._circuit import CircuitEngine
from ..electrical._clamping import output_split
from ..errors import ConvergenceError, DeviceError, ShapeError
from ..model.devices import LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET
from ..model.network import Network
from ..model.tasks import Task
from .protocol import StepNoise, TrainingProtocol

__all__ = [
    "FastTask",
    "GeneralTask",
    "HalfPeriodRun",
    "eval_bias",
    "fast_applies",
    "half_fast",
    "half_general",
    "refuse_below_threshold",
]


class HalfPeriodRun(Protocol):
    """What the half-period functions read of a compiled simulation.

    `clln_theory.simulator._runner.Runner` is one (that module imports this one, so the type is
    this protocol rather than the class). ``kernels`` holds one step kernel per task
    (`FastTask`, `GeneralTask` or `clln_theory.simulator._sparse.SparseLinearTask`) and
    ``rules`` the nudge of each task's points.
    """

    network: Network
    tasks: tuple[Task, ...]
    protocol: TrainingProtocol
    kernels: list[Any]
    rules: list[Callable[[float, float], tuple[float, float]]]
    n: int
    n_half: int
    B: np.ndarray | None
    Bfun: Callable[[np.ndarray], Any] | None
    limits: tuple[np.ndarray, np.ndarray] | None
    linear_device: bool
    noise: StepNoise | None


class GeneralTask:
    """Free/clamped Newton solves of one task on any network (the ``"general"`` engine).

    Parameters
    ----------
    network : Network
        Any device.
    task : Task
        The task whose points are solved; the Newton solves of each point are warm-started
        from that point's previous solution.
    """

    def __init__(self, network: Network, task: Task) -> None:
        self.network, self.task = network, task
        free_nodes = task.input_nodes
        clamped_nodes = task.input_nodes + task.output_nodes
        self.free = CircuitEngine(network, network.imposed_indices(free_nodes), free_nodes)
        self.clamped = CircuitEngine(network, network.imposed_indices(clamped_nodes), clamped_nodes)
        self.out = np.array([network.node(n) for n in task.output_nodes], dtype=np.intp)
        self.split = output_split(len(task.output_nodes))
        self.diff = task.is_differential
        self.multi = task.is_multi_output
        if self.multi:  # O = V[out] @ U; a nudge moves the output nodes by C @ nudge
            self.U, self.C = task.output_matrices()
        self.Vf: list[np.ndarray | None] = [None] * task.n_points
        self.Vc: list[np.ndarray | None] = [None] * task.n_points
        ge = network.gate_edges
        self.ta, self.hb = network.tail[ge], network.head[ge]

    def output(self, G: np.ndarray, p: int) -> tuple[float, np.ndarray]:
        """Free output of point ``p`` at ``G``.

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.
        p : int
            Point index.

        Returns
        -------
        O : float or (n_outputs,) ndarray
            Free output(s), V.
        V : (n_nodes,) ndarray
            Free node voltages, V.
        """
        sol = self.free.solve_checked(G, self.task.inputs[p], self.Vf[p])
        V = sol.V
        self.Vf[p] = V
        out = self.out
        if self.multi:
            return V[out] @ self.U, V
        O = V[out[0]] - V[out[1]] if self.diff else V[out[0]]
        return float(O), V

    def signal(
        self, G: np.ndarray, p: int, O: float, VF: np.ndarray, nudge: float, noise: Any = None
    ) -> np.ndarray:
        """``ΔV_F² − ΔV_C²`` per gate for a clamped output moved by ``nudge``.

        Parameters
        ----------
        G : (n_gates,) ndarray
            Gate voltages, V.
        p : int
            Point index.
        O : float or (n_outputs,) ndarray
            Free output(s), V (unused: the general engine reads the free voltages ``VF``).
        VF : (n_nodes,) ndarray
            Free node voltages of the point, V.
        nudge : float or (n_outputs,) ndarray
            ``O_C − O_F``, V, shared by the output nodes as in `output_split` (one entry per
            target of a multi-output task).
        noise : StepNoise, optional
            Adds its node-voltage measurement noise to the free and the clamped voltages.

        Returns
        -------
        (n_gates,) ndarray
            V².
        """
        vals = VF[self.out] + (self.C @ nudge if self.multi else self.split * nudge)
        guess = self.Vc[p] if self.Vc[p] is not None else VF
        sol = self.clamped.solve_checked(G, np.concatenate([self.task.inputs[p], vals]), guess)
        self.Vc[p] = sol.V
        VC = sol.V
        if noise is not None:
            VF = VF + noise.voltages(VF.size)
            VC = VC + noise.voltages(VC.size)
        dF = VF[self.ta] - VF[self.hb]
        dC = VC[self.ta] - VC[self.hb]
        return dF * dF - dC * dC


_LN10 = math.log(10.0)


class FastTask:
    """Single interior node (the output): closed-form or scalar-Newton current law in ``math``.

    The ``"fast"`` engine (see `fast_applies`). Per point it keeps the fixed conductances into
    the output and the learning edges ``(gate, u, S, V_T)`` joining it to imposed nodes at
    voltage ``u``.

    Parameters
    ----------
    network : Network
        `LinearDevice`, `OhmicMOSFET` or `ThreeRegimeMOSFET`.
    task : Task
        A task whose only free node is its single output node.
    tol_step : float
        Newton step tolerance, V.
    rtol : float
        Relative current tolerance.
    atol : float
        Absolute current tolerance, A.
    """

    def __init__(
        self, network: Network, task: Task, tol_step: float, rtol: float, atol: float
    ) -> None:
        dev = network.device
        if type(dev) is LinearDevice:
            self.kind = "linear"
        elif type(dev) is OhmicMOSFET:
            self.kind = "ohmic"
        elif type(dev) is ThreeRegimeMOSFET:
            self.kind = "three"
            self.Vtr = float(dev.transition)
            self.n = float(dev.slope)
        else:  # `fast_applies` admits these three devices only
            raise DeviceError(f"The fast engine does not model {type(dev).__name__}.")
        self.tol_step, self.rtol, self.atol = tol_step, rtol, atol
        self.n_gates = network.n_gates
        x = network.node(task.output_nodes[0])
        imp = {network.node(n): k for k, n in enumerate(task.input_nodes)}
        gate_of_edge = {int(e): j for j, e in enumerate(network.gate_edges)}
        self.x_node, self.n_nodes = x, len(network.nodes)
        self.gate_nodes = []  # per point: the imposed node of each learning edge (noise)
        self.points = []
        for p in range(task.n_points):
            vals = task.inputs[p]
            Ksum = 0.0
            Ku = 0.0
            gates = []
            nodes = []
            lo, hi = math.inf, -math.inf
            for e, (a, b) in enumerate(zip(network.tail, network.head)):
                if a != x and b != x:
                    continue
                other = int(b if a == x else a)
                u = float(vals[imp[other]])
                lo, hi = min(lo, u), max(hi, u)
                if e in gate_of_edge:
                    j = gate_of_edge[e]
                    gates.append((j, u, float(network.S[j]), float(network.V_T[j])))
                    nodes.append(other)
                else:
                    Ksum += float(network.K_fixed[e])
                    Ku += float(network.K_fixed[e]) * u
            self.points.append((Ksum, Ku, tuple(gates), lo, hi))
            self.gate_nodes.append(tuple(nodes))
        self.x_prev: list[float | None] = [None] * task.n_points

    def output(self, G: Sequence[float], p: int) -> float:
        """Free output of point ``p`` at ``G``.

        Parameters
        ----------
        G : sequence of float
            Gate voltages, V (a list: the kernel computes in plain floats).
        p : int
            Point index.

        Returns
        -------
        float
            V.

        Raises
        ------
        ConvergenceError
            The current law at the output node has no physical root, or the scalar Newton did
            not converge.
        """
        Ksum, Ku, gates, lo, hi = self.points[p]
        if self.kind == "linear":
            num, den = Ku, Ksum
            for j, u, S, VT in gates:
                K = S * (G[j] - VT)
                num += K * u
                den += K
            return num / den
        if self.kind == "ohmic":
            return self._ohmic_root(G, Ksum, Ku, gates)
        # Three-regime device: where every gate edge is ohmic at the ohmic root, that root is the
        # exact answer (the two models coincide there); otherwise safeguarded scalar Newton.
        x = self._ohmic_root(G, Ksum, Ku, gates, strict=False)
        if x is not None and lo <= x <= hi:
            Vtr = self.Vtr
            for j, u, _S, VT in gates:
                Vov = G[j] - VT - (x if x < u else u)
                if Vov < Vtr or abs(u - x) >= Vov:
                    break
            else:
                return x
        x0 = self.x_prev[p]
        if x0 is None or not (lo <= x0 <= hi):
            x0 = x if (x is not None and lo <= x <= hi) else 0.5 * (lo + hi)
        x = self._newton(G, Ksum, Ku, gates, lo, hi, x0)
        self.x_prev[p] = x
        return x

    def signal(self, G: Any, p: int, O: float, VF: Any, nudge: float) -> np.ndarray:
        """``ΔV_F² − ΔV_C²`` per gate for the output moved by ``nudge`` (no solve needed).

        Parameters
        ----------
        G : sequence of float
            Gate voltages, V (unused: only the output moves).
        p : int
            Point index.
        O : float
            Free output, V.
        VF : None
            Unused (the fast engine keeps no node voltages).
        nudge : float
            ``O_C − O_F``, V.

        Returns
        -------
        (n_gates,) ndarray
            V².
        """
        s = np.zeros(self.n_gates)
        for j, u, _S, _VT in self.points[p][2]:
            s[j] = (u - O) ** 2 - (u - O - nudge) ** 2
        return s

    @staticmethod
    def _ohmic_root(G, Ksum, Ku, gates, strict: bool = True):
        """Root of Σ K (u − x) + Σ S [(G − V_T)(u − x) − (u² − x²)/2] = 0 inside [min u, max u].

        The current law with Eq. (2) devices is the quadratic ``a x² + b x + c = 0``; the
        physical root (current decreasing in x) is the smaller one, in the cancellation-free
        form ``2c / (−b + sqrt(b² − 4ac))``.
        """
        a = 0.0
        b = -Ksum
        c = Ku
        for j, u, S, VT in gates:
            ov = S * (G[j] - VT)
            a += 0.5 * S
            b -= ov
            c += ov * u - 0.5 * S * u * u
        if a == 0.0:
            return -c / b
        disc = b * b - 4.0 * a * c
        den = -b + math.sqrt(disc) if disc >= 0.0 else 0.0
        if den <= 0.0:
            if not strict:
                return None
            raise ConvergenceError(
                "The ohmic current law at the output node has no physical root (gates far below "
                "threshold); keep the gates above threshold."
            )
        return 2.0 * c / den

    def _newton(self, G, Ksum, Ku, gates, lo, hi, x) -> float:
        Vtr, n = self.Vtr, self.n
        for _ in range(100):
            h = Ku - Ksum * x  # net current into x
            dh = -Ksum
            scale = abs(Ku - Ksum * x)
            for j, u, S, VT in gates:
                if u >= x:
                    s, Vs, Vds = 1.0, x, u - x
                else:
                    s, Vs, Vds = -1.0, u, x - u
                Vov = G[j] - VT - Vs
                Vo = Vov if Vov >= Vtr else Vtr
                if Vds < Vo:
                    f = S * (Vo - 0.5 * Vds) * Vds
                    fov = S * Vds
                    fds = S * (Vo - Vds)
                else:
                    f = 0.5 * S * Vo * Vo
                    fov = S * Vo
                    fds = 0.0
                if Vov < Vtr:
                    g = 10.0 ** ((Vov - Vtr) / n)
                    f *= g
                    fov = f * _LN10 / n
                    fds *= g
                h += s * f
                dh -= (fov + fds) if s > 0 else fds
                if f > scale:
                    scale = f
            if h > 0.0:
                lo = x
            elif h < 0.0:
                hi = x
            else:
                return x
            if dh < 0.0:
                x_new = x - h / dh
                if not (lo < x_new < hi):
                    x_new = 0.5 * (lo + hi)
            else:
                x_new = 0.5 * (lo + hi)
            step = abs(x_new - x)
            x = x_new
            if step <= self.tol_step and abs(h) <= self.rtol * scale + self.atol:
                return x
            if hi - lo <= self.tol_step:
                return 0.5 * (lo + hi)
        raise ConvergenceError(
            f"Scalar Newton on the current law at the output node did not converge in 100 "
            f"iterations (residual {abs(h):.3g} A); check that the gates are in range."
        )


def fast_applies(network: Network, tasks: Sequence[Task]) -> bool:
    """Whether the ``"fast"`` engine applies.

    Parameters
    ----------
    network : Network
        The trained network.
    tasks : sequence of Task
        The simulated tasks.

    Returns
    -------
    bool
        True for a `LinearDevice`, `OhmicMOSFET` or `ThreeRegimeMOSFET` network whose every
        task has a single output node that is the only free node.
    """
    if type(network.device) not in (LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET):
        return False
    for t in tasks:
        if t.is_differential or t.is_multi_output:
            return False
        interior = set(network.nodes) - set(t.input_nodes)
        if interior != {t.output_nodes[0]}:
            return False
    return True


def refuse_below_threshold(network: Network, G: np.ndarray, t: float) -> None:
    """Refuse a linear device's gate at or below threshold (its conductance would be <= 0).

    Parameters
    ----------
    network : Network
        With a `LinearDevice`.
    G : (n_gates,) ndarray
        Gate voltages after a step, V.
    t : float
        Time of the step, s (for the message).

    Raises
    ------
    DeviceError
        Naming the edge, its gate and the time.
    """
    device = network.device
    if not isinstance(device, LinearDevice):  # only a linear device's conductance turns <= 0
        return
    bad = np.flatnonzero(device.conductance(G, network.S, network.V_T) <= 0)
    if bad.size:
        j = int(bad[0])
        raise DeviceError(
            f"Gate of edge {network.gate_names[j]!r} fell to {G[j]:.6g} V, at or below "
            f"its threshold, at t = {t:.6g} s (linear device: conductance <= 0); add gate "
            "limits above V_T or reduce the bias."
        )


def add_update_noise(run: HalfPeriodRun, noise: StepNoise, G: np.ndarray, t: float) -> np.ndarray:
    """``G`` plus one step of update noise, clipped to the gate box (and checked for a linear
    device's threshold).

    Parameters
    ----------
    run : HalfPeriodRun
        The compiled simulation (its gate box and device).
    noise : StepNoise
        Its noise, with update noise.
    G : (n_gates,) ndarray
        Gates after the learning step, V.
    t : float
        Time of the step, s (for the message of a gate below threshold).

    Returns
    -------
    (n_gates,) ndarray
        V.
    """
    G = G + noise.update()
    if run.limits is not None:
        G = np.clip(G, run.limits[0], run.limits[1])
    if run.linear_device:
        refuse_below_threshold(run.network, G, t)
    return G


def half_fast(
    run: HalfPeriodRun, G: np.ndarray, k: int, r0: float, record: int, t0: float, offset: int
) -> tuple[np.ndarray, list[float], list[list[float]]]:
    """The steps of one half period with the fast engine, in plain floats.

    Parameters
    ----------
    run : HalfPeriodRun
        The compiled simulation (protocol, bias, gate box, kernels).
    G : (n_gates,) ndarray
        Gates at the start of the half period, V.
    k : int
        Index of the trained task.
    r0 : float
        Overclamping hold time per volt of error, s/V (unused for standard clamping).
    record : int
        Sample every ``record`` steps counted from the start of the run (0: never).
    t0 : float
        Time at the start of the half period, s.
    offset : int
        Steps taken before this half period.

    Returns
    -------
    G : (n_gates,) ndarray
        Gates at the end, V.
    times : list of float
        Sample times, s.
    samples : list of list of float
        Gates at the sample times, V.
    """
    prot = run.protocol
    ker = run.kernels[k]
    task = run.tasks[k]
    labels = task.labels.tolist()
    npts = task.n_points
    rule = run.rules[k]
    unit = r0 if prot.overclamp else prot.t_h  # hold time t_p = unit * weight
    A0, t_h = prot.A0, prot.t_h
    n = run.n
    Gl = G.tolist()
    Bl: list[float] = run.B.tolist() if run.B is not None else []  # [] when Bfun is given
    Bfun = run.Bfun
    clip = run.limits is not None
    lo: list[float] = []
    hi: list[float] = []
    if run.limits is not None:
        lo, hi = run.limits[0].tolist(), run.limits[1].tolist()
    points = ker.points
    out = ker.output
    rng = range(n)
    times: list[float] = []
    samples: list[list[float]] = []
    lin = run.linear_device
    noise = run.noise
    dW = eV = None  # the half period's noise, drawn at once (plain floats in the loop)
    if noise is not None:
        dW = noise.update_block(run.n_half)
        eV = noise.voltage_block(run.n_half, ker.n_nodes)
        vt = run.network.V_T.tolist()
    for step in range(run.n_half):
        p = step % npts
        x = out(Gl, p)
        shift, w = rule(x, labels[p])  # (1) or (F5), hinge of Appendix A
        tp = unit * w
        if tp != 0.0:
            xc = x + shift
            b = Bl if Bfun is None else eval_bias(Bfun, np.array(Gl), n).tolist()
            inc = [tp * b[j] for j in rng]
            c = tp * A0
            if eV is not None:  # measured node voltages
                eF, eC = eV[step]
                xo = ker.x_node
                for (j, u, _S, _VT), a in zip(points[p][2], ker.gate_nodes[p], strict=True):
                    dF = u + eF[a] - x - eF[xo]
                    dC = u + eC[a] - xc - eC[xo]
                    inc[j] += c * (dF * dF - dC * dC)  # (7)
            else:
                for j, u, _S, _VT in points[p][2]:
                    dF = u - x
                    dC = u - xc
                    inc[j] += c * (dF * dF - dC * dC)  # (7)
            for j in rng:
                g = Gl[j] + inc[j]
                if clip:
                    if g < lo[j]:
                        g = lo[j]
                    elif g > hi[j]:
                        g = hi[j]
                Gl[j] = g
            if lin:
                for j, _u, _S, VT in points[p][2]:
                    if Gl[j] <= VT:
                        refuse_below_threshold(run.network, np.array(Gl), t0 + (step + 1) * t_h)
        if dW is not None:  # update noise, Q t_h per step
            w_ = dW[step]
            for j in rng:
                g = Gl[j] + w_[j]
                if clip:
                    g = lo[j] if g < lo[j] else (hi[j] if g > hi[j] else g)
                Gl[j] = g
            if lin and any(Gl[j] <= vt[j] for j in rng):
                refuse_below_threshold(run.network, np.array(Gl), t0 + (step + 1) * t_h)
        if record and (offset + step + 1) % record == 0:
            times.append(t0 + (step + 1) * t_h)
            samples.append(list(Gl))
    return np.array(Gl), times, samples


def half_general(
    run: HalfPeriodRun, G: np.ndarray, k: int, r0: float, record: int, t0: float, offset: int
) -> tuple[np.ndarray, list[float], list[np.ndarray]]:
    """The steps of one half period with the general engine (Newton solves).

    Parameters
    ----------
    run : HalfPeriodRun
        The compiled simulation (protocol, bias, gate box, kernels).
    G : (n_gates,) ndarray
        Gates at the start of the half period, V.
    k : int
        Index of the trained task.
    r0 : float
        Overclamping hold time per volt of error, s/V (unused for standard clamping).
    record : int
        Sample every ``record`` steps counted from the start of the run (0: never).
    t0 : float
        Time at the start of the half period, s.
    offset : int
        Steps taken before this half period.

    Returns
    -------
    G : (n_gates,) ndarray
        Gates at the end, V.
    times : list of float
        Sample times, s.
    samples : list of ndarray
        Gates at the sample times, V.
    """
    prot = run.protocol
    ker = run.kernels[k]
    task = run.tasks[k]
    rule = run.rules[k]
    unit = r0 if prot.overclamp else prot.t_h  # hold time t_p = unit * weight
    G = np.array(G, dtype=float)
    times: list[float] = []
    samples: list[np.ndarray] = []
    for step in range(run.n_half):
        p = step % task.n_points
        O, VF = ker.output(G, p)
        nudge, w = rule(O, task.labels[p])  # (1) or (F5), hinge of Appendix A
        tp = unit * w
        if tp != 0.0:
            b = run.B if run.Bfun is None else eval_bias(run.Bfun, G, run.n)
            if run.noise is not None and run.noise.sigma_V > 0.0:  # measured node voltages
                s = ker.signal(G, p, O, VF, nudge, noise=run.noise)
            else:
                s = ker.signal(G, p, O, VF, nudge) if np.any(nudge) else 0.0
            G = G + tp * (prot.A0 * s + b)  # (7)
            if run.limits is not None:
                G = np.clip(G, run.limits[0], run.limits[1])
            if run.linear_device:
                refuse_below_threshold(run.network, G, t0 + (step + 1) * prot.t_h)
        if run.noise is not None and run.noise.L is not None:  # update noise, Q t_h per step
            G = add_update_noise(run, run.noise, G, t0 + (step + 1) * prot.t_h)
        if record and (offset + step + 1) % record == 0:
            times.append(t0 + (step + 1) * prot.t_h)
            samples.append(G.copy())
    return G, times, samples


def eval_bias(Bfun: Callable[[np.ndarray], Any], G: np.ndarray, n: int) -> np.ndarray:
    """The bias callable at ``G``, checked.

    Parameters
    ----------
    Bfun : callable
        ``B(G) -> (n,)``, V/s.
    G : (n,) ndarray
        Gate voltages, V (a copy is passed).
    n : int
        Number of gates.

    Returns
    -------
    (n,) ndarray

    Raises
    ------
    ShapeError
        The callable returned the wrong shape or a non-finite value.
    """
    b = np.asarray(Bfun(np.array(G, dtype=float)), dtype=float)
    if b.shape != (n,) or not np.all(np.isfinite(b)):
        raise ShapeError(
            f"The bias callable must return a finite array of shape ({n},), but returned shape "
            f"{b.shape}."
        )
    return b
