"""Generated code as people use it (issue 17): every corpus case's module (v1 and v2), for
each backend, written to a file, imported and called by keyword on random inputs; its
docstring names every argument; check_shapes=True accepts the right shapes and names a
wrong one; and the PyTorch and JAX code is branch-free on data: torch.func.vmap, torch.compile
(fullgraph=True: no graph break), jax.jit and jax.vmap trace every case's code.

torch.compile: dynamo traces every case with fullgraph=True (the graph-break check) on its
"eager" backend; a sample of cases also goes through inductor, which on this machine takes
seconds per case (compiling C++)."""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from functools import cache

import numpy as np
import pytest
from corpus_support import call_by_name, load, load_v2

import matrixcalculus as mc
from matrixcalculus.codegen.signature import shape_text
from matrixcalculus.compiled import compile_function
from matrixcalculus.variables import declaration

cases_v1, oracle = load()
cases_v2, _ = load_v2()
CASES = [*cases_v1.public(), *cases_v2.public()]
IDS = [c["id"] for c in CASES]
BY_ID = {c["id"]: c for c in CASES}
HAS = {b: importlib.util.find_spec(b) is not None for b in ("torch", "jax")}
# a spread of kinds for inductor (slow to compile): gradients, Hessians, matrix functions,
# a 4-index Hessian, softmax, mixed derivatives, tensors
INDUCTOR = ["seed-mf-sigmoid-u", "ml-logreg-pm1", "hess-logreg-xent", "hess-logdet-X",
            "jac-softmax-Xw", "v2-softmaxreg-ce-hess", "v2-attn-Q", "v2-mixed-trace-UV",
            "v2-mha-Q", "v2-expm-frechet"]


@cache
def _derive(case_id: str) -> mc.Derivative:
    c = BY_ID[case_id]
    return mc.derivative(c["expr"], c["wrt"], vars=c["vars"], order=c["order"])


_counter = itertools.count()


def _import(src: str, tmp_path):
    """The module as a file: written, then imported by importlib as `import f` would (in
    sys.modules: dynamo looks its globals up there)."""
    path = tmp_path / f"generated_{next(_counter)}.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _forget_modules():
    yield
    for name in [m for m in sys.modules if m.startswith("generated_")]:
        del sys.modules[name]


def _inputs(case, d, seed: int) -> dict:
    """Random inputs of the case's domains (and the sizes of free dimensions)."""
    inputs = oracle.draw_inputs(case, seed)
    return {**inputs, **{k: case["dims"][k] for k in d.free_dims}}


def _tol(case) -> dict:
    return {"rtol": 1e-7, "atol": 1e-9, "err_msg": case["id"]}


def test_the_inductor_sample_is_in_the_corpus():
    assert set(INDUCTOR) <= set(BY_ID), set(INDUCTOR) - set(BY_ID)


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
@pytest.mark.parametrize("case_id", IDS)
def test_every_module_runs_as_a_file(case_id, backend, tmp_path):
    if not HAS.get(backend, True):
        pytest.skip(f"{backend} is not installed")     # a test extra, not the engine's
    case, d = BY_ID[case_id], _derive(case_id)
    src = d.code(backend)
    fn = getattr(_import(src, tmp_path), d.func_name)
    inputs = _inputs(case, d, 0)
    want = d.evaluate(**inputs)
    run = call_by_name(d, fn, backend)
    np.testing.assert_allclose(run(**inputs), want, **_tol(case))
    # the docstring names every argument, its type and its shape, and the result's
    doc = fn.__doc__
    params = d.parameters
    for v in d.variables.values():
        assert f"    {params[v.name]}: {declaration(v, ', ')}, shape {shape_text(v.shape)}\n" \
            in doc, (case_id, doc)
    assert f"Returns: the {d.kind.replace('hessian', 'Hessian').replace('jacobian', 'Jacobian')}" \
        f" wrt {d.wrt_text}, shape {shape_text(d.shape)}" in doc, doc
    # the module's header: the expression and the answer, as comments
    assert src.startswith("# ") and f"#   {d.text(multiline=True).splitlines()[0]}" in src


@pytest.mark.parametrize("case_id", IDS)
def test_check_shapes_accepts_the_right_shapes_and_names_a_wrong_one(case_id):
    case, d = BY_ID[case_id], _derive(case_id)
    fn = compile_function(d.code("numpy"), d.func_name)
    inputs = _inputs(case, d, 0)
    kw = d.keywords(inputs)
    np.testing.assert_allclose(fn(**kw, check_shapes=True), d.evaluate(**inputs), **_tol(case))
    arrays = [n for n, v in d.variables.items() if v.shape]
    if not arrays:
        return
    name = arrays[0]
    py = d.parameters[name]
    wrong = np.zeros(np.shape(inputs[name]) + (1,))          # one axis too many
    with pytest.raises(ValueError, match=rf"^{d.func_name}\(\): argument {re.escape(py)} "
                                         rf"should have shape"):
        fn(**{**kw, py: wrong}, check_shapes=True)


def _batch(case, d, seeds=(0, 1, 2)):
    """Inputs at several seeds: each array variable stacked along a new first axis."""
    points = [_inputs(case, d, s) for s in seeds]
    names = list(d.variables)
    stacked = {n: np.stack([np.asarray(p[n], dtype=np.float64) for p in points]) for n in names}
    sizes = {k: case["dims"][k] for k in d.free_dims}
    wants = [d.evaluate(**p) for p in points]
    return names, stacked, sizes, wants


@pytest.mark.skipif(not HAS["torch"], reason="needs torch")
@pytest.mark.parametrize("case_id", IDS)
def test_torch_code_vmaps_and_compiles_without_graph_breaks(case_id, tmp_path):
    import torch

    case, d = BY_ID[case_id], _derive(case_id)
    fn = getattr(_import(d.code("torch"), tmp_path), d.func_name)
    names, stacked, sizes, wants = _batch(case, d)
    params = d.parameters
    sizes = {params[k]: v for k, v in sizes.items()}

    def positional(*arrays):              # vmap batches positional arguments
        return fn(**{params[n]: a for n, a in zip(names, arrays)}, **sizes)

    tensors = [torch.tensor(stacked[n]) for n in names]
    out = torch.func.vmap(positional)(*tensors)
    for k, want in enumerate(wants):
        np.testing.assert_allclose(out[k].numpy(), want, **_tol(case))
    torch._dynamo.reset()
    compiled = torch.compile(positional, fullgraph=True,
                             backend="inductor" if case_id in INDUCTOR else "eager")
    got = compiled(*(t[0] for t in tensors))
    np.testing.assert_allclose(got.numpy(), wants[0], **_tol(case))
    torch._dynamo.reset()


@pytest.mark.skipif(not HAS["jax"], reason="needs jax")
@pytest.mark.parametrize("case_id", IDS)
def test_jax_code_jits_and_vmaps(case_id, tmp_path):
    import jax
    jax.config.update("jax_enable_x64", True)

    case, d = BY_ID[case_id], _derive(case_id)
    fn = getattr(_import(d.code("jax"), tmp_path), d.func_name)
    names, stacked, sizes, wants = _batch(case, d)
    params = d.parameters
    sizes = {params[k]: v for k, v in sizes.items()}

    def positional(*arrays):
        return fn(**{params[n]: a for n, a in zip(names, arrays)}, **sizes)

    arrays = [jax.numpy.asarray(stacked[n]) for n in names]
    # jit of vmap: both transformations trace the code, in one compilation (jit alone
    # traces the same code with unbatched shapes; the file test ran it eagerly)
    out = jax.jit(jax.vmap(positional))(*arrays)
    for k, want in enumerate(wants):
        np.testing.assert_allclose(np.asarray(out[k]), want, **_tol(case))
