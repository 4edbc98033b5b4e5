"""A bounded loopback load test of `matrixcalculus serve` (bench/load_test.py, in small):
300 requests from 8 concurrent clients, valid, invalid and heavy ones, against a real server
started on a free port.  The full run (2,000 requests) is `python bench/load_test.py`, its
figures in bench/LOAD_RESULTS.md.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[1]


def _load_test_module():
    spec = importlib.util.spec_from_file_location("mc_load_test", ROOT / "bench" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module            # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lt = _load_test_module()


def test_the_mix_is_fixed_and_covers_every_case():
    a, b = lt.make_requests(300, seed=0, mix=MIX), lt.make_requests(300, seed=0, mix=MIX)
    assert a == b and len(a) == 300
    names = {c.name for c in a}
    for cls, pool in (("invalid", lt._invalid_cases()), ("heavy", lt._heavy_cases())):
        assert {c.name for c in pool} <= names, cls
    counts = {cls: sum(c.cls == cls for c in a) for cls in MIX}
    assert counts == {cls: round(300 * f) for cls, f in MIX.items()}


def test_judge():
    case = {cls: lt.Case(cls, "x") for cls in ("valid", "invalid", "heavy")}

    def verdict(cls, status, error="e", message="m"):
        return lt.judge(lt.Result(case[cls], status, 0.1, error, message))

    assert verdict("valid", 200) == "ok" and verdict("valid", 400) != "ok"
    assert verdict("invalid", 400) == "ok" and verdict("invalid", 422) == "ok"
    assert verdict("invalid", 400, None, None) != "ok"       # 4xx without a message
    assert verdict("invalid", 200) != "ok" and verdict("invalid", 500) != "ok"
    assert verdict("heavy", 503, "timeout") == "ok" and verdict("heavy", 503, "busy") == "ok"
    assert verdict("heavy", 400) == "ok" and verdict("heavy", 200) == "ok"
    assert verdict("heavy", 500) != "ok" and verdict("heavy", 503, "worker lost") != "ok"
    assert verdict("valid", 503, "timeout") != "ok"
    assert verdict("valid", None, "ConnectionResetError") != "ok"
    assert lt.percentile([3, 1, 2, 4], 50) == 2 and lt.percentile([3, 1, 2, 4], 99) == 4


# all invalid and heavy cases appear at least once, under a 2 s time limit (the engine stops
# most heavy ones itself with a 400; a 503 timeout and the worker's replacement are tested
# deterministically in test_web.py::test_timeout_answers_503_and_the_server_recovers)
MIX = {"valid": 0.74, "invalid": 0.20, "heavy": 0.06}


def test_load():
    s = lt.run_load(requests=300, clients=8, seed=0, server_timeout=2.0, mix=MIX)
    report = lt.report(s)
    print(report)
    assert s["requests"] == 300, report
    assert s["unexpected"] == 0, report                       # no 5xx, no dropped connection
    assert s["problems"] == [], report
    assert s["by_class"]["valid"] == {"200": 222}, report
    invalid = s["by_class"]["invalid"]
    assert sum(invalid.values()) == 60 and all(k.startswith("4") for k in invalid), report
    heavy = s["by_class"]["heavy"]
    assert set(heavy) <= {"200", "400", "413", "503 timeout", "503 busy"}, report
    assert heavy.get("400", 0) >= 1, report                    # an engine limit was reached
    srv, mem = s["server"], s["memory_mib"]
    assert srv["bound_to"] == ["127.0.0.1"], report            # the default address
    assert srv["alive_after"] and srv["valid_request_after"] == 200, report
    assert srv["worker_restarts"] <= s["timeouts_503"], report  # no worker died otherwise
    assert mem["samples"] >= 10, report
    assert 0 < mem["peak_total_rss"] < 2048, report            # server + workers, MiB
    assert mem["server_rss_end"] < 1.5 * mem["server_rss_start"], report
