"""The index patterns of one- and two-factor products, one table read by the raiser
(`ij,jk->ik` is `A*B`) and by the code generator (`@`, a broadcast, or `einsum`).

A pattern depends only on which labels the factors carry and which of them are kept; the
orientation (`ij,kj` against `ij,jk`) is the reader's business: a transpose is free in
matrix notation, and in code it is a view.  Labels are anything hashable (the IR's ints, the
code generator's letters).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum


class Pair(StrEnum):
    """How two factors multiply (the example's matrix form in brackets)."""

    SCALAR = "scalar"            # ,ij->ij     a number times anything    [s*X]
    MATMUL = "matmul"            # ij,jk->ik   one label summed, the rest kept
    #                              ij,j->i     [A*x]      i,i->    [a'*b]       [A*B]
    HADAMARD = "hadamard"        # ij,ij->ij   the same labels, all kept  [A.*B]  i,i->i [a.*b]
    SUMMED_HADAMARD = "summed"   # ij,ij->     the same labels, some summed: [tr(A'*B)],
    #                              ij,ij->i    [diag(A*B')]
    OUTER = "outer"              # i,j->ij     no label shared, none summed  [a*b']
    DIAG = "diag"                # i,ij->ij    a vector along one axis of a matrix:
    #                                          [diag(a)*B], a broadcast; δ with a vector
    EINSUM = "einsum"            # anything else: no matrix form, only einsum in code


class Single(StrEnum):
    """What one factor becomes (the example's matrix form in brackets)."""

    SAME = "same"                # ij->ij      [X]
    TRANSPOSE = "transpose"      # ij->ji      [X']
    SUM = "sum"                  # ij->, i->   [sum(X)]
    TRACE = "trace"              # ii->        [tr(X)]
    DIAGONAL = "diagonal"        # ii->i       [diag(X)]
    EINSUM = "einsum"            # anything else


def pair(x: Sequence, y: Sequence, kept: Collection) -> Pair:
    """The pattern of x[...]*y[...] keeping the labels `kept` (the result's labels; others
    of x and y are summed).  Only SCALAR, HADAMARD and SUMMED_HADAMARD have no limit on the
    factors' orders; the others are about vectors and matrices."""
    if not x or not y:
        return Pair.SCALAR
    sx, sy = set(x), set(y)
    if len(sx) < len(x) or len(sy) < len(y):      # X[i,i]: a diagonal first
        return Pair.EINSUM
    shared = sx & sy
    if sx == sy:
        if all(lab in kept for lab in sx):
            return Pair.HADAMARD
        return Pair.MATMUL if len(sx) == 1 else Pair.SUMMED_HADAMARD
    if len(x) > 2 or len(y) > 2:
        return Pair.EINSUM
    rest_kept = all(lab in kept for lab in sx ^ sy)
    if not shared:
        return Pair.OUTER if rest_kept else Pair.EINSUM
    if len(shared) == 1 and rest_kept:
        (s,) = shared
        if s not in kept:
            return Pair.MATMUL
        if len(x) + len(y) == 3:      # i,ij->ij
            return Pair.DIAG
    return Pair.EINSUM


def single(x: Sequence, out: Sequence) -> Single:
    """The pattern of x[...] -> [out] (out in its order)."""
    if tuple(x) == tuple(out):
        return Single.SAME
    if len(x) == 2 and tuple(x) == tuple(out)[::-1]:
        return Single.TRANSPOSE
    distinct = len(set(x)) == len(x)
    if not out and distinct:
        return Single.SUM
    if len(x) == 2 and not distinct:
        return Single.TRACE if not out else (Single.DIAGONAL if len(out) == 1 else
                                             Single.EINSUM)
    return Single.EINSUM
