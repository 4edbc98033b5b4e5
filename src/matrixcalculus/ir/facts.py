"""Facts from declarations that the einsum normal form uses (LANGUAGE.md "Variables and
their types"): a simplex variable's entries along its last axis sum to 1.

    y: simplex(n)       sum(y) = 1            Y: simplex(n, c)     sum(Y, 2) = ones(n)

The einsum constructor (build.py) calls fold_sums on every product it builds, so the fact
holds wherever such a sum arises: in the expression, and in its derivatives
(`softmax(z)*sum(y) - y` is `softmax(z) - y`).
"""

from __future__ import annotations

from .leaves import ones
from .nodes import Dim, Node

Idx = tuple[int, ...]


def fold_sums(ops: list[Node], idxs: list[Idx], out: Idx, dims: dict[int, Dim]) -> bool:
    """Drop each simplex factor whose last axis is summed over by it alone: the sum is 1
    (per row, for a matrix; a row label that then occurs nowhere becomes ones(n))."""
    changed = False
    k = 0
    while k < len(ops):
        a, ix = ops[k], idxs[k]
        if a.fact != "simplex" or not ix or ix.count(ix[-1]) != 1 or ix[-1] in out \
                or any(ix[-1] in jx for j, jx in enumerate(idxs) if j != k):
            k += 1
            continue
        del ops[k], idxs[k]
        present = {lab for jx in idxs for lab in jx}
        for lab in dict.fromkeys(ix[:-1]):
            if lab not in present:     # sum_j Y[i,j] = 1 for each i: still ranges over i
                ops.append(ones(dims[lab]))
                idxs.append((lab,))
        changed = True
    return changed
