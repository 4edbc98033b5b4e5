"""Matrix functions expm logm sqrtm and their Fréchet derivatives (ops/matfun.py): the
rows, the VJPs against finite differences of SciPy's functions, the rewrites of
matfun_rewrites.py, every backend's code, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from corpus_support import runner

import matrixcalculus as mc
from matrixcalculus import ops

TYPES = {"S": "symmetric(n)", "A": "matrix(n,n)", "x": "vector(n)", "X": "matrix(n,n)",
         "E": "matrix(n,n)", "B": "matrix(m,m)", "t": "scalar"}


def V(names: str) -> dict[str, str]:
    """The declarations of the named variables ("AX": A and X)."""
    return {n: TYPES[n] for n in names}


def _spd(rng, n=3):
    g = rng.standard_normal((n, n))
    return g @ g.T / n + 0.5 * np.eye(n)


def _fd(f, x, sym=False, h=1e-6):
    """Central differences of a scalar function of a matrix (symmetrised directions)."""
    g = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            d = np.zeros_like(x)
            d[i, j] = 1.0
            if sym:
                d = (d + d.T) / 2
            g[i, j] = (f(x + h * d) - f(x - h * d)) / (2 * h)
    return g


def test_rows_and_arities():
    for f in ("expm", "logm", "sqrtm"):
        r = ops.row(f)
        assert r.kind == "primitive" and r.arity == (1,) and r.frechet == "d" + f
        # dexpm(X, E1, ..., Ek): the k-th Fréchet derivative, one row for every order
        assert ops.row("d" + f).arity[0] == 2 and ops.row("d" + f).typing == "square2"
    assert mc.expression("dexpm(X, E)", vars=V("XE")).shape == ("n", "n")


@pytest.mark.parametrize("f, scipy_f, sym", [
    ("expm", scipy.linalg.expm, False),
    ("logm", scipy.linalg.logm, True),
    ("sqrtm", scipy.linalg.sqrtm, True),
    ("logm", scipy.linalg.logm, False),     # a general matrix with positive eigenvalues
])
def test_gradient_matches_finite_differences(f, scipy_f, sym):
    rng = np.random.default_rng(1)
    name = "S" if sym else "X"
    a = rng.standard_normal((3, 3))
    x = _spd(rng) if sym else (np.eye(3) * 2 + 0.3 * rng.standard_normal((3, 3)))
    d = mc.derivative(f"tr(A*{f}({name}))", name, vars=V("A" + name))
    want = _fd(lambda m: np.trace(a @ np.real(scipy_f(m))), x, sym)
    got = d.evaluate(A=a, **{name: x})
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    for backend in ("numpy", "torch", "jax", "dask"):
        np.testing.assert_allclose(runner(d, backend)(A=a, **{name: x}), want,
                                   rtol=1e-6, atol=1e-8, err_msg=backend)


@pytest.mark.parametrize("f", ["dexpm", "dlogm", "dsqrtm"])
def test_frechet_derivatives_are_linear_in_the_direction(f):
    """L_f(X, E) matches differences of f along E, and its gradient wrt E is L_f(X', G)."""
    rng = np.random.default_rng(2)
    x, e, a = _spd(rng), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    fn = {"dexpm": scipy.linalg.expm, "dlogm": scipy.linalg.logm,
          "dsqrtm": scipy.linalg.sqrtm}[f]
    h = 1e-6
    value = mc.expression(f"{f}(X, E)", vars=V("XE")).evaluate(X=x, E=e)
    np.testing.assert_allclose(value, np.real(fn(x + h * e) - fn(x - h * e)) / (2 * h),
                               rtol=1e-6, atol=1e-8)
    d = mc.derivative(f"tr(A*{f}(X, E))", "E", vars=V("AXE"))
    assert str(d).startswith(f"{f}(X', A')") or "X" in str(d)
    want = _fd(lambda m: np.trace(a @ mc.expression(f"{f}(X, E)", vars=V("XE"))
                                  .evaluate(X=x, E=m)), e)
    np.testing.assert_allclose(d.evaluate(A=a, X=x, E=e), want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("expr, wrt, vars_, want", [
    ("tr(expm(X))", "X", "X", "expm(X)'"),                      # trace: identity direction
    ("tr(A*expm(X))", "X", "AX", "dexpm(X', A')"),
    ("tr(sqrtm(S))", "S", "S", "0.5*inv(sqrtm(S))"),
    ("tr(logm(S))", "S", "S", "inv(S)"),
    ("x'*logm(S)*x", "S", "xS", "dlogm(S, x*x')"),              # symmetric: no (D + D')/2
    ("tr(A*expm(X'))", "A", "AX", "expm(X)"),                    # f(X') = f(X)'
    ("expm(t*A)", "t", "tA", "expm(t*A)*A"),                     # a commuting direction
    ("tr(dexpm(X, E))", "E", "XE", "expm(X)'"),
])
def test_rewrites_keep_answers_short(expr, wrt, vars_, want):
    d = mc.derivative(expr, wrt, vars=V(vars_))
    assert str(d) == want
    assert d.check(points=2).ok


def test_second_derivative_through_a_commuting_direction():
    d = mc.derivative("x'*expm(t*A)*x", "t", vars=V("xtA"), order=2)
    assert "A^2" in str(d) and "dexpm" not in str(d), str(d)
    assert d.check(points=2).ok


def test_jacobian_of_a_matrix_function_is_one_batched_node():
    d = mc.derivative("expm(X)", "X", vars=V("X"))
    assert str(d).startswith("D[i,j,k,l] = dexpm(X', [p,q] -> ")
    assert d.check(points=2).ok


def test_logm_off_the_principal_branch_is_a_domain_error():
    e = mc.expression("tr(logm(X))", vars=V("X"))
    with pytest.raises(mc.EvaluationError, match=r"logm of a matrix with an eigenvalue on "
                       r"\(-inf, 0\] in logm\(X\)"):
        e.evaluate(X=np.diag([1.0, -2.0, 3.0]))
    with pytest.raises(mc.EvaluationError, match="sqrtm of a matrix with an eigenvalue"):
        mc.expression("sqrtm(X)", vars=V("X")).evaluate(X=-np.eye(3))


def test_check_draws_spd_for_a_symmetric_argument_of_logm():
    d = mc.derivative("tr(A*logm(S))", "S", vars=V("AS"))
    report = d.check(points=3)          # no domains given: S is drawn SPD
    assert report.ok, report


def test_dexpm_needs_square_matrices_of_one_size():
    with pytest.raises(mc.ShapeError, match="two square matrices of one size"):
        mc.expression("dexpm(X, B)", vars=V("XB"))


@pytest.mark.parametrize("expr, names", [
    ("logm(S)", "S"), ("sqrtm(S)", "S"), ("logm(X)", "X"), ("sqrtm(X)", "X"),
    ("expm(X)", "X"), ("dexpm(X, E)", "XE"), ("dlogm(S, E)", "SE"), ("dlogm(X, E)", "XE"),
    ("dsqrtm(S, E)", "SE"), ("dsqrtm(X, E)", "XE"),
])
def test_the_jax_helpers_trace_under_jit(expr, names):
    # a Python `if` on a traced value (jnp.allclose, jnp.any) fails under jax.jit: the
    # helpers choose eigh/eig by lax.cond and give NaN off the branch by a where
    import jax

    jax.config.update("jax_enable_x64", True)
    e = mc.expression(expr, vars=V(names))
    ns: dict = {}
    exec(compile(e.code("jax"), "<generated>", "exec"), ns)  # noqa: S102 - our own code
    fn = jax.jit(ns[e.func_name])
    rng = np.random.default_rng(5)
    args = {"S": _spd(rng), "E": rng.standard_normal((3, 3)),
            "X": np.eye(3) * 2 + 0.3 * rng.standard_normal((3, 3))}
    got = np.asarray(fn(**{n: args[n] for n in e.variables}))
    want = e.evaluate(**{n: args[n] for n in e.variables})
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    if "S" in names and "exp" not in expr:       # off the branch: NaN, under jit too
        bad = np.asarray(fn(**{n: -args[n] if n == "S" else args[n] for n in e.variables}))
        assert np.all(np.isnan(bad))


def test_the_rewrites_know_matrix_functions_from_the_rows_not_the_spelling():
    from matrixcalculus import matfun_rewrites as R

    assert R.FRECHET_OF == {r.frechet: r.name for r in ops.rows() if r.frechet}
    assert R.FRECHET_OF == {"dexpm": "expm", "dlogm": "logm", "dsqrtm": "sqrtm"}
    x = mc.expression("X", vars=V("X")).ir
    for r in ops.rows():
        if r.kind != "primitive" or r.arity != (1,) or r.own or r.typing != "square":
            continue
        node = r.lower(x, shape=None)
        # det, detd, diag...: no Fréchet row, whatever their spelling
        want = r.name if r.frechet else None
        assert R._function(node) == (want if node.op == "prim" else None), r.name


def test_index_form_of_a_frechet_derivative_binds_its_direction_labels():
    # p, q of `[p,q] -> ...` are bound, not summed: no "summing over" for them, and the
    # LaTeX binds them too (e_i e_j^T, or the matrix [...]_{pq})
    d = mc.derivative("expm(X)", "X", vars=V("X"))
    assert str(d) == "D[i,j,k,l] = dexpm(X', [p,q] -> δ(i,p)*δ(j,q))[k,l]"
    assert r"e_{i} e_{j}^{\top}" in d.latex() and r"\delta_{ip}" not in d.latex()
    d = mc.derivative("expm(X)*A*X", "X", vars=V("AX"))
    assert "summing" not in str(d) and r"\right]_{pq}" in d.latex(), d.latex()
    d = mc.derivative("expm(X'*A)", "X", vars=V("AX"))      # one summed label besides
    assert str(d).endswith("*A[k,p]   (summing over p)"), str(d)


def test_a_scalars_derivative_through_a_frechet_derivative_has_a_matrix_form():
    # reverse mode leaves <ones*ones', L(C', G)>: the adjoint swap takes a direction built
    # from factors (or the ones the normal form dropped) to print L(C, ones(3, 3))
    v = {"a": "scalar", "S": "symmetric(3)", "C": "matrix(3,3)"}
    d = mc.derivative("dexpm(eye(3) + 0.5*ones(3, 3), a + S)*S", "a",
                      vars={k: v[k] for k in "aS"})
    assert str(d) == "dexpm(0.5 + eye(3), ones(3, 3))*S" and d.check(points=2).ok
    d = mc.derivative("dexpm(C, a*ones(3,3))", "a", vars={k: v[k] for k in "aC"})
    assert str(d) == "dexpm(C, ones(3, 3))" and d.check(points=2).ok


@pytest.mark.parametrize("expr, order, wanted", [
    ("norm2(expm(t*A)*x - y)^2", 1, "2*(expm(t*A)*x - y)'*A*expm(t*A)*x"),
    ("x'*expm(t*A)*x", 2, "x'*A^2*expm(t*A)*x"),
])
def test_the_issue_examples_read_t_as_a_scalar_undeclared(expr, order, wanted):
    """Issue 16's commands declare nothing: t in `expm(t*A)` is a scalar (a lowercase
    Latin name that a use keeps from being a vector is a scalar before a matrix, where
    both type-check), the answer is the wanted one's value, and a note says how t was read."""
    d = mc.derivative(expr, "t", order=order)
    assert d.variables["t"].kind == "scalar" and d.variables["t"].origin == "use"
    assert d.variables["A"].shape == ("n", "n")
    assert any(n.startswith("t is read as a scalar") for n in d.notes)
    assert d.check().ok
    rng = np.random.default_rng(0)
    vals = {"t": 0.3, "A": rng.standard_normal((3, 3)) / 3,
            "x": rng.standard_normal(3), "y": rng.standard_normal(3)}
    used = {k: v for k, v in vals.items() if k in d.variables}
    want = mc.expression(wanted, vars={k: TYPES.get(k, "vector(n)") for k in used})
    assert np.allclose(d.evaluate(**used), want.evaluate(**used))
