"""The GPU part of the benchmarks: the torch side of problems 1 (logistic regression) and 4
(4-index Hessians), 7 (softmax regression gradient and HVP), 8 (attention gradients) and
two matrix functions (an ODE fit through expm, tr(C*logm(S))) on an accelerator, float32
and float64, and our torch code under torch.func.vmap and torch.compile with its
value-and-gradient function (issue 17), written to bench/GPU_RESULTS.md with the card's
name.  One short script: each table has a time budget (BUDGET_S; the sizes past it are
not run), so the whole run takes a few minutes.

    python bench/gpu.py                          # on a machine with CUDA (the `device` tool)
    python bench/gpu.py --device cpu --quick     # smoke run (the test suite runs this)

Per problem and size: our generated PyTorch code (`d.compiled("torch")`, tensors on the
device), torch.func.hessian, the hand-written closed form, and the limit (the one dominant
GEMM / the write of the output alone).  Times are medians of synchronised calls after a
warm-up; a method that fails (out of memory) or would exceed the time cap is reported as such.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import sys
import time
from pathlib import Path

import threads  # noqa: F401 - thread-pool settings, before torch loads
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from gpu_problems import PROBLEMS, Problem  # noqa: E402

import matrixcalculus as mc  # noqa: E402

LOGISTIC = "sum(log(1+exp(-y.*(X*w))))"
GAUSS = "0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)"
CAP_S = 4.0           # a method slower than CAP_S / 4 a call is not run at the next size
BUDGET_S = 12.0       # a table past this many seconds runs no larger size
SPENT_S = 1.0         # timed(): repeats stop past this many seconds (at least 3 calls)
OOM = getattr(torch.cuda, "OutOfMemoryError", MemoryError)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str, repeats: int) -> float:
    fn()                                   # warm-up (and the kernels' compilation)
    sync(device)
    out: list[float] = []
    while len(out) < repeats and (len(out) < 3 or sum(out) < SPENT_S):
        t0 = time.perf_counter()
        fn()
        sync(device)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def run_row(methods: dict, device: str, repeats: int, skip: set[str]) -> dict[str, str]:
    ref = methods["ours torch"]()
    row = {}
    for name, fn in methods.items():
        if name in skip:
            row[name] = "skipped"
            continue
        try:
            got = fn()
            if name != "limit" and not torch.allclose(got.to(ref.dtype), ref, rtol=1e-3,
                                                      atol=1e-5 * float(ref.abs().max())):
                row[name] = "disagrees"
                continue
            del got
            sec = timed(fn, device, repeats)
            row[name] = f"{sec * 1e3:.3g}"
            if sec > CAP_S / 4:
                skip.add(name)
        except (OOM, MemoryError):
            row[name] = "out of memory"
            skip.add(name)
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
        except RuntimeError as e:         # e.g. a CPU allocation too large
            row[name] = f"failed ({str(e)[:40]})"
            skip.add(name)
    return row


@functools.cache
def hessian_of(expr: str, wrt: str, decls: tuple = ()) -> mc.Derivative:
    """Derived once, whatever the size and dtype."""
    return mc.derivative(expr, wrt, vars=dict(decls), order=2)


HEADER = ["| n | ours torch | torch.func.hessian | hand | limit | torch.func / ours |",
          "|---|---|---|---|---|---|"]


def table(title: str, methods_at, sizes: list[int], device: str, dtype,
          repeats: int, budget: float) -> list[str]:
    """One problem's table: a row per size of methods_at(n, device, dtype)."""
    lines = [f"### {title}, {dtype}\n", *HEADER]
    skip: set[str] = set()
    t0 = time.perf_counter()
    for k, n in enumerate(sizes):
        if time.perf_counter() - t0 > budget:
            lines.append(f"\n(time budget of {budget:g} s spent: n = {sizes[k:]} not run)")
            break
        lines.append(_line(n, run_row(methods_at(n, device, dtype), device, repeats, skip)))
    return lines


def problem_table(prob: Problem, device: str, dtype, quick: bool, repeats: int,
                  budget: float) -> list[str]:
    """A newer problem's table (gpu_problems.py): a row per size, every method's median
    and each reference's time over ours."""
    sizes = prob.quick if quick else prob.sizes
    skip: set[str] = set()
    t0 = time.perf_counter()
    lines: list[str] = []
    names: list[str] = []
    for k, p in enumerate(sizes):
        if time.perf_counter() - t0 > budget:
            rest = "; ".join(prob.label(q) for q in sizes[k:])
            lines.append(f"\n(time budget of {budget:g} s spent: {rest} not run)")
            break
        methods = prob.methods_at(p, device, dtype)
        names = names or list(methods)
        row = run_row(methods, device, repeats, skip)
        lines.append(f"| {prob.label(p)} | " + " | ".join(row[m] for m in names) + " | "
                     + " | ".join(_ratio(row, r, "ours torch") for r in prob.refs)
                     + f" | {_ratio(row, 'ours torch', 'limit')} |")
    head = ["size", *names, *[f"{r} / ours" for r in prob.refs], "ours / limit"]
    return [f"### {prob.title}, {dtype}\n", f"`{prob.expr}`\n",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head), *lines]


def _ratio(row: dict[str, str], a: str, b: str) -> str:
    try:
        return f"{float(row[a]) / float(row[b]):.3g}x"
    except (ValueError, ZeroDivisionError):
        return "-"


def logistic_methods(n: int, device: str, dtype) -> dict:
    d = hessian_of(LOGISTIC, "w")
    g = torch.Generator(device="cpu").manual_seed(0)
    X = torch.randn(2 * n, n, generator=g, dtype=dtype).to(device)
    w = (torch.randn(n, generator=g, dtype=dtype) / n ** 0.5).to(device)
    y = torch.sign(torch.randn(2 * n, generator=g, dtype=dtype)).to(device)
    arrays = {"X": X, "w": w, "y": y}
    fn = d.compiled("torch", {"m": 2 * n, "n": n})
    p = torch.sigmoid(-y * (X @ w))
    Z = X * torch.sqrt(p * (1 - p) * y * y)[:, None]

    def f(w):
        return torch.nn.functional.softplus(-y * (X @ w)).sum()
    return {
        "ours torch": lambda: fn(**d.keywords(arrays)),
        "torch.func.hessian": lambda: torch.func.hessian(f)(w),
        "hand": lambda: X.T @ (X * (p * (1 - p) * y * y)[:, None]),
        "limit": lambda: Z.T @ Z,
    }


def gaussian_methods(n: int, device: str, dtype) -> dict:
    d = hessian_of(GAUSS, "S", (("x", "vector(n)"), ("mu", "vector(n)"), ("S", "matrix(n,n)")))
    g = torch.Generator(device="cpu").manual_seed(1)
    A = torch.randn(n, n, generator=g, dtype=dtype)
    S = (A @ A.T / n + torch.eye(n, dtype=dtype)).to(device)
    x = torch.randn(n, generator=g, dtype=dtype).to(device)
    mu = torch.randn(n, generator=g, dtype=dtype).to(device)
    arrays = {"S": S, "x": x, "mu": mu}
    fn = d.compiled("torch", {"n": n})
    P = torch.linalg.inv(S)
    u, v = P.T @ (x - mu), P @ (x - mu)

    def f(S):
        return 0.5 * torch.logdet(S) + 0.5 * (x - mu) @ torch.linalg.solve(S, x - mu)
    return {
        "ours torch": lambda: fn(**d.keywords(arrays)),
        "torch.func.hessian": lambda: torch.func.hessian(f)(S),
        "hand": lambda: (-0.5 * torch.einsum("jk,li->ijkl", P, P)
                         + 0.5 * torch.einsum("li,j,k->ijkl", P, v, u)
                         + 0.5 * torch.einsum("jk,i,l->ijkl", P, u, v)),
        "limit": lambda: torch.einsum("ij,kl->ijkl", P, P),
    }


# issue 17: the generated torch code composes with torch's transforms on the device
PLUGIN_CASES = [("sum(log(1+exp(-y.*(X*w))))", "w", 1), ("norm2(R - U*V')^2", "U", 1),
                (LOGISTIC, "w", 2)]


def plugin_rows(device: str, dtype, quick: bool) -> list[str]:
    """Per case: our torch code, torch.func.vmap over a batch of 8 inputs, torch.compile
    (fullgraph: no graph break) and the value-and-gradient function, each checked against
    the plain call and timed.  The smoke run compiles with the eager backend (inductor takes
    seconds per case on a CPU)."""
    backend = "eager" if quick else "inductor"
    n = 8 if quick else 1024
    lines = [f"### Generated torch code under vmap / compile, {dtype} (n = {n}; "
             f"torch.compile backend {backend})\n",
             "| expression | wrt | order | ours | vmap (batch 8) | compiled | value_and_grad |",
             "|---|---|---|---|---|---|---|"]
    g = torch.Generator(device="cpu").manual_seed(2)
    for expr, wrt, order in PLUGIN_CASES:
        lines.append(_plugin_row(expr, wrt, order, device, dtype, n, backend, g))
    return lines


def _plugin_row(expr: str, wrt: str, order: int, device: str, dtype, n: int, backend: str,
                g) -> str:
    d = mc.derivative(expr, wrt, order=order)
    sizes = {v: (2 * n if k == 0 else n) for k, v in enumerate(sorted(
        {x for info in d.variables.values() for x in info.shape if isinstance(x, str)}))}
    arrays = {k: torch.randn(*[sizes[x] for x in info.shape], generator=g,
                             dtype=dtype).to(device) for k, info in d.variables.items()}
    kw = d.keywords(arrays)
    fn = d.compiled("torch", sizes)
    want = fn(**kw)
    names = list(kw)           # vmap maps positional arguments: the keywords by name
    batched = [torch.stack([kw[k]] * 8) for k in names]
    vm = torch.func.vmap(lambda *vals: fn(**dict(zip(names, vals))))
    comp = torch.compile(fn, fullgraph=True, backend=backend)
    vg = mc.value_and_grad(expr, wrt, order=order)
    vfn = vg.compiled("torch", sizes)
    ok = [torch.allclose(vm(*batched)[0], want, rtol=1e-4, atol=1e-5),
          torch.allclose(comp(**kw), want, rtol=1e-4, atol=1e-5),
          torch.allclose(vfn(**vg.keywords(arrays))[order], want, rtol=1e-4, atol=1e-5)]
    times = [timed(lambda: fn(**kw), device, 3), timed(lambda: vm(*batched), device, 3),
             timed(lambda: comp(**kw), device, 3),
             timed(lambda: vfn(**vg.keywords(arrays)), device, 3)]
    cells = [f"{t * 1e3:.3g} ms" + ("" if k == 0 or ok[k - 1] else " (DIFFERS)")
             for k, t in enumerate(times)]
    return f"| `{expr}` | {wrt} | {order} | " + " | ".join(cells) + " |"


def _line(n: int, row: dict[str, str]) -> str:
    try:
        ratio = f"{float(row['torch.func.hessian']) / float(row['ours torch']):.3g}x"
    except ValueError:
        ratio = "-"
    return (f"| {n} | {row['ours torch']} | {row['torch.func.hessian']} | {row['hand']} | "
            f"{row['limit']} | {ratio} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    ap.add_argument("--out", type=Path, default=HERE / "GPU_RESULTS.md")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: run with --device cpu for a smoke run", file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    big = [64, 128] if args.quick else [1024, 2048, 4096, 8192]
    small = [6, 10] if args.quick else [20, 40, 60, 100]
    repeats = 3 if args.quick else 10
    budget = math.inf if args.quick else BUDGET_S     # the smoke run runs every size
    # derived (and compiled once) before any clock starts: the budgets are the device's
    hessian_of(LOGISTIC, "w")
    gaussian_methods(2, "cpu", torch.float64)
    for prob in PROBLEMS:
        prob.methods_at(prob.quick[0], "cpu", torch.float64)
    t0 = time.perf_counter()
    out = ["# GPU benchmarks", "", f"`python bench/gpu.py` on **{name}** (torch "
           f"{torch.__version__}); milliseconds, medians of {repeats} synchronised calls "
           f"after a warm-up (3 where {SPENT_S:g} s was spent first); each table stops "
           f"growing past {budget:g} s.", ""]
    out += [f"Logistic Hessian: `{hessian_of(LOGISTIC, 'w')}`", ""]
    for dtype in (torch.float32, torch.float64):
        out += table("1b logistic Hessian", logistic_methods, big, args.device, dtype,
                     repeats, budget) + [""]
        out += table("4b Gaussian NLL Hessian (4-index)", gaussian_methods, small,
                     args.device, dtype, repeats, budget) + [""]
        for prob in PROBLEMS:
            out += problem_table(prob, args.device, dtype, args.quick, repeats, budget) + [""]
    out += plugin_rows(args.device, torch.float64, args.quick) + [""]
    out.append(f"Total {time.perf_counter() - t0:.0f} s.")
    args.out.write_text("\n".join(out) + "\n")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
