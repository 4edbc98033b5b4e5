"""The surface syntax tree: what the parser builds and what answers are raised back to.

Positions (`pos`, `end`: character offsets into the source) do not take part in
equality, so a raised answer compares equal to the parse of its printed text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Node:
    pass


def _span():
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Num(Node):
    value: float
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Name(Node):
    name: str
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Spec(Node):
    """einsum's subscripts, as written between the quotes: `ij,jk->ik`."""

    text: str
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Neg(Node):
    operand: Node
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Binary(Node):
    op: str  # one of + - * / .* ./ ^ .^
    left: Node
    right: Node
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Transpose(Node):
    operand: Node
    pos: int | None = _span()
    end: int | None = _span()


@dataclass(frozen=True)
class Where(Node):
    """`body where name = expr, ...`: bindings in order, each visible after itself."""

    body: Node
    bindings: tuple[tuple[str, Node], ...]
    pos: int | None = _span()
    end: int | None = _span()


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Neg | Transpose):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Where):
        return (node.body,) + tuple(e for _, e in node.bindings)
    return ()


def own_key(node: Node) -> tuple:
    """What a node is apart from its children (a number's value, a name, a call's
    function, an operator): with its children's keys, a structural key (the printers'
    memos of shared answer trees)."""
    if isinstance(node, Num):
        return ("num", node.value)
    if isinstance(node, Name):
        return ("name", node.name)
    if isinstance(node, Spec):
        return ("spec", node.text)
    if isinstance(node, Call):
        return ("call", node.func)
    if isinstance(node, Binary):
        return ("bin", node.op)
    return (type(node).__name__,)


def postorder(root: Node, below=lambda node: True) -> list[Node]:
    """Every node under root once (by identity), children before parents; iterative, as
    answers can be deep.  `below(node)` False: its children are not visited."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        x, done = stack.pop()
        if done:
            order.append(x)
        elif id(x) not in seen:
            seen.add(id(x))
            stack.append((x, True))
            if below(x):
                stack.extend((k, False) for k in children(x))
    return order


def with_children(node: Node, kids: Sequence[Node]) -> Node:
    """The node over new children (in the order children() gives them)."""
    if isinstance(node, Call):
        return replace(node, args=tuple(kids))
    if isinstance(node, Neg | Transpose):
        return replace(node, operand=kids[0])
    if isinstance(node, Binary):
        return replace(node, left=kids[0], right=kids[1])
    if isinstance(node, Where):
        return replace(node, body=kids[0], bindings=tuple(
            (name, k) for (name, _), k in zip(node.bindings, kids[1:])))
    return node
