"""Size-aware rewrites before code generation: what is cheapest depends on the
dimensions, which the symbolic answer does not know.

`distribute` writes c*(A - B)*V as c*A*V - c*B*V when that costs fewer flops
at the given sizes: for the matrix-factorisation gradient 2*(U*V' - R)*V it
finds 2*U*(V'*V) - 2*R*V, whose products never form an m x n matrix.
"""

from __future__ import annotations

from functools import lru_cache

import opt_einsum as oe

from ..ir import build as B
from ..ir.nodes import Node, walk
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
        return row(n.params[0]).flops(tuple(size_of(d, sizes) for d in n.args[0].shape))
    if op == "power":
        return 4 * elements(n.args[0], sizes)
    return 0


def total_flops(root: Node, sizes: dict) -> int:
    return sum(node_flops(n, sizes) for n in walk(root))


def distribute(root: Node, sizes: dict) -> Node:
    """Distribute products over sums wherever that lowers the total flop count."""
    from ..simplify import rebuild
    uses: dict[Node, int] = {}
    for n in walk(root):
        for a in n.args:
            uses[a] = uses.get(a, 0) + 1
    done: dict[Node, Node] = {}
    for n in walk(root):
        new = rebuild(n, tuple(done[a] for a in n.args))
        uses[new] = max(uses.get(new, 0), uses.get(n, 0))
        if new.op == "einsum" and len(new.args) > 1:
            new = _try_distribute(new, sizes, uses)
        done[n] = new
    return done[root]


def _try_distribute(n: Node, sizes: dict, uses: dict, depth: int = 0) -> Node:
    coef, idxs, out = n.params
    before = total_flops(n, sizes)
    for k, a in enumerate(n.args):
        if a.op != "add" or len(a.args) > 8:
            continue
        terms = []
        for t in a.args:
            ops = list(n.args)
            ops[k] = t
            term = B.einsum(ops, idxs, out, coef)
            if term.op == "einsum" and depth < 4:    # it may hold another sum
                term = _try_distribute(term, sizes, uses, depth + 1)
            terms.append(term)
        cand = B.add(terms)
        # a sum used elsewhere too is still computed there: its cost stays
        kept = total_flops(a, sizes) if uses.get(a, 0) > 1 else 0
        if total_flops(cand, sizes) + kept < before:
            return cand
    return n


def factor_outer(root: Node) -> Node:
    """Pull a factor common to several terms of a sum out of them, where it takes no part
    in any contraction: P[l,i]*A[j,k] + P[l,i]*B[j,k] -> P[l,i]*(A + B)[j,k].  For the
    4-index Hessians each term is a pass over n^4 numbers and the inner sum costs n^2."""
    from ..simplify import bottom_up
    return bottom_up(root, lambda n: _factor_sum(n) if n.op == "add" else n)


def _free_factors(t: Node) -> list[tuple[Node, tuple[int, ...], int]]:
    """(factor, positions of its labels in the output, k) for each factor of the einsum t
    whose labels are all kept in the output and shared with no other factor."""
    _, idxs, out = t.params
    found = []
    for k, (a, ix) in enumerate(zip(t.args, idxs)):
        others = {x for j, iy in enumerate(idxs) if j != k for x in iy}
        if ix and len(set(ix)) == len(ix) and set(ix) <= set(out) and not set(ix) & others:
            found.append((a, tuple(out.index(x) for x in ix), k))
    return found


def _factor_sum(s: Node) -> Node:
    terms = list(s.args)
    for _ in range(len(terms)):
        where: dict[tuple[Node, tuple[int, ...]], list[tuple[int, int]]] = {}
        for j, t in enumerate(terms):
            if t.op == "einsum" and len(t.args) > 1:
                for a, pos, k in _free_factors(t):
                    where.setdefault((a, pos), []).append((j, k))
        best = max(where.items(), key=lambda kv: len({j for j, _ in kv[1]}), default=None)
        if best is None or len({j for j, _ in best[1]}) < 2:
            break
        (a, pos), hits = best
        seen: dict[int, int] = {}
        for j, k in hits:
            seen.setdefault(j, k)
        rank = len(s.shape)
        rest_pos = [p for p in range(rank) if p not in pos]
        rests = []
        for j, k in seen.items():
            t = terms[j]
            coef, idxs, out = t.params
            args = [x for i, x in enumerate(t.args) if i != k]
            ixs = [x for i, x in enumerate(idxs) if i != k]
            rests.append(B.einsum(args, ixs, [out[p] for p in rest_pos], coef))
        merged = B.einsum([a, B.add(rests)], [list(pos), rest_pos], range(rank))
        terms = [t for j, t in enumerate(terms) if j not in seen] + [merged]
        if len(terms) == 1:
            break
    return B.add(terms) if len(terms) > 1 else terms[0]
