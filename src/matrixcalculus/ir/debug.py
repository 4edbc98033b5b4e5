"""A plain index-notation rendering of IR, for debugging and for answers with no matrix form."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:      # nodes.py imports this module to print a node: no cycle at run time
    from .nodes import Node

_LETTERS = "ijklabcdefghmnopqrstuvwxyz"


def _lab(i: int) -> str:
    return _LETTERS[i] if i < len(_LETTERS) else f"i{i}"


def show(n: Node) -> str:
    op = n.op
    if op == "var":
        return n.name
    if op == "symbol":
        return n.name
    if op == "const":
        return repr(n.value)
    if op in ("ones", "delta", "zero"):
        return f"{op}{tuple(n.shape)}"
    if op == "einsum":
        coef, idxs, out = n.params
        parts = [f"{show(a)}[{','.join(_lab(i) for i in ix)}]" for a, ix in zip(n.args, idxs)]
        s = " ".join(parts)
        c = "" if coef == 1 else f"{coef:g}*"
        return f"({c}{s} -> [{','.join(_lab(i) for i in out)}])"
    if op == "add":
        return "(" + " + ".join(show(a) for a in n.args) + ")"
    if op in ("func", "prim"):
        return f"{n.name}({', '.join(show(a) for a in n.args)})"
    if op == "power":
        return f"({show(n.args[0])})^({show(n.args[1])})"
    return f"{op}({', '.join(show(a) for a in n.args)})"
