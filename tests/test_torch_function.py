"""expression(...).torch_function() / .jax_function(): the expression as a differentiable op
whose backward is the derived closed form, checked against autograd; a model trains on it."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc

torch = pytest.importorskip("torch")

LOGREG = "sum(log(1 + exp(-y.*(X*w)))) + lam/2*w'*w"
LOGREG_VARS = {"X": "matrix(n,p)", "y": "vector(n)", "w": "vector(p)", "lam": "scalar"}


def t(a, grad=True, dtype=torch.float64):
    return torch.tensor(np.asarray(a), dtype=dtype, requires_grad=grad)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    return {"X": t(rng.standard_normal((30, 4))), "y": t(np.sign(rng.standard_normal(30))),
            "w": t(rng.standard_normal(4)), "lam": t(0.7)}


def logreg_torch(X, y, w, lam):
    return torch.sum(torch.log(1 + torch.exp(-y * (X @ w)))) + lam / 2 * w @ w


def test_a_scalar_loss_matches_autograd_for_every_input():
    f = mc.expression(LOGREG, vars=LOGREG_VARS).torch_function()
    a = inputs()
    ours = f(**a)
    ref = logreg_torch(**a)
    assert torch.allclose(ours, ref)
    got = torch.autograd.grad(ours, list(a.values()))
    want = torch.autograd.grad(ref, list(a.values()))
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert torch.allclose(g, w, rtol=1e-10, atol=1e-12)
    assert "ClosedForm" in type(ours.grad_fn).__name__      # our backward, not autograd's


@pytest.mark.parametrize("expr,ref", [
    ("sigmoid(W*x)", lambda W, x: torch.sigmoid(W @ x)),
    ("A*X*B", lambda A, X, B: A @ X @ B),
    ("softmax(W*x)", lambda W, x: torch.softmax(W @ x, 0)),
])
def test_a_vector_or_matrix_output_backpropagates_its_vjp(expr, ref):
    e = mc.expression(expr)
    rng = np.random.default_rng(1)
    shapes = {"W": (3, 4), "x": (4,), "A": (2, 3), "X": (3, 4), "B": (4, 5)}
    a = {n: t(rng.standard_normal(shapes[n])) for n in e.variables}
    out = e.torch_function()(**a)
    want = ref(**a)
    assert torch.allclose(out, want)
    cot = torch.as_tensor(rng.standard_normal(tuple(want.shape)))
    got = torch.autograd.grad(out, list(a.values()), cot)
    exp = torch.autograd.grad(want, list(a.values()), cot)
    for g, w in zip(got, exp):
        assert torch.allclose(g, w, rtol=1e-10, atol=1e-12)


def test_a_tiny_model_trains_on_it():
    # matrix factorisation R ~ U*V', Adam on the closed-form gradients
    f = mc.expression("norm2(R - U*V')^2").torch_function()
    rng = np.random.default_rng(2)
    R = torch.as_tensor(rng.standard_normal((20, 3)) @ rng.standard_normal((3, 15)))
    U = torch.nn.Parameter(torch.as_tensor(0.1 * rng.standard_normal((20, 3))))
    V = torch.nn.Parameter(torch.as_tensor(0.1 * rng.standard_normal((15, 3))))
    opt = torch.optim.Adam([U, V], lr=0.05)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = f(R=R, U=U, V=V)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.01 * losses[0]


def test_float32_and_plain_numbers():
    f = mc.expression(LOGREG, vars=LOGREG_VARS).torch_function()
    a = {k: v.detach().float().requires_grad_() for k, v in inputs().items()}
    a["lam"] = 0.5                       # a Python number becomes a tensor of the dtype
    out = f(**a)
    assert out.dtype == torch.float32
    out.backward()
    assert a["w"].grad is not None and a["w"].grad.dtype == torch.float32


def test_arguments_are_by_keyword_and_checked():
    f = mc.expression(LOGREG, vars=LOGREG_VARS).torch_function()
    a = inputs()
    del a["lam"]
    with pytest.raises(mc.MatrixCalculusError, match="missing lam"):
        f(**a)
    with pytest.raises(mc.MatrixCalculusError, match="unknown z"):
        f(**inputs(), z=t(1.0))


def test_jax_custom_vjp_matches_jax_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    f = mc.expression(LOGREG, vars=LOGREG_VARS).jax_function()
    a = {k: jnp.asarray(v.detach().numpy()) for k, v in inputs().items()}

    def ref(X, y, w, lam):
        return jnp.sum(jnp.log(1 + jnp.exp(-y * (X @ w)))) + lam / 2 * w @ w

    got = jax.grad(lambda w, X: f(X=X, y=a["y"], w=w, lam=a["lam"]), argnums=(0, 1))(
        a["w"], a["X"])
    want = jax.grad(lambda w, X: ref(X, a["y"], w, a["lam"]), argnums=(0, 1))(a["w"], a["X"])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10)
    jitted = jax.jit(jax.grad(lambda w: f(X=a["X"], y=a["y"], w=w, lam=a["lam"])))
    np.testing.assert_allclose(jitted(a["w"]), want[0], rtol=1e-10)
    # a non-scalar output: its VJP through jax.vjp
    e = mc.expression("sigmoid(W*x)").jax_function()
    W, x = jnp.ones((3, 4)) * 0.1, jnp.arange(4.0)
    out, back = jax.vjp(lambda W, x: e(W=W, x=x), W, x)
    _, back_ref = jax.vjp(lambda W, x: jax.nn.sigmoid(W @ x), W, x)
    for g, w in zip(back(jnp.arange(3.0)), back_ref(jnp.arange(3.0))):
        np.testing.assert_allclose(g, w, rtol=1e-10)
