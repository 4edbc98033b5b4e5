"""Plugging derivatives in: value-and-gradient as one function, and mc.minimize.

11a/11b: `mc.value_and_grad` (one generated function returning (f, grad)) against our value
and gradient called apart, jax.value_and_grad under jit and torch autograd (forward, then
backward); the harness's A/A control (our function timed twice) vouches for each size.
11c/11d: `mc.minimize` on logistic regression and ridge regression against scikit-learn
(when installed), the closed form (ridge), and scipy.optimize.minimize with
finite-difference gradients; the optimum must agree to 1e-6 (relative, max norm).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.optimize
import torch
from harness import (
    NOISE,
    OURS,
    Config,
    Method,
    Section,
    Target,
    at_most,
    code_block,
    fmt_ratio,
    jax_method,
    md_table,
    ratio,
)
from problems import HAVE_JAX, jax_arrays, sweep, tensors

import matrixcalculus as mc
from matrixcalculus.valgrad import by_keyword

if HAVE_JAX:
    import jax
    import jax.numpy as jnp

try:
    import sklearn
    from sklearn.linear_model import LogisticRegression, Ridge
    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

APART = "ours apart (value, then gradient)"


def _flat(f, g) -> np.ndarray:
    return np.concatenate([np.ravel(f), np.ravel(g)])


def _vg_methods(expr: str, wrt: str, vars: dict, sizes: dict, a: dict,
                torch_loss: Callable, jax_loss: Callable) -> tuple[list[Method], object]:
    v = mc.value_and_grad(expr, wrt, vars=vars)
    names = v.argument_names
    args = [a[n] for n in names]
    fused = by_keyword(v.compiled("numpy", sizes), names)
    value = by_keyword(v.value.compiled("numpy", sizes), v.value.argument_names)
    grad = by_keyword(v.gradient.compiled("numpy", sizes), v.gradient.argument_names)
    fused_t = by_keyword(v.compiled("torch", sizes), names)
    t = tensors(a)
    t_args = [t[n] for n in names]
    ms = [Method(OURS, lambda: _flat(*fused(*args)), "numpy"),
          Method(APART, lambda: _flat(value(*args), grad(*args)), "numpy"),
          Method("ours torch", lambda: torch.cat([x.reshape(-1) for x in fused_t(*t_args)]),
                 "torch")]

    def autograd():
        x = t[wrt].detach().requires_grad_()
        f = torch_loss(x, t)
        (g,) = torch.autograd.grad(f, x)
        return torch.cat([f.detach().reshape(1), g.reshape(-1)])
    ms.append(Method("torch autograd", autograd, "torch"))
    if HAVE_JAX:
        j = jax_arrays(a)
        others = [n for n in names if n != wrt]

        def vg(x, *rest):
            f, g = jax.value_and_grad(jax_loss)(x, *rest)
            return jnp.concatenate([jnp.reshape(f, (1,)), jnp.ravel(g)])
        ms.append(jax_method("jax.value_and_grad (jit)", vg, j[wrt], *(j[n] for n in others)))
    return ms, v


def _vg_targets(sec: Section, sw) -> None:
    for other, what in ((APART, "no slower than the value and the gradient apart"),
                        ("jax.value_and_grad (jit)", "vs jax.value_and_grad (jit)"),
                        ("torch autograd", "vs torch autograd")):
        worst, where = None, ""
        for lab, c in zip(sw.labels, sw.results):
            r = ratio(c.get(OURS), c.get(other))
            if r is not None and (worst is None or r > worst):
                worst, where = r, lab
        if worst is None:
            continue
        met = at_most(worst, NOISE) if other == APART else None
        sec.targets.append(Target(sec.name, f"{what} (ours / {other}, worst)",
                                  fmt_ratio(worst), met, f"worst at {where}"))


LOGREG = "sum(log(1 + exp(-y.*(X*w))))"
LOGREG_VARS = {"X": "matrix(m,n)", "w": "vector(n)", "y": "vector(m)"}


def value_and_grad_logistic(cfg: Config) -> Section:
    sizes = [40] if cfg.quick else [250, 1000, 2000]
    sec = Section(f"11a. Value and gradient in one function: `{LOGREG}` wrt w, X: (2n, n)",
                  "11a logistic value+grad")

    def build(n):
        rng = np.random.default_rng(0)
        a = {"X": rng.standard_normal((2 * n, n)) / np.sqrt(n), "w": rng.standard_normal(n),
             "y": np.where(rng.standard_normal(2 * n) > 0, 1.0, -1.0)}
        ms, v = _vg_methods(
            LOGREG, "w", LOGREG_VARS, {"m": 2 * n, "n": n}, a,
            lambda w, t: torch.nn.functional.softplus(-t["y"] * (t["X"] @ w)).sum(),
            lambda w, X, y: jnp.sum(jax.nn.softplus(-y * (X @ w))))
        build.source = v.code("numpy", {"m": 2 * n, "n": n})
        return ms, int(sum(x.nbytes for x in a.values()))

    sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build, None, grow=2)
    sec.parts.insert(0, "Generated (sizes of the largest run):\n\n" + code_block(build.source))
    _vg_targets(sec, sw)
    return sec


def value_and_grad_mf(cfg: Config) -> Section:
    points = [(100, 10)] if cfg.quick else [(500, 10), (1000, 50), (2000, 100)]
    expr = "norm2(R - U*V')^2"
    sec = Section(f"11b. Value and gradient in one function: `{expr}` wrt U, m = n",
                  "11b MF value+grad")

    def build(p):
        n, k = p
        rng = np.random.default_rng(3)
        a = {"R": rng.standard_normal((n, n)), "U": rng.standard_normal((n, k)),
             "V": rng.standard_normal((n, k))}
        sizes = {"m": n, "n": n, "k": k}
        ms, v = _vg_methods(expr, "U", {"R": "matrix(m,n)", "U": "matrix(m,k)",
                                        "V": "matrix(n,k)"}, sizes, a,
                            lambda U, t: ((t["R"] - U @ t["V"].T) ** 2).sum(),
                            lambda U, R, V: jnp.sum((R - U @ V.T) ** 2))
        build.source = v.code("numpy", sizes)
        return ms, int(sum(x.nbytes for x in a.values()))

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, k={p[1]}", build, None,
               size=lambda p: p[0] * p[0] * p[1], grow=1)
    sec.parts.insert(0, "Generated (sizes of the largest run):\n\n" + code_block(build.source))
    _vg_targets(sec, sw)
    return sec


def _timed(fn: Callable[[], np.ndarray]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _solver_section(sec: Section, runs: list[tuple[str, Callable]], ref: np.ndarray,
                    ref_name: str, matches: list[str]) -> None:
    rows, errs = [], {}
    for name, fn in runs:
        try:
            seconds, (x, nit) = _timed(fn)
        except Exception as e:  # noqa: BLE001 - a failing solver is a result
            rows.append([name, "-", "-", f"failed: {type(e).__name__}: {str(e)[:80]}"])
            continue
        err = float(np.max(np.abs(x - ref)) / max(1.0, np.max(np.abs(ref))))
        errs[name] = err
        rows.append([name, f"{seconds:.2f}", nit, f"{err:.1e}"])
    sec.add(md_table(["method", "wall s", "iterations", f"max abs diff from {ref_name} "
                      "(relative)"], rows))
    for name in matches:
        if name in errs:
            sec.targets.append(Target(sec.name, f"{name}: the optimum of {ref_name} to 1e-6",
                                      f"{errs[name]:.1e}", at_most(errs[name], 1e-6)))


def _ours(expr: str, data: dict, method: str, tol: float):
    def run():
        r = mc.minimize(expr, "w", data=data, vars={"lam": "scalar"}, method=method, tol=tol)
        return r.x, r.nit
    return run


def _fd(expr: str, data: dict, p: int):
    value = mc.expression(expr, vars={"lam": "scalar"})
    names = value.argument_names
    fn = by_keyword(value.compiled("numpy"), names)

    def run():
        args = {**data}
        r = scipy.optimize.minimize(
            lambda w: float(fn(*(w if n == "w" else args[n] for n in names))),
            np.zeros(p), method="L-BFGS-B")
        return r.x, r.nit
    return run


def minimize_logistic(cfg: Config) -> Section:
    n, p = (2000, 10) if cfg.quick else (100_000, 100)
    lam = 1.0
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    y = np.where(X @ rng.standard_normal(p) + rng.standard_normal(n) > 0, 1.0, -1.0)
    expr = "sum(log(1 + exp(-y.*(X*w)))) + lam/2*w'*w"
    data = {"X": X, "y": y, "lam": lam}
    sec = Section(f"11c. mc.minimize: logistic regression `{expr}`, X: {n:,} x {p}, lam = 1",
                  "11c minimize logistic")
    sec.add("scikit-learn: `LogisticRegression(C=1/lam, fit_intercept=False, tol=1e-10)` "
            "(its objective is C * the log-loss + |w|^2/2: the same minimizer); ours: "
            "`mc.minimize(..., method=M, tol=1e-10)`, wall time including deriving and "
            "generating the code; FD: `scipy.optimize.minimize(f, method='L-BFGS-B')` with "
            "finite-difference gradients of our generated value.")
    runs = [(f"ours {m}", _ours(expr, data, m, 1e-10))
            for m in ("trust-exact", "Newton-CG", "trust-ncg", "L-BFGS-B")]
    ref_name = "ours trust-exact"
    if HAVE_SKLEARN:
        for solver in ("newton-cholesky", "lbfgs"):
            def fit(solver=solver):
                m = LogisticRegression(C=1 / lam, fit_intercept=False, tol=1e-10,
                                       solver=solver, max_iter=1000).fit(X, y)
                return m.coef_.ravel(), int(np.max(m.n_iter_))
            runs.append((f"scikit-learn {sklearn.__version__} ({solver})", fit))
        ref_name = f"scikit-learn {sklearn.__version__} (newton-cholesky)"
    else:
        sec.add("(scikit-learn is not installed: the comparison with it is left out.)")
    runs.append(("scipy L-BFGS-B, finite-difference gradient", _fd(expr, data, p)))
    ref = dict(runs)[ref_name]()[0]
    _solver_section(sec, runs, ref, ref_name, ["ours trust-exact", "ours Newton-CG"])
    return sec


def minimize_ridge(cfg: Config) -> Section:
    n, p = (2000, 10) if cfg.quick else (100_000, 100)
    lam = 10.0
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + rng.standard_normal(n)
    expr = "norm2(X*w - y)^2 + lam*w'*w"
    data = {"X": X, "y": y, "lam": lam}
    sec = Section(f"11d. mc.minimize: ridge regression `{expr}`, X: {n:,} x {p}, lam = 10",
                  "11d minimize ridge")
    sec.add("closed form: `np.linalg.solve(X.T @ X + lam*I, X.T @ y)`; scikit-learn: "
            "`Ridge(alpha=lam, fit_intercept=False)` (the same objective).")

    def closed():
        return np.linalg.solve(X.T @ X + lam * np.eye(p), X.T @ y), 1
    runs = [("closed form", closed)]
    runs += [(f"ours {m}", _ours(expr, data, m, 1e-12))
             for m in ("trust-exact", "Newton-CG", "L-BFGS-B")]
    if HAVE_SKLEARN:
        def fit():
            m = Ridge(alpha=lam, fit_intercept=False, tol=1e-12).fit(X, y)
            return m.coef_.ravel(), m.n_iter_ if m.n_iter_ is not None else 1
        runs.append((f"scikit-learn {sklearn.__version__} Ridge", fit))
    runs.append(("scipy L-BFGS-B, finite-difference gradient", _fd(expr, data, p)))
    _solver_section(sec, runs, closed()[0], "closed form",
                    ["ours trust-exact", "ours Newton-CG"])
    return sec


PROBLEMS = [value_and_grad_logistic, value_and_grad_mf, minimize_logistic, minimize_ridge]
