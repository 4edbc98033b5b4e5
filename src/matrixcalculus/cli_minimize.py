"""`matrixcalculus minimize`: a loss minimized over one variable, the data read from files.

    matrixcalculus minimize "EXPR" --wrt w --data X=X.npy --data y=y.npy --data lam=0.1
        [--data arrays.npz] [--var "X: matrix(n,p)"] [--x0 w0.npy] [--method trust-exact]
        [--tol 1e-8] [--maxiter 100] [--out w.npy] [--format text|json]

Exit status 0 when SciPy reports success, 1 when not, 2 on input errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MatrixCalculusError, guarded
from .language.declarations import parse_var_option
from .solvers import minimize

EPILOG = """\
examples:
  matrixcalculus minimize "sum(log(1 + exp(-y.*(X*w)))) + lam/2*w'*w" --wrt w \\
      --data X=X.npy --data y=y.npy --data lam=1 --method trust-exact --out w.npy
  matrixcalculus minimize "norm2(X*w - y)^2 + w'*w" --wrt w --data Xy.npz   (arrays X, y)

--data NAME=FILE.npy reads one array, FILE.npz every array in it (by its name in the
file), NAME=NUMBER a scalar.  Without --out the solution is printed.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="matrixcalculus minimize", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Minimize a scalar expression over one variable with scipy.optimize."
                    "minimize, given the derived gradient and Hessian (or its product "
                    "with a vector).")
    p.add_argument("expr", metavar="EXPR", help="the expression (a scalar loss)")
    p.add_argument("--wrt", required=True, metavar="VAR", help="the variable to minimize over")
    p.add_argument("--data", action="append", default=[], metavar="NAME=FILE",
                   help="the other variables: NAME=FILE.npy, FILE.npz or NAME=NUMBER")
    p.add_argument("--var", action="append", default=[], metavar="'NAME: TYPE'",
                   help="declare a variable (as for matrixcalculus)")
    p.add_argument("--x0", metavar="FILE", help="the start, a .npy file (default zeros)")
    p.add_argument("--method", default="L-BFGS-B",
                   help="L-BFGS-B (default), trust-exact, trust-ncg, Newton-CG, trust-krylov")
    p.add_argument("--tol", type=float, default=None, help="SciPy's tol")
    p.add_argument("--maxiter", type=int, default=None, help="at most this many iterations")
    p.add_argument("--out", metavar="FILE", help="write the solution to FILE (.npy)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p


def _load(path: str) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise MatrixCalculusError(f"cannot read {path}: {e}") from None


def read_data(options: Sequence[str]) -> dict[str, Any]:
    """--data options as arrays by name."""
    data: dict[str, Any] = {}
    for text in options:
        if "=" not in text:
            if not text.endswith(".npz"):
                raise MatrixCalculusError(f"--data {text}: give NAME=FILE.npy, NAME=NUMBER "
                                          "or FILE.npz")
            with _load(text) as z:
                data.update({k: z[k] for k in z.files})
            continue
        name, value = (s.strip() for s in text.split("=", 1))
        try:
            data[name] = float(value) if not Path(value).suffix == ".npy" else _load(value)
        except ValueError:
            raise MatrixCalculusError(f"--data {text}: {value} is neither a number nor a "
                                      ".npy file") from None
    return data


def _json_value(x: Any) -> Any:
    return np.asarray(x).tolist()


def _solve(args: argparse.Namespace) -> Any:
    decls = dict(parse_var_option(t) for t in args.var)
    x0 = None if args.x0 is None else _load(args.x0)
    options = {} if args.maxiter is None else {"maxiter": args.maxiter}
    return guarded(lambda: minimize(args.expr, args.wrt, data=read_data(args.data), x0=x0,
                                    vars=decls, method=args.method, tol=args.tol,
                                    options=options), args.expr)


def run(argv: Sequence[str], reported: Callable[[Callable[[], Any], int], Any]) -> int:
    """The subcommand; reported(fn, status) runs fn, printing an error as the CLI does."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    res = reported(lambda: _solve(args), 2)
    if isinstance(res, int):
        return res
    if args.out:
        np.save(args.out, res.x)
    if args.format == "json":
        print(json.dumps({"success": bool(res.success), "message": str(res.message),
                          "fun": float(res.fun), "nit": int(getattr(res, "nit", -1)),
                          "x": None if args.out else _json_value(res.x)}))
    else:
        print(f"{'converged' if res.success else 'NOT converged'}: {res.message}\n"
              f"  f = {float(res.fun):.10g} after {getattr(res, 'nit', '?')} iterations "
              f"({args.method})")
        if not args.out:
            print(f"  {args.wrt} = " + np.array2string(np.asarray(res.x), precision=6,
                                                       max_line_width=100))
        else:
            print(f"  {args.wrt} written to {args.out}")
    sys.stdout.flush()
    return 0 if res.success else 1
