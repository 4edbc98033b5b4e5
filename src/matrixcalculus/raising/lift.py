"""The lift: IR nodes to ASTs in matrix notation, each node's form remembered (leaves,
functions, powers and sums here; products in products.py)."""

from __future__ import annotations

from .. import ast
from ..ir.build import coef_and_base, const, is_symmetric, power_parts
from ..ir.build import einsum as ir_einsum
from ..ir.nodes import Node, walk
from ..limits import check_deadline
from ..ops import row
from .algebra import Algebra, split_number
from .combine import materialize
from .pieces import NoMatrixForm, dim_ast, num
from .price import Tally
from .products import lift_einsum
from .search import Grouping
from .tensors import einsum_text, has_tensor


class Raiser:
    """Raises IR nodes, remembering each node's matrix form (one instance per answer,
    or per simplification run, where it prices the candidates)."""

    materialize = staticmethod(materialize)

    def __init__(self, root: Node | None = None, by_work: bool = False,
                 dp_limit: int | None = None):
        """by_work: products grouped so that they make the fewest matrices (a
        Hessian-vector product never forms the Hessian), then the shortest; dp_limit:
        the most factors searched exhaustively (None: search._DP_LIMIT)."""
        self.alg = alg = Algebra()
        if root is not None:
            for n in walk(root):
                if n.op == "var":
                    alg.register(n)
        self.memo: dict[Node, ast.Node] = {}
        self.failed: set[Node] = set()
        # the algebra's and the search's entry points, bound once (the hot path)
        self.shape, self.T, self.mul, self.measure = alg.shape, alg.T, alg.mul, alg.measure
        self.tally = Tally(alg.shape)
        self.combine_all = Grouping(alg, self.tally if by_work else None,
                                    dp_limit).combine_all

    def cost(self, n: Node) -> int | None:
        """Tokens of the node's matrix form plus a little for the array operations in
        it (prefer `(s - 1)*v` to `s*v - v`: as short to read, and less to compute), or
        None where it has no matrix form."""
        if n in self.failed:
            return None
        try:
            a = self.lift(n)
        except NoMatrixForm:
            self.failed.add(n)
            return None
        return self.measure(a)[0] + self.tally(a)[1]

    def _order_key(self, n: Node | ast.Node) -> int:
        try:
            a = n if isinstance(n, ast.Node) else self.lift(n)
        except NoMatrixForm:
            return 0
        return 2 * self.tally(a)[0] - self.measure(a)[0]

    def lift(self, n: Node) -> ast.Node:
        hit = self.memo.get(n)
        if hit is None:
            hit = self.memo[n] = self._lift(n)
            if n.rank == 2 and is_symmetric(n):
                self.alg.sym_ids.add(id(hit))
        return hit

    def _lift(self, n: Node) -> ast.Node:
        check_deadline()
        op = n.op
        if op == "var":
            self.alg.register(n)
            return ast.Name(n.name)
        if op == "const":
            return num(n.value)
        if op == "symbol":
            return ast.Name(n.name)
        if op == "ones":
            return ast.Call("ones", (dim_ast(n.shape[0]),))
        if op == "delta":
            return ast.Call("eye", (dim_ast(n.shape[0]),))
        if op == "zero":
            if n.rank == 0:
                return ast.Num(0.0)
            if n.rank > 2:
                raise NoMatrixForm
            return ast.Binary("*", ast.Num(0.0),
                              ast.Call("ones", tuple(dim_ast(d) for d in n.shape)))
        if n.rank > 2:
            raise NoMatrixForm
        if op == "func":
            return ast.Call(n.name, tuple(self.lift(a) for a in _unspread_scalar(n.args)))
        if op == "power":
            return self.power(n)
        if op == "prim":
            r = row(n.name)
            shows = r.shows                    # softmax(X, 2): the axis it runs along
            extra = tuple(ast.Num(k) for k in shows(n)) if shows is not None else ()
            call = ast.Call(n.name, (*(self.lift(a) for a in n.args), *extra))
            if r.reduces_along and n.rank == 1 and n.args[0].rank == 2 \
                    and extra == (ast.Num(1),):
                # reduced along the first axis, a row (1 x n) in the language; a vector of
                # the IR is a column, so it is written transposed (else `x.*z`,
                # z = logsumexp(X, 1), or z'*z read back as another shape)
                return ast.Transpose(call)
            return call
        if op == "add":
            return self.add(n)
        if op == "einsum" and any(a.rank > 2 for a in n.args):
            if not has_tensor(n):
                raise NoMatrixForm
            return einsum_text(self, n)
        if op == "einsum":
            size = _size(n)
            if size is not None:
                return size
            return self.squared_norm(n) or lift_einsum(self, n)
        raise NoMatrixForm

    def squared_norm(self, n: Node) -> ast.Node | None:
        """x[I]*x[I] as norm2(x)^2 where that is shorter than its product form: the norm of
        a difference kept as written (`norm2(a - b)^2`, not `(a - b)'*(a - b)` nor, priced
        against that, `a'*a - 2*a'*b + b'*b`); `x'*x` stays for a name."""
        c, base = coef_and_base(n)
        v = _sum_of_squares(base)
        if v is None:
            return None
        if c != 1:           # -norm2(a - q)^2: the number in front, as a sum's terms have it
            body = self.lift(base)
            if c == -1:
                return ast.Neg(body)
            body = self.mul(ast.Num(abs(c)), body)
            return ast.Neg(body) if c < 0 else body
        norm = self.positive_power(ast.Call("norm2", (self.lift(v),)), 2, 0)
        plain = lift_einsum(self, n)
        return norm if self.measure(norm) < self.measure(plain) else plain

    def _expansions(self, parts: list[tuple[float, Node]],
                    spread: list[Node | None]) -> list[ast.Node | None]:
        """The terms of a sum of matrices written as expansions (LANGUAGE.md): `X*W + c'`
        for ones(n)*c', `X - mean(X, 2)` for an axis-reduced column spread over the
        columns; a plain column keeps its product with ones.  Only beside a term that is
        a matrix of its own, which gives the sum its shape."""
        shown: list[ast.Node | None] = [None] * len(parts)
        if not parts or parts[0][1].rank != 2:
            return shown
        found = [None if s is not None else _expanded(b) for (_, b), s in zip(parts, spread)]
        if all(f is not None or s is not None for f, s in zip(found, spread)):
            return shown
        for k, f in enumerate(found):
            if f is None:
                continue
            vec, axis = f
            try:
                a = self.lift(vec)
            except NoMatrixForm:
                continue
            if axis == 0:
                shown[k] = self.T(a)
            elif self.alg.reduced(a):
                shown[k] = a
        return shown

    def power(self, n: Node) -> ast.Node:
        base, e = power_parts(n)
        v = _sum_of_squares(base)
        if v is not None and e is not None and e != 1:
            # (x'*x)^p is norm2(x)^(2p)
            norm = ast.Call("norm2", (self.lift(v),))
            if e < 0:
                return ast.Binary("/", ast.Num(1.0), self.positive_power(norm, -2 * e, 0))
            return self.positive_power(norm, 2 * e, 0)
        if e is not None and e < 0:
            den = self.positive_power(self.lift(base), -e, n.rank)
            return ast.Binary("./" if n.rank else "/", ast.Num(1.0), den)
        if e is None or n.args[1].op != "const":
            b, x = n.args
            scalar = _broadcast_scalar(b) if x.rank else None
            if scalar is not None:               # 2.^x rather than (2*ones(n)).^x
                return ast.Binary(".^", self.lift(scalar), self.lift(x))
            return ast.Binary(".^" if n.rank else "^", self.lift(b), self.lift(x))
        return self.positive_power(self.lift(base), e, n.rank)

    def positive_power(self, b: ast.Node, e: float, rank: int,
                       node: Node | None = None) -> ast.Node:
        if node is not None:
            v = _sum_of_squares(node)
            if v is not None:
                return self.positive_power(ast.Call("norm2", (self.lift(v),)), 2 * e, 0)
        if e == 1:
            return b
        if e == 0.5:
            return ast.Call("sqrt", (b,))
        return ast.Binary(".^" if rank else "^", b, ast.Num(e))

    def add(self, n: Node) -> ast.Node:
        parts = [coef_and_base(t) for t in n.args]
        spread = [_broadcast_scalar(b) for _, b in parts]
        mixed = any(x is None for x in spread)     # `s + 1` spreads the 1; alone it cannot
        shown_as = self._expansions(parts, spread)
        # each term as (coefficient, base, written form); a number or a sign in front of
        # the written form joins the coefficient (`2*(0.5*X)` is `X`, `+ -X` is `- X`)
        terms: list[tuple[float, Node | ast.Node, ast.Node | None]] = []
        for (c, base), scalar, vec in zip(parts, spread, shown_as):
            shown = scalar if mixed and scalar is not None else base
            if shown.op == "const":
                terms.append((c * shown.value, base, None))
            else:
                k, body = split_number(vec if vec is not None else self.lift(shown))
                terms.append((c * k, base if vec is None else vec, body))
        mags = {abs(c) for c, _, _ in terms}
        common = mags.pop() if len(mags) == 1 else 1.0
        if common != 1:
            terms = [(c / common, b, body) for c, b, body in terms]
        # positive terms first, larger ones first, a transpose counting against:
        # `u'*v + b`, `X*w + b - y`, `A + A'`
        terms.sort(key=lambda t: (t[0] < 0, self._order_key(t[1])))
        acc: ast.Node | None = None
        for c, _, shown_ast in terms:
            body = num(abs(c)) if shown_ast is None else self.mul(num(abs(c)), shown_ast)
            if acc is None:
                acc = ast.Neg(body) if c < 0 else body
            else:
                acc = ast.Binary("-" if c < 0 else "+", acc, body)
        assert acc is not None
        if common != 1:
            acc = self.mul(ast.Num(common), acc)
        return acc


def _expanded(n: Node) -> tuple[Node, int] | None:
    """For a vector spread over a matrix (ones(n)[i]*c[j] -> [i,j], an einsum with a ones
    factor that alone carries one of the result's labels): the vector, and the axis it is
    spread along (0: a row spread over the rows)."""
    if n.op != "einsum" or n.rank != 2:
        return None
    coef, idxs, out = n.params
    for k, (a, ix) in enumerate(zip(n.args, idxs)):
        if a.op == "ones" and len(ix) == 1 and ix[0] in out \
                and not any(ix[0] in jx for j, jx in enumerate(idxs) if j != k):
            rest = [j for j in range(len(idxs)) if j != k]
            kept = tuple(lab for lab in out if lab != ix[0])
            if not any(kept[0] in idxs[j] for j in rest):
                return None
            vec = ir_einsum([n.args[j] for j in rest], [idxs[j] for j in rest], kept, coef)
            return vec, out.index(ix[0])
    return None


def _sum_of_squares(n: Node) -> Node | None:
    """x for an einsum x[I]*x[I] -> [] (so its square root prints as norm2(x))."""
    if n.op != "einsum" or len(n.args) != 2 or n.args[0] is not n.args[1]:
        return None
    coef, idxs, out = n.params
    if coef != 1 or out or idxs[0] != idxs[1] or len(set(idxs[0])) != len(idxs[0]):
        return None
    return n.args[0]


def _unspread_scalar(args: tuple[Node, ...]) -> tuple[Node, ...]:
    """The arguments of max(a, b) or min(a, b) with a spread scalar written as the scalar
    (`max(u, 0)`, `min(r, delta)`: the language spreads it back beside the other); where
    both are spread, the call keeps the shape (one stays spread)."""
    if len(args) != 2 or not args[0].rank:
        return args
    scalars = [const(0.0) if a.op == "zero" else _broadcast_scalar(a) for a in args]
    if (scalars[0] is None) == (scalars[1] is None):
        return args
    return tuple(a if s is None else s for a, s in zip(args, scalars))


def _broadcast_scalar(n: Node) -> Node | None:
    """For a scalar spread over a shape (ones(n), b*ones(m,k)): the scalar."""
    if n.op == "ones":
        return const(1.0)
    if n.op != "einsum" or n.rank == 0:
        return None
    coef, idxs, out = n.params
    outs = set(out)
    # the result's axes come from ones alone (u'*v spread by ones(m)*ones(n)': u'*v)
    if any(a.op != "ones" and outs & set(ix) for a, ix in zip(n.args, idxs)):
        return None
    # the scalar factors, and the ones summed over (each counts its dimension: sum(ones(k)))
    parts = [(a, ix) for a, ix in zip(n.args, idxs) if not ix or not set(ix) <= outs]
    if not parts:
        return const(coef)
    return ir_einsum([a for a, _ in parts], [ix for _, ix in parts], (), coef)


def _size(n: Node) -> ast.Node | None:
    """A block's number of entries (a dimension used as a value, a mean's divisor), as
    sum(ones(m))*sum(ones(n)): printers/powers.py writes `m*n` where m and n read back as
    dimensions."""
    coef, idxs, out = n.params
    if out or coef != 1 or not all(a.op == "ones" for a in n.args) \
            or len({lab for ix in idxs for lab in ix}) != len(n.args):
        return None
    acc: ast.Node | None = None
    for a in n.args:
        d = ast.Call("sum", (ast.Call("ones", (dim_ast(a.shape[0]),)),))
        acc = d if acc is None else ast.Binary("*", acc, d)
    return acc


def to_matrix_form(root: Node) -> ast.Node:
    """The IR as a surface AST in matrix notation, or NoMatrixForm."""
    return Raiser(root).lift(root)
