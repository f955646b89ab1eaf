"""clln_theory: the physics of learning machines made of imperfect analog parts.

Closed-form limit cycles of biased Coupled Learning (Appendix D of Dillavou, Guzman, Liu,
Durian 2025), symbolic contrastive Hessians, and a nonlinear reference simulator.
"""

from __future__ import annotations

from . import errors

__version__ = "0.1.0"

__all__ = ["__version__", "errors"]
