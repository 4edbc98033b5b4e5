"""The simplifier's rewrites of matrix functions (rows of simplify.py's first pass).

* f(X') = f(X)': a transpose comes out of expm, logm, sqrtm (one spelling of each).
* L_f(X, E) = f'(X)*E for a direction E that commutes with X (the identity, a scalar
  multiple of X or of X's matrix: dexpm(t*A, A) = A*expm(t*A), dsqrtm(S, I) = inv(sqrtm(S))/2),
  and L_f^(k)(X; E1, ..., Ek) = f^(k)(X)*E1*...*Ek (dexpm(t*A, A, A) = A*A*expm(t*A)).
* <M, L_f(Y, G)> = <L_f(Y', M), G> (and <M, L^(k)(Y; E..., G)> = <L^(k)(Y'; E'..., M), G>
  for plain E), the adjoint swapped to the other side of a full
  contraction (a trace is <I, .>; G may have leading axes), kept where it prints shorter:
  it turns sum(A.*dexpm(t*A', G)) into <A*expm(t*A), G>, tr(dexpm(X, E)) into
  tr(expm(X)*E).
"""

from __future__ import annotations

from .ir import build as B
from .ir import functions as F
from .ir.nodes import Node, walk
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


def along_jacobian_axes(root: Node) -> bool:
    """A Fréchet derivative along directions with leading (Jacobian) axes: evaluated, it
    forms one n x n matrix per entry of those axes (the n^4 tensor of a Hessian)."""
    return any(n.op == "prim" and n.name in FRECHET_OF and n.rank > 2 for n in walk(root))


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
    x, *es = n.args
    # (a direction with Jacobian axes: never)
    if any(e.rank != 2 or not _commutes(x, e) for e in es):
        return None
    # directions commuting with X commute with each other: L^(k) = f^(k)(X)*E1*...*Ek
    fk = row(f).fprime(x, len(es))
    fk = run(fk, [Rewrite("f(X') -> f(X)'", {"prim"}, transpose_out)])
    mats = [fk, *es]
    return B.einsum(mats, [(j, j + 1) for j in range(len(mats))], (0, len(mats)))


def _component(n: Node, k: int, a: int, b: int, out: tuple, lead: tuple,
               rest: list[int]) -> tuple[int, ...]:
    """The factors besides L (factor k) reached from its labels a, b through labels that
    neither the output nor L's leading axes hold: those make the matrix M."""
    idxs, free = n.indices, set(out) | set(lead)
    labels, drops = {a, b}, []
    grew = True
    while grew:
        grew = False
        for j in rest:
            ix = set(idxs[j])
            if j not in drops and n.args[j].rank and ix & labels:
                if ix & free:
                    return tuple(j for j in rest if n.args[j].rank and set(idxs[j]) <= {a, b})
                drops.append(j)
                labels |= ix
                grew = True
    return tuple(sorted(drops))


def swap_adjoint(n: Node, depth: int = 3) -> Node | None:
    """The swap of one factor's L, then of those the swap brings into reach (a nested L,
    its direction now contracted with a matrix), depth levels deep; a sum among the
    factors that holds an L along Jacobian axes is distributed first (each term swapped,
    the Hessian's n^4 tensor never formed)."""
    once = _swap_once(n)
    if once is None:
        once = _distributed(n, depth)
    if once is None or depth == 0:
        return once
    return _again(once, depth - 1)


def _again(n: Node, depth: int) -> Node:
    if n.op == "add":
        return B.add([_again(t, depth) for t in n.args])
    if n.op == "einsum":
        return swap_adjoint(n, depth) or n
    return n


def _distributed(n: Node, depth: int) -> Node | None:
    for k, a in enumerate(n.args):
        if a.op == "add" and along_jacobian_axes(a):
            terms = [B.einsum([*n.args[:k], t, *n.args[k + 1:]], n.indices, n.out, n.coef)
                     for t in a.args]
            swapped = [_again(t, depth) for t in terms]
            if any(s is not t for s, t in zip(swapped, terms)):
                return B.add(swapped)
    return None


def _bare(m: Node) -> Node:
    """A product of one factor in its own order (S[i,j] -> [i,j]) is that factor."""
    if m.op == "einsum" and len(m.args) == 1 and m.coef == 1 and m.indices[0] == m.out:
        return m.args[0]
    return m


def _swap_once(n: Node) -> Node | None:
    idxs, out = n.indices, n.out
    for k, d in enumerate(n.args):
        f = _derivative_of(d)
        if f is None:
            continue
        y, *es, g = d.args
        if any(e.rank != 2 for e in es):    # (the other directions: plain matrices only)
            continue
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
            # (or a product of such factors summed among themselves: (L*x)*x')
            drops = _component(n, k, a, b, out, lead, rest)
            if used(a, drops) or used(b, drops):
                continue
            covered = {lab for j in drops for lab in idxs[j]}
            spread = [(B.ones(dim), (lab,)) for lab, dim in zip((a, b), d.shape[-2:])
                      if lab not in covered]
            if not drops and len(spread) < 2:
                continue
            m = B.einsum([n.args[j] for j in drops] + [o for o, _ in spread],
                         [idxs[j] for j in drops] + [ix for _, ix in spread], (a, b))
        swapped = F.prim(d.name, _bare(F.transpose(y)), more=(*map(F.transpose, es), _bare(m)))
        swapped = commuting(swapped) or swapped
        keep = [j for j in rest if j not in drops]
        # a sum of directions (a symmetric variable's pair of deltas), term by term: each
        # contracts with the swapped L to a short product
        return B.add([B.einsum([n.args[j] for j in keep] + [t, swapped],
                               [idxs[j] for j in keep] + [lead + (a, b), (a, b)], out, n.coef)
                      for t in (g.args if g.op == "add" else (g,))])
    return None
