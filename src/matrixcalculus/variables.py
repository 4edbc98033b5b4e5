"""The variables of an expression as users see them: shape and declaration text, arrays checked.

Shape text ('scalar', 'n', 'm x n') and declaration text ('matrix(m,n)') are written here
only (declaration_text in language/declarations.py builds the latter).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import EvaluationError
from .language.declarations import declaration_text

if TYPE_CHECKING:
    from .language.typecheck import Typed


@dataclass(frozen=True)
class VariableInfo:
    name: str
    kind: str                        # scalar / vector / matrix / symmetric
    shape: tuple[str | int, ...]     # () for scalars, (n,) vectors, (m, n) matrices
    origin: str = "declared"         # declared / use / a loss is a scalar / spelling
    fact: str = ""                   # declared spd (kind symmetric) or simplex: its domain


def shape_text(shape: Sequence[str | int]) -> str:
    """`()` -> 'scalar', `('n',)` -> 'n', `('m', 'n')` -> 'm x n'."""
    return " x ".join(str(d) for d in shape) if shape else "scalar"


def declaration(info: VariableInfo, sep: str = ",") -> str:
    """The declaration that gives `info` back: scalar, vector(n), matrix(m,n), symmetric(n),
    spd(n), simplex(n), simplex(n,c)."""
    dims = info.shape[:1] if info.kind == "symmetric" else info.shape
    return declaration_text(info.fact or info.kind, dims, sep)


def declarations(variables: Mapping[str, VariableInfo]) -> dict[str, str]:
    """Declarations that reproduce these variables (and their dimension names) exactly."""
    return {name: declaration(info) for name, info in variables.items()}


def variables_of(typed: Typed) -> dict[str, VariableInfo]:
    """The variables of a type-checked expression, in order of appearance."""
    return {v.name: VariableInfo(v.name, v.kind, typed.shape(v.type), v.origin, v.fact)
            for v in typed.variables.values()}


def describe_variable(info: VariableInfo) -> str:
    """`x: vector(n) (spelling)`: the type, dimensions and where they came from."""
    return f"{info.name}: {declaration(info, ', ')} ({info.origin})"


def variables_line(variables: Mapping[str, VariableInfo]) -> str:
    """The line under an answer: every variable with type, dimensions and origin."""
    return "variables: " + "; ".join(describe_variable(v) for v in variables.values())


def free_dims_of(typed: Typed, variables: Mapping[str, VariableInfo]) -> tuple[str, ...]:
    """Dimensions of the expression that no variable carries (the m of `sum(ones(m))`):
    the generated function takes their sizes as arguments after the variables."""
    carried = {d for v in variables.values() for d in v.shape}
    # a product dimension's factors (m*p) are carried only by a plain axis of their own
    dims = {d for t in typed.types.values() for d in typed.ir_shape(t)}
    return tuple(sorted(d for d in dims if isinstance(d, str) and d not in carried))


def _describe(info: VariableInfo) -> str:
    return "a scalar" if info.kind == "scalar" else declaration(info)


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
                f"{name} has shape {a.shape} but {_describe(info)} was expected")
        for axis, (d, s) in enumerate(zip(info.shape, a.shape)):
            if isinstance(d, int):
                if s != d:
                    raise EvaluationError(f"{name} has shape {a.shape} but {_describe(info)} "
                                          f"was expected: axis {axis} must be {d}")
            elif d in sizes and sizes[d][0] != s:
                # "X has shape (3, 4) but matrix(n,n) with n=3 was expected"
                known, source = sizes[d]
                origin = "" if source == name else f" (dimension {d} is {known} in {source})"
                raise EvaluationError(f"{name} has shape {a.shape} but {_describe(info)} "
                                      f"with {d}={known} was expected{origin}")
            else:
                sizes.setdefault(d, (s, name))
        if info.kind == "symmetric" and not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
            raise EvaluationError(f"{name} is declared symmetric but the array is not")
        values.append(a)
    return values + list(dim_sizes.values()), \
        {**{d: s for d, (s, _) in sizes.items()}, **dim_sizes}
