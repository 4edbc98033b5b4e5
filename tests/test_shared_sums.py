"""Issue 14: a repeated sum named where that is shorter, the where-clause counted
(printers/naming.py), and sums equal up to sign made one node (ir/signs.py), so that like
terms factor and a residual printed twice, once negated, is named once.  Each form is
asserted, and its numbers checked."""

from __future__ import annotations

import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir.signs import aligned_signs
from matrixcalculus.printers.text import token_count

REG = {"X": "matrix(n,p)", "w": "vector(p)", "y": "vector(n)"}
FORMS = [
    # (expression, wrt, vars, the answer)
    # a residual used twice in parentheses: 2*7 tokens inline, 2 + 5 + 3 named
    ("sum(log(1 + (X*w - y).^2))", "w", REG, "2*X'*(r./(r.^2 + 1)) where r = X*w - y"),
    # like terms up to sign (v - u is -(u - v)), then factored
    ("softplus(w'*(u - v)) - y*w'*(u - v)", "w",
     {"w": "vector(n)", "u": "vector(n)", "v": "vector(n)", "y": "scalar"},
     "(sigmoid(r'*w) - y)*r where r = u - v"),
    # the residual and its negation one node, named once (a matrix: R)
    ("norm2(A*X - X*B - C)^2", "X",
     {"A": "matrix(n,n)", "X": "matrix(n,m)", "B": "matrix(m,m)", "C": "matrix(n,m)"},
     "2*R*B' - 2*A'*R where R = X*B + C - A*X"),
    # a sum and its transpose (W*s' - X' is (s*W' - X)'): one name
    ("0.5*norm2(X - sigmoid(X*W)*W')^2", "W", {"X": "matrix(n,p)", "W": "matrix(p,k)"},
     "X'*(s.*(1 - s).*(R*W)) + R'*s where s = sigmoid(X*W), R = s*W' - X"),
    # a sum used twice only as a call's argument: no parentheses saved, so not named
    ("sum(exp(x + y)) + sum(sin(x + y))", "x", {"x": "vector(n)", "y": "vector(n)"},
     "cos(x + y) + exp(x + y)"),
]


@pytest.mark.parametrize("expr, wrt, vars, want", FORMS)
def test_shared_sums_print_named_and_are_right(expr, wrt, vars, want):
    d = mc.derivative(expr, wrt, vars=vars)
    assert str(d) == want
    assert d.check(points=2).ok
    # the printed answer parses back to the same values
    assert mc.expression(str(d), vars=vars).shape == d.shape


def test_a_name_pays_only_with_its_where_clause_counted():
    # x - y twice in parentheses: 2*(3 + 2) inline against 2 + 3 + 3 named
    d = mc.derivative("(x - y)'*M*(x - y)", "M", vars={"x": "vector(n)", "y": "vector(n)",
                                                       "M": "matrix(n,n)"})
    assert str(d) == "r*r' where r = x - y"
    assert token_count(str(d)) < token_count("(x - y)*(x - y)'")
    # once: never named
    d = mc.derivative("sum(exp(x - y))", "x", vars={"x": "vector(n)", "y": "vector(n)"})
    assert str(d) == "exp(x - y)"


def test_aligned_signs_keeps_one_sign_whichever_is_met_first():
    u, v, y = B.var("u", ("n",)), B.var("v", ("n",)), B.var("y", ())
    d, nd = B.sub(u, v), B.sub(v, u)
    assert B.neg(d) is nd
    s1 = B.add([B.einsum([y, d], [(), (0,)], (0,)), B.einsum([u, nd], [(0,), (0,)], (0,))])
    got = aligned_signs(s1)
    assert got is not None
    sums = {a for t in got.args for a in t.args if a.op == "add"}
    assert len(sums) == 1                          # one node, the other term's sign negated
    # the same choice from the other side
    s2 = B.add([B.einsum([y, nd], [(), (0,)], (0,)), B.einsum([u, d], [(0,), (0,)], (0,))])
    assert {a for t in aligned_signs(s2).args for a in t.args if a.op == "add"} == sums
    # nothing to align
    assert aligned_signs(B.add([u, v])) is None
