"""Kronecker products and vec over the einsum IR: a product dimension is a group of axes.

Design (issue 15).  The IR has one axis per *factor* of a product dimension, major factor
first (row-major), so no node ever holds a reshaped axis:

- `vec(X)` of X (m, n) has the dimension n*m (the column index is the major one: vec stacks
  columns) and is X's two axes read in the order (column, row): the IR of X'.
- `kron(A, B)[(i,k),(j,l)] = A[i,j]*B[k,l]` (A's index the major one) is the outer product
  A[i,j]*B[k,l] laid out (i, k, j, l).
- Products, transposes and traces over grouped axes pair the axes factor by factor
  (lower.py), so `kron(A,B)*kron(C,D) = kron(A*C, B*D)`, `tr(kron(A,B)) = tr(A)*tr(B)` and
  `vec(A*X*B) = kron(B', A)*vec(X)` hold by construction: they are the same einsum.
- Two product dimensions of one size whose factors come in another order (p*n against n*p)
  do not pair axis by axis (a commutation matrix sits between them): the lowering rejects
  them (`misordered`), never pairs them wrongly.
- inv, det and logdet of a node over grouped axes need its Kronecker factors (`factors`:
  the einsum split into components that each touch one factor's row and column axes);
  they are applied by construction: `inv(kron(A,B)) = kron(inv(A), inv(B))`,
  `det(kron(A,B)) = det(A)^p*det(B)^m`, `logdet(kron(A,B)) = p*logdet(A) + m*logdet(B)`
  (A m x m, B p x p).  Of anything else over grouped axes (a sum of Kronecker products, a
  declared `matrix(m*p, m*p)`) they are not built: UnsupportedDerivativeError.

Evaluation and generated code read a grouped axis back as one (a reshape of the inputs and
of the result, codegen/emit.py); answers over grouped axes do not print yet (derivation.py).
"""

from __future__ import annotations

from ..errors import UnsupportedDerivativeError
from .build import add, einsum, power
from .functions import det as det_
from .functions import hadamard, size
from .functions import inv as inv_
from .functions import logdet as logdet_
from .nodes import Node, Op


def kron(a: Node, b: Node, rows_a: int, rows_b: int) -> Node:
    """kron(a, b), given how many of each one's IR axes are row axes."""
    la = tuple(range(a.rank))
    lb = tuple(range(a.rank, a.rank + b.rank))
    return einsum([a, b], [la, lb], la[:rows_a] + lb[:rows_b] + la[rows_a:] + lb[rows_b:])


def swap(x: Node, rows: int) -> Node:
    """The row axes and the column axes exchanged: the transpose, and vec (of X: X')."""
    if rows in (0, x.rank):
        return x
    ix = tuple(range(x.rank))
    return einsum([x], [ix], ix[rows:] + ix[:rows])


def trace(x: Node, g: int) -> Node:
    """tr of a square node over g row axes and g column axes (paired in order)."""
    ix = tuple(range(g))
    return einsum([x], [ix + ix], ())


def factors(x: Node, g: int) -> list[Node] | None:
    """The Kronecker factors F_1..F_g of a node over axes (r_1..r_g, c_1..c_g), x =
    kron(F_1, ..., F_g) with F_t over (r_t, c_t); None where x is no such product."""
    if g == 1:
        return [x]
    if x.op != Op.EINSUM or x.rank != 2 * g:
        return None
    idxs, out = x.indices, x.out
    parent = list(range(len(x.args)))

    def find(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    owner: dict[int, int] = {}
    for k, ix in enumerate(idxs):          # operands sharing a label are one component
        for lab in ix:
            if lab in owner:
                parent[find(k)] = find(owner[lab])
            else:
                owner[lab] = k
    position = {lab: p for p, lab in enumerate(out)}
    per_factor: dict[int, list[int]] = {}
    loose: list[int] = []                  # components with no output axis: scalars
    for root in sorted({find(k) for k in range(len(x.args))}):
        ks = [k for k in range(len(x.args)) if find(k) == root]
        touched = {position[lab] % g for k in ks for lab in idxs[k] if lab in position}
        if len(touched) > 1:
            return None
        if touched:
            per_factor.setdefault(touched.pop(), []).extend(ks)
        else:
            loose += ks
    out_factors = []
    for t in range(g):
        ks = per_factor.get(t, []) + (loose if t == 0 else [])
        out_factors.append(einsum([x.args[k] for k in ks], [idxs[k] for k in ks],
                                  (out[t], out[g + t]), coef=x.coef if t == 0 else 1.0))
    return out_factors


def _factors_or_raise(x: Node, g: int, what: str) -> list[Node]:
    fs = factors(x, g)
    if fs is None:
        raise UnsupportedDerivativeError(
            f"{what} of a matrix over product dimensions is built only for a Kronecker "
            "product (inv(kron(A, B)) = kron(inv(A), inv(B))); this one is not one")
    return fs


def inv(x: Node, g: int) -> Node:
    """inv(kron(F_1, ..., F_g)) = kron(inv(F_1), ..., inv(F_g))."""
    if g == 1:
        return inv_(x)
    fs = _factors_or_raise(x, g, "inv")
    return einsum([inv_(f) for f in fs], [(t, g + t) for t in range(g)], tuple(range(2 * g)))


def _others(fs: list[Node], t: int) -> Node:
    """The number of rows of every factor but the t-th: the power of det(F_t)."""
    return size([f.shape[0] for s, f in enumerate(fs) if s != t])


def det(x: Node, g: int) -> Node:
    """det(kron(A, B)) = det(A)^p*det(B)^m (A m x m, B p x p), for any number of factors."""
    if g == 1:
        return det_(x)
    fs = _factors_or_raise(x, g, "det")
    out = power(det_(fs[0]), _others(fs, 0))
    for t in range(1, g):
        out = hadamard(out, power(det_(fs[t]), _others(fs, t)))
    return out


def logdet(x: Node, g: int) -> Node:
    """logdet(kron(A, B)) = p*logdet(A) + m*logdet(B) (A m x m, B p x p).  Where det(A) < 0
    but det(kron(A, B)) > 0 (p even) this raises a DomainError at evaluation though the value
    is defined: an honest refusal, never a wrong number.  log(det(A)^p*det(B)^m) would be
    exact, but its derivative prints d*d^(p - 1)/d^p until powers with symbolic exponents
    merge (noted for the next round)."""
    if g == 1:
        return logdet_(x)
    fs = _factors_or_raise(x, g, "logdet")
    return add([hadamard(_others(fs, t), logdet_(f)) for t, f in enumerate(fs)])
