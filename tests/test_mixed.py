"""Mixed derivatives (LANGUAGE.md "What is asked for"): wrt a list [V1, V2, ...], shaped
out + V1 + V2 + ..., through the API, check(), hvp(), claims, steps and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.cli import main
from matrixcalculus.ir.nodes import walk
from matrixcalculus.references import autograd_mixed, torch_available

BILINEAR = "x'*A*y"
BILINEAR_VARS = {"x": "vector(m)", "A": "matrix(m,n)", "y": "vector(n)"}
SIZES = {"m": 4, "n": 3, "k": 2}
rng = np.random.default_rng(0)


def test_a_list_is_the_mixed_derivative():
    d = mc.derivative(BILINEAR, ["x", "y"], vars=BILINEAR_VARS)
    assert str(d) == "A" and d.is_matrix_form
    assert d.kind == "mixed derivative" and d.order == 2 and d.is_mixed
    assert d.shape == ("m", "n")
    assert d.wrt == ("x", "y") and d.wrt_list == ("x", "y") and d.wrt_text == "x, y"
    assert "wrt x, y" in repr(d) and "x, y" in d._repr_html_()
    A = rng.standard_normal((4, 3))
    x, y = rng.standard_normal(4), rng.standard_normal(3)
    np.testing.assert_array_equal(d.evaluate(x=x, A=A, y=y), A)
    # a tuple, the order given and equal, and the other order (the transpose)
    assert str(mc.derivative(BILINEAR, ("x", "y"), vars=BILINEAR_VARS, order=2)) == "A"
    other = mc.derivative(BILINEAR, ["y", "x"], vars=BILINEAR_VARS)
    assert other.shape == ("n", "m") and str(other) == "A'"
    assert d.check().ok and other.check().ok


def test_the_corpus_examples_print_in_matrix_or_index_form():
    d = mc.derivative("sum(softplus(X*w + b)) - y'*(X*w + b)", ["w", "b"],
                      vars={"X": "matrix(n,d)", "w": "vector(d)", "b": "scalar",
                            "y": "vector(n)"})
    assert d.shape == ("d",) and d.is_matrix_form and "sigmoid" in str(d)
    assert d.check_claim("X'*(s.*(1 - s)) where s = sigmoid(X*w + b)").correct
    t = mc.derivative("tr(U'*A*V)", ["U", "V"],
                      vars={"U": "matrix(m,k)", "A": "matrix(m,n)", "V": "matrix(n,k)"})
    assert t.shape == ("m", "k", "n", "k") and not t.is_matrix_form
    assert str(t).startswith("D[i,j,l,x] =")       # index letters skip the dimension k
    A = rng.standard_normal((4, 3))
    want = np.einsum("ik,jl->ijkl", A, np.eye(2))
    np.testing.assert_allclose(t.evaluate(U=np.ones((4, 2)), A=A, V=np.ones((3, 2))), want)


def test_an_order_that_differs_from_the_list_is_an_error():
    with pytest.raises(mc.MatrixCalculusError, match="order 3 does not match the wrt list"):
        mc.derivative(BILINEAR, ["x", "y"], order=3)
    with pytest.raises(mc.MatrixCalculusError, match="order 1 does not match"):
        mc.derivative(BILINEAR, ["x", "y"], order=1)
    # a plain name keeps its order; one name in a list is order 1
    assert mc.derivative("x'*A*x", "x", order=2).kind == "hessian"
    assert mc.derivative("x'*A*x", ["x"]).kind == "gradient"


@pytest.mark.parametrize("expr, vars", [
    ("x'*A*x", None),
    ("logdet(S) + x'*S*x", {"S": "symmetric(n)"}),
    ("norm2(R - U*V')^2", None),
])
def test_a_list_of_one_variable_is_the_hessian(expr, vars):
    name = "S" if vars else ("U" if "U" in expr else "x")
    a = mc.derivative(expr, [name, name], vars=vars)
    b = mc.derivative(expr, name, vars=vars, order=2)
    assert a.ir is b.ir and str(a) == str(b) and a.latex() == b.latex()
    assert a.kind == b.kind and a.wrt == b.wrt == name and not a.is_mixed
    assert repr(a) == repr(b) and a.code("numpy") == b.code("numpy")
    assert str(a.hvp()) == str(b.hvp()) and str(a.steps()) == str(b.steps())


def test_three_entries():
    expr = "sin(x'*y)*sum(exp(y))"
    d = mc.derivative(expr, ["x", "y", "x"])
    assert d.order == 3 and d.kind == "mixed derivative" and d.shape == ("n",) * 3
    assert d.lower_order().wrt == ("x", "y") and d.lower_order().lower_order().wrt == "x"
    r = d.check(points=3)
    assert r.ok and "torch autograd" in r.method, r.message
    # and against nested autograd directly
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    ref = autograd_mixed(d.value.compiled("torch"), d.value.parameters, {"x": x, "y": y},
                         ("x", "y", "x"), set())
    np.testing.assert_allclose(d.evaluate(x=x, y=y), ref, rtol=1e-10, atol=1e-12)


def _fd_mixed(f, s: np.ndarray, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """d/dx_k d f/dS_ij by central differences of an independent NumPy f (S unconstrained),
    then symmetrised over (i, j): the reference for a symmetric S."""
    n = s.shape[0]
    out = np.zeros((n, n, n))
    for i in range(n):
        for j in range(n):
            for k in range(n):
                e, u = np.zeros((n, n)), np.zeros(n)
                e[i, j], u[k] = h, h
                out[i, j, k] = (f(s + e, x + u) - f(s + e, x - u) - f(s - e, x + u)
                                + f(s - e, x - u)) / (4 * h * h)
    return (out + out.transpose(1, 0, 2)) / 2


def test_a_symmetric_variables_index_pair_is_symmetrised():
    expr = "x'*S*S*x + sum(sin(S*x))"
    decl = {"S": "symmetric(n)", "x": "vector(n)"}
    d = mc.derivative(expr, ["S", "x"], vars=decl)
    assert d.shape == ("n", "n", "n")
    g = rng.standard_normal((3, 3))
    s, x = (g + g.T) / 2, rng.standard_normal(3)

    def f(s_, x_):
        return x_ @ s_ @ s_ @ x_ + np.sum(np.sin(s_ @ x_))

    got = d.evaluate(S=s, x=x)
    np.testing.assert_allclose(got, got.transpose(1, 0, 2), atol=1e-14)
    np.testing.assert_allclose(got, _fd_mixed(f, s, x), rtol=1e-6, atol=1e-6)
    # the other order: S's pair last
    e = mc.derivative(expr, ["x", "S"], vars=decl)
    np.testing.assert_allclose(e.evaluate(S=s, x=x), got.transpose(2, 0, 1), atol=1e-10)
    assert d.check().ok and e.check().ok


@pytest.mark.parametrize("expr, wrt, direction", [
    ("tr(U'*A*V) + sum(sin(U*W*V'))", ["U", "V"], "dV"),
    ("sum(softplus(X*w + b)) - y'*(X*w + b)", ["w", "b"], "db"),
    ("sin(A*x + B*y)", ["x", "y"], "dy"),                  # a vector expression
    ("x'*S*S*x", ["x", "S"], "dS"),
])
def test_hvp_along_the_last_variable(expr, wrt, direction):
    vars = {"S": "symmetric(n)", "b": "scalar"} if "S" in expr or "b" in expr else None
    d = mc.derivative(expr, wrt, vars=vars)
    h = d.hvp()
    assert h.direction == direction
    last = d.wrt_irs[-1]
    assert h.shape == d.shape[:len(d.shape) - last.rank]
    sizes = dict(SIZES)
    inputs = {}
    for name, info in d.variables.items():
        shape = tuple(sizes.get(s, s) if isinstance(s, str) else s for s in info.shape)
        a = rng.standard_normal(shape)
        inputs[name] = (a + a.T) / 2 if info.kind == "symmetric" else a
    v = rng.standard_normal(np.shape(inputs[wrt[-1]]))
    if d.variables[wrt[-1]].kind == "symmetric":
        v = (v + v.T) / 2
    dense = np.tensordot(d.evaluate(**inputs), v, axes=last.rank)
    np.testing.assert_allclose(h.evaluate(**inputs, **{direction: v}), dense,
                               rtol=1e-10, atol=1e-12)
    assert h.check().ok
    # never the full tensor: no node of the product's IR has the derivative's rank
    assert max(n.rank for n in walk(h.eval_ir)) < d.ir.rank or last.rank == 0


def test_hvp_direction_name_and_bad_orders():
    d = mc.derivative(BILINEAR, ["x", "y"], vars=BILINEAR_VARS)
    assert str(d.hvp("v")) == "A*v"
    with pytest.raises(mc.MatrixCalculusError, match="Hessian-vector product needs"):
        mc.derivative("sin(x'*y)", ["x", "y", "x"]).hvp()


@pytest.mark.parametrize("wrt, message", [
    (["x", "z"], "z (entry 2 of the wrt list) is not a variable of the expression"),
    (["x", "n"], "n (entry 2 of the wrt list) is a dimension"),
    (["s", "x"], "s (entry 1 of the wrt list) is a named subexpression"),
    (["x", 3], "entry 2 of the wrt list must be a variable name, got 3"),
    (["x", "y z"], "entry 2 of the wrt list must be a variable name"),
    ([], "the list of variables to differentiate by is empty"),
    (["x", "y"] * 3, "order 6 is above the limit"),
])
def test_a_bad_entry_is_named(wrt, message):
    with pytest.raises(mc.MatrixCalculusError) as info:
        mc.derivative("sum(s.*x) + y'*B*x*n where s = x", wrt, vars={"x": "vector(n)"})
    assert message in info.value.message


def test_generated_code_of_every_backend():
    d = mc.derivative("tr(U'*A*V) + sum(sin(U*W*V'))", ["U", "V"])
    inputs = {name: rng.standard_normal(tuple(SIZES[s] for s in info.shape))
              for name, info in d.variables.items()}
    want = d.evaluate(**inputs)
    for backend in ("numpy", "torch", "jax", "dask"):
        assert "def mixed_derivative(" in d.code(backend)
    np.testing.assert_allclose(d.compiled("numpy")(**inputs), want)
    if torch_available():
        import torch
        out = d.compiled("torch")(**{n: torch.tensor(v) for n, v in inputs.items()})
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-12)


def test_steps_and_claims():
    d = mc.derivative(BILINEAR, ["x", "y"], vars=BILINEAR_VARS)
    text = d.steps().text()
    assert "d^2f/dx dy = A" in text and "with respect to y" in text
    assert r"\partial x\,\partial y" in d.steps().latex()
    r = mc.check_claim(BILINEAR, ["x", "y"], "A'", vars=BILINEAR_VARS)
    assert not r.correct and r.kind == "transposed" and "mixed derivative" in r.diagnosis
    assert mc.check_claim(BILINEAR, ["x", "y"], "A", vars=BILINEAR_VARS).correct


def test_cli_comma_list(capsys):
    assert main(["x'*A*y", "--wrt", "x,y", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mixed derivative of x'*A*y with respect to x, y   (shape: n x m)")
    assert "\n  A\n" in out and "verified" in out
    assert main(["tr(U'*A*V)", "--wrt", "U, V", "--format", "json", "--hvp"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["wrt"] == ["U", "V"] and row["kind"] == "mixed derivative"
    assert row["order"] == 2 and row["hvp"]["text"] == "A*dV"
    assert main(["check", "x'*A*y", "--wrt", "x,y", "--claim", "A"]) == 0
    capsys.readouterr()
    assert main(["x'*A*y", "--wrt", "x,z"]) == 2
    assert "z (entry 2 of the wrt list)" in capsys.readouterr().err
    assert main(["x'*A*y", "--wrt", "x,y", "--order", "3"]) == 2
    assert "does not match" in capsys.readouterr().err
