"""The simplifier's rewrites of matrix functions (rows of simplify.py's first pass).

* f(X') = f(X)': a transpose comes out of expm, logm, sqrtm (one spelling of each).
* L_f(X, E) = f'(X)*E for a direction E that commutes with X (the identity, a scalar
  multiple of X or of X's matrix: dexpm(t*A, A) = A*expm(t*A), dsqrtm(S, I) = inv(sqrtm(S))/2).
* <M, L_f(Y, G)> = <L_f(Y', M), G>, the adjoint swapped to the other side of a full
  contraction (a trace is <I, .>; G may have leading axes), kept where it prints shorter:
  it turns sum(A.*dexpm(t*A', G)) into <A*expm(t*A), G>, tr(dexpm(X, E)) into
  tr(expm(X)*E).
"""

from __future__ import annotations

from .ir import build as B
from .ir import functions as F
from .ir.nodes import Node
from .ir.rewrite import Keep, Rewrite, run
from .ops import row
from .ops import rows as rows_of_ops


def rows(keep: Keep) -> list[Rewrite]:
    return [
        Rewrite("f(X') -> f(X)' (expm, logm, sqrtm)", {"prim"}, transpose_out),
        Rewrite("L_f(X, E) -> f'(X)*E for E commuting with X", {"prim"}, commuting),
        Rewrite("<M, L_f(Y, G)> -> <L_f(Y', M), G>", {"einsum"}, swap_adjoint, keep),
    ]


# the facts of the rows in ops/: a matrix function names its Fréchet derivative's row
_FRECHET: dict[str, str] = {r.name: r.frechet for r in rows_of_ops() if r.frechet}
FRECHET_OF: dict[str, str] = {d: f for f, d in _FRECHET.items()}
"""The matrix function whose Fréchet derivative a row is: dexpm -> expm."""


def _function(n: Node) -> str | None:
    """expm for an expm node (a matrix function with a Fréchet row), else None."""
    return n.name if n.op == "prim" and n.name in _FRECHET else None


def _derivative_of(n: Node) -> str | None:
    """expm for a dexpm node, else None."""
    return FRECHET_OF.get(n.name) if n.op == "prim" else None


def _plain(n: Node) -> tuple[Node, bool] | None:
    """n as c*A or c*A' (scalar factors c, one matrix A): (A, transposed), else None."""
    if n.op != "einsum":
        return (n, False) if n.rank == 2 else None
    mats = [(a, ix) for a, ix in zip(n.args, n.indices) if a.rank]
    if len(mats) != 1 or mats[0][0].rank != 2 or len(set(mats[0][1])) != 2:
        return None
    a, ix = mats[0]
    return a, ix != n.out


def transpose_out(n: Node) -> Node | None:
    f = _function(n)
    if f is None:
        return None
    p = _plain(n.args[0])
    if p is None or not p[1] or B.is_symmetric(n.args[0]):
        return None
    return F.transpose(F.prim(f, F.transpose(n.args[0])))


def _commutes(x: Node, e: Node) -> bool:
    pe = _plain(e)
    if pe is None:
        return False
    if pe[0].op == "delta":
        return True
    px = _plain(x)
    return px is not None and px[0] is pe[0] and px[1] == pe[1]


def commuting(n: Node) -> Node | None:
    f = _derivative_of(n)
    if f is None:
        return None
    x, e = n.args
    if e.rank != 2 or not _commutes(x, e):     # (a direction with Jacobian axes: never)
        return None
    fp = run(row(f).fprime(x), [Rewrite("f(X') -> f(X)'", {"prim"}, transpose_out)])
    return B.einsum([fp, e], [(0, 1), (1, 2)], (0, 2))


def swap_adjoint(n: Node) -> Node | None:
    idxs, out = n.indices, n.out
    for k, d in enumerate(n.args):
        f = _derivative_of(d)
        if f is None:
            continue
        y, g = d.args
        lead, (a, b) = idxs[k][:-2], idxs[k][-2:]   # G's leading (Jacobian) axes stay
        rest = [j for j in range(len(n.args)) if j != k]

        def used(lab: int, skip: tuple[int, ...], lead=lead, rest=rest) -> bool:
            return lab in out or lab in lead or any(lab in idxs[j] for j in rest
                                                    if j not in skip)

        if a == b:
            if used(a, ()):
                continue
            m, drops = B.delta(d.shape[0]), ()
            b = 1 + max(lab for ix in idxs for lab in ix)
        else:
            # M: the factors that carry only a and b (a matrix, or an outer product such as
            # the ones(n)*ones(n)' of a scalar's derivative), when nothing else does; a
            # label summed in L alone is a factor ones (the normal form drops those)
            drops = tuple(j for j in rest if n.args[j].rank and set(idxs[j]) <= {a, b})
            if used(a, drops) or used(b, drops):
                continue
            covered = {lab for j in drops for lab in idxs[j]}
            spread = [(B.ones(dim), (lab,)) for lab, dim in zip((a, b), d.shape[-2:])
                      if lab not in covered]
            if not drops and len(spread) < 2:
                continue
            m = B.einsum([n.args[j] for j in drops] + [o for o, _ in spread],
                         [idxs[j] for j in drops] + [ix for _, ix in spread], (a, b))
        swapped = F.prim(d.name, F.transpose(y), more=(m,))
        swapped = commuting(swapped) or swapped
        keep = [j for j in rest if j not in drops]
        return B.einsum([n.args[j] for j in keep] + [g, swapped],
                        [idxs[j] for j in keep] + [lead + (a, b), (a, b)], out, n.coef)
    return None
