"""A generated function's face: keyword-only parameters, the module's comment header, the
docstring naming each argument's type and shape and the result's, and the optional shape
check (`check_shapes=True`).

Parameters are keyword-only (`gradient(*, A, X, B)`): declaration order changes with the
expression, and a positional caller with square matrices would silently get a wrong answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..language.dims import is_product
from .source import safe_name

CHECK = "check_shapes"      # the keyword that turns the shape check on


@dataclass(frozen=True)
class Doc:
    """What the module says about its function (all text; none of it reaches the code)."""

    header: tuple[str, ...] = ()       # the module's comment lines: the answer, as text
    summary: str = ""                  # the docstring's first line
    types: Mapping[str, str] = field(default_factory=dict)   # a variable -> its type text
    returns: str = ""                  # what the result is ("the gradient wrt X")
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Names:
    """The Python names of a function's parameters and of the dimensions in its body."""

    params: dict[str, str]             # a variable's name -> its parameter's
    dims: dict[object, str]            # a dimension -> the local name of its size
    sizes: list[str]                   # parameters of the free dimensions' sizes, in order


def parameter_names(params: Sequence[tuple[str, tuple]], func_name: str,
                    free_dims: Sequence[str] = ()) -> Names:
    """Identifiers for the variables (a keyword or a library alias gets a trailing _), then
    for the dimensions the variables carry, then for the free dimensions (parameters too)."""
    taken: set[str] = {func_name, CHECK}
    out: dict[str, str] = {}
    for user, _ in params:
        out[user] = safe_name(user, taken)
        taken.add(out[user])
    dims: dict[object, str] = {}
    for _, shape in params:
        for d in shape:
            if isinstance(d, str) and d not in dims and not is_product(d):
                dims[d] = safe_name(d, taken)
                taken.add(dims[d])
    sizes: list[str] = []
    for d in free_dims:
        if d not in dims:
            dims[d] = safe_name(d, taken)
            taken.add(dims[d])
            sizes.append(dims[d])
    return Names(out, dims, sizes)


def shape_text(shape: Sequence) -> str:
    """('n', 'm') -> '(n, m)'; ('n',) -> '(n,)'; a scalar '()'."""
    inner = ", ".join(str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def header_lines(doc: Doc) -> list[str]:
    """The header as comment lines: a line of text with a line break in it (an answer, a
    note) becomes several comment lines, never a line of code."""
    return [f"# {part}".rstrip() for line in doc.header for part in line.splitlines() or [""]]


def docstring(doc: Doc, params: Sequence[tuple[str, str, tuple]], sizes: Sequence[str],
              out_shape: tuple | list[tuple]) -> list[str]:
    """The docstring's lines (unindented, quotes included): params are (variable, parameter,
    shape)."""
    lines = [doc.summary or "The function's value.", "",
             "Arguments (keyword-only; arrays of the library imported above):"]
    for user, py, shape in params:
        kind = doc.types.get(user, "")
        lines.append(f"    {py}: {kind + ', ' if kind else ''}shape {shape_text(shape)}")
    lines += [f"    {s}: the size of dimension {s} (an int; no argument has it)" for s in sizes]
    lines += [f"    {CHECK}: if True, check each argument's shape first (a ValueError names",
              "        the argument, the shape it should have and the shape it has)", "",
              f"Returns: {doc.returns + ', ' if doc.returns else ''}{_shapes(out_shape)}"]
    if doc.notes:
        lines.append("")
        lines += [f"Note: {n}" for n in doc.notes]
    # the text quotes the expression: escaped, so no line of it can close the string
    lines = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return ['"""' + lines[0], *lines[1:], '"""']


def _shapes(out: tuple | list[tuple]) -> str:
    """'shape (n,)', or for a tuple of results (a value and its gradient) each one's."""
    if isinstance(out, list):
        return "a tuple of shapes " + ", ".join(shape_text(s) for s in out)
    return f"shape {shape_text(out)}"


def check_call(func_name: str, params: Sequence[tuple[str, str, tuple]]) -> list[str]:
    """The body's first lines: the shape check, when asked for (a Python bool, decided
    before any array is touched: no branch on data, so vmap/compile/jit trace through)."""
    items = [f"{py!r}: ({py}, {tuple(shape)!r})" for _, py, shape in params]
    one = f"    _check_shapes({func_name!r}, {{{', '.join(items)}}})"
    if len(one) <= 96:
        return [f"if {CHECK}:", one]
    return [f"if {CHECK}:", f"    _check_shapes({func_name!r}, {{",
            *[f"        {item}," for item in items], "    })"]


# (generated code: standalone, so it reads a product dimension's text itself)
CHECK_SHAPES = '''# check_shapes=True: each argument's shape against its declared one
def _check_shapes(func, args):
    # each argument's shape against its declared one: a dimension's name takes its size
    # from the first argument that has it, and every other argument must agree
    sizes = {}
    for name, (value, dims) in args.items():
        shape = tuple(int(s) for s in getattr(value, "shape", ()))
        if len(shape) != len(dims):
            axes = "1 axis" if len(dims) == 1 else f"{len(dims)} axes"
            raise ValueError(f"{func}(): argument {name} should have shape "
                             f"{_shape_text(dims)} ({axes}), got shape {shape}")
        for d, s in zip(dims, shape):
            if isinstance(d, str) and "*" not in d:
                sizes.setdefault(d, (s, name))
    for name, (value, dims) in args.items():
        shape = tuple(int(s) for s in getattr(value, "shape", ()))
        for d, s in zip(dims, shape):
            factors = str(d).split("*")
            if not all(f.isdigit() or f in sizes for f in factors):
                continue
            want = 1
            for f in factors:
                want *= int(f) if f.isdigit() else sizes[f][0]
            if s != want:
                bound = [f"{f} = {sizes[f][0]} (as in {sizes[f][1]})"
                         for f in factors if not f.isdigit()]
                given = f" with {', '.join(bound)}" if bound else ""
                raise ValueError(f"{func}(): argument {name} should have shape "
                                 f"{_shape_text(dims)}{given}, got shape {shape}")'''

SHAPE_TEXT = '''def _shape_text(dims):
    inner = ", ".join(str(d) for d in dims)
    return f"({inner},)" if len(dims) == 1 else f"({inner})"'''

HELPERS = {"_check_shapes": CHECK_SHAPES, "_shape_text": SHAPE_TEXT}
