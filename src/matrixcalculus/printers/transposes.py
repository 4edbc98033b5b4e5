"""A sum that is the transpose of another sum in the answer, written as that one
transposed, so that the naming of shared subexpressions sees one sum:
`X'*(q.*((s*W' - X)*W)) + (W*s' - X')*s` is `X'*(q.*(R*W)) + R'*s where R = s*W' - X`.
render() keeps it only where the named answer is shorter."""

from __future__ import annotations

from .. import ast

_MOST_SUMS = 64          # past this many distinct sums, not tried (each costs a transpose)


def _tr(n: ast.Node) -> ast.Node | None:
    """n' written with the transposes pushed in (None where a form is not covered)."""
    if isinstance(n, ast.Num):
        return n
    if isinstance(n, ast.Name | ast.Call):
        return ast.Transpose(n)
    if isinstance(n, ast.Transpose):
        return n.operand
    if isinstance(n, ast.Neg):
        t = _tr(n.operand)
        return None if t is None else ast.Neg(t)
    if not isinstance(n, ast.Binary):
        return None
    if n.op in (".^", "/") and isinstance(n.right, ast.Num):
        t = _tr(n.left)
        return None if t is None else ast.Binary(n.op, t, n.right)
    if n.op not in ("+", "-", "*", ".*", "./"):
        return None
    left, right = _tr(n.left), _tr(n.right)
    if left is None or right is None:
        return None
    if n.op == "*" and not isinstance(n.left, ast.Num):       # (a*b)' = b'*a'
        return ast.Binary("*", right, left)
    return ast.Binary(n.op, left, right)


def _sums(tree: ast.Node) -> list[ast.Node]:
    found: dict[ast.Node, None] = {}
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Binary) and n.op in ("+", "-"):
            found[n] = None
        stack.extend(ast.children(n))
    return list(found)


def _transposes(n: ast.Node) -> int:
    return isinstance(n, ast.Transpose) + sum(_transposes(k) for k in ast.children(n))


def transposed_sums(tree: ast.Node) -> ast.Node | None:
    """The tree with each sum that is another sum's transpose written as that sum
    transposed (of the two, the one with fewer transposes kept), or None if none is."""
    sums = _sums(tree)
    if len(sums) < 2 or len(sums) > _MOST_SUMS:
        return None
    present = set(sums)
    swap: dict[ast.Node, ast.Node] = {}
    for s in sums:
        t = _tr(s)
        if t is None or t == s or t not in present or s in swap or t in swap:
            continue
        keep, other = (s, t) if _transposes(s) <= _transposes(t) else (t, s)
        swap[other] = ast.Transpose(keep)
    if not swap:
        return None

    def rebuilt(n: ast.Node) -> ast.Node:
        if n in swap:
            return swap[n]
        kids = ast.children(n)
        new = [rebuilt(k) for k in kids]
        return n if all(a is b for a, b in zip(new, kids)) else ast.with_children(n, new)
    return rebuilt(tree)
