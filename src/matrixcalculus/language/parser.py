"""Text -> surface AST, with lark's LALR parser.

The tree is built by an inline transformer at reduce time, so even a
10,000-deep chain never recurses in Python here; depth is limited afterwards.
"""

from __future__ import annotations

import math
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
    "NAME": "a name", "NUMBER": "a number", "$END": "the end of the input",
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
        name, _, args, rpar = c
        return ast.Call(str(name), tuple(args), pos=name.start_pos, end=rpar.end_pos)

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


def _parse_raw(text: str):
    try:
        return _parser().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, text) from None
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
    stack = [(root, 1)]
    while stack:
        node, d = stack.pop()
        if d > LIMITS.max_depth:
            raise LimitError(f"the expression is nested more than {LIMITS.max_depth} deep",
                             text, node.pos, node.end)
        stack.extend((c, d + 1) for c in ast.children(node))


def _syntax_error(e: UnexpectedInput, text: str) -> ParseError:
    pos = getattr(e, "pos_in_stream", None)
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream]
        if ch == "=":
            msg = "unexpected '=': named subexpressions are written 'EXPR where NAME = EXPR'"
        else:
            msg = f"unexpected character {ch!r}"
        return ParseError(msg, text, e.pos_in_stream)
    if isinstance(e, UnexpectedEOF):
        return ParseError("the expression ends too early: expected an operand", text, len(text))
    if isinstance(e, UnexpectedToken):
        tok = e.token
        expected = set(e.expected) if e.expected else set()
        if tok.type == "$END":
            if "RPAR" in expected and not (_OPERAND_START & expected):
                msg = "missing ')': the input ends inside parentheses"
            else:
                msg = "the expression ends too early: expected an operand"
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
        elif _OPERAND_START & expected and tok.type not in _OPERAND_START:
            msg = f"unexpected {what}: expected an operand"
        elif tok.type in ("NAME", "NUMBER", "LPAR"):
            msg = (f"unexpected {what}: expected an operator between operands "
                   "(products are written with '*')")
        else:
            names = sorted(_TERMINAL_TEXT.get(t, t) for t in expected)
            msg = f"unexpected {what}: expected " + (", ".join(names[:6]) or "something else")
        return ParseError(msg, text, pos, end)
    return ParseError("syntax error", text, pos)
