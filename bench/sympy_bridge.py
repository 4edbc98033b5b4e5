"""Translate expressions of our language into SymPy matrix expressions, where SymPy's
matrix expressions can say the same thing: products, transposes, traces, inverses,
determinants, sums and differences, numeric scaling, eye(n) and scalar powers.
Everything else (elementwise functions and products, reductions such as sum/norm2/logdet,
symmetric declarations) raises Untranslatable."""

from __future__ import annotations

import re
import warnings
from fractions import Fraction

import numpy as np
import sympy as sp

from matrixcalculus import ast
from matrixcalculus.language.parser import parse


class Untranslatable(Exception):
    pass


class SymPyCase:
    """A corpus-style case (expr, vars, wrt, order) as SymPy objects."""

    def __init__(self, expr: str, vars: dict[str, str], wrt: str, order: int = 1):
        self.tree = parse(expr)
        self.wrt_name, self.order = wrt, order
        self.dims: dict[str, sp.Symbol] = {}
        self.symbols = {name: self._symbol(name, t) for name, t in vars.items()}

    def _dim(self, d: str):
        d = d.strip()
        if d.isdigit():
            return int(d)
        return self.dims.setdefault(d, sp.Symbol(d, integer=True, positive=True))

    def _symbol(self, name: str, t: str):
        t = t.replace(" ", "")
        if t == "scalar":
            return sp.Symbol(name)
        m = re.fullmatch(r"(vector|matrix)\((.*)\)", t)
        if not m:
            raise Untranslatable(f"{name}: {t} (SymPy has no symmetric matrix symbol whose "
                                 "derivative follows our convention)")
        dims = [self._dim(d) for d in m.group(2).split(",")]
        return sp.MatrixSymbol(name, dims[0], dims[1] if m.group(1) == "matrix" else 1)

    # ------------------------------------------------------------ building
    def build(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self._build(self.tree, {})
            except Untranslatable:
                raise
            except Exception as e:  # noqa: BLE001 - SymPy rejects it (shapes, types)
                raise Untranslatable(f"SymPy rejects the translation: {type(e).__name__}: "
                                     f"{e}") from None

    def _build(self, n: ast.Node, env: dict):
        b = self._build
        if isinstance(n, ast.Num):
            return sp.Rational(Fraction(n.value).limit_denominator(10 ** 9)) \
                if float(n.value) != int(n.value) else sp.Integer(int(n.value))
        if isinstance(n, ast.Name):
            if n.name in env:
                return env[n.name]
            if n.name not in self.symbols:
                raise Untranslatable(f"undeclared name {n.name}")
            return self.symbols[n.name]
        if isinstance(n, ast.Where):
            env = dict(env)
            for name, e in n.bindings:
                env[name] = b(e, env)
            return b(n.body, env)
        if isinstance(n, ast.Neg):
            return -b(n.operand, env)
        if isinstance(n, ast.Transpose):
            x = b(n.operand, env)
            return x.T if isinstance(x, sp.MatrixExpr) else x
        if isinstance(n, ast.Binary):
            left, right = b(n.left, env), b(n.right, env)
            if n.op == "+":
                return left + right
            if n.op == "-":
                return left - right
            if n.op == "*":
                return left * right
            if n.op == "/" and not isinstance(right, sp.MatrixExpr):
                return left / right
            if n.op == "^" and isinstance(right, sp.Integer):
                return left ** right
            raise Untranslatable(f"operator {n.op}")
        if isinstance(n, ast.Call):
            f = {"tr": sp.Trace, "inv": sp.Inverse, "det": sp.Determinant}.get(n.func)
            if f is not None:
                return f(b(n.args[0], env))
            if n.func == "eye" and len(n.args) == 1 and isinstance(n.args[0], ast.Name | ast.Num):
                a = n.args[0]
                return sp.Identity(self._dim(a.name if isinstance(a, ast.Name)
                                             else str(int(a.value))))
            raise Untranslatable(f"function {n.func}")
        raise Untranslatable(type(n).__name__)

    # ------------------------------------------------------------ differentiating
    def derive(self):
        """Translate and differentiate (order times); the SymPy work that is timed."""
        e = self.build()
        wrt = self.symbols[self.wrt_name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(self.order):
                e = e.diff(wrt)
        return e

    def evaluate(self, result, inputs: dict[str, np.ndarray], dims: dict[str, int]):
        """result at concrete inputs, as a NumPy array."""
        subs = {self.dims[d]: v for d, v in dims.items() if d in self.dims}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = result.subs(subs) if subs else result
            for name, s in self.symbols.items():
                v = np.asarray(inputs[name], dtype=np.float64)
                val = sp.Float(float(v)) if v.ndim == 0 else sp.ImmutableMatrix(
                    v.reshape(v.shape[0], -1))
                r = r.subs(s.subs(subs) if isinstance(s, sp.MatrixExpr) else s, val)
            r = r.doit()
            if hasattr(r, "as_explicit"):
                r = r.as_explicit()
            return np.array(np.asarray(r.tolist() if hasattr(r, "tolist") else r,
                                       dtype=object), dtype=np.float64)


def matches(value: np.ndarray, ref: np.ndarray, wrt_rank: int) -> bool:
    """SymPy's value equals the reference up to SymPy's layout: vectors are n x 1 matrices
    (unit axes dropped here), and a derivative of a non-scalar puts the axes of the
    variable first (they are moved last, where ours and the oracle have them)."""
    v = value.reshape([s for s in value.shape if s != 1])
    r = ref.reshape([s for s in ref.shape if s != 1])
    candidates = [v]
    if v.ndim > wrt_rank:
        candidates.append(np.moveaxis(v, list(range(wrt_rank)),
                                      list(range(v.ndim - wrt_rank, v.ndim))))
    return any(c.shape == r.shape and np.allclose(c, r, rtol=1e-6, atol=1e-8)
               for c in candidates)


def closed_form(result) -> bool:
    """SymPy answered (no unevaluated Derivative left in the result)."""
    return not (isinstance(result, sp.Basic) and result.has(sp.Derivative))
