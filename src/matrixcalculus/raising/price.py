"""What a raised form costs to compute, beyond its length: transposes and array work,
counted once per shared subtree."""

from __future__ import annotations

from .. import ast
from ..limits import check_deadline
from .pieces import COLUMN, MATRIX, ROW, SCALAR


class Tally:
    """(transposes, array work, matrices made) of an AST: 3 per sum and 1 per product of
    arrays, so that among equally short forms the one that computes less wins; and the
    products of two matrices and diagonal matrices of vectors (diag(v)), which a
    Hessian-vector product's form never makes (`X'*(v.*(X*dw))`, not `X'*diag(v)*X*dw`).
    Counted once per shared subtree (the raiser's forms share their parts: a walk of the
    tree would be quadratic)."""

    def __init__(self, shape):
        self.shape = shape
        self.tallies: dict[int, tuple[ast.Node, tuple[int, int, int]]] = {}

    def __call__(self, a: ast.Node) -> tuple[int, int, int]:
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
            w = m = 0
            if isinstance(x, ast.Binary) and self.shape(x) != SCALAR:
                w = 3 if x.op in "+-" else (1 if x.op == "*" else 0)
                m = int(x.op == "*" and self.shape(x.left) == self.shape(x.right) == MATRIX)
            elif isinstance(x, ast.Call) and x.func == "diag" and len(x.args) == 1:
                m = int(self.shape(x.args[0]) in (COLUMN, ROW))
            for k in kids:
                kt, kw, km = self.tallies[id(k)][1]
                t, w, m = t + kt, w + kw, m + km
            self.tallies[id(x)] = (x, (t, w, m))
        return self.tallies[id(a)][1]
