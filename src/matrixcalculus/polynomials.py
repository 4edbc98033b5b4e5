"""Polynomials in the value of a saturating function, kept numerically sound.

`tanh`, `sigmoid`, `erf` and `normcdf` tend to limits (their rows' `saturates`: tanh to
-1 and 1), and the derivatives of powers of them are polynomials in their values that
vanish there.  Expanded, such a polynomial is a difference of terms of size one
(`s - s.^2` at s = 1, `12*t.^5 + 6*t - 18*t.^3` at t = 1: all digits lost); factored
as the chain rule makes it, by the function's own derivative (`s.*(1 - s)`, `1 - t.^2`)
and a factor that does not vanish there (`1 - 2*t.^2`), it is accurate.

- `factored(n)`: the normal form of an entrywise polynomial in one saturating value y:
  c * y.^k * (one factor per limit it vanishes at: `1 - s`, `1 - t.^2` for both of
  tanh's) * the rest, expanded (like terms collected) with its numbers' common factor in c
  (`6*t.*(1 - t.^2).*(1 - 2*t.^2)`).  A univariate polynomial: exact enough in floats (its
  coefficients are small integers), no library needed.
- `Cancellation`: counts the sums of a candidate that cancel, for simplify's price.
"""

from __future__ import annotations

import math

from .ir import build as B
from .ir.nodes import Node

_NOT = False          # not an entrywise polynomial in (at most) one saturating value
_NUMBER = None        # an entrywise polynomial of no variable: a number, spread or not
_MAX_DEGREE = 16

Poly = dict[int, float]          # degree -> coefficient


def _saturates(n: Node) -> tuple[float, ...]:
    from .ops import ROWS  # ops/ builds on the IR; read its rows at call time
    return ROWS[n.name].saturates if n.op == "func" and n.name in ROWS else ()


def polynomial_base(n: Node, memo: dict | None = None) -> Node | bool | None:
    """The one saturating value n is a polynomial in (its leaves that value, numbers and
    deltas, no product summing over an index: read at one entry where every value is
    the same), as a Node; _NUMBER (None) for a number; _NOT (False) where n is neither."""
    memo = {} if memo is None else memo
    if n in memo:
        return memo[n]
    memo[n] = _NOT                 # (a node is never its own argument)
    if n.op in ("const", "ones", "delta"):
        found: Node | bool | None = _NUMBER
    elif _saturates(n):
        found = n
    elif n.op == "power":
        found = polynomial_base(n.args[0], memo) if n.args[1].op == "const" else _NOT
    elif n.op == "add" or (n.op == "einsum" and all(
            lab in n.out for ix in n.indices for lab in ix)):
        found = _NUMBER
        for a in n.args:
            b = polynomial_base(a, memo)
            if b is _NOT or (isinstance(b, Node) and isinstance(found, Node)
                             and b is not found):
                found = _NOT
                break
            if isinstance(b, Node):
                found = b
    else:
        found = _NOT
    memo[n] = found
    return found


# ------------------------------------------------------------------ the price's view
class Cancellation:
    """Which sums cancel where their function saturates, memoised per node (a run prices
    many candidates that share nodes).  A sum cancels when it is a polynomial in one
    saturating value, is zero at one of its limits, and is not a binomial `c - c*y.^k`,
    the irreducible factors derivatives are made of (`1 - s`, `1 - t.^2`)."""

    def __init__(self):
        self._base: dict = {}
        self._count: dict[Node, int] = {}

    def count(self, n: Node) -> int:
        """How many sums that cancel n holds (a tree count, as printed)."""
        memo = self._count
        stack = [n]
        while stack:           # children first, never below a node already counted
            m = stack[-1]
            todo = [a for a in m.args if a not in memo]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            if m not in memo:
                memo[m] = int(self.cancels(m)) + sum(memo[a] for a in m.args)
        return memo[n]

    def cancels(self, n: Node) -> bool:
        if n.op != "add":
            return False
        base = polynomial_base(n, self._base)
        if not isinstance(base, Node) or _binomial(n, base):
            return False
        for limit in _saturates(base):
            try:
                terms = [_value(t, base, limit) for t in n.args]
            except (ZeroDivisionError, OverflowError, TypeError):  # a pole there
                continue
            if abs(sum(terms)) <= 1e-9 * sum(map(abs, terms)):
                return True
        return False


def _binomial(n: Node, base: Node) -> bool:
    """c - c*y.^k (1 - s, 1 - t.^2): a number and one power of the value, no more."""
    if len(n.args) != 2:
        return False
    return sorted(_monomial(t, base) for t in n.args) == [0, 1]


def _monomial(t: Node, base: Node) -> int:
    """0: a number; 1: c*base.^k; 2: anything else."""
    factors = t.args if t.op == "einsum" else (t,)
    powers = [f for f in factors if f.op not in ("ones", "const", "delta")]
    if not powers:
        return 0
    if len(powers) == 1 and B.power_parts(powers[0])[0] is base:
        return 1
    return 2


def _value(n: Node, base: Node, y: float) -> float:
    """n at base = y (n a polynomial in base, polynomial_base's sense)."""
    if n is base:
        return y
    if n.op == "const":
        return n.value
    if n.op in ("ones", "delta"):      # (a delta: its diagonal, where the terms live)
        return 1.0
    if n.op == "power":
        v = float(_value(n.args[0], base, y)) ** n.args[1].value
        if isinstance(v, complex):
            raise TypeError("no real value")
        return v
    if n.op == "add":
        return sum(_value(a, base, y) for a in n.args)
    v = n.coef
    for a in n.args:
        v *= _value(a, base, y)
    return v


# ------------------------------------------------------------------ the normal form
def coefficients(n: Node, base: Node) -> Poly | None:
    """n as a polynomial in base, entry by entry (every product of n's shape, entrywise;
    exponents whole and not negative), or None."""
    if n is base:
        return {1: 1.0}
    if n.shape != base.shape:
        return None
    if n.op == "const":
        return {0: n.value}
    if n.op == "ones":
        return {0: 1.0}
    if n.op == "power":
        e = n.args[1]
        if e.op != "const" or not float(e.value).is_integer() or not 0 <= e.value:
            return None
        p = coefficients(n.args[0], base)
        if p is None or max(p) * e.value > _MAX_DEGREE:
            return None
        out: Poly = {0: 1.0}
        for _ in range(int(e.value)):
            out = _times(out, p)
        return out
    if n.op == "add":
        total: Poly = {}
        for a in n.args:
            p = coefficients(a, base)
            if p is None:
                return None
            for d, c in p.items():
                total[d] = total.get(d, 0.0) + c
        return total
    if n.op == "einsum" and all(ix == n.out for ix in n.indices):
        prod: Poly = {0: n.coef}
        for a in n.args:
            p = coefficients(a, base)
            if p is None:
                return None
            prod = _times(prod, p)
            if max(prod) > _MAX_DEGREE:
                return None
        return prod
    return None


def _times(p: Poly, q: Poly) -> Poly:
    out: Poly = {}
    for d1, c1 in p.items():
        for d2, c2 in q.items():
            out[d1 + d2] = out.get(d1 + d2, 0.0) + c1 * c2
    return out


def _clean(p: Poly) -> Poly:
    size = max(map(abs, p.values()), default=0.0)
    return {d: c for d, c in p.items() if abs(c) > 1e-12 * size}


def _divide(p: Poly, root: float) -> Poly | None:
    """p / (y - root) where root is a root of p (synthetic division), else None."""
    top = max(p)
    quotient: Poly = {}
    carry = 0.0
    for d in range(top, 0, -1):
        carry = p.get(d, 0.0) + carry * root
        quotient[d - 1] = carry
    rest = p.get(0, 0.0) + carry * root
    size = sum(abs(c) * abs(root) ** d for d, c in p.items()) or 1.0
    return _clean(quotient) if abs(rest) <= 1e-9 * size else None


def factored(n: Node, memo: dict | None = None) -> Node | None:
    """n in its normal form as a polynomial in one saturating value (the module's
    docstring), or None where n is no such polynomial of its value's shape."""
    parts = factored_parts(n, memo)
    if parts is None:
        return None
    coef, factors = parts
    r = tuple(range(n.rank))
    return B.einsum(factors, [r] * len(factors), r, coef)


def factored_parts(n: Node, memo: dict | None = None) -> tuple[float, list[Node]] | None:
    """factored(n) as (number, entrywise factors): a sum's own normal form is a product
    with a number, which the constructors would distribute again (c*(x + y) is
    c*x + c*y), so a product holding the sum takes the number into its own."""
    if n.op not in ("add", "einsum"):
        return None
    base = polynomial_base(n, memo)
    if not isinstance(base, Node) or n.shape != base.shape:
        return None
    p = coefficients(n, base)
    if p is None:
        return None
    p = _clean(p)
    if not p:
        return 0.0, []
    low = min(p)                               # y.^low, the monomial content
    p = {d - low: c for d, c in p.items()}
    roots: dict[float, int] = {}
    for limit in _saturates(base):
        while limit != 0 and max(p) > 0:
            q = _divide(p, limit)
            if q is None:
                break
            p, roots[limit] = q, roots.get(limit, 0) + 1
    coef, factors = 1.0, []
    if low:
        factors.append(B.power(base, B.const(float(low))))
    one, y2 = B.full(n.shape, 1.0), B.power(base, B.const(2.0))
    for limit in sorted(roots, reverse=True):
        m = roots[limit]                       # (a negative one's: less those paired)
        if limit > 0:
            # (L - y)(L + y) = L^2 - y^2: tanh's `1 - t.^2` (each one: -(y - L)(y + L))
            k = min(m, roots.get(-limit, 0))
            roots[-limit] = roots.get(-limit, 0) - k
            if k:
                factors.append(_power(B.add([B.scale(limit * limit, one), B.neg(y2)]), k))
            if m - k:                          # L - y = -(y - L)
                factors.append(_power(B.add([B.scale(limit, one), B.neg(base)]), m - k))
            coef *= (-1.0) ** m
        elif m:                                # y - L: `1 + t`
            factors.append(_power(B.add([base, B.scale(-limit, one)]), m))
    content = _content(p)
    factors.append(B.add([B.scale(c / content, B.power(base, B.const(float(d))))
                          for d, c in sorted(p.items())]))
    return coef * content, factors


def _power(x: Node, k: int) -> Node:
    return B.power(x, B.const(float(k)))


def _content(p: Poly) -> float:
    """The numbers' common factor, signed so that the lowest power's number is positive
    (`1 - 2*t.^2`); 1 unless they are whole."""
    sign = 1.0 if p[min(p)] > 0 else -1.0
    if all(float(c).is_integer() for c in p.values()):
        return sign * math.gcd(*(int(abs(c)) for c in p.values()))
    return sign


def sound(n: Node, memo: dict | None = None) -> Node | None:
    """n's polynomials in a saturating value in their normal form: n's own (a sum or a
    product that is one), else those among a product's factors, each factor's number
    taken into the product's."""
    whole = factored(n, memo)
    if whole is not None or n.op != "einsum":
        return whole
    coef, ops, idxs, changed = n.coef, [], [], False
    for a, ix in zip(n.args, n.indices):
        parts = factored_parts(a, memo) if a.op == "add" else None
        if parts is None:
            ops.append(a)
            idxs.append(ix)
            continue
        changed = True
        coef *= parts[0]
        ops.extend(parts[1])
        idxs.extend([ix] * len(parts[1]))
    return B.einsum(ops, idxs, n.out, coef) if changed else None
