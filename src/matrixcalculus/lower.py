"""Typed surface AST -> tensor IR.

A Matlab-like type (rows, cols) becomes an IR shape without its 1s: a row and
a column vector are both rank 1, and `*` becomes the index pattern it means
(matrix product, inner or outer product, or a scalar product).
"""

from __future__ import annotations

import math

from . import ast
from .errors import ParseError
from .ir import build as B
from .ir import functions as F
from .ir.nodes import Node
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
        return self.t.shape(t)

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
            lt, rt = self.t.type_of(n.left), self.t.type_of(n.right)
            lr, lc = self.axes(lt)
            rr, rc = self.axes(rt)
            ia = ([0] if lr else []) + ([1] if lc else [])
            ib = ([1] if rr else []) + ([2] if rc else [])
            out = ([0] if lr else []) + ([2] if rc else [])
            return B.einsum([a, b], [ia, ib], out)
        raise ParseError(f"unknown operator {op}", self.t.source, n.pos, n.end)

    def call(self, n: ast.Call) -> Node:
        r = row(n.func)
        shape = self.shape(self.t.type_of(n))
        if r.typing == "dims":      # ones(m, n), eye(n): the arguments are dimensions
            return r.lower(*n.args, shape=shape)
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


def matrix_power(x: Node, k: int) -> Node:
    """X^k (Matlab): X*X*...*X, X^0 = eye, X^-k = inv(X)^k, as one chain of products."""
    if k == 0:
        return B.delta(x.shape[0])
    base = F.inv(x) if k < 0 else x
    out = base
    for _ in range(abs(k) - 1):
        out = B.einsum([out, base], [[0, 1], [1, 2]], [0, 2])
    return out
