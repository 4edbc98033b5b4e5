"""Raise IR back to matrix notation: einsum index patterns -> products, transposes,
traces, diag, Hadamard products, sums (DESIGN.md section 4).

Each einsum's factors are combined pairwise; every way of combining them is
tried (dynamic programming over subsets) and the shortest printed form wins, so
`a[i] a[j] x[j]` comes out as `a*a'*x` and `A[i,j] ones[i] ones[k]` as
`A'*ones(m,k)`.  Where no matrix form exists (a product that needs more than
two free indices), NoMatrixForm is raised and the caller prints index notation.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from . import ast
from .ir.build import coef_and_base, is_symmetric, power_parts
from .ir.build import einsum as ir_einsum
from .ir.nodes import Node, walk
from .limits import check_deadline
from .printers.text import ByIdentity, Measure, Texts, to_text

Shape = tuple[bool, bool]    # (has a rows axis, has a cols axis)
SCALAR: Shape = (False, False)
COLUMN: Shape = (True, False)
MATRIX: Shape = (True, True)
_DP_LIMIT = 7                # factors beyond this are combined greedily


class NoMatrixForm(Exception):
    pass


_NONE = object()      # dp_memo: a group without a matrix form


def num(v: float) -> ast.Node:
    return ast.Neg(ast.Num(-v)) if v < 0 else ast.Num(v)


def dim_ast(d) -> ast.Node:
    return ast.Num(d) if isinstance(d, int) else ast.Name(d)


def shortest(cands: list, measure, text=to_text) -> object:
    """The candidate (a Piece or an AST) printing shortest: fewest tokens, then fewest
    characters, then alphabetical (`w'*x`, not `x'*w`)."""
    def key(c):
        return measure(c.ast if isinstance(c, Piece) else c)
    best = min(key(c) for c in cands)
    tied = [c for c in cands if key(c) == best]
    if len(tied) == 1:
        return tied[0]
    return min(tied, key=lambda c: text(c.ast if isinstance(c, Piece) else c))


@dataclass(frozen=True)
class Piece:
    ast: ast.Node
    idx: tuple[int, ...]
    den: bool = False            # ast is a denominator: the factor is 1 ./ ast


class Raiser:
    """Raises IR nodes, remembering each node's matrix form (one instance per answer,
    or per simplification run, where it prices the candidates)."""

    def __init__(self, root: Node | None = None):
        self.var_shape: dict[str, Shape] = {}
        self.symmetric: set[str] = set()
        if root is not None:
            for n in walk(root):
                if n.op == "var":
                    self._register(n)
        self.memo: dict[Node, ast.Node] = {}
        self.failed: set[Node] = set()
        self.shape = ByIdentity(self._shape)
        self.measure = Measure()
        self.T = ByIdentity(self._transpose)
        self.sym_ids: set[int] = set()     # ids of raised ASTs of symmetric matrices
        self.tallies: dict[int, tuple[ast.Node, tuple[int, int]]] = {}
        self.texts = Texts()
        self.dp_memo: dict[tuple, Piece] = {}    # combine_all's groups (see there)
        self.dp_alive: list[ast.Node] = []        # the ASTs whose ids key dp_memo

    def _register(self, n: Node) -> None:
        name, sym = n.params
        self.var_shape[name] = [SCALAR, COLUMN, MATRIX][n.rank]
        if sym:
            self.symmetric.add(name)

    def cost(self, n: Node) -> int | None:
        """Tokens of the node's matrix form plus a little for the array operations in
        it (prefer `(s - 1)*v` to `s*v - v`: as short to read, and less to compute), or
        None where it has no matrix form."""
        if n in self.failed:
            return None
        try:
            a = self.lift(n)
        except NoMatrixForm:
            self.failed.add(n)
            return None
        return self.measure(a)[0] + self._array_work(a)

    def _order_key(self, n: Node) -> int:
        try:
            a = self.lift(n)
        except NoMatrixForm:
            return 0
        return 2 * self._tally(a)[0] - self.measure(a)[0]

    def _array_work(self, a: ast.Node) -> int:
        """3 per sum and 1 per product of arrays: among equally short forms, prefer the
        one that computes less."""
        return self._tally(a)[1]

    def _tally(self, a: ast.Node) -> tuple[int, int]:
        """(transposes, array work) of the tree, counted once per shared subtree (the
        raiser's forms share their parts: a walk of the tree would be quadratic)."""
        hit = self.tallies.get(id(a))
        if hit is not None and hit[0] is a:
            return hit[1]
        stack = [(a, False)]
        while stack:
            x, ready = stack.pop()
            got = self.tallies.get(id(x))
            if got is not None and got[0] is x:
                continue
            kids = ast.children(x)
            if not ready:
                check_deadline()
                stack.append((x, True))
                stack.extend((k, False) for k in kids)
                continue
            t = int(isinstance(x, ast.Transpose))
            w = 0
            if isinstance(x, ast.Binary) and self.shape(x) != SCALAR:
                w = 3 if x.op in "+-" else (1 if x.op == "*" else 0)
            for k in kids:
                kt, kw = self.tallies[id(k)][1]
                t, w = t + kt, w + kw
            self.tallies[id(x)] = (x, (t, w))
        return self.tallies[id(a)][1]

    # ------------------------------------------------------------ shapes of ASTs
    def _shape(self, a: ast.Node) -> Shape:
        if isinstance(a, ast.Num):
            return SCALAR
        if isinstance(a, ast.Name):
            return self.var_shape.get(a.name, SCALAR)
        if isinstance(a, ast.Neg):
            return self.shape(a.operand)
        if isinstance(a, ast.Transpose):
            r, c = self.shape(a.operand)
            return (c, r)
        if isinstance(a, ast.Binary):
            ls, rs = self.shape(a.left), self.shape(a.right)
            if a.op == "*":
                if ls == SCALAR:
                    return rs
                if rs == SCALAR:
                    return ls
                return (ls[0], rs[1])
            if a.op in ("^",):
                return SCALAR
            if a.op == "/":
                return ls
            return ls if ls != SCALAR else rs     # .^ too: 2.^x has the shape of x
        if isinstance(a, ast.Call):
            f = a.func
            if f == "ones":
                return COLUMN if len(a.args) == 1 else MATRIX
            if f == "eye":
                return MATRIX
            if f in ("sum", "tr", "det", "logdet", "norm2", "norm1", "logsumexp"):
                return SCALAR
            s = self.shape(a.args[0])
            if f == "diag":
                return MATRIX if s in (COLUMN, (False, True)) else (COLUMN if s == MATRIX else s)
            return s
        raise TypeError(type(a).__name__)

    # ------------------------------------------------------------ building blocks
    def _transpose(self, a: ast.Node) -> ast.Node:
        """The transpose of a, pushed inwards where that is shorter (self.T, memoised)."""
        s = self.shape(a)
        if s == SCALAR:
            return a
        if isinstance(a, ast.Transpose):
            return a.operand
        if isinstance(a, ast.Name) and a.name in self.symmetric or id(a) in self.sym_ids:
            return a
        if isinstance(a, ast.Call):
            if a.func == "eye" or (a.func == "diag" and s == MATRIX):
                return a
            if a.func == "ones" and len(a.args) == 2:
                return ast.Call("ones", (a.args[1], a.args[0]))
            if a.func in ("inv",) and self._is_symmetric(a.args[0]):
                return a
        plain = ast.Transpose(a)
        alt = None
        if isinstance(a, ast.Neg):
            alt = ast.Neg(self.T(a.operand))
        elif isinstance(a, ast.Binary):
            ls, rs = self.shape(a.left), self.shape(a.right)
            if a.op == "*":
                if ls == SCALAR:
                    alt = self.mul(a.left, self.T(a.right))
                elif rs == SCALAR:
                    alt = self.mul(self.T(a.left), a.right)
                else:
                    alt = self.mul(self.T(a.right), self.T(a.left))
            elif a.op in ("+", "-", ".*", "./"):
                alt = ast.Binary(a.op, self.T(a.left), self.T(a.right))
            elif a.op == "/" or a.op == ".^" and rs == SCALAR:
                alt = ast.Binary(a.op, self.T(a.left), a.right)
            elif a.op == ".^":                   # (X.^Y)' = X'.^Y'
                alt = ast.Binary(a.op, self.T(a.left), self.T(a.right))
        if alt is not None and self.measure(alt) < self.measure(plain):
            return alt
        return plain

    def _is_symmetric(self, a: ast.Node) -> bool:
        return isinstance(a, ast.Name) and a.name in self.symmetric

    def mul(self, a: ast.Node, b: ast.Node) -> ast.Node:
        """a*b, written as a left-to-right chain where that keeps the meaning; numbers go
        in front, folded into one (`A'*(8*A)` is `8*A'*A`, `2*(0.5*X)` is `X`)."""
        ca, ra = _leading_number(a)
        cb, rb = _leading_number(b)
        if ra is a and rb is b:
            return self._mul(a, b)
        c = ca * cb
        if ra is None and rb is None:
            return num(c)
        rest = rb if ra is None else (ra if rb is None else self._mul(ra, rb))
        return rest if c == 1 else self._mul(ast.Num(c), rest)

    def _mul(self, a: ast.Node, b: ast.Node) -> ast.Node:
        sa, sb = self.shape(a), self.shape(b)
        if isinstance(a, ast.Num) and a.value == 1:
            return b
        if isinstance(b, ast.Num) and b.value == 1:
            return a
        if isinstance(a, ast.Call) and a.func == "eye" and sb != SCALAR:
            return b
        if isinstance(b, ast.Call) and b.func == "eye" and sa != SCALAR:
            return a
        # v'*ones(n) and ones(n)'*v are sum(v)
        if isinstance(a, ast.Transpose) and self.shape(a.operand) == COLUMN and _is_ones(b):
            return ast.Call("sum", (a.operand,))
        if isinstance(a, ast.Transpose) and _is_ones(a.operand) and sb == COLUMN:
            return ast.Call("sum", (b,))
        if sb != SCALAR and sa == SCALAR and isinstance(b, ast.Binary) and b.op == "*" \
                and self.shape(b.left) == SCALAR:
            # s*(t*X) -> s*t*X
            return ast.Binary("*", self.mul(a, b.left), b.right)
        if isinstance(b, ast.Binary) and b.op == "*":
            s1 = self.shape(b.left)
            if sa == SCALAR or s1 == SCALAR or sa[1] == s1[0]:
                return ast.Binary("*", self.mul(a, b.left), b.right)
        return ast.Binary("*", a, b)

    # ------------------------------------------------------------ IR -> AST
    def lift(self, n: Node) -> ast.Node:
        hit = self.memo.get(n)
        if hit is None:
            hit = self.memo[n] = self._lift(n)
            if n.rank == 2 and is_symmetric(n):
                self.sym_ids.add(id(hit))
        return hit

    def _lift(self, n: Node) -> ast.Node:
        check_deadline()
        op = n.op
        if op == "var":
            self._register(n)
            return ast.Name(n.params[0])
        if op == "const":
            return num(n.params[0])
        if op == "ones":
            return ast.Call("ones", (dim_ast(n.shape[0]),))
        if op == "delta":
            return ast.Call("eye", (dim_ast(n.shape[0]),))
        if op == "zero":
            if n.rank == 0:
                return ast.Num(0.0)
            if n.rank > 2:
                raise NoMatrixForm
            return ast.Binary("*", ast.Num(0.0),
                              ast.Call("ones", tuple(dim_ast(d) for d in n.shape)))
        if n.rank > 2:
            raise NoMatrixForm
        if op == "func":
            return ast.Call(n.params[0], tuple(self.lift(a) for a in n.args))
        if op == "power":
            return self.power(n)
        if op == "prim":
            return ast.Call(n.params[0], (self.lift(n.args[0]),))
        if op == "add":
            return self.add(n)
        if op == "einsum":
            return self.einsum(n)
        raise NoMatrixForm

    def power(self, n: Node) -> ast.Node:
        base, e = power_parts(n)
        v = _sum_of_squares(base)
        if v is not None and e is not None and e != 1:
            # (x'*x)^p is norm2(x)^(2p)
            norm = ast.Call("norm2", (self.lift(v),))
            if e < 0:
                return ast.Binary("/", ast.Num(1.0), self.positive_power(norm, -2 * e, 0))
            return self.positive_power(norm, 2 * e, 0)
        if e is not None and e < 0:
            den = self.positive_power(self.lift(base), -e, n.rank)
            return ast.Binary("./" if n.rank else "/", ast.Num(1.0), den)
        if e is None or n.args[1].op != "const":
            b, x = n.args
            scalar = _broadcast_scalar(b) if x.rank else None
            if scalar is not None:               # 2.^x rather than (2*ones(n)).^x
                return ast.Binary(".^", self.lift(scalar), self.lift(x))
            return ast.Binary(".^" if n.rank else "^", self.lift(b), self.lift(x))
        return self.positive_power(self.lift(base), e, n.rank)

    def positive_power(self, b: ast.Node, e: float, rank: int,
                       node: Node | None = None) -> ast.Node:
        if node is not None:
            v = _sum_of_squares(node)
            if v is not None:
                return self.positive_power(ast.Call("norm2", (self.lift(v),)), 2 * e, 0)
        if e == 1:
            return b
        if e == 0.5:
            return ast.Call("sqrt", (b,))
        return ast.Binary(".^" if rank else "^", b, ast.Num(e))

    def add(self, n: Node) -> ast.Node:
        parts = [coef_and_base(t) for t in n.args]
        spread = [_broadcast_scalar(b) for _, b in parts]
        mixed = any(x is None for x in spread)     # `s + 1` spreads the 1; alone it cannot
        # each term as (coefficient, base, written form); a number or a sign in front of
        # the written form joins the coefficient (`2*(0.5*X)` is `X`, `+ -X` is `- X`)
        terms: list[tuple[float, Node, ast.Node | None]] = []
        for (c, base), scalar in zip(parts, spread):
            shown = scalar if mixed and scalar is not None else base
            if shown.op == "const":
                terms.append((c * shown.params[0], base, None))
            else:
                k, body = _split_number(self.lift(shown))
                terms.append((c * k, base, body))
        mags = {abs(c) for c, _, _ in terms}
        common = mags.pop() if len(mags) == 1 else 1.0
        if common != 1:
            terms = [(c / common, b, body) for c, b, body in terms]
        # positive terms first, larger ones first, a transpose counting against:
        # `u'*v + b`, `X*w + b - y`, `A + A'`
        terms.sort(key=lambda t: (t[0] < 0, self._order_key(t[1])))
        acc: ast.Node | None = None
        for c, _, shown_ast in terms:
            body = num(abs(c)) if shown_ast is None else self.mul(num(abs(c)), shown_ast)
            if acc is None:
                acc = ast.Neg(body) if c < 0 else body
            else:
                acc = ast.Binary("-" if c < 0 else "+", acc, body)
        assert acc is not None
        if common != 1:
            acc = self.mul(ast.Num(common), acc)
        return acc

    # ------------------------------------------------------------ einsum
    def factors(self, n: Node):
        """An einsum's factors: scalar numerators and denominators, and the rest as pieces
        (with ones added for labels summed inside a single factor)."""
        coef, idxs, out = n.params
        dims: dict[int, object] = {}
        for a, ix in zip(n.args, idxs):
            dims.update(zip(ix, a.shape))
        nums: list[ast.Node] = []
        dens: list[ast.Node] = []
        pieces: list[Piece] = []
        for k, (a, ix) in enumerate(zip(n.args, idxs)):
            base, e = power_parts(a)
            negative = a.op == "power" and e is not None and e < 0
            if a.rank == 0:
                if negative:
                    dens.append(self.positive_power(self.lift(base), -e, 0, base))  # type: ignore[operator]
                else:
                    nums.append(self.lift(a))
                continue
            if len(set(ix)) < len(ix):          # X[i,i]
                i = ix[0]
                elsewhere = i in out or any(i in jx for j, jx in enumerate(idxs) if j != k)
                if elsewhere:
                    pieces.append(Piece(ast.Call("diag", (self.lift(a),)), (i,)))
                else:
                    nums.append(ast.Call("tr", (self.lift(a),)))
                continue
            if negative:
                pieces.append(Piece(self.positive_power(self.lift(base), -e, a.rank),  # type: ignore[operator]
                                    ix, den=True))
            else:
                pieces.append(Piece(self.lift(a), ix))
        counts: dict[int, int] = {}
        for p in pieces:
            for lab in p.idx:
                counts[lab] = counts.get(lab, 0) + 1
        for lab, c in list(counts.items()):
            if c == 1 and lab not in out:
                pieces.append(Piece(ast.Call("ones", (dim_ast(dims[lab]),)), (lab,)))
        # numbers inside factors (2*(A*x - b)) join the coefficient
        scale = 1.0
        for k, x in enumerate(nums):
            c, nums[k] = _split_number(x)
            scale *= c
        for k, p in enumerate(pieces):
            if not p.den:
                c, a = _split_number(p.ast)
                scale *= c
                pieces[k] = Piece(a, p.idx)
        self.scale = scale
        return nums, dens, pieces, dims

    def einsum(self, n: Node) -> ast.Node:
        coef, idxs, out = n.params
        nums, dens, pieces, _ = self.factors(n)
        coef *= self.scale
        mat: ast.Node | None = None
        if pieces:
            best = self.combine_all(pieces, tuple(out))
            if best.den:
                best = self.materialize(best)
            if len(best.idx) != len(out) or set(best.idx) != set(out):
                raise NoMatrixForm
            mat = best.ast
            if len(out) == 2 and best.idx != tuple(out):
                mat = self.T(mat)
        expr: ast.Node | None = None
        for s in nums:
            expr = s if expr is None else self.mul(expr, s)
        if mat is not None:
            expr = mat if expr is None else self.mul(expr, mat)
        if dens:
            den = dens[0]
            for d in dens[1:]:
                den = ast.Binary("*", den, d)
            if expr is None:
                expr, coef = num(coef), 1.0
            expr = ast.Binary("/", expr, den)
        if expr is None:
            return num(coef)
        if coef == -1:
            return ast.Neg(expr)
        if coef != 1:
            body = self.mul(ast.Num(abs(coef)), expr)
            return ast.Neg(body) if coef < 0 else body
        return expr

    def materialize(self, p: Piece) -> Piece:
        return Piece(ast.Binary("./", ast.Num(1.0), p.ast), p.idx)

    def combine_all(self, pieces: list[Piece], out: tuple[int, ...]) -> Piece:
        n = len(pieces)
        labels = [set(p.idx) for p in pieces]
        if n == 1:
            return pieces[0]
        if n > _DP_LIMIT:
            return self.greedy(pieces, out)
        full = (1 << n) - 1
        best: dict[int, Piece] = {1 << k: pieces[k] for k in range(n)}
        self.dp_alive.extend(p.ast for p in pieces)     # their ids key dp_memo
        for mask in sorted(range(1, full + 1), key=lambda m: bin(m).count("1")):
            if mask in best:
                continue
            check_deadline()
            keep = set(out).union(*[labels[j] for j in range(n) if not mask >> j & 1])
            # the best form of a group depends only on its factors (in their order) and
            # on which of their labels stay: the simplifier prices many products that
            # share most factors, so groups are remembered across products, relabelled
            ren: dict[int, int] = {}
            key_parts = []
            for j in range(n):
                if mask >> j & 1:
                    p = pieces[j]
                    key_parts.append((id(p.ast), tuple(ren.setdefault(lab, len(ren))
                                                      for lab in p.idx), p.den))
            key = (tuple(key_parts), frozenset(ren[lab] for lab in keep if lab in ren))
            hit = self.dp_memo.get(key)
            if hit is not None:
                if hit is not _NONE:
                    back = {v: k for k, v in ren.items()}
                    best[mask] = Piece(hit.ast, tuple(back[lab] for lab in hit.idx), hit.den)
                continue
            cands: list[Piece] = []
            sub = (mask - 1) & mask
            while sub:
                other = mask ^ sub
                if sub < other and sub in best and other in best:
                    cands += self.combine(best[sub], best[other], keep)
                sub = (sub - 1) & mask
            if cands:
                got = best[mask] = shortest(cands, self.measure, self.texts)
                self.dp_memo[key] = Piece(got.ast, tuple(ren[lab] for lab in got.idx), got.den)
            else:
                self.dp_memo[key] = _NONE
        if full not in best:
            raise NoMatrixForm
        return best[full]

    def greedy(self, pieces: list[Piece], out: tuple[int, ...]) -> Piece:
        """Combine the cheapest pair first (the earliest pair among equals), pairs that
        share a label (or hold a scalar) before the others.

        A pair's ways stay valid while its kept labels do, and those change only when a
        piece carrying one of its labels is combined; so each step looks only at the
        pairs of the new piece and of its neighbours (a heap holds the rest), and a chain
        of n factors takes about n log n steps, not n^3."""
        import heapq
        outs = set(out)
        alive: dict[int, Piece] = dict(enumerate(pieces))
        labels: dict[int, frozenset[int]] = {k: frozenset(p.idx) for k, p in alive.items()}
        carriers: dict[int, set[int]] = {}
        for k, ls in labels.items():
            for lab in ls:
                carriers.setdefault(lab, set()).add(k)
        scalars = {k for k, ls in labels.items() if not ls}
        kept: dict[tuple[int, int], frozenset[int]] = {}     # the keep of each known pair
        heap: list[tuple] = []
        made = count(len(pieces))
        seq = count()

        def keep_of(a: int, b: int) -> frozenset[int]:
            la, lb = labels[a], labels[b]
            return frozenset(lab for lab in la | lb
                             if lab in outs or len(carriers[lab]) > (lab in la) + (lab in lb))

        def push(a: int, b: int) -> None:
            """(Re)consider the pair a < b, unless its kept labels are unchanged."""
            keep = keep_of(a, b)
            if kept.get((a, b)) == keep:
                return
            kept[(a, b)] = keep
            for w, c in enumerate(self.combine(alive[a], alive[b], set(keep))):
                heapq.heappush(heap, (self.measure(c.ast), a, b, w, next(seq), keep, c))

        def near(k: int) -> set[int]:
            others = set().union(*(carriers[lab] for lab in labels[k])) if labels[k] \
                else set(alive)
            others |= scalars
            others.discard(k)
            return others

        for a in sorted(alive):
            for b in sorted(near(a)):
                if a < b:
                    push(a, b)
        while len(alive) > 1:
            check_deadline()
            best = None
            while heap:
                a, b, keep, c = heap[0][1], heap[0][2], heap[0][5], heap[0][6]
                if a in alive and b in alive and kept.get((a, b)) is keep:
                    best = (a, b, c)
                    break
                heapq.heappop(heap)
            if best is None:
                best = self._far_pair(alive, outs, carriers, labels)
            if best is None:
                raise NoMatrixForm
            a, b, c = best
            touched = set()
            for k in (a, b):
                for lab in labels[k]:
                    carriers[lab].discard(k)
                    touched |= carriers[lab]
                del alive[k], labels[k]
                scalars.discard(k)
            new = next(made)
            alive[new], labels[new] = c, frozenset(c.idx)
            for lab in labels[new]:
                carriers.setdefault(lab, set()).add(new)
            if not labels[new]:
                scalars.add(new)
            touched -= {a, b}
            for k in sorted(touched):          # their kept labels may have changed
                for j in near(k):
                    if j != new:
                        push(min(k, j), max(k, j))
            for j in sorted(near(new)):
                push(j, new)
            heap = [e for e in heap if e[1] in alive and e[2] in alive] \
                if len(heap) > 8 * len(alive) * len(alive) + 64 else heap
        (last,) = alive.values()
        return last

    def _far_pair(self, alive: dict[int, Piece], outs: set[int], carriers, labels):
        """The cheapest pair of pieces that share no label (an outer product)."""
        best = None
        ks = sorted(alive)
        for x, a in enumerate(ks):
            for b in ks[x + 1:]:
                la, lb = labels[a], labels[b]
                if la & lb or not la or not lb:
                    continue
                keep = {lab for lab in la | lb
                        if lab in outs or len(carriers[lab]) > (lab in la) + (lab in lb)}
                for c in self.combine(alive[a], alive[b], keep):
                    m = self.measure(c.ast)
                    if best is None or m < best[0]:
                        best = (m, a, b, c)
        return None if best is None else best[1:]

    def combine(self, P: Piece, Q: Piece, keep: set[int]) -> list[Piece]:
        """The ways to write the product of two factors (empty if none in matrix form)."""
        if P.den or Q.den:
            same = set(P.idx) == set(Q.idx) and len(P.idx) == len(Q.idx) and \
                all(lab in keep for lab in P.idx)
            if same:
                if P.den and Q.den:
                    q = Q.ast if Q.idx == P.idx else self.T(Q.ast)
                    return [Piece(ast.Binary(".*", P.ast, q), P.idx, den=True)]
                numer, den = (Q, P) if P.den else (P, Q)
                d = den.ast if den.idx == numer.idx else self.T(den.ast)
                return [Piece(ast.Binary("./", numer.ast, d), numer.idx)]
            if P.den:
                P = self.materialize(P)
            if Q.den:
                Q = self.materialize(Q)
        rp, rq = len(P.idx), len(Q.idx)
        out: list[Piece] = []
        if rp == 0 or rq == 0:
            idx = P.idx or Q.idx
            return [Piece(self.mul(P.ast, Q.ast), idx), Piece(self.mul(Q.ast, P.ast), idx)]
        shared = set(P.idx) & set(Q.idx)
        if not shared:
            if rp == 1 and rq == 1:
                if _is_ones(P.ast) and _is_ones(Q.ast):
                    return [Piece(ast.Call("ones", (P.ast.args[0], Q.ast.args[0])),
                                  P.idx + Q.idx)]
                return [Piece(self.mul(P.ast, self.T(Q.ast)), P.idx + Q.idx),
                        Piece(self.mul(Q.ast, self.T(P.ast)), Q.idx + P.idx)]
            return []
        if rp == 1 and rq == 1:
            (i,) = P.idx
            if i in keep:
                if _is_ones(P.ast):
                    return [Q]
                if _is_ones(Q.ast):
                    return [P]
                return [Piece(ast.Binary(".*", P.ast, Q.ast), (i,))]
            return [Piece(self.mul(self.T(P.ast), Q.ast), ()),
                    Piece(self.mul(self.T(Q.ast), P.ast), ())]
        if rp == 2 and rq == 1:
            P, Q = Q, P
            rp, rq = rq, rp
        if rp == 1 and rq == 2:
            (i,) = P.idx
            Mi = Q.ast if Q.idx[0] == i else self.T(Q.ast)
            j = Q.idx[1] if Q.idx[0] == i else Q.idx[0]
            if i == j:
                return []
            if i in keep:
                if j not in keep:
                    return []
                if _is_ones(P.ast):
                    return [Piece(Mi, (i, j))]
                return [Piece(self.mul(ast.Call("diag", (P.ast,)), Mi), (i, j)),
                        Piece(self.mul(self.T(Mi), ast.Call("diag", (P.ast,))), (j, i))]
            if j not in keep:
                return []
            return [Piece(self.mul(self.T(Mi), P.ast), (j,))]
        # two matrices
        if len(shared) == 1:
            (s,) = shared
            if s in keep:
                return []
            Pp = P.ast if P.idx[1] == s else self.T(P.ast)
            a = P.idx[0] if P.idx[1] == s else P.idx[1]
            Qq = Q.ast if Q.idx[0] == s else self.T(Q.ast)
            b = Q.idx[1] if Q.idx[0] == s else Q.idx[0]
            if a not in keep or b not in keep:
                return []
            out.append(Piece(self.mul(Pp, Qq), (a, b)))
            out.append(Piece(self.mul(self.T(Qq), self.T(Pp)), (b, a)))
            return out
        if P.idx[0] == P.idx[1] or Q.idx[0] == Q.idx[1]:
            return []
        Qp = Q.ast if Q.idx == P.idx else self.T(Q.ast)
        kept = [lab for lab in P.idx if lab in keep]
        if len(kept) == 2:
            if _is_ones_matrix(P.ast):
                return [Piece(Qp, P.idx)]
            if _is_ones_matrix(Qp):
                return [P]
            return [Piece(ast.Binary(".*", P.ast, Qp), P.idx)]
        if not kept:
            outs = [Piece(ast.Call("sum", (ast.Binary(".*", P.ast, Qp),)), ())]
            outs.append(Piece(ast.Call("tr", (self.mul(self.T(P.ast), Qp),)), ()))
            return outs
        (lab,) = kept
        Pl = P.ast if P.idx[0] == lab else self.T(P.ast)
        Ql = Qp if P.idx[0] == lab else self.T(Qp)
        return [Piece(ast.Call("diag", (self.mul(Pl, self.T(Ql)),)), (lab,))]

def _leading_number(a: ast.Node) -> tuple[float, ast.Node | None]:
    """2 -> (2, None); 2*X -> (2, X); anything else -> (1, itself)."""
    if isinstance(a, ast.Num):
        return a.value, None
    if isinstance(a, ast.Binary) and a.op == "*" and isinstance(a.left, ast.Num):
        return a.left.value, a.right
    return 1.0, a


def _split_number(a: ast.Node) -> tuple[float, ast.Node]:
    """2*X -> (2, X); -X -> (-1, X)."""
    c = 1.0
    while True:
        if isinstance(a, ast.Neg):
            c, a = -c, a.operand
        elif isinstance(a, ast.Binary) and a.op == "*" and isinstance(a.left, ast.Num):
            c, a = c * a.left.value, a.right
        else:
            return c, a


def _sum_of_squares(n: Node) -> Node | None:
    """x for an einsum x[I]*x[I] -> [] (so its square root prints as norm2(x))."""
    if n.op != "einsum" or len(n.args) != 2 or n.args[0] is not n.args[1]:
        return None
    coef, idxs, out = n.params
    if coef != 1 or out or idxs[0] != idxs[1] or len(set(idxs[0])) != len(idxs[0]):
        return None
    return n.args[0]


def _broadcast_scalar(n: Node) -> Node | None:
    """For a scalar spread over a shape (ones(n), b*ones(m,k)): the scalar."""
    if n.op == "ones":
        return _const(1.0)
    if n.op != "einsum" or n.rank == 0:
        return None
    coef, idxs, out = n.params
    if any(a.rank and a.op != "ones" for a in n.args):
        return None
    # the scalar factors, and the ones summed over (each counts its dimension: sum(ones(k)))
    parts = [(a, ix) for a, ix in zip(n.args, idxs) if not ix or not set(ix) <= set(out)]
    if not parts:
        return _const(coef)
    return ir_einsum([a for a, _ in parts], [ix for _, ix in parts], (), coef)


def _const(v: float) -> Node:
    from .ir.build import const
    return const(v)


def _is_ones(a: ast.Node) -> bool:
    return isinstance(a, ast.Call) and a.func == "ones" and len(a.args) == 1


def _is_ones_matrix(a: ast.Node) -> bool:
    return isinstance(a, ast.Call) and a.func == "ones" and len(a.args) == 2


def to_matrix_form(root: Node) -> ast.Node:
    """The IR as a surface AST in matrix notation, or NoMatrixForm."""
    return Raiser(root).lift(root)
