"""Global simplification: rewrites that need a choice, kept only where they shorten.

The constructors in ir/build.py already normalise locally.  Here, bottom up over
the DAG, each einsum may be expanded over the sums among its factors (so that
`y/s*(1-s)*s - (1-y)/(1-s)*(1-s)*s` collapses to `s - y`), and each sum may be
factored by a factor its terms share (`A'*x + A*x` -> `(A + A')*x`).  A rewrite
is kept when the printed answer gets shorter: two passes of named rows on the
driver of ir/rewrite.py, priced by a Pricer made for the run.  Polynomials in the value of
tanh or sigmoid are kept factored by their limits (`s.*(1 - s).*(1 - 2*s)`,
polynomials.py): the chain rule's factors are not distributed beside another power of
that value, and a sum that cancels where the function saturates prices high.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import matfun_rewrites, matrix_algebra
from .ir import build as B
from .ir import elementwise_rules as E
from .ir import functions as F
from .ir import reductions, signs
from .ir import softmax_rules as S
from .ir.nodes import Node, walk
from .ir.rewrite import Factoring, Keep, Rewrite, distribute, factor, run
from .ir.sandwich import regrouped, shows_symmetry
from .polynomials import Cancellation, polynomial_base, sound

_MAX_TERMS = 48
_MAX_TERMS_THROUGH = 256     # ... for a product through a sum of order > 2 (see expand)
_NO_MATRIX_FORM = 10_000     # price added to a rank <= 2 candidate without a matrix form
_CANCELS = 100               # price added per sum that cancels where a function saturates


def tree_size(n: Node, memo: dict[Node, int] | None = None) -> int:
    """Size of the node written out as a tree (a shared node counts at each use)."""
    memo = {} if memo is None else memo
    for m in walk(n):
        if m not in memo:
            memo[m] = 1 + sum(memo[a] for a in m.args)
    return memo[n]


class Pricer:
    """What a candidate costs: the tokens of its printed matrix form where it has one
    (what a reader sees), else a tree-size estimate; and more for each sum that cancels
    where a function saturates (polynomials.py: numerically sound forms first)."""

    def __init__(self):
        from .raising import Raiser
        from .raising.search import PRICING_DP_LIMIT
        # it prices hundreds of candidate sums, the products in them searched
        # exhaustively only up to PRICING_DP_LIMIT factors (3^n pairs of subsets each);
        # the answer chosen is raised again by a printer's raiser, to search._DP_LIMIT
        self.raiser = Raiser(dp_limit=PRICING_DP_LIMIT)
        self.sizes: dict[Node, int] = {}
        self.cancelling = Cancellation()

    def __call__(self, n: Node) -> int:
        penalty = _CANCELS * self.cancelling.count(n)
        c = self.raiser.cost(n)
        if c is not None:
            return c + penalty
        # no matrix form: a scalar, vector or matrix that has lost it (to a factoring
        # through a 3-index intermediate) costs more than any printable candidate
        return 3 * tree_size(n, self.sizes) + (_NO_MATRIX_FORM if n.rank <= 2 else 0) + penalty


def shorter(price: Pricer) -> Keep:
    """keep(new, old): new prices lower (each node priced once per run)."""
    memo: dict[Node, int] = {}

    def cost(n: Node) -> int:
        c = memo.get(n)
        if c is None:
            c = memo[n] = price(n)
        return c
    return lambda new, old: cost(new) < cost(old)


def no_longer(price: Pricer) -> Keep:
    """keep(new, old): new prices no higher (a normal form taken where it ties)."""
    return lambda new, old: price(new) <= price(old)


def polynomial_row(price: Pricer) -> Rewrite:
    return Rewrite("a polynomial in tanh(x), sigmoid(x): factored by its limits",
                   {"add", "einsum"}, sound, no_longer(price))


def expand_rows(keep: Keep, price: Pricer) -> list[Rewrite]:
    factoring = Factoring(keep)
    rows = [polynomial_row(price),
            Rewrite("sum(X - mean(X, k), k) -> 0", {"einsum"}, reductions.centred_vanishes),
            Rewrite("mean(a + m.*Xc, k) -> mean(a, k) where mean(Xc, k) = 0", {"einsum"},
                    reductions.vanishing_terms_dropped, keep),
            # ties kept: the one node is what factoring and the printer's names need
            Rewrite("a*(u - v) + b*(v - u) -> a*(u - v) - b*(u - v)", {"add"},
                    signs.aligned_signs, no_longer(price)),
            Rewrite("exp(z)./(1 + exp(z)) -> sigmoid(z)", {"einsum"}, sigmoid_of_exp),
            *elementwise_rows(keep), *softmax_rows(keep), *matfun_rewrites.rows(keep),
            *matrix_algebra.rows(keep)]
    # the products that distributing makes meet the product rows before factoring
    # (a*(e/sum(e)) -> e.*a/sum(e) -> softmax(x).*a)
    products = [r for r in rows if "einsum" in r.ops]
    return [*rows, Rewrite("distribute a product over its sums, then factor", {"einsum"},
                           lambda n: expand(n, factoring, products), keep)]


def softmax_rows(keep: Keep) -> list[Rewrite]:
    """The softmax and logsumexp identities (ir/softmax_rules.py), along any axis."""
    return [
        Rewrite("exp(x)./sum(exp(x), k) -> softmax(x, k)", {"einsum"}, S.softmax_of_exp_ratio),
        Rewrite("log(sum(exp(x), k)) -> logsumexp(x, k)", {"func"},
            S.logsumexp_of_log_sum_exp),
        Rewrite("exp(x - logsumexp(x, k)) -> softmax(x, k)", {"func"}, S.exp_minus_logsumexp),
        Rewrite("sum(softmax(x, k), k) -> 1", {"einsum"}, S.softmax_sums_to_one),
        Rewrite("log(softmax(x, k)) -> x - logsumexp(x, k)", {"func", "add"}, S.log_of_softmax,
            keep),
    ]


def tanh_row(keep: Keep) -> Rewrite:
    """In both passes: the factored numerator it needs first appears in factoring."""
    return Rewrite("(exp(u) - exp(-u))./(exp(u) + exp(-u)) -> tanh(u)", {"einsum"},
                   lambda n: E.tanh_of_exp(n, keep))


def elementwise_rows(keep: Keep) -> list[Rewrite]:
    """Exact identities of the elementwise functions (ir/elementwise_rules.py)."""
    return [
        Rewrite("step(u).*f -> f where f = 0 for u <= 0", {"einsum"}, E.gate_dropped),
        tanh_row(keep),
        Rewrite("1 - sigmoid(-u) -> sigmoid(u)", {"add"}, E.sigmoid_complement, keep),
        Rewrite("x.*x.^p -> x.^(p+1) for a product x", {"einsum"}, E.powers_of_products,
                keep),
        Rewrite("n^-1*sum(ones(n)) -> 1", {"einsum"}, E.sizes_cancelled),
    ]


def factor_rows(keep: Keep, price: Pricer) -> list[Rewrite]:
    """The sandwich row keeps what is no longer once shared calls are named (the symmetric
    form winning a tie); the polynomial row runs again on what factoring made."""
    factoring = Factoring(keep)
    # factor() answers only a sum that prices lower; the products it makes meet the rows
    # that need a factored numerator ((e - e1)./(e + e1) is tanh)
    named = named_no_longer(price)
    return [Rewrite("L'*X*R + L'*Y*R -> L'*(X + Y)*R", {"add", "einsum"}, regrouped, named),
            Rewrite("pull a factor shared by terms out of a sum", {"add"},
                lambda n: factor(n, factoring)),
            tanh_row(keep), polynomial_row(price)]


def simplify(root: Node, price: Pricer | None = None) -> Node:
    """Pattern rules and expansion bottom up, then factoring bottom up."""
    price = Pricer() if price is None else price
    keep = shorter(price)
    return run(run(root, expand_rows(keep, price)), factor_rows(keep, price))


def named_no_longer(price: Pricer) -> Keep:
    """keep(new, old): new prints in no more tokens than old once each prints its repeated
    calls named (`where p = softmax(W*x)`: the answer's own naming), and where as short,
    new shows its symmetry (W'*(diag(p) - p*p')*W, not (W - p'*W)'*diag(p)*W)."""
    from .printers.naming import name_shared
    from .raising import NoMatrixForm

    def tokens(n: Node) -> int | None:
        try:
            a = price.raiser.lift(n)
        except NoMatrixForm:
            return None
        return price.raiser.measure(name_shared(a, set()))[0]

    def keep(new: Node, old: Node) -> bool:
        a, b = tokens(new), tokens(old)
        if a is None or b is None:
            return False
        return a < b or (a == b and shows_symmetry(new) and not shows_symmetry(old))
    return keep


# ------------------------------------------------------------------ rules
def expand(n: Node, factoring: Factoring, products: Sequence[Rewrite] = ()) -> Node | None:
    """The einsum distributed over the sums among its factors (but the inert ones), each
    product made rewritten by the rows `products`, then factored: the row's keep decides
    whether that is shorter."""
    if not any(a.op == "add" for a in n.args):
        return None
    # a vector or matrix that is a product through a sum of order > 2 (the adjoint in a
    # Jacobian of a non-scalar, diag(f(a*S)) wrt a twice) has a matrix form only once
    # distributed: it may take more terms
    through = n.rank <= 2 and any(a.op == "add" and a.rank > 2 for a in n.args)
    inert = (_inert_sums(n) if n.rank <= 2 else frozenset()) | _chain_rule_sums(n)
    if all(a in inert for a in n.args if a.op == "add"):
        return None

    def over(m: Node) -> list[int]:
        # one sum at a time, the one with most reciprocals (which distributing may cancel)
        sums = [k for k, a in enumerate(m.args) if a.op == "add" and a not in inert]
        return sorted(sums, key=lambda k: -_reciprocals(m.args[k]))[:1]
    expanded = distribute(n, over, most_terms=_MAX_TERMS_THROUGH if through else _MAX_TERMS)
    if expanded is None:
        return None
    if products:
        terms = expanded.args if expanded.op == "add" else (expanded,)
        expanded = B.add([_rewritten(t, products) for t in terms])
    return factor(expanded, factoring)


def _rewritten(t: Node, rows: Sequence[Rewrite]) -> Node:
    """One product through the rows, once each (rows whose keep is None: they choose)."""
    for row in rows:
        if t.op in row.ops and row.keep is None:
            t = row.rewrite(t) or t
    return t


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
    if inert and n.coef < 0:
        # -(x - mu)*... is (mu - x)*...: one sum takes the sign in
        inert.remove(min(inert, key=lambda a: len(a.args)))
    return frozenset(inert)


def _chain_rule_sums(n: Node) -> frozenset[Node]:
    """The sums among an einsum's factors that are polynomials in one saturating
    function's value (`1 - s`, `1 - 2*t.^2`: polynomials.py) beside another factor that
    holds that value: the chain rule's factors, kept.  Distributed there, they only raise
    powers of the value (`s - s.^2`), and the polynomial they make cancels where the
    function saturates; like terms they would meet, factoring (a power's base pulled at
    its lowest power) collects.  Beside no other power of it (`(1 - s)*y`) they may
    distribute: their terms may meet another sum's (`(1 - y)*s - (1 - s)*y` is `s - y`)."""
    memo: dict = {}
    found = {a: b for a in n.args if a.op == "add"
             and isinstance(b := polynomial_base(a, memo), Node)}
    if not found:
        return frozenset()
    held: dict[Node, int] = {}          # base -> how many factors hold it
    for a in n.args:
        own = polynomial_base(a, memo)
        bases = {own} if isinstance(own, Node) else set(_term_bases_of(a))
        for b in bases:
            held[b] = held.get(b, 0) + 1
    return frozenset(a for a, b in found.items() if held.get(b, 0) > 1)


def _term_bases_of(a: Node) -> list[Node]:
    """The power bases of a factor, or of the factors of its terms if it is a sum."""
    if a.op == "add":
        return [b for t in a.args for b in _term_bases(t)]
    return [B.power_parts(a)[0]]


def _reciprocals(a: Node) -> int:
    """How many terms of a sum carry a negative power (which distributing may cancel)."""
    count = 0
    for t in a.args:
        for f in (t.args if t.op == "einsum" else (t,)):
            if f.op == "power" and f.args[1].op == "const" and f.args[1].value < 0:
                count += 1
    return count


def sigmoid_of_exp(n: Node) -> Node | None:
    """exp(z) ./ (1 + exp(z)) -> sigmoid(z)."""
    coef, idxs, out = n.params
    ops, ixs = list(n.args), list(idxs)
    for k, a in enumerate(ops):
        if a.op == "power" and a.args[1] is B.const(-1.0) and a.args[0].op == "add":
            terms = a.args[0].args
            if len(terms) != 2:
                continue
            ex = [t for t in terms if t.op == "func" and t.name == "exp"]
            ones = [t for t in terms if t is B.full(a.shape, 1.0)]
            if len(ex) != 1 or len(ones) != 1:
                continue
            for j, b in enumerate(ops):
                if b is ex[0] and ixs[j] == ixs[k]:
                    ops[k] = F.func("sigmoid", ex[0].args[0])
                    del ops[j], ixs[j]
                    return B.einsum(ops, ixs, out, coef)
    return None
