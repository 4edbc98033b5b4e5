"""Name shared subexpressions once: `s.*(1 - s)*v where s = sigmoid(u'*v + b)`."""

from __future__ import annotations

from .. import ast
from ..ops import ALL, rows
from .text import EPOWER, POSTFIX, POWER, PRODUCT, SUM, Measure, level

_PREFERRED = {r.name: r.letter for r in rows() if r.letter}
_SUMS = ("+", "-")


def _at_least(parent: ast.Node, i: int) -> int:
    """The binding level child i of parent needs to print without parentheses (text.py)."""
    if isinstance(parent, ast.Transpose):
        return POSTFIX
    if isinstance(parent, ast.Neg):
        return PRODUCT
    if isinstance(parent, ast.Binary):
        if parent.op in _SUMS:
            return SUM if i == 0 else PRODUCT
        if parent.op == "^":
            return EPOWER if i == 0 else POWER
        if parent.op == ".^":
            return POSTFIX if i == 0 else EPOWER
        return PRODUCT if i == 0 else POWER
    return 0                                    # a call's arguments: never wrapped


class _Dag:
    """The answer as a DAG of distinct subtrees: equal subtrees are one entry, however
    often (and however deeply nested) they occur.  The raiser shares the forms it builds,
    so a chain of nested calls (`inv(inv(inv(X + B1) + B2) + B3)...`) written out as a
    tree is quadratic in its depth; here it stays linear."""

    def __init__(self, root: ast.Node):
        self.ids: dict[int, int] = {}            # id(AST node) -> entry
        self.key_of: dict[tuple, int] = {}       # structural key -> entry
        self.rep: list[ast.Node] = []            # a node of each entry
        self.kids: list[tuple[int, ...]] = []    # entries of its children, in order
        self.keep: list[ast.Node] = []           # holds the nodes whose ids are keys
        self.root = self._intern(root)

    def _intern(self, root: ast.Node) -> int:
        stack: list[tuple[ast.Node, bool]] = [(root, False)]
        while stack:
            n, ready = stack.pop()
            if id(n) in self.ids:
                continue
            kids = ast.children(n)
            if not ready:
                stack.append((n, True))
                stack.extend((k, False) for k in reversed(kids) if id(k) not in self.ids)
                continue
            ks = tuple(self.ids[id(k)] for k in kids)
            key = (ast.own_key(n), ks)
            e = self.key_of.get(key)
            if e is None:
                e = self.key_of[key] = len(self.rep)
                self.rep.append(n)
                self.kids.append(ks)
            self.ids[id(n)] = e
            self.keep.append(n)
        return self.ids[id(root)]

    def first_seen(self) -> list[int]:
        """Entries in the order a walk of the tree (last child first) first meets them."""
        order: list[int] = []
        seen: set[int] = set()
        stack = [self.root]
        while stack:
            e = stack.pop()
            if e in seen:
                continue
            seen.add(e)
            order.append(e)
            stack.extend(self.kids[e])
        return order


def name_shared(body: ast.Node, taken: set[str],
                own: list[tuple[ast.Node, str]] = (),
                ranks: dict[int, int] | None = None) -> ast.Node:
    """Give repeated function applications and sums a name where that makes the answer
    shorter: the largest repeats first, each kept when it saves tokens (`k` uses of a
    t-token expression cost k*t inline, and 2 more for each use in parentheses, k + t + 3
    named: `2*X'*(r./(r.^2 + 1)) where r = X*w - y`), where k counts the uses left once the
    larger names are in place (a use inside a named expression counts once, in its
    definition); then any name that no longer saves tokens, once the smaller names
    shorten its definition, is written inline again.  Linear in the size of the answer's DAG.

    own: the person's own where-names with the subtree each names (LANGUAGE.md: a name
    the person defined keeps that name in the answer): each one the answer holds is named
    so, once or more, whether or not that saves tokens.  ranks: the rank of the value
    of each AST node, by id, where known (a shared sum is named `r`, or `R` for a matrix)."""
    if isinstance(body, ast.Where):
        return body
    dag = _Dag(body)
    theirs = {dag._intern(a): nm for a, nm in own if not isinstance(a, ast.Name | ast.Num)}
    n = len(dag.rep)
    measure = Measure()
    tokens = [measure(r)[0] for r in dag.rep]
    order = dag.first_seen()
    rank = {e: k for k, e in enumerate(order)}
    # parents before children: a parent prints with more tokens than any child
    by_size = sorted(order, key=lambda e: (-tokens[e], rank[e]))

    def candidate(e: int) -> bool:
        r = dag.rep[e]
        return (isinstance(r, ast.Call) and r.func not in ("ones", "eye")) or \
            (isinstance(r, ast.Binary) and r.op in _SUMS)

    # wraps[e][i]: child i of entry e prints in parentheses (a name never does)
    wraps = [tuple(level(dag.rep[k]) < _at_least(dag.rep[e], i)
                   for i, k in enumerate(dag.kids[e])) for e in range(n)]

    def uses(named: set[int]) -> tuple[list[int], list[int]]:
        """How often each entry is written (in the body, and once per definition), and
        how often of those in parentheses."""
        count, wrapped = [0] * n, [0] * n
        count[dag.root] = 1
        for e in by_size:
            out = 1 if e in named else count[e]
            if out:
                for k, w in zip(dag.kids[e], wraps[e]):
                    count[k] += out
                    wrapped[k] += out if w else 0
        return count, wrapped

    def pays(k: int, w: int, t: int) -> bool:
        return k * t + 2 * w > k + t + 3

    # occurrences in the tree, counted on the DAG (only repeats are candidates)
    tree_count = uses(set())[0]
    named: set[int] = set()
    chosen: list[int] = []
    count, wrapped = [0] * n, [0] * n
    count[dag.root] = 1
    for e in by_size:
        if e in theirs and count[e]:
            named.add(e)
            chosen.append(e)
        elif candidate(e) and tree_count[e] >= 2:
            k, t = count[e], tokens[e]
            if k >= 2 and pays(k, wrapped[e], t):
                named.add(e)
                chosen.append(e)
        out = 1 if e in named else count[e]
        if out:
            for c, w in zip(dag.kids[e], wraps[e]):
                count[c] += out
                wrapped[c] += out if w else 0
    # a name whose definition shrank (smaller names inside it) may no longer pay
    while named:
        count, wrapped = uses(named)
        short = _written_tokens(dag, named, by_size, measure, wraps)
        idle = [e for e in chosen if e in named and e not in theirs
                and not pays(count[e], wrapped[e], short[e])]
        if not idle:
            break
        named.discard(min(idle, key=lambda e: (short[e], rank[e])))
    if not named:
        return body
    used = set(taken) | set(ALL) | {"where"} | {theirs[e] for e in named if e in theirs}
    names: dict[int, ast.Name] = {}
    for e in chosen:
        if e in named and e in theirs:
            names[e] = ast.Name(theirs[e])
        elif e in named:
            nm = fresh_name(_letter(dag.rep[e], ranks), used)
            used.add(nm)
            names[e] = ast.Name(nm)
    built: dict[int, ast.Node] = {}
    for e in reversed(by_size):           # children before parents
        built[e] = _with_children(dag.rep[e], [names.get(k) or built[k] for k in dag.kids[e]])
    # definitions in order of size, smallest first, so each uses only earlier names
    defs = sorted((e for e in chosen if e in named), key=lambda e: tokens[e])
    return ast.Where(built[dag.root], tuple((names[e].name, built[e]) for e in defs))


def _letter(r: ast.Node, ranks: dict[int, int] | None) -> str:
    """A shared call's name (its row's letter), or a shared sum's: a residual `r`, `R`."""
    if isinstance(r, ast.Call):
        return _PREFERRED.get(r.func, r.func[0])
    return "R" if ranks is not None and _rank(r, ranks) == 2 else "r"


def _rank(r: ast.Node, ranks: dict[int, int]) -> int | None:
    """The rank of a sum: its own where known, else that of a term (all terms share it)."""
    stack = [r]
    while stack:
        m = stack.pop()
        if id(m) in ranks:
            return ranks[id(m)]
        if isinstance(m, ast.Binary) and m.op in _SUMS:
            stack.extend((m.right, m.left))
        elif isinstance(m, ast.Neg):
            stack.append(m.operand)
    return None


def _written_tokens(dag: _Dag, named: set[int], by_size: list[int], measure: Measure,
                    wraps: list[tuple[bool, ...]]) -> list[int]:
    """Tokens of each entry as written, its named parts replaced by their names."""
    short = [0] * len(dag.rep)
    for e in reversed(by_size):          # children first
        r = dag.rep[e]
        ks = dag.kids[e]
        if not ks:
            short[e] = measure(r)[0]
            continue
        # own: the entry's tokens but its children's, parentheses around them included;
        # a name is an atom, so a named sum drops its parentheses
        own = measure(r)[0] - sum(measure(dag.rep[k])[0] for k in ks)
        short[e] = own + sum((1 - 2 * w) if k in named else short[k]
                             for k, w in zip(ks, wraps[e]))
    return short


def _with_children(n: ast.Node, kids: list[ast.Node]) -> ast.Node:
    if isinstance(n, ast.Call):
        return ast.Call(n.func, tuple(kids))
    if isinstance(n, ast.Neg):
        return ast.Neg(kids[0])
    if isinstance(n, ast.Transpose):
        return ast.Transpose(kids[0])
    if isinstance(n, ast.Binary):
        return ast.Binary(n.op, kids[0], kids[1])
    return n


def fresh_name(base: str, used: set[str]) -> str:
    """base, or base1, base2, ...: the first that is not used."""
    if base not in used:
        return base
    i = 1
    while f"{base}{i}" in used:
        i += 1
    return f"{base}{i}"
