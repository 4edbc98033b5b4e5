"""The softmax and logsumexp rows of the simplifier (ir/softmax_rules.py), along any axis
and for vectors: each row on IR, then through the language, then evaluated stably."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.special as sp
from corpus_support import runner

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir import functions as F
from matrixcalculus.ir import softmax_rules as S
from matrixcalculus.ir.nodes import walk
from matrixcalculus.ir.rewrite import Rewrite, run
from matrixcalculus.simplify import simplify

X = B.var("X", ("n", "c"))
x = B.var("x", ("n",))
c = B.var("c", ("n",))
r = B.var("r", ("c",))


def _d(expr: str, wrt: str, **extra: str) -> mc.Derivative:
    types = {"x": "vector(n)", "a": "vector(n)", "X": "matrix(n,c)", "G": "matrix(n,c)",
             "Y": "matrix(n,c)", "W": "matrix(c,c)", **extra}
    names = set(re.findall(r"[A-Za-z]\w*", expr))
    return mc.derivative(expr, wrt, vars={k: t for k, t in types.items() if k in names})


# ------------------------------------------------------------------ sum_k(softmax) = 1
@pytest.mark.parametrize("axis", [0, 1])
def test_a_softmax_summed_over_its_axis_is_one(axis):
    p = F.softmax(X, axis)
    assert simplify(F.sum_along(p, axis)) is B.ones(X.shape[1 - axis])
    assert simplify(F.sum_all(p)) is F.size([X.shape[1 - axis]])
    # times a factor not indexed by the summed axis: sum_j P[i,j]*c[i] = c[i]
    if axis == 1:
        assert simplify(B.einsum([p, c], [(0, 1), (0,)], (0,))) is c
    else:
        assert simplify(B.einsum([p, r], [(0, 1), (1,)], (1,))) is r


def test_a_softmax_summed_over_another_axis_stays():
    p = F.softmax(X, 1)
    assert S.softmax_sums_to_one(F.sum_along(p, 0)) is None
    # its axis shared with another factor: a weighted sum, not 1
    assert S.softmax_sums_to_one(B.einsum([p, r], [(0, 1), (1,)], (0,))) is None


def test_a_vector_softmax_sums_to_one():
    assert simplify(F.sum_all(F.softmax(x))) is B.const(1.0)
    assert str(_d("sum(softmax(x))", "x")) == str(_d("sum(x - x)", "x"))


# ------------------------------------------------------------------ log(softmax)
@pytest.mark.parametrize("axis", [0, 1])
def test_log_of_softmax_is_x_minus_logsumexp(axis):
    lse = S.spread(F.logsumexp(X, (axis,)), X, (axis,))
    log_p = F.func("log", F.softmax(X, axis))
    assert S.log_of_softmax(log_p) is B.sub(X, lse)
    # kept where it shortens: log(softmax(X, k)) + logsumexp(X, k) is X
    assert simplify(B.add([log_p, lse])) is X
    assert simplify(F.func("log", F.softmax(x))) is F.func("log", F.softmax(x))


def test_log_of_softmax_kept_where_x_minus_logsumexp_prints_longer():
    assert str(_d("-sum(Y.*log(softmax(X*W, 2)))", "Y")) == "-log(softmax(X*W, 2))"
    assert str(_d("-sum(Y.*log(softmax(X*W, 2)))", "W")) == \
        "X'*(softmax(X*W, 2).*sum(Y, 2) - Y)"


# ------------------------------------------------------------------ exp(x - lse)
@pytest.mark.parametrize("axis", [0, 1])
def test_exp_of_x_minus_logsumexp_is_softmax(axis):
    lse = S.spread(F.logsumexp(X, (axis,)), X, (axis,))
    assert simplify(F.func("exp", B.sub(X, lse))) is F.softmax(X, axis)
    assert str(_d(f"sum(G.*exp(X - logsumexp(X, {axis + 1})))", "G")) == \
        f"softmax(X, {axis + 1})"


def test_exp_of_x_minus_logsumexp_of_a_vector_is_softmax():
    lse = B.broadcast(F.logsumexp(x), x.shape)
    assert simplify(F.func("exp", B.sub(x, lse))) is F.softmax(x)
    assert str(_d("a'*exp(x - logsumexp(x))", "a")) == "softmax(x)"
    # over all entries of a matrix there is no softmax: it stays
    assert str(_d("sum(logsumexp(X))", "X")) == "exp(X - logsumexp(X))"


def test_exp_of_another_difference_stays():
    lse = S.spread(F.logsumexp(X, (1,)), X, (1,))
    assert S.exp_minus_logsumexp(F.func("exp", B.sub(B.var("Z", X.shape), lse))) is None
    assert S.exp_minus_logsumexp(F.func("exp", B.add([X, lse]))) is None


# ------------------------------------------------------------------ the composites
def test_the_logsumexp_composite_re_folds():
    # corpus v2-lse-rows-composite; v1 printed diag(1./(exp(X)*ones(c)))*exp(X)
    assert str(_d("sum(log(sum(exp(X), 2)))", "X")) == "softmax(X, 2)"
    assert str(_d("sum(log(sum(exp(X), 1)))", "X")) == "softmax(X, 1)"
    assert str(_d("log(sum(exp(x)))", "x")) == "softmax(x)"
    for axis in (0, 1):
        assert simplify(F.func("log", F.sum_along(F.func("exp", X), axis))) is \
            F.logsumexp(X, (axis,))
    assert simplify(F.func("log", F.sum_all(F.func("exp", X)))) is F.logsumexp(X)
    # 2*sum: log 2 + logsumexp, not re-folded
    assert S.logsumexp_of_log_sum_exp(F.func("log", B.scale(2.0, F.sum_all(F.func("exp", x))))) \
        is None


def test_exp_over_its_sum_re_folds_to_softmax():
    assert str(_d("sum(G.*(exp(X)./sum(exp(X), 2)))", "G")) == "softmax(X, 2)"
    assert str(_d("sum(G.*(exp(X)./sum(exp(X), 1)))", "G")) == "softmax(X, 1)"
    assert str(_d("a'*(exp(x)/sum(exp(x)))", "x")) == "softmax(x).*(a - a'*softmax(x))"
    # summing the softmax it makes gives a constant
    assert str(_d("sum(exp(X)./sum(exp(X), 2))", "X")) == str(_d("sum(X - X)", "X"))
    e = F.func("exp", X)
    ratio = F.hadamard(e, F.recip(S.spread(F.sum_along(e, 1), X, (1,))))
    assert simplify(ratio) is F.softmax(X, 1)
    # exp(X) over the sum of its columns, taken along the other axis: no softmax
    other = F.hadamard(e, F.recip(S.spread(F.sum_along(e, 0), X, (0,))))
    assert F.softmax(X, 1) not in walk(simplify(other))


@pytest.mark.parametrize("expr,wrt,axis", [("sum(log(sum(exp(X), 2)))", "X", 1),
                                           ("sum(G.*(exp(X)./sum(exp(X), 1)))", "G", 0),
                                           ("sum(G.*exp(X - logsumexp(X, 2)))", "G", 1)])
def test_re_folded_answers_do_not_overflow(expr, wrt, axis):
    rng = np.random.default_rng(0)
    Xv = 1000 * rng.standard_normal((3, 4))      # exp(X) overflows; softmax does not
    d = _d(expr, wrt)
    values = {"X": Xv, "G": rng.standard_normal((3, 4))}
    got = d.evaluate(**{k: v for k, v in values.items() if k in d.variables})
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, sp.softmax(Xv, axis=axis), rtol=1e-12, atol=1e-300)


# ------------------------------------------------------------------ attention with a mask
_ATT = {"Q": "matrix(n,d)", "K": "matrix(m,d)", "V": "matrix(m,e)", "G": "matrix(n,e)"}


@pytest.mark.parametrize("wrt", ["Q", "K", "V"])
def test_attention_with_a_constant_mask_has_the_same_form(wrt):
    plain = mc.derivative("sum(G.*(softmax(Q*K'/sqrt(d), 2)*V))", wrt, vars=_ATT)
    masked = mc.derivative("sum(G.*(softmax(Q*K'/sqrt(d) + M, 2)*V))", wrt,
                           vars={**_ATT, "M": "matrix(n,m)"})
    assert masked.check().ok
    # the same answer with the mask inside P: substituting P gives the masked IR itself
    (p,) = [n for n in walk(plain.ir) if n.is_prim("softmax")]
    (pm,) = [n for n in walk(masked.ir) if n.is_prim("softmax")]
    assert pm.args[0].op == "add" and p.args[0] in pm.args[0].args
    assert run(plain.ir, [Rewrite("mask", {"prim"}, lambda n: pm if n is p else None)]) \
        is masked.ir
    if wrt == "V":
        assert str(masked) == "softmax(Q*K'/sqrt(d) + M, 2)'*G"


def test_log_of_softmax_is_computed_stably():
    # printed as -log(softmax(X*W, 2)); computed literally it underflows to -inf where a
    # row's logits are far apart: the code computes X*W - logsumexp(X*W, 2)
    v = {"X": "matrix(n,d)", "W": "matrix(d,c)", "Y": "matrix(n,c)"}
    d = mc.derivative("-sum(Y.*log(softmax(X*W, 2)))", "Y", vars=v)
    assert str(d) == "-log(softmax(X*W, 2))"
    rng = np.random.default_rng(0)
    X, W, Y = 100 * rng.standard_normal((3, 6)), rng.standard_normal((6, 7)), rng.random((3, 7))
    Z = X @ W
    want = -(Z - sp.logsumexp(Z, axis=1, keepdims=True))
    for backend in ("numpy", "torch", "jax", "dask"):
        got = np.asarray(runner(d, backend)(X=X, W=W, Y=Y))
        np.testing.assert_allclose(got, want, rtol=1e-10)
    assert np.isfinite(d.value.evaluate(X=X, W=W, Y=Y))


# ------------------------------------------------------------------ spread labels kept
_SQ = {"S": "matrix(n,n)", "C": "matrix(n,n)", "X": "matrix(n,m)", "D": "matrix(m,m)"}


@pytest.mark.parametrize("expr", ["sum(C.*(exp(S)'*(ones(n,n)./sum(exp(S), 2))))",
                                  "sum(C.*((ones(n,n)./sum(exp(S), 2))'*exp(S)))",
                                  "sum(C.*((ones(n,n)./sum(exp(S), 1))*exp(S)'))",
                                  "sum(D.*(exp(X)'*(ones(n,m)./sum(exp(X), 2))))"])
def test_a_re_fold_keeps_the_label_of_the_sums_spread_axis(expr):
    # the denominator's ones axis carried a label no exp(x) factor had: deleting the
    # factor lost it (internal error "an output label must occur in an operand")
    names = set(re.findall(r"[A-Za-z]\w*", expr))
    v = {k: t for k, t in _SQ.items() if k in names}
    d = mc.derivative(expr, "D" if "D" in v else "C", vars=v)
    assert d.check().ok
    assert any(n.is_prim("softmax") for n in walk(d.ir)), str(d)
    assert mc.derivative(expr, "S" if "S" in v else "X", vars=v).check().ok


# ------------------------------------------------------------------ a row of the language
def test_the_lift_reads_that_a_reduction_along_axis_1_is_a_row(monkeypatch):
    # logsumexp(X, 1) is 1 x c in the language, an IR vector is a column: the row's fact
    # reduces_along, not the lift, says it prints transposed
    import dataclasses

    from matrixcalculus import ops

    assert [r.name for r in ops.rows() if r.reduces_along] == ["logsumexp"]
    v = {"X": "matrix(n,c)", "x": "vector(n)"}
    d = mc.derivative("sum(logsumexp(X, 1))*sum(x)", "x", vars=v)
    assert str(d) == "ones(n, c)*logsumexp(X, 1)'"
    assert d.check().ok
    monkeypatch.setitem(ops.ROWS, "logsumexp",
                        dataclasses.replace(ops.row("logsumexp"), reduces_along=False))
    d = mc.derivative("sum(logsumexp(X, 1))*sum(x) + 0", "x", vars=v)
    assert "logsumexp(X, 1)'" not in str(d)
