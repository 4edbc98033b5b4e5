"""The index-pattern table (ir/patterns.py) that the raiser and the code generator share,
and the named rows of the raiser's AST algebra."""

from __future__ import annotations

import pytest

from matrixcalculus.ir.patterns import Pair, Single, pair, single
from matrixcalculus.raising import algebra


@pytest.mark.parametrize("spec, kind", [
    (",ij->ij", Pair.SCALAR), (",ii->", Pair.SCALAR),
    ("ij,jk->ik", Pair.MATMUL), ("ij,j->i", Pair.MATMUL), ("i,i->", Pair.MATMUL),
    ("ij,kj->ik", Pair.MATMUL),
    ("i,i->i", Pair.HADAMARD), ("ij,ji->ij", Pair.HADAMARD), ("ijk,ijk->ijk", Pair.HADAMARD),
    ("ij,ij->", Pair.SUMMED_HADAMARD), ("ij,ij->i", Pair.SUMMED_HADAMARD),
    ("i,j->ij", Pair.OUTER), ("ij,k->kij", Pair.OUTER),
    ("i,ij->ij", Pair.DIAG), ("ij,j->ji", Pair.DIAG),
    ("ij,jk->ijk", Pair.EINSUM), ("ij,jk->i", Pair.EINSUM), ("i,j->i", Pair.EINSUM),
    ("ii,i->i", Pair.EINSUM), ("ijk,kl->ijl", Pair.EINSUM),
])
def test_pair_patterns(spec, kind):
    ins, out = spec.split("->")
    x, y = ins.split(",")
    assert pair(x, y, out) is kind
    assert pair(tuple(x), tuple(y), set(out)) is kind      # IR labels: tuples and sets


@pytest.mark.parametrize("spec, kind", [
    ("ij->ij", Single.SAME), ("ij->ji", Single.TRANSPOSE), ("ij->", Single.SUM),
    ("i->", Single.SUM), ("ii->", Single.TRACE), ("ii->i", Single.DIAGONAL),
    ("ij->i", Single.EINSUM), ("ijk->kji", Single.EINSUM),
])
def test_single_patterns(spec, kind):
    x, out = spec.split("->")
    assert single(x, out) is kind


def test_algebra_rows_are_named_once():
    tables = (algebra.PRODUCT_ROWS, algebra.TRANSPOSE_ROWS, algebra.PUSH_ROWS)
    names = [r.name for t in tables for r in t.rows]
    assert len(names) == len(set(names))
    assert algebra.MUL_ROWS.rows[-len(algebra.PRODUCT_ROWS.rows):] == algebra.PRODUCT_ROWS.rows
