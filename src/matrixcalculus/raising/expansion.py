"""Expansion in matrix notation (LANGUAGE.md "Expansion"): which columns are axis-reduced
(only those, and rows, may be written expanding over a matrix), and the forms that drop a
product with ones beside a matrix (`ones(m)*r` is the row r there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from ..language.axes import ELEMENTWISE_CALLS, ELEMENTWISE_OPS, elementwise_parts, reduction_axis
from .pieces import COLUMN, MATRIX, ROW, SCALAR, is_ones

if TYPE_CHECKING:
    from .algebra import Algebra


def reduced(alg: Algebra, a: ast.Node) -> bool:
    """Whether a is an axis-reduced column (LANGUAGE.md "Expansion"): sum/mean/
    logsumexp(X, 2), or built elementwise (scalings included) from such columns and
    scalars; only such a column may be written expanding over a matrix."""
    k = reduction_axis(a)
    if k is not None:
        return k == 2 and alg.shape(a.args[0]) == MATRIX
    parts = elementwise_parts(a)
    if parts is None:
        return False
    shaped = [p for p in parts if alg.shape(p) != SCALAR]
    return bool(shaped) and all(alg.shape(p) == COLUMN and alg.reduced(p)
                                for p in shaped)


def as_reduced(alg: Algebra, a: ast.Node) -> ast.Node | None:
    """a written as an axis-reduced column where it is one in value: a itself, or with
    each diag(A*B) in it as sum(A.*B', 2) (`diag(G*X')./r` is `sum(G.*X, 2)./r`);
    else None."""
    if alg.shape(a) != COLUMN:
        return None
    if alg.reduced(a):
        return a
    if isinstance(a, ast.Call) and a.func == "diag" and len(a.args) == 1:
        p = a.args[0]
        if isinstance(p, ast.Binary) and p.op == "*" and alg.shape(p.left) == MATRIX \
                and alg.shape(p.right) == MATRIX:
            return ast.Call("sum", (ast.Binary(".*", p.left, alg.T(p.right)), ast.Num(2)))
        return None
    if isinstance(a, ast.Neg):
        inner = as_reduced(alg, a.operand)
        return None if inner is None else ast.Neg(inner)
    if isinstance(a, ast.Binary) and a.op in ELEMENTWISE_OPS:
        sides = []
        for p in (a.left, a.right):
            sides.append(p if alg.shape(p) == SCALAR else as_reduced(alg, p))
            if sides[-1] is None:
                return None
        return ast.Binary(a.op, sides[0], sides[1])
    if isinstance(a, ast.Call) and a.func in ELEMENTWISE_CALLS and len(a.args) == 1:
        inner = as_reduced(alg, a.args[0])
        return None if inner is None else ast.Call(a.func, (inner,))
    return None


def transposes_apart(alg: Algebra, x: ast.Node, y: ast.Node) -> bool:
    """Whether (x op y)' may be written x' op y': always for equal shapes (or a scalar);
    for an expansion only where the row side turns into an axis-reduced column (a plain
    column never expands, so `(X'.*v')'` stays as it is rather than `X.*v`)."""
    sx, sy = alg.shape(x), alg.shape(y)
    if sx == sy or SCALAR in (sx, sy):
        return True
    return all(s != ROW or alg.reduced(alg.T(v)) for v, s in ((x, sx), (y, sy)))


def unspread(alg: Algebra, x: ast.Node) -> ast.Node | None:
    """For ones(m)*r with r a row, and c*ones(n)' with c an axis-reduced column (a chain
    of products, a sign in front, a power): r or c, the forms that expand over a matrix
    beside them; else None."""
    if isinstance(x, ast.Neg):
        inner = unspread(alg, x.operand)
        return None if inner is None else ast.Neg(inner)
    if isinstance(x, ast.Binary) and x.op == ".^" and alg.shape(x.right) == SCALAR:
        inner = unspread(alg, x.left)
        return None if inner is None else ast.Binary(".^", inner, x.right)
    chain: list[ast.Node] = []
    while isinstance(x, ast.Binary) and x.op == "*":
        chain.append(x.right)
        x = x.left
    chain.append(x)
    chain.reverse()
    if len(chain) < 2:
        return None
    k = next((k for k, f in enumerate(chain) if alg.shape(f) != SCALAR), None)
    last = chain[-1]
    if k is not None and k < len(chain) - 1 and is_ones(chain[k]):
        want, rest = ROW, chain[:k] + chain[k + 1:]
    elif isinstance(last, ast.Transpose) and is_ones(last.operand):
        want, rest = COLUMN, chain[:-1]
    else:
        return None
    out = rest[0]
    for f in rest[1:]:
        out = ast.Binary("*", out, f)
    if alg.shape(out) != want or want == COLUMN and not alg.reduced(out):
        return None
    return out


def unspread_beside(alg: Algebra, x: ast.Node) -> ast.Node:
    """x beside a matrix, as the row or axis-reduced column it spreads where it is one."""
    return unspread(alg, x) or x
