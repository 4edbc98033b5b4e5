"""Canonicalising constructors: the only way IR nodes are made.

Local rewrites happen as nodes are built (DESIGN.md's fixed point, reached by
construction): nested products are flattened into one einsum, numbers folded
into its coefficient, deltas eliminated by renaming indices, ones dropped
where an index is already present, equal factors merged into powers
(s^-1 * s = 1), inverses cancelled (inv(M)*M = eye), like terms collected in sums, and
every einsum brought to a canonical labelling so equal products are one node.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import count

from ..limits import check_deadline
from .facts import fold_sums
from .inverses import cancel
from .leaves import _finite, const, delta, is_const, ones, symbol, var, zero
from .nodes import Dim, Node, Shape

__all__ = ["var", "const", "symbol", "zero", "ones", "delta", "is_const", "full", "einsum", "add",
           "scale", "neg", "sub", "power", "broadcast", "is_symmetric", "coef_and_base",
           "power_parts"]

Idx = tuple[int, ...]

# the matrix primitives with f(S) symmetric for a symmetric S (inv): filled from the rows
# of ops/ when the package is imported (ops/ builds on this module, not the reverse)
PRESERVES_SYMMETRY: set[str] = set()


def full(shape: Shape, value: float) -> Node:
    """A tensor of one value: const for scalars, a broadcast of ones otherwise."""
    if not shape:
        return const(value)
    return einsum([ones(d) for d in shape], [(i,) for i in range(len(shape))],
                  tuple(range(len(shape))), value)


# ------------------------------------------------------------------ einsum
def einsum(operands: Sequence[Node], indices: Sequence[Sequence[int]], out: Sequence[int],
           coef: float = 1.0) -> Node:
    """coef * (product of operands[k][indices[k]] summed over labels not in out)."""
    ops = list(operands)
    idxs = [tuple(ix) for ix in indices]
    out = tuple(out)
    assert len(ops) == len(idxs)
    assert len(set(out)) == len(out), "repeated output label: use a delta"
    dims: dict[int, Dim] = {}
    for a, ix in zip(ops, idxs):
        assert len(ix) == a.rank, (a, ix)
        for lab, d in zip(ix, a.shape):
            assert dims.setdefault(lab, d) == d, f"label {lab}: {dims[lab]} vs {d}"
    assert all(o in dims for o in out), "an output label must occur in an operand"
    shape = tuple(dims[o] for o in out)
    fresh = count(max([*dims, *out, -1]) + 1)
    coef = float(coef)

    changed = True
    while changed:
        check_deadline()
        # flattening leaves no einsum, number or zero behind (an einsum's own operands are
        # none of these), so only the rewrites below call for another pass
        changed = False
        # flatten nested einsums; fold constants and zeros
        i = 0
        while i < len(ops):
            a, ix = ops[i], idxs[i]
            if a.op == "const":
                coef *= a.params[0]
                del ops[i], idxs[i]
                continue
            if a.op == "zero" or coef == 0:
                return zero(shape)
            if a.op == "einsum":
                c2, sub_idxs, sub_out = a.params
                ren = dict(zip(sub_out, ix))
                for b, sx in zip(a.args, sub_idxs):
                    for lab, d in zip(sx, b.shape):
                        if lab not in ren:
                            ren[lab] = next(fresh)
                            dims[ren[lab]] = d
                del ops[i], idxs[i]
                for b, sx in zip(a.args, sub_idxs):
                    ops.append(b)
                    idxs.append(tuple(ren[lab] for lab in sx))
                coef *= c2
                continue
            i += 1
        if _eliminate_deltas(ops, idxs, out, dims):
            changed = True
        if _merge_powers(ops, idxs, out, dims):
            changed = True
        if _drop_ones(ops, idxs, out) | fold_sums(ops, idxs, out, dims):   # facts.py: sum(y) = 1
            changed = True
        if cancel(ops, idxs, out, is_symmetric):      # inv(M)*M = eye
            changed = True

    if coef == 0:
        return zero(shape)
    _finite(coef)
    if not ops:
        return const(coef)
    if len(ops) == 1 and idxs[0] == out:
        a = ops[0]
        if coef == 1:
            return a
        if a.op == "add":  # c*(x + y) -> c*x + c*y: one canonical form for scaled sums
            return add([scale(coef, t) for t in a.args])
    if len(ops) == 1 and ops[0].op == "add" and sorted(idxs[0]) == sorted(out):
        # (X + Y)' -> X' + Y': a permuted sum is the sum of the permuted terms, so like
        # terms meet (x'*(A + A')*x has the gradient 2*(A + A')*x, not (A' + A + A + A')*x)
        return add([einsum([t], idxs, out, coef) for t in ops[0].args])
    return _canonical(coef, ops, idxs, out, shape)


def _labels(idxs: list[Idx]) -> set[int]:
    return {lab for ix in idxs for lab in ix}


def _restore_vanished(before: set[int], ops: list[Node], idxs: list[Idx],
                      dims: dict[int, Dim]) -> None:
    """A label that no longer occurs in any operand still ranges over its dimension."""
    for lab in sorted(before - _labels(idxs)):
        ops.append(ones(dims[lab]))
        idxs.append((lab,))


def _eliminate_deltas(ops: list[Node], idxs: list[Idx], out: Idx, dims: dict[int, Dim]) -> bool:
    changed = False
    k = 0
    while k < len(ops):
        if ops[k].op != "delta":
            k += 1
            continue
        a, b = idxs[k]
        others = _labels(idxs[:k] + idxs[k + 1:]) | set(out)
        if a == b:
            if a in others:           # delta[i,i] = 1 where i is used anyway
                del ops[k], idxs[k]
                if a not in _labels(idxs):    # only an output label: diag(eye(n)) = ones(n)
                    ops.append(ones(dims[a]))
                    idxs.append((a,))
                changed = True
                continue
            k += 1                    # sum_i delta[i,i] = n: keep
            continue
        if b not in out:
            keep, gone = a, b
        elif a not in out:
            keep, gone = b, a
        else:
            k += 1
            continue
        before = _labels(idxs) - {gone}
        del ops[k], idxs[k]
        for j, ix in enumerate(idxs):
            idxs[j] = tuple(keep if lab == gone else lab for lab in ix)
        _restore_vanished(before, ops, idxs, dims)
        changed = True
        k = 0
    return changed


def _drop_ones(ops: list[Node], idxs: list[Idx], out: Idx) -> bool:
    changed = False
    k = 0
    while k < len(ops):
        if ops[k].op == "ones":
            (lab,) = idxs[k]
            if any(lab in ix for j, ix in enumerate(idxs) if j != k):
                del ops[k], idxs[k]
                changed = True
                continue
        k += 1
    return changed


def _merge_powers(ops: list[Node], idxs: list[Idx], out: Idx, dims: dict[int, Dim]) -> bool:
    """x^p * x^q (same indices) -> x^(p+q), for scalars and pure elementwise products,
    and wherever the exponents cancel."""
    groups: dict[tuple[int, Idx], list[int]] = {}
    repeated = False
    for k, (a, ix) in enumerate(zip(ops, idxs)):
        base = a.args[0] if a.op == "power" and a.args[1].op == "const" else a
        key = (id(base), ix)
        ks = groups.get(key)
        if ks is None:
            groups[key] = [k]
        else:
            ks.append(k)
            repeated = True
    if not repeated:
        return False
    merged = False
    drop: list[int] = []
    add_ops: list[tuple[Node, Idx]] = []
    for (_, ix), ks in groups.items():
        if len(ks) < 2:
            continue
        base = power_parts(ops[ks[0]])[0]
        total = sum(power_parts(ops[k])[1] for k in ks)  # type: ignore[misc]
        pointwise = all(lab in out for lab in ix) and len(set(ix)) == len(ix)
        if not (total == 0 or pointwise):
            continue
        drop += ks
        if total != 0:
            add_ops.append((power(base, const(total)), ix))
        merged = True
    if merged:
        before = _labels(idxs)
        for k in sorted(drop, reverse=True):
            del ops[k], idxs[k]
        for a, ix in add_ops:
            ops.append(a)
            idxs.append(ix)
        _restore_vanished(before, ops, idxs, dims)
    return merged


def power_parts(a: Node) -> tuple[Node, float | None]:
    """(base, constant exponent) of a factor; exponent None if not a constant power."""
    if a.op == "power":
        e = a.args[1]
        return (a.args[0], e.params[0]) if e.op == "const" else (a, 1.0)
    return a, 1.0


def _canonical(coef: float, ops: list[Node], idxs: list[Idx], out: Idx, shape: Shape) -> Node:
    """Relabel: out -> 0..r-1, the rest by first appearance after a label-free sort."""
    pos = {lab: p for p, lab in enumerate(out)}
    keys = []
    for k, a in enumerate(ops):
        ix = idxs[k]
        if len(ix) == 2 and ix[0] != ix[1] and is_symmetric(a):
            # a symmetric matrix: S[i,j] = S[j,i], so order its labels by output position
            if pos.get(ix[1], 99) < pos.get(ix[0], 99):
                ix = idxs[k] = (ix[1], ix[0])
        # the label-free pattern: output positions, and the summed labels by first use
        if len(ix) == 1:
            p = pos.get(ix[0])
            pat: tuple = ((1, 0),) if p is None else ((0, p),)
        else:
            first: dict[int, int] = {}
            pat = tuple((0, pos[lab]) if lab in pos else (1, first.setdefault(lab, len(first)))
                        for lab in ix)
        keys.append((a.skey, pat, k))
    keys.sort()
    ren = dict(pos)
    new_ops = []
    new_idxs = []
    for _, _, k in keys:
        ix = idxs[k]
        for lab in ix:
            if lab not in ren:
                ren[lab] = len(ren)
        a = ops[k]
        new_ops.append(a)
        jx = tuple(map(ren.__getitem__, ix))
        if len(jx) == 2 and jx[1] < jx[0] and is_symmetric(a):
            jx = (jx[1], jx[0])
        new_idxs.append(jx)
    params = (coef, tuple(new_idxs), tuple(range(len(out))))
    return Node("einsum", tuple(new_ops), params, shape)


def is_symmetric(a: Node) -> bool:
    """A square matrix known to equal its transpose (S' = S lets answers drop transposes)."""
    hit = a.sym
    if hit is None:
        if len(a.shape) != 2 or a.shape[0] != a.shape[1]:
            hit = a.sym = False
        else:
            hit = a.sym = _symmetric(a)
    return hit


def _symmetric(a: Node) -> bool:
    op = a.op
    if op == "var":
        return bool(a.params[1])
    if op in ("delta", "zero"):
        return True
    if op == "func" or (op == "prim" and a.params[0] in PRESERVES_SYMMETRY):
        return all(is_symmetric(x) for x in a.args)
    if op == "power":
        return is_symmetric(a.args[0]) and (a.args[1].rank == 0 or is_symmetric(a.args[1]))
    if op == "add":
        return all(is_symmetric(t) for t in a.args)
    if op == "einsum":
        a.sym = False                  # provisional, while its transpose is built
        try:
            return einsum([a], [(0, 1)], (1, 0)) is a
        except BaseException:          # a time limit hit meanwhile: leave nothing behind
            a.sym = None
            raise
    return False


def scale(c: float, x: Node) -> Node:
    if c == 1:
        return x
    r = tuple(range(x.rank))
    return einsum([x], [r], r, c)


def coef_and_base(x: Node) -> tuple[float, Node]:
    """x = c * base with base carrying coefficient 1."""
    if x.op == "const":
        return x.params[0], const(1.0)
    if x.op == "einsum":
        coef, idxs, out = x.params
        if coef != 1:
            if len(x.args) == 1 and idxs[0] == out:     # -1*x: the base is x itself
                return coef, x.args[0]
            return coef, Node("einsum", x.args, (1.0, idxs, out), x.shape)
    return 1.0, x


# ------------------------------------------------------------------ sums
def add(terms: Sequence[Node]) -> Node:
    assert terms, "add of nothing"
    shape = terms[0].shape
    if len(terms) == 1 and terms[0].op != "const":
        return terms[0]           # one term (a sum, a zero, a product: each canonical)
    flat: list[Node] = []
    stack = list(reversed(terms))
    while stack:
        t = stack.pop()
        assert t.shape == shape, (t.shape, shape)
        if t.op == "add":
            stack.extend(reversed(t.args))
        elif t.op != "zero":
            flat.append(t)
    coefs: dict[Node, float] = {}
    alone: dict[Node, Node | None] = {}    # a base's one term (None: several): kept, not rebuilt
    for t in flat:
        c, base = coef_and_base(t)
        coefs[base] = coefs.get(base, 0.0) + c
        alone[base] = t if base not in alone else None
    kept = [(b, c) for b, c in coefs.items() if c != 0]
    if not kept:
        return zero(shape)
    kept.sort(key=lambda bc: bc[0].skey)
    new = [const(c) if b.op == "const" else alone[b] or scale(c, b) for b, c in kept]
    return new[0] if len(new) == 1 else Node("add", tuple(new), (), shape)


def neg(x: Node) -> Node:
    return scale(-1.0, x)


def sub(a: Node, b: Node) -> Node:
    return add([a, neg(b)])


# ------------------------------------------------------------------ elementwise
def power(base: Node, exponent: Node) -> Node:
    if base.rank == 0 and exponent.rank > 0:   # 2 .^ X: spread the base
        base = broadcast(base, exponent.shape)
    if base.op == "ones":                     # 1 .^ e = 1
        return base
    if exponent.op == "const":
        e = exponent.params[0]
        if e == 1:
            return base
        if e == 0:
            return full(base.shape, 1.0)
        if base.op == "const":
            try:
                return const(math.pow(base.params[0], e))
            except (ValueError, ZeroDivisionError, OverflowError):
                pass
        if base.op == "power" and base.args[1].op == "const" and float(e).is_integer():
            return power(base.args[0], const(base.args[1].params[0] * e))
        if base.op == "einsum" and float(e).is_integer():
            # (a.*b).^p = a.^p .* b.^p for a pointwise product, broadcast too ((q*ones')^-1)
            coef, idxs, out = base.params
            if all(set(ix) <= set(out) and len(set(ix)) == len(ix) for ix in idxs) and \
                    not any(a.op == "delta" for a in base.args):
                try:
                    c = math.pow(coef, e)
                except (ValueError, ZeroDivisionError, OverflowError):
                    c = None
                if c is not None and math.isfinite(c) and c != 0:   # no over/underflow
                    return einsum([power(a, exponent) for a in base.args], idxs, out, c)
    if base.op == "zero" and exponent.op == "const" and exponent.params[0] > 0:
        return base
    return Node("power", (base, exponent), (), base.shape)


def broadcast(x: Node, shape: Shape) -> Node:
    """A scalar spread over a shape."""
    if x.shape == tuple(shape):
        return x
    assert x.rank == 0
    r = tuple(range(len(shape)))
    return einsum([x] + [ones(d) for d in shape], [()] + [(i,) for i in r], r)
