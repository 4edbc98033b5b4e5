"""Answers as a textbook prints them (issue 14): exact numbers, signs, zero answers,
Hessian-vector products in the order that computes them, steps' labels."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.printers.numbers import number


def _checked(expr, wrt, vars=None, order=1):
    d = mc.derivative(expr, wrt, vars=vars, order=order)
    assert d.check().ok, d
    return d


@pytest.mark.parametrize("expr, wrt, want, tex", [
    ("x'*x/3", "x", "2/3*x", r"\frac{2}{3} x"),
    ("sum(x)/6", "x", "ones(n)/6", None),
    ("2/3*tr(A*X)", "X", "2/3*A'", r"\frac{2}{3} A^{\top}"),
    ("x'*x/3/7", "x", "2/21*x", None),
    ("0.1*x'*x", "x", "0.2*x", None),               # a typed decimal stays a decimal
    ("1e-5*x'*x", "x", "2e-5*x", None),              # not 2e-05
    ("0.1*3*x'*x", "x", "0.6*x", None),              # 0.6000000000000001 folded
])
def test_numbers_print_exact(expr, wrt, want, tex):
    d = _checked(expr, wrt)
    assert str(d) == want
    if tex is not None:
        assert d.latex() == tex


def test_number_text():
    assert number(2 / 3) == "2/3" and number(-1 / 3) == "-1/3"
    assert number(2 * (1 / 3) * (1 / 7)) == "2/21"          # an ulp from float(2/21)
    assert number(0.1) == "0.1" and number(1e-5) == "1e-5" and number(1e20) == "1e20"
    assert number(0.125) == "0.125"                         # a short decimal stays one
    assert number(2 / np.sqrt(np.pi)) == "1.1283791670955126"   # irrational: all digits
    for v in (2 / 3, 2 * (1 / 3) * (1 / 7), 0.1 * 3, 1e-5, 13 / 30):
        assert abs(eval(number(v)) - v) <= 4 * np.spacing(v)


def test_a_fraction_binds_as_a_product():
    d = _checked("sum(x.^(1/3))", "x", {"x": "vector(n)"})
    assert "x.^(2/3)" in str(d)
    again = mc.expression(str(d), vars={"x": "vector(n)"})
    x = np.array([0.5, 1.5, 2.0])
    np.testing.assert_allclose(again.evaluate(x=x), d.evaluate(x=x), rtol=1e-12)


def test_a_negated_sum_is_pulled_out():
    d = _checked("logdet(S) + tr(inv(S)*C)", "S", {"S": "symmetric(n)", "C": "matrix(n,n)"})
    assert str(d) == "Y - 0.5*Y*(C + C')*Y where Y = inv(S)"


@pytest.mark.parametrize("expr, wrt, order", [
    ("tr(X)", "X", 2), ("x'*A*x", "x", 3), ("sum(A*x)", "x", 2), ("a'*b + 3", "x", 1),
])
def test_a_zero_answer_prints_as_0(expr, wrt, order):
    vars = {"x": "vector(n)", "a": "vector(n)", "b": "vector(n)"} if "b" in expr else None
    d = mc.derivative(expr, wrt, vars=vars, order=order)
    assert str(d) == "0" and d.latex() == "0"
    assert d.shape and np.ndim(d.evaluate(**_inputs(d))) == len(d.shape)


def _inputs(d):
    rng = np.random.default_rng(0)
    sizes = {"n": 3, "m": 4}
    return {k: rng.standard_normal([sizes.get(s, s) for s in v.shape])
            for k, v in d.variables.items()}


def test_hvp_never_forms_the_hessian():
    d = _checked("-sum(log(sigmoid(X*w)))", "w", order=2)
    assert str(d) == "X'*diag(s.*(1 - s))*X where s = sigmoid(X*w)"     # the Hessian
    h = d.hvp()
    assert str(h) == "X'*(X*dw.*s.*(1 - s)) where s = sigmoid(X*w)"   # (X*dw).*s.*(1 - s)
    assert h.check().ok
    h = _checked("sum(exp(A*x))", "x", order=2).hvp()
    assert str(h) == "A'*(A*dx.*exp(A*x))" and h.check().ok


def test_diag_only_where_no_expansion_is_shorter():
    v = {"X": "matrix(m,n)", "M": "matrix(m,k)", "v": "vector(n)", "w": "vector(n)",
         "u": "vector(k)"}
    assert str(_checked("X*(v.*w)", "w", {k: v[k] for k in "Xvw"})) == "X.*v'"
    assert str(_checked("sum(X, 2).*(M*u)", "u", {k: v[k] for k in "XMu"})) == "M.*sum(X, 2)"
    # a plain column never expands over a matrix (LANGUAGE.md): diag(v)*M stays
    assert str(_checked("exp(X*w)", "w", {k: v[k] for k in "Xw"})) == "diag(exp(X*w))*X"


def test_steps_label_an_occurrences_contribution():
    s = mc.derivative("x'*A*x + sum(exp(x))", "x").steps()
    text = s.text()
    assert "contribution of the 1st x = A*x" in text
    assert "contribution of the 3rd x = exp(x)" in text
    assert "df/dx = (A + A')*x + exp(x)" in text          # the whole derivative
    assert "df/dx = A*x" not in text
    assert r"\text{contribution of the 2nd } x &= A^{\top} x" in s.latex()
    rows = s.latex_rows()
    assert len(rows) == len(s) + 1 and rows[0][0] == "f"
