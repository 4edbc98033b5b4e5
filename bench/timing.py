"""Timing and memory primitives of the benchmark suite: run settings, one timed sample,
an interleaved pair of timings (for A/A controls outside the per-size runner, which times
in rounds: harness._rounds), one call's peak memory, and the cell that holds one method's
result at one size."""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
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
    min_repeats: int             # rounds of samples (harness._rounds), at least and at most
    max_repeats: int
    min_sample_s: float = 2e-3   # a sample loops calls to at least this long
    slow_s: float = 1.0          # calls longer than this are timed once (after the warm-up)
    max_call_s: float = 10.0     # a method expected to take longer at the next size is skipped
    settle_s: float = 0.02       # pause before each sample (other libraries' threads park)

    @staticmethod
    def make(quick: bool) -> Config:
        if quick:
            return Config(quick=True, budget_s=0.01, min_repeats=1, max_repeats=3)
        return Config(quick=False, budget_s=0.4, min_repeats=5, max_repeats=25)


# ------------------------------------------------------------------ timing
def once(fn: Callable[[], Any], inner: int = 1) -> float:
    """Seconds per call of fn, over inner back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def stolen_s() -> float | None:
    """Seconds of CPU time the hypervisor has given to other guests since boot (the steal
    column of /proc/stat, in USER_HZ ticks), summed over the cores; None off Linux. On a
    VM it is the interference no load average shows: A/A controls that went off on an
    idle machine came with bursts of it."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def low_quartile(samples: Sequence[float]) -> float:
    """The lower quartile of the samples: on a small VM a whole sample (tens of calls) runs
    either unhindered or ~1.6x slower (the other core taken away for a while: 0.85 ms
    against 1.5 ms for the same 250 x 250 Hessian, in runs of several samples), so the
    median of a method's samples jumped between the two states and the A/A control with
    it. Interference only adds time; the lower quartile reads the unhindered state, and
    the balanced rounds give every method the same chance of it."""
    if len(samples) < 4:
        return min(samples)
    return statistics.quantiles(samples, n=4, method="inclusive")[0]


PAIRED_BUDGET_S = 0.3     # paired_times: a fast fn is sampled until about this is spent
PAIRED_MAX = 16           # ... in at most this many pairs


def paired_times(fn: Callable[[], Any], repeats: int, cap_s: float) -> tuple[float, float]:
    """fn timed as two arms, A and its A/A control B, in pairs whose order alternates (AB,
    BA, AB, ...), the garbage collected before each sample: the two lower quartiles. At
    least `repeats` pairs (fewer once cap_s is spent), more for a fast fn (up to
    PAIRED_MAX pairs within PAIRED_BUDGET_S). Three pairs, each A before B, of a derivation
    under 2 ms put the control at 0.76-0.89x: whichever ran second ran faster, and three
    samples read one state of the machine; both arms see the same moments and the same
    positions now, so they differ only by noise."""
    arms: tuple[list[float], list[float]] = ([], [])
    # a warm-up: the first call of a large derivation grows the heap, and eight calls of
    # one (2 s) ran 30% faster from the first to the last, which the alternation AB, BA,
    # AB halves but does not cancel
    fn()
    # what exists before the first sample is frozen out of the collector, so each collect
    # below scans only what fn made (a full collect of a 20-minute run's heap, before
    # every sample, had made the corpus section 334 s instead of 8 s)
    gc.collect()
    gc.freeze()
    try:
        start = time.perf_counter()
        while True:
            spent = time.perf_counter() - start
            n = len(arms[0])
            if n >= PAIRED_MAX or (n >= repeats and spent >= PAIRED_BUDGET_S) or \
                    (n and spent >= cap_s):
                break
            for arm in ((0, 1) if n % 2 == 0 else (1, 0)):
                gc.collect()
                arms[arm].append(once(fn))
    finally:
        gc.unfreeze()
    return low_quartile(arms[0]), low_quartile(arms[1])


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
