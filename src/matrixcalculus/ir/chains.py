"""Matrix products read as chains of square factors, for the identities of det, logdet and
inv over products (ir/functions.py's constructors, simplify.py's rows).

A chain is an einsum F1*F2*...*Fk of square matrices (each maybe transposed) in one
order, each inner label shared by two neighbours: `A*X'*B` is [(A, no), (X, yes), (B, no)].
Over it det(F1*...*Fk) = det(F1)*...*det(Fk) and inv(F1*...*Fk) = inv(Fk)*...*inv(F1).
"""

from __future__ import annotations

from . import build as B
from .nodes import Node, Op

Factor = tuple[Node, bool]       # a square matrix, and whether it stands transposed


def _square(a: Node) -> bool:
    return a.rank == 2 and a.shape[0] == a.shape[1]


def chain(n: Node) -> list[Factor] | None:
    """n = F1*...*Fk, coefficient 1, every factor square (a lone transpose is a chain of
    one); None for anything else (scalar or vector factors, a trace, a Hadamard product)."""
    if n.op != Op.EINSUM or not _square(n) or n.coef != 1:
        return None
    if not all(_square(a) for a in n.args):
        return None
    at: dict[int, list[int]] = {}
    for k, ix in enumerate(n.indices):
        if ix[0] == ix[1]:
            return None
        for lab in ix:
            at.setdefault(lab, []).append(k)
    start, end = n.out
    if len(at.get(start, ())) != 1 or len(at.get(end, ())) != 1:
        return None
    if any(len(ks) != 2 for lab, ks in at.items() if lab not in n.out):
        return None
    factors: list[Factor] = []
    lab, used = start, set()
    while lab != end:
        k = next((k for k in at[lab] if k not in used), None)
        if k is None:
            return None
        used.add(k)
        ix = n.indices[k]
        transposed = ix[1] == lab
        factors.append((n.args[k], transposed))
        lab = ix[0] if transposed else ix[1]
    return factors if len(used) == len(n.args) else None


def product(factors: list[Factor], coef: float = 1.0) -> Node:
    """The chain's product again (one einsum)."""
    idxs = [(k + 1, k) if t else (k, k + 1) for k, (_, t) in enumerate(factors)]
    return B.einsum([f for f, _ in factors], idxs, (0, len(factors)), coef)


def one_base(factors: list[Factor]) -> tuple[Node, int] | None:
    """(M, e) where every factor is M, M', inv(M) or inv(M)': det of the chain is
    det(M)^e, e the count of M's less the count of inv(M)'s; None for several bases."""
    base, e = None, 0
    for f, _ in factors:
        m, step = (f.args[0], -1) if f.is_prim("inv") else (f, 1)
        if base is not None and m is not base:
            return None
        base, e = m, e + step
    return (base, e) if base is not None else None
