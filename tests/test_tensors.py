"""Tensors and einsum in the language (issue 15): declarations, typing, errors with a caret,
einsum as the IR's own product, and a random differential test against torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
from tensor_randexpr import TensorGenerator, autograd

import matrixcalculus as mc

T3 = {"T": "tensor(n,d,h)", "P": "tensor(n,d,h)"}
LONG_EXAMPLES = 5_000        # pytest --long (issue 15: 5,000 expressions, 0 failures)


def test_einsum_is_the_product():
    a = mc.expression('einsum("ij,jk->ik", A, B)', vars={"A": "matrix(m,n)", "B": "matrix(n,k)"})
    b = mc.expression("A*B", vars={"A": "matrix(m,n)", "B": "matrix(n,k)"})
    assert a.ir is b.ir
    assert mc.expression("einsum(ij,jk->ik, A, B) - A*B").ir.op == "zero"


def test_tensor_declarations():
    d = mc.derivative("sum(P.*sum(T, 2))", "T", vars=T3)
    assert d.shape == ("n", "d", "h") and d.variables["T"].kind == "tensor"
    assert mc.derivative("sum(x)", "x", vars={"x": "tensor(n)"}).variables["x"].kind == "vector"
    assert mc.derivative("sum(X)", "X", vars={"X": "tensor(m, n)"}).variables["X"].kind \
        == "matrix"


def test_undeclared_operand_takes_its_terms_order():
    d = mc.derivative("sum(einsum(ijk,k->ij, T, x))", "T")
    assert d.variables["T"].kind == "tensor" and len(d.shape) == 3
    assert d.variables["T"].origin == "use"


@pytest.mark.parametrize("expr,caret,needle", [
    ('einsum("ij,jk->ik", A)', 'ij,jk->ik', "2 input terms but 1 operand follows"),
    ('einsum("ij,jk", A, B)', "ij,jk", "need '->'"),
    ("einsum(ij,jk, A, B)", "ij", "'->' is missing"),
    ('einsum("i1,jk->ik", A, B)', "1", "labels are letters"),
    ('einsum("ijk,jk->ik", A, B)', "ijk", "3 labels"),
    ('einsum("ij,jk->ik", A, C)', "j", "label 'j' has two sizes"),
    ('einsum("ij,jk->iz", A, B)', "z", "in no input term"),
    ("T*A", "T*A", "use einsum"), ("T'", "T'", "use einsum"), ("tr(T)", "tr(T)", "use einsum"),
    ("det(T)", "det(T)", "use einsum"), ("inv(T)", "inv(T)", "use einsum"),
    ("diag(T)", "diag(T)", "use einsum"), ("sum(T, 4)", "sum(T, 4)", "axes are 1 to 3"),
    ("T + sum(T, 2)'", "sum(T, 2)'", "use einsum"),
])
def test_bad_einsum_input(expr, caret, needle):
    vars_ = {"A": "matrix(m,n)", "B": "matrix(n,k)", "C": "matrix(p,k)", **T3}
    vars_ = {k: v for k, v in vars_.items() if k in expr}
    with pytest.raises(mc.MatrixCalculusError) as info:
        mc.derivative(expr, next(iter(vars_)), vars=vars_)
    e = info.value
    assert needle in e.message, e.message
    assert expr[e.pos:e.end] == caret, (expr[e.pos:e.end], str(e))


def test_diagonals_and_placed_diagonals():
    x = np.random.default_rng(0).standard_normal((3, 3))
    d = mc.expression('einsum("ii->i", A)', vars={"A": "matrix(3,3)"})
    np.testing.assert_allclose(d.evaluate(A=x), np.diag(x))
    v = x[0]
    e = mc.expression('einsum("i->ii", v)', vars={"v": "vector(3)"})
    np.testing.assert_allclose(e.evaluate(v=v), np.diag(v))


def test_random_tensor_expressions_match_autograd(long_mode, long_examples):
    n = (long_examples or LONG_EXAMPLES) if long_mode else 40
    failures = []
    for seed in range(n):
        c = TensorGenerator(seed).case()
        d = mc.derivative(c.text, c.wrt, vars=c.vars)
        x = c.inputs(seed)
        got = np.asarray(d.evaluate(**x))
        want = autograd(c, x)
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-7, atol=1e-9):
            failures.append((seed, c.text, c.wrt))
        elif d.is_matrix_form:       # the printed answer (einsum text too) parses back
            r = mc.expression(str(d), vars=c.vars)
            if not np.allclose(r.evaluate(**{k: v for k, v in x.items() if k in r.variables}),
                               got, rtol=1e-7, atol=1e-9):
                failures.append((seed, c.text, str(d)))
    assert not failures, failures[:5]
