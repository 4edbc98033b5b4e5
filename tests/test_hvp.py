"""Hessian-vector products: closed forms, verified, and code that never forms the Hessian."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.cli import main
from matrixcalculus.variables import declarations

SPD = {"S": "spd", "X": "spd"}


@pytest.mark.parametrize("expr, wrt, vars, expected", [
    ("norm2(R - U*V')^2", "U", {}, "2*dU*V'*V"),
    ("sum(log(1 + exp(-y.*(X*w))))", "w", {}, None),
    ("x'*A*x", "x", {}, "(A + A')*dx"),
    ("logdet(X)", "X", {}, None),
    ("0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)", "S",
     {"x": "vector(n)", "mu": "vector(n)", "S": "symmetric(n)"}, None),
    ("sum(tanh(W*x))", "W", {}, None),
    ("sin(a)*b", "a", {"a": "scalar", "b": "scalar"}, None),
])
def test_hvp_is_verified(expr, wrt, vars, expected):
    h = mc.derivative(expr, wrt, vars=vars, order=2).hvp()
    assert h.direction == "d" + wrt and h.shape == h.hessian.wrt_ir.shape
    if expected is not None:
        assert str(h) == expected
    back = mc.expression(str(h), vars=declarations(h.variables))     # parses back
    assert back.shape == h.shape
    r = h.check(domains={k: v for k, v in SPD.items() if k == wrt})
    assert r.ok, r.message


def test_hvp_matches_the_dense_hessian_and_reparses():
    d = mc.derivative("sum(log(1 + exp(-y.*(X*w))))", "w", order=2)
    h = d.hvp("v")
    rng = np.random.default_rng(0)
    X, w, y, v = (rng.standard_normal((6, 3)), rng.standard_normal(3),
                  rng.standard_normal(6), rng.standard_normal(3))
    np.testing.assert_allclose(h.evaluate(X=X, w=w, y=y, v=v),
                               d.evaluate(X=X, w=w, y=y) @ v, rtol=1e-12)
    back = mc.expression(str(h), vars={"v": "vector(n)", "X": "matrix(m,n)"})
    np.testing.assert_allclose(back.evaluate(X=X, w=w, y=y, v=v),
                               h.evaluate(X=X, w=w, y=y, v=v), rtol=1e-12)


def test_matrix_factorization_hvp_never_forms_the_hessian():
    # the dense Hessian would be (m, k, m, k): 3.2 GB at m = 2000, k = 10
    h = mc.derivative("norm2(R - U*V')^2", "U", order=2).hvp()
    m, n, k = 2000, 1500, 10
    fn = h.compiled("numpy", {"m": m, "n": n, "k": k})
    rng = np.random.default_rng(1)
    R, U, V, dU = (rng.standard_normal(s) for s in ((m, n), (m, k), (n, k), (m, k)))
    tracemalloc.start()
    out = fn(R=R, U=U, V=V, dU=dU)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_allclose(out, 2 * dU @ (V.T @ V), rtol=1e-10)
    assert peak < 4 * out.nbytes, peak


def test_hvp_errors():
    with pytest.raises(mc.MatrixCalculusError, match="Hessian"):
        mc.derivative("x'*x", "x").hvp()
    with pytest.raises(mc.MatrixCalculusError, match="Hessian"):
        mc.derivative("A*x", "x", order=2).hvp()
    with pytest.raises(mc.MatrixCalculusError, match="already a name"):
        mc.derivative("x'*A*x", "x", order=2).hvp("A")
    with pytest.raises(mc.MatrixCalculusError, match="variable name"):
        mc.derivative("x'*A*x", "x", order=2).hvp("1x")
    h = mc.derivative("x'*dx*x", "x", vars={"dx": "matrix(n,n)"}, order=2).hvp()
    assert h.direction == "dx_"


def test_cli_hvp(capsys):
    assert main(["norm2(R - U*V')^2", "--wrt", "U", "--hvp", "--check"]) == 0
    out = capsys.readouterr().out
    # (index letters skip the dimension k: LANGUAGE.md, they never clash)
    assert "D[i,j,l,x] = 2*(V'*V)[x,j]*δ(i,l)" in out
    assert "Hessian-vector product along dU" in out and "  2*dU*V'*V" in out
    assert out.count("verified at") == 2
    # --code: the module alone, the HVP's; the Hessian and both verdicts in its header
    assert main(["norm2(R - U*V')^2", "--wrt", "U", "--hvp", "--check", "--code", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "#   D[i,j,l,x] = 2*(V'*V)[x,j]*δ(i,l)" in out and "#   2*dU*V'*V" in out
    assert "def hvp(*, R, U, V, dU, check_shapes=False):" in out
    assert out.count("verified at") == 2 and out.startswith("# Hessian-vector product of")
    ns: dict = {}
    exec(compile(out, "<cli>", "exec"), ns)  # noqa: S102 - our own generated code
    rng = np.random.default_rng(0)
    R, U, V, dU = (rng.standard_normal(s) for s in ((4, 3), (4, 2), (3, 2), (4, 2)))
    np.testing.assert_allclose(ns["hvp"](R=R, U=U, V=V, dU=dU), 2 * dU @ V.T @ V)
    assert main(["x'*A*x", "--wrt", "x", "--hvp", "v", "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["hvp"]["text"] == "(A + A')*v" and row["hvp"]["direction"] == "v"
    assert main(["x'*A*x", "--wrt", "x", "--hvp", "A"]) == 2
    assert "already a name" in capsys.readouterr().err


def _residual(k: int) -> str:
    x, names = "X", []
    for i in range(1, k + 1):
        names.append(f"X{i} = {x} + tanh({x}*W{i})")
        x = f"X{i}"
    return f"norm2({x} - Y)^2 where " + ", ".join(names)


def test_deep_hvp_is_forward_over_reverse_and_grows_like_the_gradient():
    # six residual tanh blocks: the Hessian is over 200,000 characters (past the answer
    # limit); the gradient's tangent is a few thousand and derives within the engine's
    # time limit (LIMITS.max_seconds: a LimitError otherwise; bench/hvp_depth.py times it)
    torch = pytest.importorskip("torch")
    expr = _residual(6)
    g = mc.derivative(expr, "W1")
    h = mc.hvp(expr, "W1")
    assert len(str(h)) <= 3 * len(str(g)), (len(str(h)), len(str(g)))
    assert h.direction == "dW1" and h.shape == ("m", "m")
    back = mc.expression(str(h), vars=declarations(h.variables))      # parses back
    rng = np.random.default_rng(0)
    a = {"X": rng.standard_normal((4, 3)), "Y": rng.standard_normal((4, 3)),
         "dW1": rng.standard_normal((3, 3))}
    a |= {f"W{i}": rng.standard_normal((3, 3)) / 2 for i in range(1, 7)}
    t = {k: torch.tensor(v) for k, v in a.items()}

    def f(w):
        x = t["X"]
        for i in range(1, 7):
            x = x + torch.tanh(x @ (w if i == 1 else t[f"W{i}"]))
        return ((x - t["Y"]) ** 2).sum()
    ref = torch.func.jvp(torch.func.grad(f), (t["W1"],), (t["dW1"],))[1].numpy()
    np.testing.assert_allclose(h.evaluate(**a), ref, rtol=1e-10)
    np.testing.assert_allclose(back.evaluate(**a), ref, rtol=1e-10)
    for backend in ("torch", "jax"):
        if backend == "jax":
            pytest.importorskip("jax")
        out = h.compiled(backend)(**{k: t[k] if backend == "torch" else v
                                     for k, v in a.items()})
        # (JAX computes in float32 unless jax_enable_x64 is set)
        np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-10 if backend == "torch"
                                   else 1e-4, atol=1e-4 if backend == "jax" else 0)
    assert h.latex() and h.check().ok


@pytest.mark.parametrize("expr, wrt", [
    ("norm2(R - U*V')^2", "U"),
    ("sum(log(1 + exp(-y.*(X*w))))", "w"),
    ("logdet(X)", "X"),
    ("x'*A*y", ["x", "y"]),
    ("sum(softmax(W*x).*c)", "W"),
])
def test_hvp_without_the_hessian_is_the_hessians_product(expr, wrt):
    a = mc.hvp(expr, wrt)
    b = mc.derivative(expr, wrt, order=None if isinstance(wrt, list) else 2).hvp()
    assert str(a) == str(b) and a.shape == b.shape
    r = a.check(domains={"X": "spd"} if wrt == "X" else None)
    assert r.ok and "dense Hessian" not in r.message, r.message
    assert "dense Hessian" in b.check(domains={"X": "spd"} if wrt == "X" else None).message
    with pytest.raises(mc.MatrixCalculusError, match="Hessian"):
        mc.hvp("A*x", "x")
