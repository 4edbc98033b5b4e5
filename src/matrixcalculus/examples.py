"""The reference examples of LANGUAGE.md (the reference notes' and v2's), derived and
checked numerically.

`python -m matrixcalculus.examples` prints each answer as the CLI does, then compares it
with central finite differences at random points: of the expression's own value for a
first derivative, and of the order k-1 derivative for order k.  Exits 1 if any differs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping

import numpy as np

from .api import derivative, expression
from .cli import format_text
from .errors import MatrixCalculusError
from .references import central_differences

BLOG = {"u": "vector(n)", "v": "vector(n)", "b": "scalar", "c": "scalar", "d": "scalar",
        "y": "scalar"}
XENT = "-(y*log(sigmoid(w'*x+b)) + (1-y)*log(1-sigmoid(w'*x+b)))"


def _used(expr: str, decls: dict[str, str]) -> dict[str, str]:
    """The declarations of the names expr uses (a declared name it does not use is an
    error, LANGUAGE.md)."""
    names = set(re.findall(r"[A-Za-z_]\w*", expr))
    return {k: v for k, v in decls.items() if k in names}


# (expression, wrt, declarations, order)
EXAMPLES: list[tuple[str, str, dict[str, str], int]] = [
    ("sigmoid(u'*v + c + d + b)", "u", _used("u v c d b", BLOG), 1),
    ("-log(sigmoid(u'*v + c + d + b))", "u", _used("u v c d b", BLOG), 1),
    ("-log(1 - sigmoid(u'*v + c + d + b))", "u", _used("u v c d b", BLOG), 1),
    (XENT, "w", _used(XENT, BLOG), 1),
    (XENT, "b", _used(XENT, BLOG), 1),
    ("sum(A*X)", "X", {"A": "matrix(m,n)", "X": "matrix(n,k)"}, 1),
    ("x'*A*x", "x", {"A": "matrix(n,n)", "x": "vector(n)"}, 1),
    ("x'*A*x", "x", {"A": "matrix(n,n)", "x": "vector(n)"}, 2),
    # LANGUAGE.md's examples of v2
    ("-sum(Y.*log(softmax(X*W, 2)))", "W",
     {"X": "matrix(n,d)", "W": "matrix(d,c)", "Y": "matrix(n,c)"}, 1),
    ("sum(G.*(softmax(Q*K'/sqrt(d), 2)*V))", "V",
     {"Q": "matrix(n,d)", "K": "matrix(m,d)", "V": "matrix(m,e)", "G": "matrix(n,e)"}, 1),
    ("norm2(relu(X*W1 + b1')*W2 + b2' - T)^2", "W2",
     {"X": "matrix(n,d)", "W1": "matrix(d,h)", "b1": "vector(h)", "W2": "matrix(h,c)",
      "b2": "vector(c)", "T": "matrix(n,c)"}, 1),
    ("sum(G.*Y) where Xc = X - mean(X, 2), s = sqrt(mean(Xc.^2, 2) + 1e-5), Y = Xc./s", "X",
     {"X": "matrix(n,d)", "G": "matrix(n,d)"}, 1),
    ("a'*X^3*b", "X", {"a": "vector(n)", "X": "matrix(n,n)", "b": "vector(n)"}, 1),
    ("tr(expm(X))", "X", {"X": "matrix(n,n)"}, 1),
    ("A*X*B", "X", {"A": "matrix(m,n)", "X": "matrix(n,k)", "B": "matrix(k,p)"}, 1),
]

# small and distinct, so that a transposed answer shows (the corpus's sizes)
SIZES = {"m": 4, "n": 3, "k": 2, "p": 5, "d": 6, "c": 7, "e": 8, "h": 9}
H = 1e-6           # relative to max(1, |entry|)
RTOL = 1e-5
POINTS = 3

Function = Callable[..., np.ndarray]


def value_function(expr: str, vars: Mapping[str, str]) -> Function:
    """The expression's own value as a NumPy function of keyword arrays (no derivative code)."""
    return expression(expr, vars=vars).evaluate


def random_arrays(shapes: Mapping[str, tuple[str | int, ...]], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = dict(SIZES)
    out = {}
    for name, shape in shapes.items():
        dims = tuple(d if isinstance(d, int) else sizes.setdefault(d, 5) for d in shape)
        out[name] = rng.normal(scale=0.5, size=dims)
    return out


def verify(expr: str, wrt: str, vars: Mapping[str, str], order: int) -> float:
    """Max relative error of the order-`order` derivative against finite differences."""
    d = derivative(expr, wrt, vars=vars, order=order)
    lower_order = (derivative(expr, wrt, vars=vars, order=order - 1).evaluate if order > 1
                   else value_function(expr, vars))
    worst = 0.0
    for seed in range(POINTS):
        arrays = random_arrays({n: v.shape for n, v in d.variables.items()}, seed)
        got = d.evaluate(**arrays)
        want = central_differences(lower_order, arrays, wrt, h=H)
        if got.shape != want.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-12)
        worst = max(worst, float(np.max(np.abs(got - want), initial=0.0)) / scale)
    return worst


def main() -> int:
    failed = 0
    for expr, wrt, vars, order in EXAMPLES:
        try:
            print(format_text(derivative(expr, wrt, vars=vars, order=order)))
            err = verify(expr, wrt, vars, order)
        except MatrixCalculusError as e:
            print(f"error: {e}")
            err = float("inf")
        ok = err <= RTOL
        failed += not ok
        print(f"  {'verified' if ok else 'FAILED'}: max rel. error {err:.0e}\n")
    print(f"{len(EXAMPLES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
