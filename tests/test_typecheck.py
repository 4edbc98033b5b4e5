"""Shape inference: symbolic dimensions, defaults by spelling, declarations, result shapes."""

from __future__ import annotations

import pytest

import matrixcalculus as mc
from matrixcalculus.language.declarations import Declaration, default_kind, parse_declaration
from matrixcalculus.language.inference import typecheck
from matrixcalculus.language.parser import parse


def check(text: str, **decls: str):
    """Typecheck `text`; return (typed, {name: (kind, shape)})."""
    typed = typecheck(parse(text), text, {n: parse_declaration(t, n) for n, t in decls.items()})
    return typed, {v.name: (v.kind, typed.shape(v.type)) for v in typed.variables.values()}


def shape_of(text: str, **decls: str):
    typed, _ = check(text, **decls)
    return typed.shape(typed.type_of(typed.root))


def variables(text: str, wrt: str, order: int = 1, **decls: str):
    d = mc.derivative(text, wrt, vars=decls, order=order)
    return {n: (v.kind, v.shape) for n, v in d.variables.items()}


# ------------------------------------------------------------------ defaults by spelling
@pytest.mark.parametrize("name, kind", [
    ("A", "matrix"), ("X", "matrix"), ("W1", "matrix"), ("Sigma_inv", "matrix"),
    ("x", "vector"), ("b", "vector"), ("w_2", "vector"), ("_x", "vector"),
    ("alpha", "scalar"), ("beta", "scalar"), ("lambda", "scalar"), ("sigma", "scalar"),
    ("theta", "scalar"), ("omega", "scalar"), ("Theta", "matrix"), ("Sigma", "matrix"),
])
def test_default_kind_by_spelling(name, kind):
    assert default_kind(name) == kind


def test_defaults_in_an_expression():
    _, v = check("alpha*A*x")
    assert v["alpha"] == ("scalar", ())
    assert v["A"][0] == "matrix" and len(v["A"][1]) == 2
    assert v["x"][0] == "vector" and len(v["x"][1]) == 1


def test_lone_names_keep_their_default():
    assert check("x")[1]["x"][0] == "vector"
    assert check("A")[1]["A"][0] == "matrix"
    assert check("alpha")[1]["alpha"] == ("scalar", ())


# ------------------------------------------------------------------ unification
def test_product_forces_inner_dimensions_equal():
    _, v = check("A*x")
    (a_rows, a_cols), (x_rows,) = v["A"][1], v["x"][1]
    assert a_cols == x_rows
    assert a_rows != a_cols          # nothing says A is square: two different free dims


def test_product_with_declared_matrix_names_the_vector_dim():
    _, v = check("A*x", A="matrix(m,n)")
    assert v["x"] == ("vector", ("n",))
    assert shape_of("A*x", A="matrix(m,n)") == ("m",)


def test_product_with_declared_vector_names_the_matrix_dim():
    _, v = check("A*x", x="vector(k)")
    assert v["A"][1][1] == "k"
    assert v["A"][1][0] != "k"


def test_quadratic_form_makes_matrix_square():
    _, v = check("x'*A*x")
    (n,) = v["x"][1]
    assert v["A"] == ("matrix", (n, n))
    _, v = check("x'*A*x", x="vector(k)")
    assert v["A"] == ("matrix", ("k", "k"))


def test_chain_of_products():
    _, v = check("A*B*C", A="matrix(m,n)", C="matrix(p,q)")
    assert v["B"] == ("matrix", ("n", "p"))
    assert shape_of("A*B*C", A="matrix(m,n)", C="matrix(p,q)") == ("m", "q")


def test_inner_and_outer_products():
    _, v = check("x'*y", y="vector(5)")
    assert v["x"] == ("vector", (5,))
    assert shape_of("x'*y") == ()
    assert shape_of("x*y'", x="vector(m)", y="vector(n)") == ("m", "n")


def test_sum_unifies_both_dimensions():
    _, v = check("A + B", A="matrix(m,n)")
    assert v["B"] == ("matrix", ("m", "n"))
    _, v = check("x + y - z", x="vector(n)")
    assert v["y"] == v["z"] == ("vector", ("n",))


def test_hadamard_unifies():
    _, v = check("A .* B ./ C", B="matrix(p,q)")
    assert v["A"] == v["C"] == ("matrix", ("p", "q"))


def test_integer_dimensions():
    _, v = check("A*x", A="matrix(2,3)")
    assert v["x"] == ("vector", (3,))
    assert shape_of("ones(3)'*x") == ()
    assert check("ones(3)'*x")[1]["x"] == ("vector", (3,))
    assert shape_of("ones(2, 4)") == (2, 4)
    assert shape_of("eye(n)") == ("n", "n")


def test_square_functions_unify_rows_and_columns():
    for f in ("tr", "det", "logdet", "inv"):
        _, v = check(f"{f}(A)")
        r, c = v["A"][1]
        assert r == c, f
    _, v = check("tr(A*B)", A="matrix(m,n)")
    assert v["B"] == ("matrix", ("n", "m"))


def test_declared_different_symbols_clash():
    with pytest.raises(mc.ShapeError):
        check("A*x", A="matrix(m,n)", x="vector(p)")
    with pytest.raises(mc.ShapeError):
        check("x + y", x="vector(n)", y="vector(m)")
    with pytest.raises(mc.ShapeError):
        check("A*x", A="matrix(2,3)", x="vector(4)")
    with pytest.raises(mc.ShapeError):
        check("eye(n)*x", x="vector(k)")


def test_same_declared_symbol_unifies():
    assert shape_of("x'*y", x="vector(n)", y="vector(n)") == ()
    assert shape_of("S*x", S="symmetric(n)", x="vector(n)") == ("n",)


def test_free_dimension_names_avoid_declared_ones():
    _, v = check("A*x", x="vector(n)")
    assert v["A"][1][0] not in ("n",)
    _, v = check("B*y", y="vector(m)", C="matrix(n,k)")
    assert v["B"][1][0] not in ("m", "n", "k")


def test_free_dimension_names_avoid_variable_names():
    # an answer like A'*ones(n) must not name a dimension after the variable n
    _, v = check("sum(A*n)")
    assert "n" not in v["A"][1] and "n" not in v["n"][1]
    _, v = check("sum(k*m')")
    assert not {"k", "m"} & set(v["k"][1] + v["m"][1])
    _, v = check("s*x where s = u'*v")
    assert "s" not in v["x"][1] + v["u"][1]


# ------------------------------------------------------------------ scalars by usage
def test_inner_product_plus_undeclared_is_scalar():
    _, v = check("u'*v + b")
    assert v["b"] == ("scalar", ())
    assert v["u"][0] == v["v"][0] == "vector"
    assert shape_of("u'*v + b") == ()


def test_reference_example_infers_scalars():
    _, v = check("sigmoid(u'*v + c + d + b)")
    assert v["b"] == v["c"] == v["d"] == ("scalar", ())
    assert v["u"][1] == v["v"][1]


def test_scaled_or_negated_undeclared_is_scalar():
    assert check("u'*v - 2*b")[1]["b"] == ("scalar", ())
    assert check("-b + u'*v")[1]["b"] == ("scalar", ())


def test_number_plus_vector_keeps_vector():
    _, v = check("1 + x")
    assert v["x"][0] == "vector"
    assert shape_of("1 + x") == v["x"][1]
    assert shape_of("x - 0.5") == check("x - 0.5")[1]["x"][1]
    assert shape_of("2*(1 - x)") == check("2*(1 - x)")[1]["x"][1]


def test_scalar_plus_matrix_expression_keeps_matrix():
    _, v = check("A*x + y'*z")
    assert v["A"][0] == "matrix" and len(v["A"][1]) == 2
    assert shape_of("A*x + y'*z") == (v["A"][1][0],)
    _, v = check("u'*v + B")
    assert v["B"][0] == "matrix" and len(v["B"][1]) == 2


def test_declared_vector_is_not_made_scalar():
    _, v = check("u'*v + b", b="vector(n)")
    assert v["b"] == ("vector", ("n",))
    assert shape_of("u'*v + b", b="vector(n)") == ("n",)


def test_division_and_power_make_undeclared_scalars():
    assert check("x/s")[1]["s"] == ("scalar", ())
    assert check("x/s")[1]["x"][0] == "vector"
    assert check("s^2")[1]["s"] == ("scalar", ())


def test_elementwise_power_keeps_vectors():
    _, v = check("x.^2")
    assert v["x"][0] == "vector"
    _, v = check("x.^y")
    assert v["x"] == v["y"]


def test_where_binding_types():
    typed, v = check("s*x where s = u'*v")
    assert typed.shape(typed.type_of(typed.bindings["s"])) == ()
    assert "s" not in v
    assert v["x"][0] == "vector"


# ------------------------------------------------------------------ declarations
def test_declarations_override_defaults():
    with pytest.raises(mc.ShapeError):     # v2: x is not made a scalar to fit
        check("alpha*x", alpha="vector(n)")
    _, v = check("alpha*x", alpha="vector(n)", x="scalar")
    assert v["alpha"] == ("vector", ("n",))
    _, v = check("X*y", X="scalar")
    assert v["X"] == ("scalar", ())
    _, v = check("x'*y", x="matrix(m,n)", y="matrix(m,k)")
    assert v["x"] == ("matrix", ("m", "n"))
    assert shape_of("x'*y", x="matrix(m,n)", y="matrix(m,k)") == ("n", "k")
    _, v = check("sum(S)", S="symmetric(n)")
    assert v["S"] == ("symmetric", ("n", "n"))


def test_parse_declaration_forms():
    assert parse_declaration("matrix(m, n)") == Declaration("matrix", ("m", "n"))
    assert parse_declaration(" vector( 3 ) ") == Declaration("vector", (3,))
    assert parse_declaration("scalar") == Declaration("scalar", ())
    assert parse_declaration("symmetric(n)") == Declaration("symmetric", ("n",))
    assert str(parse_declaration("matrix(m,n)")) == "matrix(m, n)"


def test_declaration_objects_accepted_by_the_api():
    d = mc.derivative("x'*x", "x", vars={"x": Declaration("vector", ("k",))})
    assert d.shape == ("k",)


# ------------------------------------------------------------------ result shapes (d.shape)
RESULT_SHAPES = [
    # (expr, wrt, vars, order, shape)
    ("sum(A*X)", "X", {"A": "matrix(m,n)", "X": "matrix(n,k)"}, 1, ("n", "k")),
    ("sum(A*X)", "A", {"A": "matrix(m,n)", "X": "matrix(n,k)"}, 1, ("m", "n")),
    ("x'*A*x", "x", {"x": "vector(n)"}, 1, ("n",)),
    ("x'*A*x", "x", {"x": "vector(n)"}, 2, ("n", "n")),
    ("x'*A*x", "A", {"x": "vector(n)"}, 1, ("n", "n")),
    ("x'*x", "x", {"x": "vector(3)"}, 1, (3,)),
    ("A*x", "x", {"A": "matrix(m,n)"}, 1, ("m", "n")),
    ("A*x + b", "x", {"A": "matrix(m,n)"}, 1, ("m", "n")),
    ("norm2(A*x - b)", "x", {"A": "matrix(m,n)"}, 1, ("n",)),
    ("x'*A*y", "A", {"x": "vector(m)", "y": "vector(n)"}, 1, ("m", "n")),
    ("tr(X)", "X", {"X": "matrix(n,n)"}, 1, ("n", "n")),
    ("logdet(S)", "S", {"S": "symmetric(n)"}, 1, ("n", "n")),
    ("inv(X)", "X", {"X": "matrix(n,n)"}, 1, ("n", "n", "n", "n")),
    ("X*Y", "X", {"X": "matrix(m,n)", "Y": "matrix(n,p)"}, 1, ("m", "p", "m", "n")),
    ("softmax(x)", "x", {"x": "vector(n)"}, 1, ("n", "n")),
    ("exp(x)", "x", {"x": "vector(n)"}, 1, ("n", "n")),
    ("alpha*x", "alpha", {"x": "vector(n)"}, 1, ("n",)),
    ("alpha^2", "alpha", {}, 1, ()),
    ("alpha^3", "alpha", {}, 2, ()),
    ("sigmoid(u'*v + c + d + b)", "u", {"u": "vector(n)"}, 1, ("n",)),
    ("sigmoid(u'*v + c + d + b)", "b", {"u": "vector(n)"}, 1, ()),
    ("-(y*log(sigmoid(w'*x+b)) + (1-y)*log(1-sigmoid(w'*x+b)))", "w",
     {"y": "scalar", "x": "vector(n)"}, 1, ("n",)),
    ("-(y*log(sigmoid(w'*x+b)) + (1-y)*log(1-sigmoid(w'*x+b)))", "b",
     {"y": "scalar", "x": "vector(n)"}, 1, ()),
    ("sum(X)", "X", {"X": "matrix(m,n)"}, 2, ("m", "n", "m", "n")),
]


@pytest.mark.parametrize("expr, wrt, decls, order, shape", RESULT_SHAPES,
                         ids=[f"{e} d{w}^{o}" for e, w, _, o, _ in RESULT_SHAPES])
def test_result_shape(expr, wrt, decls, order, shape):
    d = mc.derivative(expr, wrt, vars=decls, order=order)
    assert d.shape == shape


def test_result_shape_with_inferred_dims():
    d = mc.derivative("x'*A*x", "x")
    (n,) = d.variables["x"].shape
    assert d.shape == (n,)
    assert d.variables["A"].shape == (n, n)
    assert mc.derivative("x'*A*x", "x", order=2).shape == (n, n)


def test_expression_shape_and_variables():
    d = mc.derivative("A*x + b", "x", vars={"A": "matrix(m,n)"})
    assert d.expression_shape == ("m",)
    assert d.variables["b"].kind == "vector" and d.variables["b"].shape == ("m",)
    assert d.variables["x"].shape == ("n",)
    assert d.kind == "jacobian"


def test_kinds_of_result():
    assert mc.derivative("x'*x", "x").kind == "gradient"
    assert mc.derivative("x'*x", "x", order=2).kind == "hessian"
    assert mc.derivative("alpha^2", "alpha").kind == "derivative"
