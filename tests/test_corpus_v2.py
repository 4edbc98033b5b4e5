"""The v2 acceptance corpus (../shared/corpus/cases_v2.py), run through the engine and
checked against its torch-autograd oracle, as tests/test_corpus.py does for v1.

Cases whose feature is not built yet are listed in PENDING by the issue that builds it;
they must still be rejected with a MatrixCalculusError (never a crash, never a wrong
number), and each one turns into a failure the day its feature arrives, so the list
cannot go stale.
"""

from __future__ import annotations

import numpy as np
import pytest
from corpus_support import load_v2, runner

import matrixcalculus as mc
from matrixcalculus.printers.text import token_count

cases, oracle = load_v2()
PUBLIC = cases.public()

# category -> the issue that builds it
PENDING_CATEGORIES: dict[str, str] = {
}
PENDING_IDS: dict[str, str] = {}
# in a pending category, but what the case checks (the derivative's numbers) works already;
# the feature still to come is named
BUILT_IDS: dict[str, str] = {}


# answers longer than the expected form, with the reason
LONGER: dict[str, str] = {
    # index answers are measured by their einsum text
    "v2-mha-Q": "the einsum text multiplies the two terms out and does not pull their "
                "common factors (G, K, P) back out, nor name the shared T (93 tokens, 77)",
    "v2-softmaxreg-ce-hess": "P.*sum(Y, 2) is written twice: where-names are given to "
                             "calls only (67 tokens, 65 expected)",
}


def _pending(case) -> str | None:
    if case["id"] in BUILT_IDS:
        return None
    return PENDING_IDS.get(case["id"]) or PENDING_CATEGORIES.get(case["category"])


BUILT = [c for c in PUBLIC if not _pending(c)]
PENDING = [c for c in PUBLIC if _pending(c)]


def _derive(case) -> mc.Derivative:
    wrt = case["wrt"]
    return mc.derivative(case["expr"], wrt, vars=case["vars"], order=case["order"])


@pytest.mark.parametrize("case", BUILT, ids=[c["id"] for c in BUILT])
def test_matches_oracle(case):
    d = _derive(case)
    ok, err, msg = oracle.check(case, d.evaluate)
    assert ok, f"{case['id']}: {msg}; answer {d}"


@pytest.mark.parametrize("case", BUILT, ids=[c["id"] for c in BUILT])
def test_passes_check_and_every_backend(case):
    """check() proves the answer, and the code of every backend gives the same numbers."""
    d = _derive(case)
    report = d.check(points=2, domains=case["domain"])
    assert report.ok, report
    for backend in ("numpy", "torch", "jax", "dask"):
        ok, err, msg = oracle.check(case, runner(d, backend))
        assert ok, f"{case['id']} in {backend}: {msg}\n{d.code(backend)}"


@pytest.mark.parametrize("case", BUILT, ids=[c["id"] for c in BUILT])
def test_printed_answer_parses_back_and_is_short(case):
    d = _derive(case)
    if not d.is_matrix_form:      # index notation: only tensors of order > 2
        assert len(d.shape) > 2 and str(d).startswith("D["), d
        # str(d) stays the D[...] form, which does not parse back; the text that does is
        # d.einsum() (the corpus writes such answers as einsum texts), so that one is
        # measured against `expected` (its numbers: tests/test_index_form.py)
        text = d.einsum()
        assert text is not None, d
        if case.get("expected_vec"):
            assert d.vec_form() is not None, d
            assert token_count(d.vec_form()) <= token_count(case["expected_vec"]), \
                f"{case['id']}: {d.vec_form()} is longer than {case['expected_vec']}"
        if case["id"] in LONGER:
            assert token_count(text) > token_count(case["expected"]), "remove it from LONGER"
            return
        assert token_count(text) <= token_count(case["expected"]), \
            f"{case['id']}: {text} is longer than {case['expected']}"
        return
    reparsed = mc.expression(str(d), vars=case["vars"])
    inputs = oracle.draw_inputs(case, 0)
    np.testing.assert_allclose(
        reparsed.evaluate(**{k: v for k, v in inputs.items() if k in reparsed.variables}),
        d.evaluate(**inputs), rtol=1e-9, atol=1e-12)
    if case["id"] in LONGER:
        assert token_count(str(d)) > token_count(case["expected"]), "remove it from LONGER"
        return
    assert token_count(str(d)) <= token_count(case["expected"]), \
        f"{case['id']}: {d} is longer than {case['expected']}"


@pytest.mark.parametrize("case", PENDING, ids=[c["id"] for c in PENDING])
def test_pending_cases_are_rejected_cleanly(case):
    try:
        d = _derive(case)
    except mc.MatrixCalculusError:
        return
    try:
        ok, _, msg = oracle.check(case, d.evaluate)
    except mc.MatrixCalculusError:
        return
    if "raised EvaluationError" in msg:      # e.g. `pi` read as a variable with no value
        return
    # a feature that arrived: take the case off PENDING (this failure says so)
    assert not ok, f"{case['id']} now works ({_pending(case)}): remove it from PENDING"
    pytest.fail(f"{case['id']}: answered with wrong numbers instead of an error: {msg}")
