"""The engine itself: derivation time (parse + differentiate + simplify + raise to the
printed closed form; code generation apart) for every corpus case, side by side with
SymPy's matrix-expression diff; the helpers engine_growth.py times growing expressions
with."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import (
    Config,
    Measured,
    Section,
    Target,
    at_least,
    at_most,
    fmt_ratio,
    md_table,
    paired_times,
    settle,
)

import matrixcalculus as mc

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def load_corpus():
    """../shared/corpus, loaded the way tests/corpus_support.py does."""
    if not CORPUS.is_dir():
        raise RuntimeError(f"the acceptance corpus is missing: expected it at {CORPUS}")
    if str(CORPUS) not in sys.path:
        sys.path.insert(0, str(CORPUS))
    import cases  # noqa: PLC0415
    import oracle  # noqa: PLC0415
    return cases, oracle


def _all_cases(cases) -> list[dict]:
    """Every public case, v1 and v2 (cases_v2.py beside cases.py), each derived once."""
    import cases_v2  # noqa: PLC0415
    return [*cases.CASES, *cases_v2.CASES]


_CACHES: list = []


def _engine_caches() -> list:
    """The engine's memo caches (functools caches in matrixcalculus modules), except the
    one that builds the parser once per process; found once, after a first derivation."""
    if _CACHES:
        return _CACHES
    str(mc.derivative("x'*A*x", "x", vars={"A": "matrix(n,n)"}))
    found = _CACHES
    for name, mod in list(sys.modules.items()):
        if name.startswith("matrixcalculus") and mod is not None:
            for attr, obj in vars(mod).items():
                if callable(getattr(obj, "cache_clear", None)) and attr != "_parser" \
                        and obj not in found:
                    found.append(obj)
    found.append(lambda: None)         # found: even when the engine has no caches
    return found


def derive_once(expr: str, wrt: str, vars: dict, order: int = 1) -> str:
    """One full derivation to the printed answer. The engine's memo caches are cleared
    first so a repeat does not reuse the previous run's work."""
    for c in _engine_caches()[:-1]:
        c.cache_clear()
    return str(mc.derivative(expr, wrt, vars=vars, order=order))


def timed(fn: Callable[[], object], repeats: int, cap_s: float) -> float:
    """Median seconds of fn over up to `repeats` runs (fewer once cap_s is spent)."""
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < repeats and (not samples or time.perf_counter() - start < cap_s):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _sympy():
    try:
        import sympy  # noqa: F401
        from sympy.core.cache import clear_cache
        from sympy_bridge import SymPyCase, Untranslatable, closed_form, matches
    except ImportError:
        return None
    return SymPyCase, Untranslatable, closed_form, matches, clear_cache


def _ms(s: float | None) -> str:
    return "-" if s is None else (f"{s * 1e3:.1f}" if s >= 0.01 else f"{s * 1e3:.2f}")


# ------------------------------------------------------------------ corpus
def corpus(cfg: Config) -> Section:
    cases, oracle = load_corpus()
    sec = Section("Engine: derivation time per corpus case, and SymPy", "engine: corpus")
    repeats = 2 if cfg.quick else 7
    derive_once("x'*A*x", "x", {"A": "matrix(n,n)"})          # builds the parser once
    ours: dict[str, float] = {}
    aa: dict[str, float] = {}                # the A/A control: each case timed twice
    failed = []
    every = _all_cases(cases)
    by_id = {c["id"]: c for c in every}

    def attempt(_: int) -> float | None:
        failed.clear()
        for c in every:
            try:
                ours[c["id"]], aa[c["id"]] = paired_times(
                    lambda c=c: derive_once(c["expr"], c["wrt"], c["vars"], c["order"]),
                    repeats, 2.0)
            except mc.MatrixCalculusError as e:
                failed.append((c, f"{c['id']}: {str(e).splitlines()[0]}"))
        return statistics.median(aa.values()) / statistics.median(ours.values()) \
            if ours else None
    ctl = settle(f"{sec.title}: median over the cases", attempt)
    noisy = ctl.held is False
    times = sorted(ours.values())
    med = Measured(statistics.median(times), noisy)
    over = [k for k, v in ours.items() if v > 5e-3]
    sec.add(f"{len(ours)} of {len(every)} corpus cases derived (v1 and v2); time = "
            "`mc.derivative(...)` plus `str()` of the answer (parse, differentiate, simplify, "
            f"raise), the lower quartile of at least {repeats} runs each (timing.paired_times). "
            f"A/A control (each case timed twice, in pairs of alternating order; median of the "
            f"second arm's times / of the first's): {ctl.text()}."
            "\n\n" + md_table(
                ["cases", "median", "90th percentile", "max", "cases over 5 ms"],
                [[len(times), f"{med * 1e3:.2f} ms",
                  f"{times[int(0.9 * (len(times) - 1))] * 1e3:.2f} ms",
                  f"{times[-1] * 1e3:.2f} ms", len(over)]]))
    by_cat: dict[str, list[float]] = {}
    for c in every:
        if c["id"] in ours:
            by_cat.setdefault(c["category"], []).append(ours[c["id"]])
    sec.add("By category:\n\n" + md_table(
        ["category", "cases", "median ms", "max ms"],
        [[k, len(v), _ms(statistics.median(v)), _ms(max(v))] for k, v in by_cat.items()]))
    slow = sorted(ours.items(), key=lambda kv: -kv[1])[:10]
    sec.add("Slowest cases:\n\n" + md_table(
        ["case", "expression", "wrt", "order", "ms"],
        [[k, f"`{by_id[k]['expr']}`", by_id[k]["wrt"], by_id[k]["order"],
          _ms(v)] for k, v in slow]))
    # a v1 case must derive; a v2 case whose feature is not built yet is rejected, and listed
    v1 = {c["id"] for c in cases.CASES}
    sec.mismatches += [f"derivation failed: {f}" for c, f in failed if c["id"] in v1]
    if failed:
        sec.add("Not derived (rejected with an error):\n\n"
                + "\n".join(f"- {f}" for c, f in failed))
    # issue 14: the algebra of textbook answers must not cost derivation speed
    sec.targets.append(Target(sec.name, "median derivation time <= 2 ms per corpus case",
                              f"{med * 1e3:.2f} ms", at_most(med, 2e-3),
                              f"{len(over)} of {len(times)} cases over 5 ms"
                              + (f" (slowest {slow[0][0]}: {slow[0][1] * 1e3:.1f} ms)"
                                 if slow else "")))

    sy = _sympy()
    if sy is None:
        sec.add("SymPy is not installed: no comparison.")
        return sec
    SymPyCase, Untranslatable, closed_form, matches, clear_cache = sy
    rows, ratios, ours_same, sympy_same = [], [], [], []
    counts = {"translated": 0, "answered": 0, "verified": 0}
    for c in cases.CASES:
        if c["id"] not in ours or (cfg.quick and counts["translated"] >= 6):
            continue
        try:
            sc = SymPyCase(c["expr"], c["vars"], c["wrt"], c["order"])
            sc.build()
        except Untranslatable:
            continue
        counts["translated"] += 1
        try:
            result = sc.derive()
        except Exception as e:  # noqa: BLE001 - SymPy cannot do it
            rows.append([c["id"], f"`{c['expr']}`", _ms(ours[c["id"]]),
                         f"fails ({type(e).__name__})", "-"])
            continue
        if not closed_form(result):
            rows.append([c["id"], f"`{c['expr']}`", _ms(ours[c["id"]]), "unevaluated", "-"])
            continue
        counts["answered"] += 1
        inputs = oracle.draw_inputs(c, 0)
        wrt_rank = sum(1 for s in inputs[c["wrt"]].shape if s != 1) * c["order"]
        try:
            ok = matches(sc.evaluate(result, inputs, c["dims"]), oracle.reference(c, inputs),
                         wrt_rank)
        except Exception:  # noqa: BLE001 - a result SymPy cannot evaluate
            ok = False
        if not ok:
            rows.append([c["id"], f"`{c['expr']}`", _ms(ours[c["id"]]), "wrong answer", "-"])
            continue
        counts["verified"] += 1

        def run(sc=sc):
            clear_cache()
            sc.derive()
        t_sy = timed(run, repeats, 5.0)
        r = t_sy / ours[c["id"]]
        ratios.append(r)
        ours_same.append(ours[c["id"]])
        sympy_same.append(t_sy)
        rows.append([c["id"], f"`{c['expr']}`", _ms(ours[c["id"]]), _ms(t_sy), fmt_ratio(r)])
    sec.add(f"SymPy (`MatrixSymbol(...).diff`, cache cleared before each run; time = building "
            f"the SymPy expression + diff): of {len(cases.CASES)} corpus cases, "
            f"{counts['translated']} translate into SymPy matrix expressions (products, "
            "transposes, traces, inverses, determinants, sums; the rest use elementwise "
            "functions, reductions or symmetric matrices), SymPy returns a closed form for "
            f"{counts['answered']}, and {counts['verified']} of those agree with the oracle "
            f"(up to SymPy's layout). **SymPy can do {counts['verified']} cases.**\n\n"
            + md_table(["case", "expression", "ours ms", "SymPy ms", "SymPy / ours"], rows))
    if ratios:
        med_r = Measured(statistics.median(ratios), noisy)
        of_medians = statistics.median(sympy_same) / statistics.median(ours_same)
        sec.targets.append(Target(
            sec.name, ">= 3x faster than SymPy's diff (median over the cases SymPy can do)",
            fmt_ratio(med_r), at_least(med_r, 3.0),
            f"{len(ratios)} cases; ratio of the medians {of_medians:.3g}x; "
            f"min {min(ratios):.3g}x, max {max(ratios):.3g}x"))
    return sec
