"""Rewrites of softmax and logsumexp, along any axis, so that answers read as a textbook.

Each is a rewrite function for a named row of the simplifier (simplify.py):
  sum_a(softmax(x, a)) = 1                 softmax_sums_to_one
  log(softmax(x, a)) = x - logsumexp(x, a) log_of_softmax
  exp(x - logsumexp(x, a)) = softmax(x, a) exp_minus_logsumexp
  exp(x) ./ sum_a(exp(x)) = softmax(x, a)  softmax_of_exp_ratio
  log(sum_a(exp(x))) = logsumexp(x, a)     logsumexp_of_log_sum_exp
(logsumexp broadcast back along its axes).  Every right side is computed stably (SciPy's
softmax and logsumexp shift by the maximum), so none makes an answer overflow: the
re-folds remove an exp that could.
"""

from __future__ import annotations

from . import build as B
from . import functions as F
from .functions import spread
from .nodes import Node, Op


def _distinct(ix: tuple) -> bool:
    return len(set(ix)) == len(ix)


# ------------------------------------------------------------------ sum_a(softmax) = 1
def softmax_sums_to_one(n: Node) -> Node | None:
    """A product that sums softmax(x, a) over its axis a, no other factor (but ones)
    carrying that label: the softmax goes (each of its slices sums to 1), its other axes
    kept as ones where the product still needs them."""
    ops, idxs = list(n.args), [tuple(ix) for ix in n.indices]
    for k, p in enumerate(ops):
        if not p.is_prim("softmax") or not _distinct(idxs[k]):
            continue
        lab = idxs[k][p.own[0]]
        if lab in n.out or any(lab in ix for j, ix in enumerate(idxs)
                               if j != k and ops[j].op != Op.ONES):
            continue
        keep = [j for j in range(len(ops)) if j != k and lab not in idxs[j]]
        new_ops = [ops[j] for j in keep]
        new_idxs = [idxs[j] for j in keep]
        for axis, (d, other) in enumerate(zip(p.shape, idxs[k])):
            if axis != p.own[0]:
                new_ops.append(B.ones(d))
                new_idxs.append((other,))
        if not new_ops:                     # sum(softmax(x)) = 1
            return B.const(n.coef)
        return B.einsum(new_ops, new_idxs, n.out, n.coef)
    return None


# ------------------------------------------------------------------ log(softmax)
def log_of_softmax(n: Node) -> Node | None:
    """log(softmax(x, a)) -> x - logsumexp(x, a), the logsumexp broadcast along a; in a
    sum, each term c*log(softmax(x, a)) so (where the sum then cancels: the row's keep)."""
    if n.op == Op.ADD:
        terms = [_x_minus_logsumexp(t) for t in n.args]
        return B.add(terms) if any(t is not u for t, u in zip(terms, n.args)) else None
    new = _x_minus_logsumexp(n)
    return None if new is n else new


def _x_minus_logsumexp(t: Node) -> Node:
    c, base = B.coef_and_base(t)
    if base.op != Op.FUNC or base.name != "log" or not base.args[0].is_prim("softmax"):
        return t
    p = base.args[0]
    x, axis = p.args[0], p.own[0]
    return B.scale(c, B.sub(x, spread(F.logsumexp(x, (axis,)), x, (axis,))))


# ------------------------------------------------------------------ exp(x - lse)
def exp_minus_logsumexp(n: Node) -> Node | None:
    """exp(x - logsumexp(x, a)) -> softmax(x, a); over a vector's entries, softmax(x)."""
    if n.name != "exp" or n.args[0].op != Op.ADD:
        return None
    terms = n.args[0].args
    for t in terms:
        for lse in t.args if t.op == Op.EINSUM else ():
            if not lse.is_prim("logsumexp") or len(lse.own[0]) != 1:
                continue
            x, axes = lse.args[0], lse.own[0]
            if x.shape != n.shape or t is not B.neg(spread(lse, x, axes)):
                continue
            rest = [u for u in terms if u is not t]
            if B.add(rest) is x:
                return F.softmax(x, axes[0])
    return None


# ------------------------------------------------------------------ exp(x)./sum(exp(x))
def _sum_of_exp(s: Node) -> tuple[Node, tuple[int, ...], tuple[int, ...]] | None:
    """(exp(x), its labels, the summed axes) if s = c*sum over some axes of exp(x),
    perhaps spread over new axes by ones (the expanded column of exp(X)./sum(exp(X), 2))."""
    if s.op != Op.EINSUM:
        return None
    found = [k for k, a in enumerate(s.args) if a.op != Op.ONES]
    if len(found) != 1:
        return None
    e, ix = s.args[found[0]], s.indices[found[0]]
    if e.op != Op.FUNC or e.name != "exp" or not _distinct(ix):
        return None
    if any(len(jx) != 1 or jx[0] in ix or jx[0] not in s.out
           for k, jx in enumerate(s.indices) if k != found[0]):
        return None
    axes = tuple(i for i, lab in enumerate(ix) if lab not in s.out)
    return (e, ix, axes) if axes else None


def softmax_of_exp_ratio(n: Node) -> Node | None:
    """exp(x)[L] * (sum_a exp(x))^-k[L without a] -> softmax(x, a)[L] (up to k factors):
    the composite exp(X)./sum(exp(X), 2) re-folded, for any axis (a vector's: exp(x)/sum)."""
    ops, idxs = list(n.args), [tuple(ix) for ix in n.indices]
    coef = n.coef
    for k, f in enumerate(ops):
        base, power = B.power_parts(f)
        found = _sum_of_exp(base) if f.op == Op.POWER else None
        if found is None or power is None or power >= 0 or not float(power).is_integer():
            continue
        e, ix, axes = found
        if len(axes) != 1:
            continue
        # the sum's result axis p is exp(x)'s axis ix.index(base.out[p]) (or a spread one)
        where = [(p, ix.index(lab)) for p, lab in enumerate(base.out) if lab in ix]
        used = []
        for j, g in enumerate(ops):
            if g is e and _distinct(idxs[j]) and len(used) < -power and all(
                    idxs[j][w] == idxs[k][p] for p, w in where):
                used.append(j)
        if not used:
            continue
        for j in used:
            ops[j] = F.softmax(e.args[0], axes[0])
        coef *= base.coef ** -len(used)
        left = power + len(used)
        if left:
            ops[k] = B.power(base, B.const(left))
        else:
            # the sum's spread (ones) axes may carry labels that no softmax factor has:
            # they still range over their dimension, so each stays a ones factor (the
            # builder drops it where another operand carries the label)
            spread_axes = [p for p, lab in enumerate(base.out) if lab not in ix]
            ops += [B.ones(base.shape[p]) for p in spread_axes]
            idxs += [(idxs[k][p],) for p in spread_axes]
            del ops[k], idxs[k]
        return B.einsum(ops, idxs, n.out, coef)
    return None


# ------------------------------------------------------------------ log(sum(exp(x)))
def logsumexp_of_log_sum_exp(n: Node) -> Node | None:
    """log(sum over some axes of exp(x)) -> logsumexp(x, those axes)."""
    if n.name != "log":
        return None
    found = _sum_of_exp(n.args[0])
    if found is None or n.args[0].coef != 1 or len(n.args[0].args) != 1:
        return None
    e, ix, axes = found
    lse = F.logsumexp(e.args[0], axes)
    kept = [lab for lab in ix if lab in n.args[0].out]      # lse's axes, in x's order
    r = tuple(range(len(kept)))
    order = tuple(kept.index(lab) for lab in n.args[0].out)
    return lse if order == r else B.einsum([lse], [r], order)
