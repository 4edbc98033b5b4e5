"""The subscripted factors of an index form and their where-names.

A call subscripted is named (`Y[i,k] ... where Y = inv(S)`), never written `(inv(S))[i,k]`;
a product keeps its parentheses (`(V'*V)[j,l]`), with the named calls inside it by name."""

from __future__ import annotations

import re

from .. import ast
from ..ops import ALL, rows
from ..raising.pieces import MATRIX
from .latex import to_latex
from .naming import fresh_name as _fresh
from .powers import fold_powers
from .text import to_text, token_count

_PREFERRED = {r.name: r.letter for r in rows() if r.letter}
_MARK = re.compile("([\x00\x01])(\\d+)[\x00\x01]")


class Factors:
    """Factors are written as marks while the index form is built, and resolved once all
    are known (a name chosen for a call applies inside every other factor too)."""

    def __init__(self) -> None:
        self.asts: list[ast.Node] = []
        self._index: dict[ast.Node, int] = {}
        self.subscripted: set[ast.Node] = set()

    def sub(self, a: ast.Node, labs: tuple[str, ...]) -> tuple[str, str]:
        """a[labs] (a alone when labs is empty), as marks for text and LaTeX."""
        k = self._index.get(a)
        if k is None:
            k = self._index[a] = len(self.asts)
            self.asts.append(a)
        if not labs:
            return f"\x00{k}\x00", f"\x01{k}\x01"
        self.subscripted.add(a)
        return f"\x00{k}\x00[{','.join(labs)}]", f"\x01{k}\x01_{{{''.join(labs)}}}"

    def resolve(self, text: str, tex: str, taken: set[str], raiser,
                dims: set[str] = frozenset()) -> tuple[str, str, list[tuple[ast.Node, str]]]:
        """The marks replaced by the factors' texts (calls named); `dims`: the sizes that
        print by name (sum(ones(d)) as d, printers/powers.py)."""
        used = set(taken) | set(ALL) | {"where", "D"}
        names: dict[ast.Node, str] = {}
        for a in self.asts:
            if a in self.subscripted and isinstance(a, ast.Call) \
                    and a.func not in ("eye", "ones"):
                base = _PREFERRED.get(a.func, a.func[0])
                base = base.upper() if raiser.shape(a) == MATRIX else base.lower()
                names[a] = _fresh(base, used)
                used.add(names[a])
        shown = [fold_powers(_replace(a, names), dims) for a in self.asts]

        def put(m: re.Match) -> str:
            a = shown[int(m.group(2))]
            if m.group(1) == "\x00":
                s = to_text(a)
                return s if s.replace("_", "").isalnum() else f"({s})"
            x = to_latex(a)
            return x if isinstance(a, ast.Name) or not _subscripted(m) else rf"\left({x}\right)"

        text, tex = _MARK.sub(put, text), _MARK.sub(put, tex)
        defs = sorted(((nm, fold_powers(_replace(a, names, top=False), dims))
                       for a, nm in names.items()),
                      key=lambda d: token_count(d[1]))
        if defs:
            text += " where " + ", ".join(f"{nm} = {to_text(e)}" for nm, e in defs)
            tex += r" \quad \text{where } " + ",\\; ".join(f"{nm} = {to_latex(e)}"
                                                           for nm, e in defs)
        return text, tex, [(a, nm) for a, nm in names.items()]


def _subscripted(m: re.Match) -> bool:
    s, end = m.string, m.end()
    return end < len(s) and s[end] in "[_"


def _replace(a: ast.Node, names: dict[ast.Node, str], top: bool = True) -> ast.Node:
    if top and a in names:
        return ast.Name(names[a])
    kids = ast.children(a)
    if not kids:
        return a
    return ast.with_children(a, [_replace(k, names) for k in kids])
