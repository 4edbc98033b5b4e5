"""Typing of operators (`+ - * / .* ./ ^ .^`) and calls (one rule per row typing of ops/):
the parts of the typechecker that say what shape a result has."""

from __future__ import annotations

import difflib

from .. import ast
from ..errors import ParseError, ShapeError, UnknownNameError
from ..ops import ALL, ARITY, row
from .dims import Dim
from .source import is_literal, literal_int, names_in

Type = tuple[Dim, ...]    # (rows, cols); a tensor's (order 3 or more) all its dimensions
MAX_MATRIX_POWER = 16
_TRANSPOSE = ("T", "top", "H")
_FUNCTION_HINTS = {
    "trace": "the trace is written tr(X)", "transpose": "the transpose is written x'",
    "matmul": "products are written with '*'", "dot": "an inner product is written x'*y",
    "norm": "norms are norm2(x) (Euclidean, Frobenius) and norm1(x)",
}


class OperatorRules:
    """Mixin of the checker: the shapes of operators."""

    # ----------------------------------------------------------- operators
    def _binary(self, node: ast.Binary) -> Type:
        op = node.op
        if op == "^" and isinstance(node.right, ast.Name) and node.right.name in _TRANSPOSE \
                and node.right.name not in self.decls:
            raise self._err(ShapeError, f"'^{node.right.name}' is not a transpose here: write "
                            f"{self._text(node.left)}' for the transpose", node)
        lt = self.check(node.left)
        rt = self.check(node.right)
        sc = self.out.is_scalar
        if op in ("+", "-", ".*", "./"):
            return self._elementwise(node, lt, rt)
        # a scalar times anything (LANGUAGE.md), a tensor too: `2*einsum(...)`
        if op == "^" or (op == "*" and not (sc(lt) or sc(rt))):
            for side, t in ((node.left, lt), (node.right, rt)):
                if not sc(t):
                    self._no_tensor(node, side, t, f"'{op}'")
        if op == "/" and not sc(rt):
            self._no_tensor(node, node.right, rt, "'/'")
        if op == "*":
            self.out.factors |= {n.name for n in (node.left, node.right)
                                 if isinstance(n, ast.Name)}
            if sc(rt) and not sc(lt) and isinstance(node.right, ast.Name) \
                    and not (self.dims.is_one(lt[0]) or self.dims.is_one(lt[1])):
                # `X*beta`: a scalar by spelling where a vector would also fit (a note)
                name = self._lone_undeclared(node.right)
                if name is not None:
                    self.out.scaled.append((name, f"multiplying the matrix "
                                                  f"{self._text(node.left)}"))
            if sc(lt) or sc(rt):
                self._spread(node.right if sc(lt) else node.left, node.left if sc(lt)
                             else node.right, lt if sc(lt) else rt, "*")
                return rt if sc(lt) else lt
            if self.dims.unify(lt[1], rt[0]):
                return (lt[0], rt[1])
            hint = ""
            if self.dims.is_one(lt[1]) and self.dims.is_one(rt[1]):
                hint = " (for an inner product write x'*y, elementwise x.*y)"
            raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                            f"{self._text(node.left)} is {self.out.describe(lt)} but "
                            f"{self._text(node.right)} is {self.out.describe(rt)}; the inner "
                            f"dimensions {self.dims.label(lt[1])} and {self.dims.label(rt[0])} "
                            f"differ{hint}", node)
        if op == "/":
            if not sc(rt):
                raise self._err(ShapeError, f"'/' divides by a scalar, but "
                                f"{self._text(node.right)} is {self.out.describe(rt)} "
                                "(use ./ for elementwise division)", node)
            self._spread(node.left, node.right, rt, "/")
            return lt
        if op == "^":
            return self._power(node, lt, rt)
        if op == ".^":
            # the shapes of `.*` (equal, or a scalar on either side spread over the other)
            return self._elementwise(node, lt, rt)
        raise self._err(ParseError, f"unknown operator {op}", node)

    def _power(self, node: ast.Binary, lt: Type, rt: Type) -> Type:
        """`c^2` of scalars; `X^k` of a square matrix and an integer literal |k| <= 16."""
        sc = self.out.is_scalar
        if not sc(rt):
            raise self._err(ShapeError, f"the exponent of '^' must be a scalar, but "
                            f"{self._text(node.right)} is {self.out.describe(rt)} (use .^ for "
                            "elementwise powers)", node)
        if sc(lt):
            return lt
        base = self._text(node.left)
        if self.dims.is_one(lt[0]) or self.dims.is_one(lt[1]):
            raise self._err(ShapeError, f"'^' of a vector: {base} is "
                            f"{self.out.describe(lt)}; write {base}.^2 for elementwise powers "
                            f"or {base}'*{base} for the squared norm", node)
        k = literal_int(node.right)
        if k is None:
            raise self._err(ShapeError, f"a matrix power needs an integer exponent written as "
                            f"a number (|k| <= {MAX_MATRIX_POWER}), but the exponent of {base} "
                            f"is {self._text(node.right)}; use .^ for elementwise powers "
                            "(sqrtm and expm(t*logm(X)) for fractional powers)", node)
        if abs(k) > MAX_MATRIX_POWER:
            raise self._err(ShapeError, f"matrix powers go up to |k| = {MAX_MATRIX_POWER}, "
                            f"not {k}", node)
        if not self.dims.unify(lt[0], lt[1]):
            raise self._err(ShapeError, f"a matrix power needs a square matrix, but {base} is "
                            f"{self.out.describe(lt)} (use .^ for elementwise powers)", node)
        return lt

    def _spread(self, other: ast.Node, s_node: ast.Node, s_t: Type, op: str) -> None:
        """Record for inference.py a scalar s_node spread over the non-scalar `other` by op:
        (additive, the scalar is a number, the undeclared names in other, other's lone
        undeclared name), and a scalar-by-spelling name spread over a vector by + or -."""
        ot = self.out.types.get(id(other))
        if ot is None or self.out.is_scalar(ot) or op not in ("+", "-", "*", ".*"):
            return
        names = [n for n in names_in(other) if n in self.out.variables
                 and not self.out.variables[n].declared and n not in self.env]
        self.spread_events.append((op in ("+", "-"), is_literal(s_node), names,
                                   self._lone_undeclared(other)))
        if op in ("+", "-"):
            self.spread_scalars += [n for n in self._spread_names(s_node)
                                    if self.out.variables[n].kind == "scalar"]

    def _spread_names(self, node: ast.Node) -> list[str]:
        """The undeclared variables of a scalar spread by + or -, through elementwise
        functions and operators (`x - mu`, `exp(s) + mu.^2`, `x - 2*log(mu)`); not inside
        a reduction, nor an exponent."""
        if isinstance(node, ast.Neg | ast.Transpose):
            return self._spread_names(node.operand)
        if isinstance(node, ast.Call) and node.func in ARITY and len(node.args) == 1 \
                and row(node.func).typing == "elementwise":
            return self._spread_names(node.args[0])
        if isinstance(node, ast.Binary) and node.op in ("^", ".^"):
            return self._spread_names(node.left)
        if isinstance(node, ast.Binary) and node.op in ("+", "-", "*", "/", ".*", "./"):
            return self._spread_names(node.left) + self._spread_names(node.right)
        name = self._lone_undeclared(node)
        return [name] if name is not None else []

    def _elementwise(self, node: ast.Binary | ast.Call, lt: Type, rt: Type,
                     sides: tuple[ast.Node, ast.Node] | None = None) -> Type:
        """Equal shapes, or a scalar on one side spread over the other."""
        left, right = sides or (node.left, node.right)
        what = f"'{node.op}'" if isinstance(node, ast.Binary) else f"{node.func}(a, b)"
        sc = self.out.is_scalar
        if sc(lt) and sc(rt):
            return lt
        for s_node, s_t, o_node, o_t in ((left, lt, right, rt), (right, rt, left, lt)):
            if sc(s_t):
                if isinstance(node, ast.Binary) and node.op != ".^":
                    self._spread(o_node, s_node, s_t, node.op)
                if isinstance(node, ast.Binary) and node.op in (".*", "./"):
                    # `.*` with a scalar is unusual: `sigma.*z` likely means a vector sigma
                    how = "multiplying" if node.op == ".*" else "dividing"
                    self.out.scaled += [(n, f"{how} {self._text(o_node)} elementwise")
                                        for n in self._spread_names(s_node)]
                return o_t
        if len(lt) > 2 or len(rt) > 2:
            return self._tensor_elementwise(node, left, right, lt, rt)
        expanded = self._expand(node, left, right, lt, rt)
        if expanded is not None:
            return expanded
        if self.dims.unify(lt[0], rt[0]) and self.dims.unify(lt[1], rt[1]):
            return lt
        raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                        f"{self._text(left)} is {self.out.describe(lt)} but "
                        f"{self._text(right)} is {self.out.describe(rt)}; {what} "
                        "needs equal shapes or a scalar on one side (or a row, or an "
                        "axis-reduced column, beside a matrix)", node)

    def _lone_undeclared(self, node: ast.Node) -> str | None:
        """`b`, `-b`, `b'`, `2*b`: an undeclared variable up to sign, transpose and numeric
        factors, else None."""
        while True:
            if isinstance(node, ast.Neg | ast.Transpose):
                node = node.operand
            elif isinstance(node, ast.Binary) and node.op in ("*", "/", ".*", "./"):
                if is_literal(node.right):
                    node = node.left
                elif is_literal(node.left) and node.op in ("*", ".*"):
                    node = node.right
                else:
                    return None
            else:
                break
        if not isinstance(node, ast.Name) or node.name in self.env:
            return None
        v = self.out.variables.get(node.name)
        return node.name if v is not None and not v.declared else None


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
            if f in _FUNCTION_HINTS:
                hint = f" ({_FUNCTION_HINTS[f]})"
            elif close:
                hint = f" (did you mean {close[0]}?)"
            elif len(f) == 1:
                hint = f" (a product is written {f}*(...))"
            else:
                hint = ""
            raise self._err(UnknownNameError, f"unknown function '{f}'{hint}", node)
        if f in ("max", "min") and len(node.args) == 1:
            raise self._err(ParseError, f"{f}(a, b) is elementwise, of two arguments; the "
                            f"{'largest' if f == 'max' else 'smallest'} entry of one is not a "
                            "function of the language (logsumexp(x) is a smooth max)", node)
        if len(node.args) == 2 and row(f).along is not None:
            return self._along(node)
        if row(f).typing == "einsum":
            return self._einsum(node)
        spec = next((a for a in node.args if isinstance(a, ast.Spec)), None)
        if spec is not None:
            raise self._err(ParseError, f"subscripts like \"{spec.text}\" are einsum's first "
                            f"argument only, not {f}'s", spec)
        if len(node.args) not in ARITY[f]:
            want = " or ".join(str(a) for a in ARITY[f]) if len(ARITY[f]) < 3 else \
                f"{ARITY[f][0]} to {ARITY[f][-1]}"
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
            return self._elementwise(node, self.check(a), self.check(b), sides=(a, b))
        if typing == "square2":
            return self._square2(node)
        if typing == "kron":
            return self._kron(node)
        (arg,) = node.args
        t = self.check(arg)
        if typing not in ("elementwise", "scalar"):
            self._no_tensor(node, arg, t, f"{f}")
        if typing == "scalar" and self.out.is_scalar(t):     # sum(1 + log(sigma.^2) - ...)
            self.out.reduced_scalars += [n for n in names_in(arg) if n in self.out.variables
                                         and not self.out.variables[n].declared]
        return self._TYPING[typing](self, node, arg, t)

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

    def _square2(self, node: ast.Call) -> Type:
        """dexpm(X, E1, ..., Ek): square matrices of one size."""
        x = node.args[0]
        tx = self.check(x)
        self._no_tensor(node, x, tx, node.func)
        self._square(node, x, tx)
        for e in node.args[1:]:
            te = self.check(e)
            self._no_tensor(node, e, te, node.func)
            self._square(node, e, te)
            if not self.dims.unify(tx[0], te[0]):
                how = "two" if len(node.args) == 2 else ""
                raise self._err(ShapeError, f"{node.func} needs {how + ' ' if how else ''}"
                                f"square matrices of one size, but {self._text(x)} is "
                                f"{self.out.describe(tx)} and {self._text(e)} is "
                                f"{self.out.describe(te)}", node)
        return tx

    def _vector(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        if self.out.is_scalar(t):       # softmax(theta/T): a note if a name is undeclared
            self.out.reduced_scalars += [n for n in names_in(arg) if n in self.out.variables
                                         and not self.out.variables[n].declared]
        if not self.dims.is_one(t[1]) and not self.out.is_scalar(t):
            f, x = node.func, self._text(arg)
            both = ""
            if row(f).along is not None and self.dims.is_one(t[0]):
                both = f"; {f}({x}, 2) runs along the row"
            elif row(f).along is not None:
                both = (f" without an axis; choose one: {f}({x}, 2) along each row (each row "
                        f"sums to 1) or {f}({x}, 1) down each column")
            raise self._err(ShapeError, f"{f} takes a vector, but {x} "
                            f"is {self.out.describe(t)}{both}", node)
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

    def _kron(self, node: ast.Call) -> Type:
        """kron(A, B): (m, n), (p, q) -> (m*p, n*q), A's index the major one."""
        a, b = node.args
        ta, tb = self.check(a), self.check(b)
        for x, t in ((a, ta), (b, tb)):
            self._not_tensor(node, x, t)
        return (self.dims.product([ta[0], tb[0]]), self.dims.product([ta[1], tb[1]]))

    def _not_tensor(self, node: ast.Call, arg: ast.Node, t: Type) -> None:
        if len(t) > 2:
            raise self._err(ShapeError, f"{node.func} takes matrices or vectors, but "
                            f"{self._text(arg)} is a tensor of order {len(t)} (use einsum)",
                            arg)

    def _vec(self, node: ast.Call, arg: ast.Node, t: Type) -> Type:
        """vec(X): (m, n) -> (m*n), the columns stacked (the column index the major one)."""
        self._not_tensor(node, arg, t)
        if self.out.is_scalar(t):
            raise self._err(ShapeError, f"vec stacks the columns of a matrix, but "
                            f"{self._text(arg)} is a scalar", node)
        return (self.dims.product([t[1], t[0]]), self.dims.one)

    _TYPING = {"elementwise": _same, "scalar": _scalar, "square->scalar": _square_scalar,
               "square": _square_same, "vector": _vector, "diag": _diag,
               "vec": _vec}

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
