"""A sum that is the transpose of another sum in the answer, written as that one
transposed, so that the naming of shared subexpressions sees one sum:
`X'*(q.*((s*W' - X)*W)) + (W*s' - X')*s` is `X'*(q.*(R*W)) + R'*s where R = s*W' - X`.
render() keeps it only where the named answer is shorter."""

from __future__ import annotations

from .. import ast

_MOST_SUMS = 64          # past this many distinct sums, not tried (each costs a transpose)


class _Memo:
    """Structural keys, transposes and transpose counts of a tree's nodes, each computed
    once per object: the raiser shares subtrees, so the tree written out can be far larger
    than its objects (a deep answer's hash alone would be exponential)."""

    def __init__(self):
        self.keys: dict[int, int] = {}        # id(node) -> its structure's number
        self.table: dict[tuple, int] = {}
        self.tr: dict[int, ast.Node | None] = {}
        self.count: dict[int, int] = {}
        self.keep: list[ast.Node] = []        # holds the nodes whose ids are memo keys

    def key(self, root: ast.Node) -> int:
        for n in ast.postorder(root, lambda n: id(n) not in self.keys):
            if id(n) in self.keys:
                continue
            ks = tuple(self.keys[id(k)] for k in ast.children(n))
            self.keys[id(n)] = self.table.setdefault((ast.own_key(n), ks), len(self.table))
            self.keep.append(n)
        return self.keys[id(root)]

    def transposed(self, root: ast.Node) -> ast.Node | None:
        for n in ast.postorder(root, lambda n: id(n) not in self.tr):
            if id(n) not in self.tr:
                self.tr[id(n)] = self._tr(n)
                self.keep.append(n)
        return self.tr[id(root)]

    def _tr(self, n: ast.Node) -> ast.Node | None:
        """n' written with the transposes pushed in (None where a form is not covered);
        its children's already computed."""
        if isinstance(n, ast.Num):
            return n
        if isinstance(n, ast.Name | ast.Call):
            return ast.Transpose(n)
        if isinstance(n, ast.Transpose):
            return n.operand
        if isinstance(n, ast.Neg):
            t = self.tr[id(n.operand)]
            return None if t is None else ast.Neg(t)
        if not isinstance(n, ast.Binary):
            return None
        if n.op in (".^", "/") and isinstance(n.right, ast.Num):
            t = self.tr[id(n.left)]
            return None if t is None else ast.Binary(n.op, t, n.right)
        if n.op not in ("+", "-", "*", ".*", "./"):
            return None
        left, right = self.tr[id(n.left)], self.tr[id(n.right)]
        if left is None or right is None:
            return None
        if n.op == "*" and not isinstance(n.left, ast.Num):       # (a*b)' = b'*a'
            return ast.Binary("*", right, left)
        return ast.Binary(n.op, left, right)

    def transposes(self, root: ast.Node) -> int:
        for n in ast.postorder(root, lambda n: id(n) not in self.count):
            if id(n) not in self.count:
                self.count[id(n)] = isinstance(n, ast.Transpose) + sum(
                    self.count[id(k)] for k in ast.children(n))
                self.keep.append(n)
        return self.count[id(root)]


def _sums(tree: ast.Node, memo: _Memo) -> dict[int, ast.Node]:
    """The distinct sums of the tree, by structure: number -> one node of it."""
    found: dict[int, ast.Node] = {}
    seen: set[int] = set()
    stack = [tree]             # in the order of a walk from the root, last child first
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, ast.Binary) and n.op in ("+", "-"):
            found.setdefault(memo.key(n), n)
        stack.extend(ast.children(n))
    return found


def transposed_sums(tree: ast.Node) -> ast.Node | None:
    """The tree with each sum that is another sum's transpose written as that sum
    transposed (of the two, the one with fewer transposes kept), or None if none is."""
    memo = _Memo()
    sums = _sums(tree, memo)
    if len(sums) < 2 or len(sums) > _MOST_SUMS:
        return None
    swap: dict[int, ast.Node] = {}       # a sum's number -> the other sum transposed
    for k, s in sums.items():
        t = memo.transposed(s)
        if t is None:
            continue
        kt = memo.key(t)
        if kt == k or kt not in sums or k in swap or kt in swap:
            continue
        t = sums[kt]
        keep, other = (s, kt) if memo.transposes(s) <= memo.transposes(t) else (t, k)
        swap[other] = ast.Transpose(keep)
    if not swap:
        return None
    built: dict[int, ast.Node] = {}
    for n in ast.postorder(tree):        # children first, each object once
        k = memo.key(n)
        if k in swap:
            built[id(n)] = swap[k]
            continue
        kids = ast.children(n)
        new = [built[id(c)] for c in kids]
        built[id(n)] = n if all(a is b for a, b in zip(new, kids)) else \
            ast.with_children(n, new)
    return built[id(tree)]
