"""A griffe extension: docstring roles such as ``:func:`~a.b.c``` become cross-references.

The package's docstrings use the reStructuredText roles ``:func:``, ``:class:``, ``:meth:``,
``:attr:``, ``:mod:``, ``:data:``, ``:exc:`` and ``:obj:``. mkdocstrings renders Markdown, so each
role is rewritten to an autorefs reference ``[`c`][a.b.c]``; a short name is resolved in the scope
of the documented object (its class, its module, the module's imports). A reference that does not
resolve, or that points at an object the site does not render, is reported by mkdocs as an
unresolved cross-reference, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(func|class|meth|attr|mod|data|exc|obj|const):`(~?)([\w.]+)(\(\))?`")


def _resolve(obj: Any, name: str) -> str | None:
    scope = obj
    while scope is not None:
        try:
            return scope.resolve(name)
        except Exception:  # griffe raises NameResolutionError and others
            pass
        # a dotted name whose head is a member or import of the scope
        head, _, rest = name.partition(".")
        if rest:
            try:
                return f"{scope.resolve(head)}.{rest}"
            except Exception:
                pass
        scope = scope.parent
    return None


def _rewrite(obj: Any) -> None:
    doc = obj.docstring
    if doc is None or ":" not in doc.value:
        return

    def repl(m: re.Match[str]) -> str:
        _role, tilde, target, call = m.groups()
        text = f"`{target.rsplit('.', 1)[-1] if tilde else target}{call or ''}`"
        if target.startswith("clln_theory."):
            return f"[{text}][{target}]"
        path = _resolve(obj, target)
        if path is None and "." in target:
            return text  # outside the package (``pathlib.Path``): no page to link to
        if path is not None and not path.startswith("clln_theory."):
            return text
        # unresolved short names stay references, which autorefs reports as broken
        return f"[{text}][{path or target}]"

    doc.value = _ROLE.sub(repl, doc.value)


class SphinxRolesToCrossRefs(griffe.Extension):
    """Rewrite reStructuredText roles in every docstring of a loaded package."""

    def on_package(self, *, pkg: Any, **kwargs: Any) -> None:
        stack = [pkg]
        seen: set[str] = set()
        while stack:
            obj = stack.pop()
            if obj.is_alias or obj.path in seen:
                continue
            seen.add(obj.path)
            _rewrite(obj)
            stack.extend(m for m in obj.members.values() if not m.is_alias)
