"""The engine's derivation time as expressions grow (sums, nestings, products, a
Hessian of a chain: fitted exponents, side by side with SymPy where it can) and for a
transformer block written in the language (every weight's gradient)."""

from __future__ import annotations

import math

from engine import _ms, _sympy, derive_once, timed
from harness import (
    Config,
    Measured,
    Section,
    Target,
    at_most,
    fmt_ratio,
    md_table,
    paired_times,
    settle,
)

import matrixcalculus as mc


# ------------------------------------------------------------------ growth
def _sum_family(k: int):
    return (" + ".join(f"x'*A{i}*x" for i in range(1, k + 1)), "x",
            {"x": "vector(n)", **{f"A{i}": "matrix(n,n)" for i in range(1, k + 1)}})


def _inv_family(d: int):
    inner = "X"
    for i in range(1, d + 1):
        inner = f"inv(B{i} + {inner})"
    return (f"a'*{inner}*b", "X", {"a": "vector(n)", "b": "vector(n)", "X": "matrix(n,n)",
                                    **{f"B{i}": "matrix(n,n)" for i in range(1, d + 1)}})


def _tanh_family(d: int):
    inner = "x"
    for i in range(1, d + 1):
        inner = f"tanh(W{i}*{inner})"
    return (f"sum({inner})", "x", {"x": "vector(n)",
                                   **{f"W{i}": "matrix(n,n)" for i in range(1, d + 1)}})


def _product_family(k: int):
    return ("sum(" + "*".join(["X"] * k) + ")", "X", {"X": "matrix(n,n)"})


def _sigmoid_hessian_family(d: int):
    inner = "x"
    for _ in range(d):
        inner = f"sigmoid({inner})"
    return (f"sum({inner})", "x", {"x": "vector(n)"}, 2)


def _exponent(xs: list[int], ts: list[float | None]) -> tuple[float | None, str]:
    """The growth exponent e (time ~ size^e): the larger of the end-to-end slope (log time
    against log size, from the second size on: the first is mostly fixed cost) and the
    slope over the upper half of the sweep; and a note on any size (past the first) more
    than 1.25x faster than the one before it (a bump, not noise)."""
    pts = [(x, t) for x, t in zip(xs, ts) if t]
    if len(pts) < 3:
        return None, ""

    def slope(a, b):
        return math.log(b[1] / a[1]) / math.log(b[0] / a[0])
    e = max(slope(pts[1], pts[-1]), slope(pts[len(pts) // 2], pts[-1]))
    odd = [f"{a[0]} ({a[1] * 1e3:.0f} ms) is slower than {b[0]} ({b[1] * 1e3:.0f} ms)"
           for a, b in zip(pts[1:], pts[2:]) if b[1] < a[1] / 1.25]
    return e, "; ".join(odd)


def _ours_twice(family, sizes: list[int], repeats: int, cap: float) -> tuple[list, list]:
    """Our derivation time at each size, and its A/A control (paired_times); sizes
    after one over cap are left out (None)."""
    ours: list[float | None] = []
    aa: list[float | None] = []
    for k in sizes:
        t = b = None
        if not ours or (ours[-1] is not None and ours[-1] <= cap):
            expr, wrt, vars_, *order = family(k)
            try:
                t, b = paired_times(lambda e=expr, w=wrt, v=vars_, o=(order or [1])[0]:
                                      derive_once(e, w, v, o), repeats, cap)
            except mc.LimitError:        # past LIMITS.max_seconds (a loaded machine)
                t = b = None
        ours.append(t)
        aa.append(b)
    return ours, aa


def growth(cfg: Config) -> Section:
    sec = Section("Engine: growth with expression size", "engine: growth")
    sizes_k = [1, 2, 4] if cfg.quick else [1, 2, 4, 8, 16, 32, 64]
    sizes_d = [1, 2] if cfg.quick else [1, 2, 4, 8, 16]
    sizes_p = [1, 2, 4] if cfg.quick else [1, 2, 4, 8, 12, 16, 25]
    sizes_s = [1, 2] if cfg.quick else [1, 2, 3, 4, 5, 6, 8]
    # six pairs: with three, one size of seven whose samples spread +-12% (a 0.5 s
    # derivation) put the control at 0.73x and, re-timed, 1.13x
    repeats, cap = (1, 2.0) if cfg.quick else (6, 20.0)
    sy = _sympy()
    # (title, size name, sizes, family, with SymPy, the exponent allowed and why)
    linear = (1.15, "linear = 1 (tolerance 1.15)")
    families = [("sum of k quadratic forms: `x'*A1*x + ... + x'*Ak*x` wrt x", "k", sizes_k,
                 _sum_family, True, linear),
                ("nesting depth d: `a'*inv(Bd + ... inv(B1 + X))*b` wrt X", "d", sizes_d,
                 _inv_family, True, linear),
                ("nesting depth d, elementwise (ours only): `sum(tanh(Wd*...tanh(W1*x)))` "
                 "wrt x", "d", sizes_d, _tanh_family, False, linear),
                # k terms of k - 1 factors each: the derivative's IR grows like k^2, its
                # printed answer (nested, Horner-like) like k
                ("product of k factors (ours only): `sum(X*X*...*X)` wrt X", "k", sizes_p,
                 _product_family, False,
                 (2.15, "linear in the derivative's IR, k terms of k - 1 factors: 2 "
                  "(tolerance 2.15)")),
                # a Hessian: each product is searched exhaustively up to search._DP_LIMIT
                # factors (3^n pairs of subsets), greedily beyond; a size slower than the
                # next larger one is that limit showing
                ("Hessian of a chain (ours only): `sum(sigmoid(...sigmoid(x)))` wrt x, "
                 "order 2", "d", sizes_s, _sigmoid_hessian_family, False, linear)]
    for title, var, sizes, family, with_sympy, (allowed, why) in families:
        got: dict[str, list] = {}

        def attempt(_: int, family=family, sizes=sizes, got=got) -> float | None:
            got["ours"], got["aa"] = _ours_twice(family, sizes, repeats, cap)
            # the control of what is judged, the exponent: the one the second arm's times
            # give over the first's (a size's two times can part 0.6-1.2x when its
            # derivation time is bimodal, as some here are, and leave the slope as it is)
            e_a, e_b = _exponent(sizes, got["ours"])[0], _exponent(sizes, got["aa"])[0]
            return e_b / e_a if e_a and e_b else None
        ctl = settle(f"{sec.title}: {title.split(':')[0]}", attempt)
        ours_t = got["ours"]
        sym_t: list[float | None] = []
        stopped = False
        rows = []
        for k, t in zip(sizes, ours_t):
            expr, wrt, vars_, *_ = family(k)
            s = None
            if with_sympy and sy is not None and not stopped:
                sc = sy[0](expr, vars_, wrt)

                def run(sc=sc, clear=sy[4]):
                    clear()
                    sc.derive()
                s = timed(run, min(repeats, 3), cap)     # SymPy, no control: <= 3 runs
                stopped = s > cap
            sym_t.append(s)
            rows.append([k, _ms(t)] + ([_ms(s), fmt_ratio(s / t if s and t else None)]
                                       if with_sympy else []))
        heads = [var, "ours ms"] + (["SymPy ms", "SymPy / ours"] if with_sympy else [])
        e_ours, odd = _exponent(sizes, ours_t)
        e_sym = _exponent(sizes, sym_t)[0] if with_sympy else None

        def fmt(e):
            return "-" if e is None else f"{e:.2f}"
        sec.add(f"{title}:\n\n" + md_table(heads, rows) +
                f"\n\nGrowth exponent (time ~ {var}^e; the larger of the slopes from "
                f"{var} = {sizes[1]} and over the upper half): ours {fmt(e_ours)}"
                + (f", SymPy {fmt(e_sym)}" if with_sympy else "")
                + (f". Anomaly: {odd}." if odd else "")
                + ". A/A control (ours timed twice, in pairs of alternating order; the "
                  f"exponent from the second arm's times / from the first's): {ctl.text()}.")
        e_ours = None if e_ours is None else Measured(e_ours, ctl.held is False)
        what = "linear" if allowed < 2 else "quadratic"
        sec.targets.append(Target(sec.name, f"growth at most {what}: {title.split(':')[0]}",
                                  "-" if e_ours is None else f"exponent {e_ours:.2f}",
                                  at_most(e_ours, allowed) if not odd or ctl.held is False
                                  else False,
                                  f"{var} = {sizes[0]}..{sizes[-1]}; {why}"
                                  + (f"; anomaly: {odd}" if odd else "")))
    return sec


# ------------------------------------------------------------------ a transformer block
# One block in the language (v2), the loss a probe G against its output: single-head
# attention, a residual, layer norm along the rows, a 2-layer MLP with bias rows, a residual.
TRANSFORMER = ("sum(G.*Y) where Q = X*Wq, K = X*Wk, V = X*Wv, "
               "A = softmax(Q*K'/sqrt(d), 2)*V*Wo, R = X + A, "
               "Rc = R - mean(R, 2), S = Rc./sqrt(mean(Rc.^2, 2) + 1e-5), "
               "H = relu(S*W1 + b1'), Y = R + H*W2 + b2'")
TRANSFORMER_VARS = {"X": "matrix(n,d)", "Wq": "matrix(d,d)", "Wk": "matrix(d,d)",
                    "Wv": "matrix(d,d)", "Wo": "matrix(d,d)", "W1": "matrix(d,f)",
                    "b1": "vector(f)", "W2": "matrix(f,d)", "b2": "vector(d)",
                    "G": "matrix(n,d)"}
TRANSFORMER_WEIGHTS = ("Wq", "Wk", "Wv", "Wo", "W1", "b1", "W2", "b2")


def transformer(cfg: Config) -> Section:
    sec = Section("Engine: a transformer block's gradients", "engine: transformer")
    repeats, cap = (1, 30.0) if cfg.quick else (3, 30.0)
    derive_once("x'*A*x", "x", {"A": "matrix(n,n)"})          # builds the parser once
    answers: dict[str, str] = {}
    weights = ("W2", "b2") if cfg.quick else TRANSFORMER_WEIGHTS     # a smoke run: two
    got: dict[str, tuple[float, float]] = {}

    def attempt(_: int) -> float | None:
        for w in weights:
            got[w] = paired_times(lambda w=w: answers.__setitem__(
                w, derive_once(TRANSFORMER, w, TRANSFORMER_VARS)), repeats, cap)
        return sum(b for _, b in got.values()) / sum(t for t, _ in got.values())
    ctl = settle(f"{sec.title}: the total", attempt)
    rows = [[w, _ms(got[w][0]), len(answers[w])] for w in weights]
    total = Measured(sum(t for t, _ in got.values()), ctl.held is False)
    sec.add(f"`{TRANSFORMER}` (X: n x d, Wq, Wk, Wv, Wo: d x d, W1: d x f, W2: f x d), "
            "the gradient wrt each weight derived on its own (parse, differentiate, "
            f"simplify, raise; the lower quartile of at least {repeats}):\n\n"
            + md_table(["wrt", "ms", "answer characters"], rows)
            + f"\n\nTotal: {total * 1e3:.0f} ms. A/A control (each weight's derivation timed "
            f"twice, in pairs of alternating order; the totals' ratio): {ctl.text()}.")
    sec.targets.append(Target(sec.name, f"a transformer block's {len(weights)} gradients "
                              "derived in < 1 s", f"{total:.2f} s", at_most(total, 1.0),
                              "attention + layer norm + MLP, each weight derived on its own"))
    return sec
