"""Surface AST -> LaTeX."""

from __future__ import annotations

from .. import ast
from ..ops import row
from .numbers import fraction
from .text import ATOM, EPOWER, POSTFIX, POWER, PRODUCT, SUM, level, number

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


def call_tex(f: str, args: list[str], atom: str = "") -> str:
    """A call from its row's LaTeX: a command (`\\arctan`) applied to the arguments, or a
    template on {0}, {args} (all, comma-separated) and {atom} (the argument, parenthesised
    unless atomic)."""
    tex = row(f).latex
    if any(field in tex for field in ("{0}", "{args}", "{atom}")):
        return tex.format(*args, args=",".join(args), atom=atom)
    return rf"{tex}\left({', '.join(args)}\right)"


def to_latex(n: ast.Node) -> str:
    if isinstance(n, ast.Where):
        defs = ",\\; ".join(f"{name(v)} = {_tex(e)}" for v, e in n.bindings)
        return f"{_tex(n.body)} \\quad \\text{{where }} {defs}"
    return _tex(n)


def _wrap(n: ast.Node, at_least: int) -> str:
    s = _tex(n)
    return rf"\left({s}\right)" if level(n) < at_least else s


def _ends_in_superscript(n: ast.Node) -> bool:
    return (isinstance(n, ast.Call) and n.func == "inv") or isinstance(n, ast.Transpose) or (
        isinstance(n, ast.Binary) and n.op in ("^", ".^"))


def _tex(n: ast.Node) -> str:
    if isinstance(n, ast.Num):
        pq = fraction(abs(n.value))
        if pq is not None:
            return rf"{'-' if n.value < 0 else ''}\frac{{{pq[0]}}}{{{pq[1]}}}"
        return number(n.value)
    if isinstance(n, ast.Spec):
        return r"\texttt{" + n.text.replace(">", r"{>}") + "}"
    if isinstance(n, ast.Name):
        return name(n.name)
    if isinstance(n, ast.Call):
        return call_tex(n.func, [_tex(a) for a in n.args],
                        _wrap(n.args[0], ATOM) if n.args else "")
    if isinstance(n, ast.Transpose):
        inner = _wrap(n.operand, ATOM)
        if _ends_in_superscript(n.operand):    # X^{-1}^{\top} is a double superscript
            inner = "{" + inner + "}"
        return inner + r"^{\top}"
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
