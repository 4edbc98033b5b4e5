"""Timing and memory primitives of the benchmark suite: run settings, the median of
repeated calls, an interleaved pair of medians (for A/A controls outside the per-size
runner), one call's peak memory, and the cell that holds one method's result at one size."""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
OURS = "ours NumPy"              # the reference column: every method is checked against it
AA = "ours NumPy (A/A)"          # the control: OURS's own function, timed as a second method
NOISE = 1.05                     # "no slower than" allows 5% timing noise


# ------------------------------------------------------------------ run settings
@dataclass(frozen=True)
class Config:
    quick: bool
    budget_s: float              # time spent timing one method at one size (after warm-up)
    min_repeats: int
    max_repeats: int
    min_sample_s: float = 2e-3   # calls shorter than this are looped inside one sample
    slow_s: float = 1.0          # calls longer than this are timed once (after the warm-up)
    max_call_s: float = 10.0     # a method expected to take longer at the next size is skipped
    settle_s: float = 0.02       # pause before each method (other libraries' threads park)

    @staticmethod
    def make(quick: bool) -> Config:
        if quick:
            return Config(quick=True, budget_s=0.01, min_repeats=1, max_repeats=3)
        return Config(quick=False, budget_s=0.4, min_repeats=3, max_repeats=25)


# ------------------------------------------------------------------ timing
def once(fn: Callable[[], Any], inner: int = 1) -> float:
    """Seconds per call of fn, over inner back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner




def median_time(fn: Callable[[], Any], cfg: Config, warm_s: float) -> tuple[float, int]:
    """Median seconds per call of fn over back-to-back samples, right after its warm-up
    call (which took warm_s). Calls shorter than cfg.min_sample_s are looped inside each
    sample; about cfg.budget_s of samples are taken (cfg.min_repeats to cfg.max_repeats).
    A call slower than cfg.slow_s is not repeated: the warm-up call is its one sample.
    (Methods are timed one after another, not interleaved: torch's and XLA's worker threads
    keep spinning for a while after their calls and would slow the next BLAS call.)
    Returns (median, samples)."""
    if warm_s > cfg.slow_s:
        return warm_s, 1
    gc_was = gc.isenabled()
    gc.disable()
    try:
        first = once(fn, 1)
        inner = 1 if first >= cfg.min_sample_s else \
            max(1, int(cfg.min_sample_s / max(first, 1e-7)))
        want = int(min(cfg.max_repeats, max(cfg.min_repeats,
                                            cfg.budget_s / max(first * inner, 1e-9))))
        samples = [first] if inner == 1 else []
        while len(samples) < want:
            samples.append(once(fn, inner))
        return statistics.median(samples), len(samples)
    finally:
        if gc_was:
            gc.enable()


def paired_medians(fn: Callable[[], Any], repeats: int, cap_s: float) -> tuple[float, float]:
    """fn timed as two arms, A and its A/A control B, sample by sample in turn (A, B, A,
    B, ...), up to `repeats` samples each (fewer once cap_s is spent): the two medians.
    Both arms see the same machine at the same moments, so they differ only by noise."""
    a: list[float] = []
    b: list[float] = []
    start = time.perf_counter()
    while len(a) < repeats and (not a or time.perf_counter() - start < cap_s):
        a.append(once(fn))
        b.append(once(fn))
    return statistics.median(a), statistics.median(b)


# ------------------------------------------------------------------ memory
def numpy_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated during one call of fn, as tracemalloc sees them (NumPy reports
    its array buffers to tracemalloc; the arguments already exist and are not counted)."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
        del out
    finally:
        tracemalloc.stop()
    return max(0, peak - base)


# ------------------------------------------------------------------ results
@dataclass
class Cell:
    seconds: float | None = None
    repeats: int = 0
    peak: int | None = None                # bytes (numpy: tracemalloc; jax: XLA buffers)
    compile_s: float | None = None
    ok: bool | None = None                 # agrees with OURS
    note: str = ""
    noisy: bool = False                    # its size's A/A control stayed off: not judged
    control: Any = None                    # on the A/A cell: that size's control.Control
