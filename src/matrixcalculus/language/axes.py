"""Typing along one axis and implicit expansion (LANGUAGE.md v2 "along one axis",
"Expansion"): `sum(X, k)`, `softmax(X, 2)`, `X*W + b'`, `X - mean(X, 2)`.

Only two things expand over a matrix: a row (any 1 x n expression) over its rows, and an
**axis-reduced column** (the result of `sum/mean/logsumexp(X, 2)`, or anything built
elementwise from such columns and scalars) over its columns.  A plain column vector never
does, and no dimension is unified with another or set to 1 to make an expansion fit: a
column that could mean either a broadcast or a mistake is an error with the fix in it.
"""

from __future__ import annotations

from .. import ast
from ..errors import ShapeError
from ..ops import ARITY, ELEMENTWISE, row
from .source import literal_int

ELEMENTWISE_OPS = ("+", "-", ".*", "./", ".^", "*", "/")
# aliases included: arctan(sum(X, 2)) is as axis-reduced as atan(sum(X, 2))
ELEMENTWISE_CALLS = frozenset(n for f in ELEMENTWISE for n in row(f).names)


# LANGUAGE.md's rule for an axis-reduced column, in two parts that the checker and the
# raiser (raising/expansion.py) both read, each with its own view of shapes
def reduction_axis(node: ast.Node) -> int | None:
    """k of a reduction along one axis written out, sum/mean/logsumexp(X, k); else None."""
    if isinstance(node, ast.Call) and len(node.args) == 2 and node.func in ARITY \
            and row(node.func).along is not None and row(node.func).typing == "scalar":
        return literal_int(node.args[1])
    return None


def elementwise_parts(node: ast.Node) -> tuple[ast.Node, ...] | None:
    """The operands of a node built elementwise (scalings included): `-a`, `a + b`,
    `2*a`, `a/s`, `sqrt(a)`, `max(a, b)`; None for anything else.  A column built so from
    axis-reduced columns and scalars is axis-reduced."""
    if isinstance(node, ast.Neg):
        return (node.operand,)
    if isinstance(node, ast.Binary) and node.op in ELEMENTWISE_OPS:
        return (node.left, node.right)
    if isinstance(node, ast.Call) and node.func in ELEMENTWISE_CALLS:
        return tuple(node.args)
    return None


class AxisRules:
    """Mixin of the checker: calls along an axis, axis-reduced columns, expansion."""

    # ----------------------------------------------------------- f(X, k)
    def _along(self, node: ast.Call) -> tuple:
        f = node.func
        x, k_node = node.args
        t = self.check(x)
        one = self.dims.one
        self.out.types[id(k_node)] = (one, one)
        k = literal_int(k_node)
        what = "reduces" if row(f).typing == "scalar" else "runs along"
        if k is None or isinstance(k_node, ast.Name):
            raise self._err(ShapeError, f"the axis of {f}(X, k) is a number written out, 1 or "
                            f"2 (k = 1 down each column, k = 2 along each row), not "
                            f"{self._text(k_node)}", k_node)
        if len(t) > 2 and k is not None:
            return self._tensor_along(node, x, t, k, row(f).typing == "scalar")
        if k not in (1, 2):
            raise self._err(ShapeError, f"{f}({self._text(x)}, {k}): "
                            f"{self._text(x)} is {self.out.describe(t)}, whose axes are 1 "
                            "(down the columns) and 2 (along the rows)", node)
        if self.dims.is_one(t[k - 1]):
            other = 2 if k == 1 else 1
            hint = (f"{f}({self._text(x)}, {other})" if not self.dims.is_one(t[other - 1])
                    else f"{f}({self._text(x)})")
            raise self._err(ShapeError, f"{f}({self._text(x)}, {k}) {what} axis {k}, but "
                            f"{self._text(x)} is {self.out.describe(t)}: that axis has size 1 "
                            f"(did you mean {hint}?)", node)
        if row(f).typing != "scalar":          # softmax(X, k): the argument's shape
            return t
        if k == 1:
            return (one, t[1])
        if not self.dims.is_one(t[0]):
            self.reduced_columns.add(id(node))
        return (t[0], one)

    # ----------------------------------------------------------- axis-reduced columns
    def _mark_reduced(self, node: ast.Node, t: tuple) -> None:
        """Record node as an axis-reduced column where LANGUAGE.md says it is one: built
        elementwise (scalings included) from axis-reduced columns and scalars."""
        one = self.dims.is_one
        if len(t) > 2:    # a tensor with an axis of 1 (and others): axis-reduced, or not
            candidate = any(one(d) for d in t) and not all(one(d) for d in t)
        else:
            candidate = one(t[1]) and not one(t[0])
        if not candidate or id(node) in self.reduced_columns:
            return
        if isinstance(node, ast.Name):
            ok = node.name in self.reduced_names
        else:
            parts = elementwise_parts(node)
            if parts is None:
                return
            shaped = [p for p in parts if not self.out.is_scalar(self.out.type_of(p))]
            ok = bool(shaped) and all(id(p) in self.reduced_columns for p in shaped)
        if ok:
            self.reduced_columns.add(id(node))

    # ----------------------------------------------------------- expansion
    def _expand(self, node: ast.Node, left: ast.Node, right: ast.Node, lt: tuple,
                rt: tuple) -> tuple | None:
        """The type of an expansion of one side over the other's matrix, None where
        neither side is a row or a column beside a matrix (equal shapes are asked then)."""
        one = self.dims.is_one
        kinds = []
        for t in (lt, rt):
            kinds.append("row" if one(t[0]) and not one(t[1]) else
                         "column" if one(t[1]) and not one(t[0]) else
                         "matrix" if not one(t[0]) and not one(t[1]) else "scalar")
        if sorted(kinds) not in (["matrix", "row"], ["column", "matrix"]):
            return None
        if kinds[0] == "matrix":
            m_t, v_node, v_t, v_kind = lt, right, rt, kinds[1]
        else:
            m_t, v_node, v_t, v_kind = rt, left, lt, kinds[0]
        axis = 1 if v_kind == "row" else 0
        if v_kind == "column" and id(v_node) not in self.reduced_columns:
            raise self._err(ShapeError, self._column_message(node, v_node, v_t, m_t), node)
        if not self.dims.unify(v_t[axis], m_t[axis]):
            side = "columns" if axis == 1 else "rows"
            raise self._err(ShapeError, f"shape mismatch in {self._text(node)}: "
                            f"{self._text(v_node)} is {self.out.describe(v_t)} but the "
                            f"matrix is {self.out.describe(m_t)}; expanding it needs as many "
                            f"{side} ({self.dims.label(v_t[axis])} and "
                            f"{self.dims.label(m_t[axis])} differ)", node)
        return m_t

    def _column_message(self, node: ast.Node, v_node: ast.Node, v_t: tuple,
                        m_t: tuple) -> str:
        """A plain column beside a matrix: say so, and write the fix (`X - m'` subtracts
        m from each row)."""
        v = self._text(v_node)
        if isinstance(v_node, ast.Transpose):        # (row')': the row itself
            row_form = self._text(v_node.operand)
        elif isinstance(v_node, ast.Name | ast.Call):
            row_form = f"{v}'"
        else:
            row_form = f"({v})'"
        if isinstance(node, ast.Binary):
            left, right = (row_form, self._text(node.right)) if v_node is node.left \
                else (self._text(node.left), row_form)
            fixed = f"{left} {node.op} {right}"
            verbs = {"+": f"adds {v} to", "-": f"subtracts {v} from"}
            verb = verbs.get(node.op, f"applies {v} to") if v_node is node.right \
                else f"applies {v} to"
            fix = f"{fixed} {verb} each row"
        else:
            fix = f"{row_form} is {v} as a row, which expands over each row"
        return (f"shape mismatch in {self._text(node)}: {v} is {self.out.describe(v_t)} "
                f"and the other side {self.out.describe(m_t)}; a column vector never expands "
                f"over a matrix (a row does, and an axis-reduced column such as sum(X, 2)): "
                f"{fix}")
