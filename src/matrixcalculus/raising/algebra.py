"""AST algebra in matrix notation: each simplification of a product or a transpose is one
named row, applied by one small driver (SymPy's matmul.py: `rules = (...)`).

A product row is `rewrite(alg, a, b, shape of a, shape of b)`, returning the product or
None where it does not apply; a transpose row is `rewrite(alg, a, shape of a)`.  The first
row that applies wins, so a row may assume the ones above it did not.  A row names the AST
types it can apply to (None: any); the driver tries only those rows (a product of two names
tries none: the raiser builds many)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from .. import ast
from ..ir.nodes import Node
from ..ops import row
from ..printers.text import ByIdentity, Measure
from .expansion import as_reduced, reduced, transposes_apart, unspread
from .pieces import COLUMN, MATRIX, ROW, SCALAR, Shape, is_ones, num


class Rule(NamedTuple):
    name: str
    rewrite: Callable[..., ast.Node | None]
    left: tuple[type, ...] | None = None       # the types of a (of the transposed AST)
    right: tuple[type, ...] | None = None      # the types of b (products)
    shapes: bool = True                        # reads the shapes (else given None)


class Rules:
    """A table of rows, and which of them can apply to ASTs of given types (in order, as
    (rewrite, reads shapes); found once per pair of types, in by_types)."""

    def __init__(self, *rows: Rule):
        self.rows = rows
        self.by_types: dict[tuple, tuple] = {}

    def for_types(self, key: tuple[type, type | None]) -> tuple:
        ta, tb = key
        got: list[tuple] = []
        for r in self.rows:
            if (r.left is None or ta in r.left) and (r.right is None or tb in r.right) \
                    and not (got and got[-1][0] is r.rewrite):   # one try of a rewrite
                got.append((r.rewrite, r.shapes))
        self.by_types[key] = out = tuple(got)
        return out


_NUMBERED = (ast.Num, ast.Binary)        # what may hold a leading number


def leading_number(a: ast.Node) -> tuple[float, ast.Node | None]:
    """2 -> (2, None); 2*X -> (2, X); anything else -> (1, itself)."""
    if isinstance(a, ast.Num):
        return a.value, None
    if isinstance(a, ast.Binary) and a.op == "*" and isinstance(a.left, ast.Num):
        return a.left.value, a.right
    return 1.0, a


def split_number(a: ast.Node) -> tuple[float, ast.Node]:
    """2*X -> (2, X); -X -> (-1, X)."""
    c = 1.0
    while True:
        if isinstance(a, ast.Neg):
            c, a = -c, a.operand
        elif isinstance(a, ast.Binary) and a.op == "*" and isinstance(a.left, ast.Num):
            c, a = c * a.left.value, a.right
        else:
            return c, a


# ------------------------------------------------------------------ products
def _fold_numbers(alg: Algebra, a: ast.Node, b: ast.Node, sa: Shape, sb: Shape):
    # numbers go in front, folded into one: `A'*(8*A)` is `8*A'*A`, `2*(0.5*X)` is `X`
    ca, ra = leading_number(a)
    cb, rb = leading_number(b)
    if ra is a and rb is b:
        return None
    c = ca * cb
    if ra is None and rb is None:
        return num(c)
    rest = rb if ra is None else (ra if rb is None else alg.product(ra, rb))
    return rest if c == 1 else alg.product(ast.Num(c), rest)


def _one_left(alg, a, b, sa, sb):
    return b if isinstance(a, ast.Num) and a.value == 1 else None


def _one_right(alg, a, b, sa, sb):
    return a if isinstance(b, ast.Num) and b.value == 1 else None


def _eye_left(alg, a, b, sa, sb):
    return b if isinstance(a, ast.Call) and a.func == "eye" and sb != SCALAR else None


def _eye_right(alg, a, b, sa, sb):
    return a if isinstance(b, ast.Call) and b.func == "eye" and sa != SCALAR else None


def _total(v: ast.Node) -> ast.Node:
    """sum(v) of a column; of an axis sum, sum(sum(X, 2)) is sum(X)."""
    if isinstance(v, ast.Call) and v.func == "sum" and len(v.args) == 2:
        return ast.Call("sum", (v.args[0],))
    return ast.Call("sum", (v,))


def _sum_left(alg, a, b, sa, sb):
    if isinstance(a, ast.Transpose) and alg.shape(a.operand) == COLUMN and is_ones(b):
        return _total(a.operand)
    return None


def _row_sum_total(alg, a, b, sa, sb):
    if isinstance(a, ast.Call) and a.func == "sum" and len(a.args) == 2 and is_ones(b) \
            and sa == (False, True):
        return ast.Call("sum", (a.args[0],))
    return None


def _sum_right(alg, a, b, sa, sb):
    if isinstance(a, ast.Transpose) and is_ones(a.operand) and sb == COLUMN:
        return _total(b)
    return None


def _sum_along_rows(alg, a, b, sa, sb):
    # X*ones(n) is sum(X, 2) (an axis-reduced column, which may expand); X'*ones(m) is
    # sum(X, 1)', the row of column sums as a column
    if sa == MATRIX and is_ones(b):
        if isinstance(a, ast.Transpose):
            return ast.Transpose(ast.Call("sum", (a.operand, ast.Num(1))))
        return ast.Call("sum", (a, ast.Num(2)))
    return None


def _sum_down_columns(alg, a, b, sa, sb):
    # ones(m)'*X is sum(X, 1), the row of column sums
    if isinstance(a, ast.Transpose) and is_ones(a.operand) and sb == MATRIX:
        return ast.Call("sum", (b, ast.Num(1)))
    return None


def _scalars_together(alg, a, b, sa, sb):
    if sb != SCALAR and sa == SCALAR and isinstance(b, ast.Binary) and b.op == "*" \
            and alg.shape(b.left) == SCALAR:
        return ast.Binary("*", alg.mul(a, b.left), b.right)
    return None


def _scalar_into_elementwise(alg, a, b, sa, sb):
    # s*(a.*b) = (s*a).*b (and ./, /), which prints without parentheses: 2*x./(1 + x.^2)
    if sa == SCALAR and isinstance(b, ast.Binary) and b.op in (".*", "./", "/"):
        return ast.Binary(b.op, alg.mul(a, b.left), b.right)
    return None


def _left_chain(alg, a, b, sa, sb):
    # the chain is read left to right; regrouped only where the shapes keep the meaning
    if isinstance(b, ast.Binary) and b.op == "*":
        s1 = alg.shape(b.left)
        if sa == SCALAR or s1 == SCALAR or sa[1] == s1[0]:
            return ast.Binary("*", alg.mul(a, b.left), b.right)
    return None


PRODUCT_ROWS = Rules(
    Rule("1*b -> b", _one_left, left=(ast.Num,)),
    Rule("a*1 -> a", _one_right, right=(ast.Num,)),
    Rule("eye*B -> B", _eye_left, left=(ast.Call,)),
    Rule("A*eye -> A", _eye_right, right=(ast.Call,)),
    Rule("v'*ones -> sum(v)", _sum_left, left=(ast.Transpose,), right=(ast.Call,)),
    Rule("ones'*v -> sum(v)", _sum_right, left=(ast.Transpose,)),
    Rule("sum(X, 1)*ones -> sum(X)", _row_sum_total, left=(ast.Call,), right=(ast.Call,)),
    Rule("X*ones -> sum(X, 2)", _sum_along_rows, right=(ast.Call,)),
    Rule("ones'*X -> sum(X, 1)", _sum_down_columns, left=(ast.Transpose,)),
    Rule("s*(t*X) -> s*t*X", _scalars_together, right=(ast.Binary,)),
    Rule("s*(a.*b) -> s*a.*b", _scalar_into_elementwise, right=(ast.Binary,)),
    Rule("a*(b*c) -> a*b*c", _left_chain, right=(ast.Binary,)),
)
MUL_ROWS = Rules(          # a number on either side: both sides folded at once
    Rule("2*X*(3*Y) -> 6*X*Y", _fold_numbers, left=_NUMBERED, shapes=False),
    Rule("X*(3*Y) -> 3*X*Y", _fold_numbers, right=_NUMBERED, shapes=False),
    *PRODUCT_ROWS.rows,
)


# ------------------------------------------------------------------ transposes
def _scalar(alg: Algebra, a: ast.Node, s: Shape):
    return a if s == SCALAR else None


def _double(alg, a, s):
    return a.operand if isinstance(a, ast.Transpose) else None


def _symmetric(alg, a, s):
    sym = isinstance(a, ast.Name) and a.name in alg.symmetric or id(a) in alg.sym_ids
    return a if sym else None


def _eye_or_diag(alg, a, s):
    if isinstance(a, ast.Call) and (a.func == "eye" or a.func == "diag" and s == MATRIX):
        return a
    return None


def _ones(alg, a, s):
    if isinstance(a, ast.Call) and a.func == "ones" and len(a.args) == 2:
        return ast.Call("ones", (a.args[1], a.args[0]))
    return None


def _inv_symmetric(alg, a, s):
    if isinstance(a, ast.Call) and a.func == "inv" and alg.is_symmetric(a.args[0]):
        return a
    return None


def _neg(alg, a, s):
    return ast.Neg(alg.T(a.operand)) if isinstance(a, ast.Neg) else None


def _product(alg, a, s):
    if not (isinstance(a, ast.Binary) and a.op == "*"):
        return None
    ls, rs = alg.shape(a.left), alg.shape(a.right)
    if ls == SCALAR:
        return alg.mul(a.left, alg.T(a.right))
    if rs == SCALAR:
        return alg.mul(alg.T(a.left), a.right)
    return alg.mul(alg.T(a.right), alg.T(a.left))


def _elementwise(alg, a, s):
    if isinstance(a, ast.Binary) and a.op in ("+", "-", ".*", "./") \
            and transposes_apart(alg, a.left, a.right):
        left, right = alg.T(a.left), alg.T(a.right)
        # beside a matrix, ones(m)*r (r a row) is the expansion of r: `A - p'*A`
        if alg.shape(left) == MATRIX:
            right = unspread(alg, right) or right
        if alg.shape(right) == MATRIX:
            left = unspread(alg, left) or left
        return ast.Binary(a.op, left, right)
    return None


def _by_scalar(alg, a, s):
    if isinstance(a, ast.Binary) and (a.op == "/" or a.op == ".^"
                                      and alg.shape(a.right) == SCALAR):
        return ast.Binary(a.op, alg.T(a.left), a.right)
    return None


def _power(alg, a, s):
    if isinstance(a, ast.Binary) and a.op == ".^":
        return ast.Binary(a.op, alg.T(a.left), alg.T(a.right))
    return None


TRANSPOSE_ROWS = Rules(       # the transpose is exactly this
    Rule("s' -> s", _scalar),
    Rule("(A')' -> A", _double, left=(ast.Transpose,)),
    Rule("S' -> S", _symmetric),
    Rule("eye' -> eye, diag(v)' -> diag(v)", _eye_or_diag, left=(ast.Call,)),
    Rule("ones(m,n)' -> ones(n,m)", _ones, left=(ast.Call,)),
    Rule("inv(S)' -> inv(S)", _inv_symmetric, left=(ast.Call,)),
)
PUSH_ROWS = Rules(            # taken where shorter than (...)'
    Rule("(-A)' -> -A'", _neg, left=(ast.Neg,)),
    Rule("(A*B)' -> B'*A'", _product, left=(ast.Binary,)),
    Rule("(A + B)' -> A' + B'", _elementwise, left=(ast.Binary,)),
    Rule("(A/s)' -> A'/s, (A.^s)' -> A'.^s", _by_scalar, left=(ast.Binary,)),
    Rule("(X.^Y)' -> X'.^Y'", _power, left=(ast.Binary,)),
)


class Algebra:
    """Shapes, products and transposes of ASTs, remembered per AST node (one instance per
    raiser: its ASTs share their parts)."""

    def __init__(self):
        self.var_shape: dict[str, Shape] = {}
        self.symmetric: set[str] = set()
        self.sym_ids: set[int] = set()     # ids of raised ASTs of symmetric matrices
        self.shape = ByIdentity(self._shape)
        self.T = ByIdentity(self._transpose)
        self.reduced = ByIdentity(partial(reduced, self))
        self.measure = Measure()
        self.entrywise: dict = {}      # combine._entrywise's chains, both ways (see there)

    def register(self, n: Node) -> None:
        """A variable's shape and symmetry."""
        name, sym = n.name, n.symmetric
        if n.rank > 2:          # a tensor: only einsum text holds it (raising/tensors.py)
            return
        self.var_shape[name] = [SCALAR, COLUMN, MATRIX][n.rank]
        if sym:
            self.symmetric.add(name)

    def is_symmetric(self, a: ast.Node) -> bool:
        return isinstance(a, ast.Name) and a.name in self.symmetric

    def mul(self, a: ast.Node, b: ast.Node) -> ast.Node:
        """a*b, written as a left-to-right chain where that keeps the meaning."""
        return self._apply(MUL_ROWS, a, b)

    def product(self, a: ast.Node, b: ast.Node) -> ast.Node:
        """a*b by the rows after number folding."""
        return self._apply(PRODUCT_ROWS, a, b)

    def _apply(self, rows: Rules, a: ast.Node, b: ast.Node) -> ast.Node:
        key = (type(a), type(b))
        rewrites = rows.by_types.get(key)
        if rewrites is None:
            rewrites = rows.for_types(key)
        sa = sb = None
        for rewrite, shapes in rewrites:
            if shapes and sa is None:
                sa, sb = self.shape(a), self.shape(b)
            got = rewrite(self, a, b, sa, sb)
            if got is not None:
                return got
        return ast.Binary("*", a, b)

    def _transpose(self, a: ast.Node) -> ast.Node:
        """The transpose of a, pushed inwards where that is shorter (self.T, memoised)."""
        s = self.shape(a)
        key = (type(a), None)
        exact = TRANSPOSE_ROWS.by_types.get(key)
        for rewrite, _ in exact if exact is not None else TRANSPOSE_ROWS.for_types(key):
            got = rewrite(self, a, s)
            if got is not None:
                return got
        plain = ast.Transpose(a)
        push = PUSH_ROWS.by_types.get(key)
        for rewrite, _ in push if push is not None else PUSH_ROWS.for_types(key):
            alt = rewrite(self, a, s)
            if alt is not None:     # a pushed sum (`x' - y'`) is a factor in parentheses
                # where (...)' needs none: a token more, so `(x - y)'*M` stays
                t, c = self.measure(alt)
                k = isinstance(alt, ast.Binary) and alt.op in ("+", "-")
                return alt if (t + k, c + 2 * k) < self.measure(plain) else plain
        return plain

    def as_reduced(self, a: ast.Node) -> ast.Node | None:
        return as_reduced(self, a)

    def _shape(self, a: ast.Node) -> Shape:
        if isinstance(a, ast.Num):
            return SCALAR
        if isinstance(a, ast.Name):
            return self.var_shape.get(a.name, SCALAR)
        if isinstance(a, ast.Neg):
            return self.shape(a.operand)
        if isinstance(a, ast.Transpose):
            r, c = self.shape(a.operand)
            return (c, r)
        if isinstance(a, ast.Binary):
            ls, rs = self.shape(a.left), self.shape(a.right)
            if a.op == "*":
                if ls == SCALAR:
                    return rs
                if rs == SCALAR:
                    return ls
                return (ls[0], rs[1])
            if a.op in ("^",):
                return SCALAR
            if a.op == "/":
                return ls
            # .^ too (2.^x has the shape of x); a row or a column beside a matrix expands
            return (ls[0] or rs[0], ls[1] or rs[1])
        if isinstance(a, ast.Call):
            f = a.func
            if f == "ones":
                return COLUMN if len(a.args) == 1 else MATRIX
            if f == "eye":
                return MATRIX
            if f == "einsum":       # its output term's order (a tensor only inside one)
                out = a.args[0].text.split("->")[1]
                return (SCALAR, COLUMN, MATRIX)[min(len(out), 2)]
            typing = row(f).typing
            if len(a.args) == 2 and row(f).along is not None:   # sum(X, 1) is a row
                if typing != "scalar":
                    return self.shape(a.args[0])
                k = a.args[1]
                return ROW if isinstance(k, ast.Num) and k.value == 1 else COLUMN
            if typing in ("scalar", "square->scalar"):       # reductions: the rows say so
                return SCALAR
            if typing == "elementwise2":            # max(0, u): the shape of the one spread
                return next((s for s in map(self.shape, a.args) if s != SCALAR), SCALAR)
            s = self.shape(a.args[0])
            if typing == "diag":
                return MATRIX if s in (COLUMN, ROW) else (COLUMN if s == MATRIX else s)
            return s
        raise TypeError(type(a).__name__)
