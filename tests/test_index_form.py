"""Index-notation answers (issue 14 "Index notation that reads", issue 15's texts): the
D[...] form, its einsum text and its vec form.  The numbers of both texts are checked
with the corpus's own small evaluator (mini_eval, not the engine's parser): the einsum
text against d.evaluate(), the vec form against the tensor reshaped column-major."""

from __future__ import annotations

import re

import numpy as np
import pytest
from corpus_support import load, load_v2

import matrixcalculus as mc

v1, oracle = load()
v2, _ = load_v2()
import mini_eval  # noqa: E402 - on the path once the corpus is loaded

DIMS = {"n": 3, "m": 4, "k": 2, "p": 5, "c": 3, "d": 2}

# (expr, wrt, vars, order): answers in index notation beyond the corpus's
EXTRA = [
    ("inv(S)", "S", {"S": "symmetric(n)"}, 1),
    ("inv(S)/3", "S", {"S": "symmetric(n)"}, 1),
    ("X.*X", "X", {"X": "matrix(n,m)"}, 1),
    ("X'", "X", {"X": "matrix(n,m)"}, 1),
    ("X*X", "X", {"X": "matrix(n,n)"}, 1),
    ("A*X*B", "X", {"A": "matrix(m,n)", "X": "matrix(n,k)", "B": "matrix(k,p)"}, 1),
    ("sum(sum(X.^3))", "X", {"X": "matrix(n,m)"}, 2),
    ("exp(X)*x", "X", {"X": "matrix(n,n)", "x": "vector(n)"}, 2),
    ("sum(X, 1)", "X", {"X": "matrix(m,n)"}, 1),
    ("logdet(X)", "X", {"X": "matrix(n,n)"}, 2),
    ("tr(U'*A*V)", ["U", "V"], {"U": "matrix(m,k)", "A": "matrix(m,n)", "V": "matrix(n,k)"},
     None),
    ("norm2(R - U*V')^2", "U", {"R": "matrix(n,m)", "U": "matrix(n,k)",
                                "V": "matrix(m,k)"}, 2),
    ("sum(logsumexp(X*W, 2)) - sum(Y.*(X*W))", "W",
     {"X": "matrix(n,d)", "W": "matrix(d,c)", "Y": "matrix(n,c)"}, 2),
    ("-sum(Y.*log(softmax(X*W, 2)))", "W",
     {"X": "matrix(n,d)", "W": "matrix(d,c)", "Y": "matrix(n,c)"}, 2),
    ("(a'*X*b)^2", "X", {"a": "vector(m)", "X": "matrix(m,n)", "b": "vector(n)"}, 2),
]


def _inputs(d, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for v in d.variables.values():
        shape = tuple(DIMS[s] if isinstance(s, str) else s for s in v.shape)
        a = rng.standard_normal(shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + a.T + 2 * shape[0] * np.eye(shape[0])     # symmetric and invertible
        out[v.name] = a
    return out


def _index_cases():
    got = []
    for e, w, vs, order in EXTRA:
        got.append((f"{e} wrt {w}", mc.derivative(e, w, vars=vs, order=order), None))
    for mod in (v1, v2):
        for case in mod.public():
            try:
                d = mc.derivative(case["expr"], case["wrt"], vars=case["vars"],
                                  order=case["order"])
            except mc.MatrixCalculusError:
                continue
            if not d.is_matrix_form:
                got.append((case["id"], d, case))
    return got


CASES = _index_cases()
IDS = [c[0] for c in CASES]


def _draw(d, case, seed):
    if case is None:
        return _inputs(d, seed), DIMS
    return oracle.draw_inputs(case, seed), case["dims"]


@pytest.mark.parametrize(("name", "d", "case"), CASES, ids=IDS)
def test_einsum_text_has_the_numbers(name, d, case):
    text = d.einsum()
    assert text is not None and "einsum(" in text, (name, str(d))
    for seed in (0, 1):
        inputs, dims = _draw(d, case, seed)
        want = d.evaluate(**inputs)
        got = mini_eval.evaluate_as(text, inputs, dims, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12, err_msg=text)


VEC = [c for c in CASES if c[1].vec_form() is not None]


def test_vec_forms_where_kronecker():
    have = {name for name, _, _ in VEC}
    assert {"A*X*B wrt X", "X*X wrt X", "X.*X wrt X", "norm2(R - U*V')^2 wrt U",
            "v2-vecform-AXB", "v2-hess-mf-U-vec", "v2-mixed-trace-UV"} <= have, have
    # a commutation (X'), a transposed pair (logdet's Hessian), a sum over samples:
    # no vec form
    for name, d, _ in CASES:
        if name in ("X' wrt X", "logdet(X) wrt X", "v2-softmaxreg-lse-hess"):
            assert d.vec_form() is None, (name, d.vec_form())


@pytest.mark.parametrize(("name", "d", "case"), VEC, ids=[c[0] for c in VEC])
def test_vec_form_is_the_tensor_reshaped(name, d, case):
    text = d.vec_form()
    for seed in (0, 1):
        inputs, dims = _draw(d, case, seed)
        D = d.evaluate(**inputs)
        p, q, m, n = D.shape
        J = mini_eval.evaluate_as(text, inputs, dims, (p * q, m * n))
        np.testing.assert_allclose(J, oracle.vec_form(D), rtol=1e-11, atol=1e-12,
                                   err_msg=text)


def _by_name(name):
    return next(d for n, d, _ in CASES if n == name)


def test_the_vec_forms_of_the_issue():
    assert _by_name("A*X*B wrt X").vec_form() == "kron(B', A)"
    assert _by_name("norm2(R - U*V')^2 wrt U").vec_form() == "kron(2*V'*V, eye(n))"
    assert _by_name("X*X wrt X").vec_form() == "kron(X', eye(n)) + kron(eye(n), X)"
    assert _by_name("X.*X wrt X").vec_form() == "diag(vec(2*X))"
    assert _by_name("A*X*B wrt X").einsum() == 'einsum("ik,lj->ijkl", A, B)'


def test_a_call_is_named_not_parenthesised():
    d = _by_name("inv(S) wrt S")
    assert str(d) == "D[i,j,k,l] = -0.5*Y[i,k]*Y[j,l] - 0.5*Y[i,l]*Y[j,k] where Y = inv(S)"
    assert d.einsum() == ('-0.5*einsum("ik,jl->ijkl", Y, Y) - 0.5*einsum("il,jk->ijkl", Y, Y)'
                          " where Y = inv(S)")
    assert r"\text{where } Y = " in d.latex()
    for _, d, _ in CASES:
        body = str(d).split(" where ")[0]
        assert not re.search(r"\(\w+\([^()]*\)\)\[", body), body      # no `(inv(X))[i,j]`


def test_constants_at_full_precision():
    d = _by_name("inv(S)/3 wrt S")
    # 1/6 or 0.16666666666666666, never 0.166667 (the text was off by 2e-7)
    nums = re.findall(r"([\d.]+(?:/\d+)?)\*Y\[", str(d))
    assert len(nums) == 2, str(d)
    for x in nums:
        a, _, b = x.partition("/")
        assert abs(float(a) / float(b or 1) - 1 / 6) < 1e-16, str(d)


def test_summed_indices_are_named_plainly():
    for name, d, _ in CASES:
        text = str(d)
        body, _, footer = text.partition("   (summing over ")
        body = body.split(" where ")[0]
        summed = footer.rstrip(")").split(", ") if footer else []
        for c in summed:        # each one listed really is summed: it appears twice
            assert len(re.findall(rf"[\[,]{c}[\],]", body)) >= 2, (name, text)
        head = re.match(r"D\[([^\]]*)\]", body)
        assert head, text
        right = body.split(" = ", 1)[1]
        labels = {c for group in re.findall(r"(?:\w|\))\[([^\]]*)\]|δ\(([^)]*)\)", right)
                  for g in group if g for c in g.split(",")}
        free = set(head.group(1).split(","))
        bound = set(re.findall(r"\[([a-z]\d*),([a-z]\d*)\] ->", body))
        bound = {c for pair in bound for c in pair}
        assert labels - free - bound <= set(summed), (name, text)
    assert "summing" not in str(_by_name("A*X*B wrt X"))


def test_softmax_regression_hessians_read():
    for name in ("v2-softmaxreg-ce-hess", "v2-softmaxreg-lse-hess"):
        text = str(_by_name(name))
        assert "(softmax" not in text and "P = softmax(X*W, 2)" in text, text
        assert text.endswith("   (summing over p)"), text
    ce = str(_by_name("v2-softmaxreg-ce-hess"))
    assert "Y[" not in ce and "s[p]" in ce and "s = sum(Y, 2)" in ce, ce   # sum(Y, 2)
    assert _by_name("v2-softmaxreg-lse-hess").einsum() == (
        'einsum("pi,pj,pk->ijkj", X, P, X) - einsum("pi,pj,pk,pl->ijkl", X, P, X, P) '
        "where P = softmax(X*W, 2)")


def test_matrix_answers_have_no_index_texts():
    d = mc.derivative("x'*A*x", "x")
    assert d.einsum() is None and d.vec_form() is None


@pytest.mark.parametrize(("name", "d", "case"), CASES, ids=IDS)
def test_einsum_text_parses_back(name, d, case):
    """The engine's own parser reads the einsum text back to the same numbers."""
    inputs, _ = _draw(d, case, 0)
    vs = case["vars"] if case is not None else \
        next(v for e, w, v, _ in EXTRA if f"{e} wrt {w}" == name)
    text = d.einsum()
    back = mc.expression(text, vars=vs)
    np.testing.assert_allclose(
        back.evaluate(**{k: v for k, v in inputs.items() if k in back.variables}),
        d.evaluate(**inputs), rtol=1e-11, atol=1e-12)
