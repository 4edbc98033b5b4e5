"""evaluate() fails as a MatrixCalculusError saying what and where; det's derivatives are
evaluated stably (from an SVD: codegen/det_kernels.py), also at singular matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.ops import row

torch = pytest.importorskip("torch")
from torch.func import jacfwd, jacrev  # noqa: E402


def _leibniz_det(x):
    """det as its polynomial: torch autograd of it is exact at every order (torch's own
    det is stable to order 2, not beyond)."""
    n = x.shape[0]
    total = 0
    for p in itertools.permutations(range(n)):
        inv = sum(p[a] > p[b] for a in range(n) for b in range(a + 1, n))
        term = (-1.0) ** inv
        for i in range(n):
            term = term * x[i, p[i]]
        total = total + term
    return total


def _autograd(f, x: np.ndarray, order: int, det=torch.linalg.det) -> np.ndarray:
    g = jacrev(f)
    for _ in range(order - 1):
        g = jacfwd(g)
    return g(torch.tensor(x, dtype=torch.float64)).detach().numpy()


def _rel(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1.0))


RNG = np.random.default_rng(7)
N, K, M = 4, 2, 3


def _singular(n: int, rank: int) -> np.ndarray:
    return RNG.standard_normal((n, rank)) @ RNG.standard_normal((rank, n))


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("rank", [0, 1, 2, 3, 4])
def test_det_derivatives_at_singular_matrices(order, rank):
    X = _singular(N, rank) if rank else np.zeros((N, N))
    d = mc.derivative("det(X)", "X", order=order)
    ref = _autograd(_leibniz_det, X, order)
    assert _rel(d.evaluate(X=X), ref) < 1e-8
    if order <= 2 and rank >= N - 1:      # torch's own det, where its backward is defined
        assert _rel(d.evaluate(X=X), _autograd(torch.linalg.det, X, order)) < 1e-8


def test_det_prints_as_before():
    assert str(mc.derivative("det(X)", "X")) == "det(X)*inv(X)'"
    assert "detd" not in mc.derivative("det(X)", "X", order=2).text()
    assert "_detd(" in mc.derivative("det(X)", "X").code()


CASES = [
    # expression, wrt, declarations, torch function of the arrays (by name)
    ("det(u*u')", "u", {"u": "vector(n)"}, lambda a: torch.linalg.det(torch.outer(a["u"], a["u"]))),
    ("det(z*z')", "z", {"z": "vector(n)"}, lambda a: torch.linalg.det(torch.outer(a["z"], a["z"]))),
    ("det(A*A')", "A", {"A": "matrix(n,k)"}, lambda a: torch.linalg.det(a["A"] @ a["A"].T)),
    ("det(u*z'*ones(m,n))", "u", {"u": "vector(n)", "z": "vector(m)"},
     lambda a: torch.linalg.det(torch.outer(a["u"], a["z"]) @ torch.ones(M, N,
                                                                          dtype=torch.float64))),
]


@pytest.mark.parametrize("expr,wrt,decls,fn", CASES, ids=[c[0] for c in CASES])
def test_rank_deficient_det_hessians(expr, wrt, decls, fn):
    """Random differential testing found these off by 1e10 (det(X)*inv(X)' evaluated at a
    rank-deficient X) or crashing (a singular inv)."""
    d = mc.derivative(expr, wrt, vars=decls, order=2)
    shapes = {"u": (N,), "z": (N,) if wrt == "z" else (M,), "A": (N, K)}
    arrays = {v: RNG.standard_normal(shapes[v]) for v in d.variables}
    tens = {k: torch.tensor(v) for k, v in arrays.items()}

    def f(w):
        return fn({**tens, wrt: w})
    ref = jacfwd(jacrev(f))(tens[wrt]).detach().numpy()
    assert _rel(d.evaluate(**arrays), ref) < 1e-8


def _kernel(backend: str, **modules):
    """detd's kernel for a backend, from its row's helpers."""
    ns = dict(modules)
    for src in row("detd").helpers[backend].values():
        exec(src, ns)  # noqa: S102 - the row's own source
    return ns["_detd"]


def test_det_kernel_matches_across_backends():
    X = _singular(3, 2)
    numpy_detd = _kernel("numpy", np=np)
    torch_detd = _kernel("torch", torch=torch)
    for k in (1, 2, 3, 4):
        np.testing.assert_allclose(torch_detd(torch.tensor(X), k).numpy(), numpy_detd(X, k),
                                   atol=1e-12)
    da = pytest.importorskip("dask.array")
    dask_detd = _kernel("dask", np=np, da=da)
    np.testing.assert_allclose(dask_detd(da.from_array(X), 2).compute(), numpy_detd(X, 2),
                               atol=1e-12)


def test_detd_is_a_primitive_outside_the_language():
    from matrixcalculus.ir.functions import detd, inv
    from matrixcalculus.ir.leaves import var
    from matrixcalculus.ops import ALL
    from matrixcalculus.rules import VJP, vjp
    assert "detd" not in ALL                    # no one may call it
    X = var("X", ("n", "n"))
    d2 = detd(X, 2)
    assert d2.shape == ("n",) * 4 and d2.own == (2,) and d2.name == "detd"
    assert detd(X, 2) is d2 and detd(X, 1) is not d2 and d2.skey != detd(X, 1).skey
    assert inv(X).params == ("inv",)            # other primitives' params as before
    g = var("G", ("n",) * 4)
    assert vjp(d2, 0, g, VJP).args[1] is detd(X, 3)      # d detd(X, k) = detd(X, k + 1)
    with pytest.raises(mc.UnknownNameError, match="unknown function 'detd'"):
        mc.expression("detd(X)")


# ------------------------------------------------------------------ errors: what and where
def test_inv_of_a_singular_matrix():
    e = mc.expression("inv(X)*x")
    X = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(mc.SingularMatrixError) as info:
        e.evaluate(X=X, x=np.ones(2))
    assert isinstance(info.value, mc.EvaluationError)
    assert "inv of a singular matrix" in str(info.value) and "in inv(X)" in str(info.value)
    assert info.value.where == "inv(X)" and info.value.value is None


def test_log_of_a_negative_number_in_a_derivative():
    d = mc.derivative("log(1 - s)'*x", "x", vars={"s": "vector(n)", "x": "vector(n)"})
    assert str(d) == "log(1 - s)"
    with pytest.raises(mc.DomainError, match=r"log of a negative number in log\(1 - s\)"):
        d.evaluate(s=np.array([2.0, 0.5]), x=np.ones(2))
    g = mc.derivative("log(x'*x - 10)", "x")
    with pytest.raises(mc.NumericalError) as info:   # 1/(x'x - 10) is finite: log is not
        mc.expression("log(x'*x - 10)").evaluate(x=np.ones(3))
    assert info.value.what == "log of a negative number"
    assert np.isnan(info.value.value)
    assert np.all(np.isfinite(g.evaluate(x=np.ones(3))))


def test_division_by_zero_is_located():
    d = mc.derivative("log(x'*x)", "x")
    with pytest.raises(mc.DomainError) as info:
        d.evaluate(x=np.zeros(3))
    assert "division by zero" in info.value.what and info.value.where in str(info.value)


def test_wrong_shapes():
    e = mc.expression("inv(X)")
    with pytest.raises(mc.EvaluationError,
                       match=r"X has shape \(3, 4\) but matrix\(n,n\) with n=3 was expected"):
        e.evaluate(X=np.ones((3, 4)))
    e = mc.expression("X*x", vars={"X": "matrix(m,n)"})
    with pytest.raises(mc.EvaluationError, match=r"x has shape \(3,\) but vector\(n\) with n=4 "
                                                 r"was expected \(dimension n is 4 in X\)"):
        e.evaluate(X=np.ones((3, 4)), x=np.ones(3))
    with pytest.raises(mc.EvaluationError, match="but a scalar was expected"):
        mc.expression("a*x", vars={"a": "scalar"}).evaluate(a=np.ones(2), x=np.ones(2))


def test_check_skips_points_outside_the_domain():
    r = mc.derivative("sum(log(x))", "x").check()
    assert r.ok and "outside the expression's domain" in r.message


S = {"a": "scalar"}


def test_infinity_from_a_domain_error_raises_but_an_overflow_is_returned():
    with pytest.raises(mc.DomainError, match=r"log of zero in log\(a\)"):
        mc.expression("log(a)", vars=S).evaluate(a=0.0)
    assert mc.expression("exp(a)", vars=S).evaluate(a=1000.0) == np.inf      # IEEE's answer
    with pytest.raises(mc.NumericalError, match="overflows"):       # inf - inf: NaN
        mc.expression("exp(a) - exp(2*a)", vars=S).evaluate(a=1000.0)


def test_check_compares_the_printed_formula_with_its_stable_evaluation():
    """An answer holding det is evaluated through detd (an SVD); check() must still prove
    the formula it prints: a wrong printed formula fails even though the numbers are right."""
    from matrixcalculus.ir.build import scale

    d = mc.derivative("det(X)", "X")
    assert d.eval_ir is not d.ir and d.check(points=2).ok
    d.ir = scale(2.0, d.ir)          # the printed formula, wrong; eval_ir stays the stable one
    r = d.check(points=2)
    assert not r.ok and "printed formula" in str(r), r


@pytest.mark.parametrize("expr,x,what", [
    ("asin(x)", 2.0, "asin of a number outside [-1, 1]"),
    ("acos(x)", -3.0, "acos of a number outside [-1, 1]"),
    ("log1p(x)", -2.0, "log1p of a number below -1"),
])
def test_domain_messages_come_from_the_rows(expr, x, what):
    with pytest.raises(mc.DomainError) as info:
        mc.expression(expr).evaluate(x=np.array([x, 0.5]))
    assert info.value.what == what
