"""The chain-rule derivation (steps.py): content of the steps for the reference post's
examples, checked numerically where the exact text may vary, and every public corpus
case shown without error, its steps ending in the answer."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_support import load

import matrixcalculus as mc
from matrixcalculus.steps import Step, Steps, derivation_steps

cases, oracle = load()
PUBLIC = cases.public()
BY_ID = {c["id"]: c for c in PUBLIC}


def _derive(case) -> mc.Derivative:
    return mc.derivative(case["expr"], case["wrt"], vars=case["vars"], order=case["order"])


def _value(text: str, case, seed: int = 0, extra: dict | None = None,
           extra_vars: dict | None = None) -> np.ndarray:
    """A printed text evaluated at the case's random point."""
    e = mc.expression(text, vars={**case["vars"], **(extra_vars or {})})
    arrays = {**oracle.draw_inputs(case, seed), **(extra or {})}
    return e.evaluate(**{k: v for k, v in arrays.items() if k in e.variables})


def _same(text: str, expected: str, case) -> None:
    for seed in range(2):
        np.testing.assert_allclose(_value(text, case, seed), _value(expected, case, seed),
                                   rtol=1e-9, atol=1e-12, err_msg=f"{text} vs {expected}")


def _step(steps: Steps, expr: str, kind: str = "chain") -> Step:
    found = [s for s in steps if s.expr_text == expr and s.kind == kind]
    assert found, f"no {kind} step for {expr}:\n{steps.text()}"
    return found[0]


def _declaration(shape: str) -> str:
    if shape == "scalar":
        return "scalar"
    dims = shape.split(" x ")
    return f"vector({dims[0]})" if len(dims) == 1 else f"matrix({dims[0]},{dims[1]})"


def _check_chain(steps: Steps, case) -> None:
    """Every chain step's rule, applied to the value of the expression it goes through
    (G = 1 at the top of a scalar f), gives the step's value."""
    values = {steps.expr_text: ("1", "scalar")}
    for s in steps:
        if s.kind != "chain":
            continue
        g_text, g_shape = values.get(s.through_text, ("", "1 x "))
        if "1 x " not in s.value_shape_text + g_shape:      # no row vectors in the language
            for seed in range(2):
                g = _value(g_text, case, seed)
                got = _value(s.rule_text, case, seed, {"G": g}, {"G": _declaration(g_shape)})
                np.testing.assert_allclose(got, _value(s.value_text, case, seed), rtol=1e-9,
                                           atol=1e-12, err_msg=f"{s}")
        values[s.expr_text] = (s.value_text, s.value_shape_text)


def _ends_in_answer(steps: Steps, d: mc.Derivative) -> None:
    assert steps[-1].value_text == str(d)
    assert steps[-1].value_latex == d.latex()
    text, tex = steps.text(), steps.latex()
    assert str(d) in text.splitlines()[-2]
    assert tex.startswith("\\begin{aligned}") and tex.endswith("\\end{aligned}")
    assert tex.count("\\\\") == len(steps)        # one row per step, after f's own


# ---------------------------------------------------------------- the reference post
def test_sum_AX():
    case = BY_ID["seed-sum-AX"]
    d = _derive(case)
    steps = derivation_steps(d)
    ax = _step(steps, "A*X")
    assert (ax.value_text, ax.shape_text, ax.value_shape_text) == ("ones(m, k)", "m x k", "m x k")
    assert ax.through_text == "sum(A*X)"
    x = _step(steps, "X")
    assert x.through_text == "A*X" and "A'" in x.rule_text and x.rule_text == "A'*G"
    assert (x.value_text, x.value_shape_text) == ("A'*ones(m, k)", "n x k")
    assert len(steps) == 2 and steps[-1] is x
    _ends_in_answer(steps, d)
    _check_chain(steps, case)
    text = steps.text()
    assert "df/d(A*X) = ones(m, k)   (m x k)" in text
    assert "through A*X: G -> A'*G" in text
    assert "df/dX = A'*ones(m, k)   (n x k)" in text
    assert r"A^{\top} G" in steps.latex()


S = "sigmoid(u'*v + b + c + d)"


def test_sigmoid():
    case = BY_ID["seed-mf-sigmoid-u"]
    d = _derive(case)
    steps = derivation_steps(d)
    z = _step(steps, "u'*v + c + d + b")          # the sigmoid's argument
    assert z.through_text == "sigmoid(u'*v + c + d + b)" and z.shape_text == "scalar"
    _same(z.value_text, f"{S}*(1 - {S})", case)
    u = _step(steps, "u")
    assert u.through_text == "u'*v + c + d + b" and u.rule_text == "G*v"
    assert u.value_shape_text == "n"
    _same(u.value_text, f"{S}*(1 - {S})*v", case)
    assert [s.expr_text for s in steps] == ["u'*v + c + d + b", "u"]   # `+` folded
    _ends_in_answer(steps, d)
    _check_chain(steps, case)


def test_neg_log_sigmoid():
    case = BY_ID["seed-mf-neglogsig-u"]
    d = _derive(case)
    steps = derivation_steps(d)
    inner = "sigmoid(u'*v + c + d + b)"
    assert _step(steps, f"log({inner})").value_text == "-1"
    _same(_step(steps, inner).value_text, f"-1/{S}", case)
    _same(_step(steps, "u'*v + c + d + b").value_text, f"{S} - 1", case)
    _same(_step(steps, "u").value_text, f"({S} - 1)*v", case)
    _ends_in_answer(steps, d)
    _check_chain(steps, case)


def test_neg_log_one_minus_sigmoid():
    case = BY_ID["seed-mf-neglog1msig-u"]
    d = _derive(case)
    steps = derivation_steps(d)
    inner = "sigmoid(u'*v + c + d + b)"
    _same(_step(steps, f"1 - {inner}").value_text, f"-1/(1 - {S})", case)
    one_minus = _step(steps, inner)
    assert one_minus.rule_text == "-G"
    _same(one_minus.value_text, f"1/(1 - {S})", case)
    _same(_step(steps, "u'*v + c + d + b").value_text, S, case)
    _same(_step(steps, "u").value_text, f"{S}*v", case)
    _ends_in_answer(steps, d)
    _check_chain(steps, case)


@pytest.mark.parametrize("wrt, scale", [("w", "*x"), ("b", "")])
def test_cross_entropy(wrt, scale):
    case = BY_ID[f"seed-xent-{wrt}"]
    d = _derive(case)
    steps = derivation_steps(d)
    s = "sigmoid(w'*x + b)"
    assert steps.occurrences == 2
    first, second = [t for t in steps if t.occurrence]
    assert (first.occurrence, second.occurrence) == (1, 2)
    _same(first.value_text, f"-y*(1 - {s}){scale}", case)          # through log(s)
    _same(second.value_text, f"(1 - y)*{s}{scale}", case)          # through log(1 - s)
    total = steps[-1]
    assert total.kind == "sum" and total.expr_text == wrt
    _same(total.value_text, f"({s} - y){scale}", case)
    _same(_step(steps, f"log({s})").value_text, "-y", case)
    _same(_step(steps, f"log(1 - {s})").value_text, "y - 1", case)
    _ends_in_answer(steps, d)
    _check_chain(steps, case)
    assert "sum of the contributions of the 2 occurrences" in steps.text()


# ---------------------------------------------------------------- other shapes of derivation
def test_two_occurrences():
    case = BY_ID["cb-quad-xAx"]
    d = _derive(case)
    steps = derivation_steps(d)
    row = _step(steps, "x'*A")
    assert (row.shape_text, row.value_text, row.value_shape_text) == ("1 x n", "x'", "1 x n")
    occ = [s for s in steps if s.occurrence]
    assert [s.value_text for s in occ] == ["A*x", "A'*x"]
    assert occ[0].through_text == "x'*A" and occ[0].rule_text == "A*G'"
    assert occ[1].through_text == "x'*A*x"
    assert steps[-1].kind == "sum" and steps[-1].value_text == "(A + A')*x"
    _same(steps[-1].rule_text, "A*x + A'*x", case)
    _ends_in_answer(steps, d)
    _check_chain(steps, case)


def test_hessian():
    case = BY_ID["hess-xAx"]
    d = _derive(case)
    steps = derivation_steps(d)
    again = steps[-1]
    assert again.kind == "again" and again.value_text == "A + A'"
    assert again.value_shape_text == "n x n"
    assert steps[-2].value_text == "(A + A')*x" and again.expr_text == "(A + A')*x"
    assert "again" in again.rule_text and "d^2f/dx^2 = A + A'" in steps.text()
    assert r"\partial^{2} f" in steps.latex()
    _ends_in_answer(steps, d)


def test_hessian_index_notation():
    case = BY_ID["hess-mf-U"]
    d = _derive(case)
    steps = derivation_steps(d)
    assert steps[-2].value_text == str(mc.derivative(case["expr"], "U", vars=case["vars"]))
    assert steps[-1].value_text.startswith("D[i,j,l,x] = ")   # k is a dimension
    _ends_in_answer(steps, d)


def test_jacobian():
    case = BY_ID["jac-sigmoid-Ax"]
    d = _derive(case)
    steps = derivation_steps(d)
    ax = _step(steps, "A*x")
    assert (ax.shape_text, ax.value_shape_text) == ("m", "m x m")
    assert "(m x m; A*x is m)" in steps.text()
    s = "sigmoid(A*x)"
    _same(ax.value_text, f"diag({s}.*(1 - {s}))", case)
    x = _step(steps, "x")
    assert x.rule_text == "A'*G" and x.value_shape_text == "m x n"
    _same(x.value_text, f"diag({s}.*(1 - {s}))*A", case)
    _ends_in_answer(steps, d)


def test_jacobian_index_notation():
    d = mc.derivative("A*X", "X", vars={"A": "matrix(m,n)", "X": "matrix(n,k)"})
    steps = derivation_steps(d)
    assert len(steps) == 1 and steps[0].rule_text == "A'*G"
    assert steps[0].value_text.startswith("D[") and steps[0].value_shape_text == "m x k x n x k"
    _ends_in_answer(steps, d)


def test_symmetric_variable():
    d = mc.derivative("tr(A*S)", "S", vars={"A": "matrix(n,n)", "S": "symmetric(n)"})
    steps = derivation_steps(d)
    assert _step(steps, "S").value_text == "A'"
    assert steps[-1].kind == "symmetric" and steps[-1].value_text == str(d)


def test_where_input_and_edge_cases():
    d = mc.derivative("s*v where s = sigmoid(u'*v + c)", "u", vars={"c": "scalar"})
    steps = derivation_steps(d)
    assert steps.expr_text == "s*v where s = sigmoid(u'*v + c)"
    _step(steps, "u'*v + c")
    _ends_in_answer(steps, d)
    same = derivation_steps(mc.derivative("x", "x"))
    assert len(same) == 1 and same[0].value_text == "eye(n)" and same[0].kind == "result"
    absent = derivation_steps(mc.derivative("a'*b + 3", "x", vars={"x": "vector(n)"}))
    assert absent[-1].kind == "result" and "does not depend" in absent[-1].rule_text


# ---------------------------------------------------------------- the whole corpus
@pytest.mark.parametrize("case", PUBLIC, ids=[c["id"] for c in PUBLIC])
def test_corpus_steps(case):
    d = _derive(case)
    steps = derivation_steps(d)
    assert steps.text() and steps.latex()
    _ends_in_answer(steps, d)
    occ = [s for s in steps if s.occurrence or (s.kind == "chain" and s.expr_text == d.wrt)]
    symmetric = "symmetric" in case["vars"].get(d.wrt, "")
    if d.order == 1 and occ and not symmetric and not any("D[" in s.value_text for s in occ):
        # the occurrences' contributions add up to the answer
        for seed in range(2):
            total = sum(_value(s.value_text, case, seed) for s in occ)
            np.testing.assert_allclose(total, d.evaluate(**oracle.draw_inputs(case, seed)),
                                       rtol=1e-8, atol=1e-10, err_msg=steps.text())
    if d.expression_ir.rank == 0:
        _check_chain(steps, case)
