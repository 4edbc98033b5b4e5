"""Shape inference over the surface AST with symbolic dimensions.

Every value has a Matlab-like type (rows, cols): a scalar is (1, 1), a vector
(n, 1), a row vector (1, n).  Results: a type for every node, and the
variables with their kinds and dimensions.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .. import ast
from ..errors import DeclarationError, ParseError, ShapeError, UnknownNameError
from ..ops import ALL, ARITY, row
from .declarations import Declaration, default_kind
from .dims import Dim, DimTable

Type = tuple[Dim, Dim]


@dataclass
class Variable:
    name: str
    kind: str                 # scalar / vector / matrix / symmetric (after inference)
    type: Type
    declared: bool
    used: bool = False


@dataclass
class Typed:
    """The result of type checking one expression."""

    root: ast.Node
    source: str
    dims: DimTable
    variables: dict[str, Variable]
    types: dict[int, Type] = field(default_factory=dict)      # id(node) -> type
    bindings: dict[str, ast.Node] = field(default_factory=dict)

    def type_of(self, node: ast.Node) -> Type:
        return self.types[id(node)]

    # --- views of a type
    def is_scalar(self, t: Type) -> bool:
        return self.dims.is_one(t[0]) and self.dims.is_one(t[1])

    def shape(self, t: Type) -> tuple[str | int, ...]:
        """The NumPy-style shape: () scalar, (n,) vector (row or column), (m, n) matrix."""
        return tuple(self.dims.label(d) for d in t if not self.dims.is_one(d))

    def describe(self, t: Type) -> str:
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
        r, c = v.type
        if not v.declared:
            ones = self.dims.is_one(r) + self.dims.is_one(c)
            if ones == 2:
                return "scalar"
            if ones == 1:
                return "vector"
        return v.kind


def typecheck(root: ast.Node, source: str, declarations: dict[str, Declaration]) -> Typed:
    return _Checker(root, source, declarations).run()


class _Checker:
    def __init__(self, root: ast.Node, source: str, decls: dict[str, Declaration]):
        self.root = root
        self.src = source
        self.decls = decls
        reserved = set(decls) | _names_in(root)   # free dimensions never take these names
        for d in decls.values():
            reserved |= {x for x in d.dims if isinstance(x, str)}
        self.dims = DimTable(reserved)
        self.out = Typed(root, source, self.dims, {})
        self.env: dict[str, Type] = {}
        self.pending: set[str] = set()     # where-names not defined yet
        self.defining: str | None = None   # the where-name being checked
        for name, d in decls.items():
            self._declare(name, d)

    # ----------------------------------------------------------- variables
    def _declare(self, name: str, d: Declaration) -> None:
        dm = [self.dims.const(x) if isinstance(x, int) else self.dims.symbol(x) for x in d.dims]
        one = self.dims.one
        if d.kind == "scalar":
            t = (one, one)
        elif d.kind == "vector":
            t = (dm[0], one)
        elif d.kind == "matrix":
            t = (dm[0], dm[1])
        else:  # symmetric
            t = (dm[0], dm[0])
        self.out.variables[name] = Variable(name, d.kind, t, declared=True)

    def _variable(self, node: ast.Name) -> Type:
        name = node.name
        v = self.out.variables.get(name)
        if v is None:
            kind = default_kind(name)
            one = self.dims.one
            if kind == "scalar":
                t = (one, one)
            elif kind == "vector":
                t = (self.dims.fresh(), one)
            else:
                t = (self.dims.fresh(), self.dims.fresh())
            v = self.out.variables[name] = Variable(name, kind, t, declared=False)
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
                self.pending.discard(name)
                seen[name] = expr
            self.out.bindings = seen
            t = self.check(root.body)
            self.out.types[id(root)] = t
        else:
            self.check(root)
        self._check_dimension_names()
        self.dims.name_free()
        for v in self.out.variables.values():
            if not v.declared:
                v.kind = self.out.variable_kind(v)
        return self.out

    def _check_dimension_names(self) -> None:
        """A name is a dimension or a variable, not both (`ones(n)` must mean one thing)."""
        for name in self.out.variables:
            if name not in self.dims.symbols:
                continue
            owners = [o for o, d in self.decls.items() if name in d.dims]
            of = f" (of {', '.join(owners)})" if owners else ""
            node = _first_name(self.root, name)
            msg = f"'{name}' is both a dimension{of} and a variable; rename one of them"
            if node is not None:
                raise DeclarationError(msg, self.src, node.pos, node.end)
            raise DeclarationError(msg)

    def check(self, node: ast.Node) -> Type:
        # iterative-enough: recursion depth is bounded by the parser's depth limit
        t = self._check(node)
        self.out.types[id(node)] = t
        return t

    def _binding_err(self, msg: str, root: ast.Where, i: int) -> ParseError:
        """An error about the i-th where-binding, pointing at its name."""
        name, expr = root.bindings[i]
        pos = _binding_name_pos(self.src, root, i)
        if pos is None:
            return self._err(ParseError, msg, expr)
        return ParseError(msg, self.src, pos, pos + len(name))

    def _err(self, cls, msg: str, node: ast.Node):
        self.dims.name_free()
        return cls(msg, self.src, node.pos, node.end)

    def _text(self, node: ast.Node) -> str:
        if node.pos is None:
            return "the expression"
        return _short(self.src[node.pos:node.end])

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
            return self._variable(node)
        if isinstance(node, ast.Neg):
            return self.check(node.operand)
        if isinstance(node, ast.Transpose):
            r, c = self.check(node.operand)
            return (c, r)
        if isinstance(node, ast.Binary):
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Where):
            raise self._err(ParseError, "a where clause may only close the whole expression",
                            node)
        raise self._err(ParseError, f"unexpected syntax {type(node).__name__}", node)

    # ----------------------------------------------------------- operators
    def _all_free(self, t: Type) -> bool:
        return all(self.dims.is_free(d) or self.dims.is_one(d) for d in t)

    def _make_scalar(self, t: Type) -> bool:
        return all(self.dims.unify(d, self.dims.one, allow_one=True) for d in t)

    def _binary(self, node: ast.Binary) -> Type:
        op = node.op
        lt = self.check(node.left)
        rt = self.check(node.right)
        sc = self.out.is_scalar
        if op in ("+", "-", ".*", "./"):
            return self._elementwise(node, lt, rt)
        if op == "*":
            if sc(lt):
                return rt
            if sc(rt):
                return lt
            if self.dims.unify(lt[1], rt[0]):
                return (lt[0], rt[1])
            # a product of an undeclared vector and something else: it must be a scalar
            if self._all_free(lt) and self._make_scalar(lt):
                return rt
            if self._all_free(rt) and self._make_scalar(rt):
                return lt
            hint = ""
            if self.dims.is_one(lt[1]) and self.dims.is_one(rt[1]):
                hint = " (for an inner product write x'*y, elementwise x.*y)"
            raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                            f"{self._text(node.left)} is {self.out.describe(lt)} but "
                            f"{self._text(node.right)} is {self.out.describe(rt)}; the inner "
                            f"dimensions {self.dims.label(lt[1])} and {self.dims.label(rt[0])} "
                            f"differ{hint}", node)
        if op == "/":
            if not (sc(rt) or (self._all_free(rt) and self._make_scalar(rt))):
                raise self._err(ShapeError, f"'/' divides by a scalar, but "
                                f"{self._text(node.right)} is {self.out.describe(rt)} "
                                "(use ./ for elementwise division)", node)
            return lt
        if op == "^":
            for side, t in ((node.left, lt), (node.right, rt)):
                if not (sc(t) or (self._all_free(t) and self._make_scalar(t))):
                    raise self._err(ShapeError, f"'^' is for scalars, but {self._text(side)} "
                                    f"is {self.out.describe(t)} (use .^ for elementwise "
                                    "powers)", node)
            return lt
        if op == ".^":
            # the shapes of `.*` (equal, or a scalar on either side spread over the other),
            # but a name keeps the kind its spelling gives on both sides: `x.^alpha`,
            # `alpha.^x` and `(u'*v).^x` are vectors, as `x.^2` and `2.^x` are
            return self._elementwise(node, lt, rt, adapt=False)
        raise self._err(ParseError, f"unknown operator {op}", node)

    def _elementwise(self, node: ast.Binary | ast.Call, lt: Type, rt: Type, adapt: bool = True,
                     sides: tuple[ast.Node, ast.Node] | None = None) -> Type:
        """Equal shapes, or a scalar on one side.

        The one guess beyond LANGUAGE.md's rules (a name's kind by its spelling, its
        dimensions by its uses): in a sum, difference or Hadamard product or quotient
        (`+ - .* ./`, adapt=True), a scalar that is not a number, beside a lone undeclared
        vector name, makes that name a scalar: `u'*v + b` and `s.*b` read b as a scalar
        (a bias, a weight), not as a vector the scalar is spread over.  `.^` does not guess
        (adapt=False): a power's base and exponent are not of equal standing, and a scalar
        on either side is spread over the other (`x.^alpha`, `alpha.^x`), as a number is
        for every operator here (`u'*v + 1`, `2.*b`)."""
        left, right = sides or (node.left, node.right)
        what = f"'{node.op}'" if isinstance(node, ast.Binary) else f"{node.func}(a, b)"
        sc = self.out.is_scalar
        if sc(lt) and sc(rt):
            return lt
        for s_node, s_t, o_node, o_t in ((left, lt, right, rt), (right, rt, left, lt)):
            if sc(s_t):
                # `u'*v + b` with b undeclared: b is a scalar, not a vector broadcast.
                # Only a lone undeclared vector adapts so; `A*x + u'*v` keeps A a matrix.
                if (adapt and not _is_literal(s_node) and self._all_free(o_t)
                        and self._lone_undeclared_vector(o_node)):
                    self._make_scalar(o_t)
                    return s_t
                return o_t
        if self.dims.unify(lt[0], rt[0]) and self.dims.unify(lt[1], rt[1]):
            return lt
        raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                        f"{self._text(left)} is {self.out.describe(lt)} but "
                        f"{self._text(right)} is {self.out.describe(rt)}; {what} "
                        "needs equal shapes or a scalar on one side", node)

    def _lone_undeclared_vector(self, node: ast.Node) -> bool:
        """`b`, `-b`, `b'`, `2*b`: an undeclared vector variable, up to sign, transpose and
        numeric factors."""
        while True:
            if isinstance(node, ast.Neg | ast.Transpose):
                node = node.operand
            elif isinstance(node, ast.Binary) and node.op in ("*", "/", ".*", "./"):
                if _is_literal(node.right):
                    node = node.left
                elif _is_literal(node.left) and node.op in ("*", ".*"):
                    node = node.right
                else:
                    return False
            else:
                break
        if not isinstance(node, ast.Name) or node.name in self.env:
            return False
        v = self.out.variables.get(node.name)
        return v is not None and not v.declared and v.kind == "vector"

    # ----------------------------------------------------------- functions
    def _call(self, node: ast.Call) -> Type:
        f = node.func
        if f not in ARITY:
            if f == "where":
                raise self._err(ParseError, "unexpected 'where': it follows the whole "
                                "expression, as in 'EXPR where NAME = EXPR'", node)
            if f in self.out.variables or f in self.env or f in self.pending:
                raise self._err(UnknownNameError, f"'{f}' is a variable, not a function "
                                f"(a product is written {f}*(...))", node)
            close = difflib.get_close_matches(f, sorted(ALL), n=1)
            if close:
                hint = f" (did you mean {close[0]}?)"
            elif len(f) == 1:
                hint = f" (a product is written {f}*(...))"
            else:
                hint = ""
            raise self._err(UnknownNameError, f"unknown function '{f}'{hint}", node)
        if len(node.args) not in ARITY[f]:
            want = " or ".join(str(a) for a in ARITY[f])
            plural = "" if ARITY[f] == (1,) else "s"
            raise self._err(ParseError, f"{f} takes {want} argument{plural}, "
                            f"got {len(node.args)}", node)
        typing = row(f).typing
        if typing == "dims":
            ds = [self._dim_arg(a, f) for a in node.args]
            if f == "eye":
                return (ds[0], ds[0])
            return (ds[0], self.dims.one) if len(ds) == 1 else (ds[0], ds[1])
        if typing == "elementwise2":
            a, b = node.args
            return self._elementwise(node, self.check(a), self.check(b), adapt=False,
                                     sides=(a, b))
        (arg,) = node.args
        return self._TYPING[typing](self, node, arg, self.check(arg))

    # ----------------------------------------------------------- one rule per row typing
    def _same(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        return t

    def _scalar(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        return (self.dims.one, self.dims.one)

    def _square_scalar(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        self._square(node, arg, t)
        return (self.dims.one, self.dims.one)

    def _square_same(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        self._square(node, arg, t)
        return t

    def _vector(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        if not self.dims.is_one(t[1]) and not self.out.is_scalar(t):
            raise self._err(ShapeError, f"{node.func} takes a vector, but {self._text(arg)} "
                            f"is {self.out.describe(t)}", node)
        return t

    def _diag(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        r, c = t
        if self.out.is_scalar(t):
            return t
        if self.dims.is_one(c):
            return (r, r)
        if self.dims.is_one(r):
            return (c, c)
        self._square(node, arg, t)
        return (r, self.dims.one)

    _TYPING = {"elementwise": _same, "scalar": _scalar, "square->scalar": _square_scalar,
               "square": _square_same, "vector": _vector, "diag": _diag}

    def _square(self, node: ast.Call, arg: ast.Node, t: Type) -> None:
        if not self.dims.unify(t[0], t[1]):
            raise self._err(ShapeError, f"{node.func} needs a square matrix, but "
                            f"{self._text(arg)} is {self.out.describe(t)}", node)

    def _dim_arg(self, a: ast.Node, f: str) -> Dim:
        if isinstance(a, ast.Num):
            if a.value != int(a.value) or a.value < 1:
                raise self._err(ShapeError, f"{f}() takes positive integer dimensions", a)
            return self.dims.const(int(a.value))
        if isinstance(a, ast.Name):
            if a.name in self.out.variables or a.name in self.env:
                raise self._err(ShapeError, f"{f}() takes dimensions (like n), but "
                                f"'{a.name}' is a variable", a)
            return self.dims.symbol(a.name)
        raise self._err(ShapeError, f"{f}() takes dimensions: names like n or integers", a)


def _is_literal(node: ast.Node) -> bool:
    """True for numbers and arithmetic on numbers only."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name | ast.Call):
            return False
        stack.extend(ast.children(n))
    return True


def _binding_name_pos(src: str, root: ast.Where, i: int) -> int | None:
    """The offset of the i-th where-binding's name (the AST keeps only the expression's)."""
    try:
        from .parser import binding_positions_list
        return binding_positions_list(src)[i]
    except Exception:  # noqa: BLE001 - only for the caret; fall back to the expression
        return None


def _short(text: str, width: int = 40) -> str:
    """Source text for a message: one line, outer parentheses dropped, long middles elided."""
    text = " ".join(text.split())
    while text.startswith("(") and _closes_at_end(text):
        text = text[1:-1].strip()
    if len(text) > width:
        half = (width - 3) // 2
        text = text[:half].rstrip() + "..." + text[-half:].lstrip()
    return text


def _closes_at_end(text: str) -> bool:
    """True when the '(' at text[0] is closed by the ')' at text[-1]."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def _names_in(root: ast.Node) -> set[str]:
    """Every name written in the expression, where-names included."""
    out: set[str] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            out.add(n.name)
        elif isinstance(n, ast.Call):
            out.add(n.func)
        elif isinstance(n, ast.Where):
            out |= {name for name, _ in n.bindings}
        stack.extend(ast.children(n))
    return out


def _first_name(root: ast.Node, name: str) -> ast.Name | None:
    """The leftmost use of a name as a value (not as a dimension argument)."""
    found: list[ast.Name] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and n.name == name and n.pos is not None:
            found.append(n)
        if isinstance(n, ast.Call) and n.func in ("ones", "eye"):
            continue
        stack.extend(ast.children(n))
    return min(found, key=lambda n: n.pos) if found else None
