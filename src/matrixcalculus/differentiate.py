"""Reverse-mode differentiation of IR into IR.

jacobian(y, x) has shape y.shape + x.shape (LANGUAGE.md's table): the adjoint
is seeded with a delta per output axis, so gradients, Jacobians and, applied
twice, Hessians are the same code.  Only nodes that depend on x are visited.
"""

from __future__ import annotations

from collections.abc import Sequence

from .ir.build import add, const, delta, einsum, scale, zero
from .ir.nodes import Node, Op, walk
from .limits import check_deadline, check_ir_size
from .rules import VJP, Rules, vjp
from .simplify import simplify


def jacobian(y: Node, x: Node, rules: Rules = VJP) -> Node:
    """d y / d x for a variable node x; rules: the VJP table (rules.EVAL_VJP for IR that
    is only evaluated)."""
    assert x.op == Op.VAR
    r = y.rank
    if r == 0:
        seed = const(1.0)
    else:   # delta(e_k, i_k) per output axis: the output's own axes E lead the adjoint
        e, i = tuple(range(r)), tuple(range(r, 2 * r))
        seed = einsum([delta(d) for d in y.shape], list(zip(e, i)), e + i)
    order = walk(y)                         # children before parents
    depends: set[Node] = set()
    for n in order:
        if n is x or any(a in depends for a in n.args):
            depends.add(n)
    if y not in depends:
        return zero(y.shape + x.shape)
    adjoint: dict[Node, list[Node]] = {y: [seed]}
    for n in reversed(order):               # parents before children
        if n not in depends or n not in adjoint:
            continue
        check_deadline()
        g = add(adjoint.pop(n))
        if n is x:
            return g
        for k, a in enumerate(n.args):
            if a in depends:
                adjoint.setdefault(a, []).append(vjp(n, k, g, rules))
    return zero(y.shape + x.shape)


def symmetrize_last(t: Node) -> Node:
    """(T + T')/2 over the last two axes: the gradient on symmetric matrices."""
    r = t.rank
    ix = tuple(range(r))
    swapped = ix[:-2] + (ix[-1], ix[-2])
    return add([scale(0.5, t), einsum([t], [ix], swapped, 0.5)])


def derivative(y: Node, x: Node, order: int = 1, rules: Rules = VJP) -> Node:
    """The order-k derivative; for symmetric x each pair of x's axes is symmetrised."""
    return mixed(y, (x,) * order, rules)


def mixed(y: Node, xs: Sequence[Node], rules: Rules = VJP) -> Node:
    """The derivative wrt xs[0], then the result's wrt xs[1], ...: shape y.shape +
    xs[0].shape + xs[1].shape + ...; each symmetric variable's own axes symmetrised."""
    d = y
    for x in xs:
        d = jacobian(d, x, rules)
        if x.symmetric:
            d = symmetrize_last(d)
        check_ir_size(len(walk(d)))
        d = simplify(d)
    return d
