"""Forward-mode differentiation of IR into IR: the tangent of y along seeds.

tangent(y, {x: v}) is the directional derivative of y along v (shaped like the variable
x), shaped like y: each node's tangent is built once from its arguments' tangents, in one
pass over y's DAG, so a shared subexpression keeps one tangent and the result grows like
y does.  Over a gradient (reverse mode, differentiate.py) it is Pearlmutter's R-operator,
forward over reverse: the Hessian-vector product H[v] without the Hessian (hvp.py).

One rule per node kind, as rules.VJP has: the product rule for an einsum, f' from an
elementwise row, and for a matrix primitive its row's `jvp` where it gives one (a matrix
function's Fréchet derivative); else the row's VJP transposed, `J[t] = <vjp(δ), t>`, a
contraction whose δ factors the einsum constructor eliminates (inv: -Y*T*Y).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .ir.build import add, delta, einsum, full, zero
from .ir.functions import func, hadamard, power
from .ir.nodes import Node, Op, walk
from .limits import check_deadline
from .ops import row
from .rules import VJP, Rules

# JVP[op](node, k, t): the tangent of `node` from the tangent t of its argument k (t is
# shaped like that argument); `rules` is the VJP table a transposed rule reads
Jvp = Callable[[Node, int, Node, Rules], Node]


def _einsum(node: Node, k: int, t: Node, rules: Rules) -> Node:
    """The product rule: argument k replaced by its tangent."""
    ops = list(node.args)
    ops[k] = t
    return einsum(ops, node.indices, node.out, node.coef)


def _func(node: Node, k: int, t: Node, rules: Rules) -> Node:
    r = row(node.name)
    if len(node.args) == 1:
        return hadamard(r.d(node.args[0], node), t)
    return hadamard(r.d(*node.args, node)[k], t)     # a function of two: its partials


def _power(node: Node, k: int, t: Node, rules: Rules) -> Node:
    base, e = node.args
    if k == 0:   # e * b^(e-1) .* db
        return hadamard(hadamard(e, power(base, add([e, full(e.shape, -1.0)]))), t)
    # b^e .* log(b) .* de, de a scalar spread over a matrix base
    return hadamard(hadamard(node, func("log", base)), t)


def transposed(node: Node, k: int, t: Node, rules: Rules) -> Node:
    """<vjp(node, k, δ), t>: the VJP seeded with a δ per output axis is the Jacobian
    (node axes, then argument k's), contracted with t over the argument's axes; a sum is
    contracted term by term, so each term's δ factors meet t and vanish."""
    r, a = node.rank, node.args[k].rank
    e, i = tuple(range(r)), tuple(range(r, 2 * r))
    seed = einsum([delta(d) for d in node.shape], list(zip(e, i)), e + i)
    jac = rules[Op.PRIM](node, k, seed)
    lab = tuple(range(r, r + a))
    terms = jac.args if jac.op == Op.ADD else (jac,)
    return add([einsum([term, t], [e + lab, lab], e) for term in terms])


def _prim(node: Node, k: int, t: Node, rules: Rules) -> Node:
    jvp = row(node.name).jvp
    if jvp is not None:
        return jvp(node, k, t)
    return transposed(node, k, t, rules)


JVP: dict[str, Jvp] = {
    Op.ADD: lambda node, k, t, rules: t,
    Op.EINSUM: _einsum,
    Op.FUNC: _func,
    Op.POWER: _power,
    Op.PRIM: _prim,
}


def tangent(y: Node, seeds: Mapping[Node, Node], rules: Rules = VJP) -> Node:
    """The directional derivative of y along seeds (variable node -> its direction, same
    shape), shaped like y; rules: the VJP table the primitives without a `jvp` transpose
    (rules.EVAL_VJP for IR that is only evaluated)."""
    out: dict[Node, Node] = {x: v for x, v in seeds.items() if v.op != Op.ZERO}
    for n in walk(y):                     # children before parents
        if n in out or not n.args:
            continue
        parts = [JVP[n.op](n, k, out[a], rules) for k, a in enumerate(n.args) if a in out]
        if parts:
            check_deadline()
            d = add(parts)
            if d.op != Op.ZERO:
                out[n] = d
    return out.get(y, zero(y.shape))

