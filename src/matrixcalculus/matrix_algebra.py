"""The simplifier's rewrites of inv and det over products of square factors (rows of
simplify.py's first pass, kept only where the answer prints shorter).

* inv(F1*...*Fk) = inv(Fk)*...*inv(F1) inside a product: the derivative of
  det(A*X*B) is det(A*X*B)*(B*inv(A*X*B)*A)', and with the inverse written out
  B*inv(B)*inv(X)*inv(A)*A cancels (ir/inverses.py) to det(A*X*B)*inv(X)'.
* det(F1*...*Fk) = det(F1)*...*det(Fk) inside a product, where the dets then merge or
  cancel (det(A*X)/det(A)).

The constructors already do what never lengthens an answer (inv(X^k) = inv(X)^k,
det(X^k) = det(X)^k, det(inv(X)) = 1/det(X), logdet(inv(X)) = -logdet(X): ir/functions.py);
these are choices. logdet over a product is not split: log det is undefined where a
factor's det is negative even if the product's is positive, and the derivative needs no
split (it shortens through inv of the product).
"""

from __future__ import annotations

from collections.abc import Callable

from .ir import build as B
from .ir import functions as F
from .ir.chains import chain, product
from .ir.nodes import Node
from .ir.rewrite import Keep, Rewrite


def rows(keep: Keep) -> list[Rewrite]:
    return [
        Rewrite("inv(A*B) -> inv(B)*inv(A) in a product", {"einsum"}, inverses_apart, keep),
        Rewrite("det(A*B) -> det(A)*det(B) in a product", {"einsum"}, dets_apart, keep),
    ]


def _inv_apart(a: Node) -> Node | None:
    factors = chain(a.args[0]) if a.is_prim("inv") else None
    if factors is None:
        return None
    return product([(F.inv(f), t) for f, t in reversed(factors)])


def _det_apart(a: Node) -> Node | None:
    base, e = B.power_parts(a)
    factors = chain(base.args[0]) if base.is_prim("det") and e is not None else None
    if factors is None:
        return None
    dets = [F.det(f) for f, _ in factors]
    split = B.einsum(dets, [()] * len(dets), ())
    return split if e == 1 else B.power(split, B.const(e))


def _each_factor(n: Node, apart: Callable[[Node], Node | None]) -> Node | None:
    """n with every factor that `apart` writes out replaced by what it makes."""
    ops, hit = list(n.args), False
    for k, a in enumerate(ops):
        new = apart(a)
        if new is not None:
            ops[k], hit = new, True
    return B.einsum(ops, n.indices, n.out, n.coef) if hit else None


def inverses_apart(n: Node) -> Node | None:
    return _each_factor(n, _inv_apart)


def dets_apart(n: Node) -> Node | None:
    return _each_factor(n, _det_apart)
