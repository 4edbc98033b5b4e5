"""The Hessian-vector product of a matrix-function objective never forms the n^4 tensor:
its generated code holds n x n matrices only (and the 2n x 2n block matrices of the Fréchet
derivatives), so its peak memory at n = 128 is ~16 MB where the Hessian would be 2.1 GB;
and a symmetric argument's first Fréchet derivative takes eigh, not the block matrix."""

from __future__ import annotations

import re
import tracemalloc

import numpy as np

import matrixcalculus as mc

N = 128                      # the Hessian: 8 * N^4 bytes = 2.1 GB


def _peak(fn) -> int:
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_expm_hvp_peak_memory_is_order_n_squared():
    d = mc.derivative("norm2(expm(t*A)*x0 - y)^2", "A", order=2,
                      vars={"A": "matrix(n,n)", "x0": "vector(n)", "y": "vector(n)",
                            "t": "scalar"})
    h = d.hvp()
    src = h.code("numpy", {"n": N})
    # no einsum or reshape that could build a 4-index array: the body is products of n x n
    # matrices and Fréchet derivatives along n x n directions
    body = src[src.index("def hvp("):]
    assert "einsum" not in body and "reshape" not in body, body
    rng = np.random.default_rng(0)
    a = {"A": rng.standard_normal((N, N)) / np.sqrt(N) - 0.5 * np.eye(N),
         "x0": rng.standard_normal(N), "y": rng.standard_normal(N),
         "dA": rng.standard_normal((N, N)), "t": 0.7}
    f = h.compiled("numpy", {"n": N})
    kw = h.keywords(a)
    out = f(**kw)
    peak = _peak(lambda: f(**kw))
    assert peak < 200 * 8 * N * N, peak                  # ~120 n^2 floats measured
    assert peak < 0.01 * 8 * N ** 4, peak
    # and it is the Hessian's product: against differences of the gradient
    grad = mc.derivative("norm2(expm(t*A)*x0 - y)^2", "A", vars={
        "A": "matrix(n,n)", "x0": "vector(n)", "y": "vector(n)", "t": "scalar"}).compiled(
        "numpy", {"n": N})
    eps = 1e-6
    gk = {k: v for k, v in a.items() if k != "dA"}
    fd = (grad(**{**gk, "A": a["A"] + eps * a["dA"]})
          - grad(**{**gk, "A": a["A"] - eps * a["dA"]})) / (2 * eps)
    np.testing.assert_allclose(out, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())


def test_symmetric_argument_takes_eigh_not_the_block_matrix():
    d = mc.derivative("tr(C*logm(S))", "S", vars={"S": "spd(n)", "C": "matrix(n,n)"})
    for backend in ("torch", "jax"):
        src = d.code(backend, {"n": 4})
        assert "_dlogm_sym(" in src and not re.search(r"linalg\.eig\(", src), backend
    n = 64
    rng = np.random.default_rng(1)
    g = rng.standard_normal((n, n))
    S, C = g @ g.T / n + 0.5 * np.eye(n), rng.standard_normal((n, n))
    f = d.compiled("numpy", {"n": n})
    # O(n^2) memory: no 2n x 2n block matrix logm (Schur forms of it) for a symmetric S
    assert _peak(lambda: f(S=S, C=C)) < 16 * 8 * n * n
    w, Q = np.linalg.eigh(S)
    dd = np.where(np.abs(w[:, None] - w[None, :]) < 1e-12, 1 / w[:, None],
                  (np.log(w[:, None]) - np.log(w[None, :]))
                  / np.where(np.abs(w[:, None] - w[None, :]) < 1e-12, 1, w[:, None] - w[None, :]))
    L = Q @ (dd * (Q.T @ C @ Q)) @ Q.T
    np.testing.assert_allclose(f(S=S, C=C), (L + L.T) / 2, rtol=1e-9, atol=1e-12)
