"""Every function of the language, one row each (row.py says which facts a row holds).

    from matrixcalculus.ops import row, ROWS
    row("atan").d, row("atan").code["torch"], row("arctan").name == "atan"

Importing this package registers the rows' folding, shapes and symmetry with the IR
constructors (which sit below it) and checks that no row lacks a fact.
"""

from __future__ import annotations

from ..ir import build, functions
from . import contraction, elementwise, matfun, matrix
from .row import BACKENDS, TYPINGS, Row, check_rows

_ALL_ROWS: list[Row] = [*elementwise.ROWS, *matrix.ROWS, *matfun.ROWS, *contraction.ROWS]
check_rows(_ALL_ROWS)

ROWS: dict[str, Row] = {n: r for r in _ALL_ROWS if r.language for n in r.names}
"""Every name a person may call, aliases included (`arctan` is the row of `atan`); not the
rows outside the language (detd, which only evaluation IR holds)."""
_INTERNAL: dict[str, Row] = {r.name: r for r in _ALL_ROWS if not r.language}

ALL = frozenset(ROWS)
ARITY: dict[str, tuple[int, ...]] = {n: r.arity for n, r in ROWS.items()}
ELEMENTWISE = tuple(r.name for r in _ALL_ROWS if r.kind == "elementwise")


def row(name: str) -> Row:
    """The row of a name of the language, or of a primitive outside it (detd)."""
    r = ROWS.get(name)
    return r if r is not None else _INTERNAL[name]


def rows() -> list[Row]:
    """Each row once, in table order (those outside the language too)."""
    return list(_ALL_ROWS)


functions.FOLDS.update({r.name: r.fold for r in _ALL_ROWS if r.fold is not None})
functions.PRIM_SHAPE.update({r.name: r.shape for r in _ALL_ROWS if r.shape is not None})
functions.PRIM_BUILD.update({r.name: (lambda *xs, r=r: r.lower(*xs, shape=None))
                             for r in _ALL_ROWS if r.kind == "primitive"})
build.PRESERVES_SYMMETRY.update(r.name for r in _ALL_ROWS
                                if r.kind == "primitive" and r.symmetric)

__all__ = ["ROWS", "ALL", "ARITY", "ELEMENTWISE", "BACKENDS", "TYPINGS", "Row",
           "row", "rows"]
