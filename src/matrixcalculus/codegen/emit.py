"""The code generator: IR DAG -> one standalone function.

A node used once is written inline; a node used more than once is computed once
into a temporary.  Products are split into pairwise steps in the order
opt_einsum chooses; a step that is a matrix product is written with `@`, a
broadcast with `[:, None]` (never a dense diagonal matrix), anything else as a
two-operand einsum (never an unordered n-ary einsum).  Only validated
identifiers and numeric literals reach the source.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from collections.abc import Callable
from itertools import count

import opt_einsum as oe

from ..ir import build as B
from ..ir import patterns as P
from ..ir.nodes import Node, Op, walk
from .backends import DASK, JAX, NUMPY, OPTIONAL_IMPORTS, TORCH, Backend
from .optimize import optimize, size_of

BACKENDS: dict[str, Backend] = {"numpy": NUMPY, "torch": TORCH, "jax": JAX, "dask": DASK}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"np", "torch", "jax", "jnp", "da", "dask", "math", "_dtype", "_device"}
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

# precedence of Python expressions, loosest first
ADD, MUL, NEG, POW, ATOM = 1, 2, 3, 4, 5


class E:
    """An expression's source and how tightly it binds."""

    __slots__ = ("text", "level")

    def __init__(self, text: str, level: int = ATOM):
        self.text, self.level = text, level

    def at(self, level: int) -> str:
        return self.text if self.level >= level else f"({self.text})"


def safe_name(name: str, taken: set[str]) -> str:
    """A Python identifier for a user's name: keywords and clashes get a trailing _."""
    if not _IDENT.match(name):
        raise ValueError(f"not an identifier: {name!r}")
    out = name
    while keyword.iskeyword(out) or out in _RESERVED or out in taken:
        out += "_"
    return out


def _num(v: float) -> str:
    r = repr(float(v))
    if r in ("inf", "-inf", "nan"):
        return f"float('{r}')"
    return r[:-2] if r.endswith(".0") else r


class _Emitter:
    def __init__(self, root: Node, params: list[tuple[str, tuple]], backend: Backend,
                 func_name: str, sizes: dict, free_dims: tuple[str, ...] = ()):
        self.sizes = sizes
        self.root = root
        self.b = backend
        self.xp = backend.xp
        self.func_name = func_name
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.done: dict[Node, E] = {}
        # einsum -> (coef, build): build(c) writes the product with coefficient c put on
        # its cheapest place, so a sum can write `a - b` without a separate negation
        self.signed: dict[Node, tuple[float, Callable[[float], E]]] = {}
        taken: set[str] = {func_name}
        self.params: list[tuple[str, str, tuple]] = []
        for user, shape in params:
            py = safe_name(user, taken)
            taken.add(py)
            self.params.append((user, py, shape))
        self.py_of = {user: py for user, py, _ in self.params}
        self.dim_names: dict[object, str] = {}
        self.dim_source: dict[object, str] = {}
        self.dims_used: list[object] = []
        for _, py, shape in self.params:
            for axis, d in enumerate(shape):
                if isinstance(d, str) and d not in self.dim_names:
                    dn = safe_name(d, taken)
                    taken.add(dn)
                    self.dim_names[d] = dn
                    self.dim_source[d] = f"{dn} = {py}.shape[{axis}]"
        self.size_params: list[str] = []     # sizes of dimensions no variable carries
        for d in free_dims:
            if d not in self.dim_names:
                dn = safe_name(d, taken)
                taken.add(dn)
                self.dim_names[d] = dn
                self.size_params.append(dn)
        self.temp = (f"t{i}" for i in count(1) if f"t{i}" not in taken)
        self.uses: Counter = Counter()
        for n in walk(root):
            for a in n.args:
                self.uses[a] += 1

    # ------------------------------------------------------------ helpers
    def dim(self, d) -> str:
        if isinstance(d, int):
            return str(d)
        if d not in self.dim_names:
            raise ValueError(f"dimension {d} is not the size of any variable")
        if d not in self.dims_used and d in self.dim_source:
            self.dims_used.append(d)
        return self.dim_names[d]

    def shape_tuple(self, shape: tuple) -> str:
        inner = ", ".join(self.dim(d) for d in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"

    def bind(self, e: E) -> E:
        if e.level == ATOM and _IDENT.match(e.text):
            return e
        name = next(self.temp)
        self.lines.append(f"{name} = {e.text}")
        return E(name)

    def call(self, template: str, *args: E) -> E:
        head = template.split("(", 1)[0]
        if head.startswith("_") and self.b.helper(head) is not None:
            self._need_helper(head)
        return E(template.format(*(a.text for a in args), xp=self.xp))

    def _need_helper(self, name: str) -> None:
        """A helper, and the helpers its own source calls."""
        if name in self.helpers:
            return
        self.helpers.add(name)
        src = self.b.helper(name) or ""
        for other in self.b.helper_names():
            if other != name and other + "(" in src:
                self._need_helper(other)

    # ------------------------------------------------------------ driver
    def run(self) -> str:
        for n in walk(self.root):
            e = self.node(n)
            if self.uses[n] > 1 and n.op not in ("var", "const"):
                e = self.bind(e)
            self.done[n] = e
        result = self.done[self.root]
        if self.root.op in ("var", "const", "zero") or self.root.rank == 0:
            result = E(self.b.asarray.format(result.text, xp=self.xp))
        args = ", ".join([py for _, py, _ in self.params] + self.size_params)
        rest = self.lines + [f"return {result.text}"]
        text = "\n".join(rest)
        body = [self.dim_source[d] for d in self.dims_used
                if re.search(rf"\b{self.dim_names[d]}\b", text)] + rest
        if self.b.prologue and "_dtype" in "\n".join(body):
            arrays = [py for _, py, shape in self.params if shape]
            first = arrays[0] if arrays else None
            body.insert(0, self.b.prologue.format(first=first) if first
                        else "_dtype, _device = torch.float64, None")
        helpers = [self.b.helper(h) for h in sorted(self.helpers)]
        used = "\n".join([*helpers, *body])
        imports = [self.b.imports] + [line for prefix, line in OPTIONAL_IMPORTS.items()
                                      if re.search(r"(?<![\w.])" + re.escape(prefix), used)]
        out = ["\n".join(imports), ""]
        for src in helpers:
            out += ["", src, ""]
        out += ["", f"def {self.func_name}({args}):"]
        out += ["    " + line for line in body]
        return "\n".join(out) + "\n"

    def node(self, n: Node) -> E:
        op = n.op
        a = [self.done.get(x) for x in n.args]
        if op == "var":
            return E(self.py_of[n.params[0]])
        if op == "const":
            v = n.params[0]
            return E(_num(v), NEG if v < 0 else ATOM)
        if op == "ones":
            return E(self.b.ones.format(n=self.dim(n.shape[0]), xp=self.xp))
        if op == "delta":
            return E(self.b.eye.format(n=self.dim(n.shape[0]), xp=self.xp))
        if op == "zero":
            if not n.shape:
                return E("0.0")
            return E(self.b.zeros.format(shape=self.shape_tuple(n.shape), xp=self.xp))
        if op == "add":
            return self.add(n, a)
        if op in (Op.FUNC, Op.PRIM):
            a = [E(self.b.literal.format(e.text))          # a bare number is no tensor
                 if x.op == Op.CONST or (x.op == Op.ZERO and not x.shape) else e
                 for x, e in zip(n.args, a)]
            return self.call(self.b.template(n.name), *a)
        if op == "power":
            e = n.args[1]
            if e.op == "const":
                v = e.params[0]
                if v == 0.5:
                    return self.call(self.b.template("sqrt"), a[0])
                if v == -1:
                    return E(f"1.0 / {a[0].at(POW)}", MUL)
                if v == 2:
                    base = a[0] if a[0].level == ATOM else self.bind(a[0])
                    return E(f"{base.text} * {base.text}", MUL)
                return E(f"{a[0].at(ATOM)} ** {_num(v) if v >= 0 else f'({_num(v)})'}", POW)
            return E(f"{a[0].at(ATOM)} ** {a[1].at(POW)}", POW)
        if op == "einsum":
            return self.einsum(n, a)
        raise ValueError(f"cannot generate code for {op}")

    def add(self, n: Node, a: list[E]) -> E:
        spread = any(arg.op != "ones" for arg in n.args)
        terms: list[tuple[str, E]] = []
        stacked: set[int] = set()
        if n.rank >= 3:
            for group in _outer_groups(n, self.uses):
                terms.append(("+", self.stacked_outer(n, group)))
                stacked.update(k for k, _, _ in group)
        for k, (arg, e) in enumerate(zip(n.args, a)):
            if k in stacked:
                continue
            if spread and arg.op == "ones":      # 1 - s rather than ones(n) - s
                e = E("1")
            if arg in self.signed and self.uses[arg] == 1 and self.signed[arg][0] < 0:
                coef, build = self.signed[arg]
                terms.append(("-", build(-coef)))
            else:
                terms.append(("+", e))
        # start with a positive term: `b - a`, not `-a + b` (whose `-` may bind to a
        # large operand: -X @ w negates X)
        terms.sort(key=lambda t: t[0] == "-")
        sign, e = terms[0]
        text = e.at(ADD) if sign == "+" else f"-{e.at(POW)}"
        for sign, e in terms[1:]:
            text += f" {sign} {e.at(MUL) if sign == '-' else e.at(ADD)}"
        return E(text, ADD)

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
        letters = _LETTERS[:rank]
        z = _LETTERS[rank]
        spec = (f"{z}{''.join(letters[p] for p in left)},{z}{''.join(letters[p] for p in right)}"
                f"->{letters}")
        xs = [E(f"{self.xp}.stack([{', '.join(e.text for e in side)}])") for side in sides]
        return self.ein(spec, *xs)

    def emit_new(self, root: Node) -> E:
        """Code for a node built here (not in the answer's DAG): its new parts inline."""
        for m in walk(root):
            if m not in self.done:
                self.done[m] = self.node(m)
        return self.done[root]

    @staticmethod
    def scaled(coef: float, prod: E) -> E:
        """coef times the whole of prod (parenthesised: `-a @ b` would negate a)."""
        if coef == 1:
            return prod
        if coef == -1:
            return E(f"-{prod.at(POW)}", NEG)
        return E(f"{_num(coef)} * {prod.at(POW)}", MUL)

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
        return self.call(self.b.gram, a, w)

    def einsum(self, n: Node, names: list[E]) -> E:
        coef = n.params[0]
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
        letters = {lab: _LETTERS[k] for k, lab in enumerate(labels)}
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

        work = self.pointwise_first(list(zip(names, terms)))
        steps = _plan([t for _, t in work], target, dims)
        # where coef goes: the smallest of the factors, the intermediate results and the
        # result (a factor multiplied with itself, A' @ A, keeps its symmetry for BLAS)
        at: tuple[str, int] = ("result", 0)
        if coef != 1:
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
            work[k] = (self.scaled(coef, work[k][0]), work[k][1])
        for k, (inds, res) in enumerate(steps):
            picked = [work.pop(i) for i in inds]
            if len(picked) == 1:
                e = self.single(picked[0][0], picked[0][1], res)
            else:
                (x, tx), (y, ty) = picked
                e = self.binary(x, tx, y, ty, res)
            work.append((self.scaled(coef, e) if at == ("step", k) else e, res))
        ((prod, term),) = work
        return self.scaled(coef if at[0] == "result" else 1, self.single(prod, term, target))

    def pointwise_first(self, work: list[tuple[E, str]]) -> list[tuple[E, str]]:
        """Multiply factors over the same indices (s.*y, scalars) before any contraction:
        opt_einsum's cost model counts s[k]*X[k,i] like s[k]*y[k], but one is a matrix pass
        and the other a vector one."""
        groups: dict[str, list[E]] = {}
        for e, t in work:
            groups.setdefault(t, []).append(e)
        out: list[tuple[E, str]] = []
        for t, es in groups.items():
            e = es[0]
            for f in es[1:]:
                e = E(f"{e.at(MUL)} * {f.at(POW)}", MUL)
            out.append((e, t))
        # scalars join the smallest other factor
        scalars = [e for e, t in out if t == ""]
        rest = [(e, t) for e, t in out if t != ""]
        if scalars and rest:
            k = min(range(len(rest)), key=lambda i: len(rest[i][1]))
            e, t = rest[k]
            for sc in scalars:
                e = E(f"{sc.at(MUL)} * {e.at(POW)}", MUL)
            rest[k] = (e, t)
            return rest
        return out

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
        return self.ein(f"{term}->{target}", x)

    def ein(self, spec: str, *xs: E) -> E:
        return E(f"{self.xp}.einsum('{spec}', {', '.join(x.text for x in xs)})")

    def binary(self, x: E, tx: str, y: E, ty: str, res: str) -> E:
        """Two operands, by their pattern in the table the raiser reads too: `@`, a product
        with a broadcast, or a two-operand einsum."""
        kind = P.pair(tx, ty, res)
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
        return self.ein(f"{tx},{ty}->{res}", x, y)

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


def _outer_groups(n: Node, uses: Counter) -> list[list[tuple[int, tuple[int, ...],
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


def generate(root: Node, params: list[tuple[str, tuple]], backend: str = "numpy",
             func_name: str = "derivative", sizes: dict | None = None,
             free_dims: tuple[str, ...] = ()) -> str:
    """Source of a module with one function `func_name(*params)` computing `root`.

    sizes: the dimensions the code will mostly run at ({"n": 1000, "k": 10}); they
    choose the order of products and whether to distribute them over sums.  Unknown
    dimensions count as large.  free_dims: dimensions no parameter carries; their sizes
    become parameters after params."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    sizes = dict(sizes or {})
    root = optimize(root, sizes)
    return _Emitter(root, params, BACKENDS[backend], func_name, sizes, free_dims).run()
