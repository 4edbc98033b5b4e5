"""The benchmark's A/A control and its verdicts (bench/control.py, harness.run_methods,
run.py's gate), driven by fake timings: no timing of the real machine is asserted."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import control  # noqa: E402
import harness  # noqa: E402
import run  # noqa: E402
from control import NOISY, Target, at_least, at_most, ratio, settle, within, worst  # noqa: E402
from timing import AA, OURS, Cell, Config  # noqa: E402


def test_within_tolerance_both_ways():
    assert within(1.0) and within(1.09) and within(1 / 1.09)
    assert within(1.11) is False and within(0.89) is False
    assert within(None) is None and within(float("nan")) is None
    assert worst([1.02, 0.8, None, 1.1]) == 0.8 and worst([None]) is None


@pytest.mark.parametrize("ratios,held,retried,calls", [
    ([1.04], True, False, 1),              # held at once: not re-timed
    ([1.3, 0.97], True, True, 2),          # off, then held after re-timing
    ([1.3, 0.7, 1.0], False, True, 2),     # off twice: noisy (re-timed once only)
    ([None], None, False, 1),              # nothing to compare
])
def test_settle_retries_once(ratios, held, retried, calls):
    seen = []

    def attempt(i):
        seen.append(i)
        return ratios[i]
    n = len(control.LOG)
    ctl = settle("fake", attempt)
    assert (ctl.held, ctl.retried, seen) == (held, retried, list(range(calls)))
    assert control.LOG[n:] == [ctl]
    assert ("NOISY" in ctl.text()) == (held is False)


def _cells(ours: float, other: float, noisy: bool) -> dict[str, Cell]:
    return {OURS: Cell(seconds=ours, noisy=noisy), "hand": Cell(seconds=other, noisy=noisy)}


def test_verdict_of_a_held_size_is_judged():
    control.forget_reads()
    c = _cells(1.0, 2.0, noisy=False)
    r = ratio(c[OURS], c["hand"])
    assert r == 0.5 and not r.noisy
    assert Target("p", "t", "", at_most(r, 1.05)).status == "met"
    r = ratio(c["hand"], c[OURS])
    assert Target("p", "t", "", at_most(r, 1.05)).status == "**missed**"


def test_verdict_of_a_noisy_size_is_neither_met_nor_missed():
    control.forget_reads()
    c = _cells(1.0, 2.0, noisy=True)
    for value in (ratio(c[OURS], c["hand"]), ratio(c["hand"], c[OURS])):
        assert value.noisy
        assert at_most(value, 1.05) is NOISY and at_least(value, 1.05) is NOISY
        t = Target("p", "t", "", at_most(value, 1.05), "n=10")
        assert t.status == "noisy" and t.met is not True and t.met is not False
        assert "A/A control off" in t.detail
    assert Target("p", "t", "", at_most(None, 1.0)).status == "n/a"


def test_worst_over_sizes_with_one_noisy_size():
    """"Never slower at every size": a met verdict needs every size read to be held; a miss
    at a held size stays a miss."""
    control.forget_reads()
    held, noisy = _cells(1.0, 2.0, False), _cells(1.0, 2.0, True)
    rs = [ratio(held[OURS], held["hand"]), ratio(noisy[OURS], noisy["hand"])]
    assert Target("p", "t", "", at_most(max(rs), 1.05)).status == "noisy"
    held = _cells(3.0, 2.0, False)
    rs = [ratio(held[OURS], held["hand"]), ratio(noisy[OURS], noisy["hand"])]
    best = max(rs)
    assert not best.noisy
    assert Target("p", "t", "", at_most(best, 1.05)).status == "**missed**"
    # a memory target reads no timing: a noisy size does not touch it
    assert Target("p", "memory", "", at_most(0.5, 4.0)).status == "met"


def _fake_run(monkeypatch, attempts: list[dict[str, float]]) -> dict[str, Cell]:
    """run_methods over OURS, hand (and the control it adds), one round per timing attempt,
    with each sample's time read from a script: attempts[k][method] at the k-th attempt."""
    script = {name: [a[name] for a in attempts] for name in attempts[0]}
    monkeypatch.setattr(harness, "sample", lambda m, inner: script[m.name].pop(0))
    monkeypatch.setattr(harness, "once", lambda fn, inner=1: 1e-4)     # the calibration
    monkeypatch.setattr(harness, "stolen_s", lambda: 0.0)
    monkeypatch.setattr(harness, "numpy_peak", lambda fn: 0)
    methods = [harness.Method(OURS, lambda: np.ones(3), "numpy"),
               harness.Method("hand", lambda: np.ones(3), "numpy")]
    cfg = Config(quick=True, budget_s=0.0, min_repeats=1, max_repeats=1, settle_s=0.0)
    cells = harness.run_methods(methods, cfg, [], "fake")
    assert not any(script.values())         # every scripted timing was used
    return cells


def test_run_methods_adds_the_control_last_and_judges_it(monkeypatch):
    cells = _fake_run(monkeypatch, [{OURS: 1.0, "hand": 2.0, AA: 1.04}])
    assert list(cells) == [OURS, "hand", AA]
    ctl = cells[AA].control
    assert ctl.held and not ctl.retried and ctl.ratio == pytest.approx(1.04)
    assert not any(c.noisy for c in cells.values())


def test_run_methods_retimes_once_then_marks_noisy(monkeypatch):
    off = {OURS: 1.0, "hand": 2.0, AA: 1.5}                 # control 1.5x
    cells = _fake_run(monkeypatch, [off, {OURS: 1.0, "hand": 3.0, AA: 1.01}])
    ctl = cells[AA].control
    assert ctl.held and ctl.retried and cells["hand"].seconds == 3.0   # re-timed values
    cells = _fake_run(monkeypatch, [off, off])
    assert cells[AA].control.held is False and all(c.noisy for c in cells.values())


def test_rounds_sample_every_method_alike_in_balanced_orders(monkeypatch):
    # every method gets as many samples, the control loops as many calls per sample as
    # OURS (its own function), the orders are a Williams design's rows, and a method's time
    # is the lower quartile of its samples
    orders, inners, times = [], {}, iter([5.0, 1.0, 2.0, 3.0] * 10)
    monkeypatch.setattr(harness, "once", lambda fn, inner=1: 1e-4)

    def fake(m, inner):
        orders.append(m.name)
        inners.setdefault(m.name, set()).add(inner)
        return next(times)
    monkeypatch.setattr(harness, "sample", fake)
    monkeypatch.setattr(harness, "stolen_s", lambda: 0.0)
    ours = harness.Method(OURS, lambda: None, "numpy")
    ms = harness.with_control([ours, harness.Method("hand", lambda: None, "numpy"),
                               harness.Method("torch", lambda: None, "torch")])
    cells = {m.name: Cell() for m in ms}
    cfg = Config(quick=False, budget_s=0.05, min_repeats=5, max_repeats=10, settle_s=0.0)
    harness._rounds(ms, cells, cfg, {m.name: 1e-4 for m in ms})
    rounds = [orders[i:i + 4] for i in range(0, len(orders), 4)]
    assert len(rounds) == 8 and all(sorted(r) == sorted(cells) for r in rounds)
    assert len({tuple(r) for r in rounds}) == 4        # two whole designs of 4 rows
    assert inners[OURS] == inners[AA] and all(c.repeats for c in cells.values())
    assert harness.low_quartile([5.0, 1.0, 2.0, 3.0, 4.0]) == 2.0
    assert harness.low_quartile([3.0, 1.0]) == 1.0


def test_a_problem_with_its_own_control_keeps_it():
    ms = [harness.Method(OURS, None, "numpy"), harness.Method(AA, None, "numpy")]
    assert [m.name for m in harness.with_control(ms)] == [OURS, AA]
    assert [m.name for m in harness.with_control(ms[:1])] == [OURS, AA]


def test_results_md_only_from_a_run_whose_controls_held(tmp_path):
    out = tmp_path / "RESULTS.md"
    noisy_ctl = control.Control("x", [1.5, 1.4])
    held_ctl = control.Control("y", [1.01])
    controls = {"logistic": [held_ctl], "mlp": [held_ctl, noisy_ctl]}
    assert run.noisy_problems(controls) == ["mlp"]
    assert run.destination(out, [], False, False) == (out, 0)
    assert run.destination(out, ["mlp"], False, False) == (tmp_path / "RESULTS.noisy.md", 1)
    assert run.destination(out, ["mlp"], True, False) == (out, 0)      # --force
    assert run.destination(out, ["mlp"], False, True) == (out, 0)      # --quick: not gated
    table = run.controls_table(controls)
    assert "| mlp | 2 | 1 | 0 | x: 1.4x NOISY" in table


def test_a_sample_the_hypervisor_stole_from_is_retaken(monkeypatch):
    # steal ticks grow during the first two samples, not the third: the third is kept
    steal = iter([0.0, 0.01, 0.01, 0.02, 0.02, 0.02])
    times = iter([9.0, 8.0, 1.0])
    monkeypatch.setattr(harness, "stolen_s", lambda: next(steal))
    monkeypatch.setattr(harness, "sample", lambda m, inner: next(times))
    before = harness.RETAKEN[0]
    assert harness.unstolen_sample(harness.Method(OURS, None, "numpy"), 1) == 1.0
    assert harness.RETAKEN[0] - before == 2


@pytest.mark.parametrize("n", [2, 3, 4, 7, 8])
def test_williams_design_balances_who_runs_just_before(n):
    rows = harness.williams(n)
    assert all(sorted(r) == list(range(n)) for r in rows)
    follows = {}
    for r in rows:
        for a, b in zip(r, r[1:]):
            follows[a, b] = follows.get(a, 0) + 1
    assert len(follows) == n * (n - 1) and len(set(follows.values())) == 1


def test_paired_times_alternate_the_order_of_the_arms(monkeypatch):
    """Whichever arm samples second in a pair reads faster (a fake machine where the second
    of each pair is 2x faster): alternating pairs give both arms the same quartile."""
    import timing
    position = [0]

    def fake_once(fn, inner=1):
        position[0] += 1
        return 1.0 if position[0] % 2 == 0 else 2.0
    monkeypatch.setattr(timing, "once", fake_once)
    monkeypatch.setattr(timing, "PAIRED_BUDGET_S", 0.0)
    a, b = timing.paired_times(lambda: None, repeats=4, cap_s=60.0)
    assert a == b and position[0] == 8            # 4 pairs: AB, BA, AB, BA


def test_paired_times_sample_a_fast_call_more_within_bounds(monkeypatch):
    import timing
    calls = [0]

    def fake_once(fn, inner=1):
        calls[0] += 1
        return 1e-4
    monkeypatch.setattr(timing, "once", fake_once)
    monkeypatch.setattr(timing, "PAIRED_BUDGET_S", 60.0)
    timing.paired_times(lambda: None, repeats=3, cap_s=60.0)
    assert calls[0] == 2 * timing.PAIRED_MAX      # the budget is never spent: the cap
