"""Numbers as a textbook prints them: the shortest exact text.

The IR keeps float coefficients (the normal form folds them on the hot path of
derivation); the printer recovers the fraction a float stands for.  `x'*x/3` has the
coefficient 2*(1/3) = 0.6666666666666666, printed `2/3`; a decimal the person typed
stays one (`0.1`, `1e-5`: the shortest text that reads back to the same float).  Folding
two rounded factors can leave a coefficient an ulp or two from p/q (23% of k/(a*b) built
as k*(1/a)*(1/b)), so a fraction (or a short decimal: 0.1*3 is 0.30000000000000004)
within _ULPS of the float is taken for it: the text is then the exact number the input
meant, and it reads back to within rounding of the float computed.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from .. import ast

_MAX_DENOMINATOR = 1000      # fractions with a small denominator only (p/q is read as such)
_ULPS = 4                    # how far from p/q a folded coefficient may have drifted
_SHORT = 8                   # significant digits a decimal may have before p/q is sought


def _digits(text: str) -> int:
    """Significant digits of a decimal's text."""
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


def _clean(text: str) -> str:
    """1e-05 -> 1e-5, 1e+20 -> 1e20 (Python's repr pads the exponent)."""
    if "e" not in text:
        return text
    mant, exp = text.split("e")
    sign = "-" if exp.startswith("-") else ""
    return f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _ULPS * math.ulp(b)


@lru_cache(maxsize=4096)
def fraction(v: float) -> tuple[int, int] | None:
    """(p, q) with q > 1 where v is the float of p/q (within _ULPS) and p/q has no short
    decimal (q has a prime factor other than 2 and 5); else None."""
    if not math.isfinite(v) or float(v).is_integer() or _digits(repr(v)) <= _SHORT:
        return None
    f = Fraction(v).limit_denominator(_MAX_DENOMINATOR)
    p, q = f.numerator, f.denominator
    if q == 1 or not _close(v, p / q):
        return None
    r = q
    for f2 in (2, 5):
        while r % f2 == 0:
            r //= f2
    return (p, q) if r > 1 else None


@lru_cache(maxsize=4096)
def number(v: float) -> str:
    """The shortest text of a number: an integer, a fraction p/q, or a decimal."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    r = repr(v)
    if not math.isfinite(v) or _digits(r) <= _SHORT:
        return _clean(r)
    pq = fraction(v)
    if pq is not None:
        return f"{pq[0]}/{pq[1]}"
    for k in range(1, _SHORT + 1):         # 0.30000000000000004 is 0.3 folded from 0.1*3
        s = f"{v:.{k}g}"
        if _close(float(s), v):
            return _clean(s)
    return _clean(r)


def is_fraction(n: ast.Node) -> bool:
    """A number printed as p/q (it binds as a product: `x^(1/3)`, `a/(2/3)`)."""
    return isinstance(n, ast.Num) and n.value > 0 and fraction(n.value) is not None


def exact_numbers(tree: ast.Node) -> ast.Node:
    """1/q*M printed M/q (`ones(n)/6`, not `1/6*ones(n)`); rebuilt bottom up, iteratively
    (answers can be deep), only where something changes."""
    built: dict[int, ast.Node] = {}
    for x in ast.postorder(tree):         # children before parents
        kids = ast.children(x)
        new = [built.get(id(k), k) for k in kids]
        y = ast.with_children(x, new) if any(a is not b for a, b in zip(new, kids)) else x
        if isinstance(y, ast.Binary) and y.op == "*" and is_fraction(y.left):
            p, q = fraction(y.left.value)  # type: ignore[union-attr, misc]
            if p == 1:
                y = ast.Binary("/", y.right, ast.Num(float(q)))
        if y is not x:
            built[id(x)] = y
    return built.get(id(tree), tree)
