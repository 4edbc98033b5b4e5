"""Raise IR back to matrix notation: einsum index patterns -> products, transposes,
traces, diag, Hadamard products, sums (DESIGN.md: "Raising is a folder, layered").

Layers, each reading only the ones above it (expansion.py: axis-reduced columns, for
algebra.py and combine.py):
  pieces.py    the vocabulary: shapes of ASTs, Piece (a factor with its labels), NoMatrixForm
  algebra.py   AST algebra as named rows (`1*b -> b`, `v'*ones -> sum(v)`, number folding,
               transposes pushed inwards) on one driver
  combine.py   two factors by their index pattern (the table in ir/patterns.py, shared with
               the code generator): `ij,jk->ik` is `A*B`, `i,j->ij` is `a*b'`, ...
  search.py    the grouping search: which factors to multiply first (all ways, or greedy)
  products.py  an einsum's factors and its form
  lift.py      the lift, IR node -> AST (Raiser), and to_matrix_form

Where no matrix form exists (a product that needs more than two free indices),
NoMatrixForm is raised and the caller prints index notation.
"""

from .lift import Raiser, to_matrix_form
from .pieces import COLUMN, MATRIX, SCALAR, NoMatrixForm, Piece, Shape

__all__ = ["COLUMN", "MATRIX", "SCALAR", "NoMatrixForm", "Piece", "Raiser", "Shape",
           "to_matrix_form"]
