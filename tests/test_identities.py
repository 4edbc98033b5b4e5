"""Elementwise identities and norms kept as written (ir/elementwise_rules.py, the lift's
norm2 and max/min arguments, the transpose of a difference): each answer's form, its
numbers (check()), and the identity itself at the points where conventions matter (u = 0)."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.ir import build as B
from matrixcalculus.ir import elementwise_rules as E
from matrixcalculus.ir import functions as F

REG = {"X": "matrix(n,p)", "w": "vector(p)", "y": "vector(n)"}
VEC = {"a": "vector(n)", "b": "vector(n)", "p": "vector(n)", "q": "vector(n)"}

FORMS = [
    # (exp(r) - exp(-r))./(exp(r) + exp(-r)) is tanh(r), the odd sign taken out
    ("sum(log((exp(X*w - y) + exp(y - X*w))/2))", "w", REG, "X'*tanh(X*w - y)"),
    ("sum(log(exp(x) + exp(-x)))", "x", {"x": "vector(n)"}, "tanh(x)"),
    ("a*log(exp(x'*b) + exp(-x'*b))", "x", {"x": "vector(n)", "b": "vector(n)", "a": "scalar"},
     "a*tanh(b'*x)*b"),
    # step(u).*max(u, 0) is max(u, 0); a number beside a vector in max needs no ones
    ("sum(max(1 - y.*(X*w), 0).^2)", "w", REG, "-2*X'*(y.*max(1 - X*w.*y, 0))"),
    # (min(a, b) - b).*step(b - a) is min(a, b) - b (the Huber loss; m, the person's name
    # for min(abs(r), delta), kept)
    ("sum(0.5*m.^2 + delta*(abs(r) - m)) where r = X*w - y, m = min(abs(r), delta)", "w",
     {**REG, "delta": "scalar"},
     "X'*(sign(r).*m) where r = X*w - y, m = min(abs(r), delta)"),
    # 1 - sigmoid(-u) is sigmoid(u); 1 - sigmoid(u) stays as the book writes it
    ("-sum(log(sigmoid(-N*v)))", "v", {"N": "matrix(m,n)", "v": "vector(n)"},
     "N'*sigmoid(N*v)"),
    ("-sum(log(sigmoid(N*v)))", "v", {"N": "matrix(m,n)", "v": "vector(n)"},
     "N'*(sigmoid(N*v) - 1)"),
    # norms of differences kept as written
    ("max(norm2(a - p)^2 - norm2(a - q)^2 + alpha, 0)", "a", {**VEC, "alpha": "scalar"},
     "2*step(norm2(a - p)^2 + alpha - norm2(a - q)^2)*(q - p)"),
    ("0.5*y*norm2(a - b)^2 + 0.5*(1 - y)*max(0, delta - norm2(a - b))^2", "a",
     {**VEC, "y": "scalar", "delta": "scalar"},
     "(y - max(0, delta - r)*(1 - y)/r)*(a - b) where r = norm2(a - b)"),
    ("norm2(a)^2 + a'*b", "a", VEC, "b + 2*a"),
    # the transpose of a difference, as a factor: (x - y)', not (x' - y'); the difference
    # named, as it is shorter so (the where-clause counted)
    ("(x - y)'*M*(x - y)", "M", {"x": "vector(n)", "y": "vector(n)", "M": "symmetric(n)"},
     "r*r' where r = x - y"),
    ("sqrt((x - y)'*M*(x - y))", "x",
     {"x": "vector(n)", "y": "vector(n)", "M": "symmetric(n)"},
     "M*r/sqrt(r'*M*r) where r = x - y"),
    # a mean of ones is 1
    ("epsilon*mean(ones(n))*sum(z)", "z", {"z": "vector(n)", "epsilon": "scalar"},
     "epsilon*ones(n)"),
    # x.*x.^p merged across ./ for a product x (flattened into its neighbours)
    ("sum(V.*log(V./(W*H)) - V + W*H)", "H",
     {"V": "matrix(m,n)", "W": "matrix(m,k)", "H": "matrix(k,n)"}, "W'*(1 - V./(W*H))"),
]


@pytest.mark.parametrize("expr, wrt, vars, form", FORMS, ids=[f[3] for f in FORMS])
def test_the_answer_reads_as_the_book(expr, wrt, vars, form):
    d = mc.derivative(expr, wrt, vars=vars)
    assert str(d) == form
    domains = {k: "positive" for k in ("V", "W", "H", "delta") if k in vars}
    assert d.check(domains=domains).ok


def _values(expr: str, u: np.ndarray, **more) -> np.ndarray:
    vars = {"u": "vector(n)", **{k: "vector(n)" if np.ndim(v) else "scalar"
                                 for k, v in more.items()}}
    return np.asarray(mc.expression(expr, vars=vars).evaluate(u=u, **more))


U = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])


@pytest.mark.parametrize("gated, plain", [
    ("step(u).*max(u, 0)", "max(u, 0)"),
    ("step(u).*relu(u)", "relu(u)"),
    ("(1 - step(-u)).*max(0, u)", "max(0, u)"),
    ("(min(u, b) - b).*step(b - u)", "min(u, b) - b"),
    ("(max(u, b) - b).*step(u - b)", "max(u, b) - b"),
])
def test_each_gate_dropped_is_exact_at_the_tie(gated, plain):
    """The identities hold at u = 0 (and u = b) too, with step(0) = 0 (ops/)."""
    for b in (0.0, 0.5):
        more = {"b": b} if "b" in gated else {}
        np.testing.assert_array_equal(_values(gated, U, **more), _values(plain, U, **more))


def test_one_minus_step_of_minus_u_is_not_step_u_at_zero():
    """Why no row rewrites 1 - step(-u) as step(u): they differ at u = 0."""
    a, b = _values("1 - step(-u)", U), _values("step(u)", U)
    assert a[2] == 1 and b[2] == 0
    assert mc.derivative("sum(max(tau*u, (tau - 1)*u))", "u",
                         vars={"u": "vector(n)", "tau": "scalar"}).check().ok


def test_gate_rows_on_ir():
    u = B.var("u", ("n",))
    zero = B.zero(("n",))
    relu = F.func("max", u, zero)
    prod = F.hadamard(F.func("step", u), relu)
    assert E.gate_dropped(prod) is relu
    # the gate of another argument stays
    v = B.var("v", ("n",))
    assert E.gate_dropped(F.hadamard(F.func("step", v), relu)) is None
    # max(u, 1) does not vanish where u <= 0
    assert E.gate_dropped(F.hadamard(F.func("step", u),
                                     F.func("max", u, B.full(("n",), 1.0)))) is None


def test_tanh_needs_the_same_argument_and_equal_weights():
    u = B.var("u", ("n",))
    e, e1 = F.func("exp", u), F.func("exp", B.neg(u))
    num = B.sub(e, e1)
    assert E.tanh_of_exp(F.hadamard(num, F.recip(B.add([e, e1])))) is F.func("tanh", u)
    # (e - e1)./(e + 2*e1) is no tanh
    assert E.tanh_of_exp(F.hadamard(num, F.recip(B.add([e, B.scale(2.0, e1)])))) is None
    # the exponent of another argument
    v = B.var("v", ("n",))
    other = B.sub(e, F.func("exp", B.neg(v)))
    assert E.tanh_of_exp(F.hadamard(other, F.recip(B.add([e, e1])))) is None


def test_sigmoid_complement_only_takes_a_sign_out():
    u = B.var("u", ("n",))
    one = B.full(("n",), 1.0)
    assert E.sigmoid_complement(B.sub(one, F.func("sigmoid", B.neg(u)))) is \
        F.func("sigmoid", u)
    assert E.sigmoid_complement(B.sub(one, F.func("sigmoid", u))) is None
    # 2 - sigmoid(-u) is not 1 + ...: the weights must match
    assert E.sigmoid_complement(B.sub(B.scale(2.0, one), F.func("sigmoid", B.neg(u)))) is None


def test_values_of_the_identities():
    for expr, same in [("(exp(u) - exp(-u))./(exp(u) + exp(-u))", "tanh(u)"),
                       ("1 - sigmoid(-u)", "sigmoid(u)")]:
        np.testing.assert_allclose(_values(expr, U), _values(same, U), rtol=1e-14)
