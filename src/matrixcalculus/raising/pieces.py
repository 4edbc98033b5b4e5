"""The raiser's vocabulary: the matrix shape of an AST, a factor with its labels (Piece),
and the failure (NoMatrixForm)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..printers.text import to_text

Shape = tuple[bool, bool]    # (has a rows axis, has a cols axis)
SCALAR: Shape = (False, False)
COLUMN: Shape = (True, False)
ROW: Shape = (False, True)
MATRIX: Shape = (True, True)


class NoMatrixForm(Exception):
    """The node has no matrix form (a product needing more than two free indices): the
    caller prints index notation."""


@dataclass(frozen=True)
class Piece:
    """A factor of a product in matrix notation, with the IR labels of its axes."""

    ast: ast.Node
    idx: tuple[int, ...]
    den: bool = False            # ast is a denominator: the factor is 1 ./ ast


def num(v: float) -> ast.Node:
    return ast.Neg(ast.Num(-v)) if v < 0 else ast.Num(v)


def dim_ast(d) -> ast.Node:
    return ast.Num(d) if isinstance(d, int) else ast.Name(d)


def is_ones(a: ast.Node) -> bool:
    """ones(n)"""
    return isinstance(a, ast.Call) and a.func == "ones" and len(a.args) == 1


def is_ones_matrix(a: ast.Node) -> bool:
    """ones(m,n)"""
    return isinstance(a, ast.Call) and a.func == "ones" and len(a.args) == 2


def shortest(cands: list, measure, text=to_text) -> object:
    """The candidate (a Piece or an AST) printing shortest: fewest tokens, then fewest
    characters, then alphabetical (`w'*x`, not `x'*w`)."""
    def key(c):
        return measure(c.ast if isinstance(c, Piece) else c)
    best = min(key(c) for c in cands)
    tied = [c for c in cands if key(c) == best]
    if len(tied) == 1:
        return tied[0]
    return min(tied, key=lambda c: text(c.ast if isinstance(c, Piece) else c))
