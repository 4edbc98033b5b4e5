"""Generated code: standalone, readable, and correct on every public corpus case in
every backend that is installed (NumPy always; PyTorch and JAX as test extras)."""

from __future__ import annotations

import ast as pyast
import importlib.util
import re

import numpy as np
import pytest
from code_support import code_only
from corpus_support import load
from corpus_support import runner as _runner

import matrixcalculus as mc
from matrixcalculus.codegen import Doc
from matrixcalculus.codegen import generate as generate_module

cases, oracle = load()
PUBLIC = cases.public()
BACKENDS = ["numpy"] + [b for b in ("torch", "jax") if importlib.util.find_spec(b)]


def _load(src: str, name: str):
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)  # noqa: S102 - our own generated code
    return ns[name]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", PUBLIC, ids=[c["id"] for c in PUBLIC])
def test_generated_code_matches_oracle(case, backend):
    d = mc.derivative(case["expr"], case["wrt"], vars=case["vars"], order=case["order"])
    ok, err, msg = oracle.check(case, _runner(d, backend))
    assert ok, f"{backend} {case['id']}: {msg}\n{d.code(backend)}"


@pytest.mark.parametrize("case", PUBLIC, ids=[c["id"] for c in PUBLIC])
def test_generated_module_is_standalone(case):
    d = mc.derivative(case["expr"], case["wrt"], vars=case["vars"], order=case["order"])
    for backend in BACKENDS:
        src = d.code(backend)
        assert "matrixcalculus" not in src
        tree = pyast.parse(src)
        public = [n.name for n in tree.body if isinstance(n, pyast.FunctionDef)
                  and not n.name.startswith("_")]
        assert public == [d.kind.lower()]
        imports = [n for n in tree.body if isinstance(n, pyast.Import | pyast.ImportFrom)]
        assert imports and all(tree.body.index(i) < 2 for i in imports)
        func = next(n for n in tree.body if isinstance(n, pyast.FunctionDef)
                    and n.name == d.kind.lower())
        # keyword-only: a positional caller could mix up two square matrices
        assert not func.args.args and not func.args.posonlyargs
        assert [a.arg for a in func.args.kwonlyargs] == \
            [*d.parameters.values(), "check_shapes"]
        assert [a.arg.rstrip("_") for a in func.args.kwonlyargs[:len(d.variables)]] == \
            list(d.variables)
        # never a dense diagonal matrix, never an unordered n-ary einsum (in the code: the
        # header and the docstring quote the answer, diag(...) and all)
        code = code_only(src)
        assert "diag(" not in code
        for spec in re.findall(r"einsum\('([^']*)'", code):
            assert spec.count(",") <= 1, spec


def test_shared_subexpressions_are_computed_once():
    d = mc.derivative("sigmoid(u'*v + b)", "u", vars={"b": "scalar"})
    src = d.code("numpy")
    assert src.count("_sigmoid(") == 2          # the helper's definition and one call


def test_logistic_hessian_is_one_symmetric_product():
    d = mc.derivative("sum(log(1 + exp(-y.*(X*w))))", "w", order=2)
    src = d.code("numpy")
    assert "_gram(X, " in src and "z.T @ z" in src
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((7, 3)), rng.standard_normal(3), rng.standard_normal(7)
    s = 1 / (1 + np.exp(y * (X @ w)))
    np.testing.assert_allclose(d.evaluate(X=X, w=w, y=y), X.T @ np.diag(s * (1 - s) * y * y) @ X)


def test_size_aware_code_distributes_products_over_sums():
    d = mc.derivative("norm2(R - U*V')^2", "U")
    small_rank = d.code("numpy", sizes={"m": 2000, "n": 2000, "k": 10})
    assert "V.T @ V" in small_rank and "U @ V.T" not in small_rank


def test_hostile_names_are_made_safe():
    d = mc.derivative("lambda*x'*x + np*sum(x)", "x", vars={"lambda": "scalar", "np": "scalar"})
    fn = _load(d.code("numpy"), "gradient")
    x = np.arange(3.0)
    np.testing.assert_allclose(fn(lambda_=2.0, x=x, np_=3.0), 2 * 2.0 * x + 3.0)
    np.testing.assert_allclose(d.evaluate(**{"lambda": 2.0, "x": x, "np": 3.0}), 4 * x + 3)


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(mc.MatrixCalculusError, match="unknown backend"):
        mc.derivative("x'*x", "x").code("fortran")


def _big_operands_scaled(src: str, names: tuple[str, ...]) -> list[str]:
    """Places where a coefficient or a minus sign multiplies one of the large inputs."""
    big = "|".join(names)
    return re.findall(rf"(?<![\w)\]])-(?:{big})\b|[\d.]+ \* (?:{big})\b", code_only(src))


def test_coefficients_go_on_the_smallest_operand():
    # `-X @ w` would negate all of X (a pass over m x n) before a matrix-vector product
    d = mc.derivative("sum(log(1 + exp(-y.*(X*w))))", "w")
    src = d.code("numpy", sizes={"m": 4000, "n": 2000})
    assert not _big_operands_scaled(src, ("X",)), src
    # 2*(U*V' - R)*V: the 2 goes on the k x k product V'V, not on U or the result
    d = mc.derivative("norm2(R - U*V')^2", "U")
    src = d.code("numpy", sizes={"m": 2000, "n": 2000, "k": 10})
    assert "(2 * (V.T @ V))" in src, src
    rng = np.random.default_rng(1)
    R, U, V = rng.standard_normal((5, 4)), rng.standard_normal((5, 2)), rng.standard_normal((4, 2))
    fn = _load(src, "gradient")
    np.testing.assert_allclose(fn(R=R, U=U, V=V), 2 * (U @ V.T - R) @ V)


def test_scalar_factors_go_where_the_coefficient_goes_and_scaled_sums_are_shared():
    # layer norm: a mean of rows is 1/p times the row sums (a vector pass), never the sum
    # of 1/p times X (a matrix one), and 2*X - 2*mean(X, 2) is 2 times the centred X the
    # code already holds (share_scaled within one root)
    expr = "sum(G.*Y) where Xc = X - mean(X, 2), s = sqrt(mean(Xc.^2, 2) + 1e-5), Y = Xc./s"
    d = mc.derivative(expr, "X", vars={"X": "matrix(n,p)", "G": "matrix(n,p)"})
    body = code_only(d.code("numpy"))
    assert "np.sum(G, axis=1)" in body, body              # not np.sum(t2 * G, axis=1)
    assert body.count("np.sum(X, axis=1)") == 1, body     # once, for the centred X
    rng = np.random.default_rng(2)
    X, G = rng.standard_normal((5, 4)) * 2 + 1, rng.standard_normal((5, 4))
    Xc = X - X.mean(axis=1, keepdims=True)
    s = np.sqrt((Xc * Xc).mean(axis=1, keepdims=True) + 1e-5)
    xh = Xc / s
    want = (G - G.mean(axis=1, keepdims=True) - xh * (G * xh).mean(axis=1, keepdims=True)) / s
    np.testing.assert_allclose(_load(d.code("numpy"), "gradient")(X=X, G=G), want)


def test_four_index_hessians_are_outer_products_not_contractions():
    # (stacked einsums sum outer products: their operands have at most 3 indices)
    # logdet: one broadcast product with the sign on an n x n factor, no einsum
    d = mc.derivative("logdet(X)", "X", order=2)
    src = d.code("numpy", sizes={"n": 60})
    assert "einsum" not in src and not re.search(r"-\(?t\d+\[", src), src
    # the symmetric Gaussian NLL: a sum shared by two contractions with an n x n matrix is
    # distributed (O(n^4) outer products) rather than contracted as an n^4 tensor (O(n^5))
    vars = {"x": "vector(n)", "mu": "vector(n)", "S": "symmetric(n)"}
    d = mc.derivative("0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)", "S", vars=vars, order=2)
    src = d.code("numpy", sizes={"n": 60})
    specs = re.findall(r"einsum\('([a-z,]+)->", src)
    assert all(len(op) <= 3 for spec in specs for op in spec.split(",")), src
    S, x, mu, want = _gaussian_nll_hessian(np.random.default_rng(2), symmetric=True)
    np.testing.assert_allclose(_load(src, "hessian")(S=S, x=x, mu=mu), want, atol=1e-12)


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_torch_functions_of_numbers_get_tensors():
    import torch
    d = mc.derivative("log(3)*a + sigmoid(0)*tanh(a)", "a", vars={"a": "scalar"})
    src = d.code("torch")
    fn = _load(src, "derivative")
    got = fn(a=torch.tensor(0.5, dtype=torch.float64))
    np.testing.assert_allclose(float(got), np.log(3) + 0.5 * (1 - np.tanh(0.5) ** 2))
    d = mc.derivative("log(0)*a", "a", vars={"a": "scalar"})
    assert float(_load(d.code("torch"), "derivative")(a=torch.tensor(1.0))) == -np.inf


def test_dimensions_no_variable_carries_become_arguments():
    d = mc.derivative("sum(ones(m))*a + tr(eye(m))*a^2", "a", vars={"a": "scalar"})
    assert d.free_dims == ("m",)
    src = d.code("numpy")
    assert "def derivative(*, a, m, check_shapes=False):" in src
    assert d.evaluate(a=2.0, m=5) == pytest.approx(5 + 2 * 5 * 2.0)
    assert d.check().ok
    assert d.check_claim("sum(ones(m)) + 2*a*tr(eye(m))").correct
    with pytest.raises(mc.MatrixCalculusError, match="size of dimension m"):
        d.evaluate(a=2.0)
    with pytest.raises(mc.MatrixCalculusError, match="positive integer"):
        d.evaluate(a=2.0, m=1.5)
    # a Jacobian shaped by the free dimension, in every backend
    d = mc.derivative("ones(m)*x'", "x", vars={"x": "vector(n)"})
    assert d.evaluate(x=np.ones(3), m=2).shape == (2, 3, 3)
    for backend in BACKENDS:
        assert "def derivative(*, x, m, check_shapes=False):" in d.code(backend)


def test_common_outer_factors_are_pulled_out_of_sums():
    from matrixcalculus.codegen.emit import generate
    from matrixcalculus.ir import build as B
    P, Q, R = (B.var(v, ("n", "n")) for v in "PQR")
    # P[l,i]*Q[j,k] + 2*P[l,i]*R[j,k] (as the IR keeps it) -> P[l,i]*(Q + 2*R)[j,k]
    s = B.add([B.einsum([P, Q], [(3, 0), (1, 2)], (0, 1, 2, 3)),
               B.einsum([R, P], [(1, 2), (3, 0)], (0, 1, 2, 3), 2.0)])
    src = generate(s, [("P", ("n", "n")), ("Q", ("n", "n")), ("R", ("n", "n"))], "numpy",
                   func_name="f")
    assert src.count(" + ") == 1 and src.count("None") == 4, src
    rng = np.random.default_rng(3)
    p, q, r = (rng.standard_normal((3, 3)) for _ in range(3))
    np.testing.assert_allclose(_load(src, "f")(P=p, Q=q, R=r),
                               np.einsum("li,jk->ijkl", p, q + 2 * r))
    # the Gaussian NLL Hessian: three n^4 terms of which two share inv(S)' as a factor
    vars = {"x": "vector(n)", "mu": "vector(n)", "S": "matrix(n,n)"}
    d = mc.derivative("0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)", "S", vars=vars, order=2)
    src = d.code("numpy", sizes={"n": 60})
    # two outer products (not three), summed by one batched matrix product over the
    # stacked terms (BLAS writes the n^4 result once; no einsum loop over it)
    assert "einsum" not in src and src.count(" @ np.moveaxis(np.stack([") == 1, src
    assert src.count("np.stack([") == 2 and src.count(", (n * n,))") == 2, src
    assert not re.findall(r"\[(?:(?::|None), ){3}(?::|None)\]", src), src
    S, x, mu, hand = _gaussian_nll_hessian(rng)
    np.testing.assert_allclose(_load(src, "hessian")(x=x, mu=mu, S=S), hand, atol=1e-12)


def _gaussian_nll_hessian(rng, symmetric: bool = False):
    """An SPD S, x, mu and the hand-written Hessian of the Gaussian NLL wrt S (for S
    symmetric, symmetrised over each index pair)."""
    A = rng.standard_normal((4, 4))
    S = A @ A.T + 4 * np.eye(4)
    x, mu = rng.standard_normal(4), rng.standard_normal(4)
    P = np.linalg.inv(S)
    u, v = P.T @ (x - mu), P @ (x - mu)
    H = (-0.5 * np.einsum("jk,li->ijkl", P, P) + 0.5 * np.einsum("li,j,k->ijkl", P, v, u)
         + 0.5 * np.einsum("jk,i,l->ijkl", P, u, v))
    if symmetric:
        H = (H + H.transpose(1, 0, 2, 3)) / 2
        H = (H + H.transpose(0, 1, 3, 2)) / 2
    return S, x, mu, H


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["matrix(n,n)", "symmetric(n)"])
def test_stacked_outer_products_in_every_backend(backend, kind):
    vars = {"x": "vector(n)", "mu": "vector(n)", "S": kind}
    d = mc.derivative("0.5*logdet(S) + 0.5*(x - mu)'*inv(S)*(x - mu)", "S", vars=vars, order=2)
    assert "stack([" in d.code(backend)
    S, x, mu, want = _gaussian_nll_hessian(np.random.default_rng(5),
                                           symmetric=kind.startswith("symmetric"))
    np.testing.assert_allclose(_runner(d, backend)(S=S, x=x, mu=mu), want, atol=1e-12)


def test_torch_code_makes_new_tensors_on_the_arguments_device():
    d = mc.derivative("x'*x + sum(ones(n))*a", "x", vars={"x": "vector(n)", "a": "scalar"},
                      order=2)
    src = d.code("torch")
    assert "_dtype, _device = x.dtype, x.device" in src
    assert "torch.eye(n, dtype=_dtype, device=_device)" in src


def test_docstring_text_cannot_close_the_docstring():
    """Notes quote the expression: whatever text reaches the docstring stays text."""
    from matrixcalculus.ir.build import var
    x = var("x", ("n",))
    src = generate_module(x, [("x", ("n",))], "numpy", func_name="f",
                          doc=Doc(header=('a """ b', "x\nimport os; os.exit(1)", "\rend\\"),
                                  summary='a """ b', notes=("end\\", "c\n\"\"\"\nd")))
    fn = _load(src, "f")
    assert fn.__doc__.splitlines()[0] == 'a """ b'
    assert "end\\" in fn.__doc__ and 'c\n"""\nd' in fn.__doc__
    # a header line never leaves its comment
    assert "import os" not in code_only(src)
    assert np.array_equal(fn(x=np.ones(2)), np.ones(2))
