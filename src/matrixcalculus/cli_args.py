"""The command line's arguments: the options of `matrixcalculus` and of `matrixcalculus
check`, parsed and checked against each other (cli.py runs them)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import __version__

EPILOG = """\
examples:
  matrixcalculus "x'*A*x" --wrt x
  matrixcalculus "x'*A*x" --wrt x --order 2
  matrixcalculus "x'*A*y" --wrt x,y                (mixed: wrt x, then wrt y)
  matrixcalculus "sum(A*X)" --wrt X --var "A: matrix(m,n)" --var "X: matrix(n,k)"
  matrixcalculus "sigmoid(u'*v + c)" --wrt u --wrt v --var "c: scalar"
  matrixcalculus "-log(sigmoid(w'*x + b))" --wrt w --var "b: scalar" --format latex
  echo "tr(X'*A*X)" | matrixcalculus - --wrt X --format json
  matrixcalculus "logdet(S)" --wrt S --var "S: symmetric(n)" --check --domain S=spd
  matrixcalculus "-sum(y.*log(softmax(z)))" --wrt z --var "y: simplex(n)"   (sum(y) = 1)
  matrixcalculus check "a'*X*b" --wrt X --claim "b*a'"
  matrixcalculus serve --port 8000            (the web page, http://127.0.0.1:8000)
  matrixcalculus "norm2(X*w - y)^2" --wrt w --code numpy --value-and-grad   (f, grad)
  matrixcalculus minimize "norm2(X*w - y)^2 + w'*w" --wrt w --data X=X.npy --data y=y.npy

Quote expressions with double quotes: the shell treats ' (the transpose) specially.
Undeclared names get a type by spelling: A (uppercase) is a matrix, x a vector,
alpha (a Greek letter's name) a scalar; dimensions are inferred.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matrixcalculus", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Closed-form derivatives (gradients, Jacobians, Hessians) of matrix and "
                    "vector expressions.")
    p.add_argument("expr", nargs="?", metavar="EXPR",
                   help="the expression, or - to read it from standard input")
    p.add_argument("--wrt", action="append", required=True, metavar="VAR",
                   help="the variable to differentiate by (repeat for several; U,V: mixed)")
    p.add_argument("--var", action="append", metavar="'NAME: TYPE'",
                   help="declare a variable: scalar, vector(n), matrix(m,n), symmetric(n), "
                        "spd(n), simplex(n) (a probability vector), simplex(n,c) (rows)")
    p.add_argument("--order", type=int, default=None, help="derivative order (2: Hessian)")
    p.add_argument("--format", choices=("text", "latex", "json"), default="text")
    p.add_argument("--file", metavar="F", help="read the expression from F (- for stdin)")
    p.add_argument("--check", action="store_true",
                   help="verify the answer numerically (finite differences, torch autograd) "
                        "at random points")
    p.add_argument("--code", choices=("numpy", "torch", "jax"),
                   help="print a standalone Python module computing the derivative, alone "
                        "(`> f.py` runs; the answer and any --check are in its comment "
                        "header)")
    p.add_argument("--value-and-grad", action="store_true",
                   help="with --code: one function returning the value and the gradient (and "
                        "the Hessian with --order 2), their shared parts computed once")
    p.add_argument("--hvp", nargs="?", const="", default=None, metavar="DIRECTION",
                   help="also the Hessian-vector product along DIRECTION (default d<wrt>), "
                        "which never forms the Hessian; implies --order 2, and --code gives "
                        "its code instead of the dense Hessian's")
    p.add_argument("--steps", action="store_true",
                   help="also print the chain-rule derivation, step by step")
    p.add_argument("--domain", action="append", metavar="NAME=DOMAIN",
                   help="with --check: draw NAME from positive, prob, binary, spd, "
                        "invertible, unit, prob-rows or onehot-rows (repeat for several)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


CHECK_EPILOG = """\
examples:
  matrixcalculus check "x'*A*x" --wrt x --claim "A*x + A'*x"
  matrixcalculus check "a'*X*b" --wrt X --claim "b*a'"
  matrixcalculus check "sigmoid(u'*v + c)" --wrt u --claim "s*(1-s)*v where s = sigmoid(u'*v+c)"
  matrixcalculus check "logdet(S)" --wrt S --var "S: symmetric(n)" --domain S=spd --claim "inv(S)"

Exit status: 0 when the claim is correct, 1 when it is not, 2 on input errors.
"""


def _check_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matrixcalculus check", epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check a hand-derived derivative (a claim) against the derivative of an "
                    "expression: symbolically and at random points, with a diagnosis (layout "
                    "transposed, off by a constant factor, wrong shape, wrong).")
    p.add_argument("expr", nargs="?", metavar="EXPR",
                   help="the expression, or - to read it from standard input")
    p.add_argument("--wrt", required=True, metavar="VAR",
                   help="the variable to differentiate by (U,V: the mixed derivative)")
    p.add_argument("--claim", required=True, metavar="CLAIM",
                   help="the derivative you expect, in the same language (may use where)")
    p.add_argument("--var", action="append", metavar="'NAME: TYPE'",
                   help="declare a variable: scalar, vector(n), matrix(m,n), symmetric(n), "
                        "spd(n), simplex(n) (a probability vector), simplex(n,c) (rows)")
    p.add_argument("--order", type=int, default=None, help="derivative order (2: Hessian)")
    p.add_argument("--domain", action="append", metavar="NAME=DOMAIN",
                   help="draw NAME from positive, prob, binary, spd, invertible, unit, "
                   "prob-rows or onehot-rows")
    p.add_argument("--points", type=int, default=5, help="random points to compare at")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # argparse takes an expression starting with '-' ("-x'*x") for an unknown option
    if args.expr is None and len(extra) == 1 and not extra[0].startswith("--"):
        args.expr, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if (args.expr is None) == (args.file is None):
        parser.error("give the expression either as EXPR or with --file (- reads stdin)")
    if args.domain and not args.check:
        parser.error("--domain is used with --check")
    if args.value_and_grad and (not args.code or args.hvp is not None
                                or any("," in w for w in args.wrt)):
        parser.error("--value-and-grad is used with --code, one variable per --wrt, no --hvp")
    if args.hvp is not None:
        if args.order not in (None, 1, 2):
            parser.error("--hvp is the product with the Hessian: --order 2")
        args.order = 2
    return args


def parse_check_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = _check_parser()
    # a claim may start with '-' ("-2*x"), which argparse would take for an option
    joined: list[str] = []
    rest = list(argv)
    while rest:
        a = rest.pop(0)
        if a == "--claim" and rest and rest[0].startswith("-") and rest[0] != "--help":
            a = f"--claim={rest.pop(0)}"
        joined.append(a)
    args, extra = parser.parse_known_args(joined)
    if args.expr is None and len(extra) == 1 and not extra[0].startswith("--"):
        args.expr, extra = extra[0], []
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.expr is None:
        parser.error("give the expression as EXPR (- reads stdin)")
    return args
