"""Typing of operators (`+ - * / .* ./ ^ .^`) and calls (one rule per row typing of ops/):
the parts of the typechecker that say what shape a result has."""

from __future__ import annotations

import difflib

from .. import ast
from ..errors import ParseError, ShapeError, UnknownNameError
from ..ops import ALL, ARITY, row
from .dims import Dim
from .source import is_literal

Type = tuple[Dim, Dim]


class OperatorRules:
    """Mixin of the checker: the shapes of operators."""

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
                if (adapt and not is_literal(s_node) and self._all_free(o_t)
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
                if is_literal(node.right):
                    node = node.left
                elif is_literal(node.left) and node.op in ("*", ".*"):
                    node = node.right
                else:
                    return False
            else:
                break
        if not isinstance(node, ast.Name) or node.name in self.env:
            return False
        v = self.out.variables.get(node.name)
        return v is not None and not v.declared and v.kind == "vector"


class CallRules:
    """Mixin of the checker: the shapes of calls, from their rows' typing."""

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
