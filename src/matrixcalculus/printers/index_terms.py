"""An index-notation answer as a sum of flat products, for the texts that parse back
(einsum_text.py).

    flat_terms(root, raiser) -> Flat     root[0..r-1] as terms c * prod(node[labels])
    operands(flat, term, raiser, ...)    one term's factors, raised in groups (Op)

Labels are ints: 0..r-1 are the answer's axes, the others are summed.  A product of
sums is distributed while that stays small (_MAX_TERMS); beyond, the sum is one operand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

from .. import ast
from ..ir.nodes import Node
from ..raising import NoMatrixForm, Piece
from ..raising.pieces import dim_ast

_MAX_TERMS = 32          # a product of sums distributed into at most this many terms


class NoText(Exception):
    """The answer holds a node with no text in the language (a Fréchet direction)."""


Leaf = tuple[Node, tuple[int, ...]]


@dataclass
class Flat:
    rank: int
    terms: list[tuple[float, list[Leaf]]]
    sizes: dict[int, str | int] = field(default_factory=dict)     # label -> its dimension


@dataclass(frozen=True)
class Op:
    """One factor of a flat product: an operand in the language with its labels, or a
    Kronecker delta (kind "delta", labels (a, b)); ones(n) has kind "ones"."""

    ast: ast.Node
    labels: tuple[int, ...]
    kind: str = "ast"


def flat_terms(root: Node) -> Flat:
    flat = Flat(root.rank, [])
    fresh = count(root.rank)
    flat.terms = _flatten(root, tuple(range(root.rank)), fresh, flat.sizes)
    return flat


def _flatten(n: Node, labs: tuple[int, ...], fresh, sizes: dict) -> list[tuple[float, list]]:
    for lab, d in zip(labs, n.shape):
        sizes.setdefault(lab, d)
    if n.op == "add":
        return [t for a in n.args for t in _flatten(a, labs, fresh, sizes)]
    if n.op == "zero":
        return []
    if n.op == "const":
        return [(n.params[0], [])]
    if n.op != "einsum":
        return [(1.0, [(n, labs)])]
    coef, idxs, out = n.params
    names = {lab: labs[p] for p, lab in enumerate(out)}
    for ix in idxs:
        for lab in ix:
            if lab not in names:
                names[lab] = next(fresh)
    terms: list[tuple[float, list]] = [(coef, [])]
    for a, ix in zip(n.args, idxs):
        sub_labs = tuple(names[lab] for lab in ix)
        for lab, d in zip(sub_labs, a.shape):
            sizes.setdefault(lab, d)
        sub = _flatten(a, sub_labs, fresh, sizes) if a.op in ("add", "einsum", "const",
                                                               "zero") else None
        if sub is not None and len(sub) * len(terms) > _MAX_TERMS:
            sub = None            # too many terms: the sum stays one operand
        if sub is None:
            sub = [(1.0, [(a, sub_labs)])]
        terms = [(c1 * c2, f1 + f2) for c1, f1 in terms for c2, f2 in sub]
        if not terms:
            return []
    return terms


def substitute(leaves: list, a: int, b: int) -> list:
    """Every label a of the factors as b."""
    return [(x, tuple(b if lab == a else lab for lab in labs)) for x, labs in leaves]


def drop_summed_deltas(leaves: list[Leaf], out: set[int]) -> list[Leaf]:
    """δ(a,p) with p summed: the other factors take a for p (X[p,k]*δ(j,p) is X[j,k])."""
    changed = True
    while changed:
        changed = False
        for k, (x, labs) in enumerate(leaves):
            if x.op != "delta" or len(labs) != 2 or labs[0] == labs[1]:
                continue
            a, b = labs
            if b not in out or a not in out:
                gone, keep = (b, a) if b not in out else (a, b)
                leaves = substitute(leaves[:k] + leaves[k + 1:], gone, keep)
                changed = True
                break
    return leaves


def operands(leaves: list[Leaf], out: set[int], sizes: dict, raiser, tensor_op) -> list[Op]:
    """The factors of one flat product as operands: each group of matrix factors linked
    through summed labels raised to one matrix where it has a matrix form; a label summed
    in a single factor summed there (`sum(Y, 2)`, never a stray Y[p,q]); deltas kept.
    tensor_op(node, labels) -> Op writes a factor of order > 2 (or a diagonal)."""
    ops: list[Op] = []
    pieces: list[Piece] = []
    for x, labs in leaves:
        if x.op == "delta" and len(labs) == 2:
            ops.append(Op(ast.Call("eye", (dim_ast(x.shape[0]),)), labs, "delta"))
        elif x.op == "ones" and len(labs) == 1:
            ops.append(Op(ast.Call("ones", (dim_ast(x.shape[0]),)), labs, "ones"))
        elif x.rank <= 2 and len(set(labs)) == len(labs):
            try:
                pieces.append(Piece(raiser.lift(x), labs))
            except NoMatrixForm:
                ops.append(tensor_op(x, labs))
        else:
            ops.append(tensor_op(x, labs))
    elsewhere = [lab for o in ops if o.kind != "ones" for lab in o.labels]
    return ops + _raise_groups(pieces, out, elsewhere, sizes, raiser)


def _raise_groups(pieces: list[Piece], out: set[int], elsewhere: list[int], sizes: dict,
                  raiser) -> list[Op]:
    groups: list[list[Piece]] = []
    for p in pieces:
        linked = [g for g in groups if any(set(q.idx) & set(p.idx) - out for q in g)]
        groups = [g for g in groups if g not in linked] + [[p] + [q for g in linked for q in g]]
    result: list[Op] = []
    for g in groups:
        outside = set(elsewhere) | {lab for h in groups if h is not g for q in h for lab in q.idx}
        keep = tuple(sorted({lab for q in g for lab in q.idx} & (out | outside)))
        got = _raise(g, keep, raiser)
        if got is None:
            got = _absorb([sum_lone(q, set(keep) | {lab for r in g if r is not q
                                                    for lab in r.idx}, sizes, raiser)
                           for q in g], raiser)
        result += [Op(q.ast, q.idx) for q in got]
    return result


def _raise(g: list[Piece], keep: tuple[int, ...], raiser) -> list[Piece] | None:
    """The group as one matrix, or None (a lone factor: the caller sums its lone labels)."""
    if len(g) == 1 or any(not q.idx for q in g):
        return None
    try:
        best = raiser.combine_all(g, keep)
    except NoMatrixForm:
        return None
    if best.den:
        best = raiser.materialize(best)
    if len(best.idx) > 2 or set(best.idx) != set(keep):
        return None
    return [best]


def _absorb(pieces: list[Piece], raiser) -> list[Piece]:
    """Each vector whose label a matrix factor holds too, taken into it (s[p]*P[p,j] is
    (P.*s)[p,j]): the shortest product wins, a factor that is not a variable first (the
    variables stay as written)."""
    pieces = list(pieces)
    for v in [q for q in pieces if len(q.idx) == 1]:
        hosts = []
        for h in pieces:
            if h is v or len(h.idx) != 2 or v.idx[0] not in h.idx:
                continue
            try:
                got = raiser.combine_all([h, v], h.idx)
            except NoMatrixForm:
                continue
            if set(got.idx) == set(h.idx) and not got.den:
                hosts.append((isinstance(h.ast, ast.Name), raiser.measure(got.ast), h, got))
        if hosts:
            _, _, h, got = min(hosts, key=lambda t: t[:2])
            pieces = [got if q is h else q for q in pieces if q is not v]
    return pieces


def sum_lone(q: Piece, keep: set[int], sizes: dict, raiser) -> Piece:
    """q with each of its labels that no other factor holds summed (Y[p,q] -> sum(Y, 2)[p])."""
    lone = [lab for lab in q.idx if lab not in keep]
    if not lone:
        return q
    mine = tuple(lab for lab in q.idx if lab in keep)
    ones = [Piece(ast.Call("ones", (dim_ast(sizes[lab]),)), (lab,)) for lab in lone]
    try:
        best = raiser.combine_all([q] + ones, mine)
    except NoMatrixForm:
        return q
    if best.den:
        best = raiser.materialize(best)
    return best if set(best.idx) == set(mine) else q
