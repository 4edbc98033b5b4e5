"""Shared pieces of the benchmark suite: timing, peak memory, agreement checks, the
per-size runner, targets and the Markdown table writer."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
OURS = "ours NumPy"              # the reference column: every method is checked against it
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
def _once(fn: Callable[[], Any], inner: int) -> float:
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
        first = _once(fn, 1)
        inner = 1 if first >= cfg.min_sample_s else \
            max(1, int(cfg.min_sample_s / max(first, 1e-7)))
        want = int(min(cfg.max_repeats, max(cfg.min_repeats,
                                            cfg.budget_s / max(first * inner, 1e-9))))
        samples = [first] if inner == 1 else []
        while len(samples) < want:
            samples.append(_once(fn, inner))
        return statistics.median(samples), len(samples)
    finally:
        if gc_was:
            gc.enable()


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


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "n/a"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{int(b)} B"


def fmt_ms(s: float | None) -> str:
    if s is None:
        return "-"
    ms = s * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def fmt_ratio(r: float | None) -> str:
    if r is None or not np.isfinite(r):
        return "-"
    return f"{r:.3g}x"


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


@dataclass
class Cell:
    seconds: float | None = None
    repeats: int = 0
    peak: int | None = None                # bytes (numpy: tracemalloc; jax: XLA buffers)
    compile_s: float | None = None
    ok: bool | None = None                 # agrees with OURS
    note: str = ""


def run_methods(methods: Sequence[Method], cfg: Config, mismatches: list[str], where: str,
                skip: Mapping[str, str] | None = None) -> dict[str, Cell]:
    """For each method in turn: check it against OURS (that first call is also the
    warm-up), time it, and measure its peak memory (NumPy, JAX); then time them again in
    reverse order and keep the better median. Disagreements are recorded in mismatches;
    methods named in skip are not run (the value says why)."""
    skip = skip or {}
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
        if m.lib == "numpy":
            cell.peak = numpy_peak(m.fn)
        elif m.lib == "jax":
            cell.peak = m.static_bytes
    # a second pass in reverse order, keeping each method's better median: what ran just
    # before a method (another library's spinning threads, a cache full of its data)
    # then weighs on every method alike instead of on the first ones
    for m in reversed(methods):
        cell = cells[m.name]
        if cell.seconds is None or cell.repeats <= 1:      # failed, skipped, or slow
            continue
        time.sleep(cfg.settle_s)
        sec, reps = median_time(m.fn, cfg, 0.0)
        if sec < cell.seconds:
            cell.seconds, cell.repeats = sec, reps
    return cells


# ------------------------------------------------------------------ targets
@dataclass
class Target:
    problem: str
    what: str
    measured: str
    met: bool | None                       # None: could not be measured
    detail: str = ""

    @property
    def status(self) -> str:
        return {True: "met", False: "**missed**", None: "n/a"}[self.met]


def at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None or not np.isfinite(value) else bool(value <= bound)


def at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None or not np.isfinite(value) else bool(value >= bound)


def ratio(a: Cell | None, b: Cell | None) -> float | None:
    """a's time over b's time."""
    if a is None or b is None or not a.seconds or not b.seconds:
        return None
    return a.seconds / b.seconds


# ------------------------------------------------------------------ sections and tables
def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    out = ["| " + " | ".join(cell(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


@dataclass
class Section:
    title: str
    short: str = ""                        # the name in the summary of targets
    parts: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.short or self.title

    def add(self, text: str) -> None:
        self.parts.append(text)

    def markdown(self) -> str:
        body = [f"## {self.title}", *self.parts]
        if self.targets:
            body.append("Targets:\n\n" + md_table(
                ["target", "measured", "status", "detail"],
                [[t.what, t.measured, t.status, t.detail] for t in self.targets]))
        if self.mismatches:
            body.append("Disagreements with our result (bugs to report):\n\n"
                        + "\n".join(f"- {m}" for m in self.mismatches))
        return "\n\n".join(body)


def sweep_tables(sizes: Sequence[str], results: Sequence[dict[str, Cell]], limit: str | None,
                 inputs_bytes: Sequence[int] | None = None) -> str:
    """The time table (median ms), the ratio table (each method / ours; ours / limit), the
    JAX compile times and the peak-memory table, for one problem's sweep."""
    names = list(results[0])
    # a method built at some sizes only (memory) is shown skipped at the others
    results = [{n: r.get(n, Cell(note="skipped: not built at this size")) for n in names}
               for r in results]
    # time
    def shown(c: Cell) -> str:
        if c.seconds is None:
            return "skipped" if c.note.startswith("skipped") else "failed"
        return fmt_ms(c.seconds) + ("" if c.ok in (True, None) else " ✗")
    rows = [[s] + [shown(r[n]) for n in names] for s, r in zip(sizes, results)]
    text = ["Median time (ms; ✗ = disagrees with ours; skipped = expected over "
            "a time cap, see the notes):\n\n" + md_table(["size", *names], rows)]
    notes = sorted({f"{n} at {s}: {r[n].note}" for s, r in zip(sizes, results) for n in names
                    if r[n].note and r[n].seconds is None})
    if notes:
        text.append("Notes:\n\n" + "\n".join(f"- {x}" for x in notes))
    # ratios
    others = [n for n in names if n != OURS]
    heads = ["size"] + ([f"ours / {limit}"] if limit else []) + [f"{n} / ours" for n in others]
    rows = []
    for s, r in zip(sizes, results):
        row = [s] + ([fmt_ratio(ratio(r[OURS], r[limit]))] if limit else [])
        row += [fmt_ratio(ratio(r[n], r[OURS])) for n in others]
        rows.append(row)
    text.append("Ratios (time of one over the other; `X / ours` > 1 means ours is faster):\n\n"
                + md_table(heads, rows))
    # compile times
    jax_names = [n for n in names if any(r[n].compile_s is not None for r in results)]
    if jax_names:
        rows = [[s] + [fmt_ms(r[n].compile_s) for n in jax_names] for s, r in zip(sizes, results)]
        text.append("JAX compile time (ms, lower + compile, not in the times above):\n\n"
                    + md_table(["size", *jax_names], rows))
    # memory
    mem_names = [n for n in names if any(r[n].peak is not None for r in results)]
    rows = [[s] + [fmt_bytes(r[n].peak) for n in mem_names]
            + ([fmt_bytes(inputs_bytes[i])] if inputs_bytes else [])
            for i, (s, r) in enumerate(zip(sizes, results))]
    text.append("Peak memory of one call (NumPy: tracemalloc, arguments excluded; JAX: XLA's "
                "temp + output buffers; torch: not measured):\n\n"
                + md_table(["size", *mem_names] + (["inputs + output"] if inputs_bytes else []),
                           rows))
    return "\n\n".join(text)


def code_block(src: str, lang: str = "python") -> str:
    return f"```{lang}\n{src.strip()}\n```"


# ------------------------------------------------------------------ machine
def machine_info() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = [("CPU", cpu), ("cores available", str(CORES)),
            ("Python", platform.python_version()), ("NumPy", np.__version__)]
    try:
        load = os.getloadavg()
        info.append(("load average at start", " / ".join(f"{x:.2f}" for x in load)))
    except OSError:
        pass
    info.append(("NumPy BLAS", _numpy_blas()))
    try:
        from threadpoolctl import threadpool_info
        pools = [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
                 f"{p.get('num_threads')} threads)" for p in threadpool_info()]
        info.append(("threadpoolctl", "; ".join(pools) or "none"))
    except ImportError:
        info.append(("threadpoolctl", "not installed"))
    try:
        import torch
        info.append(("torch", f"{torch.__version__} ({torch.get_num_threads()} threads)"))
    except ImportError:
        info.append(("torch", "not installed"))
    try:
        import jax
        info.append(("jax", f"{jax.__version__} ({jax.devices()[0].platform}, x64 "
                            f"{jax.config.jax_enable_x64})"))
    except ImportError:
        info.append(("jax", "not installed"))
    try:
        import sympy
        info.append(("SymPy", sympy.__version__))
    except ImportError:
        info.append(("SymPy", "not installed"))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS"):
        info.append((var, os.environ.get(var, "unset")))
    return info


def _numpy_blas() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')} " \
               f"({' '.join(str(blas.get('openblas configuration', '')).split())})".strip()
    except Exception:  # noqa: BLE001 - older NumPy: no dict mode
        return "unknown"
