"""Name shared subexpressions once: `s.*(1 - s)*v where s = sigmoid(u'*v + b)`."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .. import ast
from ..language.functions import ALL
from .text import to_text, token_count

_PREFERRED = {"sigmoid": "s", "softmax": "p", "tanh": "t", "exp": "e", "log": "l",
              "inv": "Y", "softplus": "g", "sqrt": "r", "norm2": "r", "logsumexp": "z"}


def _subtrees(a: ast.Node):
    stack = [a]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(ast.children(n))


def _replace(a: ast.Node, target: ast.Node, name: ast.Name) -> ast.Node:
    if a == target:
        return name
    if isinstance(a, ast.Call):
        return replace(a, args=tuple(_replace(x, target, name) for x in a.args))
    if isinstance(a, ast.Neg | ast.Transpose):
        return replace(a, operand=_replace(a.operand, target, name))
    if isinstance(a, ast.Binary):
        return replace(a, left=_replace(a.left, target, name),
                       right=_replace(a.right, target, name))
    return a


def _size(body: ast.Node, bindings: list[tuple[str, ast.Node]]) -> int:
    return token_count(to_text(ast.Where(body, tuple(bindings)) if bindings else body))


def name_shared(body: ast.Node, taken: set[str]) -> ast.Node:
    """Give repeated function applications a name where that makes the answer shorter."""
    bindings: list[tuple[str, ast.Node]] = []
    used = set(taken) | set(ALL) | {"where"}
    while True:
        counts: Counter = Counter()
        for root in [body] + [e for _, e in bindings]:
            for n in _subtrees(root):
                if isinstance(n, ast.Call) and n.func not in ("ones", "eye"):
                    counts[n] += 1
        cands = [n for n, c in counts.items() if c >= 2 and token_count(n) >= 4]
        if not cands:
            break
        cands.sort(key=lambda n: -token_count(n))
        progress = False
        for cand in cands:
            nm = _fresh(_PREFERRED.get(cand.func, cand.func[0]), used)
            name = ast.Name(nm)
            new_body = _replace(body, cand, name)
            new_bindings = [(nm, cand)] + [(v, _replace(e, cand, name)) for v, e in bindings]
            if _size(new_body, new_bindings) < _size(body, bindings):
                body, bindings = new_body, new_bindings
                used.add(nm)
                progress = True
                break
        if not progress:
            break
    return ast.Where(body, tuple(bindings)) if bindings else body


def _fresh(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    i = 1
    while f"{base}{i}" in used:
        i += 1
    return f"{base}{i}"
