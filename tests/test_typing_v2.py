"""LANGUAGE.md v2's typing rules on the corpus (../shared/corpus/cases_v2.py TYPING): each
undeclared name gets the kind the rules give, the notes name every name read otherwise
than its spelling says, and the errors are raised where the rules say so."""

from __future__ import annotations

import pytest
from corpus_support import load_v2

import matrixcalculus as mc

cases, _ = load_v2()
TYPING = cases.TYPING
# cases whose feature is not built yet: rejected cleanly until then
PENDING: dict[str, str] = {}


def _kind(d: mc.Derivative, name: str) -> str:
    if name in d.variables:
        k = d.variables[name].kind
        return "matrix" if k == "symmetric" else k
    return {"dimension": "dimension", "pi": "constant"}[d.typed.constants[name]]


@pytest.mark.parametrize("case", TYPING, ids=[t["id"] for t in TYPING])
def test_typing_case(case):
    if case["id"] in PENDING:
        with pytest.raises(mc.MatrixCalculusError):
            mc.derivative(case["expr"], case["wrt"], vars=case.get("vars"))
        return
    if case["error"]:
        with pytest.raises(mc.MatrixCalculusError) as info:
            mc.derivative(case["expr"], case["wrt"], vars=case.get("vars"))
        assert case["error"] in str(info.value)
        return
    d = mc.derivative(case["expr"], case["wrt"], vars=case.get("vars"))
    assert {n: _kind(d, n) for n in case["expect"]} == case["expect"], d.typed.variables
    for name in case["note_expected"]:
        assert any(n.startswith(f"{name} ") for n in d.notes), (name, d.notes)
