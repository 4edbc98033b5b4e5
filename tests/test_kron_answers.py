"""Answers over product dimensions (issue 15, printers/grouped.py): derivatives whose shape
holds a product dimension (kron(A, B) by A, vec(X) by X, vec(A*X*B) by X) and derivatives
holding a variable declared over one (w: vector(m*p)) print in the language (matrix form
that parses back, or index notation with its vec form), in LANGUAGE.md's layout; check()
and every backend agree with the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_support import runner

import matrixcalculus as mc

K = np.kron
SIZES = {"m": 3, "n": 2, "p": 4, "q": 5}
KW = {"A": "matrix(m,n)", "B": "matrix(p,q)", "w": "vector(n*q)", "y": "vector(m*p)"}
SQ = {"A": "matrix(m,m)", "B": "matrix(p,p)", "w": "vector(m*p)"}


def _vecF(X):
    return X.reshape(-1, order="F")


def _arrays(vars_: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for name, t in vars_.items():
        dims = t[t.index("(") + 1:-1].split(",")
        shape = tuple(int(np.prod([SIZES[f.strip()] for f in d.split("*")])) for d in dims)
        out[name] = rng.standard_normal(shape)
    return out


# (expression, wrt, vars, reference of the derivative in LANGUAGE.md's layout)
def _ref_kron_by_A(A, B):
    m, n = A.shape
    p, q = B.shape
    out = np.zeros((m * p, n * q, m, n))
    for i in range(m):
        for j in range(n):
            E = np.zeros((m, n))
            E[i, j] = 1
            out[:, :, i, j] = K(E, B)
    return out


MATRIX_FORM = [
    ("w'*kron(A, B)*w", "A", SQ, lambda A, B, w: w.reshape(3, 4) @ B @ w.reshape(3, 4).T),
    ("norm2(kron(A, B)*w - y)^2", "A", KW,
     lambda A, B, w, y: 2 * (A @ w.reshape(2, 5) @ B.T - y.reshape(3, 4)) @ B
     @ w.reshape(2, 5).T),
    ("norm2(kron(A, B)*w - y)^2", "w", KW, lambda A, B, w, y: 2 * K(A, B).T @ (K(A, B) @ w - y)),
    ("norm2(kron(A, B)*w - y)^2", ["w", "w"], KW, lambda A, B, w, y: 2 * K(A, B).T @ K(A, B)),
    ("kron(A, B)*w", "w", KW, lambda A, B, w, y: K(A, B)),
    ("sum(exp(kron(A, B)*w))", "w", KW, lambda A, B, w, y: K(A, B).T @ np.exp(K(A, B) @ w)),
    ("vec(X)'*vec(X)", "X", {"X": "matrix(m,n)"}, lambda X: 2 * X),
]
INDEX_FORM = [
    ("vec(X)", "X", {"X": "matrix(m,n)"}, lambda X: np.eye(6).reshape(6, 2, 3).transpose(0, 2, 1),
     "kron(eye(n), eye(m))"),
    ("vec(A*X*B)", "X", {"A": "matrix(m,n)", "X": "matrix(n,p)", "B": "matrix(p,q)"},
     lambda A, X, B: K(B.T, A).reshape(15, 4, 2).transpose(0, 2, 1), "kron(B', A)"),
    ("kron(A, B)", "A", {"A": "matrix(m,n)", "B": "matrix(p,q)"}, _ref_kron_by_A, None),
]


def _derive(text, wrt, vars_):
    return mc.derivative(text, wrt, vars=vars_) if isinstance(wrt, str) else \
        mc.derivative(text, wrt=wrt, vars=vars_)


def _agree(d, vars_, ref):
    arrays = _arrays({k: v for k, v in vars_.items() if k in d.variables})
    want = ref(**arrays)
    got = d.evaluate(**arrays)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    for backend in ("torch", "jax", "dask"):
        np.testing.assert_allclose(runner(d, backend)(**arrays), want, rtol=1e-6, atol=1e-6)
    c = d.check()
    assert c.ok and c.points > 0, c.message
    return arrays, want


@pytest.mark.parametrize("text,wrt,vars_,ref", MATRIX_FORM, ids=[f"{c[0]} by {c[1]}"
                                                                  for c in MATRIX_FORM])
def test_matrix_form_answers_parse_back(text, wrt, vars_, ref):
    d = _derive(text, wrt, vars_)
    assert d.is_matrix_form, str(d)
    arrays, want = _agree(d, vars_, ref)
    back = mc.expression(str(d), vars={k: v for k, v in vars_.items() if k in d.variables})
    kw = {k: arrays[k] for k in back.variables}
    np.testing.assert_allclose(back.evaluate(**kw), want, rtol=1e-9, atol=1e-9)


def test_the_shapes_are_the_languages():
    d = _derive("norm2(kron(A, B)*w - y)^2", "w", KW)
    assert d.shape == ("n*q",)
    assert str(_derive("kron(A, B)*w", "w", KW)) == "kron(A, B)"
    assert str(_derive("norm2(kron(A, B)*w - y)^2", ["w", "w"], KW)) == "kron(2*A'*A, B'*B)"


@pytest.mark.parametrize("text,wrt,vars_,ref,vec", INDEX_FORM, ids=[c[0] for c in INDEX_FORM])
def test_tensor_answers_print_index_notation_and_vec_form(text, wrt, vars_, ref, vec):
    d = _derive(text, wrt, vars_)
    assert not d.is_matrix_form and str(d).startswith("D[(")
    arrays, want = _agree(d, vars_, ref)
    assert d.vec_form() == vec
    if vec is not None:        # d vec(F)/d vec(X)': the Jacobian as a matrix, parses back
        m = mc.expression(vec, vars=vars_)
        got = m.evaluate(**{k: arrays[k] for k in m.variables}) if m.variables else \
            m.evaluate(**{k: SIZES[k] for k in m.argument_names})
        X = arrays["X"]
        jac = want.reshape(want.shape[0], -1)              # by X's entries, row-major
        perm = np.arange(X.size).reshape(X.shape).reshape(-1, order="F")
        np.testing.assert_allclose(got, jac[:, perm], rtol=1e-9, atol=1e-9)


def test_vec_of_a_b_x_is_kron_index_by_index():
    d = _derive("vec(A*X*B)", "X", INDEX_FORM[1][2])
    assert str(d) == "D[(i,j),k,l] = B[l,i]*A[j,k]"


def test_an_unprintable_grouping_is_still_one_clear_error():
    with pytest.raises(mc.UnsupportedDerivativeError, match="product dimension"):
        mc.derivative("sum(K*v)", "K", vars={"K": "matrix(m*p, n*q)", "v": "vector(n*q)"})
