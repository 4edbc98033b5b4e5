"""The leaves of the IR: variables, numbers, zeros, ones and the identity."""

from __future__ import annotations

import math

from ..errors import LimitError
from .nodes import Dim, Node, Shape


def var(name: str, shape: Shape, symmetric: bool = False, fact: str = "") -> Node:
    """A variable; fact: what its declaration states besides its shape ('simplex': sums
    along its last axis are 1, ir/facts.py), kept out of the params when there is none so
    the keys (and the canonical orders resting on them) of plain variables stay as they were."""
    return Node("var", (), (name, symmetric, fact) if fact else (name, symmetric), tuple(shape))


def _finite(value: float) -> float:
    """Numbers folded from finite ones overflow only in extreme inputs (1e308*10): say so,
    rather than print an answer holding inf that does not parse back."""
    if not math.isfinite(value):
        raise LimitError(f"a number in the derivation overflows ({value}); rescale the "
                         "constants of the expression")
    return value


def const(value: float) -> Node:
    value = _finite(float(value))
    if value == 0:
        value = 0.0  # no -0.0
    return Node("const", (), (value,), ())


def symbol(name: str, value: float) -> Node:
    """A named number (pi): it stays a factor of its own, so answers print `2*pi*x`."""
    return Node("symbol", (), (name, float(value)), ())


def zero(shape: Shape) -> Node:
    return Node("zero", (), (), tuple(shape))


def ones(dim: Dim) -> Node:
    return Node("ones", (), (), (dim,))


def delta(dim: Dim) -> Node:
    return Node("delta", (), (), (dim, dim))


def is_const(n: Node, value: float | None = None) -> bool:
    return n.op == "const" and (value is None or n.params[0] == value)
