"""Text to IR and its derivative: the engine's Expression and Derivation (api.py wraps them).

    expression(expr, vars=) -> Expression       parsed, type-checked, lowered; evaluates
    derive(expr, wrt, vars, order) -> Derivation   its derivative as IR, printed once asked
                                                   (wrt: a name, or a list: mixed, wrt.py)

Checking (verify.py), claims and Hessian-vector products take a Derivation and work on its
IR: the lower-order derivative and the expression's value are built from the IR, never by
parsing an answer's text again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, TypeVar

from . import differentiate, evaluation
from .compiled import Compiled
from .errors import LimitError, MatrixCalculusError, UnsupportedDerivativeError, guarded
from .ir.nodes import Node, walk
from .language.declarations import Declaration, is_identifier, parse_declaration
from .language.inference import typecheck
from .language.parser import parse
from .language.typecheck import Typed
from .limits import LIMITS, deadline
from .lower import lower, where_names
from .printers import render
from .printers.grouped import grouped_answer
from .printers.text import to_text
from .variables import VariableInfo, free_dims_of, variables_of
from .wrt import names as wrt_names
from .wrt import text as wrt_text
from .wrt import validate


def simplex_note(v: VariableInfo) -> str:
    """What a derivative with respect to a simplex is: sum(y) = 1 is not used for it."""
    rows = len(v.shape) == 2
    return (f"{v.name} is a simplex{' in each row' if rows else ''}: the derivative is the "
            f"unconstrained one (sum({v.name}{', 2' if rows else ''}) = "
            f"{'ones' if rows else '1'} is not used for it); project it onto "
            f"{'each row summing to 0' if rows else 'sum = 0'} for the simplex's tangent space")


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


def front(expr: str, vars: Mapping[str, Any] | None, wrt: Sequence[str] = ()
          ) -> tuple[Typed, Node, dict[str, Node]]:
    """Parse, type-check and lower: the typed AST, its IR and each variable's IR node
    (sum(y) = 1 folded for a simplex y not in wrt, the variables differentiated by)."""
    typed = typecheck(parse(expr), expr, parse_vars(vars))
    typed.differentiated = set(wrt)
    y, var_nodes = lower(typed)
    return typed, y, var_nodes


def _tt(s: str) -> str:
    """Text for LaTeX's \\texttt."""
    for a, b in (("\\", r"\backslash "), ("{", r"\{"), ("}", r"\}"), ("_", r"\_"),
                 ("^", r"\^{}"), ("#", r"\#"), ("%", r"\%"), ("&", r"\&"), ("$", r"\$")):
        s = s.replace(a, b)
    return s


class Printed:
    """An answer printed from self.ir: str() and text() in the input language, latex().
    The class it is mixed into sets ir, variables (Compiled) and typed (the expression as
    the person wrote it: its dimensions and where-names shape the answer)."""

    ir: Node
    variables: dict[str, VariableInfo]
    typed: Typed
    by_work = False          # printed in the order that computes it (render's by_work)
    _may_have_vec_form = False       # a 4-index derivative with respect to a matrix
    # over product dimensions (printers/grouped.py): IR axes per language axis, and the
    # variables declared over one (name -> IR shape); None where there is none
    _grouping: tuple[tuple[int, ...], dict[str, tuple]] | None = None

    @cached_property
    def _answer(self):
        declared = {d for v in self.variables.values()
                    if v.origin == "declared" for d in v.shape if isinstance(d, str)}
        own = where_names(self.typed) if self.typed.bindings else None
        if self._grouping is not None:
            return grouped_answer(self.ir, *self._grouping, taken=set(self.variables),
                                  dims=declared, own=own, by_work=self.by_work,
                                  vec=self._may_have_vec_form)
        return render(self.ir, taken=set(self.variables), dims=declared, own=own,
                      by_work=self.by_work, vec=self._may_have_vec_form)

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
        extra = "".join(rf" \\ \text{{{label}: }}\texttt{{{_tt(t)}}}"
                        for label, t in self.extras())
        return f"$${self.latex()}{extra}$$"

    def code_answer(self) -> str:
        """The answer as text, for generated code's header."""
        return self.text(multiline=True)

    @property
    def is_matrix_form(self) -> bool:
        return self._answer.matrix_form

    def einsum(self) -> str | None:
        """An index-notation answer as an `einsum(...)` text that parses back (None for
        an answer in matrix form)."""
        return self._answer.einsum

    def vec_form(self) -> str | None:
        """A 4-index derivative with respect to a matrix as the (p*q) x (m*n) matrix
        d vec(F) / d vec(X)' (column-major vec, Magnus-Neudecker), such as `kron(B', A)`;
        None where its terms are not Kronecker products or diag(vec(.))."""
        return self._answer.vec_form

    def extras(self) -> list[tuple[str, str]]:
        """The other texts of the answer, labelled, where they exist: [("einsum", ...),
        ("vec form", ...)] (the CLI, Jupyter and the web page show this one list)."""
        return [(label, t) for label, t in (("einsum", self.einsum()),
                                            ("vec form", self.vec_form())) if t is not None]


class Expression(Compiled):
    """A parsed, type-checked expression (no derivative): its shape and value."""

    def __init__(self, source: str, typed: Typed, ir: Node):
        self.source = source
        self.typed = typed
        variables = variables_of(typed)
        super().__init__(ir, variables, free_dims_of(typed, variables),
                         out_shape=typed.shape(typed.type_of(typed.root)))

    @property
    def shape(self) -> tuple[str | int, ...]:
        """The language's shape: a product dimension (m*p) is one axis."""
        return tuple(self.out_shape)

    @property
    def notes(self) -> list[str]:
        return list(self.typed.notes)

    def code_what(self) -> str:
        return f"value of {' '.join(self.source.split())}"

    def code_returns(self) -> str:
        return "the value"


E = TypeVar("E", bound="Expression")


def expression(expr: str, *, vars: Mapping[str, Any] | None = None,
               make: type[E] = Expression) -> E:  # type: ignore[assignment]
    """Parse and type-check an expression; evaluate it with .evaluate(**arrays).
    make: the Expression class to build (api.py's)."""
    def run() -> E:
        with deadline():
            typed, y, _ = front(expr, vars)
            return make(expr, typed, y)
    return guarded(run, expr if isinstance(expr, str) else "")


class Derivation(Printed, Compiled):
    """A derivative: its closed form (str, latex), shape, and evaluation.

    wrt_list holds the variables differentiated by, one per order: (x, x) for a Hessian,
    (U, V) for a mixed derivative.  wrt is the variable's name when there is one (whatever
    the order), the tuple wrt_list for a mixed derivative; wrt_ir is the first variable's
    node, wrt_irs all of them."""

    def __init__(self, source: str, wrt: tuple[str, ...], typed: Typed, expr_ir: Node,
                 wrt_irs: tuple[Node, ...], result: Node):
        self.source = source
        self.wrt_list = tuple(wrt)
        self.order = len(self.wrt_list)
        self.is_mixed = len(set(self.wrt_list)) > 1
        self.wrt: str | tuple[str, ...] = self.wrt_list if self.is_mixed else self.wrt_list[0]
        self.typed = typed
        self.expression_ir = expr_ir
        self.wrt_irs = tuple(wrt_irs)
        self.wrt_ir = self.wrt_irs[0]
        variables = variables_of(typed)
        self._grouping = grouping(typed, self.wrt_list, result)
        # the language's shape (a product dimension one axis) where the IR groups axes
        out = _language_shape(typed, self.wrt_list) if self._grouping else None
        super().__init__(result, variables, free_dims_of(typed, variables),
                         self.kind.lower().replace(" ", "_"), out_shape=out)

    @property
    def _may_have_vec_form(self) -> bool:        # type: ignore[override]
        return self.ir.rank == 4 and self.wrt_irs[-1].rank == 2

    @property
    def wrt_text(self) -> str:
        """'x', or 'U, V' for a mixed derivative."""
        return wrt_text(self.wrt_list)

    def heading(self) -> str:
        """'derivative of EXPR with respect to x' (the CLI's heading, before the shape)."""
        if self._kind_says_order:
            what = self.kind
        elif self.order > 1:
            what = f"order {self.order} derivative"
        else:
            what = "derivative"
        return f"{what} of {' '.join(self.source.split())} with respect to {self.wrt_text}"

    def code_what(self) -> str:
        return f"{self.kind_text} of {' '.join(self.source.split())} with respect " \
               f"to {self.wrt_text}"

    def code_returns(self) -> str:
        return f"the {self.kind_text} wrt {self.wrt_text}"

    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.out_shape if self.out_shape is not None else self.ir.shape)

    @cached_property
    def eval_ir(self) -> Node:
        """The derivative as evaluated: derived again with the rows' eval_vjp where the
        printed IR holds such a primitive (det: its derivatives from an SVD)."""
        return evaluation.evaluation_ir(self.expression_ir, self.wrt_irs, self.ir)

    @property
    def notes(self) -> list[str]:
        """LANGUAGE.md's notes: each undeclared name read otherwise than its spelling says,
        and each scalar-by-spelling name spread over a vector or matrix by + or -; and for
        each simplex differentiated by, that its derivative is the unconstrained one."""
        return list(self.typed.notes) + [simplex_note(self.variables[w])
                                         for w in dict.fromkeys(self.wrt_list)
                                         if self.variables[w].fact == "simplex"]

    @property
    def expression_shape(self) -> tuple[str | int, ...]:
        return tuple(self.expression_ir.shape)

    @property
    def kind(self) -> str:
        """gradient / Jacobian / Hessian / mixed derivative / derivative, as LANGUAGE.md
        names them."""
        if self.is_mixed:
            return "mixed derivative"
        if self.order == 2 and self.expression_ir.rank == 0:
            return "hessian"
        if self.order == 1 and self.expression_ir.rank == 0:
            return "gradient" if self.wrt_ir.rank else "derivative"
        if self.order == 1 and self.expression_ir.rank == 1 and self.wrt_ir.rank == 1:
            return "jacobian"
        return "derivative"

    # the kind in words, written here only: the CLI, code headers, claims, HVPs, the web
    # page (its JSON's "title") and Jupyter read these
    @property
    def kind_text(self) -> str:
        """The kind as prose names it: 'Hessian', 'Jacobian', 'gradient', 'derivative'."""
        return self.kind.replace("hessian", "Hessian").replace("jacobian", "Jacobian")

    @property
    def _kind_says_order(self) -> bool:
        """A Hessian and a mixed derivative name their order; another kind's is said."""
        return self.kind in ("hessian", "mixed derivative")

    @property
    def title(self) -> str:
        """'Hessian', 'Gradient', 'Derivative (order 3)': a heading's start, before
        ' of EXPR with respect to x'."""
        said = self.order > 1 and not self._kind_says_order
        return self.kind_text[:1].upper() + self.kind_text[1:] \
            + (f" (order {self.order})" if said else "")

    @cached_property
    def value(self) -> Compiled:
        """The expression differentiated, as a function of the same arguments."""
        out = self.typed.shape(self.typed.type_of(self.typed.root)) if self._grouping else None
        return Compiled(self.expression_ir, self.variables, self.free_dims, out_shape=out)

    def lower_order(self) -> Derivation:
        """The order-1 lower derivative (order >= 2), from the IR: with respect to the
        list without its last entry."""
        if self.order < 2:
            raise ValueError("the first derivative has no lower-order derivative")
        xs = self.wrt_irs[:-1]
        return Derivation(self.source, self.wrt_list[:-1], self.typed, self.expression_ir,
                          xs, differentiate.mixed(self.expression_ir, xs))


D = TypeVar("D", bound=Derivation)


def _language_shape(typed: Typed, wrt: Sequence[str]) -> tuple:
    shapes = {v.name: typed.shape(v.type) for v in typed.variables.values()}
    return typed.shape(typed.type_of(typed.root)) + sum((shapes[w] for w in wrt), ())


def grouping(typed: Typed, wrt: Sequence[str], d: Node
              ) -> tuple[tuple[int, ...], dict[str, tuple]] | None:
    """An answer over a product dimension (m*p, of kron and vec), or holding a variable
    declared over one: the IR axes of each of its language axes (groups), and each such
    variable's IR shape (printers/grouped.py prints it); None where there is none.
    A variable over product dimensions other than a vector(m*p) has no printed form."""
    def grouped(t) -> bool:
        return any(len(g) > 1 for g in typed.groups(t))
    def axes(t) -> tuple[int, ...]:
        return tuple(len(g) for g in typed.groups(t) if g)
    vs = {v.name: v for v in typed.variables.values()}
    held = {n.params[0]: n.shape for n in walk(d)
            if n.op == "var" and n.params[0] in vs and grouped(vs[n.params[0]].type)}
    types = [typed.type_of(typed.root)] + [vs[w].type for w in wrt]
    if not held and not any(grouped(t) for t in types):
        return None
    for name in held:
        if axes(vs[name].type) != (2,):
            raise UnsupportedDerivativeError(
                f"the derivative holds {name}, declared over product dimensions "
                f"{typed.shape(vs[name].type)}; printing it is built for a vector(m*p) "
                "only; the expression itself evaluates (expression(...).evaluate())")
    groups = sum((axes(t) for t in types), ())
    return groups, held


def derive(expr: str, wrt: str | Sequence[str], vars: Mapping[str, Any] | None,
           order: int | None, make: type[D] = Derivation) -> D:
    """The order-`order` derivative of expr wrt the variable wrt, or the mixed derivative
    wrt a list of variables (order: its length, or None), as `make` (a Derivation class);
    raises MatrixCalculusError on bad input (unguarded, no time limit: api.py)."""
    names = wrt_names(wrt, order)
    typed, y, var_nodes = front(expr, vars, names)
    validate(typed, names, expr)
    xs = tuple(var_nodes[w] for w in names)
    d = differentiate.mixed(y, xs)
    if len(walk(d)) > LIMITS.max_ir_nodes:
        raise LimitError(f"the derivative has more than {LIMITS.max_ir_nodes} IR nodes")
    out = make(expr, names, typed, y, xs, d)
    if out._grouping is not None:
        _ = out._answer             # no printed form: an error now, not when printed
    return out
