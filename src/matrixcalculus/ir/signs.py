"""Sums equal up to sign made one node: `a*(u - v) + b*(v - u)` is `a*(u - v) - b*(u - v)`.

The constructors push a product's number into a lone sum (`-(u - v)` is `v - u`, ir/build.py),
so a residual and its negation are two nodes: like terms that factoring cannot see
(`sigmoid(d'*w)*d + y*(-d)` is `(sigmoid(d'*w) - y)*d`), and a shared residual that the
printer cannot name once (`2*A'*R - 2*R*B' where R = A*X - X*B - C`).  Of the two signs, the
one with more positive terms is kept (ties: the sign of the term first in the canonical
order), so the choice does not depend on which of the two is met first.
"""

from __future__ import annotations

from . import build as B
from .nodes import Node


def _positives(a: Node) -> int:
    return sum(B.coef_and_base(t)[0] > 0 for t in a.args)


def _first_positive(a: Node) -> bool:
    coef, _ = min((B.coef_and_base(t) for t in a.args), key=lambda cb: cb[1].skey)
    return coef > 0


def _preferred(a: Node, na: Node) -> Node:
    pa, pn = _positives(a), _positives(na)
    if pa != pn:
        return a if pa > pn else na
    return a if _first_positive(a) else na


def aligned_signs(n: Node) -> Node | None:
    """The sum n with each sum among its terms' factors whose negation is also one of them
    written with one sign (its term's number negated), or None if there is none."""
    if n.op != "add":
        return None
    factors = {a for t in n.args if t.op == "einsum" for a in t.args if a.op == "add"}
    if len(factors) < 2:
        return None
    flip: dict[Node, Node] = {}
    for a in factors:
        na = B.neg(a)
        if na in factors and a not in flip and na not in flip:
            keep = _preferred(a, na)
            flip[na if keep is a else a] = keep
    if not flip:
        return None
    terms = []
    for t in n.args:
        if t.op != "einsum" or not any(a in flip for a in t.args):
            terms.append(t)
            continue
        coef, idxs, out = t.params
        sign = (-1) ** sum(a in flip for a in t.args)
        terms.append(B.einsum([flip.get(a, a) for a in t.args], idxs, out, coef * sign))
    return B.add(terms)
