"""Size-aware rewrites before code generation: what is cheapest depends on the
dimensions, which the symbolic answer does not know.

`distribute` writes c*(A - B)*V as c*A*V - c*B*V when that costs fewer flops
at the given sizes: for the matrix-factorisation gradient 2*(U*V' - R)*V it
finds 2*U*(V'*V) - 2*R*V, whose products never form an m x n matrix.  Then `factor`
pulls a free factor out of a sum.  Both are rows on the driver of ir/rewrite.py, the
same rewrites the simplifier uses; here a rewrite is kept when it costs fewer flops.
"""

from __future__ import annotations

from functools import lru_cache

import opt_einsum as oe

from ..ir import build as B
from ..ir.nodes import Node, walk
from ..ir.rewrite import Factoring, Keep, Rewrite, distribute, factor, run
from ..ir.softmax_rules import log_of_softmax
from ..ops import row

GUESS = 1000   # size assumed for a dimension whose size is not given


def size_of(d, sizes: dict) -> int:
    if isinstance(d, int):
        return d
    return int(sizes.get(d, GUESS))


def elements(n: Node, sizes: dict) -> int:
    out = 1
    for d in n.shape:
        out *= size_of(d, sizes)
    return out


@lru_cache(maxsize=4096)
def _path_cost(spec: str, shapes: tuple) -> int:
    _, info = oe.contract_path(spec, *shapes, shapes=True, optimize="auto")
    return int(info.opt_cost)


def einsum_spec(n: Node) -> str:
    coef, idxs, out = n.params
    labels = sorted({x for ix in idxs for x in ix})
    letter = {lab: oe.get_symbol(k) for k, lab in enumerate(labels)}
    return ",".join("".join(letter[x] for x in ix) for ix in idxs) + "->" + \
        "".join(letter[x] for x in out)


def node_flops(n: Node, sizes: dict) -> int:
    """Flops to compute n from its arguments."""
    op = n.op
    if op == "einsum":
        if len(n.args) == 1:
            return elements(n.args[0], sizes)
        shapes = tuple(tuple(size_of(d, sizes) for d in a.shape) for a in n.args)
        return _path_cost(einsum_spec(n), shapes)
    if op == "add":
        return elements(n, sizes) * (len(n.args) - 1)
    if op in ("func", "prim"):
        return row(n.name).flops(tuple(size_of(d, sizes) for d in n.args[0].shape), *n.own)
    if op == "power":
        return 4 * elements(n.args[0], sizes)
    return 0


def total_flops(root: Node, sizes: dict) -> int:
    return sum(node_flops(n, sizes) for n in walk(root))


def fewer_flops(sizes: dict, uses: dict[Node, int]) -> Keep:
    """keep(new, old): new costs fewer flops at `sizes`.  A sum of old's that new no longer
    holds but that is used elsewhere too is still computed there: its cost stays."""
    memo: dict[Node, int] = {}     # (the driver asks again what distribute just asked)

    def flops(n: Node) -> int:
        c = memo.get(n)
        if c is None:
            c = memo[n] = total_flops(n, sizes)
        return c

    def keep(new: Node, old: Node) -> bool:
        shared = {a for a in old.args if a.op == "add" and uses.get(a, 0) > 1}
        if shared:
            shared -= set(walk(new))
        return flops(new) + sum(flops(a) for a in shared) < flops(old)
    return keep


def no_bigger(keep: Keep, sizes: dict) -> Keep:
    """keep, and new holds no array bigger than old's biggest: pulling a contracted factor
    out may leave an inner sum larger than anything computed before (an (n, d, c, c) one
    for a softmax Hessian, where the terms' arrays were (n, d) and the (d, c, d, c) result)."""
    def biggest(n: Node) -> int:
        return max(elements(m, sizes) for m in walk(n))
    return lambda new, old: keep(new, old) and biggest(new) <= biggest(old)


def _small_sums(n: Node) -> list[int]:
    return [k for k, a in enumerate(n.args) if a.op == "add" and len(a.args) <= 8]


def _free(ops: list[Node], idxs: list[tuple], out: tuple, j: int) -> bool:
    """Is factor j of a product free: its labels all kept in the output, none repeated and
    none shared with another factor (so pulling it out saves a pass over the output)?"""
    ix = idxs[j]
    others = {x for k, iy in enumerate(idxs) if k != j for x in iy}
    return len(ops) > 1 and bool(ix) and len(set(ix)) == len(ix) and set(ix) <= set(out) \
        and not set(ix) & others


def _power_of_spread(n: Node) -> Node | None:
    """(v * ones')^p -> v^p * ones': a power of a vector spread over a matrix (the row
    scale of layer norm, r*ones(p)') is the power of the vector, spread; the matrix's
    passes (and pow over all of it) go."""
    base, e = n.args
    if base.op != "einsum" or e.op != "const":
        return None
    coef, idxs, out = base.params
    rest = [k for k, a in enumerate(base.args) if a.op != "ones"]
    if coef != 1 or len(rest) != 1 or len(rest) == len(base.args):
        return None
    labels = [x for ix in idxs for x in ix]
    if len(labels) != len(set(labels)) or set(labels) != set(out):     # no sums, no sharing
        return None
    k = rest[0]
    args = [B.power(a, e) if j == k else a for j, a in enumerate(base.args)]
    return B.einsum(args, idxs, out)


def passes(sizes: dict, uses: dict[Node, int]) -> tuple[list[Rewrite], list[Rewrite]]:
    """The size-aware passes, one after the other: numerically stable forms, spread powers,
    and distributing where that saves flops; then pulling out free factors
    (P[l,i]*A[j,k] + P[l,i]*B[j,k] -> P[l,i]*(A + B)[j,k]: for the 4-index Hessians each
    term is a pass over n^4 numbers and the inner sum costs n^2)."""
    keep = fewer_flops(sizes, uses)
    outer = Factoring(keep, pullable=_free, options=1, deep=False)
    shared = Factoring(no_bigger(keep, sizes), deep=False)
    return [
        # computed as printed, log(softmax(X, 2)) underflows to -inf where a row's entries
        # are far apart; X - logsumexp(X, 2) keeps every digit
        Rewrite("log(softmax(x, k)) computed as x - logsumexp(x, k)", {"func"},
                log_of_softmax),
        Rewrite("a power of a spread vector is the spread power", {"power"}, _power_of_spread),
        Rewrite("distribute a product over a sum of <= 8 terms, 5 sums deep", {"einsum"},
            lambda n: distribute(n, _small_sums, keep, depth=5) if len(n.args) > 1 else None,
            keep),
    ], [
        # (the sum rebuilt first: a sum may hold a sum, `scale(1, X + Y)`, and flattened
        # its equal terms collect; factor() answers only what costs fewer flops than that)
        Rewrite("pull a free factor shared by terms out of a sum", {"add"},
            lambda n: factor(B.add(n.args), outer)),
        # then any shared factor, contracted ones too, where that saves flops: (T1 - T2)
        # @ K once, not T1 @ K - T2 @ K (two batched products over the n x m scores of
        # an attention gradient)
        Rewrite("pull a shared factor out of a sum where that saves flops", {"add"},
            lambda n: factor(B.add(n.args), shared)),
    ]


def optimize(root: Node, sizes: dict) -> Node:
    """The size-aware rewrites applied bottom up: first distributing, then factoring."""
    uses: dict[Node, int] = {}
    for n in walk(root):
        for a in n.args:
            uses[a] = uses.get(a, 0) + 1

    def rebuilt(old: Node, new: Node) -> None:
        uses[new] = max(uses.get(new, 0), uses.get(old, 0))
    first, then = passes(sizes, uses)
    return run(run(root, first, rebuilt), then)
