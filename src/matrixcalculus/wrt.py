"""What a derivative is taken with respect to: the wrt argument checked and normalised.

    names(wrt, order) -> the tuple of variable names, one per differentiation
    option("U,V") -> ["U", "V"]     the command line's and the web page's comma list
    validate(typed, names, expr)    each name a variable of the expression

`wrt` is a variable's name (order k: the k-th derivative) or a list of names, a mixed
derivative (LANGUAGE.md "What is asked for"): with respect to V1, then V2, ...; its order is
the length of the list, and ["x", "x"] is the Hessian.  A list's errors name the entry.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from .errors import DeclarationError, LimitError, UnsupportedDerivativeError
from .language.declarations import is_identifier
from .language.typecheck import Typed
from .limits import LIMITS


def _check_order(order: object) -> int:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise UnsupportedDerivativeError(f"order must be a positive integer, got {order!r}")
    if order > LIMITS.max_order:
        raise LimitError(f"order {order} is above the limit of {LIMITS.max_order}")
    return order


def names(wrt: object, order: object = None) -> tuple[str, ...]:
    """The variables differentiated by, in order: (x,) * order for a name, the list itself
    for a list or a comma list "U, V" (order, when given, must be its length)."""
    if isinstance(wrt, str) and "," in wrt:          # "U, V", as on the command line
        wrt = option(wrt)
    if isinstance(wrt, str):
        k = _check_order(1 if order is None else order)
        if not is_identifier(wrt.strip()):
            raise UnsupportedDerivativeError(
                f"'with respect to' must be a variable name, got {wrt!r}")
        return (wrt.strip(),) * k
    if not isinstance(wrt, list | tuple):
        raise UnsupportedDerivativeError("'with respect to' must be a variable name or a list "
                                         f"of variable names, got {wrt!r}")
    if not wrt:
        raise UnsupportedDerivativeError("the list of variables to differentiate by is empty")
    out = []
    for k, w in enumerate(wrt, 1):
        if not isinstance(w, str) or not is_identifier(w.strip()):
            raise UnsupportedDerivativeError(
                f"entry {k} of the wrt list must be a variable name, got {w!r}")
        out.append(w.strip())
    if order is not None and not isinstance(order, bool) and order != len(out):
        raise UnsupportedDerivativeError(
            f"order {order!r} does not match the wrt list {', '.join(out)}: a mixed "
            f"derivative's order is the length of its list ({len(out)}); leave order out")
    _check_order(len(out) if order is None else order)
    return tuple(out)


def option(text: str) -> str | list[str]:
    """The command line's --wrt x, or --wrt U,V: the list of a mixed derivative."""
    names = [w.strip() for w in text.split(",")]
    return names if len(names) > 1 else text


def text(wrt: Sequence[str]) -> str:
    """The variables as written: 'x' (whatever the order), 'U, V' for a mixed derivative."""
    return wrt[0] if len(set(wrt)) == 1 else ", ".join(wrt)


def validate(typed: Typed, wrt: Sequence[str], expr: str) -> None:
    """Each name differentiated by is a variable of the expression: not a dimension, not
    the constant pi, not a `where` name; and every declared name but those is used."""
    mixed = len(set(wrt)) > 1
    entries = {w: f" (entry {list(wrt).index(w) + 1} of the wrt list)" if mixed else ""
               for w in wrt}
    for w, entry in entries.items():
        _not_a_constant(typed, w, expr, entry)
    _declared_used(typed, set(wrt), expr)
    for w, entry in entries.items():
        _a_variable(typed, w, expr, entry)


def _not_a_constant(typed: Typed, wrt: str, expr: str, entry: str) -> None:
    """A derivative is taken with respect to a variable: not a dimension, not the constant
    pi (LANGUAGE.md "Names that are not variables")."""
    what = typed.constants.get(wrt)
    if what == "dimension":
        owners = [v.name for v in typed.variables.values() if v.declared
                  and wrt in typed.shape(v.type)]
        of = f" (of {', '.join(owners)})" if owners else ""
        raise UnsupportedDerivativeError(
            f"{wrt}{entry} is a dimension{of}: used as a value it is that dimension's size, "
            "and a derivative cannot be taken with respect to it", expr)
    if what == "pi":
        raise UnsupportedDerivativeError(
            f"pi{entry}, undeclared, is the constant 3.14159...; declare it (e.g. pi: "
            "vector(k)) to differentiate with respect to a variable named pi", expr)


def _a_variable(typed: Typed, wrt: str, expr: str, entry: str) -> None:
    """Nor a named subexpression, nor a name the expression does not have."""
    if wrt in typed.bindings:
        raise UnsupportedDerivativeError(f"{wrt}{entry} is a named subexpression (where "
                                         f"{wrt} = ...), not a variable", expr)
    if wrt not in typed.variables:
        names = ", ".join(typed.variables) or "none"
        raise UnsupportedDerivativeError(f"{wrt}{entry} is not a variable of the expression "
                                         f"(its variables: {names})", expr)


def _declared_used(typed: Typed, wrt: set[str], expr: str) -> None:
    """A declared name the expression does not use is an error where it looks like a typo
    of a name it does use (`weights` declared, `weight` used; `S` and `s`); one with no such
    look-alike may declare a dimension's size for evaluate() (`z: vector(n)`)
    (LANGUAGE.md "Undeclared names")."""
    used = [v.name for v in typed.variables.values() if v.used] + sorted(wrt)
    for v in typed.variables.values():
        if not v.declared or v.used or v.name in wrt:
            continue
        same = [u for u in used if u.lower() == v.name.lower()]
        close = same or difflib.get_close_matches(v.name, used, n=1, cutoff=0.75)
        if close:
            raise DeclarationError(
                f"{v.name} is declared but not used in the expression (did you mean "
                f"{close[0]}?)", expr)
