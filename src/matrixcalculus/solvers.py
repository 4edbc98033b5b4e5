"""From a loss to a solution: scipy.optimize.minimize fed the derived derivatives.

    minimize(expr, wrt, data=, x0=, vars=, method=) -> scipy's OptimizeResult

An existing solver, not a home-made one: SciPy gets the value and the gradient from one
generated function (valgrad.py: the forward pass shared), and a Newton method the
Hessian (trust-exact, dogleg: the dense closed form, p x p for a vector of p) or the
closed-form Hessian-vector product (Newton-CG, trust-ncg, trust-krylov, trust-constr:
hvp.py, which never forms the Hessian).  The code is generated for the data's sizes, so
the products are ordered for them (X'*(s.*(X*v)), never X*X').

The language has no `positive` type (LANGUAGE.md): bounds are SciPy's, passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .derivation import derive
from .errors import EvaluationError, MatrixCalculusError
from .hvp import HessianVectorProduct
from .valgrad import by_keyword, value_and_gradient
from .variables import VariableInfo, check_arrays

# how each SciPy method takes second-order information
DENSE_HESSIAN = frozenset({"trust-exact", "dogleg"})
HESSIAN_PRODUCT = frozenset({"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"})
FIRST_ORDER = frozenset({"l-bfgs-b", "bfgs", "cg", "tnc", "slsqp"})
BOUNDED = frozenset({"l-bfgs-b", "tnc", "slsqp", "trust-constr"})   # SciPy's that take bounds


def start_shape(info: VariableInfo, variables: Mapping[str, VariableInfo],
                data: Mapping[str, Any]) -> tuple[int, ...]:
    """The variable's shape, each dimension's size read from a data array that has it."""
    known: dict[str, int] = {}
    for name, v in variables.items():
        if name in data and name != info.name:
            for d, s in zip(v.shape, np.shape(data[name])):
                known.setdefault(str(d), int(s))
    for d in info.shape:                 # a free dimension's size given as data (n=100)
        size = data.get(d) if isinstance(d, str) and d not in known else None
        # an int, or a whole float (the CLI reads n=100 as a number)
        if isinstance(size, (int, float, np.integer, np.floating)) and float(size).is_integer() \
                and size > 0:
            known[d] = int(size)
    missing = [str(d) for d in info.shape if not isinstance(d, int) and str(d) not in known]
    if missing:
        raise EvaluationError(f"no data array gives the size of {', '.join(missing)}: "
                              f"give x0, the start for {info.name}")
    return tuple(d if isinstance(d, int) else known[str(d)] for d in info.shape)


def minimize(expr: str, wrt: str, *, data: Mapping[str, Any], x0: Any = None,
             vars: Mapping[str, Any] | None = None, method: str = "L-BFGS-B",
             bounds: Any = None, tol: float | None = None,
             options: Mapping[str, Any] | None = None) -> Any:
    """scipy.optimize.minimize of the scalar expr over the variable wrt (data: every other
    variable's array; x0: the start, default zeros), with the derived gradient and, as the
    method takes it, the Hessian or its product with a vector.  The result's x is shaped
    like the variable (unguarded, no time limit: api.py)."""
    import scipy.optimize

    if not isinstance(method, str) or method.lower() not in \
            DENSE_HESSIAN | HESSIAN_PRODUCT | FIRST_ORDER:
        raise MatrixCalculusError(
            f"method {method!r}: choose one of L-BFGS-B, trust-exact, trust-ncg, Newton-CG, "
            "trust-krylov, dogleg, trust-constr, BFGS, CG, TNC, SLSQP")
    kind = method.lower()
    if bounds is not None and kind not in BOUNDED:       # SciPy would only warn, and ignore them
        raise MatrixCalculusError(f"{method} takes no bounds: use L-BFGS-B, TNC, SLSQP or "
                                  "trust-constr")
    if not isinstance(data, Mapping):
        raise MatrixCalculusError("data must be a mapping of variable names to arrays")
    fused = value_and_gradient(expr, wrt, vars)
    d = fused.gradient
    if d.expression_ir.rank != 0:
        raise MatrixCalculusError(f"minimize needs a scalar expression; {expr} has shape "
                                  f"{d.expression_shape}")
    if wrt in data:
        raise MatrixCalculusError(f"{wrt} is the variable minimized over: give its start as "
                                  "x0, not in data")
    info = d.variables[wrt]
    shape = start_shape(info, d.variables, data) if x0 is None else np.shape(x0)
    start = np.zeros(shape) if x0 is None else np.asarray(x0, dtype=np.float64)
    values, sizes = check_arrays(d.variables, {**data, wrt: start}, d.free_dims)
    k = list(d.variables).index(wrt)
    fg = by_keyword(fused.compiled("numpy", sizes), fused.argument_names)

    def at(x: np.ndarray) -> list[Any]:
        vals = list(values)
        vals[k] = np.reshape(x, shape)
        return vals

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = fg(*at(x))
        return float(f), np.asarray(g, dtype=np.float64).ravel()

    extra: dict[str, Any] = {}
    if kind in DENSE_HESSIAN:
        d2 = derive(expr, wrt, vars, 2)
        hess = by_keyword(d2.compiled("numpy", sizes), d2.argument_names)
        size = int(np.prod(shape))
        extra["hess"] = lambda x: np.reshape(hess(*at(x)), (size, size))
    elif kind in HESSIAN_PRODUCT:
        h = HessianVectorProduct(derive(expr, wrt, vars, 2))
        hv = by_keyword(h.compiled("numpy", sizes), h.argument_names)
        n = len(d.variables)

        def hessp(x: np.ndarray, p: np.ndarray) -> np.ndarray:
            vals = at(x)
            return np.asarray(hv(*vals[:n], np.reshape(p, shape), *vals[n:]),
                              dtype=np.float64).ravel()
        extra["hessp"] = hessp
    try:
        res = scipy.optimize.minimize(fun, start.ravel(), jac=True, method=method,
                                      bounds=bounds, tol=tol, options=dict(options or {}),
                                      **extra)
    except (ValueError, TypeError) as e:     # SciPy refusing its arguments (bounds, options)
        raise MatrixCalculusError(f"scipy.optimize.minimize: {e}") from None
    res.x = np.reshape(res.x, shape)
    return res
