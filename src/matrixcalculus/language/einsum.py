"""einsum's subscripts (NumPy's explicit mode, LANGUAGE.md "contraction"): `ij,jk->ik`.

Labels are single letters, local to the call; a label repeated in a term takes that
term's diagonal, repeated in the output it places one.  Each error points at the offending
term or label in the person's text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..errors import ParseError

EXAMPLE = 'einsum("ij,jk->ik", A, B)'


@dataclass(frozen=True)
class Term:
    labels: str          # the letters, spaces dropped
    pos: int | None      # where the term starts in the source (None without a source)
    offsets: tuple[int, ...] = ()   # each label's position in the source

    def label_span(self, i: int) -> tuple[int | None, int | None]:
        if not self.offsets:
            return self.pos, self.pos
        return self.offsets[i], self.offsets[i] + 1

    @property
    def span(self) -> tuple[int | None, int | None]:
        if not self.offsets:
            return self.pos, self.pos
        return self.offsets[0], self.offsets[-1] + 1


@dataclass(frozen=True)
class Subscripts:
    inputs: tuple[Term, ...]
    output: Term


def _term(text: str, start: int | None, src: str) -> Term:
    labels, offsets = [], []
    for i, ch in enumerate(text):
        if ch in " \t":
            continue
        at = None if start is None else start + i
        if not ("a" <= ch <= "z" or "A" <= ch <= "Z"):
            raise ParseError(f"einsum's labels are letters, not {ch!r} (as in {EXAMPLE})",
                             src, at, None if at is None else at + 1)
        labels.append(ch)
        offsets.append(at)
    lead = len(text) - len(text.lstrip(" \t"))
    pos = None if start is None else start + lead
    return Term("".join(labels), pos, tuple(offsets) if start is not None else ())


def parse_subscripts(spec: ast.Spec, src: str) -> Subscripts:
    """The terms of `ij,jk->ik`, each with its source positions; ParseError for a missing
    or doubled '->', a non-letter label, an output label no input has."""
    text, base = spec.text, spec.pos
    if "->" not in text:
        s, e = spec.pos, spec.end
        if s is not None and s == e:        # "": the caret under the quotes
            s, e = s - 1, e + 1
        raise ParseError(f"einsum's subscripts need '->' and the output's labels, as in "
                         f"{EXAMPLE} (NumPy's explicit mode): {text!r} has none", src, s, e)
    arrow = text.index("->")
    if "->" in text[arrow + 2:]:
        at = None if base is None else base + text.index("->", arrow + 2)
        raise ParseError("einsum's subscripts have one '->'", src, at,
                         None if at is None else at + 2)
    terms, offset = [], 0
    for piece in text[:arrow].split(","):
        terms.append(_term(piece, None if base is None else base + offset, src))
        offset += len(piece) + 1
    out = _term(text[arrow + 2:], None if base is None else base + arrow + 2, src)
    have = set("".join(t.labels for t in terms))
    for i, ch in enumerate(out.labels):
        if ch not in have:
            s, e = out.label_span(i)
            raise ParseError(f"einsum's output label {ch!r} is in no input term", src, s, e)
    return Subscripts(tuple(terms), out)
