"""An einsum lifted to matrix notation: its factors (numbers, denominators and pieces with
labels), combined by the grouping search, with the coefficient in front."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ast
from ..ir.build import power_parts
from ..ir.nodes import Node
from ..ir.patterns import Single, single
from .algebra import split_number
from .combine import materialize
from .pieces import NoMatrixForm, Piece, dim_ast, num

if TYPE_CHECKING:
    from .lift import Raiser


def factors(r: Raiser, n: Node) -> tuple[list[ast.Node], list[ast.Node], list[Piece], float]:
    """An einsum's factors: scalar numerators and denominators, the rest as pieces (with
    ones added for labels summed inside a single factor), and the numbers taken out of
    them."""
    coef, idxs, out = n.params
    dims: dict[int, object] = {}
    for a, ix in zip(n.args, idxs):
        dims.update(zip(ix, a.shape))
    nums: list[ast.Node] = []
    dens: list[ast.Node] = []
    pieces: list[Piece] = []
    for k, (a, ix) in enumerate(zip(n.args, idxs)):
        base, e = power_parts(a)
        negative = a.op == "power" and e is not None and e < 0
        if a.rank == 0:
            if negative:
                dens.append(r.positive_power(r.lift(base), -e, 0, base))  # type: ignore[operator]
            else:
                nums.append(r.lift(a))
            continue
        if len(set(ix)) < len(ix):          # X[i,i]: ii->i is diag, ii-> is tr
            i = ix[0]
            elsewhere = i in out or any(i in jx for j, jx in enumerate(idxs) if j != k)
            kind = single(ix, (i,) if elsewhere else ())
            x = r.lift(a)
            if kind is Single.DIAGONAL:
                pieces.append(Piece(ast.Call("diag", (x,)), (i,)))
            elif kind is Single.TRACE:
                nums.append(ast.Call("tr", (x,)))
            else:
                raise NoMatrixForm
            continue
        if negative:
            pieces.append(Piece(r.positive_power(r.lift(base), -e, a.rank),  # type: ignore[operator]
                                ix, den=True))
        else:
            pieces.append(Piece(r.lift(a), ix))
    counts: dict[int, int] = {}
    for p in pieces:
        for lab in p.idx:
            counts[lab] = counts.get(lab, 0) + 1
    for lab, c in list(counts.items()):
        if c == 1 and lab not in out:
            pieces.append(Piece(ast.Call("ones", (dim_ast(dims[lab]),)), (lab,)))
    # numbers inside factors (2*(A*x - b)) join the coefficient
    scale = 1.0
    for k, x in enumerate(nums):
        c, nums[k] = split_number(x)
        scale *= c
    for k, p in enumerate(pieces):
        if not p.den:
            c, a = split_number(p.ast)
            scale *= c
            pieces[k] = Piece(a, p.idx)
    return nums, dens, pieces, scale


def lift_einsum(r: Raiser, n: Node) -> ast.Node:
    coef, idxs, out = n.params
    nums, dens, pieces, scale = factors(r, n)
    coef *= scale
    mat: ast.Node | None = None
    if pieces:
        best = r.combine_all(pieces, tuple(out))
        if best.den:
            best = materialize(best)
        if len(best.idx) != len(out) or set(best.idx) != set(out):
            raise NoMatrixForm
        mat = best.ast
        if len(out) == 2 and best.idx != tuple(out):
            mat = r.T(mat)
    expr: ast.Node | None = None
    for s in nums:
        expr = s if expr is None else r.mul(expr, s)
    if mat is not None:
        expr = mat if expr is None else r.mul(expr, mat)
    if dens:
        den = dens[0]
        for d in dens[1:]:
            den = ast.Binary("*", den, d)
        if expr is None:
            expr, coef = num(coef), 1.0
        expr = ast.Binary("/", expr, den)
    if expr is None:
        return num(coef)
    if coef == -1:
        return ast.Neg(expr)
    if coef != 1:
        body = r.mul(ast.Num(abs(coef)), expr)
        return ast.Neg(body) if coef < 0 else body
    return expr
