"""The `matrixcalculus` command line: derive, check a claim, serve the web page.

    matrixcalculus "EXPR" --wrt x [--var "A: matrix(m,n)"] [--order 2] [--check [--domain S=spd]]
    matrixcalculus check "EXPR" --wrt x --claim "CLAIM" [--var ...] [--order k] [--domain ...]
    matrixcalculus serve [--port 8000] [--host 127.0.0.1]     (the web page)
    matrixcalculus minimize "EXPR" --wrt w --data X=X.npy ...  (cli_minimize.py)

The second form checks a hand-derived claim: exit 0 when it is correct, 1 when not, 2 on
input errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from . import cli_minimize
from .api import Derivative, derivative, value_and_grad
from .claims import ClaimResult, compare, parse_claim
from .cli_args import parse_args as _parse_args
from .cli_args import parse_check_args as _parse_check_args
from .errors import DeclarationError, MatrixCalculusError
from .hvp import HessianVectorProduct
from .language.declarations import Declaration, parse_var_option
from .points import parse_domain_option, parse_domains
from .variables import shape_text, variables_line
from .verify import CheckResult, check
from .wrt import option as wrt_option

T = TypeVar("T")

def heading(d: Derivative) -> str:
    """'derivative of EXPR with respect to x   (shape: n)'."""
    return f"{d.heading()}   (shape: {shape_text(d.shape)})"


def format_text(d: Derivative, bold: bool = False) -> str:
    """The heading, then the answer indented by two spaces."""
    head = f"\033[1m{heading(d)}\033[0m" if bold else heading(d)
    tail = "".join(f"\nnote: {n}" for n in d.notes)
    extra = "".join(f"\n{label}: {t}" for label, t in d.extras())
    return (head + "\n" + textwrap.indent(d.text(multiline=True) + extra, "  ") + "\n  "
            + variables_line(d.variables) + tail)


def to_json(d: Derivative) -> dict[str, Any]:
    return {"expr": d.source, "wrt": d.wrt, "order": d.order, "text": str(d),
            "latex": d.latex(), "shape": list(d.shape), "kind": d.kind,
            "einsum": d.einsum(), "vec_form": d.vec_form(),
            "variables": {v.name: {"kind": v.kind, "shape": list(v.shape), "origin": v.origin}
                          for v in d.variables.values()},
            "notes": d.notes}


def _read_source(args: argparse.Namespace) -> str:
    if args.file is None and args.expr != "-":
        return args.expr
    if args.file in (None, "-"):
        return sys.stdin.read().strip()
    try:
        return Path(args.file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise MatrixCalculusError(f"cannot read {args.file}: {e}") from None


def _declarations(options: Sequence[str]) -> dict[str, Declaration]:
    decls: dict[str, Declaration] = {}
    for text in options:
        name, decl = parse_var_option(text)
        if name in decls:
            raise DeclarationError(f"{name} is declared twice", text, text.find(name),
                                   text.find(name) + len(name))
        decls[name] = decl
    return decls


def _domains(options: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in options:
        name, dom = parse_domain_option(text)
        if name in out and out[name] != dom:
            raise MatrixCalculusError(f"two domains for {name}: {out[name]} and {dom}")
        out[name] = dom
    return out


def _finite(x: float) -> float | None:
    return x if x == x and abs(x) != float("inf") else None


def check_json(r: CheckResult) -> dict[str, Any]:
    return {"ok": r.ok, "max_rel_error": _finite(r.max_rel_error), "method": r.method,
            "points": r.points, "message": r.message}


def _render(args: argparse.Namespace) -> tuple[str, bool]:
    """The output, and whether every --check passed."""
    source = _read_source(args)
    decls = _declarations(args.var or [])
    domains = _domains(args.domain or [])
    if args.code and args.format == "latex":
        raise MatrixCalculusError("--code prints a Python module: give it with --format text "
                                  "(the module alone) or json (its \"code\" field)")
    if args.code and args.format == "text" and len(args.wrt) > 1:
        raise MatrixCalculusError("--code prints one module, of one derivative: give one --wrt "
                                  "(--format json gives each derivative's code)")
    results = [derivative(source, wrt_option(w), vars=decls, order=args.order) for w in args.wrt]
    unknown = [k for k in domains if not any(k in d.variables for d in results)]
    if unknown:
        raise MatrixCalculusError(f"a domain is given for {', '.join(unknown)}, which is not a "
                                  "variable of the expression")
    checks = [check(d, domains={k: v for k, v in domains.items() if k in d.variables})
              if args.check else None for d in results]
    hvps = [d.hvp(args.hvp or None) if args.hvp is not None else None for d in results]
    hvp_checks = [check_hvp(h, domains, args.check) for h in hvps]
    ok = all(c is None or c.ok for c in checks + hvp_checks)
    steps = [d.steps() if args.steps else None for d in results]
    # --value-and-grad: one function returning (f, grad[, hess]), in place of the derivative's
    both = [value_and_grad(source, d.wrt, vars=decls, order=d.order) if args.code and
            args.value_and_grad else None for d in results]
    if args.code and args.format == "text":
        return _module(args.code, results[0], checks[0], steps[0], hvps[0], hvp_checks[0],
                       both[0]), ok
    code = [None if not args.code else (v or h or d).code(args.code)
            for d, h, v in zip(results, hvps, both)]
    if args.format == "json":
        rows = []
        for d, c, st, h, hc, src in zip(results, checks, steps, hvps, hvp_checks, code):
            row = to_json(d)
            if c is not None:
                row["check"] = check_json(c)
            if st is not None:
                row["steps"] = st.as_dicts()
            if h is not None:
                row["hvp"] = {"direction": h.direction, "text": str(h), "latex": h.latex(),
                              "shape": list(h.shape)}
                if hc is not None:
                    row["hvp"]["check"] = check_json(hc)
            if src is not None:
                row["code"] = src
            rows.append(json.dumps(row))
        return "\n".join(rows), ok
    if args.format == "latex":
        return "\n".join((st.latex() + "\n" if st is not None else "") + d.latex()
                         + ("" if c is None else f"\n% {c.message}")
                         + ("" if h is None else f"\n% Hessian-vector product along "
                            f"{h.direction}\n{h.latex()}")
                         + ("" if hc is None else f"\n% {hc.message}")
                         for d, c, st, h, hc in zip(results, checks, steps, hvps, hvp_checks)), ok
    bold = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return "\n\n".join(format_text(d, bold) + ("" if st is None else "\n\n" + st.text())
                         + ("" if c is None else f"\n{c.message}")
                         + ("" if h is None else "\n\n" + format_hvp(h))
                         + ("" if hc is None else f"\n{hc.message}")
                         + ("" if src is None else "\n\n" + src.rstrip())
                         for d, c, st, h, hc, src in zip(results, checks, steps, hvps,
                                                         hvp_checks, code)), ok


def _module(backend: str, d: Derivative, c: CheckResult | None, st: Any,
            h: HessianVectorProduct | None, hc: CheckResult | None, v: Any = None) -> str:
    """--code: the module alone (`> f.py` runs), the rest of the text output in its
    comment header: the steps, the check verdicts."""
    extra: list[str] = []
    if h is not None:
        extra += [f"the {d.kind_text} itself (the code never forms it):"]
        extra += ["  " + line for line in d.text(multiline=True).splitlines()]
    if st is not None:
        extra += ["steps:"] + ["  " + line for line in st.text().splitlines()]
    if c is not None:
        extra.append(f"check{' of the Hessian' if h is not None else ''}: {c.message}")
    if hc is not None:
        extra.append(f"check: {hc.message}")
    return (v or h or d).code(backend, header=tuple(extra)).rstrip()


def check_hvp(h: HessianVectorProduct | None, domains: dict[str, str],
              wanted: bool) -> CheckResult | None:
    if h is None or not wanted:
        return None
    return h.check(domains={k: v for k, v in domains.items() if k in h.hessian.variables})


def format_hvp(h: HessianVectorProduct) -> str:
    return (f"Hessian-vector product along {h.direction} (shape: {shape_text(h.shape)}; "
            f"never forms the Hessian)\n" + textwrap.indent(str(h), "  "))


def _format_array(a: Any) -> str:
    return np.array2string(np.asarray(a), precision=4, suppress_small=True,
                           max_line_width=10_000).replace("\n", "")


def format_claim(r: ClaimResult) -> str:
    """The verdict line, and for a wrong claim the inputs where it differs."""
    lines = [r.message]
    if r.counterexample:
        lines.append("counterexample:")
        lines += [f"  {name} = {_format_array(v)}" for name, v in r.counterexample.items()]
    return "\n".join(lines)


def claim_json(r: ClaimResult) -> dict[str, Any]:
    return {"correct": r.correct, "kind": r.kind, "factor": r.factor,
            "diagnosis": r.diagnosis, "message": r.message,
            "max_rel_error": _finite(r.max_rel_error), "symbolic": r.symbolic,
            "points": r.points, "answer": r.answer,
            "claim_shape": list(r.claim_shape), "answer_shape": list(r.answer_shape),
            "counterexample": None if r.counterexample is None else
            {k: np.asarray(v).tolist() for k, v in r.counterexample.items()}}


def _reported(fn: Callable[[], T], internal_status: int) -> T | int:
    """fn(), or the exit status after one error line: 2 for bad input, internal_status for
    a bug (reported in one line, never a traceback)."""
    try:
        return fn()
    except MatrixCalculusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a bug, reported in one line, never a traceback
        print(f"error: internal error ({type(e).__name__}: {e}); please report this expression",
              file=sys.stderr)
        return internal_status


def _run_check(argv: Sequence[str]) -> int:
    try:
        args = _parse_check_args(argv)
    except SystemExit as e:          # --help, usage errors
        return e.code if isinstance(e.code, int) else 2
    r = _reported(lambda: _claim_result(args), 2)
    if isinstance(r, int):
        return r
    print(json.dumps(claim_json(r)) if args.format == "json" else format_claim(r))
    return 0 if r.correct else 1


def _claim_result(args: argparse.Namespace) -> ClaimResult:
    source = sys.stdin.read().strip() if args.expr == "-" else args.expr
    decls = _declarations(args.var or [])
    domains = _domains(args.domain or [])
    d = derivative(source, wrt_option(args.wrt), vars=decls, order=args.order)
    parse_domains(domains, d.variables)
    try:
        parse_claim(d, args.claim)
    except MatrixCalculusError as e:
        text = str(e)
        raise MatrixCalculusError(text if text.startswith("the claim")
                                  else f"in the claim: {text}") from None
    return compare(d, args.claim, domains=domains, points=args.points)


def _run_serve(argv: Sequence[str]) -> int:
    """`matrixcalculus serve [--port P] [--host H]`: the web page (needs the `web` extra)."""
    p = argparse.ArgumentParser(prog="matrixcalculus serve",
                                description="Serve the web page and its JSON API.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=2, help="derivation processes (default 2)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds one derivation may run (default 10)")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    try:
        from .web.app import serve
    except ImportError as e:
        print(f"error: the web page needs FastAPI and uvicorn ({e}); "
              'pip install "matrixcalculus[web]"', file=sys.stderr)
        return 2
    serve(host=args.host, port=args.port, workers=args.workers, timeout=args.timeout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "check":
        return _run_check(argv[1:])
    if argv and argv[0] == "serve":
        return _run_serve(argv[1:])
    if argv and argv[0] == "minimize":
        return cli_minimize.run(argv[1:], _reported)
    try:
        args = _parse_args(argv)
    except SystemExit as e:          # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else 2
    rendered = _reported(lambda: _render(args), 1)
    if isinstance(rendered, int):
        return rendered
    out, ok = rendered
    try:
        print(out)
    except BrokenPipeError:          # `matrixcalculus ... | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0 if ok else 1
