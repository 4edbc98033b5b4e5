"""The Python surface: derivative(expr, wrt, vars=, order=) -> Derivative."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from . import differentiate
from .codegen import generate
from .errors import (
    EvaluationError,
    LimitError,
    MatrixCalculusError,
    UnsupportedDerivativeError,
)
from .ir.nodes import Node, walk
from .language.declarations import Declaration, is_identifier, parse_declaration
from .language.parser import parse
from .language.typecheck import Typed, typecheck
from .limits import LIMITS, deadline
from .lower import lower


@dataclass(frozen=True)
class VariableInfo:
    name: str
    kind: str                        # scalar / vector / matrix / symmetric
    shape: tuple[str | int, ...]     # () for scalars, (n,) vectors, (m, n) matrices


def _declarations(vars: Mapping[str, Any] | None) -> dict[str, Declaration]:
    out: dict[str, Declaration] = {}
    if vars is not None and not isinstance(vars, Mapping):
        raise MatrixCalculusError("vars must be a mapping of names to types, like "
                                  f"{{'A': 'matrix(m,n)'}}, not {type(vars).__name__}")
    for name, t in (vars or {}).items():
        if not isinstance(name, str) or not is_identifier(name):
            raise MatrixCalculusError(f"bad variable name {name!r} in vars")
        out[name] = t if isinstance(t, Declaration) else parse_declaration(t, name)
    return out


class _Compiled:
    """Something with IR, variables and a name that runs through generated code."""

    ir: Node
    variables: dict[str, VariableInfo]

    @property
    def func_name(self) -> str:
        return "value"

    @cached_property
    def free_dims(self) -> tuple[str, ...]:
        """Dimensions of the expression that no variable carries (the m of `sum(ones(m))`):
        the generated function takes their sizes as arguments after the variables."""
        carried = {d for v in self.variables.values() for d in v.shape}
        dims = {d for t in self.typed.types.values() for d in self.typed.shape(t)}
        return tuple(sorted(d for d in dims if isinstance(d, str) and d not in carried))

    @property
    def argument_names(self) -> list[str]:
        """The generated function's parameters: the variables, then the sizes of free_dims."""
        return list(self.variables) + [d for d in self.free_dims if d not in self.variables]

    def code(self, backend: str = "numpy", sizes: Mapping[str, int] | None = None) -> str:
        """Source of a standalone module computing this (NumPy, PyTorch or JAX).

        sizes: typical dimensions ({"n": 1000, "k": 10}), used to order the products."""
        params = [(v.name, v.shape) for v in self.variables.values()]
        try:
            return generate(self.ir, params, backend, func_name=self.func_name, sizes=sizes,
                            free_dims=self.free_dims)
        except ValueError as e:
            raise MatrixCalculusError(str(e)) from None

    def compiled(self, backend: str = "numpy", sizes: Mapping[str, int] | None = None):
        """The generated function itself, compiled (cached per backend and sizes)."""
        key = (backend, tuple(sorted((sizes or {}).items())))
        cache = self.__dict__.setdefault("_compiled_cache", {})
        if key not in cache:
            ns: dict[str, Any] = {}
            # the source holds only validated identifiers and numeric literals (codegen.emit)
            src = self.code(backend, sizes)
            exec(compile(src, f"<matrixcalculus {self.func_name}>", "exec"), ns)  # noqa: S102
            cache[key] = ns[self.func_name]
        return cache[key]

    def evaluate(self, /, **arrays: Any) -> np.ndarray:
        """The value at the given arrays (NumPy), shaped per LANGUAGE.md.  A dimension no
        variable carries (free_dims) is given by name too: evaluate(a=2.0, m=4).

        backend="dask": computed by Dask from chunked dask.arrays (a data matrix chunked
        by rows; see matrixcalculus.distributed), on client= (a dask.distributed Client)
        when given.  A variable named backend or client stays a variable."""
        backend = "numpy" if "backend" in self.variables else arrays.pop("backend", "numpy")
        client = None if "client" in self.variables else arrays.pop("client", None)
        if backend == "dask":
            if self.free_dims:
                raise EvaluationError("backend='dask' needs every dimension carried by a "
                                      f"variable; {', '.join(self.free_dims)} is not")
            from .distributed import evaluate_dask
            return evaluate_dask(self, arrays, client=client)
        if backend != "numpy" or client is not None:
            raise EvaluationError("evaluate() runs on backend='numpy' or backend='dask' "
                                  f"(client= is for dask), not {backend!r}")
        values, sizes = self._check_arrays(arrays)
        fn = self.compiled("numpy", sizes)
        with np.errstate(all="ignore"):
            out = fn(*values)
        return np.asarray(out, dtype=np.float64)

    def _check_arrays(self, arrays: Mapping[str, Any]) -> tuple[list[Any], dict]:
        return check_arrays(self.variables, arrays, self.free_dims)


def _variables(typed: Typed) -> dict[str, VariableInfo]:
    return {v.name: VariableInfo(v.name, v.kind, typed.shape(v.type))
            for v in typed.variables.values()}


class Expression(_Compiled):
    """A parsed, type-checked expression (no derivative): its shape and value."""

    def __init__(self, source: str, typed: Typed, ir: Node):
        self.source = source
        self.typed = typed
        self.ir = ir
        self.variables = _variables(typed)

    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.ir.shape)


class _Answer:
    """An answer printed from self.ir: str() and text() in the input language, latex()."""

    ir: Node

    @cached_property
    def _answer(self):
        from .printers import render
        return render(self.ir)

    def __str__(self) -> str:
        return self._answer.text

    def text(self, multiline: bool = False) -> str:
        """The answer in the input language; multiline puts each `where` on its own line
        (it still parses back)."""
        a = self._answer
        if multiline and a.tree is not None:
            from .printers.text import to_text
            return to_text(a.tree, multiline=True)
        return a.text

    def latex(self) -> str:
        return self._answer.latex

    def _repr_latex_(self) -> str:          # Jupyter
        return f"$${self.latex()}$$"


class Derivative(_Answer, _Compiled):
    """A derivative: its closed form (str, latex), shape, and evaluation."""

    def __init__(self, source: str, wrt: str, order: int, typed: Typed, expr_ir: Node,
                 wrt_ir: Node, result: Node):
        self.source = source
        self.wrt = wrt
        self.order = order
        self.typed = typed
        self.expression_ir = expr_ir
        self.wrt_ir = wrt_ir
        self.ir = result
        self.variables = _variables(typed)

    # ------------------------------------------------------------ what it is
    @property
    def shape(self) -> tuple[str | int, ...]:
        return tuple(self.ir.shape)

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

    def __repr__(self) -> str:
        return f"<Derivative d{'^' + str(self.order) if self.order > 1 else ''} of " \
               f"{self.source!r} wrt {self.wrt}: {self}>"

    def check(self, domains=None, points: int = 5, seed: int = 0,
              max_seconds: float | None = None):
        """Verify numerically against finite differences (and torch autograd when
        installed) at random points honoring `domains` ({"S": "spd", "x": "positive"}),
        for at most about max_seconds (default verify.MAX_SECONDS)."""
        from . import verify
        return _guarded(lambda: verify.check(self, domains=domains, points=points, seed=seed,
                                             max_seconds=max_seconds), self.source)

    def check_claim(self, claim: str, domains=None, points: int = 5, seed: int = 0):
        """Compare a hand-derived answer with this derivative (see check_claim)."""
        from . import claims
        return _guarded(lambda: claims.compare(self, claim, domains=domains, points=points,
                                               seed=seed), self.source)

    def hvp(self, direction: str | None = None):
        """This Hessian's product with a direction shaped like the variable (named
        `direction`, default d<wrt>), in closed form: for norm2(R - U*V')^2 wrt U,
        2*dU*V'*V.  Its code never forms the Hessian (HessianVectorProduct)."""
        from .hvp import HessianVectorProduct
        return _guarded(lambda: HessianVectorProduct(self, direction), self.source)

    def steps(self):
        """The chain-rule derivation, step by step (.text(), .latex())."""
        from .steps import derivation_steps
        return _guarded(lambda: derivation_steps(self), self.source)

    # Jupyter shows this and _Answer._repr_latex_ (duck-typed: no IPython dependency)
    def _repr_html_(self) -> str:
        import html
        shape = " x ".join(str(s) for s in self.shape) or "scalar"
        return (f"<div class='matrixcalculus'><div>{html.escape(self.kind)} of "
                f"<code>{html.escape(self.source)}</code> with respect to "
                f"<code>{html.escape(self.wrt)}</code> (shape: {html.escape(shape)})</div>"
                f"<div>$${html.escape(self.latex())}$$</div>"
                f"<pre>{html.escape(self.text(multiline=True))}</pre></div>")

    @property
    def is_matrix_form(self) -> bool:
        return self._answer.matrix_form

    @property
    def func_name(self) -> str:
        return self.kind.lower()


def check_arrays(variables: Mapping[str, VariableInfo], arrays: Mapping[str, Any],
                 free_dims: tuple[str, ...] = ()) -> tuple[list[Any], dict[str, int]]:
    """The arrays in parameter order (then the sizes of free_dims, the dimensions no
    variable carries), after checking ranks and dimensions agree, and the size of every
    symbolic dimension."""
    free = [d for d in free_dims if d not in variables]
    missing = [n for n in [*variables, *free] if n not in arrays]
    if missing:
        what = ", ".join(f"the size of dimension {n} (no variable has it)" if n in free
                         else n for n in missing)
        raise EvaluationError(f"evaluate() needs a value for {what}")
    dim_sizes: dict[str, int] = {}
    for d in free:
        v = arrays[d]
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise EvaluationError(f"the size of dimension {d} must be a positive integer, "
                                  f"not {v!r}")
        dim_sizes[d] = int(v)
    arrays = {k: v for k, v in arrays.items() if k not in dim_sizes}
    extra = [n for n in arrays if n not in variables]
    if extra:
        raise EvaluationError(f"evaluate() got unknown variable(s) {', '.join(extra)}; "
                              f"the expression's variables are {', '.join(variables)}")
    sizes: dict[str, tuple[int, str]] = {}
    values = []
    for name, info in variables.items():
        try:
            a = np.asarray(arrays[name], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise EvaluationError(f"the value for {name} is not a numeric array: {e}") from None
        if a.ndim != len(info.shape):
            raise EvaluationError(
                f"{name} is {_describe(info)} but the array given has shape {a.shape}")
        for axis, (d, s) in enumerate(zip(info.shape, a.shape)):
            if isinstance(d, int):
                if s != d:
                    raise EvaluationError(f"{name} is {_describe(info)} but the array has "
                                          f"shape {a.shape}: axis {axis} must be {d}")
            elif d in sizes and sizes[d][0] != s:
                raise EvaluationError(
                    f"dimension {d} is {sizes[d][0]} in {sizes[d][1]} but {s} in {name} "
                    f"(shape {a.shape})")
            else:
                sizes.setdefault(d, (s, f"{name} (shape {a.shape})"))
        if info.kind == "symmetric" and not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
            raise EvaluationError(f"{name} is declared symmetric but the array is not")
        values.append(a)
    return values + list(dim_sizes.values()), \
        {**{d: s for d, (s, _) in sizes.items()}, **dim_sizes}


def _describe(info: VariableInfo) -> str:
    if info.kind == "scalar":
        return "a scalar"
    dims = info.shape[:1] if info.kind == "symmetric" else info.shape
    return f"{info.kind}({', '.join(str(d) for d in dims)})"


def _guarded(fn, source: str):
    """Run fn(); the only exception that leaves is MatrixCalculusError."""
    old_limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(old_limit, 20_000))
        return fn()
    except MatrixCalculusError as e:
        raise e.with_source(source) from None
    except RecursionError:
        raise LimitError("the expression is too deeply nested to differentiate",
                         source) from None
    except MemoryError:
        raise LimitError("the derivation ran out of memory", source) from None
    except Exception as e:  # noqa: BLE001 - the contract: only MatrixCalculusError escapes
        raise MatrixCalculusError(f"internal error ({type(e).__name__}: {e}); please report "
                                  "this expression", source) from e
    finally:
        sys.setrecursionlimit(old_limit)


def _front(expr: str, vars) -> tuple[Typed, Node, dict[str, Node]]:
    decls = _declarations(vars)
    tree = parse(expr)
    typed = typecheck(tree, expr, decls)
    y, var_nodes = lower(typed)
    return typed, y, var_nodes


def expression(expr: str, *, vars: Mapping[str, Any] | None = None) -> Expression:
    """Parse and type-check an expression; evaluate it with .evaluate(**arrays)."""
    source = expr if isinstance(expr, str) else ""

    def run() -> Expression:
        with deadline():
            typed, y, _ = _front(expr, vars)
            return Expression(expr, typed, y)
    return _guarded(run, source)


def derivative(expr: str, wrt: str, *, vars: Mapping[str, Any] | None = None,
               order: int = 1) -> Derivative:
    """The order-`order` derivative of `expr` with respect to the variable `wrt`.

    vars: declarations such as {"A": "matrix(m,n)", "x": "vector(n)", "S": "symmetric(n)"};
    undeclared names get a type by spelling (LANGUAGE.md).  Raises MatrixCalculusError,
    and nothing else, on any bad input."""
    source = expr if isinstance(expr, str) else ""

    def run() -> Derivative:
        with deadline():          # LIMITS.max_seconds for the whole derivation
            return _derive(expr, wrt, vars, order)
    return _guarded(run, source)


def _derive(expr: str, wrt: str, vars, order) -> Derivative:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise UnsupportedDerivativeError(f"order must be a positive integer, got {order!r}")
    if order > LIMITS.max_order:
        raise LimitError(f"order {order} is above the limit of {LIMITS.max_order}")
    if not isinstance(wrt, str) or not is_identifier(wrt.strip()):
        raise UnsupportedDerivativeError(f"'with respect to' must be a variable name, got {wrt!r}")
    wrt = wrt.strip()
    typed, y, var_nodes = _front(expr, vars)
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
    out = Derivative(expr, wrt, order, typed, y, x, d)
    out._answer  # noqa: B018 - print now, under the time limit and inside the error guard
    return out
