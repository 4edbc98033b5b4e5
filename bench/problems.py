"""The benchmark problems: one function per problem, each returning a report Section.

Every problem builds, for each size, the same inputs for every method: our generated
NumPy and PyTorch code, torch.func, jax under jit, a hand-written closed form and the
hardware limit (the dominant BLAS call, or the memory pass that writes the output, alone).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from harness import (
    NOISE,
    OURS,
    Cell,
    Config,
    Method,
    Section,
    Target,
    at_least,
    at_most,
    code_block,
    fmt_ms,
    fmt_ratio,
    jax_method,
    ratio,
    run_methods,
    sweep_tables,
)

import matrixcalculus as mc

try:
    import jax
    import jax.numpy as jnp
    HAVE_JAX = True
except ImportError:  # the suite runs without JAX; its columns are left out
    HAVE_JAX = False

OURS_TORCH = "ours torch"


# ------------------------------------------------------------------ shared helpers
def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def nbytes(*arrays) -> int:
    return int(sum(np.asarray(a).nbytes for a in arrays))


@dataclass
class Ours:
    """One derivative of ours, compiled for the sizes of a run."""

    expr: str
    wrt: str
    vars: dict
    order: int = 1
    hvp: bool = False       # the Hessian's product with a direction d<wrt> instead

    def __post_init__(self):
        self.d = mc.derivative(self.expr, self.wrt, vars=self.vars, order=self.order)
        if self.hvp:
            self.d = self.d.hvp()

    def methods(self, sizes: dict, arrays: dict[str, np.ndarray]) -> list[Method]:
        names = list(self.d.variables)
        np_fn = self.d.compiled("numpy", sizes)
        np_args = self.d.keywords({n: arrays[n] for n in names})
        t_fn = self.d.compiled("torch", sizes)
        t_args = self.d.keywords({n: torch.from_numpy(arrays[n]) for n in names})
        return [Method(OURS, lambda: np_fn(**np_args), "numpy"),
                Method(OURS_TORCH, lambda: t_fn(**t_args), "torch")]

    def source(self, sizes: dict) -> str:
        return (f"`{self.expr}`, {self.d.kind} wrt `{self.wrt}`: `{self.d}`\n\n"
                f"Generated NumPy code (sizes {sizes}):\n\n"
                + code_block(self.d.code("numpy", sizes)))


def tensors(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def jax_arrays(arrays: dict[str, np.ndarray]):
    return {k: jnp.asarray(v) for k, v in arrays.items()} if HAVE_JAX else {}


@dataclass
class Sweep:
    labels: list[str]
    results: list[dict[str, Cell]]
    inputs_out: list[int]

    def at(self, label: str) -> dict[str, Cell]:
        return self.results[self.labels.index(label)]


def sweep(section: Section, cfg: Config, points: Sequence, label: Callable[[object], str],
          build: Callable[[object], tuple[list[Method], int]], limit: str | None,
          size: Callable[[object], float] = float, grow: float = 3.0,
          always: str = "") -> Sweep:
    """Run build(point) -> (methods, bytes of inputs + output) for every point; add the
    tables to the section. A method whose time, scaled by (size ratio)^grow, would exceed
    cfg.max_call_s at the next point is skipped from there on, except at the point labelled
    `always` (where the targets are judged)."""
    labels, results, io = [], [], []
    skip: dict[str, str] = {}
    for i, p in enumerate(points):
        methods, size_bytes = build(p)
        labels.append(label(p))
        cells = run_methods(methods, cfg, section.mismatches, f"{section.title}, {label(p)}",
                            {} if label(p) == always else skip)
        results.append(cells)
        io.append(size_bytes)
        if i + 1 < len(points):
            factor = (size(points[i + 1]) / size(p)) ** grow
            for name, c in cells.items():
                if name not in skip and c.seconds and c.seconds * factor > cfg.max_call_s \
                        and label(points[i + 1]) != always:
                    skip[name] = (f"skipped from {label(points[i + 1])} on: {fmt_ms(c.seconds)} "
                                  f"ms at {label(p)}, expected over {cfg.max_call_s:.0f} s")
    section.add(sweep_tables(labels, results, limit, io))
    return Sweep(labels, results, io)


def _vs(cells: dict[str, Cell], other: str) -> float | None:
    return ratio(cells.get(other), cells.get(OURS))


def hessian_targets(section: Section, sw: Sweep, at: str, limit: str, hand: str,
                    tf: str, jx: str, *, structured: bool = False,
                    of_limit: float = 1.25) -> None:
    """The issue's Hessian targets at one size (ours = our NumPy code; our torch code's
    ratio is in the detail column). `of_limit`: how far over the output-write limit is
    allowed (issue 18 sets 2x for the 4-index NLL Hessians, 1.25x elsewhere)."""
    c = sw.at(at)
    t_ours = c.get(OURS_TORCH)

    def detail(other: str, inverse: bool) -> str:
        r = ratio(t_ours, c.get(other)) if not inverse else ratio(c.get(other), t_ours)
        return f"{at}; ours torch: {fmt_ratio(r)}"

    r_lim = ratio(c[OURS], c[limit])
    section.targets.append(Target(section.name, f"within {of_limit:g}x of the limit ({limit})",
                                  fmt_ratio(r_lim), at_most(r_lim, of_limit),
                                  detail(limit, False)))
    r_hand = ratio(c[OURS], c[hand])
    section.targets.append(Target(section.name, f"no slower than the hand-written form ({hand})",
                                  fmt_ratio(r_hand), at_most(r_hand, NOISE),
                                  detail(hand, False) + " (ours / hand)"))
    for other, need in ((tf, 100 if structured else 12), (jx, 20 if structured else 1)):
        if other not in c:
            continue
        r = _vs(c, other)
        what = f">= {need}x faster than {other}" if need > 1 else f"faster than {other} " \
            "(after compile)"
        section.targets.append(Target(section.name, what, fmt_ratio(r), at_least(r, need),
                                      detail(other, True) + f" ({other} / ours)"))


def gradient_targets(section: Section, sw: Sweep, hands: Sequence[str], tf: str,
                     jx: str) -> None:
    """Gradients: ours never slower than the hand-written form, torch.func.grad or jit'd
    jax.grad, over every size (the worst ratio is reported)."""
    for other in [*hands, tf, jx]:
        worst, where = None, ""
        for lab, c in zip(sw.labels, sw.results):
            r = ratio(c.get(OURS), c.get(other))
            if r is not None and (worst is None or r > worst):
                worst, where = r, lab
        if worst is None:
            continue
        section.targets.append(Target(
            section.name, f"never slower than {other} (ours / {other} <= {NOISE})",
            fmt_ratio(worst), at_most(worst, NOISE), f"worst at {where}"))


def memory_target(section: Section, sw: Sweep, big: Callable[[str], int] | None = None,
                  what: str = "", hand: str = "hand") -> None:
    """No blow-up: at the largest size, ours' peak stays within 4x of its inputs + output:
    intermediates no bigger than the data (an (n, n, m)-sized one would be far above)."""
    lab, c, io = sw.labels[-1], sw.results[-1], sw.inputs_out[-1]
    peak = c[OURS].peak
    r = None if peak is None or not io else peak / io
    h = c.get(hand)
    extra = f"; {hand}: {h.peak / io:.2f} x" if h is not None and h.peak is not None else ""
    if big:
        extra += f"; an {what} array would be {big(lab) / 1e6:.3g} MB"
    section.targets.append(Target(
        section.name, "memory: ours' peak <= 4 x (inputs + output), no "
        + (what or "large") + " intermediates", "-" if r is None else f"{r:.2f} x",
        at_most(r, 4.0), f"{lab}{extra}"))


# ------------------------------------------------------------------ 1. logistic regression
LOGREG = "sum(log(1+exp(-y.*(X*w))))"
LOGREG_VARS = {"X": "matrix(m,n)", "w": "vector(n)", "y": "vector(m)"}


def _logreg_inputs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    m = 2 * n
    return {"X": rng.standard_normal((m, n)) / np.sqrt(n), "w": rng.standard_normal(n),
            "y": np.where(rng.standard_normal(m) > 0, 1.0, -1.0)}, {"m": m, "n": n}


def _logreg_torch(a):
    X, y = a["X"], a["y"]
    return lambda w: torch.nn.functional.softplus(-y * (X @ w)).sum()


def _logreg_jax(w, X, y):
    return jnp.sum(jax.nn.softplus(-y * (X @ w)))


def logistic(cfg: Config) -> list[Section]:
    sizes = [40] if cfg.quick else [100, 250, 500, 1000, 2000]
    ref = "n=1000" if 1000 in sizes else f"n={sizes[-1]}"
    grad, hess = Ours(LOGREG, "w", LOGREG_VARS, 1), Ours(LOGREG, "w", LOGREG_VARS, 2)
    out = []

    # gradient
    sec = Section(f"1a. Logistic regression gradient: `{LOGREG}` wrt w, X: (2n, n)",
                  "1a logistic gradient")
    sec.add(grad.source(_logreg_inputs(sizes[-1])[1]))
    sec.add("hand: `-(X.T @ (y * sigmoid(-y * (X @ w))))`; limit: `X.T @ (X @ w)` (the two "
            "gemv alone).")

    def build_grad(n):
        a, dims = _logreg_inputs(n)
        t = tensors(a)
        X, w, y = a["X"], a["w"], a["y"]
        ms = grad.methods(dims, a)
        ms.append(Method("torch.func.grad",
                         lambda: torch.func.grad(_logreg_torch(t))(t["w"]), "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)
            ms.append(jax_method("jax.grad (jit)", jax.grad(_logreg_jax), j["w"], j["X"], j["y"]))
        ms.append(Method("hand", lambda: -(X.T @ (y * sigmoid(-y * (X @ w)))), "numpy"))
        ms.append(Method("limit", lambda: X.T @ (X @ w), "numpy", check=False))
        return ms, nbytes(X, w, y, w)

    sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build_grad, "limit", grow=2)
    gradient_targets(sec, sw, ["hand"], "torch.func.grad", "jax.grad (jit)")
    memory_target(sec, sw)
    out.append(sec)

    # Hessian
    sec = Section(f"1b. Logistic regression Hessian: `{LOGREG}` wrt w, X: (2n, n)",
                  "1b logistic Hessian")
    sec.add(hess.source(_logreg_inputs(sizes[-1])[1]))
    sec.add("hand: `p = sigmoid(-y*(X@w)); X.T @ (X * (p*(1-p)*y*y)[:, None])`; limit: "
            "`Z.T @ Z` with `Z = X * sqrt(d)[:, None]` precomputed (the syrk alone).")

    def build_hess(n):
        a, dims = _logreg_inputs(n)
        t = tensors(a)
        X, w, y = a["X"], a["w"], a["y"]
        p = sigmoid(-y * (X @ w))
        Z = X * np.sqrt(p * (1 - p) * y * y)[:, None]
        ms = hess.methods(dims, a)
        ms.append(Method("torch.func.hessian",
                         lambda: torch.func.hessian(_logreg_torch(t))(t["w"]), "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)
            ms.append(jax_method("jax.hessian (jit)", jax.hessian(_logreg_jax),
                                 j["w"], j["X"], j["y"]))

        def hand():
            p = sigmoid(-y * (X @ w))
            return X.T @ (X * (p * (1 - p) * y * y)[:, None])
        ms.append(Method("hand", hand, "numpy"))
        ms.append(Method("limit", lambda: Z.T @ Z, "numpy"))
        return ms, nbytes(X, w, y) + 8 * n * n

    sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build_hess, "limit", always=ref)
    hessian_targets(sec, sw, ref, "limit", "hand", "torch.func.hessian", "jax.hessian (jit)")
    memory_target(sec, sw, lambda lab: 8 * 2 * int(lab[2:]) ** 3, "(n, n, m)")
    out.append(sec)
    return out


# ------------------------------------------------------------------ 2. least squares, x'Ax
def least_squares(cfg: Config) -> list[Section]:
    sizes = [60] if cfg.quick else [100, 300, 1000, 2000]
    ref = "n=1000" if 1000 in sizes else f"n={sizes[-1]}"
    out = []

    lsq = Ours("norm2(A*x - b)^2", "x", {"A": "matrix(m,n)", "x": "vector(n)",
                                         "b": "vector(m)"}, 2)
    sec = Section("2a. Least squares Hessian: `norm2(A*x - b)^2` wrt x, A: (2n, n)",
                  "2a least-squares Hessian")

    def inputs(n):
        rng = np.random.default_rng(1)
        return ({"A": rng.standard_normal((2 * n, n)), "x": rng.standard_normal(n),
                 "b": rng.standard_normal(2 * n)}, {"m": 2 * n, "n": n})
    sec.add(lsq.source(inputs(sizes[-1])[1]))
    sec.add("hand: `2 * (A.T @ A)`; limit: `A.T @ A` (the syrk alone). (Written `2 * A.T @ A`, "
            "Python scales A first and the product is then a general gemm.)")

    def build(n):
        a, dims = inputs(n)
        t = tensors(a)
        A = a["A"]
        ms = lsq.methods(dims, a)
        ms.append(Method("torch.func.hessian", lambda: torch.func.hessian(
            lambda x: ((t["A"] @ x - t["b"]) ** 2).sum())(t["x"]), "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)
            ms.append(jax_method("jax.hessian (jit)", jax.hessian(
                lambda x, A, b: jnp.sum((A @ x - b) ** 2)), j["x"], j["A"], j["b"]))
        ms.append(Method("hand", lambda: 2 * (A.T @ A), "numpy"))
        ms.append(Method("limit", lambda: A.T @ A, "numpy", check=False))
        return ms, nbytes(*a.values()) + 8 * n * n

    sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build, "limit", always=ref)
    hessian_targets(sec, sw, ref, "limit", "hand", "torch.func.hessian", "jax.hessian (jit)")
    memory_target(sec, sw, lambda lab: 8 * 2 * int(lab[2:]) ** 3, "(n, n, m)")
    out.append(sec)

    quad = Ours("x'*A*x", "x", {"A": "matrix(n,n)", "x": "vector(n)"}, 2)
    sec = Section("2b. Quadratic form Hessian (structured): `x'*A*x` wrt x, A: (n, n)",
                  "2b x'Ax Hessian")
    sec.add(quad.source({"n": sizes[-1]}))
    sec.add("hand: `A + A.T`; limit: `A.T.copy()`, one transposed pass over A (memory bound; "
            "there is no BLAS call). Any A + A' reads A transposed, which on this machine costs "
            "3-4x a plain `A.copy()` (column `copy`, shown for scale); NumPy has no faster "
            "transposed add (blocked variants measured 1.0-1.3x slower than `A + A.T`).")

    def build_q(n):
        rng = np.random.default_rng(2)
        a = {"A": rng.standard_normal((n, n)), "x": rng.standard_normal(n)}
        t = tensors(a)
        A = a["A"]
        ms = quad.methods({"n": n}, a)
        ms.append(Method("torch.func.hessian", lambda: torch.func.hessian(
            lambda x: x @ t["A"] @ x)(t["x"]), "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)
            ms.append(jax_method("jax.hessian (jit)", jax.hessian(lambda x, A: x @ A @ x),
                                 j["x"], j["A"]))
        ms.append(Method("hand", lambda: A + A.T, "numpy"))
        ms.append(Method("limit", lambda: A.T.copy(), "numpy", check=False))
        ms.append(Method("copy", lambda: A.copy(), "numpy", check=False))
        return ms, nbytes(A, a["x"]) + 8 * n * n

    sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build_q, "limit", always=ref)
    hessian_targets(sec, sw, ref, "limit", "hand", "torch.func.hessian", "jax.hessian (jit)",
                    structured=True)
    memory_target(sec, sw, lambda lab: 8 * int(lab[2:]) ** 3, "(n, n, n)")
    out.append(sec)
    return out


# ------------------------------------------------------------------ 3. matrix factorization
def matrix_factorization(cfg: Config) -> list[Section]:
    points = [(100, 10)] if cfg.quick else [(n, k) for n in (500, 1000, 2000)
                                            for k in (10, 50, 100)]
    mf = Ours("norm2(R - U*V')^2", "U", {"R": "matrix(m,n)", "U": "matrix(m,k)",
                                         "V": "matrix(n,k)"}, 1)
    sec = Section("3. Matrix factorization gradient: `norm2(R - U*V')^2` wrt U, m = n",
                  "3 MF gradient")
    n0, k0 = points[-1]
    sec.add(mf.source({"m": n0, "n": n0, "k": k0}))
    sec.add("hand (textbook): `-2 * ((R - U@V.T) @ V)`; hand (reassoc.): "
            "`-2*(R@V - U@(V.T@V))`; limit: `R @ V` (the gemm alone).")

    def build(p):
        n, k = p
        rng = np.random.default_rng(3)
        a = {"R": rng.standard_normal((n, n)), "U": rng.standard_normal((n, k)),
             "V": rng.standard_normal((n, k))}
        t = tensors(a)
        R, U, V = a["R"], a["U"], a["V"]
        ms = mf.methods({"m": n, "n": n, "k": k}, a)
        ms.append(Method("torch.func.grad", lambda: torch.func.grad(
            lambda U: ((t["R"] - U @ t["V"].T) ** 2).sum())(t["U"]), "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)
            ms.append(jax_method("jax.grad (jit)", jax.grad(
                lambda U, R, V: jnp.sum((R - U @ V.T) ** 2)), j["U"], j["R"], j["V"]))
        ms.append(Method("hand (textbook)", lambda: -2 * ((R - U @ V.T) @ V), "numpy"))
        ms.append(Method("hand (reassoc.)", lambda: -2 * (R @ V - U @ (V.T @ V)), "numpy"))
        ms.append(Method("limit", lambda: R @ V, "numpy", check=False))
        return ms, nbytes(R, U, V, U)

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, k={p[1]}", build, "limit",
               size=lambda p: p[0] * p[0] * p[1], grow=1)
    worst, where = None, ""
    for lab, c in zip(sw.labels, sw.results):
        r = ratio(c[OURS], c["hand (textbook)"])
        if r is not None and (worst is None or r > worst):
            worst, where = r, lab
    sec.targets.append(Target(sec.name, "ours in 0.4-0.6x the textbook form (<= 0.6x)",
                              fmt_ratio(worst), at_most(worst, 0.6), f"worst at {where}"))
    gradient_targets(sec, sw, ["hand (reassoc.)"], "torch.func.grad", "jax.grad (jit)")
    memory_target(sec, sw, lambda lab: 8 * int(lab.split(",")[0][2:]) ** 2 *
                  int(lab.split("k=")[1]), "(m, n, k)", hand="hand (reassoc.)")
    return [sec, matrix_factorization_hvp(cfg, points)]


def matrix_factorization_hvp(cfg: Config, points: list) -> Section:
    """The Hessian wrt U is (m, k, m, k): offered compressed (δ form) and as a product with
    a direction dU that never forms it."""
    mf = Ours("norm2(R - U*V')^2", "U", {"R": "matrix(m,n)", "U": "matrix(m,k)",
                                         "V": "matrix(n,k)"}, 2, hvp=True)
    sec = Section("3b. Matrix factorization Hessian-vector product: `norm2(R - U*V')^2` wrt U, "
                  "along dU", "3b MF Hessian-vector product")
    n0, k0 = points[-1]
    sec.add(f"The Hessian, compressed (δ form, what `derivative(..., order=2)` prints): "
            f"`{mf.d.hessian}`; dense it would be (m, k, m, k), "
            f"{8 * (n0 * k0) ** 2 / 1e9:.1f} GB at m = {n0}, k = {k0} (`code()` writes the "
            f"dense form only when asked). Its product with a direction, `d.hvp()`:")
    sec.add(mf.source({"m": n0, "n": n0, "k": k0}))
    sec.add("torch.func: `jvp(grad(f), (U,), (dU,))` (forward-over-reverse, the standard "
            "Hessian-vector product); JAX the same under jit; hand: `2 * dU @ (V.T @ V)`; "
            "limit: `dU @ (V.T @ V)` (the two small gemms alone).")

    def build(p):
        n, k = p
        rng = np.random.default_rng(4)
        a = {"R": rng.standard_normal((n, n)), "U": rng.standard_normal((n, k)),
             "V": rng.standard_normal((n, k)), "dU": rng.standard_normal((n, k))}
        t = tensors(a)
        R, V, dU = a["R"], a["V"], a["dU"]
        ms = mf.methods({"m": n, "n": n, "k": k}, a)

        def f_t(U):
            return ((t["R"] - U @ t["V"].T) ** 2).sum()
        ms.append(Method("torch.func hvp", lambda: torch.func.jvp(
            torch.func.grad(f_t), (t["U"],), (t["dU"],))[1], "torch"))
        if HAVE_JAX:
            j = jax_arrays(a)

            def hvp_j(U, dU, R, V):
                return jax.jvp(jax.grad(lambda U: jnp.sum((R - U @ V.T) ** 2)), (U,), (dU,))[1]
            ms.append(jax_method("jax hvp (jit)", hvp_j, j["U"], j["dU"], j["R"], j["V"]))
        ms.append(Method("hand", lambda: 2 * dU @ (V.T @ V), "numpy"))
        ms.append(Method("limit", lambda: dU @ (V.T @ V), "numpy", check=False))
        return ms, nbytes(R, V, dU, dU, dU)

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, k={p[1]}", build, "limit",
               size=lambda p: p[0] * p[1] * p[1], grow=1)
    gradient_targets(sec, sw, ["hand"], "torch.func hvp", "jax hvp (jit)")
    memory_target(sec, sw, lambda lab: 8 * (int(lab.split(",")[0][2:]) *
                                            int(lab.split("k=")[1])) ** 2, "(m, k, m, k)")
    return sec


# ------------------------------------------------------------------ 4. 4-index Hessians
GAUSS = "0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)"


def _sym_pairs(H: np.ndarray) -> np.ndarray:
    H = (H + H.transpose(1, 0, 2, 3)) / 2
    return (H + H.transpose(0, 1, 3, 2)) / 2


def four_index(cfg: Config) -> list[Section]:
    sizes = [6] if cfg.quick else [10, 20, 40, 60]
    ref = f"n={sizes[-1]}"
    out = []

    def spd(n, rng):
        g = rng.standard_normal((n, n))
        return g @ g.T / n + 0.5 * np.eye(n)

    ld = Ours("logdet(X)", "X", {"X": "matrix(n,n)"}, 2)
    sec = Section("4a. Hessian of `logdet(X)` wrt X (4-index)", "4a logdet Hessian")
    sec.add(ld.source({"n": sizes[-1]}))
    sec.add("hand: `Xi = inv(X); -np.einsum('jk,li->ijkl', Xi, Xi)`; limit: "
            "`np.multiply.outer(Xi, Xi)` (writing the n^4 output, contiguously, alone).")

    def build_ld(n):
        rng = np.random.default_rng(4)
        X = 2.0 * np.eye(n) + 0.5 * rng.standard_normal((n, n)) / np.sqrt(n)   # det > 0
        Xi = np.linalg.inv(X)
        tX = torch.from_numpy(X)
        ms = ld.methods({"n": n}, {"X": X})
        ms.append(Method("torch.func.hessian", lambda: torch.func.hessian(
            lambda X: torch.linalg.slogdet(X)[1])(tX), "torch"))
        if HAVE_JAX:
            ms.append(jax_method("jax.hessian (jit)", jax.hessian(
                lambda X: jnp.linalg.slogdet(X)[1]), jnp.asarray(X)))

        def hand():
            Xi = np.linalg.inv(X)
            return -np.einsum("jk,li->ijkl", Xi, Xi)
        ms.append(Method("hand", hand, "numpy"))
        ms.append(Method("limit", lambda: np.multiply.outer(Xi, Xi), "numpy", check=False))
        return ms, X.nbytes + 8 * n ** 4

    sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build_ld, "limit", grow=5, always=ref)
    hessian_targets(sec, sw, ref, "limit", "hand", "torch.func.hessian", "jax.hessian (jit)")
    memory_target(sec, sw, lambda lab: 8 * int(lab[2:]) ** 5, "(n, n, n, n, n)")
    out.append(sec)

    # Gaussian NLL wrt S: general matrix at SPD points, then S declared symmetric
    for label, decl in (("4b", "matrix(n,n)"), ("4c", "symmetric(n)")):
        g = Ours(GAUSS, "S", {"S": decl, "x": "vector(n)", "mu": "vector(n)"}, 2)
        sym = decl.startswith("symmetric")
        sec = Section(f"{label}. Gaussian NLL Hessian: `{GAUSS}` wrt S (S: {decl}, "
                      "spd values; 4-index)", f"{label} Gaussian NLL Hessian, S {decl}")
        try:
            sec.add(g.source({"n": sizes[-1]}))
        except Exception as e:  # noqa: BLE001 - printing the answer is not what is timed
            sec.add(f"Printing the answer fails: `{type(e).__name__}: {e}` (a bug to report)."
                    f"\n\nGenerated NumPy code (sizes {{'n': {sizes[-1]}}}):\n\n"
                    + code_block(g.d.code("numpy", {"n": sizes[-1]})))
            sec.mismatches.append(f"str() of the Hessian of `{GAUSS}` wrt S ({decl}) raises "
                                  f"{type(e).__name__} (the code generator works)")
        sec.add("hand: `P = inv(S); u = P.T@r; v = P@r` (r = x - mu), "
                "`H = -0.5*einsum('jk,li->ijkl',P,P) + 0.5*einsum('li,j,k->ijkl',P,v,u) "
                "+ 0.5*einsum('jk,i,l->ijkl',P,u,v)`"
                + (", then symmetrised over (i,j) and (k,l)" if sym else "")
                + "; limit: `np.multiply.outer(P, P)` (writing the n^4 output alone)."
                + (" torch.func / JAX differentiate the general-matrix function; their "
                   "results are symmetrised the same way (included in their times)."
                   if sym else ""))

        def build_g(n, g=g, sym=sym):
            rng = np.random.default_rng(5)
            a = {"S": spd(n, rng), "x": rng.standard_normal(n), "mu": rng.standard_normal(n)}
            P0 = np.linalg.inv(a["S"])
            S, x, mu = a["S"], a["x"], a["mu"]
            t = tensors(a)
            ms = g.methods({"n": n}, a)

            def f_t(S):
                r = t["x"] - t["mu"]
                return 0.5 * torch.linalg.slogdet(S)[1] + 0.5 * r @ torch.linalg.solve(S, r)

            def tf():
                H = torch.func.hessian(f_t)(t["S"])
                if sym:
                    H = (H + H.permute(1, 0, 2, 3)) / 2
                    H = (H + H.permute(0, 1, 3, 2)) / 2
                return H
            ms.append(Method("torch.func.hessian", tf, "torch"))
            if HAVE_JAX:
                def f_j(S, x, mu):
                    r = x - mu
                    return 0.5 * jnp.linalg.slogdet(S)[1] + 0.5 * r @ jnp.linalg.solve(S, r)

                def h_j(S, x, mu):
                    H = jax.hessian(f_j)(S, x, mu)
                    if sym:
                        H = (H + H.transpose(1, 0, 2, 3)) / 2
                        H = (H + H.transpose(0, 1, 3, 2)) / 2
                    return H
                j = jax_arrays(a)
                ms.append(jax_method("jax.hessian (jit)", h_j, j["S"], j["x"], j["mu"]))

            def hand():
                P = np.linalg.inv(S)
                r = x - mu
                u, v = P.T @ r, P @ r
                H = (-0.5 * np.einsum("jk,li->ijkl", P, P)
                     + 0.5 * np.einsum("li,j,k->ijkl", P, v, u)
                     + 0.5 * np.einsum("jk,i,l->ijkl", P, u, v))
                return _sym_pairs(H) if sym else H
            ms.append(Method("hand", hand, "numpy"))
            ms.append(Method("limit", lambda: np.multiply.outer(P0, P0), "numpy", check=False))
            return ms, nbytes(S, x, mu) + 8 * n ** 4

        sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build_g, "limit", grow=5,
                   always=ref)
        # issue 18 part 4: "the NLL Hessians (3-9x the limit: target 2x ...)"
        hessian_targets(sec, sw, ref, "limit", "hand", "torch.func.hessian",
                        "jax.hessian (jit)", of_limit=2.0)
        memory_target(sec, sw, lambda lab: 8 * int(lab[2:]) ** 5, "(n, n, n, n, n)")
        out.append(sec)
    return out


# ------------------------------------------------------------------ 5. Jacobians
def jacobians(cfg: Config) -> list[Section]:
    sizes = [60] if cfg.quick else [100, 300, 1000, 2000]
    ref = "n=1000" if 1000 in sizes else f"n={sizes[-1]}"
    out = []
    for label, fname in (("5a", "sigmoid"), ("5b", "softmax")):
        ours = Ours(f"{fname}(W*x)", "x", {"W": "matrix(m,n)", "x": "vector(n)"}, 1)
        sec = Section(f"{label}. Jacobian of `{fname}(W*x)` wrt x, W: (n, n)",
                      f"{label} {fname}(W*x) Jacobian")
        sec.add(ours.source({"m": sizes[-1], "n": sizes[-1]}))
        hand_text = ("`s = sigmoid(W@x); (s*(1-s))[:, None] * W`" if fname == "sigmoid" else
                     "`p = softmax(W@x); p[:, None] * (W - p @ W)`")
        sec.add(f"hand: {hand_text}; limit: `W * c[:, None]` with c precomputed (one scaled "
                "pass over W, which is what writing the output costs; the gemv `W @ x` "
                "reads W once too).")

        def build(n, fname=fname, ours=ours):
            rng = np.random.default_rng(6)
            a = {"W": rng.standard_normal((n, n)) / np.sqrt(n), "x": rng.standard_normal(n)}
            t = tensors(a)
            W, x = a["W"], a["x"]
            c = rng.standard_normal(n)
            ms = ours.methods({"m": n, "n": n}, a)
            t_f = torch.sigmoid if fname == "sigmoid" else (lambda z: torch.softmax(z, 0))
            ms.append(Method("torch.func.jacrev", lambda: torch.func.jacrev(
                lambda x: t_f(t["W"] @ x))(t["x"]), "torch"))
            if HAVE_JAX:
                j_f = jax.nn.sigmoid if fname == "sigmoid" else jax.nn.softmax
                j = jax_arrays(a)
                ms.append(jax_method("jax.jacrev (jit)", jax.jacrev(lambda x, W: j_f(W @ x)),
                                     j["x"], j["W"]))
            if fname == "sigmoid":
                def hand():
                    s = sigmoid(W @ x)
                    return (s * (1 - s))[:, None] * W
            else:
                def hand():
                    p = softmax(W @ x)
                    return p[:, None] * (W - p @ W)
            ms.append(Method("hand", hand, "numpy"))
            ms.append(Method("limit", lambda: W * c[:, None], "numpy", check=False))
            return ms, nbytes(W, x) + W.nbytes

        sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build, "limit", always=ref)
        if fname == "sigmoid":
            c = sw.at(ref)
            # (issue 18: the >= 100x over torch.func.jacrev is restated: on this machine the
            # output-write limit itself is only ~42x torch.func.jacrev)
            r = ratio(c[OURS], c["limit"])
            tf = _vs(c, "torch.func.jacrev")
            sec.targets.append(Target(
                sec.name, "within 1.25x of the output-write limit (limit)", fmt_ratio(r),
                at_most(r, 1.25), f"{ref}; torch.func.jacrev / ours: {fmt_ratio(tf)}"))
            if "jax.jacrev (jit)" in c:
                r = _vs(c, "jax.jacrev (jit)")
                sec.targets.append(Target(sec.name, ">= 20x faster than jax.jacrev (jit)",
                                          fmt_ratio(r), at_least(r, 20), ref))
        memory_target(sec, sw, lambda lab: 8 * int(lab[2:]) ** 3, "(n, n, n)")
        out.append(sec)
    return out


# ------------------------------------------------------------------ 6. two-layer MLP
MLP = "norm2(W2*tanh(W1*x) - y)^2"
MLP_VARS = {"W1": "matrix(p,n)", "W2": "matrix(m,p)", "x": "vector(n)", "y": "vector(m)"}


def mlp(cfg: Config) -> list[Section]:
    sizes = [60] if cfg.quick else [100, 300, 1000, 2000]
    out = []
    for wrt in ("W1", "W2"):
        ours = Ours(MLP, wrt, MLP_VARS, 1)
        sec = Section(f"6{'ab'[wrt == 'W2']}. Two-layer MLP gradient: `{MLP}` wrt {wrt}; "
                      "n = p (hidden), m = 10 outputs", f"6{'ab'[wrt == 'W2']} MLP gradient "
                      f"wrt {wrt}")
        sec.add(ours.source({"n": sizes[-1], "p": sizes[-1], "m": 10}))
        sec.add("hand: `h = tanh(W1@x); r = W2@h - y; " +
                ("np.outer((W2.T @ (2*r)) * (1 - h*h), x)`" if wrt == "W1" else
                 "2*np.outer(r, h)`") + "; limit: `W1 @ x` (the dominant gemv alone).")

        def build(n, wrt=wrt, ours=ours):
            rng = np.random.default_rng(7)
            a = {"W1": rng.standard_normal((n, n)) / np.sqrt(n),
                 "W2": rng.standard_normal((10, n)) / np.sqrt(n),
                 "x": rng.standard_normal(n), "y": rng.standard_normal(10)}
            t = tensors(a)
            W1, W2, x, y = a["W1"], a["W2"], a["x"], a["y"]
            ms = ours.methods({"n": n, "p": n, "m": 10}, a)
            argnum = 0 if wrt == "W1" else 1

            def f_t(W1, W2):
                return ((W2 @ torch.tanh(W1 @ t["x"]) - t["y"]) ** 2).sum()
            ms.append(Method("torch.func.grad", lambda: torch.func.grad(f_t, argnums=argnum)(
                t["W1"], t["W2"]), "torch"))
            if HAVE_JAX:
                def f_j(W1, W2, x, y):
                    return jnp.sum((W2 @ jnp.tanh(W1 @ x) - y) ** 2)
                j = jax_arrays(a)
                ms.append(jax_method("jax.grad (jit)", jax.grad(f_j, argnums=argnum),
                                     j["W1"], j["W2"], j["x"], j["y"]))
            if wrt == "W1":
                def hand():
                    h = np.tanh(W1 @ x)
                    r = W2 @ h - y
                    return np.outer((W2.T @ (2 * r)) * (1 - h * h), x)
            else:
                def hand():
                    h = np.tanh(W1 @ x)
                    return 2 * np.outer(W2 @ h - y, h)
            ms.append(Method("hand", hand, "numpy"))
            ms.append(Method("limit", lambda: W1 @ x, "numpy", check=False))
            return ms, nbytes(*a.values()) + a[wrt].nbytes

        sw = sweep(sec, cfg, sizes, lambda n: f"n={n}", build, "limit", grow=2)
        gradient_targets(sec, sw, ["hand"], "torch.func.grad", "jax.grad (jit)")
        memory_target(sec, sw, lambda lab: 8 * 10 * int(lab[2:]) ** 2, "(m, p, n)")
        out.append(sec)
    return out


PROBLEMS = [logistic, least_squares, matrix_factorization, four_index, jacobians, mlp]
