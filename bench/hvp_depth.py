"""Hessian-vector products of deep compositions (issue 18): forward over reverse.

13a: the residual MLP `X_{i+1} = X_i + tanh(X_i*W_i)` with k = 2, 4, 8 blocks and the
objective norm2(X_k - Y)^2, its HVP wrt W1 along dW1 (mc.hvp: the gradient's tangent, never
the Hessian); 13b: a stack of 4 softmax blocks `P_{i+1} = softmax(P_i*W_i, 2)`.  Columns:
the answer's size (characters) for the gradient and the HVP, their derivation times, and
the evaluation time of our generated NumPy and PyTorch code against torch.func.jvp of
torch.func.grad (forward over reverse by autograd).  Targets: the HVP's answer at most 3x
the gradient's, our evaluation no slower than torch.func's.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from harness import (
    NOISE,
    OURS,
    Config,
    Method,
    Section,
    Target,
    at_most,
    fmt_ms,
    fmt_ratio,
    md_table,
    ratio,
    run_methods,
)
from problems import tensors

import matrixcalculus as mc
from matrixcalculus.valgrad import by_keyword

FUNC = "torch.func jvp(grad)"
SIZE_BOUND = 3.0


def _chain(k: int, name: str, block: str) -> str:
    """norm2(Z_k - Y)^2 where Z_i = block(Z_(i-1), W_i), Z_0 = X ({x}, {i} in block)."""
    x, names = "X", []
    for i in range(1, k + 1):
        names.append(f"{name}{i} = " + block.format(x=x, i=i))
        x = f"{name}{i}"
    return f"norm2({x} - Y)^2 where " + ", ".join(names)


def residual(k: int) -> str:
    return _chain(k, "X", "{x} + tanh({x}*W{i})")


def softmax_stack(k: int) -> str:
    return _chain(k, "P", "softmax({x}*W{i}, 2)")


def _torch_loss(kind: str, k: int):
    def f(W1, t):
        x = t["X"]
        for i in range(1, k + 1):
            w = W1 if i == 1 else t[f"W{i}"]
            x = x + torch.tanh(x @ w) if kind == "residual" else torch.softmax(x @ w, dim=1)
        return ((x - t["Y"]) ** 2).sum()
    return f


def _row(kind: str, k: int, n: int, m: int, cfg: Config, sec: Section) -> list:
    expr = residual(k) if kind == "residual" else softmax_stack(k)
    t0 = time.perf_counter()
    g = mc.derivative(expr, "W1")
    g_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    h = mc.hvp(expr, "W1")
    h_s = time.perf_counter() - t0
    rng = np.random.default_rng(k)
    a = {"X": rng.standard_normal((n, m)), "Y": rng.standard_normal((n, m)),
         "dW1": rng.standard_normal((m, m))}
    a |= {f"W{i}": rng.standard_normal((m, m)) / np.sqrt(m) for i in range(1, k + 1)}
    sizes = {"n": n, "m": m}
    names = h.argument_names
    ours = by_keyword(h.compiled("numpy", sizes), names)
    ours_t = by_keyword(h.compiled("torch", sizes), names)
    t = tensors(a)
    loss = _torch_loss(kind, k)
    grad = torch.func.grad(lambda w: loss(w, t))
    ms = [Method(OURS, lambda: ours(*[a[p] for p in names]), "numpy"),
          Method("ours torch", lambda: ours_t(*[t[p] for p in names]), "torch"),
          Method(FUNC, lambda: torch.func.jvp(grad, (t["W1"],), (t["dW1"],))[1], "torch")]
    cells = run_methods(ms, cfg, sec.mismatches, f"{kind} k={k}")
    best = min((cells[c] for c in (OURS, "ours torch") if cells[c].seconds),
               key=lambda c: c.seconds, default=None)
    size = len(str(h)) / len(str(g))
    speed = ratio(best, cells[FUNC])
    sec.targets.append(Target(sec.short, f"k={k}: HVP answer <= {SIZE_BOUND:g}x the "
                              "gradient's", f"{size:.2f}x", at_most(size, SIZE_BOUND)))
    sec.targets.append(Target(sec.short, f"k={k}: ours no slower than {FUNC}",
                              fmt_ratio(speed), at_most(speed, NOISE),
                              "our faster backend's time / torch.func's"))
    return [k, len(str(g)), len(str(h)), f"{size:.2f}x", f"{g_s:.2f} s", f"{h_s:.2f} s",
            fmt_ms(cells[OURS].seconds), fmt_ms(cells["ours torch"].seconds),
            fmt_ms(cells[FUNC].seconds), fmt_ratio(speed)]


HEADERS = ["blocks k", "gradient chars", "HVP chars", "HVP / gradient", "gradient derived",
           "HVP derived", "ours NumPy", "ours torch", FUNC, "ours / torch.func"]


def hvp_depth(cfg: Config) -> list[Section]:
    n, m = (6, 3) if cfg.quick else (512, 64)
    out = []
    for kind, blocks, title, short in [
            ("residual", (2,) if cfg.quick else (2, 4, 8),
             "13a. Hessian-vector product of a residual tanh MLP", "13a residual HVP"),
            ("softmax", (2,) if cfg.quick else (4,),
             "13b. Hessian-vector product of a softmax stack", "13b softmax HVP")]:
        expr = residual(2) if kind == "residual" else softmax_stack(2)
        sec = Section(f"{title}: `{expr}`, ... wrt W1 (X: {n} x {m})", short)
        sec.add("mc.hvp(): the gradient's directional derivative (forward over reverse, "
                "forward.py), never the Hessian; times on this machine's threads.")
        rows = [_row(kind, k, n, m, cfg, sec) for k in blocks]
        sec.add(md_table(HEADERS, rows))
        out.append(sec)
    return out


PROBLEMS = [hvp_depth]
