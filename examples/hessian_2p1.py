"""Derive the contrastive Hessian of the paper's 2+1 network and evaluate it at experiment 1.

The 2+1 network (Fig. 2A): High (V+ = 0.4351 V) and Low (V- = 0.0181 V) feed the
Output through learning edges with gates (G-, G+); the Input feeds it through a fixed 500 Ω.
Task alpha of experiment 1 (Fig. 2B,F; App. B): V1 = V+, L = 0.31 V.

Prints: the free output O_F, the contrastive function C (D3) and its Hessian in the conductances
K (LaTeX), the solution line, then the Hessian at the point of the solution line nearest the
reference point (3.0, 3.5) V (App. E), checked against the adjoint formula and central finite
differences of the force, and the rate matrix M = r gamma d2C/dG2 (D2) with Fig. 2's r, gamma.
"""

import numpy as np

from clln_theory.electrical.symbolic import symbolic_contrastive_hessian, symbolic_model
from clln_theory.experiments import paper
from clln_theory.model.network import star_network
from clln_theory.model.tasks import DataPoint, Task
from clln_theory.theory.jacobian import (
    force_jacobian,
    force_jacobian_fd,
    linearize,
    nearest_solution,
)


def main() -> None:
    net = star_network()
    inputs = {"High": paper.V_PLUS, "Low": paper.V_MINUS, "Input": paper.V_PLUS}
    task = Task([DataPoint(inputs, 0.31)], "Output", name="alpha")
    m = symbolic_model(net, task, gate_labels=("-", "+"))

    print("Free output:      O_F =", m.latex(m.O_F))
    print("Contrastive fn:   C   =", m.latex(m.C.factor()))
    print("Hessian in K:  d2C/dK2 =", m.latex(m.hessian(wrt="K").applyfunc(lambda e: e.factor())))
    print("d2C/dG_i dG_j = S_i S_j d2C/dK_i dK_j with K = S (G - V_T)")
    line = m.solution_manifold(label=0.31, inputs=inputs)
    print("Solution manifold (O_F = L):", m.latex(line))

    G_star = nearest_solution(net, task, paper.EXPERIMENTS["exp1"].reference)
    H_sym = symbolic_contrastive_hessian(net, G_star, task)
    J_adj = force_jacobian(net, G_star, task).J
    J_fd = force_jacobian_fd(net, G_star, task)
    digits = lambda a, b: -np.log10(np.max(np.abs(a - b)) / np.max(np.abs(b)) + 1e-17)  # noqa: E731
    print(f"\nG* nearest (3.0, 3.5) V on the alpha line: ({G_star[0]:.6f}, {G_star[1]:.6f}) V")
    print("d2C/dG2 at G* (A/V):\n", np.array2string(H_sym, precision=10))
    print(
        f"agreement: symbolic vs adjoint {digits(J_adj, H_sym):.1f} digits, "
        f"symbolic vs finite differences {digits(J_fd, H_sym):.1f} digits"
    )

    r_gamma = paper.FIG2_R * paper.gamma_from_components(paper.FIG2_R0, paper.FIG2_C0)
    lt = linearize(
        net,
        task,
        G_star,
        gamma=paper.gamma_from_components(paper.FIG2_R0, paper.FIG2_C0),
        r=paper.FIG2_R,
    )
    print(f"\nM = r gamma d2C/dG2 with r gamma = {r_gamma:.4g} Ohm/s (Fig. 2 components):")
    print(np.array2string(lt.M, precision=6), "1/s")
    print(
        f"eigenvalues {np.array2string(lt.eigvals, precision=6)} 1/s, rank {lt.rank}; "
        f"null direction (along the solution line) {np.array2string(lt.eigvecs[:, 0], precision=6)}"
    )


if __name__ == "__main__":
    main()
