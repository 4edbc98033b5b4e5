"""IR nodes: one small immutable class, hash-consed.

A node is (op, args, params, shape).  Equal nodes are the same object, so a
shared subexpression (`s = sigmoid(u'*v + b)`) is one node however it arose.
Read params through the named accessors (`n.coef`, `n.indices`, `n.name`, ...).

ops (`Op`) and their params:
  var       (name, symmetric[, fact])  a variable; fact: 'simplex' (declared; ir/facts.py)
  const     (value,)                 a scalar number
  symbol    (name, value)            a named number (pi): printed by name, never folded
  ones      ()                       a vector of ones, shape (n,)
  delta     ()                       the identity, shape (n, n)
  zero      ()                       zeros of any shape
  einsum    (coef, indices, out)     coef * sum over labels not in out of prod args[k][indices[k]]
  add       ()                       sum of same-shaped args
  func      (name,)                  elementwise function of args[0] (a row of ops/)
  power     ()                       args[0] .^ args[1] (exponent scalar or same shape)
  prim      (name, *own)             a matrix primitive (inv, det, logdet, softmax, logsumexp):
                                     one node kind, its behaviour from its row in ops/; own:
                                     the row's parameters (detd: the order k), most have none

The arithmetic operators on nodes (`x + y`, `1 - x`, `x * y`, `1 / x`, `x ** 2`) are
elementwise (ir/functions.py installs them), so derivative rows read like the mathematics.
"""

from __future__ import annotations

import hashlib
import weakref
from enum import StrEnum

Dim = str | int
Shape = tuple[Dim, ...]

_TABLE: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class Op(StrEnum):
    """The node kinds.  Values are plain strings, so `n.op == "einsum"` reads as before."""

    VAR = "var"
    CONST = "const"
    SYMBOL = "symbol"
    ONES = "ones"
    DELTA = "delta"
    ZERO = "zero"
    EINSUM = "einsum"
    ADD = "add"
    FUNC = "func"
    POWER = "power"
    PRIM = "prim"


_OPS = {o.value: o for o in Op}      # a constructor's op string -> its Op (a typo fails)


class Node:
    __slots__ = ("op", "args", "params", "shape", "skey", "sym", "__weakref__")

    op: Op
    args: tuple[Node, ...]
    params: tuple
    shape: Shape
    skey: str      # deterministic structural key: stable sort order across runs
    sym: bool | None   # known to equal its transpose (ir.build.is_symmetric's memo)

    def __new__(cls, op: str, args: tuple[Node, ...], params: tuple, shape: Shape) -> Node:
        key = (op, tuple(id(a) for a in args), params, shape)
        node = _TABLE.get(key)
        if node is not None:
            return node
        node = object.__new__(cls)
        node.op, node.args, node.params, node.shape = _OPS[op], args, params, shape
        node.sym = None
        h = hashlib.blake2b(digest_size=8)
        # the key of a primitive is its name's (and its own parameters', detd's k), as when
        # each primitive was an op of its own: the canonical orders that rest on keys (and
        # the answers) stay as they were
        kind, keyed = (params[0], params[1:]) if op == "prim" else (str(op), params)
        h.update(repr((kind, keyed, shape)).encode())
        h.update("".join([a.skey for a in args]).encode())
        node.skey = h.hexdigest()
        _TABLE[key] = node
        return node

    # identity semantics: hash-consing makes structural equality identity
    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    @property
    def rank(self) -> int:
        return len(self.shape)

    # --- named accessors of params
    @property
    def name(self) -> str:
        """A variable's name, or the function / primitive's name (its row in ops/)."""
        return self.params[0]

    @property
    def symmetric(self) -> bool:
        """A variable declared symmetric."""
        return bool(self.params[1])

    @property
    def fact(self) -> str:
        """A variable's declared fact the IR uses ('simplex': ir/facts.py), '' for none."""
        return self.params[2] if self.op == Op.VAR and len(self.params) > 2 else ""

    @property
    def value(self) -> float:
        return self.params[1] if self.op == Op.SYMBOL else self.params[0]

    @property
    def coef(self) -> float:
        return self.params[0]

    @property
    def indices(self) -> tuple[tuple[int, ...], ...]:
        return self.params[1]

    @property
    def out(self) -> tuple[int, ...]:
        return self.params[2]

    @property
    def own(self) -> tuple:
        """A primitive's own parameters after its name (detd: (k,)); () for most."""
        return self.params[1:]

    def is_prim(self, name: str | None = None) -> bool:
        return self.op == Op.PRIM and (name is None or self.params[0] == name)

    def __repr__(self) -> str:
        from .debug import show
        return show(self)


def walk(root: Node) -> list[Node]:
    """All nodes below root (inclusive), children before parents, each once."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for a in reversed(node.args):
            if id(a) not in seen:
                stack.append((a, False))
    return order


def variables(root: Node) -> set[str]:
    return {n.name for n in walk(root) if n.op == Op.VAR}
