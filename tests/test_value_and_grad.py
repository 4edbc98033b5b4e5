"""value_and_grad: the value and the gradient (and Hessian) from ONE generated function
whose shared subexpressions are computed once; the CLI's --value-and-grad."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.cli import main
from matrixcalculus.compiled import compile_function
from matrixcalculus.valgrad import by_keyword

LOGREG = "sum(log(1 + exp(-y.*(X*w)))) + lam/2*w'*w"
LOGREG_VARS = {"X": "matrix(n,p)", "y": "vector(n)", "w": "vector(p)", "lam": "scalar"}
rng = np.random.default_rng(0)


def logreg_arrays(n: int = 40, p: int = 5) -> dict:
    return {"X": rng.standard_normal((n, p)), "y": np.sign(rng.standard_normal(n)),
            "w": rng.standard_normal(p), "lam": 0.3}


CASES = [
    (LOGREG, "w", LOGREG_VARS, logreg_arrays),
    ("norm2(X*w - y)^2", "w", {}, lambda: {"X": rng.standard_normal((7, 3)),
                                           "w": rng.standard_normal(3),
                                           "y": rng.standard_normal(7)}),
    ("norm2(R - U*V')^2", "U", {}, lambda: {"R": rng.standard_normal((6, 5)),
                                            "U": rng.standard_normal((6, 2)),
                                            "V": rng.standard_normal((5, 2))}),
    ("logdet(S) - tr(A*S)", "S", {"S": "symmetric(n)", "A": "matrix(n,n)"},
     lambda: {"S": 3 * np.eye(3) + 0.1 * (lambda a: a + a.T)(rng.standard_normal((3, 3))),
              "A": rng.standard_normal((3, 3))}),
]


@pytest.mark.parametrize("expr,wrt,vars,make", CASES)
@pytest.mark.parametrize("order", [1, 2])
def test_the_same_as_value_and_gradient_apart(expr, wrt, vars, make, order):
    v = mc.value_and_grad(expr, wrt, vars=vars, order=order)
    arrays = make()
    got = v.evaluate(**arrays)
    assert len(got) == order + 1
    want = [mc.expression(expr, vars=vars).evaluate(**arrays)] + \
        [mc.derivative(expr, wrt, vars=vars, order=k).evaluate(**arrays)
         for k in range(1, order + 1)]
    for g, w in zip(got, want):
        assert g.shape == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_every_backend_runs_the_one_function(backend):
    if backend != "numpy":
        pytest.importorskip(backend)
    if backend == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)
    v = mc.value_and_grad(LOGREG, "w", vars=LOGREG_VARS)
    arrays = logreg_arrays()
    fn = by_keyword(compile_function(v.code(backend), "value_and_grad"), v.argument_names)
    if backend == "torch":
        import torch
        args = [torch.as_tensor(arrays[n], dtype=torch.float64) for n in v.argument_names]
    else:
        args = [arrays[n] for n in v.argument_names]
    f, g = (np.asarray(x) for x in fn(*args))
    want_f, want_g = v.evaluate(**arrays)
    np.testing.assert_allclose(f, want_f, rtol=1e-10)
    np.testing.assert_allclose(g, want_g, rtol=1e-10)


@pytest.mark.parametrize("expr,wrt,shared", [
    ("norm2(X*w - y)^2", "w", "X @ w"),            # the residual: once, for both
    ("norm2(R - U*V')^2", "U", "U @ V.T"),
    (LOGREG, "w", "X @ w"),                       # the margins, under exp and sigmoid
])
def test_the_forward_pass_is_computed_once(expr, wrt, shared):
    src = mc.value_and_grad(expr, wrt, vars=LOGREG_VARS if expr == LOGREG else None).code()
    assert src.count(shared) == 1, src
    apart = mc.expression(expr, vars=LOGREG_VARS if expr == LOGREG else None).code() + \
        mc.derivative(expr, wrt, vars=LOGREG_VARS if expr == LOGREG else None).code()
    assert apart.count(shared) >= 2           # (computed apart, it is computed twice)


def test_a_hessian_comes_third():
    v = mc.value_and_grad("norm2(X*w - y)^2", "w", order=2)
    src = v.code()
    assert "def value_grad_hess(" in src
    assert v.hessian is not None and v.gradient.order == 1
    assert "hessian" in repr(v)


def test_bad_requests_raise_the_package_error():
    with pytest.raises(mc.MatrixCalculusError, match="one variable"):
        mc.value_and_grad("x'*A*y", ["x", "y"])
    with pytest.raises(mc.MatrixCalculusError, match="order=3"):
        mc.value_and_grad("x'*x", "x", order=3)
    with pytest.raises(mc.MatrixCalculusError):
        mc.value_and_grad("x'*", "x")


def test_a_value_not_finite_says_where():
    v = mc.value_and_grad("sum(log(x))", "x")
    with pytest.raises(mc.NumericalError, match="log"):
        v.evaluate(x=np.array([1.0, -1.0]))


def test_cli_value_and_grad(capsys):
    rc = main(["norm2(X*w - y)^2", "--wrt", "w", "--code", "numpy", "--value-and-grad"])
    out, _ = capsys.readouterr()
    assert rc == 0 and "def value_and_grad(" in out and "t1 @ X" in out
    rc = main(["norm2(X*w - y)^2", "--wrt", "w", "--code", "torch", "--value-and-grad",
               "--order", "2"])
    out, _ = capsys.readouterr()
    assert rc == 0 and "def value_grad_hess(" in out
    assert main(["x'*x", "--wrt", "x", "--value-and-grad"]) == 2     # needs --code
    assert "--code" in capsys.readouterr().err


def test_generated_functions_are_called_by_keyword():
    def f(*, b, a_, check_shapes=False):       # reordered, a renamed, an option after
        return a_ - b
    call = by_keyword(f, ["a", "b"])
    assert call(5.0, 3.0) == 2.0
