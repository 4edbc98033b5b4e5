"""Symbolic dimensions with unification (union-find).

A dimension is a declared symbol (`n`, rigid: two different declared symbols
never unify), an integer, or a free dimension of an undeclared variable
(unifies with anything).  A free dimension becomes 1 only where that is
asked for explicitly, so that a vector is not silently turned into a scalar.

A *product* dimension (`m*p`, of kron and vec) keeps its factors, major first: the IR
lays it out as one axis per factor (lower.py, ir/kron.py).  Two products are the same size
when their factors are, in any order; whether they pair axis by axis is the lowering's
question (p*n and n*p do not: a commutation matrix sits between them).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain, count

# names offered to free dimensions, in this order
_POOL = ["n", "m", "k", "p", "q", "r", "d", "l"]


# -- a product dimension as users write it and shapes carry it: the text "m*p"
def is_product(d: object) -> bool:
    """Whether d is a product dimension's text ("m*p", "2*n")."""
    return isinstance(d, str) and "*" in d


def dim_factors(d: str | int) -> tuple[str | int, ...]:
    """A dimension's factors, major first: "m*p" -> ("m", "p"), "2*n" -> (2, "n"),
    "n" -> ("n",), 3 -> (3,)."""
    if not isinstance(d, str):
        return (d,)
    parts = (f.strip() for f in d.split("*"))
    return tuple(int(f) if f.isdigit() else f for f in parts)


def factor_names(dims: Iterable[str | int]) -> list[str]:
    """The named factors of some dimensions (digits left out), each once, in order."""
    out: list[str] = []
    for d in dims:
        out += [f for f in dim_factors(d) if isinstance(f, str) and f not in out]
    return out


def product_text(factors: Iterable[object]) -> str:
    """("m", "p") -> "m*p": a product dimension's text from its factors, major first."""
    return "*".join(map(str, factors))


class Dim:
    __slots__ = ("parent", "value", "name", "rigid", "factors")

    def __init__(self, value: int | None = None, name: str | None = None, rigid: bool = False,
                 factors: tuple[Dim, ...] = ()):
        self.parent: Dim = self
        self.value = value
        self.name = name
        self.rigid = rigid or bool(factors)
        self.factors = factors          # a product dimension's factors (none are products)


class DimTable:
    def __init__(self, reserved: set[str] | None = None):
        self.symbols: dict[str, Dim] = {}
        self.free: list[Dim] = []
        self.reserved = set(reserved or ())
        self.one = Dim(value=1)

    # -- creation
    def symbol(self, name: str) -> Dim:
        if name not in self.symbols:
            self.symbols[name] = Dim(name=name, rigid=True)
        return self.symbols[name]

    def const(self, value: int) -> Dim:
        return self.one if value == 1 else Dim(value=value)

    def product(self, dims: list[Dim]) -> Dim:
        """The product of dimensions (major first), 1s dropped, nested products flattened."""
        flat: list[Dim] = []
        for d in dims:
            r = self.find(d)
            if r.value == 1:
                continue
            flat += list(r.factors) if r.factors else [r]
        if not flat:
            return self.one
        return flat[0] if len(flat) == 1 else Dim(factors=tuple(flat))

    def factors(self, d: Dim) -> list[Dim]:
        """A dimension's factors, major first (itself where it is no product)."""
        r = self.find(d)
        if not r.factors:
            return [r]
        return [f for x in r.factors for f in self.factors(x)]

    def fresh(self) -> Dim:
        d = Dim()
        self.free.append(d)
        return d

    # -- queries
    @staticmethod
    def find(d: Dim) -> Dim:
        root = d
        while root.parent is not root:
            root = root.parent
        while d.parent is not root:  # path compression
            d.parent, d = root, d.parent
        return root

    def is_one(self, d: Dim) -> bool:
        return self.find(d).value == 1

    def is_free(self, d: Dim) -> bool:
        r = self.find(d)
        return r.value is None and not r.rigid

    def same(self, a: Dim, b: Dim) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return True
        if ra.factors or rb.factors:
            return self._same_factors(ra, rb)
        return ra.value is not None and ra.value == rb.value

    def _same_factors(self, a: Dim, b: Dim) -> bool:
        """The same product, factors in any order."""
        fa, fb = self.factors(a), self.factors(b)
        if len(fa) != len(fb):
            return False
        rest = list(fb)
        for f in fa:
            hit = next((i for i, g in enumerate(rest) if self.same(f, g)), None)
            if hit is None:
                return False
            del rest[hit]
        return True

    # -- unification
    def unify(self, a: Dim, b: Dim, allow_one: bool = False) -> bool:
        """Make a and b the same dimension if they can be.  A free dimension becomes
        the literal 1 only with allow_one."""
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return True
        if ra.factors or rb.factors:
            return self._unify_product(ra, rb, allow_one)
        if ra.value is not None and rb.value is not None:
            if ra.value != rb.value:
                return False
            rb.parent = ra
            return True
        # make ra the more specific one
        if self._specificity(rb) > self._specificity(ra):
            ra, rb = rb, ra
        if ra.value is not None:            # int vs symbol/free
            if rb.rigid:
                return False
            if ra.value == 1 and not allow_one:
                return False
            rb.parent = ra
            return True
        if ra.rigid and rb.rigid:           # two declared symbols
            return ra.name == rb.name
        rb.parent = ra                      # rigid/free with free
        return True

    def _unify_product(self, ra: Dim, rb: Dim, allow_one: bool) -> bool:
        if not ra.factors:
            ra, rb = rb, ra
        if not rb.factors:                  # a free dimension becomes the product
            if self.is_free(rb):
                rb.parent = ra
                return True
            return False
        if self._same_factors(ra, rb):      # equal sizes; the lowering checks the order
            return True
        fa, fb = self.factors(ra), self.factors(rb)
        if len(fa) != len(fb) or not all(self.unify(x, y, allow_one) for x, y in zip(fa, fb)):
            return False
        rb.parent = ra
        return True

    @staticmethod
    def _specificity(d: Dim) -> int:
        return 2 if d.value is not None else (1 if d.rigid else 0)

    # -- naming
    def name_free(self) -> None:
        """Give every unnamed free root a readable name not used elsewhere."""
        used = set(self.reserved) | set(self.symbols)
        used |= {self.find(d).name for d in self.free if self.find(d).name}
        fresh_names = (n for n in chain(_POOL, (f"n{i}" for i in count(1))) if n not in used)
        for d in self.free:
            r = self.find(d)
            if r.value is None and r.name is None and not r.factors:
                r.name = next(fresh_names)

    def label(self, d: Dim) -> str | int:
        """The dimension as users see it: an int or a symbol."""
        r = self.find(d)
        if r.value is not None:
            return r.value
        if r.factors:
            return product_text(self.label(f) for f in self.factors(r))
        if r.name is None:
            self.name_free()
        return r.name  # type: ignore[return-value]
