"""Typed surface AST -> tensor IR.

A Matlab-like type (rows, cols) becomes an IR shape without its 1s: a row and
a column vector are both rank 1, and `*` becomes the index pattern it means
(matrix product, inner or outer product, or a scalar product).
"""

from __future__ import annotations

import math

from . import ast
from .errors import ParseError, ShapeError, UnsupportedDerivativeError
from .ir import build as B
from .ir import functions as F
from .ir import kron as K
from .ir.nodes import Node
from .language.dims import product_text
from .language.einsum import parse_subscripts
from .language.source import literal_int
from .language.typecheck import Type, Typed
from .ops import row


def lower(typed: Typed) -> tuple[Node, dict[str, Node]]:
    """The expression as IR, and the IR node of every variable."""
    low = _Lowering(typed)
    return low.run(), low.vars


def where_names(typed: Typed) -> dict[Node, str]:
    """The IR node each of the person's where-names stands for (hash-consed: the same
    nodes as in the expression's IR), for answers to keep those names; not a row's
    (`r = x'*A`): answers write a vector as a column, and r would change its meaning."""
    low = _Lowering(typed)
    low.run()
    one = typed.dims.is_one
    rows = {name for name, expr in typed.bindings.items()
            if one(typed.type_of(expr)[0]) and not one(typed.type_of(expr)[1])}
    return {n: name for name, n in low.env.items() if name not in rows}


class _Lowering:
    def __init__(self, typed: Typed):
        self.t = typed
        self.env: dict[str, Node] = {}
        self.vars: dict[str, Node] = {}
        for v in typed.variables.values():
            # the IR reads one fact, a simplex's sums (ir/facts.py), and not for a variable
            # differentiated by; spd is symmetric there (answers print as for symmetric(n))
            fact = v.fact if v.fact == "simplex" and v.name not in typed.differentiated else ""
            self.vars[v.name] = B.var(v.name, self.shape(v.type), v.kind == "symmetric", fact)

    def shape(self, t: Type) -> tuple:
        return self.t.ir_shape(t)

    def grouped(self, n: ast.Node) -> bool:
        """Whether n's type has a product dimension (a group of IR axes, ir/kron.py)."""
        return any(len(g) > 1 for g in self.t.groups(self.t.type_of(n)))

    def paired(self, n: ast.Node, a: tuple, b: tuple, what: str) -> None:
        """Two groups of axes that pair factor by factor; p*n against n*p would need a
        commutation matrix, which is not built: an error, never a wrong pairing."""
        if a != b:
            a_, b_ = (product_text(x) for x in (a, b))
            raise ShapeError(f"{what}: {a_} and {b_} are the same size but their product "
                             "dimensions' factors come in "
                             "another order; pairing them needs a commutation matrix, which "
                             "is not built (write the factors in one order, e.g. "
                             "kron(B, A) for kron(A, B))", self.t.source, n.pos, n.end)

    def axes(self, t: Type) -> list[bool]:
        """Which of (rows, cols), or a tensor's axes, are real axes (not 1)."""
        return [not self.t.dims.is_one(d) for d in t]

    def run(self) -> Node:
        root = self.t.root
        if isinstance(root, ast.Where):
            for name, expr in root.bindings:
                self.env[name] = self.lower(expr)
            return self.lower(root.body)
        return self.lower(root)

    def lower(self, n: ast.Node) -> Node:
        if isinstance(n, ast.Num):
            return B.const(n.value)
        if isinstance(n, ast.Name):
            if n.name in self.env:
                return self.env[n.name]
            what = self.t.constants.get(n.name)
            if what == "pi":
                return B.symbol("pi", math.pi)
            if what == "dimension":          # a dimension's size: sum(ones(n))
                return B.einsum([B.ones(n.name)], [[0]], [])
            return self.vars[n.name]
        if isinstance(n, ast.Neg):
            return B.neg(self.lower(n.operand))
        if isinstance(n, ast.Transpose):
            if self.grouped(n.operand):
                rows, _ = self.t.groups(self.t.type_of(n.operand))
                return K.swap(self.lower(n.operand), len(rows))
            return F.transpose(self.lower(n.operand))
        if isinstance(n, ast.Binary):
            return self.binary(n)
        if isinstance(n, ast.Call):
            return self.call(n)
        raise ParseError(f"unexpected {type(n).__name__}", self.t.source, n.pos, n.end)

    def expand(self, x: Node, t: Type, to: Type) -> Node:
        """x, of type t, spread over the axes of `to` it lacks: a scalar over anything, a
        row over a matrix's rows, an axis-reduced column over its columns (Expansion)."""
        have, want = self.axes(t), self.axes(to)
        if have == want:
            return x
        dims = self.t.dims
        every = range(len(to))
        mine = tuple(i for i in every if have[i])
        missing = [i for i in every if want[i] and not have[i]]
        if any(len(g) > 1 for g in self.t.groups(t)) or \
                any(len(self.t.groups(to)[i]) > 1 for i in missing):
            raise UnsupportedDerivativeError("expanding over a product dimension (kron, vec) "
                                             "is not built")
        spread = [B.ones(dims.label(to[i])) for i in missing]
        return B.einsum([x, *spread], [mine, *((i,) for i in missing)],
                        tuple(i for i in every if want[i]))

    def operands(self, n: ast.Node, sides: tuple[ast.Node, ...]) -> list[Node]:
        """The IR of elementwise operands, each expanded to the result's shape."""
        to = self.t.type_of(n)
        out = []
        for a in sides:
            x, t = self.lower(a), self.t.type_of(a)
            # a scalar stays one (`x.^2`, `2*X`): the node rules spread it themselves
            out.append(x if x.rank == 0 else self.expand(x, t, to))
        return out

    def binary(self, n: ast.Binary) -> Node:
        op = n.op
        if op in ("+", "-", ".*", "./", ".^"):
            a, b = self.operands(n, (n.left, n.right))
        else:
            a, b = self.lower(n.left), self.lower(n.right)
        if op in ("+", "-", ".*", "./", ".^") and a.rank and b.rank and a.shape != b.shape \
                and (self.grouped(n.left) or self.grouped(n.right)):
            lt, rt = (self.t.describe(self.t.type_of(x)) for x in (n.left, n.right))
            self.paired(n, (lt,), (rt,), f"'{op}'")
        if op in ("+", "-"):
            shape = self.shape(self.t.type_of(n))
            a, b = B.broadcast(a, shape), B.broadcast(b, shape)
            return B.add([a, b]) if op == "+" else B.sub(a, b)
        if op == ".*":
            return F.hadamard(a, b)
        if op == "./":
            return F.hadamard(a, F.recip(b))
        if op == "/":
            return F.hadamard(a, F.recip(b))
        if op == "^" and a.rank == 2:
            return matrix_power(a, literal_int(n.right))
        if op in ("^", ".^"):
            return B.power(a, b)
        if op == "*":
            if a.rank == 0 or b.rank == 0:
                return F.hadamard(a, b)
            # (r1, c1) * (r2, c2) with c1 = r2: label rows 0, inner 1, cols 2
            # a product dimension is a group of axes, paired factor by factor
            lr, lc = self.t.groups(self.t.type_of(n.left))
            rr, rc = self.t.groups(self.t.type_of(n.right))
            if lc and rr:
                self.paired(n, lc, rr, "'*'")
            rows = list(range(len(lr)))
            inner = list(range(len(lr), len(lr) + len(lc or rr)))
            cols = list(range(len(lr) + len(inner), len(lr) + len(inner) + len(rc)))
            ia = rows + (inner if lc else [])
            ib = (inner if rr else []) + cols
            return B.einsum([a, b], [ia, ib], rows + cols)
        raise ParseError(f"unknown operator {op}", self.t.source, n.pos, n.end)

    def call(self, n: ast.Call) -> Node:
        r = row(n.func)
        shape = self.shape(self.t.type_of(n))
        if r.typing == "dims":      # ones(m, n), eye(n): the arguments are dimensions
            return r.lower(*n.args, shape=shape)
        if r.typing in ("kron", "vec"):   # how many IR axes of each argument are rows
            rows = tuple(len(self.t.groups(self.t.type_of(a))[0]) for a in n.args)
            return r.lower(*(self.lower(a) for a in n.args), shape=shape, rows=rows)
        if any(self.grouped(a) for a in n.args):
            return self.grouped_call(n, r)
        if r.along is not None and len(n.args) == 2:     # f(X, k): k = 1 rows, 2 columns
            x, k = n.args
            axis = sum(self.axes(self.t.type_of(x))[:literal_int(k) - 1])
            return r.along(self.lower(x), axis)
        if r.typing == "einsum":
            sub = parse_subscripts(n.args[0], self.t.source)
            return r.lower([t.labels for t in sub.inputs], sub.output.labels,
                           *(self.lower(a) for a in n.args[1:]))
        if r.typing == "elementwise2":                    # max(X, b'): expanded
            return r.lower(*self.operands(n, n.args), shape=shape)
        return r.lower(*(self.lower(a) for a in n.args), shape=shape)


    def grouped_call(self, n: ast.Call, r) -> Node:
        """A call on an argument over product dimensions: elementwise functions and
        reductions over all entries as they are; tr, inv, det and logdet pair the row and
        column groups factor by factor (ir/kron.py); the rest is not built."""
        shape = self.shape(self.t.type_of(n))
        if r.typing in ("elementwise", "elementwise2") or \
                (r.typing == "scalar" and len(n.args) == 1 and r.name != "logsumexp"):
            args = [self.lower(a) for a in n.args]
            if len(args) == 2 and args[0].rank and args[1].rank:
                self.paired(n, args[0].shape, args[1].shape, r.name)
            return r.lower(*args, shape=shape)
        built = {"tr": K.trace, "inv": K.inv, "det": K.det, "logdet": K.logdet}
        if r.name not in built or len(n.args) != 1:
            raise UnsupportedDerivativeError(
                f"{r.name} of an argument over a product dimension (kron, vec) is not built",
                self.t.source, n.pos, n.end)
        rows, cols = self.t.groups(self.t.type_of(n.args[0]))
        self.paired(n, rows, cols, r.name)
        try:
            return built[r.name](self.lower(n.args[0]), len(rows))
        except UnsupportedDerivativeError as e:      # point at the call
            raise UnsupportedDerivativeError(e.message, self.t.source, n.pos, n.end) from None


def matrix_power(x: Node, k: int) -> Node:
    """X^k (Matlab): X*X*...*X, X^0 = eye, X^-k = inv(X)^k, as one chain of products."""
    if k == 0:
        return B.delta(x.shape[0])
    base = F.inv(x) if k < 0 else x
    out = base
    for _ in range(abs(k) - 1):
        out = B.einsum([out, base], [[0, 1], [1, 2]], [0, 2])
    return out
