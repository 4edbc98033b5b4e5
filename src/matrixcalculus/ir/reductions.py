"""Reductions of centred factors: `sum(X - mean(X, 2), 2)` is zero, and so is any product
that sums such a factor along that axis alone (`mean(m.*Xc, 2)` for a column m); a product
over a sum with such a term loses that term (`mean(G./s - m./s.*Xc, 2)` is
`mean(G, 2)./s`, the layer norm's backward pass)."""

from __future__ import annotations

from . import build as B
from .elementwise_rules import sizes_cancelled
from .nodes import Node


def _sums_to_zero(a: Node, ix: tuple, lab: int) -> bool:
    """sum over label lab of the sum a[ix] (its terms reduced one by one) is zero."""
    keep = tuple(x for x in ix if x != lab)
    parts = []
    for t in a.args:
        p = B.einsum([t], [ix], keep)
        if p.op == "einsum":
            p = sizes_cancelled(p) or p
        parts.append(p)
    return B.add(parts).op == "zero"


def centred_vanishes(n: Node) -> Node | None:
    """Zero, where the product n sums a sum factor along a label no other factor holds
    and that sum's terms cancel along it; else None."""
    if n.op != "einsum":
        return None
    held: dict[int, int] = {}
    for ix in n.indices:
        for lab in set(ix):
            held[lab] = held.get(lab, 0) + 1
    for a, ix in zip(n.args, n.indices):
        if a.op != "add" or len(set(ix)) != len(ix):
            continue
        for lab in ix:
            if lab not in n.out and held[lab] == 1 and _sums_to_zero(a, ix, lab):
                return B.zero(n.shape)
    return None


def vanishing_terms_dropped(n: Node) -> Node | None:
    """The product n over one of its sums, distributed one level, where a term it makes
    vanishes (centred_vanishes): the terms that remain; else None."""
    if n.op != "einsum":
        return None
    coef, idxs, out = n.params
    for k, a in enumerate(n.args):
        if a.op != "add":
            continue
        terms = [B.einsum([t if i == k else b for i, b in enumerate(n.args)], idxs, out, coef)
                 for t in a.args]
        kept = [t for t in terms if t.op == "zero" or centred_vanishes(t) is None]
        if len(kept) < len(terms):
            return B.add(kept) if kept else B.zero(n.shape)
    return None
