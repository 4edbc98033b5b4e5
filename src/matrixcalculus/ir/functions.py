"""Function nodes over the einsum core: elementwise functions, the matrix primitives, and
the elementwise arithmetic on nodes that derivative rows are written in.

Which functions exist, how they fold and what they preserve is not written here: the rows
of ops/ register those facts (`FOLDS`, `PRIM_SHAPE`) when the package is imported, so this
module never imports ops/ (ops/ builds on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .build import add, broadcast, const, einsum, full, neg, power, scale, sub, zero
from .chains import chain, one_base, product
from .leaves import ones
from .nodes import Node, Op, Shape

# filled from ops/ at import: name -> float function of one or two numbers (folding)
FOLDS: dict[str, Callable[..., float]] = {}
# filled from ops/ at import: primitive name -> result shape of its argument's shape (and
# of the primitive's own parameters: detd's k), and the primitive's normalising
# constructor (its row's lowering: inv(inv(X)) = X, ...), given the own parameters after
# the argument
PRIM_SHAPE: dict[str, Callable[..., Shape]] = {}
PRIM_BUILD: dict[str, Callable[..., Node]] = {}


# ------------------------------------------------------------------ elementwise functions
def _registered(table: dict, name: str):
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"{name!r} has no row in matrixcalculus.ops (importing the package "
                         "registers the rows)") from None


def func(name: str, *xs: Node) -> Node:
    """f(x), or f(a, b) for a function of two (max, min): arguments of one shape."""
    fold = _registered(FOLDS, name)
    if all(x.op == Op.CONST for x in xs):
        try:
            return const(fold(*(x.value for x in xs)))
        except (ValueError, OverflowError, ZeroDivisionError):
            pass
    if all(x.op == Op.ZERO for x in xs):   # f(0) everywhere: sin(0) = 0, exp(0) = 1, ...
        try:
            v = fold(*(0.0 for _ in xs))
        except (ValueError, OverflowError, ZeroDivisionError):
            pass
        else:
            return zero(xs[0].shape) if v == 0 else full(xs[0].shape, v)
    return Node(Op.FUNC, tuple(xs), (name,), xs[0].shape)


def call(name: str) -> Callable[[Node], Node]:
    """`cos = call("cos")`: a function of the language as a function on nodes."""
    return lambda x: func(name, x)


# ------------------------------------------------------------------ matrix primitives
def prim(name: str, x: Node, *own: int, more: tuple[Node, ...] = ()) -> Node:
    """The generic node of a matrix primitive; its row in ops/ gives everything else.
    own: the primitive's own parameters (detd's order k), kept after the name; more: its
    arguments after the first (dexpm(X, E)'s direction E); its shape is of all of theirs."""
    args = (x, *more)
    shape = _registered(PRIM_SHAPE, name)(*(a.shape for a in args), *own)
    return Node(Op.PRIM, args, (name, *own), tuple(shape))


def inv(x: Node) -> Node:
    if x.rank == 0:
        return recip(x)
    if x.op == Op.DELTA:
        return x
    if x.is_prim("inv"):
        return x.args[0]
    factors = chain(x)
    if factors is not None and one_base(factors) is not None:
        # inv(X^k) = inv(X)^k, inv(X') = inv(X)': one spelling, no longer, and what meets
        # X in a product cancels (ir/inverses.py)
        return product([(inv(f), t) for f, t in reversed(factors)])
    return prim("inv", x)


def _power_of_base(x: Node) -> tuple[Node, int] | None:
    """(M, e) for x = M^e up to transposes and inverses (X^5, X*X', inv(X)), else None."""
    if x.is_prim("inv"):
        return x.args[0], -1
    factors = chain(x)
    return None if factors is None else one_base(factors)


def det(x: Node) -> Node:
    """det, normalised over powers and inverses: det(X^k) = det(X)^k, det(inv(X)) =
    1/det(X), det(X') = det(X) (a product of several bases keeps its det: it prints
    shorter, and its derivative shortens through inv of the product, simplify.py)."""
    if x.rank == 0:
        return x
    pb = _power_of_base(x)
    if pb is not None:
        return power(det(pb[0]), const(float(pb[1])))
    return prim("det", x)


def detd(x: Node, k: int) -> Node:
    """The k-th derivative tensor of det(x), axes (i1, j1, ..., ik, jk) (k = 1: adj(x)').
    Only evaluation IR holds it (det's eval_vjp in ops/): smooth where x is singular, it is
    computed from an SVD (ops/det_kernels.py); printed answers keep det(x)*inv(x)'."""
    if x.rank == 0:
        return const(1.0) if k == 1 else zero(())
    return prim("detd", x, k)


def logdet(x: Node) -> Node:
    """logdet (log det X, NaN where det X <= 0: ops/), normalised where the domain stays
    the same: logdet(inv(X)) = -logdet(X), logdet(X^k) = k*logdet(X) for odd k (det X^k
    has det X's sign; for even k, and over a product of several factors, the split would
    be undefined where the factors' dets are negative: their derivatives shorten through
    inv of the product instead)."""
    if x.rank == 0:
        return func("log", x)
    pb = _power_of_base(x)
    if pb is not None and pb[1] % 2 == 1:
        return scale(float(pb[1]), logdet(pb[0]))
    if pb is not None and pb[1] == 0:
        return const(0.0)
    return prim("logdet", x)


def softmax(x: Node, axis: int = 0) -> Node:
    """softmax along one axis (a vector's only one): each slice along it sums to 1."""
    if x.rank == 0 or x.shape[axis] == 1:
        return full(x.shape, 1.0)
    return prim("softmax", x, axis)


def logsumexp(x: Node, axes: tuple[int, ...] | None = None) -> Node:
    """log(sum(exp(x))) over the given axes (default all: a scalar)."""
    axes = tuple(range(x.rank)) if axes is None else tuple(sorted(axes))
    if not axes:
        return x
    return prim("logsumexp", x, axes)


def sum_along(x: Node, axis: int) -> Node:
    """The sum over one axis (sum(X, k)): the axis goes."""
    ix = tuple(range(x.rank))
    return einsum([x], [ix], ix[:axis] + ix[axis + 1:])


def size(dims: Sequence) -> Node:
    """The number of entries of a block of the given dimensions, as a node: n is
    sum(ones(n)), m*n the product of two (a dimension's size used as a value)."""
    return einsum([ones(d) for d in dims], [(i,) for i in range(len(dims))], ())


def spread(reduced: Node, x: Node, axes: tuple[int, ...]) -> Node:
    """A reduction of x over `axes` broadcast back to x's shape (Expansion)."""
    kept = tuple(i for i in range(x.rank) if i not in axes)
    return einsum([reduced] + [ones(x.shape[i]) for i in axes],
                  [kept] + [(i,) for i in axes], tuple(range(x.rank)))


def mean_along(x: Node, axes: Sequence[int]) -> Node:
    """The mean over the given axes: the sum over them divided by their size."""
    ix = tuple(range(x.rank))
    kept = tuple(i for i in ix if i not in axes)
    total = einsum([x], [ix], kept)
    return hadamard(total, recip(size([x.shape[a] for a in axes]))) if axes else x


# ------------------------------------------------------------------ shapes of products
def hadamard(a: Node, b: Node) -> Node:
    """a .* b, either side may be a scalar."""
    if a.rank == 0 or b.rank == 0:
        r = tuple(range(max(a.rank, b.rank)))
        return einsum([a, b], [tuple(range(a.rank)), tuple(range(b.rank))], r)
    r = tuple(range(a.rank))
    return einsum([a, b], [r, r], r)


def recip(x: Node) -> Node:
    return power(x, const(-1.0))


def transpose(x: Node) -> Node:
    if x.rank != 2:
        return x
    return einsum([x], [(0, 1)], (1, 0))


def sum_all(x: Node) -> Node:
    return einsum([x], [tuple(range(x.rank))], ())


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def ein(spec: str, *operands: Node, coef: float = 1.0) -> Node:
    """An einsum from a spec string.  A leading `...` stands for the same extra leading
    axes in every term that has it (a Jacobian's output axes); how many is read from the
    first operand that carries it, so callers never pass the count."""
    lhs, rhs = spec.split("->")
    terms = lhs.split(",")
    extra = next((a.rank - (len(t) - 3) for a, t in zip(operands, terms)
                  if t.startswith("...")), 0)
    # the extra axes get labels after every letter's: they cannot clash with the spec's
    pre = tuple(range(len(_LETTERS), len(_LETTERS) + extra))

    def labels(part: str) -> tuple[int, ...]:
        head = pre if part.startswith("...") else ()
        return head + tuple(_LETTERS.index(ch) for ch in part.removeprefix("..."))

    return einsum(operands, [labels(t) for t in terms], labels(rhs), coef)


# ------------------------------------------------------------------ rebuilding
def rebuild(n: Node, args: tuple[Node, ...]) -> Node:
    """The node again, over new arguments, through the canonicalising constructors."""
    if args == n.args:
        return n
    op = n.op
    if op == Op.EINSUM:
        return einsum(args, n.indices, n.out, n.coef)
    if op == Op.ADD:
        return add(args)
    if op == Op.FUNC:
        return func(n.name, *args)
    if op == Op.POWER:
        return power(args[0], args[1])
    if op == Op.PRIM:
        return _registered(PRIM_BUILD, n.name)(*args, *n.own)
    raise ValueError(f"cannot rebuild a {op} node")


# ------------------------------------------------------------------ arithmetic on nodes
def _node(v: Node | float, like: Node) -> Node:
    """A number beside a node is spread over its shape (`1 + x`: ones + x)."""
    return v if isinstance(v, Node) else full(like.shape, float(v))


def _same_shape(a: Node, b: Node, what: str) -> None:
    if a.rank and b.rank and a.shape != b.shape:
        raise ValueError(f"{what} of nodes shaped {a.shape} and {b.shape}")


def _times(a: Node, b: Node | float) -> Node:
    if not isinstance(b, Node):
        return scale(float(b), a)
    _same_shape(a, b, "an elementwise product")
    return hadamard(a, b)


def _pow(a: Node, p: Node | float) -> Node:
    return power(a, p if isinstance(p, Node) else const(float(p)))


def _div(a: Node | float, b: Node) -> Node:
    return hadamard(_node(a, b) if not isinstance(a, Node) else a, recip(b))


def _sum(a: Node, b: Node | float) -> Node:
    b = _node(b, a)
    _same_shape(a, b, "a sum")
    shape = a.shape if a.rank >= b.rank else b.shape
    return add([broadcast(a, shape), broadcast(b, shape)])


def _install(ops: Sequence[tuple[str, Callable]]) -> None:
    for name, fn in ops:
        setattr(Node, name, fn)


# x + y, 1 - x, x * y (elementwise), x / y, 1 / x, x ** 2, -x: derivative rows read like
# the mathematics.  Installed here, not in nodes.py, which stays below the constructors.
_install([
    ("__add__", _sum),
    ("__radd__", lambda a, b: _sum(_node(b, a), a)),
    ("__sub__", lambda a, b: _sum(a, neg(_node(b, a)))),
    ("__rsub__", lambda a, b: sub(_node(b, a), a)),
    ("__mul__", _times),
    ("__rmul__", _times),
    ("__truediv__", lambda a, b: _times(a, 1.0 / b) if not isinstance(b, Node) else _div(a, b)),
    ("__rtruediv__", lambda a, b: _div(b, a)),
    ("__pow__", _pow),
    ("__neg__", neg),
])
