"""The newer problems of bench/gpu.py (issue 18): softmax regression (gradient and
Hessian-vector product), attention (gradients wrt Q, K and V) and matrix functions (the
gradient of an ODE fit through expm, and of tr(C*logm(S))), each on the device: our
generated PyTorch code against torch.func / autograd, the hand-written form and the limit.

A problem is a title, its sizes (quick: the smoke run's) and methods_at(p, device, dtype),
which returns the methods, `ours torch` first; `refs` names the methods whose time over
ours is reported."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

import matrixcalculus as mc

SOFTREG = "sum(logsumexp(X*W, 2)) - sum(Y.*(X*W))"
SOFTREG_VARS = (("X", "matrix(n,d)"), ("W", "matrix(d,c)"), ("Y", "matrix(n,c)"))
ATTN = "sum(G.*(softmax(Q*K'/sqrt(d), 2)*V))"
ATTN_VARS = (("Q", "matrix(n,d)"), ("K", "matrix(m,d)"), ("V", "matrix(m,e)"),
             ("G", "matrix(n,e)"))
ODEFIT = "norm2(expm(t*A)*x0 - y)^2"
ODEFIT_VARS = (("A", "matrix(n,n)"), ("x0", "vector(n)"), ("y", "vector(n)"), ("t", "scalar"))
TRLOGM = "tr(C*logm(S))"
TRLOGM_VARS = (("C", "matrix(n,n)"), ("S", "spd(n)"))


@functools.cache
def derived(expr: str, wrt: str, decls: tuple, order: int = 1,
            hvp: bool = False) -> mc.Derivative:
    """Derived once, whatever the size and dtype."""
    d = mc.derivative(expr, wrt, vars=dict(decls), order=order)
    return d.hvp() if hvp else d


@dataclass
class Problem:
    title: str
    label: Callable[[tuple], str]
    sizes: list[tuple]
    quick: list[tuple]
    methods_at: Callable[[tuple, str, object], dict]
    refs: list[str]
    expr: str


def _randn(g, *shape, dtype, device, scale: float = 1.0):
    return (torch.randn(*shape, generator=g, dtype=dtype) * scale).to(device)


def _ours(d: mc.Derivative, sizes: dict, arrays: dict) -> Callable[[], torch.Tensor]:
    fn = d.compiled("torch", sizes)
    kw = d.keywords({k: arrays[k] for k in d.variables})
    return lambda: fn(**kw)


# ------------------------------------------------------------------ softmax regression
def _softreg_arrays(p: tuple, device: str, dtype) -> tuple[dict, dict]:
    n, d, c = p
    g = torch.Generator(device="cpu").manual_seed(8)
    Y = torch.eye(c, dtype=dtype)[torch.randint(0, c, (n,), generator=g)].to(device)
    return ({"X": _randn(g, n, d, dtype=dtype, device=device, scale=d ** -0.5),
             "W": _randn(g, d, c, dtype=dtype, device=device), "Y": Y,
             "dW": _randn(g, d, c, dtype=dtype, device=device)}, {"n": n, "d": d, "c": c})


def _softreg_loss(a: dict):
    X, Y = a["X"], a["Y"]
    return lambda W: torch.logsumexp(X @ W, 1).sum() - (Y * (X @ W)).sum()


def softreg_grad_methods(p: tuple, device: str, dtype) -> dict:
    a, sizes = _softreg_arrays(p, device, dtype)
    X, W, Y = a["X"], a["W"], a["Y"]
    f = _softreg_loss(a)
    return {"ours torch": _ours(derived(SOFTREG, "W", SOFTREG_VARS), sizes, a),
            "torch.func.grad": lambda: torch.func.grad(f)(W),
            "hand": lambda: X.T @ (torch.softmax(X @ W, 1) - Y),
            "limit": lambda: X.T @ (X @ W)}


def softreg_hvp_methods(p: tuple, device: str, dtype) -> dict:
    a, sizes = _softreg_arrays(p, device, dtype)
    X, W, dW = a["X"], a["W"], a["dW"]
    f = _softreg_loss(a)

    def hand():
        P = torch.softmax(X @ W, 1)
        U = X @ dW
        return X.T @ (P * (U - (P * U).sum(1, keepdim=True)))
    return {"ours torch": _ours(derived(SOFTREG, "W", SOFTREG_VARS, 2, hvp=True), sizes, a),
            "torch.func hvp": lambda: torch.func.jvp(torch.func.grad(f), (W,), (dW,))[1],
            "hand": hand,
            "limit": lambda: X.T @ (X @ dW)}


# ------------------------------------------------------------------ attention
def attention_methods(p: tuple, device: str, dtype) -> dict:
    n, d = p
    g = torch.Generator(device="cpu").manual_seed(9)
    a = {w: _randn(g, n, d, dtype=dtype, device=device) for w in "QKVG"}
    sizes = {"n": n, "m": n, "d": d, "e": d}
    fns = [_ours(derived(ATTN, w, ATTN_VARS), sizes, a) for w in "QKV"]
    Q, K, V, G = (a[w] for w in "QKVG")

    def f(Q, K, V):
        return (G * (torch.softmax(Q @ K.T / d ** 0.5, 1) @ V)).sum()

    def autograd():
        q, k, v = (x.detach().requires_grad_() for x in (Q, K, V))
        f(q, k, v).backward()
        return torch.cat([q.grad.reshape(-1), k.grad.reshape(-1), v.grad.reshape(-1)])

    def hand():
        P = torch.softmax(Q @ K.T / d ** 0.5, 1)
        dP = G @ V.T
        dS = P * (dP - (dP * P).sum(1, keepdim=True)) / d ** 0.5
        return torch.cat([(dS @ K).reshape(-1), (dS.T @ Q).reshape(-1), (P.T @ G).reshape(-1)])
    S0 = Q @ K.T
    return {"ours torch": lambda: torch.cat([fn().reshape(-1) for fn in fns]),
            "torch autograd": autograd,
            "torch.func.grad": lambda: torch.cat([x.reshape(-1) for x in torch.func.grad(
                f, argnums=(0, 1, 2))(Q, K, V)]),
            "hand": hand,
            # the forward and backward GEMMs alone
            "limit": lambda: (S0 @ V, G @ V.T, S0.T @ G, S0 @ K, S0.T @ Q)[0]}


# ------------------------------------------------------------------ matrix functions
def odefit_methods(p: tuple, device: str, dtype) -> dict:
    (n,) = p
    g = torch.Generator(device="cpu").manual_seed(10)
    A = _randn(g, n, n, dtype=dtype, device=device, scale=n ** -0.5)
    a = {"A": A, "x0": _randn(g, n, dtype=dtype, device=device),
         "y": _randn(g, n, dtype=dtype, device=device),
         "t": torch.tensor(0.5, dtype=dtype, device=device)}
    x0, y, t = a["x0"], a["y"], a["t"]

    def f(A):
        return ((torch.linalg.matrix_exp(t * A) @ x0 - y) ** 2).sum()

    def hand():           # the Frechet derivative of expm at tA' along 2 r x0': one 2n expm
        r = torch.linalg.matrix_exp(t * A) @ x0 - y
        B = torch.zeros(2 * n, 2 * n, dtype=dtype, device=device)
        B[:n, :n] = B[n:, n:] = t * A.T
        B[:n, n:] = 2 * torch.outer(r, x0)
        return t * torch.linalg.matrix_exp(B)[:n, n:]
    return {"ours torch": _ours(derived(ODEFIT, "A", ODEFIT_VARS), {"n": n}, a),
            "torch.func.grad": lambda: torch.func.grad(f)(A),
            "hand": hand,
            "limit": lambda: torch.linalg.matrix_exp(t * A)}


def _logm_eigh(S):
    w, V = torch.linalg.eigh((S + S.T) / 2)
    return (V * torch.log(w)) @ V.T


def trlogm_methods(p: tuple, device: str, dtype) -> dict:
    (n,) = p
    g = torch.Generator(device="cpu").manual_seed(11)
    M = torch.randn(n, n, generator=g, dtype=dtype)
    S = (M @ M.T / n + torch.eye(n, dtype=dtype)).to(device)
    C = _randn(g, n, n, dtype=dtype, device=device)
    a = {"C": C, "S": S}

    def hand():           # Daleckii-Krein: V ((V' sym(C) V) .* Gamma) V'
        w, V = torch.linalg.eigh(S)
        lw = torch.log(w)
        dw = w[:, None] - w[None, :]
        same = dw.abs() <= 1e-8 * w.abs().max()
        gam = torch.where(same, 1 / w[:, None].expand(n, n),
                          (lw[:, None] - lw[None, :]) / torch.where(same, torch.ones_like(dw),
                                                                    dw))
        return V @ ((V.T @ ((C + C.T) / 2) @ V) * gam) @ V.T
    return {"ours torch": _ours(derived(TRLOGM, "S", TRLOGM_VARS), {"n": n}, a),
            "torch.func.grad (eigh logm)": lambda: torch.func.grad(
                lambda S: torch.trace(C @ _logm_eigh(S)))(S),
            "hand": hand,
            "limit": lambda: torch.linalg.eigh(S)[0]}


PROBLEMS = [
    Problem("7a softmax regression gradient (wrt W)", lambda p: f"n={p[0]}, d={p[1]}, c={p[2]}",
            [(8192, 512, 64), (32768, 1024, 128), (131072, 1024, 128)], [(64, 16, 4)],
            softreg_grad_methods, ["torch.func.grad"], SOFTREG),
    Problem("7b softmax regression Hessian-vector product (wrt W, along dW)",
            lambda p: f"n={p[0]}, d={p[1]}, c={p[2]}",
            [(8192, 512, 64), (32768, 1024, 128), (131072, 1024, 128)], [(64, 16, 4)],
            softreg_hvp_methods, ["torch.func hvp"], SOFTREG),
    Problem("8 attention gradients (wrt Q, K and V)", lambda p: f"n={p[0]}, d={p[1]}",
            [(1024, 64), (4096, 64), (8192, 128)], [(32, 8)], attention_methods,
            ["torch autograd", "torch.func.grad"], ATTN),
    Problem("M1 ODE fit gradient through expm (wrt A)", lambda p: f"n={p[0]}",
            [(64,), (256,), (1024,)], [(8,)], odefit_methods, ["torch.func.grad"], ODEFIT),
    Problem("M2 tr(C*logm(S)) gradient (wrt S, S SPD)", lambda p: f"n={p[0]}",
            [(64,), (256,), (1024,)], [(8,)], trlogm_methods,
            ["torch.func.grad (eigh logm)"], TRLOGM),
]
