"""Bitwise result dump: many results computed through the public API, and a comparison of two.

Run (BLAS pinned to one thread before numpy is imported):

    OPENBLAS_NUM_THREADS=1 python tests/benchmarks/dump_results.py dump OUT
    python tests/benchmarks/dump_results.py compare A B

``dump OUT`` writes ``OUT.npz`` (every array, bitwise, no pickle) and ``OUT.json`` (scalars,
booleans and strings that are data, each float stored by its exact ``repr``). ``compare A B``
reads both (``A`` and ``B`` with or without the suffix), prints every key that differs (with the
max abs difference of numbers), the keys present in only one dump (and, for those, a key of the
other dump with the bitwise same value: a renamed field), and the count of identical keys; it
exits 0 only if everything is identical.

What is dumped: the theory room (linearize by every route, Jacobians and Hessians, solutions,
linear tasks and their flow, periodic orbits on scalar and array periods, dense, low-rank,
mpmath and rtol routes, rank-deficient pairs with drift, affine biases, cyclic orbits,
asymptotics, noise covariances, random order, forgetting), the electrical room (Kirchhoff states,
power, contrastive function, the learning force with both clampings, the nonlinear circuit
solver, the symbolic model evaluated numerically), the simulator (every mode and engine, three
devices, overclamping, classification, seeded noise, batches, limit cycles by both routes, the
period map), inference (drift velocities, the bias from cycles, calibration, the state-dependent
bias), the experiments (``reproduce exp1|exp2|fig3`` through the API and through the CLI's JSON,
the simulator at the measured periods, one sweep) and two short Fig. 5 cases.

Never dumped: failure messages (only how many failures there were), notes (only which are
non-empty), run times and provenance. The script runs against the API before and after the
renames of issue 17: each renamed keyword, field, device name and moved name is looked up the
new way first and the old way second (`kw`, `get`, `device_name`); absolute paths of the checkout
are replaced by ``<root>``. A section that raises is recorded as ``<section>/__raised__`` = the
exception's class name (traceback on stderr), so a crash shows up in the comparison instead of
stopping the dump (and makes ``compare`` fail); a documented refusal that is itself a result
(asymptotics of incompatible tasks) is recorded as ``<key>#refused``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import dataclasses  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from contextlib import redirect_stdout  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOMS = ("theory", "electrical", "simulator", "inference", "experiments", "model", "sweeps")

# ----------------------------------------------------------------------------- old/new API


def get(name: str, *rooms: str):
    """A public name: from its room(s) first, then the top level, then any room."""
    for mod in (
        *[f"clln_theory.{r}" for r in rooms],
        "clln_theory",
        *[f"clln_theory.{r}" for r in ROOMS],
    ):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        try:
            return getattr(m, name)
        except AttributeError:
            continue
    raise AttributeError(f"cannot find {name!r} in {rooms} nor at the top level")


def kw(fn, new: str, old: str, value) -> dict:
    """``{new: value}`` if ``fn`` has a parameter ``new``, else ``{old: value}``."""
    params = inspect.signature(fn).parameters
    return {new: value} if new in params else {old: value}


@functools.cache
def device_name() -> str:
    """``"three-regime"`` once the device registry exists, else the old ``"three_regime"``."""
    try:
        devices = importlib.import_module("clln_theory.model.devices")
        if "three-regime" in getattr(devices, "DEVICES", {}):
            return "three-regime"
    except ImportError:
        pass
    try:
        get("fig5_network", "experiments")("three-regime")
        return "three-regime"
    except Exception:
        return "three_regime"


# ----------------------------------------------------------------------------- flattening

#: Keys never dumped: run times, where data were read from, provenance.
SKIP = {"elapsed", "runtime", "seconds", "data_source", "provenance", "t_wall", "wall"}
#: Failure records (messages may change): only how many.
FAILURES = {"failures", "failure", "reasons", "error", "errors"}
#: Free-text notes: only which are non-empty.
NOTES = {"note", "notes"}
#: Types not walked (inputs, not results; or internals).
OPAQUE = {
    "Network",
    "Edge",
    "LinearDevice",
    "OhmicMOSFET",
    "ThreeRegimeMOSFET",
    "Failure",
    "CycleFailure",
    "module",
    "function",
    "builtin_function_or_method",
    "method",
    "Executor",
    "SerialExecutor",
    "ThreadPoolExecutor",
    "ProcessPoolExecutor",
}
MAX_DEPTH = 9


def _count_failures(v) -> int:
    if v is None or isinstance(v, str):
        return int(bool(v))
    if isinstance(v, dict):
        return sum(1 for x in v.values() if x)
    if isinstance(v, tuple | list):
        return sum(1 for x in v if x)
    return int(bool(v))


def _numeric_array(v):
    """``v`` as a numeric or string ndarray, or None if it is ragged / mixed / object."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.VisibleDeprecationWarning)
            a = np.asarray(v)
    except Exception:
        return None
    if a.dtype == object or a.dtype.kind not in "biufcUS":
        return None
    return a


class Dump:
    """Collects arrays (``arrays``, path -> ndarray) and scalars (``scalars``, path -> value)."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.scalars: dict[str, object] = {}

    def put(self, path: str, obj, depth: int = 0, stack: tuple = ()) -> None:
        if depth > MAX_DEPTH or id(obj) in stack:
            return
        last = path.rsplit("/", 1)[-1]
        if last in SKIP:
            return
        if last in FAILURES and not (isinstance(obj, np.ndarray) and obj.dtype.kind in "fc"):
            self.scalars[path.rsplit("/", 1)[0] + "/failures#count"] = _count_failures(obj)
            return
        if last in NOTES:
            flags = [bool(x) for x in obj] if isinstance(obj, tuple | list) else [bool(obj)]
            self.arrays[path + "#nonempty"] = np.array(flags, dtype=bool)
            return
        if isinstance(obj, str):
            self.scalars[path] = _unrooted(obj)
            return
        if obj is None or isinstance(obj, bool):
            self.scalars[path] = obj
            return
        if isinstance(obj, int | float | complex | np.generic):
            a = np.asarray(obj)
            if a.dtype.kind == "c":
                self.arrays[path] = a
            else:
                self.scalars[path] = a.item() if isinstance(obj, np.generic) else obj
            return
        if isinstance(obj, np.ndarray):
            if obj.dtype == object:
                for i, x in enumerate(obj.reshape(-1)):
                    self.put(f"{path}/{i}", x, depth + 1, (*stack, id(obj)))
            else:
                self.arrays[path] = np.array(obj, copy=True)
            return
        name = type(obj).__name__
        if name in OPAQUE or (callable(obj) and not _is_record(obj)):
            return
        if type(obj).__module__.startswith("sympy"):
            self.scalars[path] = str(obj)
            return
        stack = (*stack, id(obj))
        if isinstance(obj, dict) or _is_mapping(obj):
            for k in sorted(obj, key=str):
                self.put(f"{path}/{k}", obj[k], depth + 1, stack)
            return
        if isinstance(obj, tuple | list):
            a = _numeric_array(obj) if obj and not any(_is_record(x) for x in obj) else None
            if a is not None and a.dtype.kind != "U":
                self.arrays[path] = a
                return
            if all(isinstance(x, str) for x in obj):
                self.scalars[path] = [_unrooted(x) for x in obj]
                return
            for i, x in enumerate(obj):
                self.put(f"{path}/{i}", x, depth + 1, stack)
            self.scalars[path + "#len"] = len(obj)
            return
        if _is_record(obj):
            for field, value in _fields(obj):
                self.put(f"{path}/{field}", value, depth + 1, stack)
            return
        self.scalars[path + "#type"] = name  # something unexpected: at least its type


@functools.cache
def _root() -> str:
    """The folder holding the imported package (it differs between worktrees)."""
    import clln_theory

    return str(Path(clln_theory.__file__).resolve().parent.parent)


#: String values renamed by issue 17 that are the same datum (the device registry's names).
SAME_STRING = {"three_regime": "three-regime"}


def _unrooted(s: str) -> str:
    """``s`` without the checkout's folder, and with renamed names spelt the new way."""
    return SAME_STRING.get(s, s.replace(_root(), "<root>"))


def _is_mapping(obj) -> bool:
    return hasattr(obj, "keys") and hasattr(obj, "__getitem__") and not isinstance(obj, type)


def _is_record(obj) -> bool:
    return type(obj).__module__.startswith("clln_theory") and not isinstance(obj, type)


def _fields(obj):
    """Public data fields and properties of a record, sorted by name."""
    names = set()
    if dataclasses.is_dataclass(obj):
        names |= {f.name for f in dataclasses.fields(obj)}
    if hasattr(obj, "_fields"):  # NamedTuple
        names |= set(obj._fields)
    if hasattr(obj, "__dict__"):
        names |= {k for k in vars(obj) if not callable(vars(obj)[k])}
    for klass in type(obj).__mro__:
        for k, v in vars(klass).items():
            if isinstance(v, property | functools.cached_property):
                names.add(k)
    out = []
    for k in sorted(n for n in names if not n.startswith("_")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = getattr(obj, k)
        except Exception as e:  # a property that refuses (e.g. M of a huge factor task)
            v = f"<raises {type(e).__name__}>"
        if inspect.ismethod(v) or inspect.isfunction(v):
            continue
        out.append((k, v))
    return out


# ----------------------------------------------------------------------------- sections

SECTIONS = []


def section(fn):
    SECTIONS.append(fn)
    return fn


def _psd(rng, n, rank, scale=10.0):
    F = rng.normal(size=(n, rank))
    return scale * F @ F.T / n


@section
def theory_linear(d: Dump) -> None:
    LinearTask, evolve, half_period_map = (
        get(n, "theory") for n in ("LinearTask", "evolve", "half_period_map")
    )
    rng = np.random.default_rng(17)
    a = LinearTask(_psd(rng, 4, 2), rng.normal(size=4))
    d.put("theory/LinearTask/a", a)
    t = np.array([0.0, 1e-3, 0.1, 2.0])
    d.put("theory/evolve/scalar_t", evolve(a, np.ones(4), t=0.3, B=np.arange(4.0)))
    d.put("theory/evolve/array_t", evolve(a, np.ones(4), t=t, B=np.arange(4.0)))
    d.put("theory/half_period_map/scalar", half_period_map(a, B=np.arange(4.0), h=0.05))
    d.put("theory/half_period_map/array", half_period_map(a, B=np.arange(4.0), h=t[1:]))
    lo = LinearTask.from_factor(rng.normal(size=(6, 2)), rng.normal(size=6))
    d.put("theory/LinearTask/factor", lo)
    d.put("theory/evolve/factor", evolve(lo, np.zeros(6), t=t, B=np.ones(6)))


def _star_pair():
    star_network, experiment_tasks = (
        get("star_network", "model"),
        get("experiment_tasks", "experiments"),
    )
    return star_network(), *experiment_tasks("exp1")


@section
def theory_jacobian(d: Dump) -> None:
    linearize = get("linearize", "theory")
    net, alpha, beta = _star_pair()
    G_ref = np.array([3.0, 3.5])
    Gs = get("joint_solution", "theory")(net, alpha, beta, G_ref)
    d.put("theory/joint_solution", Gs)
    d.put("theory/nearest_solution/alpha", get("nearest_solution", "theory")(net, alpha, G_ref))
    d.put(
        "theory/nearest_solution/both", get("nearest_solution", "theory")(net, [alpha, beta], G_ref)
    )
    d.put("theory/contrastive_hessian", get("contrastive_hessian", "theory")(net, G_ref, alpha))
    d.put(
        "theory/contrastive_hessian/eta",
        get("contrastive_hessian", "theory")(net, G_ref, alpha, eta=0.5),
    )
    fj = get("force_jacobian", "theory")
    d.put("theory/force_jacobian/off", fj(net, G_ref, alpha))
    d.put("theory/force_jacobian/gn", fj(net, G_ref, alpha, curvature="gauss-newton"))
    d.put("theory/force_jacobian/at", fj(net, Gs, alpha, curvature="solution"))
    for route in ("auto", "adjoint", "symbolic"):
        d.put(
            f"theory/linearize/{route}",
            linearize(
                net, alpha, Gs, gamma=3.24e6, r=2.0, **kw(linearize, "route", "method", route)
            ),
        )
    d.put("theory/linearize/low_rank", linearize(net, beta, Gs, gamma=3.24e6, low_rank=True))
    d.put("theory/linearize/eta", linearize(net, beta, Gs, gamma=3.24e6, eta=0.5))
    d.put(
        "theory/linearize_factor", get("linearize_factor", "theory")(net, alpha, Gs, gamma=3.24e6)
    )
    # a larger linear lattice through the adjoint route, dense and low rank
    periodic_lattice, DataPoint, Task = (
        get(n, "model") for n in ("periodic_lattice", "DataPoint", "Task")
    )
    lat = periodic_lattice(3, device=get("LinearDevice", "model")())
    G = np.linspace(2.0, 4.0, lat.n_gates)
    one = Task([DataPoint({"0,0": 0.4, "1,1": 0.0}, 0.1)], "2,2", name="one")
    Gl = get("nearest_solution", "theory")(lat, one, G)
    d.put("theory/lattice/nearest_solution", Gl)
    d.put("theory/lattice/linearize", linearize(lat, one, Gl, gamma=1e6))
    # two points at a solution (labels = free outputs at G): dense and low rank
    ins = ({"0,0": 0.4, "1,1": 0.0, "0,1": 0.2}, {"0,0": 0.1, "1,1": 0.3, "0,1": 0.0})
    probe = Task([DataPoint(i, 0.0) for i in ins], "2,2", name="probe")
    O = get("free_state", "electrical")(lat, G, probe).O
    task = Task([DataPoint(i, float(o)) for i, o in zip(ins, np.ravel(O))], "2,2", name="lat")
    d.put("theory/lattice/linearize_two", linearize(lat, task, G, gamma=1e6))
    d.put("theory/lattice/linearize_low_rank", linearize(lat, task, G, gamma=1e6, low_rank=True))
    d.put("theory/lattice/force_jacobian", fj(lat, G, task))


def _pairs():
    LinearTask = get("LinearTask", "theory")
    rng = np.random.default_rng(5)
    full = (
        LinearTask(_psd(rng, 3, 3), rng.normal(size=3)),
        LinearTask(_psd(rng, 3, 3), rng.normal(size=3)),
    )
    # rank-deficient pair sharing the null direction e3: drift along it
    Fa, Fb = np.zeros((3, 1)), np.zeros((3, 1))
    Fa[:2, 0], Fb[:2, 0] = (1.0, 0.3), (0.2, 1.0)
    drift = (
        LinearTask(8.0 * Fa @ Fa.T, [1.0, 1.0, 0.0]),
        LinearTask(5.0 * Fb @ Fb.T, [1.2, 0.9, 0.0]),
    )
    # compatible rank-one pair of the 2+1 shape (paper-like)
    G_joint = np.linalg.solve([[2.7257, -1.0], [0.43914, -1.0]], [3.3003, -1.6061])
    compat = []
    for a, lam in ((2.7257, 81.0), (0.43914, 77.0)):
        nrm = np.array([a, -1.0]) / np.hypot(a, 1.0)
        compat.append(LinearTask(lam * np.outer(nrm, nrm), G_joint))
    return {"full": full, "drift": drift, "compat": tuple(compat)}


TAUS = np.logspace(-5, 2, 15)


@section
def theory_orbits(d: Dump) -> None:
    periodic_orbit = get("periodic_orbit", "theory")
    B3 = np.array([0.5, -1.0, 2.0])
    for name, (a, b) in _pairs().items():
        B = B3[: a.M.shape[0]] if name != "compat" else np.array([3.06, 4.45])
        one = periodic_orbit(a, b, B=B, tau=0.2)
        d.put(f"theory/orbit/{name}/scalar", one)
        d.put(f"theory/orbit/{name}/array", periodic_orbit(a, b, B=B, tau=TAUS))
        d.put(
            f"theory/orbit/{name}/G_ref", periodic_orbit(a, b, B=B, tau=TAUS, G_ref=np.ones(B.size))
        )
        d.put(f"theory/orbit/{name}/rtol", periodic_orbit(a, b, B=B, tau=TAUS, rtol=1e-12))
        d.put(f"theory/orbit/{name}/dps", periodic_orbit(a, b, B=B, tau=TAUS[::5], dps=30))
        d.put(f"theory/orbit/{name}/dps_scalar", periodic_orbit(a, b, B=B, tau=0.2, dps=30))
        d.put(f"theory/orbit/{name}/trajectory_n", one.trajectory(41))
        d.put(
            f"theory/orbit/{name}/trajectory_t",
            one.trajectory(np.array([0.0, 0.03, 0.1, 0.35, 0.7])),
        )
    # the low-rank route
    LinearTask = get("LinearTask", "theory")
    rng = np.random.default_rng(8)
    n = 40
    la = LinearTask.from_factor(rng.normal(size=(n, 3)), rng.normal(size=n))
    lb = LinearTask.from_factor(rng.normal(size=(n, 2)), rng.normal(size=n))
    B = rng.normal(size=n)
    lo = periodic_orbit(la, lb, B=B, tau=TAUS, G_ref=rng.normal(size=n))
    d.put("theory/orbit/lowrank/array", lo)
    d.put(
        "theory/orbit/lowrank/trajectory",
        periodic_orbit(la, lb, B=B, tau=0.7).trajectory(np.array([0.0, 0.3, 2.5])),
    )
    d.put("theory/orbit/lowrank/scalar", periodic_orbit(la, lb, B=B, tau=0.7))


def _affine_bias(n=2):
    AffineBias = get("AffineBias", "model", "theory")
    return AffineBias(B0=[0.3, -0.1], J=[[-0.5, 0.2], [0.1, -0.3]], G_ref=[1.0, 1.0])


@section
def theory_affine_and_cyclic(d: Dump) -> None:
    LinearTask, periodic_orbit = get("LinearTask", "theory"), get("periodic_orbit", "theory")
    u, v, w = np.array([1.0, 0.2]), np.array([0.3, 1.0]), np.array([1.0, -1.0])
    a = LinearTask(8.0 * np.outer(u, u), G_star=[1.0, 1.0])
    b = LinearTask(5.0 * np.outer(v, v), G_star=[1.0, 1.0])
    c = LinearTask(3.0 * np.outer(w, w), G_star=[1.5, 0.5])
    bias = _affine_bias()
    d.put("theory/affine/periodic_orbit", periodic_orbit(a, b, B=bias, tau=0.4))
    aff = get("affine_orbit", "theory")(a, b, B=bias, tau=0.4)
    d.put("theory/affine/affine_orbit", aff)
    d.put("theory/affine/trajectory", aff.trajectory(np.array([0.0, 0.1, 0.3, 0.8])))
    d.put(
        "theory/affine/cyclic_affine_orbit",
        get("cyclic_affine_orbit", "theory")([a, b, c], B=bias, durations=[0.1, 0.2, 0.15]),
    )
    d.put(
        "theory/affine/evolve_affine",
        get("evolve_affine", "theory")(a, [2.0, 0.5], t=np.array([0.0, 0.1, 1.0]), B=bias),
    )
    cyclic_orbit = get("cyclic_orbit", "theory")
    co = cyclic_orbit([a, b, c], B=[0.4, -0.3], durations=[0.1, 0.2, 0.15])
    d.put("theory/cyclic_orbit/three", co)
    d.put("theory/cyclic_orbit/trajectory", co.trajectory(np.array([0.0, 0.05, 0.2, 0.44])))
    d.put("theory/cyclic_orbit/affine", cyclic_orbit([a, b], B=bias, durations=[0.2, 0.2]))
    d.put(
        "theory/cyclic_orbit/G_ref",
        cyclic_orbit([a, b, c], B=[0.4, -0.3], durations=[0.1, 0.2, 0.15], G_ref=[2.0, 2.0]),
    )


@section
def theory_asymptotics(d: Dump) -> None:
    for name, (a, b) in _pairs().items():
        B = (
            np.array([0.5, -1.0, 2.0])[: a.M.shape[0]]
            if name != "compat"
            else np.array([3.06, 4.45])
        )
        for fn in ("small_tau", "large_tau", "crossover_tau"):
            try:
                d.put(f"theory/{fn}/{name}", get(fn, "theory")(a, b, B=B))
            except Exception as e:  # a documented refusal (e.g. incompatible tasks) is data
                d.scalars[f"theory/{fn}/{name}#refused"] = type(e).__name__
        try:
            d.put(
                f"theory/compatible_span_slope/{name}",
                get("compatible_span_slope", "theory")(a, b, B=B),
            )
        except Exception as e:
            d.scalars[f"theory/compatible_span_slope/{name}#refused"] = type(e).__name__


@section
def theory_stochastic_memory(d: Dump) -> None:
    a, b = _pairs()["full"]
    c = get("LinearTask", "theory")(_psd(np.random.default_rng(9), 3, 2), [0.5, 0.5, 0.5])
    Q = np.diag([1e-3, 2e-3, 5e-4])
    oc = get("orbit_covariance", "theory")
    d.put("theory/orbit_covariance/two", oc([a, b], durations=[0.1, 0.1], Q=Q))
    d.put(
        "theory/orbit_covariance/three",
        oc([a, b, c], durations=[0.05, 0.1, 0.2], Q=1e-3 * np.eye(3)),
    )
    d.put(
        "theory/random_order_moments",
        get("random_order_moments", "theory")(
            [a, b, c], probs=[0.5, 0.3, 0.2], duration=0.05, B=[0.1, -0.2, 0.3]
        ),
    )
    d.put(
        "theory/forgetting_curve",
        get("forgetting_curve", "theory")(
            a, [b, c], B=[0.1, -0.2, 0.3], durations=[0.1, 0.2], t=np.array([0.0, 0.5, 1.0, 3.0])
        ),
    )


@section
def electrical(d: Dump) -> None:
    net, alpha, beta = _star_pair()
    G = np.array([3.0, 3.5])
    f = get("free_state", "electrical")(net, G, alpha)
    d.put("electrical/free_state", f)
    c = get("clamped_state", "electrical")(net, G, alpha, [f.O[0] + 0.5 * (0.31 - f.O[0])])
    d.put("electrical/clamped_state", c)
    d.put("electrical/power", get("power", "electrical")(net, G, f.V))
    cf = get("contrastive_function", "electrical")
    d.put("electrical/contrastive_function", cf(net, G, alpha))
    d.put("electrical/contrastive_function/eta", cf(net, G, beta, eta=0.3))
    force = get("coupled_learning_force", "electrical")
    d.put("electrical/force/standard", force(net, G, alpha))
    d.put("electrical/force/standard_eta", force(net, G, beta, eta=0.5))
    d.put(
        "electrical/force/overclamp",
        force(net, G, alpha, eta=0.25, clamping="overclamp", L0=0.4351),
    )
    for dev in ("OhmicMOSFET", "ThreeRegimeMOSFET"):
        chip = get("star_network", "model")(device=get(dev, "model")())
        sol = get("solve_circuit", "electrical")(chip, G, alpha.input_nodes, alpha.inputs[0])
        d.put(f"electrical/solve_circuit/{dev}", sol)
    lat = get("periodic_lattice", "model")(3, device=get("ThreeRegimeMOSFET", "model")())
    Gl = np.linspace(2.0, 4.0, lat.n_gates)
    d.put(
        "electrical/solve_circuit/lattice",
        get("solve_circuit", "electrical")(lat, Gl, ["0,0", "1,1", "2,2"], [0.4, 0.0, 0.2]),
    )


@section
def symbolic(d: Dump) -> None:
    net, alpha, _ = _star_pair()
    G = np.array([3.0, 3.5])
    m = get("symbolic_model", "electrical")(net, alpha)
    ins = {"High": 0.4351, "Low": 0.0181, "Input": 0.4351}
    d.put("symbolic/C_str", str(m.C))
    for name, expr in (("C", m.C), ("hessian_K", m.hessian(wrt="K")), ("force", m.force)):
        if isinstance(expr, tuple):
            import sympy as sp

            expr = sp.Matrix(expr)
        f = m.lambdify(expr)
        d.put(f"symbolic/{name}", f(G, ins, 0.31, 1.0))
        d.put(f"symbolic/{name}/eta", f(G + 0.2, ins, 0.25, 0.5))
    d.put(
        "symbolic/contrastive_hessian",
        get("symbolic_contrastive_hessian", "electrical")(net, G, alpha),
    )
    d.put(
        "symbolic/contrastive_hessian/eta",
        get("symbolic_contrastive_hessian", "electrical")(net, G, alpha, eta=0.5),
    )


def _protocol(**extra):
    TrainingProtocol, learning_rate_A0 = (
        get("TrainingProtocol", "simulator"),
        get("learning_rate_A0", "electrical"),
    )
    return TrainingProtocol(A0=learning_rate_A0(100.0, 22e-6, r=2.0), **extra)


B_EXP1 = np.array([2.97, 4.41])


@section
def simulator(d: Dump) -> None:
    simulate = get("simulate", "simulator")
    star_network, DataPoint, Task = (get(n, "model") for n in ("star_network", "DataPoint", "Task"))
    _, alpha, beta = _star_pair()
    prot = _protocol()
    base = dict(tau=0.004, n_periods=3, B=B_EXP1, protocol=prot, record=5)
    for dev in ("LinearDevice", "OhmicMOSFET", "ThreeRegimeMOSFET"):
        net = star_network(device=get(dev, "model")())
        for engine in ("fast", "general"):
            d.put(
                f"simulator/simulate/{dev}/{engine}",
                simulate(net, [alpha, beta], [1.2, 1.05], engine=engine, **base),
            )
        d.put(
            f"simulator/simulate/{dev}/continuum",
            simulate(
                net,
                [alpha, beta],
                [3.0, 3.5],
                mode="continuum",
                rtol=1e-9,
                atol=1e-11,
                **base,
                **kw(simulate, "scheme", "method", "RK45"),
            ),
        )
    chip = star_network(device=get("ThreeRegimeMOSFET", "model")())
    d.put(
        "simulator/simulate/continuum_DOP853",
        simulate(
            chip,
            [alpha, beta],
            [3.0, 3.5],
            mode="continuum",
            tau=0.01,
            n_periods=1,
            B=B_EXP1,
            protocol=prot,
            **kw(simulate, "scheme", "method", "DOP853"),
        ),
    )
    d.put(
        "simulator/simulate/step_record",
        simulate(
            chip,
            [alpha],
            [3.0, 3.5],
            tau=2e-4,
            n_periods=0.5,
            B=B_EXP1,
            protocol=prot,
            record="step",
            gate_limits=None,
        ),
    )
    sup = {"High": 0.4351, "Low": 0.0181}
    two = Task(
        [DataPoint({**sup, "Input": 0.40}, 0.30), DataPoint({**sup, "Input": 0.05}, 0.20)],
        "Output",
        kind="classification",
        name="two",
    )
    V_PLUS = 0.4351
    prots = {
        "eta": _protocol(eta=0.5),
        "overclamp": _protocol(clamping="overclamp", eta=0.25, L0=V_PLUS),
        "overclamp_r0": _protocol(clamping="overclamp", eta=0.25, L0=V_PLUS, r0=2e-4),
    }
    for pname, p in prots.items():
        for engine in ("fast", "general"):
            d.put(
                f"simulator/classification/{pname}/{engine}",
                simulate(
                    chip,
                    [two, beta],
                    [3.0, 3.5],
                    engine=engine,
                    tau=0.004,
                    n_periods=2,
                    B=lambda G: 0.5 * (G - 3.0),
                    protocol=p,
                    record=3,
                ),
            )
    noisy = _protocol(update_noise=1e-4, voltage_noise=1e-4)
    for engine in ("fast", "general"):
        d.put(
            f"simulator/noise/{engine}",
            simulate(
                chip,
                [alpha, beta],
                [3.0, 3.5],
                tau=0.004,
                n_periods=2,
                B=B_EXP1,
                protocol=noisy,
                seed=1,
                engine=engine,
                record=4,
            ),
        )
    Q = _protocol(update_noise=np.array([[1e-4, 2e-5], [2e-5, 5e-5]]))
    d.put(
        "simulator/noise/full_Q",
        simulate(
            star_network(),
            [alpha, beta],
            [3.0, 3.5],
            tau=0.004,
            n_periods=2,
            B=B_EXP1,
            protocol=Q,
            seed=3,
            record=4,
        ),
    )
    # the sparse engine and a differential output on the lattice
    periodic_lattice, Differential = get("periodic_lattice", "model"), get("Differential", "model")
    lat = periodic_lattice(3)
    task = Task(
        [DataPoint({"0,0": 0.4, "1,1": 0.0}, 0.05)], Differential("0,2", "2,0"), name="diff"
    )
    G0 = np.linspace(2.0, 4.0, lat.n_gates)
    d.put(
        "simulator/simulate/lattice_auto",
        simulate(
            lat,
            [task],
            G0,
            tau=4e-3,
            n_periods=1,
            B=np.zeros(lat.n_gates),
            protocol=_protocol(eta=0.5),
            record=5,
        ),
    )
    d.put(
        "simulator/simulate/lattice_general",
        simulate(
            lat,
            [task],
            G0,
            tau=4e-3,
            n_periods=1,
            B=0.1 * np.ones(lat.n_gates),
            protocol=_protocol(eta=0.5),
            record=5,
            engine="general",
        ),
    )


@section
def simulator_batch_and_fig5(d: Dump) -> None:
    fig5_network, fig5_training_task, fig5_bias, fig5_initial_gates = (
        get(n, "experiments")
        for n in ("fig5_network", "fig5_training_task", "fig5_bias", "fig5_initial_gates")
    )
    FIG5_EPS = get("FIG5_EPS", "experiments")
    net = fig5_network(device_name())
    cases = [(FIG5_EPS[0], 0, 0), (FIG5_EPS[0], 5, 1), (FIG5_EPS[-1], 3, 2)]
    tasks = [fig5_training_task(e, s) for e, s, _ in cases]
    G0 = np.stack([fig5_initial_gates(net, seed) for *_, seed in cases])
    B = np.stack([fig5_bias(net, seed) for *_, seed in cases])
    d.put("fig5/bias", B)
    d.put("fig5/G0", G0)
    for clamping in ("standard", "overclamp"):
        p = (
            _protocol()
            if clamping == "standard"
            else _protocol(clamping="overclamp", eta=0.25, L0=get("FIG5_L0", "experiments"))
        )
        res = get("simulate_batch", "simulator")(
            net, tasks, G0, B=B, tau=2 * 40 * 1e-4, n_periods=2, protocol=p, gate_limits=(1.0, 5.0)
        )
        d.put(f"simulator/simulate_batch/{clamping}", res)
    run_fig5_case = get("run_fig5_case", "experiments")
    for e, s, seed in cases[:2]:
        for clamping in ("standard", "overclamp"):
            item = dict(eps=e, split=s, seed=seed, clamping=clamping, n_steps=320)
            d.put(f"fig5/case/{clamping}/{s}/{seed}", run_fig5_case(item))
    items = [
        dict(eps=e, split=s, seed=seed, clamping="overclamp", n_steps=320)
        for e, s, seed in cases[:2]
    ]
    d.put("fig5/batch", get("run_fig5_batch", "experiments")(items))
    SerialExecutor = get("SerialExecutor", "sweeps")
    res = get("overclamping_experiment", "experiments")(
        eps=FIG5_EPS[:1],
        splits=(0, 5),
        seeds=(0,),
        n_steps=320,
        executor=SerialExecutor(),
        progress=False,
    )
    d.put("fig5/overclamping_experiment", res)


@section
def limit_cycles(d: Dump) -> None:
    limit_cycle, period_map = get("limit_cycle", "simulator"), get("period_map", "simulator")
    star_network = get("star_network", "model")
    _, alpha, beta = _star_pair()
    prot = _protocol()
    chip = star_network(device=get("ThreeRegimeMOSFET", "model")())
    k = dict(B=B_EXP1, protocol=prot, G0=[3.0, 3.5])
    d.put(
        "simulator/limit_cycle/shooting",
        limit_cycle(
            chip, alpha, beta, tau=0.05, **k, **kw(limit_cycle, "route", "method", "shooting")
        ),
    )
    d.put(
        "simulator/limit_cycle/iterate",
        limit_cycle(
            chip, alpha, beta, tau=0.01, **k, **kw(limit_cycle, "route", "method", "iterate")
        ),
    )
    d.put(
        "simulator/limit_cycle/linear_default",
        limit_cycle(star_network(), alpha, beta, tau=0.004, B=B_EXP1, protocol=prot),
    )
    d.put(
        "simulator/limit_cycle/saturated",
        limit_cycle(chip, alpha, beta, tau=1.0, B=B_EXP1, protocol=prot),
    )
    for engine in ("fast", "general"):
        d.put(
            f"simulator/period_map/{engine}",
            period_map(
                chip, alpha, beta, [3.0, 3.5], tau=0.05, B=B_EXP1, protocol=prot, engine=engine
            ),
        )


@section
def inference(d: Dump) -> None:
    LinearTask, periodic_orbit = get("LinearTask", "theory"), get("periodic_orbit", "theory")
    (a, b) = _pairs()["compat"]
    rng = np.random.default_rng(2024)
    B = np.array([3.06, 4.45])
    cycles = []
    for tau, phase, m in ((0.02, 0.1, 41), (0.2, 0.6, 61)):
        t = phase * tau + np.arange(m) * tau / (m - 1)
        G = periodic_orbit(a, b, B=B, tau=tau).trajectory(t).G
        cycles.append((tau, G + 2e-3 * rng.standard_normal(G.shape)))
    ibc = get("infer_bias_from_cycles", "inference")
    d.put("inference/cycles/phase", ibc(a, b, cycles, phase_grid=64))
    d.put("inference/cycles/nearest", ibc(a, b, cycles, **kw(ibc, "matching", "method", "nearest")))
    ib1 = get("infer_bias_from_cycle", "inference")
    d.put("inference/cycle/one", ib1(a, b, cycles[0][1], tau=0.02, phase_grid=64))
    # drift velocity of a synthetic drift test
    times = np.linspace(0.0, 1.0, 101)
    Gd = np.stack([3.0 + 0.8 * times + 1e-3 * np.sin(37 * times), 3.5 + 0.2 * times**2], axis=1)
    d.put("inference/drift_velocity", get("drift_velocity", "inference")(times, Gd, window=9))
    d.put(
        "inference/drift_measurement",
        get("drift_measurement", "inference")(times, Gd, direction=[0.6, 0.8], window=9),
    )
    # calibration to a measured line
    star_network, ThreeRegimeMOSFET = (
        get("star_network", "model"),
        get("ThreeRegimeMOSFET", "model"),
    )
    net, alpha, beta = _star_pair()
    ctl = get("calibrate_to_line", "inference")
    d.put(
        "inference/calibrate_to_line/linear", ctl(net, alpha, (2.7257, -3.3003), centre=(3.0, 3.5))
    )
    d.put(
        "inference/calibrate_to_line/three_regime",
        ctl(star_network(device=ThreeRegimeMOSFET()), beta, (0.43914, 1.6061), centre=(3.0, 3.5)),
    )
    # the state-dependent bias
    AffineBias = get("AffineBias", "model", "theory")
    DriftMeasurement = get("DriftMeasurement", "inference")
    u, v = np.array([0.92, -0.39]), np.array([0.38, 0.92])
    ta = LinearTask(400.0 * np.outer(u, u), G_star=[2.4, 2.4])
    tb = LinearTask(400.0 * np.outer(v, v), G_star=[2.4, 2.4])
    true = AffineBias([5.0, 3.0], [[-4.0, 5.0], [3.0, -2.0]], [2.9, 3.3])

    class _Cycle:
        def __init__(self, tau, G):
            self.tau, self.G = tau, G

    rng = np.random.default_rng(0)
    scyc, phases = [], rng.uniform(0, 1, 3)
    for tau, phi in zip((0.02, 0.08, 0.2), phases, strict=True):
        t = phi * tau + tau / 60 * np.arange(61)
        G = periodic_orbit(ta, tb, B=true, tau=tau).trajectory(t).G
        scyc.append(_Cycle(tau, G + 2e-3 * rng.normal(size=G.shape)))
    drifts = []
    for task, G_d in ((ta, [3.2, 3.0]), (tb, [2.0, 2.6])):
        dvec = task.eigvecs[:, 0]
        drifts.append(
            DriftMeasurement(
                direction=dvec,
                value=float(dvec @ true(G_d)) + 0.02 * rng.normal(),
                std=0.02,
                G=np.array(G_d),
            )
        )
    start = ibc(ta, tb, scyc)
    d.put("inference/state_bias/start", start)
    d.put(
        "inference/state_bias/fit",
        get("infer_state_bias", "inference")(
            ta, tb, scyc, drifts=drifts, phases=start.phase, B_start=start.B, G_ref=true.G_ref
        ),
    )


@section
def experiments(d: Dump) -> None:
    reproduce = get("reproduce", "experiments")
    for name in ("exp1", "exp2", "fig3"):
        rep = reproduce(name, grid_points=40)
        d.put(f"experiments/reproduce/{name}", rep)
        d.put(f"experiments/reproduce/{name}/rows", rep.rows())
    rep = reproduce("exp1", simulate=True, grid_points=10)
    d.put("experiments/reproduce/exp1_simulate/sim", rep.sim)
    d.put("experiments/reproduce/exp1_simulate/rows", rep.rows())
    # the simulator at a few periods (one that is not a whole number of steps fails)
    _, alpha, beta = _star_pair()
    chip = get("star_network", "model")(device=get("ThreeRegimeMOSFET", "model")())
    d.put(
        "experiments/simulate_periods",
        get("simulate_periods", "experiments")(
            chip, alpha, beta, tau=[0.004, 0.00125, 0.05], B=B_EXP1, protocol=_protocol()
        ),
    )
    net = get("star_network", "model")()
    d.put(
        "experiments/compare_theory_simulation",
        get("compare_theory_simulation", "experiments")(
            net, alpha, beta, tau=[0.004, 0.02], B=B_EXP1, G_ref=[3.0, 3.5], protocol=_protocol()
        ),
    )
    d.put(
        "sweeps/run_sweep",
        get("run_sweep", "sweeps")(
            math.sqrt, [1.0, 2.0, 9.0], executor=get("SerialExecutor", "sweeps")(), progress=False
        ),
    )


@section
def cli(d: Dump) -> None:
    main = importlib.import_module("clln_theory.cli").main
    for name in ("exp1", "exp2", "fig3"):
        buf = io.StringIO()
        with redirect_stdout(buf):
            rc = main(["reproduce", name, "--json", "-"])
        d.scalars[f"cli/{name}/rc"] = rc
        d.put(f"cli/{name}", json.loads(buf.getvalue()))


# ----------------------------------------------------------------------------- dump / compare


def dump(out: str) -> int:
    import clln_theory

    warnings.simplefilter("ignore")
    print(f"clln_theory from {clln_theory.__file__}", file=sys.stderr)
    d = Dump()
    t_all = time.perf_counter()
    for fn in SECTIONS:
        t0 = time.perf_counter()
        try:
            fn(d)
        except Exception as e:
            d.scalars[f"{fn.__name__}/__raised__"] = type(e).__name__
            traceback.print_exc()
        print(f"  {fn.__name__:28s} {time.perf_counter() - t0:6.1f} s", file=sys.stderr)
    base = _base(out)
    Path(base).parent.mkdir(parents=True, exist_ok=True)
    np.savez(base + ".npz", **d.arrays)
    with open(base + ".json", "w") as fh:
        json.dump({k: _encode(v) for k, v in sorted(d.scalars.items())}, fh, indent=0)
    raised = [k for k in d.scalars if k.endswith("__raised__")]
    print(
        f"{len(d.arrays)} arrays, {len(d.scalars)} scalars -> {base}.npz/.json "
        f"({time.perf_counter() - t_all:.1f} s); sections raised: {raised or 'none'}"
    )
    return 0


def _base(path: str) -> str:
    for suf in (".npz", ".json"):
        if path.endswith(suf):
            return path[: -len(suf)]
    return path


def _encode(v):
    """JSON value with floats kept exact (repr round-trips float64) and NaN/inf spelt out."""
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    return v


def _decode(v):
    if isinstance(v, dict) and set(v) == {"float"}:
        return float(v["float"])
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


def _load(path: str) -> dict:
    base = _base(path)
    with np.load(base + ".npz", allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    with open(base + ".json") as fh:
        out.update({k: _decode(v) for k, v in json.load(fh).items()})
    return out


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":  # bitwise, NaN payloads and signed zeros included
            return a.tobytes() == b.tobytes()
        return bool(np.array_equal(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    return a == b


def _diff(a, b) -> str:
    try:
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            if a.shape != b.shape or a.dtype != b.dtype:
                return f"shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
            if a.dtype.kind in "biufc":
                x, y = (
                    a.astype(complex if a.dtype.kind == "c" else float),
                    b.astype(complex if b.dtype.kind == "c" else float),
                )
                nan = np.isnan(x) != np.isnan(y)
                with np.errstate(invalid="ignore"):
                    m = np.nanmax(np.abs(x - y)) if x.size else 0.0
                scale = np.nanmax(np.abs(x)) if x.size else 0.0
                return f"max abs diff {m:.3e} (max |A| {scale:.3e}), NaN mismatches {nan.sum()}"
            return f"{np.count_nonzero(a != b)} of {a.size} entries differ"
        if isinstance(a, float | int) and isinstance(b, float | int):
            return f"abs diff {abs(a - b):.3e} ({a!r} vs {b!r})"
    except Exception:
        pass
    return f"{a!r:.80} vs {b!r:.80}"


def compare(pa: str, pb: str) -> int:
    A, B = _load(pa), _load(pb)
    same = [k for k in A if k in B and _same(A[k], B[k])]
    differ = [k for k in A if k in B and not _same(A[k], B[k])]
    only_a = sorted(set(A) - set(B))
    only_b = sorted(set(B) - set(A))
    for k in sorted(differ):
        print(f"DIFFERS  {k}: {_diff(A[k], B[k])}")
    for k in only_a:
        twin = [j for j in only_b if _same(A[k], B[j])]
        print(f"ONLY A   {k}" + (f"   (same value as B's {twin[0]})" if twin else ""))
    for k in only_b:
        twin = [j for j in only_a if _same(B[k], A[j])]
        print(f"ONLY B   {k}" + (f"   (same value as A's {twin[0]})" if twin else ""))
    raised = [k for k in B if k.endswith("__raised__")] + [k for k in A if k.endswith("__raised__")]
    print(
        f"{len(same)} identical keys, {len(differ)} differ, {len(only_a)} only in A, "
        f"{len(only_b)} only in B" + (f"; sections raised: {sorted(set(raised))}" if raised else "")
    )
    return 0 if not (differ or only_a or only_b or raised) else 1


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "dump":
        return dump(argv[1])
    if len(argv) == 3 and argv[0] == "compare":
        return compare(argv[1], argv[2])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
