"""Generated code of tensor answers (issue 15): 4- and 5-index derivatives of einsum
expressions equal torch autograd's Jacobians and Hessians, and the code of every backend
(NumPy, PyTorch, JAX, Dask on chunked arrays) computes the same numbers, on these and on
random tensor expressions; every einsum in generated code is a pairwise step of a
contraction order fixed when the code was written (RECIPES.md: never einsum without one)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from tensor_randexpr import TensorGenerator

import matrixcalculus as mc

VARS = {"A": "matrix(m,n)", "X": "matrix(n,k)", "T": "tensor(n,d,h)", "B": "matrix(d,m)",
        "w": "vector(d)", "x": "vector(h)", "U": "tensor(n,d,d,m)"}
SIZES = {"m": 3, "n": 4, "k": 2, "d": 3, "h": 2}
ein = torch.einsum
# (expression, wrt, order, the torch function of the arguments, in the variables' order)
CASES = [
    ('einsum("ij,jk->ik", A, X)', "X", 1, lambda A, X: ein("ij,jk->ik", A, X)),
    ('einsum("ijk,jl->il", T, B)', "B", 1, lambda T, B: ein("ijk,jl->il", T, B)),
    ('sum(tanh(einsum("ijk,jl->ilk", T, B)))', "B", 2,
     lambda T, B: torch.tanh(ein("ijk,jl->ilk", T, B)).sum()),
    ('einsum("ijk,j->i", T, w)', "T", 1, lambda T, w: ein("ijk,j->i", T, w)),
    ('einsum("ijk,k->ijk", T, x).^2', "x", 1, lambda T, x: ein("ijk,k->ijk", T, x) ** 2),
    ('sum(sin(einsum("ijkl,kl->ij", U, B)))', "B", 2,
     lambda U, B: torch.sin(ein("ijkl,kl->ij", U, B)).sum()),
    ('softmax(einsum("ikj,kl->ijl", T, B), 3)', "B", 1,
     lambda T, B: torch.softmax(ein("ikj,kl->ijl", T, B), 2)),
    ('einsum("ijk,ijk->ij", T, T)', "T", 1, lambda T: ein("ijk,ijk->ij", T, T)),
    ('sum(einsum("iik->ik", einsum("ijk,ljk->ilk", T, T)).^2)', "T", 2,
     lambda T: (ein("iik->ik", ein("ijk,ljk->ilk", T, T)) ** 2).sum()),
]


def _inputs(d: mc.Derivative, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name in d.variables:
        dims = VARS[name][VARS[name].index("(") + 1:-1].split(",")
        out[name] = rng.standard_normal([SIZES[s] for s in dims])
    return out


def _halves(a: np.ndarray):
    da = pytest.importorskip("dask.array")
    return da.from_array(a, chunks=tuple(max(1, (s + 1) // 2) for s in a.shape))


def backends_agree(d: mc.Derivative, x: dict[str, np.ndarray]) -> list[str]:
    """The backends whose generated code differs from NumPy's at x, and einsum calls of
    more than two operands in any backend's code."""
    want = np.asarray(d.evaluate(**x))
    names = list(d.variables)
    bad = []
    got = d.compiled("torch")(**d.keywords({n: torch.from_numpy(x[n]) for n in names}))
    if not np.allclose(np.asarray(got), want, rtol=1e-9, atol=1e-11):
        bad.append("torch")
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        got = d.compiled("jax")(**d.keywords({n: jax.numpy.asarray(x[n]) for n in names}))
        if not np.allclose(np.asarray(got), want, rtol=1e-9, atol=1e-11):
            bad.append("jax")
    except ImportError:
        pass
    from matrixcalculus.distributed import evaluate_dask
    with warnings.catch_warnings():         # outer products of 2-chunk toy inputs
        warnings.simplefilter("ignore")
        got = evaluate_dask(d, {k: _halves(v) for k, v in x.items()}, scheduler="sync")
    if not np.allclose(np.asarray(got), want, rtol=1e-9, atol=1e-11):
        bad.append("dask")
    for backend in ("numpy", "torch", "jax", "dask"):
        for spec in re.findall(r"einsum\('([^']*)'", d.code(backend, SIZES)):
            if spec.split("->")[0].count(",") > 1:
                bad.append(f"{backend}: einsum {spec!r} without a contraction order")
    return bad


@pytest.mark.parametrize("expr,wrt,order,fn", CASES, ids=[c[0] for c in CASES])
def test_tensor_answers_match_autograd_on_every_backend(expr, wrt, order, fn):
    d = mc.derivative(expr, wrt, vars={k: v for k, v in VARS.items()
                                       if re.search(rf"\b{k}\b", expr)}, order=order)
    assert len(d.shape) >= 4
    x = _inputs(d, 0)
    args = {n: torch.from_numpy(x[n]) for n in d.variables}

    def f(v):        # fn's parameters are named after the variables
        return fn(**{**args, wrt: v})
    want = (torch.autograd.functional.jacobian if order == 1 else
            torch.autograd.functional.hessian)(f, args[wrt]).numpy()
    got = np.asarray(d.evaluate(**x))
    assert got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-11), str(d)
    assert not backends_agree(d, x), d.code("numpy")


def test_random_tensor_expressions_on_every_backend():
    bad = []
    for seed in range(25):
        c = TensorGenerator(seed).case()
        d = mc.derivative(c.text, c.wrt, vars=c.vars)
        wrong = backends_agree(d, c.inputs(seed))
        if wrong:
            bad.append((seed, c.text, wrong))
    assert not bad, bad
