"""Products in generated code: an einsum node as pairwise steps in opt_einsum's order,
each step written as `@`, a broadcast or a two-operand einsum (the pattern table of
ir/patterns.py decides which), and sums of outer products as one stacked einsum (the
Dask backend; the others write them as one batched `@`, codegen/outer.py)."""

from __future__ import annotations

from collections import Counter

import opt_einsum as oe

from ..ir import build as B
from ..ir import patterns as P
from ..ir.nodes import Node
from .optimize import size_of
from .source import ATOM, LETTERS, MUL, POW, E


class ProductWriter:
    """Mixin of the emitter: how products are written."""

    def stacked_outer(self, n: Node, group: list[tuple[int, tuple[int, ...],
                                                      tuple[int, ...]]]) -> E:
        """Terms L_t[X] * R_t[Y] with the same split of the output positions into X and Y,
        summed by one einsum over a stacked axis: it writes the n^4 result once, where a
        sum of broadcast products makes a pass (and a temporary) per term."""
        rank = n.rank
        _, left, _ = group[0]
        right = tuple(p for p in range(rank) if p not in left)
        sides: list[list[E]] = [[], []]
        for k, _, on_left in group:
            t = n.args[k]
            coef, idxs, out = t.params
            on_right = tuple(j for j in range(len(idxs)) if j not in on_left)
            for side, pos, c, picked in ((0, left, coef, on_left), (1, right, 1.0, on_right)):
                node = B.einsum([t.args[j] for j in picked], [idxs[j] for j in picked],
                                [out[p] for p in pos], c)
                sides[side].append(self.emit_new(node))
        letters = LETTERS[:rank]
        z = LETTERS[rank]
        spec = (f"{z}{''.join(letters[p] for p in left)},{z}{''.join(letters[p] for p in right)}"
                f"->{letters}")
        xs = [E(f"{self.xp}.stack([{', '.join(e.text for e in side)}])") for side in sides]
        return self.ein(spec, *xs)

    # ------------------------------------------------------------ products
    def gram(self, n: Node, names: list[E]) -> E | None:
        """A[k,i] w[k] A[k,j] -> [i,j], w a product of vectors over k (Hessians of sums
        over data): one symmetric product instead of a general one."""
        coef, idxs, out = n.params
        mats = [k for k, a in enumerate(n.args) if a.rank == 2]
        if len(out) != 2 or len(mats) != 2 or n.args[mats[0]] is not n.args[mats[1]]:
            return None
        ia, ib = idxs[mats[0]], idxs[mats[1]]
        shared = set(ia) & set(ib)
        if len(shared) != 1:
            return None
        (lab,) = shared
        if lab in out or ia.index(lab) != ib.index(lab) or {*ia, *ib} - {lab} != set(out):
            return None
        weights = [k for k in range(len(n.args)) if k not in mats]
        if not weights or any(idxs[k] not in ((lab,), ()) for k in weights):
            return None
        if all(idxs[k] == () for k in weights):
            return None
        w = E(" * ".join(names[k].at(POW) for k in weights), MUL if len(weights) > 1 else
              names[weights[0]].level)
        a = names[mats[0]]
        a = a if ia[0] == lab else E(f"{a.at(ATOM)}.T")
        if "{1}[" in self.b.gram:       # indexed in the template (jax's w[:, None]): an atom
            w = E(w.at(ATOM))
        return self.call(self.b.gram, a, w)

    def einsum(self, n: Node, names: list[E]) -> E:
        coef = n.coef
        g = self.gram(n, names)
        if g is not None:      # the scale goes on the symmetric result
            self.signed[n] = (coef, lambda c: self.scaled(c, g))
            return self.scaled(coef, g)
        self.signed[n] = (coef, lambda c: self.product(n, names, c))
        return self.product(n, names, coef)

    def product(self, n: Node, names: list[E], coef: float) -> E:
        """The product n with coefficient coef applied to the smallest of its factors or its
        result: -(X @ w) or X @ -w, never -X @ w (a pass over all of X)."""
        _, idxs, out = n.params
        labels = sorted({x for ix in idxs for x in ix})
        letters = {lab: LETTERS[k] for k, lab in enumerate(labels)}
        terms = ["".join(letters[x] for x in ix) for ix in idxs]
        target = "".join(letters[x] for x in out)
        dims: dict[str, int] = {}
        for a, t in zip(n.args, terms):
            dims.update(zip(t, (size_of(d, self.sizes) for d in a.shape)))

        def size(t: str) -> int:
            out = 1
            for c in t:
                out *= dims[c]
            return out

        work, scalars = self.pointwise_first(list(zip(names, terms)))
        steps = _plan([t for _, t in work], target, dims)
        # where coef and scalar factors go: the smallest of the factors, the steps and the
        # result (A' @ A keeps its symmetry for BLAS): a mean of rows is 1/p * sum(X, 2),
        # a vector pass, never sum(1/p * X, 2), a matrix one
        at: tuple[str, int] = ("result", 0)

        def scale(e: E) -> E:
            for sc in scalars:
                e = E(f"{sc.at(MUL)} * {e.at(POW)}", MUL)
            return self.scaled(coef, e)
        if coef != 1 or scalars:
            best = size(target)
            for k, (e, t) in enumerate(work):
                alone = not any(f.text == e.text and set(t) & set(u)
                                for j, (f, u) in enumerate(work) if j != k)
                if alone and size(t) < best:
                    at, best = ("factor", k), size(t)
            for k, (_, res) in enumerate(steps[:-1]):
                if size(res) < best:
                    at, best = ("step", k), size(res)
        if at[0] == "factor":
            k = at[1]
            work[k] = (scale(work[k][0]), work[k][1])
        sigs = _signatures([(e.text, t) for e, t in work], steps,
                           at[1] if at[0] == "step" else None)
        repeated = {s for s, c in Counter(sigs).items() if c > 1}
        computed: dict[str, E] = {}
        for k, (inds, res) in enumerate(steps):
            picked = [work.pop(i) for i in inds]
            if sigs[k] in computed:          # X[p,i]*P[p,j] twice in Z'Z: computed once
                work.append((computed[sigs[k]], res))
                continue
            if len(picked) == 1:
                e = self.single(picked[0][0], picked[0][1], res)
            else:
                (x, tx), (y, ty) = picked
                e = self.binary(x, tx, y, ty, res)
            e = scale(e) if at == ("step", k) else e
            if sigs[k] in repeated:
                e = computed[sigs[k]] = self.bind(e)
            work.append((e, res))
        ((prod, term),) = work
        out = self.single(prod, term, target)
        return scale(out) if at[0] == "result" else out

    def pointwise_first(self, work: list[tuple[E, str]]
                        ) -> tuple[list[tuple[E, str]], list[E]]:
        """Multiply factors over the same indices (s.*y) before any contraction: opt_einsum's
        cost model counts s[k]*X[k,i] like s[k]*y[k], but one is a matrix pass and the
        other a vector one. The scalar factors come back apart (product() puts them where
        the coefficient goes), unless there is nothing else."""
        groups: dict[str, list[E]] = {}
        for e, t in work:
            groups.setdefault(t, []).append(e)
        out: list[tuple[E, str]] = []
        for t, es in groups.items():
            e = es[0]
            for f in es[1:]:
                e = E(f"{e.at(MUL)} * {f.at(POW)}", MUL)
            out.append((e, t))
        rest = [(e, t) for e, t in out if t != ""]
        if not rest:
            return out, []
        return rest, [e for e, t in out if t == ""]

    def single(self, x: E, term: str, target: str) -> E:
        """One operand: a permutation, trace, diagonal or sum (the pattern from the table
        the raiser reads too; a trace or diagonal is an einsum)."""
        kind = P.single(term, target)
        if kind is P.Single.SAME:
            return x
        if kind is P.Single.TRANSPOSE:
            return E(f"{x.at(ATOM)}.T")
        if kind is P.Single.SUM:
            return E(f"{self.xp}.sum({x.text})")
        if len(set(term)) == len(term) and set(target) < set(term):
            # a sum over some axes (rows' sums): the library's reduction, not an einsum loop
            axes = [k for k, c in enumerate(term) if c not in target]
            kept = "".join(c for c in term if c in target)
            axis = str(axes[0]) if len(axes) == 1 else f"({', '.join(map(str, axes))})"
            summed = E(self.b.sum_axis.format(x.text, axis, xp=self.xp))
            return self.single(summed, kept, target)
        return self.ein(f"{term}->{target}", x)

    def ein(self, spec: str, *xs: E) -> E:
        return E(f"{self.xp}.einsum('{spec}', {', '.join(x.text for x in xs)})")

    def binary(self, x: E, tx: str, y: E, ty: str, res: str) -> E:
        """Two operands, by their pattern in the table the raiser reads too: `@`, a product
        with a broadcast, or a two-operand einsum."""
        if len(set(tx)) == len(tx) and len(set(ty)) == len(ty):
            # labels only one factor carries and the result drops are summed first (a
            # vector of row sums times a matrix, not an einsum over both)
            own_x, own_y = set(tx) - set(ty) - set(res), set(ty) - set(tx) - set(res)
            if own_x:
                kept = "".join(c for c in tx if c not in own_x)
                x, tx = self.single(x, tx, kept), kept
            if own_y:
                kept = "".join(c for c in ty if c not in own_y)
                y, ty = self.single(y, ty, kept), kept
        kind = P.pair(tx, ty, res)
        if kind in (P.Pair.HADAMARD, P.Pair.SUMMED_HADAMARD) and tx != ty and \
                len(set(tx)) == len(tx):
            y, ty = self.single(y, ty, tx), tx      # the same labels in another order: a view
        if kind is P.Pair.MATMUL:
            # a matrix (or matrix-vector, or inner) product over the shared label s
            (s,) = set(tx) & set(ty)
            fx, fy = tx.replace(s, ""), ty.replace(s, "")
            options = []
            if res == fx + fy:
                options.append(f"{self._last(x, tx, s)} @ {self._first(y, ty, s)}")
            if res == fy + fx:
                options.append(f"{self._last(y, ty, s)} @ {self._first(x, tx, s)}")
            if options:   # A @ x rather than x @ A.T
                return E(min(options, key=lambda o: o.count(".T")), MUL)
        if kind is P.Pair.SCALAR:                     # a scalar times anything
            return self.single(E(f"{x.at(MUL)} * {y.at(POW)}", MUL), tx or ty, res)
        if kind in (P.Pair.HADAMARD, P.Pair.SUMMED_HADAMARD) and tx == ty:
            # elementwise (then summed where labels go)
            return self.single(E(f"{x.at(MUL)} * {y.at(POW)}", MUL), tx, res)
        if kind is P.Pair.OUTER:
            # an outer product (the 4-index Hessians): broadcasting writes the result in
            # order, where einsum with a permuted output is ~1.5x slower
            return E(f"{self._spread(x, tx, res)} * {self._spread(y, ty, res)}", MUL)
        if kind is P.Pair.DIAG:                       # a vector along an axis of a matrix
            if len(tx) == 2:
                return self.binary(y, ty, x, tx, res)
            v = f"{x.at(ATOM)}[:, None]" if ty[0] == tx else f"{x.at(ATOM)}[None, :]"
            prod = E(f"{v} * {y.at(POW)}", MUL)
            return prod if res == ty else E(f"{prod.at(ATOM)}.T")
        if len(set(tx)) == len(tx) and len(set(ty)) == len(ty) and \
                set(tx) | set(ty) == set(res) | (set(tx) & set(ty)):
            if set(tx) & set(ty) <= set(res):
                # shared labels all kept (row-wise outer products): a broadcast, which
                # writes the result in order
                return E(f"{self._spread_any(x, tx, res)} * {self._spread_any(y, ty, res)}",
                         MUL)
            # labels summed (several, or beside labels both keep): one batched matrix
            # product (the library's own einsum does it; NumPy's needs a helper)
            return self.call(self.b.contract.replace("{spec}", f"{tx},{ty}->{res}"), x, y)
        return self.ein(f"{tx},{ty}->{res}", x, y)

    def _spread_any(self, x: E, tx: str, res: str) -> str:
        """x as a view broadcasting over the labels of res (permuted first if need be)."""
        ordered = "".join(c for c in res if c in tx)
        base = self.single(x, tx, ordered)
        if ordered == res:                  # nothing to broadcast over: no [:, :, :]
            return base.at(POW)
        index = ", ".join(":" if c in tx else "None" for c in res)
        return f"{base.at(ATOM)}[{index}]"

    @staticmethod
    def _spread(x: E, tx: str, res: str) -> str:
        """x (labels tx, at most 2) as a view broadcasting over the labels of res."""
        ordered = "".join(c for c in res if c in tx)
        base = x.at(ATOM) if ordered == tx else f"{x.at(ATOM)}.T"
        index = ", ".join(":" if c in tx else "None" for c in res)
        return f"{base}[{index}]"

    @staticmethod
    def _last(x: E, tx: str, s: str) -> str:
        """x oriented with the contracted label s last (rows . s)."""
        return x.at(MUL) if tx[-1] == s else f"{x.at(ATOM)}.T"

    @staticmethod
    def _first(y: E, ty: str, s: str) -> str:
        return y.at(POW) if ty[0] == s else f"{y.at(ATOM)}.T"


def outer_groups(n: Node, uses: Counter) -> list[list[tuple[int, tuple[int, ...],
                                                           tuple[int, ...]]]]:
    """Groups (two or more) of the terms of the sum n that are outer products L[X]*R[Y]
    (the factors of L share no label with those of R) splitting the output positions the
    same way: [(term, X, the factors of L)]."""
    by_split: dict[tuple[int, ...], list] = {}
    for k, t in enumerate(n.args):
        if t.op != "einsum" or len(t.args) < 2 or uses[t] > 1:
            continue
        _, idxs, out = t.params
        # the factors connected to the one holding output position 0, through any label
        side = {next(j for j, ix in enumerate(idxs) if out[0] in ix)}
        labels = set(idxs[next(iter(side))])
        grown = True
        while grown:
            grown = False
            for j, ix in enumerate(idxs):
                if j not in side and labels & set(ix):
                    side.add(j)
                    labels |= set(ix)
                    grown = True
        left = tuple(p for p, x in enumerate(out) if x in labels)
        if len(left) < n.rank:
            by_split.setdefault(left, []).append((k, left, tuple(sorted(side))))
    return [g for g in by_split.values() if len(g) > 1]


def _signatures(work: list[tuple[str, str]], steps: list[tuple[tuple, str]],
                scaled: int | None) -> list[str]:
    """For each step, what it computes, independent of the letters: equal signatures are
    the same array (the step `scaled` carries the coefficient: its own)."""
    items = list(work)
    out: list[str] = []
    for k, (inds, res) in enumerate(steps):
        picked = [items.pop(i) for i in inds]
        order = dict.fromkeys("".join(t for _, t in picked) + res)
        canon = {c: LETTERS[j] for j, c in enumerate(order)}
        sig = "(" + ",".join(f"{s}:{''.join(canon[c] for c in t)}" for s, t in picked) + \
            "->" + "".join(canon[c] for c in res) + (f")#{k}" if k == scaled else ")")
        out.append(sig)
        items.append((sig, res))
    return out


def _plan(terms: list[str], target: str, dims: dict[str, int]) -> list[tuple[tuple, str]]:
    """Pairwise steps (operand positions in the shrinking list, result labels): opt_einsum's
    order, except that a result over the same labels as another operand is multiplied with
    it at once (X @ v times weights over the same rows, not the weights times all of X:
    opt_einsum prices both the same)."""
    work = list(terms)
    steps: list[tuple[tuple, str]] = []
    while len(work) > 1:
        spec = ",".join(work) + "->" + target
        _, info = oe.contract_path(spec, *[tuple(dims[c] for c in t) for t in work],
                                   shapes=True, optimize="auto")
        inds, _, step, _, _ = info.contraction_list[0]
        res = step.split("->")[1]
        for i in sorted(inds, reverse=True):
            work.pop(i)
        steps.append((tuple(inds), res))
        work.append(res)
        while len(work) > 1 and res in work[:-1]:
            last, j = len(work) - 1, work.index(res)
            steps.append(((last, j), res))       # popped in this order, as opt_einsum's
            work.pop(last)
            work.pop(j)
            work.append(res)
    return steps
