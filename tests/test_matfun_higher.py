"""Higher Fréchet derivatives of expm, logm, sqrtm (ops/matfun.py): dexpm(X, E1, ..., Ek)
against differences of the order below, the Hessians of matrix-function objectives
against torch autograd in every backend, their Hessian-vector products without the n^4
tensor, and order 3."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_support import runner

import matrixcalculus as mc
from matrixcalculus.ir.nodes import walk
from matrixcalculus.matfun_rewrites import along_jacobian_axes

V = {"S": "symmetric(n)", "A": "matrix(n,n)", "X": "matrix(n,n)", "C": "matrix(n,n)",
     "E": "matrix(n,n)", "F": "matrix(n,n)", "G": "matrix(n,n)", "x": "vector(n)",
     "x0": "vector(n)", "y": "vector(n)", "t": "scalar"}


def _vars(names: str) -> dict[str, str]:
    return {n: V[n] for n in names.split()}


def _spd(rng, n=3):
    g = rng.standard_normal((n, n))
    return g @ g.T / n + 0.5 * np.eye(n)


def _point(rng, names: str) -> dict[str, np.ndarray | float]:
    out: dict = {}
    for n in names.split():
        if n == "S":
            out[n] = _spd(rng)
        elif n == "t":
            out[n] = 0.7
        elif n == "X":
            out[n] = np.eye(3) + 0.4 * rng.standard_normal((3, 3))
        else:
            out[n] = rng.standard_normal((3,) if n[0].islower() else (3, 3))
    return out


@pytest.mark.parametrize("f", ["dexpm", "dlogm", "dsqrtm"])
@pytest.mark.parametrize("k", [2, 3])
def test_kth_frechet_derivative_is_the_difference_of_the_order_below(f, k):
    rng = np.random.default_rng(k)
    x = _spd(rng) if f != "dexpm" else np.eye(3) + 0.4 * rng.standard_normal((3, 3))
    es = [rng.standard_normal((3, 3)) for _ in range(k)]
    names = "EFG"[:k]
    high = mc.expression(f"{f}(X, {', '.join(names)})", vars=_vars("X " + " ".join(names)))
    low = mc.expression(f"{f}(X, {', '.join(names[:-1])})",
                        vars=_vars("X " + " ".join(names[:-1])))
    args = dict(zip(names, es))
    h = 1e-5
    lower = {n: es[i] for i, n in enumerate(names[:-1])}
    want = (low.evaluate(X=x + h * es[-1], **lower) - low.evaluate(X=x - h * es[-1], **lower)
            ) / (2 * h)
    got = high.evaluate(X=x, **args)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # symmetric in its directions
    swapped = dict(zip(names, es[::-1]))
    np.testing.assert_allclose(high.evaluate(X=x, **swapped), got, rtol=1e-8, atol=1e-10)
    for backend in ("numpy", "torch", "jax", "dask"):
        np.testing.assert_allclose(runner(high, backend)(X=x, **args), got, rtol=1e-7,
                                   atol=1e-9, err_msg=backend)


HESSIANS = [
    ("tr(expm(X))", "X", "X"),
    ("x'*expm(X)*x", "X", "x X"),
    ("norm2(expm(t*A)*x0 - y)^2", "A", "t A x0 y"),
    ("tr(C*logm(S))", "S", "C S"),
    ("tr(sqrtm(S))", "S", "S"),
]


@pytest.mark.parametrize("expr, wrt, names", HESSIANS)
def test_hessians_of_matrix_function_objectives(expr, wrt, names):
    d = mc.derivative(expr, wrt, vars=_vars(names), order=2)
    report = d.check(points=2)
    assert report.ok and "autograd" in report.method, report
    point = _point(np.random.default_rng(7), names)
    want = d.evaluate(**point)
    for backend in ("numpy", "torch", "jax", "dask"):
        np.testing.assert_allclose(runner(d, backend)(**point), want, rtol=1e-7, atol=1e-9,
                                   err_msg=backend)
    h = d.hvp()
    # the product with a direction never evaluates L along the Hessian's axes (n^4)
    assert not along_jacobian_axes(h.ir) and not along_jacobian_axes(h.eval_ir), str(h)
    assert all(n.rank <= 2 for n in walk(h.eval_ir)), str(h)
    assert h.check(points=2).ok
    v = np.random.default_rng(8).standard_normal((3, 3))
    if wrt == "S":
        v = (v + v.T) / 2
    hv = h.evaluate(**point, **{h.direction: v})
    for backend in ("numpy", "torch", "jax"):
        np.testing.assert_allclose(runner(h, backend)(**point, **{h.direction: v}), hv,
                                   rtol=1e-7, atol=1e-9, err_msg=backend)


@pytest.mark.parametrize("expr, wrt, names, want", [
    ("x'*expm(X)*x", "X", "x X", "dexpm(X', x*x', dX')"),
    ("tr(C*logm(S))", "S", "C S", "0.5*(L + L') where L = dlogm(S, C, dS)"),
    ("norm2(expm(t*A)*x0 - y)^2", "A", "t A x0 y",
     "t^2*(dexpm(t*A', 2*(expm(t*A)*x0 - y)*x0', dA') + 2*dexpm(t*A', dexpm(t*A, dA)*x0*x0'))"),
])
def test_hessian_vector_products_print_in_matrix_form(expr, wrt, names, want):
    h = mc.derivative(expr, wrt, vars=_vars(names), order=2).hvp()
    assert str(h) == want


def test_third_derivatives_through_matrix_functions():
    d = mc.derivative("x'*expm(t*A)*x", "t", vars=_vars("x t A"), order=3)
    assert "A^3" in str(d) and "dexpm" not in str(d), str(d)
    assert d.check(points=2).ok
    # no commuting direction: the third Fréchet derivative, as one node
    d = mc.derivative("tr(expm(t*A + C))", "t", vars=_vars("t A C"), order=3)
    assert d.check(points=2).ok
    d = mc.derivative("x'*logm(S)*x", "S", vars=_vars("x S"), order=2)
    assert d.check(points=2).ok


def test_the_kth_derivative_of_a_scalar_argument_is_the_scalar_one():
    d = mc.expression("dlogm(t, t, t)", vars=_vars("t"))
    np.testing.assert_allclose(d.evaluate(t=2.0), -1.0, rtol=1e-12)     # -t^-2 * t * t
