"""Random well-typed expressions of the language, each built twice from one random tree:
as text in the input language, and as a torch function written directly from what each
operator means (LANGUAGE.md), so that torch autograd is an oracle independent of the
engine.

Types are Matlab-like (rows, cols) with symbolic dimensions n, m, k and None for 1; in
torch a scalar is 0-d, a vector (row or column) 1-d, a matrix 2-d.  Domains are kept by
construction: logs, square roots, divisions and real powers only of positive forms
(exp, sigmoid, softplus, 1 + e.^2, positive variables ...); inverses, determinants and
log-determinants only of well-conditioned forms (eye(n) + E'*E, SPD or invertible
variables).  Values stay in sane ranges: exp and tan only of squashed arguments.
Variables are reused, subexpressions repeated (as text, or named by `where`), dimensions
sometimes written as integers, and some variables left undeclared (their spelling gives
their kind; type inference their dimensions).

check_case(case, order) (or, with case.mixed set, the mixed derivative wrt that list)
then compares, at random points honoring the domains: the
expression's value with torch; the derivative (generated NumPy and PyTorch code) with
torch autograd; the printed answer, parsed back (one-line and multi-line), with the
derivative; the unsimplified derivative IR with the simplified one.

The generator draws every choice through `choice(k) -> int in [0, k)`, so hypothesis
(and its shrinking) or a plain random.Random can drive it:

    case = Generator(random.Random(1).randrange, max_depth=6).case()
    case.text, case.vars, case.domains, case.torch_fn(env)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from matrixcalculus import ops

DIMS = ("n", "m", "k")
Type = tuple  # (rows, cols): a dimension name or None for 1
SCALAR: Type = (None, None)

# binding levels, loosest first (grammar.lark)
SUM, PRODUCT, UNARY, POWER, EPOWER, POSTFIX, ATOM = range(1, 8)

NAMES = {
    "scalar": ["a", "b", "c", "alpha", "beta", "lambda", "gamma_2", "t"],
    "vector": ["x", "y", "z", "u", "v", "w", "p", "q"],
    "matrix": ["A", "B", "C", "X", "Y", "W", "M", "K"],
    "symmetric": ["S", "P", "Q", "R"],
}


def col(d) -> Type:
    return (d, None)


def row(d) -> Type:
    return (None, d)


def tr(t: Type) -> Type:
    return (t[1], t[0])


def rank(t: Type) -> int:
    return (t[0] is not None) + (t[1] is not None)


def square(t: Type) -> bool:
    return t[0] is not None and t[0] == t[1]


@dataclass(frozen=True, eq=False)
class E:
    """One random subexpression: its text, binding level, torch meaning and type."""

    text: str
    level: int
    fn: Callable[[dict], torch.Tensor]
    type: Type
    size: int = 1
    reduced: bool = False   # an axis-reduced column (LANGUAGE.md "Expansion"): it may expand


def _vec(x: torch.Tensor) -> torch.Tensor:
    """vec: the columns stacked (column-major)."""
    return x.T.reshape(-1) if x.dim() == 2 else x.reshape(-1)


def wrap(e: E, at_least: int) -> str:
    return e.text if e.level >= at_least else f"({e.text})"


def _t2(x: torch.Tensor) -> torch.Tensor:
    return x.T if x.dim() == 2 else x


def num_text(v: float, style: int = 0) -> str:
    if float(v).is_integer():
        return [str(int(v)), f"{int(v)}.0", str(int(v))][style % 3]
    if style % 3 == 1 and 0 < v < 1:
        return repr(v)[1:] if repr(v).startswith("0.") else repr(v)     # .5
    if style % 3 == 2:
        m, e = f"{v:e}".split("e")
        return f"{float(m):g}e{int(e)}"                                  # 5e-1
    return repr(float(v))


@dataclass
class Case:
    text: str
    vars: dict[str, str]            # name -> declaration
    domains: dict[str, str | None]  # name -> positive / spd / invertible / sym / None
    kinds: dict[str, tuple]         # name -> (kind, dims)
    torch_fn: Callable[[dict], torch.Tensor]
    type: Type
    size: int
    wrt: str = ""
    order: int = 1
    mixed: tuple[str, ...] = ()     # a mixed derivative's list of variables (wrt unused)
    sizes: dict[str, int] = field(default_factory=lambda: {"n": 3, "m": 2, "k": 4})
    seed: int = 0
    undeclared: tuple[str, ...] = ()  # variables left to type inference (not in vars)

    def shape(self, name: str) -> tuple[int, ...]:
        kind, dims = self.kinds[name]
        if kind == "symmetric":
            return (self.sizes[dims[0]],) * 2
        return tuple(self.sizes[d] for d in dims)

    def inputs(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """A random point honoring every variable's domain (float64; scalars 0-d)."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        out = {}
        for name in sorted(self.kinds):
            shape = self.shape(name)
            dom = self.domains[name]
            if dom == "positive":
                a = rng.uniform(0.5, 2.0, shape)
            elif dom == "spd":
                g = rng.standard_normal(shape)
                a = g @ g.T / shape[0] + 0.5 * np.eye(shape[0])
            elif dom == "invertible":
                a = 2.0 * np.eye(shape[0]) + 0.5 * rng.standard_normal(shape) / math.sqrt(
                    shape[0])
            else:
                a = 0.8 * rng.standard_normal(shape)
                if dom == "sym":
                    a = (a + a.T) / 2
            out[name] = np.asarray(a, dtype=np.float64)
        return out

    def __str__(self) -> str:
        decl = ", ".join(f"{k}: {v}" + (f" [{self.domains[k]}]" if self.domains[k] else "")
                         for k, v in self.vars.items())
        if self.undeclared:
            decl += "; undeclared: " + ", ".join(
                f"{k} {self.kinds[k][0]}({', '.join(self.kinds[k][1])})"
                + (f" [{self.domains[k]}]" if self.domains[k] else "") for k in self.undeclared)
        wrt = f"[{', '.join(self.mixed)}]" if self.mixed else self.wrt
        return (f"{self.text!r} wrt {wrt} order {self.order}; vars {{{decl}}}; "
                f"sizes {self.sizes}; seed {self.seed}")


# ------------------------------------------------------------------ axis functions, expansion
# LANGUAGE.md v2 "along one axis", "Expansion" and dimensions used as values: a mixin of
# Generator, kept apart so that other additions to the generator merge cleanly.
AXIS_REDUCTIONS = ("sum", "mean", "logsumexp")
EXPANDING = ("+", "-", ".*", "./", ".^", "max", "min")
_ALONG: dict[str, Callable] = {
    "sum": lambda x, dim: torch.sum(x, dim), "mean": lambda x, dim: torch.mean(x, dim),
    "logsumexp": lambda x, dim: torch.logsumexp(x, dim),
    "softmax": lambda x, dim: torch.softmax(x, dim)}
# what a rejected case (AxisForms.rejected_case) is made of
REJECTED = ("plain-column", "plain-column-name", "singleton-axis", "softmax-no-axis",
            "bad-axis", "row-mismatch", "column-mismatch")


def _reduced(e: E) -> E:
    return replace(e, reduced=True)


class AxisForms:
    """f(X, k) of sum/mean/logsumexp/softmax, rows and axis-reduced columns expanded over
    matrices, dimension names as values; each with its torch meaning: f along dim k - 1 of a
    matrix (dim 0 of a vector: torch holds rows and columns 1-d), and an axis-reduced column
    lifted to x[:, None] before it broadcasts over a matrix.  Axis-reduced columns carry
    E.reduced; only they (and rows) ever stand beside a matrix."""

    # ------------------------------------------------------------ hooks of gen and pos
    def axis_options(self, t: Type, depth: int) -> list[tuple[int, Callable[[], E]]]:
        opts: list[tuple[int, Callable[[], E]]] = [
            (1, lambda: self.prod_op(self.gen(t, depth), self.dim_value(), "/"))]
        if t == SCALAR:
            opts += [(2, lambda: self.along_vector(depth)), (1, self.dim_value)]
        elif t[0] is None:                  # a row: sum(X, 1) ...
            opts += [(3, lambda: self.row_reduction(t[1], depth)),
                     (1, lambda: self.softmax_along(t, depth))]
        elif t[1] is None:                  # a column: sum(X, 2) ... (axis-reduced)
            opts += [(3, lambda: self.reduced_column(t[0], depth)),
                     (1, lambda: self.softmax_along(t, depth))]
        else:
            opts += [(2, lambda: self.softmax_along(t, depth)),
                     (5, lambda: self.expansion(t, depth))]
        return opts

    def axis_pos_options(self, t: Type, depth: int) -> list[tuple[int, Callable[[], E]]]:
        """Positive forms of type t (for pos())."""
        if t == SCALAR:
            return [(1, self.dim_value), (1, lambda: self.along_vector(depth, positive=True))]
        soft = (1, lambda: self.softmax_along(t, depth))
        if t[0] is None:
            return [soft, (1, lambda: self.row_reduction(t[1], depth, positive=True))]
        if t[1] is None:
            return [soft, (2, lambda: self.reduced_positive(t[0], depth))]
        return [soft, (2, lambda: self.expansion(t, depth, positive=True))]

    # ------------------------------------------------------------ f(X, k)
    def along(self, f: str, a: E, k: int, t: Type) -> E:
        """f(a, k): along dim k - 1 of a matrix, dim 0 of a vector."""
        dim = k - 1 if rank(a.type) == 2 else 0
        self.produced.add(f"{f}(X, {k})" if rank(a.type) == 2 else f"{f}(x, k)")
        sp = self.pick(["", " "])
        return E(f"{f}({a.text},{sp}{k})", ATOM, lambda env: _ALONG[f](a.fn(env), dim), t,
                 a.size + 1)

    def along_vector(self, depth: int, positive: bool = False) -> E:
        """sum(x, 1) of a column, mean(x', 2) of a row: along the non-singleton axis."""
        f = self.pick(["sum", "mean"] if positive else list(AXIS_REDUCTIONS))
        d = self.pick(DIMS)
        t, k = self.pick([(col(d), 1), (row(d), 2)])
        return self.along(f, self.pos(t, depth) if positive else self.gen(t, depth), k, SCALAR)

    def row_reduction(self, c: str, depth: int, positive: bool = False) -> E:
        """f(X, 1): a row 1 x c."""
        f = self.pick(["sum", "mean"] if positive else list(AXIS_REDUCTIONS))
        t = (self.pick(DIMS), c)
        return self.along(f, self.pos(t, depth) if positive else self.gen(t, depth), 1, row(c))

    def softmax_along(self, t: Type, depth: int) -> E:
        k = self.pick([1, 2]) if rank(t) == 2 else (1 if t[1] is None else 2)
        return self.along("softmax", self.gen(t, depth), k, t)

    def dim_value(self) -> E:
        """A dimension's name as its size (`/n`, `sqrt(m)`): only a dimension written by name
        (declared through some variable, or z_d)."""
        named = [d for d in DIMS if self.dim_text[d] == d]
        if not named:
            return self.num(2.0)
        d = self.pick(named)
        self.dim(d)
        self.produced.add("dim-value")
        e = E(d, ATOM, lambda env: torch.tensor(float(env["#"][d]), dtype=torch.float64),
              SCALAR)
        return self.call("sqrt", e, SCALAR, torch.sqrt) if self.coin(1, 3) else e

    # ------------------------------------------------------------ axis-reduced columns
    def reduced_base(self, d: str, depth: int, positive: bool = False) -> E:
        f = self.pick(["sum", "mean"] if positive else list(AXIS_REDUCTIONS))
        t = (d, self.pick(DIMS))
        arg = self.pos(t, depth) if positive else (self.gen(t, depth) if depth > 0
                                                   else self.leaf(t))
        return _reduced(self.along(f, arg, 2, col(d)))

    def reduced_column(self, d: str, depth: int) -> E:
        """sum/mean/logsumexp(X, 2), or built elementwise from such and scalars."""
        if depth <= 0:
            return self.reduced_base(d, 0)
        d1 = depth - 1
        return self.weighted([
            (3, lambda: self.reduced_base(d, d1)),
            (2, lambda: self.reduced_elementwise(d, d1)),
            (2, lambda: self.reduced_scaling(d, d1)),
            (1, lambda: self.reduced_combination(d, d1)),
            (2, lambda: self.reduced_name(d, d1, positive=False)),
        ])

    def reduced_bounded(self, d: str, depth: int) -> E:
        f = self.pick(["tanh", "sin", "cos", "sigmoid"])
        return _reduced(self.call(f, self.reduced_column(d, depth), col(d), _TORCH_FUNCS[f]))

    def reduced_positive(self, d: str, depth: int) -> E:
        if depth <= 0:
            return self.reduced_base(d, 0, positive=True)
        d1 = depth - 1
        t = col(d)

        def one_plus_square():
            sq = _reduced(self.dotcaret(self.reduced_column(d, d1), self.num(2.0)))
            return _reduced(self.sum_op(self.num(1.0), sq, "+"))

        return self.weighted([
            (3, lambda: self.reduced_base(d, d1, positive=True)),
            (1, lambda: _reduced(self.call("exp", self.reduced_bounded(d, d1), t, torch.exp))),
            (1, lambda: _reduced(self.call("sigmoid", self.reduced_column(d, d1), t,
                                           torch.sigmoid))),
            (1, lambda: _reduced(self.call("softplus", self.reduced_column(d, d1), t,
                                           _softplus))),
            (1, one_plus_square),
            (1, lambda: _reduced(self.call("sqrt", self.reduced_positive(d, d1), t,
                                           torch.sqrt))),
            (1, lambda: _reduced(self.sum_op(self.reduced_positive(d, d1),
                                             self.num(self.pick([1e-5, 0.5])), "+"))),
            (1, lambda: _reduced(self.prod_op(self.pos(SCALAR, d1),
                                              self.reduced_positive(d, d1), "*"))),
            (2, lambda: self.reduced_name(d, d1, positive=True)),
        ])

    def reduced_elementwise(self, d: str, depth: int) -> E:
        """An elementwise function (any alias) of an axis-reduced column."""
        f = self.pick([g for g in _ELEMENTWISE if ops.row(g).arity == (1,)])
        domain = ops.row(f).domain
        if domain == "bounded":
            arg = self.reduced_bounded(d, depth)
        elif domain == "positive":
            arg = self.reduced_positive(d, depth)
        elif domain == "unit":
            arg = _reduced(self.prod_op(self.num(0.9), self.reduced_bounded(d, depth), "*"))
        else:
            arg = self.reduced_column(d, depth)
        self.produced.add("reduced-elementwise")
        return _reduced(self.call(self.pick(list(ops.row(f).names)), arg, col(d), _oracle(f)))

    def reduced_scaling(self, d: str, depth: int) -> E:
        """s*r, r/s, -r, r + s, s - r, r.^2: scalings and shifts of an axis-reduced column."""
        r = self.reduced_column(d, depth)
        k = self.choice(7)
        if k == 3:
            e = self.neg(r)
        elif k == 6:
            e = self.dotcaret(r, self.num(2.0))
        elif k == 2:
            # (decided before generating: a side generated and dropped would leave a variable
            # the text never uses)
            e = self.prod_op(r, self.pos(SCALAR, depth) if self.coin() else self.dim_value(), "/")
        else:
            s = self.weighted([(3, lambda: self.gen(SCALAR, depth)), (1, self.dim_value),
                               (1, lambda: self.num(self.pick([2.0, 0.5])))])
            e = (self.prod_op(s, r, "*") if k == 0 else self.prod_op(r, s, "*") if k == 1
                 else self.sum_op(r, s, "+") if k == 4 else self.sum_op(s, r, "-"))
        self.produced.add("reduced-scaling")
        return _reduced(e)

    def reduced_combination(self, d: str, depth: int) -> E:
        """r1 op r2 of two axis-reduced columns (+ - .* ./ max min), or max(r, s)."""
        op = self.pick(["+", "-", ".*", "./", "max", "min"])
        a = self.reduced_column(d, depth)
        if op in ("+", "-"):
            e = self.sum_op(a, self.reduced_column(d, depth), op)
        elif op == ".*":
            e = self.prod_op(a, self.reduced_column(d, depth), op)
        elif op == "./":
            e = self.prod_op(a, self.reduced_positive(d, depth), op)
        else:
            b = self.gen(SCALAR, depth) if self.coin(1, 3) else self.reduced_column(d, depth)
            e = self.call2(op, a, b, col(d)) if self.coin() else self.call2(op, b, a, col(d))
        self.produced.add("reduced-combination")
        return _reduced(e)

    def reduced_name(self, d: str, depth: int, positive: bool) -> E:
        """A where-name bound to an axis-reduced column (a new one, or one bound before)."""
        key = (d, positive)
        have = self.reduced_bound.setdefault(key, [])
        if have and self.coin():
            return self.pick(have)
        e = self.reduced_positive(d, depth) if positive else self.reduced_column(d, depth)
        name = f"s{len(self.bindings) + 1}"
        self.bindings.append((name, e))
        self.produced.add("reduced-name")
        bound = E(name, ATOM, e.fn, col(d), 1, reduced=True)
        have.append(bound)
        return bound

    # ------------------------------------------------------------ expansion
    def expansion(self, t: Type, depth: int, positive: bool = False) -> E:
        """A row over a matrix's rows or an axis-reduced column over its columns, through
        + - .* ./ .^ max min (LANGUAGE.md "Expansion"), the matrix on either side."""
        r, c = t
        op = self.pick(("+", ".*", "./", ".^", "max", "min") if positive else EXPANDING)
        side = self.pick(["row", "column"])

        def vec(kind: str) -> E:
            if side == "row":
                return {"any": lambda: self.gen(row(c), depth),
                        "pos": lambda: self.pos(row(c), depth),
                        "bounded": lambda: self.bounded(row(c), max(depth - 1, 0))}[kind]()
            return {"any": lambda: self.reduced_column(r, depth),
                    "pos": lambda: self.reduced_positive(r, depth),
                    "bounded": lambda: self.reduced_bounded(r, max(depth - 1, 0))}[kind]()

        def mat(kind: str) -> E:
            return {"any": lambda: self.gen(t, depth), "pos": lambda: self.pos(t, depth),
                    "bounded": lambda: self.bounded(t, max(depth - 1, 0))}[kind]()

        mat_left = self.coin()
        plain = "pos" if positive else "any"
        kinds = {"+": (plain, plain), "-": ("any", "any"), ".*": (plain, plain),
                 "./": (plain, "pos"), ".^": ("pos", "bounded"),
                 "max": ("pos" if positive else "any", "any"), "min": (plain, plain)}[op]
        if mat_left:
            a, b = mat(kinds[0]), vec(kinds[1])
        else:
            a, b = vec(kinds[0]), mat(kinds[1])
        v = b if mat_left else a
        dim = 0 if side == "row" else -1
        lifted = replace(v, fn=lambda env: v.fn(env).unsqueeze(dim))
        a, b = (a, lifted) if mat_left else (lifted, b)
        if op in ("+", "-"):
            e = self.sum_op(a, b, op)
        elif op in (".*", "./"):
            e = self.prod_op(a, b, op)
        elif op == ".^":
            e = self.dotcaret(a, b)
        else:
            e = self.call2(op, a, b, t)
        self.produced.add(f"expand {side} {op}")
        return replace(e, type=t, reduced=False)

    # ------------------------------------------------------------ rejected forms
    def rejected_case(self) -> tuple[Case, str, tuple[int, int]]:
        """An expression that must be rejected: a plain column beside a matrix, f(x, 2) of a
        column, softmax of a matrix without k, a bad axis, a row or an axis-reduced column
        of another length; inside a well-typed context.  Returns the case (every variable
        declared), its kind and the span of the wrong part in the text."""
        kind = self.pick(REJECTED)
        depth = 1 + self.choice(3)
        named = [d for d in DIMS if self.dim_text[d] == d]
        if kind in ("row-mismatch", "column-mismatch") and len(named) < 2:
            kind = "plain-column"
        bad = getattr(self, "_bad_" + kind.replace("-", "_"))(depth, named)
        self.produced.add(f"rejected {kind}")
        k = self.choice(5)
        if k == 4:
            prefix, suffix = self.gen(SCALAR, 1).text + " + sum(", ")"
        else:
            prefix, suffix = [("", ""), ("sum(", ")"), ("2*(", ")"), ("exp(", ")")][k]
        text = prefix + bad + suffix
        if self.bindings:
            text += " where " + ", ".join(f"{name} = {b.text}" for name, b in self.bindings)
        declared = {d for _, dims in self.kinds.values() for d in dims}
        for d in DIMS:
            if d not in declared and d in self.dims_used:
                self.vars[f"z_{d}"] = f"vector({self.dim_text[d]})"
                self.domains[f"z_{d}"] = None
                self.kinds[f"z_{d}"] = ("vector", (d,))
        wrt = self.pick(list(self.kinds)) if self.kinds else ""
        case = Case(text, dict(self.vars), dict(self.domains), dict(self.kinds), lambda env: 0,
                    SCALAR, 1, wrt, sizes=dict(self.sizes))
        # a caret may take in the parentheses that group the wrong part: 2*(softmax(X))
        grouped = k == 2
        return case, kind, (len(prefix) - grouped, len(prefix) + len(bad) + grouped)

    def _beside(self, m: E, v: E, op: str) -> str:
        """m op v or v op m, as text (v beside the matrix m)."""
        a, b = (m, v) if self.coin() else (v, m)
        if op in ("+", "-"):
            return self.sum_op(a, b, op).text
        if op in (".*", "./"):
            return self.prod_op(a, b, op).text
        if op == ".^":
            return self.dotcaret(a, b).text
        return f"{op}({a.text}, {b.text})"

    def _plain_column(self, d: str, depth: int) -> E:
        """A column that is not axis-reduced."""
        k = self.choice(4)
        if k == 0:
            return self.const(col(d))
        if k == 1:
            e = self.pick(DIMS)
            return self.prod_op(self.gen((d, e), depth - 1), self.gen(col(e), depth - 1), "*")
        if k == 2:
            return self.call("exp", self.var(col(d)), col(d), torch.exp)
        return self.var(col(d))

    def _bad_plain_column(self, depth: int, named: list[str]) -> str:
        t = (self.pick(DIMS), self.pick(DIMS))
        return self._beside(self.gen(t, depth), self._plain_column(self.pick(t), depth),
                            self.pick(EXPANDING))

    def _bad_plain_column_name(self, depth: int, named: list[str]) -> str:
        t = (self.pick(DIMS), self.pick(DIMS))
        v = self._plain_column(t[0], depth)
        name = f"s{len(self.bindings) + 1}"
        self.bindings.append((name, v))
        return self._beside(self.gen(t, depth), E(name, ATOM, v.fn, v.type), self.pick(EXPANDING))

    def _bad_singleton_axis(self, depth: int, named: list[str]) -> str:
        f = self.pick(list(_ALONG))
        d = self.pick(DIMS)
        t, k = self.pick([(col(d), 2), (row(d), 1), (SCALAR, 1), (SCALAR, 2)])
        return f"{f}({self.gen(t, depth).text}, {k})"

    def _bad_softmax_no_axis(self, depth: int, named: list[str]) -> str:
        return f"softmax({self.gen((self.pick(DIMS), self.pick(DIMS)), depth).text})"

    def _bad_bad_axis(self, depth: int, named: list[str]) -> str:
        f = self.pick(list(_ALONG))
        d = self.pick(DIMS)
        t = self.pick([(d, self.pick(DIMS)), col(d), row(d)])
        ks = ["0", "3", "-1", "4", "2.5", "1e9", "1 + 1", self.var(SCALAR).text] + named
        return f"{f}({self.gen(t, depth).text}, {self.pick(ks)})"

    def _bad_row_mismatch(self, depth: int, named: list[str]) -> str:
        c, e = self.pick([(x, y) for x in named for y in named if x != y])
        m = self.gen((self.pick(DIMS), c), depth)
        return self._beside(m, self.gen(row(e), depth), self.pick(EXPANDING))

    def _bad_column_mismatch(self, depth: int, named: list[str]) -> str:
        r, e = self.pick([(x, y) for x in named for y in named if x != y])
        m = self.gen((r, self.pick(DIMS)), depth)
        return self._beside(m, self.reduced_column(e, depth), self.pick(EXPANDING))


class Generator(AxisForms):
    def __init__(self, choice: Callable[[int], int], max_depth: int = 6):
        self.choice = choice
        self.max_depth = max_depth
        self.sizes = dict(zip(DIMS, self.pick([(3, 2, 4), (2, 4, 3), (4, 3, 2), (3, 3, 2),
                                                (1, 2, 3)])))
        # a dimension is written as its name, or (sometimes) as its size
        self.dim_text = {d: str(self.sizes[d]) if self.sizes[d] > 1 and self.coin(1, 6) else d
                         for d in DIMS}
        self.vars: dict[str, str] = {}
        self.domains: dict[str, str | None] = {}
        self.kinds: dict[str, tuple] = {}
        self.by_key: dict[tuple, list[str]] = {}
        self.pool: dict[Type, list[E]] = {}
        self.bindings: list[tuple[str, E]] = []
        self.bound: dict[int, str] = {}
        self.dims_used: set[str] = set()
        self.undeclared: set[str] = set()
        self.produced: set[str] = set()       # the axis and expansion forms made (AxisForms)
        self.reduced_bound: dict[tuple, list[E]] = {}   # where-names of axis-reduced columns

    def dim(self, d: str) -> str:
        """How a dimension is written in ones(...) and eye(...)."""
        self.dims_used.add(d)
        return self.dim_text[d]

    # ------------------------------------------------------------ choices
    def pick(self, seq):
        return seq[self.choice(len(seq))]

    def coin(self, p_num: int = 1, p_den: int = 2) -> bool:
        return self.choice(p_den) < p_num

    def weighted(self, options: list[tuple[int, Callable[[], E]]]) -> E:
        total = sum(w for w, _ in options)
        r = self.choice(total)
        for w, f in options:
            if r < w:
                return f()
            r -= w
        raise AssertionError

    # ------------------------------------------------------------ the case
    def case(self) -> Case:
        t = self.pick([SCALAR, SCALAR, SCALAR, col("n"), col("m"), ("n", "m"), ("n", "n"),
                       row("k")])
        depth = 1 + self.choice(self.max_depth)
        return self.finish(self.gen(t, depth))

    def finish(self, e: E) -> Case:
        """The case of a root expression e: its where-bindings, the variable to
        differentiate, and z_d vectors that carry dimensions no variable does."""
        t = e.type
        if not self.vars:                 # something to differentiate with respect to
            e = self.sum_op(e, self.var(t), "+")
        text = e.text
        if self.bindings:
            sep = self.pick([", ", ",", " , "])
            text += " where " + sep.join(f"{name} = {b.text}" for name, b in self.bindings)
        wrt = self.pick(list(self.kinds)) if self.kinds else ""
        # (an undeclared variable's dimensions are whatever inference makes of them)
        carried = {d for name, (_, dims) in self.kinds.items() if name not in self.undeclared
                   for d in dims}
        for d in DIMS:     # evaluate() learns a dimension's size only from a variable
            if d not in carried and d in self.dims_used:
                name = f"z_{d}"
                self.vars[name] = f"vector({self.dim_text[d]})"
                self.domains[name] = None
                self.kinds[name] = ("vector", (d,))
        declared = {k: v for k, v in self.vars.items() if k not in self.undeclared}
        return Case(text, declared, dict(self.domains), dict(self.kinds), e.fn,
                    e.type, e.size, wrt, sizes=dict(self.sizes), seed=self.choice(1 << 16),
                    undeclared=tuple(k for k in self.vars if k in self.undeclared))

    # ------------------------------------------------------------ leaves
    def var(self, t: Type, domain: str | None = None) -> E:
        if t[0] is None and t[1] is not None:             # a row vector: x'
            return self.transpose(self.var(col(t[1]), domain))
        if t == SCALAR:
            kind, dims = "scalar", ()
        elif t[1] is None:
            kind, dims = "vector", (t[0],)
        elif domain in ("spd", "sym"):
            kind, dims = "symmetric", (t[0],)
        else:
            kind, dims = "matrix", t
        key = (kind, dims, domain)
        have = self.by_key.setdefault(key, [])
        if have and self.coin(2, 3):
            name = self.pick(have)
        else:
            free = [n for n in NAMES[kind] if n not in self.vars]
            if not free:
                name = self.pick(have) if have else None
                if name is None:        # out of names: a constant (positive, spd: ones + I)
                    if domain in ("spd", "invertible"):
                        eye = E(f"eye({self.dim(t[0])})", ATOM,
                                lambda env, d=t[0]: torch.eye(env["#"][d],
                                                              dtype=torch.float64), t)
                        return self.sum_op(self.const(t, positive=True), eye, "+")
                    return self.const(t, positive=domain is not None)
            else:
                name = free[0]
                self.vars[name] = (kind if kind == "scalar" else
                                   f"{kind}({', '.join(self.dim_text[d] for d in dims)})")
                self.domains[name] = domain
                self.kinds[name] = (kind, dims)
                have.append(name)
                if kind == _default_kind(name) and domain != "sym" and self.coin(1, 4):
                    self.undeclared.add(name)      # its type is left to inference
        return E(name, ATOM, lambda env, name=name: env[name], t)

    def const(self, t: Type, positive: bool = False) -> E:
        if t == SCALAR:
            v = self.pick([0.5, 2.0, 3.0, 1.5, 0.25, 1.0, 0.1])
            return E(num_text(v, self.choice(3)), ATOM,
                     lambda env, v=v: torch.tensor(v, dtype=torch.float64), t)
        if t[0] is None:
            return self.transpose(self.const(col(t[1])))
        if t[1] is None:
            d = t[0]
            return E(f"ones({self.dim(d)})", ATOM,
                     lambda env, d=d: torch.ones(env["#"][d], dtype=torch.float64), t)
        r, c = t
        if r == c and not positive and self.coin():       # eye is not positive
            return E(f"eye({self.dim(r)})", ATOM,
                     lambda env, r=r: torch.eye(env["#"][r], dtype=torch.float64), t)
        sep = self.pick([", ", ","])
        return E(f"ones({self.dim(r)}{sep}{self.dim(c)})", ATOM,
                 lambda env, r=r, c=c: torch.ones(env["#"][r], env["#"][c],
                                                  dtype=torch.float64), t)

    def num(self, v: float) -> E:
        return E(num_text(v, self.choice(3)), ATOM,
                 lambda env, v=v: torch.tensor(v, dtype=torch.float64), SCALAR)

    # ------------------------------------------------------------ operators
    def transpose(self, a: E) -> E:
        return E(wrap(a, POSTFIX) + "'", POSTFIX, lambda env: _t2(a.fn(env)), tr(a.type),
                 a.size + 1)

    def neg(self, a: E) -> E:
        return E("-" + wrap(a, UNARY), UNARY, lambda env: -a.fn(env), a.type, a.size + 1)

    def plus(self, a: E) -> E:
        return E("+" + wrap(a, UNARY), UNARY, a.fn, a.type, a.size + 1)

    def sum_op(self, a: E, b: E, op: str) -> E:
        t = a.type if a.type != SCALAR else b.type
        sp = self.pick([" ", ""])
        text = f"{wrap(a, SUM)}{sp}{op}{sp}{wrap(b, PRODUCT)}"
        if op == "+":
            def fn(env):
                return a.fn(env) + b.fn(env)
        else:
            def fn(env):
                return a.fn(env) - b.fn(env)
        return E(text, SUM, fn, t, a.size + b.size + 1)

    def prod_op(self, a: E, b: E, op: str) -> E:
        """* / .* ./ (one level, left to right)."""
        ta, tb = a.type, b.type
        text = f"{wrap(a, PRODUCT)}{op}{wrap(b, UNARY)}"
        if op == "*":
            if ta == SCALAR or tb == SCALAR:
                t = tb if ta == SCALAR else ta

                def fn(env):
                    return a.fn(env) * b.fn(env)
            else:
                assert ta[1] == tb[0], (ta, tb)
                t = (ta[0], tb[1])
                if ta[1] is None:                            # column * row: outer product
                    def fn(env):
                        return torch.outer(a.fn(env), b.fn(env))
                else:
                    def fn(env):
                        return torch.matmul(a.fn(env), b.fn(env))
        elif op == ".*":
            t = ta if ta != SCALAR else tb

            def fn(env):
                return a.fn(env) * b.fn(env)
        else:   # / and ./
            t = ta if ta != SCALAR else tb

            def fn(env):
                return a.fn(env) / b.fn(env)
        return E(text, PRODUCT, fn, t, a.size + b.size + 1)

    def caret(self, a: E, b: E) -> E:
        assert a.type == SCALAR and b.type == SCALAR
        return E(f"{wrap(a, EPOWER)}^{wrap(b, POWER)}", POWER,
                 lambda env: torch.pow(a.fn(env), b.fn(env)), SCALAR, a.size + b.size + 1)

    def dotcaret(self, a: E, b: E) -> E:
        t = a.type if a.type != SCALAR else b.type
        return E(f"{wrap(a, POSTFIX)}.^{wrap(b, EPOWER)}", EPOWER,
                 lambda env: torch.pow(a.fn(env), b.fn(env)), t, a.size + b.size + 1)

    def call(self, f: str, a: E, t: Type, fn: Callable[[torch.Tensor], torch.Tensor]) -> E:
        sp = self.pick(["", "", " "])
        return E(f"{f}({sp}{a.text}{sp})", ATOM, lambda env: fn(a.fn(env)), t, a.size + 1)

    def call2(self, f: str, a: E, b: E, t: Type) -> E:
        """f(a, b) of a function of two (max, min); a scalar side is spread over the other."""
        oracle = ops.row(f).oracle

        def fn(env):
            x, y = a.fn(env), b.fn(env)
            x, y = torch.broadcast_tensors(x, y)
            return oracle(torch, x, y)
        return E(f"{f}({a.text}, {b.text})", ATOM, fn, t, a.size + b.size + 1)

    # ------------------------------------------------------------ reuse and where
    def remember(self, e: E) -> E:
        if e.size > 1:
            self.pool.setdefault(e.type, []).append(e)
        return e

    def reuse(self, t: Type) -> E | None:
        have = self.pool.get(t)
        if not have:
            return None
        e = self.pick(have)
        if self.coin():
            return e                                  # the same text again
        name = self.bound.get(id(e))
        if name is None:
            name = f"s{len(self.bindings) + 1}"
            self.bound[id(e)] = name
            self.bindings.append((name, e))
        return E(name, ATOM, e.fn, t, 1)

    # ------------------------------------------------------------ general expressions
    def gen(self, t: Type, depth: int) -> E:
        if depth <= 0:
            return self.leaf(t)
        d1 = depth - 1
        opts: list[tuple[int, Callable[[], E]]] = [
            (2, lambda: self.leaf(t)),
            (4, lambda: self.elementwise(t, d1)),
            (1, lambda: self.neg(self.gen(t, d1))),
            (1, lambda: self.plus(self.gen(t, d1)) if self.coin(1, 4) else
             self.neg(self.gen(t, d1))),
            (2, lambda: self.transpose(self.gen(tr(t), d1))),
            (3, lambda: self.additive(t, d1)),
            (4, lambda: self.product(t, d1)),
            (2, lambda: self.hadamard(t, d1)),
            (1, lambda: self.prod_op(self.gen(t, d1), self.pos(t, d1), "./")),
            (1, lambda: self.prod_op(self.gen(t, d1), self.pos(SCALAR, d1), "/")),
            (2, lambda: self.elementwise_power(t, d1)),
        ]
        if t in self.pool:
            opts.append((2, lambda: self.reuse(t)))
        if t == SCALAR:
            opts += [(4, lambda: self.reduction(d1)), (1, lambda: self.scalar_power(d1))]
        if square(t):
            opts += [(2, lambda: self.inverse(t[0], d1)),
                     (1, lambda: self.diag_of_vector(t[0], d1)),
                     (1, lambda: self.matrix_power(t[0], d1)),
                     (2, lambda: self.matrix_function(t[0], d1))]
        if t[1] is None and t[0] is not None:
            opts += [(1, lambda: self.call("softmax", self.gen(t, d1), t,
                                           lambda x: torch.softmax(x, 0))),
                     (1, lambda: self.call("diag", self.gen((t[0], t[0]), d1), t,
                                           torch.diagonal))]
        opts += self.axis_options(t, d1)
        return self.remember(self.weighted(opts))

    def leaf(self, t: Type) -> E:
        if rank(t) == 2 and t[0] == t[1] and self.coin(1, 4):
            return self.var(t, "sym")
        return self.var(t) if self.coin(3, 4) else self.const(t)

    def bounded(self, t: Type, depth: int) -> E:
        """Values in [-1, 1] (or [0, 1])."""
        f = self.pick(["tanh", "sin", "cos", "sigmoid"])
        return self.call(f, self.gen(t, depth), t, _TORCH_FUNCS[f])

    def elementwise(self, t: Type, depth: int) -> E:
        """Any elementwise function of the language (its row in ops/ gives the domain and
        the torch oracle), exp and log twice as likely."""
        f = self.pick(_ELEMENTWISE + ["exp", "log"])
        if ops.row(f).arity == (2,):
            # a scalar beside a vector or matrix now and then (decided before generating:
            # a side generated and dropped would leave a variable the text never uses)
            scalar_side = self.pick([0, 1]) if t != SCALAR and self.coin(1, 4) else None
            sides = [self.gen(SCALAR if k == scalar_side else t, depth) for k in (0, 1)]
            return self.call2(f, sides[0], sides[1], t)
        domain = ops.row(f).domain
        if domain == "bounded":
            arg = self.bounded(t, depth - 1) if depth > 0 else self.leaf(t)
        elif domain == "positive":
            arg = self.pos(t, depth)
        elif domain == "unit":       # strictly inside (-1, 1): asin, acos
            arg = self.prod_op(self.num(0.9), self.bounded_signed(t, depth - 1), "*")
        else:
            arg = self.gen(t, depth)
        # an alias now and then: arctan(x) is atan(x)
        return self.call(self.pick(list(ops.row(f).names)), arg, t, _oracle(f))

    def bounded_signed(self, t: Type, depth: int) -> E:
        """Values in [-1, 1]."""
        f = self.pick(["tanh", "sin", "cos"])
        return self.call(f, self.gen(t, max(depth, 0)), t, _TORCH_FUNCS[f])

    def additive(self, t: Type, depth: int) -> E:
        op = self.pick(["+", "-"])
        if t != SCALAR and self.coin(1, 4):
            s, e = self.gen(SCALAR, depth), self.gen(t, depth)
            return self.sum_op(s, e, op) if self.coin() else self.sum_op(e, s, op)
        return self.sum_op(self.gen(t, depth), self.gen(t, depth), op)

    def product(self, t: Type, depth: int) -> E:
        inner = self.pick(list(DIMS) + [None])
        r, c = t
        if inner is None:
            if r is not None and c is not None:
                return self.prod_op(self.gen(col(r), depth), self.gen(row(c), depth), "*")
            a, b = self.gen(SCALAR, depth), self.gen(t, depth)
            return self.prod_op(a, b, "*") if self.coin() else self.prod_op(b, a, "*")
        return self.prod_op(self.gen((r, inner), depth), self.gen((inner, c), depth), "*")

    def hadamard(self, t: Type, depth: int) -> E:
        if t != SCALAR and self.coin(1, 4):
            s, e = self.gen(SCALAR, depth), self.gen(t, depth)
            return self.prod_op(s, e, ".*") if self.coin() else self.prod_op(e, s, ".*")
        return self.prod_op(self.gen(t, depth), self.gen(t, depth), ".*")

    def elementwise_power(self, t: Type, depth: int) -> E:
        k = self.choice(4)
        if k == 0:
            return self.dotcaret(self.gen(t, depth), self.num(self.pick([2.0, 3.0])))
        if k == 1:
            return self.dotcaret(self.pos(t, depth), self.bounded(SCALAR, depth - 1)
                                 if depth > 0 else self.num(self.pick([0.5, -1.0, 1.5])))
        if k == 2 and t != SCALAR:
            return self.dotcaret(self.pos(SCALAR, depth), self.bounded(t, depth - 1)
                                 if depth > 0 else self.leaf(t))
        e = self.pick([-1.0, 0.5, -0.5, 2.0])
        base = self.pos(t, depth)
        if e < 0 and self.coin():    # x.^-1
            return E(f"{wrap(base, POSTFIX)}.^-{num_text(-e)}", EPOWER,
                     lambda env: torch.pow(base.fn(env), e), t, base.size + 2)
        ex = self.num(e) if e > 0 else self.neg(self.num(-e))
        return self.dotcaret(base, ex)

    def scalar_power(self, depth: int) -> E:
        k = self.choice(3)
        if k == 0:
            return self.caret(self.gen(SCALAR, depth), self.num(self.pick([2.0, 3.0])))
        if k == 1:
            return self.caret(self.pos(SCALAR, depth), self.bounded(SCALAR, depth - 1)
                              if depth > 0 else self.num(0.5))
        base, e = self.pos(SCALAR, depth), self.pick([1.0, 2.0, 0.5])
        if self.coin():      # a^-2: the exponent's minus needs no parentheses
            return E(f"{wrap(base, EPOWER)}^-{num_text(e)}", POWER,
                     lambda env: torch.pow(base.fn(env), -e), SCALAR, base.size + 2)
        return self.caret(base, self.neg(self.num(e)))

    def any_type(self) -> Type:
        d, e = self.pick(DIMS), self.pick(DIMS)
        return self.pick([SCALAR, col(d), row(d), (d, e), (d, d)])

    def reduction(self, depth: int) -> E:
        if self.coin(1, 8):
            return self.scalar_function(depth)
        f = self.pick(["sum", "sum", "mean", "tr", "norm2", "norm1", "logsumexp", "det",
                       "logdet", "kron"])
        if f == "kron":
            return self.kron_scalar(depth)
        if f == "tr":
            d = self.pick(DIMS)
            return self.call("tr", self.gen((d, d), depth), SCALAR, torch.trace)
        if f in ("det", "logdet"):
            d = self.pick(DIMS)
            return self.call(f, self.well_conditioned(d, depth), SCALAR, _TORCH_FUNCS[f])
        t = self.any_type()
        return self.call(f, self.gen(t, depth), SCALAR, _TORCH_FUNCS[f])

    def kron_scalar(self, depth: int) -> E:
        """A scalar through kron and vec (a product dimension is a group of axes): the
        quadratic form vec(X)'*kron(B, A)*vec(Y), tr or logdet of a Kronecker product, the
        sum of kron(A, B)*vec(C)."""
        a, b = self.pick(DIMS), self.pick(DIMS)
        k = self.choice(4)
        if k == 0:
            x, y = self.gen((a, b), depth - 1), self.gen((a, b), depth - 1)
            kr = self.kron(self.gen((b, b), depth - 1), self.gen((a, a), depth - 1))
            return E(f"vec({x.text})'*{kr.text}*vec({y.text})", PRODUCT,
                     lambda env: _vec(x.fn(env)) @ kr.fn(env) @ _vec(y.fn(env)), SCALAR,
                     x.size + y.size + kr.size + 2)
        if k == 1:
            return self.call("tr", self.kron(self.gen((a, a), depth - 1),
                                             self.gen((b, b), depth - 1)), SCALAR, torch.trace)
        if k == 2:
            return self.call("logdet", self.kron(self.well_conditioned(a, depth - 1),
                                                 self.well_conditioned(b, depth - 1)),
                             SCALAR, torch.logdet)
        c, d = self.pick(DIMS), self.pick(DIMS)
        kr = self.kron(self.gen((a, b), depth - 1), self.gen((c, d), depth - 1))
        z = self.gen((d, b), depth - 1)
        return E(f"sum({kr.text}*vec({z.text}))", ATOM,
                 lambda env: torch.sum(kr.fn(env) @ _vec(z.fn(env))), SCALAR,
                 kr.size + z.size + 2)

    def kron(self, x: E, y: E) -> E:
        """kron(x, y): its type is a product dimension's, which only kron_scalar uses."""
        # torch.kron of a transposed (non-contiguous) tensor fails: contiguous copies
        return E(f"kron({x.text}, {y.text})", ATOM,
                 lambda env: torch.kron(x.fn(env).contiguous(), y.fn(env).contiguous()),
                 (None, None), x.size + y.size + 1)

    def scalar_function(self, depth: int) -> E:
        """A function of a scalar argument: every reduction and matrix function takes one."""
        f = self.pick(["sum", "tr", "norm2", "norm1", "logsumexp", "det", "logdet", "inv",
                       "softmax", "diag"])
        if f in ("logdet", "inv"):
            arg = self.pos(SCALAR, depth)
        else:
            arg = self.gen(SCALAR, depth)
        fn = {"sum": lambda a: a, "tr": lambda a: a, "norm2": _norm2, "norm1": torch.abs,
              "logsumexp": lambda a: a, "det": lambda a: a, "logdet": torch.log,
              "inv": lambda a: 1 / a, "softmax": lambda a: torch.ones_like(a),
              "diag": lambda a: a}[f]
        return self.call(f, arg, SCALAR, fn)

    def diag_of_vector(self, d: str, depth: int) -> E:
        t = self.pick([col(d), row(d)])
        return self.call("diag", self.gen(t, depth), (d, d), torch.diag)

    def matrix_power(self, d: str, depth: int) -> E:
        """X^k (LANGUAGE.md v2): k in -2..3, a well-conditioned base for k < 0, a bounded
        one (entries in (-1, 1)) otherwise, so that powers stay moderate."""
        k = self.pick([2, 3, 0, -1, -2])
        base = self.well_conditioned(d, depth) if k < 0 else self.bounded((d, d), depth)
        return E(f"{wrap(base, EPOWER)}^{k}", POWER,
                 lambda env: torch.linalg.matrix_power(base.fn(env), k), (d, d), base.size + 1)

    def inverse(self, d: str, depth: int) -> E:
        return self.call("inv", self.well_conditioned(d, depth), (d, d), torch.linalg.inv)

    # ------------------------------------------------------------ matrix functions
    def matrix_function(self, d: str, depth: int) -> E:
        """expm of a bounded or t*A argument; logm, sqrtm of an SPD form; their Fréchet
        derivatives along any direction (at a point free of variables; the derivative with
        respect to the point, a higher Fréchet derivative, is built but not drawn here)."""
        k = self.choice(6)
        if k == 0:
            return self.call("expm", self.bounded((d, d), depth - 1) if depth > 0
                             else self.leaf((d, d)), (d, d), torch.linalg.matrix_exp)
        if k == 1:          # a linear ODE's solution, expm(t*A)
            a = self.prod_op(self.pos(SCALAR, 0) if self.coin() else self.var(SCALAR),
                             self.var((d, d)), "*")
            return self.call("expm", a, (d, d), torch.linalg.matrix_exp)
        if k in (2, 3):
            f = self.pick(["logm", "sqrtm"])
            return self.call(f, self.spd(d, depth - 1), (d, d), _SPD_FUNCS[f])
        f = self.pick(["dexpm", "dlogm", "dsqrtm"])
        x = self.spd_constant(d)
        e = self.gen((d, d), depth - 1)
        return E(f"{f}({x.text}, {e.text})", ATOM,
                 lambda env: _frechet_oracle(f, x.fn(env), e.fn(env)), (d, d), e.size + 2)

    def spd_constant(self, d: str) -> E:
        """A fixed SPD matrix: eye(d) + c*ones(d, d)."""
        c = self.pick([0.5, 0.25, 1.0])
        n = self.dim(d)
        return E(f"eye({n}) + {num_text(c)}*ones({n}, {n})", SUM,
                 lambda env: torch.eye(env["#"][d], dtype=torch.float64)
                 + c * torch.ones(env["#"][d], env["#"][d], dtype=torch.float64), (d, d), 3)

    def well_conditioned(self, d: str, depth: int) -> E:
        k = self.choice(5)
        if k == 0 or depth <= 0:
            return self.var((d, d), self.pick(["spd", "invertible"]))
        if k == 1:
            return self.spd(d, depth)
        if k == 2:    # inv of an SPD form is SPD
            return self.call("inv", self.spd(d, depth - 1), (d, d), torch.linalg.inv)
        if k == 3:    # a positive multiple
            return self.prod_op(self.pos(SCALAR, depth - 1), self.spd(d, depth - 1), "*")
        return self.spd(d, depth)

    def spd(self, d: str, depth: int) -> E:
        """eye(d) + E'*E (E bounded or not), an SPD variable, or a sum of such."""
        k = self.choice(4)
        if k == 0 or depth <= 0:
            return self.var((d, d), "spd")
        if k == 3:
            return self.sum_op(self.spd(d, depth - 1), self.spd(d, depth - 1), "+")
        e = self.gen((self.pick(list(DIMS) + [None]), d), depth - 1)
        if k == 1:
            e = self.call("tanh", e, e.type, torch.tanh)
        gram = self.prod_op(self.transpose(e), e, "*")
        eye = E(f"eye({self.dim(d)})", ATOM,
                lambda env: torch.eye(env["#"][d], dtype=torch.float64), (d, d))
        return self.sum_op(eye, gram, "+") if self.coin() else self.sum_op(gram, eye, "+")

    # ------------------------------------------------------------ positive expressions
    def pos(self, t: Type, depth: int) -> E:
        if depth <= 0:
            if self.coin(3, 4):
                return self.var(t, "positive")
            return self.num(self.pick([0.5, 2.0, 1.5])) if t == SCALAR else \
                self.const(t, positive=True)
        d1 = depth - 1
        opts: list[tuple[int, Callable[[], E]]] = [
            (2, lambda: self.var(t, "positive")),
            (2, lambda: self.call("exp", self.bounded(t, d1 - 1) if d1 > 0 else self.leaf(t),
                                  t, torch.exp)),
            (2, lambda: self.call("sigmoid", self.gen(t, d1), t, torch.sigmoid)),
            (1, lambda: self.call("softplus", self.gen(t, d1), t, _softplus)),
            (2, lambda: self.sum_op(self.num(1.0),
                                    self.dotcaret(self.gen(t, d1), self.num(2.0)), "+")),
            (1, lambda: self.sum_op(self.pos(t, d1), self.pos(t, d1), "+")),
            (1, lambda: self.prod_op(self.pos(t, d1), self.pos(t, d1), ".*")),
            (1, lambda: self.prod_op(self.pos(t, d1), self.pos(t, d1), "./")),
            (1, lambda: self.prod_op(self.pos(SCALAR, d1), self.pos(t, d1), "*")),
            (1, lambda: self.call("sqrt", self.pos(t, d1), t, torch.sqrt)),
        ]
        if t == SCALAR:
            opts += [
                (1, lambda: self.call("sum", self.pos(self.any_type(), d1), t, torch.sum)),
                (1, lambda: self.call("det", self.spd(self.pick(DIMS), d1), t,
                                      torch.linalg.det)),
                (1, lambda: self.sum_op(self.num(0.5),
                                        self.call("norm2", self.gen(self.any_type(), d1), t,
                                                  _norm2), "+")),
            ]
        if t[1] is None and t[0] is not None:
            opts.append((1, lambda: self.call("softmax", self.gen(t, d1), t,
                                              lambda x: torch.softmax(x, 0))))
        opts += self.axis_pos_options(t, d1)
        return self.weighted(opts)


def _default_kind(name: str) -> str:
    """The type a name gets by its spelling (LANGUAGE.md): Greek letters are scalars,
    uppercase names matrices, the rest vectors."""
    if name in ("alpha", "beta", "gamma", "lambda", "mu", "sigma", "theta"):
        return "scalar"
    return "matrix" if name[0].isupper() else "vector"


def _softplus(x):
    return torch.nn.functional.softplus(x)


def _norm2(x):
    if not bool(torch.any(x != 0)):     # norm2 is not differentiable at 0 (relu(...) = 0)
        raise Skip("norm2 of zeros")
    return torch.sqrt(torch.sum(x * x))


def _logsumexp(x):
    return torch.logsumexp(x.reshape(-1), 0)


def _diag(x):
    if x.dim() == 2:
        return torch.diagonal(x)
    return torch.diag(x) if x.dim() == 1 else x


def _sqrtm(a: torch.Tensor) -> torch.Tensor:
    """The principal square root of an SPD matrix by the Denman-Beavers iteration: plain
    products and inverses, so autograd is exact even at repeated eigenvalues (eye(n) +
    x*x'), where eigh's derivative is not defined."""
    y, z = a, torch.eye(a.shape[0], dtype=a.dtype)
    for _ in range(25):
        y, z = (y + torch.linalg.inv(z)) / 2, (z + torch.linalg.inv(y)) / 2
    return y


def _logm(a: torch.Tensor) -> torch.Tensor:
    """The principal logarithm of an SPD matrix by inverse scaling and squaring: square
    roots until near I, then the series of log(I + X)."""
    eye = torch.eye(a.shape[0], dtype=a.dtype)
    k = 0
    while float(torch.linalg.matrix_norm((a - eye).detach(), 2)) > 0.2 and k < 30:
        a, k = _sqrtm(a), k + 1
    x = a - eye
    term, total = eye, torch.zeros_like(a)
    for j in range(1, 40):
        term = term @ x
        total = total + (-1) ** (j + 1) * term / j
    return 2 ** k * total


_SPD_FUNCS = {"logm": _logm, "sqrtm": _sqrtm}


def _frechet_oracle(f: str, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """L_f(X, E): by the block identity f([[X, E], [0, X]]) = [[f(X), L], [0, f(X)]]
    (expm), or by Daleckii-Krein (logm, sqrtm at a constant SPD point)."""
    n = x.shape[0]
    if f == "dexpm":
        big = torch.cat([torch.cat([x, e], 1), torch.cat([torch.zeros_like(x), x], 1)], 0)
        return torch.linalg.matrix_exp(big)[:n, n:]
    # Daleckii-Krein at the symmetric point X (a constant: nothing differentiates it):
    # L(X, E) = Q (D .* (Q' E Q)) Q', D the divided differences of f at X's eigenvalues
    w, q = torch.linalg.eigh(x)
    f0, f1 = (torch.log, lambda v: 1 / v) if f == "dlogm" else \
        (torch.sqrt, lambda v: 0.5 / torch.sqrt(v))
    gap = w[:, None] - w[None, :]
    same = gap.abs() < 1e-9
    dd = torch.where(same, f1(w)[:, None].expand(n, n),
                     (f0(w)[:, None] - f0(w)[None, :]) / torch.where(same, 1.0, gap))
    return q @ (dd * (q.T @ e @ q)) @ q.T


_ELEMENTWISE = sorted(ops.ELEMENTWISE)


def _oracle(f: str) -> Callable:
    return lambda x: ops.row(f).oracle(torch, x)


# the elementwise functions' oracles are their rows' (ops/); these are the reductions'
_TORCH_FUNCS: dict[str, Callable] = {
    **{f: _oracle(f) for f in _ELEMENTWISE},
    "sum": torch.sum, "mean": torch.mean, "norm2": _norm2,
    "norm1": lambda x: torch.sum(torch.abs(x)),
    "logsumexp": _logsumexp, "det": torch.linalg.det, "logdet": torch.logdet,
}


# ------------------------------------------------------------------ the checks
RTOL = 1e-6


class Skip(Exception):
    """The random point is outside the expression's domain (a non-finite reference)."""


class NotBuilt(Exception):
    """Counted apart, raised once every value check has passed: a derivative of at most
    two axes with a Fréchet derivative along a direction with Jacobian axes (the Jacobian
    of dexpm(C, x*y')*y wrt x, the Hessian of tr(A*dexpm(C, x*x', x*x')) wrt x: column i is
    L(C, e_i*y')*y) has no matrix form in the language (it would need the n^2 x n^2
    Kronecker form of L), and prints in index notation, which does not parse back."""


def _frechet_with_jacobian_axes(d) -> bool:
    from matrixcalculus.matfun_rewrites import along_jacobian_axes
    return along_jacobian_axes(d.ir)


def _tensors(case: Case, inputs: dict[str, np.ndarray]) -> dict:
    env: dict = {k: torch.tensor(v, dtype=torch.float64) for k, v in inputs.items()}
    env["#"] = case.sizes
    return env


def _symmetrise(res: torch.Tensor, order: int) -> torch.Tensor:
    """The oracle's convention: sym(G) over each index pair of a symmetric variable."""
    for k in range(order):          # the pair at axes (-2k-2, -2k-1)
        a, b = res.dim() - 2 * k - 2, res.dim() - 2 * k - 1
        res = (res + res.transpose(a, b)) / 2
    return res


def reference(case: Case, inputs: dict[str, np.ndarray], order: int) -> np.ndarray:
    """torch autograd: the order-1 or order-2 derivative of case.torch_fn wrt case.wrt."""
    env = _tensors(case, inputs)

    def f(w):
        kw = dict(env)
        kw[case.wrt] = w
        return case.torch_fn(kw)

    w0 = env[case.wrt].clone()
    g = f
    for _ in range(order - 1):
        g = (lambda h: lambda w: torch.autograd.functional.jacobian(h, w, create_graph=True))(g)
    res = torch.autograd.functional.jacobian(g, w0)
    if case.kinds[case.wrt][0] == "symmetric":
        res = _symmetrise(res, order)
    return res.detach().numpy().copy()


def mixed_reference(case: Case, inputs: dict[str, np.ndarray], wrt: tuple[str, ...]
                    ) -> np.ndarray:
    """torch autograd: the mixed derivative of case.torch_fn wrt wrt[0], then wrt[1], ...
    (nested jacobians, each a function of every variable), each symmetric variable's own
    index pair symmetrised."""
    env = _tensors(case, inputs)

    def along(g, name):
        return lambda kw: torch.autograd.functional.jacobian(
            lambda w: g({**kw, name: w}), kw[name], create_graph=True)

    g = case.torch_fn
    for name in wrt:
        g = along(g, name)
    res = g(env)
    axis = res.dim() - sum(env[name].dim() for name in wrt)
    for name in wrt:
        if case.kinds[name][0] == "symmetric":
            res = (res + res.transpose(axis, axis + 1)) / 2
        axis += env[name].dim()
    return res.detach().numpy().copy()


def close(got: np.ndarray, want: np.ndarray, floor: float = 1e-7) -> float:
    """Normwise relative error max|got - want| / max(max|want|, floor), inf on a shape
    mismatch."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf
    if not want.size:
        return 0.0
    d = float(np.max(np.abs(got - want)))
    if math.isnan(d):
        return math.inf
    return d / max(float(np.max(np.abs(want))), floor)


def raw_derivative(y, xs):
    """The derivative IR wrt xs[0], then xs[1], ... without the simplifier (for
    "simplification never changes values")."""
    from matrixcalculus import differentiate
    d = y
    for x in xs:
        d = differentiate.jacobian(d, x)
        if x.params[1]:
            d = differentiate.symmetrize_last(d)
    return d


def run_ir(ir, variables, inputs: dict[str, np.ndarray]) -> np.ndarray:
    from matrixcalculus.codegen import generate, parameter_names
    params = [(v.name, v.shape) for v in variables.values()]
    ns: dict = {}
    exec(compile(generate(ir, params, "numpy", func_name="f"), "<raw>", "exec"), ns)  # noqa: S102
    names = parameter_names(params, "f").params
    with np.errstate(all="ignore"):
        return np.asarray(ns["f"](**{names[v]: inputs[v] for v in variables}),
                          dtype=np.float64)


def run_torch_code(obj, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Run the standalone PyTorch source of a Derivative or Expression."""
    ns: dict = {}
    exec(compile(obj.code("torch"), f"<torch {obj.func_name}>", "exec"), ns)  # noqa: S102
    args = {v: torch.tensor(inputs[v], dtype=torch.float64) for v in obj.variables}
    with torch.no_grad():
        return np.asarray(ns[obj.func_name](**obj.keywords(args)), dtype=np.float64)


def check_case(case: Case, order: int = 1, points: int = 2) -> str:
    """Every check on one random case; AssertionError on a disagreement, Skip where the
    random points are outside the domain.  Returns a short note."""
    import matrixcalculus as mc
    from matrixcalculus.verify import nudged
    try:
        expr = mc.expression(case.text, vars=case.vars)
        if case.mixed:
            d = mc.derivative(case.text, list(case.mixed), vars=case.vars)
            assert d.order == order and d.kind == "mixed derivative", (d.order, d.kind)
        else:
            d = mc.derivative(case.text, case.wrt, vars=case.vars, order=order)
    except mc.ShapeError as e:
        if case.undeclared:      # the rules for undeclared names read the text otherwise
            raise Skip(f"inference: {e.message}") from None
        raise
    _check_inferred(case, d)
    answer = str(d)
    _check_latex(d.latex())
    # DESIGN.md: only tensors of order > 2 may lack a matrix form (and those NotBuilt says)
    index_form = not d.is_matrix_form and len(d.shape) <= 2 and _frechet_with_jacobian_axes(d)
    assert d.is_matrix_form or len(d.shape) > 2 or index_form, \
        f"no matrix form for shape {d.shape}: {answer}"
    reparsed = None
    if d.is_matrix_form:
        reparsed = mc.expression(answer, vars=declarations(d))
        if " where " in answer:       # the multi-line form parses back to the same
            again = mc.expression(d.text(multiline=True), vars=declarations(d))
            assert again.ir is reparsed.ir, d.text(multiline=True)
        assert reparsed.shape == d.shape or answer == "0", \
            f"reparsed shape {reparsed.shape} != {d.shape}"       # a zero answer prints 0
    raw = raw_derivative(d.expression_ir, d.wrt_irs)
    assert len(d.wrt_irs) == order
    hvp = d.hvp() if order == 2 and (d.expression_ir.rank == 0 or case.mixed) else None
    last = case.mixed[-1] if case.mixed else case.wrt      # the direction's variable
    checked = 0
    for k in range(points):
        inputs = case.inputs(case.seed + 1000 * k)
        env = _tensors(case, inputs)
        with torch.no_grad():
            value = case.torch_fn(env).numpy()
        if not np.all(np.isfinite(value)):
            continue
        ref = mixed_reference(case, inputs, case.mixed) if case.mixed else \
            reference(case, inputs, order)
        if not np.all(np.isfinite(ref)) or np.max(np.abs(ref), initial=0) > 1e12:
            continue
        # numbers below this are roundoff (x - x, a./a inside a determinant ...)
        floor = 1e-6 * max(1.0, float(np.max(np.abs(value), initial=0)))
        ours = expr.evaluate(**inputs)
        err = close(ours, value, floor)
        assert err < RTOL, f"value differs: rel err {err:.3g}\n ours {ours}\n torch {value}"
        got = d.evaluate(**inputs)
        # where the answer cancels large terms (a polynomial in tanh(u) at a saturated u),
        # its rounding noise is larger than the value's: measured by evaluating it again at
        # the inputs scaled by 1 + 1e-12, a change far below any derivative's own
        noise = float(np.max(np.abs(got - d.evaluate(**nudged(inputs))), initial=0.0))
        floor = max(floor, 100 * noise / RTOL)      # differences up to 100 x the noise
        err = close(got, ref, floor)
        assert err < RTOL, (f"derivative differs from autograd: rel err {err:.3g}\n"
                            f" answer {answer}\n got {got}\n want {ref}")
        if hvp is not None:         # the Hessian-vector product is the verified Hessian's
            w = np.asarray(inputs[last])
            v = np.random.default_rng(case.seed + k).standard_normal(w.shape)
            if d.variables[last].kind == "symmetric":
                v = (v + v.T) / 2
            prod = hvp.evaluate(**inputs, **{hvp.direction: v})
            err = close(prod, np.tensordot(got, v, axes=w.ndim), floor)
            assert err < RTOL, f"the Hessian-vector product {hvp} differs: rel err {err:.3g}"
        if reparsed is not None:
            again = reparsed.evaluate(**{k: v for k, v in inputs.items()
                                         if k in reparsed.variables})
            again = np.broadcast_to(again, np.shape(got))    # a zero answer prints `0`
            err = close(again, got, floor)
            assert err < RTOL, (f"the printed answer evaluates differently: rel err {err:.3g}"
                                f"\n answer {answer}\n got {again}\n want {got}")
        for obj, want in ((d, got), (expr, ours)):      # the generated PyTorch code too
            err = close(run_torch_code(obj, inputs), want, floor)
            assert err < RTOL, (f"the generated PyTorch code of {obj.func_name} differs: "
                                f"rel err {err:.3g}")
        unsimplified = run_ir(raw, d.variables, inputs)
        err = close(unsimplified, got, floor)
        assert err < RTOL, (f"simplification changed the value: rel err {err:.3g}\n"
                            f" simplified {got}\n unsimplified {unsimplified}")
        checked += 1
    if not checked:
        raise Skip("no point inside the domain")
    if index_form:
        raise NotBuilt(answer)
    return answer


def _check_latex(tex: str) -> None:
    """Balanced braces and \\left/\\right pairs."""
    depth = 0
    for ch in tex.replace("\\{", "").replace("\\}", ""):
        depth += (ch == "{") - (ch == "}")
        assert depth >= 0, f"unbalanced braces in LaTeX: {tex}"
    assert depth == 0, f"unbalanced braces in LaTeX: {tex}"
    assert tex.count("\\left") == tex.count("\\right"), f"\\left without \\right: {tex}"


def declarations(d) -> dict[str, str]:
    """The variables of a derivative as declarations (inferred types included)."""
    out = {}
    for name, info in d.variables.items():
        if info.kind == "scalar":
            out[name] = "scalar"
        elif info.kind == "symmetric":
            out[name] = f"symmetric({info.shape[0]})"
        else:
            out[name] = f"{info.kind}({', '.join(str(x) for x in info.shape)})"
    return out


def _check_inferred(case: Case, d) -> None:
    """Undeclared variables: type inference must give each its intended rank (else the
    language's rules read the text another way, e.g. `s + b` makes a lone undeclared b a
    scalar: Skip), and never equate dimensions of different sizes."""
    if not case.undeclared:
        return
    sizes: dict = {}
    for name in case.kinds:
        info = d.variables.get(name)
        assert info is not None, f"{name} is not among the variables {list(d.variables)}"
        want = case.shape(name)
        if len(info.shape) != len(want):
            raise Skip(f"{name} inferred as {info.kind}{info.shape}")
        for label, size in zip(info.shape, want):
            if isinstance(label, int):
                assert label == size, f"{name}: inferred {info.shape}, intended {want}"
            else:
                assert sizes.setdefault(label, size) == size, (
                    f"dimension {label} stands for sizes {sizes[label]} and {size} "
                    f"({name}: inferred {info.shape}, intended {want})")


# ------------------------------------------------------------------ rejected forms
def check_rejected(case: Case, span: tuple[int, int]) -> str:
    """A case that must be rejected (AxisForms.rejected_case): expression() and derivative()
    each raise one MatrixCalculusError, of a kind that points into the text, with its caret
    inside the wrong part (span) and a message that is no internal error.  Returns it."""
    import matrixcalculus as mc
    calls = [lambda: mc.expression(case.text, vars=case.vars)]
    if case.wrt:
        calls.append(lambda: mc.derivative(case.text, case.wrt, vars=case.vars))
    message = ""
    for call in calls:
        try:
            got = call()
        except mc.MatrixCalculusError as e:
            assert isinstance(e, mc.ParseError | mc.ShapeError), (
                f"{type(e).__name__}: {e.message}")
            assert not e.message.startswith("internal error"), e.message
            assert e.source == case.text and e.pos is not None, (e.source, e.pos, e.message)
            assert span[0] <= e.pos < span[1], (
                f"the caret at {e.pos} is outside {case.text[span[0]:span[1]]!r} "
                f"({span}): {e.message}")
            assert e.end is None or e.end <= span[1] + 1, (e.end, span, e.message)
            carets = [ln for ln in str(e).splitlines() if ln.strip() and not ln.strip("^ ")]
            assert len(carets) == 1, str(e)
            message = e.message
        else:
            raise AssertionError(f"accepted: {case.text!r} ({got})")
    return message


def check_counted(case: Case, order: int, stats, seconds: float | None, points: int) -> None:
    """check_case under a time limit, counted in `stats` by what happened (the random
    tests' summaries); a case outside the domain or past a limit is rejected
    (hypothesis.assume), a failure prints the case and raises."""
    from hypothesis import assume

    import matrixcalculus as mc
    from matrixcalculus.limits import deadline
    what = f"mixed, order {order}" if case.mixed else f"at order {order}"
    try:
        with deadline(seconds):
            check_case(case, order, points=points)
    except Skip:
        stats["outside the domain"] += 1
        assume(False)
    except NotBuilt:        # its values were checked; its index-notation text is not parsed
        stats["Fréchet derivative along Jacobian axes: values checked, index form"] += 1
    except mc.LimitError as e:
        stats["time limit" if "time limit" in e.message else "other limit"] += 1
        assume(False)
    except BaseException:
        print(f"\nFAILED: {case}")
        raise
    stats[f"checked {what}"] += 1
