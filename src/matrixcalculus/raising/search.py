"""The grouping search: which factors of a product to multiply first.  Every way of
combining them is tried (dynamic programming over subsets) and the shortest printed form
wins, so `a[i] a[j] x[j]` comes out as `a*a'*x` and `A[i,j] ones[i] ones[k]` as
`A'*ones(m,k)`; beyond _DP_LIMIT factors, the cheapest pair goes first (greedy)."""

from __future__ import annotations

import heapq
from itertools import count

from .. import ast
from ..limits import check_deadline
from ..printers.text import Texts
from .algebra import Algebra
from .combine import combine
from .pieces import NoMatrixForm, Piece, shortest

_DP_LIMIT = 7                # factors beyond this are combined greedily
# ... where the simplifier prices its candidates (simplify.Pricer): a product of 6 or 7
# factors costs 5-20 ms exhaustively, and 5 leaves every answer as it was (the corpus,
# the growth series, the transformer block) while the sigmoid-chain Hessian of depth
# 3-4 (25 such products per run) no longer takes longer than depth 5
PRICING_DP_LIMIT = 5
_NONE = object()             # dp_memo: a group without a matrix form


class Grouping:
    """The best way to multiply a product's factors, remembered across products (the
    simplifier prices many products that share most factors)."""

    def __init__(self, alg: Algebra, by_work=None, dp_limit: int | None = None):
        """by_work: a Tally, where the form that makes the fewest matrices wins over the
        shortest (a Hessian-vector product, printed in the order that computes it);
        dp_limit: the most factors searched exhaustively (None: _DP_LIMIT)."""
        self.alg = alg
        self.dp_limit = _DP_LIMIT if dp_limit is None else dp_limit
        self.measure = alg.measure if by_work is None else \
            (lambda a: (by_work(a)[2], *alg.measure(a)))
        self.texts = Texts()
        self.dp_memo: dict[tuple, Piece] = {}    # combine_all's groups (see there)
        self.dp_alive: list[ast.Node] = []        # the ASTs whose ids key the memos
        self.pair_memo: dict[tuple, list[tuple]] = {}     # combine's ways (see _combine)

    def _combine(self, P: Piece, Q: Piece, keep: set[int],
                 last: tuple[int, ...] | None = None) -> list[Piece]:
        """combine(), remembered: its ways depend only on the two factors (their ASTs, by
        identity: the raiser lifts each IR node once) and on which of their labels are
        kept, not on the product around them."""
        ren: dict[int, int] = {}
        for lab in P.idx + Q.idx:
            ren.setdefault(lab, len(ren))
        key = (id(P.ast), tuple(ren[lab] for lab in P.idx), P.den,
               id(Q.ast), tuple(ren[lab] for lab in Q.idx), Q.den,
               frozenset(v for lab, v in ren.items() if lab in keep),
               None if last is None else tuple(ren.get(lab, -1) for lab in last))
        hit = self.pair_memo.get(key)
        if hit is None:
            got = combine(self.alg, P, Q, keep, last)
            self.pair_memo[key] = [(c.ast, tuple(ren[lab] for lab in c.idx), c.den)
                                   for c in got]
            self.dp_alive += (P.ast, Q.ast)
            return got
        back = {v: k for k, v in ren.items()}
        return [Piece(a, tuple(back[lab] for lab in idx), den) for a, idx, den in hit]

    def combine_all(self, pieces: list[Piece], out: tuple[int, ...]) -> Piece:
        n = len(pieces)
        labels = [set(p.idx) for p in pieces]
        if n == 1:
            return pieces[0]
        if n > self.dp_limit:
            return self.greedy(pieces, out)
        full = (1 << n) - 1
        best: dict[int, Piece] = {1 << k: pieces[k] for k in range(n)}
        self.dp_alive.extend(p.ast for p in pieces)     # their ids key dp_memo
        for mask in sorted(range(1, full + 1), key=lambda m: bin(m).count("1")):
            if mask in best:
                continue
            check_deadline()
            keep = set(out).union(*[labels[j] for j in range(n) if not mask >> j & 1])
            # the best form of a group depends only on its factors (in their order) and
            # on which of their labels stay: the simplifier prices many products that
            # share most factors, so groups are remembered across products, relabelled
            ren: dict[int, int] = {}
            key_parts = []
            for j in range(n):
                if mask >> j & 1:
                    p = pieces[j]
                    key_parts.append((id(p.ast), tuple(ren.setdefault(lab, len(ren))
                                                      for lab in p.idx), p.den))
            last = mask == full
            key = (tuple(key_parts), frozenset(ren[lab] for lab in keep if lab in ren), last)
            hit = self.dp_memo.get(key)
            if hit is not None:
                if hit is not _NONE:
                    back = {v: k for k, v in ren.items()}
                    best[mask] = Piece(hit.ast, tuple(back[lab] for lab in hit.idx), hit.den)
                continue
            cands: list[Piece] = []
            sub = (mask - 1) & mask
            while sub:
                other = mask ^ sub
                if sub < other and sub in best and other in best:
                    cands += self._combine(best[sub], best[other], keep,
                                     out if last else None)
                sub = (sub - 1) & mask
            if cands:
                got = best[mask] = shortest(cands, self.measure, self.texts)
                self.dp_memo[key] = Piece(got.ast, tuple(ren[lab] for lab in got.idx), got.den)
            else:
                self.dp_memo[key] = _NONE
        if full not in best:
            raise NoMatrixForm
        return best[full]

    def greedy(self, pieces: list[Piece], out: tuple[int, ...]) -> Piece:
        """Combine the cheapest pair first (the earliest pair among equals), pairs that
        share a label (or hold a scalar) before the others.

        A pair's ways stay valid while its kept labels do, and those change only when a
        piece carrying one of its labels is combined; so each step looks only at the
        pairs of the new piece and of its neighbours (a heap holds the rest), and a chain
        of n factors takes about n log n steps, not n^3."""
        outs = set(out)
        alive: dict[int, Piece] = dict(enumerate(pieces))
        labels: dict[int, frozenset[int]] = {k: frozenset(p.idx) for k, p in alive.items()}
        carriers: dict[int, set[int]] = {}
        for k, ls in labels.items():
            for lab in ls:
                carriers.setdefault(lab, set()).add(k)
        scalars = {k for k, ls in labels.items() if not ls}
        kept: dict[tuple[int, int], frozenset[int]] = {}     # the keep of each known pair
        heap: list[tuple] = []
        made = count(len(pieces))
        seq = count()

        def keep_of(a: int, b: int) -> frozenset[int]:
            la, lb = labels[a], labels[b]
            return frozenset(lab for lab in la | lb
                             if lab in outs or len(carriers[lab]) > (lab in la) + (lab in lb))

        def push(a: int, b: int) -> None:
            """(Re)consider the pair a < b, unless its kept labels are unchanged."""
            keep = keep_of(a, b)
            if kept.get((a, b)) == keep:
                return
            kept[(a, b)] = keep
            for w, c in enumerate(self._combine(alive[a], alive[b], set(keep))):
                heapq.heappush(heap, (self.measure(c.ast), a, b, w, next(seq), keep, c))

        def near(k: int) -> set[int]:
            others = set().union(*(carriers[lab] for lab in labels[k])) if labels[k] \
                else set(alive)
            others |= scalars
            others.discard(k)
            return others

        for a in sorted(alive):
            for b in sorted(near(a)):
                if a < b:
                    push(a, b)
        while len(alive) > 1:
            check_deadline()
            best = None
            while heap:
                a, b, keep, c = heap[0][1], heap[0][2], heap[0][5], heap[0][6]
                if a in alive and b in alive and kept.get((a, b)) is keep:
                    best = (a, b, c)
                    break
                heapq.heappop(heap)
            if best is None:
                best = self._far_pair(alive, outs, carriers, labels)
            if best is None:
                raise NoMatrixForm
            a, b, c = best
            # a label of one of the two keeps its number of carriers (the new piece
            # takes the place): only pairs carrying a label of both may keep another set
            shared = labels[a] & labels[b]
            for k in (a, b):
                for lab in labels[k]:
                    carriers[lab].discard(k)
                del alive[k], labels[k]
                scalars.discard(k)
            new = next(made)
            alive[new], labels[new] = c, frozenset(c.idx)
            for lab in labels[new]:
                carriers.setdefault(lab, set()).add(new)
            if not labels[new]:
                scalars.add(new)
            touched = set().union(*(carriers[lab] for lab in shared)) - {a, b, new}
            for k in sorted(touched):          # their kept labels may have changed
                for j in near(k):
                    if j != new:
                        push(min(k, j), max(k, j))
            for j in sorted(near(new)):
                push(j, new)
            heap = [e for e in heap if e[1] in alive and e[2] in alive] \
                if len(heap) > 8 * len(alive) * len(alive) + 64 else heap
        (last,) = alive.values()
        return last

    def _far_pair(self, alive: dict[int, Piece], outs: set[int], carriers, labels):
        """The cheapest pair of pieces that share no label (an outer product)."""
        best = None
        ks = sorted(alive)
        for x, a in enumerate(ks):
            for b in ks[x + 1:]:
                la, lb = labels[a], labels[b]
                if la & lb or not la or not lb:
                    continue
                keep = {lab for lab in la | lb
                        if lab in outs or len(carriers[lab]) > (lab in la) + (lab in lb)}
                for c in self._combine(alive[a], alive[b], keep):
                    m = self.measure(c.ast)
                    if best is None or m < best[0]:
                        best = (m, a, b, c)
        return None if best is None else best[1:]
