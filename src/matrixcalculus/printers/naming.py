"""Name shared subexpressions once: `s.*(1 - s)*v where s = sigmoid(u'*v + b)`."""

from __future__ import annotations

from .. import ast
from ..ops import ALL, rows
from .text import Measure

_PREFERRED = {r.name: r.letter for r in rows() if r.letter}


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
            if isinstance(n, ast.Num):
                key: tuple = ("num", n.value)
            elif isinstance(n, ast.Name):
                key = ("name", n.name)
            elif isinstance(n, ast.Spec):
                key = ("spec", n.text)
            elif isinstance(n, ast.Call):
                key = ("call", n.func, ks)
            elif isinstance(n, ast.Binary):
                key = ("bin", n.op, ks)
            else:
                key = (type(n).__name__, ks)
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
                own: list[tuple[ast.Node, str]] = ()) -> ast.Node:
    """Give repeated function applications a name where that makes the answer shorter:
    the largest repeats first, each kept when it saves tokens (`k` uses of a t-token call
    cost k*t inline, k + t + 3 named), where k counts the uses left once the larger names
    are in place (a use inside a named expression counts once, in its definition); then
    any name that no longer saves tokens, once the smaller names shorten its definition,
    is written inline again.  Linear in the size of the answer's DAG.

    own: the person's own where-names with the subtree each names (LANGUAGE.md: a name
    the person defined keeps that name in the answer): each one the answer holds is named
    so, once or more, whether or not that saves tokens."""
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
        return isinstance(r, ast.Call) and r.func not in ("ones", "eye")

    def uses(named: set[int]) -> list[int]:
        """How often each entry is written: in the body, and once per definition."""
        count = [0] * n
        count[dag.root] = 1
        for e in by_size:
            out = 1 if e in named else count[e]
            if out:
                for k in dag.kids[e]:
                    count[k] += out
        return count

    # occurrences in the tree, counted on the DAG (only repeats are candidates)
    tree_count = uses(set())
    named: set[int] = set()
    chosen: list[int] = []
    count = [0] * n
    count[dag.root] = 1
    for e in by_size:
        if e in theirs and count[e]:
            named.add(e)
            chosen.append(e)
        elif candidate(e) and tree_count[e] >= 2:
            k, t = count[e], tokens[e]
            if k >= 2 and k * t > k + t + 3:
                named.add(e)
                chosen.append(e)
        out = 1 if e in named else count[e]
        if out:
            for c in dag.kids[e]:
                count[c] += out
    # a name whose definition shrank (smaller names inside it) may no longer pay
    while named:
        count = uses(named)
        short = _written_tokens(dag, named, by_size, measure)
        idle = [e for e in chosen if e in named and e not in theirs
                and not count[e] * short[e] > count[e] + short[e] + 3]
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
            r = dag.rep[e]
            nm = _fresh(_PREFERRED.get(r.func, r.func[0]), used)   # type: ignore[attr-defined]
            used.add(nm)
            names[e] = ast.Name(nm)
    built: dict[int, ast.Node] = {}
    for e in reversed(by_size):           # children before parents
        built[e] = _with_children(dag.rep[e], [names.get(k) or built[k] for k in dag.kids[e]])
    # definitions in order of size, smallest first, so each uses only earlier names
    defs = sorted((e for e in chosen if e in named), key=lambda e: tokens[e])
    return ast.Where(built[dag.root], tuple((names[e].name, built[e]) for e in defs))


def _written_tokens(dag: _Dag, named: set[int], by_size: list[int],
                    measure: Measure) -> list[int]:
    """Tokens of each entry as written, its named parts replaced by their names."""
    short = [0] * len(dag.rep)
    for e in reversed(by_size):          # children first
        r = dag.rep[e]
        ks = dag.kids[e]
        if not ks:
            short[e] = measure(r)[0]
            continue
        # a name replaces a call, an atom either way: the parentheses stay as they are
        own = measure(r)[0] - sum(measure(dag.rep[k])[0] for k in ks)
        short[e] = own + sum(1 if k in named else short[k] for k in ks)
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


def _fresh(base: str, used: set[str]) -> str:
    if base not in used:
        return base
    i = 1
    while f"{base}{i}" in used:
        i += 1
    return f"{base}{i}"
