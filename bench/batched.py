"""The batched ML problems (LANGUAGE.md v2's functions along one axis and expansion):
softmax regression (gradient, Hessian-vector product, Hessian), attention (three
gradients) and layer norm (backward), against torch autograd / torch.func and jit'd JAX."""

from __future__ import annotations

import numpy as np
import scipy.special
import torch
from harness import (
    NOISE,
    OURS,
    Config,
    Method,
    Section,
    Target,
    at_least,
    at_most,
    fmt_ratio,
    ratio,
)
from problems import (
    HAVE_JAX,
    OURS_TORCH,
    Ours,
    Sweep,
    code_block,
    gradient_targets,
    jax_arrays,
    memory_target,
    nbytes,
    sweep,
    tensors,
)

if HAVE_JAX:
    import jax
    import jax.numpy as jnp

# ------------------------------------------------------------------ 7. softmax regression
SOFTREG = "sum(logsumexp(X*W, 2)) - sum(Y.*(X*W))"
SOFTREG_VARS = {"X": "matrix(n,d)", "W": "matrix(d,c)", "Y": "matrix(n,c)"}


def _softreg_inputs(n: int, d: int, c: int, seed: int = 8):
    rng = np.random.default_rng(seed)
    Y = np.eye(c)[rng.integers(0, c, n)]                  # one-hot rows
    return ({"X": rng.standard_normal((n, d)) / np.sqrt(d), "W": rng.standard_normal((d, c)),
             "Y": Y, "dW": rng.standard_normal((d, c))}, {"n": n, "d": d, "c": c})


def _softreg_torch(t):
    X, Y = t["X"], t["Y"]
    return lambda W: torch.logsumexp(X @ W, 1).sum() - (Y * (X @ W)).sum()


def _softreg_jax(W, X, Y):
    Z = X @ W
    return jnp.sum(jax.nn.logsumexp(Z, axis=1)) - jnp.sum(Y * Z)


def worst_target(sec: Section, sw: Sweep, other: str, bound: float, what: str) -> None:
    """ours / other at most bound at every size (the worst reported)."""
    worst, where = None, ""
    for lab, c in zip(sw.labels, sw.results):
        r = ratio(c.get(OURS), c.get(other))
        if r is not None and (worst is None or r > worst):
            worst, where = r, lab
    if worst is not None:
        sec.targets.append(Target(sec.name, what, fmt_ratio(worst), at_most(worst, bound),
                                  f"worst at {where}"))


def softmax_regression(cfg: Config) -> list[Section]:
    grad_pts = [(64, 16, 4)] if cfg.quick else [(1024, 256, 32), (4096, 256, 32)]
    hess_pts = [(32, 8, 4)] if cfg.quick else [(256, 256, 32), (1024, 256, 32)]
    label = lambda p: f"n={p[0]}, d={p[1]}, c={p[2]}"  # noqa: E731
    out = []
    # alternative forms of the same loss, printed for comparison (not timed)
    alt = "-sum(Y.*log(softmax(X*W, 2)))"
    for kind, order, hvp in (("gradient", 1, False), ("Hessian-vector product", 2, True)):
        ours = Ours(SOFTREG, "W", SOFTREG_VARS, order, hvp=hvp)
        tag = "7a" if order == 1 else "7b"
        sec = Section(f"{tag}. Softmax regression {kind}: `{SOFTREG}` wrt W"
                      + (", along dW" if hvp else "") + "; Y one-hot rows",
                      f"{tag} softmax regression {'gradient' if order == 1 else 'HVP'}")
        sec.add(ours.source(_softreg_inputs(*grad_pts[-1])[1]))
        other = Ours(alt, "W", SOFTREG_VARS, order, hvp=hvp)
        sec.add(f"The same loss written `{alt}` (equal for one-hot Y), {other.d.kind}: "
                f"`{other.d}`:\n\n" + code_block(other.d.code("numpy",
                                                               _softreg_inputs(*grad_pts[-1])[1])))
        if order == 1:
            sec.add("hand: `X.T @ (softmax(X@W, axis=1) - Y)`; limit: `X.T @ (X @ W)` (the two "
                    "gemms alone).")
        else:
            sec.add("torch.func: `jvp(grad(f), (W,), (dW,))`; JAX the same under jit; hand: "
                    "`P = softmax(X@W); U = X@dW; X.T @ (P*(U - sum(P*U, 1)[:, None]))`; "
                    "limit: `X.T @ (X @ dW)` (the two gemms alone).")

        def build(p, ours=ours, order=order):
            a, dims = _softreg_inputs(*p)
            t = tensors(a)
            X, W, Y, dW = a["X"], a["W"], a["Y"], a["dW"]
            ms = ours.methods(dims, a)
            f_t = _softreg_torch(t)
            if order == 1:
                ms.append(Method("torch.func.grad", lambda: torch.func.grad(f_t)(t["W"]),
                                 "torch"))
                if HAVE_JAX:
                    j = jax_arrays(a)
                    ms.append(_jax("jax.grad (jit)", jax.grad(_softreg_jax),
                                   j["W"], j["X"], j["Y"]))
                ms.append(Method("hand", lambda: X.T @ (scipy.special.softmax(X @ W, axis=1)
                                                        - Y), "numpy"))
                ms.append(Method("limit", lambda: X.T @ (X @ W), "numpy", check=False))
            else:
                ms.append(Method("torch.func hvp", lambda: torch.func.jvp(
                    torch.func.grad(f_t), (t["W"],), (t["dW"],))[1], "torch"))
                if HAVE_JAX:
                    def hvp_j(W, dW, X, Y):
                        return jax.jvp(lambda W: jax.grad(_softreg_jax)(W, X, Y), (W,),
                                       (dW,))[1]
                    j = jax_arrays(a)
                    ms.append(_jax("jax hvp (jit)", hvp_j, j["W"], j["dW"], j["X"], j["Y"]))

                def hand():
                    P = scipy.special.softmax(X @ W, axis=1)
                    U = X @ dW
                    return X.T @ (P * (U - np.sum(P * U, axis=1)[:, None]))
                ms.append(Method("hand", hand, "numpy"))
                ms.append(Method("limit", lambda: X.T @ (X @ dW), "numpy", check=False))
            return ms, nbytes(X, W, Y, W) + (dW.nbytes if order == 2 else 0)

        sw = sweep(sec, cfg, grad_pts, label, build, "limit", size=lambda p: p[0], grow=1)
        jx = "jax.grad (jit)" if order == 1 else "jax hvp (jit)"
        tf = "torch.func.grad" if order == 1 else "torch.func hvp"
        gradient_targets(sec, sw, [], tf, jx)
        memory_target(sec, sw, _ndcc, "(n, d, c, c)")
        out.append(sec)
    out.append(_softreg_hessian(cfg, hess_pts, label))
    return out


def _n(lab: str) -> int:
    return int(lab.split(",")[0].split("=")[1])


def _ndcc(lab: str) -> int:
    """Bytes of an (n, d, c, c) array at the size labelled lab ("n=.., d=.., c=..")."""
    n, d, c = (int(part.split("=")[1]) for part in lab.split(", "))
    return 8 * n * d * c * c


def _jax(name: str, fn, *args) -> Method:
    from harness import jax_method
    return jax_method(name, fn, *args)


def _softreg_hessian(cfg: Config, points: list, label) -> Section:
    ours = Ours(SOFTREG, "W", SOFTREG_VARS, 2)
    sec = Section(f"7c. Softmax regression Hessian: `{SOFTREG}` wrt W, (d, c, d, c)",
                  "7c softmax regression Hessian")
    sec.add(ours.source(_softreg_inputs(*points[-1])[1]))
    sec.add("hand: `P = softmax(X@W); Z = (X[:, :, None]*P[:, None, :]).reshape(n, -1)`, "
            "`einsum('pi,pk,pj->ijkj')` written as `np.einsum('pj,pik->ijk', P, X[:, :, None]"
            "*X[:, None, :])` on the diagonal of (j, l), minus `(Z.T @ Z).reshape(d, c, d, c)`; "
            "limit: `Z.T @ Z` with Z precomputed (the syrk alone, 2/3 of the flops are there). "
            "torch.func.hessian runs at the smallest n only (~15 s a call there; at n = 4096 "
            "its batch of 8192 tangents holds (8192, n, c) arrays, 8.6 GB each, on a machine "
            "of 23 GB).")

    def build(p):
        a, dims = _softreg_inputs(*p)
        t = tensors(a)
        X, W, n = a["X"], a["W"], p[0]
        P0 = scipy.special.softmax(X @ W, axis=1)
        Z0 = (X[:, :, None] * P0[:, None, :]).reshape(n, -1)
        ms = ours.methods(dims, a)
        f_t = _softreg_torch(t)
        if p == points[0]:       # at larger n its (8192, n, c) tangent arrays outgrow memory
            ms.append(Method("torch.func.hessian", lambda: torch.func.hessian(f_t)(t["W"]),
                             "torch"))

        def hand():
            d, c = W.shape
            P = scipy.special.softmax(X @ W, axis=1)
            Z = (X[:, :, None] * P[:, None, :]).reshape(n, -1)
            H = -(Z.T @ Z).reshape(d, c, d, c)
            first = np.einsum("pj,pi,pk->jik", P, X, X, optimize=True)
            idx = np.arange(c)
            H[:, idx, :, idx] += first
            return H
        ms.append(Method("hand", hand, "numpy"))
        ms.append(Method("limit", lambda: Z0.T @ Z0, "numpy", check=False))
        return ms, nbytes(X, W, a["Y"]) + 8 * (p[1] * p[2]) ** 2

    sw = sweep(sec, cfg, points, label, build, "limit", size=lambda p: p[0], grow=1,
               always=label(points[-1]))        # the memory target's point always runs
    c0 = sw.results[0]
    r = ratio(c0.get("torch.func.hessian"), c0.get(OURS))
    rt = ratio(c0.get("torch.func.hessian"), c0.get(OURS_TORCH))
    sec.targets.append(Target(sec.name, ">= 10x faster than torch.func.hessian", fmt_ratio(r),
                              at_least(r, 10), f"{sw.labels[0]}; ours torch: {fmt_ratio(rt)}"))
    r = ratio(c0.get(OURS), c0.get("hand"))
    sec.targets.append(Target(sec.name, "no slower than the hand-written form (hand)",
                              fmt_ratio(r), at_most(r, NOISE), sw.labels[0]))
    # the (d, c, d, c) output itself is as big as an (n, d, c, c) array at n = d: the bound
    # is one such array at the largest n (each of ours' terms is one output-sized array)
    lab, c1 = sw.labels[-1], sw.results[-1]
    peak = c1[OURS].peak
    sec.targets.append(Target(
        sec.name, "memory: ours' peak below one (n, d, c, c) array", "-" if peak is None else
        f"{peak / 1e6:.0f} MB", at_most(peak, _ndcc(lab) - 1), f"{lab}; an (n, d, c, c) array "
        f"would be {_ndcc(lab) / 1e6:.0f} MB; the output is {8 * (256 * 32) ** 2 / 1e6:.0f} MB"))
    return sec


# ------------------------------------------------------------------ 8. attention
ATTN = "sum(G.*(softmax(Q*K'/sqrt(d), 2)*V))"
ATTN_VARS = {"Q": "matrix(n,d)", "K": "matrix(m,d)", "V": "matrix(m,e)", "G": "matrix(n,e)"}


def attention(cfg: Config) -> Section:
    points = [(32, 8)] if cfg.quick else [(256, 64), (512, 64)]
    grads = {w: Ours(ATTN, w, ATTN_VARS, 1) for w in "QKV"}
    sec = Section(f"8. Attention gradients: `{ATTN}` wrt Q, K and V together", "8 attention")
    n0, d0 = points[-1]
    dims0 = {"n": n0, "m": n0, "d": d0, "e": d0}
    for w, g in grads.items():
        sec.add(f"wrt {w}: " + g.source(dims0))
    sec.add("ours: the three generated functions called one after another (the code "
            "generator writes one derivative per function), their results concatenated (as "
            "for every method); torch autograd: the forward pass and one `backward()` with "
            "Q, K, V requiring grad; torch.func: `grad(f, argnums=(0, 1, 2))`; hand: the "
            "textbook backward (`P = softmax(S); dV = P.T@G; dP = G@V.T; dS = P*(dP - "
            "sum(dP*P, 1)[:, None]); dQ = dS@K/sqrt(d); dK = dS.T@Q/sqrt(d)`); limit: the "
            "forward and backward gemms alone.")

    def build(p):
        n, d = p
        rng = np.random.default_rng(9)
        a = {"Q": rng.standard_normal((n, d)), "K": rng.standard_normal((n, d)),
             "V": rng.standard_normal((n, d)), "G": rng.standard_normal((n, d))}
        dims = {"n": n, "m": n, "d": d, "e": d}
        t = tensors(a)
        Q, K, V, G = a["Q"], a["K"], a["V"], a["G"]
        parts = {w: g.methods(dims, a) for w, g in grads.items()}
        ms = []
        for name, lib, cat in ((OURS, "numpy", np.concatenate),
                               (OURS_TORCH, "torch", torch.cat)):
            fns = [next(m.fn for m in parts[w] if m.name == name) for w in "QKV"]
            ms.append(Method(name, lambda fns=fns, cat=cat: cat([f().reshape(-1) for f in fns]),
                             lib))

        def f_t(Q, K, V):
            return (t["G"] * (torch.softmax(Q @ K.T / d ** 0.5, 1) @ V)).sum()

        def autograd():
            q, k, v = (t[w].detach().requires_grad_() for w in "QKV")
            f_t(q, k, v).backward()
            return torch.cat([q.grad.reshape(-1), k.grad.reshape(-1), v.grad.reshape(-1)])
        ms.append(Method("torch autograd", autograd, "torch"))
        ms.append(Method("torch.func.grad", lambda: torch.cat([
            x.reshape(-1) for x in torch.func.grad(f_t, argnums=(0, 1, 2))(
                t["Q"], t["K"], t["V"])]), "torch"))
        if HAVE_JAX:
            def g_j(Q, K, V, G):
                f = lambda Q, K, V: jnp.sum(G * (jax.nn.softmax(Q @ K.T / d ** 0.5,  # noqa: E731
                                                                axis=1) @ V))
                return jnp.concatenate([x.reshape(-1) for x in
                                        jax.grad(f, argnums=(0, 1, 2))(Q, K, V)])
            j = jax_arrays(a)
            ms.append(_jax("jax.grad (jit)", g_j, j["Q"], j["K"], j["V"], j["G"]))

        def hand():
            P = scipy.special.softmax(Q @ K.T / np.sqrt(d), axis=1)
            dV = P.T @ G
            dP = G @ V.T
            dS = P * (dP - np.sum(dP * P, axis=1)[:, None])
            return np.concatenate([(dS @ K).reshape(-1) / np.sqrt(d),
                                   (dS.T @ Q).reshape(-1) / np.sqrt(d), dV.reshape(-1)])
        ms.append(Method("hand", hand, "numpy"))
        S0 = Q @ K.T
        ms.append(Method("limit", lambda: (Q @ K.T, S0 @ V, G @ V.T, S0.T @ G, S0 @ K,
                                           S0.T @ Q)[0], "numpy", check=False))
        return ms, nbytes(Q, K, V, G, Q, K, V)

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, d={p[1]}", build, "limit",
               size=lambda p: p[0] * p[0], grow=1)
    for other in ("torch autograd", "torch.func.grad", "jax.grad (jit)"):
        worst_target(sec, sw, other, NOISE, f"never slower than {other} (ours / {other} <= "
                     f"{NOISE})")
    memory_target(sec, sw, lambda lab: 8 * _n(lab) ** 4, "(n, m, n, m)")
    return sec


# ------------------------------------------------------------------ 9. layer norm
LAYERNORM = "sum(G.*Y) where Xc = X - mean(X, 2), s = sqrt(mean(Xc.^2, 2) + 1e-5), Y = Xc./s"
LN_VARS = {"X": "matrix(n,p)", "G": "matrix(n,p)"}


def layer_norm(cfg: Config) -> Section:
    points = [(64, 32)] if cfg.quick else [(1024, 1024), (4096, 1024)]
    ours = Ours(LAYERNORM, "X", LN_VARS, 1)
    sec = Section(f"9. Layer norm backward: `{LAYERNORM}` wrt X", "9 layer norm backward")
    sec.add(ours.source({"n": points[-1][0], "p": points[-1][1]}))
    sec.add("torch autograd: the same composite expression, forward + `backward()`; "
            "torch layer_norm: `torch.nn.functional.layer_norm(X, (p,), eps=1e-5)` (no affine), "
            "forward + its fused backward; hand: `xh = Xc/s; (G - mean(G, 1) - xh*mean(G*xh, "
            "1))/s` (columns broadcast); limit: one pass reading X and G and writing the "
            "result (`X + G`).")

    def build(p):
        n, q = p
        rng = np.random.default_rng(10)
        a = {"X": rng.standard_normal((n, q)) * 2 + 1, "G": rng.standard_normal((n, q))}
        t = tensors(a)
        X, G = a["X"], a["G"]
        ms = ours.methods({"n": n, "p": q}, a)

        def composite():
            x = t["X"].detach().requires_grad_()
            xc = x - x.mean(1, keepdim=True)
            y = xc / torch.sqrt((xc * xc).mean(1, keepdim=True) + 1e-5)
            (t["G"] * y).sum().backward()
            return x.grad

        def fused():
            x = t["X"].detach().requires_grad_()
            (t["G"] * torch.nn.functional.layer_norm(x, (q,), eps=1e-5)).sum().backward()
            return x.grad
        ms.append(Method("torch autograd", composite, "torch"))
        ms.append(Method("torch layer_norm", fused, "torch"))

        def hand():
            Xc = X - X.mean(axis=1)[:, None]
            s = np.sqrt((Xc * Xc).mean(axis=1) + 1e-5)[:, None]
            xh = Xc / s
            return (G - G.mean(axis=1)[:, None] - xh * (G * xh).mean(axis=1)[:, None]) / s
        ms.append(Method("hand", hand, "numpy"))
        ms.append(Method("limit", lambda: X + G, "numpy", check=False))
        return ms, nbytes(X, G, X)

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, p={p[1]}", build, "limit",
               size=lambda p: p[0] * p[1], grow=1)
    for other in ("torch autograd", "torch layer_norm"):
        worst_target(sec, sw, other, 1.5, f"within 1.5x of {other} (ours / {other} <= 1.5)")
    worst_target(sec, sw, "hand", NOISE, f"never slower than hand (ours / hand <= {NOISE})")
    memory_target(sec, sw)
    return sec


PROBLEMS = [softmax_regression, attention, layer_norm]
