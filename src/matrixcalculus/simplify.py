"""Global simplification: rewrites that need a choice, kept only where they shorten.

The constructors in ir/build.py already normalise locally.  Here, bottom up over
the DAG, each einsum may be expanded over the sums among its factors (so that
`y/s*(1-s)*s - (1-y)/(1-s)*(1-s)*s` collapses to `s - y`), and each sum may be
factored by a factor its terms share (`A'*x + A*x` -> `(A + A')*x`).  A rewrite
is kept when the tree gets smaller.  Pattern rules (tinygrad style) follow.
"""

from __future__ import annotations

from collections.abc import Callable

from .ir import build as B
from .ir import functions as F
from .ir.nodes import Node, walk
from .limits import check_deadline

_MAX_TERMS = 48
_MAX_TERMS_THROUGH = 256     # ... for a product through a sum of order > 2 (see expand)
_NO_MATRIX_FORM = 10_000     # price added to a rank <= 2 candidate without a matrix form
_MAX_OPTIONS = 6


def rebuild(n: Node, args: tuple[Node, ...]) -> Node:
    """The node again, over new arguments, through the canonicalising constructors."""
    if args == n.args:
        return n
    op = n.op
    if op == "einsum":
        coef, idxs, out = n.params
        return B.einsum(args, idxs, out, coef)
    if op == "add":
        return B.add(args)
    if op == "func":
        return F.func(n.params[0], *args)
    if op == "power":
        return B.power(args[0], args[1])
    return F.rebuild(n, args)


def bottom_up(root: Node, rewrite: Callable[[Node], Node]) -> Node:
    """rewrite applied to every node, arguments first, each rebuilt over the rewritten
    arguments (the DAG's sharing kept: each node is rewritten once)."""
    done: dict[Node, Node] = {}
    for n in walk(root):
        check_deadline()
        done[n] = rewrite(rebuild(n, tuple(done[a] for a in n.args)))
    return done[root]


def tree_size(n: Node, memo: dict[Node, int] | None = None) -> int:
    """Size of the node written out as a tree (a shared node counts at each use)."""
    memo = {} if memo is None else memo
    for m in walk(n):
        if m not in memo:
            memo[m] = 1 + sum(memo[a] for a in m.args)
    return memo[n]


class _Pricer:
    """What a candidate costs: the tokens of its printed matrix form where it has one
    (what a reader sees), else a tree-size estimate."""

    def __init__(self):
        from .raising import Raiser
        self.raiser = Raiser()
        self.sizes: dict[Node, int] = {}

    def __call__(self, n: Node) -> int:
        c = self.raiser.cost(n)
        if c is not None:
            return c
        # no matrix form: a scalar, vector or matrix that has lost it (to a factoring
        # through a 3-index intermediate) costs more than any printable candidate
        return 3 * tree_size(n, self.sizes) + (_NO_MATRIX_FORM if n.rank <= 2 else 0)


_price: _Pricer | None = None


def price(n: Node) -> int:
    return _price(n) if _price is not None else tree_size(n)


def simplify(root: Node) -> Node:
    """Pattern rules and expansion bottom up, then factoring bottom up."""
    global _price
    outer, _price = _price, _Pricer()
    try:
        root = bottom_up(root, lambda n: expand(sigmoid_of_exp(n)))
        return bottom_up(root, factor)
    finally:
        _price = outer


# ------------------------------------------------------------------ rules
def as_einsum(t: Node) -> tuple[float, list[Node], list[tuple], tuple]:
    if t.op == "einsum":
        coef, idxs, out = t.params
        return coef, list(t.args), list(idxs), out
    r = tuple(range(t.rank))
    return 1.0, [t], [r], r


def expand(n: Node) -> Node:
    """Distribute an einsum over the sums among its factors, if that is smaller."""
    if n.op != "einsum" or not any(a.op == "add" for a in n.args):
        return n
    # a vector or matrix that is a product through a sum of order > 2 (the adjoint in a
    # Jacobian of a non-scalar, diag(f(a*S)) wrt a twice) has a matrix form only once
    # distributed: it may take more terms
    through = n.rank <= 2 and any(a.op == "add" and a.rank > 2 for a in n.args)
    inert = _inert_sums(n) if n.rank <= 2 else frozenset()
    if all(a in inert for a in n.args if a.op == "add"):
        return n
    expanded = _distribute(n, [0, _MAX_TERMS_THROUGH if through else _MAX_TERMS], inert)
    if expanded is None:
        return n
    expanded = factor(expanded)
    return expanded if price(expanded) < price(n) else n


_STRUCTURAL = ("ones", "const", "delta")


def _factors(t: Node) -> tuple[Node, ...]:
    return t.args if t.op == "einsum" else (t,)


def _term_bases(t: Node) -> list[Node]:
    """The factors of a sum's term that distributing could merge or collect, as power
    bases (`s` for `s.^-1`); ones, numbers and deltas left out."""
    return [B.power_parts(f)[0] for f in _factors(t) if f.op not in _STRUCTURAL]


def _inert_sums(n: Node) -> frozenset[Node]:
    """The sums among an einsum's factors that distributing cannot shorten.

    Distributing a product over sums shortens it only where the terms it makes meet:
    powers of one base merge (`y/s*(1-s)*s`), equal products collect (`x'*(A + A')*x`), or
    a delta or a one in a term drops out (`(eye(n) + A)*B`).  A sum whose terms share no
    base with any other factor, any term of another sum or one another, and hold no delta
    or bare one beside a short remaining product, only multiplies the terms: trying it
    costs time exponential in the number of such sums (the Jacobian of a deep network
    `sum(tanh(W4*tanh(...)))` holds one `1 - t.^2` per layer) and never wins (but a
    product with a negative coefficient keeps one sum, to take the sign in).  A sum of
    order > 2 in a product of order <= 2 is never inert (only distributed has it a
    matrix form); expand() asks only for products of order <= 2, whose price is the
    tokens of their matrix form (a tensor's, in index notation, is not)."""
    owners: dict[Node, set[tuple[int, int]]] = {}
    for k, a in enumerate(n.args):
        if a.op == "add":
            owners.setdefault(a, set()).add((k, -1))
            for ti, t in enumerate(a.args):
                for b in _term_bases(t):
                    owners.setdefault(b, set()).add((k, ti))
        elif a.op not in _STRUCTURAL:
            owners.setdefault(B.power_parts(a)[0], set()).add((k, -1))
    plain = sum(1 for a in n.args if a.op not in _STRUCTURAL and a.op != "add")
    inert = []
    for a in n.args:
        if a.op != "add" or (n.rank <= 2 < a.rank) or len(owners[a]) > 1:
            continue
        bases = [_term_bases(t) for t in a.args]
        if any(len(owners[b]) > 1 for bs in bases for b in bs):
            continue
        bare = sum(1 for bs in bases if not bs)
        delta = any(f.op == "delta" for t in a.args for f in _factors(t))
        others = plain + sum(1 for b in n.args if b.op == "add") - 1
        if bare > 1 or (delta and others <= 4) or (bare and others <= 1) or all(
                f.rank == 0 or f.op == "ones" for t in a.args for f in _factors(t)):
            continue      # (a sum of spread scalars, `alpha*ones(m,n) + ones(m,n)`, too)
        inert.append(a)
    if inert and n.params[0] < 0:
        # -(x - mu)*... is (mu - x)*...: one sum takes the sign in
        inert.remove(min(inert, key=lambda a: len(a.args)))
    return frozenset(inert)


def _distribute(n: Node, budget: list[int], inert: frozenset[Node] = frozenset()) -> Node | None:
    """n with its products distributed over sums (but those in `inert`); budget = [terms
    made, most allowed]."""
    if n.op == "add":
        parts = [_distribute(t, budget, inert) for t in n.args]
        return None if any(p is None for p in parts) else B.add(parts)  # type: ignore[arg-type]
    if n.op != "einsum":
        return n
    check_deadline()
    coef, idxs, out = n.params
    sums = [k for k, a in enumerate(n.args) if a.op == "add" and a not in inert]
    sums.sort(key=lambda k: -_reciprocals(n.args[k]))
    for k in sums:
        a = n.args[k]
        if True:
            budget[0] += len(a.args)
            if budget[0] > budget[1]:
                return None
            terms = []
            for t in a.args:
                ops = list(n.args)
                ops[k] = t
                terms.append(B.einsum(ops, idxs, out, coef))
            return _distribute(B.add(terms), budget, inert)
    return n


def _reciprocals(a: Node) -> int:
    """How many terms of a sum carry a negative power (which distributing may cancel)."""
    count = 0
    for t in a.args:
        for f in (t.args if t.op == "einsum" else (t,)):
            if f.op == "power" and f.args[1].op == "const" and f.args[1].params[0] < 0:
                count += 1
    return count


def factor(n: Node) -> Node:
    """Pull a factor shared by several terms of a sum out of them, while that is smaller."""
    if n.op != "add":
        return n
    best = current = n
    while current.op == "add":   # each pull removes a term, so this ends
        check_deadline()
        cand = _factor_once(current)
        if cand is None or price(cand) > price(current):
            break
        current = cand
        if price(current) < price(best):
            best = current
    return best


def _signature(ix: tuple, out: tuple) -> tuple:
    pos = {lab: p for p, lab in enumerate(out)}
    first: dict[int, int] = {}
    return tuple(("o", pos[lab]) if lab in pos else ("s", first.setdefault(lab, len(first)))
                 for lab in ix)


def _factor_once(n: Node) -> Node | None:
    terms = [as_einsum(t) for t in n.args]
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for ti, (_, ops, idxs, out) in enumerate(terms):
        seen = set()
        for j, (a, ix) in enumerate(zip(ops, idxs)):
            if a.op in ("ones", "const"):
                continue
            key = (a, _signature(ix, out))
            if key not in seen:
                seen.add(key)
                groups.setdefault(key, []).append((ti, j))
    options = [(k, v) for k, v in groups.items() if len(v) >= 2]
    if not options:
        return None
    # the factors shared by most terms first; each candidate pulled shallowly, and
    # only the chosen one's inner sum factored in turn (keeps this polynomial)
    options.sort(key=lambda kv: -len(kv[1]))
    best: tuple | None = None
    for (f, sig), members in options[:_MAX_OPTIONS]:
        check_deadline()
        cand = _pull(n, terms, f, sig, members, deep=False)
        if cand is not None and (best is None or price(cand) < best[0]):
            best = (price(cand), f, sig, members)
    if best is None:
        return None
    return _pull(n, terms, *best[1:], deep=True)


def _pull(n: Node, terms, f: Node, sig: tuple, members: list[tuple[int, int]],
          deep: bool) -> Node | None:
    r = n.rank
    n_summed = len({s for kind, s in sig if kind == "s"})
    std_f = tuple(p if kind == "o" else r + p for kind, p in sig)
    parts = []
    for ti, j in members:
        coef, ops, idxs, out = terms[ti]
        ix = idxs[j]
        # map the term's labels: out -> 0..r-1, F's summed labels -> r..
        ren = {lab: p for p, lab in enumerate(out)}
        for lab, (kind, p) in zip(ix, sig):
            if kind == "s":
                ren[lab] = r + p
        nxt = r + n_summed + 1000
        new_ops, new_idxs = [], []
        dims = {}
        for k, (a, jx) in enumerate(zip(ops, idxs)):
            for lab, d in zip(jx, a.shape):
                if lab not in ren:
                    ren[lab] = nxt
                    nxt += 1
                dims[ren[lab]] = d
            if k != j:
                new_ops.append(a)
                new_idxs.append(tuple(ren[lab] for lab in jx))
        parts.append((coef, new_ops, new_idxs, dims))
    # the remainder keeps the labels that some remainder still carries
    wanted = range(r + n_summed)
    carried = {lab for _, _, ixs, _ in parts for jx in ixs for lab in jx}
    rest_out = tuple(lab for lab in wanted if lab in carried)
    if len(rest_out) > 2 + r:
        return None
    rests = []
    for coef, new_ops, new_idxs, dims in parts:
        present = {lab for jx in new_idxs for lab in jx}
        for lab in rest_out:
            if lab not in present:
                new_ops.append(B.ones(dims[lab]))
                new_idxs.append((lab,))
        rests.append(B.einsum(new_ops, new_idxs, rest_out, coef))
    inner = B.add(rests)
    if deep:
        inner = factor(inner)
    pulled = B.einsum([f, inner], [std_f, rest_out], tuple(range(r)))
    others = [t for ti, t in enumerate(n.args) if ti not in {m[0] for m in members}]
    return B.add([pulled] + others) if others else pulled


def sigmoid_of_exp(n: Node) -> Node:
    """exp(z) ./ (1 + exp(z)) -> sigmoid(z)."""
    if n.op != "einsum":
        return n
    coef, idxs, out = n.params
    ops, ixs = list(n.args), list(idxs)
    for k, a in enumerate(ops):
        if a.op == "power" and a.args[1] is B.const(-1.0) and a.args[0].op == "add":
            terms = a.args[0].args
            if len(terms) != 2:
                continue
            ex = [t for t in terms if t.op == "func" and t.params[0] == "exp"]
            ones = [t for t in terms if t is B.full(a.shape, 1.0)]
            if len(ex) != 1 or len(ones) != 1:
                continue
            for j, b in enumerate(ops):
                if b is ex[0] and ixs[j] == ixs[k]:
                    ops[k] = F.func("sigmoid", ex[0].args[0])
                    del ops[j], ixs[j]
                    return B.einsum(ops, ixs, out, coef)
    return n

