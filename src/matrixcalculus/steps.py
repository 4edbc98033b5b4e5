"""The chain-rule derivation as a person would write it (`d.steps()`, CLI `--steps`).

From the top of the expression down every path that reaches an occurrence of the
variable, each intermediate e gets G_e = df/de, the derivative of the whole
expression f with respect to e's value.  G_e is computed, not pattern-matched: the
expression is lowered with e replaced by a fresh variable, differentiated with
respect to it, and e is substituted back.  So every step is exactly as correct as
the engine itself.

A step is shown where G changes; a run where G passes through unchanged (`+`,
transposes of vectors) is folded into one step, written at the run's top, or at
its bottom where the run ends at the variable.  Each step names its local rule:
how the enclosing shown expression turns its own derivative, written G, into e's.
Several occurrences of the variable contribute one step each, then their sum.
Higher orders differentiate the gradient again in one final step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast, differentiate
from .derivation import Derivation
from .ir import build as B
from .ir.nodes import Node, walk
from .ir.rewrite import rebuild
from .language.typecheck import Type, Typed, Variable
from .lower import lower
from .printers import render
from .printers.index import index_form
from .printers.latex import name as latex_name
from .printers.latex import to_latex
from .printers.naming import name_shared
from .printers.numbers import exact_numbers
from .printers.steps import Step, Steps
from .printers.text import to_text
from .raising import NoMatrixForm, Raiser
from .simplify import simplify
from .variables import shape_text, variables_line

__all__ = ["Step", "Steps", "derivation_steps"]

Path = tuple[int, ...]


# ---------------------------------------------------------------- the derivation
def derivation_steps(d: Derivation) -> Steps:
    """The chain-rule derivation of a derivative, step by step."""
    return _Derivation(d).run()


@dataclass
class _Pos:
    """An intermediate on a path to the variable: its place, node and df/d(node)."""

    path: Path
    node: ast.Node
    g: Node
    parent: _Pos | None
    kids: list[_Pos] = field(default_factory=list)


def _substitute(root: Node, old: Node, new: Node) -> Node:
    """root with the IR node old replaced by new, rebuilt through the constructors."""
    done: dict[Node, Node] = {}
    for n in walk(root):
        done[n] = new if n is old else rebuild(n, tuple(done[a] for a in n.args))
    return done[root]


def _fresh(base: str, taken: set[str]) -> str:
    name, i = base, 1
    while name in taken:
        name, i = f"{base}{i}", i + 1
    return name


class _Derivation:
    def __init__(self, d: Derivation):
        self.d = d
        self.typed: Typed = d.typed
        # rebuilt AST nodes are typed like the nodes they stand for; kept alive here
        # so that their ids (the key of typed.types) stay theirs
        self.types: dict[int, Type] = dict(self.typed.types)
        self.keep: list[ast.Node] = []
        self.root = self._inline(self.typed.root)
        self.dims = {str(x) for v in d.variables.values() for x in v.shape}
        taken = set(self.typed.variables) | self.dims
        self.t_name = _fresh("t__", taken)      # never printed: substituted back
        self.g_name = _fresh("G", taken)
        self.scalar_f = d.expression_ir.rank == 0

    # ------------------------------------------------------------ AST plumbing
    def type_of(self, n: ast.Node) -> Type:
        return self.types[id(n)]

    def _new(self, like: ast.Node, n: ast.Node) -> ast.Node:
        self.types[id(n)] = self.types[id(like)]
        self.keep.append(n)
        return n

    def _inline(self, root: ast.Node) -> ast.Node:
        """The expression as one tree: `where` names replaced by their definitions,
        so that each use is a position of its own on the paths to the variable."""
        if not isinstance(root, ast.Where):
            return root
        defs: dict[str, ast.Node] = {}

        def sub(n: ast.Node) -> ast.Node:
            if isinstance(n, ast.Name) and n.name in defs:
                return defs[n.name]
            kids = ast.children(n)
            new = tuple(sub(k) for k in kids)
            if all(a is b for a, b in zip(new, kids)):
                return n
            return self._new(n, ast.with_children(n, new))

        for name, expr in root.bindings:
            defs[name] = sub(expr)
        return sub(root.body)

    def _replace_at(self, n: ast.Node, path: Path, new: ast.Node) -> ast.Node:
        if not path:
            return new
        kids = list(ast.children(n))
        kids[path[0]] = self._replace_at(kids[path[0]], path[1:], new)
        return self._new(n, ast.with_children(n, kids))

    def _at(self, path: Path) -> ast.Node:
        n = self.root
        for k in path:
            n = ast.children(n)[k]
        return n

    def _lower(self, tree: ast.Node, extra: Variable | None = None) -> Node:
        variables = dict(self.typed.variables)
        if extra is not None:
            variables[extra.name] = extra
        t = Typed(tree, self.typed.source, self.typed.dims, variables, self.types, {})
        return lower(t)[0]

    def _lower_replaced(self, tree: ast.Node, rel: Path, e: ast.Node) -> tuple[Node, Node]:
        """tree (IR) with the position rel, holding e, made a fresh variable t."""
        name = self._new(e, ast.Name(self.t_name))
        var = Variable(self.t_name, "matrix", self.type_of(e), declared=True)
        ir = self._lower(self._replace_at(tree, rel, name), var)
        return ir, B.var(self.t_name, self.typed.shape(self.type_of(e)))

    # ------------------------------------------------------------ calculus
    def gradient_at(self, path: Path) -> Node:
        """df/de for the intermediate e at path (other occurrences held fixed)."""
        e = self._at(path)
        y_t, t = self._lower_replaced(self.root, path, e)
        g = simplify(differentiate.jacobian(y_t, t))
        return simplify(_substitute(g, t, self._lower(e)))

    def rule(self, a_path: Path, path: Path) -> Node:
        """The local rule from the enclosing expression a to e: the vector-Jacobian
        product of a with respect to e, applied to a placeholder G of a's shape."""
        a, e = self._at(a_path), self._at(path)
        a_t, t = self._lower_replaced(a, path[len(a_path):], e)
        g = B.var(self.g_name, a_t.shape)
        r = tuple(range(a_t.rank))
        vjp = simplify(differentiate.jacobian(B.einsum([g, a_t], [r, r], ()), t))
        return simplify(_substitute(vjp, t, self._lower(e)))

    # ------------------------------------------------------------ printing
    def is_row(self, e: ast.Node) -> bool:
        r, c = self.type_of(e)
        one = self.typed.dims.is_one
        return one(r) and not one(c)

    def show(self, ir: Node, row: bool = False, row_g: bool = False) -> tuple[str, str]:
        """ir in matrix notation (index notation where it has none).  row: ir is the
        gradient of a row vector, so written transposed; row_g: G belongs to a row
        vector, so G in ir (a column) stands for G'."""
        try:
            return self._show(ir, row, row_g)
        except NoMatrixForm:      # index notation too can fail on some tensors: say so
            shape = shape_text(ir.shape)
            return f"<a {shape} tensor>", rf"\langle \text{{a {shape} tensor}} \rangle"

    def _show(self, ir: Node, row: bool, row_g: bool) -> tuple[str, str]:
        if not (row or row_g):
            a = render(ir, {self.g_name})
            return a.text, a.latex
        raiser = Raiser(ir)
        try:
            tree = raiser.lift(ir)
        except NoMatrixForm:
            return index_form(ir, raiser)
        if row_g:
            tree = _untranspose(_transpose_name(tree, self.g_name))
        if row:
            tree = _untranspose(raiser.T(tree))
        used = {self.g_name} | self.dims | {n.name for n in walk(ir) if n.op == "var"}
        tree = exact_numbers(name_shared(tree, used))
        return to_text(tree), to_latex(tree)

    def shape_of(self, e: ast.Node) -> str:
        t = self.type_of(e)
        if self.is_row(e):
            return f"1 x {self.typed.dims.label(t[1])}"
        return shape_text(self.typed.shape(t))

    def value_shape(self, e: ast.Node, g: Node) -> str:
        if self.scalar_f and self.is_row(e):
            return self.shape_of(e)
        return shape_text(g.shape)

    # ------------------------------------------------------------ the walk
    def positions(self) -> tuple[_Pos | None, list[_Pos]]:
        """The tree of intermediates on the paths to the variable, and the occurrences."""
        wrt = self.d.wrt_list[0]       # a mixed derivative's first variable, then "again"
        memo: dict[int, bool] = {}

        def contains(n: ast.Node) -> bool:
            if id(n) not in memo:
                memo[id(n)] = (isinstance(n, ast.Name) and n.name == wrt) or \
                    any(contains(k) for k in ast.children(n))
            return memo[id(n)]

        occurrences: list[_Pos] = []

        def visit(path: Path, n: ast.Node, parent: _Pos | None) -> _Pos:
            p = _Pos(path, n, self.gradient_at(path), parent)
            if isinstance(n, ast.Name):
                occurrences.append(p)
            for k, c in enumerate(ast.children(n)):
                if contains(c):
                    p.kids.append(visit(path + (k,), c, p))
            return p

        if not contains(self.root):
            return None, []
        return visit((), self.root, None), occurrences

    def run(self) -> Steps:
        d, wrt = self.d, self.d.wrt_list[0]
        top, occurrences = self.positions()
        steps: list[Step] = []
        numbered = len(occurrences) > 1

        def is_var(p: _Pos) -> bool:
            return isinstance(p.node, ast.Name)

        def run_reaches_var(p: _Pos) -> bool:
            """G passes unchanged from p down to an occurrence: show that one instead."""
            if len(p.kids) != 1 or p.kids[0].g is not p.g:
                return False
            return is_var(p.kids[0]) or run_reaches_var(p.kids[0])

        def walk_steps(p: _Pos, through: _Pos) -> None:
            shown = is_var(p) or (p.parent is not None and p.g is not p.parent.g
                                  and not run_reaches_var(p))
            if shown:
                steps.append(self.chain_step(p, through, occurrences if numbered else []))
                through = p
            for c in p.kids:
                walk_steps(c, through)

        if top is not None:
            walk_steps(top, top)
        steps += self.closing_steps(steps, [p.g for p in occurrences])
        root = self.typed.root      # as typed, `where` and all
        return Steps(to_text(root), to_latex(root), shape_text(d.expression_ir.shape), wrt,
                     shape_text(d.wrt_ir.shape), d.order, len(occurrences), tuple(steps),
                     self.g_name, variables_line(d.variables), tuple(d.notes),
                     d.wrt_list if d.is_mixed else ())

    def chain_step(self, p: _Pos, through: _Pos, occurrences: list[_Pos]) -> Step:
        e, a = p.node, through.node
        row = self.scalar_f and self.is_row(e)
        value = self.show(p.g, row=row)
        if p is through:            # f is the variable itself: nothing to go through
            return Step(to_text(e), to_latex(e), self.shape_of(e), f"f is {to_text(e)} itself",
                        rf"f \text{{ is }} {to_latex(e)} \text{{ itself}}", value[0], value[1],
                        self.value_shape(e, p.g), kind="result")
        rule = self.show(self.rule(through.path, p.path), row=row, row_g=self.is_row(a))
        number = next((k for k, o in enumerate(occurrences, 1) if o is p), None)
        return Step(to_text(e), to_latex(e), self.shape_of(e), rule[0], rule[1],
                    value[0], value[1], self.value_shape(e, p.g), to_text(a), to_latex(a),
                    "chain", number)

    def closing_steps(self, steps: list[Step], contributions: list[Node]) -> list[Step]:
        """The sum over occurrences, symmetrisation, simplification, higher orders:
        whatever leads from the last chain step to the answer str(d)."""
        d, wrt = self.d, self.d.wrt_list[0]
        x = d.wrt_ir
        name_t, name_x = wrt, latex_name(wrt)
        out: list[Step] = []
        gshape = shape_text(d.expression_ir.shape + x.shape)
        last = steps[-1].value_text if steps else None
        if not contributions:
            zero = B.zero(d.expression_ir.shape + x.shape)
            text, tex = self.show(zero)
            out.append(Step(name_t, name_x, shape_text(x.shape), f"f does not depend on {wrt}",
                            rf"\text{{$f$ does not depend on }} {name_x}", text, tex, gshape,
                            kind="result"))
            last = text
        elif len(contributions) > 1:
            partial = simplify(B.add(contributions))
            terms = self.show(B.add(contributions))
            text, tex = self.show(partial)
            out.append(Step(name_t, name_x, shape_text(x.shape), terms[0], terms[1], text, tex,
                            gshape, kind="sum"))
            last = text
        if d.order == 1:
            grad_text, grad_tex = str(d), d.latex()
        else:
            grad_text, grad_tex = self.show(differentiate.derivative(d.expression_ir, x, 1))
        if x.symmetric and contributions and last != grad_text:   # symmetrised
            out.append(Step(name_t, name_x, shape_text(x.shape),
                            f"{wrt} is symmetric: the gradient D above becomes (D + D')/2",
                            rf"{name_x} \text{{ is symmetric: }} D \mapsto (D + D^{{\top}})/2",
                            grad_text, grad_tex, gshape, kind="symmetric"))
        elif last != grad_text:
            out.append(Step(name_t, name_x, shape_text(x.shape), "simplified",
                            r"\text{simplified}", grad_text, grad_tex, gshape, kind="result"))
        if d.order > 1:
            out.append(_again(d, grad_text, grad_tex, gshape))
        return out


def _again(d: Derivation, grad_text: str, grad_tex: str, gshape: str) -> Step:
    """The last step of a higher order: the gradient differentiated again (a mixed
    derivative's: with respect to the list's other variables)."""
    wrt = d.wrt_list[0]
    times = "again" if d.order == 2 else f"{d.order - 1} more times"
    then, then_tex = f"{wrt} {times}", rf"{latex_name(wrt)} \text{{ {times}}}"
    if d.is_mixed:
        then = ", then ".join(d.wrt_list[1:])
        then_tex = r"\text{, then }".join(latex_name(w) for w in d.wrt_list[1:])
    return Step(grad_text, grad_tex, gshape,
                f"differentiate the gradient g = {grad_text} with respect to {then}",
                rf"\text{{differentiate }} g = {grad_tex} \text{{ with respect to }} {then_tex}",
                str(d), d.latex(), shape_text(d.shape), kind="again")


def _transpose_name(a: ast.Node, name: str) -> ast.Node:
    """Every use of the variable `name` transposed."""
    if isinstance(a, ast.Name):
        return ast.Transpose(a) if a.name == name else a
    kids = ast.children(a)
    if not kids:
        return a
    return ast.with_children(a, [_transpose_name(k, name) for k in kids])


def _untranspose(a: ast.Node) -> ast.Node:
    """(x')' -> x."""
    if isinstance(a, ast.Transpose) and isinstance(a.operand, ast.Transpose):
        return _untranspose(a.operand.operand)
    kids = ast.children(a)
    if not kids or isinstance(a, ast.Where):
        return a
    return ast.with_children(a, [_untranspose(k) for k in kids])
