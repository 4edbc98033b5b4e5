"""Shared pieces of the benchmark suite: the methods, agreement checks and the per-size
runner with its A/A control. Timing primitives live in timing.py, controls and target
verdicts in control.py, formats and tables in report.py; everything is re-exported here,
so `from harness import ...` keeps working."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from control import (  # noqa: F401 - re-exported
    LOG,
    NOISY,
    TOL,
    Control,
    Measured,
    Target,
    at_least,
    at_most,
    counts,
    forget_reads,
    ratio,
    settle,
    within,
    worst,
)
from report import (  # noqa: F401 - re-exported
    Section,
    code_block,
    fmt_bytes,
    fmt_ms,
    fmt_ratio,
    machine_info,
    md_table,
    sweep_tables,
    threadpools,
)
from timing import (  # noqa: F401 - re-exported
    AA,
    CORES,
    NOISE,
    OURS,
    Cell,
    Config,
    low_quartile,
    numpy_peak,
    once,
    paired_times,
    stolen_s,
)


# ------------------------------------------------------------------ methods
@dataclass
class Method:
    """One way of computing a problem's answer: a zero-argument callable over prepared
    inputs. lib says how to read its result back and measure its memory."""

    name: str
    fn: Callable[[], Any] | None
    lib: str                               # numpy / torch / jax
    compile_s: float | None = None         # jax: lower + compile, timed apart
    static_bytes: int | None = None        # jax: XLA's temp + output buffer sizes
    check: bool = True                     # False for a limit, which computes only a part
    prepare: Callable[[], None] | None = None   # run before the first call (jax: compile)


def jax_method(name: str, transformed: Callable, *args) -> Method:
    """jax.jit(transformed), compiled ahead for these arguments when the method is about
    to run (compile time recorded apart); the timed call blocks until the result is ready."""
    m = Method(name, None, "jax")

    def prepare():
        import jax
        t0 = time.perf_counter()
        compiled = jax.jit(transformed).lower(*args).compile()
        m.compile_s = time.perf_counter() - t0
        try:
            ma = compiled.memory_analysis()
            m.static_bytes = int(ma.temp_size_in_bytes + ma.output_size_in_bytes)
        except Exception:  # noqa: BLE001 - memory statistics are optional
            pass
        m.fn = lambda: jax.block_until_ready(compiled(*args))
    m.prepare = prepare
    return m


def to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def agree(out: np.ndarray, ref: np.ndarray) -> tuple[bool, str]:
    if out.shape != ref.shape:
        return False, f"shape {out.shape} != {ref.shape}"
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    ok = bool(np.allclose(out, ref, rtol=1e-6, atol=1e-9 * scale))
    err = float(np.max(np.abs(out - ref))) / scale if ref.size else 0.0
    return ok, f"max abs err / scale = {err:.2g}"


def with_control(methods: Sequence[Method]) -> list[Method]:
    """The methods with the A/A control last: OURS's own function under the name AA (a
    problem that lists AA itself keeps its own), timed in the same rounds."""
    methods = list(methods)
    names = {m.name for m in methods}
    if OURS in names and AA not in names:
        ours = next(m for m in methods if m.name == OURS)
        methods.append(Method(AA, ours.fn, ours.lib))
    return methods


# ------------------------------------------------------------------ the per-size runner
def run_methods(methods: Sequence[Method], cfg: Config, mismatches: list[str], where: str,
                skip: Mapping[str, str] | None = None, control: bool = True) -> dict[str, Cell]:
    """For each method in turn: check it against OURS (that first call is also the
    warm-up) and measure its peak memory (NumPy, JAX); then time them all in interleaved
    rounds (see _rounds). Disagreements are recorded in mismatches; methods named in skip
    are not run (the value says why).

    With control (the default), OURS is timed a second time as the method AA, last; where
    the two disagree beyond control.TOL every method is re-timed once, and if they still
    disagree every cell is marked noisy (see control.py)."""
    methods = with_control(methods) if control else list(methods)
    skip = dict(skip or {})
    if OURS in skip and AA not in skip:
        skip[AA] = skip[OURS]
    forget_reads()
    by_name = {m.name: m for m in methods}
    ref = to_numpy(by_name[OURS].fn())
    cells: dict[str, Cell] = {}
    warm: dict[str, float] = {}
    for m in methods:
        if m.name in skip:
            cells[m.name] = Cell(note=skip[m.name])
            continue
        cell = cells[m.name] = Cell()
        time.sleep(cfg.settle_s)           # let the previous library's threads go idle
        try:
            if m.prepare is not None:
                m.prepare()
            cell.compile_s = m.compile_s
            t0 = time.perf_counter()
            out = to_numpy(m.fn())
            warm[m.name] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a failing method is a result, not a crash
            cell.note = f"failed: {type(e).__name__}: {str(e)[:120]}"
            mismatches.append(f"{where}: {m.name} {cell.note}")
            continue
        cell.ok, detail = agree(out, ref) if m.check else (None, "")
        if cell.ok is False:
            cell.note = detail
            mismatches.append(f"{where}: {m.name} disagrees with {OURS} ({detail})")
        del out
        if m.name == AA:                   # the same function: its memory is OURS's
            continue
        if m.lib == "numpy":
            cell.peak = numpy_peak(m.fn)
        elif m.lib == "jax":
            cell.peak = m.static_bytes
    timed = [m for m in methods if m.name in warm]
    _rounds(timed, cells, cfg, warm)
    if control and OURS in cells and AA in cells:
        def attempt(i: int) -> float | None:
            if i:
                _rounds(timed, cells, cfg, warm)
            a, b = cells[OURS].seconds, cells[AA].seconds
            return b / a if a and b else None
        ctl = settle(where, attempt)
        cells[AA].control = ctl
        if ctl.held is False:
            for c in cells.values():
                c.noisy = True
    return cells


RETAKEN = [0]         # samples retaken because the hypervisor stole time during them
_TRIES = 3
_DESIGN_S = 8.0       # the most seconds of rounds spent to complete one Williams design


def sample(m: Method, inner: int) -> float:
    """One sample of a method: seconds per call over inner back-to-back calls."""
    return once(m.fn, inner)


def unstolen_sample(m: Method, inner: int) -> float:
    """A sample during which the hypervisor gave none of this VM's CPU time to another
    guest (as far as /proc/stat's 10 ms ticks of steal tell), retaken up to _TRIES times:
    a stolen stretch makes one sample slower for a reason no method owns. Each retake is
    counted in RETAKEN (run.py reports them per problem)."""
    for _ in range(_TRIES):
        before = stolen_s()
        t = sample(m, inner)
        if before is None or stolen_s() == before:
            return t
        RETAKEN[0] += 1
    return t


def williams(n: int) -> list[list[int]]:
    """The rows of a Williams design for n items: orders of 0..n-1 in which each item
    directly follows each other item equally often (once for an even n; twice, over twice
    as many rows, for an odd n), the crossover design that balances first-order carryover."""
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 else rows


def _rounds(methods: Sequence[Method], cells: dict[str, Cell], cfg: Config,
            warm: Mapping[str, float]) -> None:
    """Time the methods in rounds, one sample of each per round in a balanced order; each
    method's time is the lower quartile of its samples (see low_quartile). Every method
    thus sees the same machine at the same moments: a slow drift (a VM's neighbour, a clock
    change) weighs on all alike instead of on whichever was timed in its block, and what
    ran just before a method varies. A sample loops a fast method's calls to about one
    round's share of the budget, so that every method gets equally many samples.

    A method whose check call took over cfg.slow_s is not repeated: that call is its one
    sample (re-timed with one call when the rounds are run again)."""
    slow = [m for m in methods if warm[m.name] > cfg.slow_s]
    fast = [m for m in methods if warm[m.name] <= cfg.slow_s]
    for m in slow:
        cells[m.name].seconds = warm[m.name] if cells[m.name].seconds is None else once(m.fn)
        cells[m.name].repeats = 1
    if not fast:
        return
    gc_was = gc.isenabled()
    gc.disable()
    try:
        # the calibration call's time, once per function: the A/A control is OURS's own
        # function and must loop exactly as many calls per sample (a sample's first call
        # runs on colder caches, so fewer calls per sample read slower)
        by_fn = {id(m.fn): m.fn for m in fast}
        first_fn = {k: min(once(f), once(f)) for k, f in by_fn.items()}
        first = {m.name: max(first_fn[id(m.fn)], 1e-7) for m in fast}
        # about 2 * budget_s per method (what two passes of the budget took before): as many
        # rounds as the slowest allows, and each faster sample looped up to a round's share
        slowest = max(cfg.min_sample_s, max(first.values()))
        rounds = int(min(cfg.max_repeats, max(cfg.min_repeats, 2 * cfg.budget_s / slowest)))
        share = max(cfg.min_sample_s, 2 * cfg.budget_s / rounds)
        inner = {k: max(1, int(share / t)) for k, t in first.items()}
        samples: dict[str, list[float]] = {m.name: [] for m in fast}
        # what runs just before a method weighs on it (after torch, even past the pause,
        # the same NumPy function read ~30% slower): the orders are the rows of a Williams
        # design, in which every method follows every other equally often. (A fixed order
        # gave OURS and its control fixed neighbours; orders shuffled from one seed had
        # OURS after torch or JAX in 13 of 25 rounds and its control in 7.)
        orders = williams(len(fast))
        # a sample lasts about a round's share, or one call where that is longer
        per_round = sum(max(t, share) for t in first.values()) + cfg.settle_s * len(fast)
        if not cfg.quick and rounds < len(orders) and per_round * len(orders) <= _DESIGN_S:
            # one whole design where it is affordable: a partial one leaves some method
            # after torch or JAX more often than its control (4a logdet at n = 60: 5
            # rounds of 6 methods, the control off twice)
            rounds = len(orders)
        if rounds >= len(orders):           # whole designs only, the nearest count
            rounds = len(orders) * round(rounds / len(orders))
        for r in range(rounds):
            for m in (fast[i] for i in orders[r % len(orders)]):
                # before every sample, not only where the library changes: a sample right
                # after a pause starts on parked threads and cold caches, and the control
                # must not be the only method that never does
                time.sleep(cfg.settle_s)
                samples[m.name].append(unstolen_sample(m, inner[m.name]))
    finally:
        if gc_was:
            gc.enable()
    for m in fast:
        cells[m.name].seconds = low_quartile(samples[m.name])
        cells[m.name].repeats = len(samples[m.name]) * inner[m.name]
