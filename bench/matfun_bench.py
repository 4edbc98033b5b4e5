"""Matrix functions (issue 16): the gradient of an ODE fit through expm wrt the system
matrix, of tr(C*logm(S)) wrt an SPD S, and a Hessian-vector product through expm, against
torch autograd (through torch.linalg.matrix_exp; of an eigh-based logm), torch.func and
jit'd JAX.  None of them forms the n^4 derivative tensor: the HVP's peak memory is shown
O(n^2) (tracemalloc) where the n^4 tensor would be gigabytes."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from batched import _jax, worst_target
from harness import NOISE, OURS, Config, Method, Section, Target, at_most, fmt_bytes
from problems import HAVE_JAX, OURS_TORCH, Ours, jax_arrays, nbytes, sweep, tensors

if HAVE_JAX:
    import jax
    import jax.numpy as jnp

AUTOGRAD = "torch autograd"
T = 0.7                      # the observation time of the ODE fits
K = 8                        # initial states observed (the columns of X0 and Y)


def _system(rng: np.random.Generator, n: int) -> np.ndarray:
    """A stable-ish random system matrix, eigenvalues of modulus ~1 (expm(t*A) neither
    overflows nor needs many squarings more than a real model's would)."""
    return rng.standard_normal((n, n)) / np.sqrt(n) - 0.5 * np.eye(n)


def _vs_autograd(sec: Section, sw, others: list[str]) -> None:
    for other in others:
        worst_target(sec, sw, other, NOISE, f"never slower than {other} (ours / {other} <= "
                     f"{NOISE})")
    # ours torch against the same library's autograd (a detail: targets judge NumPy)
    worst, where = None, ""
    for lab, c in zip(sw.labels, sw.results):
        a, b = c.get(OURS_TORCH), c.get(others[0])
        if a and b and a.seconds and b.seconds and (worst is None or a.seconds / b.seconds
                                                    > worst):
            worst, where = a.seconds / b.seconds, lab
    if worst is not None:
        sec.add(f"ours torch / {others[0]}: worst {worst:.3g}x (at {where}).")


# ------------------------------------------------------------------ 12a. ODE fit gradient
ODE = "norm2(expm(t*A)*X0 - Y)^2"
ODE_VARS = {"A": "matrix(n,n)", "X0": "matrix(n,k)", "Y": "matrix(n,k)", "t": "scalar"}


def matfun_ode(cfg: Config) -> Section:
    points = [16] if cfg.quick else [64, 256]
    ours = Ours(ODE, "A", ODE_VARS)
    sec = Section(f"12a. ODE fit gradient: `{ODE}` wrt A (x' = A x; the k = {K} columns of "
                  f"X0 are initial states, of Y their observations at t = {T})",
                  "12a ODE fit gradient")
    sec.add(ours.source({"n": points[-1], "k": K}))
    sec.add(f"{AUTOGRAD}: `((torch.linalg.matrix_exp(t*A) @ X0 - Y)**2).sum().backward()` "
            "(its backward is matrix_exp of the 2n x 2n block matrix); torch.func.grad: the "
            "same function; JAX: `jax.grad` of `jax.scipy.linalg.expm` under jit; limit: "
            "`scipy.linalg.expm(t*A)` alone (the value's one exponential; the gradient needs "
            "it and one Fréchet derivative, `expm_frechet`).")

    def build(n):
        rng = np.random.default_rng(16)
        a = {"A": _system(rng, n), "X0": rng.standard_normal((n, K)),
             "Y": rng.standard_normal((n, K))}
        ms = ours.methods({"n": n, "k": K}, {**a, "t": np.array(T)})
        t = tensors(a)

        def f_t(A):
            return ((torch.linalg.matrix_exp(T * A) @ t["X0"] - t["Y"]) ** 2).sum()

        def autograd():
            A = t["A"].detach().requires_grad_()
            f_t(A).backward()
            return A.grad
        ms.append(Method(AUTOGRAD, autograd, "torch"))
        ms.append(Method("torch.func.grad", lambda: torch.func.grad(f_t)(t["A"]), "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)

            def f_j(A, X0, Y):
                return jnp.sum((jax.scipy.linalg.expm(T * A) @ X0 - Y) ** 2)
            ms.append(_jax("jax.grad (jit)", jax.grad(f_j), j["A"], j["X0"], j["Y"]))
        A = a["A"]
        ms.append(Method("limit", lambda: scipy.linalg.expm(T * A), "numpy", check=False))
        return ms, nbytes(A, a["X0"], a["Y"], A)

    sw = sweep(sec, cfg, points, lambda n: f"n={n}", build, "limit", grow=3)
    _vs_autograd(sec, sw, [AUTOGRAD, "torch.func.grad", "jax.grad (jit)"])
    return sec


# ------------------------------------------------------------------ 12b. logm gradient
LOGM = "tr(C*logm(S))"
LOGM_VARS = {"S": "spd(n)", "C": "matrix(n,n)"}


def _spd(rng: np.random.Generator, n: int) -> np.ndarray:
    g = rng.standard_normal((n, n))
    return g @ g.T / n + 0.5 * np.eye(n)


def matfun_logm(cfg: Config) -> Section:
    points = [16] if cfg.quick else [64, 256]
    ours = Ours(LOGM, "S", LOGM_VARS)
    sec = Section(f"12b. Matrix logarithm gradient: `{LOGM}` wrt S (S: spd(n))",
                  "12b logm gradient")
    sec.add(ours.source({"n": points[-1]}))
    sec.add(f"{AUTOGRAD}: an eigh-based logm, `w, Q = torch.linalg.eigh(S); L = (Q * "
            "log(w)) @ Q.T`, forward and `backward()` of `trace(C @ L)`, its gradient "
            "symmetrised `(G + G.T)/2` (S is symmetric: ours is the symmetric gradient); "
            "torch.func.grad: the same function; JAX: `jax.grad` of the same with "
            "`jnp.linalg.eigh` under jit; limit: `np.linalg.eigh(S)` alone.")

    def logm_t(S):
        w, Q = torch.linalg.eigh(S)
        return (Q * torch.log(w)) @ Q.mT

    def build(n):
        rng = np.random.default_rng(17)
        a = {"S": _spd(rng, n), "C": rng.standard_normal((n, n))}
        ms = ours.methods({"n": n}, a)
        t = tensors(a)

        def f_t(S):
            return torch.trace(t["C"] @ logm_t(S))

        def autograd():
            S = t["S"].detach().requires_grad_()
            f_t(S).backward()
            return (S.grad + S.grad.mT) / 2
        ms.append(Method(AUTOGRAD, autograd, "torch"))

        def func_grad():
            g = torch.func.grad(f_t)(t["S"])
            return (g + g.mT) / 2
        ms.append(Method("torch.func.grad", func_grad, "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)

            def g_j(S, C):
                def f(S):
                    w, Q = jnp.linalg.eigh(S)
                    return jnp.trace(C @ ((Q * jnp.log(w)) @ Q.T))
                g = jax.grad(f)(S)
                return (g + g.T) / 2
            ms.append(_jax("jax.grad (jit)", g_j, j["S"], j["C"]))
        S = a["S"]
        ms.append(Method("limit", lambda: np.linalg.eigh(S)[1], "numpy", check=False))
        return ms, nbytes(S, a["C"], S)

    sw = sweep(sec, cfg, points, lambda n: f"n={n}", build, "limit", grow=3)
    _vs_autograd(sec, sw, [AUTOGRAD, "torch.func.grad", "jax.grad (jit)"])
    return sec


# ------------------------------------------------------------------ 12c. HVP through expm
HVP = "norm2(expm(t*A)*x0 - y)^2"
HVP_VARS = {"A": "matrix(n,n)", "x0": "vector(n)", "y": "vector(n)", "t": "scalar"}
HVP_GROWTH = 1.25            # peak / n^2 from the smallest size to the largest


def matfun_hvp(cfg: Config) -> Section:
    points = [8] if cfg.quick else [64, 256]
    ours = Ours(HVP, "A", HVP_VARS, 2, hvp=True)
    n0 = points[-1]
    sec = Section(f"12c. Hessian-vector product through expm: `{HVP}` wrt A, along dA",
                  "12c expm HVP")
    sec.add(f"The Hessian is (n, n, n, n), {8 * n0 ** 4 / 1e9:.3g} GB at n = {n0}; its "
            "product with a direction, `d.hvp()`, is second Fréchet derivatives of expm "
            "(the top-right block of `expm_frechet` of the 2n x 2n block matrix) and first "
            "ones, every node an n x n matrix:")
    sec.add(ours.source({"n": n0}))
    sec.add("torch.func: `jvp(grad(f), (A,), (dA,))` (forward-over-reverse) through "
            "`torch.linalg.matrix_exp`; JAX the same through `jax.scipy.linalg.expm` under "
            "jit; limit: `scipy.linalg.expm(t*A)` alone.")

    def build(n):
        rng = np.random.default_rng(18)
        a = {"A": _system(rng, n), "x0": rng.standard_normal(n), "y": rng.standard_normal(n),
             "dA": rng.standard_normal((n, n))}
        ms = ours.methods({"n": n}, {**a, "t": np.array(T)})
        t = tensors(a)

        def f_t(A):
            return ((torch.linalg.matrix_exp(T * A) @ t["x0"] - t["y"]) ** 2).sum()
        ms.append(Method("torch.func hvp", lambda: torch.func.jvp(
            torch.func.grad(f_t), (t["A"],), (t["dA"],))[1], "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)

            def hvp_j(A, dA, x0, y):
                def f(A):
                    return jnp.sum((jax.scipy.linalg.expm(T * A) @ x0 - y) ** 2)
                return jax.jvp(jax.grad(f), (A,), (dA,))[1]
            ms.append(_jax("jax hvp (jit)", hvp_j, j["A"], j["dA"], j["x0"], j["y"]))
        A = a["A"]
        ms.append(Method("limit", lambda: scipy.linalg.expm(T * A), "numpy", check=False))
        return ms, nbytes(A, a["dA"], A)

    sw = sweep(sec, cfg, points, lambda n: f"n={n}", build, "limit", grow=3)
    _vs_autograd(sec, sw, ["torch.func hvp", "jax hvp (jit)"])
    # O(n^2): ours' peak over n^2 floats stays put from size to size (expm_frechet holds
    # a few dozen 2n x 2n matrices), and is a vanishing part of the n^4 Hessian
    per = [None if c[OURS].peak is None else c[OURS].peak / (8 * n * n)
           for n, c in zip(points, sw.results)]
    # the largest size the sweep reached (it may stop before points[-1])
    n_last = points[len(sw.results) - 1]
    lab, peak = sw.labels[-1], sw.results[-1][OURS].peak
    if len(per) > 1 and None not in per:
        growth = per[-1] / per[0]
        sec.targets.append(Target(
            sec.name, f"memory grows as n^2: ours' peak / n^2 at {lab} within {HVP_GROWTH}x "
            f"of that at {sw.labels[0]}", f"{growth:.2f}x", at_most(growth, HVP_GROWTH),
            f"{per[0]:.0f} and {per[-1]:.0f} n^2 floats"))
    share = None if peak is None else peak / (8 * n_last ** 4)
    sec.targets.append(Target(
        sec.name, "memory: ours' peak <= 1% of the n^4 Hessian (never formed)",
        "-" if share is None else f"{100 * share:.3g}%", at_most(share, 0.01),
        f"{lab}: {fmt_bytes(peak)}; the Hessian would be {fmt_bytes(8 * n_last ** 4)}"))
    return sec


PROBLEMS = [matfun_ode, matfun_logm, matfun_hvp]
