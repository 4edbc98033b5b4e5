"""The derivative rule table: one entry per primitive, as IR (reverse mode).

Each vector-Jacobian product gets the node, its adjoint `g` of shape
E + node.shape (E: the output's own indices, for Jacobians and Hessians) and
returns the adjoint contribution for one argument, shape E + arg.shape.
`ein("...ij,jk->...ik", g, y)` is an einsum whose "..." stands for E.
"""

from __future__ import annotations

from collections.abc import Callable

from .ir.build import (
    add,
    broadcast,
    const,
    delta,
    einsum,
    full,
    func,
    hadamard,
    inv,
    neg,
    ones,
    power,
    recip,
    scale,
    softmax,
    sub,
)
from .ir.nodes import Node

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def ein(spec: str, *operands: Node, extra: int, coef: float = 1.0) -> Node:
    """einsum from a string; '...' expands to `extra` leading labels (the E indices)."""
    lhs, rhs = spec.split("->")
    pre = list(range(100, 100 + extra))
    labels: dict[str, int] = {}

    def lab(part: str) -> tuple[int, ...]:
        res: list[int] = []
        if part.startswith("..."):
            res += pre
            part = part[3:]
        res += [labels.setdefault(ch, _LETTERS.index(ch)) for ch in part]
        return tuple(res)

    return einsum(operands, [lab(p) for p in lhs.split(",")], lab(rhs), coef)


def times(g: Node, t: Node, extra: int) -> Node:
    """g[E, I] * t[I]: an elementwise factor applied to an adjoint."""
    r = tuple(range(t.rank))
    e = tuple(range(100, 100 + extra))
    return einsum([g, t], [e + r, r], e + r)


def one_minus(t: Node) -> Node:
    return sub(full(t.shape, 1.0), t)


# f'(x) for elementwise functions, given x and y = f(x)
ELEMENTWISE_DERIVATIVE: dict[str, Callable[[Node, Node], Node]] = {
    "exp":      lambda x, y: y,
    "log":      lambda x, y: recip(x),
    "sin":      lambda x, y: func("cos", x),
    "cos":      lambda x, y: neg(func("sin", x)),
    "tan":      lambda x, y: add([full(x.shape, 1.0), power(y, const(2))]),
    "tanh":     lambda x, y: one_minus(power(y, const(2))),
    "sigmoid":  lambda x, y: hadamard(y, one_minus(y)),
    "softplus": lambda x, y: func("sigmoid", x),
    "abs":      lambda x, y: func("sign", x),
    "relu":     lambda x, y: func("step", x),
    "sign":     lambda x, y: scale(0.0, x),
    "step":     lambda x, y: scale(0.0, x),
}


def vjp(node: Node, k: int, g: Node, extra: int) -> Node:
    """Adjoint contribution of `node` to its argument number k."""
    op, x = node.op, node.args[0] if node.args else None
    if op == "add":
        return g
    if op == "einsum":
        return _einsum_vjp(node, k, g, extra)
    if op == "func":
        return times(g, ELEMENTWISE_DERIVATIVE[node.params[0]](x, node), extra)
    if op == "power":
        base, e = node.args
        if k == 0:   # d(b^e)/db = e * b^(e-1)
            factor = hadamard(e, power(base, add([e, full(e.shape, -1.0)])))
            return times(g, factor, extra)
        # d(b^e)/de = b^e log(b), summed over the broadcast if e is a scalar
        t = times(g, hadamard(node, func("log", base)), extra)
        if e.rank == 0 and base.rank > 0:
            pre = tuple(range(100, 100 + extra))
            t = einsum([t], [pre + tuple(range(base.rank))], pre)
        return t
    if op == "inv":      # d inv(X) = -Y dX Y
        return ein("...kl,ki,jl->...ij", g, node, node, extra=extra, coef=-1.0)
    if op == "det":      # d det(X) = det(X) inv(X)'
        return ein("...,,ji->...ij", g, node, inv(x), extra=extra)
    if op == "logdet":
        return ein("...,ji->...ij", g, inv(x), extra=extra)
    if op == "softmax":  # y .* (g - (g . y))
        return sub(ein("...i,i->...i", g, node, extra=extra),
                   ein("...j,j,i->...i", g, node, node, extra=extra))
    if op == "logsumexp":  # the gradient is softmax over all entries
        p = softmax(x) if x.rank == 1 else func("exp", sub(x, broadcast(node, x.shape)))
        pre, r = tuple(range(100, 100 + extra)), tuple(range(x.rank))
        return einsum([g, p], [pre, r], pre + r)
    raise ValueError(f"no derivative rule for {op}")


def _einsum_vjp(node: Node, k: int, g: Node, extra: int) -> Node:
    coef, idxs, out = node.params
    base = max([lab for ix in idxs for lab in ix] + [0]) + 1
    pre = tuple(range(base, base + extra))
    nxt = base + extra
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
    return einsum(ops, ixs, pre + tuple(target), coef)
