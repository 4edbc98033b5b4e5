"""kron, vec and product dimensions (issue 15): a product dimension is a group of IR axes
(ir/kron.py), so the Kronecker identities hold by construction; results come back in the
language's layout; misordered product dimensions and bad input are one clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from code_support import code_only

import matrixcalculus as mc
from matrixcalculus.compiled import compile_function

K = np.kron
rng = np.random.default_rng(7)
ARR = {"A": rng.standard_normal((3, 2)), "B": rng.standard_normal((4, 5)),
       "C": rng.standard_normal((2, 3)), "D": rng.standard_normal((5, 4)),
       "X": rng.standard_normal((3, 4)), "P": rng.standard_normal((3, 3)) + 3 * np.eye(3),
       "Q": rng.standard_normal((4, 4)) + 3 * np.eye(4), "R": rng.standard_normal((4, 4)),
       "v": rng.standard_normal(12), "w": rng.standard_normal(10)}
DECL = {"A": "matrix(m,n)", "B": "matrix(p,q)", "C": "matrix(n,m)", "D": "matrix(q,p)",
        "X": "matrix(m, p)", "P": "matrix(m,m)", "Q": "matrix(p,p)", "R": "matrix(p,p)",
        "v": "vector(m*p)", "w": "vector(n*q)"}

CASES = [
    ("kron(A, B)", lambda A, B: K(A, B)),
    ("kron(A, B)*kron(C, D)", lambda A, B, C, D: K(A, B) @ K(C, D)),
    ("vec(X)", lambda X: X.reshape(-1, order="F")),
    ("kron(A, B)'", lambda A, B: K(A, B).T),
    ("tr(kron(P, Q))", lambda P, Q: np.trace(K(P, Q))),
    ("v'*kron(A, B)*w", lambda v, w, A, B: v @ K(A, B) @ w),
    ("kron(A, B)*w + v", lambda v, w, A, B: K(A, B) @ w + v),
    ("inv(kron(P, Q))", lambda P, Q: np.linalg.inv(K(P, Q))),
    ("inv(kron(P, Q)*kron(P', R))", lambda P, Q, R: np.linalg.inv(K(P, Q) @ K(P.T, R))),
    ("det(kron(P, Q))", lambda P, Q: np.linalg.det(K(P, Q))),
    ("logdet(kron(P*P', 2*Q*Q'))", lambda P, Q: np.linalg.slogdet(K(P @ P.T, 2 * Q @ Q.T))[1]),
    ("tr(inv(kron(P, Q)))", lambda P, Q: np.trace(np.linalg.inv(K(P, Q)))),
]


def _expr(text: str) -> mc.Expression:
    import re
    return mc.expression(text, vars={k: t for k, t in DECL.items()
                                     if re.search(rf"\b{k}\b", text)})


@pytest.mark.parametrize("text,ref", CASES, ids=[c[0] for c in CASES])
def test_values_in_the_language_layout_on_every_backend(text, ref):
    e = _expr(text)
    kw = {k: ARR[k] for k in e.variables}
    want = ref(**kw)
    got = e.evaluate(**kw)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(e.evaluate(backend="dask", **kw), want, rtol=1e-9, atol=1e-9)
    for backend in ("torch", "jax"):
        fn = compile_function(e.code(backend), e.func_name)
        args = {k: torch.tensor(kw[k]) if backend == "torch" else kw[k] for k in e.variables}
        np.testing.assert_allclose(np.asarray(fn(**e.keywords(args))), want, rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize("text", [
    "vec(A*X*B) - kron(B', A)*vec(X)",          # Magnus-Neudecker
    "kron(A, B)*kron(C, D) - kron(A*C, B*D)",    # the mixed product
    "tr(kron(A, B)) - tr(A)*tr(B)",
    "inv(kron(A, B)) - kron(inv(A), inv(B))",
])
def test_identities_hold_by_construction(text):
    vars_ = {"A": "matrix(m,m)", "B": "matrix(p,p)", "C": "matrix(m,m)", "D": "matrix(p,p)",
             "X": "matrix(m,p)"}
    if text.startswith("vec"):
        vars_ = {"A": "matrix(m,n)", "X": "matrix(n,p)", "B": "matrix(p,q)"}
    e = mc.expression(text, vars={k: v for k, v in vars_.items() if k in text})
    assert e.ir.op == "zero", e.ir


def test_corpus_answers():
    d = mc.derivative("vec(X)'*kron(B, A)*vec(X)", "X",
                      vars={"A": "matrix(n,n)", "B": "matrix(p,p)", "X": "matrix(n,p)"})
    assert str(d) == "A*X*B' + A'*X*B"
    d = mc.derivative("logdet(kron(A, B))", "A", vars={"A": "matrix(m,m)", "B": "matrix(p,p)"})
    assert str(d).replace(" ", "") in ("p*inv(A)'", "inv(A)'*p")


def test_a_kronecker_answer_is_applied_as_products():
    e = _expr("kron(A, B)*w")
    code = code_only(e.code("numpy"))
    assert "kron" not in code and "@" in code


@pytest.mark.parametrize("text,message", [
    ("vec(X)'*kron(P, Q)*vec(X)", "commutation matrix"),      # p*m against m*p
    ("kron(Q, P) + kron(P, Q)", "commutation matrix"),
    ("vec(3)", "vec stacks the columns of a matrix"),
    ("inv(kron(P, Q) + kron(P, R))", "only for a Kronecker product"),
    ("diag(vec(X))", "not built"),
    ("v'*kron(A, B)*vec(X')", "shape mismatch"),
])
def test_bad_input_is_one_error_with_a_caret(text, message):
    with pytest.raises(mc.MatrixCalculusError) as err:
        _expr(text)
    assert message in str(err.value)
    assert "^" in str(err.value)


def test_answers_over_product_dimensions_print():      # (tests/test_kron_answers.py)
    d = mc.derivative("kron(A, B)", "A", vars={"A": "matrix(m,n)", "B": "matrix(p,q)"})
    assert d.shape == ("m*p", "n*q", "m", "n")
    assert str(d).startswith("D[(i,j),(k,l),")


def test_declarations_take_product_dimensions():
    e = mc.expression("K*v", vars={"K": "matrix(m*p, n)", "v": "vector(n)"})
    assert e.shape == ("m*p",)
    with pytest.raises(mc.MatrixCalculusError):
        mc.expression("x", vars={"x": "vector(m**p)"})


@pytest.mark.parametrize("text", ["kron(T, A)", "vec(T)"])
def test_kron_and_vec_of_a_tensor_are_an_error(text):
    with pytest.raises(mc.ShapeError, match="tensor") as err:
        mc.expression(text, vars={"T": "tensor(n,d,h)", "A": "matrix(m,n)"})
    assert "^" in str(err.value)


def test_product_dimension_text_is_read_in_one_place():
    """language/dims.py reads and writes "m*p" for every stage (declarations, typing, the
    sizes of points, the code generator)."""
    from matrixcalculus.language.dims import dim_factors, factor_names, is_product, product_text
    assert dim_factors("m * p") == ("m", "p") and dim_factors("2*n") == (2, "n")
    assert dim_factors("n") == ("n",) and dim_factors(3) == (3,)
    assert product_text(dim_factors(" m*2 * p")) == "m*2*p"
    assert is_product("m*p") and not is_product("n") and not is_product(4)
    assert factor_names(("m*p", "n", 2, "2*m")) == ["m", "p", "n"]
    d = mc.derivative("x'*x", "x", vars={"x": "vector(m * p)"})
    assert d.variables["x"].shape == ("m*p",)
