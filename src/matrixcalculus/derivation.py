"""Text to IR and its derivative: the engine's Expression and Derivation (api.py wraps them).

    expression(expr, vars=) -> Expression       parsed, type-checked, lowered; evaluates
    derive(expr, wrt, vars, order) -> Derivation   its derivative as IR, printed once asked

Checking (verify.py), claims and Hessian-vector products take a Derivation and work on its
IR: the lower-order derivative and the expression's value are built from the IR, never by
parsing an answer's text again.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from functools import cached_property
from typing import Any, TypeVar

from . import differentiate, evaluation
from .compiled import Compiled
from .errors import (
    DeclarationError,
    LimitError,
    MatrixCalculusError,
    UnsupportedDerivativeError,
    guarded,
)
from .ir.nodes import Node, walk
from .language.declarations import Declaration, is_identifier, parse_declaration
from .language.inference import typecheck
from .language.parser import parse
from .language.typecheck import Typed
from .limits import LIMITS, deadline
from .lower import lower
from .printers import render
from .printers.text import to_text
from .variables import free_dims_of, variables_of


def parse_vars(vars: Mapping[str, Any] | None) -> dict[str, Declaration]:
    """vars= of the API ({'A': 'matrix(m,n)'} or Declarations) as Declarations."""
    out: dict[str, Declaration] = {}
    if vars is not None and not isinstance(vars, Mapping):
        raise MatrixCalculusError("vars must be a mapping of names to types, like "
                                  f"{{'A': 'matrix(m,n)'}}, not {type(vars).__name__}")
    for name, t in (vars or {}).items():
        if not isinstance(name, str) or not is_identifier(name):
            raise MatrixCalculusError(f"bad variable name {name!r} in vars")
        out[name] = t if isinstance(t, Declaration) else parse_declaration(t, name)
    return out


def front(expr: str, vars: Mapping[str, Any] | None
          ) -> tuple[Typed, Node, dict[str, Node]]:
    """Parse, type-check and lower: the typed AST, its IR and each variable's IR node."""
    typed = typecheck(parse(expr), expr, parse_vars(vars))
    y, var_nodes = lower(typed)
    return typed, y, var_nodes


class Printed:
    """An answer printed from self.ir: str() and text() in the input language, latex()."""

    ir: Node

    @cached_property
    def _answer(self):
        declared = {d for v in getattr(self, "variables", {}).values()
                    if v.origin == "declared" for d in v.shape if isinstance(d, str)}
        return render(self.ir, dims=declared)

    def __str__(self) -> str:
        return self._answer.text

    def text(self, multiline: bool = False) -> str:
        """The answer in the input language; multiline puts each `where` on its own line
        (it still parses back)."""
        a = self._answer
        if multiline and a.tree is not None:
            return to_text(a.tree, multiline=True)
        return a.text

    def latex(self) -> str:
        return self._answer.latex

    def _repr_latex_(self) -> str:          # Jupyter
        return f"$${self.latex()}$$"

    @property
    def is_matrix_form(self) -> bool:
        return self._answer.matrix_form


class Expression(Compiled):
    """A parsed, type-checked expression (no derivative): its shape and value."""

    def __init__(self, source: str, typed: Typed, ir: Node):
        self.source = source
        self.typed = typed
        variables = variables_of(typed)
        super().__init__(ir, variables, free_dims_of(typed, variables))

    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.ir.shape)

    @property
    def notes(self) -> list[str]:
        return list(self.typed.notes)


def expression(expr: str, *, vars: Mapping[str, Any] | None = None) -> Expression:
    """Parse and type-check an expression; evaluate it with .evaluate(**arrays)."""
    def run() -> Expression:
        with deadline():
            typed, y, _ = front(expr, vars)
            return Expression(expr, typed, y)
    return guarded(run, expr if isinstance(expr, str) else "")


class Derivation(Printed, Compiled):
    """A derivative: its closed form (str, latex), shape, and evaluation."""

    def __init__(self, source: str, wrt: str, order: int, typed: Typed, expr_ir: Node,
                 wrt_ir: Node, result: Node):
        self.source = source
        self.wrt = wrt
        self.order = order
        self.typed = typed
        self.expression_ir = expr_ir
        self.wrt_ir = wrt_ir
        variables = variables_of(typed)
        super().__init__(result, variables, free_dims_of(typed, variables),
                         self.kind.lower())

    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.ir.shape)

    @cached_property
    def eval_ir(self) -> Node:
        """The derivative as evaluated: derived again with the rows' eval_vjp where the
        printed IR holds such a primitive (det: its derivatives from an SVD)."""
        return evaluation.evaluation_ir(self.expression_ir, self.wrt_ir, self.order, self.ir)

    @property
    def notes(self) -> list[str]:
        """LANGUAGE.md's notes: each undeclared name read otherwise than its spelling says,
        and each scalar-by-spelling name spread over a vector or matrix by + or -."""
        return list(self.typed.notes)

    @property
    def expression_shape(self) -> tuple[str | int, ...]:
        return tuple(self.expression_ir.shape)

    @property
    def kind(self) -> str:
        """gradient / Jacobian / Hessian / derivative, as LANGUAGE.md names them."""
        if self.order == 2 and self.expression_ir.rank == 0:
            return "hessian"
        if self.order == 1 and self.expression_ir.rank == 0:
            return "gradient" if self.wrt_ir.rank else "derivative"
        if self.order == 1 and self.expression_ir.rank == 1 and self.wrt_ir.rank == 1:
            return "jacobian"
        return "derivative"

    @cached_property
    def value(self) -> Compiled:
        """The expression differentiated, as a function of the same arguments."""
        return Compiled(self.expression_ir, self.variables, self.free_dims)

    def lower_order(self) -> Derivation:
        """The order-1 lower derivative (order >= 2), from the IR."""
        if self.order < 2:
            raise ValueError("the first derivative has no lower-order derivative")
        k = self.order - 1
        return Derivation(self.source, self.wrt, k, self.typed, self.expression_ir,
                          self.wrt_ir, differentiate.derivative(self.expression_ir,
                                                                self.wrt_ir, k))


D = TypeVar("D", bound=Derivation)


def not_a_variable(typed: Typed, wrt: str, expr: str) -> None:
    """A derivative is taken with respect to a variable: not a dimension, not the constant
    pi; and every declared name but wrt is used (LANGUAGE.md "Names that are not
    variables", "Undeclared names")."""
    what = typed.constants.get(wrt)
    if what == "dimension":
        owners = [v.name for v in typed.variables.values() if v.declared
                  and wrt in typed.shape(v.type)]
        of = f" (of {', '.join(owners)})" if owners else ""
        raise UnsupportedDerivativeError(
            f"{wrt} is a dimension{of}: used as a value it is that dimension's size, and a "
            "derivative cannot be taken with respect to it", expr)
    if what == "pi":
        raise UnsupportedDerivativeError(
            "pi, undeclared, is the constant 3.14159...; declare it (e.g. pi: vector(k)) to "
            "differentiate with respect to a variable named pi", expr)
    # a declared name the expression does not use is an error where it looks like a typo
    # of a name it does use (`weights` declared, `weight` used; `S` and `s`); one with no
    # such look-alike may declare a dimension's size for evaluate() (`z: vector(n)`)
    used = [v.name for v in typed.variables.values() if v.used] + [wrt]
    for v in typed.variables.values():
        if not v.declared or v.used or v.name == wrt:
            continue
        same = [u for u in used if u.lower() == v.name.lower()]
        close = same or difflib.get_close_matches(v.name, used, n=1, cutoff=0.75)
        if close:
            raise DeclarationError(
                f"{v.name} is declared but not used in the expression (did you mean "
                f"{close[0]}?)", expr)


def derive(expr: str, wrt: str, vars: Mapping[str, Any] | None, order: int,
           make: type[D] = Derivation) -> D:
    """The order-`order` derivative of expr wrt the variable wrt, as `make` (a Derivation
    class); raises MatrixCalculusError on bad input (unguarded, no time limit: api.py)."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise UnsupportedDerivativeError(f"order must be a positive integer, got {order!r}")
    if order > LIMITS.max_order:
        raise LimitError(f"order {order} is above the limit of {LIMITS.max_order}")
    if not isinstance(wrt, str) or not is_identifier(wrt.strip()):
        raise UnsupportedDerivativeError(f"'with respect to' must be a variable name, got {wrt!r}")
    wrt = wrt.strip()
    typed, y, var_nodes = front(expr, vars)
    not_a_variable(typed, wrt, expr)
    if wrt in typed.bindings:
        raise UnsupportedDerivativeError(f"{wrt} is a named subexpression (where {wrt} = ...), "
                                         "not a variable", expr)
    if wrt not in typed.variables:
        names = ", ".join(typed.variables) or "none"
        raise UnsupportedDerivativeError(f"{wrt} is not a variable of the expression (its "
                                         f"variables: {names})", expr)
    x = var_nodes[wrt]
    d = differentiate.derivative(y, x, order)
    if len(walk(d)) > LIMITS.max_ir_nodes:
        raise LimitError(f"the derivative has more than {LIMITS.max_ir_nodes} IR nodes")
    return make(expr, wrt, order, typed, y, x, d)
