"""The one exception family users see.  Every rejection says what and where."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class MatrixCalculusError(Exception):
    """Base class: a message, and optionally the source text and a span to point at."""

    kind = "error"

    def __init__(self, message: str, source: str | None = None,
                 pos: int | None = None, end: int | None = None):
        self.message = message
        self.source = source
        self.pos = pos
        self.end = end if end is not None else (pos + 1 if pos is not None else None)
        super().__init__(self._render())

    def with_source(self, source: str) -> MatrixCalculusError:
        """Attach the source text (positions are set where the error is found)."""
        if self.source is None:
            self.source = source
            self.args = (self._render(),)
        return self

    def caret_lines(self) -> list[str]:
        """The source line holding the error and a caret line under the span."""
        if self.source is None or self.pos is None:
            return []
        src = self.source
        pos = max(0, min(self.pos, len(src)))
        line_start = src.rfind("\n", 0, pos) + 1
        line_end = src.find("\n", pos)
        if line_end < 0:
            line_end = len(src)
        line = src[line_start:line_end]
        col = pos - line_start
        # keep very long inputs readable: show a window around the position
        if len(line) > 100:
            lo = max(0, col - 50)
            tail = "..." if lo + 100 < len(line) else ""
            line = ("..." if lo else "") + line[lo:lo + 100] + tail
            col = col - lo + (3 if lo else 0)
        width = max(1, min((self.end or pos + 1) - pos, len(line) - col if len(line) > col else 1))
        # keep tabs so that the caret lines up under tab-indented text
        pad = "".join("\t" if ch == "\t" else " " for ch in line[:col])
        return [line, pad + "^" * width]

    def _render(self) -> str:
        lines = [self.message]
        lines += ["  " + s for s in self.caret_lines()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._render()

    def _repr_html_(self) -> str:
        """Jupyter: the message and the caret under the position."""
        import html
        body = "\n".join([self.message] + self.caret_lines())
        return f"<pre style='color:#b00'>{html.escape(body)}</pre>"


class ParseError(MatrixCalculusError):
    """The text is not a well-formed expression."""

    kind = "syntax error"


class UnknownNameError(MatrixCalculusError):
    """An unknown function, dimension or variable name."""

    kind = "unknown name"


class ShapeError(MatrixCalculusError):
    """Operand shapes do not fit together."""

    kind = "shape error"


class DeclarationError(MatrixCalculusError):
    """A malformed variable declaration (`matrix(n)`, `vector(-3)`)."""

    kind = "declaration error"


class UnsupportedDerivativeError(MatrixCalculusError):
    """The derivative asked for cannot be taken (wrt a non-variable, bad order...)."""

    kind = "unsupported derivative"


class EvaluationError(MatrixCalculusError):
    """evaluate() failed: the arrays given do not match the declarations (this class), or
    the numbers do not (NumericalError)."""

    kind = "evaluation error"


class NumericalError(EvaluationError):
    """The value is not finite: `what` went wrong (`log of a negative number`) `where` (the
    subexpression, printed: `log(1 - s)`); `value`, the non-finite result where there is
    one (None when the computation stopped, e.g. at a singular inv); `overflow`, whether
    the cause is a finite value beyond float64 (evaluate() returns such an infinity)."""

    def __init__(self, message: str, what: str = "", where: str = "", value: Any = None,
                 overflow: bool = False):
        self.what = what
        self.where = where
        self.value = value
        self.overflow = overflow
        super().__init__(message)


class DomainError(NumericalError):
    """A function applied outside its domain: log or a fractional power of a negative
    number, log of zero, a division by zero, logdet where det <= 0."""


class SingularMatrixError(NumericalError):
    """inv of a singular matrix."""


class LimitError(MatrixCalculusError):
    """The input or the derivation exceeds a configured limit."""

    kind = "limit exceeded"


def guarded(fn: Callable[[], T], source: str) -> T:
    """Run fn(); the only exception that leaves is MatrixCalculusError (with the source)."""
    old_limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(old_limit, 20_000))
        return fn()
    except MatrixCalculusError as e:
        raise e.with_source(source) from None
    except RecursionError:
        raise LimitError("the expression is too deeply nested to differentiate",
                         source) from None
    except MemoryError:
        raise LimitError("the derivation ran out of memory", source) from None
    except Exception as e:  # noqa: BLE001 - the contract: only MatrixCalculusError escapes
        raise MatrixCalculusError(f"internal error ({type(e).__name__}: {e}); please report "
                                  "this expression", source) from e
    finally:
        sys.setrecursionlimit(old_limit)
