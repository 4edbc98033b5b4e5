"""verify.check(): derivatives checked against finite differences and torch autograd at
random points honoring domains; wrong derivatives are caught; the CLI's --check."""

from __future__ import annotations

import json

import numpy as np
import pytest
from corpus_support import load

import matrixcalculus as mc
from matrixcalculus import points, verify
from matrixcalculus.cli import main
from matrixcalculus.variables import declarations
from matrixcalculus.verify import check

BOTH = "central finite differences and torch autograd"

# (expression, wrt, declarations, order, domains)
GOOD = [
    ("x'*A*x", "x", None, 1, None),
    ("x'*A*x", "x", None, 2, None),                                    # a Hessian
    ("softmax(A*x)", "x", {"A": "matrix(m,n)"}, 1, None),              # a Jacobian
    ("A*X*B", "X", None, 1, None),                                     # a 4-tensor
    ("tr(S*A)", "S", {"S": "symmetric(n)"}, 1, None),                  # symmetric variable
    ("tr(S*A*S)", "S", {"S": "symmetric(n)"}, 2, None),                # symmetric Hessian
    ("logdet(S)", "S", {"S": "symmetric(n)"}, 1, {"S": "spd"}),
    ("x'*inv(S)*x", "S", {"S": "symmetric(n)"}, 1, {"S": "spd"}),
    ("inv(X)", "X", None, 1, {"X": "invertible"}),
    ("det(X)", "X", None, 2, None),
    ("sum(log(x))", "x", None, 1, {"x": "positive"}),
    ("-sum(p.*log(p))", "p", None, 1, {"p": "prob"}),
    ("-(y*log(sigmoid(w'*x+b)) + (1-y)*log(1-sigmoid(w'*x+b)))", "w",
     {"b": "scalar", "y": "scalar"}, 1, {"y": "binary"}),
    ("sigmoid(u'*v + c)", "u", None, 1, None),
    ("relu(A*x)", "x", None, 1, None),
    ("norm1(x)", "x", None, 1, None),
    ("b^4", "b", {"b": "scalar"}, 3, None),
    ("sum(A*X)", "X", {"A": "matrix(m,n)", "X": "matrix(n,k)"}, 1, None),
]


@pytest.mark.parametrize("expr,wrt,vars,order,domains", GOOD,
                         ids=[f"{g[0]}-{g[1]}-{g[3]}" for g in GOOD])
def test_correct_derivatives_verify(expr, wrt, vars, order, domains):
    d = mc.derivative(expr, wrt, vars=vars, order=order)
    r = check(d, domains=domains)
    assert r.ok and bool(r), r.message
    assert r.points == 5
    assert r.max_rel_error < 1e-5
    assert BOTH in r.method or (order > 1 and "torch autograd" in r.method)
    assert r.message.startswith("verified at 5 random points against ")
    assert "max rel. error" in r.message
    assert set(r.errors) == {"central finite differences", "torch autograd"}
    assert r.errors["torch autograd"] < 1e-8
    assert r.counterexample is None


def test_message_wording():
    r = check(mc.derivative("x'*A*x", "x"))
    assert r.method == BOTH
    assert r.message.startswith(f"verified at 5 random points against {BOTH}: max rel. error ")
    assert str(r) == r.message


def test_higher_order_method_names_the_lower_derivative():
    r = check(mc.derivative("x'*A*x", "x", order=2))
    assert r.method == "central finite differences of the first derivative and torch autograd"


def test_every_public_corpus_case_verifies():
    cases, _ = load()
    for case in cases.public():
        d = mc.derivative(case["expr"], case["wrt"], vars=case["vars"], order=case["order"])
        r = check(d, domains=case.get("domain"), points=2)
        assert r.ok, f"{case['id']}: {r.message}"


# ------------------------------------------------------------------ wrong derivatives
def _tamper(monkeypatch, d, change):
    original = d.evaluate
    monkeypatch.setattr(d, "evaluate", lambda **a: change(original(**a)))
    return d


def test_twice_the_value_is_caught(monkeypatch):
    d = _tamper(monkeypatch, mc.derivative("x'*A*x", "x"), lambda v: 2 * v)
    r = check(d)
    assert not r.ok and not bool(r)
    assert r.message.startswith("FAILED at random point 1: the derivative differs from ")
    assert "central finite differences" in r.message and "torch autograd" in r.message
    assert r.max_rel_error == pytest.approx(1.0, rel=1e-4)
    assert set(r.counterexample) == {"x", "A"}


def test_transposed_matrix_gradient_is_caught(monkeypatch):
    # square A: a transposed answer has the right shape but the wrong values
    d = _tamper(monkeypatch, mc.derivative("x'*A*y", "A"), lambda v: v.T)
    assert not check(d).ok


def test_wrong_shape_is_caught(monkeypatch):
    d = _tamper(monkeypatch, mc.derivative("a'*X*b", "X"), lambda v: v.T)
    r = check(d)
    assert not r.ok and "shape" in r.message


def test_a_small_error_in_a_hessian_is_caught(monkeypatch):
    d = _tamper(monkeypatch, mc.derivative("x'*A*x", "x", order=2), lambda v: v + 1e-4)
    assert not check(d).ok


def test_unsymmetrised_gradient_is_caught(monkeypatch):
    d = mc.derivative("tr(S*A)", "S", vars={"S": "symmetric(n)"})
    # the unconstrained gradient A' is not the gradient on symmetric matrices
    monkeypatch.setattr(d, "evaluate", lambda S, A: A.T.copy())
    assert not check(d).ok


def test_raising_derivative_is_a_failure(monkeypatch):
    d = mc.derivative("x'*x", "x")

    def boom(**_):
        raise RuntimeError("nope")
    monkeypatch.setattr(d, "evaluate", boom)
    r = check(d)
    assert not r.ok and "RuntimeError" in r.message


# ------------------------------------------------------------------ references, domains
def test_without_torch_finite_differences_only(monkeypatch):
    monkeypatch.setattr(verify, "torch_available", lambda: False)
    r = check(mc.derivative("x'*A*x", "x"))
    assert r.ok and r.method == "central finite differences"
    assert set(r.errors) == {"central finite differences"}
    assert "autograd" not in r.message


def test_points_outside_the_domain_are_redrawn():
    r = check(mc.derivative("sum(log(x))", "x"))
    assert r.ok and r.points == 5
    assert "outside the expression's domain" in r.message


def test_nowhere_finite_is_not_verified():
    r = check(mc.derivative("log(-exp(b))", "b", vars={"b": "scalar"}))
    assert not r.ok and r.message.startswith("not verified")
    assert "domains" in r.message


@pytest.mark.parametrize("domains,fragment", [
    ({"S": "pd"}, "unknown domain"),
    ({"T": "spd"}, "not a variable"),
    ({"x": "spd"}, "square"),
])
def test_bad_domains(domains, fragment):
    d = mc.derivative("x'*S*x", "x", vars={"S": "symmetric(n)"})
    with pytest.raises(mc.MatrixCalculusError, match=fragment):
        check(d, domains=domains)


def test_seed_and_points():
    d = mc.derivative("sigmoid(u'*v + c)", "u")
    a, b = check(d, seed=1, points=2), check(d, seed=1, points=2)
    assert a.points == 2 and a.max_rel_error == b.max_rel_error
    with pytest.raises(mc.MatrixCalculusError):
        check(d, points=0)


def test_sizes_are_small_and_distinct():
    d = mc.derivative("sum(A*X*B*C)", "X", vars={"A": "matrix(m,n)", "X": "matrix(n,k)",
                                                 "B": "matrix(k,q)", "C": "matrix(q,r)"})
    sizes = verify.dimension_sizes(d.variables)
    assert sizes == {"m": 4, "n": 3, "k": 2, "q": 6, "r": 7}
    assert check(d).ok


def test_draws_honor_kinds_and_domains():
    d = mc.derivative("x'*S*x + tr(P) + sum(q) + sum(z) + logdet(M)", "x",
                      vars={"S": "symmetric(n)", "P": "symmetric(n)", "M": "matrix(n,n)"})
    doms = verify.parse_domains({"P": "spd", "q": "prob", "z": "binary", "M": "invertible"},
                                d.variables)
    sizes = verify.dimension_sizes(d.variables)
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = verify.draw_inputs(d.variables, sizes, doms, rng)
        assert np.array_equal(a["S"], a["S"].T) and np.array_equal(a["P"], a["P"].T)
        assert np.all(np.linalg.eigvalsh(a["P"]) > 0)
        assert a["q"].sum() == pytest.approx(1.0) and np.all(a["q"] > 0)
        assert set(np.unique(a["z"])) <= {0.0, 1.0}
        assert np.linalg.det(a["M"]) > 0


def test_symmetric_finite_differences_give_sym_gradient():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 3))
    S = rng.standard_normal((3, 3))
    S = (S + S.T) / 2
    g = verify.central_differences(lambda S, A: np.trace(S @ A), {"S": S, "A": A}, "S",
                                   symmetric=True)
    np.testing.assert_allclose(g, (A + A.T) / 2, atol=1e-8)


def test_parse_domain_option():
    assert points.parse_domain_option("S=spd") == ("S", "spd")
    assert points.parse_domain_option(" x : positive ") == ("x", "positive")
    for bad in ("S", "S=", "S=pd"):
        with pytest.raises(mc.MatrixCalculusError):
            points.parse_domain_option(bad)


def test_declarations_round_trip():
    d = mc.derivative("x'*S*A*y + c", "x", vars={"S": "symmetric(n)", "A": "matrix(n,3)"})
    decls = declarations(d.variables)
    assert decls["S"] == "symmetric(n)" and decls["A"] == "matrix(n,3)"
    assert decls["x"] == "vector(n)" and decls["y"] == "vector(3)" and decls["c"] == "scalar"
    again = mc.derivative(d.source, "x", vars=decls)
    assert {n: (v.kind, v.shape) for n, v in again.variables.items()} == \
        {n: (v.kind, v.shape) for n, v in d.variables.items()}
    assert {v.origin for v in again.variables.values()} == {"declared"}


# ------------------------------------------------------------------ the CLI's --check
def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_check(capsys):
    rc, out, err = run(capsys, "x'*A*x", "--wrt", "x", "--check")
    assert rc == 0 and err == ""
    lines = out.strip().splitlines()
    assert lines[0] == "derivative of x'*A*x with respect to x   (shape: n)"
    assert lines[1].startswith("  ")
    assert lines[-1].startswith(f"verified at 5 random points against {BOTH}: max rel. error")


def test_cli_check_with_domains(capsys):
    rc, out, _ = run(capsys, "logdet(S) + sum(log(x))", "--wrt", "S", "--wrt", "x",
                     "--var", "S: symmetric(n)", "--check",
                     "--domain", "S=spd", "--domain", "x=positive")
    assert rc == 0
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    assert all(b.splitlines()[-1].startswith("verified at 5 random points") for b in blocks)
    assert "outside" not in out


def test_cli_check_json(capsys):
    rc, out, _ = run(capsys, "x'*A*x", "--wrt", "x", "--check", "--format", "json")
    assert rc == 0
    row = json.loads(out)
    assert row["check"]["ok"] is True and row["check"]["points"] == 5
    assert row["check"]["max_rel_error"] < 1e-5


def test_cli_check_failure_exits_1(capsys, monkeypatch):
    import matrixcalculus.cli as cli

    def failing(d, domains=None):
        return verify.CheckResult(False, 1.0, "central finite differences",
                                  "FAILED at random point 1: ...")
    monkeypatch.setattr(cli, "check", failing)
    rc, out, _ = run(capsys, "x'*A*x", "--wrt", "x", "--check")
    assert rc == 1 and out.strip().endswith("FAILED at random point 1: ...")


@pytest.mark.parametrize("argv", [
    ["x'*A*x", "--wrt", "x", "--check", "--domain", "A=pd"],
    ["x'*A*x", "--wrt", "x", "--check", "--domain", "B=spd"],
    ["x'*A*x", "--wrt", "x", "--check", "--domain", "A"],
])
def test_cli_check_bad_domain_exits_2(capsys, argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == "" and err.startswith("error: ")


def test_cli_domain_without_check_is_a_usage_error(capsys):
    rc, out, err = run(capsys, "x'*A*x", "--wrt", "x", "--domain", "A=spd")
    assert rc == 2 and "usage: matrixcalculus" in err


def test_points_outside_the_expressions_domain_are_skipped_at_every_order():
    # logdet(S) has no value where det(S) < 0, but its gradient does: such points are
    # outside the domain for the Hessian too (torch and differences disagree there)
    d = mc.derivative("logdet(S) + tr(inv(S)*C)", "S", order=2)
    r = d.check()
    assert r.ok and "outside the expression's domain" in r.message, r.message


def test_check_is_bounded_in_time():
    import time
    d = mc.derivative("logdet(S) + tr(inv(S)*C)", "S", order=4)
    t0 = time.monotonic()
    r = d.check(max_seconds=2.0)
    assert time.monotonic() - t0 < 30
    assert r.ok and "torch autograd skipped" in r.message, r.message


def test_rounding_noise_of_a_saturated_answer_is_not_a_failure():
    # the Hessian is a polynomial in t = tanh(s^3) that cancels to ~0 where t = 1: its
    # rounding noise (1e-11) is measured and allowed (wrong answers are still caught: the
    # failure tests above)
    d = mc.derivative("tanh(norm1(S).^3).^3", "S", vars={"S": "symmetric(3)"}, order=2)
    r = d.check()
    assert r.ok, r.message


def test_check_draws_sizes_where_the_domain_is_not_empty():
    # X undeclared is n x m = 3 x 4 by default: X'*X (4 x 4, rank 3) is singular there;
    # check() permutes the sizes (X 4 x 3) rather than report "not verified"
    d = mc.derivative("logdet(X'*X)", "X")
    assert d.check(points=2).ok
    r = mc.derivative("logdet(X'*X)", "X", vars={"X": "matrix(3,4)"}).check(points=2)
    assert not r.ok and "at these sizes (X 3 x 4)" in r.message and "declare sizes" in r.message
