"""A row: every fact about one function of the language, in one place.

The parser's function list, the typechecker, lowering, constant folding, the derivative
rules, the LaTeX printer, the code generators and the random-expression generators all
read rows; none keeps a table of names of its own.  `check_rows` runs at import and says
which fact a row lacks (never a KeyError in the middle of a derivation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..ir.build import broadcast
from ..ir.functions import func
from ..ir.nodes import Node, Shape

BACKENDS = ("numpy", "torch", "jax", "dask")

# How a call's type follows from its arguments' (the typechecker has one rule per entry):
TYPINGS = {
    "elementwise": "the argument's shape",
    "elementwise2": "two arguments of one shape (or a scalar beside anything)",
    "scalar": "a scalar (a reduction over all entries)",
    "square->scalar": "a square matrix in, a scalar out",
    "square": "a square matrix in, the same shape out",
    "square2": "two square matrices of one size in, the same shape out",
    "vector": "a vector in, the same shape out",
    "diag": "a vector to a diagonal matrix, or a matrix to its diagonal",
    "dims": "dimension arguments (names or integers), a constant out",
    "einsum": "subscripts (ij,jk->ik) and one operand per term: the output term's shape",
    "kron": "two matrices (or vectors) in, their Kronecker product out: (m*p, n*q)",
    "vec": "a matrix in, its columns stacked into one vector out: (m*n)",
}

# the domain the random generators and check() draw an argument from
DOMAINS = ("any", "positive", "unit", "bounded", "spd")

Code = dict[str, str]   # backend -> template on {0}, {1} ({xp}: the array module)


@dataclass(frozen=True)
class Row:
    name: str
    kind: str                       # "elementwise" | "primitive" | "reduction" | "structure"
    arity: tuple[int, ...]
    typing: str                     # a key of TYPINGS
    lower: Callable[..., Node]      # IR of the call: lower(*argument nodes, shape=result)
    latex: str                      # a command (\arctan) or a template on {0}, {atom}
    aliases: tuple[str, ...] = ()
    # elementwise rows
    fold: Callable[[float], float] | None = None       # value at a number
    d: Callable[[Node, Node], Node] | None = None      # f'(x) from x and y = f(x)
    domain: str = "any"             # where the function is defined and well behaved
    # where it is not: (test on the argument's values, what to call them), for the message
    # of an evaluation that leaves the domain (`log of a negative number in log(1 - s)`)
    undefined: tuple[tuple[Callable, str], ...] = ()
    # the values it tends to where it saturates (tanh: -1 and 1): a polynomial in it,
    # expanded, cancels there (s - s.^2 at s = 1), so answers keep it factored (simplify.py)
    saturates: tuple[float, ...] = ()
    # the tests' oracle, written apart from `code`: oracle(torch, x) -> f(x) under autograd
    oracle: Callable | None = None
    # matrix primitives (one node kind each, Op.PRIM)
    # adjoint of the argument, from (node, g); of several arguments, one per argument
    vjp: Callable[[Node, Node], Node] | tuple[Callable[[Node, Node], Node], ...] | None = None
    shape: Callable[..., Shape] | None = None          # result shape from the argument's
    # the VJP of the IR that is evaluated, where it differs from the printed one (det's is
    # detd(X, 1), smooth where X is singular; vjp's det(X)*inv(X)' is what answers print,
    # undefined there): evaluation.py derives again with it when the printed IR holds one
    eval_vjp: Callable[[Node, Node], Node] | None = None
    # the tangent of the node from the tangent t of its argument k, jvp(node, k, t), where
    # the VJP transposed (forward.py) would not do (a Fréchet derivative's direction)
    jvp: Callable[[Node, int, Node], Node] | None = None
    # a primitive's own parameters, by name (detd: ("k",)): in its node after the name
    # (Node.own), in its code templates as {k}, given to shape and flops after the sizes
    own: tuple[str, ...] = ()
    # along one axis (`sum(X, k)`, LANGUAGE.md "along one axis"): the IR of the function
    # along the IR axis a of its argument; the call's second argument is k
    along: Callable[[Node, int], Node] | None = None
    # the arguments after the first that print a primitive's own parameters
    # (softmax(X, 2) for the axis 1 of a matrix; () where the one-argument form says it)
    shows: Callable[[Node], tuple[int, ...]] | None = None
    # along an axis, a reduction whose result keeps that axis as a singleton in the
    # language (logsumexp(X, 1) is a row, 1 x n, as sum(X, 1) is) where the IR drops it:
    # along the first axis its IR vector prints transposed
    reduces_along: bool = False
    # a matrix function (expm): the row of its Fréchet derivative (dexpm), and f^(k)(X)
    # (k = 1 unless given), its derivative along directions that commute with X
    # (L_f^(k)(X; E1, ..., Ek) = f^(k)(X)*E1*...*Ek there)
    frechet: str = ""
    fprime: Callable[..., Node] | None = None
    # a function of the language (parsed, typed, printed); False for a primitive only
    # evaluation IR holds (detd): not in ROWS, so no one may call it
    language: bool = True
    # both
    code: Code = field(default_factory=dict)           # backend -> template
    # where the first argument is known symmetric when the code is written (a symmetric or
    # spd variable, X'*X): a backend's cheaper template (a matrix function by eigh alone,
    # where the general code, traced without a branch on the data, also runs eig)
    code_symmetric: Code = field(default_factory=dict)
    helpers: dict[str, dict[str, str]] = field(default_factory=dict)   # backend -> {name: src}
    # flops from the argument's sizes (and own parameters; elementwise: a few per entry)
    flops: Callable[..., int] = lambda sizes: 4 * math.prod(sizes)
    symmetric: bool = True          # f(S) is symmetric for a symmetric S
    letter: str = ""                # preferred name of a shared subexpression (s, t, Y)

    def __repr__(self) -> str:
        return f"Row({self.name})"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _code(code: str | Code) -> Code:
    """One template for every backend (`{xp}.arctan({0})`), or a dict with "*" as default."""
    if isinstance(code, str):
        return {b: code for b in BACKENDS}
    default = code.get("*")
    return {b: code.get(b, default) for b in BACKENDS if code.get(b, default) is not None}


def elementwise(name: str, *, fold: Callable[[float], float],
                d: Callable[[Node, Node], Node], code: str | Code, latex: str,
                oracle: Callable, aliases: tuple[str, ...] = (), domain: str = "any",
                helpers: dict[str, dict[str, str]] | None = None, letter: str = "",
                lower: Callable[..., Node] | None = None,
                undefined: tuple[tuple[Callable, str], ...] = (),
                saturates: tuple[float, ...] = ()) -> Row:
    return Row(name=name, kind="elementwise", arity=(1,), typing="elementwise",
               lower=lower or (lambda x, shape: func(name, x)), latex=latex,
               aliases=aliases, fold=fold, d=d, domain=domain, undefined=undefined,
               saturates=saturates, oracle=oracle,
               code=_code(code), helpers=helpers or {}, letter=letter)


def elementwise2(name: str, *, fold: Callable[[float, float], float],
                 d: Callable[[Node, Node, Node], tuple[Node, Node]], code: str | Code,
                 latex: str, oracle: Callable) -> Row:
    """A function of two arguments of one shape (a scalar is spread over the other's);
    d(a, b, y) gives both partial derivatives."""
    def lower(a: Node, b: Node, shape: Shape) -> Node:
        return func(name, broadcast(a, shape), broadcast(b, shape))

    return Row(name=name, kind="elementwise", arity=(2,), typing="elementwise2", lower=lower,
               latex=latex, fold=fold, d=d, oracle=oracle, code=_code(code))


def primitive(name: str, *, typing: str, vjp: Callable[[Node, Node], Node] | tuple,
              shape: Callable[..., Shape], code: str | Code, latex: str,
              lower: Callable[..., Node], flops: Callable[..., int],
              helpers: dict[str, dict[str, str]] | None = None, symmetric: bool = False,
              letter: str = "", eval_vjp: Callable[[Node, Node], Node] | None = None,
              own: tuple[str, ...] = (), language: bool = True, arity: tuple[int, ...] = (1,),
              along: Callable[[Node, int], Node] | None = None,
              shows: Callable[[Node], tuple[int, ...]] | None = None,
              undefined: tuple[tuple[Callable, str], ...] = (), frechet: str = "",
              fprime: Callable[..., Node] | None = None, domain: str = "any",
              reduces_along: bool = False, code_symmetric: Code | None = None,
              jvp: Callable[[Node, int, Node], Node] | None = None) -> Row:
    return Row(name=name, kind="primitive", arity=arity, typing=typing, lower=lower,
               latex=latex, vjp=vjp, shape=shape, code=_code(code), helpers=helpers or {},
               flops=flops, symmetric=symmetric, letter=letter, eval_vjp=eval_vjp, own=own,
               language=language, along=along, shows=shows, undefined=undefined,
               frechet=frechet, fprime=fprime, domain=domain, reduces_along=reduces_along,
               code_symmetric=code_symmetric or {}, jvp=jvp)


def function(name: str, *, kind: str, typing: str, lower: Callable[..., Node], latex: str,
             arity: tuple[int, ...] = (1,), letter: str = "",
             along: Callable[[Node, int], Node] | None = None) -> Row:
    """A function lowered to other IR (sum, tr, norm2, diag, ones): no code or rule of its
    own, since the nodes it lowers to have theirs.  With `along`, it also takes an axis."""
    return Row(name=name, kind=kind, arity=(1, 2) if along else arity, typing=typing,
               lower=lower, latex=latex, letter=letter, along=along)


def check_rows(rows: list[Row]) -> None:
    """Every row holds every fact its kind needs; raised at import, naming row and fact."""
    seen: set[str] = set()
    for r in rows:
        missing = []
        for n in r.names:
            if n in seen:
                missing.append(f"a unique name ({n} is taken)")
            seen.add(n)
        if r.language and r.typing not in TYPINGS:
            missing.append(f"a known typing (not {r.typing!r})")
        if not r.latex:
            missing.append("latex")
        if r.kind == "elementwise":
            if r.fold is None or r.d is None:
                missing.append("fold and d")
            if r.oracle is None:
                missing.append("a torch oracle")
            if r.domain not in DOMAINS:
                missing.append(f"a known domain (not {r.domain!r})")
        if r.kind in ("elementwise", "primitive"):
            missing += [f"code for {b}" for b in BACKENDS if not r.code.get(b)]
            missing += [f"{{{p}}} in its {b} code" for b, c in r.code.items() for p in r.own
                        if "{" + p + "}" not in c]
            for b, hs in r.helpers.items():      # called by the code or by another helper
                missing += [f"{b} helper {h} used by its code" for h in hs
                            if h + "(" not in r.code.get(b, "") + r.code_symmetric.get(b, "")
                            and not any(h + "(" in src for o, src in hs.items() if o != h)]
        if r.kind == "primitive" and (r.vjp is None or r.shape is None):
            missing.append("vjp and shape")
        if r.eval_vjp is not None and r.kind != "primitive":
            missing.append("a primitive's kind (only primitives have an eval_vjp)")
        if (r.own or not r.language) and r.kind != "primitive":
            missing.append("a primitive's kind (own parameters, outside the language)")
        if r.along is not None and 2 not in r.arity:
            missing.append("the arity 2 of a function along an axis")
        if r.own and r.language and r.shows is None:
            missing.append("shows (how its own parameters print)")
        if missing:
            raise RuntimeError(f"ops/ row {r.name!r} lacks: {', '.join(missing)}")
