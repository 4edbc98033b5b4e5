"""evaluate()'s numerics: the IR that is evaluated, the fast path, and the diagnosis.

The generated function runs as is (under np.errstate "ignore": no checks inside).  Only
when it fails (an exception, or a result that is not finite) is the IR interpreted node
by node, here, to say WHAT went wrong and WHERE: the subexpression, by its printed text,
whose arguments are finite and whose value is not (`log of a negative number in
log(1 - s)`).  So normal evaluation pays one `isfinite` of its result's sum.

evaluate() never returns a NaN: it raises a NumericalError (an EvaluationError) instead,
as it does for an infinity from a domain error (log(0), a division by zero).  An
infinity that is an overflow (a finite value beyond float64, 2^-5000 * 0.25^-5001) is
IEEE's answer and is returned.  The non-finite result, when there is one, is on the
error's `value` (verify and claims use it to skip points outside the domain).

The IR evaluated differs from the IR printed where a row of ops/ gives an `eval_vjp`
(rules.EVAL_VJP): det's derivatives are detd(X, k), computed from an SVD, where the
printed answer says det(X)*inv(X)', which is not even defined at a singular X.

The interpreter computes functions and primitives with the generated code's own
templates and helpers (a `kernel`, compiled in compiled.py, the one place code is
compiled); products, sums and powers with NumPy directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import opt_einsum as oe

from . import differentiate
from .codegen.optimize import einsum_spec
from .errors import DomainError, EvaluationError, NumericalError, SingularMatrixError
from .ir.nodes import Node, Op, walk
from .limits import deadline
from .ops import row, rows
from .rules import EVAL_VJP

# the NumPy function a FUNC or PRIM node's template computes, from its arguments' values
Kernel = Callable[[Node], Callable[..., Any]]

# primitives with an evaluation-time VJP of their own (det): their derivatives differ
_REDERIVED = frozenset(r.name for r in rows() if r.eval_vjp is not None)


def evaluation_ir(expression: Node, wrt: Sequence[Node], printed: Node) -> Node:
    """The derivative as it is evaluated: printed itself unless that holds a primitive
    whose row has an eval_vjp (det, from det's rule det(X)*inv(X)'), when it is derived
    again with those rules (wrt: the variables differentiated by, one per order).  A
    printed answer with none (it cancelled, or log(det(X)) left inv(X)') is evaluated as
    printed."""
    if not any(n.op == Op.PRIM and n.name in _REDERIVED for n in walk(printed)):
        return printed
    with deadline():
        return differentiate.mixed(expression, wrt, rules=EVAL_VJP)


def run(fn: Callable[..., Any], values: Sequence[Any], ir: Node, names: Sequence[str],
        sizes: Mapping[str, int], kernel: Kernel,
        params: Mapping[str, str] | None = None) -> np.ndarray:
    """fn called with values (of the arguments names, by keyword: params renames them) as
    float64, finite, or a NumericalError saying what and where."""
    kwargs = {(params or {}).get(n, n): v for n, v in zip(names, values)}
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(fn(**kwargs), dtype=np.float64)
    except Exception as e:  # noqa: BLE001 - located below, re-raised as EvaluationError
        raise diagnose(ir, names, values, sizes, kernel, failure=e) from None
    # one pass over the result; a sum that overflows is checked entry by entry
    with np.errstate(all="ignore"):
        total = out.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(out)):
        error = diagnose(ir, names, values, sizes, kernel, value=out)
        if not (error.overflow and not np.any(np.isnan(out))):
            raise error
    return out


# ------------------------------------------------------------------ the interpreter
def _value(n: Node, a: list[Any], env: Mapping[str, Any], sizes: Mapping[str, int],
           kernel: Kernel) -> Any:
    def dim(d: str | int) -> int:
        return d if isinstance(d, int) else sizes[d]

    op = n.op
    if op == Op.VAR:
        return env[n.name]
    if op in (Op.CONST, Op.SYMBOL):
        return np.float64(n.value)
    if op == Op.ONES:
        return np.ones(dim(n.shape[0]))
    if op == Op.DELTA:
        return np.eye(dim(n.shape[0]))
    if op == Op.ZERO:
        return np.zeros(tuple(dim(d) for d in n.shape))
    if op == Op.ADD:
        return sum(a[1:], a[0])
    if op == Op.EINSUM:
        return n.coef * oe.contract(einsum_spec(n), *a)
    if op == Op.POWER:
        return np.power(a[0], a[1])
    return kernel(n)(*a)                    # FUNC, PRIM: the generated code's template


def diagnose(ir: Node, names: Sequence[str], values: Sequence[Any], sizes: Mapping[str, int],
             kernel: Kernel, failure: Exception | None = None,
             value: np.ndarray | None = None) -> EvaluationError:
    """The error for a failed evaluation of ir: the first node (from the result down,
    through arguments that are not finite) whose arguments are finite but whose value is
    not, or that raised."""
    env = dict(zip(names, values))
    vals: dict[Node, Any] = {}
    raised: dict[Node, Exception] = {}
    with np.errstate(all="ignore"):
        for n in walk(ir):
            if any(a in raised for a in n.args):
                raised[n] = next(raised[a] for a in n.args if a in raised)
                continue
            try:
                vals[n] = np.asarray(_value(n, [vals[a] for a in n.args], env, sizes, kernel),
                                     dtype=np.float64)
            except Exception as e:  # noqa: BLE001 - what failed is the diagnosis
                raised[n] = e

    def bad(n: Node) -> int:      # 3: raised, 2: NaN, 1: infinite, 0: finite
        if n in raised:
            return 3
        v = vals[n]
        return 0 if np.all(np.isfinite(v)) else (2 if np.any(np.isnan(v)) else 1)

    if not bad(ir):               # the generated code failed where the IR does not
        cause = f" ({type(failure).__name__}: {failure})" if failure is not None else ""
        return NumericalError(f"the result is not finite{cause}", "the result is not finite",
                              _printed(ir), value, overflow=failure is None)
    n = ir
    while True:
        worst = max(n.args, key=bad, default=None)
        if worst is None or not bad(worst):
            break
        n = worst
    cls, what = _what(n, [vals[a] for a in n.args], vals.get(n), raised.get(n))
    where = _printed(n)
    return cls(f"{what} in {where}", what, where, value,
               overflow=cls is NumericalError and n not in raised)


def _what(n: Node, args: list[np.ndarray], v: np.ndarray | None,
          error: Exception | None) -> tuple[type[NumericalError], str]:
    op = n.op
    name = n.name if op in (Op.FUNC, Op.PRIM) else str(op)
    if n.is_prim("inv"):
        return SingularMatrixError, "inv of a singular matrix"
    if error is not None:
        return NumericalError, f"{name} failed ({type(error).__name__}: {error})"
    if n.is_prim("logdet"):
        return DomainError, "logdet of a matrix whose determinant is not positive"
    if op in (Op.FUNC, Op.PRIM):
        for test, outside in row(name).undefined:       # the row says where it is undefined
            if np.any(test(args[0])):
                return DomainError, f"{name} of {outside}"
    if op == Op.POWER:
        base, e = np.broadcast_arrays(args[0], args[1])
        if np.any((base == 0) & (e < 0)):
            return DomainError, "division by zero" if np.all(e == -1) else \
                "a negative power of zero"
        if np.any((base < 0) & (e != np.round(e))):
            return DomainError, "sqrt of a negative number" if np.all(e == 0.5) else \
                "a fractional power of a negative number"
    kind = "infinite" if v is not None and not np.any(np.isnan(v)) else "not a number"
    noun = {"einsum": "the product", "add": "the sum", "power": "the power",
            "detd": "the derivative of det"}
    return NumericalError, f"{noun.get(name, name)} overflows ({kind})"


def _printed(n: Node) -> str:
    """The node's printed text (as answers print it); IR with no printed form (a detd
    inside) falls back to the debugging notation."""
    from .printers import render
    try:
        return render(n).text
    except Exception:  # noqa: BLE001 - a diagnosis must not fail on printing
        from .ir.debug import show
        return show(n)
