"""Surface AST -> LaTeX."""

from __future__ import annotations

from .. import ast
from .text import ATOM, EPOWER, POSTFIX, POWER, PRODUCT, SUM, level, number

_FUNC = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
    "tanh": r"\tanh", "sigmoid": r"\sigma", "det": r"\det", "logdet": r"\log\det",
    "tr": r"\operatorname{tr}", "diag": r"\operatorname{diag}", "sum": r"\operatorname{sum}",
    "softmax": r"\operatorname{softmax}", "logsumexp": r"\operatorname{logsumexp}",
    "softplus": r"\operatorname{softplus}", "relu": r"\operatorname{relu}",
    "sign": r"\operatorname{sign}", "step": r"\operatorname{step}",
}
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi",
          "chi", "psi", "omega"}


def name(s: str) -> str:
    if s in _GREEK:
        return "\\" + s
    if len(s) == 1:
        return s
    base, _, sub = s.partition("_")
    if sub:
        return f"{name(base)}_{{{sub}}}"
    # W1 -> W_{1}
    head = s.rstrip("0123456789")
    if head and head != s:
        return f"{name(head)}_{{{s[len(head):]}}}"
    return rf"\mathit{{{s}}}"


def to_latex(n: ast.Node) -> str:
    if isinstance(n, ast.Where):
        defs = ",\\; ".join(f"{name(v)} = {_tex(e)}" for v, e in n.bindings)
        return f"{_tex(n.body)} \\quad \\text{{where }} {defs}"
    return _tex(n)


def _wrap(n: ast.Node, at_least: int) -> str:
    s = _tex(n)
    return rf"\left({s}\right)" if level(n) < at_least else s


def _tex(n: ast.Node) -> str:
    if isinstance(n, ast.Num):
        return number(n.value)
    if isinstance(n, ast.Name):
        return name(n.name)
    if isinstance(n, ast.Call):
        f, args = n.func, n.args
        if f == "ones":
            return r"\mathbf{1}_{" + ",".join(_tex(a) for a in args) + "}"
        if f == "eye":
            return rf"I_{{{_tex(args[0])}}}"
        if f == "inv":
            return rf"{_wrap(args[0], ATOM)}^{{-1}}"
        if f == "sqrt":
            return rf"\sqrt{{{_tex(args[0])}}}"
        if f == "abs":
            return rf"\left|{_tex(args[0])}\right|"
        if f == "norm2":
            return rf"\left\|{_tex(args[0])}\right\|_2"
        if f == "norm1":
            return rf"\left\|{_tex(args[0])}\right\|_1"
        return rf"{_FUNC.get(f, f)}\left({', '.join(_tex(a) for a in args)}\right)"
    if isinstance(n, ast.Transpose):
        return _wrap(n.operand, ATOM) + r"^{\top}"
    if isinstance(n, ast.Neg):
        return "-" + _wrap(n.operand, PRODUCT)
    if isinstance(n, ast.Binary):
        op = n.op
        if op in ("+", "-"):
            return f"{_wrap(n.left, SUM)} {op} {_wrap(n.right, PRODUCT)}"
        if op == "/":
            return rf"\frac{{{_tex(n.left)}}}{{{_tex(n.right)}}}"
        if op == "*":
            sep = r" \cdot " if isinstance(n.right, ast.Num) else " "
            return f"{_wrap(n.left, PRODUCT)}{sep}{_wrap(n.right, POWER)}"
        if op == ".*":
            return rf"{_wrap(n.left, PRODUCT)} \odot {_wrap(n.right, POWER)}"
        if op == "./":
            return rf"{_wrap(n.left, PRODUCT)} \oslash {_wrap(n.right, POWER)}"
        if op == "^":
            return rf"{_wrap(n.left, ATOM)}^{{{_tex(n.right)}}}"
        if op == ".^":
            return rf"{_wrap(n.left, ATOM)}^{{\circ {_tex(n.right)}}}"
    raise TypeError(f"cannot print {type(n).__name__}")


__all__ = ["to_latex", "EPOWER", "POSTFIX", "POWER"]
