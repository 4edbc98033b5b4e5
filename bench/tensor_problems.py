"""Tensor problems (issue 15): the gradient of multi-head attention written with einsum
(heads last, LANGUAGE.md v2's tensor(...) declarations) against torch autograd on the same
einsums, torch.func and jit'd JAX; an A/A control (torch autograd timed twice) shows the
timing noise the ratios are read against."""

from __future__ import annotations

import numpy as np
import scipy.special
import torch
from batched import _jax, worst_target
from harness import NOISE, OURS, Config, Method, Section, Target, at_most, fmt_ratio
from problems import HAVE_JAX, Ours, jax_arrays, nbytes, sweep, tensors
from report import ratio as shown_ratio

if HAVE_JAX:
    import jax
    import jax.numpy as jnp

# ------------------------------------------------------------------ 10. multi-head attention
MHA = ('sum(G.*einsum("nmh,meh->neh", softmax(einsum("ndh,mdh->nmh", Q, K)/sqrt(d), 2), V))')
MHA_VARS = {"Q": "tensor(n,d,h)", "K": "tensor(m,d,h)", "V": "tensor(m,e,h)",
            "G": "tensor(n,e,h)"}
AUTOGRAD = "torch autograd"
CONTROL = "torch autograd (A/A)"


def _mha_torch(d: int):
    def f(Q, K, V, G):
        P = torch.softmax(torch.einsum("ndh,mdh->nmh", Q, K) / d ** 0.5, 1)
        return (G * torch.einsum("nmh,meh->neh", P, V)).sum()
    return f


def mha_einsum(cfg: Config) -> Section:
    points = [(32, 8, 2)] if cfg.quick else [(256, 64, 8), (512, 64, 8)]
    ours = Ours(MHA, "Q", MHA_VARS, 1)
    sec = Section(f"10. Multi-head attention gradient with einsum: `{MHA}` wrt Q "
                  "(Q, K, V, G: (n, d, h), heads last; m = n, e = d)", "10 multi-head attention")
    n0, d0, h0 = points[-1]
    sec.add(ours.source({"n": n0, "m": n0, "d": d0, "e": d0, "h": h0}))
    sec.add(f"{AUTOGRAD}: the same two einsums and softmax (`torch.einsum`), forward and one "
            f"`backward()` with Q requiring grad; {CONTROL}: the same method timed again (its "
            "ratio to the first is the noise of this run); torch.func: `grad(f)` of the same "
            "function; JAX: `jax.grad` of `jnp.einsum`s under jit; hand: the textbook backward "
            "with `np.einsum(..., optimize=True)` (`P = softmax(S, 1); dP = G V^T; dS = P*(dP "
            "- sum(P*dP, 1)); dQ = dS K/sqrt(d)`, per head); limit: the four batched gemms "
            "alone (`Q K^T`, `P V`, `G V^T`, `dS K`) on heads-first copies.")

    def build(p):
        n, d, h = p
        rng = np.random.default_rng(11)
        a = {w: rng.standard_normal((n, d, h)) for w in "QKVG"}
        dims = {"n": n, "m": n, "d": d, "e": d, "h": h}
        t = tensors(a)
        Q, K, V, G = a["Q"], a["K"], a["V"], a["G"]
        ms = ours.methods(dims, a)
        f_t = _mha_torch(d)

        def autograd():
            q = t["Q"].detach().requires_grad_()
            f_t(q, t["K"], t["V"], t["G"]).backward()
            return q.grad
        ms.append(Method(AUTOGRAD, autograd, "torch"))
        ms.append(Method(CONTROL, autograd, "torch"))
        ms.append(Method("torch.func.grad", lambda: torch.func.grad(f_t)(
            t["Q"], t["K"], t["V"], t["G"]), "torch"))
        if HAVE_JAX:
            def f_j(Q, K, V, G):
                P = jax.nn.softmax(jnp.einsum("ndh,mdh->nmh", Q, K) / d ** 0.5, axis=1)
                return jnp.sum(G * jnp.einsum("nmh,meh->neh", P, V))
            j = jax_arrays(a)
            ms.append(_jax("jax.grad (jit)", jax.grad(f_j), j["Q"], j["K"], j["V"], j["G"]))

        def hand():
            P = scipy.special.softmax(np.einsum("ndh,mdh->nmh", Q, K, optimize=True)
                                      / np.sqrt(d), axis=1)
            dP = np.einsum("neh,meh->nmh", G, V, optimize=True)
            dS = P * (dP - np.sum(P * dP, axis=1, keepdims=True))
            return np.einsum("nmh,mdh->ndh", dS, K, optimize=True) / np.sqrt(d)
        ms.append(Method("hand", hand, "numpy"))
        Qh, Kh, Vh, Gh = (np.ascontiguousarray(x.transpose(2, 0, 1)) for x in (Q, K, V, G))
        S0 = Qh @ Kh.transpose(0, 2, 1)
        ms.append(Method("limit", lambda: (Qh @ Kh.transpose(0, 2, 1), S0 @ Vh,
                                           Gh @ Vh.transpose(0, 2, 1), S0 @ Kh)[0], "numpy",
                         check=False))
        return ms, nbytes(Q, K, V, G, Q)

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, d={p[1]}, h={p[2]}", build, "limit",
               size=lambda p: p[0] * p[0] * p[2], grow=1)
    for other in (AUTOGRAD, "torch.func.grad", "jax.grad (jit)"):
        worst_target(sec, sw, other, NOISE, f"never slower than {other} (ours / {other} <= "
                     f"{NOISE})")
    last = sw.results[-1]
    r = shown_ratio(last.get(CONTROL), last.get(AUTOGRAD))     # shown, not judged
    if r is not None:       # torch's own A/A pair: the noise the torch ratios are read against
        sec.add(f"{CONTROL} / {AUTOGRAD} at {sw.labels[-1]}: {fmt_ratio(r)} (the harness's "
                "A/A control vouches for our code's times; this pair shows torch's noise).")
    # the scores P (n, m, h) are the forward pass's own: every method holds a few of them
    lab, c, io = sw.labels[-1], sw.results[-1], sw.inputs_out[-1]
    n, h = points[-1][0], points[-1][2]
    scores = 8 * n * n * h
    peak, hand = c[OURS].peak, c.get("hand")
    r = None if peak is None else peak / (io + scores)
    extra = "" if hand is None or hand.peak is None else \
        f"; hand: {hand.peak / (io + scores):.2f} x"
    sec.targets.append(Target(sec.name, "memory: ours' peak <= 4 x (inputs + output + one "
                              "(n, m, h) score array)", "-" if r is None else f"{r:.2f} x",
                              at_most(r, 4.0), f"{lab}; the scores are {scores / 1e6:.3g} MB"
                              + extra))
    return sec


PROBLEMS = [mha_einsum]
