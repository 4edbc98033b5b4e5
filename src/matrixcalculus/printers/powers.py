"""Answers written as a person would: repeated factors as powers, a dimension's size by name.

`X'*X'*a` prints as `X'^2*a` (a matrix power, LANGUAGE.md v2; for a scalar the same
power), and `sum(ones(n))` as `n` (a dimension used as a value is its size).  A rewrite
of the raised surface AST, before shared subexpressions are named.
"""

from __future__ import annotations

from .. import ast


def fold_powers(tree: ast.Node, dims: set[str] = frozenset(),
                square: set[str] = frozenset()) -> ast.Node:
    """The tree with runs of equal factors in `*` chains as powers, and sum(ones(n)) as n
    for the dimensions in `dims` (those a variable carries: read back, n is a dimension
    only where a declaration or ones(n) says so).  A run is folded only where its factor
    is square (a variable in `square`, its transpose, inv(...)): `x'*x*x` of a vector x
    is (x'*x)*x, not x'*x^2."""
    memo: dict[int, ast.Node] = {}
    for node in ast.postorder(tree):     # a shared subtree (the raiser shares forms): once
        kids = ast.children(node)
        new = [memo[id(k)] for k in kids]
        same = all(a is b for a, b in zip(new, kids))
        memo[id(node)] = _rewrite(node if same else ast.with_children(node, new), dims,
                                  square)
    return memo[id(tree)]


def _rewrite(node: ast.Node, dims: set[str], square: set[str]) -> ast.Node:
    if (isinstance(node, ast.Call) and node.func == "sum" and len(node.args) == 1
            and isinstance(node.args[0], ast.Call) and node.args[0].func == "ones"
            and len(node.args[0].args) == 1 and isinstance(node.args[0].args[0], ast.Name)
            and node.args[0].args[0].name in dims):
        return node.args[0].args[0]
    if isinstance(node, ast.Transpose) and _power(node.operand)[1] > 1:   # (Y^3)' = Y'^3
        base, k = _power(node.operand)
        return ast.Binary("^", ast.Transpose(base), ast.Num(float(k)))
    if not (isinstance(node, ast.Binary) and node.op == "*"):
        return node
    # bottom up, the left chain is folded already: only its last factor and the right one
    # can merge (one comparison per product: a chain of L factors costs L, not L^2)
    left, right = node.left, node.right
    chained = isinstance(left, ast.Binary) and left.op == "*"
    last = left.right if chained else left
    (b1, k1), (b2, k2) = _power(last), _power(right)
    # _square first: it is cheap, and equality of two large trees is not
    if not (_square(b2, square) and (b1 is b2 or b1 == b2)):
        return node
    merged = ast.Binary("^", b1, ast.Num(float(k1 + k2)))
    return ast.Binary("*", left.left, merged) if chained else merged


def _power(f: ast.Node) -> tuple[ast.Node, int]:
    """A factor as (base, integer exponent): `X^2` is (X, 2), anything else (f, 1)."""
    if (isinstance(f, ast.Binary) and f.op == "^" and isinstance(f.right, ast.Num)
            and f.right.value == int(f.right.value) and f.right.value > 0):
        return f.left, int(f.right.value)
    return f, 1


def _square(f: ast.Node, square: set[str]) -> bool:
    while isinstance(f, ast.Transpose):
        f = f.operand
    if isinstance(f, ast.Name):
        return f.name in square
    return isinstance(f, ast.Call) and f.func == "inv"
