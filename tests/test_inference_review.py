"""Review fixes to undeclared-name inference (issue 12): softmax narrows its argument, notes
for spread and scaling scalars, the wrt variable and rule 3, the search cap, `x^2` of a
vector, declared-unused as a DeclarationError, the `np.` hint."""

from __future__ import annotations

import pytest

import matrixcalculus as mc
from matrixcalculus.language import inference


def _kinds(d):
    return {n: v.kind for n, v in d.variables.items()}


def test_softmax_argument_is_a_vector():
    d = mc.derivative("-y'*log(softmax(theta))", "theta")
    assert _kinds(d)["theta"] == "vector"
    assert any(n.startswith("theta is read as a vector") for n in d.notes)


@pytest.mark.parametrize("expr, wrt, name, words", [
    ("0.5*sum(exp(s) + mu.^2 - 1 - s)", "mu", "mu", "added to every entry"),
    ("sum(exp(X*beta + alpha))", "beta", "beta", "multiplying the matrix X"),
    ("sum(exp(mu + sigma.*z))", "mu", "sigma", "multiplying z elementwise"),
    ("-y'*log(softmax(theta/tau))", "theta", "theta", "softmax of a scalar"),
])
def test_scalar_by_spelling_gets_a_note(expr, wrt, name, words):
    d = mc.derivative(expr, wrt)
    assert _kinds(d)[name] == "scalar"
    assert any(n.startswith(f"{name} is a scalar") and words in n for n in d.notes), d.notes


def test_the_reading_does_not_depend_on_the_wrt():
    """mc.expression(e) and mc.derivative(e, x) read e alike (found by long mode: `a + x`
    read x as a vector for the derivative wrt x and as a scalar for its value).  Rule 3
    makes x a scalar in `alpha*x + beta`, and the note says so."""
    d = mc.derivative("alpha*x + beta", "x")
    e = mc.expression("alpha*x + beta")
    assert _kinds(d)["x"] == "scalar" == e.variables["x"].kind
    assert any(n.startswith("x is read as a scalar") for n in d.notes), d.notes
    assert mc.derivative("sigmoid(u'*v + c + d + b)", "b").shape == ()
    d = mc.derivative("a + x", "x", vars={"a": "scalar"})
    assert d.variables["x"].kind == mc.expression("a + x", vars={"a": "scalar"}).variables[
        "x"].kind


@pytest.mark.parametrize("cap", [None, 2])
def test_search_cap_says_so(monkeypatch, cap):
    if cap is not None:                    # the readings cap, else the changes cap (3 of 5)
        monkeypatch.setattr(inference, "_MAX_READINGS", cap)
    with pytest.raises(mc.ShapeError) as info:
        mc.derivative("sum(a*b*c*d*e)", "a")
    msg = info.value.message
    assert msg.startswith("shape mismatch in a*b")
    assert "search" in msg and "stopped" in msg and "declare their types" in msg
    # an error the search covered fully says nothing of it
    with pytest.raises(mc.ShapeError) as info:
        mc.derivative("A*x + x", "x", vars={"A": "matrix(m, n)", "x": "vector(n)"})
    assert "search" not in info.value.message


@pytest.mark.parametrize("expr", ["sum(x^2)", "norm2(A*w - y)^2 + lam*sum(w^2)"])
def test_power_of_a_vector_by_spelling_is_an_error(expr):
    with pytest.raises(mc.ShapeError) as info:
        mc.derivative(expr, "x" if "x" in expr else "w")
    assert ".^2" in info.value.message and "'*" in info.value.message


def test_c_squared_stays_a_scalar_with_a_note():
    d = mc.derivative("c^2 + norm2(x)^2", "x")
    assert _kinds(d)["c"] == "scalar" and str(d) == "2*x"
    assert any(n.startswith("c is read as a scalar (the base of ^") and "c.^2" in n
               for n in d.notes)


def test_declared_unused_is_a_declaration_error():
    with pytest.raises(mc.DeclarationError, match="declared but not used"):
        mc.derivative("norm2(weight)^2", "weight", vars={"weights": "vector(n)"})


def test_np_hint_only_before_a_call():
    with pytest.raises(mc.ParseError) as info:
        mc.derivative("np.*x +", "x")
    assert "module" not in info.value.message
    with pytest.raises(mc.ParseError, match="without a module"):
        mc.derivative("np.exp(x) + 1", "x")
    assert str(mc.derivative("sum(np.*x + 1)", "x")) == "np"
