"""The texts of an index-notation answer that parse back: its einsum text and its vec form
(LANGUAGE.md "How answers print").

    einsum_text(root, raiser, taken, own)   `einsum("pi,pk,pj->ijkj", X, X, P) - ...`
    vec_form_text(root, raiser, taken, own) `kron(B', A)`: d vec(F) / d vec(X)' of a
                                            4-index derivative, or None

NumPy's explicit mode; a δ of two output labels is an `eye(n)` operand or a repeated
output label (which places a diagonal), whichever is shorter.  `own`: the index form's
where-names, kept where a name is used twice or more.
"""

from __future__ import annotations

from itertools import chain, product

from .. import ast
from ..ir.nodes import Node
from ..ops import row
from ..raising import NoMatrixForm, Piece
from ..raising.pieces import dim_ast, num
from .index_terms import Flat, NoText, Op, drop_summed_deltas, flat_terms, operands, substitute
from .naming import name_shared
from .powers import fold_powers
from .text import to_text, token_count

_OUT = "ijklmnoxyzabcdefgh"
_SUMMED = "pqrstuvwABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MAX_CHOICES = 6            # deltas tried both ways (2^k choices) up to this many


def einsum_text(root: Node, raiser, taken: set[str],
                own: list[tuple[ast.Node, str]] = (), dims: set[str] = frozenset()
                ) -> str | None:
    """The einsum text of an index answer; `dims`: sizes printed by name (render's)."""
    try:
        body = _Writer(raiser).sum_ast(flat_terms(root))
    except (NoText, NoMatrixForm):
        return None
    return to_text(name_shared(fold_powers(body, dims), taken, _folded(own, dims)))


def vec_form_text(root: Node, raiser, taken: set[str],
                  own: list[tuple[ast.Node, str]] = (), dims: set[str] = frozenset()
                  ) -> str | None:
    """d vec(F)/d vec(X)' (column-major vec) of D[i,j,k,l] = dF[i,j]/dX[k,l], where every
    term is c*A[i,k]*B[j,l] (c*kron(B', A), as arranged) or c*δ(i,k)*δ(j,l)*C[i,j]
    (diag(vec(c*C))); None where a term is neither."""
    if root.rank != 4:
        return None
    flat = flat_terms(root)
    w = _Writer(raiser)
    terms: list[tuple[float, ast.Node]] = []
    try:
        for c, leaves in flat.terms:
            t = w.vec_term(flat, c, leaves)
            if t is None:
                return None
            terms.append(t)
    except (NoText, NoMatrixForm):
        return None
    if not terms:
        return None
    return to_text(name_shared(fold_powers(_sum(terms, raiser.mul), dims), taken,
                               _folded(own, dims)))


def _folded(own, dims: set[str]) -> list[tuple[ast.Node, str]]:
    """The index form's where-names, their forms with sizes by name as the text has them."""
    return [(fold_powers(a, dims), nm) for a, nm in own]


def tensor_ast(x: Node, raiser) -> ast.Node | None:
    """x (of any order) in the language, or None where it has no text."""
    try:
        return _Writer(raiser).node_ast(x)
    except (NoText, NoMatrixForm):
        return None


class _Writer:
    def __init__(self, raiser):
        self.raiser = raiser

    # ------------------------------------------------------------ einsum
    def sum_ast(self, flat: Flat) -> ast.Node:
        out = tuple(range(flat.rank))
        terms = [self.term(flat, c, leaves, out) for c, leaves in flat.terms]
        if not terms:               # a zero tensor: 0 times ones along every axis
            ops = [Op(ast.Call("ones", (dim_ast(flat.sizes[lab]),)), (lab,), "ones")
                   for lab in out]
            return ast.Binary("*", ast.Num(0.0), self.call(ops, list(out)))
        return _sum(terms, self.raiser.mul)

    def term(self, flat: Flat, c: float, leaves: list, out: tuple[int, ...]
             ) -> tuple[float, ast.Node]:
        leaves = drop_summed_deltas(leaves, set(out))
        deltas = [k for k, (x, labs) in enumerate(leaves) if x.op == "delta"
                  and len(set(labs)) == 2 and set(labs) <= set(out)]
        best = None
        for choice in product((False, True), repeat=min(len(deltas), _MAX_CHOICES)):
            lv, outmap = list(leaves), list(out)
            gone = [deltas[k] for k, on in enumerate(choice) if on]
            for k in gone:            # δ(a,b) as a repeated label: b written a
                a, b = lv[k][1]
                if a != b:
                    lv = substitute(lv, b, a)
                    outmap = [a if lab == b else lab for lab in outmap]
            lv = [x for k, x in enumerate(lv) if k not in gone]
            ops = operands(lv, set(outmap), flat.sizes, self.raiser, self.tensor_op)
            body = self.call([o for o in ops if o.labels], outmap, flat.sizes)
            s = _scalar_product(ops)
            body = body if s is None else ast.Binary("*", s, body)
            if best is None or token_count(body) < token_count(best[1]):
                best = (c, body)
        assert best is not None
        return best

    def call(self, ops: list[Op], outmap: list[int], sizes: dict | None = None) -> ast.Node:
        """einsum("spec", operands...) of the operands to the output labels outmap."""
        real = [o for o in ops if o.kind != "ones"]
        held = {lab for o in real for lab in o.labels}
        kept = list(real)
        for o in ops:             # ones(n) only where no other operand holds its label
            if o.kind == "ones" and o.labels[0] not in held:
                kept.append(o)
                held.add(o.labels[0])
        for lab in outmap:        # an output label no operand holds: broadcast with ones
            if lab not in held:
                if sizes is None:
                    raise NoText
                kept.append(Op(ast.Call("ones", (dim_ast(sizes[lab]),)), (lab,), "ones"))
                held.add(lab)
        first = {lab: k for k, lab in reversed(list(enumerate(outmap)))}
        kept.sort(key=lambda o: min((first.get(lab, len(outmap)) for lab in o.labels),
                                    default=len(outmap)))
        if len(kept) == 1 and list(kept[0].labels) == outmap \
                and len(set(outmap)) == len(outmap):
            return kept[0].ast          # the operand is the tensor itself
        letters = _letters(kept, outmap)
        spec = ",".join("".join(letters[lab] for lab in o.labels) for o in kept) + \
            "->" + "".join(letters[lab] for lab in outmap)
        return ast.Call("einsum", (ast.Spec(spec),) + tuple(o.ast for o in kept))

    def tensor_op(self, x: Node, labs: tuple[int, ...]) -> Op:
        """A factor of order > 2 (or one whose labels take a diagonal) as an operand."""
        if x.rank <= 2:
            try:
                return Op(self.raiser.lift(x), labs)
            except NoMatrixForm:
                pass
        return Op(self.node_ast(x), labs)

    def node_ast(self, x: Node) -> ast.Node:
        """x in the language: its matrix form, or its einsum text."""
        if x.rank <= 2:
            try:
                return self.raiser.lift(x)
            except NoMatrixForm:
                pass
        if x.op in ("var", "symbol"):
            return ast.Name(x.name)            # a tensor variable
        if x.op in ("einsum", "add", "zero", "const"):
            return self.sum_ast(flat_terms(x))
        if x.op == "func":
            return ast.Call(x.name, tuple(self.node_ast(a) for a in x.args))
        if x.op == "power":
            return ast.Binary(".^", self.node_ast(x.args[0]), self.node_ast(x.args[1]))
        if x.op == "prim" and not (len(x.args) == 2 and x.rank > 2):
            shows = row(x.name).shows          # softmax(T, 2): the axis it runs along
            extra = tuple(ast.Num(k) for k in shows(x)) if shows is not None else ()
            return ast.Call(x.name, (*(self.node_ast(a) for a in x.args), *extra))
        raise NoText       # a Fréchet direction along Jacobian axes: no text in the language

    # ------------------------------------------------------------ vec form
    def vec_term(self, flat: Flat, c: float, leaves: list) -> tuple[float, ast.Node] | None:
        out = {0, 1, 2, 3}
        ops = operands(drop_summed_deltas(leaves, out), out, flat.sizes, self.raiser,
                       self.tensor_op)
        if any(not set(o.labels) <= out or len(set(o.labels)) < len(o.labels) for o in ops):
            return None
        scalar = _scalar_product(ops)
        ops = [o for o in ops if o.labels]
        left = [o for o in ops if set(o.labels) <= {0, 2}]
        right = [o for o in ops if set(o.labels) <= {1, 3}]
        sizes = flat.sizes
        if len(left) + len(right) == len(ops):
            a = self.side(left, (0, 2), sizes)
            b = self.side(right, (1, 3), sizes)
            if a is None or b is None:
                return None
            return c, ast.Call("kron", (_times(scalar, b, self.raiser), a))
        diag = [k for k, o in enumerate(ops) if o.kind == "delta"
                and set(o.labels) in ({0, 2}, {1, 3})]
        if len(diag) != 2 or {frozenset(ops[k].labels) for k in diag} != \
                {frozenset({0, 2}), frozenset({1, 3})}:
            return None
        rest = [Op(o.ast, tuple({2: 0, 3: 1}.get(lab, lab) for lab in o.labels), o.kind)
                for k, o in enumerate(ops) if k not in diag]
        m = self.side(rest, (0, 1), sizes)
        if m is None:
            return None
        return c, ast.Call("diag", (ast.Call("vec", (_times(scalar, m, self.raiser),)),))

    def side(self, ops: list[Op], labs: tuple[int, int], sizes: dict) -> ast.Node | None:
        """The operands over the labels (r, c) as one matrix arranged [r, c]."""
        r, c = labs
        if not ops:
            return ast.Call("ones", (dim_ast(sizes[r]), dim_ast(sizes[c])))
        pieces = [Piece(o.ast, o.labels) for o in ops]
        held = {lab for o in ops for lab in o.labels}
        pieces += [Piece(ast.Call("ones", (dim_ast(sizes[lab]),)), (lab,))
                   for lab in labs if lab not in held]
        try:
            best = pieces[0] if len(pieces) == 1 else self.raiser.combine_all(pieces, labs)
        except NoMatrixForm:
            return None
        if best.den:
            best = self.raiser.materialize(best)
        if best.idx == labs:
            return best.ast
        if best.idx == (c, r):
            return self.raiser.T(best.ast)
        return None


def _letters(ops: list[Op], outmap: list[int]) -> dict[int, str]:
    letters: dict[int, str] = {}
    outs = iter(_OUT)
    for lab in outmap:
        if lab not in letters:
            letters[lab] = next(outs)
    used = set(letters.values())
    summed = (ch for ch in chain(_SUMMED, _OUT) if ch not in used)
    for o in ops:
        for lab in o.labels:
            if lab not in letters:
                try:
                    letters[lab] = next(summed)
                except StopIteration:
                    raise NoText from None        # more labels than NumPy has letters
    return letters


def _scalar_product(ops: list[Op]) -> ast.Node | None:
    """The operands without labels (scalars), multiplied; None where there are none."""
    s: ast.Node | None = None
    for o in ops:
        if not o.labels:
            s = o.ast if s is None else ast.Binary("*", s, o.ast)
    return s


def _times(s: ast.Node | None, m: ast.Node, raiser) -> ast.Node:
    return m if s is None else raiser.mul(s, m)


def _sum(terms: list[tuple[float, ast.Node]], mul) -> ast.Node:
    """c1*t1 + c2*t2 ...: each |c| != 1 in front of its term (inside a kron's first
    argument), each sign as + or -, a positive term first."""
    acc: ast.Node | None = None
    terms = sorted(terms, key=lambda t: t[0] < 0)
    for c, t in terms:
        mag = abs(c)
        if mag != 1:
            t = _scaled(mag, t, mul)
        if acc is None:
            acc = ast.Neg(t) if c < 0 else t
        else:
            acc = ast.Binary("-" if c < 0 else "+", acc, t)
    assert acc is not None
    return acc


def _scaled(mag: float, t: ast.Node, mul) -> ast.Node:
    if isinstance(t, ast.Call) and t.func == "kron":      # kron(2*V'*V, eye(n))
        return ast.Call("kron", (mul(num(mag), t.args[0]), t.args[1]))
    if isinstance(t, ast.Call) and t.func == "diag":      # diag(vec(2*X))
        inner = t.args[0]
        return ast.Call("diag", (ast.Call("vec", (mul(num(mag), inner.args[0]),)),))
    return ast.Binary("*", num(mag), t)
