"""Variable declarations: `matrix(m, n)`, `vector(n)`, `scalar`, `symmetric(n)`,
`tensor(n, d, h)` (order 3 or more; `tensor(m, n)` is a matrix, `tensor(n)` a vector).

Types that state a fact besides the shape (LANGUAGE.md): `spd(n)` (symmetric positive
definite; types as symmetric), `simplex(n)` (a probability vector) and `simplex(n, c)` (each
row one; a matrix)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DeclarationError
from .dims import dim_factors, product_text

KINDS = ("scalar", "vector", "matrix", "symmetric", "tensor", "spd", "simplex")
_ARITY = {"scalar": 0, "vector": 1, "matrix": 2, "symmetric": 1, "spd": 1}
# kinds that take one of several numbers of dimensions (simplex(n) a vector, simplex(n, c)
# a matrix of probability rows)
_ARITIES = {"simplex": (1, 2)}
# the kinds that state a fact besides the shape: they type as another kind (typed_kind)
FACTS = ("spd", "simplex")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*\Z")
_DECL = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:\((.*)\))?\s*\Z", re.S)
_DECL_OPEN = re.compile(r"\s*(scalar|vector|matrix|symmetric|tensor|spd|simplex)\s*\([^)]*\Z")
_EXPECTED = ("scalar, vector(n), matrix(m,n), symmetric(n), tensor(n,d,h), spd(n), simplex(n) "
             "or simplex(n,c)")

GREEK = frozenset("""alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi
omicron pi rho sigma tau upsilon phi chi psi omega""".split())


@dataclass(frozen=True)
class Declaration:
    kind: str                        # one of KINDS
    dims: tuple[str | int, ...]      # symbols or positive ints; () for scalars

    def __str__(self) -> str:
        return declaration_text(self.kind, self.dims)

    @property
    def fact(self) -> str:
        """'spd' or 'simplex' for a type that states a fact besides its shape, else ''."""
        return self.kind if self.kind in FACTS else ""

    @property
    def typed_kind(self) -> str:
        """The kind it types as: spd is symmetric; simplex(n) a vector, simplex(n, c) a
        matrix; the others are their own."""
        if self.kind == "spd":
            return "symmetric"
        if self.kind == "simplex":
            return "vector" if len(self.dims) == 1 else "matrix"
        return self.kind


def declaration_text(kind: str, dims: tuple[str | int, ...], sep: str = ", ") -> str:
    """The text that declares it: 'scalar', 'vector(n)', 'matrix(m, n)', 'symmetric(n)',
    'spd(n)', 'simplex(n, c)' (dims as declared: one for symmetric and spd)."""
    return "scalar" if kind == "scalar" else f"{kind}({sep.join(str(d) for d in dims)})"


def is_identifier(name: str) -> bool:
    return bool(_IDENT.match(name))


def is_product_dim(text: str) -> bool:
    """`m*p`, `2*n`: a product dimension (LANGUAGE.md "Functions", structure)."""
    parts = [f.strip() for f in text.split("*")]
    return len(parts) > 1 and all(
        (is_identifier(f) and f != "where") or re.fullmatch(r"[1-9]\d*", f) for f in parts)


def parse_declaration(text: str, var: str = "") -> Declaration:
    """'matrix(m, n)' -> Declaration('matrix', ('m', 'n')); rejects malformed ones."""
    if not isinstance(text, str):
        raise DeclarationError(f"the type of {var or 'a variable'} must be text like "
                               f"'matrix(m,n)', not {type(text).__name__}")
    where = f" for {var}" if var else ""
    m = _DECL.match(text)
    if m and m.group(1) in KINDS and ")" in (m.group(2) or ""):
        close = m.start(2) + m.group(2).index(")")
        raise DeclarationError(f"unbalanced ')' in the type{where}", text, close)
    if not m and _DECL_OPEN.match(text):
        raise DeclarationError(f"missing ')' in the type{where}", text, len(text))
    if not m or m.group(1) not in KINDS:
        what = f"unknown type {text.strip()!r}{where}" if text.strip() else f"empty type{where}"
        raise DeclarationError(f"{what}: expected {_EXPECTED}", text, 0, max(len(text), 1))
    kind, inside = m.group(1), m.group(2)
    # each dimension with its offset in the text
    args: list[tuple[str, int]] = []
    if inside is not None and inside.strip():
        offset = m.start(2)
        for piece in inside.split(","):
            lead = len(piece) - len(piece.lstrip())
            args.append((piece.strip(), offset + lead))
            offset += len(piece) + 1
    if kind == "tensor":
        if not args:
            raise DeclarationError(f"tensor takes one or more dimensions{where}, got none in "
                                   f"{text.strip()!r}", text, 0, len(text))
    elif len(args) not in _ARITIES.get(kind, (_ARITY.get(kind),)):
        want = {0: "no dimensions", 1: "one dimension", 2: "two dimensions",
                (1, 2): "one or two dimensions"}[_ARITIES.get(kind, _ARITY.get(kind))]
        raise DeclarationError(f"{kind} takes {want}{where}, got {len(args)} in {text.strip()!r}",
                               text, m.start(2) if inside is not None else 0, len(text))
    dims: list[str | int] = []
    for a, pos in args:
        if not a:
            raise DeclarationError(f"a dimension is missing in {text.strip()!r}{where}",
                                   text, pos)
        if re.fullmatch(r"[+-]?\d+", a):
            if int(a) < 1:
                raise DeclarationError(f"dimension {a}{where} must be a positive integer",
                                       text, pos, pos + len(a))
            dims.append(int(a))
        elif is_identifier(a) and a != "where":
            dims.append(a)
        elif is_product_dim(a):          # m*p (kron, vec): kept as text, factors major first
            dims.append(product_text(dim_factors(a)))
        else:
            raise DeclarationError(f"bad dimension {a!r}{where}: use a name like n or a "
                                   "positive integer", text, pos, pos + len(a))
    if kind == "tensor" and len(dims) < 3:     # tensor(m, n) is matrix(m, n)
        kind = ("vector", "matrix")[len(dims) - 1]
    return Declaration(kind, tuple(dims))


def parse_var_option(text: str) -> tuple[str, Declaration]:
    """CLI form 'A: matrix(m,n)' -> ('A', Declaration)."""
    name, sep, decl = text.partition(":")
    name = name.strip()
    if not sep or not is_identifier(name):
        raise DeclarationError(f"a declaration is written 'NAME: TYPE' (e.g. 'A: matrix(m,n)'), "
                               f"got {text!r}", text, 0, len(text))
    return name, parse_declaration(decl, name)


def default_kind(name: str) -> str:
    """The kind a name gets by its spelling (LANGUAGE.md): an uppercase first letter a
    matrix (Greek capitals included: Sigma), lowercase Greek a scalar, lowercase Latin a
    vector."""
    if name[0].isupper():
        return "matrix"
    return "scalar" if name in GREEK else "vector"
