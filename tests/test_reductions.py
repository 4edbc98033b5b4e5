"""Issue 14's layer-norm algebra: a broadcast column's powers meet its other powers
(ir/build.py power), a centred factor summed along its axis is zero and drops out of a
mean (ir/reductions.py), and a matrix over a reduced column prints as a quotient
(raising/combine.py).  Each form is asserted, and its numbers checked."""

from __future__ import annotations

import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir.reductions import centred_vanishes, vanishing_terms_dropped

LN = "Xc = X - mean(X, 2), s = sqrt(mean(Xc.^2, 2) + 1e-5), Y = Xc./s"
FORMS = [
    # (expression, wrt, vars, the answer)
    (f"sum(G.*Y) where {LN}", "X", {"X": "matrix(n,d)", "G": "matrix(n,d)"},
     # (the person's s kept: s = sqrt(r))
     "(G - Xc.*mean(G.*Xc, 2)./r - mean(G, 2))./s "
     "where Xc = X - mean(X, 2), r = mean(Xc.^2, 2) + 1e-5, s = sqrt(r)"),
    ("sum(G.*(X./r)) where r = sqrt(mean(X.^2, 2) + 1e-6)", "X",
     {"X": "matrix(n,d)", "G": "matrix(n,d)"},
     "G./r - X.*mean(G.*X, 2)./r1.^1.5 where r1 = mean(X.^2, 2) + 1e-6, r = sqrt(r1)"),
    # a centred matrix's rows sum to zero, through a product with a column
    ("sum(a'*(X - mean(X, 2)))", "a", {"X": "matrix(n,d)", "a": "vector(n)"}, "0"),
]


@pytest.mark.parametrize("expr, wrt, vars, want", FORMS)
def test_layer_norm_forms(expr, wrt, vars, want):
    d = mc.derivative(expr, wrt, vars=vars)
    assert str(d) == want
    assert d.check(points=2).ok


def _centred(n="n", d="d"):
    X = B.var("X", (n, d))
    mean = B.einsum([X, B.power(B.einsum([B.ones(d)], [(0,)], ()), B.const(-1.0)), B.ones(d)],
                    [(0, 2), (), (1,)], (0, 1))
    return X, B.sub(X, mean)


def test_a_broadcast_column_power_is_the_column_power_broadcast():
    q = B.var("q", ("n",))
    spread = B.einsum([q, B.ones("d")], [(0,), (1,)], (0, 1))
    inv = B.power(spread, B.const(-1.0))
    assert inv.op == "einsum" and B.power(q, B.const(-1.0)) in inv.args
    # the powers of q meet: q.^-1 .* q.^2 is q
    assert B.einsum([inv, B.power(q, B.const(2.0))], [(0, 1), (0,)], (0, 1)) is spread


def test_centred_factor_summed_along_its_axis_vanishes():
    X, Xc = _centred()
    m = B.var("m", ("n",))
    along = B.einsum([m, Xc], [(0,), (0, 1)], (0,))          # sum(m.*Xc, 2)
    assert centred_vanishes(along).op == "zero"
    across = B.einsum([Xc], [(0, 1)], (1,))                   # sum(Xc, 1): not zero
    assert centred_vanishes(across) is None
    # a mean over a sum holding such a term keeps the other terms only
    G = B.var("G", ("n", "d"))
    inner = B.add([G, B.einsum([m, Xc], [(0,), (0, 1)], (0, 1))])
    mean = B.einsum([inner], [(0, 1)], (0,))
    assert vanishing_terms_dropped(mean) is B.einsum([G], [(0, 1)], (0,))
