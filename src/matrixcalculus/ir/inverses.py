"""inv(M)*M = M*inv(M) = eye inside a product: one step of the einsum normal form.

A pair meets where inv(M)[a, j] and M[j, b] (or M[a, j] and inv(M)[j, b]) share a summed
label j that no other factor (and not the output) carries: the sum over j is δ[a, b].
Transposed pairs (`inv(M)'*M'`) are the same pattern with the labels read the other way;
for a symmetric M every placement of j cancels.  ir/build.py's einsum calls `cancel`
beside its other rewrites (deltas eliminated, powers merged, ones dropped), so a pair
brought together by another cancellation (`inv(B)*inv(X)*X*B`) meets on the next pass.
"""

from __future__ import annotations

from .leaves import delta
from .nodes import Node, Op

Idx = tuple[int, ...]


def _is_inv(a: Node) -> bool:
    return a.op == Op.PRIM and a.params[0] == "inv"


def cancel(ops: list[Node], idxs: list[Idx], out: Idx, symmetric) -> bool:
    """Replace one inv(M), M pair contracted over a private label by δ; True if it did.
    symmetric: the constructors' is_symmetric (passed in: this module sits below them)."""
    if not any(_is_inv(a) for a in ops):
        return False
    uses: dict[int, int] = {}
    for ix in idxs:
        for lab in ix:
            uses[lab] = uses.get(lab, 0) + 1
    for k, a in enumerate(ops):
        if not _is_inv(a) or len(set(idxs[k])) != 2:
            continue
        m = a.args[0]
        for j, b in enumerate(ops):
            if b is not m or len(set(idxs[j])) != 2:
                continue
            hit = _pair(idxs[k], idxs[j], out, uses, symmetric(m))
            if hit is None:
                continue
            first, second = hit
            if first in out and second in out and out.index(second) < out.index(first):
                first, second = second, first     # δ is symmetric: eye(n), not eye(n)'
            for p in sorted((k, j), reverse=True):
                del ops[p], idxs[p]
            ops.append(delta(m.shape[0]))
            idxs.append((first, second))
            return True
    return False


def _pair(iv: Idx, im: Idx, out: Idx, uses: dict[int, int],
          symmetric: bool) -> tuple[int, int] | None:
    """The labels (a, b) of δ[a, b] that inv(M)[iv] * M[im] summed over a shared label
    makes, or None where they do not cancel."""
    for p, lab in enumerate(iv):
        if lab in out or uses[lab] != 2 or lab not in im:
            continue
        q = im.index(lab)
        # inv(M)[a,j] M[j,b] and M[a,j] inv(M)[j,b]: j at different places; the same
        # place (inv(M)'*M) cancels only for a symmetric M
        if p != q or symmetric:
            return iv[1 - p], im[1 - q]
    return None
