"""One rewrite driver over the hash-consed IR, and the rewrites its passes share.

A pass is a list of named rows (tinygrad's PatternMatcher, SymPy's `matmul.py` rules,
egg's named rewrites): each row names the ops it applies to, a rewrite returning a new
node or None, and a `keep` test deciding whether the new node replaces the old one.
`run` applies the rows bottom up over the DAG, each node once, its arguments first.

`distribute` and `factor` are shared by the simplifier (keep what prints shorter) and the
code generator (keep what costs fewer flops at the given sizes): only `keep` differs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from ..limits import check_deadline
from . import build as B
from .functions import rebuild
from .nodes import Node, walk

__all__ = ["Factoring", "Keep", "Rewrite", "always", "distribute", "factor", "rebuild", "run"]

Keep = Callable[[Node, Node], bool]    # keep(new, old): does new replace old?
RewriteFn = Callable[[Node], "Node | None"]


@dataclass(frozen=True)
class Rewrite:
    """One named rewrite: where it applies, what it makes, when that is kept
    (keep None: always; the rewrite has already chosen)."""

    name: str
    ops: Collection[str]
    rewrite: RewriteFn
    keep: Keep | None = None


def run(root: Node, rows: Sequence[Rewrite],
        rebuilt: Callable[[Node, Node], None] | None = None) -> Node:
    """Every row applied, in order, to every node, bottom up: each node is rebuilt over
    its rewritten arguments, then each row whose ops hold its op may replace it (the DAG's
    sharing kept: each node is rewritten once).  rebuilt(old, new), if given, hears of
    each node rebuilt, before the rows see it."""
    done: dict[Node, Node] = {}
    for old in walk(root):
        check_deadline()
        n = rebuild(old, tuple(done[a] for a in old.args))
        if rebuilt is not None:
            rebuilt(old, n)
        for row in rows:
            if n.op in row.ops:
                new = row.rewrite(n)
                if new is not None and new is not n and (row.keep is None or row.keep(new, n)):
                    n = new
        done[old] = n
    return done[root]


def always(new: Node, old: Node) -> bool:
    return True


# ------------------------------------------------------------------ distribute
def distribute(n: Node, over: Callable[[Node], Iterable[int]], keep: Keep = always,
               depth: int | None = None, most_terms: int | None = None) -> Node | None:
    """n with its products distributed over sums: for each position k that over(m) offers
    in a product m (a sum among its factors), m is written as one product per term of
    that sum, each distributed in turn; the first such candidate that keep(candidate, m)
    accepts replaces m.  depth: how many sums deep (None: all); most_terms: how many terms
    all distributing may make (None: no limit; past it the answer is None)."""
    # without a budget the answer for a product depends only on it and the depth left:
    # remembered, since the orders of distributing its sums meet the same products again
    # (nested tanh's Hessian: each rejected candidate tried each order, exponentially)
    memo: dict[tuple[Node, int | None], Node | None] | None = {} if most_terms is None \
        else None
    return _distribute(n, over, keep, depth, [0, most_terms], memo)


def _distribute(n: Node, over, keep: Keep, depth: int | None, budget: list,
                memo: dict | None) -> Node | None:
    if memo is None:
        return _distribute_once(n, over, keep, depth, budget, memo)
    key = (n, depth)
    if key not in memo:
        memo[key] = _distribute_once(n, over, keep, depth, budget, memo)
    return memo[key]


def _distribute_once(n: Node, over, keep: Keep, depth: int | None, budget: list,
                     memo: dict | None) -> Node | None:
    if n.op == "add":
        parts = [_distribute(t, over, keep, depth, budget, memo) for t in n.args]
        return None if any(p is None for p in parts) else B.add(parts)  # type: ignore[arg-type]
    if n.op != "einsum" or depth == 0:
        return n
    check_deadline()
    coef, idxs, out = n.params
    for k in over(n):
        a = n.args[k]
        budget[0] += len(a.args)
        if budget[1] is not None and budget[0] > budget[1]:
            return None
        terms = [B.einsum(n.args[:k] + (t,) + n.args[k + 1:], idxs, out, coef) for t in a.args]
        cand = _distribute(B.add(terms), over, keep, None if depth is None else depth - 1,
                           budget, memo)
        if cand is None:
            return None
        if keep(cand, n):
            return cand
    return n


# ------------------------------------------------------------------ factor
Pullable = Callable[[list[Node], list[tuple], tuple, int], bool]


def any_factor(ops: list[Node], idxs: list[tuple], out: tuple, j: int) -> bool:
    """Every factor may be pulled out of a sum but numbers and ones."""
    return ops[j].op not in ("ones", "const")


def as_einsum(t: Node) -> tuple[float, list[Node], list[tuple], tuple]:
    if t.op == "einsum":
        coef, idxs, out = t.params
        return coef, list(t.args), list(idxs), out
    r = tuple(range(t.rank))
    return 1.0, [t], [r], r


@dataclass(frozen=True)
class Factoring:
    """How `factor` chooses: which factors of a term it may pull (pullable), how many of
    the most shared it tries (options), whether it factors the sum left inside (deep),
    and keep(new, old): is new better than old."""

    keep: Keep
    pullable: Pullable = any_factor
    options: int = 6
    deep: bool = True


def factor(n: Node, how: Factoring) -> Node:
    """Pull a factor shared by several terms of a sum out of them, again while that is
    no worse, and answer the best sum seen (n itself if none is better)."""
    if n.op != "add":
        return n
    best = current = n
    while current.op == "add":   # each pull removes a term, so this ends
        check_deadline()
        cand = _factor_once(current, how)
        if cand is None or how.keep(current, cand):
            break
        current = cand
        if how.keep(current, best):
            best = current
    return best


def _signature(ix: tuple, out: tuple) -> tuple:
    pos = {lab: p for p, lab in enumerate(out)}
    first: dict[int, int] = {}
    return tuple(("o", pos[lab]) if lab in pos else ("s", first.setdefault(lab, len(first)))
                 for lab in ix)


def _options(n: Node, terms, how: Factoring) -> list[tuple[tuple, list]]:
    """The factors that several terms of the sum n share, as ((base, exponent, signature),
    members (term, factor, the factor's exponent)), the most shared first."""
    groups: dict[tuple, list[tuple[int, int, float]]] = {}
    for ti, (_, ops, idxs, out) in enumerate(terms):
        seen = set()
        for j, (a, ix) in enumerate(zip(ops, idxs)):
            if not how.pullable(ops, idxs, out, j):
                continue
            # a constant power groups with its base's other powers (t.^2, t.^4)
            base, e = B.power_parts(a)
            key = (base, _signature(ix, out))
            if key not in seen:
                seen.add(key)
                groups.setdefault(key, []).append((ti, j, e))
    options = []
    for (base, sig), members in groups.items():
        # the powers of one base share the one nearest 1 (a polynomial's monomial content:
        # s.^2 and s.^3 share s.^2), of one sign: x and 1./x share nothing
        for sign in (1, -1):
            same = [m for m in members if m[2] * sign > 0]
            if len(same) >= 2:
                e = min((m[2] for m in same), key=abs)
                options.append(((base, e, sig), same))
    options.sort(key=lambda kv: -len(kv[1]))
    return options


def _common(n: Node) -> Node | None:
    """The sum n with every factor all its terms share pulled out at once (their greatest
    common factor: `A'*(s.^2.*e + s.*e)` is `A'*(s.*e.*(s + 1))`), or None if none is."""
    if n.op != "add":
        return None
    terms = [as_einsum(t) for t in n.args]
    for (base, e, sig), members in _options(n, terms, Factoring(always)):
        if len(members) == len(terms):
            got = _pull(n, terms, base, e, sig, members, None, then=_common)
            if got is not None:
                return got
    return None


def _factor_once(n: Node, how: Factoring) -> Node | None:
    terms = [as_einsum(t) for t in n.args]
    options = _options(n, terms, how)
    if not options:
        return None
    # the factors shared by most terms first; each candidate pulled shallowly, and
    # only the chosen one's inner sum factored in turn (keeps this polynomial)
    if how.options == 1:
        (base, e, sig), members = options[0]
        return _pull(n, terms, base, e, sig, members, how)
    best: tuple | None = None
    for (base, e, sig), members in options[:how.options]:
        check_deadline()
        cand = _pull(n, terms, base, e, sig, members, None)
        if cand is not None and (best is None or how.keep(cand, best[0])):
            best = (cand, base, e, sig, members)
    if len(options) > 1 and len(options[1][1]) == len(terms):
        # every factor all the terms share, out at once (one at a time, each looks no
        # better alone than its rivals)
        cand = _common(n)
        if cand is not None and (best is None or how.keep(cand, best[0])):
            return factor(cand, how) if cand.op == "add" else cand
    if best is None:
        return None
    return _pull(n, terms, *best[1:], how)


def _pull(n: Node, terms, base: Node, pulled: float, sig: tuple,
          members: list[tuple[int, int, float]], deep: Factoring | None,
          then: Callable[[Node], Node | None] | None = None) -> Node | None:
    """n with f = base.^pulled taken out of the terms `members` (term, factor, the
    factor's exponent of base): f * (sum of what remains of them) + the other terms (of a
    member's power base.^e, base.^(e - pulled) remains); the inner sum factored in turn
    (by `deep`) if deep.deep, or rewritten by `then` (None: as it is)."""
    f = B.power(base, B.const(pulled))
    r = n.rank
    n_summed = len({s for kind, s in sig if kind == "s"})
    std_f = tuple(p if kind == "o" else r + p for kind, p in sig)
    parts = []
    for ti, j, e in members:
        coef, ops, idxs, out = terms[ti]
        ix = idxs[j]
        # map the term's labels: out -> 0..r-1, F's summed labels -> r..
        ren = {lab: p for p, lab in enumerate(out)}
        for lab, (kind, p) in zip(ix, sig):
            if kind == "s":
                ren[lab] = r + p
        nxt = r + n_summed + 1000
        new_ops, new_idxs = [], []
        dims = {}
        for k, (a, jx) in enumerate(zip(ops, idxs)):
            for lab, d in zip(jx, a.shape):
                if lab not in ren:
                    ren[lab] = nxt
                    nxt += 1
                dims[ren[lab]] = d
            if k != j:
                new_ops.append(a)
                new_idxs.append(tuple(ren[lab] for lab in jx))
            elif e != pulled:
                new_ops.append(B.power(base, B.const(e - pulled)))
                new_idxs.append(tuple(ren[lab] for lab in jx))
        parts.append((coef, new_ops, new_idxs, dims))
    # the remainder keeps the labels that some remainder still carries
    wanted = range(r + n_summed)
    carried = {lab for _, _, ixs, _ in parts for jx in ixs for lab in jx}
    rest_out = tuple(lab for lab in wanted if lab in carried)
    if len(rest_out) > 2 + r:
        return None
    rests = []
    for coef, new_ops, new_idxs, dims in parts:
        present = {lab for jx in new_idxs for lab in jx}
        for lab in rest_out:
            if lab not in present:
                new_ops.append(B.ones(dims[lab]))
                new_idxs.append((lab,))
        rests.append(B.einsum(new_ops, new_idxs, rest_out, coef))
    inner = B.add(rests)
    if deep is not None and deep.deep:
        inner = factor(inner, deep)
    elif then is not None:
        inner = then(inner) or inner
    product = B.einsum([f, inner], [std_f, rest_out], tuple(range(r)))
    others = [t for ti, t in enumerate(n.args) if ti not in {m[0] for m in members}]
    return B.add([product] + others) if others else product
