"""Shared machinery of the derivation scripts: a document that records steps and proofs.

Every derivation script builds one `Document`. Prose and displayed equations go in with `text`
and `eq`; every claim goes through one of three checks, each of which raises `DerivationError`
when the claim is false:

``prove``
    sympy simplifies ``lhs - rhs`` to exactly zero (a proof, valid for all values of the symbols
    within their stated assumptions).
``check50``
    a residual computed with mpmath at 50 significant digits on seeded random values is below a
    stated bound (used where symbolic simplification is impractical).
``compare``
    the project's numeric implementation (numpy, double precision) agrees with the 50-digit
    reference within a stated relative tolerance.

`Document.render` returns Markdown with LaTeX; it is deterministic (no timings, no measured
floating-point residuals in the text: only the bounds that were asserted), so the generated
``.md`` files committed next to the scripts can be regenerated and compared by
``tests/test_derivations.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import mpmath as mp
import sympy as sp

__all__ = [
    "DIGITS",
    "DerivationError",
    "Document",
    "main",
    "mp_matrix",
    "mp_max_abs",
    "mp_norm",
    "rng",
    "zero_simplify",
]

#: Working precision of every mpmath check, in significant decimal digits.
DIGITS = 50


class DerivationError(AssertionError):
    """A claimed identity or bound does not hold."""


def rng(seed: int) -> random.Random:
    """A private, seeded random generator (never the global one)."""
    return random.Random(seed)


def mp_matrix(rows: Iterable[Iterable[object]]) -> mp.matrix:
    """An mpmath matrix at the current precision from nested iterables."""
    return mp.matrix([[mp.mpf(x) if not isinstance(x, mp.mpf) else x for x in r] for r in rows])


def mp_max_abs(A: mp.matrix) -> mp.mpf:
    """Largest absolute entry of an mpmath matrix or vector."""
    return max(abs(A[i, j]) for i in range(A.rows) for j in range(A.cols))


def mp_norm(v: mp.matrix) -> mp.mpf:
    """Euclidean (Frobenius) norm of an mpmath vector or matrix."""
    return mp.sqrt(sum(abs(v[i, j]) ** 2 for i in range(v.rows) for j in range(v.cols)))


@dataclass
class _Check:
    kind: str  # "sympy proof", "mpmath 50 digits", "package"
    claim: str
    detail: str


@dataclass
class Document:
    """The steps of one derivation and the record of its checks.

    Parameters
    ----------
    slug : str
        File stem of the script and of its generated document (``d01_evolution``).
    title : str
        Title of the generated document.
    """

    slug: str
    title: str
    _parts: list[str] = field(default_factory=list)
    _checks: list[_Check] = field(default_factory=list)

    # ----------------------------------------------------------------- writing
    def section(self, heading: str) -> None:
        """Start a section."""
        self._parts.append(f"## {heading}\n")

    def text(self, markdown: str) -> None:
        """A paragraph of prose (Markdown, inline LaTeX between ``$``)."""
        self._parts.append(_dedent(markdown).strip() + "\n")

    def eq(self, latex: str, label: str | None = None) -> None:
        """A displayed equation, written as LaTeX, optionally tagged with the paper's label."""
        tag = f" \\tag{{{label}}}" if label else ""
        self._parts.append(f"$$\n{latex}{tag}\n$$\n")

    def eq_sym(self, lhs: str, expr: sp.Basic, label: str | None = None) -> None:
        """A displayed equation ``lhs = expr`` where ``expr`` is a sympy result."""
        self.eq(f"{lhs} = {sp.latex(expr)}", label)

    # ------------------------------------------------------------------ checks
    def prove(self, claim: str, lhs: object, rhs: object = 0, *, simplifier=None) -> None:
        """Assert that sympy simplifies ``lhs - rhs`` to exactly zero (scalar or matrix).

        ``simplifier`` (default `zero_simplify`: expand, then cancel, then `sympy.simplify`,
        stopping at the first that gives 0) is applied entrywise to the difference.
        """
        simp = simplifier or zero_simplify
        if _is_matrix(lhs) or _is_matrix(rhs):
            L = sp.Matrix(lhs)
            diff = L - (sp.Matrix(rhs) if _is_matrix(rhs) else rhs * sp.ones(*L.shape))
        else:
            diff = sp.sympify(lhs) - sp.sympify(rhs)
        if isinstance(diff, sp.MatrixBase):
            residual = diff.applyfunc(simp)
            ok = all(e == 0 for e in residual)
        else:
            residual = simp(diff)
            ok = residual == 0
        if not ok:
            raise DerivationError(
                f"[{self.slug}] sympy could not prove: {claim}. Residual after simplification: "
                f"{residual}"
            )
        self._checks.append(_Check("sympy proof", claim, "difference simplifies to 0"))
        self._parts.append(f"> **Proved (sympy).** {claim}\n")

    def check50(self, claim: str, residual: mp.mpf, bound: str) -> None:
        """Assert a 50-digit residual is below ``bound`` (a decimal string, e.g. ``"1e-40"``)."""
        if not (mp.mpf(residual) <= mp.mpf(bound)):
            raise DerivationError(
                f"[{self.slug}] 50-digit check failed: {claim}. Residual "
                f"{mp.nstr(residual, 5)} exceeds the bound {bound}."
            )
        self._checks.append(_Check("mpmath 50 digits", claim, f"residual < {bound}"))
        self._parts.append(f"> **Checked at {DIGITS} digits.** {claim} (residual < {bound})\n")

    def compare(self, claim: str, rel_error: float, rtol: str) -> None:
        """Assert the package agrees with the reference to relative error ``rtol``."""
        if not (float(rel_error) <= float(rtol)):
            raise DerivationError(
                f"[{self.slug}] the package disagrees with the derivation: {claim}. Relative "
                f"error {float(rel_error):.3e} exceeds {rtol}."
            )
        self._checks.append(_Check("package", claim, f"relative error < {rtol}"))
        self._parts.append(f"> **Package agrees.** {claim} (relative error < {rtol})\n")

    # ----------------------------------------------------------------- output
    @property
    def checks(self) -> tuple[tuple[str, str, str], ...]:
        """``(kind, claim, detail)`` of every check that passed, in order."""
        return tuple((c.kind, c.claim, c.detail) for c in self._checks)

    def render(self) -> str:
        """The document as Markdown (deterministic)."""
        head = [
            f"# {self.title}\n",
            f"*Generated by `derivations/{self.slug}.py` with sympy {sp.__version__} and mpmath "
            f"{mp.__version__}; do not edit by hand: run `python derivations/{self.slug}.py`.*\n",
        ]
        counts = {k: sum(c.kind == k for c in self._checks) for k in _KINDS}
        summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        table = ["## Checks\n", f"{len(self._checks)} checks passed: {summary}.\n"]
        table.append("| # | kind | claim | criterion |\n|---|---|---|---|")
        for i, c in enumerate(self._checks, 1):
            table.append(f"| {i} | {c.kind} | {_cell(c.claim)} | {c.detail} |")
        return "\n".join(head + self._parts + table) + "\n"


def zero_simplify(e: sp.Basic) -> sp.Basic:
    """Try cheap exact simplifications first; any of them returning 0 is a proof of zero."""
    e = sp.sympify(e)
    for step in (sp.expand, lambda x: sp.cancel(sp.expand(x)), sp.simplify):
        e = step(e)
        if e == 0:
            return e
    return e


_KINDS = ("sympy proof", "mpmath 50 digits", "package")


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _is_matrix(x: object) -> bool:
    return isinstance(x, sp.MatrixBase | list | tuple)


def _dedent(s: str) -> str:
    lines = s.strip("\n").splitlines()
    indents = [len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()]
    cut = min(indents, default=0)
    return "\n".join(ln[cut:] for ln in lines)


def main(build: Callable[[], Document], script: str) -> int:
    """Command line of a derivation script: run every check, write or compare its document."""
    parser = argparse.ArgumentParser(description=(build.__doc__ or "").strip().splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed document differs from the regenerated one",
    )
    args = parser.parse_args()
    doc = build()
    text = doc.render()
    out = Path(script).with_suffix(".md")
    if args.check:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print(f"{out.name}: {'up to date' if same else 'STALE, regenerate it'}")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    print(f"{len(doc.checks)} checks passed; wrote {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("This module is a helper; run one of the dNN_*.py scripts.")
