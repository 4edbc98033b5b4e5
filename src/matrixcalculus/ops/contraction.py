"""einsum (LANGUAGE.md v2 "contraction"): one generalized product, the IR's own node.

Its row lowers the subscripts to the einsum IR with integer labels: a label repeated in a
term takes that operand's diagonal (the IR allows a label twice in one operand, as tr's
`ii->`), one repeated in the output places a diagonal through a delta (the IR's output labels
are distinct).  The normal form then makes `einsum("ij,jk->ik", A, B)` the node of `A*B`.
"""

from __future__ import annotations

from ..ir.build import delta, einsum
from ..ir.nodes import Node
from .row import Row, function


def lower_einsum(inputs: list[str], output: str, *operands: Node, shape=None) -> Node:
    """The IR of einsum(",".join(inputs) + "->" + output, *operands)."""
    ids: dict[str, int] = {}
    dims: dict[str, object] = {}
    idxs = []
    for term, x in zip(inputs, operands):
        assert len(term) == x.rank, (term, x)
        idxs.append(tuple(ids.setdefault(ch, len(ids)) for ch in term))
        for ch, d in zip(term, x.shape):
            dims.setdefault(ch, d)
    ops, out, seen = list(operands), [], set()
    for ch in output:
        if ch in seen:                  # `i->ii`: a fresh label tied to i by a delta
            fresh = len(ids) + len(out)
            ops.append(delta(dims[ch]))
            idxs.append((ids[ch], fresh))
            out.append(fresh)
        else:
            seen.add(ch)
            out.append(ids[ch])
    return einsum(ops, idxs, out)


ROWS: list[Row] = [
    function("einsum", kind="structure", typing="einsum", arity=tuple(range(2, 27)),
             lower=lower_einsum, latex=r"\operatorname{einsum}"),
]
