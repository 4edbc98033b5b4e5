"""Two factors of a product in matrix notation: the index pattern of the pair (the table in
ir/patterns.py, which the code generator reads too) and, for each pattern, its ways to be
written.  The grouping search (search.py) picks among the ways."""

from __future__ import annotations

from collections.abc import Callable

from .. import ast
from ..ir.patterns import Pair, pair
from .algebra import Algebra
from .expansion import unspread_beside
from .pieces import Piece, is_ones, is_ones_matrix

Ways = Callable[[Algebra, Piece, Piece, set[int]], list[Piece]]


def materialize(p: Piece) -> Piece:
    """A denominator as a factor: 1 ./ d."""
    return Piece(ast.Binary("./", ast.Num(1.0), p.ast), p.idx)


def combine(alg: Algebra, P: Piece, Q: Piece, keep: set[int],
            last: tuple[int, ...] | None = None) -> list[Piece]:
    """The ways to write the product of two factors keeping the labels `keep` (empty if
    none in matrix form); `last`: the labels of the result, in order, where the two are
    the whole product."""
    kind = pair(P.idx, Q.idx, keep)
    if P.den or Q.den:
        if kind is Pair.HADAMARD:          # the same labels: a quotient, or a denominator
            if P.den and Q.den:
                q = Q.ast if Q.idx == P.idx else alg.T(Q.ast)
                return [Piece(ast.Binary(".*", P.ast, q), P.idx, den=True)]
            numer, den = (Q, P) if P.den else (P, Q)
            d = den.ast if den.idx == numer.idx else alg.T(den.ast)
            if len(numer.idx) == 2:            # G./(r*ones(n)') is G./r for a reduced r
                d = unspread_beside(alg, d)
            return [Piece(ast.Binary("./", numer.ast, d), numer.idx)]
        quotients = _column_quotients(alg, P, Q) if kind is Pair.DIAG else []
        if P.den:
            P = materialize(P)
        if Q.den:
            Q = materialize(Q)
        if quotients:
            return quotients + _diag(alg, P, Q, keep) + _expansions(alg, P, Q, last)
    if kind is Pair.DIAG:
        return _diag(alg, P, Q, keep) + _expansions(alg, P, Q, last)
    return WAYS[kind](alg, P, Q, keep)


def _column_quotients(alg: Algebra, P: Piece, Q: Piece) -> list[Piece]:
    """A matrix over an axis-reduced column in its denominator: `G./sqrt(r)`, not
    `1./sqrt(r).*G` (the column expands, LANGUAGE.md)."""
    P, Q = _vector_first(P, Q)
    if not P.den or Q.den:
        return []
    r = alg.as_reduced(P.ast)
    if r is None:
        return []
    (i,) = P.idx
    Mi = Q.ast if Q.idx[0] == i else alg.T(Q.ast)
    j = Q.idx[1] if Q.idx[0] == i else Q.idx[0]
    return [Piece(ast.Binary("./", Mi, r), (i, j))]


def _scalar(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    idx = P.idx or Q.idx
    return [Piece(alg.mul(P.ast, Q.ast), idx), Piece(alg.mul(Q.ast, P.ast), idx)]


def _outer(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    if len(P.idx) != 1 or len(Q.idx) != 1:
        return []                          # a matrix times a vector: order 3
    if is_ones(P.ast) and is_ones(Q.ast):
        return [Piece(ast.Call("ones", (P.ast.args[0], Q.ast.args[0])), P.idx + Q.idx)]
    return [Piece(alg.mul(P.ast, alg.T(Q.ast)), P.idx + Q.idx),
            Piece(alg.mul(Q.ast, alg.T(P.ast)), Q.idx + P.idx)]


def _vector_first(P: Piece, Q: Piece) -> tuple[Piece, Piece]:
    return (Q, P) if len(P.idx) == 2 else (P, Q)


def _matmul(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    rp, rq = len(P.idx), len(Q.idx)
    if rp == 1 and rq == 1:                # a'*b
        return [Piece(alg.mul(alg.T(P.ast), Q.ast), ()),
                Piece(alg.mul(alg.T(Q.ast), P.ast), ())]
    if rp + rq == 3:                       # A'*x
        P, Q = _vector_first(P, Q)
        (i,) = P.idx
        Mi = Q.ast if Q.idx[0] == i else alg.T(Q.ast)
        j = Q.idx[1] if Q.idx[0] == i else Q.idx[0]
        return [Piece(alg.mul(alg.T(Mi), P.ast), (j,))]
    (s,) = set(P.idx) & set(Q.idx)         # A*B
    Pp = P.ast if P.idx[1] == s else alg.T(P.ast)
    a = P.idx[0] if P.idx[1] == s else P.idx[1]
    Qq = Q.ast if Q.idx[0] == s else alg.T(Q.ast)
    b = Q.idx[1] if Q.idx[0] == s else Q.idx[0]
    return [Piece(alg.mul(Pp, Qq), (a, b)), Piece(alg.mul(alg.T(Qq), alg.T(Pp)), (b, a))]


def _diag(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    P, Q = _vector_first(P, Q)             # diag(v)*M
    (i,) = P.idx
    Mi = Q.ast if Q.idx[0] == i else alg.T(Q.ast)
    j = Q.idx[1] if Q.idx[0] == i else Q.idx[0]
    if is_ones(P.ast):
        return [Piece(Mi, (i, j))]
    return [Piece(alg.mul(ast.Call("diag", (P.ast,)), Mi), (i, j)),
            Piece(alg.mul(alg.T(Mi), ast.Call("diag", (P.ast,))), (j, i))]


def _expansions(alg: Algebra, P: Piece, Q: Piece,
                last: tuple[int, ...] | None) -> list[Piece]:
    """A vector along one axis of a matrix as an expansion (LANGUAGE.md): an axis-reduced
    column over the columns of M (`P.*sum(T, 2)`), and, for the whole product only, the
    row v' over the rows of M' (`softmax(X, 1).*v'`): inside a chain diag(v) composes with
    its neighbours (`X'*diag(s)*X`), which the search, group by group, cannot see (and
    only in the result's orientation: its transpose would be a plain column expanding).
    A plain column never expands; a diagonal matrix keeps diag(v.*w)."""
    P, Q = _vector_first(P, Q)
    (i,) = P.idx
    if is_ones(P.ast):
        return []
    Mi = Q.ast if Q.idx[0] == i else alg.T(Q.ast)
    j = Q.idx[1] if Q.idx[0] == i else Q.idx[0]
    v = P.ast
    ways = []
    r = alg.as_reduced(v)
    if r is not None:
        ways += [Piece(ast.Binary(".*", Mi, r), (i, j)), Piece(ast.Binary(".*", r, Mi), (i, j))]
    if last == (j, i) and not (isinstance(Mi, ast.Call) and Mi.func == "diag"):
        Mt, vt = alg.T(Mi), alg.T(v)
        ways += [Piece(ast.Binary(".*", Mt, vt), (j, i)), Piece(ast.Binary(".*", vt, Mt), (j, i))]
    return ways


def _hadamard(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    if len(P.idx) == 1:
        if is_ones(P.ast):
            return [Q]
        if is_ones(Q.ast):
            return [P]
        return [Piece(_entrywise(alg, P.ast, Q.ast), P.idx)]
    Qp = Q.ast if Q.idx == P.idx else alg.T(Q.ast)
    if is_ones_matrix(P.ast):
        return [Piece(Qp, P.idx)]
    if is_ones_matrix(Qp):
        return [P]
    return [Piece(_entrywise(alg, P.ast, Qp), P.idx)]


def _entrywise(alg: Algebra, a: ast.Node, b: ast.Node) -> ast.Node:
    """a .* b, its factors in one order whatever the grouping: shorter factors first
    (`s.*(1 - s).*(1 - 2*s)`, `s.*(1 - s).*((A + A')*s)`, as the books print them),
    where that costs no parentheses (`2*W2'*g.*step(z)` stays)."""
    def price(f: ast.Node) -> int:        # (a sum's parentheses counted)
        return alg.measure(f)[0] + 2 * (isinstance(f, ast.Binary) and f.op in ("+", "-"))
    memo = alg.entrywise
    ranked = tuple(sorted([*_chain(memo, a), *_chain(memo, b)], key=price))
    # the grouping search meets the same factors under many groupings: their chain is
    # built once, one node, so its price and text are remembered too (it was built and
    # measured afresh for each of the ~3^k/2 groupings of k factors).  The memo keeps
    # the factors and the chain alive, so the ids that key it stay theirs.
    key = tuple(map(id, ranked))
    ordered = memo.get(key)
    if ordered is None:
        ordered = ranked[0]
        for f in ranked[1:]:
            ordered = ast.Binary(".*", ordered, f)
        memo[key] = ordered
        memo[id(ordered)] = ranked
    if alg.measure(ordered) <= alg.measure.product(".*", a, b):
        return ordered
    return ast.Binary(".*", a, b)


def _chain(memo: dict, a: ast.Node) -> tuple[ast.Node, ...]:
    """The factors of a .* chain (a itself if it is none); a chain _entrywise built is
    looked up."""
    got = memo.get(id(a))
    if got is not None:
        return got
    if isinstance(a, ast.Binary) and a.op == ".*":
        return (*_chain(memo, a.left), *_chain(memo, a.right))
    return (a,)


def _summed_hadamard(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    Qp = Q.ast if Q.idx == P.idx else alg.T(Q.ast)
    kept = [lab for lab in P.idx if lab in keep]
    if not kept:                           # sum(A.*B) = tr(A'*B)
        return [Piece(ast.Call("sum", (ast.Binary(".*", P.ast, Qp),)), ()),
                Piece(ast.Call("tr", (alg.mul(alg.T(P.ast), Qp),)), ())]
    (lab,) = kept                          # diag(A*B')
    Pl = P.ast if P.idx[0] == lab else alg.T(P.ast)
    Ql = Qp if P.idx[0] == lab else alg.T(Qp)
    return [Piece(ast.Call("diag", (alg.mul(Pl, alg.T(Ql)),)), (lab,)),
            Piece(ast.Call("sum", (ast.Binary(".*", Pl, Ql), ast.Num(2))), (lab,)),
            Piece(ast.Transpose(ast.Call("sum", (ast.Binary(".*", alg.T(Pl), alg.T(Ql)),
                                                 ast.Num(1)))), (lab,))]


def _none(alg: Algebra, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
    return []


WAYS: dict[Pair, Ways] = {
    Pair.SCALAR: _scalar,
    Pair.MATMUL: _matmul,
    Pair.HADAMARD: _hadamard,
    Pair.SUMMED_HADAMARD: _summed_hadamard,
    Pair.OUTER: _outer,
    Pair.DIAG: _diag,
    Pair.EINSUM: _none,
}
