"""Symbolic power functions, contrastive functions, gradients and Hessians (sympy).

For a small linear network (Appendix D of the paper) every quantity of Coupled Learning is a
rational function of the edge conductances. This module builds them exactly:

- conductance symbols ``K_i`` for the learning edges (gate order; ``K_i = S_i (G_i - V_T,i)``),
  ``k_j`` for the fixed edges, ``V_<node>`` for the imposed inputs, ``L`` for the label,
  ``eta`` for the nudge and ``O_C`` for a clamped output;
- interior voltages eliminated exactly: the interior Laplacian block is solved by a LU over the
  rational function field ``QQ(K, k)`` (sympy ``DomainMatrix``), whose elements stay canonical
  (cancelled numerator/denominator) at every step, so no ``simplify`` of large expressions is
  ever needed;
- power ``P = sum_e K_e dV_e**2`` (no 1/2), free output ``O_F``, clamped power ``P_C(O_C)``,
  contrastive function ``C = P_C - P_F`` at ``O_C = O_F + eta (L - O_F)`` (1), (D3), the
  Coupled Learning force ``F_i = S_i (dV_C,i**2 - dV_F,i**2)``, their gradients and Hessians in
  ``K`` or in ``G`` (``d/dG_i = S_i d/dK_i``), the solution manifold ``{O_F = L}``, LaTeX, and
  ``lambdify`` to numpy.

This is the only module of the package that imports sympy.

Practical size: exact elimination costs grow quickly with the number of interior nodes (the
determinant of the interior block is a sum over spanning forests); past 8 (``max_interior``)
interior nodes or 12 (``max_gates``) gates `SymbolicSizeError` is raised: use the adjoint
formulas of `clln_theory.theory.jacobian`, which are exact to round-off at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import check_record, choice, instance, number
from ..errors import ArgumentError, NetworkError, SymbolicSizeError, TaskError
from ..model._conductance import edge_conductances
from ..model.network import Network
from ..model.tasks import Differential, Task
from ._args import model_args, model_limits, model_task
from ._clamping import output_split, standard_amplitudes
from ._force import solve_free
from .clamping import check_eta
from .kirchhoff import check_task

if TYPE_CHECKING:  # annotations only: sympy is imported on first use, inside the functions
    import sympy as sp  # type: ignore[import-untyped]  # sympy ships no type information

__all__ = [
    "SymbolicModel",
    "symbolic_contrastive_hessian",
    "symbolic_force_jacobian",
    "symbolic_model",
]

#: Largest number of interior (non-imposed) nodes eliminated exactly by default. With 8 interior
#: nodes and ~15 edges the LU over QQ(K) takes a few seconds; the expression size roughly
#: multiplies by the number of spanning forests with each added node.
_MAX_INTERIOR = 8
#: Largest number of gates by default (the Hessian has ``n_gates**2`` rational entries).
_MAX_GATES = 12


def _sympy() -> Any:
    """The sympy module, imported on first use (``import clln_theory`` does not load it)."""
    import sympy  # untyped (no stubs): reported once, at the import under TYPE_CHECKING

    return sympy


def _rational(x: float) -> sp.Rational:
    """A checked float as the exact rational of its shortest decimal repr (0.4351 -> 4351/10000)."""
    return _sympy().Rational(repr(float(x)))


def _q(x: Any, name: str) -> sp.Rational:
    """A user's number as `_rational`, validated first.

    Only real finite numbers are accepted (never a string, which sympy would parse).
    """
    return _rational(number(x, name))


@dataclass(frozen=True)
class SymbolicModel:
    """Exact rational-function model of one network with given input and output nodes.

    Build with `symbolic_model`. Expressions are sympy ``Expr`` in the symbols below; the
    ``*_element`` methods return elements of the field ``domain`` (for further exact algebra).

    Attributes
    ----------
    network : Network
        The modelled network (linear device).
    input_nodes : tuple of str
        Imposed nodes.
    output : str or Differential
        Output node, or the (plus, minus) pair.
    K : tuple of Symbol
        Learning-edge conductances, gate order.
    k : tuple of Symbol
        Fixed-edge conductances, edge order.
    G : tuple of Symbol
        Gate voltages, gate order (``K_i = S_i (G_i - V_T,i)``).
    V_in : dict str -> Symbol
        Input voltage symbols.
    L, eta, O_C : Symbol
        Label, nudge amplitude, clamped output.
    domain : sympy FractionField
        ``QQ(K, k, V_in, L, eta, O_C)``.
    """

    network: Network
    input_nodes: tuple[str, ...]
    output: str | Differential
    K: tuple[sp.Symbol, ...]
    k: tuple[sp.Symbol, ...]
    G: tuple[sp.Symbol, ...]
    V_in: dict[str, sp.Symbol]
    L: sp.Symbol
    eta: sp.Symbol
    O_C: sp.Symbol
    domain: Any = field(repr=False)
    _X_free: Any = field(repr=False)
    _X_clamp: Any = field(repr=False)
    _edge_K: tuple = field(repr=False)

    def __post_init__(self) -> None:
        import sympy as sp

        check_record(self, network=Network, input_nodes="tuple", output=(str, tuple), K="tuple",
                     k="tuple", G="tuple", V_in=dict, L=sp.Symbol, eta=sp.Symbol, O_C=sp.Symbol,
                     domain=sp.polys.domains.Domain, _X_free="tuple", _X_clamp="tuple",
                     _edge_K="tuple")  # fmt: skip
        for name in ("K", "k", "G"):
            for i, x in enumerate(getattr(self, name)):
                if not isinstance(x, sp.Symbol):
                    raise ArgumentError(
                        f"Field `{name}[{i}]` of SymbolicModel must be a sympy Symbol, but is "
                        f"{type(x).__name__}."
                    )

    # ----------------------------------------------------------------- internals
    def _gen(self, s: sp.Symbol):
        return self.domain.from_sympy(s)

    def _num(self, x: sp.Expr) -> Any:
        return self.domain.from_sympy(x)

    def _voltages(self, X: tuple, boundary: Sequence[str], values: dict[str, Any]) -> dict:
        interior, Xm = X
        V = {n: values[n] for n in boundary}
        for i, n in enumerate(interior):
            acc = self.domain.zero
            for j, b in enumerate(boundary):
                acc += Xm[i][j] * values[b]
            V[n] = acc
        return V

    def _out(self, V: dict):
        nodes = (self.output,) if isinstance(self.output, str) else self.output
        return V[nodes[0]] if len(nodes) == 1 else V[nodes[0]] - V[nodes[1]]

    def _inputs(self, inputs: Mapping[str, float] | None) -> dict:
        """The input voltages as field elements: the symbols, or a user's numbers (checked)."""
        if inputs is None:
            return {n: self._gen(s) for n, s in self.V_in.items()}
        missing = set(self.input_nodes) - set(inputs)
        if missing:
            raise TaskError(f"Input voltages for nodes {sorted(missing)} are missing.")
        return {n: self._num(_q(inputs[n], f"inputs[{n!r}]")) for n in self.input_nodes}

    def _checked_inputs(self, inputs: Mapping[str, float]) -> dict:
        """The input voltages of a checked data point as field elements (no validation)."""
        return {n: self._num(_rational(inputs[n])) for n in self.input_nodes}

    def _free(self, vals: dict) -> dict:
        """Free node voltages for input values ``vals`` (field elements)."""
        return self._voltages(self._X_free, self.input_nodes, vals)

    def _clamped(self, O_C: Any, vals: dict, VF: dict) -> dict:
        """Clamped node voltages for input values ``vals`` and their free voltages ``VF``."""
        vals = dict(vals)
        if isinstance(self.output, str):
            vals[self.output] = O_C
            outs: tuple[str, ...] = (self.output,)
        else:
            nudge = O_C - self._out(VF)
            for node, c in zip(self.output, output_split(2)):
                vals[node] = VF[node] + self._num(_rational(c)) * nudge
            outs = tuple(self.output)
        return self._voltages(self._X_clamp, self.input_nodes + outs, vals)

    def _point(self, vals: dict, Lv: Any, ev: Any) -> dict:
        """``O_F, P_F, P_C, C, F`` of one point (field elements): `point_elements` unchecked."""
        VF = self._free(vals)
        O_F = self._out(VF)
        O_C = O_F + ev * (Lv - O_F)  # (1)
        VC = self._clamped(O_C, vals, VF)
        P_F, P_C = self._power(VF), self._power(VC)
        dF, dC = self._gate_drops(VF), self._gate_drops(VC)
        S = [_rational(s) for s in self.network.S]
        F = [self._num(S[i]) * (dC[i] ** 2 - dF[i] ** 2) for i in range(len(S))]
        return {"O_F": O_F, "P_F": P_F, "P_C": P_C, "C": P_C - P_F, "F": F}

    def _symbolic_point(self) -> dict:
        """`_point` with every input, the label and the nudge left as symbols."""
        return self._point(self._inputs(None), self._gen(self.L), self._gen(self.eta))

    def free_voltages_element(self, inputs: Mapping[str, float] | None = None) -> dict:
        """Free node voltages (field elements); symbolic inputs unless ``inputs`` is given.

        Parameters
        ----------
        inputs : mapping str -> float, optional
            Input voltages, V (exact rationals of their decimal repr); default: the symbols
            ``V_<node>``.

        Returns
        -------
        dict str -> field element
        """
        return self._free(self._inputs(inputs))

    def clamped_voltages_element(self, O_C: Any, inputs: Mapping[str, float] | None = None) -> dict:
        """Clamped node voltages with the output held at ``O_C`` (a field element).

        A differential output shares the nudge as in
        `clln_theory.electrical.clamping.output_split`: ``V+`` moves by ``+(O_C - O_F)/2`` and
        ``V-`` by ``-(O_C - O_F)/2``.

        Parameters
        ----------
        O_C : field element
            Clamped output.
        inputs : mapping str -> float, optional
            Input voltages, V (exact rationals of their decimal repr); default: the symbols
            ``V_<node>``.

        Returns
        -------
        dict str -> field element
        """
        vals = self._inputs(inputs)
        return self._clamped(O_C, vals, self._free(vals))

    def _power(self, V: dict):
        P = self.domain.zero
        for e, Ke in zip(self.network.edges, self._edge_K):
            d = V[e.a] - V[e.b]
            P += Ke * d * d
        return P

    def _gate_drops(self, V: dict) -> list:
        g = self.network.gate_edges
        return [V[self.network.edges[i].a] - V[self.network.edges[i].b] for i in g]

    def point_elements(
        self,
        inputs: Mapping[str, float] | None = None,
        label: float | None = None,
        eta: float | None = None,
    ) -> dict:
        """``O_F, P_F, C, F`` of one point as field elements.

        ``C`` and ``F`` use standard clamping ``O_C = O_F + eta (L - O_F)`` (1).

        Parameters
        ----------
        inputs : mapping str -> float, optional
            Input voltages, V (exact rationals of their decimal repr); default: the symbols
            ``V_<node>``.
        label : float, optional
            Label, V; default: the symbol ``L``.
        eta : float, optional
            Nudge amplitude; default: the symbol ``eta``.

        Returns
        -------
        dict
            ``"O_F"``, ``"P_F"``, ``"P_C"``, ``"C"`` (field elements) and ``"F"`` (a list of
            field elements, gate order).
        """
        vals = self._inputs(inputs)
        Lv = self._gen(self.L) if label is None else self._num(_q(label, "label"))
        ev = self._gen(self.eta) if eta is None else self._num(_q(eta, "eta"))
        return self._point(vals, Lv, ev)

    # ------------------------------------------------------------------ sympy API
    def to_expr(self, element) -> sp.Expr:
        """A field element as a sympy expression.

        Parameters
        ----------
        element : field element
            An element of ``domain``.

        Returns
        -------
        sympy.Expr
        """
        return self.domain.to_sympy(element)

    @property
    def O_F(self) -> sp.Expr:
        """Free output ``O_F(K, V_in)``."""
        return self.to_expr(self._out(self._free(self._inputs(None))))

    @property
    def P_F(self) -> sp.Expr:
        """Free power ``P_F = sum_e K_e dV_F,e**2``."""
        return self.to_expr(self._power(self._free(self._inputs(None))))

    @property
    def P_C(self) -> sp.Expr:
        """Clamped power ``P_C(O_C)`` with the output held at the symbol ``O_C``."""
        vals = self._inputs(None)
        return self.to_expr(self._power(self._clamped(self._gen(self.O_C), vals, self._free(vals))))

    @property
    def C(self) -> sp.Expr:
        """Contrastive function ``C = P_C - P_F`` at ``O_C = O_F + eta (L - O_F)`` (D3), (1)."""
        return self.to_expr(self._symbolic_point()["C"])

    @property
    def force(self) -> tuple[sp.Expr, ...]:
        """Coupled Learning force ``F_i = S_i (dV_C,i**2 - dV_F,i**2)`` per gate."""
        return tuple(self.to_expr(f) for f in self._symbolic_point()["F"])

    def solution_manifold(
        self, label: float | None = None, inputs: Mapping[str, float] | None = None
    ) -> sp.Eq:
        """The solution manifold ``{O_F = L}`` as a polynomial equation in ``K``.

        Parameters
        ----------
        label : float, optional
            Label, V; default: the symbol ``L``.
        inputs : mapping str -> float, optional
            Input voltages, V (exact rationals of their decimal repr); default: the symbols
            ``V_<node>``.

        Returns
        -------
        sympy.Eq
            ``Eq(numerator(O_F - L), 0)`` (the denominator, a sum of spanning-forest products
            of positive conductances, never vanishes).
        """
        VF = self._free(self._inputs(inputs))
        Lv = self._gen(self.L) if label is None else self._num(_q(label, "label"))
        num = (self._out(VF) - Lv).numer
        return _sympy().Eq(num.as_expr(), 0)

    def K_of_G(self) -> dict[sp.Symbol, sp.Expr]:
        """Substitution ``K_i -> S_i (G_i - V_T,i)`` with the network's numbers (exact)."""
        return {
            Ki: _rational(S) * (Gi - _rational(VT))
            for Ki, Gi, S, VT in zip(self.K, self.G, self.network.S, self.network.V_T)
        }

    def gradient(self, element: Any, wrt: str = "K") -> sp.Matrix:
        """Gradient of a field element in ``K`` (``wrt="K"``) or in ``G`` (``wrt="G"``).

        Parameters
        ----------
        element : field element
            E.g. ``point_elements()["C"]``.
        wrt : {"K", "G"}
            Conductances, or gates (``d/dG_i = S_i d/dK_i`` at ``K = S (G - V_T)``).

        Returns
        -------
        sympy.Matrix
            Column, gate order.

        Raises
        ------
        ArgumentError
            ``wrt`` neither ``"K"`` nor ``"G"``.
        """
        wrt = choice(wrt, "wrt", ("K", "G"))
        sp = _sympy()
        gens = [self._gen(Ki) for Ki in self.K]
        g = [element.diff(x) for x in gens]
        if wrt == "K":
            return sp.Matrix([self.to_expr(x) for x in g])
        S = [_rational(s) for s in self.network.S]
        sub = self.K_of_G()
        return sp.Matrix([S[i] * self.to_expr(x).subs(sub) for i, x in enumerate(g)])

    def hessian_elements(self, element: Any) -> list[list]:
        """``d2 element / dK_i dK_j`` as field elements (exact, canonical).

        Parameters
        ----------
        element : field element
            E.g. ``point_elements()["C"]``.

        Returns
        -------
        list of list of field elements
        """
        return _hessian_elements(self, element)

    def hessian(self, element: Any = None, wrt: str = "K") -> sp.Matrix:
        """Hessian of a field element (default: ``C`` of one symbolic point).

        Parameters
        ----------
        element : field element, optional
            Default: ``C`` of one symbolic point.
        wrt : {"K", "G"}
            ``"K"``: ``d2/dK_i dK_j``. ``"G"``: ``S_i S_j d2/dK_i dK_j`` at
            ``K = S (G - V_T)`` (``K`` is affine in ``G``).

        Returns
        -------
        sympy.Matrix

        Raises
        ------
        ArgumentError
            ``wrt`` neither ``"K"`` nor ``"G"``.
        """
        wrt = choice(wrt, "wrt", ("K", "G"))
        sp = _sympy()
        if element is None:
            element = self._symbolic_point()["C"]
        H = _hessian_elements(self, element)
        n = len(self.K)
        M = sp.Matrix(n, n, lambda i, j: self.to_expr(H[i][j]))
        if wrt == "K":
            return M
        S = [_rational(s) for s in self.network.S]
        return sp.Matrix(n, n, lambda i, j: S[i] * S[j] * M[i, j]).subs(self.K_of_G())

    def latex(self, expr: Any) -> str:
        """LaTeX of an expression or matrix (``sympy.latex``).

        Parameters
        ----------
        expr : sympy.Expr or sympy.Matrix
            What to typeset.

        Returns
        -------
        str
        """
        return str(_sympy().latex(expr))

    def lambdify(self, expr: Any) -> Callable:
        """A numpy function ``f(G, inputs, label, eta)`` of an expression in ``K, k, V, L, eta``.

        Fixed conductances and ``K = S (G - V_T)`` are substituted with the network's numbers;
        ``G`` has shape ``(n_gates,)``, ``inputs`` is a mapping node -> volts.

        Parameters
        ----------
        expr : sympy.Expr
            An expression in the model's symbols.

        Returns
        -------
        callable
            ``f(G, inputs=None, label=0.0, eta=1.0) -> ndarray``.

        Raises
        ------
        ArgumentError
            If ``expr`` is not a sympy expression or matrix (a string is refused, never parsed:
            ``sympify`` of a string evaluates it as Python code).
        """
        sp = _sympy()
        if not isinstance(expr, sp.Basic | sp.MatrixBase):
            raise ArgumentError(
                f"Argument `expr` must be a sympy expression or matrix built from the model's "
                f"symbols, but is {type(expr).__name__}; strings are not parsed (parsing "
                "executes code)."
            )
        net = self.network
        fixed = {
            ks: _rational(net.K_fixed[i])
            for ks, i in zip(self.k, np.flatnonzero(~net.learning_mask))
        }
        e = expr.subs(fixed)
        args = [*self.K, *self.V_in.values(), self.L, self.eta]
        f = sp.lambdify(args, e, modules="numpy")
        names = list(self.V_in)

        def wrapped(G, inputs=None, label=0.0, eta=1.0):
            K = edge_conductances(net, np.asarray(G, dtype=float))[..., net.gate_edges]
            ins = [0.0 if inputs is None else inputs[n] for n in names]
            return np.asarray(f(*K, *ins, label, eta), dtype=float)

        return wrapped


def symbolic_model(
    network: Network,
    task_or_inputs: Task | Sequence[str],
    output: str | tuple[str, str] | None = None,
    *,
    gate_labels: Sequence[str] | None = None,
    max_interior: int = _MAX_INTERIOR,
    max_gates: int = _MAX_GATES,
) -> SymbolicModel:
    """Build the exact symbolic model of ``network`` with given inputs and output.

    Parameters
    ----------
    network : Network
        Linear device, small (see the size limits).
    task_or_inputs : Task or sequence of str
        A task (its input nodes and output are used), or the input node names.
    output : str or (str, str), optional
        Output node or differential pair; required when input nodes are given.
    gate_labels : sequence of str, optional
        Subscripts of the gate symbols (default ``1..n``): ``gate_labels=("-", "+")`` gives
        ``K_-, K_+, G_-, G_+`` for the 2+1 network.
    max_interior : int
        Largest number of interior nodes eliminated (default 8), at most 16.
    max_gates : int
        Largest number of gates (default 12), at most 64.

    Returns
    -------
    SymbolicModel

    Raises
    ------
    SymbolicSizeError
        More interior nodes or gates than the limits.
    ArgumentError
        A size limit not an integer in [0, 16] (``max_interior``) or [1, 64] (``max_gates``).
    NetworkError, TaskError
        Unknown or floating nodes, an output that is also an input.

    Notes
    -----
    Two LU solves over ``QQ(K, k)``: the free block (inputs imposed) and the clamped block
    (inputs and outputs imposed), each against the identity-like boundary coupling, so the
    interior voltages are ``X @ V_boundary`` with ``X`` rational in the conductances only.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> m = symbolic_model(star_network(), ["High", "Low", "Input"], "Output",
    ...                    gate_labels=("-", "+"))
    >>> m.O_F
    (K_+*V_High + K_-*V_Low + V_Input*k_1)/(K_+ + K_- + k_1)
    """
    limits = model_args(network, task_or_inputs, max_interior, max_gates)
    task = model_task(network, task_or_inputs, output)
    return _build_model(network, task, gate_labels, *limits)


def _build_model(
    network: Network,
    task: Task,
    gate_labels: Sequence[str] | None,
    max_interior: int,
    max_gates: int,
) -> SymbolicModel:
    """The symbolic model of a checked network and task (`symbolic_model` without checks)."""
    if task.is_multi_output:  # the symbolic model has one output (a node or a differential)
        raise TaskError(
            f"Task {task.name!r} has {task.n_outputs} targets; the symbolic model takes a "
            "single-output task: use force_jacobian or linearize (adjoint) for several targets."
        )
    sp = _sympy()
    inputs = task.input_nodes
    outs = task.output_nodes
    n_int = network.n_nodes - len(inputs)
    if n_int > max_interior or network.n_gates > max_gates:
        raise SymbolicSizeError(
            f"Symbolic elimination of {n_int} interior nodes with {network.n_gates} gates exceeds "
            f"the practical limit (max_interior={max_interior}, max_gates={max_gates}); use the "
            "adjoint formulas (clln_theory.theory.jacobian, method='adjoint') or raise the limits."
        )
    n = network.n_gates
    labels = list(gate_labels) if gate_labels is not None else [str(i + 1) for i in range(n)]
    if len(labels) != n:
        raise TaskError(f"Argument `gate_labels` must have {n} entries, but has {len(labels)}.")
    K = tuple(sp.Symbol(f"K_{s}", positive=True) for s in labels)
    G = tuple(sp.Symbol(f"G_{s}", real=True) for s in labels)
    n_fixed = int(np.sum(~network.learning_mask))
    k = tuple(sp.Symbol(f"k_{j + 1}", positive=True) for j in range(n_fixed))
    V_in = {nd: sp.Symbol(f"V_{nd}", real=True) for nd in inputs}
    L, eta, O_C = sp.Symbol("L", real=True), sp.Symbol("eta", positive=True), sp.Symbol("O_C")
    domain = sp.QQ.frac_field(*K, *k, *V_in.values(), L, eta, O_C)
    gK = iter(domain.from_sympy(s) for s in K)
    gk = iter(domain.from_sympy(s) for s in k)
    edge_K = tuple(next(gK) if e.learning else next(gk) for e in network.edges)

    return SymbolicModel(
        network=network,
        input_nodes=inputs,
        output=task.targets[0],  # the one target (a node or a Differential)
        K=K,
        k=k,
        G=G,
        V_in=V_in,
        L=L,
        eta=eta,
        O_C=O_C,
        domain=domain,
        _X_free=_solve_block(network, domain, edge_K, inputs),
        _X_clamp=_solve_block(network, domain, edge_K, inputs + outs),
        _edge_K=edge_K,
    )


def _solve_block(network: Network, domain: Any, edge_K: tuple, imposed: tuple[str, ...]):
    """Interior voltages ``X @ V_boundary`` with ``X`` exact in ``QQ(K, k)`` (one LU solve)."""
    interior = [nd for nd in network.nodes if nd not in imposed]
    if not interior:
        return (interior, [])
    pos_i = {nd: i for i, nd in enumerate(interior)}
    pos_b = {nd: j for j, nd in enumerate(imposed)}
    nI, nB = len(interior), len(imposed)
    LII = [[domain.zero] * nI for _ in range(nI)]
    LIB = [[domain.zero] * nB for _ in range(nI)]
    for e, Ke in zip(network.edges, edge_K):
        for x, y in ((e.a, e.b), (e.b, e.a)):
            if x in pos_i:
                i = pos_i[x]
                LII[i][i] += Ke
                if y in pos_i:
                    LII[i][pos_i[y]] -= Ke
                else:
                    LIB[i][pos_b[y]] += Ke  # -(-K): rhs = -L_IB V_B
    DomainMatrix = _sympy().polys.matrices.DomainMatrix
    A = DomainMatrix(LII, (nI, nI), domain)
    B = DomainMatrix(LIB, (nI, nB), domain)
    X = A.lu_solve(B)  # L_II X = -L_IB  (exact, canonical rational functions)
    return (interior, [[X[i, j].element for j in range(nB)] for i in range(nI)])


def _hessian_elements(model: SymbolicModel, element: Any) -> list[list]:
    """``d2 element / dK_i dK_j`` as field elements (`SymbolicModel.hessian_elements`)."""
    gens = [model._gen(Ki) for Ki in model.K]
    first = [element.diff(x) for x in gens]
    return [[first[i].diff(gens[j]) for j in range(len(gens))] for i in range(len(gens))]


def _task_elements(
    model: SymbolicModel, network: Network, G: np.ndarray, task: Task, eta: float
) -> tuple[Any, list]:
    """Mean ``C`` and ``F`` over the task's points (hinge applied at ``G``), numbers substituted.

    ``task`` is single-output (checked by `_build_model`): ``task.labels[p]`` is point p's label.
    """
    O_F = solve_free(network, G, task)[1].O
    classification = task.kind == "classification"
    eta_p = standard_amplitudes(O_F, task.labels, eta, classification)
    C = model.domain.zero
    F = [model.domain.zero] * network.n_gates
    ev = model._num(_rational(eta))
    for p, point in enumerate(task.points):
        if eta_p[p] == 0.0:  # switched off by the hinge of Appendix A
            continue
        Lv = model._num(_rational(task.labels[p]))
        el = model._point(model._checked_inputs(point.inputs), Lv, ev)
        C += el["C"]
        F = [a + b for a, b in zip(F, el["F"])]
    N = model.domain.from_sympy(_sympy().Integer(task.n_points))
    return C / N, [f / N for f in F]


def _evaluate(model: SymbolicModel, element: Any, K_values: dict, fixed: dict) -> float:
    sp = _sympy()
    pairs = [
        (model.domain.from_sympy(sym), sp.QQ(int(val.p), int(val.q)))
        for sym, val in {**K_values, **fixed}.items()
    ]
    return float(model.to_expr(element.subs(pairs)))


def _numbers(model: SymbolicModel, network: Network, G: np.ndarray) -> tuple[dict, dict]:
    K_num = edge_conductances(network, G)[network.gate_edges]  # S (G - V_T), gate order
    Rational = _sympy().Rational
    K_values = {Ki: Rational(Fraction(float(v))) for Ki, v in zip(model.K, K_num)}
    fixed = {
        ks: _rational(network.K_fixed[i])
        for ks, i in zip(model.k, np.flatnonzero(~network.learning_mask))
    }
    return K_values, fixed


def _checked(
    network: Any, G: Any, task: Any, eta: Any, limits: tuple[Any, Any]
) -> tuple[np.ndarray, float, int, int]:
    """The checks of the symbolic matrices: ``G`` (n_gates,), ``eta`` and the size limits."""
    instance(network, "network", Network, error=NetworkError)
    check_task(task, network)
    G = network.check_point(G)  # names an edge below threshold
    eta = check_eta(eta)
    max_interior, max_gates = model_limits(*limits)
    return G, eta, max_interior, max_gates


def _at(network: Network, G: np.ndarray, task: Task, eta: float, max_interior: int, max_gates: int):
    """The model, the task's C and F elements, and an exact evaluator at ``K = S (G - V_T)``."""
    model = _build_model(network, task, None, max_interior, max_gates)
    C, F = _task_elements(model, network, G, task, eta)
    K_values, fixed = _numbers(model, network, G)
    return model, C, F, lambda expr: _evaluate(model, expr, K_values, fixed)


def force_jacobian_at(
    network: Network,
    G: np.ndarray,
    task: Task,
    eta: float,
    max_interior: int = _MAX_INTERIOR,
    max_gates: int = _MAX_GATES,
) -> np.ndarray:
    """Engine of `symbolic_force_jacobian` on checked values (a network, a task that fits it,
    gates ``G`` (n_gates,) above threshold, ``eta`` in (0, 1], the size limits): nothing is
    validated. `clln_theory.theory.linearize` (``route="symbolic"``) calls it after its own
    checks. Not part of the package's API (not in ``__all__``)."""
    model, _, F, value = _at(network, G, task, eta, max_interior, max_gates)
    gens = [model.domain.from_sympy(Ki) for Ki in model.K]
    S = network.S
    return _matrix(network.n_gates, lambda i, j: S[j] * value(F[i].diff(gens[j])))


def _matrix(n: int, entry) -> np.ndarray:
    """The (n, n) float array of ``entry(i, j)``."""
    return np.array([[entry(i, j) for j in range(n)] for i in range(n)])


def symbolic_contrastive_hessian(
    network: Network,
    G: Any,
    task: Task,
    *,
    eta: float = 1.0,
    max_interior: int = _MAX_INTERIOR,
    max_gates: int = _MAX_GATES,
) -> np.ndarray:
    """``d2C_eta/dG2`` of a task at ``G`` from the exact symbolic model.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Its points' mean ``C`` (hinge of Appendix A applied at ``G``).
    eta : float in (0, 1]
        Nudge amplitude, default 1.
    max_interior : int
        Largest number of interior nodes eliminated (default 8), at most 16.
    max_gates : int
        Largest number of gates (default 12), at most 64.

    Returns
    -------
    H : (n_gates, n_gates) ndarray
        Evaluated exactly in rational arithmetic at the float ``K = S (G - V_T)``, then rounded.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> H = symbolic_contrastive_hessian(star_network(), [3.0, 3.5], task)
    >>> H.shape
    (2, 2)
    """
    G, eta, max_interior, max_gates = _checked(network, G, task, eta, (max_interior, max_gates))
    model, C, _, value = _at(network, G, task, eta, max_interior, max_gates)
    HK = model.hessian_elements(C)
    S = network.S
    return _matrix(network.n_gates, lambda i, j: S[i] * S[j] * value(HK[i][j]))


def symbolic_force_jacobian(
    network: Network,
    G: Any,
    task: Task,
    *,
    eta: float = 1.0,
    max_interior: int = _MAX_INTERIOR,
    max_gates: int = _MAX_GATES,
) -> np.ndarray:
    """Jacobian ``dF/dG`` of the mean Coupled Learning force from the exact symbolic model.

    Parameters
    ----------
    network : Network
        Linear device.
    G : (n_gates,) array_like
        Gate voltages, V.
    task : Task
        Its points' mean force (hinge of Appendix A applied at ``G``).
    eta : float in (0, 1]
        Nudge amplitude, default 1.
    max_interior : int
        Largest number of interior nodes eliminated (default 8), at most 16.
    max_gates : int
        Largest number of gates (default 12), at most 64.

    Returns
    -------
    J : (n_gates, n_gates) ndarray
        ``J[i, j] = S_j dF_i/dK_j`` evaluated exactly at ``K = S (G - V_T)``.

    Examples
    --------
    >>> from clln_theory.model.network import star_network
    >>> from clln_theory.experiments.paper import experiment_tasks
    >>> task, _ = experiment_tasks("exp1")
    >>> J = symbolic_force_jacobian(star_network(), [3.0, 3.5], task)
    >>> bool(np.allclose(J, J.T, rtol=1e-12, atol=0))  # eta = 1: F = grad C
    True
    """
    G, eta, max_interior, max_gates = _checked(network, G, task, eta, (max_interior, max_gates))
    return force_jacobian_at(network, G, task, eta, max_interior, max_gates)
