"""Sums of outer products L_t[X] * R_t[Y] over a 4-index output (the Gaussian NLL
Hessians) written as one batched matrix product over the stacked terms.

The output positions end in a run J of one side's positions and, before it, a run I of
the other side's: then out[batch..., I, J] = sum_t P_t[batch..., I] Q_t[batch..., J] is
`P @ Q` with the terms stacked on the contracted axis.  BLAS writes the result once, in
order; NumPy's einsum loop for the same sum with a permuted output is 3-4x slower than
a contiguous write (n = 60: 25 ms for the matmul, 33 ms for np.multiply.outer alone,
100 ms for the einsum).  Terms splitting the positions differently (S symmetric: the
(k, l) swap of each term) share one product when one (I, J) suits them all, their
factors then broadcast over the whole batch (an n^3-sized operand for an n^4 output).
"""

from __future__ import annotations

from ..ir import build as B
from ..ir.nodes import Node
from .optimize import size_of
from .source import ATOM, MUL, E

Term = tuple[int, tuple[int, ...], tuple[int, ...]]   # (term, its left positions, factors)


def matmul_split(rank: int, lefts: list[tuple[int, ...]]) -> tuple[list[int], list[int],
                                                                     list[int]] | None:
    """(batch, I, J) output positions: J the longest trailing run that every split puts on
    one side, I the run before it that every split puts on the other; None if no I."""
    last = rank - 1
    j_left = [last in x for x in lefts]

    def side_is(p: int, same: bool) -> bool:
        return all((p in x) == (jl if same else not jl) for x, jl in zip(lefts, j_left))
    p = last - 1
    while p >= 0 and side_is(p, True):
        p -= 1
    j_start = p + 1
    while p >= 0 and side_is(p, False):
        p -= 1
    if p + 1 == j_start:
        return None
    return list(range(p + 1)), list(range(p + 1, j_start)), list(range(j_start, rank))


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


class OuterSums:
    """Mixin of the emitter (a ProductWriter): sums of outer products as `P @ Q`."""

    def outer_sums(self, n: Node, groups: list[list[Term]]) -> list[E]:
        """One E per product written, summing the terms of all groups."""
        if not self.b.outer_matmul:
            return [self.stacked_outer(n, g) for g in groups]
        if len(groups) > 1:
            split = matmul_split(n.rank, [g[0][1] for g in groups])
            if split is not None and self._small_operands(n, split, sum(map(len, groups))):
                return [self.outer_matmul(n, [t for g in groups for t in g], split, True)]
        return [self.outer_matmul(n, g, matmul_split(n.rank, [g[0][1]]), False)
                for g in groups]

    def _small_operands(self, n: Node, split: tuple, k: int) -> bool:
        """Broadcast over the whole batch, the stacked operands hold at most half as many
        numbers as the output."""
        size = [size_of(d, self.sizes) for d in n.shape]
        batch, run_i, run_j = split
        b = 1
        for p in batch:
            b *= size[p]
        i = j = 1
        for p in run_i:
            i *= size[p]
        for p in run_j:
            j *= size[p]
        return 2 * k * b * (i + j) <= b * i * j

    def outer_matmul(self, n: Node, terms: list[Term], split: tuple, full: bool) -> E:
        batch, run_i, run_j = split
        ps, qs = [], []
        for k, left, on_left in terms:
            t = n.args[k]
            coef, idxs, out = t.params
            on_right = tuple(j for j in range(len(idxs)) if j not in on_left)
            right = tuple(p for p in range(n.rank) if p not in left)
            j_left = run_j[0] in left
            sides = ((right, on_right), (left, on_left)) if j_left else \
                ((left, on_left), (right, on_right))
            for (pos, picked), run, c, dest in zip(sides, (run_i, run_j), (coef, 1.0), (ps, qs)):
                node = B.einsum([t.args[j] for j in picked], [idxs[j] for j in picked],
                                [out[p] for p in pos], c)
                mine = tuple(batch) if full else tuple(p for p in pos if p in batch)
                dest.append((self._flat_run(self.emit_new(node), n, pos, run, batch, full),
                             mine))
        xp = self.xp
        p = self._stacked(ps, n, batch, -1)
        q = self._stacked(qs, n, batch, -2)
        prod = E(f"{p} @ {q}")
        if len(run_i) == 1 and len(run_j) == 1:
            return E(prod.text, MUL)
        return E(f"{xp}.reshape({prod.text}, {self.shape_tuple(n.shape)})", ATOM)

    def _flat_run(self, f: E, n: Node, pos: tuple, run: list[int], batch: list[int],
                  full: bool) -> E:
        """A side's factor over its positions (in output order) as (its batch positions...,
        the run flattened); full: broadcast to the whole batch."""
        xp = self.xp
        mine = [p for p in pos if p in batch]
        if len(run) > 1:
            dims = [self.dim(n.shape[p]) for p in mine] + \
                [" * ".join(self.dim(n.shape[p]) for p in run)]
            f = E(f"{xp}.reshape({f.text}, {_tuple(dims)})")
        if full and len(mine) < len(batch):
            index = ", ".join(":" if p in mine else "None" for p in batch)
            shape = [self.dim(n.shape[p]) for p in batch] + \
                [" * ".join(self.dim(n.shape[p]) for p in run)]
            f = E(f"{xp}.broadcast_to({f.at(ATOM)}[{index}, :], {_tuple(shape)})")
        return f

    def _stacked(self, parts: list[tuple[E, tuple]], n: Node, batch: list[int],
                 axis: int) -> str:
        """The parts stacked on a new axis moved to `axis` (-1: P's columns, -2: Q's
        rows), with a new axis for each batch position they do not carry."""
        xp = self.xp
        text = f"{xp}.moveaxis({xp}.stack([{', '.join(e.text for e, _ in parts)}]), 0, {axis})"
        mine = parts[0][1]        # the same for every part: one split, or broadcast
        if len(mine) == len(batch):
            return text
        index = ", ".join(":" if p in mine else "None" for p in batch)
        return f"{text}[{index}, :, :]"
