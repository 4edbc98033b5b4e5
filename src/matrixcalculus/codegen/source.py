"""Python source text: an expression with its binding strength, identifiers, numbers."""

from __future__ import annotations

import keyword
import re

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"np", "torch", "jax", "jnp", "da", "dask", "math", "_dtype", "_device"}
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

# precedence of Python expressions, loosest first
ADD, MUL, NEG, POW, ATOM = 1, 2, 3, 4, 5


class E:
    """An expression's source and how tightly it binds."""

    __slots__ = ("text", "level")

    def __init__(self, text: str, level: int = ATOM):
        self.text, self.level = text, level

    def at(self, level: int) -> str:
        return self.text if self.level >= level else f"({self.text})"


def safe_name(name: str, taken: set[str]) -> str:
    """A Python identifier for a user's name: keywords and clashes get a trailing _."""
    if not IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    out = name
    while keyword.iskeyword(out) or out in _RESERVED or out in taken:
        out += "_"
    return out


def num(v: float) -> str:
    r = repr(float(v))
    if r in ("inf", "-inf", "nan"):
        return f"float('{r}')"
    return r[:-2] if r.endswith(".0") else r
