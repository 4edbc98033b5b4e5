"""mc.minimize: scipy.optimize.minimize fed the derived value, gradient and Hessian (or
Hessian-vector product); the same optimum as a closed form or another solver."""

from __future__ import annotations

import numpy as np
import pytest

import matrixcalculus as mc
from matrixcalculus.cli import main

pytest.importorskip("scipy")

METHODS = ["L-BFGS-B", "trust-exact", "trust-ncg", "Newton-CG", "trust-krylov"]
RIDGE = "norm2(X*w - y)^2 + lam*w'*w"
LOGREG = "sum(log(1 + exp(-y.*(X*w)))) + lam/2*w'*w"
VARS = {"X": "matrix(n,p)", "y": "vector(n)", "w": "vector(p)", "lam": "scalar"}
rng = np.random.default_rng(0)
X = rng.standard_normal((200, 6))
y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(200)
labels = np.where(X @ rng.standard_normal(6) + rng.standard_normal(200) > 0, 1.0, -1.0)


@pytest.mark.parametrize("method", METHODS)
def test_ridge_reaches_the_closed_form(method):
    res = mc.minimize(RIDGE, "w", data={"X": X, "y": y, "lam": 2.0}, vars=VARS,
                      method=method, tol=1e-12)
    exact = np.linalg.solve(X.T @ X + 2.0 * np.eye(6), X.T @ y)
    assert res.x.shape == (6,)
    np.testing.assert_allclose(res.x, exact, rtol=1e-6, atol=1e-8)


def test_logistic_regression_newton_converges_in_a_few_iterations():
    data = {"X": X, "y": labels, "lam": 1.0}
    newton = mc.minimize(LOGREG, "w", data=data, vars=VARS, method="trust-exact", tol=1e-10)
    assert newton.success and newton.nit <= 15
    _, g = mc.value_and_grad(LOGREG, "w", vars=VARS).evaluate(**data, w=newton.x)
    assert np.max(np.abs(g)) < 1e-6                 # the optimum: the gradient vanishes
    for method in ["L-BFGS-B", "Newton-CG", "trust-ncg"]:
        other = mc.minimize(LOGREG, "w", data=data, vars=VARS, method=method, tol=1e-12)
        np.testing.assert_allclose(other.x, newton.x, rtol=1e-5, atol=1e-7)


def test_a_matrix_variable_and_a_start():
    A, B = rng.standard_normal((10, 4)), rng.standard_normal((10, 3))
    res = mc.minimize("norm2(A*Z - B)^2", "Z", data={"A": A, "B": B}, x0=np.ones((4, 3)),
                      method="trust-exact")
    assert res.x.shape == (4, 3)
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, B, rcond=None)[0], atol=1e-6)


def test_bounds_are_passed_on():
    from scipy.optimize import nnls
    res = mc.minimize("norm2(X*w - y)^2", "w", data={"X": X, "y": y - 3 * X[:, 0]},
                      bounds=[(0, None)] * 6, tol=1e-14)
    assert np.all(res.x >= 0)
    np.testing.assert_allclose(res.x, nnls(X, y - 3 * X[:, 0])[0], atol=1e-5)


def test_bad_requests_raise_the_package_error():
    data = {"X": X, "y": y, "lam": 1.0}
    with pytest.raises(mc.MatrixCalculusError, match="scalar"):
        mc.minimize("X*w - y", "w", data={"X": X, "y": y})
    with pytest.raises(mc.MatrixCalculusError, match="method"):
        mc.minimize(RIDGE, "w", data=data, method="simplex")
    with pytest.raises(mc.MatrixCalculusError, match="x0"):
        mc.minimize(RIDGE, "w", data={**data, "w": np.zeros(6)})
    with pytest.raises(mc.MatrixCalculusError, match="x0"):
        mc.minimize("norm2(w)^2 + a", "w", data={"a": 1.0})      # no array gives w's size
    with pytest.raises(mc.MatrixCalculusError, match="takes no bounds"):
        mc.minimize(RIDGE, "w", data=data, method="trust-exact", bounds=[(0, 1)] * 6)
    with pytest.raises(mc.MatrixCalculusError, match="scipy"):
        mc.minimize(RIDGE, "w", data=data, bounds=[(0, 1)] * 3)


def test_cli_minimize(tmp_path, capsys):
    np.save(tmp_path / "X.npy", X)
    np.savez(tmp_path / "d.npz", y=y)
    out = tmp_path / "w.npy"
    rc = main(["minimize", RIDGE, "--wrt", "w", "--data", f"X={tmp_path / 'X.npy'}",
               "--data", str(tmp_path / "d.npz"), "--data", "lam=2", "--method",
               "trust-exact", "--out", str(out), "--var", "lam: scalar"])
    text = capsys.readouterr().out
    assert rc == 0 and "converged" in text and "trust-exact" in text
    np.testing.assert_allclose(np.load(out), np.linalg.solve(X.T @ X + 2 * np.eye(6), X.T @ y),
                               rtol=1e-6)
    rc = main(["minimize", RIDGE, "--wrt", "w", "--data", f"X={tmp_path / 'X.npy'}",
               "--data", str(tmp_path / "d.npz"), "--data", "lam=2", "--format", "json"])
    import json
    row = json.loads(capsys.readouterr().out)
    assert rc == 0 and row["success"] and len(row["x"]) == 6
    assert main(["minimize", RIDGE, "--wrt", "w", "--data", "nofile.npz"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_optimum_of_scikit_learn():
    """sklearn minimizes C * the log-loss + |w|^2/2: lam = 1/C, no intercept."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    res = mc.minimize(LOGREG, "w", data={"X": X, "y": labels, "lam": 0.5}, vars=VARS,
                      method="trust-exact", tol=1e-12)
    ref = linear_model.LogisticRegression(C=2.0, fit_intercept=False, tol=1e-12,
                                          solver="newton-cholesky").fit(X, labels)
    np.testing.assert_allclose(res.x, ref.coef_.ravel(), rtol=1e-6, atol=1e-8)
    ridge = mc.minimize(RIDGE, "w", data={"X": X, "y": y, "lam": 3.0}, vars=VARS,
                        method="Newton-CG", tol=1e-12)
    ref = linear_model.Ridge(alpha=3.0, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(ridge.x, ref.coef_, rtol=1e-6, atol=1e-8)
