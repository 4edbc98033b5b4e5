"""Text -> surface AST, with lark's LALR parser.

The tree is built by an inline transformer at reduce time, so even a
10,000-deep chain never recurses in Python here; depth is limited afterwards.
"""

from __future__ import annotations

import math
import re
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .. import ast
from ..errors import LimitError, ParseError
from ..limits import LIMITS

# how terminals are named to a person
_TERMINAL_TEXT = {
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "HADAMARD": "'.*'",
    "EDIV": "'./'", "DOTCARET": "'.^'", "CARET": "'^'", "QUOTE": "''' (transpose)",
    "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "ASSIGN": "'='", "WHERE": "'where'",
    "NAME": "a name", "SPEC": "einsum subscripts", "NUMBER": "a number",
    "$END": "the end of the input",
}
_OPERAND_START = {"NAME", "NUMBER", "LPAR", "MINUS", "PLUS"}


class _Build(Transformer):
    """Callbacks named after the grammar's rules and aliases."""

    def start(self, c):
        body = c[0]
        if len(c) == 1:
            return body
        bindings = tuple(b for b in c[2::2])
        return ast.Where(body, bindings, pos=body.pos, end=bindings[-1][1].end)

    def binding(self, c):
        name, _, expr = c
        return (str(name), expr, name.start_pos)

    def binary(self, c):
        left, op, right = c
        return ast.Binary(str(op), left, right, pos=left.pos, end=right.end)

    def neg(self, c):
        op, operand = c
        return ast.Neg(operand, pos=op.start_pos, end=operand.end)

    def pos(self, c):
        return c[1]

    def transpose(self, c):
        operand, q = c
        return ast.Transpose(operand, pos=operand.pos, end=q.end_pos)

    def number(self, c):
        (tok,) = c
        value = float(tok)
        if not math.isfinite(value):
            raise ParseError(f"the number {tok} is too large", pos=tok.start_pos, end=tok.end_pos)
        return ast.Num(value, pos=tok.start_pos, end=tok.end_pos)

    def name(self, c):
        (tok,) = c
        return ast.Name(str(tok), pos=tok.start_pos, end=tok.end_pos)

    def call(self, c):
        name, rpar = c[0], c[-1]
        args = c[2] if len(c) == 4 else []   # `ones()`: the arity check names the function
        return ast.Call(str(name), tuple(args), pos=name.start_pos, end=rpar.end_pos)

    def spec_call(self, c):
        name, spec, rpar = c[0], c[2], c[-1]
        quoted = spec.startswith('"')
        text = str(spec)[1:-1] if quoted else str(spec)
        node = ast.Spec(text, pos=spec.start_pos + quoted, end=spec.end_pos - quoted)
        args = [x for x in c[3:-1] if not isinstance(x, Token)]
        return ast.Call(str(name), (node, *args), pos=name.start_pos, end=rpar.end_pos)

    def args(self, c):
        return [x for x in c if not isinstance(x, Token)]

    def group(self, c):
        inner = c[1]
        # keep the parenthesis span for error messages, not for equality
        return _respan(inner, c[0].start_pos, c[2].end_pos)


def _respan(node: ast.Node, pos: int, end: int) -> ast.Node:
    object.__setattr__  # noqa: B018  (frozen dataclass: build a copy instead)
    from dataclasses import replace
    return replace(node, pos=pos, end=end)


@cache
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("grammar.lark").read_text()
    return Lark(grammar, parser="lalr", transformer=_Build(), propagate_positions=False,
                maybe_placeholders=False)


def _fix_bindings(node: ast.Node) -> ast.Node:
    if isinstance(node, ast.Where):
        return ast.Where(node.body, tuple((n, e) for n, e, _ in node.bindings),
                         pos=node.pos, end=node.end)
    return node


def binding_positions(text: str) -> dict[str, int]:
    """Start offsets of `where` binding names (for error messages)."""
    node = _parse_raw(text)
    if isinstance(node, ast.Where):
        return {n: p for n, _, p in node.bindings}
    return {}


def binding_positions_list(text: str) -> list[int]:
    """Start offsets of the `where` binding names, in order (duplicates included)."""
    node = _parse_raw(text)
    if isinstance(node, ast.Where):
        return [p for _, _, p in node.bindings]
    return []


def _parse_raw(text: str):
    try:
        return _parser().parse(text)
    except UnexpectedInput as e:
        raise (_habit(text) or _syntax_error(e, text)) from None
    except ParseError as e:
        raise e.with_source(text) from None


def parse(text: str) -> ast.Node:
    """Parse an expression (optionally with a `where` clause) into the surface AST."""
    if not isinstance(text, str):
        raise ParseError(f"an expression must be text, not {type(text).__name__}")
    if len(text) > LIMITS.max_input_length:
        raise LimitError(f"the expression is {len(text)} characters long; the limit is "
                         f"{LIMITS.max_input_length}", text, LIMITS.max_input_length)
    if not text.strip():
        raise ParseError("the expression is empty", text, 0)
    _check_paren_depth(text)
    node = _fix_bindings(_parse_raw(text))
    _check_depth(node, text)
    _check_where_depth(node, text)
    return node


def _check_paren_depth(text: str) -> None:
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > LIMITS.max_depth:
                raise LimitError(f"parentheses are nested more than {LIMITS.max_depth} deep",
                                 text, i)
        elif ch == ")":
            depth = max(0, depth - 1)


def _check_depth(root: ast.Node, text: str) -> None:
    # depth of the node, and how many of its ancestors are binary operators
    stack = [(root, 1, 0)]
    while stack:
        node, d, ops = stack.pop()
        if d > LIMITS.max_depth:
            if ops > d // 2:   # `x+x+...+x`: flat to a person, deep as a tree
                msg = (f"the expression chains more than {LIMITS.max_depth} operators; "
                       f"the nesting limit is {LIMITS.max_depth}")
            else:
                msg = f"the expression is nested more than {LIMITS.max_depth} deep"
            raise LimitError(msg, text, node.pos, node.end)
        ops += isinstance(node, ast.Binary)
        stack.extend((c, d + 1, ops) for c in ast.children(node))


def _check_where_depth(root: ast.Node, text: str) -> None:
    """With its where-definitions substituted, an expression must still be nested at most
    LIMITS.max_depth deep: `s3 where s1 = sin(x), s2 = sin(s1), s3 = sin(s2)` is as deep as
    sin(sin(sin(x))), and a long chain of definitions would otherwise build IR too deep
    for the recursive stages after parsing."""
    if not isinstance(root, ast.Where):
        return
    heights: dict[str, int] = {}
    for name, expr in root.bindings:
        h = _height(expr, heights)
        if h > LIMITS.max_depth:
            raise LimitError(f"the expression is nested more than {LIMITS.max_depth} deep "
                             f"once its where-definitions are substituted (at '{name}')",
                             text, expr.pos, expr.end)
        heights[name] = h            # visible after its own definition only
    if _height(root.body, heights) > LIMITS.max_depth:
        raise LimitError(f"the expression is nested more than {LIMITS.max_depth} deep once "
                         "its where-definitions are substituted", text, root.body.pos,
                         root.body.end)


def _height(root: ast.Node, heights: dict[str, int]) -> int:
    """Height of a tree (a leaf is 1), a name defined by `where` counting as its
    definition's height.  Iterative."""
    memo: dict[int, int] = {}
    stack: list[tuple[ast.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        kids = ast.children(node)
        if expanded or not kids:
            if isinstance(node, ast.Name):
                memo[id(node)] = heights.get(node.name, 1)
            else:
                memo[id(node)] = 1 + max((memo[id(c)] for c in kids), default=0)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in kids)
    return memo[id(root)]


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "HADAMARD", "EDIV", "DOTCARET", "CARET"}

# characters people paste from papers, and what to write instead
_CHAR_HINTS = {
    **{c: "write powers with ^, as in x^2" for c in "\u00b9\u00b2\u00b3\u2070\u2074\u2075\u2076"
       "\u2077\u2078\u2079\u207b"},
    **{c: "products are written with '*'" for c in "\u00b7\u00d7\u22c5\u2219"},
    **{c: "the transpose is written x'" for c in "\u1d40\u22a4\u2019\u2032`"},
    "\u2212": "the minus sign is written '-'",
    "[": "use ( ) for grouping; indexing is not supported",
    "]": "use ( ) for grouping; indexing is not supported",
    "{": "use ( ) for grouping", "}": "use ( ) for grouping",
    ";": "an expression is one line: name subexpressions with 'where'",
    "\"": "strings are not part of the language, but einsum's subscripts: "
           "einsum(\"ij,jk->ik\", A, B)",
    ">": "'->' is written inside einsum's subscripts: einsum(\"ij,jk->ik\", A, B)",
}


# spellings people bring from NumPy, PyTorch and LaTeX, and this language's (tried only on
# text that does not parse)
_HABITS = [
    (re.compile(r"\.T\b"), "write x' for the transpose (not x.T)"),
    (re.compile(r"@"), "products are written with '*' (x'*A*x, not x.T @ A @ x)"),
    (re.compile(r"\*\*"), "powers are written x^2 for scalars, x.^2 elementwise (not x**2)"),
    (re.compile(r"\b(np|numpy|jnp|torch|tf|math|scipy)\.(?=[A-Za-z_][\w.]*\s*\()"),
     "functions are written without a module: exp(x), not np.exp(x) or torch.exp(x)"),
    (re.compile(r"\^\s*\{?\\top\b|\^\s*\{?\\intercal\b"),
     "write X' for the transpose (not X^\\top)"),
    (re.compile(r"\\frac\b"), "LaTeX is not input: write a/b for a fraction, a./b elementwise"),
    (re.compile(r"\\[A-Za-z]+"), "LaTeX is not input: write names and functions plainly "
     "(alpha, exp(x), X')"),
]


def _habit(text: str) -> ParseError | None:
    for pattern, hint in _HABITS:
        m = pattern.search(text)
        if m:
            return ParseError(f"unexpected '{m.group(0).strip()}': {hint}", text, m.start(),
                              m.end())
    return None


def _char_hint(ch: str) -> str:
    if ch in _CHAR_HINTS:
        return _CHAR_HINTS[ch]
    if "\u0370" <= ch <= "\u03ff":
        return "write Greek letters by name, as in alpha"
    return ""


def _syntax_error(e: UnexpectedInput, text: str) -> ParseError:
    pos = getattr(e, "pos_in_stream", None)
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream]
        if ch == "=":
            msg = "unexpected '=': named subexpressions are written 'EXPR where NAME = EXPR'"
        else:
            hint = _char_hint(ch)
            msg = f"unexpected character {ch!r}" + (f" ({hint})" if hint else "")
        return ParseError(msg, text, e.pos_in_stream)
    if isinstance(e, UnexpectedEOF):
        return ParseError("the expression ends too early: expected an operand", text, len(text))
    if isinstance(e, UnexpectedToken):
        tok = e.token
        expected = set(e.expected) if e.expected else set()
        if tok.type == "$END":
            if expected == {"NAME"}:
                msg = "the expression ends too early: expected a name"
            elif _OPERAND_START & expected:
                msg = "the expression ends too early: expected an operand"
            elif "RPAR" in expected:
                msg = "missing ')': the input ends inside parentheses"
            else:
                msg = "the expression ends too early: expected " + _expected_text(expected)
            return ParseError(msg, text, len(text))
        what = repr(str(tok))
        pos = tok.start_pos
        end = tok.end_pos
        if tok.type == "RPAR" and "RPAR" not in expected:
            if _OPERAND_START & expected:
                msg = f"unexpected {what}: expected an operand before it"
            else:
                msg = "unbalanced ')': no '(' to close"
        elif tok.type == "WHERE":
            msg = "unexpected 'where': it may only follow the whole expression"
        elif tok.type == "COMMA" and not _OPERAND_START & expected:
            msg = ("unexpected ',': commas only separate function arguments and "
                   "where-bindings")
        elif tok.type == "ASSIGN" and "ASSIGN" not in expected:
            msg = "unexpected '=': named subexpressions are written 'EXPR where NAME = EXPR'"
        elif tok.type == "SPEC":
            # a quoted text (or `ij->i`) anywhere but as einsum's first argument
            kind = "strings are" if str(tok).startswith('"') else "subscripts are"
            msg = (f"unexpected {what}: {kind} not part of the language outside einsum's "
                   f"first argument, as in einsum(\"ij,jk->ik\", A, B)")
        elif _OPERAND_START & expected and tok.type not in _OPERAND_START:
            msg = f"unexpected {what}: expected an operand"
        elif tok.type != "LPAR" and _follows_where(text, pos):
            # `where s = x`: the lexer took the leading 'where' for a name
            pos = text.rindex("where", 0, pos)
            end = pos + len("where")
            msg = "unexpected 'where': an expression must come before it"
        elif tok.type in ("NAME", "NUMBER", "LPAR") and _OPERATORS & expected:
            msg = (f"unexpected {what}: expected an operator between operands "
                   "(products are written with '*')")
        else:
            msg = f"unexpected {what}: expected " + _expected_text(expected)
        return ParseError(msg, text, pos, end)
    return ParseError("syntax error", text, pos)


def _expected_text(expected: set[str]) -> str:
    names = sorted(_TERMINAL_TEXT.get(t, t) for t in expected)
    if not names:
        return "something else"
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _follows_where(text: str, pos: int) -> bool:
    """True when the word just before `pos` is a stray leading 'where'."""
    before = text[:pos].rstrip()
    return before.endswith("where") and not before[:-len("where")].strip()
