"""Identities of the elementwise functions, exact at every point, so that answers read as a
textbook: each a rewrite function for a named row of the simplifier (simplify.py).

  step(u) .* f = f   where f is 0 wherever u <= 0        gate_dropped
        (1 - step(-u)) .* f = f alike (1 - step(-u) is 1 where u > 0): `step(u).*max(u, 0)`
        is max(u, 0); `(min(a, b) - b).*step(b - a)` is min(a, b) - b
  (exp(u) - exp(-u)) ./ (exp(u) + exp(-u)) = tanh(u)     tanh_of_exp
        (the numerator's terms may share a factor: a*exp(u) - a*exp(-u))
  1 - sigmoid(-u) = sigmoid(u)                           sigmoid_complement
  x .* x.^p = x.^(p+1) for a product x flattened among the factors of another
        (`V.*(W*H)./(W*H).^2` is V./(W*H))                powers_of_products
  n^-k * (sum_i 1)...(sum_j 1) = 1, k sums of ones        sizes_cancelled
        (mean(ones(n)) is 1)

1 - step(-u) = step(u) is not among them: step(0) = 0 (ops/elementwise.py, NumPy's
heaviside(0, 0)), so the two differ at u = 0.
"""

from __future__ import annotations

from collections.abc import Callable

from . import build as B
from . import functions as F
from .nodes import Node, Op

Keep = Callable[[Node, Node], bool]     # keep(new, old): the simplifier's price


def _is_func(n: Node, name: str) -> bool:
    return n.op == Op.FUNC and n.name == name


def _is_zero(n: Node) -> bool:
    return n.op == Op.ZERO or (n.op == Op.CONST and n.value == 0)


def _one(n: Node) -> bool:
    """n is 1 everywhere (a number, or spread over a shape)."""
    return n is B.full(n.shape, 1.0)


# ------------------------------------------------------------------ step(u) .* f = f
def _vanishes_unless(f: Node) -> list[Node]:
    """The u with f = 0 wherever u <= 0 (each an exact fact, none approximate)."""
    if f.op == Op.FUNC:
        if f.name in ("step", "relu"):
            return [f.args[0]]
        if f.name == "max" and _is_zero(f.args[1]):
            return [f.args[0]]
        if f.name == "max" and _is_zero(f.args[0]):
            return [f.args[1]]
        return []
    if f.op == Op.ADD and len(f.args) == 2:
        # max(a, b) - b vanishes unless a > b, min(a, b) - b unless b > a
        out = []
        for m, t in (f.args, f.args[::-1]):
            c, b = B.coef_and_base(t)
            if c != -1 or m.op != Op.FUNC or m.name not in ("max", "min"):
                continue
            a, b2 = m.args
            for x, y in ((a, b2), (b2, a)):
                if y is b:
                    out.append(B.sub(x, y) if m.name == "max" else B.sub(y, x))
        return out
    if f.op == Op.EINSUM and all(ix == f.out for ix in f.indices):
        # a pointwise product vanishes where any factor does
        return [u for a in f.args for u in _vanishes_unless(a)]
    return []


def _one_where_positive(g: Node) -> Node | None:
    """The u with g = 1 wherever u > 0, for a gate g (step(u), 1 - step(-u)); else None."""
    if _is_func(g, "step"):
        return g.args[0]
    if g.op == Op.ADD and len(g.args) == 2:
        for one, t in (g.args, g.args[::-1]):
            c, s = B.coef_and_base(t)
            if c == -1 and _is_func(s, "step") and _one(one):
                return B.neg(s.args[0])
    return None


def gate_dropped(n: Node) -> Node | None:
    """A product holding a gate g (1 where u > 0) beside a factor f of the same entries
    that is 0 wherever u <= 0: g.*f = f, so the gate goes."""
    ops, idxs = list(n.args), list(n.indices)
    for k, g in enumerate(ops):
        u = _one_where_positive(g)
        if u is None:
            continue
        for j, f in enumerate(ops):
            if j != k and idxs[j] == idxs[k] and f is not g and \
                    any(v is u for v in _vanishes_unless(f)):
                del ops[k], idxs[k]
                return B.einsum(ops, idxs, n.out, n.coef)
    return None


# ------------------------------------------------------------------ tanh
def _exp_term(t: Node) -> tuple[float, Node, Node | None] | None:
    """A term c*exp(u), or c*exp(u).*g (g any factor of the same entries): (c, u, g)."""
    if _is_func(t, "exp"):
        return 1.0, t.args[0], None
    if t.op != Op.EINSUM or any(ix != t.out and ix != () for ix in t.indices):
        return None
    at = [k for k, a in enumerate(t.args) if _is_func(a, "exp") and t.indices[k] == t.out]
    if len(at) != 1:
        return None
    rest = [k for k in range(len(t.args)) if k != at[0]]
    if not rest:
        return t.coef, t.args[at[0]].args[0], None
    ops, idxs = [t.args[k] for k in rest], [t.indices[k] for k in rest]
    if t.out and all(ix == () for ix in idxs):      # a scalar spread: the ones carry out
        ops += [B.ones(d) for d in t.shape]
        idxs += [(lab,) for lab in t.out]
    return t.coef, t.args[at[0]].args[0], B.einsum(ops, idxs, t.out)


def _exp_pair(s: Node) -> tuple[float, float, Node, Node | None] | None:
    """For a sum (c1*exp(u) + c2*exp(-u)).*g: (c1, c2, u, g), g None where there is none."""
    if s.op != Op.ADD or len(s.args) != 2:
        return None
    t1, t2 = _exp_term(s.args[0]), _exp_term(s.args[1])
    if t1 is None or t2 is None or t1[2] is not t2[2] or B.neg(t1[1]) is not t2[1]:
        return None
    return t1[0], t2[0], t1[1], t1[2]


def tanh_of_exp(n: Node, better: Keep | None = None) -> Node | None:
    """(a*exp(u) - a*exp(-u)).*g .* (c*exp(u) + c*exp(-u)).^-1 -> (a/c)*tanh(u).*g, the
    factors of the same entries (g: a factor the numerator's terms share, or none); tanh
    being odd, as -(a/c)*tanh(-u) where better(that, the first) says so
    (`X'*tanh(X*w - y)`, not `-X'*tanh(y - X*w)`)."""
    ops, idxs = list(n.args), list(n.indices)
    for k, p in enumerate(ops):
        if p.op != Op.POWER or p.args[1] is not B.const(-1.0):
            continue
        den = _exp_pair(p.args[0])
        if den is None or den[0] != den[1] or den[3] is not None:
            continue
        for j, q in enumerate(ops):
            num = _exp_pair(q) if j != k and idxs[j] == idxs[k] else None
            if num is None:
                continue
            a1, a2, u, g = num
            if u is not den[2]:
                a1, a2, u = a2, a1, B.neg(u)
            if u is not den[2] or a1 != -a2:
                continue
            at = idxs[k]
            del ops[max(j, k)], idxs[max(j, k)]
            del ops[min(j, k)], idxs[min(j, k)]
            if g is not None:        # the numerator's common factor stays
                ops.append(g)
                idxs.append(at)
            c = n.coef * a1 / den[0]
            first = B.einsum([*ops, F.func("tanh", u)], [*idxs, at], n.out, c)
            if better is None:
                return first
            odd = B.einsum([*ops, F.func("tanh", B.neg(u))], [*idxs, at], n.out, -c)
            return odd if better(odd, first) else first
    return None


# ------------------------------------------------------------------ sigmoid
def sigmoid_complement(n: Node) -> Node | None:
    """In a sum, c - c*sigmoid(v) -> c*sigmoid(-v) where -v prints no longer than v
    (`1 - sigmoid(-N*v)` is sigmoid(N*v); `1 - s` stays, as the book writes it).  The
    spread c is that of the sum's shape."""
    terms = list(n.args)
    ones = B.full(n.shape, 1.0)
    bases = [B.coef_and_base(t) for t in terms]
    for k, (c, s) in enumerate(bases):
        if not _is_func(s, "sigmoid"):
            continue
        v = s.args[0]
        flipped = B.neg(v)
        if not (v.op == Op.EINSUM and v.coef < 0 or v.op == Op.ADD
                and sum(B.coef_and_base(t)[0] < 0 for t in v.args) * 2 > len(v.args)):
            continue                # -v would only take a sign in
        for j, (d, one) in enumerate(bases):
            if j != k and one is ones and d == -c:
                rest = [t for i, t in enumerate(terms) if i not in (j, k)]
                return B.add([*rest, B.scale(d, F.func("sigmoid", flipped))])
    return None


# ------------------------------------------------------------------ x .* x.^p
def powers_of_products(n: Node) -> Node | None:
    """A factor x.^p, x a product, whose factors also stand among the product's own with
    x's entries: the two are merged into x.^(p+1) (the constructors flatten x into the
    product, so its power could not meet it there)."""
    ops, idxs = list(n.args), list(n.indices)
    out = set(n.out)
    for k, p in enumerate(ops):
        base, e = B.power_parts(p)
        if p.op != Op.POWER or e is None or base.op != Op.EINSUM or \
                len(set(idxs[k])) != len(idxs[k]):
            continue
        found = _find_product(base, idxs[k], ops, idxs, k, out)
        if found is None:
            continue
        keep = [i for i in range(len(ops)) if i != k and i not in found]
        new_ops = [ops[i] for i in keep]
        new_idxs = [idxs[i] for i in keep]
        if e + 1 != 0:
            new_ops.append(B.power(base, B.const(e + 1)))
            new_idxs.append(idxs[k])
        labels = {lab for ix in new_idxs for lab in ix}
        dims = {lab: d for a, ix in zip(ops, idxs) for lab, d in zip(ix, a.shape)}
        for lab in sorted(set(n.out) - labels):    # an output label only x carried
            new_ops.append(B.ones(dims[lab]))
            new_idxs.append((lab,))
        return B.einsum(new_ops, new_idxs, n.out, n.coef / base.coef)
    return None


def _find_product(x: Node, at: tuple, ops: list[Node], idxs: list[tuple], skip: int,
                  out: set) -> set[int] | None:
    """The positions of factors of the product whose product, at the labels `at`, is x
    (its summed labels carried by those factors alone), or None."""
    chosen: set[int] = set()
    for a in x.args:
        hit = next((i for i, b in enumerate(ops)
                    if i != skip and i not in chosen and b is a), None)
        if hit is None:
            return None
        chosen.add(hit)
    inside = {lab for i in chosen for lab in idxs[i]}
    summed = inside - set(at)
    if summed & out or any(summed & set(idxs[i]) for i in range(len(ops))
                           if i not in chosen and i != skip) or summed & set(idxs[skip]):
        return None
    if not set(at) <= inside:
        return None
    try:
        again = B.einsum([ops[i] for i in sorted(chosen)], [idxs[i] for i in sorted(chosen)],
                         at)
    except AssertionError:
        return None
    return chosen if again is x else None


# ------------------------------------------------------------------ n^-1 * sum_i 1 = 1
def sizes_cancelled(n: Node) -> Node | None:
    """A product holding sum(ones(d))^-k (a mean's divisor) and k ones(d) each summed over
    a label of its own (each sums to d): both go.  Only where they cancel: n^-2 * sum_i 1
    stays, a mean of a mean prints from it (raising/products.py mean_size)."""
    ops, idxs = list(n.args), list(n.indices)
    for k, p in enumerate(ops):
        base, e = B.power_parts(p)
        if p.op != Op.POWER or e is None or e >= 0 or not float(e).is_integer() or \
                base.op != Op.EINSUM or len(base.args) != 1 or base.out or \
                base.args[0].op != Op.ONES or base.coef != 1:
            continue
        d = base.args[0].shape[0]
        lone = [j for j, (a, ix) in enumerate(zip(ops, idxs)) if a.op == Op.ONES
                and a.shape[0] == d and ix[0] not in n.out
                and not any(ix[0] in jx for i, jx in enumerate(idxs) if i != j)]
        if len(lone) != -e:
            continue
        gone = {k, *lone}
        return B.einsum([a for i, a in enumerate(ops) if i not in gone],
                        [ix for i, ix in enumerate(idxs) if i not in gone], n.out, n.coef)
    return None
