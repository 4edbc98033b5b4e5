"""Configurable limits, so that no input can stall a server or a batch job.

    LIMITS.max_seconds = 5            # change a limit for everyone
    with deadline(2.0):               # time-limit one derivation (nested: the earlier wins)
        ...                           # long loops call check_deadline()

The time limit is cooperative: the long loops of the engine (differentiation, the
simplifier's walks and searches, the raiser's dynamic programming) call
check_deadline(), which raises LimitError once the deadline of the innermost
`deadline()` block has passed.  Outside any such block it costs one lookup and
never raises.  The deadline lives in a contextvar, so threads and asyncio tasks
(a web server) each have their own.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import LimitError


@dataclass
class Limits:
    max_input_length: int = 20_000     # characters
    max_depth: int = 200               # nesting of the syntax tree
    max_ir_nodes: int = 200_000        # nodes in one derivation's IR
    max_order: int = 4                 # derivative order
    max_seconds: float = 10.0          # time for one derivation (None or <= 0: no limit)
    max_answer_chars: int = 100_000    # characters of a printed answer


LIMITS = Limits()

# (monotonic time at which the work must stop, the seconds it was given)
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("matrixcalculus_deadline",
                                                                default=None)


_PAUSE_LOCK = threading.Lock()
_PAUSED = [0, False]        # derivations running with the collector paused; was it on


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector off (as it was, after).

    A derivation allocates many small objects (IR nodes, ASTs, memo entries) that live
    to its end, mostly in trees and DAGs: reference counting frees them, and the
    collector's passes only rescan that growing live graph again and again, 20-30% of a
    derivation's time (sum(X*...*X), the sigmoid-chain Hessian, a transformer block;
    measured side by side).  The few cycles (each raising Algebra's memos refer back to
    it) wait for the collector to resume, at the end of the derivation, which
    LIMITS.max_seconds bounds.  The gc switch is process-wide, so the blocks of all
    threads count together: the first to enter turns it off, the last to leave turns it
    back on if it was on."""
    with _PAUSE_LOCK:
        if _PAUSED[0] == 0:
            _PAUSED[1] = gc.isenabled()
            gc.disable()
        _PAUSED[0] += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _PAUSED[0] -= 1
            if _PAUSED[0] == 0 and _PAUSED[1]:
                gc.enable()


@contextmanager
def deadline(seconds: float | None = None) -> Iterator[None]:
    """Run the block under a time limit (default LIMITS.max_seconds): check_deadline()
    inside it raises LimitError once the time is up.  A deadline already running and
    earlier than this one stays in force; None or a value <= 0 adds no limit.  Every
    derivation runs in one: the collector is paused there (collector_paused)."""
    with collector_paused():
        yield from _deadline(seconds)


def _deadline(seconds: float | None) -> Iterator[None]:
    if seconds is None:
        seconds = LIMITS.max_seconds
    if seconds is None or seconds <= 0:
        yield
        return
    end = time.monotonic() + seconds
    outer = _DEADLINE.get()
    new = (end, seconds) if outer is None or end < outer[0] else outer
    token = _DEADLINE.set(new)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline() -> None:
    """Raise LimitError if the current deadline has passed (no deadline: nothing)."""
    d = _DEADLINE.get()
    if d is not None and time.monotonic() > d[0]:
        raise LimitError(f"the derivation took longer than the time limit of {d[1]:g} s "
                         "(LIMITS.max_seconds)")


def time_left() -> float | None:
    """Seconds until the current deadline (None: no deadline)."""
    d = _DEADLINE.get()
    return None if d is None else d[0] - time.monotonic()


def check_answer_size(text: str) -> None:
    """Raise LimitError if a printed answer is longer than LIMITS.max_answer_chars."""
    if len(text) > LIMITS.max_answer_chars:
        raise LimitError(f"the answer is {len(text)} characters long; the limit is "
                         f"{LIMITS.max_answer_chars} (LIMITS.max_answer_chars)")


def check_ir_size(count: int, what: str = "the derivative") -> None:
    """Raise LimitError if an IR has more than LIMITS.max_ir_nodes nodes."""
    if count > LIMITS.max_ir_nodes:
        raise LimitError(f"{what} has more than {LIMITS.max_ir_nodes} IR nodes "
                         "(LIMITS.max_ir_nodes)")
