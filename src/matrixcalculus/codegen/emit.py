"""The code generator: IR DAG -> one standalone function.

A node used once is written inline; a node used more than once is computed once
into a temporary.  Products are split into pairwise steps in the order
opt_einsum chooses; a step that is a matrix product is written with `@`, a
broadcast with `[:, None]` (never a dense diagonal matrix), anything else as a
two-operand einsum (never an unordered n-ary einsum).  Only validated
identifiers and numeric literals reach the source.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from itertools import count

from ..ir import build as B
from ..ir.nodes import Node, Op, walk
from ..language.dims import dim_factors, is_product
from ..ops import row
from .backends import DASK, JAX, NUMPY, OPTIONAL_IMPORTS, TORCH, Backend
from .optimize import optimize
from .outer import OuterSums
from .products import ProductWriter, outer_groups
from .shared import share_scaled, walk_roots
from .signature import CHECK, Doc, check_call, docstring, header_lines, parameter_names
from .signature import HELPERS as SIGNATURE_HELPERS
from .source import ADD, ATOM, IDENT, MUL, NEG, POW, E, num

BACKENDS: dict[str, Backend] = {"numpy": NUMPY, "torch": TORCH, "jax": JAX, "dask": DASK}


class _Emitter(OuterSums, ProductWriter):
    def __init__(self, root: Node | tuple[Node, ...], params: list[tuple[str, tuple]],
                 backend: Backend, func_name: str, sizes: dict, free_dims: tuple[str, ...] = (),
                 doc: Doc | None = None, out_shape: tuple | None = None):
        self.doc = doc or Doc()
        # several roots (a value and its gradient): one function returning their tuple, the
        # nodes they share computed once
        self.roots: tuple[Node, ...] = root if isinstance(root, tuple) else (root,)
        root = self.roots[0]
        # the result as the language lays it out: a product dimension (m*p) is one axis
        # there, a group of axes in the IR (ir/kron.py)
        self.out_shape = out_shape
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
        names = parameter_names(params, func_name, free_dims)
        self.params: list[tuple[str, str, tuple]] = [(user, names.params[user], shape)
                                                     for user, shape in params]
        self.py_of = names.params
        self.dim_names: dict[object, str] = names.dims
        self.dim_source: dict[object, str] = {}
        for _, py, shape in self.params:
            for axis, d in enumerate(shape):
                if d in self.dim_names and d not in self.dim_source:
                    self.dim_source[d] = f"{self.dim_names[d]} = {py}.shape[{axis}]"
        self.dims_used: list[object] = []
        self.size_params: list[str] = names.sizes     # sizes of dimensions no variable carries
        taken = {func_name, CHECK, *names.params.values(), *names.dims.values()}
        self.temp = (f"t{i}" for i in count(1) if f"t{i}" not in taken)
        self.uses: Counter = Counter()
        for n in walk_roots(self.roots):
            for a in n.args:
                self.uses[a] += 1
        if len(self.roots) > 1:                  # a root is used by the return, too
            self.uses.update(self.roots)

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

    def grouped_tuple(self, shape: tuple) -> str:
        """A language shape, a product dimension as the product of its factors' sizes."""
        inner = ", ".join(" * ".join(self.dim(f) for f in split_shape((d,))) for d in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"

    def bind(self, e: E) -> E:
        if e.level == ATOM and IDENT.match(e.text):
            return e
        name = next(self.temp)
        self.lines.append(f"{name} = {e.text}")
        return E(name)

    def call(self, template: str, *args: E) -> E:
        head = template.split("(", 1)[0]
        if head in self.b.all_helpers:
            self._need_helper(head)
        texts = [a.text for a in args]     # {args}: all of them (dexpm(X, E1, ..., Ek))
        return E(template.format(*texts, xp=self.xp, args=", ".join(texts)))

    def _need_helper(self, name: str) -> None:
        """A helper, and the helpers its own source calls."""
        if name in self.helpers:
            return
        self.helpers.add(name)
        src = self.b.all_helpers[name]
        for other in self.b.all_helpers:
            if other != name and other + "(" in src:
                self._need_helper(other)

    # ------------------------------------------------------------ driver
    def run(self) -> str:
        for n in walk_roots(self.roots):
            e = self.node(n)
            if self.uses[n] > 1 and n.op not in ("var", "const", "symbol"):
                e = self.bind(e)
            self.done[n] = e
        shapes = (self.out_shape,) if len(self.roots) == 1 else \
            self.out_shape or (None,) * len(self.roots)
        result = E(", ".join(returned(self, r, s).text for r, s in zip(self.roots, shapes)))
        # keyword-only: a positional caller with square matrices could mix them up
        args = ", ".join(["*", *(py for _, py, _ in self.params), *self.size_params,
                          f"{CHECK}=False"])
        # an argument over a product dimension: its IR axes, one per factor (row-major)
        regroup = [f"{py} = {self.xp}.reshape({py}, {self.shape_tuple(split_shape(shape))})"
                   for _, py, shape in self.params if any(map(is_product, shape))]
        rest = regroup + self.lines + [f"return {result.text}"]
        text = "\n".join(rest)
        body = [self.dim_source[d] for d in self.dims_used
                if re.search(rf"\b{self.dim_names[d]}\b", text)] + rest
        if self.b.prologue and "_dtype" in "\n".join(body):
            arrays = [py for _, py, shape in self.params if shape]
            first = arrays[0] if arrays else None
            body.insert(0, self.b.prologue.format(first=first) if first
                        else "_dtype, _device = torch.float64, None")
        body = check_call(self.func_name, self.params) + body
        helpers = [self.b.all_helpers[h] for h in sorted(self.helpers)]
        used = "\n".join([*helpers, *body])
        imports = [self.b.imports] + [line for prefix, line in OPTIONAL_IMPORTS.items()
                                      if re.search(r"(?<![\w.])" + re.escape(prefix), used)]
        out = [*header_lines(self.doc), "\n".join(imports), ""]
        for src in helpers:
            out += ["", src, ""]
        out += ["", f"def {self.func_name}({args}):"]
        shown = [tuple(sh if sh is not None else r.shape) for r, sh in zip(self.roots, shapes)]
        doc = docstring(self.doc, self.params, self.size_params,
                        shown[0] if len(shown) == 1 else shown)
        out += [("    " + line).rstrip() for line in doc]
        out += ["    " + line for line in body]
        for src in SIGNATURE_HELPERS.values():     # after the function: it reads first
            out += ["", "", src]
        return "\n".join(out) + "\n"

    def node(self, n: Node) -> E:
        op = n.op
        a = [self.done.get(x) for x in n.args]
        if op == "var":
            return E(self.py_of[n.name])
        if op in ("const", "symbol"):
            v = n.value
            return E(num(v), NEG if v < 0 else ATOM)
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
                 if x.op in (Op.CONST, Op.SYMBOL) or (x.op == Op.ZERO and not x.shape) else e
                 for x, e in zip(n.args, a)]
            return self.call(self.b.template(n.name, n.own, self.symmetric_first(n)), *a)
        if op == "power":
            e = n.args[1]
            if e.op == "const":
                v = e.value
                if v == 0.5:
                    return self.call(self.b.template("sqrt"), a[0])
                if v == -1:
                    return E(f"1.0 / {a[0].at(POW)}", MUL)
                if v == 2:
                    base = a[0] if a[0].level == ATOM else self.bind(a[0])
                    return E(f"{base.text} * {base.text}", MUL)
                return E(f"{a[0].at(ATOM)} ** {num(v) if v >= 0 else f'({num(v)})'}", POW)
            return E(f"{a[0].at(ATOM)} ** {a[1].at(POW)}", POW)
        if op == "einsum":
            return self.einsum(n, a)
        raise ValueError(f"cannot generate code for {op}")

    def symmetric_first(self, n: Node) -> bool:
        """A primitive with code for a symmetric first argument, which this one is."""
        return n.op == Op.PRIM and bool(row(n.name).code_symmetric) and n.args[0].rank == 2 \
            and B.is_symmetric(n.args[0])

    def add(self, n: Node, a: list[E]) -> E:
        spread = any(arg.op != "ones" for arg in n.args)
        terms: list[tuple[str, E]] = []
        stacked: set[int] = set()
        if n.rank >= 3:
            groups = outer_groups(n, self.uses)
            terms += [("+", e) for e in self.outer_sums(n, groups)]
            stacked.update(k for group in groups for k, _, _ in group)
        views = {k: v for k, arg in enumerate(n.args) if k not in stacked
                 and (v := self.spread_view(arg)) is not None}
        if len(views) + len(stacked) + sum(arg.op == "ones" for arg in n.args) >= len(n.args):
            views = {}                           # no full term left to broadcast against
        for k, (arg, e) in enumerate(zip(n.args, a)):
            if k in stacked:
                continue
            if spread and arg.op == "ones":      # 1 - s rather than ones(n) - s
                e = E("1")
            if k in views:                       # G - v[:, None], not G - v[:, None]*ones
                coef, v = views[k]
                terms.append(("-", self.scaled(-coef, v)) if coef < 0 else
                             ("+", self.scaled(coef, v)))
                continue
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

    def spread_view(self, arg: Node) -> tuple[float, E] | None:
        """A term P * ones' of a sum, whose ones factors only spread the product P over
        labels nothing else carries (used once): (coef, P as a broadcasting view); the
        sum's full terms give the shape, so the spread is never written."""
        if arg.op != "einsum" or self.uses[arg] > 1:
            return None
        coef, idxs, out = arg.params
        other = [x for a, ix in zip(arg.args, idxs) if a.op != "ones" for x in ix]
        spread = {ix[0] for a, ix in zip(arg.args, idxs) if a.op == "ones"
                  and ix[0] in out and ix[0] not in other and out.count(ix[0]) == 1}
        if not spread or len(spread) == len(out) or \
                sum(1 for a in arg.args if a.op == "ones") != len(spread):
            return None
        keep = [k for k, a in enumerate(arg.args) if a.op != "ones"]
        rest = B.einsum([arg.args[k] for k in keep], [idxs[k] for k in keep],
                        [x for x in out if x not in spread])
        v = self.emit_new(rest)
        return coef, E(f"{v.at(ATOM)}[{', '.join('None' if x in spread else ':' for x in out)}]")

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
        return E(f"{num(coef)} * {prod.at(POW)}", MUL)


def returned(em: _Emitter, root: Node, out_shape: tuple | None) -> E:
    """A root's value as returned: an array, laid out as the language has it."""
    e = em.done[root]
    if root.op in ("var", "const", "symbol", "zero") or root.rank == 0:
        e = E(em.b.asarray.format(e.text, xp=em.xp))
    if out_shape is None or tuple(out_shape) == tuple(root.shape):
        return e
    return E(f"{em.xp}.reshape({e.text}, {em.grouped_tuple(out_shape)})")


def split_shape(shape: tuple) -> tuple:
    """('m*p', 'n') -> ('m', 'p', 'n'): a product dimension's factors, as the IR has them."""
    return tuple(f for d in shape for f in dim_factors(d))


def generate(root: Node | tuple[Node, ...], params: list[tuple[str, tuple]],
             backend: str = "numpy",
             func_name: str = "derivative", sizes: dict | None = None,
             free_dims: tuple[str, ...] = (), doc: Doc | None = None,
             out_shape: tuple | None = None) -> str:
    """Source of a module with one function `func_name(*, <params>, check_shapes=False)`
    computing `root`: keyword-only parameters (named as parameter_names says), a docstring
    and a comment header from doc.

    sizes: the dimensions the code will mostly run at ({"n": 1000, "k": 10}); they
    choose the order of products and whether to distribute them over sums.  Unknown
    dimensions count as large.  free_dims: dimensions no parameter carries; their sizes
    become parameters after params.  out_shape: the result's shape in the language,
    where a product dimension (m*p) is one axis (params' shapes are the language's too).
    A tuple of roots: the function returns their tuple (out_shape: a tuple of shapes or
    None), computing the nodes they share once."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    sizes = dict(sizes or {})
    # a sum that is c times another is c times that one, across roots and within one:
    # layer norm's 2*X - 2*mean(X, 2) is 2 times the centred X it has computed already
    roots = share_scaled(tuple(optimize(r, sizes)
                               for r in (root if isinstance(root, tuple) else (root,))))
    root = roots if isinstance(root, tuple) else roots[0]
    return _Emitter(root, params, BACKENDS[backend], func_name, sizes, free_dims, doc,
                    out_shape).run()
