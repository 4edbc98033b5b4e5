"""The person's where-names kept in the answer, and Hessians under a linear map written as the
chain rule writes them (issue 14: answers as a textbook prints them)."""

from __future__ import annotations

import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir import functions as F
from matrixcalculus.ir.sandwich import sandwich, shows_symmetry
from matrixcalculus.printers import render

LSQ = {"A": "matrix(m,n)", "x": "vector(n)", "b": "vector(m)"}
LOGREG = {"X": "matrix(n,p)", "w": "vector(p)", "y": "vector(n)"}
LOGISTIC = "-sum(y.*log(s) + (1 - y).*log(1 - s)) where s = sigmoid(X*w)"


@pytest.mark.parametrize("expr, wrt, vars, order, want", [
    # a name used once is kept too: the 2 the IR spread over A*x - b is gathered again
    ("r'*r where r = A*x - b", "x", LSQ, 1, "2*A'*r where r = A*x - b"),
    (LOGISTIC, "w", LOGREG, 1, "X'*(s - y) where s = sigmoid(X*w)"),
    (LOGISTIC, "w", LOGREG, 2, "X'*diag(s.*(1 - s))*X where s = sigmoid(X*w)"),
    ("norm2(h)^2 where h = tanh(W*x)", "x", {"W": "matrix(n,n)", "x": "vector(n)"}, 1,
     "2*W'*diag(1 - h.^2)*h where h = tanh(W*x)"),
    # a name whose subexpression the answer does not hold is not listed
    ("x'*x + sum(q) where q = exp(b)", "x", {"x": "vector(n)", "b": "vector(n)"}, 1, "2*x"),
    # derived parts written with the person's names (s inside diag(G'./s'*Xc))
    ("sum(G.*(Y.*g' + b')) where Xc = X - mean(X, 2), s = sqrt(mean(Xc.^2, 2) + 1e-5), "
     "Y = Xc./s", "g", {"G": "matrix(n,d)", "X": "matrix(n,d)", "g": "vector(d)",
                        "b": "vector(d)"}, 1,
     "diag(G'./s'*Xc) where Xc = X - mean(X, 2), s = sqrt(mean(Xc.^2, 2) + 1e-5)"),
])
def test_where_names_kept(expr, wrt, vars, order, want):
    d = mc.derivative(expr, wrt, vars=vars, order=order)
    assert str(d) == want
    assert d.check().ok


@pytest.mark.parametrize("expr, wrt, vars, want", [
    ("logsumexp(W*x)", "x", {"W": "matrix(m,n)", "x": "vector(n)"},
     "W'*(diag(p) - p*p')*W where p = softmax(W*x)"),
    ("logsumexp(W*x + b)", "x", {"W": "matrix(m,n)", "x": "vector(n)", "b": "vector(m)"},
     "W'*(diag(p) - p*p')*W where p = softmax(W*x + b)"),
    ("logsumexp(X*w) - y'*X*w", "w", {"X": "matrix(n,k)", "w": "vector(k)", "y": "vector(n)"},
     "X'*(diag(p) - p*p')*X where p = softmax(X*w)"),
    # without a chain the softmax identities alone give the book's form
    ("log(sum(exp(x)))", "x", {"x": "vector(n)"}, "diag(p) - p*p' where p = softmax(x)"),
])
def test_softmax_hessian_under_a_linear_map(expr, wrt, vars, want):
    d = mc.derivative(expr, wrt, vars=vars, order=2)
    assert str(d) == want
    assert d.check().ok


def _terms():
    W = B.var("W", ("m", "n"))
    p = F.softmax(B.var("z", ("m",)), 0)
    diag_part = B.einsum([W, p, W], [(2, 0), (2,), (2, 1)], (0, 1))        # W'*diag(p)*W
    outer = B.einsum([W, p, p, W], [(2, 0), (2,), (3,), (3, 1)], (0, 1), -1.0)
    return W, diag_part, outer


def test_sandwich_pulls_both_sides_and_shows_symmetry():
    W, diag_part, outer = _terms()
    both = B.add([diag_part, outer])
    new = sandwich(both)
    assert new is not None and shows_symmetry(new) and not shows_symmetry(both)
    assert render(new).text == "W'*(diag(p) - p*p')*W where p = softmax(z)"


def test_sandwich_needs_the_same_factor_on_each_side_of_every_term():
    W, diag_part, _ = _terms()
    V = B.var("V", ("m", "n"))
    other = B.einsum([V, V], [(2, 0), (2, 1)], (0, 1))                     # V'*V
    assert sandwich(B.add([diag_part, other])) is None
    one_sided = B.einsum([W, B.var("C", ("m", "n"))], [(2, 0), (2, 1)], (0, 1))
    assert sandwich(B.add([diag_part, one_sided])) is None
