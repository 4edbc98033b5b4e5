"""Printers: answers as text (the input language), LaTeX, and index notation."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ast
from ..ir.nodes import Node, walk
from ..limits import check_answer_size
from .einsum_text import einsum_text, vec_form_text
from .index import index_answer
from .latex import to_latex
from .naming import name_shared
from .numbers import exact_numbers
from .powers import fold_powers
from .text import to_text, token_count
from .transposes import transposed_sums


@dataclass(frozen=True)
class Answer:
    text: str
    latex: str
    matrix_form: bool                 # True when `text` is in the input language
    tree: ast.Node | None = None      # the surface AST when matrix_form
    einsum: str | None = None         # index notation: the einsum(...) text that parses back
    vec_form: str | None = None       # index notation: d vec(F)/d vec(X)' (kron(B', A))


def render(root: Node, taken: set[str] = frozenset(),
           dims: set[str] = frozenset(), own: dict[Node, str] | None = None,
           by_work: bool = False, vec: bool = False) -> Answer:
    """Matrix notation where it exists (shared subexpressions named once), else index
    notation.  `taken`: names the answer must not bind (variables, dimensions); `dims`:
    the dimension names a reader has declared (a size prints by name where it reads back
    as one: declared, or carried by a variable in the answer); `own`: the person's
    where-names, by the IR node each names (kept in the answer where it shows that node);
    `by_work`: products in the order that makes the fewest matrices (Raiser).
    `vec`: a 4-index derivative with respect to a matrix (it may have a vec form).
    LimitError when the text is longer than LIMITS.max_answer_chars."""
    from ..raising import NoMatrixForm, Raiser
    if root.op == "zero":       # `0`, of any shape (the answer's shape is printed beside it)
        return Answer("0", "0", True, ast.Num(0.0))
    raiser = Raiser(root, by_work)
    # the dimensions whose size prints by name (sum(ones(d)) as d): they read back as sizes
    carried = {d for n in walk(root) if n.op == "var" for d in n.shape
               if isinstance(d, str)} | set(dims)
    try:
        tree = raiser.lift(root)
    except NoMatrixForm:
        text, tex, names = index_answer(root, raiser, carried)
        check_answer_size(text)
        bound = set(taken) | {n.name for n in walk(root) if n.op == "var"} | \
            {d for n in walk(root) for d in n.shape if isinstance(d, str)}
        return Answer(text, tex, False,
                      einsum=einsum_text(root, raiser, bound, names, carried),
                      vec_form=vec_form_text(root, raiser, bound, names, carried)
                      if vec else None)
    used = set(taken) | {n.name for n in walk(root) if n.op == "var"}
    used |= {d for n in walk(root) for d in n.shape if isinstance(d, str)}
    square = {n.params[0] for n in walk(root) if n.op == "var"
              and (n.rank == 0 or (n.rank == 2 and n.shape[0] == n.shape[1]))}
    theirs = [(fold_powers(a, carried, square), nm)
              for nm, a in _own_forms(raiser, own or {}) if nm not in used]
    ranks = {id(a): n.rank for n, a in raiser.memo.items()}
    folded = fold_powers(tree, carried, square)
    tree = name_shared(folded, used, theirs, ranks)
    alt = transposed_sums(folded)          # a sum and its transpose named once, if shorter
    if alt is not None:
        named = name_shared(alt, used, theirs, ranks)
        if token_count(named) < token_count(tree):
            tree = named
    tree = exact_numbers(tree)
    text = to_text(tree)
    check_answer_size(text)
    return Answer(text, to_latex(tree), True, tree)


def _own_forms(raiser, own: dict[Node, str]) -> list[tuple[str, ast.Node]]:
    """Each where-name of the person's with its matrix form, raised by the answer's raiser
    even where the answer's IR lacks its node (`2*A'*(A*x - b)`: the 2 is spread over the
    sum in the IR, and gathered again when raised), so that the name is found wherever the
    answer's text holds the form."""
    from ..raising import NoMatrixForm
    out = []
    for n, nm in own.items():
        try:
            out.append((nm, raiser.lift(n)))
        except NoMatrixForm:
            continue
    return out
