"""Shared pieces of the benchmark suite: the methods, agreement checks and the per-size
runner with its A/A control. Timing primitives live in timing.py, controls and target
verdicts in control.py, formats and tables in report.py; everything is re-exported here,
so `from harness import ...` keeps working."""

from __future__ import annotations

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
    median_time,
    numpy_peak,
    once,
    paired_medians,
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
    problem that lists AA itself keeps its own). Last, so that in the forward pass and the
    reverse one OURS and its control stand at the two ends: whatever weighs on one end of
    the run order weighs on the other in the other pass."""
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
    warm-up), time it, and measure its peak memory (NumPy, JAX); then time them again in
    reverse order and keep the better median. Disagreements are recorded in mismatches;
    methods named in skip are not run (the value says why).

    With control (the default), OURS is timed a second time as the method AA, last; where
    the two disagree beyond control.TOL every method is re-timed once (both passes), and
    if they still disagree every cell is marked noisy (see control.py)."""
    methods = with_control(methods) if control else list(methods)
    skip = dict(skip or {})
    if OURS in skip and AA not in skip:
        skip[AA] = skip[OURS]
    forget_reads()
    by_name = {m.name: m for m in methods}
    ref = to_numpy(by_name[OURS].fn())
    cells: dict[str, Cell] = {}
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
            warm_s = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - a failing method is a result, not a crash
            cell.note = f"failed: {type(e).__name__}: {str(e)[:120]}"
            mismatches.append(f"{where}: {m.name} {cell.note}")
            continue
        cell.ok, detail = agree(out, ref) if m.check else (None, "")
        if cell.ok is False:
            cell.note = detail
            mismatches.append(f"{where}: {m.name} disagrees with {OURS} ({detail})")
        del out
        cell.seconds, cell.repeats = median_time(m.fn, cfg, warm_s)
        if m.name == AA:                   # the same function: its memory is OURS's
            continue
        if m.lib == "numpy":
            cell.peak = numpy_peak(m.fn)
        elif m.lib == "jax":
            cell.peak = m.static_bytes
    _reverse_pass(methods, cells, cfg)
    if control and OURS in cells and AA in cells:
        def attempt(i: int) -> float | None:
            if i:
                _retime(methods, cells, cfg)
            a, b = cells[OURS].seconds, cells[AA].seconds
            return b / a if a and b else None
        ctl = settle(where, attempt)
        cells[AA].control = ctl
        if ctl.held is False:
            for c in cells.values():
                c.noisy = True
    return cells


def _reverse_pass(methods: Sequence[Method], cells: dict[str, Cell], cfg: Config) -> None:
    """A second pass in reverse order, keeping each method's better median: what ran just
    before a method (another library's spinning threads, a cache full of its data) then
    weighs on every method alike instead of on the first ones."""
    for m in reversed(methods):
        cell = cells[m.name]
        if cell.seconds is None or cell.repeats <= 1:      # failed, skipped, or slow
            continue
        time.sleep(cfg.settle_s)
        sec, reps = median_time(m.fn, cfg, 0.0)
        if sec < cell.seconds:
            cell.seconds, cell.repeats = sec, reps


def _retime(methods: Sequence[Method], cells: dict[str, Cell], cfg: Config) -> None:
    """Every timed method timed afresh, forward then reverse (a slow one: one call); the
    new times replace the old ones, so every ratio of the size is read from one sitting."""
    for m in methods:
        cell = cells[m.name]
        if cell.seconds is None:
            continue
        time.sleep(cfg.settle_s)
        if cell.repeats <= 1:
            cell.seconds = once(m.fn)
        else:
            cell.seconds, cell.repeats = median_time(m.fn, cfg, 0.0)
    _reverse_pass(methods, cells, cfg)
