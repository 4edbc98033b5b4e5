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
from .pieces import COLUMN, NoMatrixForm, Piece, dim_ast, num

if TYPE_CHECKING:
    from .lift import Raiser


def split_sign(a: ast.Node) -> tuple[float, ast.Node]:
    """split_number, and a sum of negative terms as the negated sum: a factor
    `-C - C'` is -1 times `C + C'` (`Y - 0.5*Y*(C + C')*Y`, not `0.5*Y*(-C - C')*Y + Y`)."""
    c, a = split_number(a)
    terms = []
    x = a
    while isinstance(x, ast.Binary) and x.op == "-":
        terms.append(x.right)
        x = x.left
    if not terms or not isinstance(x, ast.Neg):
        return c, a
    acc = x.operand
    for t in reversed(terms):
        acc = ast.Binary("+", acc, t)
    return -c, acc


def mean_size(n: Node) -> int | None:
    """Where the einsum sums over one label only, and a factor divides by that label's
    size (sum(ones(d))^-k, a dimension used as a value): the factor's position, so the
    sum may print as a mean (`mean(X, 2)` for sum(X, 2)/d); else None."""
    coef, idxs, out = n.params
    counts: dict[int, int] = {}
    dims: dict[int, object] = {}
    for a, ix in zip(n.args, idxs):
        dims.update(zip(ix, a.shape))
        for lab in ix:
            counts[lab] = counts.get(lab, 0) + 1
    summed = [lab for lab in counts if lab not in out]
    if len(summed) != 1:
        return None
    for k, a in enumerate(n.args):
        base, e = power_parts(a)
        if a.op == "power" and e is not None and e < 0 and base.op == "einsum" \
                and len(base.args) == 1 and base.args[0].op == "ones" and not base.params[2] \
                and base.args[0].shape[0] == dims[summed[0]]:
            return k
    return None


def factors(r: Raiser, n: Node, mean_at: int | None = None
            ) -> tuple[list[ast.Node], list[ast.Node], list[Piece], float]:
    """An einsum's factors: scalar numerators and denominators, the rest as pieces (with
    ones added for labels summed inside a single factor), and the numbers taken out of
    them; `mean_at`: the size factor (mean_size) whose one power a mean takes."""
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
            if negative and k == mean_at:
                if e != -1:                                  # type: ignore[operator]
                    dens.append(r.positive_power(r.lift(base), -e - 1, 0, base))  # type: ignore[operator]
            elif negative:
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
        c, nums[k] = split_sign(x)
        scale *= c
    for k, p in enumerate(pieces):
        if not p.den:
            c, a = split_sign(p.ast)
            scale *= c
            pieces[k] = Piece(a, p.idx)
    return nums, dens, pieces, scale


def _walk(a: ast.Node):
    stack = [a]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(ast.children(x))


def _as_mean(r: Raiser, mat: ast.Node, pieces: list[Piece]) -> ast.Node | None:
    """mat with its one sum made here (not inside a factor) as a mean, or None."""
    inside = {id(x) for p in pieces for x in _walk(p.ast)}
    made = [x for x in _walk(mat) if isinstance(x, ast.Call) and x.func == "sum"
            and id(x) not in inside and (len(x.args) == 2 or r.shape(x.args[0]) == COLUMN)]
    if len({id(x) for x in made}) != 1:
        return None
    target = made[0]
    # rebuilt bottom up, iteratively (answers can be deep): each node above the target
    # once, over its rebuilt children
    built: dict[int, ast.Node] = {}
    for x in ast.postorder(mat, lambda x: x is not target):      # children before parents
        if x is target:
            built[id(x)] = ast.Call("mean", x.args)
            continue
        kids = ast.children(x)
        if any(id(k) in built for k in kids):
            built[id(x)] = ast.with_children(x, [built.get(id(k), k) for k in kids])
    return built.get(id(mat), mat)


def _matrix_part(r: Raiser, n: Node, pieces: list[Piece]) -> ast.Node | None:
    coef, idxs, out = n.params
    if not pieces:
        return None
    best = r.combine_all(pieces, tuple(out))
    if best.den:
        best = materialize(best)
    if len(best.idx) != len(out) or set(best.idx) != set(out):
        raise NoMatrixForm
    mat = best.ast
    if len(out) == 2 and best.idx != tuple(out):
        mat = r.T(mat)
    return mat


def lift_einsum(r: Raiser, n: Node) -> ast.Node:
    coef, idxs, out = n.params
    at = mean_size(n)
    mat: ast.Node | None = None
    if at is not None:                 # sum(X, 2)/d as mean(X, 2), where the sum is one
        nums, dens, pieces, scale = factors(r, n, at)
        got = _matrix_part(r, n, pieces)
        mat = None if got is None else _as_mean(r, got, pieces)
    if mat is None:
        nums, dens, pieces, scale = factors(r, n)
        mat = _matrix_part(r, n, pieces)
    coef *= scale
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
