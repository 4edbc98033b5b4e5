"""LANGUAGE.md v2 "Undeclared names" and "Names that are not variables": each rule and each
example of the text, one test each (kinds, where each kind came from, and the notes)."""

from __future__ import annotations

import pytest

import matrixcalculus as mc

# (expression, wrt, {name: (kind, origin)}, names the notes must name)
EXAMPLES = [
    # rule 2, use: a transposed name is not a scalar
    ("theta'*x", "x", {"theta": ("vector", "use"), "x": ("vector", "spelling")}, ["theta"]),
    # rule 2: the argument of inv det logdet tr is a square matrix
    ("logdet(S) + tr(inv(S)*C)", "S", {"S": ("matrix", "use"), "C": ("matrix", "spelling")},
     []),
    # rule 2: the argument of diag a vector or a matrix
    ("x'*diag(d)*x", "x", {"d": ("vector", "spelling")}, []),
    # rule 2: the base of ^ that is not a square matrix is a scalar (c^2)
    ("c^2 + norm2(x)^2", "x", {"c": ("scalar", "use"), "x": ("vector", "spelling")}, ["c"]),
    # rule 2: a product that only type-checks with one kind fixes it
    ("norm2(X*theta - y)^2", "theta", {"theta": ("vector", "use")}, ["theta"]),
    # rule 3, a loss is a scalar: the four examples of the text
    ("u'*v + c + d + b", "u", {"b": ("scalar", "a loss is a scalar"),
                               "c": ("scalar", "a loss is a scalar"),
                               "d": ("scalar", "a loss is a scalar")}, ["b", "c", "d"]),
    ("norm2(y - X*w)^2 + lam*norm2(w)^2", "w", {"lam": ("scalar", "a loss is a scalar")},
     ["lam"]),
    ("-(y*log(p) + (1-y)*log(1-p)) where p = sigmoid(w'*x + b)", "w",
     {"y": ("scalar", "a loss is a scalar"), "b": ("scalar", "a loss is a scalar")},
     ["y", "b"]),
    ("t*c'*x - sum(log(b - A*x))", "x", {"t": ("scalar", "a loss is a scalar"),
                                        "b": ("vector", "spelling")}, ["t"]),
    # rule 3's exceptions: a name meeting a vector elementwise keeps its spelling
    ("sum(y.*log(p)) where p = softmax(z)", "z", {"y": ("vector", "spelling")}, []),
    ("norm2(X*w + b)^2", "w", {"b": ("vector", "spelling")}, []),
    # rule 4, spelling: Greek capitals are matrices
    ("tr(Sigma) + tr(Lambda) + tr(Phi) + tr(Theta)", "Sigma",
     {n: ("matrix", "use") for n in ("Sigma", "Lambda", "Phi", "Theta")}, []),
    ("sum(Sigma*x)", "x", {"Sigma": ("matrix", "spelling")}, []),
    # a scalar-by-spelling name spread over a vector by - gets a note
    ("norm2(x - mu)^2", "x", {"mu": ("scalar", "spelling")}, ["mu"]),
]


@pytest.mark.parametrize("expr,wrt,kinds,noted", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_language_md_example(expr, wrt, kinds, noted):
    d = mc.derivative(expr, wrt)
    got = {n: (d.variables[n].kind, d.variables[n].origin) for n in kinds}
    assert got == kinds, d.variables
    named = {n.split(" ", 1)[0] for n in d.notes}
    assert set(noted) <= named, d.notes


def test_declared_names_get_no_note():
    d = mc.derivative("norm2(x - mu)^2", "x", vars={"mu": "scalar", "x": "vector(n)"})
    assert d.notes == [] and d.variables["mu"].origin == "declared"


def test_a_dimension_used_as_a_value_is_its_size():
    d = mc.derivative("sum(G.*(Q*K'/sqrt(d)))", "Q",
                      vars={"Q": "matrix(n,d)", "K": "matrix(m,d)", "G": "matrix(n,m)"})
    assert "d" not in d.variables and d.check(points=2).ok
    assert str(d) == "G*K/sqrt(d)"


def test_x_x_over_n_with_n_a_dimension():
    d = mc.derivative("x'*x/n", "x", vars={"x": "vector(n)"})
    assert str(d) == "2*x/n" and d.check(points=2).ok


def test_undeclared_pi_is_the_constant_and_a_declared_pi_a_variable():
    d = mc.derivative("sum(sin(pi*x))", "x")
    assert "pi" not in d.variables
    d = mc.derivative("pi'*log(q)", "pi", vars={"pi": "vector(k)"})
    assert d.variables["pi"].origin == "declared"


def test_a_dimension_or_undeclared_pi_cannot_be_a_wrt():
    with pytest.raises(mc.MatrixCalculusError, match="dimension"):
        mc.derivative("x'*ones(n)/n", "n")
    with pytest.raises(mc.MatrixCalculusError, match="pi"):
        mc.derivative("sum(sin(pi*x))", "pi")


def test_a_declared_name_the_expression_does_not_use_is_an_error():
    with pytest.raises(mc.DeclarationError, match="weights"):
        mc.derivative("norm2(weight)^2", "weight", vars={"weights": "vector(n)"})
