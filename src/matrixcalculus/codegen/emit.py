"""The code generator: IR DAG -> one standalone function, one statement per node.

Products are split into pairwise steps in the order opt_einsum chooses; a step
that is a matrix product is written with `@`, a broadcast with `[:, None]`,
anything else as a two-operand einsum (never an unordered n-ary einsum).
Only validated identifiers and numeric literals reach the source.
"""

from __future__ import annotations

import keyword
import re
from itertools import count

import opt_einsum as oe

from ..ir.nodes import Node, walk
from .backends import JAX, NUMPY, TORCH, Backend

BACKENDS: dict[str, Backend] = {"numpy": NUMPY, "torch": TORCH, "jax": JAX}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {"np", "torch", "jax", "jnp", "math", "_dtype"}
_GUESS = 1000        # size assumed for symbolic dimensions when ordering contractions
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
                 func_name: str):
        self.root = root
        self.b = backend
        self.func_name = func_name
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.names: dict[Node, str] = {}
        taken: set[str] = {func_name}
        self.params: list[tuple[str, str, tuple]] = []   # (user name, python name, shape)
        for user, shape in params:
            py = safe_name(user, taken)
            taken.add(py)
            self.params.append((user, py, shape))
        self.dim_names: dict[object, str] = {}
        for _, py, shape in self.params:
            for axis, d in enumerate(shape):
                if isinstance(d, str) and d not in self.dim_names:
                    dn = safe_name(d, taken)
                    taken.add(dn)
                    self.dim_names[d] = dn
                    self.lines.append(f"{dn} = {py}.shape[{axis}]")
        self.taken = taken
        self.temp = (f"t{i}" for i in count(1) if f"t{i}" not in taken)

    def dim(self, d) -> str:
        if isinstance(d, int):
            return str(d)
        if d not in self.dim_names:
            raise ValueError(f"dimension {d} is not the size of any variable")
        return self.dim_names[d]

    def shape_tuple(self, shape: tuple) -> str:
        inner = ", ".join(self.dim(d) for d in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"

    def assign(self, expr: str) -> str:
        name = next(self.temp)
        self.lines.append(f"{name} = {expr}")
        return name

    def run(self) -> str:
        py_of = {user: py for user, py, _ in self.params}
        for n in walk(self.root):
            self.names[n] = self.node(n, py_of)
        result = self.names[self.root]
        if self.root.op in ("var", "const", "zero") or self.root.rank == 0:
            result = self.b.asarray.format(result, xp=self.b.xp)
        args = ", ".join(py for _, py, _ in self.params)
        body = ([self.b.prologue] if self.b.prologue else []) + self.lines + [f"return {result}"]
        out = [self.b.imports, ""]
        for h in sorted(self.helpers):
            out += ["", self.b.helpers[h], ""]
        out += ["", f"def {self.func_name}({args}):"]
        out += ["    " + line for line in body]
        return "\n".join(out) + "\n"

    def call(self, template: str, *args: str) -> str:
        for h in self.b.helpers:
            if template.startswith(h + "("):
                self.helpers.add(h)
        return template.format(*args)

    def node(self, n: Node, py_of: dict[str, str]) -> str:
        op, a = n.op, [self.names.get(x) for x in n.args]
        xp = self.b.xp
        if op == "var":
            return py_of[n.params[0]]
        if op == "const":
            return _num(n.params[0])
        if op == "ones":
            return self.assign(self.b.ones.format(n=self.dim(n.shape[0]), xp=xp))
        if op == "delta":
            return self.assign(self.b.eye.format(n=self.dim(n.shape[0]), xp=xp))
        if op == "zero":
            if not n.shape:
                return "0.0"
            return self.assign(self.b.zeros.format(shape=self.shape_tuple(n.shape), xp=xp))
        if op == "add":
            return self.assign(" + ".join(a))
        if op == "func":
            return self.assign(self.call(self.b.funcs[n.params[0]], a[0]))
        if op == "power":
            e = n.args[1]
            if e.op == "const":
                v = e.params[0]
                if v == 0.5:
                    return self.assign(self.call(self.b.funcs["sqrt"], a[0]))
                if v == -1:
                    return self.assign(f"1.0 / {a[0]}")
                if v == 2:
                    return self.assign(f"{a[0]} * {a[0]}")
                return self.assign(f"{a[0]} ** {_num(v)}")
            return self.assign(f"{a[0]} ** {a[1]}")
        if op in self.b.prims:
            return self.assign(self.call(self.b.prims[op], a[0]))
        if op == "einsum":
            return self.einsum(n, a)
        raise ValueError(f"cannot generate code for {op}")

    # ------------------------------------------------------------ products
    def einsum(self, n: Node, names: list[str]) -> str:
        coef, idxs, out = n.params
        letters = {lab: _LETTERS[k] for k, lab in enumerate(sorted({x for ix in idxs for x in ix}))}
        terms = ["".join(letters[x] for x in ix) for ix in idxs]
        target = "".join(letters[x] for x in out)
        operands = list(zip(names, terms, [a.shape for a in n.args]))
        if len(operands) > 1:
            sizes = [tuple(_GUESS if isinstance(d, str) else d for d in s) for _, _, s in operands]
            spec = ",".join(terms) + "->" + target
            _, info = oe.contract_path(spec, *sizes, shapes=True, optimize="auto")
            work = [(nm, t) for nm, t, _ in operands]
            for inds, _, step, _, _ in info.contraction_list:
                picked = [work.pop(i) for i in inds]
                res = step.split("->")[1]
                work.append((self.pair(picked, res), res))
            (name, term), = work
        else:
            name, term = operands[0][0], operands[0][1]
        expr = self.single(name, term, target)
        if coef != 1:
            expr = f"-{_paren(expr)}" if coef == -1 else f"{_num(coef)} * {_paren(expr)}"
        return self.assign(expr) if expr != name else name

    def single(self, name: str, term: str, target: str) -> str:
        """One operand: a permutation, trace, diagonal or sum."""
        if term == target:
            return name
        if len(term) == 2 and term == target[::-1]:
            return f"{name}.T"
        if target == "" and len(set(term)) == len(term):
            return f"{self.b.xp}.sum({name})"
        return self.ein(f"{term}->{target}", name)

    def ein(self, spec: str, *names: str) -> str:
        return f"{self.b.xp}.einsum('{spec}', {', '.join(names)})"

    def pair(self, picked: list[tuple[str, str]], res: str) -> str:
        if len(picked) == 1:
            return self.assign(self.single(picked[0][0], picked[0][1], res))
        (x, tx), (y, ty) = picked
        return self.assign(self.binary(x, tx, y, ty, res))

    def binary(self, x: str, tx: str, y: str, ty: str, res: str) -> str:
        # scalars and elementwise products broadcast
        if not tx or not ty:
            prod = f"{x} * {y}"
            full = tx or ty
            return prod if full == res else self.single(_paren_str(prod), full, res)
        if tx == ty and len(set(tx)) == len(tx):
            prod = f"{x} * {y}"
            return prod if tx == res else self.single(_paren_str(prod), tx, res)
        shared = set(tx) & set(ty)
        repeated = len(set(tx)) < len(tx) or len(set(ty)) < len(ty)
        if not repeated and len(shared) == 1 and all(c not in res for c in shared):
            (s,) = shared
            if len(tx) <= 2 and len(ty) <= 2:
                # a matrix product: put s last in x and first in y
                xm = x if tx[-1] == s else (f"{x}.T" if len(tx) == 2 else x)
                ym = y if ty[0] == s else (f"{y}.T" if len(ty) == 2 else y)
                rest = tx.replace(s, "") + ty.replace(s, "")
                if rest == res:
                    return f"{xm} @ {ym}"
                if len(rest) == 2 and rest[::-1] == res:
                    return f"({xm} @ {ym}).T"
        if not shared and len(tx) == 1 and len(ty) == 1 and not repeated:
            if res == tx + ty:
                return f"{x}[:, None] * {y}[None, :]"
            if res == ty + tx:
                return f"{y}[:, None] * {x}[None, :]"
        if not repeated and len(tx) == 1 and len(ty) == 2 and tx in ty and set(res) == set(ty):
            b = f"{x}[:, None]" if ty[0] == tx else f"{x}[None, :]"
            prod = f"{b} * {y}"
            return prod if res == ty else f"({prod}).T"
        if not repeated and len(ty) == 1 and len(tx) == 2 and ty in tx and set(res) == set(tx):
            return self.binary(y, ty, x, tx, res)
        return self.ein(f"{tx},{ty}->{res}", x, y)


def _paren(expr: str) -> str:
    return expr if re.fullmatch(r"[A-Za-z_][\w.]*", expr) else f"({expr})"


def _paren_str(expr: str) -> str:
    return f"({expr})"


def generate(root: Node, params: list[tuple[str, tuple]], backend: str = "numpy",
             func_name: str = "derivative") -> str:
    """Source of a module with one function `func_name(*params)` computing `root`."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    return _Emitter(root, params, BACKENDS[backend], func_name).run()
