"""Source text for messages and name lookups over the surface AST (used by the typechecker)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from .. import ast


def is_literal(node: ast.Node) -> bool:
    """True for numbers and arithmetic on numbers only."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name | ast.Call):
            return False
        stack.extend(ast.children(n))
    return True


def literal_int(node: ast.Node) -> int | None:
    """The integer a literal `3` or `-2` (up to parentheses) writes, else None."""
    sign = 1
    while isinstance(node, ast.Neg):
        sign, node = -sign, node.operand
    if isinstance(node, ast.Num) and node.value == int(node.value):
        return sign * int(node.value)
    return None


def binding_name_pos(src: str, root: ast.Where, i: int) -> int | None:
    """The offset of the i-th where-binding's name (the AST keeps only the expression's)."""
    try:
        from .parser import binding_positions_list
        return binding_positions_list(src)[i]
    except Exception:  # noqa: BLE001 - only for the caret; fall back to the expression
        return None


def short(text: str, width: int = 40) -> str:
    """Source text for a message: one line, outer parentheses dropped, long middles elided."""
    text = " ".join(text.split())
    while text.startswith("(") and _closes_at_end(text):
        text = text[1:-1].strip()
    if len(text) > width:
        half = (width - 3) // 2
        text = text[:half].rstrip() + "..." + text[-half:].lstrip()
    return text


def _closes_at_end(text: str) -> bool:
    """True when the '(' at text[0] is closed by the ')' at text[-1]."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def names_in(root: ast.Node) -> set[str]:
    """Every name written in the expression, where-names included."""
    out: set[str] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            out.add(n.name)
        elif isinstance(n, ast.Call):
            out.add(n.func)
        elif isinstance(n, ast.Where):
            out |= {name for name, _ in n.bindings}
        stack.extend(ast.children(n))
    return out


def first_name(root: ast.Node, name: str) -> ast.Name | None:
    """The leftmost use of a name as a value (not as a dimension argument)."""
    found: list[ast.Name] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and n.name == name and n.pos is not None:
            found.append(n)
        if isinstance(n, ast.Call) and n.func in ("ones", "eye"):
            continue
        stack.extend(ast.children(n))
    return min(found, key=lambda n: n.pos) if found else None


def power_nodes(root: ast.Node, name: str | None = None) -> Iterator[ast.Binary]:
    """The `name^k` nodes (any name where name is None)."""
    stack = [root]
    while stack:
        n = stack.pop()
        stack.extend(ast.children(n))
        if isinstance(n, ast.Binary) and n.op == "^" and isinstance(n.left, ast.Name) \
                and (name is None or n.left.name == name):
            yield n


def elementwise_power(node: ast.Node, name: str) -> ast.Node:
    """node with each `name^k` written `name.^k`."""
    if isinstance(node, ast.Binary):
        op = ".^" if node.op == "^" and isinstance(node.left, ast.Name) \
            and node.left.name == name else node.op
        return replace(node, op=op, left=elementwise_power(node.left, name),
                       right=elementwise_power(node.right, name))
    if isinstance(node, ast.Neg | ast.Transpose):
        return replace(node, operand=elementwise_power(node.operand, name))
    if isinstance(node, ast.Call):
        return replace(node, args=tuple(elementwise_power(a, name) for a in node.args))
    if isinstance(node, ast.Where):
        return replace(node, body=elementwise_power(node.body, name),
                       bindings=tuple((n, elementwise_power(e, name))
                                      for n, e in node.bindings))
    return node
