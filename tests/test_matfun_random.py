"""Differential testing of matrix functions against torch autograd: random expressions
(tests/matfun_randexpr.py), each holding expm, logm, sqrtm or a Fréchet derivative dexpm,
dlogm, dsqrtm (also at a point that depends on the variables: higher Fréchet derivatives)
inside a trace, a norm, a quadratic form, a product, a t*A scaling, of symmetric (SPD) and
general arguments; derivatives of order 1 and 2, and mixed ones [x, y] of the smaller
expressions, all through randexpr.check_case (values, the printed answer parsed back, the
generated NumPy and PyTorch code, the unsimplified IR, the Hessian-vector product).

    pytest tests/test_matfun_random.py              25 examples, derandomized
    pytest tests/test_matfun_random.py --long -s    2,000 random examples, with a summary
"""

from __future__ import annotations

import collections
import contextlib
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matfun_randexpr import MatfunGenerator
from randexpr import check_counted

NORMAL_EXAMPLES = 25
LONG_EXAMPLES = 2_000
MAX_DEPTH = 3
SMALL = 16            # expressions of at most this many nodes are also checked at order 2
MIXED = 12            # ... and mixed [x, y]
# ... where the second derivative has at most this many entries: each is one Fréchet
# derivative of a 4n x 4n block matrix (along Jacobian axes), in the answer and the oracle
ENTRIES = 100
NORMAL_ENTRIES = 27  # (the normal suite's budget: its Hessians stay small)


def entries(case, wrt: tuple[str, ...]) -> int:
    """The number of entries of the derivative of case wrt the variables wrt."""
    out = math.prod(case.sizes[d] for d in case.type if d is not None)
    return out * math.prod(math.prod(case.shape(v)) for v in wrt)


def order_of(case, k: int, budget: int = ENTRIES) -> int:
    """Order 2 (mixed for some k) where cheap, else 1; sets case.mixed and case.order."""
    others = [v for v in case.kinds if v != case.wrt and not v.startswith("z_")]
    order = 1
    if others and k in (5, 6) and case.size <= MIXED:
        mixed = (case.wrt, others[case.seed % len(others)])
        if entries(case, mixed) <= budget:
            case.mixed, order = mixed, 2
    elif k < 5 and case.size <= SMALL and entries(case, (case.wrt,) * 2) <= budget:
        order = 2
    case.order = order
    return order


def _one_thread():
    """BLAS on one thread: the small matrices here lose more to a loaded machine's
    threads than they gain."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:         # (scikit-learn's dependency, of the test extras)
        return contextlib.nullcontext()
    return threadpool_limits(1)


@st.composite
def random_cases(draw):
    def choice(k: int) -> int:
        return draw(st.integers(0, k - 1)) if k > 1 else 0
    return MatfunGenerator(choice, MAX_DEPTH).case()


@pytest.mark.long
def test_matrix_function_derivatives_match_autograd(long_mode, long_examples):
    stats: collections.Counter = collections.Counter()
    seconds = None if long_mode else 4.0
    started = time.monotonic()
    wanted = (long_examples or LONG_EXAMPLES) if long_mode else NORMAL_EXAMPLES

    @settings(max_examples=wanted, deadline=None, derandomize=not long_mode, database=None,
              print_blob=True, suppress_health_check=list(HealthCheck))
    @given(random_cases(), st.integers(0, 9))
    def run(case, k):
        order = order_of(case, k, ENTRIES if long_mode else NORMAL_ENTRIES)
        check_counted(case, order, stats, seconds, points=1)

    try:
        with _one_thread():
            run()
    finally:
        total = sum(v for k, v in stats.items() if k.startswith("checked"))
        print(f"\nmatrix-function differential test: {total} random expressions checked "
              f"against autograd in {time.monotonic() - started:.0f} s; " +
              ", ".join(f"{k}: {v}" for k, v in sorted(stats.items())))
    assert total >= wanted * 0.9
    assert stats["checked at order 2"] and stats["checked at order 1"]


def test_every_form_is_drawn():
    """The generator draws each matrix-function form and each context around it."""
    import random
    drawn: set[str] = set()
    for seed in range(300):
        g = MatfunGenerator(random.Random(seed).randrange, MAX_DEPTH)
        g.case()
        drawn |= g.drawn
    assert drawn >= {f"matfun {k}" for k in range(12)} | {f"scalar {k}" for k in range(9)}
