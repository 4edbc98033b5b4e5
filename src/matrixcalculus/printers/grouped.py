"""Answers over product dimensions (issue 15): an IR whose axes are grouped (ir/kron.py: a
product dimension m*p is the IR axes (m, p), major factor first) printed in the language.

    grouped_answer(root, groups, grouped_vars, ...) -> Answer

- A variable declared over a product dimension (w: vector(m*p)) is the IR's m x p matrix
  W[i,k] = w[(i,k)]; the answer is raised over a fresh matrix name bound to it,
  `where W = kron(eye(m), ones(p)')*(w*ones(p)' .* kron(ones(m), eye(p)))` (the language
  has no reshape; this product of Kronecker products is one, and parses back), and a
  `vec(W')` left in the answer is `w` again.
- An answer that is a vector over m*p (IR: an m x p matrix G) is vec(G') (vec stacks
  columns: vec(Y)[(j,i)] = Y[i,j]); a matrix over product dimensions whose terms are
  Kronecker products (ir/kron.py's factors) is the sum of their kron(..)s.
- A tensor (three or more indices) prints in index notation over the IR's axes, a product
  dimension's indices in parentheses, major first: `D[(j,i),k,l] = A[i,k]*B[l,j]`; where
  the answer is d vec(F) of a vector over n*m by a matrix it also gives the vec form
  d vec(F)/d vec(X)' (vec(A*X*B) by X: kron(B', A)).
Anything else over grouped axes has no printed form: UnsupportedDerivativeError, at
derive time (derivation.py renders such answers at once).
"""

from __future__ import annotations

from .. import ast
from ..errors import UnsupportedDerivativeError
from ..ir import kron as K
from ..ir.functions import rebuild
from ..ir.leaves import var
from ..ir.nodes import Node, Op, walk
from .latex import to_latex
from .numbers import exact_numbers
from .text import to_text


def _unsupported(what: str) -> UnsupportedDerivativeError:
    return UnsupportedDerivativeError(
        f"the derivative {what}; printing it (with kron and vec) is not built; the "
        "expression itself evaluates (expression(...).evaluate())")


def _dim(d) -> ast.Node:
    return ast.Name(d) if isinstance(d, str) else ast.Num(float(d))


def unvec(name: str, m, p) -> ast.Node:
    """The m x p matrix W[i,k] = w[(i,k)] of w: vector(m*p), in the language."""
    eye, ones = (lambda d: ast.Call("eye", (_dim(d),))), (lambda d: ast.Call("ones", (_dim(d),)))
    spread = ast.Binary("*", ast.Name(name), ast.Transpose(ones(p)))
    picked = ast.Binary(".*", spread, ast.Call("kron", (ones(m), eye(p))))
    return ast.Binary("*", ast.Call("kron", (eye(m), ast.Transpose(ones(p)))), picked)


def _fresh(base: str, used: set[str]) -> str:
    name, k = base, 1
    while name in used:
        name, k = f"{base}{k}", k + 1
    used.add(name)
    return name


def _substitute(root: Node, swap: dict[str, Node]) -> Node:
    memo: dict[Node, Node] = {}

    def go(n: Node) -> Node:
        if n not in memo:
            if n.op == "var" and n.params[0] in swap:
                memo[n] = swap[n.params[0]]
            else:
                memo[n] = rebuild(n, tuple(go(a) for a in n.args)) if n.args else n
        return memo[n]
    return go(root)


def _vec_of_transpose(t: ast.Node, leaves: dict[str, str]) -> ast.Node:
    """vec(t'), with vec(W') = w for an unvec'd leaf W of w, and vec(u'') = vec(u)."""
    if isinstance(t, ast.Name) and t.name in leaves:
        return ast.Name(leaves[t.name])
    if isinstance(t, ast.Transpose):
        return ast.Call("vec", (t.operand,))
    if isinstance(t, ast.Binary) and t.op in "+-":
        return ast.Binary(t.op, _vec_of_transpose(t.left, leaves),
                          _vec_of_transpose(t.right, leaves))
    if isinstance(t, ast.Neg):
        return ast.Neg(_vec_of_transpose(t.operand, leaves))
    if isinstance(t, ast.Binary) and t.op == "*" and isinstance(t.left, ast.Num):
        return ast.Binary("*", t.left, _vec_of_transpose(t.right, leaves))
    return ast.Call("vec", (ast.Transpose(t),))


def _terms(n: Node) -> tuple[Node, ...]:
    return n.args if n.op == Op.ADD else (n,)


def _kron_sum(root: Node, g: int, raiser) -> ast.Node:
    """A matrix over g row and g column factors as a sum of kron(F_1, ..., F_g)."""
    from ..raising import NoMatrixForm
    out: ast.Node | None = None
    for t in _terms(root):
        fs = K.factors(t, g)
        if fs is None:
            raise _unsupported("over product dimensions is not a sum of Kronecker products")
        try:
            parts = [raiser.lift(f) for f in fs]
        except NoMatrixForm:
            raise _unsupported("has a Kronecker factor with no matrix form") from None
        term = parts[0]
        for q in parts[1:]:
            term = ast.Call("kron", (term, q))
        out = term if out is None else ast.Binary("+", out, term)
    assert out is not None
    return out


def _with_bindings(tree: ast.Node, bindings: list[tuple[str, ast.Node]]) -> ast.Node:
    if not bindings:
        return tree
    if isinstance(tree, ast.Where):
        return ast.Where(tree.body, tuple(bindings) + tree.bindings)
    return ast.Where(tree, tuple(bindings))


def _used(tree: ast.Node) -> set[str]:
    names = {tree.name} if isinstance(tree, ast.Name) else set()
    for k in ast.children(tree):
        names |= _used(k)
    return names


def _regroup(head: str, groups: tuple[int, ...], tex: bool) -> str:
    """D[i,j,k,l] -> D[(i,j),k,l] (D_{ijkl} -> D_{(ij)kl}) by the language's axes."""
    if tex:
        inner = head[head.index("{") + 1:head.rindex("}")]
        labels, sep, fmt = list(inner), "", "D_{{{}}}"
    else:
        inner = head[head.index("[") + 1:head.rindex("]")]
        labels, sep, fmt = inner.split(","), ",", "D[{}]"
    if len(labels) != sum(groups):          # a letter like i1 in TeX: leave it
        return head
    parts, at = [], 0
    for g in groups:
        chunk = labels[at:at + g]
        at += g
        parts.append(chunk[0] if g == 1 else f"({sep.join(chunk)})")
    return fmt.format(("," if not tex else "").join(parts))


def grouped_answer(root: Node, groups: tuple[int, ...], grouped_vars: dict[str, tuple],
                   taken: set[str], dims: set[str], own, by_work: bool, vec: bool):
    """The Answer of `root`, whose language axes are `groups` IR axes each, holding the
    variables grouped_vars (name -> IR shape (m, p) of a vector(m*p))."""
    from ..raising import NoMatrixForm, Raiser
    from . import Answer, render
    from .einsum_text import vec_form_text
    from .index import index_answer
    used = set(taken) | set(dims) | set(grouped_vars)
    swap, leaves, bindings = {}, {}, {}
    for name, (m, p) in grouped_vars.items():
        big = _fresh(name.upper() if name.upper() != name else name + "m", used)
        swap[name], leaves[big], bindings[big] = var(big, (m, p)), name, unvec(name, m, p)
    sub = _substitute(root, swap)

    def finish(body: ast.Node, where: tuple = ()) -> Answer:
        body = exact_numbers(body)
        kept = [(nm, b) for nm, b in bindings.items()
                if nm in _used(body) or any(nm in _used(x) for _, x in where)]
        tree = _with_bindings(ast.Where(body, where) if where else body, kept)
        return Answer(to_text(tree), to_latex(tree), True, tree)

    if len(groups) <= 2 and all(g == 1 for g in groups):
        a = render(sub, taken=used, dims=dims, own=own, by_work=by_work)
        if not a.matrix_form:
            raise _unsupported("holds a variable over a product dimension, in index notation")
        t = a.tree
        return finish(t.body, t.bindings) if isinstance(t, ast.Where) else finish(t)
    if groups == (2,):                      # a vector over m*p: vec(G') of the m x p G
        a = render(sub, taken=used, dims=dims, own=own, by_work=by_work)
        if not a.matrix_form:
            raise _unsupported("over a product dimension has no matrix form")
        t = a.tree
        if isinstance(t, ast.Where):
            return finish(_vec_of_transpose(t.body, leaves), t.bindings)
        return finish(_vec_of_transpose(t, leaves))
    if len(groups) == 2 and groups[0] == groups[1]:
        return finish(_kron_sum(sub, groups[0], Raiser(sub, by_work)))
    if len(groups) <= 2:
        raise _unsupported(f"over the product dimensions {groups} of rows and columns")
    raiser = Raiser(sub, by_work)
    try:
        # sizes by name, as render() prints them: declared, or carried by a variable
        carried = set(dims) | {d for x in walk(sub) if x.op == "var" for d in x.shape
                               if isinstance(d, str)}
        text, tex, names = index_answer(sub, raiser, carried)
    except NoMatrixForm:
        raise _unsupported("has no index form over product dimensions") from None
    head, rest = text.split(" = ", 1)
    thead, trest = tex.split(" = ", 1)
    text = _regroup(head, groups, False) + " = " + rest
    tex = _regroup(thead, groups, True) + " = " + trest
    vec_form = None
    # F a vector over n*m by a matrix: the vec form of its matrix F[i,j] = F[(j,i)]
    if vec and groups == (2, 1, 1) and not grouped_vars:
        flip = K.einsum([sub], [(0, 1, 2, 3)], (1, 0, 2, 3))
        vec_form = vec_form_text(flip, Raiser(flip, by_work), used, names, carried)
    return Answer(text, tex, False, einsum=None, vec_form=vec_form)
