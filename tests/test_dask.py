"""The dask backend: the generated code, unchanged, on a row-chunked data matrix under a
dask.distributed LocalCluster, equals NumPy; no task ever holds the whole data matrix."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from code_support import code_only
from corpus_support import load

import matrixcalculus as mc

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from distributed.diagnostics.plugin import WorkerPlugin  # noqa: E402

from matrixcalculus.distributed import evaluate_dask, lazy_dask  # noqa: E402

N, K, BLOCK = 4000, 12, 500            # 8 row blocks
M, P, R = 4000, 60, 5                  # MF: an M x P ratings matrix, rank R
LOGISTIC = "sum(softplus(X*w)) - y'*X*w"
LEAST_SQUARES = "norm2(X*w - y)^2"
MF = "norm2(R - U*V')^2"
cases, oracle = load()
PUBLIC = cases.public()


class LargestResult(WorkerPlugin):
    """Records the largest task result (bytes) each worker has held."""

    name = "largest-result"

    def setup(self, worker):
        self.worker = worker
        self.largest = 0

    def transition(self, key, start, finish, **kwargs):
        if finish == "memory":
            ts = self.worker.state.tasks.get(key)
            if ts is not None and ts.nbytes is not None:
                self.largest = max(self.largest, ts.nbytes)


def _largest(client) -> int:
    per_worker = client.run(lambda dask_worker: dask_worker.plugins["largest-result"].largest)
    return max(per_worker.values())


def _reset(client) -> None:
    def reset(dask_worker):
        dask_worker.plugins["largest-result"].largest = 0
    client.run(reset)


@pytest.fixture(scope="module")
def client():
    # threads, not processes: starts in about a second on a 2-core machine, and the
    # graph and scheduling are the same as with worker processes
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        c.register_plugin(LargestResult())
        yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((N, K))
    w = rng.standard_normal(K) * 0.3
    y = (rng.random(N) < 0.5).astype(float)
    Rm = rng.standard_normal((M, P))
    U, V = rng.standard_normal((M, R)), rng.standard_normal((P, R))
    return {"X": X, "w": w, "y": y, "R": Rm, "U": U, "V": V}


def _rows(a: np.ndarray):
    """a chunked in row blocks of BLOCK rows (all columns in each block)."""
    chunks = (BLOCK,) + tuple(-1 for _ in a.shape[1:])
    return da.from_array(a, chunks=chunks)


CASES = [
    ("logistic gradient", LOGISTIC, "w", 1, ("X", "w", "y")),
    ("logistic hessian", LOGISTIC, "w", 2, ("X", "w", "y")),
    ("least squares gradient", LEAST_SQUARES, "w", 1, ("X", "w", "y")),
    ("least squares hessian", LEAST_SQUARES, "w", 2, ("X", "w", "y")),
    ("mf gradient U", MF, "U", 1, ("R", "U", "V")),
    ("mf gradient V", MF, "V", 1, ("R", "U", "V")),
]
VARS = {"X": "matrix(n,k)", "R": "matrix(m,p)", "U": "matrix(m,r)", "V": "matrix(p,r)"}


@pytest.mark.parametrize("title,expr,wrt,order,names", CASES, ids=[c[0] for c in CASES])
def test_dask_equals_numpy_on_a_cluster(client, data, title, expr, wrt, order, names):
    d = mc.derivative(expr, wrt, vars={n: VARS[n] for n in names if n in VARS}, order=order)
    arrays = {n: data[n] for n in names}
    expected = d.evaluate(**arrays)
    big = names[0]                                  # the data matrix, chunked by rows
    lazy = {**arrays, big: _rows(data[big])}
    assert lazy[big].numblocks[0] >= 8

    result = lazy_dask(d, lazy)
    assert isinstance(result, da.Array)
    # blockwise: nothing in the graph gathers the data (no rechunk to fewer blocks)
    assert not [k for k in result.dask.layers if str(k).startswith("rechunk")]

    _reset(client)
    got = evaluate_dask(d, lazy, client=client)
    assert isinstance(got, np.ndarray) and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    # the tasks ran on the cluster, and none produced anything near the data's size
    largest = _largest(client)
    assert 0 < largest <= lazy[big].nbytes / 4, (largest, lazy[big].nbytes)


def test_vectors_along_the_data_rows_get_the_data_chunks(data):
    d = mc.derivative(LOGISTIC, "w", vars={"X": "matrix(n,k)"})
    result = lazy_dask(d, {"X": _rows(data["X"]), "w": data["w"], "y": data["y"]})
    # the NumPy y was chunked like X's rows, so the product over rows is blockwise
    assert result.chunks == ((K,),)
    names = [str(k) for k in result.dask.layers]
    assert any(k.startswith("array-") for k in names)
    assert not any(k.startswith("rechunk") for k in names)


def test_generated_dask_module_is_standalone_and_lazy(data):
    d = mc.derivative(LOGISTIC, "w", vars={"X": "matrix(n,k)"}, order=2)
    src = d.code("dask", sizes={"n": N, "k": K})
    code = code_only(src)          # after the comment header: the imports, first
    assert code.startswith("import dask.array as da\nimport numpy as np\n")
    assert "matrixcalculus" not in src and "_gram(X, " in src
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)  # noqa: S102 - our own generated code
    X = _rows(data["X"])
    out = ns["hessian"](X=X, w=da.from_array(data["w"]), y=_rows(data["y"]))
    assert isinstance(out, da.Array) and out.shape == (K, K)
    np.testing.assert_allclose(out.compute(scheduler="sync"),
                               d.evaluate(X=data["X"], w=data["w"], y=data["y"]), rtol=1e-9)


def test_dask_checks_shapes_without_computing(data):
    d = mc.derivative(LOGISTIC, "w", vars={"X": "matrix(n,k)"})
    with pytest.raises(mc.EvaluationError, match="dimension n"):
        evaluate_dask(d, {"X": _rows(data["X"]), "w": data["w"], "y": data["y"][:-1]})
    with pytest.raises(mc.EvaluationError, match="needs a value for y"):
        evaluate_dask(d, {"X": _rows(data["X"]), "w": data["w"]})


def test_small_prims_and_odd_names_on_dask():
    # inv/logdet run on a small operand in one task; variables named like the helper's
    # own parameters (d, client) are ordinary variables
    d = mc.derivative("logdet(X'*X + d*eye(k)) + client*sum(X*w)", "w",
                      vars={"X": "matrix(n,k)", "d": "scalar", "client": "scalar"})
    rng = np.random.default_rng(1)
    X, w = rng.standard_normal((400, 3)), rng.standard_normal(3)
    arrays = {"X": X, "w": w, "d": 0.5, "client": 2.0}
    got = evaluate_dask(d, {**arrays, "X": da.from_array(X, chunks=(50, 3))}, scheduler="sync")
    np.testing.assert_allclose(got, d.evaluate(**arrays), rtol=1e-12)
    h = mc.derivative("logdet(W'*W + eye(k))", "W", vars={"W": "matrix(n,k)"})
    W = rng.standard_normal((400, 3))
    got = evaluate_dask(h, {"W": da.from_array(W, chunks=(50, 3))}, scheduler="sync")
    np.testing.assert_allclose(got, h.evaluate(W=W), rtol=1e-10)


def test_derivative_evaluate_with_the_dask_backend(client, data):
    d = mc.derivative(LOGISTIC, "w", vars={"X": "matrix(n,k)"}, order=2)
    arrays = {"X": data["X"], "w": data["w"], "y": data["y"]}
    try:
        got = d.evaluate(backend="dask", client=client, **{**arrays, "X": _rows(data["X"])})
    except mc.EvaluationError as e:
        if "unknown variable" in str(e):
            pytest.skip("Derivative.evaluate does not take backend= yet (api.py)")
        raise
    np.testing.assert_allclose(got, d.evaluate(**arrays), rtol=1e-9)


def _halves(v):
    """Every axis in two chunks (a scalar stays a number)."""
    if np.ndim(v) == 0:
        return v
    a = np.asarray(v, dtype=np.float64)
    return da.from_array(a, chunks=tuple(max(1, (s + 1) // 2) for s in a.shape))


@pytest.mark.parametrize("case", PUBLIC, ids=[c["id"] for c in PUBLIC])
def test_every_corpus_case_on_chunked_dask_arrays(case):
    d = mc.derivative(case["expr"], case["wrt"], vars=case["vars"], order=case["order"])

    def run(**inputs):
        with warnings.catch_warnings():     # outer products of 2-chunk toy inputs
            warnings.simplefilter("ignore", da.PerformanceWarning)
            return evaluate_dask(d, {k: _halves(v) for k, v in inputs.items()},
                                 scheduler="sync")
    ok, err, msg = oracle.check(case, run)
    assert ok, f"dask {case['id']}: {msg}\n{d.code('dask')}"


def test_the_scaling_benchmark_runs(tmp_path):
    """bench/dask_scale.py on 20 MB (the real run is 1 GB): it completes and reports."""
    script = Path(__file__).resolve().parents[1] / "bench" / "dask_scale.py"
    out = tmp_path / "DASK_RESULTS.md"
    proc = subprocess.run([sys.executable, str(script), "--gb", "0.02", "--chunks", "8",
                           "--workers", "1", "--repeat", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    text = out.read_text()
    assert "| 1 | 8 |" in text and "| gradient |" in text and "| hessian |" in text
    assert "failed" not in text


def test_symmetric_and_bad_dask_inputs_are_checked():
    d = mc.derivative("x'*S*x", "x", vars={"S": "symmetric(n)"})
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 40))
    S, x = A + A.T, rng.standard_normal(40)
    got = evaluate_dask(d, {"S": da.from_array(S, chunks=10), "x": x}, scheduler="sync")
    np.testing.assert_allclose(got, d.evaluate(S=S, x=x), rtol=1e-12)
    with pytest.raises(mc.EvaluationError, match="declared symmetric"):
        evaluate_dask(d, {"S": da.from_array(A, chunks=10), "x": x}, scheduler="sync")
    with pytest.raises(mc.EvaluationError, match="not a numeric array"):
        evaluate_dask(d, {"S": da.from_array(np.full((40, 40), "a"), chunks=10), "x": x})
    unknown = da.from_array(S, chunks=10)[da.from_array(x, chunks=10) > -np.inf]
    with pytest.raises(mc.EvaluationError, match="unknown chunk sizes"):
        evaluate_dask(d, {"S": unknown, "x": x})
