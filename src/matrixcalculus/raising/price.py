"""What a raised form costs to compute, beyond its length: transposes and array work,
counted once per shared subtree."""

from __future__ import annotations

from .. import ast
from ..limits import check_deadline
from .pieces import SCALAR


class Tally:
    """(transposes, array work) of an AST: 3 per sum and 1 per product of arrays, so that
    among equally short forms the one that computes less wins.  Counted once per shared
    subtree (the raiser's forms share their parts: a walk of the tree would be quadratic)."""

    def __init__(self, shape):
        self.shape = shape
        self.tallies: dict[int, tuple[ast.Node, tuple[int, int]]] = {}

    def __call__(self, a: ast.Node) -> tuple[int, int]:
        hit = self.tallies.get(id(a))
        if hit is not None and hit[0] is a:
            return hit[1]
        stack = [(a, False)]
        while stack:
            x, ready = stack.pop()
            got = self.tallies.get(id(x))
            if got is not None and got[0] is x:
                continue
            kids = ast.children(x)
            if not ready:
                check_deadline()
                stack.append((x, True))
                stack.extend((k, False) for k in kids)
                continue
            t = int(isinstance(x, ast.Transpose))
            w = 0
            if isinstance(x, ast.Binary) and self.shape(x) != SCALAR:
                w = 3 if x.op in "+-" else (1 if x.op == "*" else 0)
            for k in kids:
                kt, kw = self.tallies[id(k)][1]
                t, w = t + kt, w + kw
            self.tallies[id(x)] = (x, (t, w))
        return self.tallies[id(a)][1]
