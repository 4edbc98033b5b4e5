"""Shape inference over the surface AST with symbolic dimensions.

Every value has a Matlab-like type (rows, cols): a scalar is (1, 1), a vector
(n, 1), a row vector (1, n).  Results: a type for every node, and the
variables with their kinds and dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import ast
from ..errors import DeclarationError, ParseError
from ..ops import ALL
from .axes import AxisRules
from .declarations import Declaration, default_kind
from .dims import DimTable, dim_factors, factor_names, is_product
from .source import binding_name_pos, first_name, names_in, short
from .tensors import TensorRules
from .typing_rules import CallRules, OperatorRules, Type

__all__ = ["Type", "Typed", "Variable", "check_kinds"]


@dataclass
class Variable:
    name: str
    kind: str                 # scalar / vector / matrix / symmetric (after inference)
    type: Type
    declared: bool
    used: bool = False
    origin: str = "declared"   # declared / use / a loss is a scalar / spelling (inference.py)
    fact: str = ""            # a declared spd / simplex: the fact besides the kind


@dataclass
class Typed:
    """The result of type checking one expression."""

    root: ast.Node
    source: str
    dims: DimTable
    variables: dict[str, Variable]
    types: dict[int, Type] = field(default_factory=dict)      # id(node) -> type
    bindings: dict[str, ast.Node] = field(default_factory=dict)
    # names that are not variables: a dimension's size, or the constant pi
    constants: dict[str, str] = field(default_factory=dict)    # name -> "dimension" | "pi"
    notes: list[str] = field(default_factory=list)
    spread_events: list = field(default_factory=list)   # see _Checker.__init__
    spread_scalars: list[str] = field(default_factory=list)
    reduced_scalars: list[str] = field(default_factory=list)  # names in sum(scalar) etc.
    factors: set[str] = field(default_factory=set)            # names that are `*` factors
    # (name, how): an undeclared scalar where a vector would fit as well, `X*beta` (how:
    # "multiplying the matrix X"), `sigma.*z` ("multiplying z elementwise")
    scaled: list[tuple[str, str]] = field(default_factory=list)
    # ids of the AST nodes that are axis-reduced columns (language/axes.py): they expand
    reduced_columns: set[int] = field(default_factory=set)
    # variables differentiated by (derivation.front): their IR nodes carry no simplex fact,
    # so their derivative is the unconstrained one of the expression as written
    differentiated: set[str] = field(default_factory=set)

    def type_of(self, node: ast.Node) -> Type:
        return self.types[id(node)]

    # --- views of a type
    def is_scalar(self, t: Type) -> bool:
        return all(self.dims.is_one(d) for d in t)

    def shape(self, t: Type) -> tuple[str | int, ...]:
        """The NumPy-style shape: () scalar, (n,) vector (row or column), (m, n) matrix."""
        return tuple(self.dims.label(d) for d in t if not self.dims.is_one(d))

    def groups(self, t: Type) -> tuple[tuple[str | int, ...], ...]:
        """The IR axes of each axis (rows, columns, ...): one per factor of a product
        dimension, major first (ir/kron.py); () for a 1."""
        return tuple(() if self.dims.is_one(d) else
                     tuple(self.dims.label(f) for f in self.dims.factors(d)) for d in t)

    def ir_shape(self, t: Type) -> tuple[str | int, ...]:
        """The IR's shape: shape() with each product dimension split into its factors."""
        return sum(self.groups(t), ())

    def describe(self, t: Type) -> str:
        if len(t) > 2:
            return f"a tensor ({' x '.join(str(self.dims.label(d)) for d in t)})"
        r, c = t
        one = self.dims.is_one
        if one(r) and one(c):
            return "a scalar"
        if one(c):
            return f"a vector ({self.dims.label(r)})"
        if one(r):
            return f"a row vector (1 x {self.dims.label(c)})"
        return f"a matrix ({self.dims.label(r)} x {self.dims.label(c)})"

    def variable_kind(self, v: Variable) -> str:
        if v.kind == "symmetric":
            return "symmetric"
        if len(v.type) > 2:
            return "tensor"
        r, c = v.type
        if not v.declared:
            ones = self.dims.is_one(r) + self.dims.is_one(c)
            if ones == 2:
                return "scalar"
            if ones == 1:
                return "vector"
        return v.kind


def check_kinds(root: ast.Node, source: str, declarations: dict[str, Declaration],
                kinds: dict[str, str], constants: dict[str, str]) -> Typed:
    """Type-check under one reading: `kinds` gives each undeclared name's kind (scalar,
    vector or matrix; a name not in it gets its spelling's), `constants` the names that are
    a dimension's size or pi (inference.py chooses both)."""
    return _Checker(root, source, declarations, kinds, constants).run()


class _Checker(OperatorRules, CallRules, AxisRules, TensorRules):
    def __init__(self, root: ast.Node, source: str, decls: dict[str, Declaration],
                 kinds: dict[str, str], constants: dict[str, str]):
        self.root = root
        self.src = source
        self.decls = decls
        self.kinds = kinds
        # what "a loss is a scalar" and the notes need: each scalar spread over a vector or
        # matrix (typing_rules._spread), and scalar-by-spelling names spread by + or -
        self.spread_events: list[tuple[bool, bool, list[str], str | None]] = []
        self.spread_scalars: list[str] = []
        reserved = set(decls) | names_in(root)   # free dimensions never take these names
        for d in decls.values():
            reserved |= set(factor_names(d.dims))
        self.dims = DimTable(reserved)
        self.out = Typed(root, source, self.dims, {}, constants=dict(constants))
        self.env: dict[str, Type] = {}
        self.pending: set[str] = set()     # where-names not defined yet
        # axis-reduced columns (axes.py): ids of their AST nodes, and where-names of them
        self.reduced_columns: set[int] = self.out.reduced_columns
        self.reduced_names: set[str] = set()
        self.defining: str | None = None   # the where-name being checked
        for name, d in decls.items():
            self._declare(name, d)

    # ----------------------------------------------------------- variables
    def _declare(self, name: str, d: Declaration) -> None:
        dm = [self._declared_dim(x) for x in d.dims]
        one = self.dims.one
        kind = d.typed_kind       # spd types as symmetric, simplex as a vector or matrix
        if kind == "scalar":
            t = (one, one)
        elif kind == "vector":
            t = (dm[0], one)
        elif kind == "matrix":
            t = (dm[0], dm[1])
        elif kind == "tensor":
            t = tuple(dm)
        else:  # symmetric
            t = (dm[0], dm[0])
        self.out.variables[name] = Variable(name, kind, t, declared=True, fact=d.fact)

    def _declared_dim(self, x: str | int):
        if isinstance(x, int):
            return self.dims.const(x)
        if is_product(x):                 # a product dimension, m*p
            return self.dims.product([self._declared_dim(f) for f in dim_factors(x)])
        return self.dims.symbol(x)

    def _variable(self, node: ast.Name) -> Type:
        name = node.name
        v = self.out.variables.get(name)
        if v is None:
            kind = self.kinds.get(name) or default_kind(name)
            one = self.dims.one
            if kind == "scalar":
                t = (one, one)
            elif kind == "vector":
                t = (self.dims.fresh(), one)
            elif kind.startswith("tensor"):      # "tensor3": an einsum term's order
                t = tuple(self.dims.fresh() for _ in range(int(kind[6:])))
                kind = "tensor"
            else:
                t = (self.dims.fresh(), self.dims.fresh())
            v = self.out.variables[name] = Variable(name, kind, t, declared=False,
                                                    origin="spelling")
        v.used = True
        return v.type

    # ----------------------------------------------------------- driver
    def run(self) -> Typed:
        root = self.root
        if isinstance(root, ast.Where):
            seen: dict[str, ast.Node] = {}
            self.pending = {name for name, _ in root.bindings}
            for i, (name, expr) in enumerate(root.bindings):
                if name in seen:
                    raise self._binding_err(f"'{name}' is defined twice in the where clause",
                                            root, i)
                if name in ALL or name == "where":
                    what = "a keyword" if name == "where" else "a function name"
                    raise self._binding_err(f"'{name}' is {what} and cannot be defined",
                                            root, i)
                self.defining = name
                self.env[name] = self.check(expr)
                if id(expr) in self.reduced_columns:
                    self.reduced_names.add(name)
                self.pending.discard(name)
                seen[name] = expr
            self.out.bindings = seen
            t = self.check(root.body)
            self.out.types[id(root)] = t
        else:
            self.check(root)
        self._check_dimension_names()
        self.dims.name_free()
        self.out.spread_events, self.out.spread_scalars = self.spread_events, \
            self.spread_scalars
        for v in self.out.variables.values():
            if not v.declared:
                v.kind = self.out.variable_kind(v)
        return self.out

    def _check_dimension_names(self) -> None:
        """A name is a dimension or a variable, not both (`ones(n)` must mean one thing)."""
        for name in self.out.variables:
            if name not in self.dims.symbols or name not in self.decls:
                continue
            owners = [o for o, d in self.decls.items() if name in d.dims]
            of = f" (of {', '.join(owners)})" if owners else ""
            node = first_name(self.root, name)
            msg = f"'{name}' is both a dimension{of} and a variable; rename one of them"
            if node is not None:
                raise DeclarationError(msg, self.src, node.pos, node.end)
            raise DeclarationError(msg)

    def check(self, node: ast.Node) -> Type:
        # iterative-enough: recursion depth is bounded by the parser's depth limit
        t = self._check(node)
        self.out.types[id(node)] = t
        self._mark_reduced(node, t)
        return t

    def _binding_err(self, msg: str, root: ast.Where, i: int) -> ParseError:
        """An error about the i-th where-binding, pointing at its name."""
        name, expr = root.bindings[i]
        pos = binding_name_pos(self.src, root, i)
        if pos is None:
            return self._err(ParseError, msg, expr)
        return ParseError(msg, self.src, pos, pos + len(name))

    def _err(self, cls, msg: str, node: ast.Node):
        self.dims.name_free()
        return cls(msg, self.src, node.pos, node.end)

    def _text(self, node: ast.Node) -> str:
        if node.pos is None:
            return "the expression"
        return short(self.src[node.pos:node.end])

    def _check(self, node: ast.Node) -> Type:
        one = self.dims.one
        if isinstance(node, ast.Num):
            return (one, one)
        if isinstance(node, ast.Name):
            if node.name in self.env:
                return self.env[node.name]
            if node.name in self.pending:
                where = ("in its own definition" if node.name == self.defining
                         else "before its definition in the where clause")
                raise self._err(ParseError, f"'{node.name}' is used {where}", node)
            if node.name in ALL:
                raise self._err(ParseError, f"'{node.name}' is a function: call it as "
                                f"{node.name}(...)", node)
            if node.name == "where":
                raise self._err(ParseError, "unexpected 'where': it follows the whole "
                                "expression, as in 'EXPR where NAME = EXPR'", node)
            if node.name in self.out.constants:
                return (one, one)
            return self._variable(node)
        if isinstance(node, ast.Neg):
            return self.check(node.operand)
        if isinstance(node, ast.Transpose):
            t = self.check(node.operand)
            self._no_tensor(node, node.operand, t, "the transpose")
            r, c = t
            return (c, r)
        if isinstance(node, ast.Spec):
            raise self._err(ParseError, "subscripts like \"ij,jk->ik\" are einsum's first "
                            "argument only", node)
        if isinstance(node, ast.Binary):
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Where):
            raise self._err(ParseError, "a where clause may only close the whole expression",
                            node)
        raise self._err(ParseError, f"unexpected syntax {type(node).__name__}", node)
