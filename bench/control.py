"""A/A controls and target verdicts: a benchmark that cannot fool itself.

Every size of every problem times our NumPy function twice, as two methods ("ours NumPy"
and "ours NumPy (A/A)") in the same run order as the others (harness.run_methods adds the
second one). The two times differ only by the machine's noise; a size is *held* when they
agree within TOL. Where they do not, the size is re-timed once; if it is still off, its
cells are marked noisy and no target is judged from them: the verdict is "noisy", neither
met nor missed.

The verdicts need no change in the problems: `ratio()` is how targets read timings, and it
returns a `Measured` float that knows whether a noisy cell went into it; `at_most` /
`at_least` return NOISY for such a value; and a Target built after reading any noisy cell
(through `ratio()`) is not "met" (a value from held cells that misses stays missed: a
held size already shows the miss). Every control is appended to LOG, which run.py reads to
decide whether the run may write RESULTS.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from timing import Cell

TOL = 0.10                       # an A/A pair is held when max(a/b, b/a) <= 1 + TOL


def within(r: float | None) -> bool | None:
    """Whether an A/A ratio is within the tolerance (None: nothing to compare)."""
    if r is None or not math.isfinite(r) or r <= 0:
        return None
    return max(r, 1 / r) <= 1 + TOL


@dataclass
class Control:
    """One A/A control: where it was (section title and size), and its ratio (the control's
    time over ours) at each attempt: one, or two where the first was off."""

    where: str
    ratios: list[float | None] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.ratios[-1] if self.ratios else None

    @property
    def held(self) -> bool | None:
        return within(self.ratio)

    @property
    def retried(self) -> bool:
        return len(self.ratios) > 1

    def text(self) -> str:
        def f(r):
            return "-" if r is None else f"{r:.3g}x"
        if self.held is None:
            return "no control (a time is missing)"
        first = f"; first {f(self.ratios[0])}, re-timed" if self.retried else ""
        return f"{f(self.ratio)} {'held' if self.held else 'NOISY'}{first}"


LOG: list[Control] = []          # every control of this process, in order


def settle(where: str, attempt: Callable[[int], float | None]) -> Control:
    """attempt(0) measures and returns the A/A ratio (the control's time over ours); where
    it is off by more than TOL, attempt(1) measures again (re-timing whatever the verdicts
    read). The Control is logged and returned; its last ratio is the verdict."""
    ctl = Control(where)
    for i in range(2):
        ctl.ratios.append(attempt(i))
        if ctl.held is not False:
            break
    LOG.append(ctl)
    return ctl


def worst(ratios: list[float | None]) -> float | None:
    """The A/A ratio furthest from 1 (for a control over several timings)."""
    known = [r for r in ratios if r]
    return max(known, key=lambda r: max(r, 1 / r)) if known else None


# ------------------------------------------------------------------ measured values
class Measured(float):
    """A float that remembers whether it was computed from a noisy measurement."""

    noisy: bool

    def __new__(cls, value: float, noisy: bool = False) -> Measured:
        obj = super().__new__(cls, value)
        obj.noisy = noisy
        return obj


_READ: list[Cell] = []           # cells read through ratio() since the last Target


def forget_reads() -> None:
    _READ.clear()


def ratio(a: Cell | None, b: Cell | None) -> Measured | None:
    """a's time over b's time (noisy if either cell is)."""
    if a is None or b is None or not a.seconds or not b.seconds:
        return None
    _READ.extend((a, b))
    return Measured(a.seconds / b.seconds, a.noisy or b.noisy)


class _Noisy:
    """The verdict of a target whose timings the A/A control did not vouch for."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOISY"


NOISY = _Noisy()


def _judge(value: float | None, ok: Callable[[float], bool]) -> bool | None | _Noisy:
    if value is None or not math.isfinite(value):
        return None
    if getattr(value, "noisy", False):
        return NOISY
    return bool(ok(value))


def at_most(value: float | None, bound: float) -> bool | None | _Noisy:
    return _judge(value, lambda v: v <= bound)


def at_least(value: float | None, bound: float) -> bool | None | _Noisy:
    return _judge(value, lambda v: v >= bound)


# ------------------------------------------------------------------ targets
@dataclass
class Target:
    problem: str
    what: str
    measured: str
    met: bool | None | _Noisy              # None: could not be measured; NOISY: not judged
    detail: str = ""

    def __post_init__(self) -> None:
        noisy = any(c.noisy for c in _READ)
        forget_reads()
        if self.met is True and noisy:      # a size it read was not held: not vouched for
            self.met = NOISY
        if self.met is NOISY:
            self.detail = (self.detail + "; " if self.detail else "") + \
                "A/A control off at a size read (re-timed once): not judged"

    @property
    def status(self) -> str:
        if self.met is NOISY:
            return "noisy"
        return {True: "met", False: "**missed**", None: "n/a"}[self.met]


def counts(targets: list[Target]) -> dict[str, int]:
    return {"met": sum(t.met is True for t in targets),
            "missed": sum(t.met is False for t in targets),
            "noisy": sum(t.met is NOISY for t in targets),
            "n/a": sum(t.met is None for t in targets)}
