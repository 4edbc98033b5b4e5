"""Limits: input length, nesting depth (also through where-definitions), IR nodes, answer
size, and the cooperative time limit of a derivation (limits.deadline), so that neither
the web server nor a batch user can be stalled, and deep nesting never reaches Python's
recursion limit."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus import differentiate
from matrixcalculus.limits import LIMITS, check_deadline, deadline, time_left
from matrixcalculus.printers import render

# derivations that take far longer than a second without a time limit
SLOW = [
    "alpha" + "^alpha" * 60,
    "sin(" * 120 + "x" + ")" * 120,
    "sum(" + "*".join(["X"] * 60) + ")",
]


# ------------------------------------------------------------------ the deadline itself
def test_no_deadline_never_raises():
    assert time_left() is None
    check_deadline()


def test_deadline_raises_once_passed():
    with deadline(0.05):
        check_deadline()
        assert 0 < time_left() <= 0.05
        time.sleep(0.06)
        with pytest.raises(mc.LimitError) as info:
            check_deadline()
    assert info.value.message == ("the derivation took longer than the time limit of 0.05 s "
                                  "(LIMITS.max_seconds)")
    check_deadline()                   # gone after the block
    assert time_left() is None


def test_earlier_deadline_wins_when_nested():
    with deadline(0.05):
        with deadline(100):
            assert time_left() <= 0.05
        with deadline(0.01):
            assert time_left() <= 0.01
        assert 0.01 < time_left() <= 0.05


@pytest.mark.parametrize("seconds", [0, -1])
def test_zero_or_negative_means_no_limit(seconds):
    with deadline(seconds):
        assert time_left() is None


def test_default_is_limits_max_seconds(monkeypatch):
    monkeypatch.setattr(LIMITS, "max_seconds", 123.0)
    with deadline():
        assert 122 < time_left() <= 123
    monkeypatch.setattr(LIMITS, "max_seconds", None)
    with deadline():
        assert time_left() is None


def test_deadline_is_per_thread():
    seen = []

    def other():
        seen.append(time_left())

    with deadline(5):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen == [None]


# ------------------------------------------------------------------ derivations under it
@pytest.mark.parametrize("src", SLOW, ids=["power-tower", "sin-chain", "matrix-power"])
def test_slow_derivation_stops_at_the_deadline(src):
    wrt = "alpha" if "alpha" in src else ("X" if "X" in src else "x")
    started = time.monotonic()
    with pytest.raises(mc.LimitError) as info, deadline(0.5):
        d = mc.derivative(src, wrt)
        str(d)                         # the answer is raised lazily: inside the block too
    elapsed = time.monotonic() - started
    assert "time limit" in info.value.message
    assert elapsed < 3.0, f"stopped after {elapsed:.1f} s, not about 0.5 s"


def test_fast_derivation_is_untouched_by_a_deadline():
    with deadline(5):
        d = mc.derivative("x'*A*x", "x")
        assert str(d) in ("(A + A')*x", "A*x + A'*x")


def test_differentiate_checks_the_deadline(monkeypatch):
    # the raw differentiation loop, without the simplifier or the API
    e = mc.expression("sum(" + "sin(" * 50 + "x" + ")" * 50 + ")")
    x = next(n for n in _walk(e.ir) if n.op == "var")
    with deadline(1e-9):
        time.sleep(0.001)
        with pytest.raises(mc.LimitError):
            differentiate.jacobian(e.ir, x)


def _walk(n):
    from matrixcalculus.ir.nodes import walk
    return walk(n)


# ------------------------------------------------------------------ sizes
def test_answer_size_limit(monkeypatch):
    d = mc.derivative("x'*A*x + sum(exp(B*x))", "x")
    text = str(d)
    monkeypatch.setattr(LIMITS, "max_answer_chars", len(text) - 1)
    with pytest.raises(mc.LimitError) as info:
        render(d.ir)
    assert info.value.message == (f"the answer is {len(text)} characters long; the limit is "
                                  f"{len(text) - 1} (LIMITS.max_answer_chars)")
    monkeypatch.setattr(LIMITS, "max_answer_chars", len(text))
    assert render(d.ir).text == text


def test_answer_size_limit_in_index_notation(monkeypatch):
    d = mc.derivative("A*X*B", "X")          # (x'*A*x wrt A, order 2, is `0` now)
    monkeypatch.setattr(LIMITS, "max_answer_chars", 10)
    with pytest.raises(mc.LimitError):
        render(d.ir)
    with pytest.raises(mc.LimitError):     # derivative() prints under the same limits
        mc.derivative("A*X*B", "X")


def test_ir_node_limit(monkeypatch):
    monkeypatch.setattr(LIMITS, "max_ir_nodes", 20)
    with pytest.raises(mc.LimitError) as info:
        mc.derivative("sum(exp(A*x) .* sin(B*x) ./ (1 + x.^2))", "x")
    assert "IR nodes" in info.value.message


def test_input_length_limit(monkeypatch):
    monkeypatch.setattr(LIMITS, "max_input_length", 10)
    with pytest.raises(mc.LimitError):
        mc.derivative("x'*x + x'*x", "x")
    mc.derivative("x'*x", "x")


# ------------------------------------------------------------------ depth
def _chain(f: str, n: int) -> str:
    defs = ", ".join(f"s{i} = {f.replace('@', f's{i - 1}')}" for i in range(1, n + 1))
    return f"s{n} where s0 = x, {defs}"


def test_where_chain_counts_as_nesting():
    # s1000 where s1 = sin(s0), s2 = sin(s1), ... is as deep as sin(sin(...)): a clean
    # LimitError, not a RecursionError when the answer is printed
    src = _chain("sin(@)", 1000)
    with pytest.raises(mc.LimitError) as info:
        mc.derivative(src, "x")
    assert info.value.message == ("the expression is nested more than 200 deep once its "
                                  "where-definitions are substituted (at 's200')")
    assert src[info.value.pos:].startswith("sin(s199)")


def test_where_chain_within_the_limit():
    d = mc.derivative(_chain("sin(@)", 30), "x")
    assert d.shape == ("n", "n")
    assert str(d)
    assert np.all(np.isfinite(d.evaluate(x=np.ones(2))))


def test_independent_bindings_do_not_add_up():
    src = "sum(x) where " + ", ".join(f"s{i} = sin(x)" for i in range(400))
    mc.derivative(src, "x")


@pytest.mark.parametrize("build", [
    lambda d: "sign(" * d + "x" + ")" * d,
    lambda d: "(" * d + "x" + ")" * d,
    lambda d: "-" * d + "x",
    lambda d: "x" + "'" * d,
    lambda d: "+".join(["x"] * d),
    lambda d: ".*".join(["x"] * d),
    lambda d: "*".join(["alpha"] * d),
    lambda d: "sum(" + "abs(" * (d - 2) + "x" + ")" * (d - 2) + ")",
], ids=["calls", "parens", "minus", "transposes", "sum", "hadamard", "product", "abs"])
def test_nesting_at_the_limit_never_reaches_the_recursion_limit(build):
    """At the depth limit every stage (derive, print, LaTeX, code, evaluate) either works
    or stops with a LimitError; nothing recurses past Python's limit, even outside the
    API's guard (the answer is printed lazily)."""
    src = build(LIMITS.max_depth - 2)
    wrt = "alpha" if "alpha" in src else "x"
    try:
        with deadline(2):
            d = mc.derivative(src, wrt)
            str(d)
            d.latex()
            d.code("numpy")
            d.code("torch")
            d.evaluate(**{wrt: np.full((3,) if wrt == "x" else (), 0.3)})
    except mc.LimitError:
        pass


def test_deeper_than_the_limit_is_a_clean_error():
    for src in ["sign(" * 300 + "x" + ")" * 300, "-" * 300 + "x", "x" + "'" * 300,
                _chain("-@", 300)]:
        with pytest.raises(mc.LimitError):
            mc.derivative(src, "x")


def test_collector_paused_inside_a_derivation_and_restored():
    """Every derivation runs with the cyclic collector off (limits.collector_paused), and
    leaves it as it found it, on or off, also when the derivation fails."""
    import gc
    assert gc.isenabled()
    with deadline():
        assert not gc.isenabled()
        with deadline(1.0):
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    mc.derivative("x'*A*x", "x", vars={"A": "matrix(n,n)"})
    assert gc.isenabled()
    with pytest.raises(mc.MatrixCalculusError):
        mc.derivative("x'*", "x")
    assert gc.isenabled()
    gc.disable()
    try:
        mc.derivative("x'*A*x", "x", vars={"A": "matrix(n,n)"})
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collector_pauses_of_threads_count_together():
    """gc is process-wide: a thread leaving its derivation does not turn the collector on
    under another thread's; the last one to leave does."""
    import gc
    import threading

    from matrixcalculus.limits import collector_paused
    inside, leave = threading.Event(), threading.Event()

    def other():
        with collector_paused():
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=other)
    with collector_paused():
        t.start()
        inside.wait(5)
    assert not gc.isenabled()          # the other thread's block is still running
    leave.set()
    t.join(5)
    assert gc.isenabled()
