"""Declarations that state a fact (LANGUAGE.md "Variables and their types"): `P: spd(n)`,
`y: simplex(n)`, `Y: simplex(n, c)`: parsed, typed, shown as declared, drawn in their
domain; the CLI and the web page's jobs take them."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.cli import main
from matrixcalculus.language.declarations import parse_declaration, parse_var_option
from matrixcalculus.points import dimension_sizes, draw_inputs, parse_domains
from matrixcalculus.variables import variables_line
from matrixcalculus.web import jobs

# LANGUAGE.md's declarations, as written there
LANGUAGE_MD = {"P": "spd(n)", "y": "simplex(n)", "Y": "simplex(n, c)"}


@pytest.mark.parametrize("text, kind, dims, typed_kind", [
    ("spd(n)", "spd", ("n",), "symmetric"),
    ("spd(3)", "spd", (3,), "symmetric"),
    ("simplex(n)", "simplex", ("n",), "vector"),
    ("simplex(n, c)", "simplex", ("n", "c"), "matrix"),
    (" simplex( m ,4 ) ", "simplex", ("m", 4), "matrix"),
])
def test_parse(text, kind, dims, typed_kind):
    d = parse_declaration(text, "v")
    assert (d.kind, d.dims, d.typed_kind, d.fact) == (kind, dims, typed_kind, kind)
    assert parse_declaration(str(d)) == d            # its text parses back
    assert parse_declaration("symmetric(n)").fact == ""


def test_var_option():
    assert parse_var_option("y: simplex(n)") == ("y", parse_declaration("simplex(n)"))
    assert parse_var_option("P:spd(k)")[1].typed_kind == "symmetric"


@pytest.mark.parametrize("text, message", [
    ("spd(m, n)", "spd takes one dimension for x, got 2 in 'spd(m, n)'"),
    ("spd", "spd takes one dimension for x, got 0 in 'spd'"),
    ("simplex()", "simplex takes one or two dimensions for x, got 0 in 'simplex()'"),
    ("simplex(n, m, k)", "simplex takes one or two dimensions for x, got 3 in 'simplex(n, m, k)'"),
    ("simplex(n", "missing ')' in the type for x"),
    ("spd(n))", "unbalanced ')' in the type for x"),
    ("simplex(0)", "dimension 0 for x must be a positive integer"),
    ("prob(n)", "unknown type 'prob(n)' for x: expected scalar, vector(n), matrix(m,n), "
                "symmetric(n), tensor(n,d,h), spd(n), simplex(n) or simplex(n,c)"),
])
def test_errors(text, message):
    with pytest.raises(mc.DeclarationError) as e:
        mc.derivative("sum(x)", "x", vars={"x": text})
    assert e.value.message == message


def test_typed_and_listed_as_declared():
    d = mc.derivative("logdet(P) + sum(Y*w) + y'*P*y", "P",
                      vars={**LANGUAGE_MD, "w": "vector(c)"})
    v = d.variables
    assert (v["P"].kind, v["P"].shape, v["P"].fact) == ("symmetric", ("n", "n"), "spd")
    assert (v["y"].kind, v["y"].shape, v["y"].fact) == ("vector", ("n",), "simplex")
    assert (v["Y"].kind, v["Y"].shape, v["Y"].fact) == ("matrix", ("n", "c"), "simplex")
    line = variables_line(v)
    for text in ("P: spd(n) (declared)", "y: simplex(n) (declared)",
                 "Y: simplex(n, c) (declared)", "w: vector(c) (declared)"):
        assert text in line
    assert mc.derivative("x'*S*x", "x", vars={"S": "symmetric(n)"}).variables["S"].fact == ""


@pytest.mark.parametrize("expr, order", [
    ("logdet(P)", 1), ("tr(inv(P)*A)", 1), ("tr(inv(P)*A)", 2), ("x'*P*x", 1),
    ("logdet(P) + tr(inv(P)*C)", 1), ("logdet(P) + tr(inv(P)*C)", 2), ("det(P)", 2),
    ("tr(sqrtm(P))", 1), ("tr(sqrtm(P))", 2), ("tr(logm(P)*A)", 1), ("tr(P*P)", 2),
])
def test_spd_derivatives_as_for_symmetric(expr, order):
    spd = mc.derivative(expr, "P", vars={"P": "spd(n)"}, order=order)
    sym = mc.derivative(expr, "P", vars={"P": "symmetric(n)"}, order=order)
    assert str(spd) == str(sym)
    assert spd.check().ok


def test_spd_drawn_positive_definite_without_a_note():
    d = mc.derivative("tr(logm(P)) + logdet(P)", "P", vars={"P": "spd(n)"})
    r = d.check()
    assert r.ok and "outside the expression's domain" not in r.message, r.message
    assert not [n for n in r.notes if "drawn symmetric positive definite" in n]
    # a symmetric argument of logm is drawn spd as well, and says so
    r = mc.derivative("tr(logm(S))", "S", vars={"S": "symmetric(n)"}).check()
    assert r.ok and any("S was drawn symmetric positive definite" in n for n in r.notes)


def test_draws_in_domain():
    d = mc.derivative("logdet(P) + y'*P*y + sum(Y*w)", "P",
                      vars={**LANGUAGE_MD, "w": "vector(c)"})
    doms = parse_domains(None, d.variables)
    assert doms == {"P": "spd", "y": "prob", "Y": "prob-rows"}
    # an explicit domain overrides a declared one
    assert parse_domains({"y": "positive"}, d.variables)["y"] == "positive"
    sizes = dimension_sizes(d.variables)
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = draw_inputs(d.variables, sizes, doms, rng)
        assert np.allclose(a["P"], a["P"].T) and np.linalg.eigvalsh(a["P"]).min() > 0
        assert a["y"].min() >= 0 and np.isclose(a["y"].sum(), 1)
        assert a["Y"].shape == (sizes["n"], sizes["c"]) and a["Y"].min() >= 0
        assert np.allclose(a["Y"].sum(axis=1), 1)


def test_evaluate_does_not_validate_facts():
    e = mc.expression("sum(y) + sum(Y, 2)", vars={"y": "simplex(n)", "Y": "simplex(n, c)"})
    # the facts are used, not checked: sum(y) is 1 and sum(Y, 2) ones, whatever the arrays
    np.testing.assert_allclose(e.evaluate(y=np.array([1.0, 2, 3]), Y=np.ones((3, 2))), 2.0)
    p = mc.expression("tr(P)", vars={"P": "spd(n)"})
    assert p.evaluate(P=-np.eye(2)) == -2.0           # not tested for positive definiteness
    with pytest.raises(mc.EvaluationError, match="P is declared symmetric"):
        p.evaluate(P=np.array([[1.0, 2], [0, 1]]))


def test_cli(capsys):
    rc = main(["-sum(y.*log(softmax(z)))", "--wrt", "z", "--var", "y: simplex(n)", "--check"])
    out, err = capsys.readouterr()
    assert rc == 0 and err == "", err
    assert "  softmax(z) - y" in out.splitlines()
    assert "y: simplex(n) (declared)" in out and "verified" in out
    rc = main(["logdet(P)", "--wrt", "P", "--var", "P: spd(n)", "--check"])
    out, _ = capsys.readouterr()
    assert rc == 0 and "  inv(P)" in out.splitlines() and "P: spd(n) (declared)" in out
    assert "drawn symmetric positive definite" not in out


def test_web_jobs():
    body = jobs.variables({"expr": "-sum(Y.*log(softmax(X*W, 2)))",
                           "vars": {"Y": "simplex(n,c)", "P": "spd(n)"}})["body"]
    y = next(v for v in body["variables"] if v["name"] == "Y")
    assert (y["kind"], y["shape"], y["declaration"]) == ("simplex", ["n", "c"], "simplex(n,c)")
    out = jobs.derive({"expr": "-sum(Y.*log(softmax(X*W, 2)))", "wrt": "W",
                       "vars": {"Y": "simplex(n,c)"}})
    assert out.get("status", 200) == 200, out
    assert out["body"]["text"] == "X'*(softmax(X*W, 2) - Y)"
    body = jobs.variables({"expr": "logdet(P)", "vars": {"P": "spd(k)"}})["body"]
    assert body["variables"][0]["kind"] == "spd"
    assert body["variables"][0]["declaration"] == "spd(k)"
