"""Tensors in an answer that has a matrix form (LANGUAGE.md v2 "contraction"): a product
with an operand of order 3 or more is written as the einsum it is, `einsum("nij,ni->j",
T, R)`, so the answer parses back; a tensor beneath it is written elementwise
(`softmax(einsum(...)/sqrt(d), 2)`, `P.*T`) where it can be, else there is no matrix form."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from .. import ast
from ..ir.build import coef_and_base
from ..ir.nodes import Node
from ..ops import row
from .pieces import NoMatrixForm, num

if TYPE_CHECKING:
    from .lift import Raiser

_LETTERS = "ijklmnopqrstuvwxyzabcdefgh"


_HAS_TENSOR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def has_tensor(n: Node) -> bool:
    """Whether a variable or a function of order 3 or more lies beneath n: then a product
    over order-3 operands is written as its einsum; a derivative's own order-3 intermediates
    (products of matrices and vectors alone) have no matrix form and print in index
    notation, which reads better."""
    hit = _HAS_TENSOR.get(n)
    if hit is None:
        hit = (n.rank > 2 and n.op in ("var", "func", "prim", "power")) or \
            any(has_tensor(a) for a in n.args)
        _HAS_TENSOR[n] = hit
    return hit


def _scaled(c: float, a: ast.Node) -> ast.Node:
    if c == 1:
        return a
    if c == -1:
        return ast.Neg(a)
    return ast.Binary("*", num(c), a)


def einsum_text(r: Raiser, n: Node) -> ast.Node:
    """coef*einsum("...", operands) of an einsum node, its labels renamed i, j, k, ..."""
    coef, idxs, out = n.params
    letter: dict[int, str] = {}
    for lab in [x for ix in idxs for x in ix] + list(out):
        if lab not in letter:
            if len(letter) == len(_LETTERS):
                raise NoMatrixForm
            letter[lab] = _LETTERS[len(letter)]
    spec = ",".join("".join(letter[x] for x in ix) for ix in idxs) + "->" + \
        "".join(letter[x] for x in out)
    args = tuple(lift_any(r, a) for a in n.args)
    return _scaled(coef, ast.Call("einsum", (ast.Spec(spec), *args)))


def lift_any(r: Raiser, n: Node) -> ast.Node:
    """The matrix form of n, a tensor's as text that types as one."""
    if n.rank <= 2:
        return r.lift(n)
    op = n.op
    if op == "var":
        return ast.Name(n.name)
    if op == "einsum":
        return einsum_text(r, n)
    if op == "func" and row(n.name).kind == "elementwise":
        return ast.Call(n.name, tuple(lift_any(r, a) for a in n.args))
    if op == "prim" and row(n.name).along is not None and row(n.name).shows is not None \
            and all(a.rank == n.rank for a in n.args):
        extra = tuple(ast.Num(k) for k in row(n.name).shows(n))
        if not extra:
            raise NoMatrixForm
        return ast.Call(n.name, (*(lift_any(r, a) for a in n.args), *extra))
    if op == "power":
        base, exponent = n.args
        return ast.Binary(".^", lift_any(r, base), lift_any(r, exponent))
    if op == "add":
        acc: ast.Node | None = None
        for t in n.args:
            c, base = coef_and_base(t)
            body = lift_any(r, base)
            if acc is None:
                acc = _scaled(c, body)
            else:
                acc = ast.Binary("-" if c < 0 else "+", acc, _scaled(abs(c), body))
        assert acc is not None
        return acc
    raise NoMatrixForm
