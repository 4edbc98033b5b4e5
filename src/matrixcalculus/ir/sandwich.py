"""A sum of matrices that every term multiplies by the same matrix on the left and on the
right, written once: `W'*diag(p)*W - W'*p*p'*W -> W'*(diag(p) - p*p')*W`.

This is the chain rule's shape for a Hessian under a linear map (J'*H*J: the Hessian of
logsumexp(W*x) is W' times logsumexp's own Hessian times W), which reverse over reverse
flattens into products the one-factor-at-a-time factoring (ir/rewrite.py) cannot regroup:
pulling the second W out needs a delta where the first term's diag(p) held the label.
A row of the simplifier's factoring pass, kept where it prints shorter.
"""

from __future__ import annotations

from .build import add as add_terms
from .build import delta, einsum, is_symmetric
from .nodes import Node
from .rewrite import as_einsum, distribute

_MOST_TERMS = 16


def _side(ops: list[Node], idxs: list[tuple], lab: int, out: tuple
          ) -> tuple[int, Node, int, int] | None:
    """The one matrix factor carrying output label lab: (its position, the node, where lab
    sits in it, its other label), where that other label is summed (not an output)."""
    found = [k for k, ix in enumerate(idxs) if lab in ix]
    if len(found) != 1:
        return None
    k = found[0]
    a, ix = ops[k], idxs[k]
    if a.rank != 2 or ix[0] == ix[1] or a.op in ("ones", "delta", "const"):
        return None
    at = ix.index(lab)
    other = ix[1 - at]
    return None if other in out else (k, a, at, other)


def regrouped(n: Node) -> Node | None:
    """sandwich() of a rank-2 sum, or of a rank-2 product over sums once distributed (the
    derivative's own grouping, `(W - p'*W)'*diag(p)*W`, is such a product)."""
    if n.op == "einsum" and n.rank == 2 and any(a.op == "add" for a in n.args):
        flat = distribute(n, lambda m: [k for k, a in enumerate(m.args) if a.op == "add"][:1],
                          most_terms=_MOST_TERMS)
        return None if flat is None else sandwich(flat)
    return sandwich(n)


def sandwich(n: Node) -> Node | None:
    """L'*(X_1 + ... + X_t)*R for a rank-2 sum whose every term is L'*X_t*R (the same L and
    R, found by the factor alone carrying each output label), else None."""
    if n.op != "add" or n.rank != 2 or len(n.args) < 2:
        return None
    left = right = None
    inner = []
    for t in n.args:
        coef, ops, idxs, out = as_einsum(t)
        if len(out) != 2:
            return None
        lf, rt = _side(ops, idxs, out[0], out), _side(ops, idxs, out[1], out)
        if lf is None or rt is None or lf[0] == rt[0]:
            return None
        if left is None:
            left, right = lf[1:3], rt[1:3]
        if lf[1:3] != left or rt[1:3] != right:
            return None
        a, b = lf[3], rt[3]
        rest = [(op, ix) for k, (op, ix) in enumerate(zip(ops, idxs)) if k not in (lf[0], rt[0])]
        if a == b:        # L and R met on one label (W'*diag(p)*W): X_t places it by a delta
            b = max(lab for _, ix in zip(ops, idxs) for lab in ix) + 1
            rest.append((delta(lf[1].shape[1 - lf[2]]), (a, b)))
        if not any(a in ix for _, ix in rest) or not any(b in ix for _, ix in rest):
            return None       # (a one-sided term: the plain factoring's case)
        inner.append(einsum([op for op, _ in rest], [ix for _, ix in rest], (a, b), coef))
    assert left is not None and right is not None
    (lnode, lat), (rnode, rat) = left, right
    mid = add_terms(inner)
    lix = (2, 0) if lat == 1 else (0, 2)
    rix = (3, 1) if rat == 1 else (1, 3)
    return einsum([lnode, mid, rnode], [lix, (2, 3), rix], (0, 1))


def shows_symmetry(n: Node) -> bool:
    """n is L'*S*L with S symmetric (the chain rule's J'*H*J): a form whose symmetry a
    reader sees, preferred to an equally short one that hides it."""
    if n.op != "einsum" or len(n.args) != 3 or n.rank != 2:
        return False
    sides = [_side(list(n.args), list(n.indices), lab, n.out) for lab in n.out]
    if sides[0] is None or sides[1] is None or sides[0][0] == sides[1][0]:
        return False
    (k, lnode, lat, a), (j, rnode, rat, b) = sides       # type: ignore[misc]
    (mid,) = [m for p, m in enumerate(n.args) if p not in (k, j)]
    return lnode is rnode and lat == rat and _symmetric(mid)


def _symmetric(m: Node) -> bool:
    """is_symmetric, and a diagonal matrix (a delta over both output labels: diag(p),
    which the builder keeps as delta[i,j]*p[i], not equal to its transpose's labelling)."""
    if m.op == "add":
        return all(_symmetric(t) for t in m.args)
    if m.op == "einsum" and any(a.op == "delta" and set(ix) == set(m.out)
                                for a, ix in zip(m.args, m.indices)):
        return True
    return is_symmetric(m)
