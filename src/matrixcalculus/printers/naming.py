"""Name shared subexpressions once: `s.*(1 - s)*v where s = sigmoid(u'*v + b)`."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from .. import ast
from ..language.functions import ALL
from .text import token_count

_PREFERRED = {"sigmoid": "s", "softmax": "p", "tanh": "t", "exp": "e", "log": "l",
              "inv": "Y", "softplus": "g", "sqrt": "r", "norm2": "r", "logsumexp": "z"}


def _subtrees(a: ast.Node):
    stack = [a]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(ast.children(n))


def _replace_all(a: ast.Node, names: dict[ast.Node, ast.Name]) -> ast.Node:
    hit = names.get(a)
    if hit is not None:
        return hit
    if isinstance(a, ast.Call):
        return replace(a, args=tuple(_replace_all(x, names) for x in a.args))
    if isinstance(a, ast.Neg | ast.Transpose):
        return replace(a, operand=_replace_all(a.operand, names))
    if isinstance(a, ast.Binary):
        return replace(a, left=_replace_all(a.left, names), right=_replace_all(a.right, names))
    return a


def name_shared(body: ast.Node, taken: set[str]) -> ast.Node:
    """Give repeated function applications a name where that makes the answer shorter:
    one count of the tree, then the largest repeats first, each kept when it saves
    tokens (`k` uses of a t-token call cost k*t inline, k + t + 3 named)."""
    used = set(taken) | set(ALL) | {"where"}
    counts: Counter = Counter(n for n in _subtrees(body)
                              if isinstance(n, ast.Call) and n.func not in ("ones", "eye"))
    cands = sorted((n for n, c in counts.items() if c >= 2), key=lambda n: -token_count(n))
    chosen: dict[ast.Node, ast.Name] = {}
    for cand in cands:
        # uses left once the larger named expressions are each written once
        uses = counts[cand]
        for big in chosen:
            inside = sum(1 for x in _subtrees(big) if x == cand)
            uses -= inside * (counts[big] - 1)
        t = token_count(cand)
        if uses >= 2 and uses * t > uses + t + 3:
            nm = _fresh(_PREFERRED.get(cand.func, cand.func[0]), used)
            used.add(nm)
            chosen[cand] = ast.Name(nm)
    if not chosen:
        return body
    # definitions in order of size, smallest first, so each uses only earlier names
    order = sorted(chosen, key=token_count)
    bindings = []
    for k, cand in enumerate(order):
        earlier = {c: chosen[c] for c in order[:k]}
        inner = replace(cand, args=tuple(_replace_all(x, earlier) for x in cand.args))
        bindings.append((chosen[cand].name, inner))
    return ast.Where(_replace_all(body, chosen), tuple(bindings))


def _fresh(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    i = 1
    while f"{base}{i}" in used:
        i += 1
    return f"{base}{i}"
