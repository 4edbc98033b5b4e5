"""Typing of tensors (order 3 or more) and of einsum (LANGUAGE.md v2 "contraction").

A tensor's type is the tuple of its dimensions; a matrix, vector or scalar keeps its
(rows, cols).  einsum's result has its output term's dimensions; tensors take elementwise
functions and operators, reductions and softmax along any axis, and expand along the axes an
axis reduction made 1; matrix operations on them are an error that points to einsum.
"""

from __future__ import annotations

from .. import ast
from ..errors import ParseError, ShapeError
from .einsum import EXAMPLE, parse_subscripts


def type_of_dims(dims: list, one) -> tuple:
    """The type of a value with these axes: (1, 1), (n, 1), (m, n), or the tensor's tuple."""
    if len(dims) == 0:
        return (one, one)
    if len(dims) == 1:
        return (dims[0], one)
    return tuple(dims)


class TensorRules:
    """Mixin of the checker: einsum, and the operations a tensor allows."""

    def is_tensor(self, t: tuple) -> bool:
        return len(t) > 2

    def _no_tensor(self, node: ast.Node, operand: ast.Node, t: tuple, what: str) -> None:
        if len(t) > 2:
            raise self._err(ShapeError, f"{what} is not defined for a tensor: "
                            f"{self._text(operand)} is {self.out.describe(t)}; use einsum "
                            f"(as in {EXAMPLE})", node)

    def _axes(self, t: tuple) -> list:
        """The dimensions of t that are axes (not 1): einsum's view of an operand."""
        return [d for d in t if not self.dims.is_one(d)]

    def _einsum(self, node: ast.Call) -> tuple:
        if not node.args:
            raise self._err(ParseError, f"einsum takes its subscripts and operands, as in "
                            f"{EXAMPLE}", node)
        spec, *operands = node.args
        if not isinstance(spec, ast.Spec):
            raise self._err(ParseError, f"einsum's first argument is its subscripts, as in "
                            f"{EXAMPLE}: '->' is missing", spec)
        sub = parse_subscripts(spec, self.src)
        one = self.dims.one
        self.out.types[id(spec)] = (one, one)
        if len(sub.inputs) != len(operands):
            s, e = (spec.pos, spec.end) if len(operands) < len(sub.inputs) or \
                operands[len(sub.inputs)].pos is None else \
                (operands[len(sub.inputs)].pos, operands[-1].end)
            raise ParseError(f"einsum's subscripts {spec.text!r} have {len(sub.inputs)} "
                             f"input term{'s' if len(sub.inputs) != 1 else ''} but "
                             f"{len(operands)} operand{'s' if len(operands) != 1 else ''} "
                             f"follow{'s' if len(operands) == 1 else ''}", self.src, s, e)
        sizes: dict[str, tuple] = {}          # label -> (dim, the operand it came from)
        for term, arg in zip(sub.inputs, operands):
            t = self.check(arg)
            axes = self._axes(t)
            if len(axes) != len(term.labels):
                s, e = term.span
                if term.labels == "":
                    s, e = spec.pos, spec.end
                raise ShapeError(f"einsum's term {term.labels!r} has {len(term.labels)} "
                                 f"label{'s' if len(term.labels) != 1 else ''}, but "
                                 f"{self._text(arg)} is {self.out.describe(t)}, of order "
                                 f"{len(axes)}", self.src, s, e)
            for i, (ch, d) in enumerate(zip(term.labels, axes)):
                if ch not in sizes:
                    sizes[ch] = (d, arg)
                    continue
                d0, arg0 = sizes[ch]
                if not self.dims.unify(d0, d):
                    s, e = term.label_span(i)
                    raise ShapeError(f"einsum's label {ch!r} has two sizes: "
                                     f"{self.dims.label(d0)} in {self._text(arg0)} and "
                                     f"{self.dims.label(d)} in {self._text(arg)}",
                                     self.src, s, e)
        return type_of_dims([sizes[ch][0] for ch in sub.output.labels], one)

    # ----------------------------------------------------------- elementwise
    def _tensor_elementwise(self, node: ast.Node, left: ast.Node, right: ast.Node,
                            lt: tuple, rt: tuple) -> tuple:
        """Equal shapes, or one side axis-reduced (a 1 where the other has an axis)."""
        if len(lt) != len(rt):
            raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                            f"{self._text(left)} is {self.out.describe(lt)} but "
                            f"{self._text(right)} is {self.out.describe(rt)}", node)
        one = self.dims.is_one
        out = []
        for a, b in zip(lt, rt):
            if one(a) != one(b):
                side, t = (left, lt) if one(a) else (right, rt)
                if id(side) not in self.reduced_columns:
                    raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                                    f"{self._text(side)} is {self.out.describe(t)}, not "
                                    "axis-reduced, so it does not expand: only the result of "
                                    "sum/mean/logsumexp(T, k) expands along axis k", node)
                out.append(b if one(a) else a)
            elif self.dims.unify(a, b):
                out.append(a)
            else:
                raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                                f"{self._text(left)} is {self.out.describe(lt)} but "
                                f"{self._text(right)} is {self.out.describe(rt)}", node)
        return tuple(out)

    # ----------------------------------------------------------- along an axis
    def _tensor_along(self, node: ast.Call, x: ast.Node, t: tuple, k: int,
                      reduces: bool) -> tuple:
        f = node.func
        if not 1 <= k <= len(t):
            raise self._err(ShapeError, f"{f}({self._text(x)}, {k}): {self._text(x)} is "
                            f"{self.out.describe(t)}, whose axes are 1 to {len(t)}", node)
        if self.dims.is_one(t[k - 1]):
            raise self._err(ShapeError, f"{f}({self._text(x)}, {k}) runs along axis {k}, but "
                            f"{self._text(x)} is {self.out.describe(t)}: that axis has size "
                            "1", node)
        if not reduces:
            return t
        self.reduced_columns.add(id(node))
        return tuple(self.dims.one if i == k - 1 else d for i, d in enumerate(t))
