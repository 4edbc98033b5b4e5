"""Roots emitted together share what is the same up to a factor: a value and its gradient.

The least-squares value sums (X*w - y).^2 and its gradient is (2*X*w - 2*y)'*X: the two sums
are distinct nodes (the normal form carries each term's coefficient), so X*w would be
computed twice.  Here a sum that is c times a sum seen before (in an earlier root or
earlier in this one) is rewritten as c times that node, which the emitter then computes
once: the gradient becomes 2*(t1'*X) over the value's t1 = X*w - y.
"""

from __future__ import annotations

from ..ir import build as B
from ..ir.functions import rebuild
from ..ir.nodes import Node, Op, walk


def walk_roots(roots: tuple[Node, ...]) -> list[Node]:
    """Every root's nodes, children before parents, each once (the first root's first)."""
    if len(roots) == 1:
        return walk(roots[0])
    seen: set[Node] = set()
    return [n for r in roots for n in walk(r) if not (n in seen or seen.add(n))]


def _terms(n: Node) -> tuple[tuple, float] | None:
    """A sum's terms up to a common factor, and the factor (its first term's coefficient:
    the terms are in the normal form's order, so the same sums list them alike)."""
    parts = [B.coef_and_base(t) for t in n.args]
    first = parts[0][0]
    if first == 0:
        return None
    return tuple((b, c / first) for c, b in parts), first


def share_scaled(roots: tuple[Node, ...]) -> tuple[Node, ...]:
    """The roots, each product over a sum that is c times an earlier sum written as c
    times the product over that one.  (Only a product can hold the factor: the normal
    form multiplies c into a sum's terms, so c*sum is no node of its own.)"""
    seen: dict[tuple, tuple[Node, float]] = {}
    out = []
    for root in roots:
        done: dict[Node, Node] = {}
        scaled: dict[Node, tuple[Node, float]] = {}     # a new sum -> (earlier sum, c)
        for old in walk(root):
            args = tuple(done[a] for a in old.args)
            if old.op == Op.EINSUM and any(a in scaled for a in args):
                coef = old.coef
                for a in args:
                    coef *= scaled[a][1] if a in scaled else 1.0
                n = B.einsum([scaled[a][0] if a in scaled else a for a in args], old.indices,
                             old.out, coef)
            else:
                n = rebuild(old, args)
            if n.op == Op.ADD and (terms := _terms(n)) is not None:
                key, c = terms
                if key in seen and seen[key][0] is not n:
                    m, cm = seen[key]
                    scaled[n] = (m, c / cm)
                else:
                    seen.setdefault(key, (n, c))
            done[old] = n
        out.append(done[root])
    return tuple(out)
