"""A value with its gradient (and Hessian) in one generated function: fAndG.

    value_and_gradient(expr, wrt, vars, order) -> ValueAndGrad
        .evaluate(**arrays) -> (value, gradient[, hessian])     .code(backend)

The expression's IR and its derivatives' IR are emitted as the roots of one function
(codegen's tuple of roots): a node they share, the forward pass's sigmoid(X*w) that the
gradient reuses, is a temporary computed once, so the pair costs no more than the gradient.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from .compiled import Compiled
from .derivation import Derivation, derive
from .errors import MatrixCalculusError
from .ir.nodes import Node
from .variables import check_arrays

FUNC_NAMES = {1: "value_and_grad", 2: "value_grad_hess"}


def by_keyword(fn: Callable[..., Any], names: Sequence[str]) -> Callable[..., Any]:
    """fn, a generated function, called with the values of `names` (its argument_names) in
    order but passed by keyword: generated parameters are keyword-only, so no caller can
    swap two same-shaped arrays by position.  A name the generator renamed (a keyword,
    `lambda` -> `lambda_`) is matched to the parameters left, in order."""
    params = list(inspect.signature(fn).parameters)
    left = [p for p in params if p not in names]
    keys = [n if n in params else left.pop(0) for n in names]

    def call(*values: Any) -> Any:
        return fn(**dict(zip(keys, values)))
    return call


class ValueAndGrad(Compiled):
    """The value of an expression and its derivatives wrt one variable up to `order`, as
    one function: evaluate() returns (value, gradient) or (value, gradient, hessian)."""

    def __init__(self, derivatives: Sequence[Derivation]):
        self.derivatives = tuple(derivatives)
        d = self.derivatives[0]
        self.source = d.source
        self.wrt = d.wrt
        self.order = len(self.derivatives)
        self.typed = d.typed
        self.notes = d.notes
        value_shape = d.typed.shape(d.typed.type_of(d.typed.root))
        roots = (d.expression_ir, *(x.eval_ir for x in self.derivatives))
        super().__init__(roots, d.variables, d.free_dims, FUNC_NAMES[self.order],  # type: ignore[arg-type]
                         out_shape=(value_shape, *(x.out_shape for x in self.derivatives)))

    @property
    def roots(self) -> tuple[Node, ...]:
        return self.ir  # type: ignore[return-value]

    @cached_property
    def value(self) -> Compiled:
        """The expression alone, as a function of the same arguments."""
        return self.derivatives[0].value

    @property
    def gradient(self) -> Derivation:
        return self.derivatives[0]

    @property
    def hessian(self) -> Derivation | None:
        return self.derivatives[1] if self.order > 1 else None

    # what the generated module says about itself (compiled.Compiled.code_doc)
    def code_what(self) -> str:
        what = "value and gradient" if self.order == 1 else "value, gradient and Hessian"
        return f"{what} of {' '.join(self.source.split())} with respect to {self.wrt}"

    def code_answer(self) -> str:
        return "\n".join(f"{k}: {d}" for k, d in zip(("gradient", "Hessian"),
                                                      self.derivatives))

    def code_returns(self) -> str:
        return "(value, gradient" + (", Hessian)" if self.order > 1 else ")")

    def __repr__(self) -> str:
        what = "value, gradient" + (", hessian" if self.order > 1 else "")
        return f"<ValueAndGrad ({what}) of {self.source!r} wrt {self.wrt}>"

    def evaluate(self, /, **arrays: Any) -> tuple[np.ndarray, ...]:  # type: ignore[override]
        """(value, gradient[, hessian]) at the given arrays (NumPy), as float64 arrays; a
        value that is not finite raises the NumericalError that evaluating it alone gives
        (what failed, where)."""
        values, sizes = check_arrays(self.variables, arrays, self.free_dims)
        fn = by_keyword(self.compiled("numpy", sizes), self.argument_names)
        try:
            with np.errstate(all="ignore"):
                out = tuple(np.asarray(x, dtype=np.float64) for x in fn(*values))
        except Exception:  # noqa: BLE001 - evaluated apart below, which says what failed
            out = None
        if out is not None and all(np.all(np.isfinite(x)) for x in out):
            return out
        # the diagnosis (or an overflow's infinity, returned as evaluate() returns it)
        return (self.value.evaluate(**arrays), *(d.evaluate(**arrays)
                                                 for d in self.derivatives))


def value_and_gradient(expr: str, wrt: str, vars: Mapping[str, Any] | None,
                       order: int = 1) -> ValueAndGrad:
    """The value and the derivatives of order 1..order (1 or 2) of expr wrt the variable
    wrt (unguarded, no time limit: api.py)."""
    if not isinstance(wrt, str):
        raise MatrixCalculusError("value_and_grad differentiates by one variable: give its "
                                  f"name, not {wrt!r}")
    if order not in (1, 2):
        raise MatrixCalculusError(f"value_and_grad gives the gradient (order=1) or the "
                                  f"gradient and the Hessian (order=2), not order={order!r}")
    return ValueAndGrad([derive(expr, wrt, vars, k) for k in range(1, order + 1)])

