"""check_claim(): a hand-derived claim compared with the derivative and diagnosed
(equal, transposed layout, off by a constant factor, wrong shape, wrong); the CLI's
`matrixcalculus check`."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.api import check_claim
from matrixcalculus.claims import KINDS, ClaimResult, compare
from matrixcalculus.cli import main

SIG = "sigmoid(u'*v + c)"
XENT = "-(y*log(sigmoid(w'*x+b)) + (1-y)*log(1-sigmoid(w'*x+b)))"
XENT_VARS = {"b": "scalar", "y": "scalar"}
SUMAX = {"A": "matrix(m,n)", "X": "matrix(n,k)"}
SYM = {"S": "symmetric(n)"}
SPD = {"S": "spd"}

# (expression, wrt, claim, kind, factor, vars, order, domains)
TABLE = [
    # --- correct, including forms a textbook writes differently
    (SIG, "u", "sigmoid(u'*v+c)*(1-sigmoid(u'*v+c))*v", "equal", None, None, 1, None),
    (SIG, "u", "s*(1-s)*v where s = sigmoid(u'*v + c)", "equal", None, None, 1, None),
    (SIG, "u", "exp(-(u'*v+c))/(1+exp(-(u'*v+c)))^2*v", "equal", None, None, 1, None),
    ("x'*A*x", "x", "(A + A')*x", "equal", None, None, 1, None),
    ("x'*A*x", "x", "A*x + A'*x", "equal", None, None, 1, None),
    ("x'*A*x", "x", "A' + A", "equal", None, None, 2, None),
    ("a'*X*b", "X", "a*b'", "equal", None, None, 1, None),
    ("x'*x", "x", "x + x", "equal", None, None, 1, None),
    ("x'*x", "x", "2*eye(n)", "equal", None, None, 2, None),
    ("sum(A*X)", "X", "A'*ones(m,k)", "equal", None, SUMAX, 1, None),
    ("A*x", "x", "A", "equal", None, {"A": "matrix(m,n)"}, 1, None),
    ("tr(X'*A*X)", "X", "A*X + A'*X", "equal", None, None, 1, None),
    ("logdet(S)", "S", "inv(S)", "equal", None, SYM, 1, SPD),
    ("tr(S*A)", "S", "(A + A')/2", "equal", None, SYM, 1, None),
    ("logsumexp(x)", "x", "exp(x)/sum(exp(x))", "equal", None, None, 1, None),
    ("softmax(x)", "x", "diag(s) - s*s' where s = softmax(x)", "equal", None, None, 1, None),
    ("det(X)", "X", "det(X)*inv(X)'", "equal", None, None, 1, None),
    (XENT, "w", "(sigmoid(w'*x+b) - y)*x", "equal", None, XENT_VARS, 1, None),
    (XENT, "b", "sigmoid(w'*x+b) - y", "equal", None, XENT_VARS, 1, None),
    ("norm2(x)", "x", "x/norm2(x)", "equal", None, None, 1, None),
    # --- transposed: numerator vs. denominator layout
    ("a'*X*b", "X", "b*a'", "transposed", None, None, 1, None),
    ("A*x", "x", "A'", "transposed", None, {"A": "matrix(m,n)"}, 1, None),
    ("sum(A*X)", "X", "ones(k,m)*A", "transposed", None, SUMAX, 1, None),
    ("tr(A*X)", "X", "A", "transposed", None, {"A": "matrix(n,m)", "X": "matrix(m,n)"}, 1,
     None),
    ("det(X)", "X", "det(X)*inv(X)", "transposed", None, None, 1, None),
    ("w'*x", "w", "x'", "transposed", None, None, 1, None),             # a row vector
    ("x'*A*x", "x", "x'*(A + A')", "transposed", None, None, 1, None),
    ("a'*X*b", "X", "-b*a'", "transposed", -1.0, None, 1, None),       # and the sign
    # --- off by a constant factor
    ("x'*x", "x", "x", "scaled", 0.5, None, 1, None),                   # a missing 2
    ("x'*x", "x", "-2*x", "scaled", -1.0, None, 1, None),               # the sign
    ("x'*x", "x", "4*x", "scaled", 2.0, None, 1, None),
    ("x'*A*x", "x", "(A + A')/2", "scaled", 0.5, None, 2, None),
    ("exp(x'*x)", "x", "exp(x'*x)*x", "scaled", 0.5, None, 1, None),
    ("logdet(S)", "S", "-inv(S)", "scaled", -1.0, SYM, 1, SPD),
    ("-log(sigmoid(w'*x + b))", "w", "(1 - sigmoid(w'*x + b))*x", "scaled", -1.0,
     {"b": "scalar"}, 1, None),
    ("tr(X'*X)", "X", "X", "scaled", 0.5, None, 1, None),
    ("x'*x", "x", "x/3", "scaled", 1 / 6, None, 1, None),
    # --- the wrong shape
    ("x'*x", "x", "x*x'", "shape", None, None, 1, None),                # matrix vs. vector
    ("x'*A*x", "x", "A + A'", "shape", None, None, 1, None),
    ("a'*X*b", "X", "a", "shape", None, None, 1, None),
    (SIG, "c", "v", "shape", None, None, 1, None),                      # vector vs. scalar
    ("x'*A*x", "x", "(A + A')*x", "shape", None, None, 2, None),
    ("inv(X)", "X", "-inv(X)", "shape", None, None, 1, {"X": "invertible"}),
    # --- wrong
    ("x'*A*x", "x", "2*A*x", "wrong", None, None, 1, None),             # A taken symmetric
    (SIG, "u", "s*v where s = sigmoid(u'*v + c)", "wrong", None, None, 1, None),
    ("a'*X*b", "X", "X", "wrong", None, None, 1, None),
    ("logdet(S)", "S", "S", "wrong", None, SYM, 1, SPD),
    ("x'*x", "x", "0*x", "wrong", None, None, 1, None),
    ("tr(S*A)", "S", "A'", "wrong", None, SYM, 1, None),                # not symmetrised
    ("tr(S*A)", "S", "A + A' - diag(diag(A))", "wrong", None, SYM, 1, None),   # Cookbook
    (XENT, "w", "(y - sigmoid(w'*x+b))*x + x", "wrong", None, XENT_VARS, 1, None),
]


def _id(row) -> str:
    return f"{row[0]}|{row[1]}|{row[2]}|{row[6]}"


def test_table_covers_every_kind():
    assert len(TABLE) >= 30
    counts = {k: sum(1 for row in TABLE if row[3] == k) for k in KINDS}
    assert all(n >= 5 for n in counts.values()), counts


@pytest.mark.parametrize("expr,wrt,claim,kind,factor,vars,order,domains", TABLE,
                         ids=[_id(r) for r in TABLE])
def test_claims_are_diagnosed(expr, wrt, claim, kind, factor, vars, order, domains):
    r = check_claim(expr, wrt, claim, vars=vars, order=order, domains=domains)
    assert isinstance(r, ClaimResult)
    assert r.kind == kind, r.message
    assert r.correct is (kind == "equal") and bool(r) is r.correct
    assert r.message == ("correct: " if r.correct else "wrong: ") + r.diagnosis
    assert str(r) == r.message
    d = mc.derivative(expr, wrt, vars=vars, order=order)
    assert r.answer == str(d) and r.answer_shape == d.shape
    if factor is None:
        assert r.factor is None
    else:
        assert r.factor == pytest.approx(factor, rel=1e-12)
    if kind == "equal":
        assert r.max_rel_error < 1e-7 and r.points == 5
        assert r.diagnosis.startswith("the claim equals the derivative (")
    else:
        assert r.answer in r.diagnosis       # the right answer is always shown
    if kind == "wrong":
        assert set(r.counterexample) == set(d.variables)
        assert r.max_rel_error > 1e-3
    else:
        assert r.counterexample is None
    if kind == "shape":
        assert "shape" in r.diagnosis


# ------------------------------------------------------------------ wording
def test_issue_examples():
    r = check_claim(SIG, "u", "sigmoid(u'*v+c)*(1-sigmoid(u'*v+c))*v")
    assert r.symbolic
    assert r.message.startswith("correct: the claim equals the derivative (symbolically; "
                                "also at 5 random points, max rel. error ")
    r = check_claim("a'*X*b", "X", "b*a'")
    assert r.message == ("wrong: the claim is the transpose of the gradient (numerator vs. "
                         "denominator layout); the gradient is a*b'")


def test_symbolic_and_numeric_equality():
    assert check_claim("x'*A*x", "x", "A*x + A'*x").symbolic
    r = check_claim(SIG, "u", "exp(-(u'*v+c))/(1+exp(-(u'*v+c)))^2*v")
    assert r.correct and not r.symbolic
    assert "(numerically at 5 random points, max rel. error " in r.message


def test_factor_wording():
    assert "wrong sign" in check_claim("x'*x", "x", "-2*x").diagnosis
    assert "missing factor 2" in check_claim("x'*x", "x", "x").diagnosis
    assert "2 times the gradient" in check_claim("x'*x", "x", "4*x").diagnosis


def test_shape_wording():
    r = check_claim("x'*x", "x", "x*x'")
    assert r.diagnosis.startswith("the claim has shape n x n but the gradient has shape n")
    assert (r.claim_shape, r.answer_shape) == (("n", "n"), ("n",))
    r = check_claim(SIG, "c", "v")
    assert "has shape scalar" in r.diagnosis


def test_symmetric_conventions_are_named():
    r = check_claim("tr(S*A)", "S", "A'", vars=SYM)
    assert "(G + G')/2" in r.diagnosis and "symmetric" in r.diagnosis
    r = check_claim("tr(S*A)", "S", "A + A' - diag(diag(A))", vars=SYM)
    assert "Cookbook" in r.diagnosis


def test_counterexample_shows_a_difference():
    r = check_claim("x'*A*x", "x", "2*A*x")
    d = mc.derivative("x'*A*x", "x")
    got = 2 * r.counterexample["A"] @ r.counterexample["x"]
    assert not np.allclose(got, d.evaluate(**r.counterexample))


def test_compare_takes_a_derivative():
    d = mc.derivative("x'*A*x", "x")
    assert compare(d, "(A + A')*x").correct
    assert compare(d, "2*A*x", points=2).points == 2


def test_undeclared_variables_line_up_with_the_expression():
    # X's dimensions are inferred (n x m); the claim's a, b get the same ones
    r = check_claim("a'*X*b", "X", "a*b'")
    assert r.correct and r.claim_shape == r.answer_shape == ("n", "m")


@pytest.mark.parametrize("claim,error", [
    ("2*A*", mc.ParseError),
    ("z*x", mc.MatrixCalculusError),         # z is not a variable of the expression
    ("", mc.MatrixCalculusError),
    ("A*x'", mc.ShapeError),
])
def test_bad_claims_raise(claim, error):
    with pytest.raises(error):
        check_claim("x'*A*x", "x", claim)


def test_bad_domain_raises():
    with pytest.raises(mc.MatrixCalculusError, match="unknown domain"):
        check_claim("logdet(S)", "S", "inv(S)", vars=SYM, domains={"S": "pd"})


# ------------------------------------------------------------------ the CLI
def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_correct(capsys):
    rc, out, err = run(capsys, "check", SIG, "--wrt", "u", "--claim",
                       "sigmoid(u'*v+c)*(1-sigmoid(u'*v+c))*v")
    assert rc == 0 and err == ""
    assert out.startswith("correct: the claim equals the derivative (symbolically; also at 5 "
                          "random points, max rel. error ")


def test_cli_transposed(capsys):
    rc, out, _ = run(capsys, "check", "a'*X*b", "--wrt", "X", "--claim", "b*a'")
    assert rc == 1
    assert out == ("wrong: the claim is the transpose of the gradient (numerator vs. "
                   "denominator layout); the gradient is a*b'\n")


def test_cli_wrong_prints_counterexample(capsys):
    rc, out, _ = run(capsys, "check", "x'*A*x", "--wrt", "x", "--claim", "2*A*x")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0].startswith("wrong: the claim differs from the gradient")
    assert lines[1] == "counterexample:"
    assert {line.split(" = ")[0].strip() for line in lines[2:]} == {"x", "A"}


def test_cli_options(capsys):
    rc, out, _ = run(capsys, "check", "logdet(S)", "--wrt", "S", "--var", "S: symmetric(n)",
                     "--domain", "S=spd", "--claim", "inv(S)", "--points", "3")
    assert rc == 0 and "at 3 random points" in out
    rc, out, _ = run(capsys, "check", "x'*A*x", "--wrt", "x", "--order", "2",
                     "--claim", "A + A'")
    assert rc == 0


def test_cli_json(capsys):
    rc, out, _ = run(capsys, "check", "x'*x", "--wrt", "x", "--claim", "x", "--format", "json")
    assert rc == 1
    row = json.loads(out)
    assert (row["correct"], row["kind"], row["factor"]) == (False, "scaled", 0.5)
    assert row["answer"] == "2*x" and row["message"].startswith("wrong: ")


def test_cli_expression_starting_with_minus(capsys):
    rc, out, _ = run(capsys, "check", "-x'*x", "--wrt", "x", "--claim", "-2*x")
    assert rc == 0 and out.startswith("correct:")


def test_cli_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("x'*x\n"))
    rc, out, _ = run(capsys, "check", "-", "--wrt", "x", "--claim", "2*x")
    assert rc == 0 and out.startswith("correct:")


@pytest.mark.parametrize("argv,fragment", [
    (["check", "x'*A*x", "--wrt", "x", "--claim", "2*A*"], "error: in the claim: "),
    (["check", "x'*A*x", "--wrt", "x", "--claim", "z"], "error: the claim uses z"),
    (["check", "x'*A*", "--wrt", "x", "--claim", "x"], "error: "),
    (["check", "x'*A*x", "--wrt", "y", "--claim", "x"], "error: "),
    (["check", "x'*A*x", "--wrt", "x", "--claim", "x", "--domain", "A=pd"], "error: "),
    (["check", "x'*A*x", "--wrt", "x", "--claim", "x", "--domain", "B=spd"], "error: "),
])
def test_cli_input_errors_exit_2(capsys, argv, fragment):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.startswith(fragment) and "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["check", "x'*x", "--wrt", "x"],                  # no --claim
    ["check", "x'*x", "--claim", "2*x"],              # no --wrt
    ["check", "--wrt", "x", "--claim", "2*x"],        # no expression
    ["check", "x'*x", "--wrt", "x", "--claim", "2*x", "--bogus"],
])
def test_cli_usage_errors_exit_2(capsys, argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert "usage: matrixcalculus check" in err


def test_cli_check_help(capsys):
    rc, out, _ = run(capsys, "check", "--help")
    assert rc == 0 and "--claim" in out and "Exit status" in out


def test_plain_form_still_works(capsys):
    rc, out, _ = run(capsys, "x'*x", "--wrt", "x")
    assert rc == 0 and out.startswith("derivative of x'*x with respect to x")


def test_points_stay_inside_the_expression_domain():
    # log(x) is defined for positive x only: points where it is not are redrawn, so a claim
    # that is only defined there too is compared where both are
    r = check_claim("sum(log(x))", "x", "exp(-log(x))")
    assert r.correct and r.points == 5
    with pytest.raises(mc.MatrixCalculusError, match="not finite"):
        check_claim("log(-exp(b))", "b", "1", vars={"b": "scalar"})
