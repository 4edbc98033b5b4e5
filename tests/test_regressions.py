"""Regression tests for the bugs found by the differential test (test_differential.py) and
the fuzzers (test_fuzz.py, fuzz/atheris_fuzz.py): each with the smallest input that
showed it.  Every derivative here is checked against central differences of the
expression's own value, and its printed answer must parse back to the same values."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc

SIZES = {"n": 3, "m": 2, "k": 4}


def _arrays(d, seed=0, positive=()):
    rng = np.random.default_rng(seed)
    out = {}
    for name, info in d.variables.items():
        shape = tuple(SIZES[s] if isinstance(s, str) else s for s in info.shape)
        a = rng.uniform(0.5, 2.0, shape) if name in positive else rng.standard_normal(shape)
        if info.kind == "symmetric":
            a = (a + a.T) / 2
        out[name] = np.asarray(a, dtype=np.float64)
    for dim in d.free_dims:          # a dimension no variable carries (`diag(eye(n))`)
        out[dim] = SIZES[dim]
    return out


def _finite_differences(expr, wrt, vars_, arrays, h=1e-6):
    f = mc.expression(expr, vars=vars_)
    args = {k: v for k, v in arrays.items() if k in f.variables or k in f.free_dims}
    w = args[wrt]
    out = f.evaluate(**args)
    jac = np.zeros(out.shape + w.shape)
    for idx in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[idx] = h
        plus = f.evaluate(**{**args, wrt: w + e})
        minus = f.evaluate(**{**args, wrt: w - e})
        jac[(...,) + idx] = (plus - minus) / (2 * h)
    return jac


def check(expr, wrt, vars_=None, positive=()):
    """The derivative matches central differences; its printed answer parses back to the
    same values.  Returns the Derivative."""
    d = mc.derivative(expr, wrt, vars=vars_)
    arrays = _arrays(d, positive=positive)
    got = d.evaluate(**arrays)
    want = _finite_differences(expr, wrt, vars_, arrays)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=str(d))
    assert d.is_matrix_form, str(d)
    again = mc.expression(str(d), vars=vars_)
    assert again.shape == d.shape
    np.testing.assert_allclose(again.evaluate(**{k: v for k, v in arrays.items()
                                                  if k in again.variables
                                                  or k in again.free_dims}),
                               got, rtol=1e-9, atol=1e-12, err_msg=str(d))
    return d


# ------------------------------------------------------------------ ir/build.py
def test_diag_of_eye_is_a_vector_of_ones():
    # delta[i,i] with i only an output label was dropped without a trace, so diag(eye(n))
    # lowered to the scalar 1: `x + diag(eye(n))` was an internal error, and
    # `b*diag(eye(n))` wrt b printed the scalar `1` for an (n,) answer
    e = mc.expression("x + diag(eye(n))", vars={"x": "vector(n)"})
    assert e.shape == ("n",)
    np.testing.assert_allclose(e.evaluate(x=np.zeros(3)), np.ones(3))
    d = check("b*diag(eye(n))", "b", {"b": "scalar"})
    assert d.shape == ("n",)
    check("(x - exp(b)).*diag(C - eye(n))", "b",
          {"b": "scalar", "x": "vector(n)", "C": "matrix(n,n)"})


def test_ones_to_a_power_is_ones():
    # ones(n).*ones(n) merged into ones(n).^2 and stayed so in answers
    d = check("b*ones(n).*diag(eye(n))", "b", {"b": "scalar"})
    assert str(d) == "ones(n)"
    # a zero answer prints as 0
    assert str(mc.derivative("sum(ones(n).^x)", "x", vars={"x": "vector(n)"})) == "0"


def test_overflowing_constants_are_a_limit_error():
    # 1e308*alpha*10 wrt alpha printed `inf`, which does not parse back
    for expr in ("1e308*alpha*10", "alpha*1e200*1e200", "alpha^1e308*2"):
        with pytest.raises(mc.LimitError, match="overflows"):
            mc.derivative(expr, "alpha")


def test_underflowing_coefficient_is_not_zero():
    # ((2*alpha)^-5000)' = -10000*2^-5000*alpha^-5001 folded 2^-5000 to 0: the answer was 0
    d = mc.derivative("(2*alpha)^-5000", "alpha")
    assert str(d) != "0"
    assert d.evaluate(alpha=np.array(0.25)) < 0


# ------------------------------------------------------------------ raising.py
def test_broadcast_constant_keeps_its_summed_dimension():
    # a*(x + sum(ones(k))) wrt a printed `1 + x`: the broadcast k*ones(n) lost its k
    d = check("a*(x + sum(ones(k)))", "a", {"a": "scalar", "x": "vector(n)"})
    assert "sum(ones(k))" in str(d)
    check("log(x + sum(ones(k)))", "x", {"x": "vector(n)"}, positive="x")


def test_transpose_of_elementwise_power_with_matrix_exponent():
    # (X.^Y)' was raised as X'.^Y: `sum(a.^x)` wrt a printed `(a*ones(n)').^(x - 1)*x`,
    # which is a shape error when parsed back
    v = {"a": "scalar", "x": "vector(n)", "B": "matrix(n,k)"}
    check("sum(a.^x)", "a", {k: v[k] for k in "ax"}, positive="a")
    check("(x'.^a)*B", "a", v, positive="x")
    check("sum(a.^B)", "a", {k: v[k] for k in "aB"}, positive="a")


def test_scalar_to_a_vector_power_prints_as_a_scalar_base():
    d = check("a.^x", "a", {"a": "scalar", "x": "vector(n)"}, positive="a")
    assert str(d) == "x.*a.^(x - 1)"


# ------------------------------------------------------------------ printers/index.py
def test_index_notation_for_products_over_many_labels():
    # a product summing over more labels than the 16 letters p, q, ... raised
    # StopIteration out of str(d): x*x'*tr(A*...*A) (17 factors) wrt x
    d = mc.derivative("x*x'*tr(" + "*".join(["A"] * 17) + ")", "x")
    # (the trace, shared by both terms, pulled out of their sum once)
    assert str(d).startswith("D[i,j,k] = (x[j]*δ(i,k) + x[i]*δ(j,k))*")


def test_index_notation_of_a_zero_tensor():
    # abs(x') wrt x, order 2, printed `D[i,j,k] = <zero>`
    d = mc.derivative("abs(x')", "x", vars={"x": "vector(4)"}, order=2)
    assert str(d) == "0"          # a zero answer prints as 0, of any shape


def test_difference_of_equal_terms_is_zero():
    # coef_and_base(-1*x) gave a non-canonical wrapper instead of x, so x - x was not
    # collected: `exp(x - x).*x` wrt x printed `diag(exp(x - x))`
    for expr in ("x - x", "-x + x", "x - 2*x + x", "A - A"):
        assert mc.expression(expr).ir.op == "zero", expr
    assert str(mc.derivative("exp(x - x).*x", "x")) == "eye(n)"
    assert str(mc.derivative("x'*A*x - x'*A*x + sum(x)", "x")) == "ones(n)"


def _torch_value(obj, **arrays):
    torch = pytest.importorskip("torch")
    ns: dict = {}
    exec(obj.code("torch"), ns)  # noqa: S102
    args = {v: torch.tensor(arrays[v], dtype=torch.float64) for v in obj.variables}
    return np.asarray(ns[obj.func_name](**obj.keywords(args)))


def test_function_of_a_zero_folds():
    # abs(1.^2 - 1) kept abs() of a zero node, which the PyTorch code wrote as
    # torch.abs(0.0): a TypeError (torch functions take tensors, not floats)
    e = mc.expression("exp(tanh(abs(1.^2 - s1)./exp(cos(a.^-1)))) where s1 = 1.^2",
                      vars={"a": "scalar"})
    assert e.ir.op == "const" and e.ir.params == (1.0,)
    d = mc.derivative("sigmoid(a - a)*a", "a", vars={"a": "scalar"})
    assert str(d) == "0.5"
    assert _torch_value(d, a=np.array(0.3)) == 0.5
    d = mc.derivative("sigmoid(a - a).*x", "x", vars={"a": "scalar", "x": "vector(n)"})
    np.testing.assert_allclose(_torch_value(d, a=np.array(0.3), x=np.ones(2)), 0.5 * np.eye(2))


# ------------------------------------------------------------------ printers/text.py
def test_multiline_answer_parses_back():
    # the multi-line form put each where-definition on its own line without the commas
    # that separate them, so `d.text(multiline=True)` did not parse back
    d = mc.derivative("tan(cos(a))", "a", vars={"a": "scalar"}, order=3)
    text = d.text(multiline=True)
    assert "\nwhere " in text and text.count("\n") == 2
    again = mc.expression(text, vars={"a": "scalar"})
    one_line = mc.expression(str(d), vars={"a": "scalar"})
    assert again.ir is one_line.ir


# ------------------------------------------------------------------ printers/index.py
def test_index_notation_nested_products_do_not_reuse_summed_names():
    # each product named its summed labels from p again, so a product nested in a sum
    # that is itself summed over p printed `A[i,p]*B[p,j]*C[p,p]`: two different indices
    # both called p (seen in the gradient of det(det(...)*((A*B.*(C+C))'*(A*B.*(C+C)) ...)
    from matrixcalculus.ir import build as B
    from matrixcalculus.printers import render
    A, Bm, C = (B.var(v, ("n", "n")) for v in "ABC")
    y, z = B.var("y", ("n",)), B.var("z", ("n",))
    inner = B.add([B.einsum([A, Bm, C], [(0, 3), (3, 1), (2, 3)], (0, 1, 2)),
                   B.einsum([A, z], [(0, 1), (2,)], (0, 1, 2))])
    d = B.einsum([inner, y], [(0, 1, 2), (2,)], (0, 1))
    assert render(d).text.startswith(
        "D[i,j] = (z[p]*A[i,j] + A[i,q]*B[q,j]*C[p,q])*y[p]")


# ------------------------------------------------------------------ simplify.py
def _second_derivative_matches(expr, wrt, v, arrays, h=1e-6):
    d2 = mc.derivative(expr, wrt, vars=v, order=2)
    d1 = mc.derivative(expr, wrt, vars=v)
    w = arrays[wrt]
    fd = np.stack([(d1.evaluate(**{**arrays, wrt: w + h * e}) -
                    d1.evaluate(**{**arrays, wrt: w - h * e})) / (2 * h)
                   for e in np.eye(w.size).reshape((w.size,) + w.shape)], axis=-1)
    got = d2.evaluate(**arrays)
    np.testing.assert_allclose(got, fd.reshape(got.shape), rtol=1e-5, atol=1e-7)
    return d2


def test_product_through_a_sum_of_order_three_is_distributed():
    # the second derivative of a vector wrt a scalar went through the rank-3 adjoint of
    # diag(...): distributing it over its 50-odd terms exceeded the expansion budget, and
    # the answer came out in index notation with `<var>` and `<func>` placeholders
    v = {"a": "scalar", "S": "matrix(n,n)"}
    arrays = {"a": np.array(0.7), "S": np.random.default_rng(2).standard_normal((3, 3))}
    d2 = _second_derivative_matches("diag(sigmoid(exp(tanh(a*S))))", "a", v, arrays)
    assert d2.is_matrix_form, str(d2)
    again = mc.expression(str(d2), vars=v)
    np.testing.assert_allclose(again.evaluate(**arrays), d2.evaluate(**arrays), rtol=1e-9)


def test_factoring_keeps_a_matrix_form():
    # the simplifier priced a candidate without a matrix form by its tree size only, so
    # it could factor a Hessian through a 3-index sum: logsumexp(x'.*x'*log(A)) wrt x,
    # order 2, came out in index notation, `D[i,j] = (2*x[i]*x[j]*(log(A))[j,p]*...`
    v = {"x": "vector(n)", "A": "matrix(n,m)"}
    expr = "logsumexp(x'.*x'*log(A))"
    d2 = mc.derivative(expr, "x", vars=v, order=2)
    assert d2.is_matrix_form, str(d2)
    d1 = mc.derivative(expr, "x", vars=v)
    arrays = {"x": np.array([0.3, -0.5, 0.8]),
              "A": np.random.default_rng(1).uniform(0.5, 2.0, (3, 2))}
    h = 1e-6
    fd = np.stack([(d1.evaluate(**{**arrays, "x": arrays["x"] + h * e}) -
                    d1.evaluate(**{**arrays, "x": arrays["x"] - h * e})) / (2 * h)
                   for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(d2.evaluate(**arrays), fd, rtol=1e-5, atol=1e-7)
    again = mc.expression(str(d2), vars=v)
    np.testing.assert_allclose(again.evaluate(**arrays), d2.evaluate(**arrays), rtol=1e-9)


def test_index_notation_of_a_diagonal_factor():
    # a factor with a repeated index that is not a product (X[p,p]) printed as `<var>`
    from matrixcalculus.ir import build as B
    from matrixcalculus.ir import functions as F
    from matrixcalculus.printers import render
    X = B.var("X", ("n", "n"))
    y, z = B.var("y", ("n",)), B.var("z", ("n",))
    t = B.add([B.einsum([X, y], [(0, 1), (2,)], (0, 1, 2)),
               B.einsum([X, z], [(0, 1), (2,)], (0, 1, 2))])
    d = B.einsum([t, X, F.func("exp", X)], [(0, 1, 2), (1, 1), (2, 2)], (0,))
    text = render(d).text
    assert "<" not in text
    assert text.startswith("D[i] = X[p,p]*(") and text.count("E[q,q]") == 1
    assert text.endswith(" where E = exp(X)   (summing over p, q)"), text   # a call is named


# ------------------------------------------------------------------ growth (issue 6)
def _nested(template: str, inner: str, d: int) -> str:
    for i in range(1, d + 1):
        inner = template.format(i=i, inner=inner)
    return inner


def test_nested_repeats_are_each_named_once():
    # naming counted a use inside a larger named expression once per larger name it sat
    # in, so in `a'*inv(B4 + ... inv(B1 + X))*b` wrt X only some of the Yk were named
    # and the answer was quadratic in the depth (inv(inv(inv(X + B1) + B2) + B3) ...)
    d = 8
    expr = f"a'*{_nested('inv(B{i} + {inner})', 'X', d)}*b"
    v = {"a": "vector(n)", "b": "vector(n)", "X": "matrix(n,n)",
         **{f"B{i}": "matrix(n,n)" for i in range(1, d + 1)}}
    text = str(mc.derivative(expr, "X", vars=v))
    body, _, defs = text.partition(" where ")
    assert defs.count("inv(") == d and "inv(" not in body, text
    assert all(f"inv({'X' if i == 1 else 'Y'}" in defs for i in range(1, d + 1)), text
    check(f"a'*{_nested('inv(B{i} + {inner})', 'X', 3)}*b", "X",
          {k: t for k, t in v.items() if not (k[0] == "B" and int(k[1:]) > 3)})


def test_names_that_no_longer_pay_are_inlined():
    # a name chosen for its full size paid nothing once a smaller name shortened its
    # definition: `... where e = exp(s), s = sigmoid(x)` wrote exp(s) twice as `e`
    d = mc.derivative("-log(exp(sin(exp(sigmoid(x')))))", "x", vars={"x": "vector(n)"})
    assert str(d) == "-diag(s.*exp(s).*(1 - s).*cos(exp(s))) where s = sigmoid(x)"


def test_inert_sums_are_not_distributed():
    # the Jacobian of sum(tanh(W4*tanh(...tanh(W1*x)))) holds one `1 - t.^2` per layer;
    # distributing over all of them (2^4 terms, then factored back) made depth 4 slower
    # than depth 8, where the term budget stopped it early
    from matrixcalculus import simplify
    priced = []
    orig = simplify.Pricer.__call__

    def counting(self, n):
        priced.append(n)
        return orig(self, n)
    d = 5
    v = {"x": "vector(n)", **{f"W{i}": "matrix(n,n)" for i in range(1, d + 1)}}
    simplify.Pricer.__call__ = counting
    try:
        text = str(mc.derivative(f"sum({_nested('tanh(W{i}*{inner})', 'x', d)})", "x",
                                 vars=v))
    finally:
        simplify.Pricer.__call__ = orig
    assert len(priced) <= 4, len(priced)
    assert text.count("diag(1 - t") == d - 1, text
    # a sum that shares a base with the rest of its product is still distributed
    assert str(mc.derivative("sigmoid(u'*v + b)", "u", vars={"u": "vector(n)",
                             "v": "vector(n)", "b": "scalar"})) == \
        "s*(1 - s)*v where s = sigmoid(u'*v + b)"
    assert str(mc.derivative("0.5*(x - mu)'*inv(S)*(x - mu)", "mu",
                             vars={"S": "matrix(n,n)", "x": "vector(n)",
                                   "mu": "vector(n)"})) == \
        "0.5*(inv(S) + inv(S)')*(mu - x)"


# ------------------------------------------------------------------ numbers in answers
@pytest.mark.parametrize("expr,v,want", [
    # a term's coefficient and the number its base raised to were printed side by side
    ("log(0.5 + norm2(x))", {"x": "vector(n)"}, None),
    # transposing `8*A'*A*...` pushed the 8 into the middle: `A*x*x'*A'*8*A`
    ("sum((A*x).^2)^2", {"x": "vector(n)", "A": "matrix(m,n)"},
     "A'*(4*A*sum((A*x).^2) + 8*A*x*x'*A'*A)"),
    ("norm2(A*x - b)^4", {"x": "vector(n)", "A": "matrix(m,n)", "b": "vector(m)"},
     # (the transposed sum kept as (...)': a token shorter than its terms transposed; the
     # residual named)
     "(4*r'*r*A + 8*r*r'*A)'*A where r = A*x - b"),
])
def test_numbers_of_a_product_are_folded_in_front(expr, v, want):
    import re
    rng = np.random.default_rng(3)
    arrays = {"x": rng.uniform(0.5, 1.5, 3), "A": rng.standard_normal((2, 3)),
              "b": rng.standard_normal(2)}
    arrays = {k: a for k, a in arrays.items() if k in v}
    d2 = _second_derivative_matches(expr, "x", v, arrays)
    text = str(d2)
    # no number next to another (`2*0.5*`), none in the middle of a product (`A'*8*A`)
    assert not re.search(r"(?<![\w.])\d+(\.\d+)?\*\d", text), text
    assert not re.search(r"[\w')]\*\d", text), text
    if want is not None:
        assert text == want
    again = mc.expression(text, vars=v)
    np.testing.assert_allclose(again.evaluate(**arrays), d2.evaluate(**arrays), rtol=1e-9)


# ------------------------------------------------------------------ language/typecheck.py
@pytest.mark.parametrize("expr,kinds", [
    # a scalar base made a vector-spelled exponent a scalar (`sum(alpha.^x)` summed one
    # number), while a scalar exponent left a vector-spelled base alone (`x.^alpha`)
    ("sum(alpha.^x)", {"alpha": "scalar", "x": "vector"}),
    ("sum((u'*v).^x)", {"u": "vector", "v": "vector", "x": "vector"}),
    ("sum(x.^alpha)", {"x": "vector", "alpha": "scalar"}),
    ("sum(x.^(u'*v))", {"x": "vector", "u": "vector", "v": "vector"}),
    ("sum(x.^p)", {"x": "vector", "p": "vector"}),
    ("x.^a", {"x": "vector", "a": "vector"}),
    ("sum(2.^x)", {"x": "vector"}),
    # the guess stays where it belongs: a bias or weight beside a scalar
    ("u'*v + b", {"u": "vector", "v": "vector", "b": "scalar"}),
    # a bare product is not a loss (LANGUAGE.md v2 rule 3 needs a sum): b keeps its spelling
    ("(u'*v).*b", {"u": "vector", "v": "vector", "b": "vector"}),
    ("alpha.^x + x^2", {"alpha": "scalar", "x": "scalar"}),
])
def test_elementwise_power_keeps_spelled_kinds(expr, kinds):
    e = mc.expression(expr)
    assert {k: v.kind for k, v in e.variables.items()} == kinds


def test_scalar_base_to_a_vector_power():
    d = check("sum(alpha.^x)", "x", {"alpha": "scalar", "x": "vector(n)"}, positive="alpha")
    assert d.shape == ("n",)
    d = mc.derivative("sum(alpha.^x)", "x")
    assert d.shape == ("n",) and d.variables["x"].kind == "vector"


def test_a_transposed_sum_is_the_sum_of_transposes():
    """(A + A')' was kept whole, so x'*(A + A')*x had the gradient (A' + A + A + A')*x."""
    assert str(mc.derivative("x'*(A+A')*x", "x")) == "2*(A + A')*x"


def test_a_folded_zero_given_to_a_torch_function_is_a_tensor():
    """max(a - a, a): the folded 0 reached torch.maximum as a bare float (long mode)."""
    d = mc.derivative("max(a - a, a)", "a", vars={"a": "scalar"})
    assert d.check(points=3).ok
    assert "torch.maximum(torch.tensor(0.0" in mc.expression("max(a - a, a)",
                                                             vars={"a": "scalar"}).code("torch")


def test_pi_prints_by_name():
    """Undeclared pi is the constant: kept as a named number, so 2*pi is not 6.283185..."""
    d = mc.derivative("w'*sin(2*pi*x)", "x", vars={"w": "vector(n)", "x": "vector(n)"})
    assert str(d) == "2*pi*w.*cos(2*pi*x)"
    assert d.check(points=2).ok
    assert "3.141592653589793" in d.code("numpy")


# ------------------------------------------------------------------ axis functions (v2)
def test_logsumexp_down_the_columns_prints_as_a_column_where_one_is_meant():
    # logsumexp(X, 1) is a row; the answer used it where the IR has a (column) vector:
    # `exp(x.*z).*z where z = logsumexp(A, 1)` did not parse back, and
    # `sqrt(z'*z/n)` parsed back as a matrix
    v = {"A": "matrix(m,n)", "x": "vector(n)"}
    check("sum(exp(x'.*logsumexp(A, 1)))", "x", v)
    d = check("norm2(logsumexp(S, 1)/sqrt(n))*a", "a", {"a": "scalar", "S": "symmetric(n)"})
    assert d.shape == ()
    assert str(mc.derivative("logsumexp(A, 1)*x", "x", vars=v)) == "logsumexp(A, 1)'"


def test_an_elementwise_alias_of_an_axis_reduced_column_expands():
    # arctan(sum(X, 2)) was a plain column (the aliases were not elementwise calls)
    check("sum(X - arctan(sum(X, 2)))", "X", {"X": "matrix(n,m)"})


def test_the_persons_where_names_are_kept_in_answers():
    # LANGUAGE.md: a name the person defined in their own where keeps that name in the
    # answer (the answer named sigmoid(A*x) `s`, its row's letter, where the person wrote q)
    d = mc.derivative("sum(q.*exp(q)) where q = sigmoid(A*x)", "x")
    assert str(d) == "A'*(q.*exp(q).*(1 - q).*(q + 1)) where q = sigmoid(A*x)"
    assert mc.derivative("sum(exp(u)) where u = tanh(x)", "x").check(points=2).ok
    assert str(mc.derivative("sum(exp(u)) where u = tanh(x)", "x")) == \
        "exp(u).*(1 - u.^2) where u = tanh(x)"
    v = {"X": "matrix(n,d)", "G": "matrix(n,d)", "g": "vector(d)", "b": "vector(d)"}
    d = mc.derivative("sum(G.*(Y.*g' + b')) where Xc = X - mean(X, 2), "
                      "s = sqrt(mean(Xc.^2, 2) + 1e-5), Y = Xc./s", "g", vars=v)
    assert "where Xc = X - mean(X, 2)" in str(d)


def test_an_hvp_direction_never_takes_a_where_name():
    # the direction defaulted to dx while the person's where-name dx = exp(A*x) was kept:
    # read back, one name meant two things
    h = mc.derivative("sum(dx.*dx)*sum(dx) where dx = exp(A*x)", "x", order=2).hvp()
    assert h.direction != "dx" and "where dx = exp(A*x)" in str(h)
    assert h.check(points=2).ok


def test_a_where_name_of_a_row_is_not_kept_for_a_column():
    # r = x'*A is a row; answers write vectors as columns, so r would change its meaning
    d = mc.derivative("sum(exp(r)) + sum(sin(r)) where r = x'*A", "x")
    assert "where r = A'*x" not in str(d)
    assert d.check(points=2).ok


def test_a_comma_list_is_a_mixed_derivative_in_python_too():
    assert mc.derivative("x'*A*y", "x, y").wrt == ("x", "y")
    assert str(mc.derivative("x'*A*y", "x, y")) == "A"


def test_index_letters_never_clash_with_dimension_names():
    # LANGUAGE.md: index notation's letters never clash with dimension names (D[i,j,k,l]
    # beside X: matrix(n,k) read k two ways)
    d = mc.derivative("A*X*B", "X", vars={"A": "matrix(m,n)", "X": "matrix(n,k)",
                                           "B": "matrix(k,p)"})
    head = str(d).split(" = ")[0]
    assert head == "D[i,j,l,x]" and not {"m", "n", "k", "p"} & set(str(d).replace("δ", ""))
