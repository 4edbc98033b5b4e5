"""Symbolic dimensions with unification (union-find).

A dimension is a declared symbol (`n`, rigid: two different declared symbols
never unify), an integer, or a free dimension of an undeclared variable
(unifies with anything).  A free dimension becomes 1 only where that is
asked for explicitly, so that a vector is not silently turned into a scalar.
"""

from __future__ import annotations

from itertools import chain, count

# names offered to free dimensions, in this order
_POOL = ["n", "m", "k", "p", "q", "r", "d", "l"]


class Dim:
    __slots__ = ("parent", "value", "name", "rigid")

    def __init__(self, value: int | None = None, name: str | None = None, rigid: bool = False):
        self.parent: Dim = self
        self.value = value
        self.name = name
        self.rigid = rigid


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
        return ra.value is not None and ra.value == rb.value

    # -- unification
    def unify(self, a: Dim, b: Dim, allow_one: bool = False) -> bool:
        """Make a and b the same dimension if they can be.  A free dimension becomes
        the literal 1 only with allow_one."""
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return True
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
            if r.value is None and r.name is None:
                r.name = next(fresh_names)

    def label(self, d: Dim) -> str | int:
        """The dimension as users see it: an int or a symbol."""
        r = self.find(d)
        if r.value is not None:
            return r.value
        if r.name is None:
            self.name_free()
        return r.name  # type: ignore[return-value]
