"""Rule 2's uses that decide (LANGUAGE.md "Undeclared names"): the kinds each undeclared
name's uses leave it (a transposed name is not a scalar, `inv(S)` makes S a matrix, the
divisor of `/` and the base of `c^2` are scalars, an einsum operand has its term's order),
and the names a text uses as values and as dimensions.  inference.py searches the readings
these leave."""

from __future__ import annotations

from .. import ast
from ..ops import ARITY, row
from .declarations import default_kind

ALL_KINDS = ("scalar", "vector", "matrix")


def names_and_dims(root: ast.Node) -> tuple[list[str], set[str]]:
    """Names used as values, in order of appearance, and names used as dimensions."""
    order: dict[str, int] = {}
    dims: set[str] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            order.setdefault(n.name, n.pos if n.pos is not None else len(order))
        elif isinstance(n, ast.Call) and row_typing(n.func) == "dims":
            dims |= {a.name for a in n.args if isinstance(a, ast.Name)}
            continue
        stack.extend(ast.children(n))
    return sorted(order, key=order.__getitem__), dims


def row_typing(func: str) -> str | None:
    return row(func).typing if func in ARITY else None


def _scalar_names(node: ast.Node) -> set[str]:
    """Names that must be scalars for `node` to be one, through elementwise functions and
    `+ - .* ./ .^` (the `n` of `x'*x/(n - 1)`, of `Q*K'/sqrt(d)`)."""
    if isinstance(node, ast.Name):
        return {node.name}
    if isinstance(node, ast.Neg):
        return _scalar_names(node.operand)
    if isinstance(node, ast.Call) and row_typing(node.func) == "elementwise":
        return _scalar_names(node.args[0])
    if isinstance(node, ast.Binary) and node.op in ("+", "-", ".*", "./", ".^", "/"):
        return _scalar_names(node.left) | (_scalar_names(node.right)
                                           if node.op != "/" else set())
    return set()


def use_constraints(root: ast.Node, free: set[str]) -> dict[str, set[str]]:
    """The kinds each undeclared name's uses leave it (rule 2's uses that decide)."""
    allowed: dict[str, set[str]] = {}

    def narrow(name: str, kinds: set[str]) -> None:
        if name in free:
            allowed[name] = allowed.get(name, set(ALL_KINDS)) & kinds

    stack = [root]
    while stack:
        n = stack.pop()
        stack.extend(ast.children(n))
        if isinstance(n, ast.Transpose) and isinstance(n.operand, ast.Name):
            narrow(n.operand.name, {"vector", "matrix"})
        elif isinstance(n, ast.Call) and len(n.args) == 2 and n.func in ARITY \
                and row(n.func).along is not None and isinstance(n.args[0], ast.Name):
            narrow(n.args[0].name, {"vector", "matrix"})     # sum(X, 2): X has an axis 2
        elif isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Spec):
            _einsum_orders(n, allowed, free)     # an operand has its term's order
        elif isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Name):
            t = row_typing(n.func)
            if t in ("square", "square->scalar"):
                narrow(n.args[0].name, {"matrix"})
            elif t == "diag":
                narrow(n.args[0].name, {"vector", "matrix"})
            elif t == "vector":             # softmax(theta): theta is a vector
                narrow(n.args[0].name, {"vector"})
        elif isinstance(n, ast.Binary) and n.op == "/":
            for name in _scalar_names(n.right):
                narrow(name, {"scalar"})
        elif isinstance(n, ast.Binary) and n.op == "^":
            if isinstance(n.left, ast.Name) and default_kind(n.left.name) != "matrix":
                narrow(n.left.name, {"scalar"})
            for name in _scalar_names(n.right):
                narrow(name, {"scalar"})
    return allowed


def _einsum_orders(n: ast.Call, allowed: dict[str, set[str]], free: set[str]) -> None:
    """einsum("ijk,k->ij", T, x): T is of order 3 ("tensor3"), x a vector."""
    terms = n.args[0].text.split("->")[0].split(",")
    for term, arg in zip(terms, n.args[1:]):
        if not isinstance(arg, ast.Name) or arg.name not in free:
            continue
        k = len(term.replace(" ", "").replace("\t", ""))
        kind = ALL_KINDS[k] if k <= 2 else f"tensor{k}"
        allowed[arg.name] = allowed.get(arg.name, set(ALL_KINDS) | {kind}) & {kind}


def base_kind(name: str, allowed: set[str] | None) -> str:
    """The spelling's kind if the uses allow it, else the first they allow, in rule 2's
    order (a lowercase name a vector, then a matrix; an uppercase one a matrix)."""
    spelled = default_kind(name)
    if allowed is None or spelled in allowed:
        return spelled
    order = ("matrix", "vector", "scalar") if name[0].isupper() else ALL_KINDS[1:] + ("scalar",)
    return next((k for k in order if k in allowed), next(iter(sorted(allowed)), spelled))
