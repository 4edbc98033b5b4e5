"""The derivative rule table (reverse mode), as IR: one entry per node kind.

`VJP[op](node, k, g)` is the adjoint contribution of `node` to its argument k, given the
adjoint `g` of the node, shaped E + node.shape: E, the output's own axes (Jacobians and
Hessians), is whatever g has beyond the node's axes; no rule is told how many.  Elementwise
functions take f' from their row in ops/, matrix primitives their whole VJP.

`EVAL_VJP` is the table for IR that is only evaluated, never printed: the same, but with
the rows' `eval_vjp` where a row gives one (det's derivatives as detd, smooth at a singular
matrix, where the printed det(X)*inv(X)' is not even defined).
"""

from __future__ import annotations

from collections.abc import Callable

from .ir.build import add, delta, einsum, full, ones
from .ir.functions import func, hadamard, power
from .ir.nodes import Node, Op
from .ops import row


def times(g: Node, t: Node) -> Node:
    """g[E, I] * t[I]: an elementwise factor applied to an adjoint."""
    r = tuple(range(t.rank))
    e = tuple(range(t.rank, g.rank))
    return einsum([g, t], [e + r, r], e + r)


def _func(node: Node, k: int, g: Node) -> Node:
    r = row(node.name)
    if len(node.args) == 1:
        return times(g, r.d(node.args[0], node))
    return times(g, r.d(*node.args, node)[k])     # a function of two: its partials


def _power(node: Node, k: int, g: Node) -> Node:
    base, e = node.args
    if k == 0:   # d(b^e)/db = e * b^(e-1)
        return times(g, hadamard(e, power(base, add([e, full(e.shape, -1.0)]))))
    # d(b^e)/de = b^e log(b), summed over the broadcast if e is a scalar
    t = times(g, hadamard(node, func("log", base)))
    if e.rank == 0 and base.rank > 0:
        pre = tuple(range(base.rank, g.rank))
        t = einsum([t], [pre + tuple(range(base.rank))], pre)
    return t


def _prim(node: Node, k: int, g: Node) -> Node:
    return _argument(row(node.name).vjp, k)(node, g)


def _prim_evaluated(node: Node, k: int, g: Node) -> Node:
    r = row(node.name)
    return _argument(r.eval_vjp or r.vjp, k)(node, g)


def _argument(vjp, k: int):
    """A primitive's VJP for its argument k: a row of one argument has one, a row of
    several (dexpm(X, E)) a tuple, one per argument."""
    return vjp[k] if isinstance(vjp, tuple) else vjp


def _einsum(node: Node, k: int, g: Node) -> Node:
    """The one product rule: the adjoint of operand k is g contracted with the others."""
    idxs, out = node.indices, node.out
    # the adjoint's extra leading axes get labels clear of every label the node uses
    base = 1 + max([lab for ix in idxs for lab in ix] + [-1])
    pre = tuple(range(base, base + g.rank - node.rank))
    nxt = base + len(pre)
    ops = [g]
    ixs = [pre + tuple(out)]
    for j, (a, ix) in enumerate(zip(node.args, idxs)):
        if j != k:
            ops.append(a)
            ixs.append(ix)
    target = []
    dims = {}
    for lab, d in zip(idxs[k], node.args[k].shape):
        dims[lab] = d
        if lab in target:       # X[i,i]: the adjoint lives on the diagonal
            ops.append(delta(d))
            ixs.append((lab, nxt))
            target.append(nxt)
            nxt += 1
        else:
            target.append(lab)
    present = {lab for ix in ixs for lab in ix}
    for lab in target:
        if lab not in present:  # summed away in the forward pass: spread back with ones
            ops.append(ones(dims[lab]))
            ixs.append((lab,))
            present.add(lab)
    return einsum(ops, ixs, pre + tuple(target), node.coef)


VJP: dict[str, Callable[[Node, int, Node], Node]] = {
    Op.ADD: lambda node, k, g: g,
    Op.EINSUM: _einsum,
    Op.FUNC: _func,
    Op.POWER: _power,
    Op.PRIM: _prim,
}

EVAL_VJP: dict[str, Callable[[Node, int, Node], Node]] = {**VJP, Op.PRIM: _prim_evaluated}

Rules = dict[str, Callable[[Node, int, Node], Node]]


def vjp(node: Node, k: int, g: Node, rules: Rules = VJP) -> Node:
    """Adjoint contribution of `node` to its argument number k (by `rules`: VJP or
    EVAL_VJP)."""
    rule = rules.get(node.op)
    if rule is None:
        raise ValueError(f"no derivative rule for {node.op}")
    return rule(node, k, g)
