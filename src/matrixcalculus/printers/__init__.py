"""Printers: answers as text (the input language), LaTeX, and index notation."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..ir.nodes import Node, walk
from .index import index_form
from .latex import to_latex
from .naming import name_shared
from .text import to_text


@dataclass(frozen=True)
class Answer:
    text: str
    latex: str
    matrix_form: bool                 # True when `text` is in the input language
    tree: ast.Node | None = None      # the surface AST when matrix_form


def render(root: Node, taken: set[str] = frozenset()) -> Answer:
    """Matrix notation where it exists (shared subexpressions named once), else index
    notation.  `taken`: names the answer must not bind (variables, dimensions)."""
    from ..raising import NoMatrixForm, Raiser
    raiser = Raiser(root)
    try:
        tree = raiser.lift(root)
    except NoMatrixForm:
        text, tex = index_form(root, raiser)
        return Answer(text, tex, False)
    used = set(taken) | {n.params[0] for n in walk(root) if n.op == "var"}
    used |= {d for n in walk(root) for d in n.shape if isinstance(d, str)}
    tree = name_shared(tree, used)
    return Answer(to_text(tree), to_latex(tree), True, tree)
