"""Differential testing against torch autograd on random well-typed expressions.

Each example is one random tree (tests/randexpr.py) built twice: as text in the input
language, and as a torch function written directly from each operator's meaning.  The
engine's derivative (order 1; order 2 for small expressions, 3 for tiny scalar ones; for
small ones also the mixed derivative wrt two different variables, [x, y], or [x, y, x] for
tiny ones) must match torch.autograd at random points honoring the domains; the printed
answer must parse back to the same values; the simplifier must not change values (the
unsimplified derivative IR, run through the NumPy code generator, gives the same numbers).

    pytest tests/test_differential.py            300 examples, derandomized (a few seconds)
    pytest tests/test_differential.py --long -s  20,000 random examples, with a summary
"""

from __future__ import annotations

import collections
import re
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from randexpr import REJECTED, SCALAR, Generator, check_counted, check_rejected

import matrixcalculus as mc
from matrixcalculus.limits import deadline

NORMAL_EXAMPLES = 300
LONG_EXAMPLES = 20_000
MAX_DEPTH = 6
SMALL = 12            # expressions of at most this many nodes are also checked at order 2
TINY = 6              # scalar expressions of at most this many nodes also at order 3


@st.composite
def random_cases(draw, max_depth: int = MAX_DEPTH):
    """A random case: every choice of the generator is one hypothesis draw (so failures
    shrink towards leaves and the first options)."""
    def choice(k: int) -> int:
        return draw(st.integers(0, k - 1)) if k > 1 else 0
    return Generator(choice, max_depth).case()


def _settings(long_mode: bool, normal: int, long: int):
    return settings(max_examples=long if long_mode else normal, deadline=None,
                    derandomize=not long_mode, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


@pytest.mark.long
def test_derivatives_match_autograd(long_mode, long_examples):
    stats: collections.Counter = collections.Counter()
    # the normal suite bounds each derivation tightly (a slow one is rejected, not failed);
    # long mode uses the default limit and counts the derivations that hit it
    seconds = None if long_mode else 2.0
    started = time.monotonic()

    @_settings(long_mode, NORMAL_EXAMPLES, long_examples or LONG_EXAMPLES)
    @given(random_cases(), st.integers(0, 9))
    def run(case, k):
        # the second variable of a mixed derivative: another one the expression uses
        others = [v for v in case.kinds if v != case.wrt and not v.startswith("z_")]
        if k == 0 and case.size <= TINY and case.type == SCALAR:
            order = 3
        elif others and k in (1, 3, 6) and case.size <= SMALL:
            other = others[case.seed % len(others)]
            # order 3 (nested autograd) only of tiny scalar expressions, as above
            tiny = case.size <= TINY and case.type == SCALAR
            case.mixed = (case.wrt, other, case.wrt) if k == 1 and tiny else (case.wrt, other)
            order = len(case.mixed)
        else:
            order = 2 if k < 6 and case.size <= SMALL else 1
        case.order = order
        check_counted(case, order, stats, seconds, points=2 if long_mode else 1)

    try:
        run()
    finally:
        total = sum(v for k, v in stats.items() if k.startswith("checked"))
        print(f"\ndifferential test: {total} random expressions checked against autograd "
              f"in {time.monotonic() - started:.0f} s; " +
              ", ".join(f"{k}: {v}" for k, v in sorted(stats.items())))
    assert total >= ((long_examples or LONG_EXAMPLES) if long_mode else NORMAL_EXAMPLES) * 0.9


@pytest.mark.long
def test_every_production_is_reachable():
    """The generator's vocabulary covers every operator and function of the language, and
    every axis form, expansion and rejected form (Generator.produced)."""
    import random

    from matrixcalculus.ops import ARITY
    texts = []
    produced: set[str] = set()
    for seed in range(400):
        g = Generator(random.Random(seed).randrange, MAX_DEPTH)
        texts.append(g.case().text)
        produced |= g.produced
    for seed in range(200):
        g = Generator(random.Random(seed).randrange, MAX_DEPTH)
        g.rejected_case()
        produced |= g.produced
    # einsum's operands are tensors: tests/tensor_randexpr.py draws it (test_tensors.py)
    from tensor_randexpr import TensorGenerator
    texts += [TensorGenerator(seed).case().text for seed in range(50)]
    joined = " ".join(texts)
    for f in ARITY:
        assert f + "(" in joined, f
    for op in ["+", "-", "*", "/", ".*", "./", "^", ".^", "'", " where "]:
        assert op in joined, op
    assert re.search(r"\bmean\((?:[^(),]|\((?:[^()]|\([^()]*\))*\))*\)", joined), "mean(x)"
    wanted = {f"{f}(X, {k})" for f in ("sum", "mean", "logsumexp", "softmax") for k in (1, 2)}
    wanted |= {f"{f}(x, k)" for f in ("sum", "mean", "logsumexp", "softmax")}
    wanted |= {f"expand {side} {op}" for side in ("row", "column")
               for op in ("+", "-", ".*", "./", ".^", "max", "min")}
    wanted |= {"dim-value", "reduced-elementwise", "reduced-scaling", "reduced-combination",
               "reduced-name"} | {f"rejected {kind}" for kind in REJECTED}
    assert not wanted - produced, sorted(wanted - produced)


@pytest.mark.long
def test_rejected_forms_raise_one_error(long_mode, long_examples):
    """A plain column beside a matrix, sum(x, 2) of a column, softmax of a matrix without
    k, sum(X, 3), a row of another length ...: inside well-typed contexts, each is one
    MatrixCalculusError with its caret on the wrong part, from expression() and
    derivative() alike."""
    kinds: collections.Counter = collections.Counter()

    @st.composite
    def rejected(draw):
        def choice(k: int) -> int:
            return draw(st.integers(0, k - 1)) if k > 1 else 0
        return Generator(choice, MAX_DEPTH).rejected_case()

    @_settings(long_mode, NORMAL_EXAMPLES, (long_examples or LONG_EXAMPLES) // 4)
    @given(rejected())
    def run(made):
        case, kind, span = made
        try:
            with deadline(None if long_mode else 2.0):
                check_rejected(case, span)
        except mc.LimitError:
            assume(False)
        except BaseException:
            print(f"\nFAILED ({kind}): {case}")
            raise
        kinds[kind] += 1

    run()
    print(f"\nrejected forms: {sum(kinds.values())} checked; {dict(sorted(kinds.items()))}")
    assert set(kinds) == set(REJECTED)
