"""Facts from declarations the engine uses (issue 14, LANGUAGE.md "Variables and their
types"): sum(y) = 1 for y: simplex(n) and sum(Y, 2) = ones(n) for Y: simplex(n, c), folded by
the einsum constructor (ir/facts.py) wherever such a sum arises, derivatives included; not
for a variable differentiated by (its derivative is the unconstrained one, and says so)."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir.nodes import walk

Y1 = {"y": "simplex(n)", "z": "vector(n)"}
YC = {"Y": "simplex(n, c)", "X": "matrix(n, d)", "W": "matrix(d, c)"}


def test_cross_entropy_with_a_probability_vector():
    d = mc.derivative("-sum(y.*log(softmax(z)))", "z", vars=Y1)
    assert str(d) == "softmax(z) - y"
    r = d.check()
    assert r.ok and r.max_rel_error < 1e-6, r.message
    assert d.notes == []
    # without the fact the sum stays
    plain = mc.derivative("-sum(y.*log(softmax(z)))", "z", vars={"y": "vector(n)"})
    assert "sum(y)" in str(plain)
    # the Hessian: diag(p) - p*p', its product with a direction, both checked
    h = mc.derivative("-sum(y.*log(softmax(z)))", "z", vars=Y1, order=2)
    assert str(h) == "diag(p) - p*p' where p = softmax(z)" and h.check().ok
    assert h.hvp().check().ok


def test_softmax_regression_with_probability_rows():
    d = mc.derivative("-sum(Y.*log(softmax(X*W, 2)))", "W", vars=YC)
    assert str(d) == "X'*(softmax(X*W, 2) - Y)"
    r = d.check()
    assert r.ok and r.max_rel_error < 1e-6, r.message
    claim = mc.check_claim("-sum(Y.*log(softmax(X*W, 2)))", "W", "X'*(softmax(X*W, 2) - Y)",
                           vars=YC)
    assert claim.kind == "equal", claim


@pytest.mark.parametrize("expr, folded", [
    ("sum(y)", "1"),
    ("ones(n)'*y", "1"),
    ("y'*ones(n)", "1"),
    ("sum(y)*z", "z"),
    ("sum(Y, 2)", "ones(n)"),
    ("Y*ones(c)", "ones(n)"),
    ("sum(Y', 1)'", "ones(n)"),
])
def test_sums_fold(expr, folded):
    e = mc.expression(expr, vars={**Y1, **YC})
    want = mc.expression(folded, vars={**Y1, **YC})
    assert e.ir is want.ir


@pytest.mark.parametrize("expr", ["sum(Y, 1)", "y'*y", "sum(y.*z)", "sum(Y.*Y, 2)", "Y'*z"])
def test_other_sums_stay(expr):
    # only a simplex's own last axis summed by it alone is 1: column sums, squares and
    # weighted sums are not
    e = mc.expression(expr, vars={**Y1, **YC})
    assert e.ir.op == "einsum" and any(a.op == "var" for a in walk(e.ir))


def test_sum_of_all_entries_counts_rows():
    e = mc.expression("sum(sum(Y))", vars={"Y": "simplex(n, c)"})
    np.testing.assert_allclose(e.evaluate(Y=np.full((3, 2), 0.5)), 3.0)
    d = mc.derivative("sum(sum(Y))*x'*x", "x", vars={"Y": "simplex(n, c)"})
    assert "sum(Y" not in str(d) and d.check().ok


def test_fold_after_differentiation():
    # the derivative holds sum(y) (times the softmax) only after differentiating: folded
    # where it arises, by the constructor that builds the product
    d = mc.derivative("sum(y)*logsumexp(z) - y'*z", "z", vars=Y1)
    assert str(d) == "softmax(z) - y" and d.check().ok
    d = mc.derivative("sum(Y, 2)'*log(sum(exp(X*W), 2)) - sum(Y.*(X*W))", "W", vars=YC)
    assert str(d) == "X'*(softmax(X*W, 2) - Y)" and d.check().ok


def test_the_constructor_reads_the_fact():
    y = B.var("y", ("n",), fact="simplex")
    Y = B.var("Y", ("n", "c"), fact="simplex")
    assert y.fact == "simplex" and B.var("y", ("n",)).fact == ""
    assert B.einsum([y], [(0,)], ()) is B.const(1.0)
    assert B.einsum([Y], [(0, 1)], (0,)) is B.ones("n")
    assert B.einsum([Y], [(0, 1)], (1,)).op == "einsum"              # column sums stay
    z = B.var("z", ("n",))
    assert B.einsum([y, z], [(0,), (1,)], (1,)) is z                 # sum(y)*z = z
    assert set(B.einsum([y, z], [(0,), (0,)], ()).args) == {y, z}   # y'*z stays


@pytest.mark.parametrize("rows", [False, True])
def test_wrt_a_simplex_is_unconstrained(rows):
    decl = {"Y": "simplex(n, c)"} if rows else {"y": "simplex(n)"}
    name = "Y" if rows else "y"
    expr = "sum(sum(Y, 2).^2) + sum(sum(A.*Y))" if rows else "sum(y)^2 + a'*y"
    d = mc.derivative(expr, name, vars=decl)
    # sum(y) = 1 is not used for the variable differentiated by: the unconstrained gradient
    assert "sum(" in str(d)
    assert d.check().ok
    [note] = d.notes
    assert note.startswith(f"{name} is a simplex") and "unconstrained" in note
    assert "project it onto" in note
    inputs = {name: np.full((3, 4) if rows else (3,), 0.25 if rows else 1 / 3)}
    inputs["A" if rows else "a"] = np.zeros((3, 4) if rows else (3,))
    want = 2 * np.ones((3, 4)) if rows else 2 * np.ones(3)   # 2*sum(.) at a simplex point
    np.testing.assert_allclose(d.evaluate(**inputs), want)


def test_mixed_and_hessian_wrt_a_simplex():
    d = mc.derivative("-sum(y.*log(softmax(z)))", ["z", "y"], vars=Y1)
    assert d.check().ok and len(d.notes) == 1
    h = mc.derivative("-sum(y.*log(y))", "y", vars=Y1, order=2)
    assert str(h) == "-diag(1./y)" and h.check().ok and h.hvp().check().ok
