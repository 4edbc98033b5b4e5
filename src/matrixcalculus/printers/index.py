"""Index (einsum) notation, for answers with no matrix form (4-index tensors):
`D[i,j,k,l] = 2*δ(i,k)*(V'*V)[j,l]`.  Groups of factors that do have a matrix
form are raised and subscripted."""

from __future__ import annotations

import re
from itertools import chain, count

from .. import ast
from ..ir.build import coef_and_base
from ..ir.nodes import Node, walk
from .index_names import Factors
from .index_terms import sum_lone
from .latex import call_tex, to_latex
from .text import number, to_text

_OUT = "ijklmnxyz"
_SUMMED = "pqrstuvwabcdefgh"


def index_form(root: Node, raiser) -> tuple[str, str]:
    text, tex, _ = index_answer(root, raiser)
    return text, tex


def index_answer(root: Node, raiser, dims: set[str] = frozenset()
                 ) -> tuple[str, str, list[tuple[ast.Node, str]]]:
    """The index form's text and LaTeX, and its where-names (each subscripted call is
    named: `Y[i,k] ... where Y = inv(S)`, never `(inv(S))[i,k]`)."""
    # index letters never clash with a dimension's or a variable's name (LANGUAGE.md):
    # D[i,j,k,l] beside a dimension k would read as k's size
    taken = {d for n in walk(root) for d in n.shape if isinstance(d, str)} | \
        {n.name for n in walk(root) if n.op == "var"}
    letters = (c for c in chain(_OUT, (f"i{k}" for k in count(1))) if c not in taken)
    out = tuple(next(letters) for _ in range(root.rank))
    head = f"D[{','.join(out)}]" if out else "D"
    head_tex = f"D_{{{''.join(out)}}}" if out else "D"
    fresh = _Fresh(taken | set(out))
    terms = _terms(root, out, raiser, fresh)
    text = head + " = " + _join([t for t, _ in terms])
    tex = head_tex + " = " + _join([t for _, t in terms], tex=True)
    text, tex, names = fresh.factors.resolve(text, tex, taken | set(out) | set(fresh.used),
                                             raiser, dims)
    # the labels summed: every one not in the head, but a Fréchet direction's `[p,q] ->`
    summed = [c for c in fresh.used if c not in fresh.bound and _subscript(c, text)]
    if summed:
        text += f"   (summing over {', '.join(summed)})"
    return text, tex, names


def _number(v: float) -> str:
    """A coefficient at full precision (the one place index notation writes numbers)."""
    return number(v)


def _sum_lone(p, lone: set[int], sizes: dict, raiser):
    mine = set(p.idx) - lone
    return sum_lone(p, mine, sizes, raiser) if mine != set(p.idx) else p


def _subscript(c: str, text: str) -> bool:
    """c is a label of the text: `X[c,j]`, `T[i,c,k]`, `δ(i,c)`."""
    return re.search(rf"[\[,(]{re.escape(c)}[\],)]", text) is not None


class _Fresh:
    """The names of labels not in the answer's head, handed out in order (_summed_names),
    remembering which a Fréchet direction binds (`[p,q] -> ...`): those are not summed."""

    def __init__(self, taken: set[str] = frozenset()) -> None:
        self._names = (c for c in _summed_names() if c not in taken)
        self.used: list[str] = []
        self.bound: set[str] = set()
        self.factors = Factors()

    def __iter__(self) -> _Fresh:
        return self

    def __next__(self) -> str:
        name = next(self._names)
        self.used.append(name)
        return name


def _join(terms: list[str], tex: bool = False) -> str:
    s = terms[0]
    for t in terms[1:]:
        s += " - " + t[1:] if t.startswith("-") else " + " + t
    return s


def _terms(n: Node, labels: tuple[str, ...], raiser, fresh) -> list[tuple[str, str]]:
    if n.op == "add":
        return [t for a in n.args for t in _terms(a, labels, raiser, fresh)]
    c, base = coef_and_base(n)
    text, tex = _product(base, labels, raiser, fresh)
    sign = "-" if c < 0 else ""
    mag = abs(c)
    if mag != 1:
        num = _number(mag)
        text, tex = (num, num) if text == "1" else (f"{num}*{text}", rf"{num}\,{tex}")
    return [(sign + text, sign + tex)]


def _product(n: Node, labels: tuple[str, ...], raiser, fresh) -> tuple[str, str]:
    """n[labels] as a product of subscripted factors.  `fresh` names summed labels, shared
    by the whole answer: a nested product never reuses a name of the one around it."""
    from ..raising import NoMatrixForm, Piece
    if n.op == "add":
        terms = _terms(n, labels, raiser, fresh)
        return "(" + _join([t for t, _ in terms]) + ")", \
            r"\left(" + _join([x for _, x in terms], tex=True) + r"\right)"
    if n.op != "einsum":
        try:
            a = raiser.lift(n)
        except NoMatrixForm:
            return _elementwise(n, labels, raiser, fresh)
        return fresh.factors.sub(a, labels)
    coef, idxs, out = n.params
    names = {lab: labels[p] for p, lab in enumerate(out)}
    extra = fresh
    for ix in idxs:
        for lab in ix:
            if lab not in names:
                names[lab] = next(extra)
    texts: list[str] = []
    texs: list[str] = []
    pieces: list = []
    # a label summed in a single factor is that factor's sum (sum(Y, 2)[p], not Y[p,q])
    seen = [lab for ix in idxs for lab in ix]
    lone = {lab for lab in seen if seen.count(lab) == 1 and lab not in out}
    sizes = {lab: d for a, ix in zip(n.args, idxs) for lab, d in zip(ix, a.shape)}
    for a, ix in zip(n.args, idxs):
        labs = tuple(names[lab] for lab in ix)
        if a.rank > 2 or len(set(ix)) < len(ix):
            t, x = _product(a, labs, raiser, fresh)      # X[p,p] too, not "<var>"
            texts.append(t if a.op != "einsum" else f"({t})")
            texs.append(x)
            continue
        try:
            pieces.append(_sum_lone(Piece(raiser.lift(a), ix), lone, sizes, raiser))
        except NoMatrixForm:
            t, x = _product(a, labs, raiser, fresh)
            texts.append(t)
            texs.append(x)
    # group factors connected through summed labels and raise each group
    groups: list[list] = []
    for p in pieces:
        linked = [g for g in groups if any(set(q.idx) & set(p.idx) - set(out) for q in g)]
        merged = [p] + [q for g in linked for q in g]
        groups = [g for g in groups if g not in linked] + [merged]
    for g in groups:
        keep = {lab for lab in out if any(lab in q.idx for q in g)}
        keep |= {lab for lab in names if lab not in out and any(lab in q.idx for q in g)
                 and any(lab in ix for a, ix in zip(n.args, idxs) if a.rank > 2)}
        try:
            if any(not q.idx for q in g):
                raise NoMatrixForm
            best = raiser.combine_all(g, tuple(sorted(keep)))
            if best.den:
                best = raiser.materialize(best)
            if len(best.idx) > 2 or set(best.idx) != keep:
                raise NoMatrixForm
            parts = [best]
        except NoMatrixForm:
            parts = g
        for q in parts:
            if _is_ones(q.ast):
                continue
            labs = tuple(names[lab] for lab in q.idx)
            if _is_eye(q.ast):
                texts.append(f"δ({','.join(labs)})")
                texs.append(rf"\delta_{{{''.join(labs)}}}")
                continue
            t, x = fresh.factors.sub(q.ast, labs)
            texts.append(t)
            texs.append(x)
    if coef != 1:
        texts.insert(0, _number(coef))
        texs.insert(0, _number(coef))
    return "*".join(texts) or "1", r"\,".join(texs) or "1"


def _elementwise(n: Node, labels: tuple[str, ...], raiser, fresh) -> tuple[str, str]:
    """A node of order > 2 that is not a product or sum: zeros, f(T), T.^p."""
    if n.op == "zero":
        return "0", "0"
    if n.op == "func":
        parts = [_product(a, labels, raiser, fresh) for a in n.args]
        t, x = ", ".join(p[0] for p in parts), [p[1] for p in parts]
        return f"{n.name}({t})", call_tex(n.name, x, rf"\left({x[0]}\right)")
    if n.op == "power":
        bt, bx = _product(n.args[0], labels, raiser, fresh)
        e = n.args[1]
        et, ex = _product(e, labels if e.rank else (), raiser, fresh)
        return f"{_paren(bt)}.^{_paren(et)}", rf"\left({bx}\right)^{{\circ {ex}}}"
    if n.op == "prim" and len(n.args) >= 2 and (n.rank > 2 or len(n.args) > 2):
        return _frechet(n, labels, raiser, fresh)
    if n.op == "prim":          # softmax(T, 2) of a tensor: named, its einsum text defines it
        from .einsum_text import tensor_ast
        a = tensor_ast(n, raiser)
        if a is not None:
            return fresh.factors.sub(a, labels)
    return f"<{n.op}>", rf"\langle {n.op} \rangle"


def _frechet(n: Node, labels: tuple[str, ...], raiser, fresh) -> tuple[str, str]:
    """dexpm(X, E1, ..., Ek) of directions with leading (Jacobian) axes: for each of them,
    the Fréchet derivative along the matrices E[..., :, :], written `[p,q] -> E[..., p, q]`
    (a plain direction that has a matrix form prints as that matrix)."""
    from ..raising import NoMatrixForm
    x, es = n.args[0], n.args[1:]
    xa = raiser.lift(x)
    texts, texes = [], []
    for e in es:
        if e.rank == 2:
            try:
                ea = raiser.lift(e)
                texts.append(to_text(ea))
                texes.append(to_latex(ea))
                continue
            except NoMatrixForm:
                pass
        et, ex = _direction(e, labels, raiser, fresh)
        texts.append(et)
        texes.append(ex)
    at = ",".join(labels[-2:])
    return (f"{n.name}({to_text(xa)}, {', '.join(texts)})[{at}]",
            call_tex(n.name, [to_latex(xa), *texes]) + f"_{{{''.join(labels[-2:])}}}")


def _direction(e: Node, labels: tuple[str, ...], raiser, fresh) -> tuple[str, str]:
    """`[p,q] -> E[..., p, q]`: its leading axes are the answer's, aligned from the right."""
    p, q = next(fresh), next(fresh)
    fresh.bound |= {p, q}
    lead = labels[:-2][len(labels) - e.rank:] if e.rank > 2 else ()
    et, ex = _product(e, lead + (p, q), raiser, fresh)
    # LaTeX binds p, q too: the matrix [E_pq]_pq, or e_a e_b^T for a unit direction
    unit = [(a, b) for a in labels for b in labels if et == f"δ({a},{p})*δ({b},{q})"]
    direction = rf"e_{{{unit[0][0]}}} e_{{{unit[0][1]}}}^{{\top}}" if unit else \
        rf"\left[{ex}\right]_{{{p}{q}}}"
    return f"[{p},{q}] -> {et}", direction


def _summed_names():
    """p, q, ... then p1, q1, ...: a product may sum over more labels than letters."""
    yield from _SUMMED
    k = 1
    while True:
        yield from (f"{c}{k}" for c in _SUMMED)
        k += 1


def _paren(s: str) -> str:
    return s if s.replace("_", "").isalnum() else f"({s})"


def _is_ones(a) -> bool:
    return type(a).__name__ == "Call" and a.func == "ones" and len(a.args) == 1


def _is_eye(a) -> bool:
    return type(a).__name__ == "Call" and a.func == "eye"
