"""The command line: `matrixcalculus "EXPR" --wrt x [--var "A: matrix(m,n)"] [--order 2]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .api import Derivative, derivative
from .errors import DeclarationError, MatrixCalculusError
from .language.declarations import Declaration, parse_var_option

EPILOG = """\
examples:
  matrixcalculus "x'*A*x" --wrt x
  matrixcalculus "x'*A*x" --wrt x --order 2
  matrixcalculus "sum(A*X)" --wrt X --var "A: matrix(m,n)" --var "X: matrix(n,k)"
  matrixcalculus "sigmoid(u'*v + c)" --wrt u --wrt v --var "c: scalar"
  matrixcalculus "-log(sigmoid(w'*x + b))" --wrt w --var "b: scalar" --format latex
  echo "tr(X'*A*X)" | matrixcalculus - --wrt X --format json

Quote expressions with double quotes: the shell treats ' (the transpose) specially.
Undeclared names get a type by spelling: A (uppercase) is a matrix, x a vector,
alpha (a Greek letter's name) a scalar; dimensions are inferred.
"""


def format_shape(shape: Sequence[str | int]) -> str:
    """`()` -> 'scalar', `('n',)` -> 'n', `('m', 'n')` -> 'm x n'."""
    return " x ".join(str(d) for d in shape) if shape else "scalar"


def heading(d: Derivative) -> str:
    """'derivative of EXPR with respect to x   (shape: n)'."""
    if d.kind == "hessian":
        what = "hessian"
    elif d.order > 1:
        what = f"order {d.order} derivative"
    else:
        what = "derivative"
    expr = " ".join(d.source.split())
    return f"{what} of {expr} with respect to {d.wrt}   (shape: {format_shape(d.shape)})"


def format_text(d: Derivative, bold: bool = False) -> str:
    """The heading, then the answer indented by two spaces."""
    head = f"\033[1m{heading(d)}\033[0m" if bold else heading(d)
    return head + "\n" + textwrap.indent(d.text(multiline=True), "  ")


def to_json(d: Derivative) -> dict[str, Any]:
    return {"expr": d.source, "wrt": d.wrt, "order": d.order, "text": str(d),
            "latex": d.latex(), "shape": list(d.shape), "kind": d.kind}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matrixcalculus", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Closed-form derivatives (gradients, Jacobians, Hessians) of matrix and "
                    "vector expressions.")
    p.add_argument("expr", nargs="?", metavar="EXPR",
                   help="the expression, or - to read it from standard input")
    p.add_argument("--wrt", action="append", required=True, metavar="VAR",
                   help="the variable to differentiate by (repeat for several)")
    p.add_argument("--var", action="append", metavar="'NAME: TYPE'",
                   help="declare a variable: scalar, vector(n), matrix(m,n), symmetric(n)")
    p.add_argument("--order", type=int, default=1, help="derivative order (2: Hessian)")
    p.add_argument("--format", choices=("text", "latex", "json"), default="text")
    p.add_argument("--file", metavar="F", help="read the expression from F (- for stdin)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # argparse takes an expression starting with '-' ("-x'*x") for an unknown option
    if args.expr is None and len(extra) == 1 and not extra[0].startswith("--"):
        args.expr, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if (args.expr is None) == (args.file is None):
        parser.error("give the expression either as EXPR or with --file (- reads stdin)")
    return args


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


def _render(args: argparse.Namespace) -> str:
    source = _read_source(args)
    decls = _declarations(args.var or [])
    results = [derivative(source, w, vars=decls, order=args.order) for w in args.wrt]
    if args.format == "json":
        return "\n".join(json.dumps(to_json(d)) for d in results)
    if args.format == "latex":
        return "\n".join(d.latex() for d in results)
    bold = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return "\n\n".join(format_text(d, bold) for d in results)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse_args(argv)
    except SystemExit as e:          # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else 2
    try:
        out = _render(args)
    except MatrixCalculusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a bug, reported in one line, never a traceback
        print(f"error: internal error ({type(e).__name__}: {e}); please report this expression",
              file=sys.stderr)
        return 1
    print(out)
    return 0
