"""Run the benchmark suite and write bench/RESULTS.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py            # full
    python bench/run.py --quick --out /tmp/r.md                                 # smoke run

Every size of every problem carries an A/A control (bench/control.py). A full run writes
its report to --out only when every control held; otherwise it writes <out>.noisy.md,
names the noisy problems and exits 1 (--force writes --out anyway, marked as such). A
--quick run (tiny sizes: timings meaningless) reports its controls but is not gated.
See bench/README.md."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import threads  # noqa: E402,F401 - thread-pool settings, before any library loads

SLOW_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
COMMAND = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py"


def _setup_libraries() -> None:
    """Threads, 64-bit JAX, and one tiny call of each transform, so that the libraries'
    one-time initialisation is not timed in the first problem."""
    import harness
    import torch
    torch.set_num_threads(harness.CORES)
    x = torch.ones(3, dtype=torch.float64)
    torch.func.hessian(lambda v: (v * v).sum())(x)
    torch.func.jacrev(torch.sigmoid)(x)
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        jax.block_until_ready(jax.jit(jax.hessian(lambda v: (v * v).sum()))(jax.numpy.ones(3)))
    except ImportError:
        pass


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes and few repeats (a smoke run, < 30 s)")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md",
                    help="where to write the report (default bench/RESULTS.md)")
    ap.add_argument("--only", default="",
                    help="comma-separated problem names to run (logistic, least_squares, "
                         "matrix_factorization, four_index, jacobians, mlp, softmax_regression, "
                         "attention, layer_norm, mha_einsum, value_and_grad_logistic, "
                         "value_and_grad_mf, minimize_logistic, minimize_ridge, matfun_ode, "
                         "matfun_logm, matfun_hvp, hvp_depth, corpus, growth, transformer)")
    ap.add_argument("--force", action="store_true",
                    help="write --out even where an A/A control stayed off (marked as such)")
    args = ap.parse_args(argv)

    set_vars = [v for v in SLOW_KERNEL_VARS if v in os.environ]
    if set_vars:
        print(f"warning: {', '.join(set_vars)} set: they select a slower OpenBLAS kernel, so "
              f"the NumPy timings are not representative. Run `{COMMAND}`.", file=sys.stderr)

    _setup_libraries()
    import batched
    import engine
    import engine_growth
    import harness
    import hvp_depth
    import kron_bench
    import matfun_bench
    import plugin
    import problems
    import tensor_problems

    cfg = harness.Config.make(args.quick)
    runners = [*problems.PROBLEMS, *batched.PROBLEMS, *tensor_problems.PROBLEMS,
               *kron_bench.PROBLEMS, *plugin.PROBLEMS, *matfun_bench.PROBLEMS,
               *hvp_depth.PROBLEMS, engine.corpus,
               engine_growth.growth, engine_growth.transformer]
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        runners = [r for r in runners if r.__name__ in wanted]
    machine = harness.machine_info()
    pools = harness.threadpools()
    start = time.perf_counter()
    sections: list[harness.Section] = []
    controls: dict[str, list] = {}          # problem -> its A/A controls
    partial = side_file(args.out, "partial")
    for run in runners:
        t0 = time.perf_counter()
        print(f"{run.__name__} ...", end=" ", flush=True)
        load0, mark, pools0 = _load(), len(harness.LOG), harness.threadpools()
        stolen0, retaken0 = harness.stolen_s(), harness.RETAKEN[0]
        out = run(cfg)
        out = out if isinstance(out, list) else [out]
        controls[run.__name__] = harness.LOG[mark:]
        stolen = None if stolen0 is None else harness.stolen_s() - stolen0
        retaken = harness.RETAKEN[0] - retaken0
        lead = (f"*1-minute load average when this problem started / ended: {load0} / "
                f"{_load()} ({harness.CORES} cores)"
                + ("" if stolen is None else
                   f"; CPU time stolen by the hypervisor meanwhile: {stolen:.1f} s, "
                   f"{retaken} timing samples retaken for it")
                + ".*")
        if pools0 != pools:                 # a library loaded, or its threads changed
            lead += f" *Thread pools (threadpoolctl) at its start: {pools0}.*"
            pools = pools0
        for sec in out:
            sec.parts.insert(0, lead)
        sections += out
        off = [c for c in controls[run.__name__] if c.held is False]
        print(f"{time.perf_counter() - t0:.1f} s" + (f", {len(off)} noisy" if off else "")
              + (f", {stolen:.1f} s stolen ({retaken} samples retaken)" if stolen else ""),
              flush=True)
        if run is not runners[-1]:          # a partial report, in case the run is stopped
            partial.write_text(report(sections, machine, cfg, time.perf_counter() - start,
                                      set_vars, controls, partial=True))
    elapsed = time.perf_counter() - start
    if hasattr(os, "getloadavg"):
        machine.append(("load average at end", " / ".join(f"{x:.2f}" for x in os.getloadavg())))
    machine.append(("threadpoolctl at end", harness.threadpools()))

    noisy = noisy_problems(controls)
    dest, rc = destination(args.out, noisy, args.force, cfg.quick)
    dest.write_text(report(sections, machine, cfg, elapsed, set_vars, controls,
                           forced=bool(noisy) and args.force))
    partial.unlink(missing_ok=True)
    c = harness.counts([t for s in sections for t in s.targets])
    bugs = sum(len(s.mismatches) for s in sections)
    print(f"wrote {dest} in {elapsed:.0f} s: {c['missed']} targets missed, {c['noisy']} "
          f"noisy, {bugs} disagreements")
    if noisy:
        print(f"A/A control off after re-timing in: {', '.join(noisy)}"
              + ("" if dest == args.out else f"; {args.out} not written (rerun on a quieter "
                 "machine, or pass --force)"), file=sys.stderr)
    return rc


def side_file(out: Path, kind: str) -> Path:
    """Where a report that is not the real one goes: RESULTS.md -> RESULTS.<kind>.md."""
    return out.with_name(f"{out.stem}.{kind}{out.suffix or '.md'}")


def noisy_problems(controls: dict[str, list]) -> list[str]:
    """The problems with a control that stayed off (after its one re-timing)."""
    return [name for name, ctls in controls.items() if any(c.held is False for c in ctls)]


def destination(out: Path, noisy: list[str], force: bool, quick: bool) -> tuple[Path, int]:
    """Where the report goes and the exit status: --out when every control held (or the
    run is --quick, or --force); otherwise the side file, and 1."""
    if not noisy or force or quick:
        return out, 0
    return side_file(out, "noisy"), 1


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def _busy(machine) -> str:
    """The 1-minute load averages at start and end, when others' work was running: above
    half the cores at the start, or above 1.5x the cores at the end (the run's own threads
    count there)."""
    import harness
    loads = {k: float(v.split(" / ")[0]) for k, v in machine if k.startswith("load average")}
    start, end = loads.get("load average at start", 0.0), loads.get("load average at end", 0.0)
    if start > harness.CORES / 2 or end > 1.5 * harness.CORES:
        return f"{start:.1f} at the start, {end:.1f} at the end"
    return ""


def report(sections, machine, cfg, elapsed: float, set_vars: list[str],
           controls: dict[str, list] | None = None, partial: bool = False,
           forced: bool = False) -> str:
    import harness
    from harness import md_table
    controls = controls or {}
    mode = "quick (smoke run: tiny sizes, timings meaningless)" if cfg.quick else "full"
    if partial:
        mode += "; PARTIAL: still running"
    head = [
        "# Benchmarks",
        f"Generated by `python bench/run.py{' --quick' if cfg.quick else ''}` ({mode}) in "
        f"{elapsed:.0f} s. Reproduce with\n\n```\n{COMMAND}\n```\n\n"
        "(`OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE` select a slower OpenBLAS kernel: unset them "
        "for this command only; never change them in tests or CI.)",
    ]
    noisy = noisy_problems(controls)
    if forced:
        head.append(f"**Written with --force: the A/A control stayed off in "
                    f"{', '.join(noisy)}; targets read from those sizes are marked noisy (not "
                    "judged). This is not a run whose controls held.**")
    elif noisy:
        head.append(f"**The A/A control stayed off in {', '.join(noisy)}"
                    + (" (a quick run is not gated)" if cfg.quick else "") + ".**")
    if set_vars:
        head.append(f"**Warning: {', '.join(set_vars)} were set for this run; the NumPy "
                    "timings are not representative.**")
    busy = _busy(machine)
    if busy:
        head.append(f"**Warning: the machine was busy with other work during this run (load "
                    f"average {busy} on {harness.CORES} cores): timings, above all of the "
                    "multi-threaded BLAS / torch calls at small sizes, are inflated and noisy; "
                    "rerun on an idle machine before judging the targets.**")
    head.append("Every method runs in this one process on the same float64 inputs; each "
                "result is checked against our NumPy code (`np.allclose`) before it is timed. "
                "Times are the lower quartile of samples taken in interleaved rounds after "
                "a warm-up call: one sample of every method per round, in orders where each "
                "method runs just after each other equally often (a Williams design), so "
                "that a drift of the machine and what ran just before weigh on all alike "
                "(a fast call is looped within its sample; a call over a second is timed "
                "once: the checking call). The lower quartile, not the median: on this VM a "
                "whole sample runs either unhindered or ~1.6x slower, and interference only "
                "adds time; a sample during which the hypervisor stole CPU time from this "
                "VM (`/proc/stat`) is retaken, up to 3 times. "
                "\"ours NumPy\" / \"ours torch\" are the functions "
                "`mc.derivative(...).compiled(backend, sizes)` returns; JAX runs under "
                "`jax.jit` with its compile time reported apart; \"limit\" is the dominant "
                "BLAS call (or the memory pass writing the output) alone. Targets are judged "
                "on our NumPy code; \"no slower than\" allows 5% timing noise.")
    head.append(f"**The A/A control.** At every size of every problem our NumPy function is "
                f"timed twice, as two methods, `{harness.OURS}` and `{harness.AA}`, in the "
                "same rounds as every other method. The two differ only by the "
                "machine's noise: "
                f"where their times agree within {harness.TOL:.0%} the size is *held* and its "
                "targets are judged; where they do not, the size is re-timed once (every "
                "method, in new rounds), and if it is still off its targets are reported "
                "**noisy**, neither met nor missed. The engine's derivation times carry the "
                "same control (each case timed twice, in pairs of alternating order). A full "
                "run writes `RESULTS.md` only when every control held (`--force` overrides, "
                "and says so). Each ratio table's `ours NumPy (A/A) / ours` column is the control.")
    head.append("## Machine\n\n" + md_table(["", ""], machine))
    if controls:
        head.append("## A/A controls\n\n" + controls_table(controls))
    targets = [t for s in sections for t in s.targets]
    head.append("## Targets\n\n" + md_table(
        ["problem", "target", "measured", "status", "detail"],
        [[t.problem, t.what, t.measured, t.status, t.detail] for t in targets])
        + "\n\n{met} met, {missed} missed, {noisy} noisy (A/A control off: not judged), "
          "{n/a} not measurable.".format_map(harness.counts(targets)))
    explained = HERE / "EXPLANATIONS.md"
    if not cfg.quick and explained.exists():
        head.append("## Missed targets: why\n\n" + explained.read_text().strip())
    bugs = [m for s in sections for m in s.mismatches]
    head.append("## Disagreements and failures\n\n"
                + ("\n".join(f"- {m}" for m in bugs) if bugs else "None: every method agreed "
                   "with our result."))
    return "\n\n".join(head + [s.markdown() for s in sections]) + "\n"


def controls_table(controls: dict[str, list]) -> str:
    from harness import md_table
    rows = []
    for name, ctls in controls.items():
        known = [c for c in ctls if c.held is not None]
        if not known:
            rows.append([name, 0, "-", "-", "no control (no timing of ours)"])
            continue
        off = [c for c in known if not c.held]
        rows.append([name, len(known), sum(1 for c in known if c.held and not c.retried),
                     sum(1 for c in known if c.held and c.retried),
                     "; ".join(f"{c.where}: {c.text()}" for c in off) or "none"])
    return md_table(["problem", "controls", "held", "held after re-timing", "noisy"], rows)


if __name__ == "__main__":
    sys.exit(main())
