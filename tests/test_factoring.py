"""Issue 14's sum algebra: common factors out of sums (powers of one base share their
lowest), like terms collected after factoring, and polynomials in tanh / sigmoid kept
factored by their limits (polynomials.py), never expanded into terms that cancel where
the function saturates.  Each form is asserted, and its numbers checked."""

from __future__ import annotations

import re

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir import functions as F
from matrixcalculus.ir.rewrite import Factoring, always, factor
from matrixcalculus.polynomials import Cancellation, factored
from matrixcalculus.simplify import Pricer, simplify

V = {"x": "vector(n)"}
FORMS = [
    # (expression, wrt, vars, order, the answer)
    ("s.*(1-s) where s = sigmoid(x)", "x", V, 1,
     "diag(s.*(1 - s).*(1 - 2*s)) where s = sigmoid(x)"),
    ("sum(tanh(x).^3)", "x", V, 1, "3*tanh(x).^2.*(1 - tanh(x).^2)"),
    ("sum(tanh(x).^3)", "x", V, 2, "6*diag(t.*(1 - t.^2).*(1 - 2*t.^2)) where t = tanh(x)"),
    ("sum(sigmoid(x).^2)", "x", V, 2, "diag(s.^2.*(1 - s).*(4 - 6*s)) where s = sigmoid(x)"),
    ("sum(sigmoid(X*w))", "w", {"X": "matrix(m,n)", "w": "vector(n)"}, 2,
     "X'*diag(s.*(1 - s).*(1 - 2*s))*X where s = sigmoid(X*w)"),
    ("sum(sigmoid(X))", "X", {"X": "matrix(m,n)"}, 1, "sigmoid(X).*(1 - sigmoid(X))"),
    # one style: s.*(1 - s), never s - s.^2
    ("-(y'*log(sigmoid(X*w)) + (1 - y)'*log(1 - sigmoid(X*w)))", "w",
     {"X": "matrix(m,n)", "w": "vector(n)", "y": "vector(m)"}, 2,
     "X'*diag(s.*(1 - s))*X where s = sigmoid(X*w)"),
    # every factor both terms share, out at once (A'*(q.^2.*e + q.*e) is A'*(q.*e.*(q + 1)))
    ("sum(q.*exp(q)) where q = sigmoid(A*x)", "x", {"A": "matrix(m,n)", "x": "vector(n)"}, 1,
     "A'*(q.*exp(q).*(1 - q).*(q + 1)) where q = sigmoid(A*x)"),
    # 1/n out of the sum (powers of one base: 1/n and 1/n^2 share 1/n)
    ("x'*x/n - mean(x)^2", "x", V, 1, "2*(x - mean(x))/n"),
]


@pytest.mark.parametrize("expr, wrt, vars, order, want", FORMS)
def test_answers_print_factored_and_are_right(expr, wrt, vars, order, want):
    d = mc.derivative(expr, wrt, vars=vars, order=order)
    assert str(d) == want
    assert d.check().ok


@pytest.mark.parametrize("expr, order", [("sum(tanh(x).^2)", 3), ("sum(sigmoid(x))", 3),
                                         ("sum(tanh(x))", 3), ("sum(tanh(x).^3)", 3)])
def test_third_derivatives_keep_the_limit_factors(expr, order):
    d = mc.derivative(expr, "x", vars=V, order=order)
    text = str(d)
    # index notation names the call (`(1 - t.^2)[k] ... where t = tanh(x)`): the limit
    # factor is the same, written with the name
    body, _, defs = text.partition(" where ")
    for name, value in re.findall(r"(\w+) = ((?:tanh|sigmoid)\(x\))", defs):
        body = re.sub(rf"\b{name}\b", value, body)
    text = body
    assert "(1 - tanh(x).^2)" in text or "(1 - sigmoid(x))" in text, text
    assert d.check().ok


def test_factored_answers_stay_accurate_where_the_function_saturates():
    # near x = 16, tanh(x) is 1 - 2.5e-14: the expanded 12*t.^5 + 6*t - 18*t.^3 loses
    # ten times more digits than the factored form (whose error is tanh's own rounding)
    d = mc.derivative("sum(tanh(x).^3)", "x", vars={"x": "vector(2)"}, order=2)
    x = np.array([16.0, 0.3])
    got = np.diag(d.evaluate(x=x))
    t = np.tanh(x)
    exact = 6 * t / np.cosh(x) ** 2 * (1 - 2 * t ** 2)
    expanded = 12 * t ** 5 + 6 * t - 18 * t ** 3
    assert abs(expanded[0] / exact[0] - 1) > 5e-3
    np.testing.assert_allclose(got, exact, rtol=2e-3)


s = F.func("sigmoid", B.var("x", ("n",)))
t = F.func("tanh", B.var("x", ("n",)))
one = B.ones("n")


def _poly(base, coefs):
    return B.add([B.scale(c, B.power(base, B.const(float(d)))) for d, c in coefs.items()])


def test_the_normal_form_of_a_polynomial_in_a_saturating_value():
    # 12t^5 + 6t - 18t^3 = 6 t (1 - t^2) (1 - 2 t^2)
    p = _poly(t, {5: 12, 1: 6, 3: -18})
    want = B.einsum([t, B.add([one, B.neg(B.power(t, B.const(2.0)))]),
                     B.add([one, B.scale(-2, B.power(t, B.const(2.0)))])],
                    [(0,), (0,), (0,)], (0,), 6.0)
    assert factored(p) is want
    # s - s^2 = s (1 - s); 1 - 6s + 6s^2 has no root at 0 or 1: as it is
    assert factored(_poly(s, {1: 1, 2: -1})) is B.einsum([s, B.add([one, B.neg(s)])],
                                                         [(0,), (0,)], (0,))
    q = _poly(s, {0: 1, 1: -6, 2: 6})
    assert factored(q) is q
    # not a polynomial in one saturating value
    assert factored(B.add([s, t])) is None


def test_the_price_counts_sums_that_cancel_at_a_limit():
    c = Cancellation()
    assert c.cancels(_poly(s, {1: 1, 2: -1}))           # s - s^2 at s = 1
    assert c.cancels(_poly(t, {5: 12, 1: 6, 3: -18}))   # at t = 1
    assert not c.cancels(B.add([one, B.neg(s)]))        # 1 - s: the factor itself
    assert not c.cancels(_poly(t, {0: 1, 2: -1}))       # 1 - t^2
    assert not c.cancels(_poly(s, {0: 1, 1: -2}))       # 1 - 2s: no zero at a limit
    x = B.var("x", ("n",))
    assert not c.cancels(B.add([x, B.neg(B.power(x, B.const(2.0)))]))   # x is no limit
    price = Pricer()
    assert price(_poly(s, {1: 1, 2: -1})) > price(factored(_poly(s, {1: 1, 2: -1})))


def test_factor_pulls_a_power_at_its_lowest_exponent():
    x = B.var("x", ("n",))
    x2, x3 = (B.power(x, B.const(e)) for e in (2.0, 3.0))
    got = factor(B.add([x2, x3]), Factoring(lambda new, old: new.op == "einsum" != old.op))
    assert got is B.einsum([x2, B.add([one, x])], [(0,), (0,)], (0,))
    # 1./x and x share nothing (one sign only)
    inv = B.power(x, B.const(-1.0))
    assert factor(B.add([inv, x]), Factoring(always)) is B.add([inv, x])


def test_like_terms_collect_after_factoring():
    # s(1-s)^2 - s^2(1-s) = s(1-s)((1 - s) - s) = s(1-s)(1 - 2s)
    m = B.add([one, B.neg(s)])
    terms = B.add([B.einsum([s, B.power(m, B.const(2.0))], [(0,), (0,)], (0,)),
                   B.einsum([B.power(s, B.const(2.0)), m], [(0,), (0,)], (0,), -1.0)])
    want = B.einsum([s, m, B.add([one, B.scale(-2.0, s)])], [(0,), (0,), (0,)], (0,))
    assert simplify(terms) is want
