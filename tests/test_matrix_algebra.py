"""Matrix algebra that always happens (issue 14): inv(X)*X = eye inside products
(ir/inverses.py), det and logdet of powers and inverses (ir/functions.py's constructors),
inv and det of products of square factors (matrix_algebra.py's rows).  Each printed form
is checked for its numbers twice: check() against finite differences, and the printed text
itself, evaluated, against central differences of the expression in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir import functions as F

SQ = {"X": "matrix(n,n)", "A": "matrix(n,n)", "B": "matrix(n,n)"}
inv, det = np.linalg.inv, np.linalg.det


def _logdet(x):
    sign, value = np.linalg.slogdet(x)
    return value if sign > 0 else np.nan


# expression, its printed gradient wrt X, the expression in NumPy
CASES = [
    ("det(inv(X))", "-inv(X)'/det(X)", lambda X, A, B: det(inv(X))),
    ("det(X^5)", "5*det(X)^5*inv(X)'", lambda X, A, B: det(np.linalg.matrix_power(X, 5))),
    ("logdet(X^3)", "3*inv(X)'", lambda X, A, B: _logdet(np.linalg.matrix_power(X, 3))),
    ("logdet(inv(X))", "-inv(X)'", lambda X, A, B: _logdet(inv(X))),
    ("logdet(A*X*B)", "inv(X)'", lambda X, A, B: _logdet(A @ X @ B)),
    ("det(A*X*B)", "det(A*X*B)*inv(X)'", lambda X, A, B: det(A @ X @ B)),
    ("logdet(X^2)", "2*inv(X)'", lambda X, A, B: _logdet(X @ X)),
    ("det(X*X')", "2*det(X)^2*inv(X)'", lambda X, A, B: det(X @ X.T)),
    ("det(A*X)/det(A)", "det(X)*inv(X)'", lambda X, A, B: det(A @ X) / det(A)),
]


def _points(seed: int, n: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    # near the identity: every det positive, so logdet is defined throughout
    return {v: np.eye(n) + 0.3 * rng.standard_normal((n, n)) for v in "XAB"}


def _fd(f, pts, h=1e-6):
    x = pts["X"]
    g = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            d = np.zeros_like(x)
            d[i, j] = h
            g[i, j] = (f(x + d, pts["A"], pts["B"]) - f(x - d, pts["A"], pts["B"])) / (2 * h)
    return g


@pytest.mark.parametrize("expr, printed, f", CASES, ids=[c[0] for c in CASES])
def test_printed_form_and_numbers(expr, printed, f):
    d = mc.derivative(expr, "X", vars=SQ)
    assert str(d) == printed
    assert d.check().ok
    text = mc.expression(printed, vars=SQ)
    for seed in range(3):
        pts = _points(seed)
        used = {k: v for k, v in pts.items() if k in text.variables}
        got = text.evaluate(**used)
        np.testing.assert_allclose(got, _fd(f, pts), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("expr", ["tr(inv(X)*X)", "tr(X*inv(X))", "tr(inv(X)'*X')",
                                  "sum(sum(A.*(inv(X)*X)))"])
def test_inverse_meets_its_matrix(expr):
    d = mc.derivative(expr, "X", vars=SQ)
    assert str(d).startswith("0")          # a zero (how zeros print is another task's)
    assert d.check().ok


def test_cancellation_is_a_normal_form():
    X = B.var("X", ("n", "n"))
    A = B.var("A", ("n", "n"))
    i = F.inv(X)
    eye = B.delta("n")
    assert B.einsum([i, X], [(0, 1), (1, 2)], (0, 2)) is eye
    assert B.einsum([X, i], [(0, 1), (1, 2)], (0, 2)) is eye
    assert B.einsum([i, X], [(1, 0), (2, 1)], (0, 2)) is eye          # inv(X)'*X'
    # inv(B)*inv(X)*X*B: the inner pair makes the outer one meet
    Bm = B.var("B", ("n", "n"))
    four = B.einsum([F.inv(Bm), i, X, Bm], [(0, 1), (1, 2), (2, 3), (3, 4)], (0, 4))
    assert four is eye
    # not a matrix product: inv(X)'*X and inv(X).*X' stay
    assert B.einsum([i, X], [(1, 0), (1, 2)], (0, 2)).op == "einsum"
    assert B.einsum([i, X], [(0, 1), (1, 0)], (0, 1)).op == "einsum"
    # a symmetric S: inv(S)'*S is inv(S)*S
    S = B.var("S", ("n", "n"), symmetric=True)
    assert B.einsum([F.inv(S), S], [(1, 0), (1, 2)], (0, 2)) is eye
    # the label shared with a third factor: inv(X)[i,j] X[j,k] A[j,k] is no product
    assert B.einsum([i, X, A], [(0, 1), (1, 2), (1, 2)], (0, 2)).op == "einsum"


def test_constructors_normalise_powers_and_inverses():
    X = B.var("X", ("n", "n"))
    A = B.var("A", ("n", "n"))
    x3 = B.einsum([X, X, X], [(0, 1), (1, 2), (2, 3)], (0, 3))
    assert F.det(x3) is B.power(F.det(X), B.const(3.0))
    assert F.det(F.inv(X)) is B.power(F.det(X), B.const(-1.0))
    assert F.det(F.transpose(X)) is F.det(X)
    assert F.logdet(F.inv(X)) is B.neg(F.logdet(X))
    assert F.logdet(x3) is B.scale(3.0, F.logdet(X))
    assert F.inv(x3) is B.einsum([F.inv(X)] * 3, [(0, 1), (1, 2), (2, 3)], (0, 3))
    # logdet(X^2) is defined where det(X) < 0, 2*logdet(X) is not: it stays
    x2 = B.einsum([X, X], [(0, 1), (1, 2)], (0, 2))
    assert F.logdet(x2).is_prim("logdet")
    # several bases: det and logdet of A*X stay (shorter; logdet's domain)
    ax = B.einsum([A, X], [(0, 1), (1, 2)], (0, 2))
    assert F.det(ax).is_prim("det") and F.logdet(ax).is_prim("logdet")
    assert F.inv(ax).is_prim("inv")


def test_logdet_of_even_power_keeps_its_domain():
    # det(X) < 0, det(X^2) > 0: logdet(X^2) is finite, its gradient 2*inv(X)'
    x = np.diag([-1.0, 2.0, 3.0])
    e = mc.expression("logdet(X^2)", vars={"X": "matrix(n,n)"})
    assert np.isclose(e.evaluate(X=x), np.log(36.0))
    d = mc.derivative("logdet(X^2)", "X", vars={"X": "matrix(n,n)"})
    np.testing.assert_allclose(d.evaluate(X=x), 2 * inv(x).T)


@pytest.mark.parametrize("expr", ["det(inv(X))", "det(X^3)", "logdet(X^3)", "logdet(inv(X))",
                                  "logdet(A*X*B)", "det(A*X*B)", "tr(inv(X)*X*A)"])
def test_hessians(expr):
    d = mc.derivative(expr, "X", vars=SQ, order=2)
    assert d.check().ok
