"""Surface AST -> text in the input language, with the fewest parentheses that keep
its meaning (so every printed answer parses back to the same values)."""

from __future__ import annotations

import re

from .. import ast
from .numbers import is_fraction, number

# binding levels, loosest first (grammar.lark)
SUM, PRODUCT, UNARY, POWER, EPOWER, POSTFIX, ATOM = range(1, 8)
_LEVEL = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, ".*": PRODUCT, "./": PRODUCT,
          "^": POWER, ".^": EPOWER}
_TOKEN = re.compile(r"\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+|[A-Za-z_]\w*|\.[*/^]|\S")


def level(n: ast.Node) -> int:
    if isinstance(n, ast.Binary):
        return _LEVEL[n.op]
    if isinstance(n, ast.Neg):
        return UNARY
    if isinstance(n, ast.Transpose):
        return POSTFIX
    if isinstance(n, ast.Num) and n.value < 0:
        return UNARY
    if is_fraction(n):                 # 2/3
        return PRODUCT
    return ATOM


def to_text(n: ast.Node, multiline: bool = False) -> str:
    """One line, or (multiline) the `where` definitions on lines of their own."""
    if isinstance(n, ast.Where):
        body = to_text(n.body)
        defs = [f"{name} = {to_text(e)}" for name, e in n.bindings]
        if multiline:      # commas end all but the last line, so that it parses back
            return body + ",".join(f"\n{'where' if k == 0 else '     '} {d}"
                                   for k, d in enumerate(defs))
        return f"{body} where {', '.join(defs)}"
    return _text(n)


def _wrap(n: ast.Node, at_least: int) -> str:
    s = _text(n)
    return f"({s})" if level(n) < at_least else s


def _text(n: ast.Node) -> str:
    if isinstance(n, ast.Num):
        return number(n.value)
    if isinstance(n, ast.Spec):
        return f'"{n.text}"'
    if isinstance(n, ast.Name):
        return n.name
    if isinstance(n, ast.Call):
        return f"{n.func}({', '.join(_text(a) for a in n.args)})"
    if isinstance(n, ast.Transpose):
        return _wrap(n.operand, POSTFIX) + "'"
    if isinstance(n, ast.Neg):
        # -(a*b) and (-a)*b are equal for every product here, so no parentheses for products
        return "-" + _wrap(n.operand, PRODUCT)
    if isinstance(n, ast.Binary):
        op = n.op
        lv = _LEVEL[op]
        if op in ("+", "-"):
            return f"{_wrap(n.left, SUM)} {op} {_wrap(n.right, PRODUCT)}"
        if lv == PRODUCT:
            return f"{_wrap(n.left, PRODUCT)}{op}{_wrap(n.right, POWER)}"
        if op == "^":
            right = n.right
            r = _text(right) if isinstance(right, ast.Neg) and level(right.operand) >= POWER \
                else _wrap(right, POWER)
            return f"{_wrap(n.left, EPOWER)}^{r}"
        # .^
        right = n.right
        r = _text(right) if isinstance(right, ast.Neg) and level(right.operand) >= EPOWER \
            else _wrap(right, EPOWER)
        return f"{_wrap(n.left, POSTFIX)}.^{r}"
    raise TypeError(f"cannot print {type(n).__name__}")


def tokens(text: str) -> list[str]:
    """Tokens of printed text: the yardstick for how short an answer is."""
    return _TOKEN.findall(text)


def token_count(n: ast.Node | str) -> int:
    return len(tokens(n if isinstance(n, str) else to_text(n)))


class ByIdentity:
    """fn(node), remembered per AST node object: ASTs compare by value, and equal subtrees
    at different places may differ in what is cached about them (the node is kept so that
    its id is not reused)."""

    def __init__(self, fn):
        self.fn = fn
        self.memo: dict[int, tuple[ast.Node, object]] = {}

    def __call__(self, n: ast.Node):
        hit = self.memo.get(id(n))
        if hit is not None and hit[0] is n:
            return hit[1]
        out = self.fn(n)
        self.memo[id(n)] = (n, out)
        return out


class Texts:
    """Printed text of ASTs, remembered per node (as Measure): the raiser breaks ties
    between candidate forms that share large subtrees by their text."""

    def __init__(self):
        self._cached = ByIdentity(self._text)

    def __call__(self, n: ast.Node) -> str:
        return self._cached(n)

    def _wrap(self, n: ast.Node, at_least: int) -> str:
        s = self(n)
        return f"({s})" if level(n) < at_least else s

    def _text(self, n: ast.Node) -> str:       # _text, its parts remembered
        if isinstance(n, ast.Call):
            return f"{n.func}({', '.join(self(a) for a in n.args)})"
        if isinstance(n, ast.Transpose):
            return self._wrap(n.operand, POSTFIX) + "'"
        if isinstance(n, ast.Neg):
            return "-" + self._wrap(n.operand, PRODUCT)
        if isinstance(n, ast.Binary):
            op = n.op
            if op in ("+", "-"):
                return f"{self._wrap(n.left, SUM)} {op} {self._wrap(n.right, PRODUCT)}"
            if _LEVEL[op] == PRODUCT:
                return f"{self._wrap(n.left, PRODUCT)}{op}{self._wrap(n.right, POWER)}"
            at = POWER if op == "^" else EPOWER
            right = n.right
            r = self(right) if isinstance(right, ast.Neg) and level(right.operand) >= at \
                else self._wrap(right, at)
            return f"{self._wrap(n.left, EPOWER if op == '^' else POSTFIX)}{op}{r}"
        return _text(n)


class Measure:
    """(tokens, characters) of printed ASTs without printing them, remembered per node:
    the raiser prices many candidate forms that share large subtrees."""

    def __init__(self):
        self._cached = ByIdentity(self._measure)

    def __call__(self, n: ast.Node) -> tuple[int, int]:
        return self._cached(n)

    def _wrapped(self, n: ast.Node, at_least: int) -> tuple[int, int]:
        t, c = self(n)
        return (t + 2, c + 2) if level(n) < at_least else (t, c)

    def product(self, op: str, a: ast.Node, b: ast.Node) -> tuple[int, int]:
        """The measure of Binary(op, a, b) for a product's op (*, /, .*, ./), without
        building it (the raiser prices many products it does not keep)."""
        (lt, lc), (rt, rc) = self._wrapped(a, PRODUCT), self._wrapped(b, POWER)
        return lt + rt + 1, lc + rc + len(op)

    def _measure(self, n: ast.Node) -> tuple[int, int]:
        if isinstance(n, ast.Num):
            s = number(n.value)
            return len(tokens(s)), len(s)
        if isinstance(n, ast.Name):
            return 1, len(n.name)
        if isinstance(n, ast.Spec):
            return len(tokens(_text(n))), len(n.text) + 2
        if isinstance(n, ast.Call):
            parts = [self(a) for a in n.args]
            k = len(parts)
            return (3 + (k - 1) + sum(p[0] for p in parts),
                    len(n.func) + 2 + 2 * (k - 1) + sum(p[1] for p in parts))
        if isinstance(n, ast.Transpose):
            t, c = self._wrapped(n.operand, POSTFIX)
            return t + 1, c + 1
        if isinstance(n, ast.Neg):
            t, c = self._wrapped(n.operand, PRODUCT)
            return t + 1, c + 1
        if isinstance(n, ast.Binary):
            op = n.op
            if op in ("+", "-"):
                (lt, lc), (rt, rc) = self._wrapped(n.left, SUM), self._wrapped(n.right, PRODUCT)
                return lt + rt + 1, lc + rc + 3
            if _LEVEL[op] == PRODUCT:
                return self.product(op, n.left, n.right)
            right = n.right
            at = POWER if op == "^" else EPOWER
            if isinstance(right, ast.Neg) and level(right.operand) >= at:
                rt, rc = self(right)
            else:
                rt, rc = self._wrapped(right, at)
            lt, lc = self._wrapped(n.left, EPOWER if op == "^" else POSTFIX)
            return lt + rt + 1, lc + rc + len(op)
        t = to_text(n)
        return len(tokens(t)), len(t)
