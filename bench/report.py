"""The report's pieces: number formats, Markdown tables, a problem's Section, the tables
of one sweep (times, ratios with the A/A control, compile times, memory) and the machine
(with the BLAS kernel threadpoolctl sees)."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from control import TOL, Target
from timing import AA, CORES, OURS, Cell


# ------------------------------------------------------------------ formats
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


def ratio(a: Cell | None, b: Cell | None) -> float | None:
    """a's time over b's, for the tables only (not noted as read by a target)."""
    return None if a is None or b is None or not a.seconds or not b.seconds \
        else a.seconds / b.seconds


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


def _aa_shown(c: Cell) -> str:
    """The A/A column of the ratio table: its ratio to ours, and its verdict if off."""
    ctl = c.control
    if ctl is None or ctl.held is None:
        return "-"
    return fmt_ratio(ctl.ratio) + ("" if ctl.held and not ctl.retried else
                                   " (re-timed)" if ctl.held else " NOISY")


def control_note(sizes: Sequence[str], results: Sequence[dict[str, Cell]]) -> str:
    """One line on the A/A controls of a sweep."""
    ctls = [(s, r[AA].control) for s, r in zip(sizes, results)
            if AA in r and r[AA].control is not None and r[AA].control.held is not None]
    if not ctls:
        return ""
    off = [f"{s} ({c.text()})" for s, c in ctls if not c.held]
    again = [s for s, c in ctls if c.held and c.retried]
    text = (f"A/A control (`{AA}` / `{OURS}`: the same function, timed as a second method; "
            f"held within {TOL:.0%}): ")
    text += "held at every size" if not off else \
        f"**noisy at {', '.join(off)}: no target is judged from those sizes**"
    if again:
        text += f"; held after re-timing at {', '.join(again)}"
    return text + "."


def sweep_tables(sizes: Sequence[str], results: Sequence[dict[str, Cell]], limit: str | None,
                 inputs_bytes: Sequence[int] | None = None) -> str:
    """The time table (median ms), the ratio table (each method / ours; ours / limit; the
    A/A control), the JAX compile times and the peak-memory table, for one problem's sweep."""
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
        row += [_aa_shown(r[n]) if n == AA and r[n].control is not None else
                fmt_ratio(ratio(r[n], r[OURS])) for n in others]
        rows.append(row)
    text.append("Ratios (time of one over the other; `X / ours` > 1 means ours is faster):\n\n"
                + md_table(heads, rows))
    note = control_note(sizes, results)
    if note:
        text.append(note)
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
def threadpools() -> str:
    """The native thread pools loaded now, as threadpoolctl sees them: for BLAS, which
    library, version and kernel (architecture) runs, and on how many threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "not installed"
    pools = []
    for p in threadpool_info():
        arch = f"{p['architecture']}, " if p.get("architecture") else ""
        version = f" {p['version']}" if p.get("version") else ""
        pools.append(f"{p.get('internal_api')}{version} ({arch}{p.get('num_threads')} "
                     "threads)")
    return "; ".join(sorted(set(pools))) or "none"


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
    info.append(("threadpoolctl (BLAS kernel)", threadpools()))
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
                "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT"):
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

